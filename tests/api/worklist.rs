//! The worklists, on SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`): an assistant
//! psychologist's own week and a clinical lead's team's, with the lead's lists of referrals
//! that have waited too long or lost their owner; through the API and the page.

use chrono::{Duration, Weekday};
use diesel::prelude::*;
use mhtr_pathway::db::schema::{audit_events, referrals};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::referrals::{advance, api_referral, probation_json};
use crate::treatment_sessions::{
    allocated_referral, as_if_held, cast, clients, make_plan, next, numbered, record, treatment,
    weekly_plan,
};

/// The items of list `key`.
fn list<'a>(w: &'a Value, key: &str) -> Vec<&'a Value> {
    w["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {w}"))["items"]
        .as_array()
        .unwrap()
        .iter()
        .collect()
}

fn has_list(w: &Value, key: &str) -> bool {
    w["sections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["key"] == key)
}

fn mentions(items: &[&Value], reference: &str) -> bool {
    items.iter().any(|i| i["reference"] == reference)
}

async fn reference(api: &crate::referrals::helpers::Api, id: &str) -> String {
    let (_, r) = api.get(&format!("/api/v1/referrals/{id}")).await;
    r["reference"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_practitioner_and_a_lead_see_the_weeks_work_and_what_has_waited_too_long() {
    let t = cast().await;
    let c = clients(&t).await;

    // Treated: the first session over and unrecorded, the next ones booked.
    let treated = allocated_referral(&t, &c, 71).await;
    make_plan(&c.ap, &treated, &weekly_plan(next(Weekday::Mon))).await;
    let plan = treatment(&c.ap, &treated).await;
    as_if_held(&t.app, numbered(&plan, 1)["id"].as_str().unwrap(), 2).await;
    // The second moved into the coming week (as if booked for then).
    as_if_held(&t.app, numbered(&plan, 2)["id"].as_str().unwrap(), -3).await;
    let treated_ref = reference(&c.po, &treated).await;

    // Sentenced 30 days ago and not started; then its practitioner leaves.
    let idle = allocated_referral(&t, &c, 72).await;
    let idle_ref = reference(&c.po, &idle).await;
    advance(
        &[("cl", &c.cl)],
        &idle,
        &[("cl", json!({"action": "allocate_ap", "ap_id": t.ap2.id}))],
    )
    .await;

    // Submitted ten days ago and not screened.
    let mut body = probation_json(&t.app.area_a, "Wendy", "Waiting", Some("W123456"));
    body["create_new_person"] = json!(true);
    let waiting = api_referral(&c.po, &body).await;
    let (waiting_id, waiting_ref) = (
        waiting["id"].as_str().unwrap().to_owned(),
        waiting["reference"].as_str().unwrap().to_owned(),
    );
    let back = mhtr_pathway::clock::now() - Duration::days(10);
    let wid = waiting_id.clone();
    t.app
        .with_db(move |c| {
            diesel::update(referrals::table.find(&wid))
                .set(referrals::submitted_at.eq(back))
                .execute(c)
                .unwrap();
        })
        .await;

    // The practitioner's own week.
    let (status, mine) = c.ap.get("/api/v1/worklist").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["scope"], "Your work");
    let to_record = list(&mine, "to_record");
    assert!(mentions(&to_record, &treated_ref), "{mine}");
    assert_eq!(to_record[0]["person"], "Dana Sessionson71");
    assert!(
        to_record[0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/attendance")
    );
    assert!(
        mentions(&list(&mine, "next_7_days"), &treated_ref),
        "{mine}"
    );
    assert!(!mentions(&to_record, &idle_ref));
    assert!(!has_list(&mine, "screening_overdue"), "a lead's list");

    // Once the session is recorded, the first measure is due.
    let first = numbered(&treatment(&c.ap, &treated).await, 1);
    let (status, r) = record(
        &c.ap,
        &first,
        json!({"happened": true, "attendance": "attended"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, mine) = c.ap.get("/api/v1/worklist").await;
    assert!(list(&mine, "to_record").is_empty(), "{mine}");
    let due = list(&mine, "measures_due");
    assert!(mentions(&due, &treated_ref), "{mine}");
    assert!(
        due[0]["text"]
            .as_str()
            .unwrap()
            .contains("No first measure")
    );

    // The lead's team: whose each item is, and what has waited too long.
    t.app.disable(&t.ap2.id).await;
    let (status, team) = c.cl.get("/api/v1/worklist").await;
    assert_eq!(status, StatusCode::OK, "{team}");
    assert_eq!(team["scope"], "Your team's work");
    let due = list(&team, "measures_due");
    assert!(mentions(&due, &treated_ref));
    assert_eq!(due[0]["whose"], "Ash Psych");
    assert!(
        mentions(&list(&team, "screening_overdue"), &waiting_ref),
        "{team}"
    );
    let idle_items = list(&team, "not_started");
    assert!(mentions(&idle_items, &idle_ref), "{team}");
    assert!(!mentions(&idle_items, &treated_ref), "started");
    let orphans = list(&team, "needs_new_owner");
    assert!(mentions(&orphans, &idle_ref), "{team}");
    assert!(
        orphans[0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/actions/allocate_ap")
    );

    // Nobody else has one; the page shows the same, and each view is recorded.
    let (status, _) = c.po.get("/api/v1/worklist").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let lead = t.app.browser(&t.cl).await;
    let (status, page) = lead.get("/worklist").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Your team&#x27;s work") || page.contains("Your team's work"),
        "{page}"
    );
    assert!(
        page.contains("Wendy Waiting") && page.contains("Ash Psych"),
        "{page}"
    );
    let (_, home) = lead.get("/").await;
    assert!(home.contains("Team worklist"), "{home}");
    let views: i64 = t
        .app
        .with_db(|c| {
            audit_events::table
                .filter(audit_events::event.eq("worklist.viewed"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(views, 4);
}
