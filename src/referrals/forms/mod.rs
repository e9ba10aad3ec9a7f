//! Raw input (page forms and API JSON alike) parsed into checked referral values. Both the
//! pages and the API go through [`crate::form::RawForm`] and these parsers, so they give the same
//! messages for the same mistakes.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;
use crate::form::{RawForm, choice, text};
use crate::referrals::codes::*;
use crate::referrals::model::{ListFilter, Sort};
use crate::referrals::state::{Status, Tab};

mod ids;
mod questions;
mod transitions;

pub use ids::*;
pub use questions::*;
pub use transitions::*;

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
/// Why `role` may not make a referral from `entry`: Liaison and Diversion practitioners
/// refer at the point of arrest only.
pub fn entry_refused(
    role: crate::users::model::Role,
    entry: Option<EntryPoint>,
) -> Option<&'static str> {
    (role == crate::users::model::Role::LiaisonDiversion && entry == Some(EntryPoint::Probation))
        .then_some(
            "Liaison and Diversion practitioners refer at the point of arrest: select arrest",
        )
}

/// [`parse_referral`] for a referrer of `role`, with the entry point they may use checked too.
pub fn parse_referral_by(
    role: crate::users::model::Role,
    raw: &RawForm,
    areas: &[String],
    today: NaiveDate,
) -> Result<ReferralInput, FieldErrors> {
    let refused = entry_refused(role, raw.get("entry_point").parse().ok());
    match (parse_referral(raw, areas, today), refused) {
        (r, None) => r,
        (Ok(_), Some(m)) => Err(FieldErrors::single("entry_point", m)),
        (Err(mut e), Some(m)) => {
            e.add("entry_point", m);
            Err(e)
        }
    }
}

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
    let mut sex: Option<Sex> = choice(raw, &mut e, "sex", "Select the person's sex");
    let mut gender_identity: Option<GenderIdentity> = choice(
        raw,
        &mut e,
        "gender_identity",
        "Select whether the person's gender is the same as their sex registered at birth",
    );
    // "Not recorded" stands only on records brought over from a system that never asked.
    if sex == Some(Sex::NotRecorded) {
        sex = None;
        e.add("sex", "Select the person's sex: 'not recorded' is only for records brought over from an older system");
    }
    if gender_identity == Some(GenderIdentity::NotRecorded) {
        gender_identity = None;
        e.add("gender_identity", "Select whether the person's gender is the same as their sex registered at birth: 'not recorded' is only for records brought over from an older system");
    }
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
