//! Request and response types of /api/auth/.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secret::Secret;
use crate::users::model::User;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    /// Letters, digits and `@.+-_`; unique ignoring case.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 150, example = "alice")]
    pub username: Option<String>,
    /// Unique ignoring case.
    #[schema(value_type = String, required = true, format = Email, max_length = 254, example = "alice@example.com")]
    pub email: Option<String>,
    /// At least 8 characters, not all digits, not common, not like the username or email.
    #[schema(value_type = String, required = true, write_only, min_length = 8, max_length = 1024, example = "correct-horse-battery")]
    pub password: Option<Secret>,
    #[schema(required = false, value_type = String, max_length = 150, example = "Alice")]
    pub first_name: Option<String>,
    #[schema(required = false, value_type = String, max_length = 150, example = "Liddell")]
    pub last_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// The username or the email address.
    #[schema(value_type = String, required = true, max_length = 1024, example = "alice")]
    pub username: Option<String>,
    #[schema(value_type = String, required = true, write_only, max_length = 1024, example = "correct-horse-battery")]
    pub password: Option<Secret>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    /// A refresh token from login, register or an earlier refresh.
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub refresh: Option<Secret>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyBody {
    /// An access or refresh token.
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub token: Option<Secret>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChangeBody {
    #[schema(value_type = String, required = true, write_only, max_length = 1024)]
    pub old_password: Option<Secret>,
    /// The same rules as at registration.
    #[schema(value_type = String, required = true, write_only, min_length = 8, max_length = 1024)]
    pub new_password: Option<Secret>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    #[schema(value_type = String)]
    pub access: Secret,
    #[schema(value_type = String)]
    pub refresh: Secret,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: User,
    #[schema(value_type = String)]
    pub access: Secret,
    #[schema(value_type = String)]
    pub refresh: Secret,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

#[derive(Debug, Deserialize, ToSchema)]
pub struct KeyBody {
    /// The key from the verification link.
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub key: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailBody {
    #[schema(value_type = String, required = true, format = Email, max_length = 254, example = "alice@example.com")]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirmBody {
    /// The user id in URL-safe base64, from the reset link.
    #[schema(value_type = String, required = true, max_length = 64)]
    pub uid: Option<String>,
    /// The token from the reset link.
    #[schema(value_type = String, required = true, max_length = 128)]
    pub token: Option<String>,
    /// The same rules as at registration.
    #[schema(value_type = String, required = true, write_only, min_length = 8, max_length = 1024)]
    pub new_password: Option<Secret>,
}

/// `{"detail": "..."}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Detail {
    pub detail: &'static str,
}
