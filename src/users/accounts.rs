//! Creating an account: the one use case behind `POST /api/auth/register/` and
//! `agora createsuperuser`, so both apply the same rules (Django's validators, one namespace
//! for usernames and emails, Argon2id).

use super::fields::{self, EMAIL_TAKEN, Email, USERNAME_TAKEN, Username, required};
use super::store::{self, NewUser};
use crate::db::entities::user;
use crate::error::{ApiError, FieldErrors};
use crate::secret::Secret;
use crate::security::passwords::{self, UserAttributes};
use crate::state::AppState;

/// What a new account is made of, as a client sent it.
pub struct NewAccount {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<Secret>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A staff superuser (`createsuperuser`), or an ordinary user.
    pub staff: bool,
}

/// Validates every field (all errors at once, as DRF does), checks that the username and the
/// email name no one else, hashes the password and stores the user.
#[tracing::instrument(skip_all)]
pub async fn create(app: &AppState, new: NewAccount) -> Result<user::Model, ApiError> {
    let mut errors = FieldErrors::new();
    required(&mut errors, "username", new.username.as_deref());
    required(&mut errors, "email", new.email.as_deref());
    required(
        &mut errors,
        "password",
        new.password.as_ref().map(Secret::expose),
    );
    let username = new
        .username
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| {
            Username::parse(s)
                .map_err(|e| errors.add("username", e))
                .ok()
        });
    let email = new
        .email
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| Email::parse(s).map_err(|e| errors.add("email", e)).ok());
    let first_name = fields::bounded(new.first_name.as_deref().unwrap_or(""), 150)
        .map_err(|e| errors.add("first_name", e))
        .unwrap_or_default();
    let last_name = fields::bounded(new.last_name.as_deref().unwrap_or(""), 150)
        .map_err(|e| errors.add("last_name", e))
        .unwrap_or_default();
    if let Some(password) = new
        .password
        .as_ref()
        .map(Secret::expose)
        .filter(|p| !p.trim().is_empty())
    {
        let attrs = UserAttributes {
            username: username.as_ref().map_or("", Username::as_str),
            email: email.as_ref().map_or("", Email::as_str),
            first_name: &first_name,
            last_name: &last_name,
        };
        for e in passwords::validate(password, &attrs) {
            errors.add("password", e);
        }
    }
    if let Some(u) = &username
        && store::login_taken(&app.db, u.as_str(), None).await?
    {
        errors.add("username", USERNAME_TAKEN);
    }
    if let Some(e) = &email
        && store::login_taken(&app.db, e.as_str(), None).await?
    {
        errors.add("email", EMAIL_TAKEN);
    }
    // A field that did not parse has its error in `errors`.
    let (Some(username), Some(email), Some(password)) = (username, email, new.password) else {
        return Err(ApiError::Fields(errors));
    };
    errors.into_result()?;
    let password_hash = app.passwords.hash(password).await?;
    let user = store::insert(
        &app.db,
        NewUser {
            username: username.into_inner(),
            email: email.into_inner(),
            password_hash,
            first_name,
            last_name,
            is_staff: new.staff,
            is_superuser: new.staff,
        },
    )
    .await
    // Lost a race with an identical registration.
    .map_err(super::taken)?;
    tracing::info!(user_id = user.id, staff = new.staff, "account created");
    Ok(user)
}
