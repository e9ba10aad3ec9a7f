//! The coded lists a referral is recorded with. Each is stored by its code and shown by its
//! label; the lists are closed so reports can count them.

use crate::coded_enum;

coded_enum! {
    /// How the person came to the pathway.
    pub enum EntryPoint {
        Arrest = ("arrest", "Point of arrest (Liaison and Diversion)"),
        Probation = ("probation", "Probation (pre-sentence report)"),
    }
}

coded_enum! {
    pub enum Sex {
        Female = ("female", "Female"),
        Male = ("male", "Male"),
        /// Only for records brought over from a system that never asked: never offered on
        /// the referral form, and counted as its own row in the reports.
        NotRecorded = ("not_recorded", "Not recorded"),
    }
}

coded_enum! {
    /// The ONS 2021 census question: is the gender you identify with the same as your sex
    /// registered at birth?
    pub enum GenderIdentity {
        SameAsSex = ("same_as_sex", "Same as sex registered at birth"),
        Different = ("different", "Different from sex registered at birth"),
        NotStated = ("not_stated", "Prefers not to say"),
        /// Only for records brought over from a system that never asked.
        NotRecorded = ("not_recorded", "Not recorded"),
    }
}

coded_enum! {
    /// ONS 2021 ethnic groups: the five broad groups.
    pub enum EthnicGroup {
        Asian = ("asian", "Asian or Asian British"),
        Black = ("black", "Black, Black British, Caribbean or African"),
        Mixed = ("mixed", "Mixed or multiple ethnic groups"),
        White = ("white", "White"),
        Other = ("other", "Other ethnic group"),
    }
}

coded_enum! {
    /// ONS 2021 ethnic groups: the 19 detailed categories.
    pub enum Ethnicity {
        Bangladeshi = ("asian_bangladeshi", "Asian: Bangladeshi"),
        Chinese = ("asian_chinese", "Asian: Chinese"),
        Indian = ("asian_indian", "Asian: Indian"),
        Pakistani = ("asian_pakistani", "Asian: Pakistani"),
        OtherAsian = ("asian_other", "Asian: any other Asian background"),
        African = ("black_african", "Black: African"),
        Caribbean = ("black_caribbean", "Black: Caribbean"),
        OtherBlack = ("black_other", "Black: any other Black, Black British or Caribbean background"),
        WhiteAndAsian = ("mixed_white_asian", "Mixed: White and Asian"),
        WhiteAndBlackAfrican = ("mixed_white_black_african", "Mixed: White and Black African"),
        WhiteAndBlackCaribbean = ("mixed_white_black_caribbean", "Mixed: White and Black Caribbean"),
        OtherMixed = ("mixed_other", "Mixed: any other mixed or multiple ethnic background"),
        British = ("white_british", "White: English, Welsh, Scottish, Northern Irish or British"),
        Irish = ("white_irish", "White: Irish"),
        GypsyOrIrishTraveller = ("white_gypsy_traveller", "White: Gypsy or Irish Traveller"),
        Roma = ("white_roma", "White: Roma"),
        OtherWhite = ("white_other", "White: any other White background"),
        Arab = ("other_arab", "Other: Arab"),
        AnyOther = ("other_any", "Other: any other ethnic group"),
    }
}

impl Ethnicity {
    /// The broad group the category belongs to.
    pub fn group(self) -> EthnicGroup {
        use Ethnicity::*;
        match self {
            Bangladeshi | Chinese | Indian | Pakistani | OtherAsian => EthnicGroup::Asian,
            African | Caribbean | OtherBlack => EthnicGroup::Black,
            WhiteAndAsian | WhiteAndBlackAfrican | WhiteAndBlackCaribbean | OtherMixed => {
                EthnicGroup::Mixed
            }
            British | Irish | GypsyOrIrishTraveller | Roma | OtherWhite => EthnicGroup::White,
            Arab | AnyOther => EthnicGroup::Other,
        }
    }
}

coded_enum! {
    /// Offence category only: the pathway keeps no conviction history. Home Office offence
    /// groups.
    pub enum OffenceCategory {
        ViolenceAgainstThePerson = ("violence", "Violence against the person"),
        SexualOffences = ("sexual", "Sexual offences"),
        Robbery = ("robbery", "Robbery"),
        TheftOffences = ("theft", "Theft offences"),
        CriminalDamageAndArson = ("criminal_damage", "Criminal damage and arson"),
        DrugOffences = ("drugs", "Drug offences"),
        PossessionOfWeapons = ("weapons", "Possession of weapons offences"),
        PublicOrder = ("public_order", "Public order offences"),
        Fraud = ("fraud", "Fraud offences"),
        Motoring = ("motoring", "Summary motoring offences"),
        Miscellaneous = ("miscellaneous", "Miscellaneous crimes against society"),
        Other = ("other", "Other offences"),
    }
}

coded_enum! {
    pub enum Urgency {
        Routine = ("routine", "Routine"),
        Urgent = ("urgent", "Urgent"),
    }
}

coded_enum! {
    /// Where Liaison and Diversion met the person.
    pub enum LocationKind {
        CustodySuite = ("custody_suite", "Police custody suite"),
        Court = ("court", "Court"),
    }
}

coded_enum! {
    /// Vulnerabilities screened by Liaison and Diversion.
    pub enum Vulnerability {
        MentalHealth = ("mental_health", "Mental health"),
        SelfHarm = ("self_harm", "Self-harm or suicide risk"),
        Neurodiversity = ("neurodiversity", "Learning disability, autism or ADHD"),
        SubstanceUse = ("substance_use", "Substance use"),
        Trauma = ("trauma", "Trauma, including domestic or sexual abuse"),
        Housing = ("housing", "Housing"),
        Debt = ("debt", "Debt"),
    }
}

coded_enum! {
    pub enum Need {
        Anxiety = ("anxiety", "Anxiety"),
        Depression = ("depression", "Depression"),
        Ptsd = ("ptsd", "Post-traumatic stress disorder (PTSD)"),
        Other = ("other", "Other"),
    }
}

coded_enum! {
    /// Drug Rehabilitation or Alcohol Treatment Requirement alongside the referral.
    pub enum DrrAtr {
        None = ("none", "Neither"),
        DrrProposed = ("drr_proposed", "DRR proposed"),
        DrrInPlace = ("drr_in_place", "DRR in place"),
        AtrProposed = ("atr_proposed", "ATR proposed"),
        AtrInPlace = ("atr_in_place", "ATR in place"),
    }
}

coded_enum! {
    /// Risk of serious harm level.
    pub enum Rosh {
        Low = ("low", "Low"),
        Medium = ("medium", "Medium"),
        High = ("high", "High"),
        VeryHigh = ("very_high", "Very high"),
    }
}

coded_enum! {
    pub enum SessionMode {
        InPerson = ("in_person", "In person"),
        Phone = ("phone", "Phone"),
        Video = ("video", "Video"),
    }
}

coded_enum! {
    pub enum OrderType {
        Community = ("co", "Community order"),
        Suspended = ("sso", "Suspended sentence order"),
    }
}

coded_enum! {
    /// Other treatment requirements made with the MHTR.
    pub enum CombinedWith {
        None = ("none", "MHTR alone"),
        Drr = ("drr", "With a DRR"),
        Atr = ("atr", "With an ATR"),
        DrrAndAtr = ("drr_and_atr", "With a DRR and an ATR"),
    }
}

coded_enum! {
    pub enum EndOutcome {
        /// Every planned session attended.
        Completed = ("completed", "Completed: every planned session attended"),
        /// Fewer sessions, on a clinical decision (with its reason) that treatment is done.
        CompletedEarly = ("completed_early", "Completed early by clinical decision"),
        EndedEarly = ("ended_early", "Ended early"),
    }
}

coded_enum! {
    /// Why treatment ended early.
    pub enum EndReason {
        Disengaged = ("disengaged", "Disengaged"),
        Breach = ("breach", "Breach"),
        Revoked = ("revoked", "Order revoked"),
        Resentenced = ("resentenced", "Re-sentenced"),
        Custody = ("custody", "Custody"),
        MovedArea = ("moved_area", "Moved area"),
        Unwell = ("unwell", "Too unwell to continue"),
        Died = ("died", "Died"),
        Other = ("other", "Other"),
    }
}

coded_enum! {
    /// What the court decided on the responsible officer's application (Sentencing Code
    /// sch. 10): the requirement amended or extended (the order goes on), or the order
    /// revoked, revoked with a new sentence, or revoked with custody (treatment ends).
    pub enum CourtOutcome {
        Amended = ("amended", "The requirement was amended"),
        Extended = ("extended", "The requirement was extended"),
        Revoked = ("revoked", "The order was revoked"),
        Resentenced = ("resentenced", "The order was revoked and the person re-sentenced"),
        Custody = ("custody", "The order was revoked with a custodial sentence"),
    }
}

impl CourtOutcome {
    /// The outcomes that leave the order running.
    pub const VARIATIONS: &'static [CourtOutcome] =
        &[CourtOutcome::Amended, CourtOutcome::Extended];
    /// The outcomes that end it.
    pub const ENDINGS: &'static [CourtOutcome] = &[
        CourtOutcome::Revoked,
        CourtOutcome::Resentenced,
        CourtOutcome::Custody,
    ];

    /// Why treatment ended, for an outcome that ends the order.
    pub fn end_reason(self) -> Option<EndReason> {
        match self {
            CourtOutcome::Revoked => Some(EndReason::Revoked),
            CourtOutcome::Resentenced => Some(EndReason::Resentenced),
            CourtOutcome::Custody => Some(EndReason::Custody),
            CourtOutcome::Amended | CourtOutcome::Extended => None,
        }
    }
}

coded_enum! {
    /// Why a referral was withdrawn before treatment.
    pub enum WithdrawalReason {
        PersonDeclined = ("person_declined", "The person no longer wants to take part"),
        ConsentWithdrawn = ("consent_withdrawn", "Consent withdrawn"),
        NoLongerEligible = ("not_eligible", "No longer eligible"),
        MovedArea = ("moved_area", "Moved area"),
        Custody = ("custody", "Remanded or sentenced to custody"),
        Duplicate = ("duplicate", "Duplicate referral"),
        Other = ("other", "Other"),
    }
}

/// `(code, label)` pairs of a coded list, for radios, selects and display.
#[macro_export]
macro_rules! code_pairs {
    ($ty:ty) => {
        <$ty>::ALL
            .iter()
            .map(|v| (v.as_str(), v.label()))
            .collect::<Vec<(&'static str, &'static str)>>()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_nineteen_ethnic_categories_in_five_groups() {
        assert_eq!(Ethnicity::ALL.len(), 19);
        for g in EthnicGroup::ALL {
            assert!(Ethnicity::ALL.iter().any(|e| e.group() == *g));
        }
        assert_eq!(
            Ethnicity::ALL
                .iter()
                .filter(|e| e.group() == EthnicGroup::White)
                .count(),
            5
        );
        assert_eq!(Ethnicity::Arab.group(), EthnicGroup::Other);
    }
}
