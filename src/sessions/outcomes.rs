//! Clinically meaningful outcomes, in the NHS Talking Therapies definitions: caseness at the
//! start and end of treatment, reliable improvement and deterioration per measure, and for
//! the PHQ-9 and GAD-7 together recovery, reliable improvement, reliable recovery, reliable
//! deterioration and no reliable change. Pure: the end-of-treatment summary and the reports
//! call it with totals they have read.

use crate::coded_enum;
use crate::sessions::measures::{Instrument, thresholds};
pub use crate::sessions::measures::{THRESHOLDS, Thresholds};

coded_enum! {
    /// How one measure (or the PHQ-9 and GAD-7 together) changed between the first and last
    /// score.
    pub enum Change {
        ReliableImprovement = ("reliable_improvement", "Reliable improvement"),
        NoReliableChange = ("no_reliable_change", "No reliable change"),
        ReliableDeterioration = ("reliable_deterioration", "Reliable deterioration"),
    }
}

/// One measure's first and last score, read clinically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureOutcome {
    pub instrument: Instrument,
    pub first: u32,
    pub last: u32,
    pub caseness_at_start: bool,
    pub caseness_at_end: bool,
    pub change: Change,
}

/// Whether `total` on `instrument` is at caseness.
pub fn at_caseness(instrument: Instrument, total: u32) -> bool {
    total >= thresholds(instrument).caseness
}

/// How a total moved from `first` to `last`: a fall of at least the reliable change is a
/// reliable improvement, a rise of at least it a reliable deterioration (every instrument
/// here scores distress, so lower is better).
pub fn change(instrument: Instrument, first: u32, last: u32) -> Change {
    let rc = thresholds(instrument).reliable_change;
    if first.saturating_sub(last) >= rc {
        Change::ReliableImprovement
    } else if last.saturating_sub(first) >= rc {
        Change::ReliableDeterioration
    } else {
        Change::NoReliableChange
    }
}

pub fn measure_outcome(instrument: Instrument, first: u32, last: u32) -> MeasureOutcome {
    MeasureOutcome {
        instrument,
        first,
        last,
        caseness_at_start: at_caseness(instrument, first),
        caseness_at_end: at_caseness(instrument, last),
        change: change(instrument, first, last),
    }
}

/// The PHQ-9 and GAD-7 read together, as NHS Talking Therapies report a course of treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Combined {
    /// At caseness at the start on either measure: only such a person can recover, and only
    /// they are in recovery's denominator.
    pub caseness_at_start: bool,
    /// At caseness at the start, below both cut-offs at the end. `None` when not at caseness
    /// at the start (not in the denominator).
    pub recovered: Option<bool>,
    /// At least one reliably improved, neither reliably deteriorated; reliable
    /// deterioration when either reliably deteriorated; no reliable change otherwise.
    pub change: Change,
    /// Recovered and reliably improved. `None` when not at caseness at the start.
    pub reliably_recovered: Option<bool>,
}

/// The combined reading of a paired PHQ-9 (`phq9`: first and last) and GAD-7 (`gad7`).
pub fn combined(phq9: (u32, u32), gad7: (u32, u32)) -> Combined {
    let p = measure_outcome(Instrument::Phq9, phq9.0, phq9.1);
    let g = measure_outcome(Instrument::Gad7, gad7.0, gad7.1);
    let caseness_at_start = p.caseness_at_start || g.caseness_at_start;
    let recovered = caseness_at_start.then_some(!p.caseness_at_end && !g.caseness_at_end);
    let deteriorated = [p.change, g.change].contains(&Change::ReliableDeterioration);
    let improved = [p.change, g.change].contains(&Change::ReliableImprovement);
    let change = if deteriorated {
        Change::ReliableDeterioration
    } else if improved {
        Change::ReliableImprovement
    } else {
        Change::NoReliableChange
    };
    Combined {
        caseness_at_start,
        recovered,
        change,
        reliably_recovered: recovered.map(|r| r && change == Change::ReliableImprovement),
    }
}

/// "Finished treatment": at least two attended treatment sessions. Such a course should have
/// a first and a last score; the share that do is the paired-data rate.
pub fn finished_treatment(attended_sessions: u32) -> bool {
    attended_sessions >= 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use Instrument::*;

    #[test]
    fn caseness_starts_at_each_cut_off() {
        assert!(!at_caseness(Phq9, 9) && at_caseness(Phq9, 10));
        assert!(!at_caseness(Gad7, 7) && at_caseness(Gad7, 8));
        assert!(!at_caseness(Core10, 10) && at_caseness(Core10, 11));
    }

    #[test]
    fn reliable_change_starts_at_each_threshold_both_ways() {
        use Change::*;
        // PHQ-9: 6.
        assert_eq!(change(Phq9, 15, 10), NoReliableChange, "fall of 5");
        assert_eq!(change(Phq9, 15, 9), ReliableImprovement, "fall of 6");
        assert_eq!(change(Phq9, 9, 14), NoReliableChange, "rise of 5");
        assert_eq!(change(Phq9, 9, 15), ReliableDeterioration, "rise of 6");
        // GAD-7: 4.
        assert_eq!(change(Gad7, 12, 9), NoReliableChange);
        assert_eq!(change(Gad7, 12, 8), ReliableImprovement);
        assert_eq!(change(Gad7, 8, 11), NoReliableChange);
        assert_eq!(change(Gad7, 8, 12), ReliableDeterioration);
        // CORE-10: 6.
        assert_eq!(change(Core10, 20, 15), NoReliableChange);
        assert_eq!(change(Core10, 20, 14), ReliableImprovement);
        assert_eq!(change(Core10, 14, 20), ReliableDeterioration);
        assert_eq!(change(Core10, 0, 0), NoReliableChange);
    }

    #[test]
    fn one_table_holds_every_instrument_once() {
        for i in Instrument::ALL {
            assert_eq!(THRESHOLDS.iter().filter(|t| t.instrument == *i).count(), 1);
            assert_eq!(thresholds(*i).instrument, *i);
        }
    }

    /// Hand-computed courses: (PHQ-9 first, last), (GAD-7 first, last) → caseness at start,
    /// recovered, change, reliably recovered.
    #[test]
    fn the_combined_reading_follows_the_published_definitions() {
        use Change::*;
        let cases = [
            // 15→5 (−10, reliable; below 10) and 12→4 (−8, reliable; below 8): reliable
            // recovery.
            (
                (15, 5),
                (12, 4),
                true,
                Some(true),
                ReliableImprovement,
                Some(true),
            ),
            // 12→9 (−3) and 9→7 (−2): below both cut-offs at the end, but no reliable change:
            // recovered, not reliably.
            (
                (12, 9),
                (9, 7),
                true,
                Some(true),
                NoReliableChange,
                Some(false),
            ),
            // 20→14 (−6, reliable) but 14 is still at caseness: reliable improvement, not
            // recovered.
            (
                (20, 14),
                (6, 6),
                true,
                Some(false),
                ReliableImprovement,
                Some(false),
            ),
            // At caseness only on GAD-7 (8), then below both: recovered; GAD-7 fell 4.
            (
                (5, 3),
                (8, 4),
                true,
                Some(true),
                ReliableImprovement,
                Some(true),
            ),
            // Not at caseness at the start (9 and 7): outside recovery's denominator.
            ((9, 2), (7, 1), false, None, ReliableImprovement, None),
            // One improved, the other deteriorated: deterioration wins, not improvement.
            (
                (18, 10),
                (4, 8),
                true,
                Some(false),
                ReliableDeterioration,
                Some(false),
            ),
            // At the boundaries exactly: 10→9 and 8→7 is recovery with no reliable change.
            (
                (10, 9),
                (8, 7),
                true,
                Some(true),
                NoReliableChange,
                Some(false),
            ),
        ];
        for (phq, gad, caseness, recovered, change, reliably) in cases {
            let c = combined(phq, gad);
            assert_eq!(c.caseness_at_start, caseness, "{phq:?} {gad:?}");
            assert_eq!(c.recovered, recovered, "{phq:?} {gad:?}");
            assert_eq!(c.change, change, "{phq:?} {gad:?}");
            assert_eq!(c.reliably_recovered, reliably, "{phq:?} {gad:?}");
        }
    }

    #[test]
    fn finishing_treatment_takes_two_attended_sessions() {
        assert!(!finished_treatment(0));
        assert!(!finished_treatment(1));
        assert!(finished_treatment(2));
    }
}
