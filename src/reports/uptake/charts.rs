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

    // Each area against the partnership, for the headline rates.
    out.extend(funnels(report));

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

/// The headline rates drawn as funnel plots, and what each denominator counts.
const FUNNELS: [(&str, &str); 3] = [
    ("rate_completed", "People who started treatment"),
    (
        "rate_recovery",
        "People with paired scores at caseness at the start",
    ),
    ("rate_dna", "Sessions held or missed"),
];

/// The numerator and denominator of a rate as shown, or `None` when it is withheld or has
/// no denominator.
fn shown_rate(f: &Figure) -> Option<(i64, i64)> {
    let (v, of) = (f.value?, f.of?);
    (!f.suppressed && of > 0).then(|| ((v * of as f64 / 100.0).round() as i64, of))
}

/// A funnel plot for each headline rate where two areas or more have a rate shown and the
/// partnership's is shown: the title says the finding (which areas, if any, lie outside the
/// range chance would explain), the table gives each area's rate, its 95% confidence
/// interval and its place against the partnership.
fn funnels(report: &Report) -> Vec<SectionChart> {
    use crate::reports::interval::placing;
    let areas = report.columns.len().saturating_sub(1);
    if areas < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, x_title) in FUNNELS {
        let Some(row) = report
            .sections
            .iter()
            .flat_map(|s| &s.rows)
            .find(|r| r.key == key)
        else {
            continue;
        };
        let Some((total_k, total_n)) = row.figures.last().and_then(shown_rate) else {
            continue;
        };
        let mean = total_k as f64 / total_n as f64;
        let mut points = Vec::new();
        let mut rows = Vec::new();
        let mut outside = Vec::new();
        let mut left_out = Vec::new();
        for (name, f) in report.columns.iter().zip(&row.figures).take(areas) {
            let Some((k, n)) = shown_rate(f) else {
                left_out.push(format!("{name} ({})", f.text));
                continue;
            };
            let place = placing(k, n, mean).unwrap_or(crate::reports::interval::Placing::Within);
            if place.outside() {
                outside.push(format!("{name} is {}", place.short()));
            }
            points.push(svg::FunnelPoint {
                label: name.clone(),
                k,
                n,
            });
            rows.push((
                name.clone(),
                vec![
                    f.text.clone(),
                    n.to_string(),
                    interval_text(f),
                    place.words().to_owned(),
                ],
            ));
        }
        if points.len() < 2 {
            continue;
        }
        let partnership = format!("{:.1}%", mean * 100.0);
        let title = if outside.is_empty() {
            format!(
                "{}: every area shown is within the range expected around the partnership’s {partnership}",
                row.label
            )
        } else {
            let last = outside.pop().unwrap_or_default();
            let named = if outside.is_empty() {
                last
            } else {
                format!("{} and {last}", outside.join(", "))
            };
            format!(
                "{}: {named} the range expected around the partnership’s {partnership}",
                row.label
            )
        };
        let mut description = format!(
            "Funnel plot, {}: each area’s rate against how many it is of, with the partnership’s rate and the 95% and 99.8% limits around it, which narrow as the count grows.",
            report.period_label
        );
        if !left_out.is_empty() {
            description.push_str(&format!(" Not drawn: {}.", left_out.join(", ")));
        }
        let id = format!("chart-funnel-{}", key.replace('_', "-"));
        out.push(SectionChart {
            section: "rates".into(),
            chart: svg::Chart {
                svg: svg::funnel(&id, &title, &description, &points, mean, x_title),
                table: svg::ChartTable {
                    caption: title.clone(),
                    headings: vec![
                        "Area".into(),
                        row.label.clone(),
                        x_title.into(),
                        "95% confidence interval".into(),
                        format!("Against the partnership’s {partnership}"),
                    ],
                    rows,
                },
                id,
                title,
            },
        });
    }
    out
}

/// "40.1% to 60.2%", or the figure's own symbol where it has no interval.
pub(super) fn interval_text(f: &Figure) -> String {
    match (f.low, f.high) {
        (Some(lo), Some(hi)) => {
            let unit = if f.text.ends_with('%') { "%" } else { "" };
            format!("{lo:.1}{unit} to {hi:.1}{unit}")
        }
        _ if f.suppressed => WITHHELD.into(),
        _ => NOT_APPLICABLE.into(),
    }
}
