//! The referral question catalogue: its steps, each field with its kind and label, which answers are police-linked, and how an answer is shown.

use crate::code_pairs;
use crate::form::RawForm;
use serde::Serialize;

use super::*;

/// The steps of the referral question pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Step {
    EntryPoint,
    Person,
    Details,
    NeedsAndRisk,
}

impl Step {
    pub const ALL: [Step; 4] = [
        Step::EntryPoint,
        Step::Person,
        Step::Details,
        Step::NeedsAndRisk,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Step::EntryPoint => "entry-point",
            Step::Person => "person",
            Step::Details => "details",
            Step::NeedsAndRisk => "needs-and-risk",
        }
    }

    pub fn from_slug(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|st| st.slug() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::EntryPoint => "How was the person referred?",
            Step::Person => "About the person",
            Step::Details => "Referral details",
            Step::NeedsAndRisk => "Needs, risk and sessions",
        }
    }

    pub fn next(self) -> Option<Step> {
        let i = Step::ALL.iter().position(|s| *s == self)?;
        Step::ALL.get(i + 1).copied()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Text,
    Date,
    YesNo,
    Choice(fn() -> Vec<(&'static str, &'static str)>),
    Multi(fn() -> Vec<(&'static str, &'static str)>),
}

/// One question of the referral: its name in forms, JSON and errors, its label, its step.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub step: Step,
    pub kind: Kind,
    /// Asked only for this entry point.
    pub only_for: Option<EntryPoint>,
}

/// The answers a person can give: "not recorded" is kept only for records brought over from
/// a system that never asked.
fn sex_pairs() -> Vec<(&'static str, &'static str)> {
    let mut pairs = code_pairs!(Sex);
    pairs.retain(|(c, _)| *c != Sex::NotRecorded.as_str());
    pairs
}

fn gender_identity_pairs() -> Vec<(&'static str, &'static str)> {
    let mut pairs = code_pairs!(GenderIdentity);
    pairs.retain(|(c, _)| *c != GenderIdentity::NotRecorded.as_str());
    pairs
}

fn ethnicity_pairs() -> Vec<(&'static str, &'static str)> {
    let mut v = code_pairs!(Ethnicity);
    v.push(("not_stated", "Prefers not to say"));
    v
}

fn yes_no() -> Vec<(&'static str, &'static str)> {
    vec![("yes", "Yes"), ("no", "No")]
}

/// Answers that come from the police or describe risk: seen only by users whose vetting
/// clears them (NPPV, or an enhanced DBS check); see `users::model::VettingLevel`.
pub const POLICE_LINKED: &[&str] = &[
    "pnc_id",
    "offence_category",
    "rosh_level",
    "safeguarding_concerns",
    "risk_to_staff",
    "risk_to_staff_details",
];

/// What stands in for a police-linked answer a user's vetting does not clear them to see.
pub const WITHHELD: &str =
    "Withheld: seeing this needs police vetting (NPPV) or an enhanced DBS check";

/// Every referral question, in the order the pages ask them.
pub fn fields() -> Vec<Field> {
    use Kind::*;
    use Step::*;
    let f = |name, label, step, kind| Field {
        name,
        label,
        step,
        kind,
        only_for: None,
    };
    let arrest = |name, label, kind| Field {
        name,
        label,
        step: Details,
        kind,
        only_for: Some(crate::referrals::codes::EntryPoint::Arrest),
    };
    let probation = |name, label, kind| Field {
        name,
        label,
        step: Details,
        kind,
        only_for: Some(crate::referrals::codes::EntryPoint::Probation),
    };
    vec![
        f(
            "entry_point",
            "Entry point",
            EntryPoint,
            Choice(|| code_pairs!(crate::referrals::codes::EntryPoint)),
        ),
        f("given_name", "Given name", Person, Text),
        f("family_name", "Family name", Person, Text),
        f("date_of_birth", "Date of birth", Person, Date),
        f("sex", "Sex", Person, Choice(sex_pairs)),
        f(
            "gender_identity",
            "Gender identity",
            Person,
            Choice(gender_identity_pairs),
        ),
        f("ethnicity", "Ethnic group", Person, Choice(ethnicity_pairs)),
        f("pnc_id", "PNC ID", Person, Text),
        f("crn", "CRN", Person, Text),
        f("area_id", "Home local authority area", Person, Text),
        f("gp_practice", "GP practice", Person, Text),
        f(
            "communication_needs",
            "Communication or accessibility needs",
            Person,
            Text,
        ),
        f("interpreter_needed", "Needs an interpreter", Person, YesNo),
        f("language", "Language", Person, Text),
        arrest(
            "location_kind",
            "Seen at",
            Choice(|| code_pairs!(LocationKind)),
        ),
        arrest("location", "Custody suite or court", Text),
        arrest(
            "ld_practitioner",
            "Liaison and Diversion practitioner",
            Text,
        ),
        arrest(
            "vulnerabilities",
            "Vulnerabilities screened",
            Multi(|| code_pairs!(Vulnerability)),
        ),
        arrest("next_court_date", "Next court date", Date),
        arrest(
            "consent_to_share",
            "Consents to sharing with criminal justice agencies",
            YesNo,
        ),
        probation("court", "Court", Text),
        probation("hearing_date", "Hearing date", Date),
        f(
            "offence_category",
            "Offence category",
            Details,
            Choice(|| code_pairs!(OffenceCategory)),
        ),
        f(
            "needs",
            "Presenting needs",
            NeedsAndRisk,
            Multi(|| code_pairs!(Need)),
        ),
        f("other_need", "Other presenting need", NeedsAndRisk, Text),
        f("substance_misuse", "Substance misuse", NeedsAndRisk, YesNo),
        f(
            "drr_atr",
            "DRR or ATR",
            NeedsAndRisk,
            Choice(|| code_pairs!(DrrAtr)),
        ),
        f(
            "rosh_level",
            "Risk of serious harm",
            NeedsAndRisk,
            Choice(|| code_pairs!(Rosh)),
        ),
        f(
            "safeguarding_concerns",
            "Safeguarding concerns",
            NeedsAndRisk,
            Text,
        ),
        f("risk_to_staff", "Risk to staff", NeedsAndRisk, YesNo),
        f(
            "risk_to_staff_details",
            "Risk to staff details",
            NeedsAndRisk,
            Text,
        ),
        f(
            "urgency",
            "Urgency",
            NeedsAndRisk,
            Choice(|| code_pairs!(Urgency)),
        ),
        f(
            "session_mode",
            "Preferred session mode",
            NeedsAndRisk,
            Choice(|| code_pairs!(SessionMode)),
        ),
        f("preferred_times", "Preferred times", NeedsAndRisk, Text),
    ]
}

/// A field's value as a person reads it ("" when not given). Areas are shown by the name
/// the caller looks up.
pub fn display(field: &Field, raw: &RawForm, area_name: &dyn Fn(&str) -> String) -> String {
    let label_of = |pairs: Vec<(&'static str, &'static str)>, code: &str| {
        pairs
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| (*l).to_owned())
            .unwrap_or_default()
    };
    match field.kind {
        Kind::Text if field.name == "area_id" => area_name(raw.get("area_id")),
        Kind::Text => raw.get(field.name).trim().to_owned(),
        Kind::Date => raw
            .date(field.name, field.label)
            .map(crate::web::format::date)
            .unwrap_or_default(),
        Kind::YesNo => label_of(yes_no(), raw.get(field.name)),
        Kind::Choice(pairs) => label_of(pairs(), raw.get(field.name)),
        Kind::Multi(pairs) => {
            let p = pairs();
            raw.all(field.name)
                .iter()
                .map(|c| label_of(p.clone(), c))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}
