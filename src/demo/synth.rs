//! Synthetic data at scale, for load testing and trying the reports: people, referrals
//! along the whole pathway with plausible drop-offs, their status history, treatment
//! sessions with attendance, outcome measures and onward signposting, across the nine
//! demo areas over five years, written to the real source tables together with their
//! reporting facts (derived by [`facts::derive`], the one definition, so they equal a
//! recount).
//!
//! Rows are generated on one thread, in referral date order, and written by another in
//! multi-row INSERTs, several thousand referrals to a transaction. Only for test and demo
//! databases: every person in it is made up.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::areas::{self, OrganisationKind};
use crate::audit::Actor;
use crate::db::DbConn;
use crate::db::bulk::{day, insert_rows, q};
use crate::db::schema::{areas as areas_t, directory_services, user_areas, users};
use crate::error::AppError;
use crate::referrals::codes::{CombinedWith, EntryPoint, Ethnicity, Sex};
use crate::referrals::state::{Action, Status};
use crate::reports::facts::{self, Fact, MonthCounts, Parts};
use crate::sessions::codes::{Outcome, SessionStatus};
use crate::sessions::measures::Instrument;
use crate::signposting::codes::{ServiceType, SignpostStatus};
use crate::users::forms::{Email, UserInput};
use crate::users::model::{Role, VettingLevel};

/// What to make.
#[derive(Debug, Clone)]
pub struct Options {
    pub referrals: usize,
    pub seed: u64,
    /// How many years back from today the referrals are spread over.
    pub years: i32,
    /// Referrals to a transaction.
    pub chunk: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            referrals: 2_000,
            seed: 1,
            years: 5,
            chunk: 5_000,
        }
    }
}

/// What was made.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub referrals: u64,
    pub history: u64,
    pub sessions: u64,
    pub measures: u64,
    pub signpostings: u64,
    pub seconds: f64,
}

/// Areas in rough proportion to their population.
const AREA_WEIGHTS: &[(&str, u32)] = &[
    ("E06000016", 35),
    ("E06000017", 3),
    ("E07000129", 8),
    ("E07000130", 14),
    ("E07000131", 7),
    ("E07000132", 9),
    ("E07000133", 4),
    ("E07000134", 8),
    ("E07000135", 5),
];

const ETHNICITY_WEIGHTS: &[(Option<Ethnicity>, u32)] = &[
    (Some(Ethnicity::British), 580),
    (Some(Ethnicity::OtherWhite), 50),
    (Some(Ethnicity::Irish), 10),
    (Some(Ethnicity::GypsyOrIrishTraveller), 10),
    (Some(Ethnicity::Roma), 5),
    (Some(Ethnicity::Indian), 110),
    (Some(Ethnicity::Pakistani), 25),
    (Some(Ethnicity::Bangladeshi), 10),
    (Some(Ethnicity::Chinese), 5),
    (Some(Ethnicity::OtherAsian), 20),
    (Some(Ethnicity::African), 25),
    (Some(Ethnicity::Caribbean), 20),
    (Some(Ethnicity::OtherBlack), 10),
    (Some(Ethnicity::WhiteAndBlackCaribbean), 20),
    (Some(Ethnicity::WhiteAndBlackAfrican), 5),
    (Some(Ethnicity::WhiteAndAsian), 5),
    (Some(Ethnicity::OtherMixed), 10),
    (Some(Ethnicity::Arab), 5),
    (Some(Ethnicity::AnyOther), 10),
    (None, 45),
];

const GIVEN: &[&str] = &[
    "Alex", "Sam", "Jordan", "Chris", "Daniel", "Aisha", "Kieran", "Priya", "Liam", "Chloe",
    "Mohammed", "Emma", "Jack", "Sophie", "Ryan", "Hannah", "Arjun", "Zara", "Tom", "Leah",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Patel", "Taylor", "Brown", "Khan", "Williams", "Wilson", "Davies", "Evans",
    "Mistry", "Walsh", "Hughes", "Begum", "Clarke", "O'Connor", "Hall", "Green", "Ahmed", "Wood",
];
const OFFENCES: &[&str] = &[
    "violence",
    "theft",
    "criminal_damage",
    "drugs",
    "public_order",
    "weapons",
    "fraud",
    "motoring",
    "miscellaneous",
    "other",
];
const END_REASONS: &[(&str, u32)] = &[
    ("disengaged", 40),
    ("breach", 18),
    ("custody", 10),
    ("moved_area", 8),
    ("unwell", 9),
    ("revoked", 5),
    ("died", 1),
    ("other", 9),
];
const SIGNPOST_STATUSES: &[(&str, u32)] = &[
    ("accepted", 50),
    ("referral_made", 25),
    ("declined", 15),
    ("not_needed", 10),
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (item, w) in items {
        if r < *w {
            return item;
        }
        r -= w;
    }
    &items[items.len() - 1].0
}

fn chance(rng: &mut StdRng, p: f64) -> bool {
    rng.random_bool(p)
}

// ------------------------------------------------------------------ SQL literals

fn qo(s: Option<&str>) -> String {
    s.map(q).unwrap_or_else(|| "NULL".into())
}

fn ts(t: NaiveDateTime) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

fn tso(t: Option<NaiveDateTime>) -> String {
    t.map(ts).unwrap_or_else(|| "NULL".into())
}

fn dayo(d: Option<NaiveDate>) -> String {
    d.map(day).unwrap_or_else(|| "NULL".into())
}

const PEOPLE_HEAD: &str = "INSERT INTO people (id, given_name, family_name, date_of_birth, sex, gender_identity, ethnicity, pnc_id, crn, area_id, gp_practice, communication_needs, interpreter_needed, language, merged_into_id, created_at, updated_at)";
const REFERRALS_HEAD: &str = "INSERT INTO referrals (id, reference, person_id, area_id, entry_point, status, version, created_by, responsible_officer_id, assessor_id, allocated_ap_id, offence_category, urgency, details, idempotency_key, submitted_at, updated_at, sentence_date, requirement_end_date, combined_with, closed_at)";
const HISTORY_HEAD: &str = "INSERT INTO referral_status_history (id, referral_id, action, from_status, to_status, actor_user_id, actor_name, at, summary, details)";
const SESSIONS_HEAD: &str = "INSERT INTO treatment_sessions (id, referral_id, area_id, ap_user_id, starts_at, minutes, mode, location, status, outcome, engagement_notes, summary_for_ro, recorded_by, recorded_at, change_party, change_reason, cancel_reason, changed_by, changed_at, replaces_id, added_for_id, version, created_by, created_at, updated_at)";
const MEASURES_HEAD: &str = "INSERT INTO outcome_measures (id, referral_id, session_id, instrument, stage, answers, total, risk, recorded_by, recorded_at)";
const SIGNPOST_HEAD: &str = "INSERT INTO signpostings (id, referral_id, service_id, signposted_on, status, reason, follow_up_on, version, created_by, created_at, updated_by, updated_at)";
const REFERRAL_MONTHS_HEAD: &str =
    "INSERT INTO report_referral_months (referral_id, month, area_id, booked, delivered, missed)";
const AREA_MONTHS_HEAD: &str =
    "INSERT INTO report_area_months (area_id, month, booked, delivered, missed)";
const AREA_MONTHS_TAIL: &str = "ON CONFLICT (area_id, month) DO UPDATE SET booked = report_area_months.booked + excluded.booked, delivered = report_area_months.delivered + excluded.delivered, missed = report_area_months.missed + excluded.missed";

// ------------------------------------------------------------------ set-up

#[derive(Debug, Clone)]
struct Staff {
    id: String,
    name: String,
}

#[derive(Debug, Clone)]
struct Setting {
    /// (area id, weight), in the order of [`AREA_WEIGHTS`].
    areas: Vec<(String, u32)>,
    /// Probation officers per area id.
    officers: BTreeMap<String, Vec<Staff>>,
    lead: Staff,
    /// Assistant psychologists per area id.
    aps: BTreeMap<String, Vec<Staff>>,
    /// Directory services (id and type) open to signposting.
    services: Vec<(String, ServiceType)>,
    today: NaiveDate,
    /// Where this run's references start.
    reference_base: u64,
}

fn staff_user(
    c: &mut DbConn,
    role: Role,
    name: &str,
    email: &str,
    org: &str,
    area_ids: Vec<String>,
    today: NaiveDate,
) -> Result<Staff, AppError> {
    if let Some(u) = crate::users::model::by_email(c, email)? {
        return Ok(Staff {
            id: u.id,
            name: u.name,
        });
    }
    let input = UserInput {
        name: name.to_owned(),
        email: Email::parse(email).map_err(AppError::Config)?,
        role,
        organisation_id: org.to_owned(),
        area_ids,
        hcpc_number: (role == Role::ClinicalLead).then(|| "PYL099999".to_owned()),
        vetting: Some((VettingLevel::Nppv2, today + Duration::days(365))),
    };
    let u = crate::users::service::create(
        c,
        &crate::users::model::AdminScope::everywhere(),
        &Actor::system("synthetic data"),
        &input,
        None,
    )?;
    Ok(Staff {
        id: u.id,
        name: u.name,
    })
}

/// Active staff of `role` who work in `area` and are not synthetic themselves.
fn existing_staff(c: &mut DbConn, role: Role, area: &str) -> Result<Vec<Staff>, AppError> {
    let rows: Vec<(String, String)> = users::table
        .inner_join(user_areas::table.on(user_areas::user_id.eq(users::id)))
        .filter(users::role.eq(role))
        .filter(user_areas::area_id.eq(area))
        .filter(users::disabled_at.is_null())
        .filter(users::email.not_like("%.synth.example"))
        .select((users::id, users::name))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| Staff { id, name })
        .collect())
}

/// Makes sure the nine areas, the organisations and the synthetic staff exist: one clinical
/// lead for everything, and enough probation officers and assistant psychologists in each
/// area for the cases and sessions the area will have, besides any staff already there.
fn prepare(c: &mut DbConn, opts: &Options) -> Result<Setting, AppError> {
    let today = crate::clock::today();
    crate::db::write_tx(c, |c| {
        for (code, name) in crate::demo::AREAS {
            if areas::find_area(c, code)?.is_none() {
                areas::insert_area(c, code, name)?;
            }
        }
        for (name, kind) in crate::demo::ORGANISATIONS {
            if areas::find_organisation(c, name)?.is_none() {
                areas::insert_organisation(c, name, *kind)?;
            }
        }
        let org = |c: &mut DbConn, kind: OrganisationKind| -> Result<String, AppError> {
            let name = crate::demo::ORGANISATIONS
                .iter()
                .find(|(_, k)| *k == kind)
                .map(|(n, _)| *n)
                .unwrap_or_default();
            Ok(areas::find_organisation(c, name)?
                .ok_or(AppError::NotFound)?
                .id)
        };
        let probation = org(c, OrganisationKind::Probation)?;
        let provider = org(c, OrganisationKind::MhtrProvider)?;
        let mut area_list = Vec::new();
        for (code, w) in AREA_WEIGHTS {
            let id: String = areas_t::table
                .filter(areas_t::code.eq(code))
                .select(areas_t::id)
                .first(c)?;
            area_list.push((id, *w));
        }
        let all: Vec<String> = area_list.iter().map(|(id, _)| id.clone()).collect();
        let lead = staff_user(
            c,
            Role::ClinicalLead,
            "Dr Synthetic Lead",
            "synthetic.lead@provider.synth.example",
            &provider,
            all.clone(),
            today,
        )?;
        // About nine sessions a referral, spread over the years; a practitioner offers some
        // 600 a year. A probation officer takes on some 150 referrals a year. Staff already
        // working in an area (the demo accounts, say) take their share of its cases too.
        let total_w: u32 = area_list.iter().map(|(_, w)| w).sum();
        let mut aps = BTreeMap::new();
        let mut officers = BTreeMap::new();
        for (i, (area, w)) in area_list.iter().enumerate() {
            let per_year = opts.referrals as f64 * f64::from(*w)
                / f64::from(total_w)
                / f64::from(opts.years.max(1));
            let mut list = existing_staff(c, Role::AssistantPsychologist, area)?;
            for k in 0..((per_year * 9.0 / 600.0).ceil() as usize).clamp(1, 2000) {
                list.push(staff_user(
                    c,
                    Role::AssistantPsychologist,
                    &format!("Synthetic Practitioner {}-{}", i + 1, k + 1),
                    &format!("synthetic.ap{}.{}@provider.synth.example", i + 1, k + 1),
                    &provider,
                    vec![area.clone()],
                    today,
                )?);
            }
            aps.insert(area.clone(), list);
            let mut list = existing_staff(c, Role::ProbationOfficer, area)?;
            for k in 0..((per_year / 150.0).ceil() as usize).clamp(1, 2000) {
                list.push(staff_user(
                    c,
                    Role::ProbationOfficer,
                    &format!("Synthetic Probation Officer {}-{}", i + 1, k + 1),
                    &format!("synthetic.po{}.{}@probation.synth.example", i + 1, k + 1),
                    &probation,
                    vec![area.clone()],
                    today,
                )?);
            }
            officers.insert(area.clone(), list);
        }
        let mut services: Vec<(String, ServiceType)> = directory_services::table
            .filter(directory_services::active.eq(true))
            .select((directory_services::id, directory_services::service_type))
            .load(c)?;
        if services.is_empty() {
            // A service of each type across all the areas, to signpost to.
            let now = crate::clock::now();
            for t in crate::signposting::codes::ServiceType::ALL {
                let id = crate::ids::new_id();
                insert_rows(
                    c,
                    "INSERT INTO directory_services (id, name, service_type, phone, email, website, address, active, created_by, created_at, updated_at)",
                    &[format!(
                        "({},{},{},NULL,NULL,NULL,NULL,TRUE,NULL,{},{})",
                        q(&id),
                        q(&format!("Synthetic {}", t.label())),
                        q(t.as_str()),
                        ts(now),
                        ts(now)
                    )],
                    "",
                )?;
                let rows: Vec<String> = all
                    .iter()
                    .map(|a| format!("({},{})", q(&id), q(a)))
                    .collect();
                insert_rows(
                    c,
                    "INSERT INTO directory_service_areas (service_id, area_id)",
                    &rows,
                    "",
                )?;
                services.push((id, *t));
            }
        }
        Ok(Setting {
            areas: area_list,
            officers,
            lead,
            aps,
            services,
            today,
            reference_base: rand::rng().random_range(0..300_000_000_000),
        })
    })
}

// ------------------------------------------------------------------ one referral

/// Rows for a batch of referrals, ready to write.
#[derive(Default)]
struct Chunk {
    people: Vec<String>,
    referrals: Vec<String>,
    history: Vec<String>,
    sessions: Vec<String>,
    measures: Vec<String>,
    signposts: Vec<String>,
    facts: Vec<Fact>,
    referral_months: Vec<String>,
    area_months: BTreeMap<(String, NaiveDate), MonthCounts>,
}

struct Gen<'a> {
    rng: StdRng,
    s: &'a Setting,
    now: NaiveDateTime,
}

fn answers(rng: &mut StdRng, items: usize, max: u32, total: i32) -> String {
    let mut a = vec![0u32; items];
    let mut left = total.max(0) as u32;
    // Item 9 of the PHQ-9 (thoughts of self-harm) is left at 0 so no risk alert is implied.
    let usable = if items == 9 { 8 } else { items };
    let cap = max * usable as u32;
    left = left.min(cap);
    while left > 0 {
        let i = rng.random_range(0..usable);
        if a[i] < max {
            a[i] += 1;
            left -= 1;
        }
    }
    a.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Gen<'_> {
    fn at(&mut self, d: NaiveDate) -> NaiveDateTime {
        d.and_hms_opt(
            self.rng.random_range(9..17),
            self.rng.random_range(0..60),
            self.rng.random_range(0..60),
        )
        .unwrap_or_else(|| d.and_hms_opt(12, 0, 0).unwrap_or_default())
    }

    /// A time of day `lo..=hi` days after `d`.
    fn after(&mut self, d: NaiveDate, lo: i64, hi: i64) -> NaiveDateTime {
        let gap = self.days(lo, hi);
        self.at(d + gap)
    }

    fn days(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::days(self.rng.random_range(lo..=hi))
    }

    #[allow(clippy::too_many_lines)]
    fn referral(&mut self, number: u64, submitted: NaiveDateTime, out: &mut Chunk) {
        let s = self.s;
        let area = pick(
            &mut self.rng,
            &s.areas
                .iter()
                .map(|(a, w)| (a.as_str(), *w))
                .collect::<Vec<_>>(),
        )
        .to_string();
        let referral_id = crate::ids::new_id();
        let person_id = crate::ids::new_id();
        let sex = if chance(&mut self.rng, 0.82) {
            Sex::Male
        } else {
            Sex::Female
        };
        let ethnicity = *pick(&mut self.rng, ETHNICITY_WEIGHTS);
        let age = 18 + (self.rng.random::<f64>().powf(1.7) * 55.0) as i64;
        let born = submitted.date() - Duration::days(age * 365 + self.rng.random_range(0..365));
        let entry = if chance(&mut self.rng, 0.45) {
            EntryPoint::Arrest
        } else {
            EntryPoint::Probation
        };
        let given = GIVEN[self.rng.random_range(0..GIVEN.len())];
        let family = FAMILY[self.rng.random_range(0..FAMILY.len())];
        out.people.push(format!(
            "({},{},{},{},{},'same_as_sex',{},NULL,{},{},NULL,NULL,FALSE,NULL,NULL,{},{})",
            q(&person_id),
            q(given),
            q(family),
            day(born),
            q(sex.as_str()),
            qo(ethnicity.map(|e| e.as_str())),
            q(&synthetic_crn(number, self.rng.random_range(0..1_000_000))),
            q(&area),
            ts(submitted),
            ts(submitted),
        ));

        // The pathway, step by step, until a step falls after today or it stops.
        let mut history: Vec<(Action, NaiveDateTime, String, String)> = Vec::new();
        let mut status = Status::Submitted;
        let mut statuses = vec![Status::Submitted];
        history.push((
            Action::Submit,
            submitted,
            format!("{} referral", entry.label()),
            format!(r#"{{"entry_point":"{}"}}"#, entry.as_str()),
        ));
        let now = self.now;
        let mut sentence: Option<NaiveDate> = None;
        let mut combined: Option<CombinedWith> = None;
        let mut assessor: Option<&Staff> = None;
        let mut allocated: Option<&Staff> = None;
        let mut sessions: Vec<(NaiveDateTime, SessionStatus, Option<Outcome>)> = Vec::new();
        let mut measures: Vec<(Instrument, i32)> = Vec::new();
        let mut signposted: Vec<(ServiceType, SignpostStatus)> = Vec::new();
        let aps = &s.aps[&area];
        let ap = &aps[self.rng.random_range(0..aps.len())];
        let officers = &s.officers[&area];
        let officer = &officers[self.rng.random_range(0..officers.len())];
        let lead = &s.lead;

        macro_rules! step {
            ($action:expr, $to:expr, $when:expr, $summary:expr, $details:expr) => {{
                let when: NaiveDateTime = $when;
                if when > now {
                    false
                } else {
                    history.push(($action, when, $summary, $details));
                    status = $to;
                    statuses.push($to);
                    true
                }
            }};
        }

        'pathway: {
            let t = self.after(submitted.date(), 1, 6);
            if !chance(&mut self.rng, 0.97) {
                break 'pathway;
            }
            if !chance(&mut self.rng, 0.9) {
                step!(
                    Action::Decline,
                    Status::Declined,
                    t,
                    String::new(),
                    "{}".into()
                );
                break 'pathway;
            }
            if !step!(
                Action::Accept,
                Status::Accepted,
                t,
                String::new(),
                "{}".into()
            ) {
                break 'pathway;
            }
            let booked_for = t.date() + self.days(3, 25);
            let t = self.after(t.date(), 1, 3);
            assessor = Some(ap);
            if !step!(
                Action::BookAssessment,
                Status::AssessmentBooked,
                t,
                format!("Assessment on {}", booked_for.format("%-d %B %Y")),
                format!(r#"{{"assessor_id":"{}","date":"{booked_for}"}}"#, ap.id)
            ) {
                break 'pathway;
            }
            if !chance(&mut self.rng, 0.93) {
                let t = self.at(booked_for);
                step!(
                    Action::Withdraw,
                    Status::Withdrawn,
                    t,
                    "Withdrawn: the person no longer wants to take part".into(),
                    r#"{"reason":"person_declined"}"#.into()
                );
                break 'pathway;
            }
            let assessed = booked_for;
            let t = self.at(assessed);
            if !step!(
                Action::RecordAssessment,
                Status::Assessed,
                t,
                format!("Assessed on {}", assessed.format("%-d %B %Y")),
                format!(r#"{{"date":"{assessed}"}}"#)
            ) {
                break 'pathway;
            }
            let t = self.after(assessed, 0, 3);
            if !chance(&mut self.rng, 0.86) {
                step!(
                    Action::RecordNotSuitable,
                    Status::NotSuitable,
                    t,
                    String::new(),
                    "{}".into()
                );
                break 'pathway;
            }
            if !step!(
                Action::RecordSuitable,
                Status::Suitable,
                t,
                String::new(),
                "{}".into()
            ) {
                break 'pathway;
            }
            let t = self.after(t.date(), 0, 4);
            if !chance(&mut self.rng, 0.92) {
                step!(
                    Action::WithdrawConsent,
                    Status::Withdrawn,
                    t,
                    "Consent withdrawn".into(),
                    "{}".into()
                );
                break 'pathway;
            }
            let consent = t.date();
            if !step!(
                Action::RecordConsent,
                Status::ConsentRecorded,
                t,
                format!("Consent given on {}", consent.format("%-d %B %Y")),
                format!(r#"{{"consent_date":"{consent}","date":"{consent}"}}"#)
            ) {
                break 'pathway;
            }
            let t = self.after(consent, 1, 7);
            let sent = t.date();
            if !step!(
                Action::SendReport,
                Status::ReportSent,
                t,
                format!("Report sent on {}", sent.format("%-d %B %Y")),
                format!(r#"{{"date":"{sent}"}}"#)
            ) {
                break 'pathway;
            }
            let hearing = sent + self.days(7, 45);
            let t = self.after(sent, 0, 3);
            if !step!(
                Action::AwaitSentence,
                Status::AwaitingSentence,
                t,
                format!("Sentencing hearing on {}", hearing.format("%-d %B %Y")),
                format!(r#"{{"date":"{hearing}"}}"#)
            ) {
                break 'pathway;
            }
            let t = self.at(hearing);
            if !chance(&mut self.rng, 0.84) {
                step!(
                    Action::RecordMhtrNotMade,
                    Status::MhtrNotMade,
                    t,
                    "MHTR not made".into(),
                    "{}".into()
                );
                break 'pathway;
            }
            let with = *pick(
                &mut self.rng,
                &[
                    (CombinedWith::None, 68),
                    (CombinedWith::Drr, 16),
                    (CombinedWith::Atr, 11),
                    (CombinedWith::DrrAndAtr, 5),
                ],
            );
            if t > now {
                break 'pathway;
            }
            sentence = Some(hearing);
            combined = Some(with);
            let ends = hearing + Duration::days(183);
            step!(
                Action::RecordMhtrMade,
                Status::MhtrMade,
                t,
                format!(
                    "Community order, sentenced {}, requirement ends {}. {}",
                    hearing.format("%-d %B %Y"),
                    ends.format("%-d %B %Y"),
                    with.label()
                ),
                format!(
                    r#"{{"combined_with":"{}","order_type":"co","requirement_end_date":"{ends}","sentence_date":"{hearing}","treatment_director_id":"{}"}}"#,
                    with.as_str(),
                    lead.id
                )
            );
            let t = self.after(hearing, 1, 7);
            let inducted = t.date();
            if !step!(
                Action::RecordInduction,
                Status::Inducted,
                t,
                format!("Inducted on {}", inducted.format("%-d %B %Y")),
                format!(r#"{{"date":"{inducted}"}}"#)
            ) {
                break 'pathway;
            }
            let t = self.after(inducted, 1, 5);
            if !step!(
                Action::AllocateAp,
                Status::Allocated,
                t,
                format!("Allocated to {}", ap.name),
                format!(r#"{{"ap_id":"{}"}}"#, ap.id)
            ) {
                break 'pathway;
            }
            allocated = Some(ap);
            let allocated_at = t;

            // Weekly sessions until twelve are attended or treatment ends early.
            let engagement: f64 = self.rng.random_range(0.6..0.98);
            let never_starts = chance(&mut self.rng, 0.06);
            let ends_early_after =
                chance(&mut self.rng, 0.24).then(|| self.rng.random_range(1..11));
            let first = (t.date() + self.days(5, 40))
                .and_hms_opt(self.rng.random_range(9..17), 0, 0)
                .unwrap_or(t);
            let mut slot = first;
            let mut attended = 0;
            let mut first_attended: Option<NaiveDateTime> = None;
            let mut last_attended: Option<(NaiveDateTime, String)> = None;
            let mut first_scores: Option<[i32; 3]> = None;
            let mut appointments: u32 = 0;
            let mut early = false;
            while attended < 12 && appointments < 24 {
                appointments += 1;
                let session_id = crate::ids::new_id();
                if slot > now {
                    // Booked ahead: the rest of the plan.
                    for k in 0..(12 - attended) {
                        let id = if k == 0 {
                            session_id.clone()
                        } else {
                            crate::ids::new_id()
                        };
                        out.sessions.push(session_row(
                            &id,
                            &referral_id,
                            &area,
                            ap,
                            slot,
                            SessionStatus::Booked,
                            None,
                            allocated_at,
                            None,
                        ));
                        sessions.push((slot, SessionStatus::Booked, None));
                        slot += Duration::days(7);
                    }
                    break;
                }
                let mut held = slot;
                let mut replaces = None;
                if chance(&mut self.rng, 0.06) {
                    // Moved at the person's request: the old one is kept as superseded.
                    let moved_at = slot - Duration::days(2);
                    out.sessions.push(format!(
                        "({},{},{},{},{},50,'in_person',NULL,'superseded',NULL,NULL,NULL,NULL,NULL,'person_on_probation','Asked to move it',NULL,{},{},NULL,NULL,2,{},{},{})",
                        q(&session_id),
                        q(&referral_id),
                        q(&area),
                        q(&ap.id),
                        ts(slot),
                        q(&ap.id),
                        ts(moved_at),
                        q(&ap.id),
                        ts(allocated_at),
                        ts(moved_at),
                    ));
                    sessions.push((slot, SessionStatus::Superseded, None));
                    replaces = Some(session_id.clone());
                    held = slot + Duration::days(2);
                }
                let id = if replaces.is_some() {
                    crate::ids::new_id()
                } else {
                    session_id
                };
                if held > now {
                    out.sessions.push(session_row(
                        &id,
                        &referral_id,
                        &area,
                        ap,
                        held,
                        SessionStatus::Booked,
                        None,
                        allocated_at,
                        replaces.as_deref(),
                    ));
                    sessions.push((held, SessionStatus::Booked, None));
                    slot += Duration::days(7);
                    continue;
                }
                let outcome = if never_starts && attended == 0 {
                    if chance(&mut self.rng, 0.5) {
                        Outcome::UnacceptableAbsence
                    } else {
                        Outcome::AcceptableAbsence
                    }
                } else if chance(&mut self.rng, 0.02) {
                    Outcome::ServiceLogistics
                } else if chance(&mut self.rng, engagement) {
                    if chance(&mut self.rng, 0.9) {
                        Outcome::Attended
                    } else {
                        Outcome::AttendedLate
                    }
                } else if chance(&mut self.rng, 0.5) {
                    Outcome::AcceptableAbsence
                } else {
                    Outcome::UnacceptableAbsence
                };
                out.sessions.push(session_row(
                    &id,
                    &referral_id,
                    &area,
                    ap,
                    held,
                    SessionStatus::Recorded,
                    Some(outcome),
                    allocated_at,
                    replaces.as_deref(),
                ));
                sessions.push((held, SessionStatus::Recorded, Some(outcome)));
                if outcome.attended() {
                    attended += 1;
                    if first_attended.is_none() {
                        first_attended = Some(held);
                        history.push((
                            Action::StartTreatment,
                            held + Duration::hours(1),
                            format!("First session on {}", held.date().format("%-d %B %Y")),
                            format!(r#"{{"date":"{}"}}"#, held.date()),
                        ));
                        status = Status::InTreatment;
                        statuses.push(status);
                        if chance(&mut self.rng, 0.92) {
                            let scores = [
                                self.rng.random_range(8..=23),
                                self.rng.random_range(6..=19),
                                self.rng.random_range(12..=33),
                            ];
                            let scores =
                                self.measures(&referral_id, &id, held, "first", scores, ap, out);
                            first_scores = Some(scores);
                            for (i, inst) in Instrument::ALL.iter().enumerate() {
                                measures.push((*inst, scores[i]));
                            }
                        }
                    }
                    last_attended = Some((held, id.clone()));
                }
                if never_starts && appointments >= 3 && attended == 0 {
                    let t = self.after(held.date(), 3, 14);
                    if step!(
                        Action::Withdraw,
                        Status::Withdrawn,
                        t,
                        "Withdrawn: did not engage".into(),
                        r#"{"reason":"person_declined"}"#.into()
                    ) {
                        let rest = (slot + Duration::days(7), 12 - appointments.min(12));
                        cancel_rest(&referral_id, &area, ap, allocated_at, rest, t, out);
                    }
                    break 'pathway;
                }
                if let Some(k) = ends_early_after
                    && attended >= k
                {
                    early = true;
                    break;
                }
                slot += Duration::days(7);
            }
            if first_attended.is_none() || (attended < 12 && !early) {
                break 'pathway;
            }
            let (last_at, last_id) = last_attended.unwrap_or_default();
            if let Some(scores) = first_scores
                && (attended >= 4 || !early)
            {
                let improves = chance(&mut self.rng, if early { 0.3 } else { 0.65 });
                let last = [
                    (scores[0]
                        - if improves {
                            self.rng.random_range(6..=13)
                        } else {
                            self.rng.random_range(-2..=4)
                        })
                    .max(0),
                    (scores[1]
                        - if improves {
                            self.rng.random_range(4..=10)
                        } else {
                            self.rng.random_range(-2..=3)
                        })
                    .max(0),
                    (scores[2]
                        - if improves {
                            self.rng.random_range(6..=15)
                        } else {
                            self.rng.random_range(-3..=5)
                        })
                    .max(0),
                ];
                if last_at > first_attended.unwrap_or_default() {
                    let last =
                        self.measures(&referral_id, &last_id, last_at, "last", last, ap, out);
                    for (i, inst) in Instrument::ALL.iter().enumerate() {
                        measures.push((*inst, last[i]));
                    }
                }
            }
            let end_on = last_at.date() + self.days(0, 10);
            let t = self.at(end_on);
            let (outcome, reason) = if early {
                ("ended_early", Some(*pick(&mut self.rng, END_REASONS)))
            } else {
                ("completed", None)
            };
            if !step!(
                Action::EndTreatment,
                Status::Ended,
                t,
                format!(
                    "{} on {}. {attended} sessions attended",
                    if early { "Ended early" } else { "Completed" },
                    end_on.format("%-d %B %Y")
                ),
                format!(
                    r#"{{"date":"{end_on}","end_outcome":"{outcome}","end_reason":{},"sessions_attended":{attended}}}"#,
                    reason
                        .map(|r| format!("\"{r}\""))
                        .unwrap_or_else(|| "null".into())
                )
            ) {
                break 'pathway;
            }
            if early {
                let rest = (slot + Duration::days(7), 12 - appointments.min(12));
                cancel_rest(&referral_id, &area, ap, allocated_at, rest, t, out);
            }
            if !s.services.is_empty() && chance(&mut self.rng, 0.75) {
                for _ in 0..self.rng.random_range(1..=2) {
                    let (service, kind) = &s.services[self.rng.random_range(0..s.services.len())];
                    let on = end_on - self.days(0, 7);
                    let st = *pick(&mut self.rng, SIGNPOST_STATUSES);
                    if let Some(status) = SignpostStatus::ALL.iter().find(|x| x.as_str() == st) {
                        signposted.push((*kind, *status));
                    }
                    out.signposts.push(format!(
                        "({},{},{},{},{},NULL,NULL,0,{},{},{},{})",
                        q(&crate::ids::new_id()),
                        q(&referral_id),
                        q(service),
                        day(on),
                        q(st),
                        q(&ap.id),
                        ts(self.at(on)),
                        q(&ap.id),
                        ts(self.at(on)),
                    ));
                }
            }
            let t = self.after(end_on, 3, 30);
            step!(Action::Close, Status::Closed, t, String::new(), "{}".into());
        }

        // The referral row and its history.
        let updated = history.last().map(|h| h.1).unwrap_or(submitted);
        let ends = sentence.map(|d| d + Duration::days(183));
        out.referrals.push(format!(
            "({},{},{},{},{},{},{},{},{},{},{},{},'routine',{},NULL,{},{},{},{},{},{})",
            q(&referral_id),
            q(&synthetic_reference(self.s.reference_base + number)),
            q(&person_id),
            q(&area),
            q(entry.as_str()),
            q(status.as_str()),
            history.len(),
            q(&officer.id),
            q(&officer.id),
            qo(assessor.map(|a| a.id.as_str())),
            qo(allocated.map(|a| a.id.as_str())),
            q(OFFENCES[self.rng.random_range(0..OFFENCES.len())]),
            q(r#"{"location_kind":null,"location":null,"ld_practitioner":null,"vulnerabilities":[],"next_court_date":null,"consent_to_share":null,"court":"Leicester Magistrates' Court","hearing_date":null,"needs":["anxiety","depression"],"other_need":null,"substance_misuse":false,"drr_atr":"none","rosh_level":"low","safeguarding_concerns":null,"risk_to_staff":false,"risk_to_staff_details":null,"session_mode":"in_person","preferred_times":null}"#),
            ts(submitted),
            ts(updated),
            dayo(sentence),
            dayo(ends),
            qo(combined.map(|c| c.as_str())),
            if status.is_final() {
                ts(updated)
            } else {
                "NULL".to_owned()
            },
        ));
        let mut from: Option<Status> = None;
        for (i, (action, at, summary, details)) in history.iter().enumerate() {
            let to = statuses[i];
            let actor = match action {
                Action::Submit
                | Action::AwaitSentence
                | Action::RecordMhtrMade
                | Action::RecordMhtrNotMade
                | Action::RecordInduction
                | Action::Withdraw => officer,
                Action::Accept
                | Action::Decline
                | Action::BookAssessment
                | Action::RecordSuitable
                | Action::RecordNotSuitable
                | Action::SendReport
                | Action::AllocateAp
                | Action::Close => lead,
                _ => ap,
            };
            out.history.push(format!(
                "({},{},{},{},{},{},{},{},{},{})",
                q(&crate::ids::new_id()),
                q(&referral_id),
                q(action.as_str()),
                qo(from.map(|f| f.as_str())),
                q(to.as_str()),
                q(&actor.id),
                q(&actor.name),
                ts(*at),
                q(summary),
                q(details),
            ));
            from = Some(to);
        }

        let parts = Parts {
            referral_id: referral_id.clone(),
            area_id: area.clone(),
            entry_point: entry,
            status,
            submitted_at: submitted,
            sentence_date: sentence,
            combined_with: combined,
            sex,
            ethnicity,
            born,
            history: history
                .into_iter()
                .map(|(a, at, _, d)| (a, at, d))
                .collect(),
            sessions,
            measures,
            signposted,
        };
        let (fact, months) = facts::derive(&parts);
        for (m, counts) in months {
            out.referral_months.push(format!(
                "({},{},{},{},{},{})",
                q(&referral_id),
                day(m),
                q(&area),
                counts.booked,
                counts.delivered,
                counts.missed
            ));
            let e = out.area_months.entry((area.clone(), m)).or_default();
            e.booked += counts.booked;
            e.delivered += counts.delivered;
            e.missed += counts.missed;
        }
        out.facts.push(fact);
    }

    #[allow(clippy::too_many_arguments)]
    fn measures(
        &mut self,
        referral_id: &str,
        session_id: &str,
        at: NaiveDateTime,
        stage: &str,
        scores: [i32; 3],
        ap: &Staff,
        out: &mut Chunk,
    ) -> [i32; 3] {
        let mut totals = [0; 3];
        for (i, inst) in Instrument::ALL.iter().enumerate() {
            let (items, max) = match inst {
                Instrument::Phq9 => (9, 3),
                Instrument::Gad7 => (7, 3),
                Instrument::Core10 => (10, 4),
            };
            let total = scores[i].min(if items == 9 { 24 } else { items as i32 * max });
            totals[i] = total;
            let a = answers(&mut self.rng, items, max as u32, total);
            out.measures.push(format!(
                "({},{},{},{},{},{},{},FALSE,{},{})",
                q(&crate::ids::new_id()),
                q(referral_id),
                q(session_id),
                q(inst.as_str()),
                q(stage),
                q(&a),
                total,
                q(&ap.id),
                ts(at + Duration::minutes(55 + i as i64)),
            ));
        }
        totals
    }
}

#[allow(clippy::too_many_arguments)]
fn session_row(
    id: &str,
    referral_id: &str,
    area: &str,
    ap: &Staff,
    at: NaiveDateTime,
    status: SessionStatus,
    outcome: Option<Outcome>,
    created: NaiveDateTime,
    replaces: Option<&str>,
) -> String {
    let recorded = outcome.map(|_| at + Duration::hours(1));
    format!(
        "({},{},{},{},{},50,'in_person',NULL,{},{},NULL,NULL,{},{},NULL,NULL,NULL,NULL,NULL,{},NULL,{},{},{},{})",
        q(id),
        q(referral_id),
        q(area),
        q(&ap.id),
        ts(at),
        q(status.as_str()),
        qo(outcome.map(|o| o.as_str())),
        qo(recorded.map(|_| ap.id.as_str())),
        tso(recorded),
        qo(replaces),
        if outcome.is_some() { 2 } else { 1 },
        q(&ap.id),
        ts(created),
        ts(recorded.unwrap_or(created)),
    )
}

/// The appointments of the 12-session plan still booked when treatment ends early or the
/// referral is withdrawn: `rest` is the first such slot and how many; they are cancelled
/// when it ends, as the service does, and kept (weekly from that slot) as cancelled.
fn cancel_rest(
    referral_id: &str,
    area: &str,
    ap: &Staff,
    planned: NaiveDateTime,
    rest: (NaiveDateTime, u32),
    ended: NaiveDateTime,
    out: &mut Chunk,
) {
    let (mut slot, n) = rest;
    for _ in 0..n {
        out.sessions.push(format!(
            "({},{},{},{},{},50,'in_person',NULL,'cancelled',NULL,NULL,NULL,NULL,NULL,'service','Treatment ended',NULL,{},{},NULL,NULL,2,{},{},{})",
            q(&crate::ids::new_id()),
            q(referral_id),
            q(area),
            q(&ap.id),
            ts(slot),
            q(&ap.id),
            ts(ended),
            q(&ap.id),
            ts(planned),
            ts(ended),
        ));
        slot += Duration::days(7);
    }
}

const REFERENCE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A reference in the usual form, from a number: a run counts up from a random start, so
/// its references never clash with each other.
fn synthetic_reference(mut n: u64) -> String {
    let base = REFERENCE_ALPHABET.len() as u64;
    let mut chars = [b'2'; 8];
    for c in chars.iter_mut().rev() {
        *c = REFERENCE_ALPHABET[(n % base) as usize];
        n /= base;
    }
    let s = String::from_utf8_lossy(&chars).into_owned();
    format!("MH-{}-{}", &s[..4], &s[4..])
}

/// A CRN for referral `number`: one of its own, as the probation service gives each person,
/// except for about one in a thousand (`draw` below 1,000) that has the previous referral's,
/// the person recorded twice (the data-quality page finds them where the dates of birth
/// differ).
fn synthetic_crn(number: u64, draw: u32) -> String {
    let n = if draw < 1_000 && number > 0 {
        number - 1
    } else {
        number
    };
    let letter = char::from(b'A' + ((n / 1_000_000) % 26) as u8);
    format!("{letter}{:06}", n % 1_000_000)
}

// ------------------------------------------------------------------ writing

fn write_chunk(c: &mut DbConn, chunk: &Chunk) -> Result<(), AppError> {
    insert_rows(c, PEOPLE_HEAD, &chunk.people, "")?;
    insert_rows(c, REFERRALS_HEAD, &chunk.referrals, "")?;
    insert_rows(c, HISTORY_HEAD, &chunk.history, "")?;
    insert_rows(c, SESSIONS_HEAD, &chunk.sessions, "")?;
    insert_rows(c, MEASURES_HEAD, &chunk.measures, "")?;
    insert_rows(c, SIGNPOST_HEAD, &chunk.signposts, "")?;
    crate::db::bulk_insert!(c, crate::db::schema::report_facts::table, chunk.facts);
    insert_rows(c, REFERRAL_MONTHS_HEAD, &chunk.referral_months, "")?;
    let area_months: Vec<String> = chunk
        .area_months
        .iter()
        .map(|((a, m), v)| {
            format!(
                "({},{},{},{},{})",
                q(a),
                day(*m),
                v.booked,
                v.delivered,
                v.missed
            )
        })
        .collect();
    insert_rows(c, AREA_MONTHS_HEAD, &area_months, AREA_MONTHS_TAIL)?;
    crate::reports::cube::add_facts(c, &chunk.facts)?;
    Ok(())
}

/// Settings for a fast bulk load, and back again.
fn bulk_mode(c: &mut DbConn, on: bool) -> Result<(), AppError> {
    match c {
        DbConn::Sqlite(s) => {
            if on {
                s.batch_execute(
                    "PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; \
                     PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
                )?;
            } else {
                s.batch_execute(crate::db::SQLITE_PRAGMAS)?;
                s.batch_execute("PRAGMA cache_size = -2000; PRAGMA analysis_limit = 1000; ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")?;
            }
        }
        DbConn::Pg(p) => {
            if on {
                p.batch_execute("SET synchronous_commit = off")?;
            } else {
                // VACUUM as well: it marks the pages all-visible, so the lists' counts and
                // pages are read from the indexes alone (index-only scans) from the first
                // request, not once autovacuum comes round.
                p.batch_execute("SET synchronous_commit = on")?;
                p.batch_execute("VACUUM ANALYZE")?;
            }
        }
    }
    Ok(())
}

/// Generates and writes the synthetic data. `progress` is told how far it has got.
pub fn run(
    c: &mut DbConn,
    opts: &Options,
    mut progress: impl FnMut(&Summary),
) -> Result<Summary, AppError> {
    let started = Instant::now();
    let setting = prepare(c, opts)?;
    let today = setting.today;
    let first_day = NaiveDate::from_ymd_opt(today.year() - opts.years, today.month(), 1)
        .unwrap_or(today - Duration::days(365 * i64::from(opts.years)));
    let span_secs = (today - first_day).num_seconds().max(1) as f64;
    let n = opts.referrals;
    let chunk_size = opts.chunk.max(1);
    let seed = opts.seed;
    let now = today.and_hms_opt(23, 59, 59).unwrap_or_default();
    let (tx, rx) = mpsc::sync_channel::<Chunk>(2);
    let gen_setting = setting.clone();
    let generator = std::thread::spawn(move || {
        let mut g = Gen {
            rng: StdRng::seed_from_u64(seed),
            s: &gen_setting,
            now,
        };
        let mut i = 0;
        while i < n {
            let mut chunk = Chunk::default();
            let end = (i + chunk_size).min(n);
            for k in i..end {
                // Evenly through the years, in date order, at office hours.
                let offset = (k as f64 + g.rng.random::<f64>()) / n as f64 * span_secs;
                let d = first_day + Duration::seconds(offset as i64);
                let submitted = g.at(d.min(today));
                g.referral(k as u64, submitted, &mut chunk);
            }
            if tx.send(chunk).is_err() {
                return;
            }
            i = end;
        }
    });
    bulk_mode(c, true)?;
    let mut summary = Summary::default();
    let result = (|| -> Result<(), AppError> {
        for chunk in rx.iter() {
            crate::db::write_tx(c, |c| write_chunk(c, &chunk))?;
            summary.referrals += chunk.referrals.len() as u64;
            summary.history += chunk.history.len() as u64;
            summary.sessions += chunk.sessions.len() as u64;
            summary.measures += chunk.measures.len() as u64;
            summary.signpostings += chunk.signposts.len() as u64;
            summary.seconds = started.elapsed().as_secs_f64();
            progress(&summary);
        }
        crate::quality::upkeep::backfill(c)?;
        crate::sessions::capacity::upkeep::backfill(c)?;
        Ok(())
    })();
    drop(rx);
    let _ = generator.join();
    bulk_mode(c, false)?;
    result?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_add_up_to_the_total_within_each_items_range() {
        let mut rng = StdRng::seed_from_u64(7);
        for total in [0, 5, 17, 24] {
            let a = answers(&mut rng, 9, 3, total);
            let v: Vec<u32> = a.split(',').map(|x| x.parse().unwrap()).collect();
            assert_eq!(v.len(), 9);
            assert_eq!(v.iter().sum::<u32>() as i32, total);
            assert!(v.iter().all(|x| *x <= 3));
            assert_eq!(v[8], 0);
        }
    }

    #[test]
    fn references_count_up_in_the_usual_form() {
        assert_eq!(synthetic_reference(0), "MH-2222-2222");
        assert_eq!(synthetic_reference(31), "MH-2222-2233");
        assert_ne!(synthetic_reference(5), synthetic_reference(6));
    }
}
