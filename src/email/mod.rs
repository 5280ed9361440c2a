//! Mail: rendered from the templates in `templates/email/` (minijinja; plain text and HTML,
//! the HTML auto-escaped), queued as a job in the caller's transaction, and sent by the job
//! queue (`send`), so a request never waits for an SMTP server and a mail outlives a server
//! that is down.

use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement};
use serde::{Deserialize, Serialize};

use crate::config::AccountSettings;
use crate::jobs::{self, NewJob};

pub mod send;

/// The job kind of a mail.
pub const JOB: &str = "email";

/// A rendered mail, as its job carries it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    /// The recipient's name, shown in `To:` (encoded by the mail library, so a line break in
    /// it stays in the name).
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A mail Agora sends, one template each.
#[derive(Clone, Copy, Debug)]
pub enum Template {
    Verify,
    Reset,
    EmailChanged,
    PasswordChanged,
    Moderation,
}

impl Template {
    fn name(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::EmailChanged => "email_changed",
            Self::PasswordChanged => "password_changed",
            Self::Moderation => "moderation",
        }
    }
}

static TEMPLATES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    macro_rules! add {
        ($($name:literal),*) => {$(
            add!(@one concat!($name, ".subject.txt"));
            add!(@one concat!($name, ".txt"));
            add!(@one concat!($name, ".html"));
        )*};
        (@one $file:expr) => {
            env.add_template($file, include_str!(concat!("../../templates/email/", $file)))
                .unwrap_or_else(|e| panic!("template {}: {e}", $file));
        };
    }
    add!(
        "verify",
        "reset",
        "email_changed",
        "password_changed",
        "moderation"
    );
    env
});

/// `template` rendered for `to` with `context`.
pub fn render(
    template: Template,
    to: &str,
    to_name: &str,
    context: &serde_json::Value,
) -> Result<Mail, String> {
    let part = |suffix: &str| {
        let file = format!("{}.{suffix}", template.name());
        TEMPLATES
            .get_template(&file)
            .and_then(|t| t.render(context))
            .map_err(|e| format!("{file}: {e}"))
    };
    Ok(Mail {
        to: to.to_owned(),
        to_name: to_name.to_owned(),
        subject: part("subject.txt")?.trim().to_owned(),
        text: part("txt")?,
        html: part("html")?,
    })
}

/// Queues `mail` in the transaction `txn`, unless its address already had
/// `emails_per_recipient_per_hour` mails in the last hour: then nothing is sent, and the caller
/// answers as if it were (the limit reveals no account). Whether it was queued. Mails to one
/// address are counted one transaction at a time (SQLite has one writer; PostgreSQL takes a
/// transaction lock on the address), so racing requests cannot pass the limit together.
pub async fn queue(
    txn: &DatabaseTransaction,
    settings: &AccountSettings,
    mail: &Mail,
) -> Result<bool, DbErr> {
    let key = mail.to.to_lowercase();
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [format!("email:{key}").into()],
        ))
        .await?;
    }
    let hour_ago = jobs::now_ms() - 3_600_000;
    let sent = jobs::count_since(txn, JOB, &key, hour_ago).await?;
    if sent >= u64::from(settings.emails_per_recipient_per_hour) {
        tracing::warn!("mail not sent: its address had its hourly share");
        return Ok(false);
    }
    let payload = serde_json::to_value(mail).map_err(|e| DbErr::Custom(e.to_string()))?;
    jobs::enqueue(
        txn,
        NewJob {
            kind: JOB,
            key: Some(key),
            payload,
            // The first try and three retries.
            max_attempts: 4,
        },
    )
    .await?;
    Ok(true)
}

/// `pattern` (a link setting) with `{frontend}` and each `(name, value)` filled in.
pub fn link(pattern: &str, frontend: &str, values: &[(&str, &str)]) -> String {
    let mut out = pattern.replace("{frontend}", frontend.trim_end_matches('/'));
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_and_html_is_escaped() {
        let ctx = serde_json::json!({"username": "<b>eve</b>", "email": "e@x.test",
            "link": "https://app.test/x?a=1&b=2", "hours": 72, "minutes": 60,
            "new_email": "n@x.test", "what": "warned", "reason": "<b>eve</b>"});
        for t in [
            Template::Verify,
            Template::Reset,
            Template::EmailChanged,
            Template::PasswordChanged,
            Template::Moderation,
        ] {
            let mail = render(t, "e@x.test", "Eve", &ctx).expect("renders");
            assert!(!mail.subject.is_empty() && !mail.subject.contains('\n'));
            assert!(mail.text.contains("<b>eve</b>"), "text is not escaped");
            assert!(
                mail.html.contains("&lt;b&gt;eve&lt;") && !mail.html.contains("<b>eve"),
                "html is escaped"
            );
        }
    }

    #[test]
    fn links_fill_their_placeholders() {
        assert_eq!(
            link(
                "{frontend}/password-reset/confirm/{uid}/{token}/",
                "https://app.test/",
                &[("uid", "MQ"), ("token", "abc")]
            ),
            "https://app.test/password-reset/confirm/MQ/abc/"
        );
    }
}
