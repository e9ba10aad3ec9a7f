//! The retention policy, pure: which closed referrals it covers, by how they closed, and the
//! date each comes up for review.

use chrono::{Months, NaiveDate};

use crate::referrals::state::Status;
use crate::settings::RetentionSettings;

/// The record types the policy sets a review period for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// Declined at screening, not suitable, MHTR not made, or withdrawn.
    EndedWithoutTreatment,
    /// Closed after treatment ended (completed, ended early; signposting settled).
    ClosedAfterTreatment,
}

/// The statuses a referral is reviewed in: the final ones.
pub const CLOSING: [Status; 5] = [
    Status::Declined,
    Status::NotSuitable,
    Status::MhtrNotMade,
    Status::Withdrawn,
    Status::Closed,
];

impl RecordType {
    pub fn of(status: Status) -> Option<Self> {
        match status {
            Status::Declined | Status::NotSuitable | Status::MhtrNotMade | Status::Withdrawn => {
                Some(Self::EndedWithoutTreatment)
            }
            Status::Closed => Some(Self::ClosedAfterTreatment),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::EndedWithoutTreatment => "Ended without treatment",
            Self::ClosedAfterTreatment => "Closed after treatment",
        }
    }

    pub fn years(self, policy: &RetentionSettings) -> u32 {
        match self {
            Self::EndedWithoutTreatment => policy.ended_without_treatment_years,
            Self::ClosedAfterTreatment => policy.closed_after_treatment_years,
        }
    }
}

/// `years` after `d`; 29 February moves to 28 February in a year that has none.
pub fn add_years(d: NaiveDate, years: u32) -> NaiveDate {
    d.checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MAX)
}

/// The fewest years any record type is kept: nothing closed more recently is due.
pub fn shortest(policy: &RetentionSettings) -> u32 {
    policy
        .ended_without_treatment_years
        .min(policy.closed_after_treatment_years)
}

/// When a referral in `status`, closed on `closed_on`, comes up for review: the policy date,
/// or the next review date a decision to keep it set. `None` while it is not closed.
pub fn due_on(
    policy: &RetentionSettings,
    status: Status,
    closed_on: NaiveDate,
    next_review_on: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let kind = RecordType::of(status)?;
    Some(next_review_on.unwrap_or_else(|| add_years(closed_on, kind.years(policy))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn each_way_of_closing_takes_its_own_period() {
        let p = RetentionSettings::default();
        assert_eq!(
            due_on(&p, Status::Declined, d(2020, 3, 4), None),
            Some(d(2022, 3, 4))
        );
        assert_eq!(
            due_on(&p, Status::Withdrawn, d(2020, 3, 4), None),
            Some(d(2022, 3, 4))
        );
        assert_eq!(
            due_on(&p, Status::Closed, d(2020, 3, 4), None),
            Some(d(2026, 3, 4))
        );
        assert_eq!(due_on(&p, Status::InTreatment, d(2020, 3, 4), None), None);
        assert_eq!(due_on(&p, Status::Ended, d(2020, 3, 4), None), None);
    }

    #[test]
    fn a_decision_to_keep_sets_the_next_review() {
        let p = RetentionSettings::default();
        assert_eq!(
            due_on(&p, Status::Closed, d(2018, 1, 1), Some(d(2027, 5, 1))),
            Some(d(2027, 5, 1))
        );
    }

    #[test]
    fn a_leap_day_moves_to_the_last_day_of_february() {
        assert_eq!(add_years(d(2020, 2, 29), 2), d(2022, 2, 28));
        assert_eq!(add_years(d(2020, 2, 29), 4), d(2024, 2, 29));
    }

    #[test]
    fn every_final_status_is_covered_and_nothing_else() {
        for s in Status::ALL {
            assert_eq!(RecordType::of(*s).is_some(), s.is_final(), "{s}");
            assert_eq!(CLOSING.contains(s), s.is_final(), "{s}");
        }
    }
}
