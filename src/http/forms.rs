//! DRF's FormParser and MultiPartParser: a form's text fields into the same body types as
//! JSON, with the same checks and error shapes (`body`).

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::body::{NUL_MESSAGE, field_error, path_of};
use crate::error::{ApiError, FieldErrors};

/// A multipart body's failure as the 4xx it is: too large (413), stalled (408), malformed
/// (400).
pub fn multipart_error(e: &axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge
    } else if super::stalled(e) {
        ApiError::RequestTimeout
    } else {
        ApiError::rejected(format!("Multipart form parse error - {}", e.body_text()))
    }
}

/// The text fields of a multipart body, in order.
pub(super) async fn multipart_pairs<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut form = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| {
            ApiError::rejected(format!("Multipart form parse error - {}", e.body_text()))
        })?;
    let mut pairs = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| multipart_error(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        // A file belongs to an upload (`POST /api/media/`), not to these bodies.
        let file = field.file_name().is_some();
        let text = field.text().await.map_err(|e| multipart_error(&e))?;
        if !file {
            pairs.push((name, text));
        }
    }
    Ok(pairs)
}

/// A form's fields into `T`, with the checks and error shapes of `parse_json`. The last value
/// of a repeated field wins, as in DRF's `QueryDict`.
pub(super) fn parse_form<T: DeserializeOwned>(pairs: Vec<(String, String)>) -> Result<T, ApiError> {
    let mut errors = FieldErrors::new();
    let mut fields: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if key.contains('\0') || value.contains('\0') {
            let field = if key.contains('\0') {
                "non_field_errors"
            } else {
                &key
            };
            errors.merge(FieldErrors::at(&[field.to_owned()], NUL_MESSAGE));
            continue;
        }
        fields.retain(|(k, _)| *k != key);
        fields.push((key, value));
    }
    errors.into_result()?;
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let form = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(form).map_err(|err| {
        let path = path_of(&err);
        let at = path
            .first()
            .and_then(|key| fields.iter().find(|(k, _)| k == key))
            .map(|(_, v)| Value::String(v.clone()));
        field_error(path, &err.into_inner().to_string(), at.as_ref())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Flat {
        name: String,
        count: Option<i64>,
        on: Option<bool>,
    }

    fn form<T: DeserializeOwned>(pairs: &[(&str, &str)]) -> Result<T, Value> {
        let pairs = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse_form(pairs).map_err(|e| e.body())
    }

    #[test]
    fn a_form_reads_numbers_and_booleans_from_text_with_drf_errors() {
        let ok: Flat =
            form(&[("name", "a"), ("count", "7"), ("on", "true"), ("name", "b")]).expect("read");
        assert_eq!(
            (ok.name.as_str(), ok.count, ok.on),
            ("b", Some(7), Some(true))
        );
        assert_eq!(
            form::<Flat>(&[("name", "a"), ("count", "x")]).expect_err("refused"),
            serde_json::json!({"count": ["A valid integer is required."]})
        );
        assert_eq!(
            form::<Flat>(&[("name", "a"), ("on", "maybe")]).expect_err("refused"),
            serde_json::json!({"on": ["Must be a valid boolean."]})
        );
        assert_eq!(
            form::<Flat>(&[("count", "1")]).expect_err("refused"),
            serde_json::json!({"name": ["This field is required."]})
        );
        assert_eq!(
            form::<Flat>(&[("name", "a\0b")]).expect_err("refused"),
            serde_json::json!({"name": [NUL_MESSAGE]})
        );
    }
}
