//! The settings of accounts by email, data exports and the job queue that sends and builds them.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, Env, http_url};

/// `AGORA_EMAIL_VERIFICATION`, as django-allauth's `ACCOUNT_EMAIL_VERIFICATION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// No link is sent.
    None,
    /// A link is sent; nothing is restricted.
    Optional,
    /// A link is sent; until it is followed the account may use only its own account routes.
    Mandatory,
}

/// Where mail goes (`AGORA_EMAIL_URL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailBackend {
    /// Each mail in the log.
    Console,
    /// One `.eml` file per mail in a directory.
    Dir(PathBuf),
    Smtp(SmtpSettings),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// Implicit TLS (`smtps://`).
    pub implicit_tls: bool,
    /// STARTTLS required (`smtp://`, unless `?tls=none`).
    pub starttls: bool,
    pub user: Option<String>,
    pub password: Option<crate::secret::Secret>,
    pub timeout: Duration,
}

/// How the job queue runs on this instance.
#[derive(Clone, Copy, Debug)]
pub struct JobSettings {
    /// Jobs this instance runs at once (`AGORA_JOB_WORKERS`).
    pub workers: usize,
    /// How long a claim holds before another instance may take the job over
    /// (`AGORA_JOB_LEASE_SECS`); renewed while the job runs.
    pub lease: Duration,
    /// The wait before the first retry, each later one four times longer
    /// (`AGORA_JOB_RETRY_BASE_MS`).
    pub retry_base: Duration,
    /// How often an idle worker looks for due jobs; an enqueue on this instance wakes it at once.
    pub poll: Duration,
}

#[derive(Clone, Debug)]
pub struct AccountSettings {
    pub email: EmailBackend,
    /// `AGORA_EMAIL_FROM`: an address, or `Name <address>`.
    pub email_from: String,
    /// Base of the links in mails; else `AGORA_PUBLIC_URL`, else the request's origin.
    pub frontend_url: Option<url::Url>,
    /// The verification link, with `{key}` (and `{frontend}`) in it.
    pub verify_url: String,
    /// The reset link, with `{uid}` and `{token}` (and `{frontend}`) in it.
    pub reset_url: String,
    pub verification: Verification,
    pub verification_ttl: Duration,
    pub reset_timeout: Duration,
    /// Resend, reset and email-change requests per client address per hour; 0: no limit.
    pub email_requests_per_hour: u32,
    /// Such mails to one address per hour; past it none is sent.
    pub emails_per_recipient_per_hour: u32,
    pub export_interval: Duration,
    pub export_retention: Duration,
    /// Reports a user may file per hour (`AGORA_REPORTS_PER_HOUR`); 0: no limit.
    pub reports_per_hour: u32,
    pub jobs: JobSettings,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            email: EmailBackend::Console,
            email_from: "webmaster@localhost".into(),
            frontend_url: None,
            verify_url: "{frontend}/account-confirm-email/{key}/".into(),
            reset_url: "{frontend}/password-reset/confirm/{uid}/{token}/".into(),
            verification: Verification::Optional,
            verification_ttl: Duration::from_secs(259_200),
            reset_timeout: Duration::from_secs(3600),
            email_requests_per_hour: 20,
            emails_per_recipient_per_hour: 5,
            export_interval: Duration::from_secs(86_400),
            export_retention: Duration::from_secs(604_800),
            reports_per_hour: 20,
            jobs: JobSettings {
                workers: 4,
                lease: Duration::from_secs(300),
                retry_base: Duration::from_secs(5),
                poll: Duration::from_secs(1),
            },
        }
    }
}

pub(super) fn account_settings(env: &Env) -> Result<AccountSettings, ConfigError> {
    let d = AccountSettings::default();
    Ok(AccountSettings {
        email: env
            .parsed("AGORA_EMAIL_URL", email_backend)?
            .unwrap_or(EmailBackend::Console),
        email_from: env.text("AGORA_EMAIL_FROM").unwrap_or(d.email_from),
        frontend_url: env.parsed("AGORA_FRONTEND_URL", |v| {
            http_url(v, "https://app.example.com")
        })?,
        verify_url: env.text("AGORA_EMAIL_VERIFY_URL").unwrap_or(d.verify_url),
        reset_url: env.text("AGORA_PASSWORD_RESET_URL").unwrap_or(d.reset_url),
        verification: env
            .parsed("AGORA_EMAIL_VERIFICATION", |v| {
                match v.trim().to_ascii_lowercase().as_str() {
                    "none" => Ok(Verification::None),
                    "optional" => Ok(Verification::Optional),
                    "mandatory" => Ok(Verification::Mandatory),
                    _ => Err(format!("{v:?} is not none, optional or mandatory")),
                }
            })?
            .unwrap_or(d.verification),
        verification_ttl: env.secs("AGORA_EMAIL_VERIFICATION_TTL_SECS", 259_200, 60)?,
        reset_timeout: env.secs("AGORA_PASSWORD_RESET_TIMEOUT_SECS", 3600, 60)?,
        email_requests_per_hour: env.num("AGORA_EMAIL_REQUESTS_PER_HOUR", 20, 0)?,
        emails_per_recipient_per_hour: env.num("AGORA_EMAILS_PER_RECIPIENT_PER_HOUR", 5, 1)?,
        export_interval: env.secs("AGORA_EXPORT_INTERVAL_SECS", 86_400, 0)?,
        export_retention: env.secs("AGORA_EXPORT_RETENTION_SECS", 604_800, 60)?,
        reports_per_hour: env.num("AGORA_REPORTS_PER_HOUR", 20, 0)?,
        jobs: JobSettings {
            workers: env.num("AGORA_JOB_WORKERS", 4, 1)?,
            lease: env.secs("AGORA_JOB_LEASE_SECS", 300, 3)?,
            retry_base: Duration::from_millis(env.num("AGORA_JOB_RETRY_BASE_MS", 5000, 10)?),
            poll: d.jobs.poll,
        },
    })
}

/// `console`, `file:///dir`, `smtp://user:pass@host:587[?tls=none][&timeout=10]` or
/// `smtps://user:pass@host:465`.
pub fn email_backend(raw: &str) -> Result<EmailBackend, String> {
    let raw = raw.trim();
    if raw == "console" {
        return Ok(EmailBackend::Console);
    }
    let url = url::Url::parse(raw).map_err(|_| {
        format!("{raw:?} is not console, file:///dir, smtp://host:587 or smtps://host:465")
    })?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| "the credentials are not UTF-8 once percent-decoded".to_owned())
    };
    match url.scheme() {
        "file" => url
            .to_file_path()
            .map(EmailBackend::Dir)
            .map_err(|()| format!("{raw:?} names no directory")),
        scheme @ ("smtp" | "smtps") => {
            let host = url
                .host_str()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| format!("{raw:?} names no host"))?
                .trim_matches(['[', ']'])
                .to_owned();
            let implicit_tls = scheme == "smtps";
            let mut starttls = !implicit_tls;
            let mut timeout = Duration::from_secs(10);
            for (k, v) in url.query_pairs() {
                match (k.as_ref(), v.as_ref()) {
                    ("tls", "none") if !implicit_tls => starttls = false,
                    ("tls", "starttls" | "required") if !implicit_tls => starttls = true,
                    ("timeout", secs) => {
                        let secs: u64 =
                            secs.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                                format!("timeout={secs} is not a number of seconds")
                            })?;
                        timeout = Duration::from_secs(secs);
                    }
                    (k, v) => return Err(format!("unknown option {k}={v}")),
                }
            }
            let user = Some(url.username())
                .filter(|u| !u.is_empty())
                .map(decode)
                .transpose()?;
            let password = url
                .password()
                .map(decode)
                .transpose()?
                .map(crate::secret::Secret::from);
            Ok(EmailBackend::Smtp(SmtpSettings {
                port: url.port().unwrap_or(if implicit_tls { 465 } else { 587 }),
                host,
                implicit_tls,
                starttls,
                user,
                password,
                timeout,
            }))
        }
        _ => Err(format!(
            "{raw:?} is not console, file:///dir, smtp://host:587 or smtps://host:465"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_urls() {
        assert_eq!(email_backend("console"), Ok(EmailBackend::Console));
        let Ok(EmailBackend::Smtp(s)) = email_backend("smtp://u%40x:p%3Aw@mail.test?tls=none")
        else {
            panic!("smtp url");
        };
        assert_eq!(
            (s.host.as_str(), s.port, s.starttls),
            ("mail.test", 587, false)
        );
        assert_eq!(s.user.as_deref(), Some("u@x"));
        assert_eq!(s.password.as_ref().map(|p| p.expose()), Some("p:w"));
        let Ok(EmailBackend::Smtp(s)) = email_backend("smtps://mail.test") else {
            panic!("smtps url");
        };
        assert!(s.implicit_tls && s.port == 465);
        assert!(email_backend("smtp://mail.test?tls=maybe").is_err());
        assert!(email_backend("http://mail.test").is_err());
        assert_eq!(
            email_backend("file:///tmp/mail"),
            Ok(EmailBackend::Dir("/tmp/mail".into()))
        );
    }
}
