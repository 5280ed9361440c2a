//! Request and response types of /api/auth/.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::users::model::User;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// The username or the email address.
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    pub refresh: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyBody {
    pub token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChangeBody {
    pub old_password: Option<String>,
    pub new_password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: User,
    pub access: String,
    pub refresh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}
