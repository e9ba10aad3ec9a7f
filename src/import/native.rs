//! The `native` format: an export of this service (`mhtr-pathway export`, docs/export.md)
//! loaded back verbatim — ids, timestamps, statuses, history, measures, the audit log.
//!
//! The mapping file (`format = "native"`) lists each exported file and the table it restores;
//! the tables' columns and types are the export's own definitions ([`crate::export::TABLES`]),
//! so a new table needs a line in the mapping, not an importer of its own. [`plan`] reads
//! every file (the JSON ones: JSON tells null from an empty string, CSV cannot) and decides
//! each row's fate without writing: imported, already here (the same row under the same
//! primary key) or rejected (with the row, column and reason: an unknown or missing column, a
//! value of the wrong type, a key given twice, or a different row already under that key).
//! Source rows = imported + already imported + rejected, asserted. [`apply`] inserts the
//! accepted rows in the export's load order (parents first) in one transaction, so the
//! database's foreign keys check every reference and a failure writes nothing; then records
//! the import in the audit log (after the imported audit entries, continuing their chain)
//! and computes the report facts and aggregates, which are derived and not exported.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamp};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{FileReport, Input, Report};
use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::export::{self, Kind, TABLES};

/// A `format = "native"` mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeMapping {
    pub format: String,
    pub source_system: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "file")]
    pub files: Vec<NativeFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeFile {
    /// The exported file, e.g. `people.json`.
    pub file_name: String,
    /// The table it restores: one of the export's tables.
    pub table: String,
}

/// Whether a mapping file's text declares the native format.
pub fn is_native(text: &str) -> bool {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("format").and_then(|f| f.as_str().map(str::to_owned)))
        .is_some_and(|f| f == "native")
}

impl NativeMapping {
    pub fn parse(text: &str) -> Result<NativeMapping, String> {
        let m: NativeMapping = toml::from_str(text).map_err(|e| format!("mapping file: {e}"))?;
        if m.format != "native" {
            return Err("format must be \"native\"".into());
        }
        if m.source_system.trim().is_empty() {
            return Err("source_system must name the system the export came from".into());
        }
        let mut tables = HashSet::new();
        let mut names = HashSet::new();
        for f in &m.files {
            if !TABLES.iter().any(|t| t.name == f.table) {
                return Err(format!(
                    "file {}: there is no exported table '{}'",
                    f.file_name, f.table
                ));
            }
            if !tables.insert(f.table.as_str()) {
                return Err(format!("table {} is restored from two files", f.table));
            }
            if !names.insert(f.file_name.as_str()) {
                return Err(format!("file {} is described twice", f.file_name));
            }
            if !f.file_name.ends_with(".json") {
                return Err(format!(
                    "file {}: the native format reads the export's JSON files",
                    f.file_name
                ));
            }
        }
        if m.files.is_empty() {
            return Err("the mapping describes no [[file]]".into());
        }
        Ok(m)
    }

    pub fn load(path: &std::path::Path) -> Result<NativeMapping, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read mapping file {}: {e}", path.display()))?;
        NativeMapping::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The accepted rows of each table, in load order.
#[derive(Debug, Default)]
pub struct NativePlan {
    pub source_system: String,
    tables: Vec<(&'static export::Table, Vec<Vec<Value>>)>,
}

impl NativePlan {
    pub fn rows(&self) -> usize {
        self.tables.iter().map(|(_, r)| r.len()).sum()
    }
}

/// A value of the export's format for a column of this kind, or why not.
fn check_value(kind: Kind, v: &Value) -> Result<(), String> {
    // An old SQLite database may hold a NUL in text; PostgreSQL cannot store one, and the
    // service no longer takes one (`web::input`): the row is refused, the same on both.
    if let (Kind::Text, Value::String(s)) = (kind, v)
        && s.contains('\0')
    {
        return Err(
            "holds a NUL character, which cannot be stored: remove it from the file and run the import again"
                .into(),
        );
    }
    let ok = match (kind, v) {
        (_, Value::Null) => true,
        (Kind::Text, Value::String(_)) => true,
        (Kind::Int, Value::Number(n)) => n.as_i64().is_some(),
        (Kind::Bool, Value::Bool(_)) => true,
        (Kind::Date, Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        (Kind::Timestamp, Value::String(s)) => {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        let want = match kind {
            Kind::Text => "text",
            Kind::Int => "a whole number",
            Kind::Bool => "true or false",
            Kind::Date => "a date (YYYY-MM-DD)",
            Kind::Timestamp => "a timestamp (YYYY-MM-DDTHH:MM:SS.ffffff)",
        };
        let shown: String = v.to_string().chars().take(40).collect();
        Err(format!("{shown} is not {want}"))
    }
}

fn key_of(t: &export::Table, row: &[Value]) -> Vec<String> {
    t.key
        .iter()
        .map(|k| {
            let i = t.columns.iter().position(|(c, _)| c == k).unwrap_or(0);
            row[i].to_string()
        })
        .collect()
}

/// Reads every file, checks every row against its table and what is already here, and
/// reports each row's fate. Writes nothing.
pub fn plan(
    c: &mut DbConn,
    mapping: &NativeMapping,
    mapping_name: &str,
    inputs: &[Input],
) -> Result<(NativePlan, Report), AppError> {
    let mut report = Report::new(&mapping.source_system, mapping_name);
    for input in inputs {
        if !mapping.files.iter().any(|f| f.file_name == input.name) {
            return Err(AppError::Config(format!(
                "{} is not described by the mapping",
                input.name
            )));
        }
    }
    let mut plan = NativePlan {
        source_system: mapping.source_system.clone(),
        tables: Vec::new(),
    };
    let mut hash = Sha256::new();
    // In the export's load order, whatever the mapping's order.
    for t in TABLES {
        let Some(fm) = mapping.files.iter().find(|f| f.table == t.name) else {
            continue;
        };
        let Some(input) = inputs.iter().find(|i| i.name == fm.file_name) else {
            if export::LATER_TABLES.contains(&t.name) {
                continue;
            }
            return Err(AppError::Config(format!(
                "{} is missing: the mapping restores {} from it",
                fm.file_name, t.name
            )));
        };
        let rows: Vec<Value> = match serde_json::from_slice::<Value>(&input.bytes) {
            Ok(Value::Array(rows)) => rows,
            _ => {
                return Err(AppError::Config(format!(
                    "{}: not an exported JSON file (an array of rows)",
                    input.name
                )));
            }
        };
        let existing: HashMap<Vec<String>, Vec<Value>> = export::rows(c, t)?
            .into_iter()
            .map(|r| (key_of(t, &r), r))
            .collect();
        let mut file = FileReport {
            name: input.name.clone(),
            table: t.name,
            source_rows: rows.len(),
            imported: 0,
            merged: 0,
            rejected: 0,
            excluded: 0,
            already: 0,
            to_check: 0,
            recoded: 0,
            notes: Vec::new(),
            unmapped: Vec::new(),
        };
        let mut seen = HashSet::new();
        let mut accepted = Vec::new();
        for (i, raw) in rows.into_iter().enumerate() {
            let line = i as u64 + 1;
            let (row, problem) = read_row(t, raw);
            let source_id = if problem.is_none() || row.len() == t.columns.len() {
                key_of(t, &row)
                    .iter()
                    .map(|k| k.trim_matches('"').to_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                String::new()
            };
            if let Some((field, reason)) = problem {
                file.note_rejected(line, &source_id, &field, &reason);
                continue;
            }
            let key = key_of(t, &row);
            if !seen.insert(key.clone()) {
                file.note_rejected(
                    line,
                    &source_id,
                    t.key[0],
                    "this key is given by an earlier row of the file",
                );
                continue;
            }
            match existing.get(&key) {
                Some(here) if *here == row => file.note_already(line, &source_id),
                Some(_) => file.note_rejected(
                    line,
                    &source_id,
                    t.key[0],
                    "a different row with this key is already here",
                ),
                None => {
                    hash.update(t.name.as_bytes());
                    hash.update([0]);
                    hash.update(Value::Array(row.clone()).to_string().as_bytes());
                    hash.update([b'\n']);
                    file.imported += 1;
                    accepted.push(row);
                }
            }
        }
        report.tables.push((
            t.name.to_owned(),
            existing.len() as i64,
            (existing.len() + accepted.len()) as i64,
        ));
        report.files.push(file);
        plan.tables.push((t, accepted));
    }
    report.checksum = hex::encode(hash.finalize());
    report.assert_balanced();
    Ok((plan, report))
}

/// A JSON row as the table's values in column order, or the column and reason it is refused.
fn read_row(t: &export::Table, raw: Value) -> (Vec<Value>, Option<(String, String)>) {
    let Value::Object(mut obj) = raw else {
        return (
            Vec::new(),
            Some((String::new(), "not a JSON object".into())),
        );
    };
    let mut row = Vec::with_capacity(t.columns.len());
    let mut problem = None;
    for (col, kind) in t.columns {
        let v = obj.remove(*col);
        match v {
            None => match export::LATER_COLUMNS
                .iter()
                .find(|(table, later, _)| *table == t.name && later == col)
            {
                Some((_, _, value)) => row.push(value.clone()),
                None => {
                    problem.get_or_insert(((*col).to_owned(), "the column is missing".to_owned()));
                    row.push(Value::Null);
                }
            },
            Some(v) => {
                if let Err(why) = check_value(*kind, &v) {
                    problem.get_or_insert(((*col).to_owned(), why));
                }
                if t.key.contains(col) && v.is_null() {
                    problem.get_or_insert(((*col).to_owned(), "the key is empty".to_owned()));
                }
                row.push(v);
            }
        }
    }
    if let Some(extra) = obj.keys().next() {
        problem.get_or_insert((extra.clone(), format!("{} has no column '{extra}'", t.name)));
    }
    (row, problem)
}

/// Inserts one row with typed parameters (so each backend stores dates, timestamps and
/// booleans its own way, as the service does).
fn insert(c: &mut DbConn, t: &export::Table, row: &[Value]) -> Result<(), AppError> {
    let cols = t
        .columns
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ");
    let params = (1..=t.columns.len())
        .map(|i| match c {
            DbConn::Sqlite(_) => "?".to_owned(),
            DbConn::Pg(_) => format!("${i}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("INSERT INTO {} ({cols}) VALUES ({params})", t.name);
    let mut q = diesel::sql_query(sql).into_boxed();
    for ((_, kind), v) in t.columns.iter().zip(row) {
        q = match kind {
            Kind::Text => q.bind::<Nullable<Text>, _>(v.as_str().map(str::to_owned)),
            Kind::Int => q.bind::<Nullable<BigInt>, _>(v.as_i64()),
            Kind::Bool => q.bind::<Nullable<Bool>, _>(v.as_bool()),
            Kind::Date => q.bind::<Nullable<Date>, _>(
                v.as_str()
                    .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()),
            ),
            Kind::Timestamp => q.bind::<Nullable<Timestamp>, _>(v.as_str().and_then(|s| {
                chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()
            })),
        };
    }
    q.execute(c)?;
    Ok(())
}

/// Writes the plan in one transaction (all or nothing), records the import in the audit log,
/// then computes the report facts and aggregates of the restored referrals.
pub fn apply(
    c: &mut DbConn,
    plan: &NativePlan,
    report: &mut Report,
    actor: &Actor,
    expected_checksum: Option<&str>,
) -> Result<(), AppError> {
    if let Some(expected) = expected_checksum
        && expected != report.checksum
    {
        return Err(AppError::Conflict(format!(
            "the files or the database have changed since the dry run (checksum {} now, {} then): run the dry run again",
            report.checksum, expected
        )));
    }
    if plan.rows() == 0 {
        report.applied = true;
        return Ok(());
    }
    let batch_id = crate::ids::new_id();
    let counts: serde_json::Map<String, Value> = plan
        .tables
        .iter()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(t, rows)| (t.name.to_owned(), Value::from(rows.len())))
        .collect();
    let (mapping, checksum) = (report.mapping.clone(), report.checksum.clone());
    db::write_tx(c, |c| {
        for (t, rows) in &plan.tables {
            for row in rows {
                // Named by table and key, so the data officer can find the row: most often a
                // row whose parent was rejected in the dry run.
                insert(c, t, row).map_err(|e| match e {
                    AppError::Database(d) => AppError::Conflict(format!(
                        "{} row {} could not be stored ({d}); nothing was imported. A row it refers to may have been rejected: see the dry run's report",
                        t.name,
                        key_of(t, row).join("/").replace('"', ""),
                    )),
                    other => other,
                })?;
            }
        }
        db::lock_audit_chain(c)?;
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Combination, "import.native").details(serde_json::json!({
                "batch": batch_id,
                "source_system": plan.source_system,
                "mapping": mapping,
                "checksum": checksum,
                "rows": counts,
            })),
        )?;
        Ok(())
    })?;
    crate::reports::upkeep::backfill(c)?;
    report.batch_id = Some(batch_id);
    report.applied = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_mapping_restores_every_exported_table() {
        let text = include_str!("../../config/import/native.toml");
        let m = NativeMapping::parse(text).unwrap();
        for t in TABLES {
            assert!(
                m.files
                    .iter()
                    .any(|f| f.table == t.name && f.file_name == format!("{}.json", t.name)),
                "{} is restored",
                t.name
            );
        }
        assert!(is_native(text));
        assert!(!is_native(include_str!(
            "../../config/import/legacy_casebook.toml"
        )));
    }

    #[test]
    fn a_mapping_naming_no_such_table_or_a_table_twice_is_refused() {
        let head = "format = \"native\"\nsource_system = \"x\"\n";
        let file = |n: &str, t: &str| format!("[[file]]\nfile_name = \"{n}\"\ntable = \"{t}\"\n");
        let parse = |files: &[String]| NativeMapping::parse(&format!("{head}{}", files.concat()));
        assert!(parse(&[file("a.json", "passwords")]).is_err());
        assert!(parse(&[file("a.json", "people"), file("b.json", "people")]).is_err());
        assert!(parse(&[file("people.csv", "people")]).is_err());
        assert!(parse(&[file("people.json", "people")]).is_ok());
    }

    #[test]
    fn values_are_checked_against_the_column_type() {
        use serde_json::json;
        assert!(check_value(Kind::Int, &json!(3)).is_ok());
        assert!(check_value(Kind::Int, &json!("3")).is_err());
        assert!(check_value(Kind::Bool, &json!(1)).is_err());
        assert!(check_value(Kind::Date, &json!("2026-02-30")).is_err());
        assert!(check_value(Kind::Timestamp, &json!("2026-11-22T10:01:02.500000")).is_ok());
        assert!(check_value(Kind::Timestamp, &json!("2026-11-22")).is_err());
        assert!(check_value(Kind::Text, &Value::Null).is_ok());
    }
}
