//! Security headers, caching, and the session cookie's attributes.

use mhtr_pathway::assets::ASSETS_VERSION;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{
    assert_redirects_to, csrf_from_html, set_cookie_header, spawn_app, spawn_app_with,
};

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header on {}", res.url()))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_are_never_cached() {
    let app = spawn_app().await;
    let (browser, _) = app.login_as(Role::Admin).await;
    let anonymous = app.new_browser();
    let responses = [
        anonymous.get("/sign-in").await,
        anonymous.get("/").await,
        anonymous.get("/no-such-page").await,
        browser.get("/").await,
        browser.get("/admin/users").await,
    ];
    for res in &responses {
        let csp = header(res, "content-security-policy");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(header(res, "x-frame-options"), "DENY");
        assert_eq!(header(res, "x-content-type-options"), "nosniff");
        assert_eq!(header(res, "referrer-policy"), "same-origin");
        assert_eq!(header(res, "cache-control"), "no-store", "{}", res.url());
    }
}

/// Refusals made by the access check (403, CSRF 400, API 401) are responses like any
/// other: the same headers, and a GOV.UK error page for people.
#[tokio::test]
async fn refusals_carry_the_security_headers_and_an_error_page() {
    let app = spawn_app().await;
    let (browser, _) = app.login_as(Role::Councillor).await;

    let forbidden = browser.get("/admin/users").await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let no_token = browser.post_form("/account/sessions/end-others", &[]).await;
    assert_eq!(no_token.status(), StatusCode::BAD_REQUEST);
    let no_bearer = browser.get("/api/v1/me").await;
    assert_eq!(no_bearer.status(), StatusCode::UNAUTHORIZED);

    for res in [&forbidden, &no_token, &no_bearer] {
        let csp = header(res, "content-security-policy");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header(res, "x-frame-options"), "DENY");
        assert_eq!(header(res, "x-content-type-options"), "nosniff");
        assert_eq!(header(res, "cache-control"), "no-store", "{}", res.url());
    }
    assert!(header(&forbidden, "content-type").starts_with("text/html"));
    let page = forbidden.text().await.unwrap();
    assert!(
        page.contains("You do not have permission to view this page"),
        "{page}"
    );
    assert!(header(&no_token, "content-type").starts_with("text/html"));
    let page = no_token.text().await.unwrap();
    assert!(page.contains("This form has expired or was not sent from this service"));
    assert!(page.contains("govuk-template"), "a GOV.UK page: {page}");
}

#[tokio::test]
async fn pages_have_no_inline_scripts() {
    let app = spawn_app().await;
    let (browser, _) = app.login_as(Role::Admin).await;
    for path in ["/", "/account", "/admin/users"] {
        let page = browser.get_page(path).await;
        for (i, _) in page.match_indices("<script") {
            let tag_end = i + page[i..].find('>').unwrap();
            assert!(
                page[i..tag_end].contains(" src="),
                "inline script on {path}"
            );
        }
        assert!(!page.contains(" style=\""), "inline style on {path}");
        assert!(!page.contains("<style"), "style element on {path}");
    }
}

#[tokio::test]
async fn versioned_assets_are_cached_for_a_long_time() {
    let app = spawn_app().await;
    let browser = app.new_browser();
    let page = browser.get_page("/sign-in").await;
    assert!(page.contains(&format!("application.css?v={ASSETS_VERSION}")));

    let res = browser
        .get(&format!("/assets/application.css?v={ASSETS_VERSION}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-type").starts_with("text/css"));
    let cache = header(&res, "cache-control");
    assert!(cache.contains("max-age=31536000"), "{cache}");
    assert!(cache.contains("immutable"), "{cache}");
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");

    let res = browser.get("/assets/application.css?v=stale").await;
    assert!(!header(&res, "cache-control").contains("31536000"));
}

#[tokio::test]
async fn with_secure_cookies_the_session_cookie_is_host_prefixed_secure_and_http_only() {
    let app = spawn_app_with(|s| s.security.secure_cookies = true).await;
    assert_eq!(app.session_cookie(), "__Host-mhtr-session");
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);

    // A plain-HTTP client keeps no Secure cookies, so carry them by hand.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(format!("{}/sign-in", app.address))
        .send()
        .await
        .unwrap();
    let presession =
        set_cookie_header(&res, "__Host-mhtr-presession").expect("a pre-session cookie");
    assert!(presession.contains("Secure"));
    assert!(presession.contains("HttpOnly"));
    let presession_value = presession
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let token = csrf_from_html(&res.text().await.unwrap());
    assert_eq!(token, presession_value);

    let res = client
        .post(format!("{}/sign-in", app.address))
        .header(
            "Cookie",
            format!("__Host-mhtr-presession={presession_value}"),
        )
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_redirects_to(&res, "/sign-in/code");
    let cookie = set_cookie_header(&res, "__Host-mhtr-session").expect("the session cookie");
    let attributes: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_lowercase())
        .collect();
    for wanted in ["secure", "httponly", "samesite=lax", "path=/"] {
        assert!(
            attributes.iter().any(|a| a == wanted),
            "{wanted} in {cookie}"
        );
    }
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "no Domain: {cookie}"
    );
    assert!(
        !attributes
            .iter()
            .any(|a| a.starts_with("max-age") || a.starts_with("expires")),
        "a browser-session cookie: {cookie}"
    );
}

#[tokio::test]
async fn strict_transport_security_is_sent_only_when_configured() {
    let app = spawn_app().await;
    let res = app.new_browser().get("/sign-in").await;
    assert!(res.headers().get("strict-transport-security").is_none());

    let app = spawn_app_with(|s| s.security.hsts = true).await;
    let res = app.new_browser().get("/sign-in").await;
    let hsts = header(&res, "strict-transport-security");
    assert!(hsts.contains("max-age=31536000"), "{hsts}");
}
