//! A clinical lead's reason for looking at a referral off their own caseload (DPA 2018 s.62)
//! on every page and API call that reaches it through one of its records: treatment
//! sessions, risk alerts, enforcement reviews, linked requirements, onward support, and the
//! referral's own action and amendment forms. On the demo data: its clinical lead directs
//! the treatment of every demo order, so those referrals are on their caseload; a second
//! clinical lead of the same areas works none of them.

use actix_web::http::Method;
use diesel::prelude::*;
use mhtr_pathway::audit::AuditRow;
use mhtr_pathway::db::schema::{
    enforcement_reviews, linked_requirements, people, referrals, risk_alerts, signpostings,
    treatment_sessions, users,
};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp, TestUser, location, spawn_app, unescape};

/// Where a response redirects, if it does.
fn redirect_of(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

const REASON: &str = "Covering the team's safeguarding reviews";

/// The demo referral in treatment and its records.
struct Demo {
    app: TestApp,
    referral: String,
    person: String,
    session: String,
    alert: String,
    review: String,
    linked: String,
    signposting: String,
    /// The demo's clinical lead: the treatment director of the referral.
    director: TestUser,
    /// A clinical lead of the same areas, who works none of the demo referrals.
    other_lead: TestUser,
}

fn demo_user(app: &TestApp, role: Role) -> TestUser {
    let account = mhtr_pathway::demo::ACCOUNTS
        .iter()
        .find(|a| a.role == role)
        .expect("a demo account");
    let id: String = app.with_db(|c| {
        users::table
            .filter(users::email.eq(account.email))
            .select(users::id)
            .first(c)
            .unwrap()
    });
    TestUser {
        id,
        name: account.name.to_owned(),
        email: account.email.to_owned(),
        password: account.password.to_owned(),
        totp_secret: Some(account.totp_secret.to_owned()),
    }
}

async fn demo() -> Demo {
    let app = spawn_app().await;
    app.with_db(|c| mhtr_pathway::demo::load(c, &app.state.hasher).expect("demo data"));
    let ap = demo_user(&app, Role::AssistantPsychologist);
    let (referral, person) = app.with_db(|c| {
        referrals::table
            .inner_join(people::table)
            .filter(referrals::allocated_ap_id.eq(&ap.id))
            .filter(referrals::status.eq("in_treatment"))
            .select((referrals::id, people::family_name))
            .first::<(String, String)>(c)
            .unwrap()
    });
    let of = |c: &mut mhtr_pathway::db::DbConn, table: &str| -> String {
        let r = referral.as_str();
        match table {
            "session" => treatment_sessions::table
                .filter(treatment_sessions::referral_id.eq(r))
                .filter(treatment_sessions::status.eq("booked"))
                .select(treatment_sessions::id)
                .first(c),
            "alert" => risk_alerts::table
                .filter(risk_alerts::referral_id.eq(r))
                .select(risk_alerts::id)
                .first(c),
            "review" => enforcement_reviews::table
                .filter(enforcement_reviews::referral_id.eq(r))
                .select(enforcement_reviews::id)
                .first(c),
            "linked" => linked_requirements::table
                .filter(linked_requirements::referral_id.eq(r))
                .select(linked_requirements::id)
                .first(c),
            _ => signpostings::table
                .filter(signpostings::referral_id.eq(r))
                .select(signpostings::id)
                .first(c),
        }
        .unwrap_or_else(|e| panic!("the demo referral has a {table}: {e}"))
    };
    let (session, alert, review, linked, signposting) = app.with_db(|c| {
        (
            of(c, "session"),
            of(c, "alert"),
            of(c, "review"),
            of(c, "linked"),
            of(c, "signposting"),
        )
    });
    let director = demo_user(&app, Role::ClinicalLead);
    let other_lead = app.create_user(Role::ClinicalLead, &["Rutland", "Melton", "Harborough"]);
    Demo {
        app,
        referral,
        person,
        session,
        alert,
        review,
        linked,
        signposting,
        director,
        other_lead,
    }
}

impl Demo {
    /// Every page that shows the referral's personal data, other than the referral page.
    fn pages(&self) -> Vec<String> {
        let (r, s, l) = (&self.referral, &self.session, &self.linked);
        vec![
            format!("/referrals/{r}/actions/end_treatment"),
            format!("/referrals/{r}/amend"),
            format!("/referrals/{r}/sessions/add"),
            format!("/referrals/{r}/practitioner-report"),
            format!("/sessions/{s}/reschedule"),
            format!("/sessions/{s}/cancel"),
            format!("/sessions/{s}/attendance"),
            format!("/sessions/{s}/measures/phq9"),
            format!("/risk-alerts/{}/acknowledge", self.alert),
            format!("/referrals/{r}/linked-requirements/new"),
            format!("/linked-requirements/{l}"),
            format!("/linked-requirements/{l}/status"),
            format!("/linked-requirements/{l}/activity"),
            format!("/referrals/{r}/signposting/new"),
            format!("/signposting/{}/update", self.signposting),
            format!("/referrals/{r}/no-onward-support"),
        ]
    }

    fn reason_page(&self) -> String {
        format!("/referrals/{}/reason", self.referral)
    }

    /// The audit entries about the referral by `user`, oldest first.
    fn entries_by(&self, user: &TestUser) -> Vec<AuditRow> {
        self.app
            .audit_events()
            .into_iter()
            .filter(|e| e.actor_user_id.as_deref() == Some(user.id.as_str()))
            .filter(|e| e.record_id.as_deref() == Some(self.referral.as_str()))
            .collect()
    }

    async fn browser(&self, user: &TestUser) -> Browser {
        // Several sign-ins of one user in a test: each may use the current code.
        self.app.allow_code_reuse(user);
        let b = self.app.new_browser();
        b.sign_in(user).await;
        b
    }

    async fn token(&self, user: &TestUser) -> String {
        let uid = user.id.clone();
        self.app
            .with_db(|c| mhtr_pathway::auth::tokens::issue(c, &uid, 1).expect("token"))
            .0
    }

    async fn api(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Value,
        reason: Option<&str>,
    ) -> (StatusCode, Value) {
        let client = reqwest::Client::new();
        let url = format!("{}{path}", self.app.address);
        let req = match method {
            Method::GET => client.get(url),
            _ => client.post(url).json(&body),
        };
        let req = match reason {
            Some(r) => req.header("Access-Reason", r),
            None => req,
        };
        let res = req.bearer_auth(token).send().await.expect("request");
        let status = res.status();
        (status, res.json().await.unwrap_or_default())
    }

    fn session_version(&self) -> i64 {
        self.app.with_db(|c| {
            treatment_sessions::table
                .find(&self.session)
                .select(treatment_sessions::version)
                .first(c)
                .unwrap()
        })
    }
}

fn next_of(path: &str) -> String {
    serde_urlencoded::to_string([("next", path)]).unwrap()
}

#[tokio::test]
async fn every_page_of_a_referral_off_the_caseload_asks_why_first_and_comes_back() {
    let d = demo().await;
    let lead = d.browser(&d.other_lead).await;

    // Each page sends the lead to the referral's reason page, naming where they were
    // going; nothing of the person is shown and nothing is recorded as seen.
    for path in d.pages() {
        let res = lead.get(&path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            location(&res),
            format!("{}?{}", d.reason_page(), next_of(&path)),
            "{path}"
        );
        let body = res.text().await.unwrap();
        assert!(!body.contains(&d.person), "{path}: {body}");
    }
    // A form sent without a reason changes nothing, and comes back to the form.
    let before = d.session_version();
    let res = lead
        .post(
            &format!("/sessions/{}/cancel", d.session),
            &[
                ("version", &before.to_string()),
                ("cancel_reason", "practitioner_unavailable"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        format!(
            "{}?{}",
            d.reason_page(),
            next_of(&format!("/sessions/{}/cancel", d.session))
        )
    );
    assert_eq!(d.session_version(), before, "nothing changed");
    let seen = d.entries_by(&d.other_lead);
    assert!(seen.is_empty(), "nothing recorded: {seen:?}");

    // The reason page carries the way back, and takes the lead there with the reason.
    let attendance = format!("/sessions/{}/attendance", d.session);
    let page = lead
        .get_page(&format!("{}?{}", d.reason_page(), next_of(&attendance)))
        .await;
    assert!(
        unescape(&page).contains(&format!(
            "<input type=\"hidden\" name=\"next\" value=\"{attendance}\">"
        )),
        "{page}"
    );
    assert!(
        !page.contains(&d.person),
        "no personal data before a reason"
    );
    let res = lead
        .post(
            &d.reason_page(),
            &[("reason", REASON), ("next", &attendance)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), attendance);

    // A way back that leaves the referral's pages is not followed.
    for elsewhere in ["https://example.com/", "//example.com/x", "/admin/users"] {
        let res = lead
            .post(&d.reason_page(), &[("reason", REASON), ("next", elsewhere)])
            .await;
        assert_eq!(
            location(&res),
            format!("/referrals/{}", d.referral),
            "{elsewhere}"
        );
    }

    // Given once, the reason holds for every page of the referral this session, and each
    // view is recorded with it.
    for path in d.pages() {
        let res = lead.get(&path).await;
        let status = res.status();
        let to = redirect_of(&res);
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "{path}: {status} {to}"
        );
        if status == StatusCode::OK {
            let body = res.text().await.unwrap();
            assert!(body.contains(&d.person), "{path} shows the person");
        }
    }
    let views: Vec<AuditRow> = d
        .entries_by(&d.other_lead)
        .into_iter()
        .filter(|e| matches!(e.event.as_str(), "referral.viewed" | "linked.viewed"))
        .collect();
    assert!(views.len() >= 10, "{views:?}");
    for v in &views {
        assert_eq!(v.reason.as_deref(), Some(REASON), "{v:?}");
    }

    // The form goes ahead now.
    let res = lead
        .post(
            &format!("/sessions/{}/cancel", d.session),
            &[
                ("version", &before.to_string()),
                ("cancel_reason", "practitioner_unavailable"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        format!("/referrals/{}#sessions", d.referral)
    );
    assert_eq!(d.session_version(), before + 1, "cancelled");

    // A new sign-in asks again.
    let again = d.browser(&d.other_lead).await;
    let res = again
        .get(&format!("/linked-requirements/{}", d.linked))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with(&d.reason_page()));
}

#[tokio::test]
async fn the_treatment_director_and_other_roles_are_not_asked() {
    let d = demo().await;

    // The demo's clinical lead directs the referral's treatment: it is on their caseload.
    let director = d.browser(&d.director).await;
    for path in d.pages() {
        let res = director.get(&path).await;
        assert!(
            res.status() == StatusCode::OK || res.status() == StatusCode::CONFLICT,
            "{path}: {} {}",
            res.status(),
            redirect_of(&res)
        );
    }
    let res = director.get(&format!("/referrals/{}", d.referral)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let entries = d.entries_by(&d.director);
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e.reason.is_none()),
        "no reason on the director's views: {entries:?}"
    );
    let token = d.token(&d.director).await;
    let (status, body) = d
        .api(
            &token,
            Method::GET,
            &format!("/api/v1/linked-requirements/{}", d.linked),
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The allocated psychologist and the probation officer holding the referral.
    let ap = d
        .browser(&demo_user(&d.app, Role::AssistantPsychologist))
        .await;
    let res = ap.get(&format!("/sessions/{}/attendance", d.session)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let po = d.browser(&demo_user(&d.app, Role::ProbationOfficer)).await;
    for path in [
        format!("/linked-requirements/{}", d.linked),
        format!("/enforcement-reviews/{}/decision", d.review),
    ] {
        let res = po.get(&path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn api_calls_on_a_record_of_a_referral_off_the_caseload_ask_first() {
    let d = demo().await;
    let token = d.token(&d.other_lead).await;
    let version = d.session_version();
    let calls = [
        (
            Method::GET,
            format!("/api/v1/linked-requirements/{}", d.linked),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/v1/linked-requirements/{}/activity", d.linked),
            json!({"on_date": "2026-01-05", "kind": "note", "note": "Spoke to the provider"}),
        ),
        (
            Method::POST,
            format!("/api/v1/linked-requirements/{}/status", d.linked),
            json!({"status": "revoked"}),
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{}/cancel", d.session),
            json!({"version": version, "cancel_reason": "practitioner_unavailable"}),
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{}/reschedule", d.session),
            json!({"version": version, "new_date": "2030-01-07", "new_time": "10:00", "party": "service", "reason": "Diary"}),
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{}/attendance", d.session),
            json!({"version": version, "happened": true, "attendance": "attended"}),
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{}/measures", d.session),
            json!({"instrument": "phq9", "stage": "mid", "answers": [0, 0, 0, 0, 0, 0, 0, 0, 0]}),
        ),
        (
            Method::POST,
            format!("/api/v1/signposting/{}", d.signposting),
            json!({"version": 0, "status": "accepted"}),
        ),
    ];
    for (method, path, body) in &calls {
        let (status, answer) = d
            .api(&token, method.clone(), path, body.clone(), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(answer["error"], "reason_required", "{method} {path}");
        assert!(!answer.to_string().contains(&d.person));
    }
    assert_eq!(d.session_version(), version, "nothing changed");
    assert!(d.entries_by(&d.other_lead).is_empty(), "nothing recorded");

    // A bad reason is refused on the header, as on the referral's own calls.
    let (status, answer) = d
        .api(&token, Method::GET, &calls[0].1, json!({}), Some("  "))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");

    // With a reason: shown, and the view carries it.
    let (status, answer) = d
        .api(&token, Method::GET, &calls[0].1, json!({}), Some(REASON))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let viewed: Vec<Option<String>> = d
        .entries_by(&d.other_lead)
        .into_iter()
        .filter(|e| e.event == "linked.viewed")
        .map(|e| e.reason)
        .collect();
    assert_eq!(viewed, [Some(REASON.to_owned())]);
    // Remembered for the token: a change goes ahead without the header now.
    let (status, answer) = d
        .api(&token, Method::POST, &calls[3].1, calls[3].2.clone(), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(d.session_version(), version + 1);

    // Out of scope is still not found, reason or not, as a record that does not exist.
    let far = d
        .app
        .create_user(Role::ClinicalLead, &["Oadby and Wigston"]);
    let far = d.token(&far).await;
    for reason in [None, Some(REASON)] {
        let (s1, b1) = d
            .api(&far, Method::GET, &calls[0].1, json!({}), reason)
            .await;
        let ghost = "/api/v1/linked-requirements/00000000-0000-0000-0000-000000000000";
        let (s2, b2) = d.api(&far, Method::GET, ghost, json!({}), reason).await;
        assert_eq!(s1, StatusCode::NOT_FOUND, "{b1}");
        assert_eq!((s1, b1), (s2, b2));
    }
}
