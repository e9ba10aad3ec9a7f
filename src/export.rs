//! `mhtr-pathway export`: everything the service holds, as one CSV and one JSON file per
//! table plus `manifest.json` (tables, columns, row counts, SHA-256 of each file). Columns,
//! formats and the exclusions are documented in docs/export.md.
//!
//! The output is deterministic: rows are in primary-key order, values are formatted the same
//! way on both backends, and nothing in the files depends on when the export ran, so two
//! exports of the same data are byte-identical. Secrets never leave: password hashes,
//! authenticator secrets, sessions, tokens, recovery codes and invitation links are not
//! exported at all. An export is a disclosure and is recorded in the audit log with its
//! reason, after the snapshot is read (so it appears in the next export's audit file).

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text as SqlText;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::{self, DbConn};
use crate::error::AppError;

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text as stored (codes are the stable codes of `coded_enum!`).
    Text,
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, always six decimals.
    Timestamp,
}
use Kind::*;

/// One exported table: its name, primary key (the row order) and the columns written.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub key: &'static [&'static str],
    pub columns: &'static [(&'static str, Kind)],
}

/// Columns added after exports were first made, with the value an export made before them
/// restores with (table, column, value), so an older export still loads whole.
pub const LATER_COLUMNS: &[(&str, &str, serde_json::Value)] = &[(
    "person_merges",
    "contact_moved",
    serde_json::Value::Bool(false),
)];

/// Tables added after exports were first made: an export made before one has no file for
/// it, and still loads whole (the service reads the table's absence as it read the data
/// before the table existed).
pub const LATER_TABLES: &[&str] = &["user_area_history"];

/// Every exported table, in the order an import must load them (parents first).
pub const TABLES: &[Table] = &[
    Table {
        name: "areas",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("code", Text),
            ("name", Text),
            ("active", Bool),
            ("created_at", Timestamp),
            ("intake_email", Text),
        ],
    },
    Table {
        name: "area_populations",
        key: &["area_id", "year"],
        columns: &[
            ("area_id", Text),
            ("year", Int),
            ("adults", Int),
            ("source", Text),
            ("recorded_by", Text),
            ("recorded_at", Timestamp),
        ],
    },
    Table {
        name: "organisations",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("name", Text),
            ("kind", Text),
            ("active", Bool),
            ("created_at", Timestamp),
        ],
    },
    Table {
        name: "users",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("email", Text),
            ("name", Text),
            ("role", Text),
            ("organisation_id", Text),
            ("hcpc_number", Text),
            ("password_changed_at", Timestamp),
            ("mfa_state", Text),
            ("vetting_level", Text),
            ("vetting_expires_on", Date),
            ("disabled_at", Timestamp),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
        ],
    },
    Table {
        name: "user_areas",
        key: &["user_id", "area_id"],
        columns: &[("user_id", Text), ("area_id", Text)],
    },
    Table {
        name: "user_area_history",
        key: &["user_id", "area_id", "from_date"],
        columns: &[
            ("user_id", Text),
            ("area_id", Text),
            ("from_date", Date),
            ("to_date", Date),
        ],
    },
    Table {
        name: "people",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("given_name", Text),
            ("family_name", Text),
            ("date_of_birth", Date),
            ("sex", Text),
            ("gender_identity", Text),
            ("ethnicity", Text),
            ("pnc_id", Text),
            ("crn", Text),
            ("area_id", Text),
            ("gp_practice", Text),
            ("communication_needs", Text),
            ("interpreter_needed", Bool),
            ("language", Text),
            ("merged_into_id", Text),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
            ("erased_at", Timestamp),
        ],
    },
    Table {
        name: "contact_details",
        key: &["person_id"],
        columns: &[
            ("person_id", Text),
            ("mobile", Text),
            ("email", Text),
            ("address", Text),
            ("channel", Text),
            ("language", Text),
            ("do_not_contact", Bool),
            ("do_not_contact_reason", Text),
            ("reminders_consent_on", Date),
            ("version", Int),
            ("updated_by", Text),
            ("updated_at", Timestamp),
        ],
    },
    Table {
        name: "reminder_templates",
        key: &["kind", "language"],
        columns: &[
            ("kind", Text),
            ("language", Text),
            ("subject", Text),
            ("body", Text),
            ("updated_by", Text),
            ("updated_at", Timestamp),
        ],
    },
    Table {
        name: "referrals",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("reference", Text),
            ("person_id", Text),
            ("area_id", Text),
            ("entry_point", Text),
            ("status", Text),
            ("version", Int),
            ("created_by", Text),
            ("responsible_officer_id", Text),
            ("assessor_id", Text),
            ("allocated_ap_id", Text),
            ("offence_category", Text),
            ("urgency", Text),
            ("details", Text),
            ("submitted_at", Timestamp),
            ("updated_at", Timestamp),
            ("sentence_date", Date),
            ("requirement_end_date", Date),
            ("combined_with", Text),
            ("retention_review_on", Date),
            ("erased_at", Timestamp),
            ("erased_by", Text),
            ("closed_at", Timestamp),
        ],
    },
    Table {
        name: "referral_status_history",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("action", Text),
            ("from_status", Text),
            ("to_status", Text),
            ("actor_user_id", Text),
            ("actor_name", Text),
            ("at", Timestamp),
            ("summary", Text),
            ("details", Text),
        ],
    },
    Table {
        name: "referral_amendments",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("field", Text),
            ("field_label", Text),
            ("old_value", Text),
            ("new_value", Text),
            ("reason", Text),
            ("actor_user_id", Text),
            ("actor_name", Text),
            ("at", Timestamp),
        ],
    },
    Table {
        name: "person_merges",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("kept_person_id", Text),
            ("merged_person_id", Text),
            ("referral_ids", Text),
            ("merged_by", Text),
            ("merged_at", Timestamp),
            ("undone_by", Text),
            ("undone_at", Timestamp),
            ("contact_moved", Bool),
        ],
    },
    Table {
        name: "identity_links",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("person_id", Text),
            ("matched_person_id", Text),
            ("identifier", Text),
            ("details_agree", Bool),
            ("status", Text),
            ("created_by", Text),
            ("created_at", Timestamp),
            ("decided_by", Text),
            ("decided_at", Timestamp),
            ("decision_reason", Text),
        ],
    },
    Table {
        name: "referral_events",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("kind", Text),
            ("clinical", Bool),
            ("actor_user_id", Text),
            ("actor_name", Text),
            ("at", Timestamp),
            ("summary", Text),
        ],
    },
    Table {
        name: "session_plans",
        key: &["referral_id"],
        columns: &[
            ("referral_id", Text),
            ("cadence", Text),
            ("minutes", Int),
            ("mode", Text),
            ("location", Text),
            ("target_sessions", Int),
            ("created_by", Text),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
            ("measures", Text),
        ],
    },
    Table {
        name: "practitioner_capacity_history",
        key: &["user_id", "effective_from"],
        columns: &[
            ("user_id", Text),
            ("effective_from", Date),
            ("sessions_per_week", Int),
            ("working_days", Text),
        ],
    },
    Table {
        name: "practitioner_leave",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("user_id", Text),
            ("starts_on", Date),
            ("ends_on", Date),
            ("note", Text),
            ("recorded_by", Text),
            ("recorded_at", Timestamp),
            ("cancelled_at", Timestamp),
        ],
    },
    Table {
        name: "treatment_sessions",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("area_id", Text),
            ("ap_user_id", Text),
            ("starts_at", Timestamp),
            ("minutes", Int),
            ("mode", Text),
            ("location", Text),
            ("status", Text),
            ("outcome", Text),
            ("engagement_notes", Text),
            ("summary_for_ro", Text),
            ("recorded_by", Text),
            ("recorded_at", Timestamp),
            ("change_party", Text),
            ("change_reason", Text),
            ("cancel_reason", Text),
            ("changed_by", Text),
            ("changed_at", Timestamp),
            ("replaces_id", Text),
            ("added_for_id", Text),
            ("version", Int),
            ("created_by", Text),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
            ("unrecorded_notified_at", Timestamp),
            ("absence_reason", Text),
            ("evidence_due", Date),
        ],
    },
    Table {
        name: "outcome_measures",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("session_id", Text),
            ("instrument", Text),
            ("stage", Text),
            ("answers", Text),
            ("total", Int),
            ("risk", Bool),
            ("recorded_by", Text),
            ("recorded_at", Timestamp),
        ],
    },
    Table {
        name: "risk_alerts",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("area_id", Text),
            ("measure_id", Text),
            ("raised_at", Timestamp),
            ("acknowledged_by", Text),
            ("acknowledged_at", Timestamp),
            ("action_taken", Text),
            ("kind", Text),
        ],
    },
    Table {
        name: "practitioner_reports",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("kind", Text),
            ("note", Text),
            ("written_by", Text),
            ("written_at", Timestamp),
        ],
    },
    Table {
        name: "enforcement_reviews",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("area_id", Text),
            ("session_id", Text),
            ("earlier_session_id", Text),
            ("after_warning_id", Text),
            ("flagged_at", Timestamp),
            ("decision", Text),
            ("action_on", Date),
            ("note", Text),
            ("decided_by", Text),
            ("decided_at", Timestamp),
            ("withdrawn_at", Timestamp),
            ("withdrawn_by", Text),
            ("withdrawn_reason", Text),
        ],
    },
    Table {
        name: "session_notes",
        key: &["session_id", "version"],
        columns: &[
            ("session_id", Text),
            ("version", Int),
            ("referral_id", Text),
            ("body", Text),
            ("written_by", Text),
            ("written_at", Timestamp),
        ],
    },
    Table {
        name: "attendance_corrections",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("session_id", Text),
            ("referral_id", Text),
            ("old_outcome", Text),
            ("old_absence_reason", Text),
            ("new_outcome", Text),
            ("new_absence_reason", Text),
            ("reason", Text),
            ("corrected_by", Text),
            ("corrected_at", Timestamp),
        ],
    },
    Table {
        name: "linked_requirements",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("kind", Text),
            ("provider", Text),
            ("treatment_director", Text),
            ("key_contact", Text),
            ("start_date", Date),
            ("end_date", Date),
            ("sequencing", Text),
            ("status", Text),
            ("activated_at", Timestamp),
            ("created_by", Text),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
        ],
    },
    Table {
        name: "linked_activity",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("linked_requirement_id", Text),
            ("on_date", Date),
            ("kind", Text),
            ("note", Text),
            ("entered_by", Text),
            ("entered_via", Text),
            ("created_at", Timestamp),
        ],
    },
    Table {
        name: "directory_services",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("name", Text),
            ("service_type", Text),
            ("phone", Text),
            ("email", Text),
            ("website", Text),
            ("address", Text),
            ("active", Bool),
            ("created_by", Text),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
        ],
    },
    Table {
        name: "directory_service_areas",
        key: &["service_id", "area_id"],
        columns: &[("service_id", Text), ("area_id", Text)],
    },
    Table {
        name: "signpostings",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("service_id", Text),
            ("signposted_on", Date),
            ("status", Text),
            ("reason", Text),
            ("follow_up_on", Date),
            ("version", Int),
            ("created_by", Text),
            ("created_at", Timestamp),
            ("updated_by", Text),
            ("updated_at", Timestamp),
        ],
    },
    Table {
        name: "no_onward_support",
        key: &["referral_id"],
        columns: &[
            ("referral_id", Text),
            ("reason", Text),
            ("recorded_by", Text),
            ("recorded_at", Timestamp),
        ],
    },
    Table {
        name: "end_summaries",
        key: &["referral_id"],
        columns: &[
            ("referral_id", Text),
            ("summary", Text),
            ("written_by", Text),
            ("written_at", Timestamp),
        ],
    },
    Table {
        name: "practitioner_capacity",
        key: &["user_id"],
        columns: &[
            ("user_id", Text),
            ("sessions_per_week", Int),
            ("working_days", Text),
            ("updated_by", Text),
            ("updated_at", Timestamp),
        ],
    },
    Table {
        name: "service_closures",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("day", Date),
            ("description", Text),
            ("created_by", Text),
            ("created_at", Timestamp),
        ],
    },
    Table {
        name: "retention_decisions",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("referral_id", Text),
            ("decision", Text),
            ("reason", Text),
            ("next_review_on", Date),
            ("decided_by", Text),
            ("decided_at", Timestamp),
        ],
    },
    Table {
        name: "import_batches",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("source_system", Text),
            ("mapping", Text),
            ("checksum", Text),
            ("started_by", Text),
            ("started_at", Timestamp),
            ("finished_at", Timestamp),
            ("summary", Text),
        ],
    },
    Table {
        name: "import_rows",
        key: &["source_system", "kind", "source_id"],
        columns: &[
            ("source_system", Text),
            ("kind", Text),
            ("source_id", Text),
            ("batch_id", Text),
            ("target_table", Text),
            ("target_id", Text),
            ("outcome", Text),
        ],
    },
    Table {
        name: "audit_events",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("at", Timestamp),
            ("actor_user_id", Text),
            ("actor_label", Text),
            ("action", Text),
            ("event", Text),
            ("record_type", Text),
            ("record_id", Text),
            ("reason", Text),
            ("ip", Text),
            ("details", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
    },
];

/// Columns never exported, whichever table they are in.
pub const SECRET_COLUMNS: &[&str] = &[
    "password_hash",
    "totp_secret",
    "totp_last_step",
    "token_hash",
    "code_hash",
    "csrf_token",
    "idempotency_key",
];

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    pub dir: PathBuf,
    pub tables: Vec<(String, usize)>,
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = SqlText)]
    j: String,
}

fn select_sql(conn: &DbConn, t: &Table) -> String {
    let cols = t
        .columns
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ");
    match conn {
        DbConn::Sqlite(_) => format!("SELECT json_array({cols}) AS j FROM {}", t.name),
        DbConn::Pg(_) => format!("SELECT json_build_array({cols})::text AS j FROM {}", t.name),
    }
}

/// A stored value in the export's one format, whichever backend it came from.
fn normalise(kind: Kind, v: Value) -> Result<Value, AppError> {
    let bad = |v: &Value| AppError::Internal(anyhow::anyhow!("unexpected {kind:?} value {v}"));
    Ok(match (kind, v) {
        (_, Value::Null) => Value::Null,
        (Text | Date, Value::String(s)) => Value::String(s),
        (Int, Value::Number(n)) => Value::Number(n),
        (Bool, Value::Bool(b)) => Value::Bool(b),
        (Bool, Value::Number(n)) => {
            Value::Bool(n.as_i64().ok_or_else(|| bad(&Value::Number(n.clone())))? != 0)
        }
        (Timestamp, Value::String(s)) => {
            let t = chrono::NaiveDateTime::parse_from_str(
                &s.replacen('T', " ", 1),
                "%Y-%m-%d %H:%M:%S%.f",
            )
            .map_err(|_| bad(&Value::String(s.clone())))?;
            Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        }
        (_, other) => return Err(bad(&other)),
    })
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_i64()
            .unwrap_or_default()
            .cmp(&y.as_i64().unwrap_or_default()),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Every row of a table, normalised and in primary-key order.
pub fn rows(conn: &mut DbConn, t: &Table) -> Result<Vec<Vec<Value>>, AppError> {
    let sql = select_sql(conn, t);
    let raw: Vec<JsonRow> = diesel::sql_query(sql).load(conn)?;
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let Value::Array(values) = serde_json::from_str(&r.j)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("bad row in {}: {e}", t.name)))?
        else {
            return Err(AppError::Internal(anyhow::anyhow!("bad row in {}", t.name)));
        };
        let row = values
            .into_iter()
            .zip(t.columns)
            .map(|(v, (_, kind))| normalise(*kind, v))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(row);
    }
    let key_idx: Vec<usize> = t
        .key
        .iter()
        .map(|k| {
            t.columns
                .iter()
                .position(|(c, _)| c == k)
                .expect("key column is exported")
        })
        .collect();
    out.sort_by(|a, b| {
        key_idx
            .iter()
            .map(|&i| compare(&a[i], &b[i]))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    Ok(out)
}

/// RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled. Null is empty.
/// Text a spreadsheet would run as a formula is defused (`spreadsheet::defused`); the JSON
/// file holds every value as stored.
fn csv_field(v: &Value) -> String {
    let s = match v {
        Value::Null => return String::new(),
        Value::String(s) => crate::spreadsheet::defused(s).into_owned(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn to_csv(t: &Table, rows: &[Vec<Value>]) -> String {
    let mut out = t
        .columns
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(csv_field).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn to_json(t: &Table, rows: &[Vec<Value>]) -> String {
    let mut out = String::from("[");
    for (i, r) in rows.iter().enumerate() {
        out.push_str(if i == 0 { "\n  {" } else { ",\n  {" });
        for (j, ((c, _), v)) in t.columns.iter().zip(r).enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{c}\":{v}");
        }
        out.push('}');
    }
    out.push_str(if rows.is_empty() { "]\n" } else { "\n]\n" });
    out
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads every table in one snapshot and writes the files into `dir` (created if missing; it
/// must be empty), then records the disclosure with its reason.
pub fn export(
    conn: &mut DbConn,
    dir: &Path,
    reason: &str,
    actor: &Actor,
) -> Result<Summary, AppError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::Config(
            "--reason is required: say why the data is being exported".into(),
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| AppError::Config(format!("cannot create {}: {e}", dir.display())))?;
    let not_empty = std::fs::read_dir(dir)
        .map_err(|e| AppError::Config(format!("cannot read {}: {e}", dir.display())))?
        .next()
        .is_some();
    if not_empty {
        return Err(AppError::Config(format!(
            "{} is not empty: export into a new directory",
            dir.display()
        )));
    }
    // One consistent snapshot of every table.
    let snapshot = match conn {
        DbConn::Sqlite(_) => conn.transaction(read_all),
        DbConn::Pg(_) => conn.transaction(|c| {
            c.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
            read_all(c)
        }),
    }?;
    let mut manifest_tables = Vec::new();
    let mut summary = Vec::new();
    for (t, rows) in TABLES.iter().zip(&snapshot) {
        let mut files = serde_json::Map::new();
        for (ext, body) in [("csv", to_csv(t, rows)), ("json", to_json(t, rows))] {
            let name = format!("{}.{ext}", t.name);
            std::fs::write(dir.join(&name), body.as_bytes())
                .map_err(|e| AppError::Config(format!("cannot write {name}: {e}")))?;
            files.insert(
                ext.to_owned(),
                serde_json::json!({ "file": name, "sha256": sha256(body.as_bytes()) }),
            );
        }
        manifest_tables.push(serde_json::json!({
            "name": t.name,
            "rows": rows.len(),
            "key": t.key,
            "columns": t.columns.iter().map(|(c, k)| serde_json::json!({ "name": c, "type": format!("{k:?}").to_lowercase() })).collect::<Vec<_>>(),
            "files": files,
        }));
        summary.push((t.name.to_owned(), rows.len()));
    }
    // The audit chain's head as exported: kept apart from the log, so that `audit verify
    // --checkpoint` can show later that no entry up to it has been removed or altered.
    let audit = TABLES
        .iter()
        .zip(&snapshot)
        .find(|(t, _)| t.name == "audit_events")
        .and_then(|(_, rows)| rows.last())
        .map(|row| serde_json::json!({ "seq": row[0], "hash": row[row.len() - 1] }));
    let manifest = serde_json::json!({
        "format": "mhtr-pathway-export",
        "version": 1,
        "documentation": "docs/export.md",
        "tables": manifest_tables,
        "audit_checkpoint": audit,
    });
    let mut text =
        serde_json::to_string_pretty(&manifest).map_err(|e| AppError::Internal(e.into()))?;
    text.push('\n');
    std::fs::write(dir.join("manifest.json"), text)
        .map_err(|e| AppError::Config(format!("cannot write manifest.json: {e}")))?;

    let total: usize = summary.iter().map(|(_, n)| n).sum();
    let dir_name = dir.display().to_string();
    db::write_tx(conn, |c| {
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Disclosure, "data.exported")
                .reason(reason)
                .details(serde_json::json!({ "directory": dir_name, "rows": total, "tables": summary.len() })),
        )
    })?;
    Ok(Summary {
        dir: dir.to_owned(),
        tables: summary,
    })
}

fn read_all(c: &mut DbConn) -> Result<Vec<Vec<Vec<Value>>>, AppError> {
    TABLES.iter().map(|t| rows(c, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_secret_column_is_exported_and_every_key_is() {
        for t in TABLES {
            for (c, _) in t.columns {
                assert!(!SECRET_COLUMNS.contains(c), "{}.{c} is a secret", t.name);
            }
            for k in t.key {
                assert!(t.columns.iter().any(|(c, _)| c == k), "{}.{k}", t.name);
            }
        }
    }

    #[test]
    fn values_are_written_one_way_on_both_backends() {
        assert_eq!(
            normalise(Bool, serde_json::json!(1)).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            normalise(Bool, serde_json::json!(false)).unwrap(),
            Value::Bool(false)
        );
        for stored in [
            "2026-11-22 10:01:02.5",
            "2026-11-22T10:01:02.500000",
            "2026-11-22 10:01:02.500000",
        ] {
            assert_eq!(
                normalise(Timestamp, Value::String(stored.into())).unwrap(),
                Value::String("2026-11-22T10:01:02.500000".into())
            );
        }
        assert_eq!(
            csv_field(&Value::String("a,\"b\"\nc".into())),
            "\"a,\"\"b\"\"\nc\""
        );
        assert_eq!(csv_field(&Value::Null), "");
    }
}
