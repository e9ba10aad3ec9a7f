//! The health check, and the server running the way the harness and `main` run it.

use std::net::TcpListener;

use diesel::{Connection, RunQueryDsl};
use mhtr_pathway::settings::Settings;
use mhtr_pathway::startup::Application;
use reqwest::StatusCode;

use crate::helpers::{TestDatabase, spawn_app};

#[tokio::test]
async fn healthz_answers_200_and_names_the_database_backend() {
    let app = spawn_app().await;
    let res = app.new_browser().get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], app.db.backend());
}

/// zero2prod-style: `tokio::spawn(app.run_until_stopped())` inside `#[tokio::test]`. The
/// server must not need an actix `System` (a `LocalSet`) to start.
#[tokio::test]
async fn the_server_runs_under_a_plain_tokio_runtime() {
    let db = TestDatabase::new();
    let mut settings = Settings::from_toml(include_str!("../../config/test.toml")).unwrap();
    settings.database.url = db.url().to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Application::build_with_listener(settings, listener)
        .await
        .expect("the application builds");
    let server = tokio::spawn(app.run_until_stopped());
    let res = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    let finished_early = server.is_finished();
    server.abort();
    let res = res.expect("the server answers");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!finished_early, "the server task ended early");
}

/// A database that stops answering makes the health check say so (PostgreSQL: an embedded
/// SQLite file cannot go away under an open connection).
#[tokio::test]
async fn healthz_answers_503_while_the_database_refuses_connections() {
    let app = spawn_app().await;
    let TestDatabase::Postgres {
        admin_url, name, ..
    } = &app.db
    else {
        return;
    };
    let block = |sql: String| {
        let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
        diesel::sql_query(sql).execute(&mut admin).unwrap();
    };
    block(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    block(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    // Termination is only signalled: wait until the backends are gone, or a query may still
    // reach one that has not yet exited.
    let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
    for _ in 0..100 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let left = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .get_result::<Count>(&mut admin)
        .unwrap();
        if left.n == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let res = app.new_browser().get("/healthz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");

    // Once it answers again the check recovers: each pooled connection the database closed
    // fails one request at most and is replaced (tests/api/lost_connection.rs).
    block(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    let pool = app.state.settings.database.pool_size as usize;
    let mut failed = 0;
    while app.new_browser().get("/healthz").await.status() != StatusCode::OK {
        failed += 1;
        assert!(failed <= pool, "the health check did not recover");
    }
    for _ in 0..5 {
        let res = app.new_browser().get("/healthz").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}
