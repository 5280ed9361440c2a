//! Request bodies: JSON and DRF's forms into the body types, every failure a DRF-shaped 4xx.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::forms;
use crate::error::{ApiError, FieldErrors};

/// JSON body in, JSON body out. A body that is not JSON, has the wrong content type, is too large
/// or does not fit `T` is a DRF-shaped 4xx, never axum's plain-text rejection.
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    /// DRF's default parsers: JSON, and, as a frontend written for DRF may post them, an
    /// urlencoded form or a multipart form (its text fields; files are ignored here). A form
    /// is flat: a field that needs a list or an object needs JSON.
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let kind = content_type.as_deref().map(BodyKind::of);
        if kind == Some(BodyKind::Multipart) {
            let pairs = forms::multipart_pairs(req, state).await?;
            return forms::parse_form(pairs).map(Json);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::rejected(rej.body_text())
            }
        })?;
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        match kind {
            Some(BodyKind::Json) => {}
            Some(BodyKind::Form) => {
                let pairs = form_urlencoded::parse(&bytes).into_owned().collect();
                return forms::parse_form(pairs).map(Json);
            }
            // DRF treats a request with no body and no content type as empty data.
            None if blank => {}
            _ => {
                return Err(ApiError::UnsupportedMediaType(
                    content_type.unwrap_or_default(),
                ));
            }
        }
        parse_json(if blank { b"{}" } else { &bytes }).map(Json)
    }
}

/// The body types `Json` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    Json,
    Form,
    Multipart,
    Other,
}

impl BodyKind {
    fn of(content_type: &str) -> Self {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if is_json(&mime) {
            Self::Json
        } else if mime == "application/x-www-form-urlencoded" {
            Self::Form
        } else if mime == "multipart/form-data" {
            Self::Multipart
        } else {
            Self::Other
        }
    }
}

/// `mime`: lower case, without parameters.
fn is_json(mime: &str) -> bool {
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// DRF's message for a string holding `\u0000`, which PostgreSQL text cannot store.
pub const NUL_MESSAGE: &str = "Null characters are not allowed.";

/// Parses a JSON body into `T`. Every body passes through here (REST and WebSocket alike), so
/// this is where malformed documents, trailing bytes, NUL characters and type mismatches are
/// refused, each as a DRF-shaped error: field errors nest like the body
/// (`{"profile": {"birth_date": [...]}}`) and never quote the parser.
pub fn parse_json<T: DeserializeOwned>(text: &[u8]) -> Result<T, ApiError> {
    // `from_slice` also refuses anything after the document.
    let value: Value =
        serde_json::from_slice(text).map_err(|e| ApiError::JsonParse(e.to_string()))?;
    // Serde would read a list as a struct's fields in order; every body here is an object.
    if !value.is_object() {
        let got = json_type_name(&value);
        return Err(ApiError::Fields(FieldErrors::single(
            "non_field_errors",
            format!("Invalid data. Expected a dictionary, but got {got}."),
        )));
    }
    parse_value(&value)
}

/// `T` from an already parsed JSON object, with the checks of `parse_json`.
pub fn parse_value<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    let mut errors = FieldErrors::new();
    let mut path = Vec::new();
    find_nul(value, &mut path, &mut errors);
    errors.into_result()?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = path_of(&err);
        let at = value_at(value, &path);
        field_error(path, &err.into_inner().to_string(), at)
    })
}

pub(super) fn path_of<E>(err: &serde_path_to_error::Error<E>) -> Vec<String> {
    err.path()
        .iter()
        .map(|segment| match segment {
            Segment::Map { key } => key.clone(),
            Segment::Seq { index } => index.to_string(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => "?".into(),
        })
        .collect()
}

/// A deserialization error at `path` (where the body holds `at`) as the field error DRF gives.
pub(super) fn field_error(mut path: Vec<String>, inner: &str, at: Option<&Value>) -> ApiError {
    let msg = match inner.strip_prefix("missing field `") {
        // A required field: the error belongs to the field itself, not to its parent.
        Some(rest) => {
            path.push(rest.split('`').next().unwrap_or_default().to_owned());
            crate::error::REQUIRED.to_owned()
        }
        None => data_error_message(inner, at),
    };
    if path.is_empty() {
        ApiError::Fields(FieldErrors::single("non_field_errors", msg))
    } else {
        ApiError::Fields(FieldErrors::at(&path, msg))
    }
}

/// Gathers a field error for every string (or key) holding a NUL character.
fn find_nul(value: &Value, path: &mut Vec<String>, errors: &mut FieldErrors) {
    match value {
        Value::String(s) if s.contains('\0') => {
            let field = if path.is_empty() {
                vec!["non_field_errors".to_owned()]
            } else {
                path.clone()
            };
            errors.merge(FieldErrors::at(&field, NUL_MESSAGE));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                find_nul(item, path, errors);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if key.contains('\0') {
                    let field = if path.is_empty() {
                        vec!["non_field_errors".to_owned()]
                    } else {
                        path.clone()
                    };
                    errors.merge(FieldErrors::at(&field, NUL_MESSAGE));
                    continue;
                }
                path.push(key.clone());
                find_nul(item, path, errors);
                path.pop();
            }
        }
        _ => {}
    }
}

fn value_at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The Python name of a JSON value's type, as DRF's messages say it ("list", "str", ...).
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "list",
        Value::String(_) => "str",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::Bool(_) => "bool",
        Value::Null => "NoneType",
        Value::Object(_) => "dict",
    }
}

/// DRF's wording for a value that does not fit its field. Serde's own text (which names Rust
/// types) never reaches a client: what it expected picks the message.
fn data_error_message(raw: &str, got: Option<&Value>) -> String {
    let got = got.map_or("NoneType", json_type_name);
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        let variant = rest.split('`').next().unwrap_or_default();
        return format!("\"{variant}\" is not a valid choice.");
    }
    let expected = raw
        .split(" at line ")
        .next()
        .unwrap_or(raw)
        .rsplit(", expected ")
        .next()
        .unwrap_or_default();
    if raw.starts_with("invalid type: null") {
        "This field may not be null.".into()
    } else if raw.contains("digit")
        || raw.contains("parse integer")
        || raw.contains("fit in target type")
    {
        // A form's text that is no integer (Rust's `ParseIntError`).
        "A valid integer is required.".into()
    } else if raw.contains("float literal") {
        "A valid number is required.".into()
    } else if raw.contains("`true` or `false`") {
        "Must be a valid boolean.".into()
    } else if expected.contains("string") || expected.contains("char") {
        "Not a valid string.".into()
    } else if ["i64", "i32", "u64", "u32", "i16", "u16", "u8", "integer"]
        .iter()
        .any(|t| expected.contains(t))
    {
        "A valid integer is required.".into()
    } else if expected.contains("f64") || expected.contains("f32") {
        "A valid number is required.".into()
    } else if expected.contains("a boolean") {
        "Must be a valid boolean.".into()
    } else if expected.contains("map") || expected.contains("struct") {
        format!("Expected a dictionary of items but got type \"{got}\".")
    } else if expected.contains("sequence") || expected.contains("tuple") {
        format!("Expected a list of items but got type \"{got}\".")
    } else {
        "Invalid value.".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[allow(dead_code)]
        name: Option<String>,
    }

    fn err_value<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> serde_json::Value {
        parse_json::<T>(text.as_bytes())
            .expect_err("should fail")
            .body()
    }

    #[test]
    fn broken_json_is_a_parse_error() {
        let body = err_value::<Body>("{\"name\": ");
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.starts_with("JSON parse error - "), "{detail}");
    }

    #[test]
    fn a_wrong_type_is_a_field_error() {
        assert_eq!(
            err_value::<Body>("{\"name\": 5}"),
            serde_json::json!({"name": ["Not a valid string."]})
        );
    }

    #[test]
    fn a_list_instead_of_an_object_is_a_non_field_error() {
        assert_eq!(
            err_value::<Body>("[1]"),
            serde_json::json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        );
    }

    #[derive(Debug, Deserialize)]
    struct Outer {
        #[allow(dead_code)]
        profile: Option<Inner>,
        #[allow(dead_code)]
        types: Option<std::collections::HashMap<String, bool>>,
        #[allow(dead_code)]
        ids: Option<Vec<i64>>,
    }

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        birth_date: Option<String>,
    }

    #[test]
    fn trailing_bytes_are_a_parse_error() {
        let body = err_value::<Body>("{\"name\": \"x\"} junk");
        assert!(
            body["detail"]
                .as_str()
                .expect("detail")
                .starts_with("JSON parse error - ")
        );
    }

    #[test]
    fn nul_characters_are_refused_where_they_are() {
        assert_eq!(
            err_value::<Body>("{\"name\": \"a\\u0000b\"}"),
            serde_json::json!({"name": ["Null characters are not allowed."]})
        );
        assert_eq!(
            err_value::<Outer>("{\"profile\": {\"birth_date\": \"\\u0000\"}}"),
            serde_json::json!({"profile": {"birth_date": ["Null characters are not allowed."]}})
        );
        // An escaped backslash followed by "u0000" is text, not a NUL.
        assert!(parse_json::<Body>(b"{\"name\": \"a\\\\u0000\"}").is_ok());
    }

    #[test]
    fn nested_errors_nest_and_never_quote_the_parser() {
        assert_eq!(
            err_value::<Outer>("{\"profile\": {\"birth_date\": 5}}"),
            serde_json::json!({"profile": {"birth_date": ["Not a valid string."]}})
        );
        assert_eq!(
            err_value::<Outer>("{\"types\": []}"),
            serde_json::json!({"types": ["Expected a dictionary of items but got type \"list\"."]})
        );
        assert_eq!(
            err_value::<Outer>("{\"ids\": [1, \"x\"]}"),
            serde_json::json!({"ids": {"1": ["A valid integer is required."]}})
        );
        assert_eq!(
            err_value::<Outer>("{\"profile\": 3}"),
            serde_json::json!({"profile": ["Expected a dictionary of items but got type \"int\"."]})
        );
    }

    #[test]
    fn body_kinds_by_content_type() {
        assert_eq!(
            BodyKind::of("application/json; charset=utf-8"),
            BodyKind::Json
        );
        assert_eq!(BodyKind::of("application/vnd.api+json"), BodyKind::Json);
        assert_eq!(
            BodyKind::of("Application/X-WWW-Form-Urlencoded"),
            BodyKind::Form
        );
        assert_eq!(
            BodyKind::of("multipart/form-data; boundary=x"),
            BodyKind::Multipart
        );
        assert_eq!(BodyKind::of("text/plain"), BodyKind::Other);
    }
}
