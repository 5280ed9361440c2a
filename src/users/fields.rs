//! Parse-don't-validate newtypes for user fields, with Django's messages.

pub use crate::error::{BLANK, REQUIRED};

/// A user name already in use, as username or as email (they share one namespace).
pub const USERNAME_TAKEN: &str = "A user with that username already exists.";
/// An email already in use, as email or as username.
pub const EMAIL_TAKEN: &str = "A user with that email already exists.";

pub fn required(errors: &mut crate::error::FieldErrors, field: &str, v: Option<&str>) {
    match v {
        None => errors.add(field, REQUIRED),
        Some(s) if s.trim().is_empty() => errors.add(field, BLANK),
        Some(s) if s.chars().count() > MAX_CREDENTIAL_CHARS => errors.add(field, too_long()),
        Some(_) => {}
    }
}

/// No username, email, password or token Agora accepts is longer; past it is a field error
/// rather than a hash or a query over a megabyte of text.
pub const MAX_CREDENTIAL_CHARS: usize = 1024;

pub fn too_long() -> String {
    format!("Ensure this field has no more than {MAX_CREDENTIAL_CHARS} characters.")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(BLANK.into());
        }
        if s.chars().count() > 150 {
            return Err("Ensure this field has no more than 150 characters.".into());
        }
        let allowed = |c: char| c.is_alphanumeric() || "@.+-_".contains(c);
        if !s.chars().all(allowed) {
            return Err("Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// A pragmatic subset of Django's EmailValidator: one `@`, a dot-atom local part and a
    /// domain of dotted labels with a letter-only top level.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(BLANK.into());
        }
        let invalid = || "Enter a valid email address.".to_owned();
        if s.len() > 254 {
            return Err("Ensure this field has no more than 254 characters.".into());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
        if !(local_ok && domain_ok) {
            return Err(invalid());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A trimmed string of at most `max` characters (blank allowed).
pub fn bounded(raw: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    if s.chars().count() > max {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    Ok(s.to_owned())
}

/// An http(s) URL or blank, as Django's URLField.
pub fn website(raw: &str) -> Result<String, String> {
    let s = bounded(raw, 200)?;
    if s.is_empty() {
        return Ok(s);
    }
    match url::Url::parse(&s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(s),
        _ => Err("Enter a valid URL.".into()),
    }
}

pub fn choice(raw: &str, allowed: &[&str]) -> Result<String, String> {
    let s = raw.trim();
    if allowed.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(format!("\"{s}\" is not a valid choice."))
    }
}

/// A real calendar date written `YYYY-MM-DD` (four-digit year, no sign), from 1800 on.
pub fn date(raw: &str) -> Result<chrono::NaiveDate, String> {
    let s = raw.trim();
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let date = shape_ok
        .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.".to_owned()
        })?;
    if date < EARLIEST_DATE {
        return Err("Ensure this date is 1800-01-01 or later.".into());
    }
    Ok(date)
}

/// The earliest birth date accepted.
pub const EARLIEST_DATE: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(1800, 1, 1) {
    Some(d) => d,
    None => panic!("1800-01-01 is a date"),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(
            Username::parse("  al.ice+1@x_y-z ").map(Username::into_inner),
            Ok("al.ice+1@x_y-z".into())
        );
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
        assert!(Username::parse(&"a".repeat(150)).is_ok());
    }

    #[test]
    fn emails() {
        assert!(Email::parse("alice@example.com").is_ok());
        assert!(Email::parse("a.b+c@sub.example.org").is_ok());
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a..b@x.com",
            "a@-x.com",
            "a b@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn websites_and_dates() {
        assert!(website("https://example.com/me").is_ok());
        assert!(website("").is_ok());
        assert!(website("javascript:alert(1)").is_err());
        assert!(date("2000-02-29").is_ok());
        assert!(date("2001-02-29").is_err());
        for bad in [
            "0000-01-01",
            "-0001-01-01",
            "+2000-01-01",
            "1799-12-31",
            "2000-1-01",
            "20000-01-01",
            "2000-01-01x",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
        assert!(date(" 1800-01-01 ").is_ok());
        assert!(choice("friends", &["public", "friends"]).is_ok());
        assert!(choice("nope", &["public"]).is_err());
    }
}
