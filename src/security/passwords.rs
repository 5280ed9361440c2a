//! Password hashing (Argon2id, always on the blocking pool) and Django's four password
//! validators. `common-passwords.txt` is Django's list (BSD licence), 19,640 entries.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tracing::Instrument;

use crate::error::ApiError;
use crate::secret::Secret;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    argon: Argon2<'static>,
    /// Verified against when the account does not exist, so an unknown username costs the
    /// same time as a wrong password.
    dummy_hash: String,
}

impl Passwords {
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, ApiError> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| ApiError::Internal(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = hash_with(&argon, "agora-timing-equaliser")?;
        Ok(Self {
            inner: Arc::new(Inner { argon, dummy_hash }),
        })
    }

    pub async fn hash(&self, password: Secret) -> Result<Secret, ApiError> {
        let inner = self.inner.clone();
        blocking(move || hash_with(&inner.argon, password.expose()).map(Secret::from)).await?
    }

    /// `hash` of `None` means "no such user": the work is done anyway and the answer is false.
    pub async fn verify(&self, password: Secret, hash: Option<Secret>) -> Result<bool, ApiError> {
        let inner = self.inner.clone();
        blocking(move || {
            let real = hash.is_some();
            let hash = hash.map_or_else(|| inner.dummy_hash.clone(), Secret::into_inner);
            let ok = PasswordHash::new(&hash)
                .map(|parsed| {
                    inner
                        .argon
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && real
        })
        .await
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ApiError::Internal(e.to_string()))?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("hashing failed: {e}")))
}

/// Runs CPU-heavy work on the blocking pool, keeping the caller's tracing span.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .in_current_span()
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))
}

/// What the similarity validator compares a password with.
#[derive(Default)]
pub struct UserAttributes<'a> {
    pub username: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

/// Django's default validators, in Django's order and wording; empty when the password passes.
pub fn validate(password: &str, user: &UserAttributes<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    // Beyond Django: a bound, so no validator or hash ever works on a megabyte of text.
    if password.chars().count() > MAX_PASSWORD_CHARS {
        errors.push(format!(
            "Ensure this field has no more than {MAX_PASSWORD_CHARS} characters."
        ));
        return errors;
    }
    if let Some(attr) = too_similar(password, user) {
        errors.push(format!("The password is too similar to the {attr}."));
    }
    if password.chars().count() < 8 {
        errors
            .push("This password is too short. It must contain at least 8 characters.".to_owned());
    }
    if COMMON.contains(password.to_lowercase().trim()) {
        errors.push("This password is too common.".to_owned());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        errors.push("This password is entirely numeric.".to_owned());
    }
    errors
}

/// The longest password accepted when one is set.
pub const MAX_PASSWORD_CHARS: usize = 1024;

const MAX_SIMILARITY: f64 = 0.7;

/// Django's UserAttributeSimilarityValidator: each attribute, whole and split on non-word
/// characters, against the password with difflib's `quick_ratio`.
fn too_similar(password: &str, user: &UserAttributes<'_>) -> Option<&'static str> {
    let password = password.to_lowercase();
    let attrs = [
        ("username", user.username),
        ("first name", user.first_name),
        ("last name", user.last_name),
        ("email address", user.email),
    ];
    for (name, value) in attrs {
        if value.is_empty() {
            continue;
        }
        let value = value.to_lowercase();
        let parts = value
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|p| !p.is_empty())
            .chain(std::iter::once(value.as_str()));
        for part in parts {
            if exceeds_length_ratio(&password, part) {
                continue;
            }
            if quick_ratio(&password, part) >= MAX_SIMILARITY {
                return Some(name);
            }
        }
    }
    None
}

fn exceeds_length_ratio(password: &str, value: &str) -> bool {
    let pwd_len = password.chars().count() as f64;
    let value_len = value.chars().count() as f64;
    pwd_len >= 10.0 * value_len && value_len < MAX_SIMILARITY / 2.0 * pwd_len
}

/// difflib.SequenceMatcher.quick_ratio: 2 * (multiset intersection) / (len a + len b).
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut counts = std::collections::HashMap::new();
    for c in b.chars() {
        *counts.entry(c).or_insert(0i32) += 1;
    }
    let mut matches = 0;
    for c in a.chars() {
        if let Some(n) = counts.get_mut(&c)
            && *n > 0
        {
            *n -= 1;
            matches += 1;
        }
    }
    2.0 * f64::from(matches) / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Vec<String> {
        validate(
            password,
            &UserAttributes {
                username: "alice",
                email: "alice@example.com",
                ..Default::default()
            },
        )
    }

    #[test]
    fn a_good_password_passes() {
        assert!(check("correct-horse-battery").is_empty());
    }

    #[test]
    fn each_django_validator_speaks() {
        assert!(check("x1y2z3").iter().any(|e| e.contains("too short")));
        assert!(
            check("password123")
                .iter()
                .any(|e| e.contains("too common"))
        );
        assert!(
            check("83920174651")
                .iter()
                .any(|e| e.contains("entirely numeric"))
        );
        assert!(
            check("alice1234")
                .iter()
                .any(|e| e.contains("similar to the username"))
        );
    }

    #[test]
    fn quick_ratio_matches_difflib() {
        // difflib.SequenceMatcher(a="abcd", b="bcde").quick_ratio() == 0.75
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let p = Passwords::new(64, 1).expect("params");
        let h = p.hash("s3cret-pass".into()).await.expect("hash");
        assert!(h.expose().starts_with("$argon2id$"));
        assert!(
            p.verify("s3cret-pass".into(), Some(h.clone()))
                .await
                .expect("verify")
        );
        assert!(!p.verify("wrong".into(), Some(h)).await.expect("verify"));
        assert!(
            !p.verify("agora-timing-equaliser".into(), None)
                .await
                .expect("verify")
        );
    }
}
