//! Reporting facts: one row per referral (`report_facts`) and its sessions per month
//! (`report_referral_months`, summed into `report_area_months`). [`refresh`] recomputes a
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
    report_area_months, report_facts, report_referral_months, signpostings, treatment_sessions,
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
            Action::EndTreatment => {
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
            Some(Outcome::AcceptableAbsence | Outcome::UnacceptableAbsence) => {
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

/// Recomputes one referral's facts and moves the area's monthly session counts by exactly
/// the difference. Call at the end of every write transaction that changes a referral, its
/// person, its sessions or its measures.
///
/// An erased referral's facts are left as they stand: its source data is blanked, and its
/// stored facts are what keeps the report's history right.
pub fn refresh(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    if crate::retention::model::is_erased(c, referral_id)? {
        return Ok(());
    }
    let p = parts(c, referral_id)?;
    let (fact, months) = derive(&p);
    let old_fact: Option<Fact> = report_facts::table
        .find(referral_id)
        .select(Fact::as_select())
        .first(c)
        .optional()?;
    crate::reports::cube::replace(c, old_fact.as_ref(), &fact)?;
    diesel::delete(report_facts::table.find(referral_id)).execute(c)?;
    diesel::insert_into(report_facts::table)
        .values(&fact)
        .execute(c)?;
    let old: Vec<(NaiveDate, String, i32, i32, i32)> = report_referral_months::table
        .filter(report_referral_months::referral_id.eq(referral_id))
        .select((
            report_referral_months::month,
            report_referral_months::area_id,
            report_referral_months::booked,
            report_referral_months::delivered,
            report_referral_months::missed,
        ))
        .load(c)?;
    let unchanged = old.len() == months.len()
        && old.iter().all(|(m, a, b, d, x)| {
            a == &fact.area_id
                && months.get(m)
                    == Some(&MonthCounts {
                        booked: *b,
                        delivered: *d,
                        missed: *x,
                    })
        });
    if unchanged {
        return Ok(());
    }
    for (month, area, booked, delivered, missed) in &old {
        add_to_area_month(
            c,
            area,
            *month,
            MonthCounts {
                booked: -booked,
                delivered: -delivered,
                missed: -missed,
            },
        )?;
    }
    diesel::delete(
        report_referral_months::table.filter(report_referral_months::referral_id.eq(referral_id)),
    )
    .execute(c)?;
    for (month, counts) in &months {
        diesel::insert_into(report_referral_months::table)
            .values((
                report_referral_months::referral_id.eq(referral_id),
                report_referral_months::month.eq(month),
                report_referral_months::area_id.eq(&fact.area_id),
                report_referral_months::booked.eq(counts.booked),
                report_referral_months::delivered.eq(counts.delivered),
                report_referral_months::missed.eq(counts.missed),
            ))
            .execute(c)?;
        add_to_area_month(c, &fact.area_id, *month, *counts)?;
    }
    Ok(())
}

/// Refreshes every referral of a person (after a merge or an amendment of who they are).
pub fn refresh_person(c: &mut DbConn, person_id: &str) -> Result<(), AppError> {
    let ids: Vec<String> = referrals::table
        .filter(referrals::person_id.eq(person_id))
        .select(referrals::id)
        .load(c)?;
    for id in ids {
        refresh(c, &id)?;
    }
    Ok(())
}

/// Computes the facts of every referral that has none, a thousand to a transaction, and
/// the report's aggregates from the facts when they have none yet (a database made before
/// they existed).
pub fn backfill(c: &mut DbConn) -> Result<usize, AppError> {
    use diesel::connection::Connection;
    if crate::reports::cube::is_empty(c)? {
        c.transaction::<_, AppError, _>(crate::reports::cube::rebuild)?;
    }
    // NOT EXISTS, which PostgreSQL runs as an anti-join; `NOT IN (subquery)` took it
    // minutes at a million referrals.
    let missing: Vec<String> = referrals::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            report_facts::table.filter(report_facts::referral_id.eq(referrals::id)),
        )))
        .select(referrals::id)
        .load(c)?;
    for chunk in missing.chunks(1000) {
        c.transaction::<_, AppError, _>(|c| {
            for id in chunk {
                refresh(c, id)?;
            }
            Ok(())
        })?;
    }
    Ok(missing.len())
}

/// An erased referral's stored facts and months: they cannot be derived again from its
/// blanked source data, so they stand as they are.
fn stored_parts(
    c: &mut DbConn,
    referral_id: &str,
) -> Result<(Fact, BTreeMap<NaiveDate, MonthCounts>), AppError> {
    let fact = report_facts::table
        .find(referral_id)
        .select(Fact::as_select())
        .first(c)?;
    let months = report_referral_months::table
        .filter(report_referral_months::referral_id.eq(referral_id))
        .select((
            report_referral_months::month,
            report_referral_months::booked,
            report_referral_months::delivered,
            report_referral_months::missed,
        ))
        .load::<(NaiveDate, i32, i32, i32)>(c)?
        .into_iter()
        .map(|(m, booked, delivered, missed)| {
            (
                m,
                MonthCounts {
                    booked,
                    delivered,
                    missed,
                },
            )
        })
        .collect();
    Ok((fact, months))
}

/// The stored facts and monthly counts, and the same computed afresh from the source tables:
/// they must be equal. An erased referral's stored facts stand for it (its source data is
/// gone), but still count towards the aggregates and months checked. Used by tests and by
/// `mhtr-pathway report recount`.
pub fn recount(c: &mut DbConn) -> Result<Recount, AppError> {
    let rows: Vec<(String, Option<NaiveDateTime>)> = referrals::table
        .select((referrals::id, referrals::erased_at))
        .order(referrals::id.asc())
        .load(c)?;
    let mut facts = Vec::with_capacity(rows.len());
    let (mut cube_counts, mut cube_waits) = Default::default();
    let mut area_months: BTreeMap<(String, NaiveDate), MonthCounts> = BTreeMap::new();
    for (id, erased_at) in &rows {
        let (fact, months) = if erased_at.is_some() {
            stored_parts(c, id)?
        } else {
            derive(&parts(c, id)?)
        };
        crate::reports::cube::accumulate(&fact, 1, &mut cube_counts, &mut cube_waits);
        for (m, counts) in months {
            let e = area_months.entry((fact.area_id.clone(), m)).or_default();
            e.booked += counts.booked;
            e.delivered += counts.delivered;
            e.missed += counts.missed;
        }
        facts.push(fact);
    }
    area_months.retain(|_, v| *v != MonthCounts::default());
    let stored_facts: Vec<Fact> = report_facts::table
        .order(report_facts::referral_id.asc())
        .select(Fact::as_select())
        .load(c)?;
    let stored_months: BTreeMap<(String, NaiveDate), MonthCounts> = report_area_months::table
        .select((
            report_area_months::area_id,
            report_area_months::month,
            report_area_months::booked,
            report_area_months::delivered,
            report_area_months::missed,
        ))
        .load::<(String, NaiveDate, i32, i32, i32)>(c)?
        .into_iter()
        .map(|(a, m, b, d, x)| {
            (
                (a, m),
                MonthCounts {
                    booked: b,
                    delivered: d,
                    missed: x,
                },
            )
        })
        .filter(|(_, v)| *v != MonthCounts::default())
        .collect();
    cube_counts.retain(|_, n| *n != 0);
    cube_waits.retain(|_, n| *n != 0);
    let stored_cube = crate::reports::cube::stored(c)?;
    Ok(Recount {
        facts_equal: facts == stored_facts,
        months_equal: area_months == stored_months,
        aggregates_equal: (cube_counts, cube_waits) == stored_cube,
        referrals: facts.len(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recount {
    pub facts_equal: bool,
    pub months_equal: bool,
    /// The report's aggregates ([`cube`](super::cube)) equal the sum of the recounted facts.
    pub aggregates_equal: bool,
    pub referrals: usize,
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
