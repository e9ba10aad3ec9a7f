//! The database: one connection type over SQLite and PostgreSQL, the pool, migrations,
//! SQLite connection hygiene and the few helpers whose SQL differs between backends.

pub mod backup;
pub mod bulk;
pub(crate) use bulk::bulk_insert;
pub mod schema;
pub mod types;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the configured URL names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// The backend a database URL names. Anything but `sqlite://` or `postgres(ql)://` is refused,
/// so a typo can never silently create a SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite { path: String },
    Postgres { url: String },
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(AppError::Config(
                    "the SQLite database URL needs a file path, e.g. sqlite://./data/mhtr-pathway.db".into(),
                ));
            }
            Ok(Self::Sqlite {
                path: path.to_owned(),
            })
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(Self::Postgres {
                url: raw.to_owned(),
            })
        } else {
            Err(AppError::Config(format!(
                "unsupported database URL scheme in '{}': use sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(raw)
            )))
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

/// A URL with any password removed, for messages and logs.
pub fn redact_url(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &raw[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &raw[..scheme_end + 3], user, &raw[at..]),
                None => raw.to_owned(),
            }
        }
        _ => raw.to_owned(),
    }
}

/// SQLite settings applied to every connection, pooled or not.
///
/// `synchronous=FULL` with WAL: a commit is on disk before it is acknowledged, so an
/// acknowledged write survives power loss as well as a process crash.
pub const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 5000;";

/// Opens one connection to the backend the URL names (used by the CLI and the pool alike).
/// The backend is chosen here, from the parsed URL, never by trying each in turn.
pub fn connect(url: &DatabaseUrl) -> Result<DbConn, AppError> {
    match url {
        DatabaseUrl::Sqlite { path } => {
            ensure_parent_dir(path)?;
            let mut c = SqliteConnection::establish(path).map_err(|e| {
                AppError::Config(format!("cannot open SQLite database {path}: {e}"))
            })?;
            c.batch_execute(SQLITE_PRAGMAS)?;
            Ok(DbConn::Sqlite(c))
        }
        DatabaseUrl::Postgres { url } => {
            PgConnection::establish(url).map(DbConn::Pg).map_err(|e| {
                AppError::Config(format!(
                    "cannot connect to PostgreSQL at {}: {e}",
                    redact_url(url)
                ))
            })
        }
    }
}

fn ensure_parent_dir(path: &str) -> Result<(), AppError> {
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            AppError::Config(format!("cannot create directory {}: {e}", parent.display()))
        })?;
    }
    Ok(())
}

/// Hands out connections made by [`connect`].
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = AppError;

    fn connect(&self) -> Result<DbConn, AppError> {
        connect(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), AppError> {
        ping(conn)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

pub type DbPool = Pool<Manager>;

/// Builds the connection pool.
pub fn build_pool(
    url: &DatabaseUrl,
    max_size: u32,
    connect_timeout: Duration,
) -> Result<DbPool, AppError> {
    Pool::builder()
        .max_size(max_size)
        .connection_timeout(connect_timeout)
        .build(Manager { url: url.clone() })
        .map_err(|e| AppError::Config(format!("cannot open the database pool: {e}")))
}

/// Runs every pending migration for the connection's backend and returns their names.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(names),
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(names),
    };
    let applied = applied.map_err(|e| AppError::Config(format!("migration failed: {e}")))?;
    if !applied.is_empty() {
        // Referrals made before the reporting facts existed (or by an older version) get theirs.
        crate::reports::facts::backfill(conn)?;
    }
    Ok(applied)
}

/// Reverts every applied migration (used by the round-trip test and by operators).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<(), AppError> {
    let result = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| AppError::Config(format!("migration revert failed: {e}")))
}

fn names(versions: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    versions.into_iter().map(|v| v.to_string()).collect()
}

/// Runs `f` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`
/// so concurrent writers queue on the busy timeout instead of failing when a read lock
/// would have to be upgraded; on PostgreSQL it is an ordinary transaction.
pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    match conn {
        DbConn::Pg(_) => conn.transaction(f),
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(value) => {
                    let DbConn::Sqlite(inner) = conn else {
                        unreachable!("backend cannot change")
                    };
                    AnsiTransactionManager::commit_transaction(inner)?;
                    Ok(value)
                }
                Err(e) => {
                    let DbConn::Sqlite(inner) = conn else {
                        unreachable!("backend cannot change")
                    };
                    AnsiTransactionManager::rollback_transaction(inner)?;
                    Err(e)
                }
            }
        }
    }
}

/// Runs `f` in a read transaction: a snapshot on SQLite (`BEGIN`, deferred, in WAL mode) and
/// `REPEATABLE READ, READ ONLY` on PostgreSQL.
pub fn read_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    conn.transaction(|c| {
        if let DbConn::Pg(_) = c {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(c)?;
        }
        f(c)
    })
}

/// Serialises appends to the audit chain until the surrounding transaction ends. SQLite
/// needs nothing: write transactions there are already serial (`BEGIN IMMEDIATE`).
pub fn lock_audit_chain(conn: &mut DbConn) -> Result<(), AppError> {
    if let DbConn::Pg(_) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(741100001)").execute(conn)?;
    }
    Ok(())
}

/// Cheap reachability check for `/healthz`.
pub fn ping(conn: &mut DbConn) -> Result<(), AppError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// The async face of the pool: every query runs on the blocking thread pool, never on an
/// async worker.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: &'static str,
    /// Started on first use.
    appender: std::sync::Arc<std::sync::OnceLock<crate::audit::appender::Appender>>,
}

impl Db {
    pub fn new(pool: DbPool, url: &DatabaseUrl) -> Self {
        Self {
            pool,
            backend: url.backend_name(),
            appender: Default::default(),
        }
    }

    /// Appends an audit entry that stands alone (a view), group-committed with the others
    /// waiting ([`crate::audit::appender`]); returns once it is durable.
    pub async fn audit(
        &self,
        actor: &crate::audit::Actor,
        event: crate::audit::Event<'_>,
    ) -> Result<(), AppError> {
        let appender = match self.appender.get() {
            Some(a) => a.clone(),
            None => {
                let started = crate::audit::appender::Appender::start(self.pool.clone())?;
                self.appender.get_or_init(|| started).clone()
            }
        };
        appender.append(actor, event).await
    }

    /// Like [`Db::run`] inside a read-only transaction, so every query sees the same moment.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| read_tx(conn, f)).await
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// Like [`Db::run`] inside [`write_tx`].
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| write_tx(conn, f)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_urls_are_recognised() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/x.db").unwrap(),
            DatabaseUrl::Sqlite {
                path: "./data/x.db".into()
            }
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres { .. }
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
            DatabaseUrl::Postgres { .. }
        ));
    }

    #[test]
    fn other_schemes_and_bare_paths_are_refused() {
        for bad in [
            "./data/x.db",
            "mysql://u@h/db",
            "sqlite:/x.db",
            "postgre://u@h/db",
            "sqlite://",
            "",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
