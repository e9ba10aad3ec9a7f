//! Data quality: the partnership's minimum standards for what partners record, checked over
//! the referrals in the viewer's scope. For each field the partnership requires
//! (`data_quality.required`), the share of records that have it, per organisation (whose
//! staff made the referral) and area, for all records and for those made last month and this
//! month (the trend on new records); values that contradict each other or break a format; and
//! every record that breaks a standard, listed for its organisation to fix. Clinical leads
//! see their areas; administrators their organisation's records in their areas (a
//! service-wide administrator every record); councillors the shares per organisation only,
//! never a record. Each view is recorded in the audit log.
//!
//! The figures are kept as records change ([`upkeep`]): each referral's standing is one row
//! ([`Fact`]), counted per area, organisation and month, so a view reads counts and the
//! first records to fix, never every referral.

pub mod upkeep;
pub mod web;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{areas, organisations, quality_facts};
use crate::error::AppError;
use crate::referrals::codes::{EntryPoint, GenderIdentity, Sex};
use crate::referrals::forms::{Crn, PncId};
use crate::referrals::model::Viewer;
use crate::referrals::state::Status;
use crate::reports::facts::first_of_month;
use crate::users::model::Role;

/// A field the partnership may require, with the records it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    PncId,
    Crn,
    Ethnicity,
    Sex,
    GenderIdentity,
    GpPractice,
    SentenceDate,
    RequirementEndDate,
}

impl Field {
    pub const ALL: &'static [Field] = &[
        Field::PncId,
        Field::Crn,
        Field::Ethnicity,
        Field::Sex,
        Field::GenderIdentity,
        Field::GpPractice,
        Field::SentenceDate,
        Field::RequirementEndDate,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Field::PncId => "pnc_id",
            Field::Crn => "crn",
            Field::Ethnicity => "ethnicity",
            Field::Sex => "sex",
            Field::GenderIdentity => "gender_identity",
            Field::GpPractice => "gp_practice",
            Field::SentenceDate => "sentence_date",
            Field::RequirementEndDate => "requirement_end_date",
        }
    }

    /// The field's bit in [`Fact::applies`] and [`Fact::missing`] (stored: never renumber).
    pub fn bit(self) -> i32 {
        1 << Field::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }

    /// The bits of some fields together.
    pub fn mask(fields: &[Field]) -> i32 {
        fields.iter().fold(0, |m, f| m | f.bit())
    }

    pub fn parse(code: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::PncId => "PNC ID",
            Field::Crn => "CRN (probation referrals)",
            Field::Ethnicity => "Ethnic group stated",
            Field::Sex => "Sex recorded",
            Field::GenderIdentity => "Gender identity recorded",
            Field::GpPractice => "GP practice",
            Field::SentenceDate => "Sentence date (orders made)",
            Field::RequirementEndDate => "Requirement end date (orders made)",
        }
    }

    /// Whether the field is expected of this record at all.
    fn applies(self, r: &Record) -> bool {
        match self {
            Field::Crn => r.entry_point == EntryPoint::Probation,
            Field::SentenceDate | Field::RequirementEndDate => {
                r.status.has_order() || matches!(r.status, Status::Ended | Status::Closed)
            }
            _ => true,
        }
    }

    fn has(self, r: &Record) -> bool {
        match self {
            Field::PncId => r.pnc_id.is_some(),
            Field::Crn => r.crn.is_some(),
            Field::Ethnicity => r.has_ethnicity,
            Field::Sex => r.sex != Sex::NotRecorded,
            Field::GenderIdentity => r.gender_identity != GenderIdentity::NotRecorded,
            Field::GpPractice => r.has_gp,
            Field::SentenceDate => r.sentence_date.is_some(),
            Field::RequirementEndDate => r.requirement_end_date.is_some(),
        }
    }
}

/// The required fields named in the settings, or what is wrong with a name.
pub fn required_fields(codes: &[String]) -> Result<Vec<Field>, String> {
    codes
        .iter()
        .map(|c| {
            Field::parse(c.trim()).ok_or_else(|| {
                format!(
                    "data_quality.required: '{c}' is not a field the service checks (fields: {})",
                    Field::ALL
                        .iter()
                        .map(|f| f.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

/// One referral as the checks read it: no names; the date of birth only to compare the
/// records of one person.
struct Record {
    id: String,
    reference: String,
    area_id: String,
    organisation_id: String,
    entry_point: EntryPoint,
    status: Status,
    submitted_on: NaiveDate,
    sentence_date: Option<NaiveDate>,
    requirement_end_date: Option<NaiveDate>,
    person_id: String,
    pnc_id: Option<String>,
    crn: Option<String>,
    has_ethnicity: bool,
    sex: Sex,
    gender_identity: GenderIdentity,
    has_gp: bool,
}

/// A PNC ID that breaks its format ([`Fact::bad`]).
const BAD_PNC: i32 = 1;
/// A CRN that breaks its format.
const BAD_CRN: i32 = 2;

/// One referral's standing against the standards, as kept in `quality_facts`: which fields
/// apply to it, which of those it lacks, which identifiers are malformed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = quality_facts)]
pub struct Fact {
    pub referral_id: String,
    pub reference: String,
    pub area_id: String,
    pub organisation_id: String,
    /// The first day of the month the referral was made (UK time).
    pub month: NaiveDate,
    pub person_id: String,
    pub applies: i32,
    pub missing: i32,
    pub bad: i32,
}

/// A referral's standing, pure.
fn derive(r: &Record) -> Fact {
    let mut applies = 0;
    let mut missing = 0;
    for f in Field::ALL {
        if f.applies(r) {
            applies |= f.bit();
            if !f.has(r) {
                missing |= f.bit();
            }
        }
    }
    let mut bad = 0;
    if r.pnc_id
        .as_deref()
        .is_some_and(|p| PncId::parse(p).is_err())
    {
        bad |= BAD_PNC;
    }
    if r.crn.as_deref().is_some_and(|v| Crn::parse(v).is_err()) {
        bad |= BAD_CRN;
    }
    Fact {
        referral_id: r.id.clone(),
        reference: r.reference.clone(),
        area_id: r.area_id.clone(),
        organisation_id: r.organisation_id.clone(),
        month: first_of_month(r.submitted_on),
        person_id: r.person_id.clone(),
        applies,
        missing,
        bad,
    }
}

/// The kind of a counted row: which fields apply, are missing, are malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kind {
    pub applies: i32,
    pub missing: i32,
    pub bad: i32,
}

impl Kind {
    fn of(f: &Fact) -> Kind {
        Kind {
            applies: f.applies,
            missing: f.missing,
            bad: f.bad,
        }
    }

    /// Whether a record of this kind breaks a standard, given the required fields' mask
    /// (leaving aside its area and its person).
    fn breaks(self, required: i32) -> bool {
        self.missing & required != 0 || self.bad != 0
    }
}

/// Counted rows in scope: (area, organisation, month or `None` for all time, kind) and how
/// many records.
type Counts = Vec<(String, String, Option<NaiveDate>, Kind, i64)>;

/// The share of records in scope of a field that have it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Share {
    pub have: usize,
    pub of: usize,
}

/// As the page and the API read it: the counts and [`Share::percent`] as `per_cent`.
impl Serialize for Share {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Share", 3)?;
        out.serialize_field("have", &self.have)?;
        out.serialize_field("of", &self.of)?;
        out.serialize_field("per_cent", &self.percent())?;
        out.end()
    }
}

impl Share {
    /// `records` records of a kind: counted where the field applies, had where not missing.
    fn add(&mut self, field: Field, kind: Kind, records: usize) {
        if kind.applies & field.bit() != 0 {
            self.of += records;
            if kind.missing & field.bit() == 0 {
                self.have += records;
            }
        }
    }

    /// Whole per cent, rounded down (so 99.6% never reads as complete); `None` with no
    /// records.
    pub fn percent(&self) -> Option<usize> {
        (self.of > 0).then(|| self.have * 100 / self.of)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldRow {
    pub field: Field,
    pub label: &'static str,
    pub all: Share,
    pub last_month: Share,
    pub this_month: Share,
}

/// The shares of one organisation in one area (or, for councillors, across their areas).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub organisation: String,
    /// Empty where the group spans the viewer's areas.
    pub area: String,
    pub records: usize,
    pub fields: Vec<FieldRow>,
}

/// A record that breaks a standard, and how.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub referral_id: String,
    pub reference: String,
    pub organisation: String,
    pub area: String,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quality {
    pub required: Vec<&'static str>,
    pub this_month: String,
    pub last_month: String,
    pub records: usize,
    pub groups: Vec<Group>,
    /// How many records break a standard: a missing required field, a value in a bad
    /// format, an area taken off the list, or a person recorded twice with two dates of
    /// birth. 0 for councillors.
    pub findings_total: usize,
    /// Those records in reference order: the first [`Limit`] of them. Empty for councillors.
    pub findings: Vec<Finding>,
    /// Whether the viewer sees records at all (not a councillor).
    pub lists_records: bool,
}

/// How many records to fix a view lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    First(usize),
    All,
}

/// The first days of this month and last month: new records are compared by them.
fn months(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let this_month = first_of_month(today);
    (
        this_month,
        first_of_month(this_month - chrono::Duration::days(1)),
    )
}

/// The shares per group from counted rows, pure. Rows with a month count towards that
/// month's column (this month's or last month's); rows without, towards all records.
fn groups(
    counts: &Counts,
    required: &[Field],
    today: NaiveDate,
    by_area: bool,
    names: &Names,
) -> Vec<Group> {
    let (this_month, last_month) = months(today);
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for (area_id, organisation_id, month, kind, records) in counts {
        let records = usize::try_from(*records).unwrap_or(0);
        if records == 0 {
            continue;
        }
        let organisation = names.organisation(organisation_id);
        let area = if by_area {
            names.area(area_id)
        } else {
            String::new()
        };
        let g = groups
            .entry((organisation.clone(), area.clone()))
            .or_insert_with(|| Group {
                organisation,
                area,
                records: 0,
                fields: required
                    .iter()
                    .map(|f| FieldRow {
                        field: *f,
                        label: f.label(),
                        all: Share::default(),
                        last_month: Share::default(),
                        this_month: Share::default(),
                    })
                    .collect(),
            });
        if month.is_none() {
            g.records += records;
        }
        for row in g.fields.iter_mut() {
            let share = match month {
                None => &mut row.all,
                Some(m) if *m == this_month => &mut row.this_month,
                Some(m) if *m == last_month => &mut row.last_month,
                Some(_) => continue,
            };
            share.add(row.field, *kind, records);
        }
    }
    groups.into_values().filter(|g| g.records > 0).collect()
}

/// What is wrong with one record, in words, pure: the required fields it lacks (in the
/// order required), malformed identifiers, an area taken off the list, and the references
/// of the same person's other records with another date of birth.
fn problems(
    fact: &Fact,
    required: &[Field],
    area_active: bool,
    same_person: Option<&Vec<String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for f in required {
        if fact.applies & fact.missing & f.bit() != 0 {
            out.push(format!("{} missing", f.label()));
        }
    }
    if fact.bad & BAD_PNC != 0 {
        out.push("PNC ID not in the PNC format, or its check letter is wrong".into());
    }
    if fact.bad & BAD_CRN != 0 {
        out.push("CRN not in the CRN format (a letter and six digits)".into());
    }
    if !area_active {
        out.push("Area no longer on the list of areas".into());
    }
    if let Some(others) = same_person {
        out.push(format!(
            "The same person as {} (same PNC ID or CRN) with another date of birth",
            others.join(", ")
        ));
    }
    out
}

/// One record of a person who may be recorded twice: what the comparison reads.
struct Holder {
    person_id: String,
    reference: String,
    pnc_id: Option<String>,
    crn: Option<String>,
    born: NaiveDate,
}

/// The people holding one identifier: person id → (date of birth, their references).
type PeopleOf<'a> = BTreeMap<&'a str, (NaiveDate, Vec<&'a str>)>;

/// People recorded twice (the same PNC ID or CRN on two person records) with different dates
/// of birth: for each such person, the references of the other's records. The dates
/// themselves are not shown.
fn conflicting_people(records: &[Holder]) -> HashMap<String, Vec<String>> {
    // Each identifier's people (by person id, with their date of birth and references).
    let mut by_id: BTreeMap<(&str, &str), PeopleOf<'_>> = BTreeMap::new();
    for r in records {
        for (kind, value) in [("pnc", &r.pnc_id), ("crn", &r.crn)] {
            if let Some(v) = value {
                by_id
                    .entry((kind, v.as_str()))
                    .or_default()
                    .entry(r.person_id.as_str())
                    .or_insert_with(|| (r.born, Vec::new()))
                    .1
                    .push(r.reference.as_str());
            }
        }
    }
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for people in by_id.values() {
        let mut births = people.values().map(|p| p.0);
        let first = births.next();
        if births.all(|b| Some(b) == first) {
            continue;
        }
        for (me, (born, _)) in people {
            let others = out.entry((*me).to_owned()).or_default();
            for (other, (their_born, refs)) in people {
                if other != me && their_born != born {
                    others.extend(refs.iter().map(|r| (*r).to_owned()));
                }
            }
            others.sort();
            others.dedup();
        }
    }
    out.retain(|_, v| !v.is_empty());
    out
}

/// Names of organisations and areas, and which areas are still on the list.
struct Names {
    organisations: HashMap<String, String>,
    areas: HashMap<String, (String, bool)>,
}

impl Names {
    fn load(c: &mut DbConn) -> Result<Names, AppError> {
        Ok(Names {
            organisations: organisations::table
                .select((organisations::id, organisations::name))
                .load::<(String, String)>(c)?
                .into_iter()
                .collect(),
            areas: areas::table
                .select((areas::id, areas::name, areas::active))
                .load::<(String, String, bool)>(c)?
                .into_iter()
                .map(|(id, name, active)| (id, (name, active)))
                .collect(),
        })
    }

    fn organisation(&self, id: &str) -> String {
        self.organisations
            .get(id)
            .cloned()
            .unwrap_or_else(|| "No organisation".into())
    }

    fn area(&self, id: &str) -> String {
        self.areas.get(id).map(|a| a.0.clone()).unwrap_or_default()
    }

    fn area_active(&self, id: &str) -> bool {
        self.areas.get(id).is_some_and(|a| a.1)
    }
}

/// Which records a viewer checks: those in some areas (or all), made by one organisation's
/// staff (or any).
pub struct Scope {
    /// `None`: every area.
    pub areas: Option<Vec<String>>,
    pub organisation: Option<String>,
}

impl Scope {
    /// The data-quality scope, its one statement (the kept figures are read by area and
    /// organisation, not through the referrals' scope): clinical leads and councillors their
    /// areas; administrators their organisation's records (those its staff made) in their
    /// areas, a service-wide administrator every record; no one else anything.
    fn of(viewer: &Viewer) -> Result<Scope, AppError> {
        match viewer.role {
            Role::Admin if viewer.service_wide => Ok(Scope {
                areas: None,
                organisation: None,
            }),
            Role::Admin => Ok(Scope {
                areas: Some(viewer.area_ids.clone()),
                organisation: Some(viewer.organisation_id.clone()),
            }),
            Role::ClinicalLead | Role::Councillor => Ok(Scope {
                areas: Some(viewer.area_ids.clone()),
                organisation: None,
            }),
            _ => Err(AppError::Forbidden),
        }
    }
}

/// The data-quality view for `viewer`, recorded in the audit log as a consultation (it names
/// referrals by reference). Clinical leads, administrators and councillors only.
pub fn view(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    required: &[Field],
    today: NaiveDate,
    limit: Limit,
) -> Result<Quality, AppError> {
    let scope = Scope::of(viewer)?;
    let lists_records = viewer.role != Role::Councillor;
    let names = Names::load(c)?;
    let (this_month, last_month) = months(today);
    let counts = upkeep::counts(c, &scope, &[last_month, this_month])?;
    let groups = groups(&counts, required, today, lists_records, &names);
    let records: usize = groups.iter().map(|g| g.records).sum();
    let (findings_total, findings) = if lists_records {
        findings(c, &scope, &counts, required, &names, limit)?
    } else {
        (0, Vec::new())
    };
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Consultation, "data_quality.viewed").details(
            serde_json::json!({ "records": records, "findings": findings_total, "listed": findings.len(), "required": required.iter().map(|f| f.code()).collect::<Vec<_>>() }),
        ),
    )?;
    Ok(Quality {
        required: required.iter().map(|f| f.code()).collect(),
        this_month: this_month.format("%B %Y").to_string(),
        last_month: last_month.format("%B %Y").to_string(),
        records,
        groups,
        findings_total,
        findings,
        lists_records,
    })
}

/// How many records in scope break a standard, and the first of them (by reference) with
/// what to fix. Counted from the kept counts; a person recorded twice is compared only
/// among the records in scope, so no one learns of a record outside it.
fn findings(
    c: &mut DbConn,
    scope: &Scope,
    counts: &Counts,
    required: &[Field],
    names: &Names,
    limit: Limit,
) -> Result<(usize, Vec<Finding>), AppError> {
    let mask = Field::mask(required);
    let breaks = |f: &Fact| Kind::of(f).breaks(mask) || !names.area_active(&f.area_id);
    let mut total: usize = counts
        .iter()
        .filter(|(area, _, month, kind, _)| {
            month.is_none() && (kind.breaks(mask) || !names.area_active(area))
        })
        .map(|(_, _, _, _, n)| usize::try_from(*n).unwrap_or(0))
        .sum();
    let twice = upkeep::recorded_twice(c, scope)?;
    let same_person = conflicting_people(&twice.holders);
    let mut listed: BTreeMap<String, Fact> = BTreeMap::new();
    for fact in twice.facts {
        if same_person.contains_key(&fact.person_id) {
            if !breaks(&fact) {
                total += 1;
            }
            listed.insert(fact.reference.clone(), fact);
        }
    }
    let inactive: Vec<&str> = names
        .areas
        .iter()
        .filter(|(_, (_, active))| !active)
        .map(|(id, _)| id.as_str())
        .collect();
    for fact in upkeep::breaking(c, scope, mask, &inactive, limit)? {
        listed.insert(fact.reference.clone(), fact);
    }
    let listed = listed
        .into_values()
        .filter(|f| breaks(f) || same_person.contains_key(&f.person_id));
    let listed: Vec<Finding> = match limit {
        Limit::First(n) => listed.take(n).collect::<Vec<_>>(),
        Limit::All => listed.collect(),
    }
    .into_iter()
    .map(|f| Finding {
        problems: problems(
            &f,
            required,
            names.area_active(&f.area_id),
            same_person.get(&f.person_id),
        ),
        organisation: names.organisation(&f.organisation_id),
        area: names.area(&f.area_id),
        referral_id: f.referral_id,
        reference: f.reference,
    })
    .collect();
    Ok((total, listed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn record(reference: &str, person: &str, org: &str, made: NaiveDate) -> Record {
        Record {
            id: format!("id-{reference}"),
            reference: reference.into(),
            area_id: "a1".into(),
            organisation_id: org.into(),
            entry_point: EntryPoint::Probation,
            status: Status::Submitted,
            submitted_on: made,
            sentence_date: None,
            requirement_end_date: None,
            person_id: person.into(),
            pnc_id: Some("2006/0123456G".into()),
            crn: Some("A123456".into()),
            has_ethnicity: true,
            sex: Sex::Female,
            gender_identity: GenderIdentity::SameAsSex,
            has_gp: true,
        }
    }

    fn names() -> Names {
        Names {
            organisations: [("o1".to_owned(), "Probation".to_owned())].into(),
            areas: [
                ("a1".to_owned(), ("Rutland".to_owned(), true)),
                ("a2".to_owned(), ("Old district".to_owned(), false)),
            ]
            .into(),
        }
    }

    /// The facts counted as the tables keep them: all time, and per month.
    fn counted(facts: &[Fact]) -> Counts {
        let mut all: BTreeMap<(String, String, Kind), i64> = BTreeMap::new();
        let mut monthly: BTreeMap<(String, String, NaiveDate, Kind), i64> = BTreeMap::new();
        for f in facts {
            let k = Kind::of(f);
            *all.entry((f.area_id.clone(), f.organisation_id.clone(), k))
                .or_default() += 1;
            *monthly
                .entry((f.area_id.clone(), f.organisation_id.clone(), f.month, k))
                .or_default() += 1;
        }
        all.into_iter()
            .map(|((a, o, k), n)| (a, o, None, k, n))
            .chain(
                monthly
                    .into_iter()
                    .map(|((a, o, m, k), n)| (a, o, Some(m), k, n)),
            )
            .collect()
    }

    #[test]
    fn shares_count_only_the_records_a_field_applies_to_and_split_by_month() {
        let today = d(2026, 12, 6);
        let mut a = record("R1", "p1", "o1", d(2026, 12, 1));
        a.has_gp = false;
        a.sex = Sex::NotRecorded;
        let mut b = record("R2", "p2", "o1", d(2026, 11, 20));
        b.entry_point = EntryPoint::Arrest;
        b.crn = None;
        b.status = Status::InTreatment;
        b.sentence_date = Some(d(2026, 11, 25));
        b.pnc_id = Some("2010/0765432X".into());
        let c = record("R3", "p3", "o1", d(2025, 1, 1));
        let facts: Vec<Fact> = [a, b, c].iter().map(derive).collect();
        let required = [
            Field::GpPractice,
            Field::Crn,
            Field::Sex,
            Field::SentenceDate,
        ];
        let groups = groups(&counted(&facts), &required, today, true, &names());
        assert_eq!(groups.len(), 1);
        let g = &groups[0];
        assert_eq!(
            (g.organisation.as_str(), g.area.as_str(), g.records),
            ("Probation", "Rutland", 3)
        );
        let row = |f: Field| g.fields.iter().find(|r| r.field == f).unwrap();
        let gp = row(Field::GpPractice);
        assert_eq!((gp.all.have, gp.all.of, gp.all.percent()), (2, 3, Some(66)));
        assert_eq!((gp.this_month.have, gp.this_month.of), (0, 1));
        assert_eq!((gp.last_month.have, gp.last_month.of), (1, 1));
        // A CRN is asked of probation referrals only; a sentence date once an order is made.
        assert_eq!(row(Field::Crn).all.of, 2);
        assert_eq!(
            (
                row(Field::SentenceDate).all.have,
                row(Field::SentenceDate).all.of
            ),
            (1, 1)
        );
        assert_eq!(row(Field::Sex).all.have, 2);
        let problems_of = |r: &str| {
            let f = facts.iter().find(|f| f.reference == r).unwrap();
            problems(f, &required, true, None)
        };
        assert_eq!(
            problems_of("R1"),
            vec!["GP practice missing", "Sex recorded missing"]
        );
        assert_eq!(
            problems_of("R2"),
            vec!["PNC ID not in the PNC format, or its check letter is wrong"]
        );
        assert!(problems_of("R3").is_empty());
        // Whether a record breaks a standard follows what is required: R1 lacks a GP
        // practice, which breaks only while it is required.
        let r1 = Kind::of(&facts[0]);
        assert!(r1.breaks(Field::mask(&required)));
        assert!(!r1.breaks(Field::mask(&[Field::Crn, Field::PncId])));
        assert!(
            Kind::of(&facts[1]).breaks(0),
            "a malformed PNC ID always breaks"
        );
    }

    #[test]
    fn one_person_recorded_twice_with_two_dates_of_birth_is_found_without_showing_them() {
        let holder = |reference: &str, person: &str, born: NaiveDate| Holder {
            person_id: person.into(),
            reference: reference.into(),
            pnc_id: Some("2006/0123456G".into()),
            crn: Some("A123456".into()),
            born,
        };
        let a = holder("R1", "p1", d(1990, 1, 1));
        let b = holder("R2", "p2", d(1991, 1, 1));
        // The same person id with the same date: not a conflict.
        let c = holder("R3", "p1", d(1990, 1, 1));
        let same = conflicting_people(&[a, b, c]);
        assert_eq!(same["p1"], vec!["R2"]);
        assert_eq!(same["p2"], vec!["R1", "R3"]);
        let mut fact = derive(&record("R2", "p2", "o1", d(2026, 2, 1)));
        fact.area_id = "a2".into();
        let said = problems(&fact, &[], names().area_active("a2"), same.get("p2"));
        assert_eq!(
            said,
            vec![
                "Area no longer on the list of areas",
                "The same person as R1, R3 (same PNC ID or CRN) with another date of birth"
            ]
        );
        assert!(!said.join(" ").contains("1990"));
        // Two people with one date of birth between them are not a conflict.
        let same = conflicting_people(&[
            holder("R1", "p1", d(1990, 1, 1)),
            holder("R2", "p2", d(1990, 1, 1)),
        ]);
        assert!(same.is_empty());
    }

    #[test]
    fn every_field_code_reads_back_has_a_bit_of_its_own_and_unknown_ones_are_named() {
        for f in Field::ALL {
            assert_eq!(Field::parse(f.code()), Some(*f));
        }
        assert_eq!(Field::mask(Field::ALL), 0b1111_1111);
        let err = required_fields(&["pnc_id".into(), "shoe_size".into()]).unwrap_err();
        assert!(
            err.contains("shoe_size") && err.contains("gp_practice"),
            "{err}"
        );
    }
}
