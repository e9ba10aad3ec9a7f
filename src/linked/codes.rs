//! The coded lists linked requirements are recorded with, stored by code and shown by label.

use crate::coded_enum;
use crate::sessions::codes::EventKind;

coded_enum! {
    /// The other treatment requirement made beside the MHTR.
    pub enum RequirementKind {
        Drr = ("drr", "Drug Rehabilitation Requirement (DRR)"),
        Atr = ("atr", "Alcohol Treatment Requirement (ATR)"),
    }
}

impl RequirementKind {
    /// The abbreviation the timeline and headings use.
    pub fn short(self) -> &'static str {
        match self {
            RequirementKind::Drr => "DRR",
            RequirementKind::Atr => "ATR",
        }
    }

    /// "a DRR" or "an ATR", for messages.
    pub fn with_article(self) -> &'static str {
        match self {
            RequirementKind::Drr => "a DRR",
            RequirementKind::Atr => "an ATR",
        }
    }

    pub fn added_event(self) -> EventKind {
        match self {
            RequirementKind::Drr => EventKind::DrrAdded,
            RequirementKind::Atr => EventKind::AtrAdded,
        }
    }

    pub fn status_event(self) -> EventKind {
        match self {
            RequirementKind::Drr => EventKind::DrrStatusChanged,
            RequirementKind::Atr => EventKind::AtrStatusChanged,
        }
    }

    pub fn activity_event(self) -> EventKind {
        match self {
            RequirementKind::Drr => EventKind::DrrActivity,
            RequirementKind::Atr => EventKind::AtrActivity,
        }
    }
}

coded_enum! {
    /// How the requirement runs in time beside the MHTR.
    pub enum Sequencing {
        Parallel = ("parallel", "In parallel with the MHTR"),
        LinkedFirst = ("linked_first", "Before the MHTR"),
        MhtrFirst = ("mhtr_first", "After the MHTR"),
    }
}

coded_enum! {
    /// Where the requirement stands.
    pub enum RequirementStatus {
        Proposed = ("proposed", "Proposed"),
        Active = ("active", "Active"),
        Completed = ("completed", "Completed"),
        Revoked = ("revoked", "Revoked"),
    }
}

impl RequirementStatus {
    /// The statuses it may move to: proposed to active or revoked; active to completed or
    /// revoked; completed and revoked are final.
    pub fn next(self) -> &'static [RequirementStatus] {
        use RequirementStatus::*;
        match self {
            Proposed => &[Active, Revoked],
            Active => &[Completed, Revoked],
            Completed | Revoked => &[],
        }
    }

    pub fn colour(self) -> &'static str {
        match self {
            RequirementStatus::Proposed => "grey",
            RequirementStatus::Active => "blue",
            RequirementStatus::Completed => "green",
            RequirementStatus::Revoked => "red",
        }
    }
}

coded_enum! {
    /// What an activity entry records.
    pub enum ActivityKind {
        AppointmentAttended = ("appointment_attended", "Appointment attended"),
        AppointmentMissed = ("appointment_missed", "Appointment missed"),
        ReviewHeld = ("review_held", "Review held"),
        CourtReview = ("court_review", "Court review"),
        StatusChanged = ("status_changed", "Status changed"),
        Note = ("note", "Note"),
    }
}

impl ActivityKind {
    /// What a user may enter by hand: status changes are recorded by changing the status.
    pub const ENTERED: &'static [ActivityKind] = &[
        ActivityKind::AppointmentAttended,
        ActivityKind::AppointmentMissed,
        ActivityKind::ReviewHeld,
        ActivityKind::CourtReview,
        ActivityKind::Note,
    ];
}

coded_enum! {
    /// How an activity entry came in.
    pub enum EnteredVia {
        Page = ("page", "Page"),
        Api = ("api", "API"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_proposed_and_active_requirements_move_on() {
        use RequirementStatus::*;
        assert_eq!(Proposed.next(), &[Active, Revoked]);
        assert_eq!(Active.next(), &[Completed, Revoked]);
        assert!(Completed.next().is_empty());
        assert!(Revoked.next().is_empty());
    }
}
