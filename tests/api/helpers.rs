//! The test harness: a fresh application on a fresh database for every test (a temporary
//! SQLite file, or a new PostgreSQL database when `TEST_DATABASE_URL` is set), browsers that
//! keep cookies but never follow redirects, and typed helpers for users, sign-in, reading
//! pages and moving time.

pub mod notify;
pub mod smtp;

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::web;
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use mhtr_pathway::areas;
use mhtr_pathway::audit::Actor;
use mhtr_pathway::auth::password::Password;
use mhtr_pathway::auth::session::SessionRow;
use mhtr_pathway::auth::totp;
use mhtr_pathway::db::schema::{sessions, sign_in_attempts, users};
use mhtr_pathway::db::{self, DatabaseUrl, DbConn};
use mhtr_pathway::settings::Settings;
use mhtr_pathway::startup::Application;
use mhtr_pathway::state::AppState;
use mhtr_pathway::users::forms::{Email, UserInput};
use mhtr_pathway::users::model::{AdminScope, MfaState, Role, User, VettingLevel};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode, Url};

/// The password of every user made by [`TestApp::create_user`]: hashed once per test run.
pub const PASSWORD: &str = "copper lantern meadow thistle";

static PASSWORD_HASH: OnceLock<String> = OnceLock::new();

// ------------------------------------------------------------------------- databases

/// A database of its own for one test, removed when dropped.
pub enum TestDatabase {
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
    Postgres {
        url: String,
        admin_url: String,
        name: String,
    },
}

impl TestDatabase {
    pub fn new() -> Self {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.trim().is_empty() => {
                let name = format!("mhtr_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&admin_url)
                    .expect("TEST_DATABASE_URL must name a reachable PostgreSQL server");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create the test database");
                Self::Postgres {
                    url: fast_commits(&with_database_name(&admin_url, &name)),
                    admin_url,
                    name,
                }
            }
            _ => {
                // Memory-backed when the system has it: the tests need no durability, and
                // SQLite's synchronous=FULL commits would otherwise wait on the disk.
                let shm = std::path::Path::new("/dev/shm");
                let dir = if shm.is_dir() {
                    tempfile::TempDir::new_in(shm)
                } else {
                    tempfile::TempDir::new()
                }
                .expect("create a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self::Sqlite { url, _dir: dir }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// The backend under test, as `/healthz` names it.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }

    pub fn connect(&self) -> DbConn {
        let url = DatabaseUrl::parse(self.url()).expect("test database URL parses");
        db::connect(&url).expect("connect to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            let dropped = diesel::PgConnection::establish(admin_url).and_then(|mut c| {
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c)
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
            });
            if let Err(e) = dropped {
                eprintln!("could not drop test database {name}: {e}");
            }
        }
    }
}

/// Test data need not survive a power cut: commits do not wait for the disk.
fn fast_commits(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20synchronous_commit%3Doff")
}

/// The admin URL with its database name replaced (any query string is kept).
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[authority_start..]
        .find('/')
        .map(|i| authority_start + i)
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..host_end])
}

// ------------------------------------------------------------------------- the app

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub state: web::Data<AppState>,
    area_ids: HashMap<String, String>,
    org_ids: HashMap<String, String>,
    next_user: AtomicUsize,
    /// Held so the server stops when the app is dropped, before its database goes.
    _server: Instance,
    // Last: the database outlives everything that uses it.
    pub db: TestDatabase,
}

/// A user made directly in the database, with credentials the tests know.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub password: String,
    /// `None` until the user has an authenticator.
    pub totp_secret: Option<String>,
}

impl TestUser {
    pub fn code_now(&self) -> String {
        let secret = self
            .totp_secret
            .as_deref()
            .expect("this user has no authenticator");
        totp::code_now(secret).expect("the secret is base32")
    }
}

/// An application whose email goes by SMTP, without TLS, to `server`.
pub async fn spawn_app_with_smtp(
    server: &smtp::SmtpServer,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let port = server.port();
    spawn_app_with(move |s| {
        s.email.transport = mhtr_pathway::settings::EmailTransport::Smtp;
        s.email.smtp.host = "127.0.0.1".into();
        s.email.smtp.port = port;
        s.email.smtp.tls = mhtr_pathway::settings::SmtpTls::None;
        s.email.smtp.timeout_secs = 5;
        adjust(s);
    })
    .await
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server: its state, and the running instance (stopped when dropped).
pub(crate) async fn start_server(mut settings: Settings) -> (web::Data<AppState>, Instance) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    // The address the server is reached at, as a deployment configures it: links in emails
    // and the Origin a browser sends are checked against it.
    settings.server.base_url = format!("http://127.0.0.1:{port}");
    let (state_tx, state_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // The server gets a thread and an actix system of its own, so it runs exactly as under
    // `#[actix_web::main]` (see health::the_server_runs_under_a_plain_tokio_runtime).
    let server = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = match Application::build_with_listener(settings, listener).await {
                Ok(app) => app,
                Err(e) => {
                    let _ = state_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = state_tx.send(Ok(app.state()));
            tokio::select! {
                result = app.run_until_stopped() => {
                    if let Err(e) = result {
                        eprintln!("test server stopped: {e}");
                    }
                }
                _ = stop_rx => {}
            }
        });
    });
    let state = state_rx
        .await
        .expect("the server thread reports back")
        .unwrap_or_else(|e| panic!("the application failed to build: {e}"));
    (
        state,
        Instance {
            address: format!("http://127.0.0.1:{port}"),
            stop: Some(stop_tx),
            server: Some(server),
        },
    )
}

/// A running instance of the service; it stops when dropped.
pub struct Instance {
    pub address: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

impl TestApp {
    /// A second instance of the service on this app's database, as a deployment behind a
    /// load balancer runs.
    pub async fn second_instance(&self) -> Instance {
        start_server(self.state.settings.clone()).await.1
    }
}

/// Like [`spawn_app`], with the test settings adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::new();
    let mut settings = Settings::from_toml(include_str!("../../config/test.toml"))
        .expect("config/test.toml parses");
    settings.database.url = db.url().to_owned();
    adjust(&mut settings);

    let (state, server) = start_server(settings).await;
    let mut app = TestApp {
        address: server.address.clone(),
        state,
        area_ids: HashMap::new(),
        org_ids: HashMap::new(),
        next_user: AtomicUsize::new(1),
        _server: server,
        db,
    };
    app.seed_areas_and_organisations();
    app
}

impl TestApp {
    /// Runs `f` on a pooled connection to this test's database.
    pub fn with_db<T>(&self, f: impl FnOnce(&mut DbConn) -> T) -> T {
        let mut conn = self.state.db.pool().get().expect("a pooled connection");
        f(&mut conn)
    }

    fn seed_areas_and_organisations(&mut self) {
        // One transaction: one sync to disk instead of fifteen.
        let (area_ids, org_ids) = self.with_db(|c| {
            db::write_tx(c, |c| {
                let mut area_ids = HashMap::new();
                for (code, name) in mhtr_pathway::demo::AREAS {
                    let id = areas::insert_area(c, code, name).expect("insert area");
                    area_ids.insert((*name).to_owned(), id);
                }
                let mut org_ids = HashMap::new();
                for (name, kind) in mhtr_pathway::demo::ORGANISATIONS {
                    let id =
                        areas::insert_organisation(c, name, *kind).expect("insert organisation");
                    org_ids.insert((*name).to_owned(), id);
                }
                Ok((area_ids, org_ids))
            })
            .expect("seed areas and organisations")
        });
        self.area_ids = area_ids;
        self.org_ids = org_ids;
    }

    pub fn area_id(&self, name: &str) -> String {
        self.area_ids
            .get(name)
            .unwrap_or_else(|| panic!("no seeded area called {name}"))
            .clone()
    }

    /// The seeded organisation a role belongs to (as in the demo data).
    pub fn organisation_id_for(&self, role: Role) -> String {
        let orgs = mhtr_pathway::demo::ORGANISATIONS;
        let name = match role {
            Role::ProbationOfficer => orgs[0].0,
            Role::LiaisonDiversion => orgs[1].0,
            Role::AssistantPsychologist | Role::ClinicalLead => orgs[2].0,
            Role::Councillor => orgs[3].0,
            Role::Admin => orgs[4].0,
        };
        self.org_ids[name].clone()
    }

    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.address, None)
    }

    /// A browser whose requests come from another loopback address (e.g. 127.0.0.2).
    pub fn new_browser_from(&self, ip: &str) -> Browser {
        let ip: IpAddr = ip.parse().expect("an IP address");
        Browser::new(&self.address, Some(ip))
    }

    /// The session cookie's name under the current settings.
    pub fn session_cookie(&self) -> &'static str {
        self.state.settings.session_cookie_name()
    }

    fn password_hash(&self) -> String {
        PASSWORD_HASH
            .get_or_init(|| {
                self.state
                    .hasher
                    .hash_now(&Password::for_sign_in(PASSWORD.to_owned()))
                    .expect("hash the test password")
            })
            .clone()
    }

    /// An unenrolled user: has a password, sets up an authenticator at first sign-in.
    pub fn create_unenrolled_user(&self, role: Role, area_names: &[&str]) -> TestUser {
        let n = self.next_user.fetch_add(1, Ordering::Relaxed);
        let name = format!("Test User {n}");
        let email = format!("user{n}@staff.example.org");
        let input = UserInput {
            name: name.clone(),
            email: Email::parse(&email).expect("a valid email"),
            role,
            organisation_id: self.organisation_id_for(role),
            area_ids: area_names.iter().map(|a| self.area_id(a)).collect(),
            hcpc_number: (role == Role::ClinicalLead).then(|| "PYL012345".to_owned()),
            vetting: Some((VettingLevel::Nppv2, today() + Duration::days(365))),
        };
        let hash = self.password_hash();
        let user = self.with_db(|c| {
            let u = mhtr_pathway::users::service::create(
                c,
                &AdminScope::everywhere(),
                &Actor::system("tests"),
                &input,
                Some(&hash),
            )
            .expect("create the user");
            if role == Role::Admin {
                // Administrators here are the command line's first: service-wide
                // (tests/api/admin_scope.rs makes scoped ones).
                mhtr_pathway::users::service::set_service_wide(
                    c,
                    &Actor::system("tests"),
                    &u.id,
                    true,
                )
                .expect("service-wide")
            } else {
                u
            }
        });
        TestUser {
            id: user.id,
            name,
            email,
            password: PASSWORD.to_owned(),
            totp_secret: None,
        }
    }

    /// An enrolled user with a known password and authenticator secret.
    pub fn create_user(&self, role: Role, area_names: &[&str]) -> TestUser {
        let mut user = self.create_unenrolled_user(role, area_names);
        let secret = totp::new_secret();
        self.with_db(|c| {
            diesel::update(users::table.find(&user.id))
                .set((
                    users::mfa_state.eq(MfaState::Enrolled),
                    users::totp_secret.eq(Some(&secret)),
                ))
                .execute(c)
                .expect("enrol the user");
        });
        user.totp_secret = Some(secret);
        user
    }

    /// A signed-in browser for a new user of `role` (in Rutland).
    pub async fn login_as(&self, role: Role) -> (Browser, TestUser) {
        let user = self.create_user(role, &["Rutland"]);
        let browser = self.new_browser();
        browser.sign_in(&user).await;
        (browser, user)
    }

    pub fn user_row(&self, id: &str) -> User {
        self.with_db(|c| mhtr_pathway::users::model::by_id(c, id).expect("the user exists"))
    }

    /// Forgets which authenticator step the user last used, so the same code (same 30 s
    /// step) signs them in again.
    pub fn allow_code_reuse(&self, user: &TestUser) {
        self.with_db(|c| {
            diesel::update(users::table.find(&user.id))
                .set(users::totp_last_step.eq(None::<i64>))
                .execute(c)
                .expect("reset the last TOTP step");
        });
    }

    pub fn set_vetting_expiry(&self, user: &TestUser, expires: NaiveDate) {
        self.with_db(|c| {
            diesel::update(users::table.find(&user.id))
                .set(users::vetting_expires_on.eq(Some(expires)))
                .execute(c)
                .expect("set the vetting expiry");
        });
    }

    /// The session row behind a cookie value.
    pub fn session_row(&self, cookie_value: &str) -> SessionRow {
        let id = mhtr_pathway::ids::sha256_hex(cookie_value);
        self.with_db(|c| {
            sessions::table
                .find(&id)
                .select(SessionRow::as_select())
                .first(c)
                .expect("a session row for this cookie")
        })
    }

    /// Makes a session look as if its browser did nothing for `minutes`.
    pub fn idle_session(&self, cookie_value: &str, minutes: i64) {
        let id = mhtr_pathway::ids::sha256_hex(cookie_value);
        let then = mhtr_pathway::clock::now() - Duration::minutes(minutes);
        self.with_db(|c| {
            diesel::update(sessions::table.find(&id))
                .set(sessions::last_seen_at.eq(then))
                .execute(c)
                .expect("age the session");
        });
    }

    /// Makes a session look as if it started `hours` ago and was in use until a minute ago.
    pub fn start_session_hours_ago(&self, cookie_value: &str, hours: i64) {
        let id = mhtr_pathway::ids::sha256_hex(cookie_value);
        let now = mhtr_pathway::clock::now();
        let started = now - Duration::hours(hours);
        let lifetime = Duration::hours(self.state.settings.security.absolute_timeout_hours);
        self.with_db(|c| {
            diesel::update(sessions::table.find(&id))
                .set((
                    sessions::created_at.eq(started),
                    sessions::expires_at.eq(started + lifetime),
                    sessions::last_seen_at.eq(now - Duration::minutes(1)),
                ))
                .execute(c)
                .expect("age the session");
        });
    }

    /// Moves every recorded sign-in attempt `minutes` into the past.
    pub fn age_sign_in_attempts(&self, minutes: i64) {
        self.with_db(|c| {
            let rows: Vec<(String, chrono::NaiveDateTime)> = sign_in_attempts::table
                .select((sign_in_attempts::id, sign_in_attempts::at))
                .load(c)
                .expect("load attempts");
            for (id, at) in rows {
                diesel::update(sign_in_attempts::table.find(&id))
                    .set(sign_in_attempts::at.eq(at - Duration::minutes(minutes)))
                    .execute(c)
                    .expect("age an attempt");
            }
        });
    }

    /// A delivery worker over the configured transport (the tests run it by hand).
    pub fn email_worker(&self) -> mhtr_pathway::notifications::worker::Worker {
        let settings = &self.state.settings.email;
        let transport = mhtr_pathway::notifications::transport::from_settings(settings)
            .expect("the email transport builds");
        mhtr_pathway::notifications::worker::Worker::new(self.state.db.clone(), transport, settings)
    }

    /// Every outbox row, oldest first.
    pub fn outbox(&self) -> Vec<mhtr_pathway::notifications::model::OutboxMessage> {
        use mhtr_pathway::db::schema::outbox_messages;
        use mhtr_pathway::notifications::model::OutboxMessage;
        self.with_db(|c| {
            outbox_messages::table
                .order((outbox_messages::created_at.asc(), outbox_messages::id.asc()))
                .select(OutboxMessage::as_select())
                .load(c)
                .expect("read the outbox")
        })
    }

    /// The events in the audit log, oldest first.
    pub fn audit_events(&self) -> Vec<mhtr_pathway::audit::AuditRow> {
        let mut rows = self
            .with_db(|c| mhtr_pathway::audit::recent(c, None, 10_000).expect("read the audit log"));
        rows.reverse();
        rows
    }

    /// Admin adds a user through the pages and reads the invitation link from the banner.
    pub async fn invite_through_admin_pages(&self, admin: &Browser) -> Invitation {
        let n = self.next_user.fetch_add(1, Ordering::Relaxed);
        let email = format!("invited{n}@staff.example.org");
        let expires = today() + Duration::days(365);
        let (day, month, year) = (
            expires.format("%-d").to_string(),
            expires.format("%-m").to_string(),
            expires.format("%Y").to_string(),
        );
        let org = self.organisation_id_for(Role::ProbationOfficer);
        let area = self.area_id("Rutland");
        let res = admin
            .post(
                "/admin/users/new",
                &[
                    ("name", "Robin Ash"),
                    ("email", &email),
                    ("role", "probation_officer"),
                    ("organisation_id", &org),
                    ("areas", &area),
                    ("hcpc_number", ""),
                    ("vetting_level", "nppv2"),
                    ("vetting_expires_on_day", &day),
                    ("vetting_expires_on_month", &month),
                    ("vetting_expires_on_year", &year),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "the user is created");
        let user_page = location(&res);
        let user_id = user_page
            .strip_prefix("/admin/users/")
            .expect("redirected to the user's page")
            .to_owned();
        let page = admin.get_page(&user_page).await;
        assert!(
            unescape(&page).contains("We have emailed them a single-use link"),
            "the administrator is told the link was emailed"
        );
        assert!(
            !page.contains("/invitation/"),
            "the link is never shown to the administrator"
        );
        Invitation {
            user_id,
            path: self.invitation_sent_to(&email),
            email,
        }
    }

    /// The `/invitation/TOKEN` path in the newest email queued to `email`: links go to the
    /// user's own address only.
    pub fn invitation_sent_to(&self, email: &str) -> String {
        let message = self
            .outbox()
            .into_iter()
            .filter(|m| m.recipient == email)
            .max_by_key(|m| m.created_at)
            .expect("an email to the user");
        invitation_path(&message.text_body)
    }
}

/// A single-use link, as read from the administrator's banner.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub user_id: String,
    pub email: String,
    /// `/invitation/TOKEN`
    pub path: String,
}

/// A port free a moment ago, for a listener a test configures by address.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Queues `n` staff emails (vetting reminders to person0@…, person1@…) as the service would.
pub fn queue_staff_emails(c: &mut DbConn, n: usize) {
    use mhtr_pathway::notifications::messages::{Message, MessageKind};
    for k in 0..n {
        mhtr_pathway::notifications::enqueue(
            c,
            Message {
                kind: MessageKind::VettingExpiring,
                to: format!("person{k}@staff.example.org"),
                subject: "Your vetting expires soon".into(),
                text_body: "Text".into(),
                html_body: "<p>HTML</p>".into(),
            },
        )
        .expect("queue an email");
    }
}

pub fn today() -> NaiveDate {
    mhtr_pathway::clock::today()
}

// ------------------------------------------------------------------------- browsers

/// One browser: its own cookies, no redirects followed.
pub struct Browser {
    pub client: reqwest::Client,
    pub address: String,
    jar: Arc<Jar>,
    /// The CSRF token of the signed-in session, read from the page after sign-in.
    csrf: Mutex<Option<String>>,
}

impl Browser {
    fn new(address: &str, from: Option<IpAddr>) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .local_address(from)
            .user_agent("mhtr-pathway-tests (reqwest)")
            .build()
            .expect("build the HTTP client");
        Self {
            client,
            address: address.to_owned(),
            jar,
            csrf: Mutex::new(None),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    fn base_url(&self) -> Url {
        Url::parse(&self.address).expect("the app address is a URL")
    }

    /// The value of a cookie this browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.base_url())?;
        let header = header.to_str().ok()?.to_owned();
        header.split("; ").find_map(|pair| {
            pair.split_once('=')
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v.to_owned())
        })
    }

    /// Puts a cookie in this browser, e.g. to replay an old session cookie.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &self.base_url());
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    /// GETs a page that must answer 200 and returns its HTML.
    pub async fn get_page(&self, path: &str) -> String {
        let res = self.get(path).await;
        let status = res.status();
        let to = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap_or("").to_owned());
        assert_eq!(
            status,
            StatusCode::OK,
            "GET {path} answered {status} (location {to:?})"
        );
        res.text().await.expect("page body")
    }

    /// POSTs a form exactly as given (no token added).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST request")
    }

    /// POSTs a form with the signed-in session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf();
        let mut form = fields.to_vec();
        form.push(("csrf_token", &token));
        self.post_form(path, &form).await
    }

    /// The signed-in session's CSRF token (known after [`Browser::sign_in`] or
    /// [`Browser::refresh_csrf`]).
    pub fn csrf(&self) -> String {
        self.csrf
            .lock()
            .expect("csrf lock")
            .clone()
            .expect("no CSRF token known: sign in or call refresh_csrf first")
    }

    /// Reads the session's CSRF token again (after the session was rotated). Renders
    /// /account/password, so it takes any pending flash message.
    pub async fn refresh_csrf(&self) {
        let page = self.get_page("/account/password").await;
        *self.csrf.lock().expect("csrf lock") = Some(csrf_from_html(&page));
    }

    /// This browser (its cookies, from the same address) sending its requests to another
    /// instance of the service.
    pub fn at(&self, address: &str) -> Browser {
        Browser {
            client: self.client.clone(),
            address: address.to_owned(),
            jar: self.jar.clone(),
            csrf: Mutex::new(self.csrf.lock().expect("csrf lock").clone()),
        }
    }

    /// GET /sign-in, then POST the email and password with the page's token.
    pub async fn submit_password(&self, email: &str, password: &str) -> Response {
        let page = self.get_page("/sign-in").await;
        let token = csrf_from_html(&page);
        self.post_form(
            "/sign-in",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// GET /sign-in/code, then POST the code with the page's token.
    pub async fn submit_code(&self, code: &str) -> Response {
        let page = self.get_page("/sign-in/code").await;
        let token = csrf_from_html(&page);
        self.post_form("/sign-in/code", &[("csrf_token", &token), ("code", code)])
            .await
    }

    /// The whole sign-in: password, authenticator code, home page.
    pub async fn sign_in(&self, user: &TestUser) {
        let res = self.submit_password(&user.email, &user.password).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "password step for {}: {}",
            user.email,
            summary_of(res).await
        );
        assert_eq!(location(&res), "/sign-in/code");
        let res = self.submit_code(&user.code_now()).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "code step for {}: {}",
            user.email,
            summary_of(res).await
        );
        assert_eq!(location(&res), "/");
        self.after_sign_in(&user.name).await;
    }

    /// Checks the home page greets the user and remembers the session's CSRF token.
    pub async fn after_sign_in(&self, name: &str) {
        let home = self.get_page("/").await;
        assert!(
            home.contains(&format!("Hello, {name}")),
            "the home page greets {name}"
        );
        *self.csrf.lock().expect("csrf lock") = Some(meta_csrf(&home));
    }

    pub async fn sign_out(&self) -> Response {
        self.post("/sign-out", &[]).await
    }
}

// ------------------------------------------------------------------------- reading responses

/// The `Location` header of a redirect.
pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location header on a {} response", res.status()))
        .to_str()
        .expect("ASCII location")
        .to_owned()
}

/// Asserts a 303 to `to`.
#[track_caller]
pub fn assert_redirects_to(res: &Response, to: &str) {
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "expected a redirect to {to} from {}",
        res.url()
    );
    assert_eq!(location(res), to, "redirect target from {}", res.url());
}

/// The new value of `name` in the response's `Set-Cookie` headers, if it sets one.
pub fn set_cookie_value(res: &Response, name: &str) -> Option<String> {
    set_cookie_header(res, name).and_then(|h| {
        h.split(';')
            .next()
            .and_then(|p| p.split_once('='))
            .map(|(_, v)| v.to_owned())
    })
}

/// The whole `Set-Cookie` header for `name`, if the response sets it.
pub fn set_cookie_header(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// A short description of an unexpected page for assertion messages.
pub async fn summary_of(res: Response) -> String {
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    let errors = error_summary(&body);
    if errors.is_empty() {
        format!("status {status}")
    } else {
        format!("status {status}, errors {errors:?}")
    }
}

/// Undoes Tera's HTML escaping.
pub fn unescape(s: &str) -> String {
    s.replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden `csrf_token` field of a form page.
pub fn csrf_from_html(html: &str) -> String {
    attribute_after(html, "name=\"csrf_token\" value=\"").expect("the page has a csrf_token field")
}

/// The CSRF token in a signed-in page's `<meta name="app-csrf-token">`.
pub fn meta_csrf(html: &str) -> String {
    attribute_after(html, "<meta name=\"app-csrf-token\" content=\"")
        .expect("the page has the app-csrf-token meta tag")
}

fn attribute_after(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

/// The messages in the GOV.UK error summary, in order (empty when there is none).
pub fn error_summary(html: &str) -> Vec<String> {
    let Some(start) = html.find("govuk-error-summary__list") else {
        return Vec::new();
    };
    let end = html[start..]
        .find("</ul>")
        .map(|i| start + i)
        .unwrap_or(html.len());
    html[start..end]
        .split("<li>")
        .skip(1)
        .map(|item| {
            let text = item.split("</li>").next().unwrap_or("");
            let text = match text.find('>') {
                Some(i) if text.trim_start().starts_with("<a") => {
                    text[i + 1..].split("</a>").next().unwrap_or("")
                }
                _ => text,
            };
            unescape(text.trim())
        })
        .collect()
}

/// The error message shown by a field (`<p id="FIELD-error">`), if any.
pub fn field_error(html: &str, field: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{field}-error\""))?;
    let rest = &html[start..];
    let after_span = rest.find("</span>")? + "</span>".len();
    let end = rest.find("</p>")?;
    Some(unescape(rest[after_span..end].trim()))
}

/// The `value` of the input called `name`, if it has one.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    attribute_after(tag, "value=\"")
}

/// The text of the element with `id`, tags stripped.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let tag_start = html[..start].rfind('<')?;
    let tag_name: String = html[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = open_end + html[open_end..].find(&format!("</{tag_name}>"))?;
    let inner = &html[open_end..close];
    let mut text = String::new();
    let mut in_tag = false;
    for ch in inner.chars() {
        match ch {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(unescape(text.trim()))
}

/// The `/invitation/TOKEN` path in a text (an email's body).
pub fn invitation_path(html: &str) -> String {
    let html = unescape(html);
    let start = html
        .find("/invitation/")
        .expect("the text holds an invitation link");
    html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        .collect()
}

/// The service navigation list of a signed-in page.
pub fn navigation(html: &str) -> String {
    let start = html
        .find("govuk-service-navigation__list")
        .expect("the page has a navigation list");
    let end = start + html[start..].find("</ul>").expect("the list ends");
    unescape(&html[start..end])
}
