//! The checked input of each action that moves a referral along, and what each action asks for.

use crate::error::FieldErrors;
use crate::form::{RawForm, choice, text};
use crate::referrals::state::Action;
use chrono::NaiveDate;

use super::*;

/// The checked input of one action on a referral.
#[derive(Debug, Clone, Default)]
pub struct TransitionInput {
    pub version: i64,
    pub date: Option<NaiveDate>,
    pub text: Option<String>,
    /// The assessor, assistant psychologist or treatment director chosen.
    pub user_id: Option<String>,
    pub order_type: Option<OrderType>,
    pub sentence_date: Option<NaiveDate>,
    pub requirement_end_date: Option<NaiveDate>,
    pub court: Option<String>,
    pub combined_with: Option<CombinedWith>,
    pub end_outcome: Option<EndOutcome>,
    pub end_reason: Option<EndReason>,
    pub withdrawal_reason: Option<WithdrawalReason>,
    /// What the court decided on a variation or revocation.
    pub court_outcome: Option<CourtOutcome>,
    /// The assessment and suitability report sent to probation.
    pub report: Option<AssessmentReport>,
    /// Accepting at screening and booking the assessment at one sitting: its date and the
    /// assistant psychologist who will assess.
    pub book_assessment: Option<(NaiveDate, String)>,
}

/// What the assessment and suitability report says, for the responsible officer's
/// pre-sentence report: the formulation, the recommendation to the court, and the treatment
/// proposed (when it would start, how many sessions, how they are held).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AssessmentReport {
    pub formulation: String,
    pub recommendation: String,
    pub proposed_start: NaiveDate,
    pub proposed_sessions: u32,
    pub proposed_mode: crate::sessions::codes::Mode,
}

/// The date an action asks for: field name, what it is called, and whether it may be in
/// the future.
pub fn action_date(action: Action) -> Option<(&'static str, &'static str, bool)> {
    use Action::*;
    Some(match action {
        BookAssessment => ("assessment_date", "assessment date", true),
        RecordAssessment => ("assessment_date", "assessment date", false),
        RecordConsent => ("consent_date", "date consent was given", false),
        SendReport => ("report_date", "date the report was sent", false),
        AwaitSentence => ("hearing_date", "sentencing hearing date", true),
        RecordAdjourned => ("hearing_date", "new hearing date", true),
        RecordInduction => ("induction_date", "induction date", false),
        StartTreatment => ("first_session_date", "first session date", false),
        EndTreatment => ("end_date", "date treatment ended", false),
        VaryOrder | EndOrder => ("decision_date", "date of the court's decision", false),
        GiveShareConsent | WithdrawShareConsent => {
            ("decision_date", "date the person told you", false)
        }
        _ => return None,
    })
}

/// The free text an action asks for: field name, label, and the message when it is
/// required but missing.
pub fn action_text(action: Action) -> Option<(&'static str, &'static str, Option<&'static str>)> {
    use Action::*;
    Some(match action {
        Decline => (
            "reason",
            "Reason for declining",
            Some("Enter the reason for declining the referral"),
        ),
        RecordNotSuitable => (
            "reason",
            "Why the person is not suitable",
            Some("Enter why the person is not suitable"),
        ),
        WithdrawConsent | RecordMhtrNotMade | Withdraw | Accept | Close | VaryOrder | EndOrder
        | GiveShareConsent => ("note", "Note (optional)", None),
        WithdrawShareConsent => ("note", "How the person withdrew it (optional)", None),
        EndTreatment => (
            "note",
            "Note (if treatment is complete early, the clinical reason)",
            None,
        ),
        _ => return None,
    })
}

/// The person an action asks to choose: field name and label.
pub fn action_user(action: Action) -> Option<(&'static str, &'static str)> {
    use Action::*;
    Some(match action {
        BookAssessment => ("assessor_id", "Assistant psychologist who will assess"),
        AllocateAp => ("ap_id", "Assistant psychologist"),
        RecordMhtrMade => ("treatment_director_id", "Treatment director"),
        HandOver => ("officer_id", "Probation officer who will hold it"),
        _ => return None,
    })
}

/// Parses the form (or JSON) of one action. `today` bounds dates that cannot be in the
/// future.
pub fn parse_transition(
    action: Action,
    raw: &RawForm,
    today: NaiveDate,
) -> Result<TransitionInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let mut t = TransitionInput {
        version: raw.get("version").trim().parse().unwrap_or(-1),
        ..Default::default()
    };
    if t.version < 0 {
        e.add(
            "version",
            "The referral version is missing: reload the page and try again",
        );
    }
    if let Some((name, what, future_ok)) = action_date(action) {
        match raw.date(name, what) {
            Ok(d) if !future_ok && d > today => {
                e.add(name, format!("The {what} must be today or in the past"))
            }
            Ok(d) => t.date = Some(d),
            Err(m) => e.add(name, m),
        }
    }
    if let Some((name, label, required)) = action_text(action) {
        t.text = text(raw, &mut e, name, label, required, 2000);
    }
    if let Some((name, _)) = action_user(action) {
        let v = raw.get(name).trim();
        if v.is_empty() {
            // An assistant psychologist booking their own assessment need not name themselves.
            if action != Action::BookAssessment {
                e.add(
                    name,
                    format!(
                        "Select the {}",
                        match action {
                            Action::RecordMhtrMade => "treatment director",
                            Action::HandOver => "probation officer who will hold it",
                            _ => "assistant psychologist",
                        }
                    ),
                );
            }
        } else {
            t.user_id = Some(v.to_owned());
        }
    }
    match action {
        Action::Accept => {
            // Booking the assessment too is optional; begun, it needs both parts.
            let assessor = raw.get("assessor_id").trim();
            let dated = raw.date_given("assessment_date");
            if dated || !assessor.is_empty() {
                let date = raw
                    .date("assessment_date", "assessment date")
                    .map_err(|m| e.add("assessment_date", m))
                    .ok();
                if assessor.is_empty() {
                    e.add(
                        "assessor_id",
                        "Select the assistant psychologist who will assess, or leave the assessment date blank to book it later",
                    );
                }
                if let Some(d) = date
                    && !assessor.is_empty()
                {
                    t.book_assessment = Some((d, assessor.to_owned()));
                }
            }
        }
        Action::SendReport => {
            let formulation = text(
                raw,
                &mut e,
                "formulation",
                "The formulation",
                Some(
                    "Enter the formulation: what keeps the person's difficulties going and how treatment would help",
                ),
                4000,
            );
            let recommendation = text(
                raw,
                &mut e,
                "recommendation",
                "The recommendation",
                Some("Enter the recommendation to the court"),
                1000,
            );
            let proposed_start = match raw.date("proposed_start_date", "proposed start date") {
                Ok(d) if t.date.is_some_and(|sent| d < sent) => {
                    e.add(
                        "proposed_start_date",
                        "The proposed start date must be on or after the day the report is sent",
                    );
                    None
                }
                Ok(d) => Some(d),
                Err(m) => {
                    e.add("proposed_start_date", m);
                    None
                }
            };
            let proposed_sessions = match raw.get("proposed_sessions").trim().parse::<u32>() {
                Ok(n) if (1..=24).contains(&n) => Some(n),
                _ => {
                    e.add(
                        "proposed_sessions",
                        "Enter the number of sessions proposed, from 1 to 24",
                    );
                    None
                }
            };
            let proposed_mode = choice(
                raw,
                &mut e,
                "proposed_mode",
                "Select how the sessions would be held",
            );
            if let (Some(formulation), Some(recommendation), Some(start), Some(n), Some(mode)) = (
                formulation,
                recommendation,
                proposed_start,
                proposed_sessions,
                proposed_mode,
            ) {
                t.report = Some(AssessmentReport {
                    formulation,
                    recommendation,
                    proposed_start: start,
                    proposed_sessions: n,
                    proposed_mode: mode,
                });
            }
        }
        Action::RecordMhtrMade => {
            t.order_type = choice(raw, &mut e, "order_type", "Select the type of order");
            t.sentence_date = match raw.date("sentence_date", "sentence date") {
                Ok(d) if d > today => {
                    e.add(
                        "sentence_date",
                        "The sentence date must be today or in the past",
                    );
                    None
                }
                Ok(d) => Some(d),
                Err(m) => {
                    e.add("sentence_date", m);
                    None
                }
            };
            t.requirement_end_date = match raw.date("requirement_end_date", "requirement end date")
            {
                Ok(d) if t.sentence_date.is_some_and(|s| d <= s) => {
                    e.add(
                        "requirement_end_date",
                        "The requirement end date must be after the sentence date",
                    );
                    None
                }
                Ok(d) => Some(d),
                Err(m) => {
                    e.add("requirement_end_date", m);
                    None
                }
            };
            t.court = text(
                raw,
                &mut e,
                "court",
                "Court",
                Some("Enter the court that made the order"),
                200,
            );
            t.combined_with = choice(
                raw,
                &mut e,
                "combined_with",
                "Select whether the MHTR was made with a DRR or ATR",
            );
        }
        Action::EndTreatment => {
            t.end_outcome = choice(
                raw,
                &mut e,
                "end_outcome",
                "Select whether treatment was completed or ended early",
            );
            if t.end_outcome == Some(EndOutcome::EndedEarly) {
                t.end_reason = choice(
                    raw,
                    &mut e,
                    "end_reason",
                    "Select why treatment ended early",
                );
            }
            if t.end_outcome == Some(EndOutcome::CompletedEarly) && t.text.is_none() {
                e.add(
                    "note",
                    "Give the clinical reason treatment is complete before every planned session",
                );
            }
        }
        Action::VaryOrder | Action::EndOrder => {
            let allowed = if action == Action::VaryOrder {
                CourtOutcome::VARIATIONS
            } else {
                CourtOutcome::ENDINGS
            };
            t.court_outcome = choice::<CourtOutcome>(
                raw,
                &mut e,
                "court_outcome",
                "Select what the court decided",
            )
            .filter(|o| allowed.contains(o));
            if t.court_outcome.is_none() && e.get("court_outcome").is_none() {
                e.add("court_outcome", "Select what the court decided");
            }
            let given = raw.date_given("requirement_end_date");
            if action == Action::VaryOrder
                && (given || t.court_outcome == Some(CourtOutcome::Extended))
            {
                match raw.date("requirement_end_date", "new date the requirement ends") {
                    Ok(d) => t.requirement_end_date = Some(d),
                    Err(m) => e.add("requirement_end_date", m),
                }
            }
        }
        Action::Withdraw => {
            t.withdrawal_reason = choice(
                raw,
                &mut e,
                "withdrawal_reason",
                "Select why the referral is withdrawn",
            );
            if t.withdrawal_reason == Some(WithdrawalReason::Other) && t.text.is_none() {
                e.add("note", "Describe why the referral is withdrawn");
            }
        }
        _ => {}
    }
    if e.is_empty() { Ok(t) } else { Err(e) }
}
