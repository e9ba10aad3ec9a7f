//! Control characters (a NUL byte above all, which PostgreSQL cannot store in text) are
//! refused at the one input boundary, with the fields named, the same on both backends:
//! never a server error, never stored.

use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{csrf_from_html, spawn_app};

#[tokio::test]
async fn a_nul_in_the_sign_in_email_is_refused_on_the_page_and_the_token_endpoint() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    let page = browser.get_page("/sign-in").await;
    let res = browser
        .post_form(
            "/sign-in",
            &[
                ("csrf_token", &csrf_from_html(&page)),
                ("email", &format!("{}\0", user.email)),
                ("password", &user.password),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains("control character"), "{body}");
    assert!(body.contains("email"));

    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", app.address))
        .json(&json!({"email": format!("{}\u{0}", user.email), "password": user.password, "code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["fields"]["email"]
            .as_str()
            .unwrap()
            .contains("control character")
    );
}

#[tokio::test]
async fn a_nul_in_referral_text_a_search_or_an_address_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let token = app.with_db(|c| {
        mhtr_pathway::auth::tokens::issue(c, &user.id, 1)
            .expect("token")
            .0
    });
    let client = reqwest::Client::new();
    let mut body = crate::referrals::probation_json(
        &app.area_id("Rutland"),
        "Nul\u{0}Byte",
        "Person",
        Some("N123456"),
    );
    body["court"] = json!("Oakham\u{1b}[31m Court");
    let res = client
        .post(format!("{}/api/v1/referrals", app.address))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = res.json().await.unwrap();
    assert!(answer["fields"]["given_name"].is_string(), "{answer}");
    assert!(answer["fields"]["court"].is_string(), "{answer}");
    let stored = app.with_db(|c| {
        use diesel::prelude::*;
        mhtr_pathway::db::schema::referrals::table
            .count()
            .get_result::<i64>(c)
            .unwrap()
    });
    assert_eq!(stored, 0);

    // Tab and new lines are ordinary text.
    let res = client
        .get(format!("{}/api/v1/referrals?q=a%09b", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .get(format!("{}/api/v1/referrals?q=a%00b", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = client
        .get(format!("{}/api/v1/referrals/a%00b", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // On the pages: a search and a draft's answers.
    let browser = app.new_browser();
    browser.sign_in(&user).await;
    let res = browser.get("/referrals?q=x%00y").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = browser.get("/referrals/x%00y").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = browser.post("/referrals/new", &[]).await;
    let draft = crate::helpers::location(&res);
    let person = draft.replace("/entry-point", "/person");
    let res = browser
        .post(
            &person,
            &[("given_name", "Bad\u{0}"), ("family_name", "Name")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("given_name"));
}
