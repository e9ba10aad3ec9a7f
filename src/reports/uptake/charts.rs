//! The report's charts, drawn from its figures as shown.

use super::*;
use crate::reports::charts as svg;

pub(super) fn chart_value(f: &Figure) -> svg::Value {
    match (f.suppressed, f.value) {
        (true, _) => svg::Value::Suppressed,
        (false, Some(v)) => svg::Value::Shown(v, f.text.clone()),
        (false, None) => svg::Value::None,
    }
}

/// A chart tied to the section it illustrates.
#[derive(Debug, Clone, Serialize)]
pub struct SectionChart {
    pub section: String,
    #[serde(flatten)]
    pub chart: svg::Chart,
}

/// The report's charts, drawn from the figures as shown (so a councillor's charts carry
/// exactly the withheld cells their tables do): the funnel and the capacity against sessions
/// for the chosen period, and each key indicator over the last periods.
pub fn charts(report: &Report) -> Vec<SectionChart> {
    let mut out = Vec::new();
    let together = if report.columns.len() > 2 {
        format!(
            "{} together",
            report.columns[..report.columns.len() - 1].join(", ")
        )
    } else {
        report.columns.first().cloned().unwrap_or_default()
    };
    let find = |section: &str, key: &str| {
        report
            .sections
            .iter()
            .filter(|s| s.key == section)
            .flat_map(|s| &s.rows)
            .find(|r| r.key == key)
    };
    let total = |row: &Row| row.figures.last().cloned().unwrap_or_else(Figure::none);

    // The funnel.
    // Short names, so the chart's labels fit beside the bars.
    let steps = [
        ("referred", "Referrals made"),
        ("screened", "Screened"),
        ("assessed", "Assessed"),
        ("suitable", "Found suitable"),
        ("consented", "Consented"),
        ("order_made", "MHTR made"),
        ("started", "Started treatment"),
        ("completed", "Completed all planned sessions"),
        ("signposted", "Signposted onward"),
    ];
    let mut bars = Vec::new();
    for (key, name) in steps {
        let Some(row) = find("funnel", key) else {
            continue;
        };
        bars.push((name.to_owned(), total(row)));
        if key == "signposted" {
            for kind in ServiceType::ALL {
                if let Some(row) = find("funnel", signposted_key(*kind).as_str()) {
                    let f = total(row);
                    if f.suppressed || f.value.is_some_and(|v| v > 0.0) {
                        bars.push((format!("to {}", kind.label()), f));
                    }
                }
            }
        }
    }
    let title = format!("The pathway, {}", report.period_label);
    out.push(SectionChart {
        section: "funnel".into(),
        chart: svg::Chart {
            id: "chart-funnel".into(),
            svg: svg::bars(
                "chart-funnel",
                &title,
                &format!(
                    "Horizontal bars: how many of the people referred in {} reached each step of the pathway, {together}. Withheld figures are marked [c] and not drawn.",
                    report.period_label
                ),
                &bars
                    .iter()
                    .map(|(label, f)| svg::Bar {
                        label: label.clone(),
                        value: chart_value(f),
                        colour: svg::BLUE,
                    })
                    .collect::<Vec<_>>(),
            ),
            table: svg::ChartTable {
                caption: title.clone(),
                headings: vec!["Step".into(), "People".into()],
                rows: bars
                    .iter()
                    .map(|(label, f)| (label.clone(), vec![f.text.clone()]))
                    .collect(),
            },
            title,
        },
    });

    // Each key indicator over time.
    let first = report.history.periods.first().cloned().unwrap_or_default();
    let last = report.history.periods.last().cloned().unwrap_or_default();
    for row in &report.history.rows {
        let id = format!("chart-history-{}", row.key.replace('_', "-"));
        let title = format!("{}, {first} to {last}", row.label);
        let points: Vec<(String, svg::Value)> = report
            .history
            .periods
            .iter()
            .zip(&row.figures)
            .map(|(p, f)| (p.clone(), chart_value(f)))
            .collect();
        let colour = if row.key == "rate_dna" {
            svg::DARK_BLUE
        } else {
            svg::BLUE
        };
        out.push(SectionChart {
            section: "history".into(),
            chart: svg::Chart {
                svg: svg::columns(
                    &id,
                    &title,
                    &format!(
                        "Columns, one for each period from {first} to {last}: {}, {together}. Withheld figures are marked [c] and not drawn.",
                        row.label.to_lowercase()
                    ),
                    &points,
                    colour,
                ),
                table: svg::ChartTable {
                    caption: title.clone(),
                    headings: vec!["Period".into(), row.label.clone()],
                    rows: report
                        .history
                        .periods
                        .iter()
                        .zip(&row.figures)
                        .map(|(p, f)| (p.clone(), vec![f.text.clone()]))
                        .collect(),
                },
                id,
                title,
            },
        });
    }

    // Capacity against sessions booked and delivered, per area.
    let series = [
        ("sessions_capacity", "capacity", svg::GREY),
        ("sessions_booked", "booked", svg::BLUE),
        ("sessions_delivered", "delivered", svg::GREEN),
    ];
    let rows: Vec<Option<&Row>> = series.iter().map(|(k, _, _)| find("capacity", k)).collect();
    if rows.iter().all(Option::is_some) {
        let mut bars = Vec::new();
        let mut table_rows = Vec::new();
        for (col, name) in report.columns.iter().enumerate() {
            let mut texts = Vec::new();
            for ((_, word, colour), row) in series.iter().zip(rows.iter().flatten()) {
                let f = row.figures.get(col).cloned().unwrap_or_else(Figure::none);
                bars.push(svg::Bar {
                    label: format!("{name}: sessions {word}"),
                    value: chart_value(&f),
                    colour,
                });
                texts.push(f.text);
            }
            table_rows.push((name.clone(), texts));
        }
        let title = format!("Session capacity and sessions, {}", report.period_label);
        out.push(SectionChart {
            section: "capacity".into(),
            chart: svg::Chart {
                id: "chart-capacity".into(),
                svg: svg::bars(
                    "chart-capacity",
                    &title,
                    &format!(
                        "Horizontal bars for each area and the total: session capacity, sessions booked and sessions delivered in {}.",
                        report.period_label
                    ),
                    &bars,
                ),
                table: svg::ChartTable {
                    caption: title.clone(),
                    headings: vec![
                        "Area".into(),
                        "Session capacity".into(),
                        "Sessions booked".into(),
                        "Sessions delivered".into(),
                    ],
                    rows: table_rows,
                },
                title,
            },
        });
    }
    out
}
