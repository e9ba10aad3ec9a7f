//! Ways a message leaves: SMTP (lettre, STARTTLS or implicit TLS through rustls), `.eml`
//! files for local development, the log, and memory for tests. Each returns a
//! [`SendError`] whose text holds no personal data, since it is stored with the message.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::error::AppError;
use crate::notifications::model::OutboxMessage;
use crate::settings::{EmailSettings, EmailTransport, SmtpTls};

/// Why a delivery failed: a fixed description plus any SMTP reply code, never the server's
/// own text (which may echo the recipient's address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub summary: String,
    /// Retrying will not help (a 5xx reply, a malformed address).
    pub permanent: bool,
}

impl SendError {
    pub fn transient(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            permanent: false,
        }
    }

    pub fn permanent(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            permanent: true,
        }
    }
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Delivers one message. Returning `Ok` means the receiving side has taken responsibility for
/// it (for SMTP: the server accepted the DATA).
pub trait Transport: Send + Sync {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> SendFuture<'a>;
}

/// Builds the MIME message: plain text and HTML alternatives, with the outbox's stable
/// `Message-ID` so a receiver can recognise a repeat delivery.
pub fn build_mime(from: &Mailbox, m: &OutboxMessage) -> Result<lettre::Message, SendError> {
    let to: Mailbox = m
        .recipient
        .parse()
        .map_err(|_| SendError::permanent("the recipient address is not valid"))?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(m.message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(m.text_body.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(m.html_body.clone()),
                ),
        )
        .map_err(|_| SendError::permanent("the message could not be built"))
}

/// The transport the settings name.
pub fn from_settings(settings: &EmailSettings) -> Result<Arc<dyn Transport>, AppError> {
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|_| AppError::Config("email.from is not an email address".into()))?;
    Ok(match settings.transport {
        EmailTransport::Smtp => Arc::new(SmtpTransport::new(settings, from)?),
        EmailTransport::File => Arc::new(FileTransport {
            dir: settings.file_dir.clone().into(),
            from,
        }),
        EmailTransport::Log => Arc::new(LogTransport),
    })
}

pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The most one delivery may take, end to end. lettre's own timeout covers each network
    /// step it knows of; this bounds the whole exchange, so a server that accepts the
    /// connection and then never speaks cannot hold the worker.
    deadline: Duration,
}

impl SmtpTransport {
    pub fn new(settings: &EmailSettings, from: Mailbox) -> Result<Self, AppError> {
        let s = &settings.smtp;
        let extra_root = extra_root_certificate(&s.ca_file)?;
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(s.host.clone());
            if let Some(pem) = &extra_root {
                let certificate = Certificate::from_pem(pem).map_err(|e| {
                    AppError::Config(format!("email.smtp.ca_file is not a PEM certificate: {e}"))
                })?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                .build()
                .map_err(|e| AppError::Config(format!("email.smtp TLS settings: {e}")))
        };
        let tls = match s.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(s.timeout_secs)));
        if !s.username.is_empty() {
            builder = builder.credentials(Credentials::new(s.username.clone(), s.password.clone()));
        }
        Ok(Self {
            inner: builder.build(),
            from,
            deadline: Duration::from_secs(s.timeout_secs.max(1) * 4),
        })
    }
}

/// The PEM of `email.smtp.ca_file`, if set: a certificate authority trusted for the mail
/// server in addition to the usual public ones (a relay with a private or in-house CA).
fn extra_root_certificate(ca_file: &str) -> Result<Option<Vec<u8>>, AppError> {
    if ca_file.is_empty() {
        return Ok(None);
    }
    let pem = std::fs::read(ca_file)
        .map_err(|e| AppError::Config(format!("email.smtp.ca_file {ca_file}: {e}")))?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(AppError::Config(format!(
            "email.smtp.ca_file {ca_file} holds no PEM certificate"
        )));
    }
    Ok(Some(pem))
}

impl Transport for SmtpTransport {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let mime = build_mime(&self.from, message)?;
            match tokio::time::timeout(self.deadline, self.inner.send(mime)).await {
                Ok(sent) => sent.map(|_| ()).map_err(|e| describe_smtp_error(&e)),
                Err(_) => Err(SendError::transient(
                    "the mail server did not answer in time",
                )),
            }
        })
    }
}

fn describe_smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    let code = e
        .status()
        .map(|c| format!(" (reply {c})"))
        .unwrap_or_default();
    if e.is_permanent() {
        SendError::permanent(format!("the mail server refused the message{code}"))
    } else if e.is_transient() {
        SendError::transient(format!("the mail server deferred the message{code}"))
    } else if e.is_timeout() {
        SendError::transient("the mail server did not answer in time")
    } else if e.is_tls() || failed_tls_handshake(e) {
        SendError::transient("the secure connection to the mail server failed")
    } else {
        SendError::transient("could not reach the mail server")
    }
}

/// A TLS handshake that failed (an untrusted or mismatched certificate, say) reaches lettre as
/// an I/O error carrying the rustls error, not as one of its own TLS errors.
fn failed_tls_handshake(e: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let io_inner = s
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if s.is::<rustls::Error>() || io_inner.is_some_and(|i| i.is::<rustls::Error>()) {
            return true;
        }
        source = s.source();
    }
    false
}

/// Writes each message to `<dir>/<id>.eml`, for reading in a mail client during development.
pub struct FileTransport {
    dir: std::path::PathBuf,
    from: Mailbox,
}

impl Transport for FileTransport {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let mime = build_mime(&self.from, message)?;
            tokio::fs::create_dir_all(&self.dir)
                .await
                .map_err(|_| SendError::transient("could not create the email folder"))?;
            let path = self.dir.join(format!("{}.eml", message.id));
            tokio::fs::write(&path, mime.formatted())
                .await
                .map_err(|_| SendError::transient("could not write the email file"))
        })
    }
}

/// Logs the kind and outbox id of each message, nothing personal.
pub struct LogTransport;

impl Transport for LogTransport {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> SendFuture<'a> {
        Box::pin(async move {
            log::info!(
                "email {} ({}) not sent: the log transport is configured",
                message.id,
                message.kind
            );
            Ok(())
        })
    }
}

/// Keeps messages in memory, for tests; can be told to fail.
#[derive(Default, Clone)]
pub struct MemoryTransport {
    pub sent: Arc<Mutex<Vec<OutboxMessage>>>,
    pub fail_with: Arc<Mutex<Option<SendError>>>,
}

impl Transport for MemoryTransport {
    fn send<'a>(&'a self, message: &'a OutboxMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let failure = self
                .fail_with
                .lock()
                .map_err(|_| SendError::transient("poisoned"))?
                .clone();
            if let Some(e) = failure {
                return Err(e);
            }
            self.sent
                .lock()
                .map_err(|_| SendError::transient("poisoned"))?
                .push(message.clone());
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::messages::MessageKind;
    use crate::notifications::model::OutboxStatus;

    fn row() -> OutboxMessage {
        let now = crate::clock::now();
        OutboxMessage {
            id: "0193-test".into(),
            message_id: "<0193-test@mhtr-pathway>".into(),
            kind: MessageKind::Welcome,
            recipient: "robin@example.org".into(),
            subject: "Set up your account".into(),
            text_body: "Dear Robin".into(),
            html_body: "<p>Dear Robin</p>".into(),
            status: OutboxStatus::Sending,
            attempts: 1,
            next_attempt_at: now,
            lease_owner: Some("w".into()),
            lease_expires_at: Some(now),
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }

    #[tokio::test]
    async fn the_file_transport_writes_one_eml_per_message_with_its_message_id() {
        let dir = tempfile::TempDir::new().unwrap();
        let transport = FileTransport {
            dir: dir.path().join("outbox"),
            from: "MHTR Pathway <no-reply@localhost>".parse().unwrap(),
        };
        transport.send(&row()).await.unwrap();
        let eml = std::fs::read_to_string(dir.path().join("outbox/0193-test.eml")).unwrap();
        assert!(
            eml.contains("Message-ID: <0193-test@mhtr-pathway>"),
            "{eml}"
        );
        assert!(eml.contains("To: robin@example.org"));
        assert!(eml.contains("multipart/alternative"));
    }

    #[test]
    fn an_invalid_recipient_is_a_permanent_failure() {
        let mut m = row();
        m.recipient = "not an address".into();
        let from: Mailbox = "a@example.org".parse().unwrap();
        assert!(build_mime(&from, &m).unwrap_err().permanent);
    }
}
