//! Request and response types of /api/users/, named as in API.md.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::fields::{self, Email, REQUIRED, Username};
use crate::error::{ApiError, FieldErrors};

pub use crate::social::model::{FriendshipStatus, UserBrief, UserListItem};
pub use crate::social::{MESSAGE_POLICIES, VISIBILITIES};

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Profile {
    pub bio: String,
    pub location: String,
    pub website: String,
    pub birth_date: Option<NaiveDate>,
    pub cover: Option<String>,
    #[schema(value_type = crate::social::model::ProfileVisibility)]
    pub visibility: String,
    pub show_online_status: bool,
    #[schema(value_type = crate::social::model::MessagePolicy)]
    pub allow_messages_from: String,
}

/// The whole profile, or only its `visibility` when that hides it from the viewer.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ProfileView {
    Full(Profile),
    Hidden(HiddenProfile),
}

/// What a viewer who may not see a profile gets of it: nothing but its `visibility`.
#[derive(Clone, Debug, Serialize, ToSchema)]
// For the schema: nothing else is there, so a full profile never matches this too.
#[serde(deny_unknown_fields)]
pub struct HiddenProfile {
    #[schema(value_type = crate::social::model::ProfileVisibility)]
    pub visibility: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct User {
    #[serde(flatten)]
    pub brief: UserBrief,
    /// Only shown to the user themself and to staff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether `email` was confirmed by its link; shown with `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub email_verified: Option<bool>,
    #[schema(read_only)]
    pub date_joined: DateTime<Utc>,
    #[schema(read_only)]
    pub last_seen: Option<DateTime<Utc>>,
    #[schema(read_only)]
    pub friendship_status: FriendshipStatus,
    pub profile: ProfileView,
    #[schema(read_only)]
    pub friend_count: u64,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ProfileUpdateBody {
    #[schema(required = false, value_type = String, max_length = 500)]
    pub bio: Option<String>,
    #[schema(required = false, value_type = String, max_length = 100)]
    pub location: Option<String>,
    /// An http(s) URL, or blank.
    #[schema(required = false, value_type = String, max_length = 200, example = "https://alice.example")]
    pub website: Option<String>,
    #[serde(default, deserialize_with = "crate::http::nullable")]
    /// `YYYY-MM-DD`, from 1800-01-01 to today; null or blank clears it.
    #[schema(value_type = Option<String>, format = Date, example = "1990-05-04")]
    pub birth_date: Option<Option<String>>,
    #[schema(required = false, value_type = crate::social::model::ProfileVisibility)]
    pub visibility: Option<String>,
    #[schema(required = false, value_type = bool)]
    pub show_online_status: Option<bool>,
    #[schema(required = false, value_type = crate::social::model::MessagePolicy)]
    pub allow_messages_from: Option<String>,
    /// Media id of the caller's own image, or null.
    #[serde(default, deserialize_with = "crate::http::nullable")]
    #[schema(value_type = Option<i64>)]
    pub avatar: Option<Option<i64>>,
    /// Media id of the caller's own image, or null.
    #[serde(default, deserialize_with = "crate::http::nullable")]
    #[schema(value_type = Option<i64>)]
    pub cover: Option<Option<i64>>,
}

/// PUT needs `username`, `email`, `first_name` and `last_name`; PATCH takes any subset.
/// Anything else sent (`id`, `is_staff`, `date_joined`, ...) is ignored.
/// Serialize: what staff sent is kept in the audit log.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct UserUpdateBody {
    #[schema(required = false, value_type = String, min_length = 1, max_length = 150, example = "alice")]
    pub username: Option<String>,
    #[schema(required = false, value_type = String, format = Email, max_length = 254, example = "alice@example.com")]
    pub email: Option<String>,
    #[schema(required = false, value_type = String, max_length = 150)]
    pub first_name: Option<String>,
    #[schema(required = false, value_type = String, max_length = 150)]
    pub last_name: Option<String>,
    #[schema(required = false, value_type = ProfileUpdateBody)]
    pub profile: Option<ProfileUpdateBody>,
    /// Media id of the caller's own image, or null (also accepted inside `profile`).
    #[serde(default, deserialize_with = "crate::http::nullable")]
    #[schema(value_type = Option<i64>, required = false)]
    pub avatar: Option<Option<i64>>,
}

/// A validated update: `Some` for each field to change.
#[derive(Debug, Default)]
pub struct UserPatch {
    pub username: Option<Username>,
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub birth_date: Option<Option<NaiveDate>>,
    pub visibility: Option<String>,
    pub show_online_status: Option<bool>,
    pub allow_messages_from: Option<String>,
    pub avatar: Option<Option<i64>>,
    pub cover: Option<Option<i64>>,
}

fn check<T>(errors: &mut FieldErrors, field: &str, r: Result<T, String>) -> Option<T> {
    r.map_err(|e| errors.add(field, e)).ok()
}

impl UserUpdateBody {
    pub fn validate(self, full: bool) -> Result<UserPatch, ApiError> {
        let (patch, errors) = self.parse(full);
        errors.into_result()?;
        Ok(patch)
    }

    /// The fields that parsed, and the errors of those that did not, so the caller can add
    /// the checks that need the database and report everything at once.
    pub fn parse(self, full: bool) -> (UserPatch, FieldErrors) {
        let mut errors = FieldErrors::new();
        if full {
            for (name, value) in [
                ("username", &self.username),
                ("email", &self.email),
                ("first_name", &self.first_name),
                ("last_name", &self.last_name),
            ] {
                if value.is_none() {
                    errors.add(name, REQUIRED);
                }
            }
        }
        let mut patch = UserPatch {
            username: self
                .username
                .and_then(|v| check(&mut errors, "username", Username::parse(&v))),
            email: self
                .email
                .and_then(|v| check(&mut errors, "email", Email::parse(&v))),
            first_name: self
                .first_name
                .and_then(|v| check(&mut errors, "first_name", fields::bounded(&v, 150))),
            last_name: self
                .last_name
                .and_then(|v| check(&mut errors, "last_name", fields::bounded(&v, 150))),
            avatar: self.avatar,
            ..Default::default()
        };
        if let Some(p) = self.profile {
            let mut pe = FieldErrors::new();
            patch.bio = p
                .bio
                .and_then(|v| check(&mut pe, "bio", fields::bounded(&v, 500)));
            patch.location = p
                .location
                .and_then(|v| check(&mut pe, "location", fields::bounded(&v, 100)));
            patch.website = p
                .website
                .and_then(|v| check(&mut pe, "website", fields::website(&v)));
            patch.birth_date = match p.birth_date {
                None => None,
                Some(None) => Some(None),
                Some(Some(v)) if v.trim().is_empty() => Some(None),
                Some(Some(v)) => check(&mut pe, "birth_date", fields::date(&v)).map(Some),
            };
            if let Some(Some(d)) = patch.birth_date
                && d > Utc::now().date_naive()
            {
                pe.add("birth_date", "Birth date cannot be in the future.");
            }
            patch.visibility = p
                .visibility
                .and_then(|v| check(&mut pe, "visibility", fields::choice(&v, VISIBILITIES)));
            patch.show_online_status = p.show_online_status;
            patch.allow_messages_from = p.allow_messages_from.and_then(|v| {
                check(
                    &mut pe,
                    "allow_messages_from",
                    fields::choice(&v, MESSAGE_POLICIES),
                )
            });
            if p.avatar.is_some() {
                patch.avatar = p.avatar;
            }
            patch.cover = p.cover;
            errors.nest("profile", pe);
        }
        (patch, errors)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteAccountBody {
    #[schema(value_type = String, required = true, write_only)]
    pub password: Option<crate::secret::Secret>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Matches a username, first or last name that begins with it, ignoring case (`ali`
    /// finds `Alice`, not `Natalie`): each through its index.
    #[param(max_length = 150)]
    pub search: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_requires_the_top_level_fields_and_gathers_every_error() {
        let body = UserUpdateBody {
            email: Some("nope".into()),
            profile: Some(ProfileUpdateBody {
                visibility: Some("everyone".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = body.validate(true).expect_err("invalid").body();
        assert_eq!(err["username"][0], REQUIRED);
        assert_eq!(err["email"][0], "Enter a valid email address.");
        assert!(err["profile"]["visibility"].is_array());
    }

    #[test]
    fn patch_accepts_a_subset_and_null_birth_date() {
        let body = UserUpdateBody {
            first_name: Some("  Ann ".into()),
            profile: Some(ProfileUpdateBody {
                birth_date: Some(None),
                ..Default::default()
            }),
            ..Default::default()
        };
        let patch = body.validate(false).expect("valid");
        assert_eq!(patch.first_name.as_deref(), Some("Ann"));
        assert_eq!(patch.birth_date, Some(None));
    }
}
