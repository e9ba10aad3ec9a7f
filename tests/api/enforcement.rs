//! Enforcement as probation does it, on SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`):
//! attendance in the national vocabulary, a review per unacceptable failure decided by the
//! responsible officer, the 12 months counted from a warning, absences awaiting evidence with
//! their last day, and corrections of recorded attendance — through the API and the pages,
//! with two requests at once.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use diesel::prelude::*;
use mhtr_pathway::db::schema::{audit_events, treatment_sessions};
use mhtr_pathway::notifications::messages::MessageKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::referrals::helpers::Api;
use crate::treatment_sessions::{
    allocated_referral, as_if_held, cast, clients, emails_of, make_plan, next, numbered, outbox,
    record, referral_status, sent, today, treatment, weekly_plan,
};

fn iso(d: NaiveDate) -> String {
    d.to_string()
}

/// A referral with a weekly plan whose first `held` sessions were held 7 days apart, the last
/// `last_days_ago` days ago.
async fn with_sessions_held(
    t: &crate::treatment_sessions::Cast,
    c: &crate::treatment_sessions::Clients,
    n: u32,
    held: i64,
    last_days_ago: i64,
) -> (String, Value) {
    let id = allocated_referral(t, c, n).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let tr = treatment(&c.ap, &id).await;
    for k in 1..=held {
        let days_ago = last_days_ago + (held - k) * 7;
        as_if_held(&t.app, numbered(&tr, k)["id"].as_str().unwrap(), days_ago).await;
    }
    let tr = treatment(&c.ap, &id).await;
    (id, tr)
}

async fn decide(api: &Api, review: &str, body: Value) -> (StatusCode, Value) {
    api.post(
        &format!("/api/v1/enforcement-reviews/{review}/decision"),
        &body,
    )
    .await
}

fn review_of<'a>(t: &'a Value, session: &Value) -> &'a Value {
    t["enforcement_reviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["session_id"] == session["id"])
        .unwrap_or_else(|| panic!("a review of {session}: {t}"))
}

fn unacceptable() -> Value {
    json!({"happened": false, "not_happened_reason": "unacceptable_absence"})
}

#[tokio::test]
async fn a_warning_counts_for_twelve_months_and_a_further_failure_expects_breach() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = with_sessions_held(&t, &c, 61, 3, 7).await;
    let (s1, s2, s3) = (numbered(&tr, 1), numbered(&tr, 2), numbered(&tr, 3));
    let day1 = today() - Duration::days(21);

    let (status, r) = record(&c.ap, &s1, unacceptable()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["absence_reported"], true);
    let seen = treatment(&c.po, &id).await;
    let first = review_of(&seen, &s1)["id"].as_str().unwrap().to_owned();

    // The decision: only the responsible officer; a warning needs its day, on or after the
    // failure and not in the future.
    let (status, _) = decide(
        &c.cl,
        &first,
        json!({"decision": "breach", "action_date": iso(today())}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, e) = decide(&c.po, &first, json!({"decision": "warning"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["fields"]["action_date"].is_string(), "{e}");
    for bad in [day1 - Duration::days(1), today() + Duration::days(1)] {
        let (status, e) = decide(
            &c.po,
            &first,
            json!({"decision": "warning", "action_date": iso(bad)}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
        assert!(e["fields"]["action_date"].is_string(), "{e}");
    }
    let (status, e) = decide(&c.po, &first, json!({"decision": "withdrawn"})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the service's own: {e}"
    );
    let warned_on = day1 + Duration::days(1);
    let (status, r) = decide(
        &c.po,
        &first,
        json!({"decision": "warning", "action_date": iso(warned_on), "note": "Warning letter"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");

    // A further unacceptable absence within 12 months of the warning: flagged for breach, to
    // the officer and the area's clinical leads; a second warning is refused.
    let (status, r) = record(&c.ap, &s2, unacceptable()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["enforcement_flagged"], true);
    assert_eq!(r["after_warning"], iso(warned_on));
    let rows = outbox(&t.app).await;
    assert_eq!(
        sent(&rows, MessageKind::SecondAbsence),
        emails_of(&[&t.po, &t.cl, &t.cl2])
    );
    let seen = treatment(&c.po, &id).await;
    let second = review_of(&seen, &s2);
    assert_eq!(second["after_warning_id"], first.as_str());
    let second = second["id"].as_str().unwrap().to_owned();
    let (status, e) = decide(
        &c.po,
        &second,
        json!({"decision": "warning", "action_date": iso(today())}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["fields"]["decision"]
            .as_str()
            .unwrap()
            .contains("breach action"),
        "{e}"
    );
    let (status, _) = decide(
        &c.po,
        &second,
        json!({"decision": "breach", "action_date": iso(today())}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Attending and failing to comply is an unacceptable failure too, and does not count
    // towards the sessions.
    let (status, r) = record(
        &c.ap,
        &s3,
        json!({"happened": true, "attendance": "attended_failed_to_comply"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["absence_reported"], true);
    assert_eq!(r["enforcement_flagged"], true);
    assert_eq!(r["attended"], 0);
    assert_eq!(referral_status(&t.app, &id).await, "allocated");
    let seen = treatment(&c.po, &id).await;
    assert_eq!(seen["sessions"][2]["outcome"], "attended_failed_to_comply");
    let reviews = seen["enforcement_reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 3);
    let decided: Vec<(&str, &str)> = reviews
        .iter()
        .filter(|v| !v["decision"].is_null())
        .map(|v| {
            (
                v["decision"].as_str().unwrap(),
                v["action_on"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        decided.contains(&("warning", iso(warned_on).as_str())),
        "{seen}"
    );
    let (_, referral) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    let timeline = referral["timeline"].to_string();
    assert!(
        timeline.contains("Warning issued for the failure on"),
        "{timeline}"
    );
    assert!(
        timeline.contains("Attended but failed to comply on"),
        "{timeline}"
    );
}

#[tokio::test]
async fn an_absence_awaiting_evidence_counts_down_and_becomes_unacceptable_when_its_day_passes() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = with_sessions_held(&t, &c, 62, 2, 3).await;
    let (s1, s2) = (numbered(&tr, 1), numbered(&tr, 2));
    let awaiting = |due: Option<NaiveDate>| {
        json!({"happened": false, "not_happened_reason": "awaiting_evidence",
               "evidence_due_date": due.map(iso)})
    };

    let (status, e) = record(&c.ap, &s1, awaiting(None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["fields"]["evidence_due_date"].is_string());
    let (status, e) = record(&c.ap, &s1, awaiting(Some(today() + Duration::days(15)))).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no more than 14 days: {e}"
    );
    let due = today() + Duration::days(2);
    let (status, r) = record(&c.ap, &s1, awaiting(Some(due))).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["evidence_due"], iso(due));
    assert_eq!(r["absence_reported"], false);
    let rows = outbox(&t.app).await;
    assert_eq!(
        sent(&rows, MessageKind::AbsenceAwaitingEvidence),
        emails_of(&[&t.po])
    );

    // The officer sees the days left, on the API, the referral and the home page.
    let seen = treatment(&c.po, &id).await;
    assert_eq!(seen["sessions"][0]["evidence_days_remaining"], 2);
    assert!(seen["enforcement_reviews"].as_array().unwrap().is_empty());
    let po = t.app.browser(&t.po).await;
    let until = format!(
        "has until {}, 2 days remaining",
        mhtr_pathway::web::format::date(due)
    );
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(page.contains(&until), "{page}");
    let (_, home) = po.get("/").await;
    assert!(
        home.contains("awaiting evidence") && home.contains(&until),
        "{home}"
    );

    // The day passes with nothing decided: the housekeeping makes it unacceptable, once.
    let emails = t.app.state.emails.clone();
    let later = due + Duration::days(1);
    let lapse = |emails: mhtr_pathway::notifications::Emails| {
        t.app
            .state
            .db
            .write(move |c| mhtr_pathway::sessions::enforcement::lapse_overdue(c, &emails, later))
    };
    assert_eq!(lapse(emails.clone()).await.unwrap(), 1);
    assert_eq!(lapse(emails).await.unwrap(), 0, "once");
    let seen = treatment(&c.po, &id).await;
    assert_eq!(seen["sessions"][0]["outcome"], "unacceptable_absence");
    assert!(seen["sessions"][0]["evidence_days_remaining"].is_null());
    assert!(review_of(&seen, &s1)["decision"].is_null());
    assert_eq!(
        sent(&outbox(&t.app).await, MessageKind::Absence),
        emails_of(&[&t.po])
    );
    let (_, referral) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    assert!(
        referral["timeline"].to_string().contains("by its last day"),
        "{referral}"
    );

    // Evidence decided by the officer: accepted with its reason; only once, and only by
    // those who may.
    let (status, r) = record(&c.ap, &s2, awaiting(Some(due))).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let s2 = r["session"].clone();
    let path = format!("/api/v1/sessions/{}/evidence", s2["id"].as_str().unwrap());
    let ap2 = t.app.api(&t.ap2).await;
    let accept = json!({"version": s2["version"], "evidence": "accepted", "absence_reason": "medical", "note": "GP letter seen"});
    let (status, _) = ap2.post(&path, &accept).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not their referral");
    let (status, e) =
        c.po.post(
            &path,
            &json!({"version": s2["version"], "evidence": "accepted"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["fields"]["absence_reason"].is_string(), "{e}");
    let (status, r) = c.po.post(&path, &accept).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["session"]["outcome"], "acceptable_absence");
    assert_eq!(r["session"]["absence_reason"], "medical");
    let (status, _) = c.po.post(&path, &accept).await;
    assert_eq!(status, StatusCode::CONFLICT, "no longer awaiting evidence");
}

#[tokio::test]
async fn a_recorded_attendance_is_corrected_by_its_author_or_a_lead_and_the_old_value_kept() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = with_sessions_held(&t, &c, 63, 1, 5).await;
    let (status, r) = record(&c.ap, &numbered(&tr, 1), unacceptable()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let s = r["session"].clone();
    let path = format!("/api/v1/sessions/{}/correction", s["id"].as_str().unwrap());
    let to_acceptable = json!({
        "version": s["version"], "happened": false, "not_happened_reason": "acceptable_absence",
        "absence_reason": "court_or_legal", "reason": "The court had listed a hearing that morning",
    });

    // Not the officer, nor another practitioner; a reason is needed, and a change.
    let (status, _) = c.po.post(&path, &to_acceptable).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let ap2 = t.app.api(&t.ap2).await;
    let (status, _) = ap2.post(&path, &to_acceptable).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not their referral");
    let mut no_reason = to_acceptable.clone();
    no_reason["reason"] = json!("  ");
    let (status, e) = c.ap.post(&path, &no_reason).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["fields"]["reason"].is_string(), "{e}");
    let (status, e) = c
        .ap
        .post(
            &path,
            &json!({"version": s["version"], "happened": false, "not_happened_reason": "unacceptable_absence", "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the same: {e}");

    let before = outbox(&t.app).await.len();
    let (status, r) = c.ap.post(&path, &to_acceptable).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["review_withdrawn"], true);
    assert_eq!(r["officer_told"], true);
    assert_eq!(r["session"]["outcome"], "acceptable_absence");
    let rows = outbox(&t.app).await;
    assert_eq!(rows.len(), before + 1);
    assert_eq!(
        sent(&rows, MessageKind::AttendanceCorrected),
        emails_of(&[&t.po])
    );
    let (status, _) = c.ap.post(&path, &to_acceptable).await;
    assert_eq!(status, StatusCode::CONFLICT, "an old version");

    // The officer sees the correction and the old value; the review is withdrawn.
    let seen = treatment(&c.po, &id).await;
    let k = &seen["attendance_corrections"][0];
    assert_eq!(k["old_outcome"], "unacceptable_absence");
    assert_eq!(k["new_outcome"], "acceptable_absence");
    assert_eq!(k["new_absence_reason"], "court_or_legal");
    assert_eq!(k["corrected_by"], t.ap.id.as_str());
    assert_eq!(seen["enforcement_reviews"][0]["decision"], "withdrawn");
    let po = t.app.browser(&t.po).await;
    let (_, home) = po.get("/").await;
    assert!(!home.contains("enforcement decision is due"), "{home}");

    // A clinical lead corrects it to attended: treatment starts, as it would have.
    let s = seen["sessions"][0].clone();
    let (status, r) =
        c.cl.post(
            &path,
            &json!({"version": s["version"], "happened": true, "attendance": "attended",
                    "reason": "The person came in at the end of the morning"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["attended"], 1);
    assert_eq!(
        r["officer_told"], false,
        "the officer was not told of the acceptable absence"
    );
    assert_eq!(referral_status(&t.app, &id).await, "in_treatment");
    let sid = s["id"].as_str().unwrap().to_owned();
    let audited: i64 = t
        .app
        .with_db(move |c| {
            audit_events::table
                .filter(audit_events::event.eq("sessions.attendance_corrected"))
                .filter(audit_events::record_id.eq(&sid))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn two_corrections_or_two_evidence_decisions_at_once_land_once() {
    let t = cast().await;
    let c = clients(&t).await;
    let (_, tr) = with_sessions_held(&t, &c, 64, 2, 2).await;
    let (status, r) = record(&c.ap, &numbered(&tr, 1), unacceptable()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let s1 = r["session"].clone();
    let due = today() + Duration::days(3);
    let (status, r) = record(
        &c.ap,
        &numbered(&tr, 2),
        json!({"happened": false, "not_happened_reason": "awaiting_evidence", "evidence_due_date": iso(due)}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let s2 = r["session"].clone();

    let path = format!("/api/v1/sessions/{}/correction", s1["id"].as_str().unwrap());
    let body = json!({"version": s1["version"], "happened": false, "not_happened_reason": "acceptable_absence",
                      "absence_reason": "medical", "reason": "Hospital letter"});
    let (a, b) = tokio::join!(c.ap.post(&path, &body), c.cl.post(&path, &body));
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [StatusCode::OK, StatusCode::CONFLICT], "{a:?} {b:?}");

    let path = format!("/api/v1/sessions/{}/evidence", s2["id"].as_str().unwrap());
    let accept =
        json!({"version": s2["version"], "evidence": "accepted", "absence_reason": "family"});
    let refuse = json!({"version": s2["version"], "evidence": "not_accepted"});
    let (a, b) = tokio::join!(c.po.post(&path, &accept), c.ap.post(&path, &refuse));
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [StatusCode::OK, StatusCode::CONFLICT], "{a:?} {b:?}");
    let sid = s2["id"].as_str().unwrap().to_owned();
    let corrections: i64 = t
        .app
        .with_db(|c| {
            mhtr_pathway::db::schema::attendance_corrections::table
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(corrections, 1);
    let outcome: Option<String> = t
        .app
        .with_db(move |c| {
            treatment_sessions::table
                .find(&sid)
                .select(treatment_sessions::outcome)
                .first(c)
                .unwrap()
        })
        .await;
    assert!(
        matches!(
            outcome.as_deref(),
            Some("acceptable_absence" | "unacceptable_absence")
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn absences_evidence_and_corrections_are_worked_on_the_pages() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = with_sessions_held(&t, &c, 65, 1, 1).await;
    let sid = numbered(&tr, 1)["id"].as_str().unwrap().to_owned();
    let ap = t.app.browser(&t.ap).await;
    let attendance = format!("/sessions/{sid}/attendance");
    let (_, form) = ap.get(&attendance).await;
    assert!(form.contains("Attended but failed to comply"), "{form}");
    assert!(form.contains("Absent, awaiting evidence"));

    // Awaiting evidence with no day: the error summary, the choice kept.
    let (status, _, body) = ap
        .post(
            &attendance,
            &[
                ("version", "0"),
                ("happened", "no"),
                ("not_happened_reason", "awaiting_evidence"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("govuk-error-summary") && body.contains("Enter the last day for evidence"),
        "{body}"
    );
    assert!(
        body.contains(r#"value="awaiting_evidence" checked"#),
        "{body}"
    );
    let due = today() + Duration::days(4);
    let (d, m, y) = (
        due.day().to_string(),
        due.month().to_string(),
        due.year().to_string(),
    );
    let (status, _, _) = ap
        .post(
            &attendance,
            &[
                ("version", "0"),
                ("happened", "no"),
                ("not_happened_reason", "awaiting_evidence"),
                ("evidence_due_date_day", d.as_str()),
                ("evidence_due_date_month", m.as_str()),
                ("evidence_due_date_year", y.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The officer records that no acceptable evidence came.
    let po = t.app.browser(&t.po).await;
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("Absence awaiting evidence") && page.contains("4 days remaining"),
        "{page}"
    );
    let evidence = format!("/sessions/{sid}/evidence");
    assert!(page.contains(&evidence));
    let (status, _, body) = po.post(&evidence, &[("version", "1")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Select whether acceptable evidence was given"),
        "{body}"
    );
    let (status, _, _) = po
        .post(&evidence, &[("version", "1"), ("evidence", "not_accepted")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(page.contains("An enforcement decision is due"), "{page}");

    // The practitioner corrects it: the reason is asked for, then kept on the page.
    let correction = format!("/sessions/{sid}/correction");
    let (_, page) = ap.get(&format!("/referrals/{id}")).await;
    assert!(page.contains(&correction), "{page}");
    let (_, form) = ap.get(&correction).await;
    assert!(
        form.contains("recorded as: <strong>unacceptable absence</strong>"),
        "{form}"
    );
    let fields = [
        ("version", "2"),
        ("happened", "no"),
        ("not_happened_reason", "acceptable_absence"),
        ("absence_reason", "religious"),
    ];
    let (status, _, body) = ap.post(&correction, &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Enter why the attendance is corrected"),
        "{body}"
    );
    let mut with_reason = fields.to_vec();
    with_reason.push(("reason", "Eid al-Fitr; agreed beforehand with the officer"));
    let (status, _, _) = ap.post(&correction, &with_reason).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(
        !page.contains("An enforcement decision is due"),
        "withdrawn: {page}"
    );
    assert!(page.contains("Religious observance"), "{page}");
    assert!(page.contains("was unacceptable absence"), "{page}");
}

#[tokio::test]
async fn a_correction_leaves_a_decided_warning_to_the_officer_and_says_so() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = with_sessions_held(&t, &c, 64, 1, 5).await;
    let (status, r) = record(&c.ap, &numbered(&tr, 1), unacceptable()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let seen = treatment(&c.po, &id).await;
    let review = review_of(&seen, &numbered(&tr, 1))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let warned_on = today();
    let (status, e) = decide(
        &c.po,
        &review,
        json!({"decision": "warning", "action_date": iso(warned_on)}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{e}");

    let s = treatment(&c.ap, &id).await["sessions"][0].clone();
    let (status, r) = c
        .ap
        .post(
            &format!("/api/v1/sessions/{}/correction", s["id"].as_str().unwrap()),
            &json!({
                "version": s["version"], "happened": false, "not_happened_reason": "acceptable_absence",
                "absence_reason": "court_or_legal", "reason": "The court had listed a hearing",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["review_withdrawn"], false, "nothing open to withdraw");
    let stands = format!(
        "The warning given on {}",
        mhtr_pathway::web::format::date(warned_on)
    );
    assert_eq!(r["decision_stands"], stands.as_str());
    // The warning is the officer's: it stands, and the timeline says why it needs them.
    let seen = treatment(&c.po, &id).await;
    assert_eq!(seen["enforcement_reviews"][0]["decision"], "warning");
    let (_, referral) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    let timeline = referral["timeline"].to_string();
    assert!(
        timeline.contains(&format!(
            "{stands} for this failure stands: it is the responsible officer’s decision"
        )),
        "{timeline}"
    );
}

async fn correct_to_acceptable(c: &crate::treatment_sessions::Clients, id: &str, k: usize) {
    let s = treatment(&c.ap, id).await["sessions"][k].clone();
    let (status, r) = c
        .ap
        .post(
            &format!("/api/v1/sessions/{}/correction", s["id"].as_str().unwrap()),
            &json!({
                "version": s["version"], "happened": false, "not_happened_reason": "acceptable_absence",
                "absence_reason": "medical", "reason": "A hospital letter came late",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
}

#[tokio::test]
async fn the_officer_withdraws_a_warning_and_it_stops_counting_for_the_twelve_months() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = with_sessions_held(&t, &c, 66, 3, 7).await;
    let (s1, s2, s3) = (numbered(&tr, 1), numbered(&tr, 2), numbered(&tr, 3));
    let warned_on = today() - Duration::days(20);

    record(&c.ap, &s1, unacceptable()).await;
    let first = review_of(&treatment(&c.po, &id).await, &s1)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, e) = decide(
        &c.po,
        &first,
        json!({"decision": "warning", "action_date": iso(warned_on)}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    // A further failure follows the warning: flagged for breach action.
    record(&c.ap, &s2, unacceptable()).await;
    let seen = treatment(&c.po, &id).await;
    let second = review_of(&seen, &s2);
    assert_eq!(second["after_warning_id"], first.as_str());
    let second = second["id"].as_str().unwrap().to_owned();
    // The first absence is corrected: the warning stands until the officer withdraws it.
    correct_to_acceptable(&c, &id, 0).await;

    let path = format!("/api/v1/enforcement-reviews/{first}/withdrawal");
    let why = json!({"reason": "The absence was corrected to an acceptable one"});
    // Only the responsible officer; out of scope is not found; a reason is required.
    let (status, _) = c.cl.post(&path, &why).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = t
        .app
        .create_user(
            mhtr_pathway::users::model::Role::ProbationOfficer,
            "Olu Other",
            &[&t.app.area_a],
        )
        .await;
    let (status, _) = t.app.api(&other).await.post(&path, &why).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, e) = c.po.post(&path, &json!({"reason": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["fields"]["reason"].is_string(), "{e}");
    let (status, _) =
        c.po.post(
            "/api/v1/enforcement-reviews/no-such-review/withdrawal",
            &why,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An open review has nothing to withdraw.
    let (status, _) =
        c.po.post(
            &format!("/api/v1/enforcement-reviews/{second}/withdrawal"),
            &why,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Two withdrawals at once: one lands.
    let po2 = t.app.api(&t.po).await;
    let (a, b) = tokio::join!(c.po.post(&path, &why), po2.post(&path, &why));
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [StatusCode::OK, StatusCode::CONFLICT], "{a:?} {b:?}");
    let done = if a.0 == StatusCode::OK { &a.1 } else { &b.1 };
    assert_eq!(done["unflagged"], 1, "{done}");
    assert_eq!(done["referral_id"], id.as_str());

    // Kept, with the reason; the later failure no longer follows a warning, so a warning is
    // now the officer's to give.
    let seen = treatment(&c.po, &id).await;
    let withdrawn = review_of(&seen, &s1);
    assert_eq!(withdrawn["decision"], "warning");
    assert!(withdrawn["withdrawn_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        withdrawn["withdrawal_reason"],
        "The absence was corrected to an acceptable one"
    );
    assert!(
        review_of(&seen, &s2)["after_warning_id"].is_null(),
        "{seen}"
    );
    let warned_again = today() - Duration::days(8);
    let (status, e) = decide(
        &c.po,
        &second,
        json!({"decision": "warning", "action_date": iso(warned_again)}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    // The new warning counts: the third failure, after it, is flagged after it, not after
    // the withdrawn one.
    let (_, r) = record(&c.ap, &s3, unacceptable()).await;
    assert_eq!(r["after_warning"], iso(warned_again), "{r}");
    assert_eq!(
        review_of(&treatment(&c.po, &id).await, &s3)["after_warning_id"],
        second.as_str()
    );
    // "No further action" has nothing to withdraw.
    let third = review_of(&treatment(&c.po, &id).await, &s3)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    decide(&c.po, &third, json!({"decision": "no_action"})).await;
    let (status, e) =
        c.po.post(
            &format!("/api/v1/enforcement-reviews/{third}/withdrawal"),
            &why,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");

    let (_, referral) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    let timeline = referral["timeline"].to_string();
    assert!(
        timeline.contains("is withdrawn by the responsible officer: The absence was corrected")
            && timeline.contains("It no longer counts for the 12 months")
            && timeline.contains("no longer follows a warning within 12 months"),
        "{timeline}"
    );
    let audited: i64 = t
        .app
        .with_db(|c| {
            audit_events::table
                .filter(audit_events::event.eq("sessions.enforcement_withdrawn"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_warning_is_withdrawn_on_the_pages_with_its_reason_asked_for() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = with_sessions_held(&t, &c, 67, 1, 3).await;
    record(&c.ap, &numbered(&tr, 1), unacceptable()).await;
    let review = review_of(&treatment(&c.po, &id).await, &numbered(&tr, 1))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    decide(
        &c.po,
        &review,
        json!({"decision": "warning", "action_date": iso(today())}),
    )
    .await;
    correct_to_acceptable(&c, &id, 0).await;

    let withdrawal = format!("/enforcement-reviews/{review}/withdrawal");
    // The link is the officer's alone.
    let ap = t.app.browser(&t.ap).await;
    let (_, page) = ap.get(&format!("/referrals/{id}")).await;
    assert!(!page.contains(&withdrawal), "{page}");
    let (status, _) = ap.get(&withdrawal).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let po = t.app.browser(&t.po).await;
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(page.contains(&withdrawal), "{page}");
    let (status, form) = po.get(&withdrawal).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains(&format!(
            "The warning given on {}",
            mhtr_pathway::web::format::date(today())
        )) && form.contains("since corrected: the session is now recorded as acceptable absence"),
        "{form}"
    );
    let (status, _, body) = po.post(&withdrawal, &[("reason", "")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("govuk-error-summary") && body.contains("Enter why you are withdrawing it"),
        "{body}"
    );
    let (status, _, _) = po
        .post(
            &withdrawal,
            &[("reason", "Absence was for a hospital appointment")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("Withdrawn by the responsible officer on")
            && page.contains("Absence was for a hospital appointment"),
        "{page}"
    );
    assert!(!page.contains(&withdrawal), "withdrawn once: {page}");
    let (status, _) = po.get(&withdrawal).await;
    assert_eq!(status, StatusCode::CONFLICT);
}
