//! Reporting facts: one row per referral (`report_facts`) and its sessions per month
//! (`report_referral_months`, summed into `report_area_months`). [`refresh`](super::upkeep::refresh) recomputes a
//! referral's facts from the source tables inside the transaction that changed it, so the
//! report's fast path reads a few thousand aggregate rows instead of millions of sessions,
//! and [`derive`] is the one definition of every fact, shared by the refresh, the recount
//! and the synthetic data generator.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    directory_services, outcome_measures, people, referral_status_history, referrals,
    report_area_months, report_facts, signpostings, treatment_sessions,
};
use crate::error::AppError;
use crate::referrals::codes::{CombinedWith, EntryPoint, Ethnicity, Sex};
use crate::referrals::state::{Action, Status};
use crate::sessions::codes::{Outcome, SessionStatus};
use crate::sessions::measures::Instrument;
use crate::signposting::codes::{ServiceType, SignpostStatus};

crate::coded_enum! {
    /// Age at referral, in the bands equality monitoring reports.
    pub enum AgeBand {
        From18To24 = ("18-24", "18 to 24"),
        From25To34 = ("25-34", "25 to 34"),
        From35To44 = ("35-44", "35 to 44"),
        From45To54 = ("45-54", "45 to 54"),
        From55To64 = ("55-64", "55 to 64"),
        From65 = ("65+", "65 and over"),
    }
}

impl AgeBand {
    pub fn of(born: NaiveDate, on: NaiveDate) -> AgeBand {
        let age = crate::referrals::forms::age_on(born, on);
        match age {
            i32::MIN..=24 => AgeBand::From18To24,
            25..=34 => AgeBand::From25To34,
            35..=44 => AgeBand::From35To44,
            45..=54 => AgeBand::From45To54,
            55..=64 => AgeBand::From55To64,
            _ => AgeBand::From65,
        }
    }
}

/// One referral's facts, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = report_facts, treat_none_as_default_value = false)]
pub struct Fact {
    pub referral_id: String,
    pub area_id: String,
    pub entry_point: EntryPoint,
    pub status: Status,
    pub referred_on: NaiveDate,
    pub sex: Sex,
    /// The ONS broad group code; none when not stated.
    pub ethnic_group: Option<String>,
    pub age_band: AgeBand,
    pub screened_on: Option<NaiveDate>,
    pub accepted: bool,
    pub assessed_on: Option<NaiveDate>,
    pub suitable: bool,
    pub consented_on: Option<NaiveDate>,
    pub sentenced_on: Option<NaiveDate>,
    pub order_made: bool,
    pub combined_with: Option<CombinedWith>,
    pub first_session_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub end_outcome: Option<String>,
    pub end_reason: Option<String>,
    pub withdrawn: bool,
    pub sessions_attended: i32,
    pub sessions_missed: i32,
    pub phq9_first: Option<i32>,
    pub phq9_last: Option<i32>,
    pub gad7_first: Option<i32>,
    pub gad7_last: Option<i32>,
    pub core10_first: Option<i32>,
    pub core10_last: Option<i32>,
    /// The service types the person was signposted onward to: sorted, distinct codes joined
    /// by commas; empty for none.
    pub signposted_types: String,
}

/// A referral's sessions in one month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthCounts {
    pub booked: i32,
    pub delivered: i32,
    pub missed: i32,
}

/// Everything the facts are derived from, read from the source tables (or made up by the
/// synthetic data generator).
#[derive(Debug, Clone)]
pub struct Parts {
    pub referral_id: String,
    pub area_id: String,
    pub entry_point: EntryPoint,
    pub status: Status,
    pub submitted_at: NaiveDateTime,
    pub sentence_date: Option<NaiveDate>,
    pub combined_with: Option<CombinedWith>,
    pub sex: Sex,
    pub ethnicity: Option<Ethnicity>,
    pub born: NaiveDate,
    /// Status history in time order: action, when, the step's details (JSON).
    pub history: Vec<(Action, NaiveDateTime, String)>,
    /// Appointments: UK wall-clock start, status, outcome.
    pub sessions: Vec<(NaiveDateTime, SessionStatus, Option<Outcome>)>,
    /// Measures in the order taken: instrument, total.
    pub measures: Vec<(Instrument, i32)>,
    /// Signpostings onward: the service's type and where the signposting stands.
    pub signposted: Vec<(ServiceType, SignpostStatus)>,
}

/// The date the user gave for a step (`details.date`), else the day it was recorded.
fn step_date(at: NaiveDateTime, details: &str) -> NaiveDate {
    serde_json::from_str::<serde_json::Value>(details)
        .ok()
        .and_then(|v| v.get("date").and_then(|d| d.as_str()).map(str::to_owned))
        .and_then(|d| d.parse().ok())
        .unwrap_or(at.date())
}

fn detail(details: &str, key: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(details)
        .ok()
        .and_then(|v| v.get(key).and_then(|d| d.as_str()).map(str::to_owned))
}

pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// Signposted onward to a type of service: any signposting to it except one found not
/// needed, so a suggestion counts as well as a referral made, accepted or declined.
fn signposted_types(signposted: &[(ServiceType, SignpostStatus)]) -> String {
    let types: std::collections::BTreeSet<&str> = signposted
        .iter()
        .filter(|(_, status)| *status != SignpostStatus::NotNeeded)
        .map(|(kind, _)| kind.as_str())
        .collect();
    types.into_iter().collect::<Vec<_>>().join(",")
}

/// THE definition of every fact.
pub fn derive(p: &Parts) -> (Fact, BTreeMap<NaiveDate, MonthCounts>) {
    let referred_on = p.submitted_at.date();
    let mut f = Fact {
        referral_id: p.referral_id.clone(),
        area_id: p.area_id.clone(),
        entry_point: p.entry_point,
        status: p.status,
        referred_on,
        sex: p.sex,
        ethnic_group: p.ethnicity.map(|e| e.group().as_str().to_owned()),
        age_band: AgeBand::of(p.born, referred_on),
        screened_on: None,
        accepted: false,
        assessed_on: None,
        suitable: false,
        consented_on: None,
        sentenced_on: None,
        order_made: false,
        combined_with: None,
        first_session_on: None,
        ended_on: None,
        end_outcome: None,
        end_reason: None,
        withdrawn: false,
        sessions_attended: 0,
        sessions_missed: 0,
        phq9_first: None,
        phq9_last: None,
        gad7_first: None,
        gad7_last: None,
        core10_first: None,
        core10_last: None,
        signposted_types: signposted_types(&p.signposted),
    };
    let mut started_by_hand = None;
    for (action, at, details) in &p.history {
        let on = step_date(*at, details);
        match action {
            Action::Accept => {
                f.screened_on = Some(at.date());
                f.accepted = true;
            }
            Action::Decline => f.screened_on = Some(at.date()),
            Action::RecordAssessment => f.assessed_on = Some(on),
            Action::RecordSuitable => f.suitable = true,
            Action::RecordConsent => f.consented_on = Some(on),
            Action::RecordMhtrMade => {
                f.order_made = true;
                f.sentenced_on = p.sentence_date.or(Some(at.date()));
                f.combined_with = p.combined_with;
            }
            Action::StartTreatment => started_by_hand = started_by_hand.or(Some(on)),
            Action::EndTreatment | Action::EndOrder => {
                f.ended_on = Some(on);
                f.end_outcome = detail(details, "end_outcome");
                f.end_reason = detail(details, "end_reason");
            }
            Action::Withdraw | Action::WithdrawConsent => f.withdrawn = true,
            _ => {}
        }
    }
    let mut months: BTreeMap<NaiveDate, MonthCounts> = BTreeMap::new();
    let mut first_attended: Option<NaiveDate> = None;
    for (at, status, outcome) in &p.sessions {
        let live = matches!(status, SessionStatus::Booked | SessionStatus::Recorded);
        if !live {
            continue;
        }
        let m = months.entry(first_of_month(at.date())).or_default();
        m.booked += 1;
        match outcome {
            Some(o) if o.attended() => {
                m.delivered += 1;
                f.sessions_attended += 1;
                first_attended = Some(first_attended.map_or(at.date(), |d| d.min(at.date())));
            }
            Some(o) if o.missed() => {
                m.missed += 1;
                f.sessions_missed += 1;
            }
            _ => {}
        }
    }
    f.first_session_on = first_attended.or(started_by_hand);
    for instrument in Instrument::ALL {
        let totals: Vec<i32> = p
            .measures
            .iter()
            .filter(|(i, _)| i == instrument)
            .map(|(_, t)| *t)
            .collect();
        let first = totals.first().copied();
        let last = (totals.len() > 1).then(|| totals[totals.len() - 1]);
        let (a, b) = match instrument {
            Instrument::Phq9 => (&mut f.phq9_first, &mut f.phq9_last),
            Instrument::Gad7 => (&mut f.gad7_first, &mut f.gad7_last),
            Instrument::Core10 => (&mut f.core10_first, &mut f.core10_last),
        };
        *a = first;
        *b = last;
    }
    (f, months)
}

/// Reads a referral's parts from the source tables.
pub fn parts(c: &mut DbConn, referral_id: &str) -> Result<Parts, AppError> {
    type Row = (
        String,
        EntryPoint,
        Status,
        NaiveDateTime,
        Option<NaiveDate>,
        Option<CombinedWith>,
        String,
    );
    let (area_id, entry_point, status, submitted_at, sentence_date, combined_with, person_id): Row =
        referrals::table
            .find(referral_id)
            .select((
                referrals::area_id,
                referrals::entry_point,
                referrals::status,
                referrals::submitted_at,
                referrals::sentence_date,
                referrals::combined_with,
                referrals::person_id,
            ))
            .first(c)?;
    let (sex, ethnicity, born): (Sex, Option<Ethnicity>, NaiveDate) = people::table
        .find(&person_id)
        .select((people::sex, people::ethnicity, people::date_of_birth))
        .first(c)?;
    let history = referral_status_history::table
        .filter(referral_status_history::referral_id.eq(referral_id))
        .order(referral_status_history::at.asc())
        .select((
            referral_status_history::action,
            referral_status_history::at,
            referral_status_history::details,
        ))
        .load(c)?;
    let sessions = treatment_sessions::table
        .filter(treatment_sessions::referral_id.eq(referral_id))
        .order(treatment_sessions::starts_at.asc())
        .select((
            treatment_sessions::starts_at,
            treatment_sessions::status,
            treatment_sessions::outcome,
        ))
        .load(c)?;
    let measures = outcome_measures::table
        .inner_join(treatment_sessions::table)
        .filter(outcome_measures::referral_id.eq(referral_id))
        .order((
            treatment_sessions::starts_at.asc(),
            outcome_measures::recorded_at.asc(),
        ))
        .select((outcome_measures::instrument, outcome_measures::total))
        .load(c)?;
    let signposted = signpostings::table
        .inner_join(directory_services::table)
        .filter(signpostings::referral_id.eq(referral_id))
        .select((directory_services::service_type, signpostings::status))
        .load(c)?;
    Ok(Parts {
        referral_id: referral_id.to_owned(),
        area_id,
        entry_point,
        status,
        submitted_at,
        sentence_date,
        combined_with,
        sex,
        ethnicity,
        born,
        history,
        sessions,
        measures,
        signposted,
    })
}

/// Adds `delta` to an area's month, creating the row when it is the first. Runs inside the
/// caller's write transaction: on SQLite writers are serialised; on PostgreSQL the upsert is
/// atomic.
pub(crate) fn add_to_area_month(
    c: &mut DbConn,
    area_id: &str,
    month: NaiveDate,
    delta: MonthCounts,
) -> Result<(), AppError> {
    if delta == MonthCounts::default() {
        return Ok(());
    }
    let row = (
        report_area_months::area_id.eq(area_id),
        report_area_months::month.eq(month),
        report_area_months::booked.eq(delta.booked),
        report_area_months::delivered.eq(delta.delivered),
        report_area_months::missed.eq(delta.missed),
    );
    let set = (
        report_area_months::booked.eq(report_area_months::booked + delta.booked),
        report_area_months::delivered.eq(report_area_months::delivered + delta.delivered),
        report_area_months::missed.eq(report_area_months::missed + delta.missed),
    );
    let target = (report_area_months::area_id, report_area_months::month);
    match c {
        DbConn::Sqlite(c) => diesel::insert_into(report_area_months::table)
            .values(row)
            .on_conflict(target)
            .do_update()
            .set(set)
            .execute(c)?,
        DbConn::Pg(c) => diesel::insert_into(report_area_months::table)
            .values(row)
            .on_conflict(target)
            .do_update()
            .set(set)
            .execute(c)?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    }

    fn parts() -> Parts {
        Parts {
            referral_id: "r1".into(),
            area_id: "a1".into(),
            entry_point: EntryPoint::Probation,
            status: Status::InTreatment,
            submitted_at: at(2026, 1, 5),
            sentence_date: NaiveDate::from_ymd_opt(2026, 2, 20),
            combined_with: Some(CombinedWith::Drr),
            sex: Sex::Female,
            ethnicity: Some(Ethnicity::Indian),
            born: NaiveDate::from_ymd_opt(2000, 6, 1).unwrap(),
            history: vec![
                (Action::Accept, at(2026, 1, 6), "{}".into()),
                (
                    Action::RecordAssessment,
                    at(2026, 1, 20),
                    r#"{"date":"2026-01-19"}"#.into(),
                ),
                (Action::RecordSuitable, at(2026, 1, 21), "{}".into()),
                (Action::RecordMhtrMade, at(2026, 2, 21), "{}".into()),
            ],
            sessions: vec![
                (
                    at(2026, 3, 2),
                    SessionStatus::Recorded,
                    Some(Outcome::Attended),
                ),
                (
                    at(2026, 3, 9),
                    SessionStatus::Recorded,
                    Some(Outcome::UnacceptableAbsence),
                ),
                (at(2026, 3, 16), SessionStatus::Superseded, None),
                (at(2026, 4, 6), SessionStatus::Booked, None),
            ],
            measures: vec![
                (Instrument::Phq9, 18),
                (Instrument::Phq9, 11),
                (Instrument::Gad7, 9),
            ],
            signposted: vec![
                (ServiceType::Housing, SignpostStatus::Accepted),
                (ServiceType::Gp, SignpostStatus::Suggested),
                (ServiceType::Housing, SignpostStatus::Declined),
                (ServiceType::Debt, SignpostStatus::NotNeeded),
            ],
        }
    }

    /// Hand-computed NHS Talking Therapies outcomes of finished courses (thresholds: PHQ-9
    /// caseness 10, reliable change 6; GAD-7 caseness 8, reliable change 4).
    #[test]
    fn finished_courses_are_counted_with_their_combined_outcome() {
        use crate::reports::catalogue::Count::*;
        use crate::reports::tally::tally_fact;
        let (base, _) = derive(&parts());
        let course =
            |attended: i32, ended: bool, phq9: Option<(i32, i32)>, gad7: Option<(i32, i32)>| {
                let mut f = base.clone();
                f.sessions_attended = attended;
                f.ended_on = ended.then(|| NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
                (f.phq9_first, f.phq9_last) = (phq9.map(|p| p.0), phq9.map(|p| p.1));
                (f.gad7_first, f.gad7_last) = (gad7.map(|g| g.0), gad7.map(|g| g.1));
                let t = tally_fact(&f);
                [
                    Finished,
                    FinishedPaired,
                    RecoveryBase,
                    Recovered,
                    ReliablyRecovered,
                    ReliablyImproved,
                    ReliablyDeteriorated,
                ]
                .map(|k| t.get(k))
            };
        // 15→6 (−9) and 9→5 (−4): at caseness at the start, below both at the end, both
        // reliably improved: recovered, reliably recovered, reliably improved.
        assert_eq!(
            course(12, true, Some((15, 6)), Some((9, 5))),
            [1, 1, 1, 1, 1, 1, 0]
        );
        // 10→9 (−1) and 8→7 (−1): at caseness (boundaries), below both at the end, no
        // reliable change: recovered, not reliably.
        assert_eq!(
            course(6, true, Some((10, 9)), Some((8, 7))),
            [1, 1, 1, 1, 0, 0, 0]
        );
        // 8→14 (+6) and 5→6: not at caseness at the start (out of recovery's denominator);
        // the PHQ-9 rose by its reliable change: reliable deterioration.
        assert_eq!(
            course(4, true, Some((8, 14)), Some((5, 6))),
            [1, 1, 0, 0, 0, 0, 1]
        );
        // 20→4 (−16) but 7→12 (+5): improvement on one, deterioration on the other counts as
        // deterioration; 12 is still at caseness on the GAD-7, so not recovered.
        assert_eq!(
            course(12, true, Some((20, 4)), Some((7, 12))),
            [1, 1, 1, 0, 0, 0, 1]
        );
        // Finished without a GAD-7 pair: counted as finished, not paired.
        assert_eq!(course(12, true, Some((20, 4)), None), [1, 0, 0, 0, 0, 0, 0]);
        // One attended session, or still in treatment: not a finished course.
        assert_eq!(course(1, true, Some((15, 6)), Some((9, 5))), [0; 7]);
        assert_eq!(course(12, false, Some((15, 6)), Some((9, 5))), [0; 7]);
    }

    #[test]
    fn facts_take_each_milestone_from_its_step() {
        let (f, months) = derive(&parts());
        assert_eq!(f.screened_on, NaiveDate::from_ymd_opt(2026, 1, 6));
        assert!(f.accepted && f.suitable && f.order_made);
        assert_eq!(
            f.assessed_on,
            NaiveDate::from_ymd_opt(2026, 1, 19),
            "the date given"
        );
        assert_eq!(f.sentenced_on, NaiveDate::from_ymd_opt(2026, 2, 20));
        assert_eq!(f.first_session_on, NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!((f.sessions_attended, f.sessions_missed), (1, 1));
        assert_eq!((f.phq9_first, f.phq9_last), (Some(18), Some(11)));
        assert_eq!(
            (f.gad7_first, f.gad7_last),
            (Some(9), None),
            "one measure is no pair"
        );
        assert_eq!(f.age_band, AgeBand::From25To34);
        assert_eq!(f.ethnic_group.as_deref(), Some("asian"));
        assert_eq!(
            f.signposted_types, "gp,housing",
            "each type once, sorted, not the one not needed"
        );
        let march = months[&NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()];
        assert_eq!(
            march,
            MonthCounts {
                booked: 2,
                delivered: 1,
                missed: 1
            },
            "a moved appointment is not counted"
        );
        assert_eq!(
            months[&NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()].booked,
            1
        );
    }

    #[test]
    fn age_bands_start_at_their_birthdays() {
        let born = NaiveDate::from_ymd_opt(2000, 6, 1).unwrap();
        assert_eq!(
            AgeBand::of(born, NaiveDate::from_ymd_opt(2025, 5, 31).unwrap()),
            AgeBand::From18To24
        );
        assert_eq!(
            AgeBand::of(born, NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()),
            AgeBand::From25To34
        );
    }
}
