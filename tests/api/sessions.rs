//! Server-side sessions: rotation at every step of sign-in, idle and absolute timeouts,
//! keep-alive, sign-out, the "where you are signed in" list and the per-user limit.

use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{
    Browser, TestApp, assert_redirects_to, csrf_from_html, set_cookie_value, spawn_app, unescape,
};

/// A browser holding nothing but the given session cookie.
fn replaying(app: &TestApp, cookie: &str) -> Browser {
    let b = app.new_browser();
    b.set_cookie(app.session_cookie(), cookie);
    b
}

#[tokio::test]
async fn the_session_cookie_changes_after_the_password_and_after_the_code() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    let name = app.session_cookie();

    // A value planted before sign-in (session fixation) is never adopted.
    browser.set_cookie(name, "planted-by-someone-else");
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/code");
    let pending = set_cookie_value(&res, name).expect("the password step sets a session cookie");
    assert_ne!(pending, "planted-by-someone-else");

    let res = browser.submit_code(&user.code_now()).await;
    assert_redirects_to(&res, "/");
    let full = set_cookie_value(&res, name).expect("the code step sets a new session cookie");
    assert_ne!(full, pending);
    assert_eq!(browser.cookie(name).as_deref(), Some(full.as_str()));
    browser.get_page("/").await;

    // The half-way cookie is dead: it neither reaches the code page nor any page.
    let old = replaying(&app, &pending);
    assert_redirects_to(&old.get("/sign-in/code").await, "/sign-in");
    assert_redirects_to(&old.get("/").await, "/sign-in");
    let row = app.session_row(&pending);
    assert!(row.ended_at.is_some());
    assert_eq!(row.ended_reason.as_deref(), Some("rotated"));
}

#[tokio::test]
async fn changing_your_password_rotates_the_session() {
    let app = spawn_app().await;
    let (browser, user) = app.login_as(Role::ClinicalLead).await;
    let name = app.session_cookie();
    let before = browser.cookie(name).unwrap();

    let res = browser
        .post(
            "/account/password",
            &[
                ("current_password", user.password.as_str()),
                ("new_password", "ember walrus trellis pocket"),
                ("confirm_password", "ember walrus trellis pocket"),
            ],
        )
        .await;
    assert_redirects_to(&res, "/account");
    let after = set_cookie_value(&res, name).expect("a new session cookie");
    assert_ne!(after, before);

    let page = browser.get_page("/account").await;
    assert!(page.contains("Your password has been changed"));
    assert_redirects_to(&replaying(&app, &before).get("/").await, "/sign-in");

    // The new session has a new CSRF token too; the old one no longer works.
    let old_token = browser.csrf();
    browser.refresh_csrf().await;
    assert_ne!(browser.csrf(), old_token);
    let res = browser
        .post_form("/sign-out", &[("csrf_token", old_token.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_redirects_to(&browser.sign_out().await, "/signed-out");
}

#[tokio::test]
async fn an_idle_session_ends_on_the_server_after_20_minutes() {
    let app = spawn_app().await;
    let (browser, _) = app.login_as(Role::ProbationOfficer).await;
    let cookie = browser.cookie(app.session_cookie()).unwrap();

    app.idle_session(&cookie, 19);
    browser.get_page("/").await;
    assert!(
        app.session_row(&cookie).ended_at.is_none(),
        "19 minutes is fine"
    );

    app.idle_session(&cookie, 20);
    assert_redirects_to(&browser.get("/").await, "/signed-out?reason=timeout");
    let row = app.session_row(&cookie);
    assert!(row.ended_at.is_some());
    assert_eq!(row.ended_reason.as_deref(), Some("idle timeout"));

    let page = browser.get_page("/signed-out?reason=timeout").await;
    assert!(page.contains("did not do anything for 20 minutes"));
    // Coming back later does not revive it.
    assert_redirects_to(&replaying(&app, &cookie).get("/").await, "/sign-in");
}

#[tokio::test]
async fn a_session_ends_after_8_hours_however_busy() {
    let app = spawn_app().await;
    let (browser, _) = app.login_as(Role::ProbationOfficer).await;
    let cookie = browser.cookie(app.session_cookie()).unwrap();

    app.start_session_hours_ago(&cookie, 7);
    browser.get_page("/").await;

    app.start_session_hours_ago(&cookie, 8);
    assert_redirects_to(&browser.get("/").await, "/sign-in");
    let row = app.session_row(&cookie);
    assert!(row.ended_at.is_some());
    assert_eq!(row.ended_reason.as_deref(), Some("absolute timeout"));
}

#[tokio::test]
async fn keep_alive_answers_204_and_extends_the_session() {
    let app = spawn_app().await;
    let (browser, _) = app.login_as(Role::Councillor).await;
    let cookie = browser.cookie(app.session_cookie()).unwrap();

    app.idle_session(&cookie, 19);
    let res = browser
        .client
        .post(browser.url("/session/keep-alive"))
        .header("X-CSRF-Token", browser.csrf())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let seen = app.session_row(&cookie).last_seen_at;
    assert!(
        mhtr_pathway::clock::now() - seen < chrono::Duration::minutes(1),
        "last activity is now"
    );

    // The session lives on.
    browser.get_page("/").await;

    // Without the token it is refused like any other state change.
    let res = browser
        .client
        .post(browser.url("/session/keep-alive"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn signing_out_clears_the_site_and_the_old_cookie_is_refused_afterwards() {
    let app = spawn_app().await;
    let (browser, _) = app.login_as(Role::ProbationOfficer).await;
    let cookie = browser.cookie(app.session_cookie()).unwrap();

    let res = browser.sign_out().await;
    assert_redirects_to(&res, "/signed-out");
    let clear = res
        .headers()
        .get("clear-site-data")
        .expect("Clear-Site-Data is sent")
        .to_str()
        .unwrap();
    assert!(clear.contains("\"cookies\""));
    assert!(clear.contains("\"storage\""));
    assert!(
        browser.cookie(app.session_cookie()).is_none(),
        "cookie removed"
    );

    let row = app.session_row(&cookie);
    assert_eq!(row.ended_reason.as_deref(), Some("signed out"));
    assert_redirects_to(&replaying(&app, &cookie).get("/").await, "/sign-in");
    assert_redirects_to(&replaying(&app, &cookie).get("/account").await, "/sign-in");
}

/// The `/account/sessions/{id}/end` forms on the account page.
fn end_session_paths(page: &str) -> Vec<String> {
    let page = unescape(page);
    page.match_indices("action=\"/account/sessions/")
        .filter_map(|(i, _)| {
            let start = i + "action=\"".len();
            let end = start + page[start..].find('"')?;
            let path = &page[start..end];
            path.ends_with("/end").then(|| path.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_user_can_end_their_other_session_from_the_account_page() {
    let app = spawn_app().await;
    let user = app.create_user(Role::AssistantPsychologist, &["Leicester"]);
    let office = app.new_browser();
    office.sign_in(&user).await;
    app.allow_code_reuse(&user);
    let laptop = app.new_browser();
    laptop.sign_in(&user).await;

    let page = office.get_page("/account").await;
    assert!(page.contains("This session"));
    let paths = end_session_paths(&page);
    assert_eq!(paths.len(), 1, "one other session to end, not this one");
    let res = office.post(&paths[0], &[]).await;
    assert_redirects_to(&res, "/account");
    assert!(office.get_page("/account").await.contains("Session ended"));

    assert_redirects_to(&laptop.get("/").await, "/sign-in");
    office.get_page("/").await;

    // A session cannot be ended twice, nor someone else's guessed.
    let res = office.post(&paths[0], &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_out_everywhere_else_ends_every_other_session_and_keeps_this_one() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browsers: Vec<Browser> = (0..3).map(|_| app.new_browser()).collect();
    for b in &browsers {
        app.allow_code_reuse(&user);
        b.sign_in(&user).await;
    }

    let res = browsers[0].post("/account/sessions/end-others", &[]).await;
    assert_redirects_to(&res, "/account");
    assert!(
        browsers[0]
            .get_page("/account")
            .await
            .contains("2 other sessions ended")
    );
    assert_redirects_to(&browsers[1].get("/").await, "/sign-in");
    assert_redirects_to(&browsers[2].get("/").await, "/sign-in");
    browsers[0].get_page("/").await;
}

#[tokio::test]
async fn a_fourth_sign_in_ends_the_oldest_of_three_sessions() {
    let app = spawn_app().await;
    assert_eq!(app.state.settings.security.max_sessions_per_user, 3);
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browsers: Vec<Browser> = (0..4).map(|_| app.new_browser()).collect();
    for b in &browsers {
        app.allow_code_reuse(&user);
        b.sign_in(&user).await;
    }

    assert_redirects_to(&browsers[0].get("/").await, "/sign-in");
    for b in &browsers[1..] {
        b.get_page("/").await;
    }
    let cookie = browsers[1].cookie(app.session_cookie()).unwrap();
    assert!(app.session_row(&cookie).ended_at.is_none());
}

#[tokio::test]
async fn the_sign_in_page_gives_each_visitor_their_own_pre_session_token() {
    let app = spawn_app().await;
    let a = csrf_from_html(&app.new_browser().get_page("/sign-in").await);
    let b = csrf_from_html(&app.new_browser().get_page("/sign-in").await);
    assert_ne!(a, b);
    assert!(a.len() >= 32);
}

#[tokio::test]
async fn nobody_can_end_someone_elses_session() {
    let app = spawn_app().await;
    let (mallory, _) = app.login_as(Role::ProbationOfficer).await;
    let (victim, _) = app.login_as(Role::ProbationOfficer).await;
    let victim_cookie = victim.cookie(app.session_cookie()).unwrap();
    let public_id =
        mhtr_pathway::auth::session::public_id_of(&mhtr_pathway::ids::sha256_hex(&victim_cookie));

    let res = mallory
        .post(&format!("/account/sessions/{public_id}/end"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    victim.get_page("/").await;
}

#[tokio::test]
async fn a_half_finished_sign_in_expires_after_five_minutes() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    browser.submit_password(&user.email, &user.password).await;
    let pending = browser.cookie(app.session_cookie()).unwrap();
    let row = app.session_row(&pending);
    assert_eq!(
        row.expires_at - row.created_at,
        chrono::Duration::minutes(app.state.settings.security.pending_mfa_minutes)
    );

    app.with_db(|c| {
        use diesel::prelude::*;
        use mhtr_pathway::db::schema::sessions;
        diesel::update(sessions::table.find(&row.id))
            .set(sessions::expires_at.eq(mhtr_pathway::clock::now() - chrono::Duration::seconds(1)))
            .execute(c)
            .unwrap();
    });
    assert_redirects_to(&browser.get("/sign-in/code").await, "/sign-in");
    assert!(app.session_row(&pending).ended_at.is_some());
}
