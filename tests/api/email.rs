//! Email: every message is written to the outbox with the change that causes it, and the
//! worker delivers it to a real SMTP server (the tests' own) — none lost while the server
//! is down, none doubled, dead letters retried from the admin page.

use chrono::Duration;
use diesel::prelude::*;
use mhtr_pathway::db::schema::outbox_messages;
use mhtr_pathway::notifications::messages::MessageKind;
use mhtr_pathway::notifications::model::{self, OutboxStatus};
use mhtr_pathway::notifications::worker::Pass;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::smtp::SmtpServer;
use crate::helpers::{location, spawn_app_with_smtp, today, unescape};

fn sent(n: usize) -> Pass {
    Pass {
        sent: n,
        ..Pass::default()
    }
}

#[tokio::test]
async fn a_new_user_is_emailed_their_invitation_link_and_nothing_else_about_them() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (admin, _) = app.login_as(Role::Admin).await;

    let invitation = app.invite_through_admin_pages(&admin).await;
    assert_eq!(app.email_worker().run_once().await.unwrap(), sent(1));

    let mail = server.received_by(&invitation.email);
    assert_eq!(mail.len(), 1, "one email to the new user");
    assert_eq!(server.received().len(), 1, "and to nobody else");
    assert_eq!(mail[0].from, "no-reply@localhost", "the envelope sender");
    let body = mail[0].decoded();
    assert!(body.contains(&invitation.path), "the email holds the link");
    assert!(body.contains("Dear Robin Ash"), "and the person's own name");
    assert!(
        mail[0]
            .header("Subject")
            .unwrap()
            .contains("Set up your MHTR Pathway account")
    );
    for other in ["Rutland", "probation_officer", "NPPV", "nppv2"] {
        assert!(!body.contains(other), "the email mentions {other}");
    }
    assert!(!body.contains("<img"), "no images");

    let row = &app.outbox()[0];
    assert_eq!(row.status, OutboxStatus::Sent);
    assert_eq!(mail[0].message_id(), row.message_id);
    assert!(
        row.text_body.is_empty() && row.html_body.is_empty(),
        "the link does not stay in the database once sent"
    );
    assert_eq!(
        app.email_worker().run_once().await.unwrap(),
        Pass::default()
    );
}

#[tokio::test]
async fn password_and_two_factor_resets_email_the_link_to_the_user() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let user = app.create_user(Role::ClinicalLead, &["Rutland"]);

    for (action, subject) in [
        ("reset-password", "Reset your MHTR Pathway password"),
        (
            "reset-two-factor",
            "Set up your MHTR Pathway authenticator app again",
        ),
    ] {
        let res = admin
            .post(&format!("/admin/users/{}/{action}", user.id), &[])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let page = admin.get_page(&location(&res)).await;
        assert!(unescape(&page).contains("We have emailed the user a single-use link"));
        assert!(!page.contains("/invitation/"), "never shown on the page");
        let path = app.invitation_sent_to(&user.email);
        assert_eq!(app.email_worker().run_once().await.unwrap(), sent(1));
        let mail = server.received_by(&user.email);
        let last = mail.last().expect("an email to the user");
        assert_eq!(last.header("Subject").unwrap(), subject);
        let body = last.decoded();
        assert!(
            body.contains(&path),
            "{action}: the email holds the new link"
        );
        assert!(!body.contains("PYL012345"), "no HCPC number");
    }
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn vetting_reminders_go_once_per_expiry_date_and_administrators_see_only_initials() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (admin_browser, admin) = app.login_as(Role::Admin).await;
    let user = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let expires = today() + Duration::days(10);
    app.set_vetting_expiry(&user, expires);
    let queue = |app: &crate::helpers::TestApp| {
        let emails = app.state.emails.clone();
        app.with_db(|c| {
            mhtr_pathway::db::write_tx(c, |c| {
                mhtr_pathway::notifications::vetting::queue_reminders(c, &emails, today())
            })
            .unwrap()
        })
    };

    assert_eq!(queue(&app), 1);
    assert_eq!(queue(&app), 0, "running again queues nothing new");
    assert_eq!(app.email_worker().run_once().await.unwrap(), sent(2));

    let own = server.received_by(&user.email);
    assert_eq!(own.len(), 1);
    assert!(
        own[0]
            .decoded()
            .contains(&mhtr_pathway::web::format::date(expires))
    );
    let copy = server.received_by(&admin.email);
    assert_eq!(copy.len(), 1);
    let body = copy[0].decoded();
    assert!(body.contains("T. U."), "initials");
    assert!(body.contains(&format!("/admin/users/{}/vetting", user.id)));
    assert!(!body.contains(&user.name), "no name");
    assert!(!body.contains(&user.email), "no address");

    // The administrator turns their copies off; the user's own reminder still goes.
    let res = admin_browser
        .post("/account/notifications", &[("submitted", "1")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let account = admin_browser.get_page("/account").await;
    assert!(!account.contains("value=\"vetting_expiring_admin\" checked"));
    app.set_vetting_expiry(&user, expires + Duration::days(1));
    assert_eq!(queue(&app), 1, "a new expiry date is a new reminder");
    assert_eq!(app.email_worker().run_once().await.unwrap(), sent(1));
    assert_eq!(server.received_by(&user.email).len(), 2);
    assert_eq!(server.received_by(&admin.email).len(), 1);
}

#[tokio::test]
async fn messages_wait_while_the_server_is_down_and_all_arrive_once_when_it_is_back() {
    let mut server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (admin, _) = app.login_as(Role::Admin).await;
    server.down().await;

    // The administrator's actions succeed while the mail server is down.
    let mut addresses = Vec::new();
    for _ in 0..3 {
        addresses.push(app.invite_through_admin_pages(&admin).await.email);
    }
    let worker = app.email_worker();
    let pass = worker.run_once().await.unwrap();
    assert_eq!(pass.sent, 0);
    assert_eq!(pass.retrying, 3);
    assert!(
        app.outbox().iter().all(|m| m.status == OutboxStatus::Queued
            && m.last_error.as_deref() == Some("could not reach the mail server")),
        "{:?}",
        app.outbox()
            .iter()
            .map(|m| m.last_error.clone())
            .collect::<Vec<_>>()
    );

    server.up().await;
    assert_eq!(worker.run_once().await.unwrap(), sent(3));
    assert_eq!(worker.run_once().await.unwrap(), Pass::default());
    let received = server.received();
    assert_eq!(received.len(), 3, "none lost, none doubled");
    for address in &addresses {
        assert_eq!(server.received_by(address).len(), 1, "{address}");
    }
}

#[tokio::test]
async fn a_mail_server_that_never_answers_holds_the_worker_only_for_the_timeout() {
    // Accepts connections and then says nothing: no greeting, no reply, no close.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            open.push(conn);
        }
    });
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |s| {
        s.email.smtp.port = port;
        s.email.smtp.timeout_secs = 1;
    })
    .await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let invited = app.invite_through_admin_pages(&admin).await;

    let started = std::time::Instant::now();
    let pass = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        app.email_worker().run_once(),
    )
    .await
    .expect("the worker gives up on a silent server")
    .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(pass.retrying, 1);
    let outbox = app.outbox();
    assert_eq!(
        outbox.len(),
        1,
        "the invitation to {} is kept",
        invited.email
    );
    assert_eq!(outbox[0].status, OutboxStatus::Queued);
    assert_eq!(
        outbox[0].last_error.as_deref(),
        Some("the mail server did not answer in time")
    );
    held.abort();
}

#[tokio::test]
async fn the_wait_between_attempts_grows_so_a_failed_message_is_not_retried_at_once() {
    let mut server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |s| s.email.backoff_base_secs = 60).await;
    let (admin, _) = app.login_as(Role::Admin).await;
    server.down().await;
    app.invite_through_admin_pages(&admin).await;
    let worker = app.email_worker();
    assert_eq!(worker.run_once().await.unwrap().retrying, 1);
    server.up().await;
    assert_eq!(
        worker.run_once().await.unwrap(),
        Pass::default(),
        "not due yet"
    );
    let row = &app.outbox()[0];
    let wait = row.next_attempt_at - mhtr_pathway::clock::now();
    assert!(wait > Duration::seconds(50) && wait <= Duration::seconds(60));
}

#[tokio::test]
async fn a_worker_that_dies_before_sending_leaves_the_message_to_another_after_its_lease() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let invitation = app.invite_through_admin_pages(&admin).await;

    // Worker A claims the message and dies without sending or recording anything.
    let claimed = app.with_db(|c| {
        model::claim_next(
            c,
            "worker-a",
            mhtr_pathway::clock::now(),
            Duration::seconds(120),
        )
        .unwrap()
    });
    assert!(claimed.is_some());
    let other = app.email_worker();
    assert_eq!(
        other.run_once().await.unwrap(),
        Pass::default(),
        "the lease keeps others off"
    );

    expire_leases(&app);
    assert_eq!(other.run_once().await.unwrap(), sent(1));
    let mail = server.received_by(&invitation.email);
    assert_eq!(mail.len(), 1, "exactly one delivery");
    assert_eq!(mail[0].message_id(), app.outbox()[0].message_id);
    assert_eq!(app.outbox()[0].attempts, 2, "the lost attempt counts");
}

#[tokio::test]
async fn a_worker_that_dies_after_sending_causes_a_repeat_with_the_same_message_id() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let invitation = app.invite_through_admin_pages(&admin).await;

    // Worker A sends, then dies before it records the message as sent.
    let claimed = app
        .with_db(|c| {
            model::claim_next(
                c,
                "worker-a",
                mhtr_pathway::clock::now(),
                Duration::seconds(120),
            )
            .unwrap()
        })
        .expect("a message to claim");
    let transport =
        mhtr_pathway::notifications::transport::from_settings(&app.state.settings.email).unwrap();
    transport.send(&claimed).await.expect("the server accepts");

    expire_leases(&app);
    assert_eq!(app.email_worker().run_once().await.unwrap(), sent(1));
    // Delivery is at least once: the receiver sees the repeat under the same Message-ID and
    // can drop it.
    let mail = server.received_by(&invitation.email);
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[0].message_id(), mail[1].message_id());
    assert_eq!(mail[0].message_id(), claimed.message_id);
    // Worker A, back from the dead, cannot overwrite the outcome.
    assert!(!app.with_db(|c| model::mark_sent(c, &claimed.id, "worker-a").unwrap()));
}

#[tokio::test]
async fn repeated_refusals_dead_letter_a_message_that_an_administrator_can_retry() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |s| s.email.max_attempts = 3).await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let invitation = app.invite_through_admin_pages(&admin).await;
    server.defer_everything(true);

    let worker = app.email_worker();
    for _ in 0..2 {
        assert_eq!(worker.run_once().await.unwrap().retrying, 1);
    }
    assert_eq!(worker.run_once().await.unwrap().dead, 1);
    assert_eq!(worker.run_once().await.unwrap(), Pass::default());
    let row = app.outbox()[0].clone();
    assert_eq!(row.status, OutboxStatus::Dead);
    assert_eq!(row.attempts, 3);
    let error = row.last_error.clone().unwrap();
    assert!(error.contains("451"), "{error}");
    assert!(
        !error.contains('@'),
        "no address in the stored error: {error}"
    );

    let page = unescape(&admin.get_page("/admin/outbox").await);
    assert!(page.contains(&invitation.email));
    assert!(page.contains("Invitation to set up an account"));
    assert!(page.contains(&error));

    server.defer_everything(false);
    let res = admin
        .post(&format!("/admin/outbox/{}/retry", row.id), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        app.audit_events()
            .iter()
            .any(|e| e.event == "email.requeued" && e.record_id.as_deref() == Some(&row.id))
    );
    // A second press does nothing more.
    admin
        .post(&format!("/admin/outbox/{}/retry", row.id), &[])
        .await;
    assert_eq!(worker.run_once().await.unwrap(), sent(1));
    assert_eq!(server.received_by(&invitation.email).len(), 1);
    let page = unescape(&admin.get_page("/admin/outbox").await);
    assert!(page.contains("No emails have failed"));
}

#[tokio::test]
async fn two_workers_running_at_once_never_send_the_same_message() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    app.with_db(|c| crate::helpers::queue_staff_emails(c, 12));
    let (a, b) = (app.email_worker(), app.email_worker());
    let (pass_a, pass_b) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(pass_a.unwrap().sent + pass_b.unwrap().sent, 12);
    let ids: std::collections::BTreeSet<String> =
        server.received().iter().map(|m| m.message_id()).collect();
    assert_eq!(server.received().len(), 12, "no message sent twice");
    assert_eq!(ids.len(), 12);
}

#[tokio::test]
async fn sent_messages_are_forgotten_after_the_retention_period() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (admin, _) = app.login_as(Role::Admin).await;
    app.invite_through_admin_pages(&admin).await;
    app.invite_through_admin_pages(&admin).await;
    assert_eq!(app.email_worker().run_once().await.unwrap(), sent(2));
    let old = app.outbox()[0].id.clone();
    let long_ago = mhtr_pathway::clock::now()
        - Duration::days(model::SENT_RETENTION_DAYS)
        - Duration::hours(1);
    app.with_db(|c| {
        diesel::update(outbox_messages::table.find(&old))
            .set(outbox_messages::sent_at.eq(Some(long_ago)))
            .execute(c)
            .unwrap();
        assert_eq!(model::purge_sent(c, mhtr_pathway::clock::now()).unwrap(), 1);
    });
    let left = app.outbox();
    assert_eq!(left.len(), 1);
    assert_ne!(left[0].id, old);
}

#[tokio::test]
async fn only_administrators_see_the_outbox() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (browser, _) = app.login_as(Role::ClinicalLead).await;
    assert_eq!(
        browser.get("/admin/outbox").await.status(),
        StatusCode::FORBIDDEN
    );
    let account = browser.get_page("/account").await;
    assert!(
        !account.contains(MessageKind::VettingExpiringAdmin.as_str()),
        "nothing to choose for a clinical lead"
    );
}

fn expire_leases(app: &crate::helpers::TestApp) {
    let past = mhtr_pathway::clock::now() - Duration::seconds(1);
    app.with_db(|c| {
        diesel::update(outbox_messages::table)
            .set(outbox_messages::lease_expires_at.eq(Some(past)))
            .execute(c)
            .unwrap()
    });
}

#[tokio::test]
async fn serve_starts_a_worker_that_delivers_without_being_asked() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |s| {
        s.email.run_worker = true;
        s.email.poll_interval_secs = 1;
    })
    .await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let invitation = app.invite_through_admin_pages(&admin).await;
    for _ in 0..50 {
        if !server.received_by(&invitation.email).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(server.received_by(&invitation.email).len(), 1);
}

#[tokio::test]
async fn administrators_find_whether_an_email_went_by_recipient_status_and_date() {
    let server = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&server, |_| {}).await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let invitation = app.invite_through_admin_pages(&admin).await;
    let search = |q: String| {
        let admin = &admin;
        async move { unescape(&admin.get_page(&format!("/admin/outbox?search=1&{q}")).await) }
    };
    let today = today();
    let on_today = format!(
        "from_date_day={d}&from_date_month={m}&from_date_year={y}&to_date_day={d}&to_date_month={m}&to_date_year={y}",
        d = today.format("%-d"),
        m = today.format("%-m"),
        y = today.format("%Y")
    );

    let page = search(format!("recipient={}", invitation.email.to_uppercase())).await;
    assert!(page.contains("1 email found"), "{page}");
    assert!(page.contains("Invitation to set up an account"));
    assert!(page.contains("Waiting to be sent"));

    app.email_worker().run_once().await.unwrap();
    let page = search(format!(
        "recipient={}&status=sent&{on_today}",
        invitation.email
    ))
    .await;
    assert!(page.contains("1 email found"), "{page}");
    let page = search(format!("recipient={}&status=dead", invitation.email)).await;
    assert!(page.contains("0 emails found"), "{page}");
    let page = search("recipient=someone.else%40example.org".into()).await;
    assert!(page.contains("0 emails found"), "{page}");

    // Bad input is explained, with what was typed kept.
    let page = search("recipient=not-an-address".into()).await;
    assert!(page.contains("govuk-error-summary"), "{page}");
    assert!(page.contains("value=\"not-an-address\""));
    let page = search("from_date_day=31&from_date_month=2&from_date_year=2026".into()).await;
    assert!(page.contains("govuk-error-summary"), "{page}");
    let page = search(String::new()).await;
    assert!(
        page.contains("Enter an email address, or choose a status or dates"),
        "{page}"
    );

    // Each search is recorded, since it shows who was emailed.
    assert!(
        app.audit_events()
            .iter()
            .filter(|e| e.event == "outbox.searched")
            .count()
            >= 4
    );
}
