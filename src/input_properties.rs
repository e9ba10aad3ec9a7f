//! Property tests for every parser of user input, in one place so that a new parser has an
//! obvious home: whatever a form or an API client sends, a parser never panics, and when it
//! refuses it says why (a field name and a message a person can act on). The parsers' own
//! modules hold the finer properties (PNC round trips, period codes, measure ranges, working
//! days); these are the "anything at all" properties across the board.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;

use crate::error::FieldErrors;
use crate::form::RawForm;
use crate::referrals::forms::{self, Crn, Kind, PncId};
use crate::referrals::state::Action;
use crate::sessions::measures::Instrument;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn now() -> NaiveDateTime {
    today().and_hms_opt(10, 30, 0).unwrap()
}

/// Text as people and programs send it: printable, control characters, numbers of every
/// size, dates and times in and out of shape, blanks.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,16}",
        ".{0,8}",
        "-?[0-9]{1,3}",
        "[0-9]{1,25}",
        "[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}",
        "[0-9]{1,2}:[0-9]{1,2}",
        "[0-9]{1,2}[ ./-][0-9]{1,2}[ ./-][0-9]{2,4}",
        Just(String::new()),
        Just("  ".to_owned()),
        Just("９".to_owned()),
    ]
}

/// A form with some of `fields` present, each holding one or two values taken from `codes`
/// (the words the parser knows) or from [`value`].
fn form(fields: &[&'static str], codes: &'static [&'static str]) -> impl Strategy<Value = RawForm> {
    let names: Vec<String> = fields
        .iter()
        .flat_map(|f| {
            if f.ends_with("date") || *f == "date" {
                vec![
                    (*f).to_owned(),
                    format!("{f}_day"),
                    format!("{f}_month"),
                    format!("{f}_year"),
                ]
            } else {
                vec![(*f).to_owned()]
            }
        })
        .collect();
    let one = prop_oneof![
        3 => prop::sample::select(codes).prop_map(str::to_owned),
        2 => value(),
        1 => (1u32..32).prop_map(|n| n.to_string()),
        1 => (2020i32..2032).prop_map(|n| n.to_string()),
    ];
    let slot = prop::option::weighted(0.75, prop::collection::vec(one, 1..3));
    prop::collection::vec(slot, names.len()).prop_map(move |slots| {
        let mut map = BTreeMap::new();
        for (name, slot) in names.iter().zip(slots) {
            if let Some(values) = slot {
                map.insert(name.clone(), values);
            }
        }
        RawForm(map)
    })
}

/// A refusal names at least one field, and every message says something.
fn explains(e: &FieldErrors) -> Result<(), TestCaseError> {
    prop_assert!(!e.is_empty(), "refused without a message");
    for (field, message) in e.iter() {
        prop_assert!(!field.is_empty());
        prop_assert!(
            message.trim().len() > 5,
            "{field}: message too short: {message:?}"
        );
    }
    Ok(())
}

fn explains_text(m: &str) -> Result<(), TestCaseError> {
    prop_assert!(m.trim().len() > 5, "message too short: {m:?}");
    Ok(())
}

/// A referral form built from the question list: each question answered plausibly (a code
/// it offers, a real-looking date), implausibly, or not at all.
fn referral_form() -> impl Strategy<Value = RawForm> {
    let fields = forms::fields();
    let mut parts: Vec<BoxedStrategy<Vec<(String, String)>>> = Vec::new();
    for f in fields {
        let name = f.name;
        let answered: BoxedStrategy<Vec<(String, String)>> = match f.kind {
            Kind::Text => value()
                .prop_map(move |v| vec![(name.to_owned(), v)])
                .boxed(),
            Kind::YesNo => prop_oneof![Just("yes".to_owned()), Just("no".to_owned()), value()]
                .prop_map(move |v| vec![(name.to_owned(), v)])
                .boxed(),
            Kind::Date => (
                prop_oneof![(0u32..33).prop_map(|d| d.to_string()), value()],
                prop_oneof![(0u32..14).prop_map(|d| d.to_string()), value()],
                prop_oneof![(1890i32..2040).prop_map(|d| d.to_string()), value()],
            )
                .prop_map(move |(d, m, y)| {
                    vec![
                        (format!("{name}_day"), d),
                        (format!("{name}_month"), m),
                        (format!("{name}_year"), y),
                    ]
                })
                .boxed(),
            Kind::Choice(pairs) => {
                let codes: Vec<String> = pairs().iter().map(|(c, _)| (*c).to_owned()).collect();
                prop_oneof![4 => prop::sample::select(codes), 1 => value()]
                    .prop_map(move |v| vec![(name.to_owned(), v)])
                    .boxed()
            }
            Kind::Multi(pairs) => {
                let codes: Vec<String> = pairs().iter().map(|(c, _)| (*c).to_owned()).collect();
                prop::collection::vec(
                    prop_oneof![4 => prop::sample::select(codes), 1 => value()],
                    0..4,
                )
                .prop_map(move |vs| vs.into_iter().map(|v| (name.to_owned(), v)).collect())
                .boxed()
            }
        };
        parts.push(prop_oneof![6 => answered, 1 => Just(Vec::new())].boxed());
    }
    parts.prop_map(|parts| {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in parts.into_iter().flatten() {
            map.entry(k).or_default().push(v);
        }
        RawForm(map)
    })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        value().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const SESSION_FIELDS: &[&str] = &[
    "acceptable_absence",
    "action_taken",
    "attendance",
    "cadence",
    "cancel_reason",
    "date",
    "decision",
    "engagement_notes",
    "first_date",
    "first_time",
    "happened",
    "kind",
    "location",
    "minutes",
    "mode",
    "new_date",
    "new_time",
    "not_happened_reason",
    "note",
    "party",
    "reason",
    "service_logistics",
    "stage",
    "summary_for_ro",
    "version",
    "q1",
    "q2",
    "q3",
    "q4",
    "q5",
    "q6",
    "q7",
    "q8",
    "q9",
    "q10",
];
const SESSION_CODES: &[&str] = &[
    "yes",
    "no",
    "true",
    "false",
    "weekly",
    "fortnightly",
    "phone",
    "video",
    "in_person",
    "attended",
    "attended_late",
    "acceptable_absence",
    "unacceptable_absence",
    "practitioner",
    "person",
    "10:30",
    "09:00",
    "1",
    "0",
    "3",
];

const LINKED_FIELDS: &[&str] = &[
    "date",
    "end_date",
    "key_contact",
    "kind",
    "note",
    "on_date",
    "provider",
    "sequencing",
    "start_date",
    "status",
    "treatment_director",
];
const LINKED_CODES: &[&str] = &[
    "drr",
    "atr",
    "active",
    "completed",
    "breached",
    "revoked",
    "before",
    "after",
    "parallel",
    "yes",
    "no",
];

const SIGNPOST_FIELDS: &[&str] = &[
    "address",
    "areas",
    "email",
    "follow_up_date",
    "name",
    "phone",
    "reason",
    "service_id",
    "service_type",
    "signposted_date",
    "status",
    "summary",
    "version",
    "website",
];
const SIGNPOST_CODES: &[&str] = &[
    "a1",
    "s1",
    "housing",
    "talking_therapies",
    "signposted",
    "engaged",
    "declined",
    "someone@example.org",
    "https://example.org",
    "1",
];

const TRANSITION_FIELDS: &[&str] = &[
    "ap_id",
    "assessor_id",
    "combined_with",
    "court",
    "end_outcome",
    "end_reason",
    "note",
    "order_type",
    "requirement_end_date",
    "sentence_date",
    "treatment_director_id",
    "version",
    "withdrawal_reason",
    "reason",
    "assessment_date",
    "consent_date",
    "report_date",
    "next_court_date",
    "date",
];
const TRANSITION_CODES: &[&str] = &[
    "u1",
    "community_order",
    "suspended_sentence_order",
    "completed",
    "1",
    "2",
    "drr",
    "atr",
    "none",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn crns_never_panic_and_any_letter_with_six_digits_is_one(
        s in "\\PC{0,12}",
        letter in "[a-zA-Z]",
        digits in "[0-9]{6}",
    ) {
        if let Err(m) = Crn::parse(&s) {
            explains_text(&m)?;
        }
        let crn = Crn::parse(&format!(" {letter}{digits} ")).unwrap();
        prop_assert_eq!(crn.as_str(), format!("{}{digits}", letter.to_uppercase()));
        prop_assert_eq!(Crn::parse(crn.as_str()).unwrap(), crn);
    }

    #[test]
    fn pnc_ids_refuse_with_a_message(s in "[0-9]{0,5}/?[0-9]{0,9}\\PC{0,2}") {
        if let Err(m) = PncId::parse(&s) {
            explains_text(&m)?;
        }
    }

    /// The GOV.UK three-field date: a real date is accepted as itself, anything else is
    /// refused with a message naming what is wrong.
    #[test]
    fn govuk_dates_accept_real_dates_and_explain_the_rest(
        d in prop_oneof![(0u32..40).prop_map(|n| n.to_string()), value()],
        m in prop_oneof![(0u32..15).prop_map(|n| n.to_string()), value()],
        y in prop_oneof![(-5i32..10_000).prop_map(|n| n.to_string()), value()],
    ) {
        match crate::form::parse_date(&d, &m, &y, "date of birth") {
            Ok(date) => {
                let (dn, mn, yn) = (
                    d.trim().parse::<u32>().unwrap(),
                    m.trim().parse::<u32>().unwrap(),
                    y.trim().parse::<i32>().unwrap(),
                );
                prop_assert_eq!(Some(date), NaiveDate::from_ymd_opt(yn, mn, dn));
            }
            Err(msg) => {
                prop_assert!(msg.contains("date of birth"), "{}", msg);
            }
        }
    }

    #[test]
    fn emails_and_hcpc_numbers_never_panic(s in "\\PC{0,40}") {
        if let Err(m) = crate::users::forms::Email::parse(&s) {
            explains_text(&m)?;
        }
        if let Err(m) = crate::users::forms::parse_hcpc(&s) {
            explains_text(&m)?;
        }
    }

    #[test]
    fn times_weeks_and_working_days_never_panic(s in "\\PC{0,16}") {
        if let Err(m) = crate::sessions::forms::parse_time(&s) {
            explains_text(&m)?;
        }
        let _ = crate::sessions::diary::parse_week(&s);
        if let Err(m) = crate::sessions::calendar::WorkingDays::parse(&s) {
            explains_text(&m)?;
        }
        let _ = crate::referrals::model::Sort::parse(&s);
    }

    #[test]
    fn measure_answers_of_any_text_are_refused_question_by_question(
        instrument in prop::sample::select(Instrument::ALL),
        raw in prop::collection::vec(value(), 0..14),
    ) {
        let refs: Vec<&str> = raw.iter().map(String::as_str).collect();
        if let Err(errors) = crate::sessions::measures::parse_answers(instrument, &refs) {
            prop_assert!(!errors.is_empty());
            for (q, m) in errors {
                // One past the last question names answers beyond the instrument's end.
                prop_assert!(q >= 1 && q <= instrument.questions().len() + 1);
                explains_text(&m)?;
            }
        }
    }

    /// Any bytes at all as a form body: never a panic, and the CSRF token never reaches the
    /// answers.
    #[test]
    fn urlencoded_bodies_of_any_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..120)) {
        let raw = RawForm::from_urlencoded(&body);
        prop_assert!(!raw.0.contains_key("csrf_token"));
    }

    /// What a browser sends comes back whole: every name with every value, in order.
    #[test]
    fn urlencoded_forms_round_trip(
        pairs in prop::collection::vec(("[a-z_]{1,10}", "\\PC{0,12}"), 0..8),
    ) {
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        let raw = RawForm::from_urlencoded(body.as_bytes());
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs.into_iter().filter(|(k, _)| k != "csrf_token") {
            expected.entry(k).or_default().push(v);
        }
        prop_assert_eq!(raw.0, expected);
    }

    #[test]
    fn json_bodies_of_any_shape_never_panic(obj in prop::collection::btree_map("[a-z_]{1,14}", json_value(), 0..8)) {
        let map: serde_json::Map<String, serde_json::Value> = obj.into_iter().collect();
        let raw = RawForm::from_json(&map);
        for (k, v) in &map {
            if let serde_json::Value::String(s) = v {
                let is_date_part = ["_day", "_month", "_year"].iter().any(|p| k.ends_with(p));
                if !is_date_part {
                    prop_assert_eq!(raw.get(k), s.as_str());
                }
            }
        }
        // And a whole referral or transition read from it refuses with reasons.
        if let Err(e) = forms::parse_referral(&raw, &["a1".to_owned()], today()) {
            explains(&e)?;
        }
    }

    /// A referral with every question answered, mis-answered or left out: refused with
    /// reasons, or accepted and then read back to the same answers.
    #[test]
    fn referrals_refuse_with_reasons_and_accepted_ones_round_trip(raw in referral_form()) {
        let areas = vec!["a1".to_owned(), "a2".to_owned()];
        match forms::parse_referral(&raw, &areas, today()) {
            Ok(input) => {
                let again = forms::parse_referral(&input.to_raw(), &areas, today());
                prop_assert_eq!(again.as_ref().ok(), Some(&input), "{:?}", again);
            }
            Err(e) => explains(&e)?,
        }
    }

    #[test]
    fn every_transition_refuses_with_reasons(
        action in prop::sample::select(Action::ALL),
        raw in form(TRANSITION_FIELDS, TRANSITION_CODES),
    ) {
        if let Err(e) = forms::parse_transition(action, &raw, today()) {
            explains(&e)?;
        }
    }

    #[test]
    fn session_forms_refuse_with_reasons(
        raw in form(SESSION_FIELDS, SESSION_CODES),
        instrument in prop::sample::select(Instrument::ALL),
    ) {
        use crate::sessions::forms as f;
        if let Err(e) = f::parse_plan(&raw, now()) { explains(&e)?; }
        if let Err(e) = f::parse_move(&raw, now()) { explains(&e)?; }
        if let Err(e) = f::parse_add(&raw, now()) { explains(&e)?; }
        if let Err(e) = f::parse_cancel(&raw) { explains(&e)?; }
        if let Err(e) = f::parse_attendance(&raw) { explains(&e)?; }
        if let Err(e) = f::parse_measure(&raw, instrument) { explains(&e)?; }
        if let Err(e) = f::parse_report(&raw) { explains(&e)?; }
        if let Err(e) = f::parse_decision(&raw) { explains(&e)?; }
        if let Err(e) = f::parse_acknowledgement(&raw) { explains(&e)?; }
    }

    #[test]
    fn linked_requirement_forms_refuse_with_reasons(raw in form(LINKED_FIELDS, LINKED_CODES)) {
        use crate::linked::forms as f;
        if let Err(e) = f::parse_requirement(&raw, today()) { explains(&e)?; }
        if let Err(e) = f::parse_activity(&raw, today()) { explains(&e)?; }
        if let Err(e) = f::parse_status(&raw) { explains(&e)?; }
    }

    #[test]
    fn signposting_forms_refuse_with_reasons(raw in form(SIGNPOST_FIELDS, SIGNPOST_CODES)) {
        use crate::signposting::forms as f;
        if let Err(e) = f::parse_directory(&raw, &["a1".to_owned()]) { explains(&e)?; }
        if let Err(e) = f::parse_signpost(&raw, today()) { explains(&e)?; }
        if let Err(e) = f::parse_update(&raw, today()) { explains(&e)?; }
        if let Err(e) = f::parse_no_onward(&raw) { explains(&e)?; }
        if let Err(e) = f::parse_summary(&raw) { explains(&e)?; }
    }

    #[test]
    fn user_closure_and_capacity_forms_refuse_with_reasons(
        fields in prop::collection::vec(value(), 10),
        role in prop_oneof![Just("admin".to_owned()), Just("clinical_lead".to_owned()), value()],
        level in prop_oneof![Just("nppv2".to_owned()), Just("nppv3".to_owned()), value()],
        days in prop::collection::vec(prop_oneof![Just("mon".to_owned()), Just("fri".to_owned()), value()], 0..4),
    ) {
        let user = crate::users::forms::UserFormRaw {
            name: fields[0].clone(),
            email: fields[1].clone(),
            role,
            organisation_id: fields[2].clone(),
            areas: vec![fields[3].clone()],
            hcpc_number: fields[4].clone(),
            vetting_level: level,
            vetting_expires_on_day: fields[5].clone(),
            vetting_expires_on_month: fields[6].clone(),
            vetting_expires_on_year: fields[7].clone(),
        };
        if let Err(e) = crate::users::forms::parse_user(&user, &["o1".to_owned()], &["a1".to_owned()], today()) {
            explains(&e)?;
        }
        let closure = crate::sessions::closures::ClosureForm {
            closure_date_day: fields[5].clone(),
            closure_date_month: fields[6].clone(),
            closure_date_year: fields[7].clone(),
            description: fields[8].clone(),
        };
        if let Err(e) = closure.parse(today()) { explains(&e)?; }
        let capacity = crate::sessions::capacity::CapacityForm {
            sessions_per_week: fields[9].clone(),
            working_days: days,
        };
        if let Err(e) = capacity.parse() { explains(&e)?; }
    }
}
