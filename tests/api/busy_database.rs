//! A busy database: another process holds SQLite's write lock for longer than the service's
//! busy_timeout while a user submits a form and an API client posts a referral. Both get a
//! clear "busy, try again" answer (503 with Retry-After), not a crash; nothing is half
//! written; and the same action works once the lock is gone.
//!
//! SQLite only: PostgreSQL writers wait on row locks rather than on one file lock.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use mhtr_pathway::db::schema::{referral_drafts, referrals};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, unescape};

#[tokio::test]
async fn a_locked_database_answers_busy_and_try_again_and_keeps_nothing_half_written() {
    let app = spawn_app().await;
    if app.db.backend() != "sqlite" {
        return;
    }
    let (browser, user) = app.login_as(Role::ProbationOfficer).await;
    let uid = user.id.clone();
    let (token, _) =
        app.with_db(|c| mhtr_pathway::auth::tokens::issue(c, &uid, 1).expect("a token"));
    let area = app.area_id("Rutland");
    let body = crate::referrals::probation_json(&area, "Lock", "Holder", Some("L123456"));
    let counts = || {
        app.with_db(|c| {
            let drafts: i64 = referral_drafts::table.count().get_result(c).unwrap();
            let made: i64 = referrals::table.count().get_result(c).unwrap();
            (drafts, made)
        })
    };
    assert_eq!(counts(), (0, 0));

    // Another process takes the write lock and keeps it past the busy timeout (5 s).
    let path = app.db.url().trim_start_matches("sqlite://").to_owned();
    let mut other = diesel::SqliteConnection::establish(&path).expect("open the database");
    other
        .batch_execute("BEGIN IMMEDIATE")
        .expect("take the write lock");

    let started = Instant::now();
    let api = reqwest::Client::new();
    let (page, json) = tokio::join!(
        browser.post("/referrals/new", &[]),
        api.post(format!("{}/api/v1/referrals", app.address))
            .bearer_auth(&token)
            .json(&body)
            .send()
    );
    let waited = started.elapsed();
    other.batch_execute("ROLLBACK").expect("release the lock");
    drop(other);
    assert!(
        waited >= Duration::from_secs(4),
        "the service waited for the lock first ({waited:?})"
    );

    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.headers().get("retry-after").is_some());
    let html = unescape(&page.text().await.unwrap());
    assert!(html.contains("Sorry, the service is busy"), "{html}");
    assert!(html.contains("nothing was saved"), "{html}");
    assert!(html.contains("try again"), "{html}");

    let json = json.expect("an answer");
    assert_eq!(json.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(json.headers().get("retry-after").is_some());
    let answer: Value = json.json().await.unwrap();
    assert_eq!(answer["error"], "unavailable", "{answer}");

    assert_eq!(counts(), (0, 0), "nothing half written");

    // Once the lock is gone, the same actions work.
    let res = browser.post("/referrals/new", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = api
        .post(format!("{}/api/v1/referrals", app.address))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(counts(), (1, 1));
}
