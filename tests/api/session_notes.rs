//! Session notes in versions, on SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`): each
//! change kept with who and when, clinical roles only, a change on an old version refused,
//! two at once landing once; through the API and the page.

use diesel::prelude::*;
use mhtr_pathway::db::schema::audit_events;
use reqwest::StatusCode;
use serde_json::json;

use crate::treatment_sessions::{cast, clients, numbered, record, treatment};

#[tokio::test]
async fn notes_keep_every_version_for_clinical_roles_only() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = crate::treatment_sessions::allocated_referral(&t, &c, 91).await;
    crate::treatment_sessions::make_plan(
        &c.ap,
        &id,
        &crate::treatment_sessions::weekly_plan(crate::treatment_sessions::next(
            chrono::Weekday::Mon,
        )),
    )
    .await;
    let first = numbered(&treatment(&c.ap, &id).await, 1);
    crate::treatment_sessions::as_if_held(&t.app, first["id"].as_str().unwrap(), 3).await;
    let first = numbered(&treatment(&c.ap, &id).await, 1);
    let sid = first["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/sessions/{sid}/notes");
    let (status, _) = c.ap.get(&path).await;
    assert_eq!(status, StatusCode::CONFLICT, "not recorded yet");
    let (status, r) = record(
        &c.ap,
        &first,
        json!({"happened": true, "attendance": "attended", "engagement_notes": "Talked about sleep."}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");

    let (status, n) = c.ap.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{n}");
    assert_eq!(n["current_version"], 1);
    assert_eq!(n["can_write"], true);
    assert_eq!(n["versions"][0]["body"], "Talked about sleep.");
    assert_eq!(n["versions"][0]["written_by"], t.ap.id.as_str());

    // Never for the officer; not for a practitioner the referral is not allocated to.
    let (status, _) = c.po.get(&path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let ap2 = t.app.api(&t.ap2).await;
    let (status, _) = ap2.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A new version; one written on an old version, or the same text, is refused.
    let (status, w) =
        c.ap.post(
            &path,
            &json!({"after": 1, "notes": "Talked about sleep and the sleep diary."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    assert_eq!(w["version"], 2);
    let (status, e) =
        c.ap.post(&path, &json!({"after": 1, "notes": "Something else"}))
            .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    let (status, e) =
        c.ap.post(
            &path,
            &json!({"after": 2, "notes": "Talked about sleep and the sleep diary."}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, e) = c.ap.post(&path, &json!({"after": 2, "notes": " "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["fields"]["notes"].is_string());

    // The session shows the current text; the lead reads both versions.
    let tr = treatment(&c.ap, &id).await;
    assert_eq!(
        numbered(&tr, 1)["engagement_notes"],
        "Talked about sleep and the sleep diary."
    );
    assert!(
        numbered(&treatment(&c.po, &id).await, 1)
            .get("engagement_notes")
            .is_none()
    );
    let (_, n) = c.cl.get(&path).await;
    let versions = n["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["body"], "Talked about sleep.");
    assert_eq!(n["can_write"], true);

    // Two new versions at once: one lands.
    let (mine, theirs) = (
        json!({"after": 2, "notes": "Version from the practitioner"}),
        json!({"after": 2, "notes": "Version from the lead"}),
    );
    let (a, b) = tokio::join!(c.ap.post(&path, &mine), c.cl.post(&path, &theirs));
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(
        codes,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let (_, n) = c.ap.get(&path).await;
    assert_eq!(n["current_version"], 3);

    // The timeline entry is clinical: not on the officer's timeline.
    let (_, seen) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    assert!(
        !seen["timeline"]
            .to_string()
            .contains("Notes on the session"),
        "{seen}"
    );
    let (_, seen) = c.ap.get(&format!("/api/v1/referrals/{id}")).await;
    assert!(
        seen["timeline"]
            .to_string()
            .contains("Notes on the session"),
        "{seen}"
    );

    // The page: the versions newest first, the form starting from the current text.
    let ap = t.app.browser(&t.ap).await;
    let page_path = format!("/sessions/{sid}/notes");
    let (_, referral) = ap.get(&format!("/referrals/{id}")).await;
    assert!(referral.contains("Notes<span"), "{referral}");
    let (status, page) = ap.get(&page_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Version 3 (current)") && page.contains("Version 1"),
        "{page}"
    );
    let (status, _, body) = ap.post(&page_path, &[("after", "3"), ("notes", "")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("govuk-error-summary") && body.contains("Enter the notes"),
        "{body}"
    );
    let (status, _, _) = ap
        .post(
            &page_path,
            &[("after", "3"), ("notes", "Fourth, from the page")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let views: i64 = t
        .app
        .with_db(|c| {
            audit_events::table
                .filter(audit_events::event.eq("referral.session_notes_viewed"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(views, 5, "each reading of the notes");
}
