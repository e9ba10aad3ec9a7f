//! Linked DRR and ATR requirements, on the pages and through the API, on SQLite (default) or
//! PostgreSQL (`TEST_DATABASE_URL`): recording them with input kept on a mistake, status
//! changes the rules refuse, activity on the referral's combined timeline in time order with
//! the sessions and status history, the views recorded, and scope on every new route.

use chrono::{Duration, Weekday};
use diesel::prelude::*;
use mhtr_pathway::db::schema::{audit_events, linked_activity, linked_requirements};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::treatment_sessions::{
    Cast, allocated_referral, as_if_held, cast, clients, date_pairs, make_plan, next, numbered,
    pairs, record, today, treatment, weekly_plan, working_day_from,
};

fn day(d: i64) -> String {
    (today() + Duration::days(d)).to_string()
}

fn drr_json() -> Value {
    json!({
        "kind": "drr",
        "provider": "Turning Point Leicester",
        "treatment_director": "Dr Ann Director",
        "key_contact": "Kim Keyworker, 0116 000 0000",
        "start_date": day(-20),
        "end_date": day(345),
        "sequencing": "parallel",
        "status": "active",
    })
}

fn atr_json() -> Value {
    json!({
        "kind": "atr",
        "provider": "Change Grow Live",
        "treatment_director": "Dr Al Cohol",
        "start_date": day(-10),
        "end_date": day(170),
        "sequencing": "mhtr_first",
    })
}

/// The timeline titles of a referral through the API, newest first.
async fn timeline(api: &crate::referrals::helpers::Api, id: &str) -> Vec<(String, String)> {
    let (status, r) = api.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_owned(),
                t["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn position(items: &[(String, String)], title: &str) -> usize {
    items
        .iter()
        .position(|(t, _)| t == title)
        .unwrap_or_else(|| panic!("{title} not on the timeline: {items:?}"))
}

async fn counts(t: &Cast) -> (i64, i64) {
    t.app
        .state
        .db
        .run(|c| {
            Ok((
                linked_requirements::table.count().get_result(c)?,
                linked_activity::table.count().get_result(c)?,
            ))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_probation_officer_records_a_drr_on_the_pages_keeping_input_after_a_mistake() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 60).await;
    let po = t.app.browser(&t.po).await;

    let (status, page) = po.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Linked requirements"));
    assert!(page.contains(&format!("/referrals/{id}/linked-requirements/new")));

    let new = format!("/referrals/{id}/linked-requirements/new");
    let (status, form) = po.get(&new).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Add a linked DRR or ATR"));

    // Nothing given: every required answer is asked for.
    let (status, _, body) = po.post(&new, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("govuk-error-summary"), "{body}");
    assert!(body.contains("Enter the provider"));
    assert!(body.contains("Enter the treatment director"));

    // An end before the start: said so, anchored to the day field, input kept.
    let start = today() - Duration::days(20);
    let mut fields = date_pairs("start_date", start);
    fields.extend(date_pairs("end_date", start - Duration::days(1)));
    fields.extend([
        ("kind".to_owned(), "drr".to_owned()),
        ("provider".to_owned(), "Turning Point Leicester".to_owned()),
        (
            "treatment_director".to_owned(),
            "Dr Ann Director".to_owned(),
        ),
        (
            "key_contact".to_owned(),
            "Kim Keyworker, 0116 000 0000".to_owned(),
        ),
        ("sequencing".to_owned(), "parallel".to_owned()),
        ("status".to_owned(), "active".to_owned()),
    ]);
    let (status, _, body) = po.post(&new, &pairs(&fields)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("The end date must be after the start date"),
        "{body}"
    );
    assert!(
        body.contains("href=\"#end_date-day\""),
        "date error anchored"
    );
    assert!(
        body.contains("value=\"Turning Point Leicester\""),
        "input kept"
    );
    assert_eq!(counts(&t).await, (0, 0), "nothing saved");

    let mut fields: Vec<(String, String)> = fields
        .into_iter()
        .filter(|(k, _)| !k.starts_with("end_date"))
        .collect();
    fields.extend(date_pairs("end_date", start + Duration::days(365)));
    let (status, location, _) = po.post(&new, &pairs(&fields)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/linked-requirements/"), "{location}");

    let (status, page) = po.get(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Drug Rehabilitation Requirement (DRR)"));
    assert!(page.contains("Turning Point Leicester"));
    assert!(page.contains("Court reviews"));
    assert!(page.contains("Change the status"));

    // The referral page lists it, with what the order combines.
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(page.contains(&location));
    assert!(page.contains("With a DRR"));

    // The allocated assistant psychologist enters a court review ahead and an appointment.
    let ap = t.app.browser(&t.ap).await;
    let activity = format!("{location}/activity");
    let (status, form) = ap.get(&activity).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Court review"));
    let mut ahead = date_pairs("on_date", today() + Duration::days(30));
    ahead.push(("kind".to_owned(), "appointment_attended".to_owned()));
    ahead.push(("note".to_owned(), "Keyworker session".to_owned()));
    let (status, _, body) = ap.post(&activity, &pairs(&ahead)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("only a court review can be entered ahead"),
        "{body}"
    );
    assert!(body.contains("Keyworker session"), "input kept");
    ahead.retain(|(k, _)| k != "kind");
    ahead.push(("kind".to_owned(), "court_review".to_owned()));
    let (status, loc, _) = ap.post(&activity, &pairs(&ahead)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc, location);
    let (_, page) = ap.get(&location).await;
    assert!(page.contains("(to come)"), "the review is listed ahead");
    assert!(
        !page.contains("Change the status"),
        "not the assistant psychologist's to change"
    );
}

#[tokio::test]
async fn drrs_and_atrs_are_recorded_and_logged_through_the_api() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 61).await;
    let path = format!("/api/v1/referrals/{id}/linked-requirements");

    let blank = json!({
        "kind": "drr",
        "provider": " ",
        "treatment_director": "",
        "start_date": day(-20),
        "end_date": "",
        "sequencing": "sideways",
    });
    let (status, r) = c.po.post(&path, &blank).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(r["fields"]["provider"], "Enter the provider");
    assert!(r["fields"]["sequencing"].is_string());

    let (status, drr) = c.po.post(&path, &drr_json()).await;
    assert_eq!(status, StatusCode::CREATED, "{drr}");
    assert_eq!(drr["status"], "active");
    assert_eq!(drr["short"], "DRR");
    let (status, atr) = c.cl.post(&path, &atr_json()).await;
    assert_eq!(status, StatusCode::CREATED, "{atr}");
    assert_eq!(atr["status"], "proposed");
    assert_eq!(atr["next_statuses"], json!(["active", "revoked"]));

    let (status, list) = c.ap.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["requirements"].as_array().unwrap().len(), 2);
    assert_eq!(list["combination"], "drr", "the ATR is only proposed");

    // Activity through the API, by the allocated assistant psychologist.
    let drr_id = drr["id"].as_str().unwrap();
    let (status, a) =
        c.ap.post(
            &format!("/api/v1/linked-requirements/{drr_id}/activity"),
            &json!({"on_date": day(-1), "kind": "appointment_missed", "note": "No contact"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(a["entered_via"], "api");
    assert_eq!(a["entered_by"], "Ash Psych");
    let atr_id = atr["id"].as_str().unwrap();
    let (status, r) =
        c.cl.post(
            &format!("/api/v1/linked-requirements/{atr_id}/activity"),
            &json!({"on_date": day(20), "kind": "court_review"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(r["fields"]["kind"], "Court reviews are for DRRs only");

    let (status, d) =
        c.po.get(&format!("/api/v1/linked-requirements/{drr_id}"))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["activity"][0]["kind"], "appointment_missed");
    assert_eq!(d["can_change"], true);

    // The assistant psychologist may log, not change.
    let (status, _) =
        c.ap.post(
            &format!("/api/v1/linked-requirements/{drr_id}/status"),
            &json!({"status": "completed"}),
        )
        .await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    let (status, _) = c.ap.post(&path, &atr_json()).await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    let (_, d) =
        c.po.get(&format!("/api/v1/linked-requirements/{drr_id}"))
            .await;
    assert_eq!(d["requirement"]["status"], "active");
}

#[tokio::test]
async fn status_changes_outside_the_rules_are_refused() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 62).await;
    let (_, atr) =
        c.po.post(
            &format!("/api/v1/referrals/{id}/linked-requirements"),
            &atr_json(),
        )
        .await;
    let atr_id = atr["id"].as_str().unwrap();
    let status_path = format!("/api/v1/linked-requirements/{atr_id}/status");

    let (status, r) =
        c.po.post(&status_path, &json!({"status": "completed"}))
            .await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    assert_eq!(
        r["message"],
        "An ATR that is proposed can become active or revoked, not completed"
    );

    // The page says the same on the form.
    let po = t.app.browser(&t.po).await;
    let page_path = format!("/linked-requirements/{atr_id}/status");
    let (status, form) = po.get(&page_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"active\""));
    let (status, _, body) = po.post(&page_path, &[("status", "completed")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("govuk-error-summary"));
    assert!(
        body.contains("can become active or revoked, not completed"),
        "{body}"
    );

    let (status, _, _) = po
        .post(&page_path, &[("status", "active"), ("note", "Order made")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, r) =
        c.cl.post(&status_path, &json!({"status": "completed"}))
            .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "completed");
    let (status, r) = c.cl.post(&status_path, &json!({"status": "revoked"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    assert_eq!(
        r["message"],
        "This ATR is completed: its status cannot change"
    );

    // Each change is on the requirement's log, and the order counts as combined.
    let (_, d) =
        c.po.get(&format!("/api/v1/linked-requirements/{atr_id}"))
            .await;
    let notes: Vec<&str> = d["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["note"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&"Proposed to active. Order made"),
        "{notes:?}"
    );
    assert!(notes.contains(&"Active to completed"), "{notes:?}");
    let (_, list) =
        c.po.get(&format!("/api/v1/referrals/{id}/linked-requirements"))
            .await;
    assert_eq!(list["combination"], "atr");
}

#[tokio::test]
async fn the_combined_timeline_interleaves_linked_activity_with_sessions_and_status_history() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 63).await;

    let (status, drr) =
        c.po.post(
            &format!("/api/v1/referrals/{id}/linked-requirements"),
            &drr_json(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let drr_id = drr["id"].as_str().unwrap().to_owned();
    make_plan(
        &c.ap,
        &id,
        &weekly_plan(working_day_from(next(Weekday::Wed))),
    )
    .await;
    let (status, _) =
        c.ap.post(
            &format!("/api/v1/linked-requirements/{drr_id}/activity"),
            &json!({"on_date": day(-2), "kind": "appointment_attended", "note": "Script reviewed"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let s1 = numbered(&treatment(&c.ap, &id).await, 1);
    as_if_held(&t.app, s1["id"].as_str().unwrap(), 1).await;
    let s1 = numbered(&treatment(&c.ap, &id).await, 1);
    let (status, r) = record(
        &c.ap,
        &s1,
        json!({"happened": true, "attendance": "attended"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, _) =
        c.cl.post(
            &format!("/api/v1/referrals/{id}/linked-requirements"),
            &atr_json(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let items = timeline(&c.po, &id).await;
    let order = [
        "ATR: requirement recorded",
        "Session recorded",
        "DRR: activity recorded",
        "Session plan made",
        "DRR: requirement recorded",
        "Assistant psychologist allocated",
    ];
    let at: Vec<usize> = order.iter().map(|title| position(&items, title)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "newest first, sources interleaved in time: {items:?}"
    );
    assert!(
        position(&items, "In treatment") < position(&items, "DRR: activity recorded"),
        "{items:?}"
    );
    for (title, source) in &items {
        let expected = match title.split_once(':') {
            Some(("DRR", _)) => "drr",
            Some(("ATR", _)) => "atr",
            _ => "mhtr",
        };
        assert_eq!(source, expected, "{title}");
    }

    // The referral page filters the timeline by source.
    let po = t.app.browser(&t.po).await;
    let (_, all) = po.get(&format!("/referrals/{id}")).await;
    assert!(all.contains("DRR: activity recorded") && all.contains("Session plan made"));
    assert!(
        all.contains("Appointment attended on"),
        "the activity in the description"
    );
    let (_, drr_only) = po.get(&format!("/referrals/{id}?timeline=drr")).await;
    assert!(drr_only.contains("DRR: activity recorded"));
    assert!(!drr_only.contains("Session plan made"));
    assert!(!drr_only.contains("ATR: requirement recorded"));
    let (_, mhtr_only) = po.get(&format!("/referrals/{id}?timeline=mhtr")).await;
    assert!(mhtr_only.contains("Session plan made"));
    assert!(!mhtr_only.contains("DRR: activity recorded"));
}

#[tokio::test]
async fn people_outside_the_referral_get_nothing_from_the_linked_requirement_routes() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 64).await;
    let (_, drr) =
        c.po.post(
            &format!("/api/v1/referrals/{id}/linked-requirements"),
            &drr_json(),
        )
        .await;
    let lid = drr["id"].as_str().unwrap().to_owned();
    let (status, _) =
        c.po.post(
            &format!("/api/v1/linked-requirements/{lid}/activity"),
            &json!({"on_date": day(-1), "kind": "review_held"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = counts(&t).await;
    assert_eq!(before, (1, 1));

    let (a, b) = (t.app.area_a.clone(), t.app.area_b.clone());
    let po_b = t
        .app
        .create_user(Role::ProbationOfficer, "Bea Elsewhere", &[&b])
        .await;
    let po_other = t
        .app
        .create_user(Role::ProbationOfficer, "Oli Other", &[&a])
        .await;
    let outsiders = [&po_b, &po_other, &t.ap2, &t.cl_b, &t.councillor, &t.admin];
    let refused = |s: StatusCode| s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND;

    for who in outsiders {
        let api = t.app.api(who).await;
        for path in [
            format!("/api/v1/referrals/{id}/linked-requirements"),
            format!("/api/v1/linked-requirements/{lid}"),
        ] {
            let (status, body) = api.get(&path).await;
            assert!(refused(status), "{} GET {path}: {status} {body}", who.name);
        }
        for (path, body) in [
            (
                format!("/api/v1/referrals/{id}/linked-requirements"),
                atr_json(),
            ),
            (
                format!("/api/v1/linked-requirements/{lid}/status"),
                json!({"status": "revoked"}),
            ),
            (
                format!("/api/v1/linked-requirements/{lid}/activity"),
                json!({"on_date": day(-1), "kind": "note", "note": "Not mine to write"}),
            ),
        ] {
            let (status, r) = api.post(&path, &body).await;
            assert!(refused(status), "{} POST {path}: {status} {r}", who.name);
        }

        let page = t.app.browser(who).await;
        for path in [
            format!("/referrals/{id}/linked-requirements/new"),
            format!("/linked-requirements/{lid}"),
            format!("/linked-requirements/{lid}/status"),
            format!("/linked-requirements/{lid}/activity"),
        ] {
            let (status, _) = page.get(&path).await;
            assert!(refused(status), "{} GET {path}: {status}", who.name);
        }
        let mut activity = date_pairs("on_date", today() - Duration::days(1));
        activity.extend([
            ("kind".to_owned(), "note".to_owned()),
            ("note".to_owned(), "Not mine to write".to_owned()),
        ]);
        let mut new = date_pairs("start_date", today());
        new.extend(date_pairs("end_date", today() + Duration::days(100)));
        new.extend([
            ("kind".to_owned(), "atr".to_owned()),
            ("provider".to_owned(), "Somewhere".to_owned()),
            ("treatment_director".to_owned(), "Someone".to_owned()),
            ("sequencing".to_owned(), "parallel".to_owned()),
        ]);
        for (path, form) in [
            (format!("/referrals/{id}/linked-requirements/new"), new),
            (
                format!("/linked-requirements/{lid}/status"),
                vec![("status".to_owned(), "revoked".to_owned())],
            ),
            (format!("/linked-requirements/{lid}/activity"), activity),
        ] {
            let (status, _, _) = page.post(&path, &pairs(&form)).await;
            assert!(refused(status), "{} POST {path}: {status}", who.name);
        }
    }

    assert_eq!(counts(&t).await, before, "nothing changed");
    let (_, d) =
        c.po.get(&format!("/api/v1/linked-requirements/{lid}"))
            .await;
    assert_eq!(d["requirement"]["status"], "active");
}

#[tokio::test]
async fn reading_a_linked_requirement_is_recorded_as_a_consultation() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 65).await;
    let (_, drr) =
        c.po.post(
            &format!("/api/v1/referrals/{id}/linked-requirements"),
            &drr_json(),
        )
        .await;
    let lid = drr["id"].as_str().unwrap().to_owned();

    let (status, _) =
        c.cl.get(&format!("/api/v1/linked-requirements/{lid}"))
            .await;
    assert_eq!(status, StatusCode::OK);
    let cl = t.app.browser(&t.cl).await;
    let (status, _) = cl.get(&format!("/linked-requirements/{lid}")).await;
    assert_eq!(status, StatusCode::OK);

    let (rid, who) = (id.clone(), t.cl.id.clone());
    let views: Vec<String> = t
        .app
        .state
        .db
        .run(move |c| {
            Ok(audit_events::table
                .filter(audit_events::action.eq("consultation"))
                .filter(audit_events::event.eq("linked.viewed"))
                .filter(audit_events::record_id.eq(rid))
                .filter(audit_events::actor_user_id.eq(who))
                .select(audit_events::details)
                .load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(views.len(), 2, "API and page");
    assert!(views.iter().all(|d| d.contains(&lid)), "{views:?}");
}
