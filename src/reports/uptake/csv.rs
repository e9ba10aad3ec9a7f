//! The report's sections and history as CSV, quoted and with formulas defused.

use super::charts::interval_text;
use super::*;

pub(super) fn csv_field(s: &str) -> String {
    crate::spreadsheet::quoted(s)
}

/// A table of rows as text, the headings first: the indicator, a figure per column, the
/// change since `change_since` when the rows tell one, the target and the status against
/// it when they have targets, and each column's 95% confidence interval when they are
/// rates. The CSV and the spreadsheet are both written from it.
pub(super) fn table(
    first_heading: &str,
    columns: &[String],
    rows: &[Row],
    change_since: Option<&str>,
) -> Vec<Vec<String>> {
    let with_targets = rows.iter().any(|r| r.target.is_some());
    let with_intervals = rows
        .iter()
        .any(|r| r.figures.iter().any(|f| f.low.is_some()));
    let with_change = change_since.filter(|_| rows.iter().any(|r| r.trend.is_some()));
    let mut head = vec![first_heading.to_owned()];
    head.extend(columns.iter().cloned());
    if let Some(previous) = with_change {
        head.push(format!("Change since {previous} (total)"));
    }
    if with_targets {
        head.push("Target".into());
        head.push("Against target (total)".into());
    }
    if with_intervals {
        head.extend(
            columns
                .iter()
                .map(|c| format!("{c}: 95% confidence interval")),
        );
    }
    let mut out = vec![head];
    for row in rows {
        let mut line = vec![row.label.clone()];
        line.extend(row.figures.iter().map(|f| f.text.clone()));
        if with_change.is_some() {
            line.push(
                row.trend
                    .as_ref()
                    .map_or("", |t| t.text.as_str())
                    .to_owned(),
            );
        }
        if with_targets {
            let (target, status) = row
                .target
                .as_ref()
                .map_or(("", ""), |t| (t.target.as_str(), t.label.as_str()));
            line.push(target.to_owned());
            line.push(status.to_owned());
        }
        if with_intervals {
            line.extend(row.figures.iter().map(interval_text));
        }
        out.push(line);
    }
    out
}

fn csv_rows(
    first_heading: &str,
    columns: &[String],
    rows: &[Row],
    change_since: Option<&str>,
) -> String {
    let mut out = String::new();
    for line in table(first_heading, columns, rows, change_since) {
        let fields: Vec<String> = line.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One section as CSV: a heading row, then a row per indicator, with the change since the
/// previous period when the section tells one, and the target and the status against it
/// when the section has targets.
pub fn csv(report: &Report, section: &Section) -> String {
    let heading = if report.provisional {
        format!(
            "Indicator, {} {PROVISIONAL} (provisional: can still change)",
            report.period_label
        )
    } else {
        format!("Indicator, {}", report.period_label)
    };
    csv_rows(
        &heading,
        &report.columns,
        &section.rows,
        Some(report.previous_label.as_str()),
    )
}

/// The key indicators over the last periods as CSV: a column per period.
pub fn history_csv(report: &Report) -> String {
    csv_rows(
        "Indicator",
        &report.history.periods,
        &report.history.rows,
        None,
    )
}
