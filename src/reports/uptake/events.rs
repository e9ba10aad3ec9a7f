//! What happened in the period, whenever the referral was made: MHTRs made (by the date of
//! sentence, and by the path the person came), first sessions, and treatment ended and
//! completed (by the date it ended). The rest of the report follows the referrals made in
//! the period; these count the events themselves, as a panel asking "how many were diverted
//! this year" means. For councillors they go through disclosure control as their own table.

use super::*;
use crate::referrals::codes::EntryPoint;

/// The events counted, in order: key, label, and whether it breaks down the row above.
const EVENTS: [(&str, &str, bool); 6] = [
    (
        "event_order_made",
        "MHTRs made (by date of sentence)",
        false,
    ),
    (
        "event_order_arrest",
        "after arrest (Liaison and Diversion)",
        true,
    ),
    ("event_order_probation", "at pre-sentence (probation)", true),
    (
        "event_started",
        "Started treatment (by date of the first session)",
        false,
    ),
    ("event_ended", "Treatment ended (by date it ended)", false),
    (
        "event_completed",
        "Completed all planned sessions (by date it ended)",
        false,
    ),
];

/// Per event, per area (in `areas`' order) then the total: how many in `period`.
pub fn event_counts(
    c: &mut DbConn,
    areas: &[String],
    period: &Period,
) -> Result<Vec<Vec<i64>>, AppError> {
    use diesel::dsl::count_star;
    use report_facts::dsl as f;
    let (start, end) = (period.start, period.end);
    let index: BTreeMap<&str, usize> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    let mut out = vec![vec![0i64; areas.len() + 1]; EVENTS.len()];
    let mut put = |row: usize, counts: Vec<(String, i64)>| {
        for (area, n) in counts {
            if let Some(&i) = index.get(area.as_str()) {
                out[row][i] += n;
                out[row][areas.len()] += n;
            }
        }
    };
    let made: Vec<(String, EntryPoint, i64)> = f::report_facts
        .filter(f::area_id.eq_any(areas))
        .filter(f::order_made.eq(true))
        .filter(f::sentenced_on.between(start, end))
        .group_by((f::area_id, f::entry_point))
        .select((f::area_id, f::entry_point, count_star()))
        .load(c)?;
    put(0, made.iter().map(|(a, _, n)| (a.clone(), *n)).collect());
    put(
        1,
        made.iter()
            .filter(|(_, e, _)| *e == EntryPoint::Arrest)
            .map(|(a, _, n)| (a.clone(), *n))
            .collect(),
    );
    put(
        2,
        made.iter()
            .filter(|(_, e, _)| *e != EntryPoint::Arrest)
            .map(|(a, _, n)| (a.clone(), *n))
            .collect(),
    );
    put(
        3,
        f::report_facts
            .filter(f::area_id.eq_any(areas))
            .filter(f::first_session_on.between(start, end))
            .group_by(f::area_id)
            .select((f::area_id, count_star()))
            .load(c)?,
    );
    let ended: Vec<(String, Option<String>, i64)> = f::report_facts
        .filter(f::area_id.eq_any(areas))
        .filter(f::first_session_on.is_not_null())
        .filter(f::ended_on.between(start, end))
        .group_by((f::area_id, f::end_outcome))
        .select((f::area_id, f::end_outcome, count_star()))
        .load(c)?;
    put(4, ended.iter().map(|(a, _, n)| (a.clone(), *n)).collect());
    put(
        5,
        ended
            .iter()
            .filter(|(_, o, _)| o.as_deref() == Some("completed"))
            .map(|(a, _, n)| (a.clone(), *n))
            .collect(),
    );
    Ok(out)
}

/// The events section, after the pathway: each row's areas sum to its total, and the two
/// paths to the MHTRs made; for councillors small counts are withheld with enough others
/// that none can be worked back.
pub fn apply_events(report: &mut Report, counts: &[Vec<i64>], suppress: bool, threshold: i64) {
    let n = report.columns.len();
    if counts.len() != EVENTS.len() || counts.iter().any(|r| r.len() != n) {
        return;
    }
    let mut table = Table::new(counts.iter().flatten().copied().collect());
    let cell = |row: usize, col: usize| row * n + col;
    for row in 0..EVENTS.len() {
        table.sum(
            cell(row, n - 1),
            (0..n - 1).map(|col| cell(row, col)).collect(),
        );
    }
    for col in 0..n {
        table.sum(cell(0, col), vec![cell(1, col), cell(2, col)]);
    }
    let cells: Vec<Cell> = if suppress {
        table.suppress(threshold)
    } else {
        table.values().iter().map(|v| Cell::Shown(*v)).collect()
    };
    let rows = EVENTS
        .iter()
        .enumerate()
        .map(|(r, (key, label, sub))| Row {
            key: (*key).into(),
            label: (*label).into(),
            figures: (0..n)
                .map(|col| Figure::count(cells[cell(r, col)]))
                .collect(),
            trend: None,
            target: None,
            sub: *sub,
        })
        .collect();
    let at = report
        .sections
        .iter()
        .position(|s| s.key == "funnel")
        .map_or(0, |i| i + 1);
    report.sections.insert(
        at,
        Section {
            key: "events".into(),
            title: "Events in the period, whenever the referral was made".into(),
            rows,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(areas: usize) -> Report {
        let mut columns: Vec<String> = (0..areas).map(|i| format!("Area {i}")).collect();
        columns.push("Total".into());
        Report {
            period: "2026-10".into(),
            period_label: "October 2026".into(),
            previous_label: "September 2026".into(),
            area_ids: (0..areas).map(|i| format!("a{i}")).collect(),
            columns,
            suppressed: false,
            provisional: false,
            threshold: 5,
            sections: vec![Section {
                key: "funnel".into(),
                title: "The pathway".into(),
                rows: vec![],
            }],
            history: History {
                periods: vec![],
                rows: vec![],
                since_first_referral: false,
            },
            summary: vec![],
            population_sources: vec![],
        }
    }

    #[test]
    fn events_follow_the_pathway_and_small_counts_are_withheld_with_a_partner() {
        // Two areas: MHTRs 7 and 2 (arrest 3 + 4, 0 + 2), started 6 and 6, ended 5 and 5,
        // completed 5 and 0.
        let counts = vec![
            vec![7, 2, 9],
            vec![3, 0, 3],
            vec![4, 2, 6],
            vec![6, 6, 12],
            vec![5, 5, 10],
            vec![5, 0, 5],
        ];
        let mut open = report(2);
        apply_events(&mut open, &counts, false, 5);
        assert_eq!(open.sections[1].key, "events");
        let text = |r: &Report, row: usize| -> Vec<String> {
            r.sections[1].rows[row]
                .figures
                .iter()
                .map(|f| f.text.clone())
                .collect()
        };
        assert_eq!(text(&open, 0), ["7", "2", "9"]);
        assert!(open.sections[1].rows[1].sub);
        let mut shut = report(2);
        apply_events(&mut shut, &counts, true, 5);
        // 2 MHTRs in area 1 is withheld, and so is a partner that would give it away.
        assert_eq!(text(&shut, 0)[1], "[c]");
        assert!(text(&shut, 0).iter().filter(|t| *t == "[c]").count() >= 2);
        // Whole rows of shown counts stay shown; zero is shown.
        assert_eq!(text(&shut, 3), ["6", "6", "12"]);
        assert_eq!(text(&shut, 5), ["5", "0", "5"]);
    }
}
