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
    assert_eq!(r, json!({"moved": 1, "cancelled": 1, "covered": 0}));
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

/// A colleague of the session's area covers it at its time: no one else, not someone busy then
/// (the diary's quarter hours are taken in the database), and nothing lands if one fails.
#[tokio::test]
async fn a_colleague_covers_a_session_during_leave_at_its_time() {
    use diesel::prelude::*;
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 102).await;
    make_plan(&c.ap, &id, &weekly_plan(next(Weekday::Mon))).await;
    let plan = live(&treatment(&c.ap, &id).await);
    let (second, sixth) = (plan[1].clone(), plan[5].clone());
    let d = day_of(&second);
    let (status, leave) =
        c.ap.post(
            "/api/v1/leave",
            &json!({"starts_date": d.to_string(), "ends_date": d.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{leave}");
    let path = format!(
        "/api/v1/leave/{}/arrangements",
        leave["id"].as_str().unwrap()
    );
    let cover = |by: Option<&str>| {
        json!({"arrangements": [
            {"session_id": second["id"], "version": second["version"], "action": "cover", "cover_by": by},
        ]})
    };
    let field = format!("session_{}", second["id"].as_str().unwrap());
    // No one chosen, the practitioner on leave, or a lead (not an assistant psychologist).
    for by in [None, Some(t.ap.id.as_str()), Some(t.cl.id.as_str())] {
        let (status, e) = c.ap.post(&path, &cover(by)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{by:?}: {e}");
        assert!(e["fields"][&field].is_string(), "{e}");
    }
    // The colleague is busy then: refused, naming them.
    let starts = chrono::NaiveDateTime::parse_from_str(
        &second["starts_at"].as_str().unwrap()[..16],
        "%Y-%m-%dT%H:%M",
    )
    .unwrap();
    let (ap2, busy_with) = (t.ap2.id.clone(), sixth["id"].as_str().unwrap().to_owned());
    t.app
        .with_db(move |conn| {
            diesel::insert_into(mhtr_pathway::db::schema::ap_bookings::table)
                .values((
                    mhtr_pathway::db::schema::ap_bookings::ap_user_id.eq(&ap2),
                    mhtr_pathway::db::schema::ap_bookings::block_start.eq(starts),
                    mhtr_pathway::db::schema::ap_bookings::session_id.eq(&busy_with),
                ))
                .execute(conn)
                .unwrap();
        })
        .await;
    let (status, e) = c.ap.post(&path, &cover(Some(&t.ap2.id))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["fields"][&field]
            .as_str()
            .unwrap()
            .contains("Other Psych already has an appointment"),
        "{e}"
    );
    let ap2 = t.ap2.id.clone();
    t.app
        .with_db(move |conn| {
            diesel::delete(
                mhtr_pathway::db::schema::ap_bookings::table
                    .filter(mhtr_pathway::db::schema::ap_bookings::ap_user_id.eq(&ap2)),
            )
            .execute(conn)
            .unwrap();
        })
        .await;

    // Free: the session keeps its time and passes to the colleague; the leave lists no more.
    let (status, r) = c.ap.post(&path, &cover(Some(&t.ap2.id))).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r, json!({"moved": 0, "cancelled": 0, "covered": 1}));
    let tr = treatment(&c.ap, &id).await;
    let now = live(&tr)
        .into_iter()
        .find(|s| s["id"] == second["id"])
        .unwrap();
    assert_eq!(now["starts_at"], second["starts_at"]);
    let sid = second["id"].as_str().unwrap().to_owned();
    let (held_by, version): (String, i64) = t
        .app
        .with_db(move |conn| {
            use mhtr_pathway::db::schema::treatment_sessions as ts;
            ts::table
                .find(&sid)
                .select((ts::ap_user_id, ts::version))
                .first(conn)
                .unwrap()
        })
        .await;
    assert_eq!(held_by, t.ap2.id);
    assert_eq!(version, second["version"].as_i64().unwrap() + 1, "{now}");
    let (_, done) =
        c.ap.get(&format!("/api/v1/leave/{}", leave["id"].as_str().unwrap()))
            .await;
    assert!(done["sessions"].as_array().unwrap().is_empty(), "{done}");
    let audited: i64 = t
        .app
        .with_db(|conn| {
            mhtr_pathway::db::schema::audit_events::table
                .filter(mhtr_pathway::db::schema::audit_events::event.eq("session.covered"))
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert_eq!(audited, 1);
}
