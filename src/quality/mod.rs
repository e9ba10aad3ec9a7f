//! Data quality: the partnership's minimum standards for what partners record, checked over
//! the referrals in the viewer's scope. For each field the partnership requires
//! (`data_quality.required`), the share of records that have it, per organisation (whose
//! staff made the referral) and area, for all records and for those made last month and this
//! month (the trend on new records); values that contradict each other or break a format; and
//! every record that breaks a standard, listed for its organisation to fix. Clinical leads
//! see their areas; administrators their organisation's records in their areas (a
//! service-wide administrator every record); councillors the shares per organisation only,
//! never a record. Each view is recorded in the audit log.

pub mod web;

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{areas, organisations, people, referrals, users};
use crate::error::AppError;
use crate::referrals::codes::{EntryPoint, Ethnicity, GenderIdentity, Sex};
use crate::referrals::forms::{Crn, PncId};
use crate::referrals::model::{Purpose, Viewer, scoped};
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

/// One referral as the checks read it: no names, no dates of birth.
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
    /// Compared between records of one person, never shown.
    born: NaiveDate,
}

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
    fn add(&mut self, has: bool) {
        self.of += 1;
        if has {
            self.have += 1;
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
    /// Records breaking a standard: a missing required field, a value in a bad format, or a
    /// person recorded twice with two dates of birth. Empty for councillors.
    pub findings: Vec<Finding>,
    /// Whether the viewer sees records at all (not a councillor).
    pub lists_records: bool,
}

/// Loads the referrals in the viewer's data-quality scope.
fn records(c: &mut DbConn, viewer: &Viewer) -> Result<Vec<Record>, AppError> {
    type Row = (
        String,
        String,
        String,
        String,
        EntryPoint,
        Status,
        NaiveDateTime,
        Option<NaiveDate>,
        Option<NaiveDate>,
        String,
    );
    let rows: Vec<Row> = scoped(viewer, Purpose::DataQuality)
        .filter(referrals::erased_at.is_null())
        .order(referrals::reference.asc())
        .select((
            referrals::id,
            referrals::reference,
            referrals::area_id,
            referrals::created_by,
            referrals::entry_point,
            referrals::status,
            referrals::submitted_at,
            referrals::sentence_date,
            referrals::requirement_end_date,
            referrals::person_id,
        ))
        .load(c)?;
    let org_of: HashMap<String, String> = users::table
        .select((users::id, users::organisation_id))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    type PersonRow = (
        String,
        Option<String>,
        Option<String>,
        Option<Ethnicity>,
        Sex,
        GenderIdentity,
        Option<String>,
        NaiveDate,
    );
    let mut person: HashMap<String, PersonRow> = HashMap::new();
    let ids: Vec<String> = {
        let mut v: Vec<String> = rows.iter().map(|r| r.9.clone()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for chunk in ids.chunks(500) {
        for p in people::table
            .filter(people::id.eq_any(chunk))
            .select((
                people::id,
                people::pnc_id,
                people::crn,
                people::ethnicity,
                people::sex,
                people::gender_identity,
                people::gp_practice,
                people::date_of_birth,
            ))
            .load::<PersonRow>(c)?
        {
            person.insert(p.0.clone(), p);
        }
    }
    let present = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let organisation_id = org_of.get(&r.3).cloned().unwrap_or_default();
            let p = person.get(&r.9)?;
            Some(Record {
                id: r.0,
                reference: r.1,
                area_id: r.2,
                organisation_id,
                entry_point: r.4,
                status: r.5,
                submitted_on: crate::clock::utc_to_london(r.6).date(),
                sentence_date: r.7,
                requirement_end_date: r.8,
                person_id: r.9,
                pnc_id: present(&p.1),
                crn: present(&p.2),
                has_ethnicity: p.3.is_some(),
                sex: p.4,
                gender_identity: p.5,
                has_gp: present(&p.6).is_some(),
                born: p.7,
            })
        })
        .collect())
}

/// The first days of this month and last month: new records are compared by them.
fn months(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let this_month = first_of_month(today);
    (
        this_month,
        first_of_month(this_month - chrono::Duration::days(1)),
    )
}

/// The checks over some records, pure: shares per group and the findings.
fn assess(
    records: &[Record],
    required: &[Field],
    today: NaiveDate,
    by_area: bool,
    names: &Names,
) -> (Vec<Group>, Vec<Finding>) {
    let (this_month, last_month) = months(today);
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut findings = Vec::new();
    let conflicts = conflicting_people(records);
    for r in records {
        let organisation = names.organisation(&r.organisation_id);
        let area = if by_area {
            names.area(&r.area_id)
        } else {
            String::new()
        };
        let g = groups
            .entry((organisation.clone(), area.clone()))
            .or_insert_with(|| Group {
                organisation: organisation.clone(),
                area: area.clone(),
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
        g.records += 1;
        let month = first_of_month(r.submitted_on);
        let mut problems = Vec::new();
        for row in g.fields.iter_mut() {
            if !row.field.applies(r) {
                continue;
            }
            let has = row.field.has(r);
            row.all.add(has);
            if month == this_month {
                row.this_month.add(has);
            } else if month == last_month {
                row.last_month.add(has);
            }
            if !has {
                problems.push(format!("{} missing", row.label));
            }
        }
        if let Some(p) = &r.pnc_id
            && PncId::parse(p).is_err()
        {
            problems.push("PNC ID not in the PNC format, or its check letter is wrong".into());
        }
        if let Some(v) = &r.crn
            && Crn::parse(v).is_err()
        {
            problems.push("CRN not in the CRN format (a letter and six digits)".into());
        }
        if !names.area_active(&r.area_id) {
            problems.push("Area no longer on the list of areas".into());
        }
        if let Some(others) = conflicts.get(&r.person_id) {
            problems.push(format!(
                "The same person as {} (same PNC ID or CRN) with another date of birth",
                others.join(", ")
            ));
        }
        if !problems.is_empty() {
            findings.push(Finding {
                referral_id: r.id.clone(),
                reference: r.reference.clone(),
                organisation,
                area: names.area(&r.area_id),
                problems,
            });
        }
    }
    (groups.into_values().collect(), findings)
}

/// The people holding one identifier: person id → (date of birth, their references).
type PeopleOf<'a> = BTreeMap<&'a str, (NaiveDate, Vec<&'a str>)>;

/// People recorded twice (the same PNC ID or CRN on two person records) with different dates
/// of birth: for each such person, the references of the other's referrals. The dates
/// themselves are not shown.
fn conflicting_people(records: &[Record]) -> HashMap<String, Vec<String>> {
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

/// The data-quality view for `viewer`, recorded in the audit log as a consultation (it names
/// referrals by reference). Clinical leads, administrators and councillors only.
pub fn view(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    required: &[Field],
    today: NaiveDate,
) -> Result<Quality, AppError> {
    if !matches!(
        viewer.role,
        Role::ClinicalLead | Role::Admin | Role::Councillor
    ) {
        return Err(AppError::Forbidden);
    }
    let lists_records = viewer.role != Role::Councillor;
    let records = records(c, viewer)?;
    let names = Names::load(c)?;
    let (groups, mut findings) = assess(&records, required, today, lists_records, &names);
    if !lists_records {
        findings.clear();
    }
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Consultation, "data_quality.viewed").details(
            serde_json::json!({ "records": records.len(), "findings": findings.len(), "required": required.iter().map(|f| f.code()).collect::<Vec<_>>() }),
        ),
    )?;
    let (this_month, last_month) = months(today);
    Ok(Quality {
        required: required.iter().map(|f| f.code()).collect(),
        this_month: this_month.format("%B %Y").to_string(),
        last_month: last_month.format("%B %Y").to_string(),
        records: records.len(),
        groups,
        findings,
        lists_records,
    })
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
            born: d(1990, 1, 1),
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
        let (groups, findings) = assess(
            &[a, b, c],
            &[
                Field::GpPractice,
                Field::Crn,
                Field::Sex,
                Field::SentenceDate,
            ],
            today,
            true,
            &names(),
        );
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
        let problems = |r: &str| {
            findings
                .iter()
                .find(|f| f.reference == r)
                .map(|f| f.problems.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            problems("R1"),
            vec!["GP practice missing", "Sex recorded missing"]
        );
        assert_eq!(
            problems("R2"),
            vec!["PNC ID not in the PNC format, or its check letter is wrong"]
        );
        assert!(problems("R3").is_empty());
    }

    #[test]
    fn one_person_recorded_twice_with_two_dates_of_birth_is_found_without_showing_them() {
        let today = d(2026, 12, 6);
        let a = record("R1", "p1", "o1", d(2026, 1, 1));
        let mut b = record("R2", "p2", "o1", d(2026, 2, 1));
        b.born = d(1991, 1, 1);
        b.area_id = "a2".into();
        // The same person id with the same date: not a conflict.
        let c = record("R3", "p1", "o1", d(2026, 3, 1));
        let (_, findings) = assess(&[a, b, c], &[], today, true, &names());
        let of = |r: &str| {
            findings
                .iter()
                .find(|f| f.reference == r)
                .unwrap()
                .problems
                .clone()
        };
        assert_eq!(
            of("R1"),
            vec!["The same person as R2 (same PNC ID or CRN) with another date of birth"]
        );
        assert_eq!(
            of("R2"),
            vec![
                "Area no longer on the list of areas",
                "The same person as R1, R3 (same PNC ID or CRN) with another date of birth"
            ]
        );
        assert!(
            findings
                .iter()
                .all(|f| !f.problems.join(" ").contains("1990"))
        );
    }

    #[test]
    fn every_field_code_reads_back_and_unknown_ones_are_named() {
        for f in Field::ALL {
            assert_eq!(Field::parse(f.code()), Some(*f));
        }
        let err = required_fields(&["pnc_id".into(), "shoe_size".into()]).unwrap_err();
        assert!(
            err.contains("shoe_size") && err.contains("gp_practice"),
            "{err}"
        );
    }
}
