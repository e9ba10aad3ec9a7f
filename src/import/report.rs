//! The reconciliation report: for every input file, source rows = imported + merged +
//! rejected + excluded by retention + already imported, with every row that was not simply
//! imported listed by row number, field and reason; table counts before and after; and the
//! checksum of the accepted content. Shown on the terminal, written as CSV and as HTML.

use std::fmt::Write as _;

use serde::Serialize;

use super::mapping::Table;

/// A row that was not simply imported, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowNote {
    pub line: u64,
    pub source_id: String,
    /// `merged`, `rejected`, `excluded`, `already imported`, or `imported, check` (imported
    /// as it stands, with a value a person should look at).
    pub outcome: &'static str,
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub name: String,
    pub table: &'static str,
    pub source_rows: usize,
    pub imported: usize,
    pub merged: usize,
    pub rejected: usize,
    pub excluded: usize,
    pub already: usize,
    /// Imported rows (counted in `imported`) with a value a person should check.
    pub to_check: usize,
    /// Rows whose text was not UTF-8 and was read as Windows-1252.
    pub recoded: usize,
    pub notes: Vec<RowNote>,
    /// Legacy values that no code list of the mapping names: listed in the dry run; the real
    /// run refuses to start while any remain.
    pub unmapped: Vec<Unmapped>,
}

/// A legacy value no code list names, and the rows holding it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unmapped {
    pub column: String,
    pub value: String,
    pub rows: usize,
}

impl FileReport {
    pub fn new(name: &str, table: Table) -> Self {
        Self {
            name: name.to_owned(),
            table: table.as_str(),
            source_rows: 0,
            imported: 0,
            merged: 0,
            rejected: 0,
            excluded: 0,
            already: 0,
            to_check: 0,
            recoded: 0,
            notes: Vec::new(),
            unmapped: Vec::new(),
        }
    }

    fn note(&mut self, line: u64, id: &str, outcome: &'static str, field: &str, reason: &str) {
        self.notes.push(RowNote {
            line,
            source_id: id.to_owned(),
            outcome,
            field: field.to_owned(),
            reason: reason.to_owned(),
        });
    }

    pub fn note_rejected(&mut self, line: u64, id: &str, field: &str, reason: &str) {
        self.rejected += 1;
        self.note(line, id, "rejected", field, reason);
    }

    pub fn note_excluded(&mut self, line: u64, id: &str, rule: &str) {
        self.excluded += 1;
        self.note(line, id, "excluded", "", rule);
    }

    /// An imported row (already counted) with a value a person should look at.
    pub fn note_check(&mut self, line: u64, id: &str, field: &str, why: &str) {
        self.to_check += 1;
        self.note(line, id, "imported, check", field, why);
    }

    /// A row repeating an earlier row's record (a person on each row of their cases), with
    /// that row's fate. Notes are in row order, so the first row's is found by search.
    pub fn note_repeat(&mut self, line: u64, id: &str, first: u64, what: &str) {
        let fate = self
            .notes
            .binary_search_by_key(&first, |n| n.line)
            .ok()
            .map(|i| (self.notes[i].outcome, self.notes[i].reason.clone()));
        match fate {
            Some(("already imported", _)) => self.note_already(line, id),
            Some(("rejected", _)) => self.note_rejected(
                line,
                id,
                "",
                &format!("the same {what} as row {first}, which is rejected"),
            ),
            Some(("excluded", why)) => self.note_excluded(line, id, &why),
            _ => self.note_merged(
                line,
                id,
                &format!("the same {what} as row {first} (the file repeats it on each row)"),
            ),
        }
    }

    pub fn note_merged(&mut self, line: u64, id: &str, why: &str) {
        self.merged += 1;
        self.note(line, id, "merged", "", why);
    }

    pub fn note_already(&mut self, line: u64, id: &str) {
        self.already += 1;
        self.note(
            line,
            id,
            "already imported",
            "",
            "imported by an earlier run",
        );
    }

    pub fn accounted(&self) -> usize {
        self.imported + self.merged + self.rejected + self.excluded + self.already
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source_system: String,
    pub mapping: String,
    pub files: Vec<FileReport>,
    /// Table, rows before, rows after (expected after, for a dry run).
    pub tables: Vec<(String, i64, i64)>,
    pub checksum: String,
    /// Set once applied.
    pub batch_id: Option<String>,
    pub applied: bool,
}

impl Report {
    pub fn new(source_system: &str, mapping: &str) -> Self {
        Self {
            source_system: source_system.to_owned(),
            mapping: mapping.to_owned(),
            files: Vec::new(),
            tables: Vec::new(),
            checksum: String::new(),
            batch_id: None,
            applied: false,
        }
    }

    /// Every source row is accounted for, in every file. A failure here is a bug in the
    /// importer, never in the data, so it stops the run.
    pub fn assert_balanced(&self) {
        for f in &self.files {
            assert_eq!(
                f.source_rows,
                f.accounted(),
                "{}: {} source rows but {} accounted for",
                f.name,
                f.source_rows,
                f.accounted()
            );
            assert_eq!(
                f.notes.len(),
                f.merged + f.rejected + f.excluded + f.already + f.to_check,
                "{}: every row not simply imported has its note",
                f.name
            );
        }
    }

    pub fn total(&self, pick: impl Fn(&FileReport) -> usize) -> usize {
        self.files.iter().map(pick).sum()
    }

    /// Refuses a real run while any legacy value is unmapped: each would reject its rows one
    /// by one, when one line in the mapping puts them all right.
    pub fn refuse_unmapped(&self) -> Result<(), String> {
        let all: Vec<String> = self
            .files
            .iter()
            .flat_map(|f| {
                f.unmapped.iter().map(move |u| {
                    format!(
                        "{} column {}: '{}' ({} row{})",
                        f.name,
                        u.column,
                        u.value,
                        u.rows,
                        if u.rows == 1 { "" } else { "s" }
                    )
                })
            })
            .collect();
        if all.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the mapping's code lists do not name {} value{}: {}. Add each to its code list (map it to one of our codes, to \"\" for blank, or to \"reject: why\" to leave its rows behind) and check the files again; nothing was imported",
            all.len(),
            if all.len() == 1 { "" } else { "s" },
            all.join("; ")
        ))
    }

    /// The terminal summary (rejections listed up to `max_notes` per file).
    pub fn to_text(&self, max_notes: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Reconciliation: {} (mapping {}){}",
            self.source_system,
            self.mapping,
            if self.applied {
                ""
            } else {
                " — dry run, nothing written"
            }
        );
        let _ = writeln!(
            s,
            "{:<28} {:<10} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9}",
            "FILE", "TABLE", "SOURCE", "IMPORTED", "MERGED", "REJECTED", "EXCLUDED", "ALREADY"
        );
        for f in &self.files {
            let _ = writeln!(
                s,
                "{:<28} {:<10} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9}",
                f.name,
                f.table,
                f.source_rows,
                f.imported,
                f.merged,
                f.rejected,
                f.excluded,
                f.already
            );
        }
        for f in &self.files {
            if f.recoded > 0 {
                let _ = writeln!(
                    s,
                    "{}: {} row(s) were not UTF-8 and were read as Windows-1252",
                    f.name, f.recoded
                );
            }
            for u in &f.unmapped {
                let _ = writeln!(
                    s,
                    "{}: column {} has the value '{}' in {} row(s), which no code list names (the import refuses to run until it does)",
                    f.name, u.column, u.value, u.rows
                );
            }
            if f.to_check > 0 {
                let _ = writeln!(
                    s,
                    "{}: {} imported row(s) have a value to check (listed as 'imported, check')",
                    f.name, f.to_check
                );
            }
            let shown: Vec<&RowNote> = f
                .notes
                .iter()
                .filter(|n| n.outcome != "already imported")
                .collect();
            if shown.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{} ({}):", f.name, f.table);
            for n in shown.iter().take(max_notes) {
                let field = if n.field.is_empty() {
                    String::new()
                } else {
                    format!(" {}", n.field)
                };
                let _ = writeln!(
                    s,
                    "  row {:>6} {:<14} {:<9}{}: {}",
                    n.line, n.source_id, n.outcome, field, n.reason
                );
            }
            if shown.len() > max_notes {
                let _ = writeln!(
                    s,
                    "  … and {} more (see the CSV report)",
                    shown.len() - max_notes
                );
            }
        }
        let _ = writeln!(s, "\n{:<20} {:>10} {:>10}", "TABLE", "BEFORE", "AFTER");
        for (t, b, a) in &self.tables {
            let _ = writeln!(s, "{t:<20} {b:>10} {a:>10}");
        }
        let _ = writeln!(
            s,
            "\nChecksum of the accepted content (SHA-256): {}",
            self.checksum
        );
        if let Some(b) = &self.batch_id {
            let _ = writeln!(s, "Import batch: {b}");
        }
        s
    }

    /// Every file's counts, then every noted row. One header, so a spreadsheet filters it.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            "record",
            "file",
            "table",
            "row",
            "source_id",
            "outcome",
            "field",
            "reason_or_count",
        ]);
        for f in &self.files {
            for (what, n) in [
                ("source rows", f.source_rows),
                ("imported", f.imported),
                ("merged", f.merged),
                ("rejected", f.rejected),
                ("excluded", f.excluded),
                ("already imported", f.already),
                ("imported, to check", f.to_check),
            ] {
                let _ =
                    w.write_record(["count", &f.name, f.table, "", "", what, "", &n.to_string()]);
            }
        }
        for (t, b, a) in &self.tables {
            let _ = w.write_record(["table", "", t, "", "", "before", "", &b.to_string()]);
            let _ = w.write_record(["table", "", t, "", "", "after", "", &a.to_string()]);
        }
        let _ = w.write_record(["checksum", "", "", "", "", "sha256", "", &self.checksum]);
        for f in &self.files {
            for u in &f.unmapped {
                let _ = w.write_record([
                    "unmapped",
                    &f.name,
                    f.table,
                    "",
                    &csv_safe(&u.value),
                    "unmapped code",
                    &csv_safe(&u.column),
                    &u.rows.to_string(),
                ]);
            }
        }
        for f in &self.files {
            for n in &f.notes {
                let _ = w.write_record([
                    "row",
                    &f.name,
                    f.table,
                    &n.line.to_string(),
                    &csv_safe(&n.source_id),
                    n.outcome,
                    &csv_safe(&n.field),
                    &csv_safe(&n.reason),
                ]);
            }
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// A stand-alone accessible HTML page (GOV.UK typography without its assets).
    pub fn to_html(&self) -> String {
        let mut ctx = tera::Context::new();
        ctx.insert("r", &self.view(usize::MAX));
        tera::Tera::one_off(HTML, &ctx, true).unwrap_or_else(|e| format!("report error: {e}"))
    }

    /// What templates show: counts, tables and at most `max_notes` notes per file.
    pub fn view(&self, max_notes: usize) -> serde_json::Value {
        let files: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name, "table": f.table, "source_rows": f.source_rows,
                    "imported": f.imported, "merged": f.merged, "rejected": f.rejected,
                    "excluded": f.excluded, "already": f.already, "recoded": f.recoded,
                    "to_check": f.to_check, "unmapped": f.unmapped,
                    "notes": f.notes.iter().take(max_notes).collect::<Vec<_>>(),
                    "more": f.notes.len().saturating_sub(max_notes),
                })
            })
            .collect();
        serde_json::json!({
            "source_system": self.source_system, "mapping": self.mapping, "files": files,
            "tables": self.tables.iter().map(|(t, b, a)| serde_json::json!({"name": t, "before": b, "after": a})).collect::<Vec<_>>(),
            "checksum": self.checksum, "batch_id": self.batch_id, "applied": self.applied,
        })
    }
}

/// A cell a spreadsheet would run as a formula gets a leading apostrophe.
fn csv_safe(v: &str) -> String {
    crate::spreadsheet::defused(v).into_owned()
}

/// The stand-alone reconciliation page the import writes beside its CSV and text reports.
const HTML: &str = include_str!("../../templates/import/reconciliation.html");
