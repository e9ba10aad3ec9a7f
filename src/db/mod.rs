//! The database: one connection type over SQLite and PostgreSQL, the pool, migrations,
//! SQLite connection hygiene and the few helpers whose SQL differs between backends.

pub mod backup;
pub mod bulk;
pub mod deferred_indexes;
pub mod lease;
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

/// SQLite settings of a connection while it bulk-loads (see [`bulk_load`]): a 256 MiB page
/// cache, so the indexes a load touches stay in memory instead of being spilled to the log
/// and read back; temporary structures in memory; commits not synced one by one; and a log
/// checkpointed every 64 MiB rather than every 4 MiB, so each database page is written back
/// once for many batches.
const SQLITE_BULK_LOAD: &str = "PRAGMA cache_size = -262144; \
     PRAGMA temp_store = MEMORY; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA wal_autocheckpoint = 16384;";

/// What [`SQLITE_BULK_LOAD`] changed, back to SQLite's defaults and [`SQLITE_PRAGMAS`]; the
/// cache's memory is handed back (a pooled connection lives on).
const SQLITE_BULK_LOAD_END: &str = "PRAGMA synchronous = FULL; \
     PRAGMA wal_autocheckpoint = 1000; \
     PRAGMA temp_store = DEFAULT; \
     PRAGMA cache_size = -2000; \
     PRAGMA shrink_memory;";

/// Runs a bulk load of many write transactions (`load`), then `finish`, a write transaction
/// that records the load as complete and is the only thing the caller acknowledges.
///
/// On SQLite, `load`'s commits are not synced one by one (`synchronous = NORMAL`): each is
/// atomic and, in WAL mode, a crash or power cut leaves the database as of some earlier
/// commit, never torn. No acknowledged data can be lost by this: the settings are put back
/// (`synchronous = FULL`) before `finish`, so `finish`'s commit syncs the log, which holds
/// every frame `load` committed that a checkpoint has not already synced into the database
/// (a checkpoint syncs the log before it copies and the database after). What a power cut
/// during `load` loses is batches that were never acknowledged, and the caller's loads are
/// idempotent: running them again carries on from the last commit that survived. The
/// settings are restored whatever `load` returns, and if it panics, since the connection
/// may be a pooled one. On PostgreSQL this is just `load` then `finish`.
pub fn bulk_load<T, U>(
    conn: &mut DbConn,
    load: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
    finish: impl FnOnce(&mut DbConn, T) -> Result<U, AppError>,
) -> Result<U, AppError> {
    let DbConn::Sqlite(inner) = conn else {
        let loaded = load(conn)?;
        return finish(conn, loaded);
    };
    inner.batch_execute(SQLITE_BULK_LOAD)?;
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(&mut *conn)));
    let restored = match conn {
        DbConn::Sqlite(inner) => inner.batch_execute(SQLITE_BULK_LOAD_END),
        DbConn::Pg(_) => unreachable!("backend cannot change"),
    };
    let loaded = match loaded {
        Ok(loaded) => loaded?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    restored?;
    finish(conn, loaded)
}

/// Sets SQLite's library-wide options; the program calls it first, before any connection is
/// opened (once SQLite has initialised, these calls are refused, and it keeps its defaults).
///
/// - Multi-thread mode instead of serialized: a connection no longer locks its own mutex on
///   every call. Serialized mode exists for a connection used from several threads at once,
///   which Rust rules out here: diesel's `SqliteConnection` is `Send` but not `Sync`, so a
///   connection (and its prepared statements) is used by one thread at a time, the pool's or
///   the command's.
/// - No memory statistics: otherwise every allocation SQLite makes takes a process-wide mutex to
///   keep counts nothing here reads (no soft heap limit is set).
///
/// Together these were about 5 % of an import's CPU (BENCHMARKS.md).
pub fn configure_sqlite_library() {
    // SAFETY: `sqlite3_config` is called before any connection exists and before any other
    // thread starts, as SQLite requires; its result only says whether it was applied.
    let (threading, memstatus) = unsafe {
        (
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD),
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            ),
        )
    };
    if threading != libsqlite3_sys::SQLITE_OK || memstatus != libsqlite3_sys::SQLITE_OK {
        log::warn!("SQLite kept its default threading mode ({threading}, {memstatus})");
    }
}

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

    /// Asked as a connection goes back to the pool, on the thread that used it: true when
    /// that use failed for want of a connection ([`Db::run`] notes it), so a connection
    /// PostgreSQL has closed is dropped and replaced instead of being handed out again.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        let lost = CONNECTION_LOST.with(|lost| lost.replace(false));
        let stuck = match conn {
            DbConn::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            DbConn::Pg(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        };
        lost || stuck
    }
}

thread_local! {
    /// Set by [`Db::run`] when the work it ran failed because the connection was lost.
    static CONNECTION_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Notes, for the connection about to go back to the pool from this thread, that `e` showed
/// it lost; call before returning the connection.
pub fn note_if_lost(e: &AppError) {
    if connection_lost(e) {
        CONNECTION_LOST.with(|lost| lost.set(true));
    }
}

/// Whether an error means the connection itself is gone (the server closed it or cannot be
/// reached), as opposed to a query that failed on a healthy connection.
fn connection_lost(e: &AppError) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        e,
        AppError::Database(
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _
            ) | Error::BrokenTransactionManager
        )
    )
}

pub type DbPool = Pool<Manager>;

/// Builds the connection pool. Connections are not pinged on every checkout (that doubled
/// the round trips of a short request); a connection whose use showed it lost is discarded
/// as it is returned ([`Manager::has_broken`]), and the next request gets a fresh one.
pub fn build_pool(
    url: &DatabaseUrl,
    max_size: u32,
    connect_timeout: Duration,
) -> Result<DbPool, AppError> {
    Pool::builder()
        .max_size(max_size)
        .test_on_check_out(false)
        .connection_timeout(connect_timeout)
        .build(Manager { url: url.clone() })
        .map_err(|e| AppError::Config(format!("cannot open the database pool: {e}")))
}

/// Runs every pending migration for the connection's backend and returns their names. Indexes a
/// bulk load set aside and did not build again (it was killed) are built first
/// ([`deferred_indexes`]), so the service starts with every index, and a migration finds the
/// schema it was written against.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    let (rebuilt, _) = deferred_indexes::restore(conn)?;
    if rebuilt > 0 {
        log::info!("built {rebuilt} index(es) an interrupted import had set aside");
    }
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(names),
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(names),
    };
    applied.map_err(|e| AppError::Config(format!("migration failed: {e}")))
}

/// Reverts every applied migration (used by the round-trip test and by operators).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<(), AppError> {
    deferred_indexes::restore(conn)?;
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
        DbConn::Sqlite(_) => transaction_from(conn, "BEGIN IMMEDIATE", f),
    }
}

/// Serialises the rest of the current write transaction with every other transaction that
/// names any of `keys`, on every instance sharing the database: a check-then-act (a
/// throttle's count and the attempt it records) is then atomic. On SQLite a write
/// transaction (`BEGIN IMMEDIATE`) already holds the one write lock, so nothing more is
/// needed; on PostgreSQL each key takes a transaction-scoped advisory lock, in sorted order
/// so that two transactions never wait on each other. Call inside [`write_tx`].
pub fn serialise_on(conn: &mut DbConn, keys: &[&str]) -> Result<(), AppError> {
    let DbConn::Pg(pg) = conn else {
        return Ok(());
    };
    let mut keys: Vec<&str> = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)?;
    }
    Ok(())
}

/// Runs `f` in a read transaction: a snapshot on SQLite (`BEGIN`, deferred, in WAL mode) and
/// `REPEATABLE READ, READ ONLY` on PostgreSQL (said in the `BEGIN`, one round trip).
pub fn read_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    match conn {
        DbConn::Pg(_) => {
            transaction_from(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", f)
        }
        DbConn::Sqlite(_) => transaction_from(conn, "BEGIN", f),
    }
}

/// A transaction opened by `begin`, committed when `f` succeeds and rolled back otherwise.
fn transaction_from<T, F>(conn: &mut DbConn, begin: &str, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    fn end(conn: &mut DbConn, commit: bool) -> diesel::QueryResult<()> {
        match (conn, commit) {
            (DbConn::Sqlite(c), true) => AnsiTransactionManager::commit_transaction(c),
            (DbConn::Sqlite(c), false) => AnsiTransactionManager::rollback_transaction(c),
            (DbConn::Pg(c), true) => AnsiTransactionManager::commit_transaction(c),
            (DbConn::Pg(c), false) => AnsiTransactionManager::rollback_transaction(c),
        }
    }
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, begin)?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, begin)?,
    }
    match f(conn) {
        Ok(value) => {
            end(conn, true)?;
            Ok(value)
        }
        Err(e) => {
            // The first error is the one to report; a connection whose rollback failed is
            // left marked broken and is not reused (`Manager::has_broken`).
            if let Err(rollback) = end(conn, false) {
                log::warn!("rollback failed after an error: {rollback}");
            }
            Err(e)
        }
    }
}

/// Serialises appends to the audit chain until the surrounding transaction ends. SQLite
/// needs nothing: write transactions there are already serial (`BEGIN IMMEDIATE`).
pub fn lock_audit_chain(conn: &mut DbConn) -> Result<(), AppError> {
    if let DbConn::Pg(_) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(741100001)").execute(conn)?;
    }
    Ok(())
}

/// `column IN (values)` written as `column = ? OR column = ? ...`, for the queries of every
/// page view. Diesel never keeps a statement holding an IN list of bound values, so SQLite
/// parses and plans it again on each use; it keeps one with equalities joined by OR by its
/// text, one statement for each number of values, and both databases read an OR of
/// equalities on one column as IN. The ORs are nested as a balanced tree, so a long list
/// stays far under SQLite's expression depth limit (1,000). No values matches nothing.
///
/// For short lists (areas, statuses, a page of ids). Hundreds of keys of a large table are
/// better read a chunk at a time with `eq_any`: on the million-referral database this build's
/// SQLite read such an OR of 500 ids by scanning the table (BENCHMARKS.md, eighth run).
pub fn any_of<QS, C, V>(
    column: C,
    values: impl IntoIterator<Item = V>,
) -> Box<dyn diesel::BoxableExpression<QS, MultiBackend, SqlType = diesel::sql_types::Bool>>
where
    QS: 'static,
    C: diesel::ExpressionMethods + Copy,
    C::SqlType: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    V: diesel::expression::AsExpression<C::SqlType>,
    diesel::dsl::Eq<C, V>:
        diesel::BoxableExpression<QS, MultiBackend, SqlType = diesel::sql_types::Bool> + 'static,
{
    use diesel::BoolExpressionMethods;
    type Term<QS> =
        Box<dyn diesel::BoxableExpression<QS, MultiBackend, SqlType = diesel::sql_types::Bool>>;
    let mut terms: Vec<Term<QS>> = values
        .into_iter()
        .map(|v| -> Term<QS> { Box::new(column.eq(v)) })
        .collect();
    while terms.len() > 1 {
        let mut pairs = terms.into_iter();
        let mut joined = Vec::new();
        while let Some(a) = pairs.next() {
            joined.push(match pairs.next() {
                Some(b) => Box::new(a.or(b)) as Term<QS>,
                None => a,
            });
        }
        terms = joined;
    }
    terms
        .pop()
        .unwrap_or_else(|| Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0")))
}

/// Why this database cannot take the service's work yet, for the readiness check: migrations
/// are pending, or it refuses writes (a read-only file or standby, a read-only default).
/// `None` when it is ready.
pub fn unready(conn: &mut DbConn) -> Result<Option<String>, AppError> {
    // First a write that changes nothing, rolled back: refused where the database takes no
    // writes (reading the migrations would itself write where their table is missing).
    let probe = |c: &mut DbConn| -> Result<(), diesel::result::Error> {
        diesel::sql_query("UPDATE __diesel_schema_migrations SET version = version WHERE 1 = 0")
            .execute(c)?;
        Err(diesel::result::Error::RollbackTransaction)
    };
    match diesel::Connection::transaction(conn, probe) {
        Err(diesel::result::Error::RollbackTransaction) | Ok(()) => {}
        Err(e) => return Ok(Some(format!("the database refuses writes: {e}"))),
    }
    let pending = match conn {
        DbConn::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|m| m.len()),
        DbConn::Pg(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|m| m.len()),
    };
    Ok(match pending {
        Ok(0) => None,
        Ok(n) => Some(format!(
            "{n} database migration(s) pending: run `mhtr-pathway migrate`"
        )),
        Err(e) => Some(format!("cannot read the database's migrations: {e}")),
    })
}

/// Cheap reachability check for `/healthz`.
pub fn ping(conn: &mut DbConn) -> Result<(), AppError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// Keeps SQLite's query planner statistics current, reading a bounded sample of each index:
/// a database without statistics for its referrals is analysed; after that `PRAGMA optimize`
/// analyses again the tables that have grown or shrunk enough. Without statistics SQLite may
/// choose an area-wide index for a caseload query (BENCHMARKS.md). PostgreSQL's autovacuum
/// does this there, so this does nothing on it. Run by the hourly housekeeping.
pub fn refresh_statistics(conn: &mut DbConn) -> Result<(), AppError> {
    use diesel::connection::SimpleConnection;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConn::Sqlite(c) = conn else {
        return Ok(());
    };
    let count = |c: &mut SqliteConnection, sql: &str| -> Result<i64, AppError> {
        Ok(diesel::sql_query(sql).get_result::<Count>(c)?.n)
    };
    // Referrals, the largest table the pages search, stand for the rest.
    let analysed = count(
        c,
        "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'",
    )? > 0
        && count(
            c,
            "SELECT count(*) AS n FROM sqlite_stat1 WHERE tbl = 'referrals'",
        )? > 0;
    c.batch_execute(if analysed {
        "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;"
    } else {
        "PRAGMA analysis_limit = 1000; ANALYZE;"
    })?;
    Ok(())
}

/// Runs `f` on a pooled connection, then returns it to the pool on this thread, noting first
/// whether an error showed it lost (`has_broken` reads the note on this thread).
fn run_on<T, F>(mut conn: diesel::r2d2::PooledConnection<Manager>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    let result = f(&mut conn);
    if let Err(e) = &result {
        note_if_lost(e);
    }
    drop(conn);
    result
}

/// The async face of the pool: every query runs on the blocking thread pool, never on an
/// async worker, except the short reads of [`Db::read_short`] on SQLite.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: &'static str,
}

impl Db {
    pub fn new(pool: DbPool, url: &DatabaseUrl) -> Self {
        Self {
            pool,
            backend: url.backend_name(),
        }
    }

    /// Like [`Db::run`] inside a read-only transaction, so every query sees the same moment.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| read_tx(conn, f)).await
    }

    /// Like [`Db::read`], for a short read that an index bounds (a page of a caseload, one
    /// referral): on SQLite, when a pooled connection is free at once, it runs here on the
    /// calling worker rather than being handed to the blocking pool and back. The two thread
    /// hand-offs cost more than such a read (BENCHMARKS.md, load test, sixth run); a WAL
    /// reader never waits for a lock. Anything else (PostgreSQL, whose queries wait on the
    /// network; no connection free) goes the way [`Db::read`] goes. Never use it for a read
    /// whose length grows with the data: it holds up every other request on this worker.
    pub async fn read_short<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if self.backend == "sqlite"
            && let Some(conn) = self.pool.try_get()
        {
            return run_on(conn, move |c| read_tx(c, f));
        }
        self.read(f).await
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
            let conn = pool
                .get()
                .map_err(|e| AppError::Unavailable(e.to_string()))?;
            run_on(conn, f)
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

    /// The build's SQLite keeps its plans for every bound value (`.cargo/config.toml`): without
    /// it each `.first()` re-prepares its cached statement, as its LIMIT is a bound value.
    #[test]
    fn sqlite_is_built_with_the_query_planner_stability_guarantee() {
        #[derive(diesel::QueryableByName)]
        struct Opt {
            #[diesel(sql_type = diesel::sql_types::Text)]
            compile_options: String,
        }
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let opts: Vec<Opt> = diesel::sql_query("PRAGMA compile_options")
            .load(&mut c)
            .unwrap();
        assert!(
            opts.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
            "SQLite was built without SQLITE_ENABLE_QPSG: build from the checkout so \
             .cargo/config.toml applies"
        );
    }

    /// A short read runs on the calling thread when a connection is free, and is handed to
    /// the blocking pool, to wait there, when none is.
    #[actix_web::test]
    async fn a_short_read_runs_here_only_when_a_connection_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite {
            path: dir.path().join("short.db").to_string_lossy().into_owned(),
        };
        let pool = build_pool(&url, 1, Duration::from_secs(5)).unwrap();
        let db = Db::new(pool.clone(), &url);
        let here = std::thread::current().id();
        let ran_on = |_: &mut DbConn| Ok(std::thread::current().id());

        assert_eq!(db.read_short(ran_on).await.unwrap(), here);

        let held = pool.get().unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(held);
        });
        let elsewhere = db.read_short(ran_on).await.unwrap();
        release.join().unwrap();
        assert_ne!(
            elsewhere, here,
            "no connection was free: not run on this thread"
        );

        let failed: Result<(), AppError> = db.read_short(|_| Err(AppError::NotFound)).await;
        assert!(matches!(failed, Err(AppError::NotFound)));
        assert_eq!(
            db.read_short(ran_on).await.unwrap(),
            here,
            "the connection is back"
        );
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Settings {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        synchronous: i32,
    }

    #[derive(diesel::QueryableByName)]
    struct CacheSize {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        cache_size: i32,
    }

    /// (synchronous, cache_size) of the connection: 2 is FULL, 1 NORMAL.
    fn settings(c: &mut DbConn) -> (i32, i32) {
        let s: Settings = diesel::sql_query("PRAGMA synchronous")
            .get_result(c)
            .unwrap();
        let k: CacheSize = diesel::sql_query("PRAGMA cache_size")
            .get_result(c)
            .unwrap();
        (s.synchronous, k.cache_size)
    }

    #[test]
    fn a_bulk_load_relaxes_syncing_only_until_its_finishing_commit_and_always_restores() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite {
            path: dir.path().join("bulk.db").to_string_lossy().into_owned(),
        };
        let mut c = connect(&url).unwrap();
        let normal = settings(&mut c);
        assert_eq!(normal, (2, -2000));

        let seen = bulk_load(
            &mut c,
            |c| Ok(settings(c)),
            |c, during| Ok((during, settings(c))),
        )
        .unwrap();
        assert_eq!(seen, ((1, -262144), normal), "finish commits fully synced");
        assert_eq!(settings(&mut c), normal);

        let failed: Result<(), AppError> = bulk_load(
            &mut c,
            |_| Err(AppError::Internal(anyhow::anyhow!("stopped"))),
            |_, ()| panic!("finish runs only after a whole load"),
        );
        assert!(failed.is_err());
        assert_eq!(settings(&mut c), normal);

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = bulk_load(
                &mut c,
                |_| -> Result<(), AppError> { panic!("bug") },
                |_, ()| Ok(()),
            );
        }));
        assert!(panicked.is_err());
        assert_eq!(
            settings(&mut c),
            normal,
            "a pooled connection goes back as it was"
        );
    }
}
