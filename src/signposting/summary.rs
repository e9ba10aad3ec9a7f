//! The end-of-treatment summary: sessions attended of the plan's target, each outcome
//! measure's first and last totals with whether the fall is a reliable improvement, how and
//! why treatment ended, and the practitioner's summary for the responsible officer.

use chrono::{NaiveDate, NaiveDateTime};

use crate::db::DbConn;
use crate::error::AppError;
use crate::referrals::codes::{EndOutcome, EndReason};
use crate::referrals::model::{self as referrals_model, Referral};
use crate::referrals::state::{Action, Status};
use crate::sessions::codes::Outcome;
use crate::sessions::measures::{Instrument, reliably_improved};
use crate::sessions::outcomes::{Combined, MeasureOutcome, combined, measure_outcome};
use crate::signposting::codes::SignpostStatus;
use crate::signposting::model::{self, EndSummary};

/// The plan's target when there is no plan.
pub const DEFAULT_TARGET: i32 = 12;

/// One instrument's first and last totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureChange {
    pub instrument: Instrument,
    pub first: u32,
    pub last: u32,
    /// Last minus first: negative is a fall (an improvement on every instrument).
    pub change: i64,
    pub reliably_improved: bool,
    /// The pair read clinically: caseness at the start and end, and the reliable change
    /// either way ([`crate::sessions::outcomes`]).
    pub outcome: MeasureOutcome,
}

/// Pairs each instrument's first and last measure, `measures` being in the order taken. An
/// instrument measured once has no pair and is left out.
pub fn changes(measures: &[(Instrument, u32)]) -> Vec<MeasureChange> {
    Instrument::ALL
        .iter()
        .filter_map(|&instrument| {
            let totals: Vec<u32> = measures
                .iter()
                .filter(|(i, _)| *i == instrument)
                .map(|(_, t)| *t)
                .collect();
            match totals.as_slice() {
                [first, .., last] => Some(MeasureChange {
                    instrument,
                    first: *first,
                    last: *last,
                    change: i64::from(*last) - i64::from(*first),
                    reliably_improved: reliably_improved(instrument, *first, *last),
                    outcome: measure_outcome(instrument, *first, *last),
                }),
                _ => None,
            }
        })
        .collect()
}

/// The PHQ-9 and GAD-7 read together, when both have a first and a last score.
pub fn combined_of(changes: &[MeasureChange]) -> Option<Combined> {
    let pair = |i: Instrument| {
        changes
            .iter()
            .find(|c| c.instrument == i)
            .map(|c| (c.first, c.last))
    };
    Some(combined(pair(Instrument::Phq9)?, pair(Instrument::Gad7)?))
}

/// Everything the summary shows.
#[derive(Debug, Clone)]
pub struct EndOfTreatment {
    pub sessions_attended: i64,
    pub target_sessions: i32,
    pub ended_on: Option<NaiveDate>,
    pub ended_at: Option<NaiveDateTime>,
    pub outcome: Option<EndOutcome>,
    pub reason: Option<EndReason>,
    pub changes: Vec<MeasureChange>,
    pub summary: Option<EndSummary>,
    pub summary_by: Option<String>,
    /// The PHQ-9 and GAD-7 together (recovery, reliable change), when both are paired.
    pub combined: Option<Combined>,
    /// Sessions missed, as the reports count them: acceptable absences (and absences still
    /// awaiting evidence) and unacceptable failures.
    pub missed_acceptable: i64,
    pub missed_unacceptable: i64,
    /// Each service signposted to, with where it stands.
    pub onward: Vec<(String, SignpostStatus)>,
    /// Why no onward support was needed, when that was recorded.
    pub no_onward: Option<String>,
    /// The outcome measures are left out: the viewer is probation and the person has not
    /// consented to share their health information with criminal justice agencies.
    pub measures_withheld: bool,
}

impl EndOfTreatment {
    /// The summary as `viewer` may read it: without the outcome measures for probation
    /// where the person has not consented to share them.
    pub fn for_viewer(
        mut self,
        c: &mut DbConn,
        viewer: &crate::referrals::model::Viewer,
        r: &Referral,
    ) -> Result<Self, AppError> {
        use crate::referrals::consent;
        if consent::withholds_health(viewer.role, consent::current(c, r)?) {
            self.changes.clear();
            self.combined = None;
            self.measures_withheld = true;
        }
        Ok(self)
    }
}

/// Whether a referral's treatment has ended, so the summary applies.
pub fn has_ended(r: &Referral) -> bool {
    matches!(r.status, Status::Ended | Status::Closed)
}

/// The summary of a referral found in scope, or `None` before treatment has ended.
pub fn end_of_treatment(c: &mut DbConn, r: &Referral) -> Result<Option<EndOfTreatment>, AppError> {
    if !has_ended(r) {
        return Ok(None);
    }
    let ended = referrals_model::history(c, &r.id)?
        .into_iter()
        .rfind(|h| matches!(h.action, Action::EndTreatment | Action::EndOrder));
    let details: serde_json::Value = ended
        .as_ref()
        .and_then(|h| serde_json::from_str(&h.details).ok())
        .unwrap_or_default();
    let code = |k: &str| details.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let sessions_attended = match details.get("sessions_attended").and_then(|v| v.as_i64()) {
        Some(n) => n,
        None => crate::sessions::upkeep::attended_count(c, &r.id)?,
    };
    let target_sessions = crate::sessions::model::plan(c, &r.id)?
        .map(|p| p.target_sessions)
        .unwrap_or(DEFAULT_TARGET);
    let measures: Vec<(Instrument, u32)> = crate::sessions::model::measures_of(c, &r.id)?
        .into_iter()
        .map(|m| (m.instrument, u32::try_from(m.total).unwrap_or(0)))
        .collect();
    let (mut missed_acceptable, mut missed_unacceptable) = (0, 0);
    for s in crate::sessions::model::sessions_of(c, &r.id)? {
        match s.outcome.and_then(Outcome::reported) {
            Some(Outcome::AcceptableAbsence) => missed_acceptable += 1,
            Some(Outcome::UnacceptableAbsence) => missed_unacceptable += 1,
            _ => {}
        }
    }
    let mut onward = Vec::new();
    for s in model::signpostings_of(c, &r.id)? {
        onward.push((model::service(c, &s.service_id)?.name, s.status));
    }
    let no_onward = model::no_onward_support_of(c, &r.id)?.map(|n| n.reason);
    let summary = model::end_summary_of(c, &r.id)?;
    let summary_by = match &summary {
        Some(s) => Some(referrals_model::user_name(c, &s.written_by)?),
        None => None,
    };
    Ok(Some(EndOfTreatment {
        sessions_attended,
        target_sessions,
        ended_on: code("date").and_then(|d| d.parse().ok()),
        ended_at: ended.as_ref().map(|h| h.at),
        outcome: code("end_outcome").and_then(|c| c.parse().ok()),
        reason: code("end_reason").and_then(|c| c.parse().ok()),
        combined: combined_of(&changes(&measures)),
        changes: changes(&measures),
        summary,
        summary_by,
        missed_acceptable,
        missed_unacceptable,
        onward,
        no_onward,
        measures_withheld: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Instrument::*;

    fn flag(i: Instrument, first: u32, last: u32) -> bool {
        changes(&[(i, first), (i, last)])[0].reliably_improved
    }

    #[test]
    fn reliable_improvement_starts_at_each_instruments_threshold() {
        assert!(!flag(Phq9, 15, 10), "PHQ-9 fall of 5");
        assert!(flag(Phq9, 15, 9), "PHQ-9 fall of 6");
        assert!(!flag(Gad7, 12, 9), "GAD-7 fall of 3");
        assert!(flag(Gad7, 12, 8), "GAD-7 fall of 4");
        assert!(!flag(Core10, 20, 15), "CORE-10 fall of 5");
        assert!(flag(Core10, 20, 14), "CORE-10 fall of 6");
    }

    #[test]
    fn both_paired_are_read_together_and_one_alone_is_not() {
        let c = changes(&[(Phq9, 15), (Gad7, 12), (Phq9, 5), (Gad7, 4)]);
        let both = combined_of(&c).expect("both paired");
        assert_eq!(both.recovered, Some(true));
        assert_eq!(both.reliably_recovered, Some(true));
        assert!(combined_of(&changes(&[(Phq9, 15), (Phq9, 5), (Gad7, 12)])).is_none());
    }

    #[test]
    fn a_rise_is_a_positive_change_and_no_improvement() {
        let c = changes(&[(Phq9, 8), (Phq9, 20)]);
        assert_eq!(c[0].change, 12);
        assert!(!c[0].reliably_improved);
    }

    #[test]
    fn the_first_and_last_of_several_are_paired_and_a_single_measure_is_not() {
        let c = changes(&[(Gad7, 18), (Phq9, 20), (Gad7, 5), (Gad7, 10)]);
        assert_eq!(
            c,
            [MeasureChange {
                instrument: Gad7,
                first: 18,
                last: 10,
                change: -8,
                reliably_improved: true,
                outcome: measure_outcome(Gad7, 18, 10),
            }]
        );
        assert!(changes(&[]).is_empty());
    }
}
