//! The administrator's user pages: adding users, vetting, and disabling accounts.

use chrono::Duration;
use diesel::prelude::*;
use mhtr_pathway::db::schema::api_tokens;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    assert_redirects_to, error_summary, field_error, input_value, spawn_app, today,
};

#[tokio::test]
async fn adding_a_user_with_bad_input_names_every_problem_and_keeps_the_input() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;

    let res = admin
        .post(
            "/admin/users/new",
            &[
                ("name", ""),
                ("email", "ann.lee at probation"),
                ("role", ""),
                ("organisation_id", ""),
                ("hcpc_number", "12345"),
                ("vetting_level", ""),
                ("vetting_expires_on_day", "31"),
                ("vetting_expires_on_month", "2"),
                ("vetting_expires_on_year", "2030"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("<title>Error: Add a user"));
    assert_eq!(
        error_summary(&page),
        vec![
            "Enter the user's full name",
            "Enter an email address in the correct format, like name@example.org",
            "Select a role",
            "Select an organisation",
            "Select at least one area",
            "Enter the HCPC registration number in the correct format, like PYL012345",
            "Select the vetting level",
            "The vetting expiry date must be a real date",
        ]
    );
    for field in [
        "name",
        "email",
        "role",
        "organisation_id",
        "areas",
        "hcpc_number",
        "vetting_level",
        "vetting_expires_on",
    ] {
        assert!(
            field_error(&page, field).is_some(),
            "{field} shows its error"
        );
    }
    assert_eq!(
        input_value(&page, "email").as_deref(),
        Some("ann.lee at probation")
    );
    assert_eq!(input_value(&page, "hcpc_number").as_deref(), Some("12345"));
    assert_eq!(
        input_value(&page, "vetting_expires_on_day").as_deref(),
        Some("31")
    );
    assert_eq!(
        input_value(&page, "vetting_expires_on_year").as_deref(),
        Some("2030")
    );
    assert_eq!(
        app.with_db(|c| mhtr_pathway::users::model::count(c).unwrap()),
        1,
        "only the administrator exists"
    );
}

#[tokio::test]
async fn a_second_user_with_the_same_email_is_refused() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let existing = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let expires = today() + Duration::days(200);
    let org = app.organisation_id_for(Role::ProbationOfficer);
    let area = app.area_id("Melton");
    let shouted = existing.email.to_uppercase();
    let res = admin
        .post(
            "/admin/users/new",
            &[
                ("name", "Someone Else"),
                ("email", &shouted),
                ("role", "probation_officer"),
                ("organisation_id", &org),
                ("areas", &area),
                ("vetting_level", "nppv1"),
                ("vetting_expires_on_day", &expires.format("%-d").to_string()),
                (
                    "vetting_expires_on_month",
                    &expires.format("%-m").to_string(),
                ),
                ("vetting_expires_on_year", &expires.format("%Y").to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        vec!["A user with this email address already exists"]
    );
    assert_eq!(input_value(&page, "name").as_deref(), Some("Someone Else"));
    assert_eq!(
        app.with_db(|c| mhtr_pathway::users::model::count(c).unwrap()),
        2
    );
}

#[tokio::test]
async fn a_new_user_appears_with_the_areas_and_vetting_given() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let invitation = app.invite_through_admin_pages(&admin).await;
    let page = admin
        .get_page(&format!("/admin/users/{}", invitation.user_id))
        .await;
    assert!(page.contains(&invitation.email));
    assert!(page.contains("Rutland"));
    assert!(page.contains("NPPV level 2"));
    assert!(page.contains("Invited"));
    let list = admin.get_page("/admin/users").await;
    assert!(list.contains(&invitation.email));
}

#[tokio::test]
async fn the_vetting_page_refuses_a_date_in_the_past() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let user = app.create_user(Role::Councillor, &["Rutland"]);
    let before = app.user_row(&user.id).vetting_expires_on;
    let yesterday = today() - Duration::days(1);

    let path = format!("/admin/users/{}/vetting", user.id);
    admin.get_page(&path).await;
    let res = admin
        .post(
            &path,
            &[
                ("vetting_level", "nppv3"),
                (
                    "vetting_expires_on_day",
                    &yesterday.format("%-d").to_string(),
                ),
                (
                    "vetting_expires_on_month",
                    &yesterday.format("%-m").to_string(),
                ),
                (
                    "vetting_expires_on_year",
                    &yesterday.format("%Y").to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        vec!["The vetting expiry date must be today or in the future"]
    );
    assert_eq!(app.user_row(&user.id).vetting_expires_on, before);

    let next_year = today() + Duration::days(365);
    let res = admin
        .post(
            &path,
            &[
                ("vetting_level", "nppv3"),
                (
                    "vetting_expires_on_day",
                    &next_year.format("%-d").to_string(),
                ),
                (
                    "vetting_expires_on_month",
                    &next_year.format("%-m").to_string(),
                ),
                (
                    "vetting_expires_on_year",
                    &next_year.format("%Y").to_string(),
                ),
            ],
        )
        .await;
    assert_redirects_to(&res, &format!("/admin/users/{}", user.id));
    assert_eq!(app.user_row(&user.id).vetting_expires_on, Some(next_year));
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_tokens_at_once() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let (their_browser, user) = app.login_as(Role::ProbationOfficer).await;
    app.allow_code_reuse(&user);
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", app.address))
        .json(&json!({ "email": user.email, "password": user.password, "code": user.code_now() }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = admin
        .post(&format!("/admin/users/{}/disable", user.id), &[])
        .await;
    assert_redirects_to(&res, &format!("/admin/users/{}", user.id));
    let page = admin.get_page(&format!("/admin/users/{}", user.id)).await;
    assert!(page.contains(&format!("{} has been disabled", user.name)));

    assert_redirects_to(&their_browser.get("/").await, "/sign-in");
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let live_tokens: i64 = app.with_db(|c| {
        api_tokens::table
            .filter(api_tokens::user_id.eq(&user.id))
            .filter(api_tokens::revoked_at.is_null())
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(live_tokens, 0, "their tokens are revoked");

    let res = app
        .new_browser()
        .submit_password(&user.email, &user.password)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        error_summary(&res.text().await.unwrap()),
        vec!["Your account has been disabled. Contact your administrator"]
    );
}

#[tokio::test]
async fn changing_a_users_role_or_areas_ends_their_sessions() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let (their_browser, user) = app.login_as(Role::ProbationOfficer).await;
    let path = format!("/admin/users/{}/edit", user.id);
    admin.get_page(&path).await;

    // The name alone: they stay signed in.
    let org = app.organisation_id_for(Role::ProbationOfficer);
    let rutland = app.area_id("Rutland");
    let res = admin
        .post(
            &path,
            &[
                ("name", "Renamed User"),
                ("email", &user.email),
                ("role", "probation_officer"),
                ("organisation_id", &org),
                ("areas", &rutland),
            ],
        )
        .await;
    assert_redirects_to(&res, &format!("/admin/users/{}", user.id));
    assert!(
        their_browser
            .get_page("/")
            .await
            .contains("Hello, Renamed User")
    );

    // Another area: what they may see changed, so they sign in again.
    let melton = app.area_id("Melton");
    let res = admin
        .post(
            &path,
            &[
                ("name", "Renamed User"),
                ("email", &user.email),
                ("role", "probation_officer"),
                ("organisation_id", &org),
                ("areas", &rutland),
                ("areas", &melton),
            ],
        )
        .await;
    assert_redirects_to(&res, &format!("/admin/users/{}", user.id));
    assert_redirects_to(&their_browser.get("/").await, "/sign-in");
}

#[tokio::test]
async fn an_administrator_cannot_disable_themselves() {
    let app = spawn_app().await;
    let (admin, me) = app.login_as(Role::Admin).await;
    let res = admin
        .post(&format!("/admin/users/{}/disable", me.id), &[])
        .await;
    assert_redirects_to(&res, &format!("/admin/users/{}", me.id));
    assert!(
        admin
            .get_page(&format!("/admin/users/{}", me.id))
            .await
            .contains("You cannot disable your own account")
    );
    assert!(!app.user_row(&me.id).is_disabled());
}

#[tokio::test]
async fn an_unknown_action_or_user_is_not_found() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let user = app.create_user(Role::Councillor, &["Rutland"]);
    let res = admin
        .post(&format!("/admin/users/{}/promote", user.id), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = admin.get("/admin/users/no-such-user").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_user_list_finds_people_by_name_or_email_whatever_the_case() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let user = app.create_user(Role::Councillor, &["Rutland"]);
    let other = app.create_user(Role::Councillor, &["Rutland"]);

    for q in [
        user.name.clone(),
        user.name.to_lowercase(),
        user.email.to_uppercase(),
    ] {
        let page = admin
            .get_page(&format!(
                "/admin/users?q={}",
                q.replace(' ', "+").replace('@', "%40")
            ))
            .await;
        assert!(
            page.contains(&user.email),
            "searching for {q:?} finds {}",
            user.email
        );
        assert!(
            !page.contains(&other.email),
            "searching for {q:?} finds only them"
        );
    }
}

#[tokio::test]
async fn ending_everyones_sessions_keeps_the_administrators_own() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let (someone, _) = app.login_as(Role::ClinicalLead).await;
    // One click is not enough: the page asks to confirm, and nothing ends until it is.
    let users = admin.get_page("/admin/users").await;
    assert!(
        users.contains("href=\"/admin/sessions/end-all\""),
        "{users}"
    );
    let confirm = admin.get_page("/admin/sessions/end-all").await;
    assert!(confirm.contains("govuk-warning-text"), "{confirm}");
    let res = admin.post("/admin/sessions/end-all", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("govuk-error-summary"), "{page}");
    assert!(page.contains("Confirm that every session but yours should end"));
    assert_eq!(
        someone.get("/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let res = admin
        .post("/admin/sessions/end-all", &[("confirm", "yes")])
        .await;
    assert_redirects_to(&res, "/admin/users");
    assert!(
        admin
            .get_page("/admin/users")
            .await
            .contains("1 session ended")
    );
    assert_redirects_to(&someone.get("/").await, "/sign-in");
}

#[tokio::test]
async fn what_an_administrator_types_is_shown_as_text_never_as_markup() {
    let app = spawn_app().await;
    let (admin, _) = app.login_as(Role::Admin).await;
    let expires = today() + Duration::days(100);
    let org = app.organisation_id_for(Role::Councillor);
    let area = app.area_id("Rutland");
    let name = "<script>alert(1)</script> O'Neil";
    let res = admin
        .post(
            "/admin/users/new",
            &[
                ("name", name),
                ("email", "xss@staff.example.org"),
                ("role", "councillor"),
                ("organisation_id", &org),
                ("areas", &area),
                ("vetting_level", "nppv1"),
                ("vetting_expires_on_day", &expires.format("%-d").to_string()),
                (
                    "vetting_expires_on_month",
                    &expires.format("%-m").to_string(),
                ),
                ("vetting_expires_on_year", &expires.format("%Y").to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let user_page = crate::helpers::location(&res);
    for page in [
        admin.get_page(&user_page).await,
        admin.get_page("/admin/users").await,
    ] {
        assert!(!page.contains("<script>alert"), "the name is escaped");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt; O&#x27;Neil"));
    }
}
