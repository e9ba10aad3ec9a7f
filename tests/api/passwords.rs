//! The password policy as a user meets it: setting a password from an invitation link, and
//! changing your own.

use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{
    Browser, Invitation, TestApp, assert_redirects_to, csrf_from_html, error_summary, field_error,
    spawn_app,
};

async fn invited(app: &TestApp) -> Invitation {
    let (admin, _) = app.login_as(Role::Admin).await;
    let invitation = app.invite_through_admin_pages(&admin).await;
    assert!(app.user_row(&invitation.user_id).password_hash.is_none());
    invitation
}

/// Sends a new password (and its confirmation) on the invitation page.
async fn choose_password(browser: &Browser, link: &str, password: &str) -> reqwest::Response {
    let page = browser.get_page(link).await;
    assert!(page.contains("Set up your account"));
    browser
        .post_form(
            link,
            &[
                ("csrf_token", &csrf_from_html(&page)),
                ("password", password),
                ("confirm_password", password),
            ],
        )
        .await
}

#[tokio::test]
async fn an_invited_user_must_choose_a_long_password_that_is_not_on_the_breached_list() {
    let app = spawn_app().await;
    let invitation = invited(&app).await;
    let browser = app.new_browser();

    let res = choose_password(&browser, &invitation.path, "1q2w3e4r5t6y7u8i9o0p").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        field_error(&page, "password").as_deref(),
        Some("This password has appeared in a data breach. Choose a different password")
    );

    let fourteen = "quartz fig yel";
    assert_eq!(fourteen.chars().count(), 14);
    let res = choose_password(&browser, &invitation.path, fourteen).await;
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        vec!["Password must be 15 characters or more"]
    );
    assert!(app.user_row(&invitation.user_id).password_hash.is_none());

    let fifteen = "quartz fig yelp";
    assert_eq!(fifteen.chars().count(), 15);
    let res = choose_password(&browser, &invitation.path, fifteen).await;
    assert_redirects_to(&res, "/sign-in/set-up-authenticator");
    assert!(app.user_row(&invitation.user_id).password_hash.is_some());
}

#[tokio::test]
async fn the_confirmation_must_match() {
    let app = spawn_app().await;
    let invitation = invited(&app).await;
    let browser = app.new_browser();
    let page = browser.get_page(&invitation.path).await;
    let res = browser
        .post_form(
            &invitation.path,
            &[
                ("csrf_token", &csrf_from_html(&page)),
                ("password", "quartz fig yelp"),
                ("confirm_password", "quartz fig yelq"),
            ],
        )
        .await;
    let page = res.text().await.unwrap();
    assert_eq!(error_summary(&page), vec!["The passwords do not match"]);
}

#[tokio::test]
async fn a_password_with_leading_spaces_is_kept_exactly_as_typed() {
    let app = spawn_app().await;
    let invitation = invited(&app).await;
    let password = "   velvet quarry lagoon";
    let res = choose_password(&app.new_browser(), &invitation.path, password).await;
    assert_redirects_to(&res, "/sign-in/set-up-authenticator");

    let res = app
        .new_browser()
        .submit_password(&invitation.email, password)
        .await;
    assert_redirects_to(&res, "/sign-in/set-up-authenticator");

    let res = app
        .new_browser()
        .submit_password(&invitation.email, password.trim_start())
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        error_summary(&res.text().await.unwrap()),
        vec!["Enter a correct email address and password"]
    );
}

#[tokio::test]
async fn an_invitation_link_works_once() {
    let app = spawn_app().await;
    let invitation = invited(&app).await;
    let res = choose_password(&app.new_browser(), &invitation.path, "orbit gale musk").await;
    assert_redirects_to(&res, "/sign-in/set-up-authenticator");
    let page = app.new_browser().get_page(&invitation.path).await;
    assert!(page.contains("This link has expired or has already been used"));
}

#[tokio::test]
async fn changing_your_password_needs_the_current_one() {
    let app = spawn_app().await;
    let (browser, user) = app.login_as(Role::ProbationOfficer).await;
    let hash_before = app.user_row(&user.id).password_hash;
    let new = "plum tiger oxen harbour";

    let res = browser
        .post(
            "/account/password",
            &[
                ("current_password", ""),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(error_summary(&page), vec!["Enter your current password"]);

    let res = browser
        .post(
            "/account/password",
            &[
                ("current_password", "not my password at all"),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        field_error(&page, "current_password").as_deref(),
        Some("Your current password is not correct")
    );
    assert_eq!(
        app.user_row(&user.id).password_hash,
        hash_before,
        "unchanged"
    );

    let res = browser
        .post(
            "/account/password",
            &[
                ("current_password", user.password.as_str()),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_redirects_to(&res, "/account");
    assert_ne!(app.user_row(&user.id).password_hash, hash_before);

    // The old password no longer signs in; the new one does.
    let res = app
        .new_browser()
        .submit_password(&user.email, &user.password)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.new_browser().submit_password(&user.email, new).await;
    assert_redirects_to(&res, "/sign-in/code");
}

#[tokio::test]
async fn changing_your_password_signs_you_out_everywhere_else() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Councillor, &["Rutland"]);
    let here = app.new_browser();
    here.sign_in(&user).await;
    app.allow_code_reuse(&user);
    let elsewhere = app.new_browser();
    elsewhere.sign_in(&user).await;

    let new = "plum tiger oxen harbour";
    let res = here
        .post(
            "/account/password",
            &[
                ("current_password", user.password.as_str()),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_redirects_to(&res, "/account");
    here.get_page("/").await;
    assert_redirects_to(&elsewhere.get("/").await, "/sign-in");
}

#[tokio::test]
async fn a_password_reset_link_sets_a_new_password_and_still_asks_for_the_code() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let their_browser = app.new_browser();
    their_browser.sign_in(&user).await;

    let res = admin
        .post(&format!("/admin/users/{}/reset-password", user.id), &[])
        .await;
    assert_redirects_to(&res, &format!("/admin/users/{}", user.id));
    let link = app.invitation_sent_to(&user.email);
    // The old password keeps working until the link is used.
    their_browser.get_page("/").await;

    let browser = app.new_browser();
    let page = browser.get_page(&link).await;
    assert!(page.contains("Reset your password"));
    let new = "orbit gale musk lantern";
    let res = browser
        .post_form(
            &link,
            &[
                ("csrf_token", &csrf_from_html(&page)),
                ("password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_redirects_to(&res, "/sign-in/code");
    assert_redirects_to(&browser.get("/").await, "/sign-in");
    app.allow_code_reuse(&user);
    assert_redirects_to(&browser.submit_code(&user.code_now()).await, "/");

    // The new password ended every other session.
    assert_redirects_to(&their_browser.get("/").await, "/sign-in");
    let res = app
        .new_browser()
        .submit_password(&user.email, &user.password)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the old password is gone");
}

#[tokio::test]
async fn an_expired_invitation_link_is_refused() {
    let app = spawn_app().await;
    let invitation = invited(&app).await;
    app.with_db(|c| {
        use diesel::prelude::*;
        use mhtr_pathway::db::schema::invitations;
        diesel::update(invitations::table.filter(invitations::user_id.eq(&invitation.user_id)))
            .set(invitations::expires_at.eq(mhtr_pathway::clock::now()))
            .execute(c)
            .unwrap();
    });
    let browser = app.new_browser();
    let page = browser.get_page(&invitation.path).await;
    assert!(page.contains("This link has expired or has already been used"));
    let res = browser
        .post_form(
            &invitation.path,
            &[
                ("csrf_token", &browser.cookie("mhtr-presession").unwrap()),
                ("password", "orbit gale musk"),
                ("confirm_password", "orbit gale musk"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("This link has expired"));
    assert!(app.user_row(&invitation.user_id).password_hash.is_none());
}
