//! Extractors that wrap axum's so that every rejection becomes an `ApiError`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::entities::user;
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

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::rejected(rej.body_text())
            }
        })?;
        match content_type {
            Some(ct) if is_json(&ct) => {}
            // DRF treats a request with no body and no content type as empty data.
            None if bytes.iter().all(u8::is_ascii_whitespace) => {}
            other => return Err(ApiError::UnsupportedMediaType(other.unwrap_or_default())),
        }
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        parse_json(text).map(Json)
    }
}

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parses JSON into `T`, turning type mismatches into field errors keyed by the field's path.
pub fn parse_json<T: DeserializeOwned>(text: &[u8]) -> Result<T, ApiError> {
    // Serde would read a list as a struct's fields in order; every body here is an object.
    if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| ApiError::JsonParse(e.to_string()))?;
        let got = json_type_name(&value);
        return Err(ApiError::Fields(FieldErrors::single(
            "non_field_errors",
            format!("Invalid data. Expected a dictionary, but got {got}."),
        )));
    }
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::JsonParse(inner.to_string());
        }
        let msg = data_error_message(&inner.to_string());
        if path == "." || path.is_empty() {
            ApiError::Fields(FieldErrors::single("non_field_errors", msg))
        } else {
            ApiError::Fields(FieldErrors::single(&path, msg))
        }
    })
}

/// The Python name of a JSON value's type, as DRF's messages say it ("list", "str", ...).
pub fn json_type_name(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
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

/// DRF's wording for the common type mismatches; anything else keeps serde's text without
/// the line and column.
fn data_error_message(raw: &str) -> String {
    let msg = raw.split(" at line ").next().unwrap_or(raw);
    if msg.contains("expected a string") {
        "Not a valid string.".into()
    } else if msg.contains("expected i64")
        || msg.contains("expected i32")
        || msg.contains("expected u32")
    {
        "A valid integer is required.".into()
    } else if msg.contains("expected a boolean") {
        "Must be a valid boolean.".into()
    } else if msg.contains("expected struct") {
        "Invalid data. Expected a dictionary.".into()
    } else {
        msg.to_owned()
    }
}

/// Path parameters; one that does not parse (a non-numeric id) is a 404, as in Django's URLs.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| ApiError::NotFound)
    }
}

/// Query parameters; a value of the wrong type is a 400 in the DRF shape.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::rejected(e.body_text()))
    }
}

/// The bearer token of a request: the `Authorization` header, else `?token=` (for browsers'
/// WebSocket and `<img>` requests, which cannot set headers).
pub fn bearer_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    url::form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// The authenticated caller: a valid access token of an active user, issued after the user's
/// last password change.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub is_staff: bool,
    pub user: std::sync::Arc<user::Model>,
    /// When the presented access token expires (Unix seconds); the WebSocket closes then.
    pub token_expires_at: i64,
}

impl CurrentUser {
    /// The user as their own viewer, for responses right after register or login.
    pub fn of(user: user::Model) -> Self {
        Self {
            id: user.id,
            is_staff: user.is_staff,
            token_expires_at: 0,
            user: user.into(),
        }
    }
}

/// What checks a bearer token: `AppState` implements it, so this folder needs no feature.
pub trait Authenticator: Send + Sync {
    fn authenticate(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<CurrentUser, ApiError>> + Send;
}

impl<S: Authenticator> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &S) -> Result<Self, ApiError> {
        if let Some(me) = parts.extensions.get::<CurrentUser>() {
            return Ok(me.clone());
        }
        let token = bearer_token(parts).ok_or(ApiError::NotAuthenticated)?;
        let me = app.authenticate(&token).await?;
        parts.extensions.insert(me.clone());
        Ok(me)
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

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/vnd.api+json"));
        assert!(!is_json("text/plain"));
    }
}
