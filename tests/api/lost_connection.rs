//! A database connection the server has closed (PostgreSQL restarted, or an administrator
//! ended the backend) is dropped from the pool after the one request that found it closed;
//! the service then answers normally on fresh connections. Connections are not pinged on
//! every checkout, so this is what keeps a dead connection from being handed out for ever.
//!
//! PostgreSQL only: a SQLite connection is a file handle and cannot be closed from outside.

use diesel::prelude::*;
use diesel::sql_types::Integer;
use reqwest::StatusCode;

use crate::helpers::{TestDatabase, spawn_app_with};

#[derive(QueryableByName)]
struct Ended {
    #[diesel(sql_type = Integer)]
    n: i32,
}

#[tokio::test]
async fn connections_the_database_closed_are_replaced_after_one_failed_request() {
    const POOL: u32 = 3;
    let app = spawn_app_with(|s| s.database.pool_size = POOL).await;
    let TestDatabase::Postgres {
        admin_url, name, ..
    } = &app.db
    else {
        return;
    };
    let health = || async {
        reqwest::get(format!("{}/healthz", app.address))
            .await
            .expect("the service answers")
            .status()
    };
    // Every pooled connection in use once, so the pool holds all of them.
    let first = futures_util::future::join_all((0..POOL * 3).map(|_| health())).await;
    assert!(first.iter().all(|s| *s == StatusCode::OK), "{first:?}");

    let mut admin = diesel::PgConnection::establish(admin_url).expect("connect as admin");
    let ended: Ended = diesel::sql_query(format!(
        "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .get_result(&mut admin)
    .expect("end the service's connections");
    assert!(ended.n >= 1, "the service held no connection to end");

    // At most one failed request per closed connection, then every request succeeds.
    let mut failures = 0;
    for _ in 0..POOL + 1 {
        if health().await != StatusCode::OK {
            failures += 1;
        }
    }
    assert!(failures <= POOL as usize, "{failures} failures");
    for _ in 0..20 {
        assert_eq!(
            health().await,
            StatusCode::OK,
            "a closed connection was reused"
        );
    }
}
