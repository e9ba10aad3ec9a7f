//! The order changes, on SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`): the
//! responsible officer records what the court decided on a variation (the requirement
//! amended or extended, with its new end date) or a revocation (revoked, re-sentenced,
//! custody); the order's end date follows, the session plan is cut or closed to match, the
//! practitioner is told, and only the officer holding the referral records it.

use chrono::{Duration, Weekday};
use mhtr_pathway::notifications::messages::MessageKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::referrals::helpers::Api;
use crate::treatment_sessions::{
    allocated_referral, cast, clients, emails_of, live, make_plan, next, outbox, sent, today,
    treatment, weekly_plan,
};
use mhtr_pathway::users::model::Role;

async fn decide(api: &Api, id: &str, body: Value) -> (StatusCode, Value) {
    let (_, current) = api.get(&format!("/api/v1/referrals/{id}")).await;
    let mut body = body;
    body["version"] = current["version"].clone();
    api.post(&format!("/api/v1/referrals/{id}/transitions"), &body)
        .await
}

#[tokio::test]
async fn the_officer_records_the_courts_variation_and_the_plan_follows() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 81).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let today = today();
    let ends = (today + Duration::days(270)).to_string();
    let (_, r) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(r["requirement_end_date"], ends.as_str());
    assert!(r["actions"].to_string().contains("vary_order"), "{r}");

    // Only the probation officer holding it; what the court decided is needed, and an
    // extension needs a later end date.
    let extend = |end: String| {
        json!({"action": "vary_order", "court_outcome": "extended",
               "decision_date": today.to_string(), "requirement_end_date": end})
    };
    let (status, _) = decide(
        &c.cl,
        &id,
        extend((today + Duration::days(400)).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = t
        .app
        .create_user(Role::ProbationOfficer, "Other Officer", &[&t.app.area_a])
        .await;
    let other = t.app.api(&other).await;
    let (_, current) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    let mut body = extend((today + Duration::days(400)).to_string());
    body["version"] = current["version"].clone();
    let (status, e) = other
        .post(&format!("/api/v1/referrals/{id}/transitions"), &body)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not their referral: {e}");
    let (status, e) = decide(
        &c.po,
        &id,
        json!({"action": "vary_order", "decision_date": today.to_string()}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["fields"]["court_outcome"].is_string(), "{e}");
    let (status, e) = decide(
        &c.po,
        &id,
        json!({"action": "vary_order", "court_outcome": "revoked", "decision_date": today.to_string()}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "revocation is its own step: {e}"
    );
    let (status, e) = decide(
        &c.po,
        &id,
        json!({"action": "vary_order", "court_outcome": "extended", "decision_date": today.to_string()}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["fields"]["requirement_end_date"].is_string(), "{e}");
    let (status, e) = decide(
        &c.po,
        &id,
        extend((today + Duration::days(200)).to_string()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not an extension: {e}"
    );
    assert!(e["fields"]["requirement_end_date"].is_string(), "{e}");

    let longer = (today + Duration::days(400)).to_string();
    let (status, r) = decide(&c.po, &id, extend(longer.clone())).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["requirement_end_date"], longer.as_str());
    assert_eq!(r["status"], "allocated", "the order goes on");
    assert!(
        r["order"]
            .as_str()
            .unwrap()
            .contains("The requirement was extended"),
        "{r}"
    );
    assert_eq!(
        sent(&outbox(&t.app).await, MessageKind::OrderChanged),
        emails_of(&[&t.ap])
    );

    // An amendment bringing the end forward cuts the sessions booked after it.
    let booked = live(&treatment(&c.ap, &id).await);
    assert_eq!(booked.len(), 12);
    let sixth = booked[5]["starts_at"].as_str().unwrap()[..10].to_owned();
    let sixth = chrono::NaiveDate::parse_from_str(&sixth, "%Y-%m-%d").unwrap();
    let shorter = (sixth - Duration::days(1)).to_string();
    let (status, r) = decide(
        &c.po,
        &id,
        json!({"action": "vary_order", "court_outcome": "amended", "decision_date": today.to_string(),
               "requirement_end_date": shorter, "note": "Hearing at Leicester Magistrates"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["requirement_end_date"], shorter.as_str());
    let tr = treatment(&c.ap, &id).await;
    assert_eq!(live(&tr).len(), 5, "{tr}");
    let cut: Vec<&Value> = tr["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "cancelled")
        .collect();
    assert_eq!(cut.len(), 7);
    assert!(
        cut[0]["change_reason"]
            .as_str()
            .unwrap()
            .contains("The court varied the order"),
        "{}",
        cut[0]
    );
    let timeline = r["timeline"].to_string();
    assert!(
        timeline.contains("7 booked sessions after it cancelled"),
        "{timeline}"
    );
}

#[tokio::test]
async fn the_court_ending_the_order_ends_treatment_and_cancels_what_is_booked() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 82).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let (status, e) = decide(
        &c.po,
        &id,
        json!({"action": "end_order", "court_outcome": "extended", "decision_date": today().to_string()}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, r) = decide(
        &c.po,
        &id,
        json!({"action": "end_order", "court_outcome": "custody", "decision_date": today().to_string()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "ended");
    assert!(
        r["order"]
            .as_str()
            .unwrap()
            .contains("revoked with a custodial sentence"),
        "{r}"
    );
    assert!(
        live(&treatment(&c.ap, &id).await)
            .iter()
            .all(|s| s["status"] != "booked")
    );
    let (status, summary) =
        c.po.get(&format!("/api/v1/referrals/{id}/end-summary"))
            .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["end_outcome"], "ended_early");
    assert_eq!(summary["end_reason"], "custody");
    let (status, _) = decide(
        &c.po,
        &id,
        json!({"action": "end_order", "court_outcome": "revoked", "decision_date": today().to_string()}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "already ended");

    // The pages: the officer's form asks what the court decided, and keeps the answers.
    let id = allocated_referral(&t, &c, 83).await;
    let po = t.app.browser(&t.po).await;
    let path = format!("/referrals/{id}/actions/vary_order");
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("Record the court varying the order"),
        "{page}"
    );
    let (status, form) = po.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("What did the court decide?"), "{form}");
    let (_, current) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    let version = current["version"].to_string();
    let (status, _, body) = po
        .post(
            &path,
            &[("version", version.as_str()), ("court_outcome", "extended")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("govuk-error-summary") && body.contains("new date the requirement ends"),
        "{body}"
    );
    assert!(body.contains(r#"value="extended" checked"#), "{body}");
}
