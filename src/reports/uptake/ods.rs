//! The whole report as an accessible spreadsheet (`.ods`): a cover sheet with the title,
//! what the report covers, its notes and the symbols it uses, and a table of contents; then
//! one sheet a section and one for the history, each titled in A1 with a single table, the
//! same figures (and the same withheld cells) as the page and the CSV.

use super::*;
use crate::spreadsheet::ods::{self, Cell, Sheet};

/// A figure as a spreadsheet cell: a number where the figure is one (so it sums and
/// sorts), its symbol or words otherwise.
fn cell(text: &str) -> Cell {
    let plain = text.replace(',', "");
    if let Some(pct) = plain.strip_suffix('%')
        && let Ok(v) = pct.parse::<f64>()
    {
        return Cell::Percent(v / 100.0, text.to_owned());
    }
    match plain.parse::<f64>() {
        Ok(v) if v.is_finite() => Cell::Number(v, text.to_owned()),
        _ => Cell::text(text),
    }
}

/// A table of text as cells: the headings as text, every figure below them by [`cell`].
fn cells(table: Vec<Vec<String>>) -> Vec<Vec<Cell>> {
    table
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            row.into_iter()
                .map(|t| if i == 0 { Cell::text(t) } else { cell(&t) })
                .collect()
        })
        .collect()
}

/// A sheet's tab name from a section title: short enough to read in a tab.
fn tab(title: &str) -> String {
    title.replace("Referrals by ", "By ")
}

/// The report as the bytes of an `.ods` file. `produced` is when, in words.
pub fn spreadsheet(report: &Report, produced: &str) -> Vec<u8> {
    let period = if report.provisional {
        format!("{} {PROVISIONAL}", report.period_label)
    } else {
        report.period_label.clone()
    };
    let title = format!("Mental Health Treatment Requirement uptake and capacity, {period}");
    let areas = report.columns[..report.columns.len().saturating_sub(1)].join(", ");
    let mut sheets = Vec::new();
    let mut notes = vec![
        format!("Areas: {areas}. Each area is shown, then the total."),
        format!("Produced on {produced}."),
        "Referrals are counted in the period they were made, and followed along the pathway."
            .to_owned(),
    ];
    if report.provisional {
        notes.push(format!(
            "{PROVISIONAL} Provisional: the period ended less than {PROVISIONAL_MONTHS} months ago, so its figures can still change as the people referred in it are sentenced, start and finish treatment."
        ));
    }
    if report.suppressed {
        notes.push(format!(
            "{WITHHELD} Withheld to protect the people behind the figure: counts from 1 to {} and any figure that would let one be worked out.",
            report.threshold - 1
        ));
    } else {
        notes.push(format!(
            "{WITHHELD} Withheld to protect the people behind the figure (none in this version: it is for clinical leads and administrators, not for publication)."
        ));
    }
    notes.push(format!(
        "{NOT_AVAILABLE} Not available: the figure needs data the service does not hold, such as an area's population."
    ));
    notes.push(format!(
        "{NOT_APPLICABLE} Not applicable: nothing to work the figure out from, such as a rate with nobody in the group it is a share of."
    ));
    notes.push("Rates carry a 95% confidence interval (Wilson score method).".to_owned());
    notes.extend(report.summary.iter().cloned());
    notes.extend(
        report
            .population_sources
            .iter()
            .map(|s| format!("Population: {s}")),
    );
    let mut contents = vec![vec![Cell::text("Sheet"), Cell::text("What it holds")]];
    for section in &report.sections {
        contents.push(vec![
            Cell::text(tab(&section.title)),
            Cell::text(format!("{}, {period}", section.title)),
        ]);
    }
    contents.push(vec![
        Cell::text("History"),
        Cell::text(format!(
            "Key indicators over the last {} periods, for the areas together",
            report.history.periods.len()
        )),
    ]);
    sheets.push(Sheet {
        name: "Cover".into(),
        title: title.clone(),
        notes,
        table: contents,
    });
    for section in &report.sections {
        sheets.push(Sheet {
            name: tab(&section.title),
            title: format!("{}, {period}", section.title),
            notes: vec![
                "This worksheet contains one table. Symbols are explained on the cover sheet."
                    .into(),
            ],
            table: cells(csv::table(
                "Indicator",
                &report.columns,
                &section.rows,
                Some(report.previous_label.as_str()),
            )),
        });
    }
    sheets.push(Sheet {
        name: "History".into(),
        title: format!(
            "Key indicators over the last {} periods, to {period}",
            report.history.periods.len()
        ),
        notes: vec![
            "This worksheet contains one table. Symbols are explained on the cover sheet.".into(),
        ],
        table: cells(csv::table(
            "Indicator",
            &report.history.periods,
            &report.history.rows,
            None,
        )),
    });
    ods::ods(&title, &sheets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_become_numbers_and_symbols_stay_text() {
        assert_eq!(cell("12"), Cell::Number(12.0, "12".into()));
        assert_eq!(cell("31,702"), Cell::Number(31_702.0, "31,702".into()));
        assert_eq!(cell("80.0%"), Cell::Percent(0.8, "80.0%".into()));
        assert_eq!(cell("[c]"), Cell::text("[c]"));
        assert_eq!(cell("7 days"), Cell::text("7 days"));
        assert_eq!(cell("37.6% to 96.4%"), Cell::text("37.6% to 96.4%"));
    }
}
