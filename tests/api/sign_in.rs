//! Signing in with a password and an authenticator code, and the refusals along the way.

use chrono::Duration;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{
    assert_redirects_to, error_summary, field_error, input_value, spawn_app, today,
};

#[tokio::test]
async fn a_user_with_the_right_password_and_code_lands_on_the_home_page() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();

    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/code");
    let res = browser.submit_code(&user.code_now()).await;
    assert_redirects_to(&res, "/");

    let home = browser.get_page("/").await;
    assert!(home.contains(&format!("Hello, {}", user.name)));
}

/// A link followed before signing in (from an email, or a page open when the session timed
/// out) is where signing in goes, once; never a page elsewhere.
#[tokio::test]
async fn signing_in_goes_on_to_the_page_asked_for_before_it() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();

    let res = browser.get("/referrals?tab=ended").await;
    assert_redirects_to(&res, "/sign-in");
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/code");
    let res = browser.submit_code(&user.code_now()).await;
    assert_redirects_to(&res, "/referrals?tab=ended");

    // Used once: the next sign-in goes home.
    browser.after_sign_in(&user.name).await;
    browser.sign_out().await;
    app.allow_code_reuse(&user);
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/code");
    let res = browser.submit_code(&user.code_now()).await;
    assert_redirects_to(&res, "/");

    // A page elsewhere is never gone on to (the unit tests try the other refusals).
    browser.after_sign_in(&user.name).await;
    browser.sign_out().await;
    app.allow_code_reuse(&user);
    browser.set_cookie("mhtr-after-sign-in", "//evil.example/referrals");
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/code");
    let res = browser.submit_code(&user.code_now()).await;
    assert_redirects_to(&res, "/");
}

#[tokio::test]
async fn the_email_address_is_matched_whatever_its_case_and_surrounding_spaces() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Councillor, &["Rutland"]);
    let browser = app.new_browser();
    let typed = format!("  {}  ", user.email.to_uppercase());
    let res = browser.submit_password(&typed, &user.password).await;
    assert_redirects_to(&res, "/sign-in/code");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();

    let wrong_password = browser
        .submit_password(&user.email, "not the password at all")
        .await;
    let wrong_status = wrong_password.status();
    let wrong_page = wrong_password.text().await.unwrap();

    let unknown = browser
        .submit_password("nobody@staff.example.org", &user.password)
        .await;
    let unknown_status = unknown.status();
    let unknown_page = unknown.text().await.unwrap();

    assert_eq!(wrong_status, unknown_status);
    assert_eq!(wrong_status, StatusCode::OK, "the form is shown again");
    let message = "Enter a correct email address and password";
    assert_eq!(error_summary(&wrong_page), vec![message]);
    assert_eq!(error_summary(&unknown_page), vec![message]);
    assert_eq!(field_error(&wrong_page, "email").as_deref(), Some(message));
    assert_eq!(
        field_error(&unknown_page, "email").as_deref(),
        Some(message)
    );
    assert!(browser.cookie(app.session_cookie()).is_none(), "no session");
}

#[tokio::test]
async fn empty_fields_are_named_in_the_error_summary_and_the_email_is_kept() {
    let app = spawn_app().await;
    let browser = app.new_browser();

    let res = browser.submit_password("", "").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("<title>Error: Sign in"));
    assert!(page.contains("There is a problem"));
    assert_eq!(
        error_summary(&page),
        vec!["Enter your email address", "Enter your password"]
    );
    assert_eq!(
        field_error(&page, "email").as_deref(),
        Some("Enter your email address")
    );
    assert_eq!(
        field_error(&page, "password").as_deref(),
        Some("Enter your password")
    );

    let res = browser
        .submit_password("ann.lee@staff.example.org", "")
        .await;
    let page = res.text().await.unwrap();
    assert_eq!(error_summary(&page), vec!["Enter your password"]);
    assert_eq!(
        input_value(&page, "email").as_deref(),
        Some("ann.lee@staff.example.org")
    );
    assert_eq!(
        input_value(&page, "password"),
        None,
        "passwords are never echoed"
    );
}

#[tokio::test]
async fn a_user_whose_vetting_has_expired_is_refused_with_the_reason_and_the_date() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let expired = today() - Duration::days(3);
    app.set_vetting_expiry(&user, expired);
    let browser = app.new_browser();

    let res = browser.submit_password(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let expected = format!(
        "Your vetting expired on {}. Ask your administrator to record your renewed vetting before you sign in",
        expired.format("%-d %B %Y")
    );
    assert_eq!(error_summary(&page), vec![expected]);
    assert!(browser.cookie(app.session_cookie()).is_none(), "no session");
}

#[tokio::test]
async fn vetting_that_expires_during_a_session_ends_it_at_the_next_request() {
    let app = spawn_app().await;
    let (browser, user) = app.login_as(Role::AssistantPsychologist).await;
    let cookie = browser.cookie(app.session_cookie()).unwrap();

    app.set_vetting_expiry(&user, today() - Duration::days(1));

    let res = browser.get("/").await;
    assert_redirects_to(&res, "/signed-out?reason=vetting");
    let row = app.session_row(&cookie);
    assert!(row.ended_at.is_some(), "the session is ended on the server");
    assert_eq!(row.ended_reason.as_deref(), Some("vetting expired"));

    let page = browser.get_page("/signed-out?reason=vetting").await;
    assert!(page.contains("Your vetting has expired"));
}

#[tokio::test]
async fn a_user_without_an_authenticator_is_sent_to_set_one_up_after_the_password() {
    let app = spawn_app().await;
    let user = app.create_unenrolled_user(Role::ClinicalLead, &["Leicester"]);
    let browser = app.new_browser();
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/set-up-authenticator");
    // Half-way through sign-in is not signed in.
    assert_redirects_to(&browser.get("/").await, "/sign-in");
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_the_user_stays_at_the_code_step() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    browser.submit_password(&user.email, &user.password).await;

    let right = user.code_now();
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let res = browser.submit_code(&wrong).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        vec![
            "The security code is not correct or has already been used. Enter the newest code from your authenticator app"
        ]
    );
    assert_redirects_to(&browser.get("/").await, "/sign-in");

    let res = browser.submit_code(&right).await;
    assert_redirects_to(&res, "/");
}
