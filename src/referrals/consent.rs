//! Consent to share with criminal justice agencies, enforced rather than stored.
//!
//! A Liaison and Diversion practitioner asks the person, in custody or at court, whether what
//! the health services learn may be shared with criminal justice agencies. Where they say no,
//! or later withdraw, the health information of the referral (presenting needs,
//! vulnerabilities, substance misuse, GP practice, communication needs, the assessment
//! report, the outcome measures of the end-of-treatment summary) is withheld from probation.
//! What the order itself requires the responsible officer to hear (who the person is, where
//! the referral stands, attendance and compliance, risk and safeguarding) is still shared.
//!
//! The decision stands as the latest of: the answer given at referral; consent to the MHTR
//! recorded at assessment (which covers sharing the report with probation) or withdrawn;
//! consent to share given again or withdrawn, each an entry of the referral's timeline.

use diesel::prelude::*;

use crate::coded_enum;
use crate::db::DbConn;
use crate::db::schema::referral_status_history;
use crate::error::AppError;
use crate::referrals::codes::EntryPoint;
use crate::referrals::forms::ReferralDetails;
use crate::referrals::model::Referral;
use crate::referrals::state::Action;
use crate::users::model::Role;

coded_enum! {
    /// Where the person stands on sharing with criminal justice agencies.
    pub enum ShareConsent {
        Given = ("given", "Consents to sharing with criminal justice agencies"),
        NotGiven = ("not_given", "Did not consent to sharing with criminal justice agencies"),
        Withdrawn = ("withdrawn", "Withdrew consent to sharing with criminal justice agencies"),
    }
}

/// The answers withheld from criminal justice agencies without consent: health information
/// gathered for the referral.
pub const HEALTH: &[&str] = &[
    "gp_practice",
    "communication_needs",
    "vulnerabilities",
    "needs",
    "other_need",
    "substance_misuse",
];

/// What stands in for a health answer the person did not consent to share.
pub const WITHHELD: &str =
    "Withheld: the person has not consented to share this with criminal justice agencies";

/// The actions that record the person's decision, and what each makes of it.
const DECISIONS: &[(Action, ShareConsent)] = &[
    (Action::RecordConsent, ShareConsent::Given),
    (Action::WithdrawConsent, ShareConsent::Withdrawn),
    (Action::GiveShareConsent, ShareConsent::Given),
    (Action::WithdrawShareConsent, ShareConsent::Withdrawn),
];

/// The decision as the referral was made: an arrest referral answers the question; a
/// probation referral's answers came from probation itself.
pub fn at_referral(entry: EntryPoint, details: &ReferralDetails) -> ShareConsent {
    match (entry, details.consent_to_share) {
        (EntryPoint::Arrest, Some(false)) => ShareConsent::NotGiven,
        _ => ShareConsent::Given,
    }
}

/// The person's decision now: the latest recorded on the timeline, else the answer given at
/// referral. One read along the history's referral index.
pub fn current(c: &mut DbConn, r: &Referral) -> Result<ShareConsent, AppError> {
    let codes: Vec<&str> = DECISIONS.iter().map(|(a, _)| a.as_str()).collect();
    let latest: Option<Action> = referral_status_history::table
        .filter(referral_status_history::referral_id.eq(&r.id))
        .filter(referral_status_history::action.eq_any(codes))
        .order((
            referral_status_history::at.desc(),
            referral_status_history::id.desc(),
        ))
        .select(referral_status_history::action)
        .first(c)
        .optional()?;
    if let Some(a) = latest {
        let found = DECISIONS.iter().find(|(d, _)| *d == a);
        return Ok(found.map(|(_, s)| *s).unwrap_or(ShareConsent::Given));
    }
    let details: ReferralDetails = serde_json::from_str(&r.details).unwrap_or_default();
    Ok(at_referral(r.entry_point, &details))
}

/// Whether a criminal justice agency role is kept from the health information: probation
/// officers, unless the person consents.
pub fn withholds_health(role: Role, consent: ShareConsent) -> bool {
    role == Role::ProbationOfficer && consent != ShareConsent::Given
}

/// What a referral's answers hide from one viewer, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Withheld {
    /// Police-linked answers: the viewer's vetting does not clear them.
    pub police: bool,
    /// Health answers: the person has not consented to share them with the viewer.
    pub health: bool,
}

impl Withheld {
    pub fn any(self) -> bool {
        self.police || self.health
    }

    /// What stands in for `field`, when it is withheld.
    pub fn text(self, field: &str) -> Option<&'static str> {
        if self.police && crate::referrals::forms::POLICE_LINKED.contains(&field) {
            Some(crate::referrals::forms::WITHHELD)
        } else if self.health && HEALTH.contains(&field) {
            Some(WITHHELD)
        } else {
            None
        }
    }

    /// Every field withheld, in a stable order.
    pub fn fields(self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.police {
            out.extend_from_slice(crate::referrals::forms::POLICE_LINKED);
        }
        if self.health {
            out.extend_from_slice(HEALTH);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arrest_referral_without_consent_starts_withheld_and_a_probation_one_does_not() {
        let no = ReferralDetails {
            consent_to_share: Some(false),
            ..Default::default()
        };
        let yes = ReferralDetails {
            consent_to_share: Some(true),
            ..Default::default()
        };
        assert_eq!(at_referral(EntryPoint::Arrest, &no), ShareConsent::NotGiven);
        assert_eq!(at_referral(EntryPoint::Arrest, &yes), ShareConsent::Given);
        assert_eq!(
            at_referral(EntryPoint::Probation, &ReferralDetails::default()),
            ShareConsent::Given
        );
    }

    #[test]
    fn only_probation_is_kept_from_health_answers_and_only_without_consent() {
        for s in ShareConsent::ALL {
            for r in Role::ALL {
                let expected = *r == Role::ProbationOfficer && *s != ShareConsent::Given;
                assert_eq!(withholds_health(*r, *s), expected, "{r:?} {s:?}");
            }
        }
    }

    #[test]
    fn withheld_names_each_field_with_its_reason() {
        let w = Withheld {
            police: true,
            health: true,
        };
        assert_eq!(w.text("needs"), Some(WITHHELD));
        assert_eq!(w.text("pnc_id"), Some(crate::referrals::forms::WITHHELD));
        assert_eq!(w.text("given_name"), None);
        assert_eq!(Withheld::default().text("needs"), None);
        assert!(w.fields().contains(&"gp_practice") && w.fields().contains(&"rosh_level"));
        assert!(!Withheld::default().any());
    }
}
