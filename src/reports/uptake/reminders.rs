//! Appointment reminders in the report, for staff (never councillors, whose report is
//! aggregated under disclosure control): of the sessions in the period the person was due
//! at (held or missed), how many had a reminder delivered to them, and the did-not-attend
//! rate with and without one. The missed sessions are those the report's did-not-attend
//! rate counts ([`Outcome::missed`]).

use std::collections::BTreeSet;

use super::*;
use crate::reminders::Delivery;
use crate::reports::facts::first_of_month;
use crate::sessions::codes::{Outcome, SessionStatus};

/// Per area (in `areas`' order) then the total: sessions due (held or missed), of them with
/// a reminder delivered, missed with one, missed without one. The sessions due and missed
/// come from the report's monthly session counts (`report_area_months`, as the
/// did-not-attend rate); only the sessions with a delivered reminder are read one by one,
/// so the cost follows the reminders sent, not the history held.
pub fn reminder_counts(
    c: &mut DbConn,
    areas: &[String],
    period: &Period,
) -> Result<Vec<[i64; 4]>, AppError> {
    use crate::db::schema::{reminders as r, report_area_months as m, treatment_sessions as s};
    let months: Vec<(String, i32, i32)> = m::table
        .filter(m::area_id.eq_any(areas))
        .filter(m::month.between(first_of_month(period.start), period.end))
        .select((m::area_id, m::delivered, m::missed))
        .load(c)?;
    let start = period.start.and_time(chrono::NaiveTime::MIN);
    let end = (period.end + chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN);
    let reminded: BTreeSet<String> = r::table
        .filter(r::area_id.eq_any(areas))
        .filter(r::for_starts_at.ge(start))
        .filter(r::for_starts_at.lt(end))
        .filter(r::delivery.eq_any([Delivery::Delivered, Delivery::Received]))
        .select(r::session_id)
        .distinct()
        .load::<String>(c)?
        .into_iter()
        .collect();
    let ids: Vec<String> = reminded.into_iter().collect();
    let mut held: Vec<(String, Option<Outcome>)> = Vec::new();
    for chunk in ids.chunks(500) {
        held.extend(
            s::table
                .filter(s::id.eq_any(chunk))
                .filter(s::status.eq(SessionStatus::Recorded))
                .filter(s::starts_at.ge(start))
                .filter(s::starts_at.lt(end))
                .select((s::area_id, s::outcome))
                .load::<(String, Option<Outcome>)>(c)?,
        );
    }
    let mut out = vec![[0i64; 4]; areas.len() + 1];
    let total = areas.len();
    let at = |area: &str| areas.iter().position(|a| a == area);
    for (area, delivered, missed) in months {
        if let Some(i) = at(&area) {
            for k in [i, total] {
                out[k][0] += i64::from(delivered + missed);
                out[k][3] += i64::from(missed);
            }
        }
    }
    for (area, outcome) in held {
        let Some(o) = outcome.filter(|o| *o != Outcome::ServiceLogistics) else {
            continue;
        };
        if let Some(i) = at(&area) {
            for k in [i, total] {
                out[k][1] += 1;
                if o.missed() {
                    out[k][2] += 1;
                    out[k][3] -= 1;
                }
            }
        }
    }
    Ok(out)
}

/// The reminders section, after the events: counts and rates, each rate with its interval.
pub fn apply_reminders(report: &mut Report, counts: &[[i64; 4]]) {
    if counts.len() != report.columns.len() {
        return;
    }
    let shown =
        |f: fn(&[i64; 4]) -> i64| counts.iter().map(|c| Cell::Shown(f(c))).collect::<Vec<_>>();
    let mut cells: Cells = BTreeMap::new();
    cells.insert("due", shown(|c| c[0]));
    cells.insert("reminded", shown(|c| c[1]));
    cells.insert("not_reminded", shown(|c| c[0] - c[1]));
    cells.insert("missed_reminded", shown(|c| c[2]));
    cells.insert("missed_not_reminded", shown(|c| c[3]));
    let n = counts.len();
    let row = |key: &str, label: &str, sub: bool, figures: Vec<Figure>| Row {
        key: key.into(),
        label: label.into(),
        figures,
        trend: None,
        target: None,
        sub,
    };
    let count = |key: &str| {
        (0..n)
            .map(|i| Figure::count(cells[key][i]))
            .collect::<Vec<_>>()
    };
    let rate = |num: &str, den: &str| {
        (0..n)
            .map(|i| rate_figure(&cells, num, den, i))
            .collect::<Vec<_>>()
    };
    let rows = vec![
        row(
            "reminder_sessions_due",
            "Sessions due (held or missed)",
            false,
            count("due"),
        ),
        row(
            "reminder_sessions_reminded",
            "with a reminder delivered",
            true,
            count("reminded"),
        ),
        row(
            "rate_reminder_coverage",
            "Reminder coverage (sessions with a reminder delivered)",
            false,
            rate("reminded", "due"),
        ),
        row(
            "rate_dna_reminded",
            "Did-not-attend rate, reminder delivered",
            false,
            rate("missed_reminded", "reminded"),
        ),
        row(
            "rate_dna_not_reminded",
            "Did-not-attend rate, no reminder delivered",
            false,
            rate("missed_not_reminded", "not_reminded"),
        ),
    ];
    let at = report
        .sections
        .iter()
        .position(|s| s.key == "events")
        .map_or(report.sections.len(), |i| i + 1);
    report.sections.insert(
        at,
        Section {
            key: "reminders".into(),
            title: "Appointment reminders (staff only)".into(),
            rows,
        },
    );
}
