//! API bearer tokens: issued for password and second factor, used, revoked, and stopped
//! when the user is disabled. And the OpenAPI document covering every API route.

use actix_web::http::Method;
use diesel::prelude::*;
use mhtr_pathway::auth::guard::Access;
use mhtr_pathway::db::schema::users;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};

async fn request_token(app: &TestApp, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", app.address))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn issue_token(app: &TestApp, user: &TestUser) -> String {
    let res = request_token(
        app,
        json!({ "email": user.email, "password": user.password, "code": user.code_now() }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    body["token"].as_str().unwrap().to_owned()
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_issued_for_password_and_code_reaches_the_api() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ClinicalLead, &["Leicester", "Rutland"]);
    let token = issue_token(&app, &user).await;
    assert!(token.starts_with("mhtr_"));

    let res = me(&app, &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], user.id.as_str());
    assert_eq!(body["email"], user.email.as_str());
    assert_eq!(body["role"], "clinical_lead");
    assert_eq!(body["areas"], json!(["Leicester", "Rutland"]));
}

#[tokio::test]
async fn an_empty_code_is_a_validation_error_naming_the_field() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let res = request_token(
        &app,
        json!({ "email": user.email, "password": user.password, "code": "" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "validation");
    assert!(body["fields"]["code"].is_string(), "{body}");
    assert!(body["fields"].get("email").is_none());
}

/// The OpenAPI document promises 422 for missing fields; a client that leaves `code` out
/// altogether must get the same validation answer as one that sends it empty.
#[tokio::test]
async fn a_request_without_the_code_field_is_a_validation_error_naming_it() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let res = request_token(
        &app,
        json!({ "email": user.email, "password": user.password }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "validation");
    assert!(body["fields"]["code"].is_string(), "{body}");
}

#[tokio::test]
async fn a_wrong_code_or_password_is_refused_with_401_json() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let right = user.code_now();
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );

    let res = request_token(
        &app,
        json!({ "email": user.email, "password": user.password, "code": wrong }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap(),
        "Bearer"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");

    let res = request_token(
        &app,
        json!({ "email": user.email, "password": "not the password", "code": right }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
}

#[tokio::test]
async fn a_revoked_token_stops_working() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Councillor, &["Rutland"]);
    let token = issue_token(&app, &user).await;
    assert_eq!(me(&app, &token).await.status(), StatusCode::OK);

    let res = reqwest::Client::new()
        .delete(format!("{}/api/v1/auth/token", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let res = me(&app, &token).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
}

#[tokio::test]
async fn the_token_of_a_disabled_user_stops_working() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let token = issue_token(&app, &user).await;
    assert_eq!(me(&app, &token).await.status(), StatusCode::OK);

    // Disabled behind the service's back: the check at use still holds.
    app.with_db(|c| {
        diesel::update(users::table.find(&user.id))
            .set(users::disabled_at.eq(Some(mhtr_pathway::clock::now())))
            .execute(c)
            .unwrap();
    });
    assert_eq!(me(&app, &token).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unenrolled_user_gets_no_token() {
    let app = spawn_app().await;
    let user = app.create_unenrolled_user(Role::ProbationOfficer, &["Rutland"]);
    let res = request_token(
        &app,
        json!({ "email": user.email, "password": user.password, "code": "123456" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookies_do_not_authenticate_the_api() {
    let app = spawn_app().await;
    let (browser, _) = app.login_as(Role::Admin).await;
    let res = browser.get("/api/v1/me").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_openapi_document_lists_every_api_route_with_its_method() {
    let app = spawn_app().await;
    let res = reqwest::get(format!("{}/api/v1/openapi.json", app.address))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    let mut listed = 0;
    for (method, path, access) in mhtr_pathway::routes::declarations() {
        if !path.starts_with("/api/") || path == "/api/v1/openapi.json" {
            continue;
        }
        let op = &doc["paths"][path][method.as_str().to_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is missing from the OpenAPI document"
        );
        let secured = op.get("security").is_some();
        assert_eq!(
            secured,
            matches!(access, Access::Api(_)),
            "{method} {path}: bearer security declared as the route requires"
        );
        listed += 1;
        assert!(matches!(
            method,
            Method::GET | Method::POST | Method::DELETE
        ));
    }
    assert!(listed >= 3);
}

#[tokio::test]
async fn a_token_can_be_revoked_from_the_account_page_by_its_owner_only() {
    let app = spawn_app().await;
    let (browser, user) = app.login_as(Role::ProbationOfficer).await;
    app.allow_code_reuse(&user);
    let token = issue_token(&app, &user).await;
    let token_id: String = app.with_db(|c| {
        use mhtr_pathway::db::schema::api_tokens;
        api_tokens::table
            .filter(api_tokens::user_id.eq(&user.id))
            .select(api_tokens::id)
            .first(c)
            .unwrap()
    });
    let page = browser.get_page("/account").await;
    assert!(
        crate::helpers::unescape(&page).contains(&format!("/account/tokens/{token_id}/revoke"))
    );

    let (someone_else, _) = app.login_as(Role::ProbationOfficer).await;
    let res = someone_else
        .post(&format!("/account/tokens/{token_id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(me(&app, &token).await.status(), StatusCode::OK);

    let res = browser
        .post(&format!("/account/tokens/{token_id}/revoke"), &[])
        .await;
    crate::helpers::assert_redirects_to(&res, "/account");
    assert_eq!(me(&app, &token).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_recovery_code_gets_a_token_once() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let codes =
        app.with_db(|c| mhtr_pathway::auth::service::replace_recovery_codes(c, &user.id).unwrap());
    let body = json!({ "email": user.email, "password": user.password, "code": codes[0] });
    let res = request_token(&app, body.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = request_token(&app, body).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_requests_are_throttled_with_429_json() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    for _ in 0..5 {
        let res = request_token(
            &app,
            json!({ "email": user.email, "password": "a wrong guess at it", "code": "123456" }),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = request_token(
        &app,
        json!({ "email": user.email, "password": user.password, "code": user.code_now() }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
}

#[tokio::test]
async fn a_token_stops_working_when_it_expires() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let token = issue_token(&app, &user).await;
    let expires: chrono::NaiveDateTime = app.with_db(|c| {
        use mhtr_pathway::db::schema::api_tokens;
        let row: chrono::NaiveDateTime = api_tokens::table
            .select(api_tokens::expires_at)
            .first(c)
            .unwrap();
        diesel::update(api_tokens::table)
            .set(api_tokens::expires_at.eq(mhtr_pathway::clock::now()))
            .execute(c)
            .unwrap();
        row
    });
    let lifetime = expires - mhtr_pathway::clock::now();
    let hours = app.state.settings.security.api_token_hours;
    assert!(
        lifetime <= chrono::Duration::hours(hours)
            && lifetime > chrono::Duration::hours(hours) - chrono::Duration::minutes(1)
    );
    assert_eq!(me(&app, &token).await.status(), StatusCode::UNAUTHORIZED);
}
