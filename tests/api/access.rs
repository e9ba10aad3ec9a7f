//! Who may use what: every route in `routes::declarations()` is walked, so a new route is
//! covered the day it is added.

use std::collections::BTreeSet;

use actix_web::http::Method;
use diesel::prelude::*;
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
        ("GET", "/readyz"),
        ("GET", "/assets/{path:.*}"),
        ("GET", "/accessibility"),
        ("GET", "/privacy"),
        ("GET", "/sign-in"),
        ("POST", "/sign-in"),
        ("GET", "/invitation/{token}"),
        ("POST", "/invitation/{token}"),
        ("GET", "/signed-out"),
        ("GET", "/calendar/{token}.ics"),
        ("GET", "/intake-mailbox/{token}"),
        ("POST", "/intake-mailbox/{token}"),
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
        "/readyz",
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

// ------------------------------------------------------------------ record scope

/// What a route's `{id}` names, and so whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// A referral, or something of one (session, alert, review, linked requirement,
    /// signposting): scoped by area and caseload through `referrals::model::scoped`.
    Casework(&'static str),
    /// A referral's retention review: clinical leads of its area, administrators of every
    /// area (so no administrator is out of scope).
    Retention,
    /// A practitioner's capacity: their leads, themselves and administrators.
    Practitioner,
    /// A practitioner's leave: themselves and the clinical leads of their areas.
    Leave,
    /// The user's own draft, session or API token.
    Own(&'static str),
    /// Service-wide records that only administrators manage (users, areas, the outbox,
    /// the directory, closures, merges): the role decides.
    Global(&'static str),
}

/// Every route with an id placeholder must be named here: a new one fails the test until
/// someone decides whose record it is.
fn record_of(path: &str) -> Option<Record> {
    use Record::*;
    let p = path.strip_prefix("/api/v1").unwrap_or(path);
    if !p.contains("{id}") {
        return None;
    }
    Some(if p.starts_with("/referrals/drafts/") {
        Own("draft")
    } else if p.starts_with("/referrals/{id}") {
        Casework("referral")
    } else if p.starts_with("/sessions/{id}") {
        Casework("session")
    } else if p.starts_with("/risk-alerts/{id}") {
        Casework("alert")
    } else if p.starts_with("/enforcement-reviews/{id}") {
        Casework("review")
    } else if p.starts_with("/linked-requirements/{id}") {
        Casework("linked")
    } else if p.starts_with("/signposting/{id}") {
        Casework("signposting")
    } else if p.starts_with("/retention/{id}") {
        Retention
    } else if p.starts_with("/practitioners/{id}") {
        Practitioner
    } else if p.starts_with("/leave/{id}") {
        Leave
    } else if p.starts_with("/account/sessions/{id}") {
        Own("session")
    } else if p.starts_with("/account/tokens/{id}") {
        Own("token")
    } else if p.starts_with("/admin/users/{id}") {
        Global("user")
    } else if p.starts_with("/admin/areas/{id}") || p.starts_with("/areas/{id}") {
        Global("area")
    } else if p.starts_with("/admin/outbox/{id}") {
        Global("outbox")
    } else if p.starts_with("/admin/reminders/{id}") || p.starts_with("/reminders/{id}") {
        // A failed reminder: an administrator of its area (404 outside it, as if none).
        Global("reminder")
    } else if p.starts_with("/admin/directory/{id}") || p.starts_with("/directory/{id}") {
        Global("directory")
    } else if p.starts_with("/admin/closures/{id}") {
        Global("closure")
    } else if p.starts_with("/people/merges/{id}") {
        Global("merge")
    } else {
        panic!("{path} has a record id but no scope case in access.rs: decide whose it is")
    })
}

struct Actor {
    role: Role,
    browser: Browser,
    token: String,
    user_id: String,
    /// A clinical lead of the demo areas who works none of the demo referrals (the demo's
    /// own clinical lead directs their treatment): asked for a reason first.
    off_caseload: bool,
}

fn first_id_in<'a>(rows: &'a [(String, String)], kind: &str) -> &'a str {
    &rows
        .iter()
        .find(|(k, _)| k == kind)
        .unwrap_or_else(|| panic!("the demo data has a {kind}"))
        .1
}

fn action_path(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(&format!("action=\"{prefix}"))? + "action=\"".len();
    let rest = &html[start + prefix.len()..];
    Some(rest[..rest.find('/')?].to_owned())
}

async fn try_route(actor: &Actor, method: &Method, path: &str) -> StatusCode {
    try_api(actor, &actor.token, method, path, None).await.0
}

/// A request as `actor`, with `token` for the API and, when given, an `Access-Reason`:
/// status, and the error code of an API refusal or where a page redirects.
async fn try_api(
    actor: &Actor,
    token: &str,
    method: &Method,
    path: &str,
    reason: Option<&str>,
) -> (StatusCode, Option<String>) {
    let b = &actor.browser;
    if path.starts_with("/api/") {
        let req = match *method {
            Method::GET => b.client.get(b.url(path)),
            Method::POST => b.client.post(b.url(path)).json(&serde_json::json!({})),
            Method::DELETE => b.client.delete(b.url(path)),
            ref other => panic!("no test for {other} routes yet"),
        };
        let req = match reason {
            Some(r) => req.header("Access-Reason", r),
            None => req,
        };
        let res = req.bearer_auth(token).send().await.expect("request");
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        (status, body["error"].as_str().map(str::to_owned))
    } else {
        page_as(b, method, path).await
    }
}

/// A page request in `browser`: status and where it redirects.
async fn page_as(browser: &Browser, method: &Method, path: &str) -> (StatusCode, Option<String>) {
    let csrf = (*method != Method::GET).then(|| browser.csrf());
    let res = send(browser, method, path, csrf).await;
    let to = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (res.status(), to)
}

/// Whether a page's answer sends the person to the reason page of `referral`.
fn asks_why(answer: &(StatusCode, Option<String>), referral: &str) -> bool {
    let reason_page = format!("/referrals/{referral}/reason");
    answer.0 == StatusCode::SEE_OTHER
        && answer
            .1
            .as_deref()
            .is_some_and(|to| to == reason_page || to.starts_with(&format!("{reason_page}?next=")))
}

/// Every route with a record id, every role, a record in the user's scope and one out of it.
/// Out of scope looks exactly like not found; a role the route does not name is refused;
/// councillors reach no record at all (aggregates only).
#[tokio::test]
async fn every_record_route_answers_by_role_and_scope() {
    use mhtr_pathway::db::schema::{
        directory_services, enforcement_reviews, linked_requirements, referrals, risk_alerts,
        signpostings, treatment_sessions, user_areas, users,
    };

    let app = spawn_app().await;
    // The demo data: its people and records are in Rutland, Melton and Harborough.
    app.with_db(|c| mhtr_pathway::demo::load(c, &app.state.hasher).expect("demo data"));
    let accounts = mhtr_pathway::demo::ACCOUNTS;
    let (referral, tom) = app.with_db(|c| {
        let tom: String = users::table
            .filter(users::email.eq(accounts[1].email))
            .select(users::id)
            .first(c)
            .unwrap();
        // The referral in treatment: made by the demo officer, allocated to the demo
        // psychologist, holding sessions, an alert, a review, linked requirements and
        // signposting.
        let referral: String = referrals::table
            .filter(referrals::allocated_ap_id.eq(&tom))
            .filter(referrals::status.eq("in_treatment"))
            .select(referrals::id)
            .first(c)
            .unwrap();
        (referral, tom)
    });
    // The referral the demo Liaison and Diversion practitioner made: the only kind of
    // record in their scope.
    let ld_referral: String = app.with_db(|c| {
        let ld = accounts
            .iter()
            .find(|a| a.role == Role::LiaisonDiversion)
            .expect("a demo practitioner");
        let ld: String = users::table
            .filter(users::email.eq(ld.email))
            .select(users::id)
            .first(c)
            .unwrap();
        referrals::table
            .filter(referrals::created_by.eq(&ld))
            .filter(referrals::status.eq("accepted"))
            .select(referrals::id)
            .first(c)
            .unwrap()
    });
    // Leave of the demo psychologist's, a month ahead.
    let leave = app.with_db(|c| {
        use mhtr_pathway::db::schema::practitioner_leave;
        let id = mhtr_pathway::ids::new_id();
        let from = mhtr_pathway::clock::today() + chrono::Duration::days(30);
        diesel::insert_into(practitioner_leave::table)
            .values((
                practitioner_leave::id.eq(&id),
                practitioner_leave::user_id.eq(&tom),
                practitioner_leave::starts_on.eq(from),
                practitioner_leave::ends_on.eq(from + chrono::Duration::days(4)),
                practitioner_leave::recorded_by.eq(&tom),
                practitioner_leave::recorded_at.eq(mhtr_pathway::clock::now()),
            ))
            .execute(c)
            .unwrap();
        id
    });
    // An exact identifier match on the referral, for the lead's identity decision.
    let link_id = app.with_db(|c| {
        use mhtr_pathway::db::schema::identity_links as l;
        let person: String = referrals::table
            .find(&referral)
            .select(referrals::person_id)
            .first(c)
            .unwrap();
        let id = mhtr_pathway::ids::new_id();
        diesel::insert_into(l::table)
            .values((
                l::id.eq(&id),
                l::referral_id.eq(&referral),
                l::person_id.eq(&person),
                l::matched_person_id.eq(&person),
                l::identifier.eq("crn"),
                l::details_agree.eq(true),
                l::status.eq("linked"),
                l::created_by.eq(&tom),
                l::created_at.eq(mhtr_pathway::clock::now()),
            ))
            .execute(c)
            .unwrap();
        id
    });
    let rows: Vec<(String, String)> = app.with_db(|c| {
        let mut rows = vec![("referral".to_owned(), referral.clone())];
        let one = |kind: &str, id: Option<String>| (kind.to_owned(), id.expect(kind));
        rows.push(one(
            "session",
            treatment_sessions::table
                .filter(treatment_sessions::referral_id.eq(&referral))
                .select(treatment_sessions::id)
                .first(c)
                .optional()
                .unwrap(),
        ));
        rows.push(one(
            "alert",
            risk_alerts::table
                .filter(risk_alerts::referral_id.eq(&referral))
                .select(risk_alerts::id)
                .first(c)
                .optional()
                .unwrap(),
        ));
        rows.push(one(
            "review",
            enforcement_reviews::table
                .filter(enforcement_reviews::referral_id.eq(&referral))
                .select(enforcement_reviews::id)
                .first(c)
                .optional()
                .unwrap(),
        ));
        rows.push(one(
            "linked",
            linked_requirements::table
                .filter(linked_requirements::referral_id.eq(&referral))
                .select(linked_requirements::id)
                .first(c)
                .optional()
                .unwrap(),
        ));
        rows.push(one(
            "signposting",
            signpostings::table
                .filter(signpostings::referral_id.eq(&referral))
                .select(signpostings::id)
                .first(c)
                .optional()
                .unwrap(),
        ));
        rows.push(one(
            "directory",
            directory_services::table
                .select(directory_services::id)
                .first(c)
                .optional()
                .unwrap(),
        ));
        rows
    });

    // Insiders: the demo people whose records these are. Outsiders: the same roles in an
    // area no demo person or record is in.
    let mut insiders = Vec::new();
    let mut second_sign_in = None;
    for account in accounts {
        let id: String = app.with_db(|c| {
            users::table
                .filter(users::email.eq(account.email))
                .select(users::id)
                .first(c)
                .unwrap()
        });
        let user = crate::helpers::TestUser {
            id: id.clone(),
            name: account.name.to_owned(),
            email: account.email.to_owned(),
            password: account.password.to_owned(),
            totp_secret: Some(account.totp_secret.to_owned()),
        };
        insiders.push(actor(&app, account.role, &user).await);
        if account.role == Role::ProbationOfficer {
            // A second session of the officer's, for the outsiders to try to end.
            app.allow_code_reuse(&user);
            let other = app.new_browser();
            other.sign_in(&user).await;
            second_sign_in = Some(other);
        }
    }
    // A second clinical lead of the demo areas, who works none of the demo referrals,
    // signed in twice: once giving a reason for the referral, then afresh (a reason counts
    // for the sessions and tokens that began before it was given).
    let second_lead = app.create_user(Role::ClinicalLead, &["Rutland", "Melton", "Harborough"]);
    let with_reason = app.new_browser();
    with_reason.sign_in(&second_lead).await;
    let res = with_reason
        .post(
            &format!("/referrals/{referral}/reason"),
            &[("reason", "Caseload audit for the area")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the reason is taken");
    app.allow_code_reuse(&second_lead);
    let mut off = actor(&app, Role::ClinicalLead, &second_lead).await;
    off.off_caseload = true;
    insiders.push(off);
    // An area of their own, which no demo user or record is in.
    let elsewhere = app.with_db(|c| {
        mhtr_pathway::areas::insert_area(c, "E99999999", "Elsewhere").expect("an area")
    });
    let mut outsiders = Vec::new();
    for role in Role::ALL {
        let user = app.create_user(*role, &["Oadby and Wigston"]);
        app.with_db(|c| {
            diesel::update(user_areas::table.filter(user_areas::user_id.eq(&user.id)))
                .set(user_areas::area_id.eq(&elsewhere))
                .execute(c)
                .expect("move the user to their own area")
        });
        if *role == Role::Admin {
            // An administrator of another area only: scoped, as every administrator made
            // on the pages is (tests/api/admin_scope.rs).
            app.with_db(|c| {
                mhtr_pathway::users::service::set_service_wide(
                    c,
                    &mhtr_pathway::audit::Actor::system("tests"),
                    &user.id,
                    false,
                )
                .expect("scoped")
            });
        }
        outsiders.push(actor(&app, *role, &user).await);
    }

    // The insiders' own things, which outsiders try to use.
    let po = &insiders[0];
    let res = send(
        &po.browser,
        &Method::POST,
        "/referrals/new",
        Some(po.browser.csrf()),
    )
    .await;
    let draft = crate::helpers::location(&res)
        .trim_start_matches("/referrals/drafts/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let account_page = po.browser.get_page("/account").await;
    let own_session = action_path(&account_page, "/account/sessions/").expect("a session");
    let own_token = action_path(&account_page, "/account/tokens/").expect("a token");

    let id_for = |record: Record, user: &Actor| -> String {
        match record {
            Record::Casework("referral") if user.role == Role::LiaisonDiversion => {
                ld_referral.clone()
            }
            Record::Casework(kind) => first_id_in(&rows, kind).to_owned(),
            Record::Retention => first_id_in(&rows, "referral").to_owned(),
            Record::Practitioner => tom.clone(),
            Record::Leave => leave.clone(),
            Record::Own("draft") => draft.clone(),
            Record::Own("session") => own_session.clone(),
            Record::Own(_) => own_token.clone(),
            Record::Global("user") => tom.clone(),
            Record::Global("area") => app.area_id("Rutland"),
            Record::Global("directory") => first_id_in(&rows, "directory").to_owned(),
            // No such record in the demo data: administrators are told it is not there.
            Record::Global(_) => format!("no-such-record-for-{}", user.user_id.len()),
        }
    };

    let mut checked = 0;
    for (method, path, access) in routes::declarations() {
        let Some(record) = record_of(path) else {
            continue;
        };
        let allowed: &[Role] = match access {
            Access::Staff(roles) | Access::Api(roles) => roles,
            other => panic!("{method} {path} names a record but is {other:?}"),
        };
        for (inside, actors) in [(true, &insiders), (false, &outsiders)] {
            for actor in actors.iter() {
                if matches!(record, Record::Own(_)) && inside {
                    // Using one's own session or token here would end the test's own sign-in.
                    continue;
                }
                let url = path
                    .replace("{id}", &id_for(record, actor))
                    .replace(
                        "{action}",
                        if path.starts_with("/admin/users") {
                            "enable"
                        } else {
                            "accept"
                        },
                    )
                    .replace("{step}", "person")
                    .replace("{link_id}", &link_id)
                    .replace("{instrument}", "phq9");
                let answer = try_api(actor, &actor.token, &method, &url, None).await;
                let status = answer.0;
                let role = actor.role;
                let what = format!(
                    "{role} ({}) on {method} {url} [{path}]",
                    if inside { "in scope" } else { "out of scope" }
                );
                assert!(!status.is_server_error(), "{what}: {status}");
                if role == Role::Councillor {
                    assert!(
                        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                        "councillors reach no record: {what}: {status}"
                    );
                }
                if !allowed.contains(&role) {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                } else {
                    match (record, inside) {
                        // The outbox and service closures span every area: service-wide
                        // administrators only.
                        (Record::Global("outbox" | "closure"), false) => {
                            assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                        }
                        // A user or area outside a scoped administrator's organisation
                        // and areas answers exactly like one that does not exist.
                        (Record::Global("user" | "area"), false) => {
                            let ghost = url.replace(
                                &id_for(record, actor),
                                "00000000-0000-0000-0000-000000000000",
                            );
                            let nothing = try_route(actor, &method, &ghost).await;
                            assert_eq!(status, nothing, "{what}: differs from a missing record");
                            assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
                        }
                        (Record::Global(_), _) => {
                            assert_ne!(status, StatusCode::FORBIDDEN, "{what}");
                        }
                        (Record::Practitioner, false) => assert!(
                            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                            "{what}: {status}"
                        ),
                        // Out of scope looks exactly like not found: the same answer as
                        // for an id that names nothing (a 404, or the same refusal of
                        // the body that comes before any record is looked up).
                        (_, false) => {
                            let ghost = url.replace(
                                &id_for(record, actor),
                                "00000000-0000-0000-0000-000000000000",
                            );
                            let nothing = try_route(actor, &method, &ghost).await;
                            assert_eq!(status, nothing, "{what}: differs from a missing record");
                            assert!(status.is_client_error(), "{what}: {status}");
                        }
                        // A clinical lead of the demo areas who works none of the demo
                        // referrals is asked for the reason first, on every page and API
                        // call on one or on a record of one (on the API with a fresh token,
                        // as a reason given remains for the token's life), unless the request
                        // is refused for its body before any record is looked up; with the
                        // reason it goes ahead.
                        (Record::Casework(_), true)
                            if actor.off_caseload && !path.ends_with("/reason") =>
                        {
                            if !url.starts_with("/api/") {
                                let asked = page_as(&actor.browser, &method, &url).await;
                                assert!(asks_why(&asked, &referral), "{what}: {asked:?}");
                                let given = page_as(&with_reason, &method, &url).await;
                                assert!(
                                    given.0 != StatusCode::NOT_FOUND
                                        && !asks_why(&given, &referral),
                                    "{what}: with a reason: {given:?}"
                                );
                                checked += 1;
                                continue;
                            }
                            let uid = actor.user_id.clone();
                            let (fresh, _) = app.with_db(|c| {
                                mhtr_pathway::auth::tokens::issue(c, &uid, 1).expect("token")
                            });
                            let (asked, code) = try_api(actor, &fresh, &method, &url, None).await;
                            let ghost = url.replace(
                                &id_for(record, actor),
                                "00000000-0000-0000-0000-000000000000",
                            );
                            let (nothing, _) = try_api(actor, &fresh, &method, &ghost, None).await;
                            let body_refused = method != Method::GET
                                && asked == nothing
                                && nothing != StatusCode::NOT_FOUND;
                            assert!(
                                (asked, code.as_deref())
                                    == (StatusCode::FORBIDDEN, Some("reason_required"))
                                    || body_refused,
                                "{what}: no reason given: {asked} {code:?}"
                            );
                            let (given, code) = try_api(
                                actor,
                                &fresh,
                                &method,
                                &url,
                                Some("Caseload audit for the area"),
                            )
                            .await;
                            assert!(
                                given != StatusCode::NOT_FOUND
                                    && code.as_deref() != Some("reason_required"),
                                "{what}: with a reason: {given} {code:?}"
                            );
                        }
                        // Everyone else who reaches a record is not asked: the demo's
                        // clinical lead directs the referral's treatment, so it is on their
                        // caseload.
                        (Record::Casework(_), true) => {
                            assert!(
                                answer.0 != StatusCode::NOT_FOUND
                                    && answer.1.as_deref() != Some("reason_required")
                                    && !asks_why(&answer, &referral),
                                "{what}: the record is in scope, and no reason is asked: {answer:?}"
                            );
                        }
                        (_, true) => assert!(
                            status != StatusCode::NOT_FOUND,
                            "{what}: the record is in scope"
                        ),
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked} checks");
    // Nothing the outsiders did reached the insiders' things.
    let account_page = po.browser.get_page("/account").await;
    assert!(
        account_page.contains(&own_session),
        "the session still stands"
    );
    let other = second_sign_in.expect("signed in twice");
    assert_eq!(
        other.get("/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    assert!(account_page.contains(&own_token), "the token still stands");
    let res = po
        .browser
        .get(&format!("/referrals/drafts/{draft}/person"))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the draft still stands");
}

async fn actor(
    app: &crate::helpers::TestApp,
    role: Role,
    user: &crate::helpers::TestUser,
) -> Actor {
    let browser = app.new_browser();
    browser.sign_in(user).await;
    let uid = user.id.clone();
    let (token, _) = app.with_db(|c| mhtr_pathway::auth::tokens::issue(c, &uid, 1).expect("token"));
    Actor {
        role,
        browser,
        token,
        user_id: user.id.clone(),
        off_caseload: false,
    }
}

#[tokio::test]
async fn the_accessibility_statement_has_the_sections_the_regulations_expect() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.service.provider = "Rutland Community Safety Partnership".into();
        s.service.contact_email = "access@rutland.example".into();
    })
    .await;
    let page = app.new_browser().get_page("/accessibility").await;
    for section in [
        "How accessible this service is",
        "Feedback and contact information",
        "Reporting accessibility problems with this service",
        "Enforcement procedure",
        "Compliance status",
        "partially compliant",
        "Non-accessible content",
        "Non-compliance with the accessibility regulations",
        "not within the scope of the accessibility regulations",
        "This statement was prepared on",
        "Equality and Human Rights Commission",
        "This service is run by Rutland Community Safety Partnership.",
        "mailto:access@rutland.example",
    ] {
        assert!(page.contains(section), "statement lacks {section:?}");
    }

    // Unconfigured, it says who to tell rather than leaving a blank.
    let app = spawn_app().await;
    let page = app.new_browser().get_page("/accessibility").await;
    assert!(page.contains("run by the organisation that runs this service"));
    assert!(page.contains("tell your service administrator"));
    assert!(!page.contains("mailto:"));
}
