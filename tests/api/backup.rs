//! Online backup of a live SQLite database and restoring it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use mhtr_pathway::audit::{self, Actor, AuditAction, Event};
use mhtr_pathway::db::{self, DatabaseUrl, backup};

use crate::helpers::TestDatabase;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

fn sqlite_path(url: &str) -> std::path::PathBuf {
    url.strip_prefix("sqlite://").unwrap().into()
}

#[test]
fn a_backup_taken_under_write_load_restores_whole_and_intact() {
    let database = TestDatabase::new();
    if database.backend() != "sqlite" {
        return; // PostgreSQL is backed up with pg_dump.
    }
    let url = DatabaseUrl::parse(database.url()).unwrap();
    db::run_migrations(&mut database.connect()).unwrap();

    // A writer committing continuously, as `serve` would.
    let committed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, committed, stop) = (url.clone(), committed.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = db::connect(&url).unwrap();
            let actor = Actor::system("load");
            while !stop.load(Ordering::SeqCst) {
                audit::record_now(
                    &mut c,
                    &actor,
                    Event::new(AuditAction::Administration, "load.write"),
                )
                .unwrap();
                committed.fetch_add(1, Ordering::SeqCst);
                // A busy service, not a tight loop that would starve every other writer.
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 200 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nightly.db");
    let before = committed.load(Ordering::SeqCst);
    let summary = backup::backup(&url, &out, &Actor::system("test")).expect("backup");
    std::thread::sleep(std::time::Duration::from_millis(50));
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let total = committed.load(Ordering::SeqCst);
    assert!(total > before, "the writer kept writing during the backup");
    assert!(summary.bytes > 0);

    // A second backup to the same file is refused rather than overwriting it.
    assert!(backup::backup(&url, &out, &Actor::system("test")).is_err());

    // Restore into a fresh place.
    let target_dir = tempfile::tempdir().unwrap();
    let target_path = target_dir.path().join("restored.db");
    let target = DatabaseUrl::parse(&format!("sqlite://{}", target_path.display())).unwrap();
    backup::restore(&target, &out, false, &Actor::system("test")).unwrap();

    let mut c = SqliteConnection::establish(&target_path.to_string_lossy()).unwrap();
    let check: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut c)
        .unwrap();
    assert_eq!(check.len(), 1);
    assert_eq!(check[0].integrity_check, "ok");
    let rows: Vec<Count> =
        diesel::sql_query("SELECT COUNT(*) AS n FROM audit_events WHERE event = 'load.write'")
            .load(&mut c)
            .unwrap();
    let restored = rows[0].n as u64;
    assert!(
        restored >= before,
        "all {before} rows committed before the backup began are there (found {restored})"
    );
    assert!(restored <= total);
    drop(c);

    // The restored log is one unbroken chain, ending with the restore itself.
    let mut conn = db::connect(&target).unwrap();
    assert!(audit::verify(&mut conn).unwrap().is_ok());
    let last = audit::recent(&mut conn, None, 1).unwrap();
    assert_eq!(last[0].event, "database.restored");

    // While the target is open it looks in use, and a restore is refused unless forced.
    assert!(backup::looks_in_use(&target_path));
    let refused = backup::restore(&target, &out, false, &Actor::system("test"));
    assert!(
        matches!(&refused, Err(mhtr_pathway::error::AppError::Config(m)) if m.contains("in use")),
        "{refused:?}"
    );
    drop(conn);
    assert!(!backup::looks_in_use(&target_path));
}

#[test]
fn a_damaged_backup_is_refused_and_the_database_left_alone() {
    let database = TestDatabase::new();
    if database.backend() != "sqlite" {
        return;
    }
    let url = DatabaseUrl::parse(database.url()).unwrap();
    db::run_migrations(&mut database.connect()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all, just some text").unwrap();
    let before = std::fs::read(sqlite_path(database.url())).unwrap();
    assert!(backup::restore(&url, &junk, true, &Actor::system("test")).is_err());
    assert_eq!(std::fs::read(sqlite_path(database.url())).unwrap(), before);
}

#[test]
fn postgres_is_pointed_at_pg_dump() {
    let url = DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432/none").unwrap();
    let err = backup::backup(&url, std::path::Path::new("/tmp/x.db"), &Actor::system("t"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("pg_dump"), "{err}");
}
