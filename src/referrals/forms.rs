//! Raw input (page forms and API JSON alike) parsed into checked referral values. Both the
//! pages and the API go through [`crate::form::RawForm`] and these parsers, so they give the same
//! messages for the same mistakes.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::code_pairs;
use crate::error::FieldErrors;
use crate::form::{RawForm, choice, text};
use crate::referrals::codes::*;
use crate::referrals::model::{ListFilter, Sort};
use crate::referrals::state::{Action, Status, Tab};

// ------------------------------------------------------------------ identifiers

/// An nDelius case reference number: one letter and six digits, e.g. `X123456`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crn(String);

impl Crn {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let mut chars = v.chars();
        let ok = v.len() == 7
            && chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_digit());
        if ok {
            Ok(Self(v))
        } else {
            Err(
                "Enter the CRN in the correct format: one letter and six digits, like X123456"
                    .into(),
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from the database, checked when it was written.
    pub(crate) fn stored(v: &str) -> Self {
        Self(v.to_owned())
    }
}

/// A Police National Computer person id, `YYYY/NNNNNNNA`: year, serial and check letter.
/// Serials given without leading zeros are accepted and stored zero-padded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PncId(String);

const PNC_CHECK: &[u8; 23] = b"ZABCDEFGHJKLMNPQRTUVWXY";

impl PncId {
    pub fn check_letter(year: u32, serial: u32) -> char {
        let n = u64::from(year % 100) * 10_000_000 + u64::from(serial);
        PNC_CHECK[(n % 23) as usize] as char
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let format_error =
            || "Enter the PNC ID in the correct format, like 2001/0012345H".to_owned();
        let v: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let (year, rest) = v.split_once('/').ok_or_else(format_error)?;
        if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
            return Err(format_error());
        }
        let Some(letter) = rest.chars().last().filter(char::is_ascii_uppercase) else {
            return Err(format_error());
        };
        let serial = &rest[..rest.len() - 1];
        if serial.is_empty() || serial.len() > 7 || !serial.chars().all(|c| c.is_ascii_digit()) {
            return Err(format_error());
        }
        let year: u32 = year.parse().map_err(|_| format_error())?;
        let serial: u32 = serial.parse().map_err(|_| format_error())?;
        if year < 1900 || year > crate::clock::today().year() as u32 {
            return Err("The year in the PNC ID must be a real year, like 2001".into());
        }
        if Self::check_letter(year, serial) != letter {
            return Err("The PNC ID check letter does not match: check the PNC ID".into());
        }
        Ok(Self(format!("{year:04}/{serial:07}{letter}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from the database, checked when it was written.
    pub(crate) fn stored(v: &str) -> Self {
        Self(v.to_owned())
    }
}

// ------------------------------------------------------------------ reason for access

/// The longest reason accepted for looking at a referral off one's caseload.
pub const ACCESS_REASON_MAX: usize = 500;

/// Why a clinical lead needs a referral that is not on their own caseload (DPA 2018 s.62):
/// trimmed, not empty, at most [`ACCESS_REASON_MAX`] characters. The reason page and the
/// API's `Access-Reason` header both go through [`AccessReason::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessReason(String);

impl AccessReason {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v = raw.trim();
        if v.is_empty() {
            Err("Enter why you need to see this referral, for example a safeguarding review".into())
        } else if v.chars().count() > ACCESS_REASON_MAX {
            Err(format!(
                "The reason must be {ACCESS_REASON_MAX} characters or fewer"
            ))
        } else {
            Ok(Self(v.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The filters of a list request, checked. Unknown codes are validation errors, not ignored.
pub fn list_filter(
    status: Option<&str>,
    tab: Option<&str>,
    area_id: Option<&str>,
    entry_point: Option<&str>,
    ap_id: Option<&str>,
    q: Option<&str>,
    sort: Option<&str>,
) -> Result<ListFilter, FieldErrors> {
    let mut e = FieldErrors::new();
    let nonempty = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut f = ListFilter {
        area_id: nonempty(area_id),
        ap_id: nonempty(ap_id),
        query: nonempty(q),
        sort: Sort::parse(sort.unwrap_or("")),
        ..Default::default()
    };
    if let Some(s) = nonempty(status) {
        match s.parse::<Status>() {
            Ok(s) => f.statuses = vec![s],
            Err(_) => e.add("status", "Select a status from the list"),
        }
    } else if let Some(t) = nonempty(tab) {
        match t.parse::<Tab>() {
            Ok(t) => f.statuses = t.statuses(),
            Err(_) => e.add("tab", "Select a tab from the list"),
        }
    }
    if let Some(ep) = nonempty(entry_point) {
        match ep.parse() {
            Ok(ep) => f.entry_point = Some(ep),
            Err(_) => e.add("entry_point", "Select arrest or probation"),
        }
    }
    if e.is_empty() { Ok(f) } else { Err(e) }
}

// ------------------------------------------------------------------ the fields

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
        f("sex", "Sex", Person, Choice(|| code_pairs!(Sex))),
        f(
            "gender_identity",
            "Gender identity",
            Person,
            Choice(|| code_pairs!(GenderIdentity)),
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

// ------------------------------------------------------------------ checked values

#[derive(Debug, Clone, PartialEq)]
pub struct PersonInput {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub gender_identity: GenderIdentity,
    pub ethnicity: Option<Ethnicity>,
    pub pnc_id: Option<PncId>,
    pub crn: Option<Crn>,
    pub area_id: String,
    pub gp_practice: Option<String>,
    pub communication_needs: Option<String>,
    pub interpreter_needed: bool,
    pub language: Option<String>,
}

/// The answers stored with a referral (as JSON in its `details` column): everything that is
/// not a column of its own.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReferralDetails {
    pub location_kind: Option<LocationKind>,
    pub location: Option<String>,
    pub ld_practitioner: Option<String>,
    #[serde(default)]
    pub vulnerabilities: Vec<Vulnerability>,
    pub next_court_date: Option<NaiveDate>,
    pub consent_to_share: Option<bool>,
    pub court: Option<String>,
    pub hearing_date: Option<NaiveDate>,
    #[serde(default)]
    pub needs: Vec<Need>,
    pub other_need: Option<String>,
    pub substance_misuse: bool,
    pub drr_atr: Option<DrrAtr>,
    pub rosh_level: Option<Rosh>,
    pub safeguarding_concerns: Option<String>,
    pub risk_to_staff: bool,
    pub risk_to_staff_details: Option<String>,
    pub session_mode: Option<SessionMode>,
    pub preferred_times: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReferralInput {
    pub entry_point: EntryPoint,
    pub offence_category: OffenceCategory,
    pub urgency: Urgency,
    pub person: PersonInput,
    pub details: ReferralDetails,
}

fn yes_no_answer(raw: &RawForm, errors: &mut FieldErrors, name: &str, msg: &str) -> Option<bool> {
    match raw.get(name) {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => {
            errors.add(name, msg);
            None
        }
    }
}

fn multi<T: std::str::FromStr>(
    raw: &RawForm,
    errors: &mut FieldErrors,
    name: &str,
    msg: &str,
) -> Vec<T> {
    let mut out = Vec::new();
    for v in raw.all(name) {
        match v.parse::<T>() {
            Ok(t) => out.push(t),
            Err(_) => errors.add(name, msg),
        }
    }
    out
}

/// Whole years from `dob` to `on`.
pub fn age_on(dob: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    age
}

/// Parses a whole referral. `areas` are the areas the user may refer into.
pub fn parse_referral(
    raw: &RawForm,
    areas: &[String],
    today: NaiveDate,
) -> Result<ReferralInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let entry_point: Option<EntryPoint> = choice(
        raw,
        &mut e,
        "entry_point",
        "Select whether the referral comes from the point of arrest or from probation",
    );

    // The person.
    let given_name = text(
        raw,
        &mut e,
        "given_name",
        "Given name",
        Some("Enter the person's given name"),
        100,
    );
    let family_name = text(
        raw,
        &mut e,
        "family_name",
        "Family name",
        Some("Enter the person's family name"),
        100,
    );
    let dob = match raw.date("date_of_birth", "date of birth") {
        Ok(d) if d >= today => {
            e.add("date_of_birth", "The date of birth must be in the past");
            None
        }
        Ok(d) if age_on(d, today) < 18 => {
            e.add(
                "date_of_birth",
                "The person must be 18 or over: an MHTR can only be made for an adult",
            );
            None
        }
        Ok(d) => Some(d),
        Err(m) => {
            e.add("date_of_birth", m);
            None
        }
    };
    let sex: Option<Sex> = choice(raw, &mut e, "sex", "Select the person's sex");
    let gender_identity: Option<GenderIdentity> = choice(
        raw,
        &mut e,
        "gender_identity",
        "Select whether the person's gender is the same as their sex registered at birth",
    );
    let ethnicity = match raw.get("ethnicity") {
        "not_stated" => Some(None),
        v => match v.parse::<Ethnicity>() {
            Ok(x) => Some(Some(x)),
            Err(_) => {
                e.add(
                    "ethnicity",
                    "Select the person's ethnic group, or 'Prefers not to say'",
                );
                None
            }
        },
    };
    let pnc_id = match raw.get("pnc_id").trim() {
        "" => None,
        v => PncId::parse(v).map_err(|m| e.add("pnc_id", m)).ok(),
    };
    let crn = match raw.get("crn").trim() {
        "" => {
            if entry_point == Some(EntryPoint::Probation) {
                e.add("crn", "Enter the person's CRN");
            }
            None
        }
        v => Crn::parse(v).map_err(|m| e.add("crn", m)).ok(),
    };
    let area_id = raw.get("area_id").trim();
    if !areas.iter().any(|a| a == area_id) {
        e.add(
            "area_id",
            "Select the person's home local authority area from your areas",
        );
    }
    let gp_practice = text(raw, &mut e, "gp_practice", "GP practice", None, 200);
    let communication_needs = text(
        raw,
        &mut e,
        "communication_needs",
        "Communication or accessibility needs",
        None,
        1000,
    );
    let interpreter_needed = yes_no_answer(
        raw,
        &mut e,
        "interpreter_needed",
        "Select whether the person needs an interpreter",
    );
    let language = text(
        raw,
        &mut e,
        "language",
        "Language",
        (interpreter_needed == Some(true))
            .then_some("Enter the language the person needs an interpreter for"),
        100,
    );

    // Where the referral comes from.
    let mut d = ReferralDetails::default();
    match entry_point {
        Some(EntryPoint::Arrest) => {
            d.location_kind = choice(
                raw,
                &mut e,
                "location_kind",
                "Select whether the person was seen in a custody suite or at court",
            );
            d.location = text(
                raw,
                &mut e,
                "location",
                "Custody suite or court",
                Some("Enter the custody suite or court"),
                200,
            );
            d.ld_practitioner = text(
                raw,
                &mut e,
                "ld_practitioner",
                "Practitioner name",
                Some("Enter the name of the Liaison and Diversion practitioner"),
                100,
            );
            d.vulnerabilities = multi(
                raw,
                &mut e,
                "vulnerabilities",
                "Select vulnerabilities from the list",
            );
            if raw.date_given("next_court_date") {
                d.next_court_date = raw
                    .date("next_court_date", "next court date")
                    .map_err(|m| e.add("next_court_date", m))
                    .ok();
            }
            d.consent_to_share = yes_no_answer(
                raw,
                &mut e,
                "consent_to_share",
                "Select whether the person consents to their information being shared with criminal justice agencies",
            );
        }
        Some(EntryPoint::Probation) => {
            d.court = text(raw, &mut e, "court", "Court", Some("Enter the court"), 200);
            d.hearing_date = raw
                .date("hearing_date", "hearing date")
                .map_err(|m| e.add("hearing_date", m))
                .ok();
        }
        None => {}
    }
    let offence_category: Option<OffenceCategory> = choice(
        raw,
        &mut e,
        "offence_category",
        "Select the offence category",
    );

    // Needs, risk and sessions.
    d.needs = multi(
        raw,
        &mut e,
        "needs",
        "Select presenting needs from the list",
    );
    if d.needs.is_empty() {
        e.add("needs", "Select at least one presenting need");
    }
    d.other_need = text(
        raw,
        &mut e,
        "other_need",
        "Other presenting need",
        d.needs
            .contains(&Need::Other)
            .then_some("Describe the other presenting need"),
        500,
    );
    d.substance_misuse = yes_no_answer(
        raw,
        &mut e,
        "substance_misuse",
        "Select whether the person misuses drugs or alcohol",
    )
    .unwrap_or(false);
    d.drr_atr = choice(
        raw,
        &mut e,
        "drr_atr",
        "Select whether a DRR or ATR is proposed or in place",
    );
    d.rosh_level = choice(
        raw,
        &mut e,
        "rosh_level",
        "Select the risk of serious harm level",
    );
    d.safeguarding_concerns = text(
        raw,
        &mut e,
        "safeguarding_concerns",
        "Safeguarding concerns",
        None,
        2000,
    );
    d.risk_to_staff = yes_no_answer(
        raw,
        &mut e,
        "risk_to_staff",
        "Select whether the person poses a risk to staff",
    )
    .unwrap_or(false);
    d.risk_to_staff_details = text(
        raw,
        &mut e,
        "risk_to_staff_details",
        "Risk to staff details",
        d.risk_to_staff.then_some("Describe the risk to staff"),
        2000,
    );
    let urgency: Option<Urgency> = choice(
        raw,
        &mut e,
        "urgency",
        "Select whether the referral is routine or urgent",
    );
    d.session_mode = choice(
        raw,
        &mut e,
        "session_mode",
        "Select how the person would prefer to have sessions",
    );
    d.preferred_times = text(raw, &mut e, "preferred_times", "Preferred times", None, 200);

    match (
        entry_point,
        offence_category,
        urgency,
        given_name,
        family_name,
        dob,
        sex,
        gender_identity,
        ethnicity,
        interpreter_needed,
    ) {
        (
            Some(entry_point),
            Some(offence_category),
            Some(urgency),
            Some(given_name),
            Some(family_name),
            Some(date_of_birth),
            Some(sex),
            Some(gender_identity),
            Some(ethnicity),
            Some(interpreter_needed),
        ) if e.is_empty() => Ok(ReferralInput {
            entry_point,
            offence_category,
            urgency,
            person: PersonInput {
                given_name,
                family_name,
                date_of_birth,
                sex,
                gender_identity,
                ethnicity,
                pnc_id,
                crn,
                area_id: area_id.to_owned(),
                gp_practice,
                communication_needs,
                interpreter_needed,
                language,
            },
            details: d,
        }),
        _ => Err(e),
    }
}

/// The errors that belong on one step's page (the rest are for later pages).
pub fn errors_for_step(errors: &FieldErrors, step: Step, entry: Option<EntryPoint>) -> FieldErrors {
    let names: Vec<&'static str> = fields()
        .into_iter()
        .filter(|f| f.step == step && (f.only_for.is_none() || f.only_for == entry))
        .map(|f| f.name)
        .collect();
    let mut out = FieldErrors::new();
    for (f, m) in errors.iter() {
        if names.contains(&f) {
            out.add(f, m);
        }
    }
    out
}

impl ReferralInput {
    /// The answers as form fields again: to fill the amendment page and to compare values.
    pub fn to_raw(&self) -> RawForm {
        let mut r = RawForm::default();
        let p = &self.person;
        let d = &self.details;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let yn = |b: bool| if b { "yes" } else { "no" };
        r.set("entry_point", self.entry_point.as_str());
        r.set("given_name", &p.given_name);
        r.set("family_name", &p.family_name);
        r.set_date("date_of_birth", Some(p.date_of_birth));
        r.set("sex", p.sex.as_str());
        r.set("gender_identity", p.gender_identity.as_str());
        r.set(
            "ethnicity",
            p.ethnicity.map(|x| x.as_str()).unwrap_or("not_stated"),
        );
        r.set(
            "pnc_id",
            p.pnc_id.as_ref().map(|x| x.as_str()).unwrap_or(""),
        );
        r.set("crn", p.crn.as_ref().map(|x| x.as_str()).unwrap_or(""));
        r.set("area_id", &p.area_id);
        r.set("gp_practice", opt(&p.gp_practice));
        r.set("communication_needs", opt(&p.communication_needs));
        r.set("interpreter_needed", yn(p.interpreter_needed));
        r.set("language", opt(&p.language));
        r.set(
            "location_kind",
            d.location_kind.map(|x| x.as_str()).unwrap_or(""),
        );
        r.set("location", opt(&d.location));
        r.set("ld_practitioner", opt(&d.ld_practitioner));
        r.set_all(
            "vulnerabilities",
            d.vulnerabilities
                .iter()
                .map(|v| v.as_str().to_owned())
                .collect(),
        );
        r.set_date("next_court_date", d.next_court_date);
        r.set("consent_to_share", d.consent_to_share.map(yn).unwrap_or(""));
        r.set("court", opt(&d.court));
        r.set_date("hearing_date", d.hearing_date);
        r.set("offence_category", self.offence_category.as_str());
        r.set_all(
            "needs",
            d.needs.iter().map(|v| v.as_str().to_owned()).collect(),
        );
        r.set("other_need", opt(&d.other_need));
        r.set("substance_misuse", yn(d.substance_misuse));
        r.set("drr_atr", d.drr_atr.map(|x| x.as_str()).unwrap_or(""));
        r.set("rosh_level", d.rosh_level.map(|x| x.as_str()).unwrap_or(""));
        r.set("safeguarding_concerns", opt(&d.safeguarding_concerns));
        r.set("risk_to_staff", yn(d.risk_to_staff));
        r.set("risk_to_staff_details", opt(&d.risk_to_staff_details));
        r.set("urgency", self.urgency.as_str());
        r.set(
            "session_mode",
            d.session_mode.map(|x| x.as_str()).unwrap_or(""),
        );
        r.set("preferred_times", opt(&d.preferred_times));
        r
    }
}

// ------------------------------------------------------------------ transitions

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
        WithdrawConsent | RecordMhtrNotMade | Withdraw | Accept | Close => {
            ("note", "Note (optional)", None)
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn access_reasons_are_trimmed_and_bounded() {
        assert_eq!(
            AccessReason::parse("  Safeguarding review\t")
                .unwrap()
                .as_str(),
            "Safeguarding review"
        );
        for blank in ["", "   ", "\t\n"] {
            assert!(
                AccessReason::parse(blank)
                    .unwrap_err()
                    .starts_with("Enter why you need to see this referral"),
                "{blank:?}"
            );
        }
        let longest = "é".repeat(ACCESS_REASON_MAX);
        assert_eq!(AccessReason::parse(&longest).unwrap().as_str(), longest);
        assert_eq!(
            AccessReason::parse(&format!("{longest}x")).unwrap_err(),
            "The reason must be 500 characters or fewer"
        );
        // Spaces around the reason do not count towards its length.
        assert!(AccessReason::parse(&format!("  {longest}  ")).is_ok());
    }

    #[test]
    fn crns_are_one_letter_and_six_digits() {
        assert_eq!(Crn::parse(" x123456 ").unwrap().as_str(), "X123456");
        for bad in ["", "123456", "X12345", "X1234567", "XX23456", "X12345A"] {
            assert!(Crn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pnc_ids_check_their_letter_and_are_normalised() {
        assert_eq!(PncId::check_letter(2001, 12345), 'H');
        assert_eq!(
            PncId::parse("2001/0012345H").unwrap().as_str(),
            "2001/0012345H"
        );
        assert_eq!(
            PncId::parse("2001/12345h").unwrap().as_str(),
            "2001/0012345H"
        );
        assert!(
            PncId::parse("2001/0012345A")
                .unwrap_err()
                .contains("check letter")
        );
        for bad in [
            "",
            "2001",
            "01/12345H",
            "2001/H",
            "2001/123456789H",
            "2001/12345",
        ] {
            assert!(PncId::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_well_formed_pnc_id_round_trips(year in 1950u32..2025, serial in 0u32..10_000_000) {
            let letter = PncId::check_letter(year, serial);
            let short = format!("{year}/{serial}{letter}");
            let parsed = PncId::parse(&short).unwrap();
            prop_assert_eq!(parsed.as_str(), format!("{year}/{serial:07}{letter}"));
            prop_assert_eq!(PncId::parse(parsed.as_str()).unwrap(), parsed);
        }

        #[test]
        fn pnc_parsing_never_panics(s in ".{0,20}") {
            let _ = PncId::parse(&s);
            let _ = Crn::parse(&s);
        }
    }

    fn valid_probation() -> RawForm {
        let mut r = RawForm::default();
        for (k, v) in [
            ("entry_point", "probation"),
            ("given_name", "Alex"),
            ("family_name", "Morgan"),
            ("sex", "male"),
            ("gender_identity", "same_as_sex"),
            ("ethnicity", "white_british"),
            ("crn", "X123456"),
            ("area_id", "a1"),
            ("interpreter_needed", "no"),
            ("court", "Leicester Magistrates' Court"),
            ("offence_category", "theft"),
            ("needs", "anxiety"),
            ("substance_misuse", "no"),
            ("drr_atr", "none"),
            ("rosh_level", "low"),
            ("risk_to_staff", "no"),
            ("urgency", "routine"),
            ("session_mode", "phone"),
        ] {
            r.set(k, v);
        }
        r.set_date("date_of_birth", NaiveDate::from_ymd_opt(1990, 4, 1));
        r.set_date("hearing_date", NaiveDate::from_ymd_opt(2026, 12, 1));
        r
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn a_complete_referral_parses_and_round_trips() {
        let input = parse_referral(&valid_probation(), &["a1".into()], today()).unwrap();
        assert_eq!(input.person.crn.as_ref().unwrap().as_str(), "X123456");
        let again = parse_referral(&input.to_raw(), &["a1".into()], today()).unwrap();
        assert_eq!(again, input);
    }

    #[test]
    fn under_eighteens_are_refused_with_a_reason() {
        let mut r = valid_probation();
        r.set_date("date_of_birth", NaiveDate::from_ymd_opt(2008, 11, 23));
        let e = parse_referral(&r, &["a1".into()], today()).unwrap_err();
        assert!(e.get("date_of_birth").unwrap().contains("18 or over"));
        r.set_date("date_of_birth", NaiveDate::from_ymd_opt(2008, 11, 22));
        assert!(parse_referral(&r, &["a1".into()], today()).is_ok());
    }

    #[test]
    fn areas_outside_the_users_are_refused() {
        let e = parse_referral(&valid_probation(), &["a2".into()], today()).unwrap_err();
        assert!(e.get("area_id").is_some());
    }

    #[test]
    fn conditional_questions_are_required_when_they_apply() {
        let mut r = valid_probation();
        r.set_all("needs", vec!["other".into()]);
        r.set("interpreter_needed", "yes");
        r.set("risk_to_staff", "yes");
        let e = parse_referral(&r, &["a1".into()], today()).unwrap_err();
        assert!(e.get("other_need").is_some());
        assert!(e.get("language").is_some());
        assert!(e.get("risk_to_staff_details").is_some());
    }

    #[test]
    fn json_dates_are_split_for_the_date_parser() {
        let obj = serde_json::json!({"date_of_birth": "1990-04-01", "needs": ["anxiety"], "interpreter_needed": false});
        let r = RawForm::from_json(obj.as_object().unwrap());
        assert_eq!(r.get("date_of_birth_day"), "01");
        assert_eq!(r.get("interpreter_needed"), "no");
        assert_eq!(r.all("needs"), vec!["anxiety".to_owned()]);
    }
}
