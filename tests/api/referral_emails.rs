//! Referral emails: each step of the pathway that concerns someone queues their email in the
//! step's own transaction, delivered through the tests' SMTP server. Emails carry the
//! reference, initials, a date and a link — never the person's name, date of birth,
//! identifiers, offence or needs.

use chrono::Duration;
use diesel::prelude::*;
use mhtr_pathway::db::schema::{outbox_messages, referrals};
use mhtr_pathway::notifications::messages::MessageKind;
use mhtr_pathway::notifications::model::OutboxMessage;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::smtp::SmtpServer;
use crate::referrals::helpers::{LEAD_REASON, TestApp, TestUser, spawn_app_with};
use crate::referrals::{advance, api_referral, page_referral, probation_json};

/// What the referral made by `page_referral` must never show in an email.
const SPECIAL: &[&str] = &[
    "Robin",
    "Page",
    "1988",
    "2 July",
    "X123456",
    "12345H",
    "2001/",
    "Public order",
    "public_order",
    "Euston",
    "Jordan Ellis",
    "epression",
    "PTSD",
    "ptsd",
    "mental_health",
    "Mental health",
];

struct Cast {
    app: TestApp,
    server: SmtpServer,
    po: TestUser,
    cl: TestUser,
    cl_b: TestUser,
    ap: TestUser,
}

async fn cast() -> Cast {
    let server = SmtpServer::start().await;
    let port = server.port();
    let app = spawn_app_with(move |s| {
        s.email.transport = mhtr_pathway::settings::EmailTransport::Smtp;
        s.email.smtp.host = "127.0.0.1".into();
        s.email.smtp.port = port;
        s.email.smtp.tls = mhtr_pathway::settings::SmtpTls::None;
        s.email.smtp.timeout_secs = 5;
    })
    .await;
    let (a, b) = (app.area_a.clone(), app.area_b.clone());
    Cast {
        po: app
            .create_user(Role::ProbationOfficer, "Pat Officer", &[&a])
            .await,
        cl: app
            .create_user(Role::ClinicalLead, "Dr Lee Lead", &[&a, &b])
            .await,
        cl_b: app
            .create_user(Role::ClinicalLead, "Dr Bo Elsewhere", &[&b])
            .await,
        ap: app
            .create_user(Role::AssistantPsychologist, "Ash Psych", &[&a])
            .await,
        app,
        server,
    }
}

async fn outbox(app: &TestApp) -> Vec<OutboxMessage> {
    app.state
        .db
        .run(|c| {
            Ok(outbox_messages::table
                .order((outbox_messages::created_at.asc(), outbox_messages::id.asc()))
                .select(OutboxMessage::as_select())
                .load(c)?)
        })
        .await
        .unwrap()
}

async fn reference_of(app: &TestApp, id: &str) -> String {
    let id = id.to_owned();
    app.state
        .db
        .run(move |c| {
            Ok(referrals::table
                .find(id)
                .select(referrals::reference)
                .first::<String>(c)?)
        })
        .await
        .unwrap()
}

async fn deliver(app: &TestApp) -> usize {
    let settings = &app.state.settings.email;
    let transport = mhtr_pathway::notifications::transport::from_settings(settings)
        .expect("the email transport builds");
    mhtr_pathway::notifications::worker::Worker::new(app.state.db.clone(), transport, settings)
        .run_once()
        .await
        .unwrap()
        .sent
}

/// The one new message since `before`: its kind, recipient and content checked.
fn only_new<'a>(
    rows: &'a [OutboxMessage],
    before: usize,
    kind: MessageKind,
    to: &TestUser,
    reference: &str,
) -> &'a OutboxMessage {
    assert_eq!(rows.len(), before + 1, "one new email: {rows:#?}");
    let m = &rows[before];
    assert_eq!(m.kind, kind);
    assert_eq!(m.recipient, to.email);
    assert!(m.subject.contains(reference), "{}", m.subject);
    for part in [&m.subject, &m.text_body, &m.html_body] {
        for word in SPECIAL {
            assert!(!part.contains(word), "{kind}: '{word}' in {part}");
        }
    }
    for body in [&m.text_body, &m.html_body] {
        assert!(body.contains(reference));
        assert!(body.contains("R. P."), "initials: {body}");
        assert!(
            body.contains("/referrals/") || body.contains("&#x2F;referrals&#x2F;"),
            "a link: {body}"
        );
    }
    m
}

#[tokio::test]
async fn each_step_emails_the_person_it_concerns_with_initials_and_reference_only() {
    let t = cast().await;
    let po_pages = t.app.browser(&t.po).await;

    // Submitted (an arrest referral, through the pages): the clinical leads of its area.
    let id = page_referral(&po_pages, &t.app.area_a, "arrest", "X123456").await;
    let reference = reference_of(&t.app, &id).await;
    let rows = outbox(&t.app).await;
    let m = only_new(&rows, 0, MessageKind::ReferralSubmitted, &t.cl, &reference);
    let link = format!(
        "{}/referrals/{id}",
        t.app.state.settings.server.base_url.trim_end_matches('/')
    );
    assert!(link.contains("://"));
    assert!(
        m.text_body.contains(&link),
        "an absolute link: {}",
        m.text_body
    );

    // Another officer takes it over: the responsible officer is no longer the referrer.
    let taker = t
        .app
        .create_user(Role::ProbationOfficer, "Ro Taker", &[&t.app.area_a])
        .await;
    let (po2, cl, ap) = (
        t.app.api(&taker).await,
        t.app.api(&t.cl).await.giving_reason(LEAD_REASON),
        t.app.api(&t.ap).await,
    );
    let apis = [("po", &po2), ("cl", &cl), ("ap", &ap)];
    advance(&apis, &id, &[("po", json!({"action": "take_over"}))]).await;
    // The referrer hears who holds it now.
    let rows = outbox(&t.app).await;
    only_new(&rows, 1, MessageKind::ReferralTakenOver, &t.po, &reference);

    // Accepted at screening: the referrer.
    advance(&apis, &id, &[("cl", json!({"action": "accept"}))]).await;
    let rows = outbox(&t.app).await;
    let m = only_new(&rows, 2, MessageKind::ReferralScreened, &t.po, &reference);
    assert!(m.subject.contains("accepted"), "{}", m.subject);
    assert!(m.text_body.contains("accepted"));

    // Allocated: that assistant psychologist.
    let today = chrono::Utc::now().date_naive();
    let past = (today - Duration::days(1)).to_string();
    let later = (today + Duration::days(200)).to_string();
    advance(
        &apis,
        &id,
        &[
            (
                "cl",
                json!({"action": "book_assessment", "assessment_date": "2030-01-01", "assessor_id": t.ap.id}),
            ),
            (
                "ap",
                json!({"action": "record_assessment", "assessment_date": past}),
            ),
            ("cl", json!({"action": "record_suitable"})),
            (
                "ap",
                json!({"action": "record_consent", "consent_date": past}),
            ),
        ],
    )
    .await;
    assert_eq!(
        outbox(&t.app).await.len(),
        3,
        "the steps in between email nobody"
    );
    // The assessment report: the officer holding the referral, to read for the report.
    advance(
        &apis,
        &id,
        &[
            ("cl", json!({"action": "send_report", "report_date": past, "formulation": "Low mood and anxiety kept going by isolation and poor sleep; a structured 12 sessions would help", "recommendation": "An MHTR of 12 weekly sessions with a community order", "proposed_start_date": "2030-03-01", "proposed_sessions": 12, "proposed_mode": "in_person"})),
        ],
    )
    .await;
    let rows = outbox(&t.app).await;
    only_new(
        &rows,
        3,
        MessageKind::AssessmentReportSent,
        &taker,
        &reference,
    );
    advance(
        &apis,
        &id,
        &[
            (
                "po",
                json!({"action": "await_sentence", "hearing_date": "2030-02-01"}),
            ),
            (
                "po",
                json!({
                    "action": "record_mhtr_made",
                    "order_type": "co",
                    "sentence_date": past,
                    "requirement_end_date": later,
                    "court": "Leicester Crown Court",
                    "treatment_director_id": t.cl.id,
                    "combined_with": "drr",
                }),
            ),
            (
                "po",
                json!({"action": "record_induction", "induction_date": past}),
            ),
        ],
    )
    .await;
    assert_eq!(
        outbox(&t.app).await.len(),
        4,
        "the steps in between email nobody"
    );
    advance(
        &apis,
        &id,
        &[("cl", json!({"action": "allocate_ap", "ap_id": t.ap.id}))],
    )
    .await;
    let rows = outbox(&t.app).await;
    only_new(&rows, 4, MessageKind::ApAllocated, &t.ap, &reference);

    // Sessions planned, the first attended: the responsible officer hears of the plan.
    crate::treatment_sessions::start_with_first_session(&t.app, &ap, &id, 3).await;
    let rows = outbox(&t.app).await;
    only_new(&rows, 5, MessageKind::SessionPlan, &taker, &reference);

    // Treatment ended: the responsible officer, not the referrer.
    advance(
        &apis,
        &id,
        &[(
            "ap",
            json!({"action": "end_treatment", "end_date": past, "end_outcome": "ended_early", "end_reason": "disengaged"}),
        )],
    )
    .await;
    let rows = outbox(&t.app).await;
    let m = only_new(&rows, 6, MessageKind::TreatmentEnded, &taker, &reference);
    assert!(m.text_body.contains("ended"));
    assert!(
        m.text_body
            .contains(&mhtr_pathway::web::format::date(today - Duration::days(1))),
        "the date treatment ended"
    );
    assert!(
        !m.text_body.to_lowercase().contains("disengaged"),
        "no reason"
    );

    // Delivered, each to its own person and nobody else.
    assert_eq!(deliver(&t.app).await, 7);
    assert_eq!(t.server.received().len(), 7);
    for (who, n) in [
        (&t.cl, 1),
        (&t.po, 2),
        (&t.ap, 1),
        (&taker, 3),
        (&t.cl_b, 0),
    ] {
        let mail = t.server.received_by(&who.email);
        assert_eq!(mail.len(), n, "{}", who.name);
        for m in mail {
            let text = m.decoded();
            assert!(text.contains(&reference));
            assert!(text.contains("R. P."));
            for word in ["Robin", "1988", "X123456", "12345H", "Public order"] {
                assert!(!text.contains(word), "'{word}' delivered");
            }
        }
    }
}

#[tokio::test]
async fn declining_emails_the_referrer_and_opted_out_people_get_nothing() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let cl = t.app.api(&t.cl).await.giving_reason(LEAD_REASON);
    let apis = [("po", &po), ("cl", &cl)];

    // The clinical lead turns referral news off on their account page; the officer keeps
    // only treatment endings.
    let cl_pages = t.app.browser(&t.cl).await;
    let (status, _, body) = cl_pages
        .post("/account/notifications", &[("submitted", "1")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, account) = cl_pages.get("/account").await;
    assert!(
        account.contains("referral_submitted"),
        "offered to a clinical lead"
    );
    assert!(
        !account.contains("ap_allocated"),
        "not offered to a clinical lead"
    );
    let uid = t.cl.id.clone();
    let mut off = t
        .app
        .state
        .db
        .run(move |c| mhtr_pathway::notifications::model::opt_outs(c, &uid))
        .await
        .unwrap();
    off.sort_by_key(|k| k.as_str());
    assert_eq!(
        off,
        vec![MessageKind::ReferralSubmitted, MessageKind::WeeklyDigest],
        "only the kinds offered to a clinical lead are changed"
    );

    let id = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Sam", "Stone", Some("A111111")),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(outbox(&t.app).await.is_empty(), "the lead turned these off");

    advance(
        &apis,
        &id,
        &[(
            "cl",
            json!({"action": "decline", "reason": "Above primary-care threshold"}),
        )],
    )
    .await;
    let rows = outbox(&t.app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, MessageKind::ReferralScreened);
    assert_eq!(rows[0].recipient, t.po.email);
    assert!(rows[0].subject.contains("declined"));
    for part in [&rows[0].subject, &rows[0].text_body, &rows[0].html_body] {
        assert!(part.contains("S. S.") || part == &rows[0].subject);
        for word in [
            "Sam",
            "Stone",
            "A111111",
            "1990",
            "Theft",
            "theft",
            "primary-care",
            "nxiety",
        ] {
            assert!(!part.contains(word), "'{word}' in {part}");
        }
    }

    // Now the officer turns screening emails off too.
    let po_pages = t.app.browser(&t.po).await;
    let (status, _, _) = po_pages
        .post(
            "/account/notifications",
            &[("submitted", "1"), ("kinds", "treatment_ended")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Kim", "Lowe", Some("B222222")),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(&apis, &id, &[("cl", json!({"action": "accept"}))]).await;
    assert_eq!(outbox(&t.app).await.len(), 1, "nothing new");
    assert_eq!(deliver(&t.app).await, 1);
}

#[tokio::test]
async fn a_refused_step_queues_nothing() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let cl = t.app.api(&t.cl).await.giving_reason(LEAD_REASON);
    let id = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Sam", "Stone", Some("A111111")),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(outbox(&t.app).await.len(), 1, "the lead hears of it");
    let path = format!("/api/v1/referrals/{id}/transitions");

    let (status, _) = po
        .post(&path, &json!({"action": "accept", "version": 1}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "wrong role");
    let (status, _) = cl
        .post(&path, &json!({"action": "accept", "version": 7}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "stale version");
    let (status, _) = cl
        .post(&path, &json!({"action": "decline", "version": 1}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no reason");
    let (status, _) = cl
        .post(
            &path,
            &json!({"action": "allocate_ap", "version": 1, "ap_id": t.ap.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "out of order");
    assert_eq!(outbox(&t.app).await.len(), 1, "nothing more queued");

    // Accepted once; the same form again is stale and queues no second email.
    let pages = t.app.browser(&t.cl).await;
    for expected in [StatusCode::SEE_OTHER, StatusCode::CONFLICT] {
        let (status, _, _) = pages
            .post(
                &format!("/referrals/{id}/actions/accept"),
                &[("version", "1")],
            )
            .await;
        assert_eq!(status, expected);
    }
    let rows = outbox(&t.app).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].kind, MessageKind::ReferralScreened);
    assert_eq!(deliver(&t.app).await, 2);
}
