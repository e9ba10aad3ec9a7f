//! Online backup and restore of a SQLite database.
//!
//! `backup` runs `VACUUM INTO` on a read transaction of the live database: in WAL mode a
//! reader sees one consistent snapshot (every transaction committed before it began, none
//! after) and never blocks the service's writers, so a backup can be taken while `serve`
//! is writing. The copy is written beside its destination, checked with
//! `PRAGMA integrity_check`, synced, and only then renamed into place.
//!
//! `restore` checks the backup the same way before it replaces anything, refuses while the
//! target database looks in use (its `-wal` or `-shm` file exists) unless forced, and swaps
//! the file in with a rename so a crash leaves either the old database or the new one.
//!
//! PostgreSQL has its own tools for this (`pg_dump -Fc` and `pg_restore`), see the README.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::{self, DatabaseUrl, DbConn};
use crate::error::AppError;

/// What a backup or restore reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub path: PathBuf,
    pub bytes: u64,
    pub audit_entries: i64,
}

/// The message for PostgreSQL, which is backed up with its own tools.
pub const POSTGRES_ADVICE: &str = "this database is PostgreSQL: back it up with its own tools, \
     e.g. pg_dump -Fc -f mhtr.dump DATABASE_URL, and restore with \
     pg_restore --clean --if-exists -d DATABASE_URL mhtr.dump (see the README)";

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn config(message: String) -> AppError {
    AppError::Config(message)
}

/// `PRAGMA integrity_check` of the database at `path`: `Ok` when it answers `ok`.
pub fn integrity_check(path: &Path) -> Result<(), AppError> {
    let mut c = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| config(format!("cannot open {}: {e}", path.display())))?;
    let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut c)
        .map_err(|e| {
            config(format!(
                "{} is not a readable database: {e}",
                path.display()
            ))
        })?;
    let problems: Vec<String> = lines
        .into_iter()
        .map(|l| l.integrity_check)
        .filter(|l| l != "ok")
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(config(format!(
            "{} fails PRAGMA integrity_check: {}",
            path.display(),
            problems.join("; ")
        )))
    }
}

fn audit_count(path: &Path) -> Result<i64, AppError> {
    let mut c = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| config(format!("cannot open {}: {e}", path.display())))?;
    let migrated: Vec<Count> = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'",
    )
    .load(&mut c)?;
    if migrated.first().map(|r| r.n).unwrap_or(0) == 0 {
        return Err(config(format!(
            "{} is not an MHTR Pathway database (it has no audit log)",
            path.display()
        )));
    }
    let n: Vec<Count> = diesel::sql_query("SELECT COUNT(*) AS n FROM audit_events").load(&mut c)?;
    Ok(n.first().map(|r| r.n).unwrap_or(0))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn sync_file(path: &Path) -> Result<(), AppError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| config(format!("cannot sync {}: {e}", path.display())))
}

fn sync_dir(path: &Path) {
    // Best effort: makes the rename durable on filesystems that need it.
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Takes a consistent copy of the live database named by `url` into `out`, which must not
/// exist yet. Records the backup in the audit log first, so the copy holds its own entry.
pub fn backup(url: &DatabaseUrl, out: &Path, actor: &Actor) -> Result<Summary, AppError> {
    let DatabaseUrl::Sqlite { path } = url else {
        return Err(config(POSTGRES_ADVICE.into()));
    };
    if !Path::new(path).exists() {
        return Err(config(format!("there is no database at {path}")));
    }
    if out.exists() {
        return Err(config(format!(
            "{} already exists: choose a new file name",
            out.display()
        )));
    }
    if let Some(parent) = out.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| config(format!("cannot create {}: {e}", parent.display())))?;
    }
    let partial = sibling(out, ".partial");
    let _ = std::fs::remove_file(&partial);

    let mut conn = db::connect(url)?;
    db::write_tx(&mut conn, |c| {
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Administration, "database.backup_taken")
                .details(serde_json::json!({ "file": out.display().to_string() })),
        )
    })?;
    // One statement, one read transaction: the snapshot the copy is made from.
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(partial.to_string_lossy().into_owned())
        .execute(&mut conn)
        .map_err(|e| config(format!("backup failed: {e}")))?;
    drop(conn);

    let checked = integrity_check(&partial).and_then(|_| audit_count(&partial));
    let audit_entries = match checked {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    sync_file(&partial)?;
    std::fs::rename(&partial, out)
        .map_err(|e| config(format!("cannot move the backup into place: {e}")))?;
    sync_dir(out);
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(Summary {
        path: out.to_owned(),
        bytes,
        audit_entries,
    })
}

/// Whether the database at `path` looks open: SQLite keeps `-wal` and `-shm` files beside a
/// WAL database while any connection has it open, and removes them when the last closes.
pub fn looks_in_use(path: &Path) -> bool {
    sibling(path, "-wal").exists() || sibling(path, "-shm").exists()
}

/// Puts the backup `from` in place of the database named by `url`. The backup is checked
/// first; the target is refused while it looks in use unless `force` (for files left by a
/// crash, with the service stopped).
pub fn restore(
    url: &DatabaseUrl,
    from: &Path,
    force: bool,
    actor: &Actor,
) -> Result<Summary, AppError> {
    let DatabaseUrl::Sqlite { path } = url else {
        return Err(config(POSTGRES_ADVICE.into()));
    };
    let target = PathBuf::from(path);
    if !from.is_file() {
        return Err(config(format!("there is no backup at {}", from.display())));
    }
    if looks_in_use(&target) && !force {
        return Err(config(format!(
            "{} looks in use (its -wal or -shm file exists): stop the service first. If it \
             is stopped and those files were left by a crash, add --force",
            target.display()
        )));
    }
    if let Some(parent) = target.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| config(format!("cannot create {}: {e}", parent.display())))?;
    }
    // Work on a copy beside the target, so the backup itself is never changed and the final
    // step is a rename on one filesystem.
    let staging = sibling(&target, ".restoring");
    let _ = std::fs::remove_file(&staging);
    std::fs::copy(from, &staging)
        .map_err(|e| config(format!("cannot copy {}: {e}", from.display())))?;
    let checked = integrity_check(&staging).and_then(|_| audit_count(&staging));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&staging);
        return Err(e);
    }
    sync_file(&staging)?;
    for stale in [sibling(&target, "-wal"), sibling(&target, "-shm")] {
        if stale.exists() {
            std::fs::remove_file(&stale)
                .map_err(|e| config(format!("cannot remove {}: {e}", stale.display())))?;
        }
    }
    std::fs::rename(&staging, &target)
        .map_err(|e| config(format!("cannot move the restored database into place: {e}")))?;
    sync_dir(&target);

    let mut conn = db::connect(url)?;
    let from_name = from.display().to_string();
    db::write_tx(&mut conn, |c| {
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Administration, "database.restored")
                .details(serde_json::json!({ "file": from_name })),
        )
    })?;
    let audit_entries = match &mut conn {
        DbConn::Sqlite(c) => {
            c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
            let n: Vec<Count> =
                diesel::sql_query("SELECT COUNT(*) AS n FROM audit_events").load(c)?;
            n.first().map(|r| r.n).unwrap_or(0)
        }
        DbConn::Pg(_) => 0,
    };
    drop(conn);
    let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    Ok(Summary {
        path: target,
        bytes,
        audit_entries,
    })
}
