//! A practitioner's leave, on SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`): no session
//! is booked on its days, the sessions already booked then are moved or cancelled in one go
//! (every one or none), officers are told, and only the practitioner or a clinical lead of
//! their areas records it; through the API and the pages.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use mhtr_pathway::notifications::messages::MessageKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::treatment_sessions::{
    allocated_referral, cast, clients, live, make_plan, next, outbox, sent, treatment, weekly_plan,
    working_day_from,
};

fn day_of(s: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(&s["starts_at"].as_str().unwrap()[..10], "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn leave_blocks_its_days_and_its_sessions_are_arranged_in_one_go() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 101).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let plan = live(&treatment(&c.ap, &id).await);
    let (second, third, fourth) = (plan[1].clone(), plan[2].clone(), plan[3].clone());
    let (from, to) = (day_of(&second), day_of(&third));

    // Who may record it, and what is refused.
    let (status, _) =
        c.po.post(
            "/api/v1/leave",
            &json!({"starts_date": from.to_string(), "ends_date": to.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, e) =
        c.ap.post(
            "/api/v1/leave",
            &json!({"starts_date": to.to_string(), "ends_date": from.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["fields"]["ends_date"].is_string(), "{e}");
    let (status, e) = c
        .cl
        .post(
            "/api/v1/leave",
            &json!({"user_id": t.cl_b.id, "starts_date": from.to_string(), "ends_date": to.to_string()}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a practitioner of theirs: {e}"
    );

    let (status, leave) = c
        .ap
        .post(
            "/api/v1/leave",
            &json!({"starts_date": from.to_string(), "ends_date": to.to_string(), "note": "Annual leave"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{leave}");
    let listed: Vec<&str> = leave["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            second["id"].as_str().unwrap(),
            third["id"].as_str().unwrap()
        ]
    );
    let leave_id = leave["id"].as_str().unwrap().to_owned();
    let (status, _) =
        c.ap.post(
            "/api/v1/leave",
            &json!({"starts_date": to.to_string(), "ends_date": to.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "overlaps");

    // Nothing can be booked on a day of leave.
    let (status, e) = c
        .ap
        .post(
            &format!("/api/v1/sessions/{}/reschedule", fourth["id"].as_str().unwrap()),
            &json!({"version": fourth["version"], "new_date": from.to_string(), "new_time": "14:00", "party": "service", "reason": "Room"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e.to_string().contains("on leave"), "{e}");

    // One arrangement that cannot be done: nothing changes.
    let path = format!("/api/v1/leave/{leave_id}/arrangements");
    let after = working_day_from(to + Duration::days(1));
    let bad = json!({"arrangements": [
        {"session_id": second["id"], "version": second["version"], "action": "move", "new_date": from.to_string(), "new_time": "14:00"},
        {"session_id": third["id"], "version": third["version"], "action": "cancel"},
    ]});
    let (status, e) = c.ap.post(&path, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["fields"][format!("session_{}", second["id"].as_str().unwrap())].is_string(),
        "{e}"
    );
    let (_, still) = c.ap.get(&format!("/api/v1/leave/{leave_id}")).await;
    assert_eq!(
        still["sessions"].as_array().unwrap().len(),
        2,
        "none landed: {still}"
    );

    // Both together: moved after the leave, and cancelled with a replacement.
    let before = sent(&outbox(&t.app).await, MessageKind::SessionPlan).len();
    let good = json!({"arrangements": [
        {"session_id": second["id"], "version": second["version"], "action": "move", "new_date": after.to_string(), "new_time": "14:00"},
        {"session_id": third["id"], "version": third["version"], "action": "cancel"},
    ]});
    let (status, r) = c.ap.post(&path, &good).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r, json!({"moved": 1, "cancelled": 1}));
    let tr = treatment(&c.ap, &id).await;
    let all = tr["sessions"].as_array().unwrap();
    let old_third = all.iter().find(|s| s["id"] == third["id"]).unwrap();
    assert_eq!(old_third["status"], "cancelled");
    assert_eq!(old_third["cancel_reason"], "practitioner_unavailable");
    assert!(live(&tr).iter().any(|s| day_of(s) == after), "moved: {tr}");
    assert_eq!(live(&tr).len(), 12, "a replacement keeps the 12");
    assert!(live(&tr).iter().all(|s| day_of(s) < from || day_of(s) > to));
    assert!(
        sent(&outbox(&t.app).await, MessageKind::SessionPlan).len() > before,
        "the officer is told"
    );
    let (_, done) = c.ap.get(&format!("/api/v1/leave/{leave_id}")).await;
    assert!(done["sessions"].as_array().unwrap().is_empty());

    // A lead sees the team's leave; cancelled, its days are bookable again.
    let (_, team) = c.cl.get("/api/v1/leave").await;
    assert!(team.to_string().contains(&leave_id), "{team}");
    let (status, _) =
        c.cl.post(&format!("/api/v1/leave/{leave_id}/cancel"), &json!({}))
            .await;
    assert_eq!(status, StatusCode::OK);
    let fourth = live(&treatment(&c.ap, &id).await)
        .into_iter()
        .find(|s| s["id"] == fourth["id"])
        .unwrap();
    let free = working_day_from(from + Duration::days(1));
    assert!(free <= to || free.weekday() != Weekday::Sat);
    let (status, r) = c
        .ap
        .post(
            &format!("/api/v1/sessions/{}/reschedule", fourth["id"].as_str().unwrap()),
            &json!({"version": fourth["version"], "new_date": from.to_string(), "new_time": "15:00", "party": "service", "reason": "Room"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");

    // The pages: the form with its errors, then the sessions to arrange.
    let ap = t.app.browser(&t.ap).await;
    let (status, page) = ap.get("/leave").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Record leave"), "{page}");
    let (status, _, body) = ap.post("/leave", &[("note", "Kept")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("govuk-error-summary") && body.contains("Enter the first day of leave"),
        "{body}"
    );
    assert!(body.contains("Kept"));
    let later = live(&treatment(&c.ap, &id).await)[6].clone();
    let d = day_of(&later);
    let (dd, mm, yy) = (
        d.day().to_string(),
        d.month().to_string(),
        d.year().to_string(),
    );
    let (status, location, _) = ap
        .post(
            "/leave",
            &[
                ("starts_date_day", dd.as_str()),
                ("starts_date_month", mm.as_str()),
                ("starts_date_year", yy.as_str()),
                ("ends_date_day", dd.as_str()),
                ("ends_date_month", mm.as_str()),
                ("ends_date_year", yy.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, arrange) = ap.get(&location).await;
    assert!(
        arrange.contains("Sessions during leave") && arrange.contains("Move it to a new date"),
        "{arrange}"
    );
}
