//! The coded lists of the directory and of signposting, stored by code and shown by label.

use crate::coded_enum;

coded_enum! {
    /// What kind of support a directory service gives.
    pub enum ServiceType {
        TalkingTherapies = ("talking_therapies", "NHS Talking Therapies"),
        CommunityMentalHealth = ("community_mental_health", "Community mental health team"),
        Gp = ("gp", "GP"),
        DrugAlcohol = ("drug_alcohol", "Drug and alcohol service"),
        Housing = ("housing", "Housing"),
        Employment = ("employment", "Employment, education and training"),
        Debt = ("debt", "Debt advice"),
        DomesticAbuse = ("domestic_abuse", "Domestic abuse service"),
        PeerSupport = ("peer_support", "Peer support"),
        Other = ("other", "Other"),
    }
}

coded_enum! {
    /// Where a signposting stands. A referral made waits for the service to accept or
    /// decline it, so it is not final.
    pub enum SignpostStatus {
        Suggested = ("suggested", "Suggested"),
        ReferralMade = ("referral_made", "Referral made"),
        Accepted = ("accepted", "Accepted"),
        Declined = ("declined", "Declined"),
        NotNeeded = ("not_needed", "Not needed"),
    }
}

impl SignpostStatus {
    /// Nothing more is expected: the service took the person on, or it will not.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SignpostStatus::Accepted | SignpostStatus::Declined | SignpostStatus::NotNeeded
        )
    }

    pub fn colour(self) -> &'static str {
        match self {
            SignpostStatus::Suggested => "grey",
            SignpostStatus::ReferralMade => "blue",
            SignpostStatus::Accepted => "green",
            SignpostStatus::Declined => "orange",
            SignpostStatus::NotNeeded => "yellow",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_referral_made_is_not_final_but_an_answer_is() {
        let finals: Vec<_> = SignpostStatus::ALL
            .iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                &SignpostStatus::Accepted,
                &SignpostStatus::Declined,
                &SignpostStatus::NotNeeded
            ]
        );
    }
}
