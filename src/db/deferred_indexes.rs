//! Secondary indexes set aside while a bulk load writes into a table, and built again after it
//! (SQLite only; on PostgreSQL both functions do nothing).
//!
//! Every row inserted into a table is also inserted into each of its indexes, at a place that
//! for most indexes is random (sessions by practitioner and start time, people by date of
//! birth), and each batch's commit writes every index page it touched again. When the rows
//! coming in outnumber the rows already there, it is far cheaper to drop the table's ordinary
//! indexes, load, and build each index once with `CREATE INDEX`, which sorts its entries and
//! writes every page once (what `pg_restore` does). Unique indexes and primary keys are never
//! dropped: they enforce constraints while the rows go in, and foreign keys look up parents
//! through them.
//!
//! Crash safety: [`defer`] records each dropped index's definition in `deferred_indexes` in the
//! transaction that drops it, and [`restore`] builds each again in a transaction that deletes
//! its record, so at every moment each index either exists or is recorded. [`restore`] runs at
//! the end of the load and also before migrations ([`crate::db::run_migrations`], which the
//! `migrate` and `import` commands and the service's start run), so a load that is killed part
//! way leaves a database whose next start builds them again. Meanwhile every query still
//! answers correctly, only more slowly where it would have used a missing index.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::deferred_indexes;
use crate::db::{self, DbConn};
use crate::error::AppError;

#[derive(QueryableByName)]
struct Definition {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(c: &mut DbConn, sql: &str, bind: &str) -> Result<i64, AppError> {
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(bind)
        .get_result::<Count>(c)?
        .n)
}

/// An identifier quoted for SQLite.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Drops `table`'s non-unique indexes made by `CREATE INDEX` and records their definitions, in
/// one write transaction; returns their names. Indexes already deferred are left as they are.
pub fn defer(c: &mut DbConn, table: &str) -> Result<Vec<String>, AppError> {
    if !matches!(c, DbConn::Sqlite(_)) {
        return Ok(Vec::new());
    }
    db::write_tx(c, |c| {
        let found: Vec<Definition> = diesel::sql_query(
            "SELECT s.name AS name, s.sql AS definition \
             FROM sqlite_schema s JOIN pragma_index_list(?1) l ON l.name = s.name \
             WHERE s.type = 'index' AND s.sql IS NOT NULL AND l.\"unique\" = 0 AND l.origin = 'c' \
             ORDER BY s.name",
        )
        .bind::<Text, _>(table)
        .load(c)?;
        let now = crate::clock::now();
        for index in &found {
            diesel::insert_into(deferred_indexes::table)
                .values((
                    deferred_indexes::name.eq(&index.name),
                    deferred_indexes::table_name.eq(table),
                    deferred_indexes::definition.eq(&index.definition),
                    deferred_indexes::deferred_at.eq(now),
                ))
                .execute(c)?;
            c.batch_execute(&format!("DROP INDEX {}", quoted(&index.name)))?;
        }
        Ok(found.into_iter().map(|i| i.name).collect())
    })
}

/// Builds every recorded index again, each in its own write transaction (so other writers wait
/// for one index build at a time, not all of them), then refreshes the query planner's
/// statistics of their tables if the database keeps any (dropping an index drops its
/// statistics). Returns how many it built and the longest one build held the write lock.
pub fn restore(c: &mut DbConn) -> Result<(usize, Duration), AppError> {
    if !matches!(c, DbConn::Sqlite(_))
        || count(
            c,
            "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            "deferred_indexes",
        )? == 0
    {
        // PostgreSQL, or a database the migration that makes the table has not reached.
        return Ok((0, Duration::ZERO));
    }
    let pending: Vec<(String, String, String)> = deferred_indexes::table
        .select((
            deferred_indexes::name,
            deferred_indexes::table_name,
            deferred_indexes::definition,
        ))
        .order(deferred_indexes::name)
        .load(c)?;
    let mut longest = Duration::ZERO;
    let mut tables: Vec<&str> = Vec::new();
    for (name, table, definition) in &pending {
        let began = Instant::now();
        db::write_tx(c, |c| {
            // Another process may have built it already (two imports, or the service's start).
            let exists = count(
                c,
                "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                name,
            )? > 0;
            if !exists {
                c.batch_execute(definition)?;
            }
            diesel::delete(deferred_indexes::table.find(name)).execute(c)?;
            Ok(())
        })?;
        let took = began.elapsed();
        log::debug!("index {name} built in {:.2}s", took.as_secs_f64());
        longest = longest.max(took);
        if !tables.contains(&table.as_str()) {
            tables.push(table);
        }
    }
    let analysed = !tables.is_empty()
        && count(
            c,
            "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            "sqlite_stat1",
        )? > 0;
    if analysed {
        // A bounded sample of each index, as the hourly housekeeping takes.
        let mut sql = String::from("PRAGMA analysis_limit = 1000;");
        for table in &tables {
            sql.push_str(&format!(" ANALYZE {};", quoted(table)));
        }
        sql.push_str(" PRAGMA analysis_limit = 0;");
        c.batch_execute(&sql)?;
    }
    Ok((pending.len(), longest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DatabaseUrl, connect, run_migrations};

    fn indexes(c: &mut DbConn, table: &str) -> Vec<(String, String)> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = Text)]
            definition: String,
        }
        diesel::sql_query(
            "SELECT name, sql AS definition FROM sqlite_schema \
             WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
        )
        .bind::<Text, _>(table)
        .load::<Row>(c)
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.definition))
        .collect()
    }

    #[test]
    fn ordinary_indexes_are_dropped_recorded_and_built_again_and_unique_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite {
            path: dir.path().join("d.db").to_string_lossy().into_owned(),
        };
        let mut c = connect(&url).unwrap();
        run_migrations(&mut c).unwrap();
        c.batch_execute("CREATE UNIQUE INDEX people_unique_test ON people (id, crn)")
            .unwrap();
        let before = indexes(&mut c, "people");
        assert!(before.len() >= 4);

        let dropped = defer(&mut c, "people").unwrap();
        assert_eq!(
            dropped,
            [
                "people_crn",
                "people_dob",
                "people_merged_into",
                "people_pnc"
            ]
        );
        assert_eq!(
            indexes(&mut c, "people"),
            [before
                .iter()
                .find(|(n, _)| n == "people_unique_test")
                .unwrap()
                .clone()],
            "the unique index stays"
        );
        assert!(defer(&mut c, "people").unwrap().is_empty(), "nothing twice");

        // As the next start after a crash would.
        drop(c);
        let mut c = connect(&url).unwrap();
        run_migrations(&mut c).unwrap();
        assert_eq!(indexes(&mut c, "people"), before);
        assert_eq!(restore(&mut c).unwrap().0, 0, "nothing left recorded");
    }
}
