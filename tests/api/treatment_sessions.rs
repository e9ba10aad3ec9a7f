//! Treatment sessions through the JSON API, on SQLite (default) or PostgreSQL
//! (`TEST_DATABASE_URL`): the 12-session plan, moves and cancellations kept with who asked and
//! why, attendance that starts and ends treatment, absences reported and flagged, outcome
//! measures with risk alerts, scope, and one practitioner's diary under racing requests.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use diesel::prelude::*;
use mhtr_pathway::db::schema::{
    ap_bookings, audit_events, outbox_messages, referrals, session_plans, treatment_sessions,
};
use mhtr_pathway::notifications::messages::MessageKind;
use mhtr_pathway::notifications::model::OutboxMessage;
use mhtr_pathway::sessions::calendar;
use mhtr_pathway::sessions::plan;
use mhtr_pathway::sessions::unrecorded;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::unescape;
use crate::referrals::helpers::{Api, LEAD_REASON, TestApp, TestUser};
use crate::referrals::{advance, api_referral, probation_json};

pub(crate) struct Cast {
    pub(crate) app: TestApp,
    pub(crate) po: TestUser,
    pub(crate) cl: TestUser,
    pub(crate) cl2: TestUser,
    pub(crate) cl_b: TestUser,
    pub(crate) ap: TestUser,
    pub(crate) ap2: TestUser,
    pub(crate) councillor: TestUser,
    pub(crate) admin: TestUser,
}

pub(crate) async fn cast() -> Cast {
    cast_with(|_| {}).await
}

/// [`cast`] on a service whose settings are adjusted first.
pub(crate) async fn cast_with(adjust: impl FnOnce(&mut mhtr_pathway::settings::Settings)) -> Cast {
    let app = crate::referrals::helpers::spawn_app_with(adjust).await;
    let (a, b) = (app.area_a.clone(), app.area_b.clone());
    Cast {
        po: app
            .create_user(Role::ProbationOfficer, "Pat Officer", &[&a])
            .await,
        cl: app
            .create_user(Role::ClinicalLead, "Dr Lee Lead", &[&a, &b])
            .await,
        cl2: app
            .create_user(Role::ClinicalLead, "Dr Sam Second", &[&a])
            .await,
        cl_b: app
            .create_user(Role::ClinicalLead, "Dr Bo Elsewhere", &[&b])
            .await,
        ap: app
            .create_user(Role::AssistantPsychologist, "Ash Psych", &[&a])
            .await,
        ap2: app
            .create_user(Role::AssistantPsychologist, "Other Psych", &[&a])
            .await,
        councillor: app.create_user(Role::Councillor, "Cllr Count", &[&a]).await,
        admin: app.create_user(Role::Admin, "Ada Admin", &[&a]).await,
        app,
    }
}

/// The clients a referral needs on its way to allocation.
pub(crate) struct Clients {
    pub(crate) po: Api,
    pub(crate) cl: Api,
    pub(crate) ap: Api,
}

pub(crate) async fn clients(t: &Cast) -> Clients {
    Clients {
        po: t.app.api(&t.po).await,
        cl: t.app.api(&t.cl).await.giving_reason(LEAD_REASON),
        ap: t.app.api(&t.ap).await,
    }
}

/// UK wall-clock today, as the service sees it.
pub(crate) fn today() -> NaiveDate {
    mhtr_pathway::sessions::service::local_now().date()
}

/// A referral taken by API from submission to an allocated assistant psychologist, with a
/// requirement ending about nine months ahead. `n` keeps people and CRNs apart.
pub(crate) async fn allocated_referral(t: &Cast, c: &Clients, n: u32) -> String {
    let mut body = probation_json(
        &t.app.area_a,
        "Dana",
        &format!("Sessionson{n}"),
        Some(&format!("S{:06}", 100_000 + n)),
    );
    body["create_new_person"] = json!(true);
    let id = api_referral(&c.po, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let day = |d: i64| (today() + Duration::days(d)).to_string();
    let apis = [("po", &c.po), ("cl", &c.cl), ("ap", &c.ap)];
    let r = advance(
        &apis,
        &id,
        &[
            ("cl", json!({"action": "accept"})),
            (
                "cl",
                json!({"action": "book_assessment", "assessment_date": "2030-01-01", "assessor_id": t.ap.id}),
            ),
            (
                "ap",
                json!({"action": "record_assessment", "assessment_date": day(-40)}),
            ),
            ("cl", json!({"action": "record_suitable"})),
            (
                "ap",
                json!({"action": "record_consent", "consent_date": day(-39)}),
            ),
            ("cl", json!({"action": "send_report", "report_date": day(-38), "formulation": "Low mood and anxiety kept going by isolation and poor sleep; a structured 12 sessions would help", "recommendation": "An MHTR of 12 weekly sessions with a community order", "proposed_start_date": "2030-03-01", "proposed_sessions": 12, "proposed_mode": "in_person"})),
            (
                "po",
                json!({"action": "await_sentence", "hearing_date": "2030-02-01"}),
            ),
            (
                "po",
                json!({
                    "action": "record_mhtr_made",
                    "order_type": "co",
                    "sentence_date": day(-30),
                    "requirement_end_date": day(270),
                    "court": "Leicester Crown Court",
                    "treatment_director_id": t.cl.id,
                    "combined_with": "drr",
                }),
            ),
            (
                "po",
                json!({"action": "record_induction", "induction_date": day(-25)}),
            ),
            ("cl", json!({"action": "allocate_ap", "ap_id": t.ap.id})),
        ],
    )
    .await;
    assert_eq!(r["status"], "allocated");
    id
}

fn end_date() -> NaiveDate {
    today() + Duration::days(270)
}

/// The first `weekday` after today.
pub(crate) fn next(weekday: Weekday) -> NaiveDate {
    let mut d = today() + Duration::days(1);
    while d.weekday() != weekday {
        d += Duration::days(1);
    }
    d
}

/// The first weekday on or after `d` that is not a bank holiday.
pub(crate) fn working_day_from(mut d: NaiveDate) -> NaiveDate {
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        || calendar::bank_holiday_name(d).is_some()
    {
        d += Duration::days(1);
    }
    d
}

pub(crate) fn weekly_plan(first: NaiveDate) -> Value {
    json!({
        "first_date": first.to_string(),
        "first_time": "10:00",
        "cadence": "weekly",
        "mode": "phone",
    })
}

pub(crate) async fn make_plan(api: &Api, id: &str, body: &Value) -> Vec<Value> {
    let (status, r) = api
        .post(&format!("/api/v1/referrals/{id}/sessions/plan"), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    r["sessions"].as_array().unwrap().clone()
}

pub(crate) async fn treatment(api: &Api, id: &str) -> Value {
    let (status, r) = api.get(&format!("/api/v1/referrals/{id}/sessions")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

pub(crate) fn live(t: &Value) -> Vec<Value> {
    t["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["number"].is_number())
        .cloned()
        .collect()
}

/// A referral in treatment: allocated (`n` keeps people apart), planned weekly on
/// Wednesdays, its first `attended` sessions held from `first_days_ago` days ago. Returns
/// its id and its treatment as the practitioner reads it.
pub(crate) async fn in_treatment(
    t: &Cast,
    c: &Clients,
    n: u32,
    attended: i64,
    first_days_ago: i64,
) -> (String, Value) {
    let id = allocated_referral(t, c, n).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Wed))).await;
    attend_first(&t.app, &c.ap, &id, attended, first_days_ago).await;
    let tr = treatment(&c.ap, &id).await;
    (id, tr)
}

/// Records `instrument` at the `n`th session of treatment `tr`, expecting it taken.
pub(crate) async fn post_measure(
    ap: &Api,
    tr: &Value,
    n: i64,
    instrument: &str,
    stage: &str,
    answers: &[u32],
) {
    let sid = numbered(tr, n)["id"].as_str().unwrap().to_owned();
    let (status, r) = ap
        .post(
            &format!("/api/v1/sessions/{sid}/measures"),
            &json!({"instrument": instrument, "stage": stage, "answers": answers}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
}

pub(crate) fn numbered(t: &Value, n: i64) -> Value {
    live(t)
        .into_iter()
        .find(|s| s["number"] == n)
        .unwrap_or_else(|| panic!("session {n}: {t}"))
}

fn starts_at(s: &Value) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s["starts_at"].as_str().unwrap(), "%Y-%m-%dT%H:%M").unwrap()
}

/// Time passing: a booked appointment as if its day came `days_ago` days ago, moved together
/// with the quarter hours it holds in the practitioner's diary. Sessions are recorded on or
/// after their day and plans start in the future, so this is the one place tests rewrite
/// time.
pub(crate) async fn as_if_held(app: &TestApp, session_id: &str, days_ago: i64) {
    let id = session_id.to_owned();
    let day = today() - Duration::days(days_ago);
    app.state
        .db
        .write(move |c| {
            let (at, ap): (NaiveDateTime, String) = treatment_sessions::table
                .find(&id)
                .select((
                    treatment_sessions::starts_at,
                    treatment_sessions::ap_user_id,
                ))
                .first(c)?;
            let moved = day.and_time(at.time());
            let blocks: Vec<NaiveDateTime> = ap_bookings::table
                .filter(ap_bookings::session_id.eq(&id))
                .select(ap_bookings::block_start)
                .load(c)?;
            diesel::delete(ap_bookings::table.filter(ap_bookings::session_id.eq(&id)))
                .execute(c)?;
            for b in blocks {
                diesel::insert_into(ap_bookings::table)
                    .values((
                        ap_bookings::ap_user_id.eq(&ap),
                        ap_bookings::block_start.eq(b + (moved - at)),
                        ap_bookings::session_id.eq(&id),
                    ))
                    .execute(c)?;
            }
            diesel::update(treatment_sessions::table.find(&id))
                .set(treatment_sessions::starts_at.eq(moved))
                .execute(c)?;
            // The reporting facts follow, as they would had the appointment been made then.
            let referral_id: String = treatment_sessions::table
                .find(&id)
                .select(treatment_sessions::referral_id)
                .first(c)?;
            mhtr_pathway::reports::upkeep::refresh(c, &referral_id)?;
            Ok(())
        })
        .await
        .unwrap();
}

pub(crate) async fn record(api: &Api, session: &Value, body: Value) -> (StatusCode, Value) {
    let mut body = body;
    body["version"] = session["version"].clone();
    api.post(
        &format!(
            "/api/v1/sessions/{}/attendance",
            session["id"].as_str().unwrap()
        ),
        &body,
    )
    .await
}

/// The first `n` planned sessions held on consecutive days, the first `first_days_ago` days
/// ago, and recorded as attended by the assistant psychologist.
pub(crate) async fn attend_first(app: &TestApp, ap: &Api, id: &str, n: i64, first_days_ago: i64) {
    let tr = treatment(ap, id).await;
    for k in 1..=n {
        let held = numbered(&tr, k);
        as_if_held(app, held["id"].as_str().unwrap(), first_days_ago + 1 - k).await;
    }
    let tr = treatment(ap, id).await;
    for k in 1..=n {
        let attended = json!({"happened": true, "attendance": "attended"});
        let (status, r) = record(ap, &numbered(&tr, k), attended).await;
        assert_eq!(status, StatusCode::OK, "session {k}: {r}");
    }
}

/// Treatment started the one way it starts: a weekly plan made and its first session, held
/// `days_ago` days ago, recorded as attended by the assistant psychologist.
pub(crate) async fn start_with_first_session(app: &TestApp, ap: &Api, id: &str, days_ago: i64) {
    make_plan(ap, id, &weekly_plan(next(Weekday::Mon))).await;
    let first = numbered(&treatment(ap, id).await, 1);
    as_if_held(app, first["id"].as_str().unwrap(), days_ago).await;
    let first = numbered(&treatment(ap, id).await, 1);
    let (status, r) = record(
        ap,
        &first,
        json!({"happened": true, "attendance": "attended", "summary_for_ro": "Attended"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
}

pub(crate) async fn outbox(app: &TestApp) -> Vec<OutboxMessage> {
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

pub(crate) fn sent(rows: &[OutboxMessage], kind: MessageKind) -> Vec<String> {
    let mut to: Vec<String> = rows
        .iter()
        .filter(|m| m.kind == kind)
        .map(|m| {
            for part in [&m.subject, &m.text_body, &m.html_body] {
                assert!(!part.contains("Dana"), "no name in emails: {part}");
                assert!(!part.contains("Sessionson"), "no name in emails: {part}");
            }
            m.recipient.clone()
        })
        .collect();
    to.sort();
    to
}

pub(crate) fn emails_of(users: &[&TestUser]) -> Vec<String> {
    let mut e: Vec<String> = users.iter().map(|u| u.email.clone()).collect();
    e.sort();
    e
}

pub(crate) async fn referral_status(app: &TestApp, id: &str) -> String {
    let id = id.to_owned();
    app.state
        .db
        .run(move |c| {
            Ok(referrals::table
                .find(id)
                .select(referrals::status)
                .first::<String>(c)?)
        })
        .await
        .unwrap()
}

/// The first Monday from which twelve weekly sessions meet a bank holiday, and that day.
fn mondays_meeting_a_bank_holiday() -> (NaiveDate, NaiveDate) {
    let mut first = next(Weekday::Mon);
    loop {
        if let Some(hit) = (0..12)
            .map(|k| first + Duration::days(7 * k))
            .find(|d| calendar::bank_holiday_name(*d).is_some())
        {
            return (first, hit);
        }
        first += Duration::days(7);
    }
}

#[tokio::test]
async fn a_plan_of_twelve_skips_bank_holidays_and_one_that_cannot_fit_is_refused() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 1).await;

    // Fortnightly from five months ahead would run past the requirement's end.
    let late = working_day_from(end_date() - Duration::days(120));
    let mut body = weekly_plan(late);
    body["cadence"] = json!("fortnightly");
    let (status, r) =
        c.ap.post(&format!("/api/v1/referrals/{id}/sessions/plan"), &body)
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let message = r["fields"]["first_date"].as_str().unwrap();
    assert!(message.contains("after the requirement ends"), "{message}");
    let tr = treatment(&c.ap, &id).await;
    assert!(tr["plan"].is_null());
    assert_eq!(tr["sessions"], json!([]));

    // Weekly on Mondays through a bank holiday: previewed, then made.
    let (first, holiday) = mondays_meeting_a_bank_holiday();
    let mut preview = weekly_plan(first);
    preview["preview"] = json!(true);
    let (status, p) =
        c.ap.post(&format!("/api/v1/referrals/{id}/sessions/plan"), &preview)
            .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["dates"].as_array().unwrap().len(), 12);
    assert!(
        treatment(&c.ap, &id).await["plan"].is_null(),
        "a preview saves nothing"
    );

    let made = make_plan(&c.ap, &id, &weekly_plan(first)).await;
    assert_eq!(made.len(), 12);
    let days: Vec<NaiveDate> = made.iter().map(|s| starts_at(s).date()).collect();
    assert_eq!(
        p["dates"],
        json!(
            made.iter()
                .map(|s| s["starts_at"].clone())
                .collect::<Vec<_>>()
        )
    );
    assert_eq!(days[0], first);
    assert!(!days.contains(&holiday), "{holiday} is a bank holiday");
    assert!(
        days.iter()
            .all(|d| calendar::bank_holiday_name(*d).is_none())
    );
    assert!(days.iter().all(|d| *d <= end_date()));
    assert!(
        days.contains(&working_day_from(holiday)),
        "that week's session moves to the next working day: {days:?}"
    );
    for (n, s) in made.iter().enumerate() {
        assert_eq!(s["number"], json!(n + 1));
        assert_eq!(s["status"], "booked");
        assert_eq!(s["minutes"], 50);
    }
    let tr = treatment(&c.ap, &id).await;
    assert_eq!(tr["plan"]["cadence"], "weekly");
    assert_eq!(tr["plan"]["target"], 12);
    assert_eq!(tr["can_manage"], true);

    // Each reading is recorded as a consultation of the referral, by whom.
    let (rid, ap) = (id.clone(), t.ap.id.clone());
    let views: i64 = t
        .app
        .state
        .db
        .run(move |c| {
            Ok(audit_events::table
                .filter(audit_events::action.eq("consultation"))
                .filter(audit_events::event.eq("referral.sessions_viewed"))
                .filter(audit_events::record_id.eq(rid))
                .filter(audit_events::actor_user_id.eq(ap))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(views, 3, "three readings so far");

    // Only one plan per referral.
    let (status, _) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/sessions/plan"),
            &weekly_plan(first + Duration::days(1)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn moving_a_session_twice_keeps_each_old_appointment_as_rescheduled() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 2).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let third = numbered(&treatment(&c.ap, &id).await, 3);

    let to = working_day_from(starts_at(&third).date() + Duration::days(2));
    let (status, r) =
        c.ap.post(
            &format!(
                "/api/v1/sessions/{}/reschedule",
                third["id"].as_str().unwrap()
            ),
            &json!({
                "version": third["version"],
                "new_date": to.to_string(),
                "new_time": "14:00",
                "party": "person_on_probation",
                "reason": "Job interview that morning",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let moved = r["sessions"][0].clone();
    assert_eq!(moved["replaces_id"], third["id"]);
    assert_eq!(moved["starts_at"], format!("{to}T14:00"));
    assert_eq!(moved["number"], 3);

    // The old version of the first appointment no longer moves.
    let (status, _) =
        c.ap.post(
            &format!(
                "/api/v1/sessions/{}/reschedule",
                third["id"].as_str().unwrap()
            ),
            &json!({
                "version": third["version"],
                "new_date": to.to_string(),
                "new_time": "16:00",
                "party": "service",
                "reason": "Again",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let again = working_day_from(to + Duration::days(1));
    let (status, r) =
        c.ap.post(
            &format!(
                "/api/v1/sessions/{}/reschedule",
                moved["id"].as_str().unwrap()
            ),
            &json!({
                "version": moved["version"],
                "new_date": again.to_string(),
                "new_time": "15:00",
                "party": "service",
                "reason": "Practitioner on training",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let last = r["sessions"][0].clone();
    assert_eq!(last["replaces_id"], moved["id"]);

    let tr = treatment(&c.ap, &id).await;
    let all = tr["sessions"].as_array().unwrap();
    let find = |sid: &Value| all.iter().find(|s| s["id"] == *sid).unwrap().clone();
    let (old, middle) = (find(&third["id"]), find(&moved["id"]));
    assert_eq!(old["status"], "superseded");
    assert_eq!(old["number"], Value::Null);
    assert_eq!(old["change_party"], "person_on_probation");
    assert_eq!(old["change_reason"], "Job interview that morning");
    assert_eq!(middle["status"], "superseded");
    assert_eq!(middle["change_party"], "service");
    assert_eq!(middle["change_reason"], "Practitioner on training");
    assert_eq!(find(&last["id"])["status"], "booked");
    assert_eq!(all.len(), 14);
    assert_eq!(live(&tr).len(), 12, "still twelve live sessions");
}

#[tokio::test]
async fn a_session_the_service_cancels_is_replaced_and_one_the_person_cancels_is_not() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 3).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Tue))).await;
    let tr = treatment(&c.ap, &id).await;
    let (second, fourth) = (numbered(&tr, 2), numbered(&tr, 4));
    let last_before = starts_at(&numbered(&tr, 12));

    let (status, r) = c
        .ap
        .post(
            &format!("/api/v1/sessions/{}/cancel", second["id"].as_str().unwrap()),
            &json!({"version": second["version"], "cancel_reason": "practitioner_unavailable", "note": "Off sick"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["cancelled"]["status"], "cancelled");
    assert_eq!(r["cancelled"]["change_party"], "service");
    assert_eq!(r["cancelled"]["cancel_reason"], "practitioner_unavailable");
    let replacement = &r["replacement"];
    assert_eq!(replacement["added_for_id"], second["id"]);
    assert!(starts_at(replacement) > last_before, "added at the end");
    assert_eq!(replacement["number"], 12);
    assert!(starts_at(replacement).date() <= end_date());
    assert_eq!(live(&treatment(&c.ap, &id).await).len(), 12);

    let (status, r) =
        c.ap.post(
            &format!("/api/v1/sessions/{}/cancel", fourth["id"].as_str().unwrap()),
            &json!({"version": fourth["version"], "cancel_reason": "person_unwell"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["cancelled"]["change_party"], "person_on_probation");
    assert!(r["replacement"].is_null());
    assert!(r["replacement_not_possible"].is_null());
    assert_eq!(live(&treatment(&c.ap, &id).await).len(), 11);

    // An unknown reason is refused against its field.
    let fifth = numbered(&treatment(&c.ap, &id).await, 5);
    let (status, r) =
        c.ap.post(
            &format!("/api/v1/sessions/{}/cancel", fifth["id"].as_str().unwrap()),
            &json!({"version": fifth["version"], "cancel_reason": "bored"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r["fields"]["cancel_reason"].is_string());
}

#[tokio::test]
async fn each_unacceptable_absence_is_reported_for_a_decision_and_two_without_a_warning_are_not_flagged()
 {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 4).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let tr = treatment(&c.ap, &id).await;
    for (n, days_ago) in [(1, 14), (2, 7)] {
        as_if_held(&t.app, numbered(&tr, n)["id"].as_str().unwrap(), days_ago).await;
    }
    let tr = treatment(&c.ap, &id).await;
    let before = outbox(&t.app).await.len();
    let dna = json!({"happened": false, "not_happened_reason": "unacceptable_absence", "summary_for_ro": "Did not attend, no contact"});

    let (status, r) = record(&c.ap, &numbered(&tr, 1), dna.clone()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["absence_reported"], true);
    assert_eq!(r["enforcement_flagged"], false);
    let rows = outbox(&t.app).await;
    assert_eq!(rows.len(), before + 1, "{rows:#?}");
    assert_eq!(sent(&rows, MessageKind::Absence), emails_of(&[&t.po]));
    assert_eq!(referral_status(&t.app, &id).await, "allocated");

    // A second absence within 12 months of the first, but with no warning given: the law
    // counts from a warning, so it is reported for a decision and not flagged for breach.
    let (status, r) = record(&c.ap, &numbered(&tr, 2), dna).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["absence_reported"], true);
    assert_eq!(r["enforcement_flagged"], false);
    let rows = outbox(&t.app).await;
    assert_eq!(
        sent(&rows, MessageKind::Absence),
        emails_of(&[&t.po, &t.po])
    );
    assert!(sent(&rows, MessageKind::SecondAbsence).is_empty());

    // The responsible officer sees one review per absence, and no clinical content.
    let seen = treatment(&c.po, &id).await;
    let reviews = seen["enforcement_reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 2);
    let mut about: Vec<&str> = reviews
        .iter()
        .map(|v| v["session_id"].as_str().unwrap())
        .collect();
    about.sort();
    let (one, two) = (numbered(&tr, 1), numbered(&tr, 2));
    let mut expected = vec![one["id"].as_str().unwrap(), two["id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(about, expected);
    assert!(
        reviews
            .iter()
            .all(|v| v["decision"].is_null() && v["after_warning_id"].is_null())
    );
    let recorded = &seen["sessions"][0];
    assert_eq!(recorded["outcome"], "unacceptable_absence");
    assert_eq!(recorded["summary_for_ro"], "Did not attend, no contact");
}

#[tokio::test]
async fn the_first_attended_session_starts_treatment_and_the_twelfth_completes_it() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 5).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Wed))).await;

    // Not before its day.
    let tr = treatment(&c.ap, &id).await;
    let (status, r) = record(
        &c.ap,
        &numbered(&tr, 1),
        json!({"happened": true, "attendance": "attended"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r["fields"]["happened"].is_string());

    for n in 1..=12 {
        as_if_held(&t.app, numbered(&tr, n)["id"].as_str().unwrap(), 13 - n).await;
    }
    let tr = treatment(&c.ap, &id).await;
    for n in 1..=12 {
        let (status, r) = record(
            &c.ap,
            &numbered(&tr, n),
            json!({"happened": true, "attendance": if n == 5 { "attended_late" } else { "attended" }, "engagement_notes": "Engaged well"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "session {n}: {r}");
        assert_eq!(r["attended"], n);
        assert_eq!(r["started"], n == 1, "session {n}");
        assert_eq!(r["ended"], n == 12, "session {n}");
        let expected = match n {
            1..=11 => "in_treatment",
            _ => "ended",
        };
        assert_eq!(referral_status(&t.app, &id).await, expected, "session {n}");
    }
    let (_, r) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    assert!(
        r["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["description"]
                .as_str()
                .unwrap_or("")
                .contains("Completed")),
        "{r}"
    );
}

#[tokio::test]
async fn outcome_measures_are_checked_and_a_risk_answer_alerts_the_clinical_leads() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 6).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Thu))).await;
    let first = numbered(&treatment(&c.ap, &id).await, 1);
    let sid = first["id"].as_str().unwrap().to_owned();
    as_if_held(&t.app, &sid, 1).await;
    let (status, r) = record(
        &c.ap,
        &first,
        json!({"happened": true, "attendance": "attended", "engagement_notes": "Low mood discussed", "summary_for_ro": "Attended"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let path = format!("/api/v1/sessions/{sid}/measures");

    let (status, r) = c
        .ap
        .post(
            &path,
            &json!({"instrument": "phq9", "stage": "first", "answers": [1, 1, 1, 4, 1, 1, 1, 1, 0]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert!(r["fields"]["q4"].is_string(), "{r}");
    let before = outbox(&t.app).await.len();

    let (status, m) = c
        .ap
        .post(
            &path,
            &json!({"instrument": "phq9", "stage": "first", "answers": [2, 2, 1, 1, 1, 1, 1, 1, 1]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(m["total"], 11);
    assert_eq!(m["risk"], true);
    let rows = outbox(&t.app).await;
    assert_eq!(rows.len(), before + 2, "{rows:#?}");
    assert_eq!(
        sent(&rows, MessageKind::RiskAlert),
        emails_of(&[&t.cl, &t.cl2]),
        "the clinical leads of the area, not of another"
    );
    assert!(!sent(&rows, MessageKind::RiskAlert).contains(&t.cl_b.email));

    // The same instrument twice at one session is refused.
    let (status, _) = c
        .ap
        .post(
            &path,
            &json!({"instrument": "phq9", "stage": "first", "answers": [0, 0, 0, 0, 0, 0, 0, 0, 0]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Clinical roles see measures, open alerts and notes; the officer sees none of them.
    let clinical = treatment(&c.cl, &id).await;
    assert_eq!(clinical["measures"][0]["session_id"], sid.as_str());
    assert_eq!(clinical["measures"][0]["severity"], "Moderate");
    assert_eq!(clinical["risk_alerts"].as_array().unwrap().len(), 1);
    // Each alert says what raised it and what to do next.
    let context = "PHQ-9, question 9 (“Thoughts that you would be better off dead, or of hurting yourself in some way”): “Several days” (scores 1). Total 11 of 27, moderate";
    assert_eq!(clinical["risk_alerts"][0]["context"], context);
    assert!(
        clinical["risk_alerts"][0]["next_step"]
            .as_str()
            .unwrap()
            .contains("today")
    );
    // On the lead's home page, first, with the same words and a link to acknowledge it;
    // and on the acknowledgement form, as a warning, with what to do next.
    let lead = t.app.browser(&t.cl).await;
    let (_, home) = lead.get("/").await;
    let alert_id = clinical["risk_alerts"][0]["id"].as_str().unwrap();
    let first_item = home.split("<li>").nth(1).unwrap_or_default();
    assert!(first_item.contains(alert_id), "{home}");
    assert!(first_item.contains("Risk alert raised"), "{home}");
    assert!(
        unescape(first_item).contains("“Several days” (scores 1)"),
        "{home}"
    );
    let (status, form) = lead
        .get(&format!("/risk-alerts/{alert_id}/acknowledge"))
        .await;
    assert_eq!(status, StatusCode::OK, "{form}");
    let form = unescape(&form);
    assert!(form.contains("govuk-warning-text"), "{form}");
    assert!(form.contains(context), "{form}");
    assert!(form.contains("What to do next:"), "{form}");
    assert_eq!(
        clinical["sessions"][0]["engagement_notes"],
        "Low mood discussed"
    );
    let officer = treatment(&c.po, &id).await;
    assert!(officer.get("measures").is_none(), "{officer}");
    assert!(officer.get("risk_alerts").is_none());
    assert!(officer["sessions"][0].get("engagement_notes").is_none());
    assert_eq!(officer["sessions"][0]["summary_for_ro"], "Attended");
    let whole = serde_json::to_string(&officer).unwrap();
    assert!(!whole.contains("Low mood"));
}

#[tokio::test]
async fn people_outside_the_sessions_scope_see_and_change_nothing() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 7).await;
    let other = allocated_referral(&t, &c, 8).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let before = treatment(&c.ap, &id).await;
    let first = numbered(&before, 1);
    let sid = first["id"].as_str().unwrap();
    let later = working_day_from(starts_at(&first).date() + Duration::days(2));
    let move_body = json!({
        "version": first["version"],
        "new_date": later.to_string(),
        "new_time": "11:00",
        "party": "service",
        "reason": "Not mine to move",
    });

    // Another assistant psychologist of the same area.
    let ap2 = t.app.api(&t.ap2).await;
    let (status, _) = ap2.get(&format!("/api/v1/referrals/{id}/sessions")).await;
    assert!(
        [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&status),
        "{status}"
    );
    for (path, body) in [
        (
            format!("/api/v1/referrals/{other}/sessions/plan"),
            weekly_plan(next(Weekday::Tue)),
        ),
        (
            format!("/api/v1/referrals/{id}/sessions"),
            json!({"new_date": later.to_string(), "new_time": "16:00"}),
        ),
        (
            format!("/api/v1/sessions/{sid}/reschedule"),
            move_body.clone(),
        ),
        (
            format!("/api/v1/sessions/{sid}/cancel"),
            json!({"version": first["version"], "cancel_reason": "booked_in_error"}),
        ),
    ] {
        let (status, r) = ap2.post(&path, &body).await;
        assert!(
            [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&status),
            "{path}: {status} {r}"
        );
    }

    // Roles without referrals, and an officer who cannot change sessions.
    let councillor = t.app.api(&t.councillor).await;
    let admin = t.app.api(&t.admin).await;
    for api in [&councillor, &admin] {
        let (status, _) = api.get(&format!("/api/v1/referrals/{id}/sessions")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = api
            .post(&format!("/api/v1/sessions/{sid}/reschedule"), &move_body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) =
        c.po.post(&format!("/api/v1/sessions/{sid}/reschedule"), &move_body)
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let after = treatment(&c.ap, &id).await;
    assert_eq!(after["sessions"], before["sessions"], "nothing changed");
    assert!(treatment(&c.ap, &other).await["plan"].is_null());
}

#[tokio::test]
async fn racing_plans_for_one_practitioner_book_one_and_never_overlap() {
    const N: u32 = 6;
    let t = cast().await;
    let c = clients(&t).await;
    let mut ids = Vec::new();
    for n in 0..N {
        ids.push(allocated_referral(&t, &c, 20 + n).await);
    }
    let body = weekly_plan(next(Weekday::Mon));
    // Each request on its own client and token, all in flight at once.
    let mut racing = Vec::new();
    for id in &ids {
        let api = t.app.api(&t.ap).await;
        let (path, body) = (
            format!("/api/v1/referrals/{id}/sessions/plan"),
            body.clone(),
        );
        racing.push(tokio::spawn(async move { api.post(&path, &body).await }));
    }
    let mut results = Vec::new();
    for r in racing {
        results.push(r.await.unwrap());
    }
    let made = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(made, 1, "{results:#?}");
    for (status, r) in &results {
        assert!(
            [
                StatusCode::CREATED,
                StatusCode::CONFLICT,
                StatusCode::UNPROCESSABLE_ENTITY
            ]
            .contains(status),
            "{status}: {r}"
        );
    }

    let ap = t.ap.id.clone();
    let (plans, sessions, blocks) = t
        .app
        .state
        .db
        .run(move |c| {
            let plans: i64 = session_plans::table.count().get_result(c)?;
            let sessions: Vec<(NaiveDateTime, i32)> = treatment_sessions::table
                .filter(treatment_sessions::ap_user_id.eq(&ap))
                .select((treatment_sessions::starts_at, treatment_sessions::minutes))
                .load(c)?;
            let blocks: i64 = ap_bookings::table
                .filter(ap_bookings::ap_user_id.eq(&ap))
                .count()
                .get_result(c)?;
            Ok((plans, sessions, blocks))
        })
        .await
        .unwrap();
    assert_eq!(plans, 1);
    assert_eq!(sessions.len(), 12);
    assert_eq!(blocks, 12 * 4, "50 minutes hold four quarter hours");
    for (i, a) in sessions.iter().enumerate() {
        for b in &sessions[i + 1..] {
            assert!(
                !plan::overlaps(a.0, a.1 as u32, b.0, b.1 as u32),
                "{a:?} and {b:?} overlap"
            );
        }
    }
}

#[tokio::test]
async fn moving_all_remaining_sessions_a_week_later_keeps_the_cadence() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 9).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Tue))).await;
    let tr = treatment(&c.ap, &id).await;
    let (third, fourth) = (numbered(&tr, 3), numbered(&tr, 4));

    // Each appointment moves onto the time the next one holds until it moves too.
    let to = starts_at(&fourth);
    let (status, r) =
        c.ap.post(
            &format!(
                "/api/v1/sessions/{}/reschedule",
                third["id"].as_str().unwrap()
            ),
            &json!({
                "version": third["version"],
                "new_date": to.date().to_string(),
                "new_time": to.format("%H:%M").to_string(),
                "party": "person_on_probation",
                "reason": "Away for a week",
                "all_remaining": true,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let moved = r["sessions"].as_array().unwrap();
    assert_eq!(moved.len(), 10, "sessions 3 to 12 move");
    assert_eq!(moved[0]["replaces_id"], third["id"]);
    assert_eq!(starts_at(&moved[0]), to);
    let after = treatment(&c.ap, &id).await;
    assert_eq!(live(&after).len(), 12);
    assert_eq!(
        after["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "superseded" && s["change_reason"] == "Away for a week")
            .count(),
        10
    );
    let last = live(&after).last().cloned().unwrap();
    assert!(starts_at(&last) > starts_at(&numbered(&tr, 12)));
}

#[tokio::test]
async fn one_referral_planned_twice_at_once_gets_one_plan() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 10).await;
    // Different times, so only the plan itself can clash.
    let mut racing = Vec::new();
    for time in ["09:00", "11:00", "13:00", "15:00"] {
        let api = t.app.api(&t.ap).await;
        let path = format!("/api/v1/referrals/{id}/sessions/plan");
        let mut body = weekly_plan(next(Weekday::Mon));
        body["first_time"] = json!(time);
        racing.push(tokio::spawn(async move { api.post(&path, &body).await }));
    }
    let mut statuses = Vec::new();
    for r in racing {
        let (status, body) = r.await.unwrap();
        assert!(
            [StatusCode::CREATED, StatusCode::CONFLICT].contains(&status),
            "{status}: {body}"
        );
        statuses.push(status);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(live(&treatment(&c.ap, &id).await).len(), 12);
}

// ------------------------------------------------------------------ the pages

pub(crate) fn date_pairs(name: &str, d: NaiveDate) -> Vec<(String, String)> {
    vec![
        (format!("{name}_day"), d.day().to_string()),
        (format!("{name}_month"), d.month().to_string()),
        (format!("{name}_year"), d.year().to_string()),
    ]
}

pub(crate) fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, s)| (k.as_str(), s.as_str())).collect()
}

#[tokio::test]
async fn an_assistant_psychologist_plans_records_and_measures_on_the_pages() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 40).await;
    let ap = t.app.browser(&t.ap).await;

    let (status, page) = ap.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Plan the 12 sessions"), "offered the plan");
    assert!(
        !page.contains("/actions/start_treatment"),
        "treatment starts from the sessions, not by hand"
    );

    // A bad form keeps what was typed and says what is wrong, GOV.UK style.
    let plan_path = format!("/referrals/{id}/sessions/plan");
    let (status, _, body) = ap
        .post(
            &plan_path,
            &[
                ("first_time", "10:10"),
                ("location", "Room 4"),
                ("mode", "in_person"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("govuk-error-summary"), "{body}");
    assert!(body.contains("Appointments start on the quarter hour"));
    assert!(body.contains("value=\"Room 4\""), "input kept");
    assert!(
        body.contains("href=\"#first_date-day\""),
        "date error anchored"
    );

    // The dates are shown before anything is booked, then booked on confirmation.
    let first = working_day_from(next(Weekday::Tue));
    let mut form = date_pairs("first_date", first);
    form.extend([
        ("first_time".to_owned(), "11:00".to_owned()),
        ("cadence".to_owned(), "weekly".to_owned()),
        ("minutes".to_owned(), "50".to_owned()),
        ("mode".to_owned(), "in_person".to_owned()),
        ("location".to_owned(), "Probation office, room 4".to_owned()),
    ]);
    let (status, _, check) = ap.post(&plan_path, &pairs(&form)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(check.contains("Check the session dates"), "{check}");
    assert!(check.contains("Book these sessions"));
    assert!(
        live(&treatment(&c.ap, &id).await).is_empty(),
        "nothing booked before confirming"
    );
    form.push(("confirm".to_owned(), "yes".to_owned()));
    let (status, location, _) = ap.post(&plan_path, &pairs(&form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with(&format!("/referrals/{id}")));
    let sessions = live(&treatment(&c.ap, &id).await);
    assert_eq!(sessions.len(), 12);

    // The first session, held: recorded on its page with a summary and private notes.
    let s1 = numbered(&treatment(&c.ap, &id).await, 1);
    as_if_held(&t.app, s1["id"].as_str().unwrap(), 1).await;
    let s1_id = s1["id"].as_str().unwrap();
    let attendance = format!("/sessions/{s1_id}/attendance");
    let (status, form_page) = ap.get(&attendance).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form_page.contains("Did the session happen?"));
    let (status, _, body) = ap
        .post(&attendance, &[("version", "0"), ("happened", "no")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Select why the session did not happen"),
        "{body}"
    );
    let (status, _, _) = ap
        .post(
            &attendance,
            &[
                ("version", "0"),
                ("happened", "yes"),
                ("attendance", "attended"),
                ("engagement_notes", "Talked about the loss of his brother"),
                ("summary_for_ro", "Attended and engaged well"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(referral_status(&t.app, &id).await, "in_treatment");

    // PHQ-9 on its page: an out-of-range answer is refused against its question.
    let measure = format!("/sessions/{s1_id}/measures/phq9");
    let (status, q) = ap.get(&measure).await;
    assert_eq!(status, StatusCode::OK);
    assert!(q.contains("Little interest or pleasure"), "{q}");
    assert!(q.contains("Not at all (scores 0)"), "{q}");

    // CORE-10's positively worded items show what each answer scores: "Not at all" on
    // item 2 scores 4, and choosing "(scores 0)" everywhere totals 0.
    let (status, core) = ap.get(&format!("/sessions/{s1_id}/measures/core10")).await;
    assert_eq!(status, StatusCode::OK);
    let item = |n: usize| {
        let name = format!("name=\"q{n}\"");
        core.split("<fieldset")
            .find(|f| f.contains(&name))
            .unwrap()
            .to_owned()
    };
    assert!(item(1).contains("Not at all (scores 0)"), "{}", item(1));
    assert!(item(2).contains("Not at all (scores 4)"), "{}", item(2));
    assert!(item(2).contains("scores in reverse"), "{}", item(2));
    assert!(
        item(2).contains("Most or all of the time (scores 0)"),
        "{}",
        item(2)
    );
    let mut answers: Vec<(String, String)> =
        (1..=9).map(|n| (format!("q{n}"), "1".to_owned())).collect();
    answers.push(("stage".into(), "first".into()));
    answers[3].1 = "7".into();
    let (status, _, body) = ap.post(&measure, &pairs(&answers)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("href=\"#q4\""), "{body}");
    answers[3].1 = "2".into();
    answers[8].1 = "0".into();
    let (status, _, _) = ap.post(&measure, &pairs(&answers)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // What each role sees on the referral page.
    let (_, page) = ap.get(&format!("/referrals/{id}")).await;
    assert!(page.contains("Talked about the loss of his brother"));
    assert!(page.contains("PHQ-9"));
    assert!(page.contains("Session plan made"), "on the timeline");
    assert!(page.contains("1 of 12 attended"));
    let po = t.app.browser(&t.po).await;
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("Attended and engaged well"),
        "summary for the officer"
    );
    assert!(
        !page.contains("Talked about the loss of his brother"),
        "engagement notes are for clinical staff only"
    );
    assert!(
        !page.contains("Outcome measure recorded"),
        "measures are clinical"
    );
    assert!(
        !page.contains("/sessions/"),
        "no session actions for the officer"
    );
}

#[tokio::test]
async fn absences_are_decided_by_the_responsible_officer_on_the_pages() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 41).await;
    make_plan(
        &c.ap,
        &id,
        &weekly_plan(working_day_from(next(Weekday::Wed))),
    )
    .await;
    let ap = t.app.browser(&t.ap).await;
    for n in 1..=2 {
        let s = numbered(&treatment(&c.ap, &id).await, n);
        as_if_held(&t.app, s["id"].as_str().unwrap(), 30 - n * 7).await;
        let (status, _, _) = ap
            .post(
                &format!("/sessions/{}/attendance", s["id"].as_str().unwrap()),
                &[
                    ("version", "0"),
                    ("happened", "no"),
                    ("not_happened_reason", "unacceptable_absence"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let po = t.app.browser(&t.po).await;
    let (_, home) = po.get("/").await;
    assert!(home.contains("Needs your attention"), "{home}");
    assert!(home.contains("enforcement decision is due"));
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(page.contains("An enforcement decision is due"));
    let review = page
        .split("/enforcement-reviews/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a link to decide")
        .to_owned();
    let path = format!("/enforcement-reviews/{review}/decision");
    // Only the responsible officer decides.
    let (status, _, _) = ap.post(&path, &[("decision", "warning")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = po.post(&path, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Select what you decided"));
    // A warning needs the day it was given, kept when the form comes back.
    let (status, _, body) = po
        .post(&path, &[("decision", "warning"), ("note", "Letter sent")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Enter the date the warning was given"),
        "{body}"
    );
    assert!(body.contains("Letter sent"));
    let day = today();
    let (d, m, y) = (
        day.day().to_string(),
        day.month().to_string(),
        day.year().to_string(),
    );
    let warned = [
        ("decision", "warning"),
        ("action_date_day", d.as_str()),
        ("action_date_month", m.as_str()),
        ("action_date_year", y.as_str()),
        ("note", "Letter sent"),
    ];
    let (status, _, _) = po.post(&path, &warned).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(page.contains("Decided: Warning issued on"), "{page}");
    // The other absence is still to decide; a warning given within 12 months before it is
    // not: its form says breach action is expected.
    let other = page
        .split("/enforcement-reviews/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a link to decide the other")
        .to_owned();
    let other = format!("/enforcement-reviews/{other}/decision");
    let (_, form) = po.get(&other).await;
    assert!(
        !form.contains("breach action (Sentencing Code"),
        "the warning came after"
    );
    let (status, _, _) = po.post(&other, &[("decision", "no_action")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(
        !page.contains("Record your decision"),
        "the banners are gone"
    );
    let (_, home) = po.get("/").await;
    assert!(!home.contains("Needs your attention"));
}

#[tokio::test]
async fn reallocating_before_treatment_moves_the_booked_sessions_or_names_the_clash() {
    let t = cast().await;
    let c = clients(&t).await;
    let first = working_day_from(next(Weekday::Thu));
    let id = allocated_referral(&t, &c, 42).await;
    make_plan(&c.ap, &id, &weekly_plan(first)).await;
    let apis = [("cl", &c.cl)];
    advance(
        &apis,
        &id,
        &[("cl", json!({"action": "allocate_ap", "ap_id": t.ap2.id}))],
    )
    .await;
    let rid = id.clone();
    let holders: Vec<String> = t
        .app
        .state
        .db
        .run(move |conn| {
            Ok(treatment_sessions::table
                .filter(treatment_sessions::referral_id.eq(&rid))
                .select(treatment_sessions::ap_user_id)
                .distinct()
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(
        holders,
        vec![t.ap2.id.clone()],
        "every booked session moved"
    );

    // Another referral takes the same times in the first practitioner's diary: moving the
    // first one back would double-book, so it is refused and nothing changes.
    let other = allocated_referral(&t, &c, 43).await;
    make_plan(&c.ap, &other, &weekly_plan(first)).await;
    let (_, current) = c.cl.get(&format!("/api/v1/referrals/{id}")).await;
    let (status, body) =
        c.cl.post(
            &format!("/api/v1/referrals/{id}/transitions"),
            &json!({"action": "allocate_ap", "ap_id": t.ap.id, "version": current["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("move it first"));
    let (_, after) = c.cl.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(after["version"], current["version"]);
}

// ------------------------------------------------------------------ reporting facts

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[tokio::test]
async fn the_reporting_facts_equal_a_recount_after_random_changes() {
    let t = cast().await;
    let c = clients(&t).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = allocated_referral(&t, &c, 60 + n).await;
        let first = working_day_from(next(Weekday::Mon) + Duration::days(i64::from(n)));
        make_plan(&c.ap, &id, &weekly_plan(first)).await;
        ids.push(id);
    }
    let mut rng = Lcg(0x5eed);
    let outcomes = [
        json!({"happened": true, "attendance": "attended"}),
        json!({"happened": true, "attendance": "attended_late"}),
        json!({"happened": true, "attendance": "attended_failed_to_comply"}),
        json!({"happened": false, "not_happened_reason": "unacceptable_absence"}),
        json!({"happened": false, "not_happened_reason": "acceptable_absence", "absence_reason": "medical"}),
        json!({"happened": false, "not_happened_reason": "service_logistics"}),
    ];
    for step in 0..24 {
        let id = &ids[rng.below(ids.len())];
        let tr = treatment(&c.ap, id).await;
        let booked: Vec<Value> = live(&tr)
            .into_iter()
            .filter(|s| s["status"] == "booked")
            .collect();
        if booked.is_empty() {
            continue;
        }
        let s = &booked[rng.below(booked.len())];
        let sid = s["id"].as_str().unwrap();
        match rng.below(4) {
            0 => {
                let to = starts_at(s) + Duration::days(1);
                let _ = c
                    .ap
                    .post(
                        &format!("/api/v1/sessions/{sid}/reschedule"),
                        &json!({"version": s["version"], "new_date": to.date().to_string(),
                                "new_time": "15:00", "party": "service", "reason": format!("step {step}")}),
                    )
                    .await;
            }
            1 => {
                let reason = ["person_request", "practitioner_unavailable"][rng.below(2)];
                let _ =
                    c.ap.post(
                        &format!("/api/v1/sessions/{sid}/cancel"),
                        &json!({"version": s["version"], "cancel_reason": reason}),
                    )
                    .await;
            }
            _ => {
                // Held earlier, in the past, then recorded: this moves it between months.
                as_if_held(&t.app, sid, 40 - step).await;
                let tr = treatment(&c.ap, id).await;
                let s = tr["sessions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["id"] == sid)
                    .unwrap()
                    .clone();
                let (status, r) =
                    record(&c.ap, &s, outcomes[rng.below(outcomes.len())].clone()).await;
                assert_eq!(status, StatusCode::OK, "{r}");
                if r["attended"].as_i64().unwrap_or(0) > 0 && rng.below(2) == 0 {
                    let _ = c
                        .ap
                        .post(
                            &format!("/api/v1/sessions/{sid}/measures"),
                            &json!({"instrument": "phq9", "stage": "first", "answers": [1,2,1,2,1,0,1,2,0]}),
                        )
                        .await;
                }
            }
        }
    }
    let recount = t
        .app
        .state
        .db
        .run(mhtr_pathway::reports::upkeep::recount)
        .await
        .unwrap();
    assert_eq!(recount.referrals, 3);
    assert!(recount.facts_equal, "stored facts equal a recount");
    assert!(
        recount.quality_equal,
        "the data-quality figures equal a recount"
    );
    assert!(
        recount.capacity_equal,
        "the capacity counts and waiting list equal a recount"
    );
    assert!(
        recount.months_equal,
        "monthly session counts equal a recount"
    );
    assert!(
        recount.aggregates_equal,
        "the report's aggregates equal a recount"
    );
    let areas = vec![t.app.area_a.clone(), t.app.area_b.clone()];
    let mismatches = t
        .app
        .state
        .db
        .run(move |c| Ok(crate::synth::fast_path_mismatches(c, &areas)))
        .await
        .unwrap();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// Treatment starts when the first session is recorded as attended, never by hand: the
/// hidden `start_treatment` action is refused through the API and the pages and not offered,
/// so no referral can be left in treatment without sessions.
#[tokio::test]
async fn treatment_cannot_be_started_by_hand() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 77).await;
    let (_, r) = c.ap.get(&format!("/api/v1/referrals/{id}")).await;
    assert!(
        !r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "start_treatment")
    );
    for api in [&c.ap, &c.cl] {
        let (status, body) = api
            .post(
                &format!("/api/v1/referrals/{id}/transitions"),
                &json!({"action": "start_treatment", "version": r["version"], "first_session_date": today().to_string()}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["fields"]["action"]
                .as_str()
                .unwrap()
                .contains("attendance")
        );
    }
    let pages = t.app.browser(&t.ap).await;
    let (status, _, _) = pages
        .post(
            &format!("/referrals/{id}/actions/start_treatment"),
            &[
                ("version", &r["version"].to_string()),
                ("first_session_date-day", "1"),
            ],
        )
        .await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    let (_, after) = c.ap.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(after["status"], "allocated");
}

/// A session that is over with no outcome shows at once on its practitioner's and the
/// clinical lead's home pages; once the grace period has passed the responsible officer is
/// told once, by email and on the timeline, however many housekeeping runs race.
#[tokio::test]
async fn an_unrecorded_session_shows_at_once_and_the_officer_is_told_after_the_grace_period() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 90).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let first = numbered(&treatment(&c.ap, &id).await, 1);
    let sid = first["id"].as_str().unwrap().to_owned();
    as_if_held(&t.app, &sid, 10).await;

    // The link to record it (the page escapes its slashes).
    let attendance = format!("{sid}&#x2F;attendance");
    let ap_pages = t.app.browser(&t.ap).await;
    for (who, shown) in [
        (&t.ap, true),
        (&t.cl, true),
        (&t.ap2, false),
        (&t.po, false),
    ] {
        let (_, home) = if who.email == t.ap.email {
            ap_pages.get("/").await
        } else {
            t.app.browser(who).await.get("/").await
        };
        assert_eq!(
            home.contains(&attendance) && home.contains("has no outcome recorded"),
            shown,
            "{}: {home}",
            who.email
        );
    }

    let starts_at = {
        let sid = sid.clone();
        t.app
            .state
            .db
            .run(move |c| {
                Ok(treatment_sessions::table
                    .find(&sid)
                    .select(treatment_sessions::starts_at)
                    .first::<NaiveDateTime>(c)?)
            })
            .await
            .unwrap()
    };
    let tell = |now: NaiveDateTime| {
        let (db, emails) = (t.app.state.db.clone(), t.app.state.emails.clone());
        async move {
            db.write(move |c| unrecorded::tell_officers(c, &emails, now, 1))
                .await
                .unwrap()
        }
    };
    // Within the grace period (the next working day): nobody is told yet.
    let next_working_day = unrecorded::last_day_to_record(starts_at.date(), 1);
    assert_eq!(
        tell(next_working_day.and_hms_opt(17, 0, 0).unwrap()).await,
        0
    );
    assert!(sent(&outbox(&t.app).await, MessageKind::SessionUnrecorded).is_empty());

    // After it: told once, however many runs race.
    let later = (next_working_day + Duration::days(1))
        .and_hms_opt(9, 0, 0)
        .unwrap();
    let runs = futures_util::future::join_all((0..4).map(|_| tell(later))).await;
    assert_eq!(runs.iter().sum::<usize>(), 1, "{runs:?}");
    assert_eq!(tell(later).await, 0);
    assert_eq!(
        sent(&outbox(&t.app).await, MessageKind::SessionUnrecorded),
        emails_of(&[&t.po])
    );
    let (_, r) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    assert!(
        r["timeline"]
            .to_string()
            .contains("has no outcome recorded: the responsible officer was told"),
        "{r}"
    );

    // Recorded: it leaves the home pages.
    let first = numbered(&treatment(&c.ap, &id).await, 1);
    let (status, body) = record(
        &c.ap,
        &first,
        json!({"happened": false, "not_happened_reason": "acceptable_absence", "absence_reason": "medical"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, home) = ap_pages.get("/").await;
    assert!(!home.contains(&attendance), "{home}");
}

/// A caseload opens on its first tab that holds anything, and every tab says how many.
#[tokio::test]
async fn a_caseload_opens_on_its_first_tab_with_work_and_shows_counts() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 95).await;
    let ap = t.app.browser(&t.ap).await;
    let (status, list) = ap.get("/referrals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("New (0)"), "{list}");
    assert!(list.contains("Waiting for first session (1)"), "{list}");
    assert!(
        unescape(&list).contains(&format!("/referrals/{id}")),
        "{list}"
    );
    // A tab asked for is kept, even when empty.
    let (_, list) = ap.get("/referrals?tab=new").await;
    assert!(
        !unescape(&list).contains(&format!("/referrals/{id}\"")),
        "{list}"
    );

    // A clinical lead's whole areas are counted too, all but the ever-growing "Ended".
    let lead = t.app.browser(&t.cl).await;
    let (status, list) = lead.get("/referrals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Waiting for first session (1)"), "{list}");
    assert!(
        list.contains("New (0)") && list.contains("In treatment (0)"),
        "{list}"
    );
    assert!(
        list.contains(">Ended<") || list.contains("Ended\n"),
        "no count on Ended: {list}"
    );
    assert!(!list.contains("Ended ("), "{list}");
}

/// When an assistant psychologist's account is disabled, treatment under way is not left
/// with no one: the lead is told at once and gives it to another, sessions and all.
#[tokio::test]
async fn treatment_whose_psychologist_leaves_is_flagged_and_handed_to_another() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 96).await;
    start_with_first_session(&t.app, &c.ap, &id, 0).await;
    t.app.disable(&t.ap.id).await;
    let lead = t.app.browser(&t.cl).await;
    let (_, home) = lead.get("/").await;
    assert!(
        home.contains(
            "The assistant psychologist for this treatment no longer has an account: choose another"
        ),
        "{home}"
    );
    let (status, moved) = c
        .cl
        .post(
            &format!("/api/v1/referrals/{id}/transitions"),
            &json!({"action": "allocate_ap", "version": c.cl.get(&format!("/api/v1/referrals/{id}")).await.1["version"], "ap_id": t.ap2.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["status"], "in_treatment");
    // The sessions still to come go with it.
    let rid = id.clone();
    let holders: Vec<String> = t
        .app
        .with_db(move |c| {
            use diesel::prelude::*;
            use mhtr_pathway::db::schema::treatment_sessions as ts;
            ts::table
                .filter(ts::referral_id.eq(&rid))
                .filter(ts::status.eq("booked"))
                .select(ts::ap_user_id)
                .load::<String>(c)
                .unwrap()
        })
        .await;
    assert!(!holders.is_empty());
    assert!(holders.iter().all(|h| *h == t.ap2.id), "{holders:?}");
    let (_, home) = lead.get("/").await;
    assert!(!home.contains("no longer has an account"), "{home}");
    let (_, page) = lead.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("Treatment handed to another assistant psychologist"),
        "{page}"
    );
}

/// Practitioner reports, risk-alert acknowledgements and enforcement decisions through the
/// API, with the pages' rules and messages; two acknowledgements or two decisions at once
/// keep one.
#[tokio::test]
async fn reports_acknowledgements_and_decisions_work_through_the_api_and_race_safely() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 97).await;
    start_with_first_session(&t.app, &c.ap, &id, 14).await;

    // A practitioner report: checked like the page's, emailed to the officer.
    let path = format!("/api/v1/referrals/{id}/practitioner-reports");
    let (status, body) =
        c.ap.post(&path, &json!({"kind": "gossip", "note": ""}))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["fields"]["kind"].is_string() && body["fields"]["note"].is_string(),
        "{body}"
    );
    let (status, _) =
        c.po.post(&path, &json!({"kind": "change", "note": "x"}))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, report) = c
        .ap
        .post(&path, &json!({"kind": "change", "note": "Weekly sessions are too far to travel; suggest phone"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(report["kind"], "change");
    assert_eq!(
        treatment(&c.po, &id).await["reports"][0]["id"],
        report["id"]
    );
    assert!(
        outbox(&t.app)
            .await
            .iter()
            .any(|m| m.kind == MessageKind::PractitionerReport && m.recipient == t.po.email)
    );

    // A risk alert, acknowledged by two leads at once: one is kept.
    let first = numbered(&treatment(&c.ap, &id).await, 1);
    let (status, body) = c
        .ap
        .post(
            &format!("/api/v1/sessions/{}/measures", first["id"].as_str().unwrap()),
            &json!({"instrument": "phq9", "stage": "first", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 1]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let alert = treatment(&c.cl, &id).await["risk_alerts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ack = format!("/api/v1/risk-alerts/{alert}/acknowledge");
    let (status, _) = c.ap.post(&ack, &json!({"action_taken": "x"})).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "assistant psychologists do not acknowledge"
    );
    let (status, body) = c.cl.post(&ack, &json!({"action_taken": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let cl2 = t.app.api(&t.cl2).await.giving_reason(LEAD_REASON);
    let (first_ack, second_ack) = (
        json!({"action_taken": "Phoned him; safety plan reviewed"}),
        json!({"action_taken": "Called the crisis team"}),
    );
    let (one, two) = tokio::join!(c.cl.post(&ack, &first_ack), cl2.post(&ack, &second_ack));
    let mut statuses = [one.0, two.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{one:?} {two:?}"
    );
    let done = if one.0 == StatusCode::OK {
        &one.1
    } else {
        &two.1
    };
    assert_eq!(done["referral_id"], id.as_str());
    assert!(
        treatment(&c.cl, &id).await["risk_alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Two unacceptable absences: the officer's review, decided twice at once, keeps one.
    for n in 2..=3 {
        let s = numbered(&treatment(&c.ap, &id).await, n);
        as_if_held(&t.app, s["id"].as_str().unwrap(), 14 - n * 3).await;
        let s = numbered(&treatment(&c.ap, &id).await, n);
        let (status, body) = record(
            &c.ap,
            &s,
            json!({"happened": false, "not_happened_reason": "unacceptable_absence"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let review = treatment(&c.po, &id).await["enforcement_reviews"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let decide = format!("/api/v1/enforcement-reviews/{review}/decision");
    let (status, _) = c.ap.post(&decide, &json!({"decision": "warning"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = c.po.post(&decide, &json!({"decision": "shrug"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let po2 = t.app.api(&t.po).await;
    let today = today().to_string();
    let (warning, breach) = (
        json!({"decision": "warning", "action_date": today, "note": "Letter sent"}),
        json!({"decision": "breach", "action_date": today}),
    );
    let (one, two) = tokio::join!(c.po.post(&decide, &warning), po2.post(&decide, &breach));
    let mut statuses = [one.0, two.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{one:?} {two:?}"
    );
    let decided = &treatment(&c.po, &id).await["enforcement_reviews"][0];
    let kept = if one.0 == StatusCode::OK {
        "warning"
    } else {
        "breach"
    };
    assert_eq!(decided["decision"], kept);
}

/// A reliable deterioration mid-treatment (the PHQ-9 rising 6 or more since the first
/// session) alerts the clinical leads at once; a rise of 5 does not.
#[tokio::test]
async fn a_reliable_deterioration_during_treatment_alerts_the_clinical_leads() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = in_treatment(&t, &c, 81, 3, 20).await;
    let measure = |n: i64, stage: &'static str, answers: Vec<u32>| {
        let (ap, tr) = (&c.ap, &tr);
        async move { post_measure(ap, tr, n, "phq9", stage, &answers).await }
    };
    // First 8; then 13 (a rise of 5: not reliable); then 14 (a rise of 6: reliable).
    measure(1, "first", vec![1, 1, 1, 1, 1, 1, 1, 1, 0]).await;
    let before = outbox(&t.app).await.len();
    measure(2, "mid", vec![2, 2, 2, 2, 1, 1, 1, 2, 0]).await;
    assert_eq!(
        outbox(&t.app).await.len(),
        before,
        "a rise of 5 alerts nobody"
    );
    assert_eq!(
        treatment(&c.cl, &id).await["risk_alerts"],
        json!([]),
        "and raises no alert"
    );
    measure(3, "mid", vec![2, 2, 2, 2, 2, 1, 1, 2, 0]).await;
    let rows = outbox(&t.app).await;
    assert_eq!(
        sent(&rows[before..], MessageKind::RiskAlert),
        emails_of(&[&t.cl, &t.cl2]),
        "the area's clinical leads, at once"
    );
    let alerts = treatment(&c.cl, &id).await["risk_alerts"].clone();
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(alerts[0]["kind"], "reliable_deterioration");
    // On the lead's home page and the referral page, saying why.
    let lead = t.app.browser(&t.cl).await;
    let (_, home) = lead.get("/").await;
    assert!(
        home.contains("reliable deterioration since the first session"),
        "{home}"
    );
    let (_, page) = lead.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("An outcome measure shows a reliable deterioration since the first session")
    );
}

#[tokio::test]
async fn a_plan_measuring_at_every_session_asks_for_a_measure_after_each_attended_one() {
    let t = cast().await;
    let c = clients(&t).await;
    let mentions = |w: &Value, id: &str| -> Option<String> {
        w["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["key"] == "measures_due")?["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["href"].as_str().unwrap().contains(id))
            .map(|i| i["text"].as_str().unwrap().to_owned())
    };

    // A plan that says nothing takes measures at every session.
    let (every, tr) = in_treatment(&t, &c, 82, 3, 20).await;
    assert_eq!(tr["plan"]["measures"], "every_session", "{tr}");
    post_measure(&c.ap, &tr, 1, "phq9", "first", &[1; 9]).await;
    let (_, w) = c.ap.get("/api/v1/worklist").await;
    let third = starts_at(&numbered(&tr, 3)).date();
    let due =
        mentions(&w, &every).unwrap_or_else(|| panic!("the latest unmeasured session is due: {w}"));
    assert!(
        due.contains(&mhtr_pathway::web::format::date(third)) && due.contains("every session"),
        "{due}"
    );
    post_measure(&c.ap, &tr, 3, "phq9", "mid", &[1; 9]).await;
    let (_, w) = c.ap.get("/api/v1/worklist").await;
    let second = starts_at(&numbered(&tr, 2)).date();
    assert!(
        mentions(&w, &every).is_some_and(|d| d.contains(&mhtr_pathway::web::format::date(second))),
        "then the one before it: {w}"
    );
    post_measure(&c.ap, &tr, 2, "gad7", "mid", &[1; 7]).await;
    let (_, w) = c.ap.get("/api/v1/worklist").await;
    assert_eq!(
        mentions(&w, &every),
        None,
        "every attended session measured"
    );

    // A plan for the first and last sessions asks for nothing in between.
    let ends = allocated_referral(&t, &c, 83).await;
    let mut body = weekly_plan(next(Weekday::Thu));
    body["measures"] = json!("start_end");
    make_plan(&c.ap, &ends, &body).await;
    attend_first(&t.app, &c.ap, &ends, 3, 27).await;
    let tr = treatment(&c.ap, &ends).await;
    assert_eq!(tr["plan"]["measures"], "start_end");
    post_measure(&c.ap, &tr, 1, "phq9", "first", &[1; 9]).await;
    let (_, w) = c.ap.get("/api/v1/worklist").await;
    assert_eq!(mentions(&w, &ends), None, "{w}");
    let (_, referral) = c.ap.get(&format!("/api/v1/referrals/{ends}")).await;
    let timeline = referral["timeline"].to_string();
    assert!(
        timeline.contains("Outcome measures at the first and last sessions"),
        "{timeline}"
    );

    // Anything else is refused, saying what to choose.
    let other = allocated_referral(&t, &c, 84).await;
    let mut body = weekly_plan(next(Weekday::Fri));
    body["measures"] = json!("sometimes");
    let (status, r) =
        c.ap.post(&format!("/api/v1/referrals/{other}/sessions/plan"), &body)
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert!(
        r.to_string()
            .contains("Select when outcome measures are taken"),
        "{r}"
    );
}

// ------------------------------------------------------------------ capacity kept

/// A practitioner's live sessions per week from the kept counts, and the same counted from
/// the sessions themselves, from this week for 20 weeks.
async fn weekly_counts(
    t: &Cast,
    ap: &str,
) -> (
    std::collections::BTreeMap<NaiveDate, i64>,
    std::collections::BTreeMap<NaiveDate, i64>,
) {
    use mhtr_pathway::sessions::diary::{LIVE, monday_of};
    let ap = ap.to_owned();
    t.app
        .state
        .db
        .run(move |c| {
            let from = monday_of(today());
            let kept = mhtr_pathway::sessions::capacity::booked_per_week(
                c,
                std::slice::from_ref(&ap),
                from,
                20,
            )?
            .into_iter()
            .map(|((_, week), n)| (week, n))
            .collect();
            let mut counted = std::collections::BTreeMap::new();
            for at in treatment_sessions::table
                .filter(treatment_sessions::ap_user_id.eq(&ap))
                .filter(treatment_sessions::status.eq_any(LIVE))
                .select(treatment_sessions::starts_at)
                .load::<NaiveDateTime>(c)?
            {
                let week = monday_of(at.date());
                if week >= from && week < from + Duration::days(140) {
                    *counted.entry(week).or_insert(0) += 1;
                }
            }
            Ok((kept, counted))
        })
        .await
        .unwrap()
}

/// The references on area A's waiting list, longest waiting first.
async fn waiting_ids(t: &Cast) -> Vec<String> {
    let areas = vec![t.app.area_a.clone()];
    t.app
        .state
        .db
        .run(move |c| {
            let page =
                mhtr_pathway::sessions::capacity::waiting_list(c, &areas, today(), None, 50)?;
            Ok(page.list.into_iter().map(|w| w.referral_id).collect())
        })
        .await
        .unwrap()
}

async fn capacity_recounts(t: &Cast) -> bool {
    t.app
        .state
        .db
        .run(mhtr_pathway::reports::upkeep::recount)
        .await
        .unwrap()
        .capacity_equal
}

#[tokio::test]
async fn capacity_counts_and_the_waiting_list_follow_every_change_to_the_sessions() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 60).await;
    assert_eq!(
        waiting_ids(&t).await,
        vec![id.clone()],
        "allocated: waiting"
    );
    let (kept, _) = weekly_counts(&t, &t.ap.id).await;
    assert!(kept.is_empty(), "{kept:?}");

    // A plan of 12 weekly sessions: one a week for the practitioner, still waiting.
    let first = working_day_from(next(Weekday::Thu));
    let sessions = make_plan(&c.ap, &id, &weekly_plan(first)).await;
    let (kept, counted) = weekly_counts(&t, &t.ap.id).await;
    assert_eq!(kept, counted);
    assert_eq!(kept.values().sum::<i64>(), 12);
    assert!(kept.values().all(|n| *n == 1), "{kept:?}");
    assert_eq!(waiting_ids(&t).await, vec![id.clone()]);
    assert!(capacity_recounts(&t).await);

    // Another practitioner takes the referral: the sessions move with it.
    let apis = [("cl", &c.cl)];
    advance(
        &apis,
        &id,
        &[("cl", json!({"action": "allocate_ap", "ap_id": t.ap2.id}))],
    )
    .await;
    let (kept, _) = weekly_counts(&t, &t.ap.id).await;
    assert!(
        kept.is_empty(),
        "the first practitioner's weeks are free: {kept:?}"
    );
    let (kept, counted) = weekly_counts(&t, &t.ap2.id).await;
    assert_eq!((kept.values().sum::<i64>(), &kept), (12, &counted));
    assert!(capacity_recounts(&t).await);

    // A cancellation frees its week; a move puts the session in the week it moves to.
    let ap2 = t.app.api(&t.ap2).await;
    let tr = treatment(&ap2, &id).await;
    let live: Vec<Value> = tr["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "booked")
        .cloned()
        .collect();
    assert_eq!(live.len(), sessions.len());
    let (status, body) = ap2
        .post(
            &format!(
                "/api/v1/sessions/{}/cancel",
                live[2]["id"].as_str().unwrap()
            ),
            &json!({"version": live[2]["version"], "cancel_reason": "person_request"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let moved_to = working_day_from(starts_at(&live[3]).date() + Duration::days(7));
    let (status, body) = ap2
        .post(
            &format!(
                "/api/v1/sessions/{}/reschedule",
                live[3]["id"].as_str().unwrap()
            ),
            &json!({"version": live[3]["version"], "new_date": moved_to.to_string(),
                    "new_time": "15:00", "party": "service", "reason": "Room unavailable"}),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
    let (kept, counted) = weekly_counts(&t, &t.ap2.id).await;
    assert_eq!(kept, counted);
    assert_eq!(kept.values().sum::<i64>(), 11, "{kept:?}");
    use mhtr_pathway::sessions::diary::monday_of;
    assert_eq!(kept.get(&monday_of(starts_at(&live[2]).date())), None);
    let same_week = live
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            ![2, 3].contains(i) && monday_of(starts_at(s).date()) == monday_of(moved_to)
        })
        .count() as i64;
    assert_eq!(kept.get(&monday_of(moved_to)), Some(&(same_week + 1)));
    assert!(capacity_recounts(&t).await);

    // The first session attended: treatment starts and the order leaves the waiting list;
    // the session, now in the past, no longer counts in the weeks ahead.
    let sid = live[0]["id"].as_str().unwrap();
    as_if_held(&t.app, sid, 1).await;
    let tr = treatment(&ap2, &id).await;
    let s = tr["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == sid)
        .unwrap()
        .clone();
    let (status, r) = record(
        &ap2,
        &s,
        json!({"happened": true, "attendance": "attended"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(waiting_ids(&t).await.is_empty(), "treatment started");
    let (kept, counted) = weekly_counts(&t, &t.ap2.id).await;
    assert_eq!(kept, counted);
    assert!(capacity_recounts(&t).await);
}

#[tokio::test]
async fn plans_made_at_once_for_one_practitioner_are_all_counted() {
    const N: u32 = 4;
    let t = cast().await;
    let c = clients(&t).await;
    let mut ids = Vec::new();
    for n in 0..N {
        ids.push(allocated_referral(&t, &c, 70 + n).await);
    }
    let first = working_day_from(next(Weekday::Tue));
    // Each at its own hour, all in flight at once: every plan is made, and each week's count
    // for the practitioner takes every one of them.
    let mut racing = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let api = t.app.api(&t.ap).await;
        let mut body = weekly_plan(first);
        body["first_time"] = json!(format!("{:02}:00", 9 + 2 * k));
        let path = format!("/api/v1/referrals/{id}/sessions/plan");
        racing.push(tokio::spawn(async move { api.post(&path, &body).await }));
    }
    for r in racing {
        let (status, body) = r.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (kept, counted) = weekly_counts(&t, &t.ap.id).await;
    assert_eq!(kept, counted);
    assert_eq!(kept.values().sum::<i64>(), 12 * i64::from(N));
    assert!(capacity_recounts(&t).await);
    assert_eq!(waiting_ids(&t).await.len(), N as usize);
}
