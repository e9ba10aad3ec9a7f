//! The session cache (`security.session_cache_seconds`): page views may rely on a session
//! read moments ago, but anything changed through the service takes effect at the next
//! request, a state change is always checked against the database, and a change made
//! elsewhere (another process) is seen once the cache time has passed.

use diesel::prelude::*;
use mhtr_pathway::db::schema::sessions;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, assert_redirects_to, spawn_app_with};

#[tokio::test]
async fn changes_made_through_the_service_take_effect_at_once_with_the_cache_on() {
    let app = spawn_app_with(|s| s.security.session_cache_seconds = 60).await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browsers: Vec<Browser> = (0..3).map(|_| app.new_browser()).collect();
    for b in &browsers {
        app.allow_code_reuse(&user);
        b.sign_in(&user).await;
        // Read twice: the second view comes from the cache.
        b.get_page("/").await;
        b.get_page("/").await;
    }

    let res = browsers[0].post("/account/sessions/end-others", &[]).await;
    assert_redirects_to(&res, "/account");
    // The message is shown once, not again from a cached copy of the session.
    assert!(
        browsers[0]
            .get_page("/account")
            .await
            .contains("2 other sessions ended")
    );
    assert!(
        !browsers[0]
            .get_page("/account")
            .await
            .contains("2 other sessions ended")
    );
    assert_redirects_to(&browsers[1].get("/").await, "/sign-in");
    assert_redirects_to(&browsers[2].get("/").await, "/sign-in");

    let cookie = browsers[0].cookie(app.session_cookie()).unwrap();
    browsers[0].get_page("/").await;
    assert_redirects_to(&browsers[0].sign_out().await, "/signed-out");
    let replay = app.new_browser();
    replay.set_cookie(app.session_cookie(), &cookie);
    assert_redirects_to(&replay.get("/").await, "/sign-in");
}

/// Ends a session in the database directly, as another process would.
fn end_elsewhere(app: &crate::helpers::TestApp, cookie: &str) {
    let id = app.session_row(cookie).id;
    app.with_db(|c| {
        diesel::update(sessions::table.find(&id))
            .set(sessions::ended_at.eq(mhtr_pathway::clock::now()))
            .execute(c)
            .unwrap()
    });
}

#[tokio::test]
async fn a_change_made_elsewhere_is_seen_once_the_cache_time_has_passed() {
    const CACHE: u64 = 5;
    let app = spawn_app_with(|s| s.security.session_cache_seconds = CACHE as i64).await;
    let (browser, _) = app.login_as(Role::ClinicalLead).await;
    let cookie = browser.cookie(app.session_cookie()).unwrap();
    let read_at = std::time::Instant::now();
    browser.get_page("/").await;

    end_elsewhere(&app, &cookie);
    // Within the cache time a page view may still rely on the session read before (checked
    // only while well inside it, so a slow machine cannot make this fail)...
    let res = browser.get("/").await;
    if read_at.elapsed() < std::time::Duration::from_secs(CACHE - 2) {
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "the cached session was not used"
        );
    }
    // ...and once it has passed the ended session is refused.
    let wait =
        std::time::Duration::from_millis(CACHE * 1000 + 200).saturating_sub(read_at.elapsed());
    tokio::time::sleep(wait).await;
    assert_redirects_to(&browser.get("/").await, "/sign-in");
}

#[tokio::test]
async fn a_state_change_is_always_checked_against_the_database() {
    let app = spawn_app_with(|s| s.security.session_cache_seconds = 60).await;
    let (browser, _) = app.login_as(Role::AssistantPsychologist).await;
    let cookie = browser.cookie(app.session_cookie()).unwrap();
    browser.get_page("/").await;
    browser.get_page("/").await;

    end_elsewhere(&app, &cookie);
    let res = browser
        .client
        .post(browser.url("/session/keep-alive"))
        .header("X-CSRF-Token", browser.csrf())
        .send()
        .await
        .unwrap();
    assert_ne!(
        res.status(),
        StatusCode::NO_CONTENT,
        "an ended session was kept alive"
    );
    assert_redirects_to(&browser.get("/").await, "/sign-in");
}
