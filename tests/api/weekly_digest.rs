//! The clinical leads' weekly digest: one email per lead per ISO week with counts for their
//! areas (waiting list and longest wait, open risk alerts, enforcement reviews awaiting a
//! decision), nothing that names anyone, and nothing for a lead who turned it off.
//! Referrals, sessions, alerts and reviews are written straight to the database, each
//! referral or session ending as the service's writes do, with the referral's kept figures
//! refreshed (`reports::upkeep::refresh`).

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use mhtr_pathway::db::schema::{
    enforcement_reviews, outcome_measures, people, referrals, risk_alerts, treatment_sessions,
};
use mhtr_pathway::ids::new_id;
use mhtr_pathway::notifications::digest::queue_digests;
use mhtr_pathway::notifications::messages::MessageKind;
use mhtr_pathway::notifications::model::{self, OutboxMessage};
use mhtr_pathway::users::model::Role;

use crate::helpers::{TestApp, TestUser, spawn_app, today};

/// A referral in `area` with `status`, sentenced `days_ago`; returns its id and reference.
fn add_referral(
    app: &TestApp,
    by: &TestUser,
    area: &str,
    status: &str,
    days_ago: i64,
) -> (String, String) {
    let area = app.area_id(area);
    let (person, id) = (new_id(), new_id());
    let reference = format!("MH-{}", &id[id.len() - 9..].to_uppercase().replace('-', ""));
    let now = mhtr_pathway::clock::now();
    app.with_db(|c| {
        diesel::insert_into(people::table)
            .values((
                people::id.eq(&person),
                people::given_name.eq("Quentin"),
                people::family_name.eq("Zephyr"),
                people::date_of_birth.eq(NaiveDate::from_ymd_opt(1990, 4, 2).unwrap()),
                people::sex.eq("male"),
                people::gender_identity.eq("same_as_sex"),
                people::crn.eq(Some("X123456")),
                people::area_id.eq(&area),
                people::interpreter_needed.eq(false),
                people::created_at.eq(now),
                people::updated_at.eq(now),
            ))
            .execute(c)
            .expect("insert person");
        diesel::insert_into(referrals::table)
            .values((
                referrals::id.eq(&id),
                referrals::reference.eq(&reference),
                referrals::person_id.eq(&person),
                referrals::area_id.eq(&area),
                referrals::entry_point.eq("probation"),
                referrals::status.eq(status),
                referrals::version.eq(1_i64),
                referrals::created_by.eq(&by.id),
                referrals::offence_category.eq("theft"),
                referrals::urgency.eq("routine"),
                referrals::details.eq("{}"),
                referrals::submitted_at.eq(now),
                referrals::updated_at.eq(now),
                referrals::sentence_date.eq(Some(today() - Duration::days(days_ago))),
            ))
            .execute(c)
            .expect("insert referral");
        mhtr_pathway::reports::upkeep::refresh(c, &id).expect("refresh");
    });
    (id, reference)
}

/// A session of `referral` with `status` and `outcome`; returns its id.
fn add_session(
    app: &TestApp,
    referral: &str,
    area: &str,
    ap: &TestUser,
    days_from_now: i64,
    status: &str,
    outcome: Option<&str>,
) -> String {
    let id = new_id();
    let area = app.area_id(area);
    let now = mhtr_pathway::clock::now();
    app.with_db(|c| {
        diesel::insert_into(treatment_sessions::table)
            .values((
                treatment_sessions::id.eq(&id),
                treatment_sessions::referral_id.eq(referral),
                treatment_sessions::area_id.eq(&area),
                treatment_sessions::ap_user_id.eq(&ap.id),
                treatment_sessions::starts_at.eq(now + Duration::days(days_from_now)),
                treatment_sessions::minutes.eq(50),
                treatment_sessions::mode.eq("video"),
                treatment_sessions::status.eq(status),
                treatment_sessions::outcome.eq(outcome),
                treatment_sessions::version.eq(1_i64),
                treatment_sessions::created_by.eq(&ap.id),
                treatment_sessions::created_at.eq(now),
                treatment_sessions::updated_at.eq(now),
            ))
            .execute(c)
            .expect("insert session");
        mhtr_pathway::reports::upkeep::refresh(c, referral).expect("refresh");
    });
    id
}

/// A risk alert on `referral`, acknowledged or still open.
fn add_risk_alert(app: &TestApp, referral: &str, area: &str, ap: &TestUser, open: bool) {
    let session = add_session(app, referral, area, ap, -1, "recorded", Some("attended"));
    let (measure, area) = (new_id(), app.area_id(area));
    let now = mhtr_pathway::clock::now();
    app.with_db(|c| {
        diesel::insert_into(outcome_measures::table)
            .values((
                outcome_measures::id.eq(&measure),
                outcome_measures::referral_id.eq(referral),
                outcome_measures::session_id.eq(&session),
                outcome_measures::instrument.eq("phq9"),
                outcome_measures::stage.eq("during"),
                outcome_measures::answers.eq("[0,0,0,0,0,0,0,0,1]"),
                outcome_measures::total.eq(1),
                outcome_measures::risk.eq(true),
                outcome_measures::recorded_by.eq(&ap.id),
                outcome_measures::recorded_at.eq(now),
            ))
            .execute(c)
            .expect("insert measure");
        diesel::insert_into(risk_alerts::table)
            .values((
                risk_alerts::id.eq(new_id()),
                risk_alerts::referral_id.eq(referral),
                risk_alerts::area_id.eq(&area),
                risk_alerts::measure_id.eq(&measure),
                risk_alerts::raised_at.eq(now),
                risk_alerts::acknowledged_at.eq((!open).then_some(now)),
            ))
            .execute(c)
            .expect("insert risk alert");
    });
}

/// An enforcement review on `referral`, decided or awaiting a decision.
fn add_review(app: &TestApp, referral: &str, area: &str, ap: &TestUser, open: bool) {
    let absence = add_session(
        app,
        referral,
        area,
        ap,
        -2,
        "recorded",
        Some("unacceptable_absence"),
    );
    let area = app.area_id(area);
    let now = mhtr_pathway::clock::now();
    app.with_db(|c| {
        diesel::insert_into(enforcement_reviews::table)
            .values((
                enforcement_reviews::id.eq(new_id()),
                enforcement_reviews::referral_id.eq(referral),
                enforcement_reviews::area_id.eq(&area),
                enforcement_reviews::session_id.eq(&absence),
                enforcement_reviews::flagged_at.eq(now),
                enforcement_reviews::decision.eq((!open).then_some("warning")),
            ))
            .execute(c)
            .expect("insert review");
    });
}

fn queue(app: &TestApp, on: NaiveDate) -> usize {
    let emails = app.state.emails.clone();
    app.with_db(|c| mhtr_pathway::db::write_tx(c, |c| queue_digests(c, &emails, on)).unwrap())
}

fn digests(app: &TestApp) -> Vec<OutboxMessage> {
    app.outbox()
        .into_iter()
        .filter(|m| m.kind == MessageKind::WeeklyDigest)
        .collect()
}

fn digest_to<'a>(rows: &'a [OutboxMessage], lead: &TestUser) -> &'a OutboxMessage {
    let mine: Vec<&OutboxMessage> = rows.iter().filter(|m| m.recipient == lead.email).collect();
    assert_eq!(mine.len(), 1, "one digest to {}: {rows:#?}", lead.email);
    mine[0]
}

#[tokio::test]
async fn each_clinical_lead_gets_one_digest_a_week_with_counts_for_their_areas_only() {
    let app = spawn_app().await;
    let po = app.create_user(Role::ProbationOfficer, &["Rutland", "Leicester"]);
    let ap = app.create_user(Role::AssistantPsychologist, &["Rutland", "Leicester"]);
    let both = app.create_user(Role::ClinicalLead, &["Rutland", "Leicester"]);
    let leicester = app.create_user(Role::ClinicalLead, &["Leicester"]);
    let opted_out = app.create_user(Role::ClinicalLead, &["Rutland"]);
    let elsewhere = app.create_user(Role::ClinicalLead, &["Blaby"]);
    app.with_db(|c| {
        model::set_preferences(c, &opted_out.id, &[MessageKind::WeeklyDigest], &[]).unwrap()
    });

    // Rutland: waiting 40 days; waiting 10 days with a session booked but not yet held;
    // started (an attended session) with two risk alerts open and one acknowledged and a
    // decided enforcement review; in treatment.
    let (_, waiting_long) = add_referral(&app, &po, "Rutland", "mhtr_made", 40);
    let (booked, _) = add_referral(&app, &po, "Rutland", "allocated", 10);
    add_session(&app, &booked, "Rutland", &ap, 3, "booked", None);
    let (started, started_ref) = add_referral(&app, &po, "Rutland", "allocated", 60);
    for open in [true, true, false] {
        add_risk_alert(&app, &started, "Rutland", &ap, open);
    }
    add_review(&app, &started, "Rutland", &ap, false);
    add_referral(&app, &po, "Rutland", "in_treatment", 90);
    // Leicester: inducted 5 days ago with an enforcement review awaiting a decision;
    // a submitted referral (no order yet) is not on the waiting list.
    let (inducted, _) = add_referral(&app, &po, "Leicester", "inducted", 5);
    add_review(&app, &inducted, "Leicester", &ap, true);
    add_referral(&app, &po, "Leicester", "submitted", 100);

    // Waits are counted to the day the job runs.
    let monday = mhtr_pathway::sessions::diary::monday_of(today());
    assert_eq!(queue(&app, today()), 3, "both, leicester and elsewhere");
    assert_eq!(queue(&app, today()), 0, "running again queues nothing");
    assert_eq!(
        queue(&app, monday),
        0,
        "nor on another day of the same ISO week"
    );

    let rows = digests(&app);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(
        rows.iter().all(|m| m.recipient != opted_out.email),
        "opted out"
    );

    let m = digest_to(&rows, &both);
    for body in [&m.text_body, &m.html_body] {
        assert!(
            body.contains(&mhtr_pathway::web::format::date(monday)),
            "{body}"
        );
        for name in [
            "Quentin",
            "Zephyr",
            "Q. Z.",
            &waiting_long,
            &started_ref,
            "Rutland",
        ] {
            assert!(!body.contains(name), "{name} in {body}");
        }
        assert!(
            !body.contains("Signposting"),
            "no follow-ups line while there are none"
        );
    }
    assert!(
        m.text_body
            .contains("Waiting for a first session: 3 (the longest wait is 40 days)"),
        "{}",
        m.text_body
    );
    assert!(m.text_body.contains("Open risk alerts: 2"));
    assert!(
        m.text_body
            .contains("Enforcement reviews awaiting a decision: 1")
    );

    let m = digest_to(&rows, &leicester);
    assert!(
        m.text_body
            .contains("Waiting for a first session: 1 (the longest wait is 5 days)"),
        "{}",
        m.text_body
    );
    assert!(m.text_body.contains("Open risk alerts: 0"));
    assert!(
        m.text_body
            .contains("Enforcement reviews awaiting a decision: 1")
    );

    let m = digest_to(&rows, &elsewhere);
    assert!(
        m.text_body.contains("Waiting for a first session: 0\n"),
        "{}",
        m.text_body
    );
    assert!(!m.text_body.contains("longest wait"));

    // The next week is a new digest.
    assert_eq!(queue(&app, monday + Duration::days(7)), 3);
    assert_eq!(digests(&app).len(), 6);
}

#[tokio::test]
async fn the_digest_is_offered_to_clinical_leads_only_and_can_be_turned_off() {
    let app = spawn_app().await;
    let (lead_pages, lead) = app.login_as(Role::ClinicalLead).await;
    let account = lead_pages.get_page("/account").await;
    assert!(
        account.contains("value=\"weekly_digest\" checked"),
        "{account}"
    );
    let (po_pages, _) = app.login_as(Role::ProbationOfficer).await;
    assert!(
        !po_pages
            .get_page("/account")
            .await
            .contains("weekly_digest")
    );

    // Turning everything off (no boxes ticked) turns the digest off.
    lead_pages
        .post("/account/notifications", &[("submitted", "1")])
        .await;
    assert!(
        !lead_pages
            .get_page("/account")
            .await
            .contains("value=\"weekly_digest\" checked")
    );
    assert_eq!(queue(&app, today()), 0);
    assert!(digests(&app).is_empty());
    assert!(app.outbox().iter().all(|m| m.recipient != lead.email));
    let follow_ups = app.with_db(|c| {
        mhtr_pathway::notifications::digest::due_follow_ups(c, &[app.area_id("Rutland")])
    });
    assert_eq!(follow_ups.unwrap(), 0, "until signposting lands");
}
