//! The report's sections and history as CSV, quoted and with formulas defused.

use super::charts::interval_text;
use super::*;

pub(super) fn csv_field(s: &str) -> String {
    crate::spreadsheet::quoted(s)
}

fn csv_rows(
    first_heading: &str,
    columns: &[String],
    rows: &[Row],
    change_since: Option<&str>,
) -> String {
    let with_targets = rows.iter().any(|r| r.target.is_some());
    let with_intervals = rows
        .iter()
        .any(|r| r.figures.iter().any(|f| f.low.is_some()));
    let with_change = change_since.filter(|_| rows.iter().any(|r| r.trend.is_some()));
    let mut out = String::new();
    let mut head = vec![csv_field(first_heading)];
    head.extend(columns.iter().map(|c| csv_field(c)));
    if let Some(previous) = with_change {
        head.push(csv_field(&format!("Change since {previous} (total)")));
    }
    if with_targets {
        head.push(csv_field("Target"));
        head.push(csv_field("Against target (total)"));
    }
    if with_intervals {
        head.extend(
            columns
                .iter()
                .map(|c| csv_field(&format!("{c}: 95% confidence interval"))),
        );
    }
    out.push_str(&head.join(","));
    out.push_str("\r\n");
    for row in rows {
        let mut line = vec![csv_field(&row.label)];
        line.extend(row.figures.iter().map(|f| csv_field(&f.text)));
        if with_change.is_some() {
            line.push(csv_field(
                row.trend.as_ref().map_or("", |t| t.text.as_str()),
            ));
        }
        if with_targets {
            let (target, status) = row
                .target
                .as_ref()
                .map_or(("", ""), |t| (t.target.as_str(), t.label.as_str()));
            line.push(csv_field(target));
            line.push(csv_field(status));
        }
        if with_intervals {
            line.extend(row.figures.iter().map(|f| csv_field(&interval_text(f))));
        }
        out.push_str(&line.join(","));
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
