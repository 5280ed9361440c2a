//! Request and response types of /api/auth/.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secret::Secret;
use crate::users::model::User;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    pub username: Option<String>,
    pub email: Option<String>,
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// The username or the email address.
    pub username: Option<String>,
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    #[schema(value_type = Option<String>)]
    pub refresh: Option<Secret>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyBody {
    #[schema(value_type = Option<String>)]
    pub token: Option<Secret>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChangeBody {
    #[schema(value_type = Option<String>)]
    pub old_password: Option<Secret>,
    #[schema(value_type = Option<String>)]
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
