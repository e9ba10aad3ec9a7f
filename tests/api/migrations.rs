//! Migrations: the two backends' folders stay in step, and every migration can be undone.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::prelude::*;
use mhtr_pathway::db;
use mhtr_pathway::db::schema::users;

use crate::helpers::TestDatabase;

fn folder_names(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_sqlite_and_postgres_migration_folders_have_the_same_names() {
    let sqlite = folder_names("sqlite");
    let postgres = folder_names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    for name in &sqlite {
        for backend in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations")
                    .join(backend)
                    .join(name)
                    .join(file);
                assert!(path.is_file(), "{} is missing", path.display());
            }
        }
    }
}

#[test]
fn migrations_run_up_down_and_up_again() {
    let database = TestDatabase::new();
    let mut conn = database.connect();
    let expected = folder_names(match database.backend() {
        "sqlite" => "sqlite",
        _ => "postgres",
    })
    .len();

    let applied = db::run_migrations(&mut conn).expect("up");
    assert_eq!(applied.len(), expected);
    let count: i64 = users::table
        .count()
        .get_result(&mut conn)
        .expect("users table");
    assert_eq!(count, 0);
    assert!(
        db::run_migrations(&mut conn).expect("again").is_empty(),
        "nothing pending"
    );

    db::revert_all_migrations(&mut conn).expect("down");
    assert!(
        users::table.count().get_result::<i64>(&mut conn).is_err(),
        "the tables are gone"
    );

    let applied = db::run_migrations(&mut conn).expect("up again");
    assert_eq!(applied.len(), expected);
    let count: i64 = users::table
        .count()
        .get_result(&mut conn)
        .expect("users table");
    assert_eq!(count, 0);
}
