//! The referral tests' view of the main harness: a fresh application on a fresh database per
//! test, started and stopped by [`crate::helpers`], with users made directly in the
//! database, browsers that keep cookies and never follow redirects, and bearer tokens
//! issued directly.

use actix_web::web;
use chrono::Duration;
use diesel::prelude::*;
use mhtr_pathway::areas::{self, OrganisationKind};
use mhtr_pathway::audit::Actor;
use mhtr_pathway::auth::password::Password;
use mhtr_pathway::auth::{tokens, totp};
use mhtr_pathway::db::schema::users;
use mhtr_pathway::settings::Settings;
use mhtr_pathway::state::AppState;
use mhtr_pathway::users::forms::{Email, UserInput};
use mhtr_pathway::users::model::{AdminScope, MfaState, Role, VettingLevel};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Instance, TestDatabase, start_server};

pub const PASSWORD: &str = "copper lantern meadow thistle";

static PASSWORD_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// An application on a fresh database of its own, made by the main harness
/// ([`crate::helpers::TestDatabase`], [`crate::helpers::start_server`]), with two areas and
/// an organisation. Dropping it stops the server, then drops the database.
pub struct TestApp {
    pub base: String,
    pub state: web::Data<AppState>,
    pub area_a: String,
    pub area_b: String,
    pub org: String,
    _server: Instance,
    _db: TestDatabase,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the test settings adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::new();
    let mut settings =
        Settings::from_toml(include_str!("../../../config/test.toml")).expect("test settings");
    settings.database.url = db.url().to_owned();
    adjust(&mut settings);
    let (state, server) = start_server(settings).await;
    let (area_a, area_b, org) = state
        .db
        .run(|c| {
            Ok((
                areas::insert_area(c, "E06000017", "Rutland")?,
                areas::insert_area(c, "E07000133", "Melton")?,
                areas::insert_organisation(c, "Test partner", OrganisationKind::Other)?,
            ))
        })
        .await
        .expect("areas");
    TestApp {
        base: server.address.clone(),
        state,
        area_a,
        area_b,
        org,
        _server: server,
        _db: db,
    }
}

/// A user made for a test, with what it takes to sign in.
#[derive(Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub totp_secret: String,
    pub password: String,
}

impl TestApp {
    /// Runs `f` on the test's database.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut mhtr_pathway::db::DbConn) -> T + Send + 'static,
    ) -> T {
        self.state.db.run(move |c| Ok(f(c))).await.unwrap()
    }

    /// Disables a user's account, as an administrator would.
    pub async fn disable(&self, user_id: &str) {
        let id = user_id.to_owned();
        self.with_db(move |c| {
            use mhtr_pathway::db::schema::users;
            diesel::update(users::table.find(&id))
                .set(users::disabled_at.eq(Some(mhtr_pathway::clock::now())))
                .execute(c)
                .unwrap();
        })
        .await;
    }

    pub async fn create_user(&self, role: Role, name: &str, areas: &[&str]) -> TestUser {
        let email = format!("{}@test.example", name.to_lowercase().replace(' ', "."));
        // One hash for the whole run: hashing is deliberately slow.
        let hash = PASSWORD_HASH
            .get_or_init(|| {
                self.state
                    .hasher
                    .hash_now(&Password::for_sign_in(PASSWORD.to_owned()))
                    .expect("hash")
            })
            .clone();
        let secret = totp::new_secret();
        let input = UserInput {
            name: name.to_owned(),
            email: Email::parse(&email).expect("email"),
            role,
            organisation_id: self.org.clone(),
            area_ids: areas.iter().map(|a| a.to_string()).collect(),
            hcpc_number: (role == Role::ClinicalLead).then(|| "PYL012345".to_owned()),
            vetting: Some((
                VettingLevel::Nppv2,
                chrono::Utc::now().date_naive() + Duration::days(365),
            )),
        };
        let s = secret.clone();
        let id = self
            .state
            .db
            .write(move |c| {
                let u = mhtr_pathway::users::service::create(
                    c,
                    &AdminScope::everywhere(),
                    &Actor::system("test"),
                    &input,
                    Some(&hash),
                )?;
                diesel::update(users::table.find(&u.id))
                    .set((
                        users::mfa_state.eq(MfaState::Enrolled),
                        users::totp_secret.eq(Some(s)),
                        // Administrators here are the command line's first: service-wide.
                        users::service_wide.eq(role == Role::Admin),
                    ))
                    .execute(c)?;
                Ok(u.id)
            })
            .await
            .expect("user");
        TestUser {
            id,
            email,
            name: name.to_owned(),
            totp_secret: secret,
            password: PASSWORD.to_owned(),
        }
    }

    /// A user made by the demo loader, with its known credentials.
    pub fn demo_user(&self, account: &mhtr_pathway::demo::DemoAccount) -> TestUser {
        TestUser {
            id: String::new(),
            email: account.email.to_owned(),
            name: account.name.to_owned(),
            totp_secret: account.totp_secret.to_owned(),
            password: account.password.to_owned(),
        }
    }

    /// A browser signed in as `user` through the sign-in pages.
    pub async fn browser(&self, user: &TestUser) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut b = Browser {
            base: self.base.clone(),
            client,
            csrf: String::new(),
        };
        let page = b.get("/sign-in").await.1;
        b.csrf = csrf_of(&page);
        let (status, loc, body) = b
            .post_raw(
                "/sign-in",
                &[("email", &user.email), ("password", &user.password)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "password step: {body}");
        assert_eq!(loc, "/sign-in/code");
        let page = b.get("/sign-in/code").await.1;
        b.csrf = csrf_of(&page);
        let code = totp::code_now(&user.totp_secret).expect("code");
        let (status, loc, _) = b.post_raw("/sign-in/code", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "code step");
        assert_eq!(loc, "/");
        let page = b.get("/").await.1;
        b.csrf = csrf_of(&page);
        b
    }

    /// An API client with a bearer token issued directly.
    pub async fn api(&self, user: &TestUser) -> Api {
        let uid = user.id.clone();
        let (token, _) = self
            .state
            .db
            .write(move |c| tokens::issue(c, &uid, 1))
            .await
            .expect("token");
        Api {
            base: self.base.clone(),
            client: reqwest::Client::new(),
            token,
            access_reason: None,
        }
    }
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    html.find(marker)
        .map(|i| {
            let rest = &html[i + marker.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_owned()
        })
        .unwrap_or_default()
}

pub struct Browser {
    base: String,
    client: reqwest::Client,
    csrf: String,
}

impl Browser {
    /// A GET. A clinical lead opening a referral off their own caseload, or a page about one
    /// of its records, is asked why first: this answers with a reason and fetches the page
    /// again, as a person would (`get_with_location` shows the question itself).
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let (status, loc, body) = self.get_with_location(path).await;
        if let Some(reason_page) = asked_why(status, &loc, path) {
            self.give_reason(&reason_page).await;
            let (status, _, body) = self.get_with_location(path).await;
            return (status, body);
        }
        (status, body)
    }

    /// A download: status and the bytes as sent.
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = r.status();
        (status, r.bytes().await.expect("body").to_vec())
    }

    async fn give_reason(&self, reason_page: &str) {
        let (status, _, body) = self
            .post_raw(reason_page, &[("reason", "Reviewing the area's referrals")])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "reason accepted: {body}");
    }

    async fn post_raw(&self, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut form: Vec<(&str, &str)> = pairs.to_vec();
        form.push(("csrf_token", &self.csrf));
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .expect("request");
        let loc = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (r.status(), loc, r.text().await.unwrap_or_default())
    }

    /// A GET that reports where it redirects: status, location, body.
    pub async fn get_with_location(&self, path: &str) -> (StatusCode, String, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let loc = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (r.status(), loc, r.text().await.unwrap_or_default())
    }

    /// Posts a form with the session's CSRF token: status, redirect location, body. Asked
    /// why first (a clinical lead off their caseload), it answers and sends the form again,
    /// as `get` does.
    pub async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String, String) {
        let (status, loc, body) = self.post_raw(path, pairs).await;
        if let Some(reason_page) = asked_why(status, &loc, path) {
            self.give_reason(&reason_page).await;
            return self.post_raw(path, pairs).await;
        }
        (status, loc, body)
    }
}

/// The reason page an answer to `path` sends the person to, if it does.
fn asked_why(status: StatusCode, loc: &str, path: &str) -> Option<String> {
    let page = loc.split('?').next().unwrap_or("");
    (status == StatusCode::SEE_OTHER
        && page.starts_with("/referrals/")
        && page.ends_with("/reason")
        && !path.split('?').next().unwrap_or("").ends_with("/reason"))
    .then(|| page.to_owned())
}

/// What the clinical leads of these tests say when working referrals off their own caseload
/// (screening, allocation, treatment oversight).
pub const LEAD_REASON: &str = "Screening and treatment oversight for the area";

pub struct Api {
    base: String,
    client: reqwest::Client,
    token: String,
    /// Sent as `Access-Reason` with every request, as a clinical lead's client working
    /// referrals off their caseload would.
    access_reason: Option<String>,
}

impl Api {
    /// This client, saying why with every request (the `Access-Reason` header).
    pub fn giving_reason(mut self, reason: &str) -> Self {
        self.access_reason = Some(reason.to_owned());
        self
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        match &self.access_reason {
            Some(r) => req.header("Access-Reason", r),
            None => req,
        }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// A GET with these headers besides the token: status and body as text.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
        let mut req = self.request(reqwest::Method::GET, path);
        for (name, value) in headers {
            // As bytes: a reason may be any UTF-8 text, not only ASCII.
            let value = reqwest::header::HeaderValue::from_bytes(value.as_bytes()).expect("header");
            req = req.header(*name, value);
        }
        let r = req.send().await.expect("request");
        (r.status(), r.text().await.unwrap_or_default())
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.post_with_key(path, body, None).await
    }

    pub async fn post_with_key(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.request(reqwest::Method::POST, path).json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.expect("request");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}
