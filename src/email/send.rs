//! Delivery, as `AGORA_EMAIL_URL` says: the log, a directory of `.eml` files (as Django's file
//! backend), or SMTP with lettre (STARTTLS required unless `?tls=none`, or implicit TLS).

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Mail;
use crate::config::{AccountSettings, EmailBackend};
use crate::jobs::JobError;

pub struct Mailer {
    from: Mailbox,
    backend: Backend,
}

enum Backend {
    Console,
    Dir(std::path::PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    /// The mailer of `settings`; an error names what is wrong with them.
    pub fn new(settings: &AccountSettings) -> Result<Self, String> {
        let from: Mailbox = settings
            .email_from
            .parse()
            .map_err(|e| format!("AGORA_EMAIL_FROM {:?}: {e}", settings.email_from))?;
        let backend = match &settings.email {
            EmailBackend::Console => Backend::Console,
            EmailBackend::Dir(dir) => Backend::Dir(dir.clone()),
            EmailBackend::Smtp(s) => {
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    .port(s.port)
                    .timeout(Some(s.timeout));
                if s.implicit_tls || s.starttls {
                    let params = TlsParameters::new(s.host.clone())
                        .map_err(|e| format!("AGORA_EMAIL_URL: {e}"))?;
                    b = b.tls(if s.implicit_tls {
                        Tls::Wrapper(params)
                    } else {
                        Tls::Required(params)
                    });
                }
                if let (Some(user), Some(password)) = (&s.user, &s.password) {
                    b = b.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
                }
                Backend::Smtp(b.build())
            }
        };
        Ok(Self { from, backend })
    }

    /// Delivers `mail` (the job `id`'s). An address that cannot be a mailbox fails for good;
    /// a peer that cannot be reached is worth a retry.
    pub async fn send(&self, id: i64, mail: &Mail) -> Result<(), JobError> {
        // A display name is one line: control characters (a line break a user typed into their
        // name) become spaces, so nothing in it can start a header of its own.
        let name: String = mail
            .to_name
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let to = Mailbox::new(
            Some(name).filter(|n| !n.trim().is_empty()),
            mail.to
                .parse()
                .map_err(|e| JobError::Fail(format!("recipient {:?}: {e}", mail.to)))?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| JobError::Fail(format!("message: {e}")))?;
        match &self.backend {
            Backend::Console => {
                tracing::info!(
                    to = %mail.to,
                    subject = %mail.subject,
                    "mail (AGORA_EMAIL_URL=console):\n{}",
                    mail.text
                );
            }
            Backend::Dir(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let name = format!("{}-{id}.eml", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
                // Written aside, then renamed: a reader never sees half a mail.
                let part = dir.join(format!(".{name}.part"));
                tokio::fs::write(&part, message.formatted()).await?;
                tokio::fs::rename(&part, dir.join(name)).await?;
            }
            Backend::Smtp(transport) => {
                transport.send(message).await.map_err(|e| {
                    if e.is_permanent() {
                        JobError::Fail(format!("SMTP: {e}"))
                    } else {
                        JobError::Retry(format!("SMTP: {e}"))
                    }
                })?;
            }
        }
        tracing::info!(to = %mail.to, "mail sent");
        Ok(())
    }
}
