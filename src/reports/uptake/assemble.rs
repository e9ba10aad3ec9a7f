//! The report put together from its counts: each section's table through disclosure
//! control, rates from the cells as shown, the previous period beside each figure, and
//! the history of the key indicators.

use super::*;

/// What the report is built from: the counts of the period and the one before, sessions
/// and capacity of both, and the counts of each period the history covers.
pub(super) struct Counts<'a> {
    pub(super) now: &'a [Tally],
    pub(super) before: &'a [Tally],
    pub(super) cap: &'a [[i64; 5]],
    pub(super) cap_before: &'a [[i64; 5]],
    pub(super) series: &'a [(Period, Vec<Tally>)],
}

/// The report from its counts, through disclosure control when `suppress` is set.
pub(super) fn assemble(
    areas: &[(String, String)],
    period: &Period,
    counts: Counts<'_>,
    suppress: bool,
    threshold: i64,
) -> Report {
    let Counts {
        now,
        before,
        cap,
        cap_before,
        series,
    } = counts;
    let ids: Vec<String> = areas.iter().map(|(id, _)| id.clone()).collect();
    let previous_period = period.previous();
    let n = ids.len() + 1;
    let cur = cells_of(now, suppress, threshold);
    let prev = cells_of(before, suppress, threshold);
    let history_cells: Vec<Cells> = series
        .iter()
        .map(|(p, t)| {
            if p == period {
                cur.clone()
            } else if *p == previous_period {
                prev.clone()
            } else {
                cells_of(t, suppress, threshold)
            }
        })
        .collect();
    let history = History {
        periods: series.iter().map(|(p, _)| p.short_label()).collect(),
        rows: HISTORY
            .iter()
            .map(|(key, label)| Row {
                key: (*key).into(),
                label: (*label).into(),
                figures: history_cells
                    .iter()
                    .map(|cells| match RATES.iter().find(|i| i.key == *key) {
                        Some(Indicator {
                            kind: Kind::Rate(num, den),
                            ..
                        }) => rate_figure(cells, num, den, n - 1),
                        _ => Figure::count(cells[key][n - 1]),
                    })
                    .collect(),
                trend: None,
                target: None,
                sub: false,
            })
            .collect(),
        since_first_referral: false,
    };

    let count_trend = |key: &str, pol: Polarity| {
        let v = |m: &BTreeMap<&'static str, Vec<Cell>>| match m.get(key).and_then(|r| r.last()) {
            Some(Cell::Shown(x)) => Some(*x as f64),
            _ => None,
        };
        trend::trend(v(&cur), v(&prev), pol, |x| format!("{x:.0}"))
    };
    let funnel = FUNNEL
        .iter()
        .map(|i| Row {
            target: None,
            sub: i.label.starts_with(' '),
            key: i.key.into(),
            label: i.label.trim().into(),
            figures: cur[i.key].iter().map(|c| Figure::count(*c)).collect(),
            trend: count_trend(i.key, i.polarity),
        })
        .collect();
    let pct = |cells: &BTreeMap<&'static str, Vec<Cell>>, num: &str, den: &str, col: usize| {
        crate::reports::suppression::rate(cells[num][col], cells[den][col]).map(|r| r * 100.0)
    };
    let rates = RATES
        .iter()
        .map(|i| {
            let Kind::Rate(num, den) = i.kind else {
                unreachable!("rates are rates")
            };
            let figures = (0..n).map(|col| rate_figure(&cur, num, den, col)).collect();
            Row {
                target: None,
                sub: false,
                key: i.key.into(),
                label: i.label.into(),
                figures,
                trend: trend::trend(
                    pct(&cur, num, den, n - 1),
                    pct(&prev, num, den, n - 1),
                    i.polarity,
                    |x| format!("{x:.1}%"),
                ),
            }
        })
        .collect();
    // Means and waits are built on counts: withheld where the count behind them is.
    let mean = |cells: &Cells, tallies: &[Tally], col: usize| match cells["started"][col] {
        Cell::Suppressed => Figure::withheld(),
        Cell::Shown(0) => Figure::none(),
        Cell::Shown(s) => {
            let v = tallies[col].attended as f64 / s as f64;
            Figure::number(v, format!("{v:.1}"))
        }
    };
    let mean_row = Row {
        target: None,
        sub: false,
        key: "mean_sessions".into(),
        label: "Mean sessions attended (of those who started)".into(),
        figures: (0..n).map(|col| mean(&cur, now, col)).collect(),
        trend: trend::trend(
            mean(&cur, now, n - 1).value,
            mean(&prev, before, n - 1).value,
            Polarity::HigherIsBetter,
            |x| format!("{x:.1}"),
        ),
    };
    let wait_labels = [
        ("wait_assessment", "Referral to assessment"),
        ("wait_sentence", "Assessment to sentence"),
        ("wait_first_session", "Sentence to first session"),
    ];
    let mut waits = Vec::new();
    for (w, (key, label)) in wait_labels.iter().enumerate() {
        let wait = |tallies: &[Tally], col: usize, p90: bool| -> Figure {
            let count = tallies[col].waits[w].len() as i64;
            if suppress && count > 0 && count < threshold {
                return Figure::withheld();
            }
            match percentiles(tallies[col].waits[w].clone()) {
                Some((median, p)) => {
                    let v = if p90 { p } else { median };
                    Figure::number(v as f64, format!("{v} days"))
                }
                None => Figure::none(),
            }
        };
        for (suffix, words, p90) in [
            ("median", "median", false),
            ("p90", "90th percentile", true),
        ] {
            waits.push(Row {
                target: None,
                sub: false,
                key: format!("{key}_{suffix}"),
                label: format!("{label}: {words}"),
                figures: (0..n).map(|col| wait(now, col, p90)).collect(),
                trend: trend::trend(
                    wait(now, n - 1, p90).value,
                    wait(before, n - 1, p90).value,
                    Polarity::LowerIsBetter,
                    |x| format!("{x:.0} days"),
                ),
            });
        }
    }
    let capacity_rows = {
        let figure = |v: i64| Figure::number(v as f64, v.to_string());
        let mut rows = vec![
            Row {
                target: None,
                sub: false,
                key: "sessions_capacity".into(),
                label: "Session capacity (practitioners' working days in the period, less leave, bank holidays and closures)".into(),
                figures: cap.iter().map(|c| figure(c[3])).collect(),
                trend: None,
            },
            Row {
                target: None,
                sub: false,
                key: "sessions_booked".into(),
                label: "Sessions booked".into(),
                figures: cap.iter().map(|c| figure(c[0])).collect(),
                trend: trend::trend(
                    Some(cap[n - 1][0] as f64),
                    Some(cap_before[n - 1][0] as f64),
                    Polarity::Neutral,
                    |x| format!("{x:.0}"),
                ),
            },
            Row {
                target: None,
                sub: false,
                key: "sessions_delivered".into(),
                label: "Sessions delivered".into(),
                figures: cap.iter().map(|c| figure(c[1])).collect(),
                trend: trend::trend(
                    Some(cap[n - 1][1] as f64),
                    Some(cap_before[n - 1][1] as f64),
                    Polarity::HigherIsBetter,
                    |x| format!("{x:.0}"),
                ),
            },
            Row {
                target: None,
                sub: false,
                key: "utilisation".into(),
                label: "Utilisation (booked of capacity)".into(),
                figures: cap
                    .iter()
                    .map(|c| {
                        if c[3] == 0 {
                            Figure::none()
                        } else {
                            let v = c[0] as f64 * 100.0 / c[3] as f64;
                            Figure::number(v, format!("{v:.1}%"))
                        }
                    })
                    .collect(),
                trend: None,
            },
        ];
        // Waiting list counts people: disclosure control applies.
        let mut waiting = Table::new(cap.iter().map(|c| c[4]).collect());
        waiting.sum(n - 1, (0..n - 1).collect());
        let waiting_cells: Vec<Cell> = if suppress {
            waiting.suppress(threshold)
        } else {
            cap.iter().map(|c| Cell::Shown(c[4])).collect()
        };
        rows.push(Row {
            target: None,
            sub: false,
            key: "waiting_list".into(),
            label: "Waiting for a first session now".into(),
            figures: waiting_cells.iter().map(|c| Figure::count(*c)).collect(),
            trend: None,
        });
        let weeks = months_of(period).len() as f64 * 52.0 / 12.0;
        rows.push(Row {
            target: None,
            sub: false,
            key: "weeks_to_clear".into(),
            label: "Weeks to clear the waiting list at current spare capacity".into(),
            figures: cap
                .iter()
                .zip(&waiting_cells)
                .map(|(c, w)| match w {
                    Cell::Suppressed => Figure::withheld(),
                    Cell::Shown(0) => Figure::number(0.0, "0".into()),
                    Cell::Shown(people) => {
                        let spare_per_week = if weeks > 0.0 {
                            (c[3] - c[0]) as f64 / weeks
                        } else {
                            0.0
                        };
                        if spare_per_week <= 0.0 {
                            Figure {
                                text: "Not at current capacity".into(),
                                value: None,
                                suppressed: false,
                                of: None,
                                low: None,
                                high: None,
                            }
                        } else {
                            // Each person waiting needs 12 sessions.
                            let v = (*people as f64 * 12.0 / spare_per_week).ceil();
                            Figure::number(v, format!("{v:.0}"))
                        }
                    }
                })
                .collect(),
            trend: None,
        });
        rows
    };
    let equality = EQUALITY
        .iter()
        .map(|(title, cats)| Section {
            key: format!("equality_{}", title.to_lowercase().replace(' ', "_")),
            title: format!("Referrals by {}", title.to_lowercase()),
            rows: cats
                .iter()
                .map(|(k, label)| Row {
                    target: None,
                    sub: false,
                    key: (*k).into(),
                    label: (*label).into(),
                    figures: cur[k].iter().map(|c| Figure::count(*c)).collect(),
                    trend: None,
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let mut sections = vec![
        Section {
            key: "funnel".into(),
            title: "The pathway".into(),
            rows: funnel,
        },
        Section {
            key: "rates".into(),
            title: "Rates".into(),
            rows: {
                let mut r: Vec<Row> = rates;
                r.push(mean_row);
                r
            },
        },
        Section {
            key: "waits".into(),
            title: "Waits".into(),
            rows: waits,
        },
        Section {
            key: "capacity".into(),
            title: "Capacity and demand".into(),
            rows: capacity_rows,
        },
    ];
    sections.extend(equality);
    let mut columns: Vec<String> = areas.iter().map(|(_, name)| name.clone()).collect();
    columns.push("Total".into());
    let mut report = Report {
        period: period.code(),
        period_label: period.label(),
        previous_label: previous_period.label(),
        columns,
        area_ids: ids,
        suppressed: suppress,
        provisional: false,
        threshold,
        sections,
        history,
        summary: Vec::new(),
        population_sources: Vec::new(),
    };
    report.summary = summary(&report);
    report
}

/// The report's answer to the scrutiny questions in plain words, from the totals as shown:
/// how many were referred and by which path, how many received an MHTR, started and
/// finished, how long they waited, and whether there is room for them.
fn summary(report: &Report) -> Vec<String> {
    let total = |key: &str| -> Option<&Figure> {
        report
            .sections
            .iter()
            .flat_map(|s| &s.rows)
            .find(|r| r.key == key)
            .and_then(|r| r.figures.last())
    };
    // "12", or "a withheld number" for a figure withheld to protect people.
    let amount = |key: &str| match total(key) {
        Some(f) if f.suppressed => "a withheld number".to_owned(),
        Some(f) => f.text.clone(),
        None => "0".to_owned(),
    };
    // The same before a noun: "12 people", "a withheld number of people".
    let count = |key: &str| match total(key) {
        Some(f) if f.suppressed => "a withheld number of".to_owned(),
        _ => amount(key),
    };
    let is_zero = |key: &str| total(key).is_some_and(|f| f.value == Some(0.0));
    let mut out = Vec::new();
    if is_zero("referred") {
        out.push(format!(
            "In {}, no referrals were made in the areas chosen.",
            report.period_label
        ));
    } else {
        out.push(format!(
            "In {}, {} referrals were made: {} at the point of arrest and {} at the pre-sentence \
             stage. {} of them have so far led to a court making a Mental Health Treatment \
             Requirement (MHTR).",
            report.period_label,
            count("referred"),
            count("referred_arrest"),
            count("referred_probation"),
            crate::web::format::capitalise(&amount("order_made")),
        ));
        if !is_zero("order_made") {
            out.push(format!(
                "Those are the people diverted into the scheme: {} came by arrest, through \
                 Liaison and Diversion, and {} through probation's pre-sentence report.",
                amount("order_arrest"),
                amount("order_probation"),
            ));
        }
        out.push(format!(
            "Of those referrals, {} people have started treatment and {} have completed all \
             their planned sessions; {} ended treatment early. People referred recently may \
             still be waiting for sentence or in treatment, so these figures can still grow.",
            count("started"),
            amount("completed"),
            amount("ended_early"),
        ));
    }
    if let Some(f) = total("wait_first_session_median").filter(|f| f.value.is_some()) {
        out.push(format!(
            "Half of those who started waited {} or less from sentence to their first session.",
            f.text
        ));
    }
    let capacity = total("sessions_capacity").and_then(|f| f.value);
    let booked = total("sessions_booked").and_then(|f| f.value);
    if let (Some(capacity), Some(booked)) = (capacity, booked) {
        let waiting = count("waiting_list");
        out.push(format!(
            "Over the period the assistant psychologists had room for {capacity:.0} sessions and \
             {booked:.0} were booked. {} people are waiting for a first session now.",
            crate::web::format::capitalise(&waiting),
        ));
    }
    out
}
