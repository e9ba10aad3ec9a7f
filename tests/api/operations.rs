//! Running the service the way an IT team does, on SQLite (default) or PostgreSQL
//! (`TEST_DATABASE_URL`): a request id on every response and on the error page, readiness
//! apart from liveness, the metrics on their own address, and two instances on one database
//! sharing sign-in, throttling and the outbox.

use std::time::Duration;

use diesel::RunQueryDsl;
use mhtr_pathway::db::DbConn;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::smtp::SmtpServer;
use crate::helpers::{
    TestDatabase, free_port, queue_staff_emails, spawn_app, spawn_app_with, spawn_app_with_smtp,
};

fn request_id(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("an X-Request-Id header")
        .to_owned()
}

#[tokio::test]
async fn every_response_has_a_request_id_and_the_error_page_shows_it() {
    let app = spawn_app().await;
    let browser = app.new_browser();
    let first = request_id(&browser.get("/healthz").await);
    let second = request_id(&browser.get("/no/such/page").await);
    assert_eq!(first.len(), 32, "{first}");
    assert_ne!(first, second);
    // A plain id from the proxy in front is kept; anything else is replaced.
    let sent = browser
        .client
        .get(browser.url("/healthz"))
        .header("X-Request-Id", "proxy-7f3a9c21")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&sent), "proxy-7f3a9c21");
    let forged = browser
        .client
        .get(browser.url("/healthz"))
        .header("X-Request-Id", "x\" level=ERROR")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&forged).len(), 32);

    // A failure the person cannot mend: the page gives the id to quote.
    app.with_db(|c| {
        diesel::sql_query("ALTER TABLE sign_in_attempts RENAME TO sign_in_attempts_away")
            .execute(c)
            .unwrap();
    });
    let res = browser
        .submit_password("someone@example.org", "a guess")
        .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = request_id(&res);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("quote this reference: <strong>{id}</strong>")),
        "{page}"
    );
    app.with_db(|c| {
        diesel::sql_query("ALTER TABLE sign_in_attempts_away RENAME TO sign_in_attempts")
            .execute(c)
            .unwrap();
    });
}

fn revert_last_migration(c: &mut DbConn) {
    use diesel_migrations::MigrationHarness;
    match c {
        DbConn::Sqlite(c) => c
            .revert_last_migration(mhtr_pathway::db::SQLITE_MIGRATIONS)
            .map(|_| ()),
        DbConn::Pg(c) => c
            .revert_last_migration(mhtr_pathway::db::POSTGRES_MIGRATIONS)
            .map(|_| ()),
    }
    .expect("revert the last migration");
}

async fn readiness(browser: &crate::helpers::Browser) -> (StatusCode, serde_json::Value) {
    let res = browser.get("/readyz").await;
    (res.status(), res.json().await.unwrap())
}

#[tokio::test]
async fn readiness_fails_while_a_migration_is_pending_and_liveness_does_not() {
    let app = spawn_app().await;
    let browser = app.new_browser();
    assert_eq!(
        readiness(&browser).await,
        (StatusCode::OK, serde_json::json!({"status": "ready"}))
    );
    app.with_db(revert_last_migration);
    let (status, body) = readiness(&browser).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("1 database migration(s) pending"),
        "{body}"
    );
    assert_eq!(browser.get("/healthz").await.status(), StatusCode::OK);
    app.with_db(|c| {
        mhtr_pathway::startup::migrate(c).unwrap();
    });
    assert_eq!(readiness(&browser).await.0, StatusCode::OK);
}

/// A database that takes no writes (PostgreSQL set read-only, as a standby or a
/// maintenance window leaves it): not ready, though alive.
#[tokio::test]
async fn readiness_fails_while_the_database_refuses_writes() {
    let app = spawn_app().await;
    let TestDatabase::Postgres {
        admin_url, name, ..
    } = &app.db
    else {
        return;
    };
    let admin = |sql: String| {
        use diesel::Connection;
        let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
        diesel::sql_query(sql).execute(&mut admin).unwrap();
    };
    let reconnect = || {
        admin(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
    };
    admin(format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = on"
    ));
    reconnect();
    let browser = app.new_browser();
    // The pool replaces the connections it lost; the first answer may see one go.
    let mut answer = readiness(&browser).await;
    for _ in 0..5 {
        if answer.1["reason"]
            .as_str()
            .is_some_and(|r| r.contains("refuses writes"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        answer = readiness(&browser).await;
    }
    assert_eq!(answer.0, StatusCode::SERVICE_UNAVAILABLE, "{:?}", answer.1);
    assert!(
        answer.1["reason"]
            .as_str()
            .unwrap()
            .contains("refuses writes"),
        "{:?}",
        answer.1
    );
    // Alive all the while (once the pool has replaced what it lost).
    let mut alive = browser.get("/healthz").await.status();
    for _ in 0..5 {
        if alive == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        alive = browser.get("/healthz").await.status();
    }
    assert_eq!(alive, StatusCode::OK);
    admin(format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = off"
    ));
    reconnect();
    let mut status = readiness(&browser).await.0;
    for _ in 0..5 {
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = readiness(&browser).await.0;
    }
    assert_eq!(status, StatusCode::OK);
}

const TOKEN: &str = "a-metrics-token-of-32-characters-or-more";

#[tokio::test]
async fn the_metrics_listen_apart_count_by_route_pattern_and_name_nobody() {
    let port = free_port();
    let app = spawn_app_with(move |s| {
        s.metrics.bind = format!("127.0.0.1:{port}");
        s.metrics.token = TOKEN.into();
    })
    .await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    browser.sign_in(&user).await;
    let id = uuid::Uuid::new_v4();
    browser.get(&format!("/referrals/{id}")).await;
    browser.get("/a/path/no/route/has?q=Smith").await;
    app.new_browser()
        .submit_password(&user.email, "a wrong guess at it")
        .await;
    app.with_db(|c| queue_staff_emails(c, 1));

    // Not on the public address.
    assert_eq!(
        browser.get("/metrics").await.status(),
        StatusCode::NOT_FOUND
    );
    let scrape = format!("http://127.0.0.1:{port}/metrics");
    let client = reqwest::Client::new();
    let refused = client.get(&scrape).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let res = client.get(&scrape).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = res.text().await.unwrap();
    for expected in [
        r#"mhtr_http_requests_total{method="GET",route="/referrals/{id}",status="404"}"#,
        r#"mhtr_http_requests_total{method="GET",route="unmatched",status="404"}"#,
        r#"mhtr_http_request_duration_seconds_count{method="GET",route="/sign-in"}"#,
        r#"mhtr_sign_in_attempts_total{outcome="failed"}"#,
        r#"mhtr_sign_in_attempts_total{outcome="succeeded"}"#,
        r#"mhtr_db_pool_max_connections "#,
        r#"mhtr_outbox_queued{queue="email"} 1"#,
        r#"mhtr_outbox_dead_letters{queue="email"} 0"#,
        r#"mhtr_outbox_queued{queue="reminder"} 0"#,
        "# EOF",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    // Labels are route patterns: no id, path, query or person.
    for absent in [
        id.to_string().as_str(),
        "/a/path",
        "Smith",
        user.email.as_str(),
        "person0@staff.example.org",
    ] {
        assert!(!text.contains(absent), "{absent} in:\n{text}");
    }
}

/// Two instances on one database, each with its email worker running, behind one address
/// as a load balancer would spread a person's requests: signed in on one, served by the
/// other; signed out on one, refused by the other; a throttle counted on one holds on the
/// other; every email delivered exactly once.
#[tokio::test]
async fn two_instances_share_sign_in_throttling_and_the_outbox() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with_smtp(&smtp, |s| {
        s.email.run_worker = true;
        s.email.poll_interval_secs = 1;
        s.security.session_cache_seconds = 2;
    })
    .await;
    let second = app.second_instance().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);

    let one = app.new_browser();
    one.sign_in(&user).await;
    let on_second = one.at(&second.address);
    let served = on_second.get("/referrals").await;
    assert_eq!(served.status(), StatusCode::OK, "signed in on the first");
    one.sign_out().await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let refused = on_second.get("/referrals").await;
    assert_eq!(
        refused.status(),
        StatusCode::SEE_OTHER,
        "signed out on the first"
    );

    // Wrong passwords on the first instance hold the account at that address on the second.
    let limit = app.state.settings.security.throttle.per_account_and_address;
    let guesser = app.new_browser_from("127.0.0.4");
    for _ in 0..limit {
        assert_eq!(
            guesser
                .submit_password(&user.email, "a wrong guess at it")
                .await
                .status(),
            StatusCode::OK
        );
    }
    let elsewhere = app.new_browser_from("127.0.0.4").at(&second.address);
    let res = elsewhere.submit_password(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // Both workers poll the one outbox: each message is sent once.
    app.with_db(|c| queue_staff_emails(c, 20));
    for _ in 0..100 {
        if smtp.received().len() >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a second delivery, were there to be one.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let received = smtp.received();
    let ids: std::collections::BTreeSet<String> = received.iter().map(|m| m.message_id()).collect();
    assert_eq!(ids.len(), 20, "every message delivered");
    assert_eq!(received.len(), 20, "none delivered twice");
}

/// The address a sign-in attempt is counted against: behind a trusted proxy, the one it
/// forwards; otherwise the peer's, whatever the client claims.
#[tokio::test]
async fn the_client_address_comes_from_a_trusted_proxy_only() {
    use mhtr_pathway::db::schema::sign_in_attempts;
    for (trusted, expected) in [("127.0.0.0/8", "198.51.100.1"), ("", "127.0.0.1")] {
        let app = spawn_app_with(move |s| s.server.trusted_proxies = trusted.into()).await;
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/token", app.address))
            .header("X-Forwarded-For", "1.2.3.4, 198.51.100.1")
            .json(&serde_json::json!({"email": "nobody@example.org", "password": "a guess", "code": "000000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let ips: Vec<String> = app.with_db(|c| {
            use diesel::prelude::*;
            sign_in_attempts::table
                .select(sign_in_attempts::ip)
                .load(c)
                .unwrap()
        });
        assert_eq!(ips, [expected], "trusting {trusted:?}");
    }
}
