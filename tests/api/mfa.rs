//! The second factor: enrolment through the pages, replayed codes, recovery codes, and an
//! administrator resetting someone's authenticator.

use mhtr_pathway::auth::totp;
use mhtr_pathway::users::model::{MfaState, Role};
use reqwest::StatusCode;

use crate::helpers::{
    Browser, TestApp, TestUser, assert_redirects_to, csrf_from_html, element_text, error_summary,
    spawn_app,
};

/// Completes enrolment on the set-up page the browser is at; returns the secret and the
/// recovery codes shown.
pub async fn enrol_through_the_pages(browser: &Browser) -> (String, Vec<String>) {
    let page = browser.get_page("/sign-in/set-up-authenticator").await;
    assert!(page.contains("<svg"), "a QR code is drawn");
    let key: String = element_text(&page, "secret-key")
        .expect("the key is shown")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let code = totp::code_now(&key).expect("the key is base32");
    let res = browser
        .post_form(
            "/sign-in/set-up-authenticator",
            &[("csrf_token", &csrf_from_html(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the recovery codes are shown");
    let page = res.text().await.unwrap();
    let codes: Vec<String> = element_text(&page, "recovery-codes")
        .expect("the recovery codes are listed")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (key, codes)
}

#[tokio::test]
async fn a_new_user_sets_up_an_authenticator_and_gets_ten_recovery_codes() {
    let app = spawn_app().await;
    let user = app.create_unenrolled_user(Role::AssistantPsychologist, &["Leicester"]);
    let browser = app.new_browser();
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/set-up-authenticator");

    let (key, codes) = enrol_through_the_pages(&browser).await;
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 23 && c.matches('-').count() == 3)
    );

    browser.after_sign_in(&user.name).await;
    let row = app.user_row(&user.id);
    assert_eq!(row.mfa_state, MfaState::Enrolled);
    assert_eq!(row.totp_secret.as_deref(), Some(key.as_str()));
    assert!(browser.get_page("/account").await.contains("10 of 10"));
}

#[tokio::test]
async fn the_set_up_page_refuses_a_wrong_code_and_keeps_the_same_key() {
    let app = spawn_app().await;
    let user = app.create_unenrolled_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    browser.submit_password(&user.email, &user.password).await;
    let page = browser.get_page("/sign-in/set-up-authenticator").await;
    let key = element_text(&page, "secret-key").unwrap();
    let res = browser
        .post_form(
            "/sign-in/set-up-authenticator",
            &[("csrf_token", &csrf_from_html(&page)), ("code", "000000x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        vec!["The security code is not correct. Check the key you entered and try the newest code"]
    );
    assert_eq!(element_text(&page, "secret-key").unwrap(), key);
    assert_eq!(app.user_row(&user.id).mfa_state, MfaState::EnrolOnSignIn);
}

#[tokio::test]
async fn a_code_cannot_be_used_twice() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    let code = user.code_now();

    browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&browser.submit_code(&code).await, "/");
    browser.after_sign_in(&user.name).await;
    assert_redirects_to(&browser.sign_out().await, "/signed-out");

    // Same code, straight away (the same 30-second step): someone who saw it over a
    // shoulder cannot use it.
    browser.submit_password(&user.email, &user.password).await;
    let res = browser.submit_code(&code).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(error_summary(&page)[0].contains("has already been used"));
    assert_redirects_to(&browser.get("/").await, "/sign-in");
}

/// Signs in with the password and a recovery code.
async fn sign_in_with_recovery_code(
    browser: &Browser,
    user: &TestUser,
    code: &str,
) -> reqwest::Response {
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/code");
    let page = browser.get_page("/sign-in/recovery-code").await;
    browser
        .post_form(
            "/sign-in/recovery-code",
            &[("csrf_token", &csrf_from_html(&page)), ("code", code)],
        )
        .await
}

#[tokio::test]
async fn a_recovery_code_works_once_and_not_twice() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ClinicalLead, &["Leicester"]);
    let codes =
        app.with_db(|c| mhtr_pathway::auth::service::replace_recovery_codes(c, &user.id).unwrap());
    let browser = app.new_browser();

    // However it is typed: upper case, spaces for dashes.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let res = sign_in_with_recovery_code(&browser, &user, &typed).await;
    assert_redirects_to(&res, "/");
    let home = browser.get_page("/").await;
    assert!(home.contains("You have 9 recovery codes left"));
    browser.after_sign_in(&user.name).await;
    browser.sign_out().await;

    let res = sign_in_with_recovery_code(&browser, &user, &codes[3]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        vec!["The recovery code is not correct or has already been used"]
    );
    assert_redirects_to(&browser.get("/").await, "/sign-in");
}

/// The administrator resets `user`'s authenticator; the link is read from the user's email.
async fn reset_two_factor(app: &TestApp, admin: &Browser, user: &TestUser) -> String {
    let res = admin
        .post(&format!("/admin/users/{}/reset-two-factor", user.id), &[])
        .await;
    assert_redirects_to(&res, &format!("/admin/users/{}", user.id));
    let page = admin.get_page(&format!("/admin/users/{}", user.id)).await;
    assert!(page.contains("Two-factor authentication reset"));
    assert_eq!(app.user_row(&user.id).mfa_state, MfaState::ResetPending);
    assert!(!page.contains("/invitation/"), "never shown on the page");
    app.invitation_sent_to(&user.email)
}

#[tokio::test]
async fn after_a_reset_the_password_alone_is_refused_and_the_link_leads_to_set_up() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let old_browser = app.new_browser();
    old_browser.sign_in(&user).await;

    let link = reset_two_factor(&app, &admin, &user).await;
    // Their sessions ended with the reset.
    assert_redirects_to(&old_browser.get("/").await, "/sign-in");

    let browser = app.new_browser();
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        vec![
            "Your authenticator app was reset. Use the link your administrator sent you to set it up again"
        ]
    );

    // The link wants the password too.
    let page = browser.get_page(&link).await;
    let token = csrf_from_html(&page);
    let res = browser
        .post_form(
            &link,
            &[("csrf_token", &token), ("password", "a wrong password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        error_summary(&res.text().await.unwrap()),
        vec!["Enter your current password"]
    );

    let res = browser
        .post_form(
            &link,
            &[("csrf_token", &token), ("password", &user.password)],
        )
        .await;
    assert_redirects_to(&res, "/sign-in/set-up-authenticator");
    // Not straight in: the new authenticator comes first.
    assert_redirects_to(&browser.get("/").await, "/sign-in");
    let (key, _) = enrol_through_the_pages(&browser).await;
    assert_ne!(Some(key), user.totp_secret, "a new secret");
    browser.after_sign_in(&user.name).await;

    // The link worked once.
    let page = app.new_browser().get_page(&link).await;
    assert!(page.contains("This link has expired or has already been used"));
}

#[tokio::test]
async fn the_same_code_sent_twice_at_once_signs_in_only_one_browser() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let (a, b) = (app.new_browser(), app.new_browser());
    a.submit_password(&user.email, &user.password).await;
    b.submit_password(&user.email, &user.password).await;
    let (token_a, token_b) = (
        csrf_from_html(&a.get_page("/sign-in/code").await),
        csrf_from_html(&b.get_page("/sign-in/code").await),
    );
    let code = user.code_now();
    let form_a = [("csrf_token", token_a.as_str()), ("code", code.as_str())];
    let form_b = [("csrf_token", token_b.as_str()), ("code", code.as_str())];
    let (res_a, res_b) = tokio::join!(
        a.post_form("/sign-in/code", &form_a),
        b.post_form("/sign-in/code", &form_b),
    );
    let signed_in = [res_a.status(), res_b.status()]
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(signed_in, 1, "{} and {}", res_a.status(), res_b.status());
}
