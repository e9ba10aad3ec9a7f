//! Who may use what: every route in `routes::declarations()` is walked, so a new route is
//! covered the day it is added.

use std::collections::BTreeSet;

use actix_web::http::Method;
use mhtr_pathway::auth::guard::Access;
use mhtr_pathway::routes;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, assert_redirects_to, navigation, spawn_app};

/// Fills in a declared path: `{id}` with a real user's id, `{action}` with `disable`.
fn concrete(path: &str, user_id: &str) -> String {
    path.replace("{id}", user_id)
        .replace("{action}", "disable")
        .replace("{token}", "no-such-invitation")
        .replace("{path:.*}", "application.css")
}

async fn send(
    browser: &Browser,
    method: &Method,
    path: &str,
    csrf: Option<String>,
) -> reqwest::Response {
    let url = browser.url(path);
    let req = match *method {
        Method::GET => browser.client.get(url),
        Method::POST => browser.client.post(url),
        Method::DELETE => browser.client.delete(url),
        ref other => panic!("no test for {other} routes yet"),
    };
    let req = match csrf {
        Some(token) => req.form(&[("csrf_token", token)]),
        None => req,
    };
    req.send().await.expect("request")
}

#[tokio::test]
async fn each_role_sees_its_own_navigation() {
    let app = spawn_app().await;
    let admin_items = ["Users", "Vetting", "Audit log", "Email"];
    for role in Role::ALL {
        let (browser, _) = app.login_as(*role).await;
        let home = browser.get_page("/").await;
        let nav = navigation(&home);
        assert!(nav.contains("Home"), "{role}: {nav}");
        for item in admin_items {
            assert_eq!(
                nav.contains(item),
                *role == Role::Admin,
                "{role} and the {item} link"
            );
        }
        if *role != Role::Admin {
            assert!(
                !crate::helpers::unescape(&home).contains("/admin/"),
                "{role} is shown no link to the admin pages"
            );
        }
    }
}

#[tokio::test]
async fn every_staff_route_refuses_the_roles_it_does_not_name_with_403() {
    let app = spawn_app().await;
    let target = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let mut browsers = Vec::new();
    for role in Role::ALL {
        let (browser, _) = app.login_as(*role).await;
        browsers.push((*role, browser));
    }

    let mut checked = 0;
    for (method, path, access) in routes::declarations() {
        let Access::Staff(allowed) = access else {
            continue;
        };
        let url = concrete(path, &target.id);
        for (role, browser) in &browsers {
            if allowed.contains(role) {
                continue;
            }
            let csrf = (method != Method::GET).then(|| browser.csrf());
            let res = send(browser, &method, &url, csrf).await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{role} on {method} {path}"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 20,
        "the admin routes were walked ({checked} checks)"
    );
    assert!(
        !app.user_row(&target.id).is_disabled(),
        "nothing was done on the refused requests"
    );
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_from_every_protected_route() {
    let app = spawn_app().await;
    let target = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let anonymous = app.new_browser();
    for (method, path, access) in routes::declarations() {
        let url = concrete(path, &target.id);
        match access {
            Access::Staff(_) | Access::PendingSignIn => {
                let res = send(&anonymous, &method, &url, None).await;
                assert_redirects_to(&res, "/sign-in");
            }
            Access::Session => {
                let res = send(&anonymous, &method, &url, None).await;
                assert_redirects_to(&res, "/signed-out");
            }
            Access::Api(_) => {
                let res = send(&anonymous, &method, &url, None).await;
                assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
                let body: serde_json::Value = res.json().await.unwrap();
                assert_eq!(body["error"], "unauthenticated");
            }
            Access::Public | Access::ApiPublic => {}
        }
    }
}

#[tokio::test]
async fn a_session_half_way_through_sign_in_reaches_no_staff_page() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Admin, &["Rutland"]);
    let browser = app.new_browser();
    browser.submit_password(&user.email, &user.password).await;
    for (method, path, access) in routes::declarations() {
        if method == Method::GET && matches!(access, Access::Staff(_)) {
            let res = send(&browser, &method, &concrete(path, &user.id), None).await;
            assert_redirects_to(&res, "/sign-in");
        }
    }
}

#[tokio::test]
async fn only_the_allowlisted_routes_are_public() {
    let allowlist: BTreeSet<(String, &str)> = [
        ("GET", "/healthz"),
        ("GET", "/assets/{path:.*}"),
        ("GET", "/accessibility"),
        ("GET", "/privacy"),
        ("GET", "/sign-in"),
        ("POST", "/sign-in"),
        ("GET", "/invitation/{token}"),
        ("POST", "/invitation/{token}"),
        ("GET", "/signed-out"),
        ("GET", "/calendar/{token}.ics"),
        ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/v1/auth/token"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p))
    .collect();

    let declarations = routes::declarations();
    let public: BTreeSet<(String, &str)> = declarations
        .iter()
        .filter(|(_, _, a)| matches!(a, Access::Public | Access::ApiPublic))
        .map(|(m, p, _)| (m.to_string(), *p))
        .collect();
    assert_eq!(
        public, allowlist,
        "public routes must be added to this list on purpose"
    );

    // Every route appears once, with its method: no accidental duplicates or shadowing.
    let unique: BTreeSet<(String, &str)> = declarations
        .iter()
        .map(|(m, p, _)| (m.to_string(), *p))
        .collect();
    assert_eq!(unique.len(), declarations.len());
    // API routes take API access, and page routes page access.
    for (method, path, access) in &declarations {
        let api = matches!(access, Access::Api(_) | Access::ApiPublic);
        assert_eq!(
            path.starts_with("/api/"),
            api,
            "{method} {path} has {access:?}"
        );
    }
}

#[tokio::test]
async fn every_route_is_served_as_declared_and_nothing_else_is() {
    let app = spawn_app().await;
    let anonymous = app.new_browser();
    // Declared public pages answer.
    for path in [
        "/healthz",
        "/accessibility",
        "/privacy",
        "/sign-in",
        "/signed-out",
    ] {
        anonymous.get_page(path).await;
    }
    // Undeclared paths and methods are not found.
    let res = anonymous.get("/admin/secret").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = anonymous
        .client
        .delete(anonymous.url("/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_refusal_and_a_missing_record_keep_the_signed_in_header() {
    let app = spawn_app().await;
    let (browser, user) = app.login_as(Role::ProbationOfficer).await;
    for (path, status, heading) in [
        (
            "/admin/users",
            StatusCode::FORBIDDEN,
            "You do not have permission to view this page",
        ),
        (
            "/referrals/no-such-referral",
            StatusCode::NOT_FOUND,
            "Page not found",
        ),
        ("/no-such-address", StatusCode::NOT_FOUND, "Page not found"),
    ] {
        let res = browser.get(path).await;
        assert_eq!(res.status(), status, "{path}");
        let page = res.text().await.unwrap();
        assert!(page.contains(heading), "{path}");
        assert!(
            page.contains(&format!("Signed in as <strong>{}</strong>", user.name)),
            "{path}"
        );
        assert!(page.contains("Sign out"), "{path}");
    }
}
