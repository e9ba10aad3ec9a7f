//! The coded lists sessions are recorded with, stored by code and shown by label.

use crate::coded_enum;

coded_enum! {
    /// How a session is held.
    pub enum Mode {
        InPerson = ("in_person", "In person"),
        Phone = ("phone", "Phone"),
        Video = ("video", "Video"),
    }
}

coded_enum! {
    /// Where an appointment stands. Only booked and recorded appointments hold time in the
    /// practitioner's diary.
    pub enum SessionStatus {
        Booked = ("booked", "Booked"),
        Recorded = ("recorded", "Recorded"),
        Cancelled = ("cancelled", "Cancelled"),
        Superseded = ("superseded", "Rescheduled"),
    }
}

coded_enum! {
    /// What happened at a session, in the national probation vocabulary: the person attended
    /// and complied (on time or late), attended and failed to comply, or was absent (an
    /// acceptable absence with its reason, an unacceptable absence, or absent awaiting
    /// evidence until a deadline); or the service could not hold it.
    pub enum Outcome {
        Attended = ("attended", "Attended — complied"),
        AttendedLate = ("attended_late", "Attended late — complied"),
        FailedToComply = ("attended_failed_to_comply", "Attended — failed to comply"),
        AcceptableAbsence = ("acceptable_absence", "Acceptable absence"),
        AwaitingEvidence = ("awaiting_evidence", "Absent — awaiting evidence"),
        UnacceptableAbsence = ("unacceptable_absence", "Unacceptable absence"),
        ServiceLogistics = ("service_logistics", "Did not happen: service logistics"),
    }
}

impl Outcome {
    /// The session was delivered with the person there: it counts towards the plan.
    pub fn attended(self) -> bool {
        matches!(self, Outcome::Attended | Outcome::AttendedLate)
    }

    /// An unacceptable failure the responsible officer must act on: a warning or breach.
    pub fn enforceable(self) -> bool {
        matches!(self, Outcome::UnacceptableAbsence | Outcome::FailedToComply)
    }

    /// The three-way attendance the reports count, from the national vocabulary:
    /// attended, acceptable absence or unacceptable absence (`None` for a session the
    /// service could not hold). A failure to comply counts as unacceptable; an absence still
    /// awaiting evidence as acceptable, until its deadline passes without evidence.
    pub fn reported(self) -> Option<Outcome> {
        match self {
            Outcome::Attended | Outcome::AttendedLate => Some(Outcome::Attended),
            Outcome::AcceptableAbsence | Outcome::AwaitingEvidence => {
                Some(Outcome::AcceptableAbsence)
            }
            Outcome::UnacceptableAbsence | Outcome::FailedToComply => {
                Some(Outcome::UnacceptableAbsence)
            }
            Outcome::ServiceLogistics => None,
        }
    }

    /// The session was the person's to attend and was not delivered.
    pub fn missed(self) -> bool {
        !self.attended() && self != Outcome::ServiceLogistics
    }

    pub fn colour(self) -> &'static str {
        match self {
            Outcome::Attended => "green",
            Outcome::AttendedLate => "turquoise",
            Outcome::FailedToComply => "orange",
            Outcome::AcceptableAbsence => "yellow",
            Outcome::AwaitingEvidence => "purple",
            Outcome::UnacceptableAbsence => "red",
            Outcome::ServiceLogistics => "grey",
        }
    }
}

coded_enum! {
    /// Why an absence was accepted.
    pub enum AbsenceReason {
        Medical = ("medical", "Illness or a medical appointment"),
        Employment = ("employment", "Work, training or education"),
        CourtOrLegal = ("court_or_legal", "A court hearing or legal appointment"),
        Family = ("family", "A family emergency or caring responsibilities"),
        Religious = ("religious", "Religious observance"),
        Other = ("other", "Another reason the service accepted"),
    }
}

coded_enum! {
    /// Who asked for an appointment to move or be cancelled.
    pub enum ChangeParty {
        PersonOnProbation = ("person_on_probation", "The person on probation"),
        Service = ("service", "The service"),
    }
}

coded_enum! {
    /// Why an appointment was cancelled.
    pub enum CancelReason {
        PersonRequest = ("person_request", "The person asked to cancel"),
        PersonUnwell = ("person_unwell", "The person is unwell"),
        PersonInCustody = ("person_in_custody", "The person is in custody"),
        PractitionerUnavailable = ("practitioner_unavailable", "The practitioner is unavailable"),
        PremisesUnavailable = ("premises_unavailable", "The premises are unavailable"),
        BookedInError = ("booked_in_error", "Booked in error"),
    }
}

impl CancelReason {
    /// Who the cancellation comes from.
    pub fn party(self) -> ChangeParty {
        match self {
            CancelReason::PersonRequest
            | CancelReason::PersonUnwell
            | CancelReason::PersonInCustody => ChangeParty::PersonOnProbation,
            CancelReason::PractitionerUnavailable
            | CancelReason::PremisesUnavailable
            | CancelReason::BookedInError => ChangeParty::Service,
        }
    }

    /// A session the service could not hold is replaced, so all 12 can still be delivered.
    /// One booked in error was never meant to be.
    pub fn needs_replacement(self) -> bool {
        self.party() == ChangeParty::Service && self != CancelReason::BookedInError
    }
}

coded_enum! {
    /// When in treatment an outcome measure is taken.
    pub enum Stage {
        First = ("first", "First session"),
        Mid = ("mid", "Mid-way"),
        Last = ("last", "Last session"),
    }
}

coded_enum! {
    /// When outcome measures are taken in a course of treatment. At every attended session is
    /// the NHS Talking Therapies practice: a person who stops early still has a last score, so
    /// far more courses have paired scores than when they are taken only at the start and end.
    pub enum MeasureSchedule {
        EverySession = ("every_session", "At every session"),
        StartAndEnd = ("start_end", "At the first and last sessions"),
    }
}

coded_enum! {
    /// What the practitioner reports to the responsible officer (Sentencing Code sch. 9).
    pub enum ReportKind {
        ContinueBeyond = ("continue_beyond", "Treatment should continue beyond the period of the requirement"),
        Change = ("change", "The treatment should change"),
        NotSusceptible = ("not_susceptible", "The person is not susceptible to treatment"),
        NoFurtherTreatment = ("no_further_treatment", "No further treatment is needed"),
        Unwilling = ("unwilling", "The practitioner is unwilling to continue"),
    }
}

coded_enum! {
    /// What the responsible officer decided about an unacceptable failure. `Withdrawn` is the
    /// service's, when the attendance is corrected to something that is not a failure.
    pub enum EnforcementDecision {
        Warning = ("warning", "Warning issued"),
        Breach = ("breach", "Breach action started (return to court)"),
        NoAction = ("no_action", "No further action"),
        Withdrawn = ("withdrawn", "Withdrawn: the attendance was corrected"),
    }
}

impl EnforcementDecision {
    /// The decisions an officer records.
    pub const OFFICER: &'static [EnforcementDecision] = &[
        EnforcementDecision::Warning,
        EnforcementDecision::Breach,
        EnforcementDecision::NoAction,
    ];
}

coded_enum! {
    /// Treatment activity on a referral's timeline.
    pub enum EventKind {
        PlanMade = ("plan_made", "Session plan made"),
        SessionRescheduled = ("session_rescheduled", "Session rescheduled"),
        SessionsShifted = ("sessions_shifted", "Remaining sessions moved"),
        SessionCancelled = ("session_cancelled", "Session cancelled"),
        SessionAdded = ("session_added", "Session added"),
        AttendanceRecorded = ("attendance_recorded", "Session recorded"),
        AbsenceNotified = ("absence_notified", "Unacceptable absence reported"),
        EvidenceAwaited = ("evidence_awaited", "Absence awaiting evidence"),
        EvidenceDecided = ("evidence_decided", "Evidence for an absence decided"),
        EvidenceLapsed = ("evidence_lapsed", "No evidence received: absence unacceptable"),
        AttendanceCorrected = ("attendance_corrected", "Attendance corrected"),
        NotesChanged = ("notes_changed", "Session notes changed"),
        SessionUnrecorded = ("session_unrecorded", "Session outcome not recorded"),
        EnforcementFlagged = ("enforcement_flagged", "Flagged for enforcement review"),
        EnforcementDecided = ("enforcement_decided", "Enforcement review decided"),
        EnforcementWithdrawn = ("enforcement_withdrawn", "Enforcement decision withdrawn"),
        MeasureRecorded = ("measure_recorded", "Outcome measure recorded"),
        RiskAlert = ("risk_alert", "Risk alert raised"),
        RiskAlertAcknowledged = ("risk_alert_acknowledged", "Risk alert acknowledged"),
        PractitionerReport = ("practitioner_report", "Practitioner report sent"),
        DrrAdded = ("drr_added", "DRR: requirement recorded"),
        DrrStatusChanged = ("drr_status_changed", "DRR: status changed"),
        DrrActivity = ("drr_activity", "DRR: activity recorded"),
        AtrAdded = ("atr_added", "ATR: requirement recorded"),
        AtrStatusChanged = ("atr_status_changed", "ATR: status changed"),
        AtrActivity = ("atr_activity", "ATR: activity recorded"),
        SignpostingRecorded = ("signposting_recorded", "Signposted to a service"),
        SignpostingUpdated = ("signposting_updated", "Signposting updated"),
        NoOnwardSupport = ("no_onward_support", "No onward support needed"),
        EndSummaryWritten = ("end_summary_written", "End-of-treatment summary written"),
        RecordRetained = ("record_retained", "Kept under the retention policy"),
        PersonalDataErased = ("personal_data_erased", "Personal data erased under the retention policy"),
    }
}

impl EventKind {
    /// Which part of the combined order the event is about: `drr`, `atr`, or `mhtr` for the
    /// treatment sessions.
    pub fn source(self) -> &'static str {
        match self {
            EventKind::DrrAdded | EventKind::DrrStatusChanged | EventKind::DrrActivity => "drr",
            EventKind::AtrAdded | EventKind::AtrStatusChanged | EventKind::AtrActivity => "atr",
            _ => "mhtr",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_service_cancellations_made_in_good_faith_are_replaced() {
        for r in CancelReason::ALL {
            assert_eq!(
                r.needs_replacement(),
                matches!(
                    r,
                    CancelReason::PractitionerUnavailable | CancelReason::PremisesUnavailable
                ),
                "{r}"
            );
        }
    }
}
