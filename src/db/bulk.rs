//! Bulk writes: [`bulk_insert!`] of diesel rows, and multi-row `INSERT ... VALUES`
//! statements with literal values, for the synthetic data generator and the report
//! aggregates. Every text value goes through [`q`],
//! and only values the application made itself are written this way, never user input.

use diesel::connection::SimpleConnection;

use crate::db::DbConn;
use crate::error::AppError;

/// Rows per multi-row INSERT of [`bulk_insert!`] on PostgreSQL (kept under its bound-parameter
/// limit for the widest table written this way, `report_facts`).
pub const CHUNK: usize = 1000;

/// Inserts `rows` (a slice of diesel `Insertable`s) on whichever backend `$c` is. The columns
/// come from the row type, so a new column cannot be left out; for the import, the audit log
/// and the synthetic data generator.
///
/// On SQLite, one single-row INSERT a row: diesel prepares that statement once and keeps it,
/// so each row costs a bind and a step. A multi-row INSERT of a slice cannot be kept (its
/// length is only known at run time), so SQLite would parse and plan a thousand-row statement
/// on every call, and keep a statement journal while it runs; with no round trips to save,
/// the single-row statement is cheaper (about a fifth less CPU for the import). On
/// PostgreSQL, multi-row INSERTs of [`CHUNK`] rows, one round trip each.
macro_rules! bulk_insert {
    ($c:expr, $table:expr, $rows:expr) => {
        match &mut *$c {
            $crate::db::DbConn::Sqlite(inner) => {
                for row in $rows.iter() {
                    diesel::insert_into($table).values(row).execute(inner)?;
                }
            }
            $crate::db::DbConn::Pg(inner) => {
                for chunk in $rows.chunks($crate::db::bulk::CHUNK) {
                    diesel::insert_into($table).values(chunk).execute(inner)?;
                }
            }
        }
    };
}
pub(crate) use bulk_insert;

/// A text literal, quotes doubled.
pub fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A date literal.
pub fn day(d: chrono::NaiveDate) -> String {
    format!("'{d}'")
}

/// Runs `head VALUES row, row, ... tail` over the rows, a few hundred to a statement.
pub fn insert_rows(
    c: &mut DbConn,
    head: &str,
    rows: &[String],
    tail: &str,
) -> Result<(), AppError> {
    for chunk in rows.chunks(400) {
        let mut sql = String::with_capacity(head.len() + tail.len() + chunk.len() * 200);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(r);
        }
        sql.push(' ');
        sql.push_str(tail);
        c.batch_execute(&sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_are_doubled() {
        assert_eq!(super::q("O'Connor"), "'O''Connor'");
    }
}
