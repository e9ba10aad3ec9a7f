//! Cross-site request forgery: every state change needs the session's token, and requests
//! a browser marks as cross-site are refused outright.

use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, TestUser, assert_redirects_to, csrf_from_html, spawn_app};

/// An administrator and a user they could disable.
async fn admin_and_target(app: &TestApp) -> (crate::helpers::Browser, TestUser) {
    let (admin, _) = app.login_as(Role::Admin).await;
    let target = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    (admin, target)
}

fn is_disabled(app: &TestApp, user: &TestUser) -> bool {
    app.user_row(&user.id).is_disabled()
}

#[tokio::test]
async fn a_post_without_the_token_is_refused_with_400_and_changes_nothing() {
    let app = spawn_app().await;
    let (admin, target) = admin_and_target(&app).await;

    let res = admin
        .post_form(&format!("/admin/users/{}/disable", target.id), &[])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = res.text().await.unwrap();
    assert!(page.contains("This form has expired or was not sent from this service"));
    assert!(!is_disabled(&app, &target));
}

#[tokio::test]
async fn a_post_with_a_wrong_token_is_refused_with_400() {
    let app = spawn_app().await;
    let (admin, target) = admin_and_target(&app).await;

    let res = admin
        .post_form(
            &format!("/admin/users/{}/disable", target.id),
            &[("csrf_token", "not-the-token-of-this-session-at-all")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(!is_disabled(&app, &target));

    // The token of another session is just as wrong.
    let (other, _) = app.login_as(Role::Admin).await;
    let res = admin
        .post_form(
            &format!("/admin/users/{}/disable", target.id),
            &[("csrf_token", &other.csrf())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(!is_disabled(&app, &target));
}

#[tokio::test]
async fn the_token_in_the_x_csrf_token_header_is_accepted() {
    let app = spawn_app().await;
    let (admin, target) = admin_and_target(&app).await;
    let res = admin
        .client
        .post(admin.url(&format!("/admin/users/{}/disable", target.id)))
        .header("X-CSRF-Token", admin.csrf())
        .send()
        .await
        .unwrap();
    assert_redirects_to(&res, &format!("/admin/users/{}", target.id));
    assert!(is_disabled(&app, &target));
}

#[tokio::test]
async fn a_request_marked_cross_site_is_refused_with_403_even_with_the_token() {
    let app = spawn_app().await;
    let (admin, target) = admin_and_target(&app).await;

    let res = admin
        .client
        .post(admin.url(&format!("/admin/users/{}/disable", target.id)))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("csrf_token", admin.csrf())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!is_disabled(&app, &target));

    let res = admin
        .client
        .post(admin.url(&format!("/admin/users/{}/disable", target.id)))
        .header("Sec-Fetch-Site", "same-site")
        .form(&[("csrf_token", admin.csrf())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "same-site is not same-origin"
    );
    assert!(!is_disabled(&app, &target));
}

#[tokio::test]
async fn a_request_from_a_foreign_origin_is_refused_with_403_even_with_the_token() {
    let app = spawn_app().await;
    let (admin, target) = admin_and_target(&app).await;

    let res = admin
        .client
        .post(admin.url(&format!("/admin/users/{}/disable", target.id)))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", admin.csrf())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!is_disabled(&app, &target));

    // The service's own origin is fine.
    let res = admin
        .client
        .post(admin.url(&format!("/admin/users/{}/disable", target.id)))
        .header("Origin", &admin.address)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("csrf_token", admin.csrf())])
        .send()
        .await
        .unwrap();
    assert_redirects_to(&res, &format!("/admin/users/{}", target.id));
    assert!(is_disabled(&app, &target));
}

/// The Origin is compared with the configured base URL only: Host, X-Forwarded-Host and
/// Forwarded are the sender's to set and prove nothing.
#[tokio::test]
async fn an_origin_matching_only_a_forged_host_is_refused() {
    let app = spawn_app().await;
    let (admin, target) = admin_and_target(&app).await;
    for (name, value) in [
        ("Host", "evil.example"),
        ("X-Forwarded-Host", "evil.example"),
        ("Forwarded", "host=evil.example;proto=https"),
    ] {
        let res = admin
            .client
            .post(admin.url(&format!("/admin/users/{}/disable", target.id)))
            .header("Origin", "https://evil.example")
            .header(name, value)
            .form(&[("csrf_token", admin.csrf())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}");
        assert!(!is_disabled(&app, &target));
    }
}

#[tokio::test]
async fn signing_in_without_the_pre_session_cookie_and_token_is_refused_with_400() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);

    // A browser that never loaded the sign-in page: no cookie, no token.
    let fresh = app.new_browser();
    let res = fresh
        .post_form(
            "/sign-in",
            &[
                ("email", user.email.as_str()),
                ("password", user.password.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(fresh.cookie(app.session_cookie()).is_none());

    // A token copied from someone else's page does not match this browser's cookie.
    let victim = app.new_browser();
    let token = csrf_from_html(&victim.get_page("/sign-in").await);
    let attacker = app.new_browser();
    attacker.get_page("/sign-in").await;
    let res = attacker
        .post_form(
            "/sign-in",
            &[
                ("csrf_token", token.as_str()),
                ("email", user.email.as_str()),
                ("password", user.password.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // The cookie without the token is refused too.
    let res = attacker
        .post_form(
            "/sign-in",
            &[
                ("email", user.email.as_str()),
                ("password", user.password.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(attacker.cookie(app.session_cookie()).is_none());
}

#[tokio::test]
async fn the_code_step_needs_the_pending_sessions_token() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    browser.submit_password(&user.email, &user.password).await;
    let res = browser
        .post_form("/sign-in/code", &[("code", &user.code_now())])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_redirects_to(&browser.get("/").await, "/sign-in");
}

/// A file upload (multipart/form-data) carries the token as the form's first part. Without it,
/// with a wrong one, or with the right one anywhere but first, the upload is refused before
/// any file is read or stored.
#[tokio::test]
async fn a_multipart_upload_without_the_token_as_its_first_part_is_refused() {
    use crate::import_page::{Part, multipart, post_multipart};
    let staging = tempfile::tempdir().unwrap();
    let dir = staging.path().to_string_lossy().into_owned();
    let app = crate::helpers::spawn_app_with(move |s| {
        s.import.staging_dir = dir;
        s.import.mappings_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/import").into();
    })
    .await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let token = admin.csrf();
    let token = token.as_bytes();
    let token_part = |t: &'static [u8]| Part {
        name: "csrf_token",
        filename: None,
        body: t,
    };
    for (what, body) in [
        ("no token", multipart(&[mapping_part(), file_part()])),
        (
            "a wrong token",
            multipart(&[token_part(b"not-the-token"), mapping_part(), file_part()]),
        ),
        (
            "the token after the file",
            multipart(&[
                mapping_part(),
                file_part(),
                Part {
                    name: "csrf_token",
                    filename: None,
                    body: token,
                },
            ]),
        ),
        (
            "the token as a file",
            multipart(&[
                Part {
                    name: "csrf_token",
                    filename: Some("t.csv"),
                    body: token,
                },
                mapping_part(),
                file_part(),
            ]),
        ),
    ] {
        let res = post_multipart(&admin, "/admin/import", body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
        let page = res.text().await.unwrap();
        assert!(
            page.contains("This form has expired or was not sent from this service"),
            "{what}"
        );
    }
    assert_eq!(
        std::fs::read_dir(staging.path()).unwrap().count(),
        0,
        "nothing was staged"
    );
    // The same upload with the token first gets through the guard (and reaches the page).
    let res = post_multipart(
        &admin,
        "/admin/import",
        multipart(&[
            Part {
                name: "csrf_token",
                filename: None,
                body: token,
            },
            mapping_part(),
            file_part(),
        ]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

fn file_part() -> crate::import_page::Part<'static> {
    crate::import_page::Part {
        name: "files",
        filename: Some("cb_clients.csv"),
        body: b"ClientRef\nCB1\n",
    }
}

fn mapping_part() -> crate::import_page::Part<'static> {
    crate::import_page::Part {
        name: "mapping",
        filename: None,
        body: b"legacy_casebook",
    }
}
