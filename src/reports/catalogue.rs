//! The uptake report's catalogue: every count the report tallies ([`Count`], one typed key
//! per count, as stored in the report cube), the funnel and rate rows with their labels and
//! which way is better, the equality breakdowns, and which indicators can take a target and
//! in what unit. It depends on nothing but the trend's polarity, so the settings can check
//! configured targets without the report itself.

use std::str::FromStr;

use serde::Deserialize;

use crate::reports::trend::Polarity;
use crate::signposting::codes::ServiceType;

macro_rules! counts {
    ($($v:ident = $s:literal,)*) => {
        /// One count of the report: a referral adds to it (or a session, for the session
        /// counts). The name is how it is stored in the report cube and shown as a row key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Count {
            $($v,)*
        }

        impl Count {
            pub const ALL: &[Count] = &[$(Count::$v,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Count::$v => $s,)*
                }
            }
        }

        impl FromStr for Count {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok(Count::$v),)*
                    _ => Err(format!("{s} is not a count of the uptake report")),
                }
            }
        }
    };
}

counts! {
    Referred = "referred",
    ReferredArrest = "referred_arrest",
    ReferredProbation = "referred_probation",
    Screened = "screened",
    Accepted = "accepted",
    Assessed = "assessed",
    Suitable = "suitable",
    Consented = "consented",
    OrderMade = "order_made",
    OrderArrest = "order_arrest",
    OrderProbation = "order_probation",
    OrderAlone = "order_alone",
    OrderDrr = "order_drr",
    OrderAtr = "order_atr",
    OrderBoth = "order_both",
    Started = "started",
    Completed = "completed",
    CompletedEarly = "completed_early",
    EndedEarly = "ended_early",
    Signposted = "signposted",
    SignpostedTalkingTherapies = "signposted_talking_therapies",
    SignpostedCommunityMentalHealth = "signposted_community_mental_health",
    SignpostedGp = "signposted_gp",
    SignpostedDrugAlcohol = "signposted_drug_alcohol",
    SignpostedHousing = "signposted_housing",
    SignpostedEmployment = "signposted_employment",
    SignpostedDebt = "signposted_debt",
    SignpostedDomesticAbuse = "signposted_domestic_abuse",
    SignpostedPeerSupport = "signposted_peer_support",
    SignpostedOther = "signposted_other",
    SentencedNotStarted = "sentenced_not_started",
    Missed = "missed",
    Offered = "offered",
    Phq9PairsCompleters = "phq9_pairs_completers",
    Phq9Pairs = "phq9_pairs",
    Phq9Improved = "phq9_improved",
    Gad7Pairs = "gad7_pairs",
    Gad7Improved = "gad7_improved",
    Core10Pairs = "core10_pairs",
    Core10Improved = "core10_improved",
    Finished = "finished",
    FinishedPaired = "finished_paired",
    RecoveryBase = "recovery_base",
    Recovered = "recovered",
    ReliablyRecovered = "reliably_recovered",
    ReliablyImproved = "reliably_improved",
    ReliablyDeteriorated = "reliably_deteriorated",
    SexFemale = "sex_female",
    SexMale = "sex_male",
    SexNotRecorded = "sex_not_recorded",
    EthAsian = "eth_asian",
    EthBlack = "eth_black",
    EthMixed = "eth_mixed",
    EthWhite = "eth_white",
    EthOther = "eth_other",
    EthNotStated = "eth_not_stated",
    Age1824 = "age_18_24",
    Age2534 = "age_25_34",
    Age3544 = "age_35_44",
    Age4554 = "age_45_54",
    Age5564 = "age_55_64",
    Age65 = "age_65",
}

/// A target for one indicator, in the indicator's own unit: a fraction for a rate (0.6 is
/// 60%), days for a wait, a number for a count. Within `amber_within` of the target on the
/// wrong side is "near target".
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub target: f64,
    #[serde(default)]
    pub amber_within: f64,
}

/// One indicator: what it is, how to read a change, and which counts it is built from.
pub struct Indicator {
    pub key: &'static str,
    pub label: &'static str,
    pub polarity: Polarity,
    pub kind: Kind,
}

#[derive(Clone, Copy)]
pub enum Kind {
    Count,
    /// numerator / denominator, as a percentage.
    Rate(&'static str, &'static str),
}

macro_rules! count {
    ($key:literal, $label:literal, $pol:ident) => {
        Indicator {
            key: $key,
            label: $label,
            polarity: Polarity::$pol,
            kind: Kind::Count,
        }
    };
}

macro_rules! rate {
    ($key:literal, $label:literal, $pol:ident, $num:literal, $den:literal) => {
        Indicator {
            key: $key,
            label: $label,
            polarity: Polarity::$pol,
            kind: Kind::Rate($num, $den),
        }
    };
}

/// The funnel, in pathway order.
pub const FUNNEL: &[Indicator] = &[
    count!("referred", "Referrals made", HigherIsBetter),
    count!("referred_arrest", "  at the point of arrest", Neutral),
    count!("referred_probation", "  at the pre-sentence stage", Neutral),
    count!("screened", "Screened", HigherIsBetter),
    count!("accepted", "Accepted at screening", HigherIsBetter),
    count!("assessed", "Assessed", HigherIsBetter),
    count!("suitable", "Found suitable", HigherIsBetter),
    count!("consented", "Consented", HigherIsBetter),
    count!("order_made", "MHTR made", HigherIsBetter),
    count!(
        "order_arrest",
        "  diverted after arrest (Liaison and Diversion)",
        Neutral
    ),
    count!(
        "order_probation",
        "  diverted from probation (pre-sentence report)",
        Neutral
    ),
    count!("order_alone", "  MHTR alone", Neutral),
    count!("order_drr", "  with a DRR", Neutral),
    count!("order_atr", "  with an ATR", Neutral),
    count!("order_both", "  with a DRR and an ATR", Neutral),
    count!(
        "started",
        "Started treatment (first session attended)",
        HigherIsBetter
    ),
    count!(
        "completed",
        "Completed all planned sessions",
        HigherIsBetter
    ),
    count!(
        "completed_early",
        "Completed early by clinical decision",
        Neutral
    ),
    count!("ended_early", "Ended early", LowerIsBetter),
    count!("signposted", "Signposted onward", Neutral),
    count!(
        "signposted_talking_therapies",
        "  to NHS Talking Therapies",
        Neutral
    ),
    count!(
        "signposted_community_mental_health",
        "  to a community mental health team",
        Neutral
    ),
    count!("signposted_gp", "  to a GP", Neutral),
    count!(
        "signposted_drug_alcohol",
        "  to a drug and alcohol service",
        Neutral
    ),
    count!("signposted_housing", "  to housing support", Neutral),
    count!(
        "signposted_employment",
        "  to employment, education and training",
        Neutral
    ),
    count!("signposted_debt", "  to debt advice", Neutral),
    count!(
        "signposted_domestic_abuse",
        "  to a domestic abuse service",
        Neutral
    ),
    count!("signposted_peer_support", "  to peer support", Neutral),
    count!("signposted_other", "  to another service", Neutral),
    count!(
        "sentenced_not_started",
        "Sentenced but not started",
        LowerIsBetter
    ),
];

pub const RATES: &[Indicator] = &[
    rate!(
        "rate_screened",
        "Referrals screened",
        HigherIsBetter,
        "screened",
        "referred"
    ),
    rate!(
        "rate_accepted",
        "Screened referrals accepted",
        Neutral,
        "accepted",
        "screened"
    ),
    rate!(
        "rate_suitable",
        "Assessed and found suitable",
        Neutral,
        "suitable",
        "assessed"
    ),
    rate!(
        "rate_order",
        "Consented who got an MHTR",
        HigherIsBetter,
        "order_made",
        "consented"
    ),
    rate!(
        "rate_started",
        "MHTRs that started treatment",
        HigherIsBetter,
        "started",
        "order_made"
    ),
    rate!(
        "rate_completed",
        "Completion rate (of those who started)",
        HigherIsBetter,
        "completed",
        "started"
    ),
    rate!(
        "rate_dna",
        "Did-not-attend rate (of sessions held or missed)",
        LowerIsBetter,
        "missed",
        "offered"
    ),
    rate!(
        "rate_paired",
        "Completers with paired PHQ-9 measures",
        HigherIsBetter,
        "phq9_pairs_completers",
        "completed"
    ),
    rate!(
        "rate_phq9",
        "Reliable improvement on PHQ-9 (of pairs)",
        HigherIsBetter,
        "phq9_improved",
        "phq9_pairs"
    ),
    rate!(
        "rate_gad7",
        "Reliable improvement on GAD-7 (of pairs)",
        HigherIsBetter,
        "gad7_improved",
        "gad7_pairs"
    ),
    rate!(
        "rate_core10",
        "Reliable improvement on CORE-10 (of pairs)",
        HigherIsBetter,
        "core10_improved",
        "core10_pairs"
    ),
    // NHS Talking Therapies outcomes of a finished course (treatment ended after at least two
    // attended sessions), from the PHQ-9 and GAD-7 read together (sessions::outcomes).
    rate!(
        "rate_finished_paired",
        "Finished treatment with paired PHQ-9 and GAD-7 scores (paired-data rate)",
        HigherIsBetter,
        "finished_paired",
        "finished"
    ),
    rate!(
        "rate_recovery",
        "Recovery (of those with paired scores at caseness at the start)",
        HigherIsBetter,
        "recovered",
        "recovery_base"
    ),
    rate!(
        "rate_reliable_recovery",
        "Reliable recovery (of those with paired scores at caseness at the start)",
        HigherIsBetter,
        "reliably_recovered",
        "recovery_base"
    ),
    rate!(
        "rate_reliable_improvement",
        "Reliable improvement on PHQ-9 and GAD-7 together (of those with paired scores)",
        HigherIsBetter,
        "reliably_improved",
        "finished_paired"
    ),
    rate!(
        "rate_reliable_deterioration",
        "Reliable deterioration on PHQ-9 or GAD-7 (of those with paired scores)",
        LowerIsBetter,
        "reliably_deteriorated",
        "finished_paired"
    ),
];

/// Counts that only feed rates (not shown as rows of their own).
/// Pairs of counts (whole, part) whose difference a reader can work out: each step of the
/// funnel and the next, and each rate's denominator and numerator (two shown counts, or a
/// shown rate and its shown denominator, give the part, and so the rest). Disclosure
/// control protects each difference as if it were a count of its own.
pub const DIFFERENCES: &[(&str, &str)] = &[
    ("referred", "screened"),
    ("screened", "accepted"),
    ("accepted", "assessed"),
    ("assessed", "suitable"),
    ("suitable", "consented"),
    ("consented", "order_made"),
    ("order_made", "started"),
    ("started", "completed"),
    ("offered", "missed"),
    ("completed", "phq9_pairs_completers"),
    ("phq9_pairs", "phq9_improved"),
    ("gad7_pairs", "gad7_improved"),
    ("core10_pairs", "core10_improved"),
    ("finished", "finished_paired"),
    ("finished_paired", "recovery_base"),
    ("recovery_base", "recovered"),
    ("recovery_base", "reliably_recovered"),
    ("finished_paired", "reliably_improved"),
    ("finished_paired", "reliably_deteriorated"),
];

pub const HIDDEN_COUNTS: &[&str] = &[
    "missed",
    "offered",
    "phq9_pairs_completers",
    "phq9_pairs",
    "phq9_improved",
    "gad7_pairs",
    "gad7_improved",
    "core10_pairs",
    "core10_improved",
    "finished",
    "finished_paired",
    "recovery_base",
    "recovered",
    "reliably_recovered",
    "reliably_improved",
    "reliably_deteriorated",
];

/// The funnel row counting people signposted to services of this type.
pub fn signposted_key(kind: ServiceType) -> Count {
    match kind {
        ServiceType::TalkingTherapies => Count::SignpostedTalkingTherapies,
        ServiceType::CommunityMentalHealth => Count::SignpostedCommunityMentalHealth,
        ServiceType::Gp => Count::SignpostedGp,
        ServiceType::DrugAlcohol => Count::SignpostedDrugAlcohol,
        ServiceType::Housing => Count::SignpostedHousing,
        ServiceType::Employment => Count::SignpostedEmployment,
        ServiceType::Debt => Count::SignpostedDebt,
        ServiceType::DomesticAbuse => Count::SignpostedDomesticAbuse,
        ServiceType::PeerSupport => Count::SignpostedPeerSupport,
        ServiceType::Other => Count::SignpostedOther,
    }
}

pub const EQUALITY: &[(&str, &[(&str, &str)])] = &[
    (
        "Sex",
        &[
            ("sex_female", "Female"),
            ("sex_male", "Male"),
            ("sex_not_recorded", "Not recorded"),
        ],
    ),
    (
        "Broad ethnic group",
        &[
            ("eth_asian", "Asian or Asian British"),
            ("eth_black", "Black, Black British, Caribbean or African"),
            ("eth_mixed", "Mixed or multiple ethnic groups"),
            ("eth_white", "White"),
            ("eth_other", "Other ethnic group"),
            ("eth_not_stated", "Not stated or not recorded"),
        ],
    ),
    (
        "Age at referral",
        &[
            ("age_18_24", "18 to 24"),
            ("age_25_34", "25 to 34"),
            ("age_35_44", "35 to 44"),
            ("age_45_54", "45 to 54"),
            ("age_55_64", "55 to 64"),
            ("age_65", "65 and over"),
        ],
    ),
];

/// Writes a value as the report shows it.
type Writer = fn(f64) -> String;

/// How an indicator that can take a target is measured: the factor from the configured
/// unit to the figure shown (rates are configured as fractions and shown as percentages),
/// which way is better, and how a target is written.
pub fn target_unit(key: &str) -> Option<(f64, Polarity, Writer)> {
    fn percent(v: f64) -> String {
        format!("{v:.1}%")
    }
    fn days(v: f64) -> String {
        format!("{v:.0} days")
    }
    fn number(v: f64) -> String {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    }
    if let Some(i) = RATES.iter().find(|i| i.key == key) {
        return Some((100.0, i.polarity, percent));
    }
    if let Some(i) = FUNNEL.iter().find(|i| i.key == key) {
        return Some((1.0, i.polarity, number));
    }
    match key {
        "utilisation" => Some((100.0, Polarity::HigherIsBetter, percent)),
        "mean_sessions" | "sessions_delivered" => Some((1.0, Polarity::HigherIsBetter, number)),
        "waiting_list" | "weeks_to_clear" => Some((1.0, Polarity::LowerIsBetter, number)),
        k if k.starts_with("wait_") && (k.ends_with("_median") || k.ends_with("_p90")) => {
            let stem = k.trim_end_matches("_median").trim_end_matches("_p90");
            ["wait_assessment", "wait_sentence", "wait_first_session"]
                .contains(&stem)
                .then_some((1.0, Polarity::LowerIsBetter, days as Writer))
        }
        _ => None,
    }
}

/// Whether an indicator can be given a target (checked when the settings are loaded).
pub fn takes_target(key: &str) -> bool {
    target_unit(key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_row_and_breakdown_is_a_count_and_every_count_is_used() {
        let mut used: Vec<&str> = FUNNEL.iter().map(|i| i.key).collect();
        used.extend(HIDDEN_COUNTS);
        for (_, cats) in EQUALITY {
            used.extend(cats.iter().map(|(k, _)| *k));
        }
        for k in &used {
            assert_eq!(k.parse::<Count>().map(Count::as_str), Ok(*k));
        }
        for c in Count::ALL {
            assert!(
                used.contains(&c.as_str()),
                "{c:?} is tallied but never shown"
            );
        }
        for i in RATES {
            let Kind::Rate(num, den) = i.kind else {
                panic!("{} is a rate", i.key)
            };
            assert!(
                num.parse::<Count>().is_ok() && den.parse::<Count>().is_ok(),
                "{}",
                i.key
            );
        }
        assert!("made_up".parse::<Count>().is_err());
    }

    #[test]
    fn every_rate_and_every_step_of_the_funnel_has_its_difference_protected() {
        for i in RATES {
            let Kind::Rate(num, den) = i.kind else {
                panic!("{} is a rate", i.key)
            };
            assert!(DIFFERENCES.contains(&(den, num)), "{}", i.key);
        }
        let steps: Vec<&str> = FUNNEL
            .iter()
            .map(|i| i.key)
            .take_while(|k| *k != "completed")
            .filter(|k| {
                !FUNNEL
                    .iter()
                    .any(|i| i.key == *k && i.label.starts_with(' '))
            })
            .filter(|k| !k.starts_with("order_") || *k == "order_made")
            .chain(["completed"])
            .collect();
        for pair in steps.windows(2) {
            assert!(DIFFERENCES.contains(&(pair[0], pair[1])), "{pair:?}");
        }
        for (whole, part) in DIFFERENCES {
            assert!(whole.parse::<Count>().is_ok() && part.parse::<Count>().is_ok());
        }
    }

    #[test]
    fn targets_are_taken_by_shown_indicators_only() {
        for k in [
            "rate_completed",
            "referred",
            "utilisation",
            "wait_sentence_p90",
        ] {
            assert!(takes_target(k), "{k}");
        }
        for k in ["missed", "sex_female", "wait_nothing_median", "rate_x", ""] {
            assert!(!takes_target(k), "{k}");
        }
    }
}
