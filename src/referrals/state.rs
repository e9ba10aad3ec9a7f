//! The referral state machine, pure: the statuses a referral moves through, the actions that
//! move it, and which role may take which action from which status. No database, no HTTP:
//! the service asks [`check`] before it changes anything.

use crate::coded_enum;
use crate::users::model::Role;

coded_enum! {
    /// Where a referral stands on the pathway.
    pub enum Status {
        Submitted = ("submitted", "Submitted"),
        Accepted = ("accepted", "Accepted at screening"),
        Declined = ("declined", "Declined at screening"),
        AssessmentBooked = ("assessment_booked", "Assessment booked"),
        Assessed = ("assessed", "Assessed"),
        Suitable = ("suitable", "Suitable"),
        NotSuitable = ("not_suitable", "Not suitable"),
        ConsentRecorded = ("consent_recorded", "Consent recorded"),
        ReportSent = ("report_sent", "Report sent to probation"),
        AwaitingSentence = ("awaiting_sentence", "Awaiting sentence"),
        Adjourned = ("adjourned", "Adjourned"),
        MhtrMade = ("mhtr_made", "MHTR made"),
        MhtrNotMade = ("mhtr_not_made", "MHTR not made"),
        Inducted = ("inducted", "Inducted"),
        Allocated = ("allocated", "Allocated"),
        InTreatment = ("in_treatment", "In treatment"),
        Ended = ("ended", "Treatment ended"),
        Closed = ("closed", "Closed"),
        Withdrawn = ("withdrawn", "Withdrawn"),
    }
}

coded_enum! {
    /// Something a person does to a referral.
    pub enum Action {
        /// Recorded when a referral is made; never a transition.
        Submit = ("submit", "Submit referral"),
        Accept = ("accept", "Accept at screening"),
        Decline = ("decline", "Decline at screening"),
        BookAssessment = ("book_assessment", "Book assessment"),
        RecordAssessment = ("record_assessment", "Record assessment"),
        RecordSuitable = ("record_suitable", "Record as suitable"),
        RecordNotSuitable = ("record_not_suitable", "Record as not suitable"),
        RecordConsent = ("record_consent", "Record consent"),
        WithdrawConsent = ("withdraw_consent", "Record consent withdrawn"),
        SendReport = ("send_report", "Record report sent to probation"),
        AwaitSentence = ("await_sentence", "Record sentencing hearing"),
        RecordMhtrMade = ("record_mhtr_made", "Record MHTR made"),
        RecordMhtrNotMade = ("record_mhtr_not_made", "Record MHTR not made"),
        RecordAdjourned = ("record_adjourned", "Record adjournment"),
        RecordInduction = ("record_induction", "Record induction"),
        AllocateAp = ("allocate_ap", "Allocate an assistant psychologist"),
        StartTreatment = ("start_treatment", "Record first session"),
        EndTreatment = ("end_treatment", "End treatment"),
        Close = ("close", "Close"),
        Withdraw = ("withdraw", "Withdraw referral"),
        TakeOver = ("take_over", "Take over as responsible officer"),
        HandOver = ("hand_over", "Hand over to another officer"),
        VaryOrder = ("vary_order", "Record the court varying the order"),
        EndOrder = ("end_order", "Record the court ending the order"),
        /// The person consents (again) to their information being shared with criminal
        /// justice agencies; the status stays where it is.
        GiveShareConsent = ("give_share_consent", "Record consent to share given"),
        /// The person withdraws their consent to share with criminal justice agencies: what
        /// was consented for is withheld from probation from then on.
        WithdrawShareConsent = ("withdraw_share_consent", "Record consent to share withdrawn"),
    }
}

use Action as A;
use Role as R;
use Status as S;

impl Status {
    /// Whether the referral waits on the clinical leads of its area as a team: to screen it,
    /// book its assessment, decide suitability, send the report, allocate an assistant
    /// psychologist or close it (a step of [`Action::LEAD_STEPS`] applies). Such a referral
    /// is the area's clinical leads' own work, so opening it needs no reason (it is still
    /// recorded). One whose assessment is booked, or which is allocated or in treatment, is
    /// its assistant psychologist's, even though a lead may book or allocate it again.
    pub fn awaits_clinical_lead(self) -> bool {
        !matches!(self, S::AssessmentBooked | S::Allocated | S::InTreatment)
            && Action::LEAD_STEPS.iter().any(|a| a.target(self).is_some())
    }

    /// Nothing more happens to the referral.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            S::Declined | S::NotSuitable | S::MhtrNotMade | S::Closed | S::Withdrawn
        )
    }

    /// Before treatment starts: a referral may still be withdrawn.
    pub fn is_pre_treatment(self) -> bool {
        matches!(
            self,
            S::Submitted
                | S::Accepted
                | S::AssessmentBooked
                | S::Assessed
                | S::Suitable
                | S::ConsentRecorded
                | S::ReportSent
                | S::AwaitingSentence
                | S::Adjourned
                | S::MhtrMade
                | S::Inducted
                | S::Allocated
        )
    }

    /// An MHTR has been made and is running: from sentence to the end of treatment.
    pub fn has_order(self) -> bool {
        matches!(
            self,
            S::MhtrMade | S::Inducted | S::Allocated | S::InTreatment
        )
    }

    /// The tab of the case list a referral in this status appears under.
    pub fn tab(self) -> Tab {
        match self {
            S::Submitted | S::Accepted => Tab::New,
            S::AssessmentBooked
            | S::Assessed
            | S::Suitable
            | S::ConsentRecorded
            | S::ReportSent => Tab::InAssessment,
            S::AwaitingSentence | S::Adjourned => Tab::AwaitingSentence,
            S::MhtrMade | S::Inducted | S::Allocated => Tab::WaitingForFirstSession,
            S::InTreatment => Tab::InTreatment,
            S::Ended | S::Closed | S::Declined | S::NotSuitable | S::MhtrNotMade | S::Withdrawn => {
                Tab::Ended
            }
        }
    }

    /// GOV.UK tag colour for the status.
    pub fn colour(self) -> &'static str {
        match self.tab() {
            Tab::New => "blue",
            Tab::InAssessment => "light-blue",
            Tab::AwaitingSentence => "yellow",
            Tab::WaitingForFirstSession => "orange",
            Tab::InTreatment => "green",
            Tab::Ended => "grey",
        }
    }
}

coded_enum! {
    /// The tabs of the case list.
    pub enum Tab {
        New = ("new", "New"),
        InAssessment = ("in_assessment", "In assessment"),
        AwaitingSentence = ("awaiting_sentence", "Awaiting sentence"),
        WaitingForFirstSession = ("waiting", "Waiting for first session"),
        InTreatment = ("in_treatment", "In treatment"),
        Ended = ("ended", "Ended"),
    }
}

impl Tab {
    pub fn statuses(self) -> Vec<Status> {
        Status::ALL
            .iter()
            .copied()
            .filter(|s| s.tab() == self)
            .collect()
    }
}

impl Action {
    /// The steps that are the clinical leads' decisions: screening, booking the
    /// assessment, suitability, the report to probation, allocation and closing.
    pub const LEAD_STEPS: &[Action] = &[
        A::Accept,
        A::Decline,
        A::BookAssessment,
        A::RecordSuitable,
        A::RecordNotSuitable,
        A::SendReport,
        A::AllocateAp,
        A::Close,
    ];

    /// Whether a user takes the action themselves. Treatment starts when the first session is
    /// recorded as attended, never by itself: a referral started by hand could never have
    /// sessions.
    pub fn by_hand(self) -> bool {
        self != A::StartTreatment
    }

    /// The roles that may take the action. Administrators and councillors take none.
    pub fn roles(self) -> &'static [Role] {
        match self {
            A::Submit => &[R::ProbationOfficer, R::LiaisonDiversion],
            A::Accept | A::Decline => &[R::ClinicalLead],
            A::BookAssessment => &[R::ClinicalLead, R::AssistantPsychologist],
            A::RecordAssessment => &[R::AssistantPsychologist],
            A::RecordSuitable | A::RecordNotSuitable => &[R::ClinicalLead],
            A::RecordConsent | A::WithdrawConsent => &[R::ClinicalLead, R::AssistantPsychologist],
            A::SendReport => &[R::ClinicalLead],
            A::AwaitSentence => &[R::ProbationOfficer],
            A::RecordMhtrMade | A::RecordMhtrNotMade | A::RecordAdjourned => &[R::ProbationOfficer],
            A::RecordInduction => &[R::ProbationOfficer],
            A::AllocateAp => &[R::ClinicalLead],
            A::StartTreatment => &[R::AssistantPsychologist, R::ClinicalLead],
            A::EndTreatment => &[R::ClinicalLead, R::AssistantPsychologist],
            A::Close => &[R::ClinicalLead],
            A::Withdraw => &[R::ProbationOfficer, R::ClinicalLead],
            A::TakeOver | A::HandOver => &[R::ProbationOfficer],
            // The responsible officer applies to the court and records its decision.
            A::VaryOrder | A::EndOrder => &[R::ProbationOfficer],
            // The health side records the person's decision: the practitioner who took the
            // consent in custody or at court, or the treating service.
            A::GiveShareConsent | A::WithdrawShareConsent => &[
                R::LiaisonDiversion,
                R::ClinicalLead,
                R::AssistantPsychologist,
            ],
        }
    }

    /// The status the action leads to from `from`, if the action can be taken there at all.
    pub fn target(self, from: Status) -> Option<Status> {
        let to = match (self, from) {
            (A::Accept, S::Submitted) => S::Accepted,
            (A::Decline, S::Submitted) => S::Declined,
            (A::BookAssessment, S::Accepted | S::AssessmentBooked) => S::AssessmentBooked,
            (A::RecordAssessment, S::AssessmentBooked) => S::Assessed,
            (A::RecordSuitable, S::Assessed) => S::Suitable,
            (A::RecordNotSuitable, S::Assessed) => S::NotSuitable,
            (A::RecordConsent, S::Suitable) => S::ConsentRecorded,
            (
                A::WithdrawConsent,
                S::ConsentRecorded | S::ReportSent | S::AwaitingSentence | S::Adjourned,
            ) => S::Withdrawn,
            (A::SendReport, S::ConsentRecorded) => S::ReportSent,
            (A::AwaitSentence, S::ReportSent) => S::AwaitingSentence,
            (A::RecordMhtrMade, S::AwaitingSentence | S::Adjourned) => S::MhtrMade,
            (A::RecordMhtrNotMade, S::AwaitingSentence | S::Adjourned) => S::MhtrNotMade,
            (A::RecordAdjourned, S::AwaitingSentence | S::Adjourned) => S::Adjourned,
            (A::RecordInduction, S::MhtrMade) => S::Inducted,
            (A::AllocateAp, S::Inducted | S::Allocated) => S::Allocated,
            // Another assistant psychologist takes over treatment under way.
            (A::AllocateAp, S::InTreatment) => S::InTreatment,
            (A::StartTreatment, S::Allocated) => S::InTreatment,
            (A::EndTreatment, S::InTreatment) => S::Ended,
            (A::Close, S::Ended) => S::Closed,
            (A::Withdraw, s) if s.is_pre_treatment() => S::Withdrawn,
            // Taking over or handing over changes who holds the referral, not where it stands.
            (A::TakeOver | A::HandOver, s) if !s.is_final() => s,
            // A variation keeps the order where it stands; revocation ends it.
            (A::VaryOrder, s) if s.has_order() => s,
            (A::EndOrder, s) if s.has_order() => S::Ended,
            // Consent to share changes what probation sees, not where the referral stands.
            (A::GiveShareConsent | A::WithdrawShareConsent, s) if !s.is_final() => s,
            _ => return None,
        };
        Some(to)
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The user's role may never take this action.
    WrongRole,
    /// The action does not apply to a referral in this status.
    NotNow,
}

impl Refusal {
    pub fn message(self, action: Action, status: Status) -> String {
        match self {
            Refusal::WrongRole => format!(
                "Your role cannot {}",
                action.label().to_lowercase().replace("mhtr", "MHTR")
            ),
            Refusal::NotNow => format!(
                "You cannot {} when the referral is {}",
                action.label().to_lowercase().replace("mhtr", "MHTR"),
                status.label().to_lowercase().replace("mhtr", "MHTR")
            ),
        }
    }
}

/// Whether `role` may take `action` on a referral in `from`, and the status it then reaches.
pub fn check(role: Role, action: Action, from: Status) -> Result<Status, Refusal> {
    if !action.roles().contains(&role) {
        return Err(Refusal::WrongRole);
    }
    action.target(from).ok_or(Refusal::NotNow)
}

/// The actions `role` may take on a referral in `status`, in pathway order.
pub fn available(role: Role, status: Status) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| a.by_hand() && check(role, *a, status).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, VecDeque};

    #[test]
    fn the_full_pathway_runs_with_the_right_roles() {
        let steps = [
            (R::ClinicalLead, A::Accept, S::Accepted),
            (R::ClinicalLead, A::BookAssessment, S::AssessmentBooked),
            (R::AssistantPsychologist, A::RecordAssessment, S::Assessed),
            (R::ClinicalLead, A::RecordSuitable, S::Suitable),
            (
                R::AssistantPsychologist,
                A::RecordConsent,
                S::ConsentRecorded,
            ),
            (R::ClinicalLead, A::SendReport, S::ReportSent),
            (R::ProbationOfficer, A::AwaitSentence, S::AwaitingSentence),
            (R::ProbationOfficer, A::RecordAdjourned, S::Adjourned),
            (R::ProbationOfficer, A::RecordMhtrMade, S::MhtrMade),
            (R::ProbationOfficer, A::RecordInduction, S::Inducted),
            (R::ClinicalLead, A::AllocateAp, S::Allocated),
            (R::AssistantPsychologist, A::StartTreatment, S::InTreatment),
            (R::AssistantPsychologist, A::EndTreatment, S::Ended),
            (R::ClinicalLead, A::Close, S::Closed),
        ];
        let mut s = S::Submitted;
        for (role, action, expected) in steps {
            s = check(role, action, s).unwrap_or_else(|e| panic!("{action} refused: {e:?}"));
            assert_eq!(s, expected);
        }
    }

    #[test]
    fn out_of_role_and_out_of_order_actions_are_refused() {
        assert_eq!(
            check(R::ProbationOfficer, A::Accept, S::Submitted),
            Err(Refusal::WrongRole)
        );
        assert_eq!(
            check(R::ClinicalLead, A::RecordMhtrMade, S::AwaitingSentence),
            Err(Refusal::WrongRole)
        );
        assert_eq!(
            check(R::ClinicalLead, A::SendReport, S::Submitted),
            Err(Refusal::NotNow)
        );
        assert_eq!(
            check(R::ProbationOfficer, A::Withdraw, S::InTreatment),
            Err(Refusal::NotNow)
        );
        assert_eq!(
            check(R::ClinicalLead, A::Close, S::Closed),
            Err(Refusal::NotNow)
        );
    }

    #[test]
    fn refusal_messages_read_plainly() {
        assert_eq!(
            Refusal::NotNow.message(A::SendReport, S::Submitted),
            "You cannot record report sent to probation when the referral is submitted"
        );
        assert_eq!(
            Refusal::WrongRole.message(A::RecordMhtrMade, S::AwaitingSentence),
            "Your role cannot record MHTR made"
        );
    }

    #[test]
    fn every_status_is_reachable_from_submitted() {
        let mut seen = BTreeSet::from([S::Submitted]);
        let mut queue = VecDeque::from([S::Submitted]);
        while let Some(s) = queue.pop_front() {
            // By users' actions and the service's own (treatment starts with a session).
            for role in Role::ALL {
                for a in Action::ALL {
                    let Ok(to) = check(*role, *a, s) else {
                        continue;
                    };
                    if seen.insert(to) {
                        queue.push_back(to);
                    }
                }
            }
        }
        assert_eq!(seen.len(), Status::ALL.len());
    }

    #[test]
    fn every_status_has_exactly_one_tab() {
        let total: usize = Tab::ALL.iter().map(|t| t.statuses().len()).sum();
        assert_eq!(total, Status::ALL.len());
    }

    fn any_role() -> impl Strategy<Value = Role> {
        proptest::sample::select(Role::ALL.to_vec())
    }
    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(Action::ALL.to_vec())
    }
    fn any_status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn admins_and_councillors_never_move_a_referral(a in any_action(), s in any_status()) {
            prop_assert!(check(R::Admin, a, s).is_err());
            prop_assert!(check(R::Councillor, a, s).is_err());
        }

        #[test]
        fn final_statuses_are_left_by_nothing(role in any_role(), a in any_action(), s in any_status()) {
            if s.is_final() {
                prop_assert!(check(role, a, s).is_err());
            }
        }

        #[test]
        fn an_allowed_action_is_one_the_role_holds(role in any_role(), a in any_action(), s in any_status()) {
            if check(role, a, s).is_ok() {
                prop_assert!(a.roles().contains(&role));
                prop_assert_eq!(available(role, s).contains(&a), a.by_hand());
            }
        }

        #[test]
        fn random_walks_never_go_backwards_past_treatment(
            moves in proptest::collection::vec((any_role(), any_action()), 0..60)
        ) {
            let mut s = S::Submitted;
            let mut treated = false;
            for (role, a) in moves {
                if let Ok(to) = check(role, a, s) {
                    s = to;
                }
                treated |= matches!(s, S::InTreatment | S::Ended | S::Closed);
                if treated {
                    prop_assert!(matches!(s, S::InTreatment | S::Ended | S::Closed));
                }
            }
        }

        #[test]
        fn withdrawal_happens_only_before_treatment(role in any_role(), s in any_status()) {
            if let Ok(to) = check(role, A::Withdraw, s) {
                prop_assert_eq!(to, S::Withdrawn);
                prop_assert!(s.is_pre_treatment());
            }
        }
    }

    #[test]
    fn what_awaits_the_clinical_leads_is_their_own_decision() {
        let waiting: Vec<Status> = Status::ALL
            .iter()
            .copied()
            .filter(|s| s.awaits_clinical_lead())
            .collect();
        assert_eq!(
            waiting,
            [
                S::Submitted,
                S::Accepted,
                S::Assessed,
                S::ConsentRecorded,
                S::Inducted,
                S::Ended
            ]
        );
        for a in Action::LEAD_STEPS {
            assert!(a.roles().contains(&R::ClinicalLead), "{a:?}");
        }
    }
}
