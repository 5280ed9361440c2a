//! `ApiError`, the one error type of handlers, extractors and WebSocket commands. Its
//! `IntoResponse` alone decides every error body, in the DRF shapes of API.md.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde_json::{Map, Value, json};

/// DRF's message for a missing field.
pub const REQUIRED: &str = "This field is required.";
/// DRF's message for a blank string.
pub const BLANK: &str = "This field may not be blank.";

/// DRF field errors: `{"field": ["message", ...], "nested": {"field": [...]}}`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldErrors(Map<String, Value>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, msg: impl Into<String>) -> Self {
        let mut f = Self::new();
        f.add(field, msg);
        f
    }

    pub fn add(&mut self, field: &str, msg: impl Into<String>) {
        let entry = self
            .0
            .entry(field.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(msg.into()));
        }
    }

    /// One message at a nested path: `["profile", "birth_date"]` gives
    /// `{"profile": {"birth_date": [msg]}}`.
    pub fn at(path: &[String], msg: impl Into<String>) -> Self {
        match path {
            [] => Self::single("non_field_errors", msg),
            [field] => Self::single(field, msg),
            [field, rest @ ..] => {
                let mut out = Self::new();
                out.nest(field, Self::at(rest, msg));
                out
            }
        }
    }

    /// Adds every error of `other`, nested ones included.
    pub fn merge(&mut self, other: FieldErrors) {
        for (k, v) in other.0 {
            match v {
                Value::Object(inner) => self.merge_nested(&k, FieldErrors(inner)),
                Value::Array(msgs) => {
                    for m in msgs {
                        if let Value::String(m) = m {
                            self.add(&k, m);
                        }
                    }
                }
                other => {
                    self.0.insert(k, other);
                }
            }
        }
    }

    /// Errors of a nested object, such as `profile`, under its own key.
    pub fn nest(&mut self, field: &str, inner: FieldErrors) {
        if !inner.is_empty() {
            self.0.insert(field.to_owned(), Value::Object(inner.0));
        }
    }

    /// Like `nest`, but adds to errors already gathered under `field`.
    pub fn merge_nested(&mut self, field: &str, inner: FieldErrors) {
        if inner.is_empty() {
            return;
        }
        match self.0.get_mut(field) {
            Some(Value::Object(existing)) => {
                for (k, v) in inner.0 {
                    match (existing.get_mut(&k), v) {
                        (Some(Value::Array(list)), Value::Array(more)) => list.extend(more),
                        (_, v) => {
                            existing.insert(k, v);
                        }
                    }
                }
            }
            _ => self.nest(field, inner),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was gathered, so validators end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Fields(self))
        }
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid fields")]
    Fields(FieldErrors),
    #[error("{0}")]
    Rejected(Cow<'static, str>),
    #[error("JSON parse error - {0}")]
    JsonParse(String),
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    #[error("No active account found with the given credentials")]
    InvalidCredentials,
    #[error("{0}")]
    TokenNotValid(Cow<'static, str>),
    #[error("You do not have permission to perform this action.")]
    Forbidden,
    /// A suspended account logging in or refreshing (with the right password).
    #[error("This account is suspended.")]
    Suspended {
        until: Option<chrono::DateTime<chrono::Utc>>,
        reason: String,
    },
    /// `AGORA_EMAIL_VERIFICATION=mandatory` and the caller's address is not confirmed yet.
    #[error("E-mail is not verified.")]
    EmailNotVerified,
    #[error("Not found.")]
    NotFound,
    #[error("Invalid page.")]
    InvalidPage,
    #[error("Invalid cursor")]
    InvalidCursor,
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(String),
    #[error("Request body is too large.")]
    TooLarge,
    #[error("The request took too long to arrive; try again.")]
    RequestTimeout,
    #[error("Unsupported media type \"{0}\" in request.")]
    UnsupportedMediaType(String),
    #[error("Request was throttled. Expected available in {0} seconds.")]
    Throttled(u64),
    /// The database cannot be reached (down, or every connection busy past the wait):
    /// 503 with `Retry-After`, so clients back off and retry.
    #[error("The service is temporarily unavailable; try again shortly.")]
    Unavailable(u64),
    #[error(transparent)]
    Db(DbErr),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn rejected(msg: impl Into<Cow<'static, str>>) -> Self {
        Self::Rejected(msg.into())
    }

    pub fn field(field: &str, msg: impl Into<String>) -> Self {
        Self::Fields(FieldErrors::single(field, msg))
    }

    pub fn token_not_valid() -> Self {
        Self::TokenNotValid("Given token not valid for any token type".into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Fields(_) | Self::Rejected(_) | Self::JsonParse(_) => StatusCode::BAD_REQUEST,
            Self::NotAuthenticated | Self::InvalidCredentials | Self::TokenNotValid(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden | Self::EmailNotVerified | Self::Suspended { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound | Self::InvalidPage | Self::InvalidCursor => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Db(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable code, DRF's `default_code`s; WebSocket `error` frames use it too.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Fields(_) | Self::Rejected(_) => "invalid",
            Self::JsonParse(_) => "parse_error",
            Self::NotAuthenticated | Self::InvalidCredentials => "not_authenticated",
            Self::TokenNotValid(_) => "token_not_valid",
            Self::Forbidden => "permission_denied",
            Self::EmailNotVerified => "email_not_verified",
            Self::Suspended { .. } => "account_suspended",
            Self::NotFound | Self::InvalidPage | Self::InvalidCursor => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::TooLarge => "too_large",
            Self::RequestTimeout => "request_timeout",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Throttled(_) => "throttled",
            Self::Unavailable(_) => "service_unavailable",
            Self::Db(_) | Self::Internal(_) => "error",
        }
    }

    /// The body a client sees. Internals are logged here, once, and never sent.
    pub fn body(&self) -> Value {
        match self {
            Self::Fields(f) => f.to_value(),
            Self::NotAuthenticated
            | Self::InvalidCredentials
            | Self::TokenNotValid(_)
            | Self::EmailNotVerified => {
                json!({"detail": self.to_string(), "code": self.code()})
            }
            Self::Suspended { until, reason } => json!({"detail": self.to_string(),
                "code": self.code(), "until": until, "reason": reason}),
            Self::Db(e) => {
                tracing::error!(error = %e, "database error");
                json!({"detail": "Internal server error."})
            }
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                json!({"detail": "Internal server error."})
            }
            other => json!({"detail": other.to_string()}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut res = (status, axum::Json(self.body())).into_response();
        let headers = res.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        if let Self::Throttled(secs) | Self::Unavailable(secs) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<DbErr> for ApiError {
    /// An unreachable database is a 503, logged once; any other database error a 500.
    fn from(e: DbErr) -> Self {
        if is_outage(&e) {
            tracing::warn!(error = %e, "database unavailable");
            Self::Unavailable(2)
        } else {
            Self::Db(e)
        }
    }
}

/// The database did not answer, as opposed to refusing a query.
fn is_outage(e: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            matches!(
                inner.as_ref(),
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
                    | sqlx::Error::Tls(_)
            )
        }
        _ => false,
    }
}

/// For what follows a committed change (notifications, events): a failure there is logged, and
/// the client still gets the success the committed change owes it.
pub fn after_commit<T>(what: &'static str, result: Result<T, ApiError>) {
    if let Err(e) = result {
        tracing::error!(error = %e, what, "follow-up of a committed change failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_gather_per_field_and_nest() {
        let mut inner = FieldErrors::new();
        inner.add("bio", "Too long.");
        let mut f = FieldErrors::single("username", "Required.");
        f.add("username", "Also bad.");
        f.nest("profile", inner);
        assert_eq!(
            f.to_value(),
            json!({"username": ["Required.", "Also bad."], "profile": {"bio": ["Too long."]}})
        );
    }

    #[test]
    fn internal_errors_never_leak() {
        let e = ApiError::Internal("secret detail".into());
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.body(), json!({"detail": "Internal server error."}));
    }
}
