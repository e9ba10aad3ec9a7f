//! Email over TLS: the tests' SMTP server speaks STARTTLS or implicit TLS with a certificate
//! from a certificate authority made for the test, which the service is told to trust
//! (`email.smtp.ca_file`). A server the service does not trust gets nothing, and the message
//! waits for a retry rather than being lost.

use mhtr_pathway::notifications::messages::{Message, MessageKind};
use mhtr_pathway::notifications::model::{self, OutboxStatus};
use mhtr_pathway::notifications::worker::{Pass, Worker};
use mhtr_pathway::settings::SmtpTls;

use crate::helpers::smtp::{Security, SmtpServer, TestCertificates};
use crate::helpers::{TestApp, spawn_app_with_smtp};

fn queue(app: &TestApp, to: &str) {
    app.with_db(|c| {
        model::enqueue(
            c,
            Message {
                kind: MessageKind::Welcome,
                to: to.to_owned(),
                subject: "Set up your account".into(),
                text_body: "Your link".into(),
                html_body: "<p>Your link</p>".into(),
            },
        )
        .expect("queue the message")
    });
}

/// A PEM file holding `pem`, kept for as long as the returned value lives.
fn ca_file(pem: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), pem).expect("write the CA certificate");
    file
}

#[tokio::test]
async fn messages_are_delivered_over_starttls_and_over_implicit_tls_to_a_trusted_server() {
    for (name, tls) in [("starttls", SmtpTls::Starttls), ("tls", SmtpTls::Tls)] {
        let certificates = TestCertificates::generate();
        let security = match tls {
            SmtpTls::Starttls => Security::StartTls(certificates.acceptor.clone()),
            _ => Security::Implicit(certificates.acceptor.clone()),
        };
        let server = SmtpServer::start_with(security).await;
        let ca = ca_file(&certificates.ca_pem);
        let path = ca.path().to_string_lossy().into_owned();
        let app = spawn_app_with_smtp(&server, move |s| {
            s.email.smtp.tls = tls;
            s.email.smtp.ca_file = path;
        })
        .await;

        queue(&app, "robin@example.org");
        let pass = app.email_worker().run_once().await.unwrap();
        assert_eq!(
            pass.sent,
            1,
            "{name}: {pass:?} {:?}",
            app.outbox()[0].last_error
        );
        let received = server.received_by("robin@example.org");
        assert_eq!(received.len(), 1, "{name}");
        assert!(received[0].secure, "{name}: the message came over TLS");
        assert_eq!(app.outbox()[0].status, OutboxStatus::Sent);
    }
}

#[tokio::test]
async fn a_server_whose_certificate_is_not_trusted_gets_nothing_and_the_message_waits() {
    let certificates = TestCertificates::generate();
    let other = TestCertificates::generate();
    let server = SmtpServer::start_with(Security::Implicit(certificates.acceptor.clone())).await;
    // The service trusts another authority (and the public ones), not the server's.
    let wrong = ca_file(&other.ca_pem);
    let path = wrong.path().to_string_lossy().into_owned();
    let app = spawn_app_with_smtp(&server, move |s| {
        s.email.smtp.tls = SmtpTls::Tls;
        s.email.smtp.ca_file = path;
    })
    .await;

    queue(&app, "robin@example.org");
    let pass = app.email_worker().run_once().await.unwrap();
    assert_eq!(
        pass,
        Pass {
            retrying: 1,
            ..Pass::default()
        }
    );
    assert!(server.received().is_empty(), "nothing reached the server");
    let row = &app.outbox()[0];
    assert_eq!(row.status, OutboxStatus::Queued, "waiting for a retry");
    assert_eq!(row.attempts, 1);
    assert_eq!(
        row.last_error.as_deref(),
        Some("the secure connection to the mail server failed"),
        "a fixed description, no address"
    );

    // Once the service trusts the right authority, the same message goes, once.
    let right = ca_file(&certificates.ca_pem);
    let mut settings = app.state.settings.email.clone();
    settings.smtp.ca_file = right.path().to_string_lossy().into_owned();
    let transport = mhtr_pathway::notifications::transport::from_settings(&settings)
        .expect("the email transport builds");
    let worker = Worker::new(app.state.db.clone(), transport, &settings);
    assert_eq!(worker.run_once().await.unwrap().sent, 1);
    assert_eq!(server.received_by("robin@example.org").len(), 1);
    assert!(server.received()[0].secure);
    assert_eq!(app.outbox()[0].status, OutboxStatus::Sent);
}

#[tokio::test]
async fn a_ca_file_that_is_missing_or_holds_no_certificate_is_a_configuration_error() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let mut settings = app.state.settings.email.clone();
    settings.smtp.tls = SmtpTls::Starttls;
    settings.smtp.ca_file = "/no/such/ca.pem".into();
    assert!(mhtr_pathway::notifications::transport::from_settings(&settings).is_err());
    let junk = ca_file("not a certificate");
    settings.smtp.ca_file = junk.path().to_string_lossy().into_owned();
    assert!(mhtr_pathway::notifications::transport::from_settings(&settings).is_err());
}
