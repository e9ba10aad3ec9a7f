//! Import from a legacy case system: CSV exports of people, cases and appointments, mapped by a
//! mapping file ([`mapping`]) onto our people, referrals and treatment sessions.
//!
//! [`plan`] reads every file and decides each source row's fate without writing anything:
//! imported, merged into an existing person, rejected (with the row, field and reason),
//! excluded by a retention rule, or already imported by an earlier run. The
//! [`report::Report`] it makes accounts for every row (asserted) and carries a SHA-256 of the
//! accepted content. [`apply::apply`] writes exactly that plan in all-or-nothing batches,
//! keyed by source id in `import_rows`, so a second run imports nothing new and a run killed
//! half way resumes where its last committed batch stopped.

pub mod apply;
pub mod generate;
pub mod mapping;
pub mod native;
pub mod report;
pub mod web;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::DbConn;
use crate::db::schema::{areas, import_rows, people, referrals, treatment_sessions, users};
use crate::error::AppError;
use crate::referrals::codes::{
    EntryPoint, Ethnicity, GenderIdentity, OffenceCategory, Sex, Urgency,
};
use crate::referrals::forms::{Crn, PncId};
use crate::referrals::service::normalise_name;
use crate::referrals::state::Status;
use crate::sessions::codes::{CancelReason, ChangeParty, Mode, Outcome, SessionStatus};
use crate::settings::RetentionSettings;

pub use mapping::{Mapping, Table};
pub use report::{FileReport, Report, RowNote};

/// One input file: its name (matched against the mapping) and its bytes.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Input {
    pub fn read(path: &std::path::Path) -> Result<Input, AppError> {
        let bytes = std::fs::read(path)
            .map_err(|e| AppError::Config(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Input { name, bytes })
    }
}

/// Who a referral is about: a person created by this import (by source id) or one already here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PersonRef {
    New(String),
    Existing(String),
}

/// A person row to create.
#[derive(Debug, Clone)]
pub struct PersonRec {
    pub source_id: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub gender_identity: GenderIdentity,
    pub ethnicity: Option<Ethnicity>,
    pub pnc_id: Option<String>,
    pub crn: Option<String>,
    pub area_id: String,
    pub gp_practice: Option<String>,
    pub communication_needs: Option<String>,
    pub interpreter_needed: bool,
    pub language: Option<String>,
}

/// A person row that is the same person as one already here, or one earlier in this import.
#[derive(Debug, Clone)]
pub struct MergeRec {
    pub source_id: String,
    pub into: PersonRef,
}

#[derive(Debug, Clone)]
pub struct CaseRec {
    pub source_id: String,
    pub person: PersonRef,
    pub area_id: String,
    pub entry_point: EntryPoint,
    pub status: Status,
    pub offence_category: OffenceCategory,
    pub urgency: Urgency,
    pub referred_on: NaiveDate,
    pub sentence_date: Option<NaiveDate>,
    pub requirement_end_date: Option<NaiveDate>,
    /// The legacy closing date of a case imported closed (a final status); retention review
    /// is counted from it.
    pub closed_on: Option<NaiveDate>,
}

/// The referral a session belongs to: one created by this import (by source id) or one an
/// earlier import made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CaseRef {
    New(String),
    Existing {
        referral_id: String,
        area_id: String,
    },
}

#[derive(Debug, Clone)]
pub struct SessionRec {
    pub source_id: String,
    pub case: CaseRef,
    pub starts_at: NaiveDateTime,
    pub minutes: i32,
    pub mode: Mode,
    pub status: SessionStatus,
    pub outcome: Option<Outcome>,
    pub ap_user_id: String,
    /// Who cancelled a cancelled session, and why, where the export says.
    pub change_party: Option<ChangeParty>,
    pub cancel_reason: Option<CancelReason>,
}

/// What the plan will write, in order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub source_system: String,
    pub people: Vec<PersonRec>,
    pub merges: Vec<MergeRec>,
    pub cases: Vec<CaseRec>,
    pub sessions: Vec<SessionRec>,
    /// Facts of people already here that imported referrals need for their report facts.
    pub existing_people: HashMap<String, (Sex, Option<Ethnicity>, NaiveDate)>,
}

/// What one row became, before cross-file checks.
enum Parsed<T> {
    Ok(T),
    Rejected {
        field: String,
        reason: String,
    },
    Excluded(String, T),
    Already,
    /// In a file that feeds several tables, the same record as an earlier row (a person on
    /// every row of their cases): it takes that row's fate.
    Repeat(u64),
}

struct Row<T> {
    line: u64,
    source_id: String,
    canon: String,
    parsed: Parsed<T>,
}

struct RawCase {
    person_source: String,
    area_id: Option<String>,
    rec: CaseRec,
    /// A value imported as it stands that a person should look at: (column, why).
    check: Option<(String, String)>,
}

struct RawSession {
    case_source: String,
    rec: SessionRec,
}

/// The database facts a plan is checked against, loaded once (never a query per row).
struct Context {
    area_ids: HashMap<String, String>,
    user_ids: HashMap<String, String>,
    imported: HashMap<(String, String), String>,
    people: Vec<ExistingPerson>,
    by_pnc: HashMap<String, usize>,
    by_crn: HashMap<String, usize>,
    by_name_dob: HashMap<(String, String, NaiveDate), usize>,
    today: NaiveDate,
}

struct ExistingPerson {
    id: String,
    sex: Sex,
    ethnicity: Option<Ethnicity>,
    born: NaiveDate,
}

type PersonRow = (
    String,
    String,
    String,
    NaiveDate,
    Sex,
    Option<Ethnicity>,
    Option<String>,
    Option<String>,
);

impl Context {
    fn load(c: &mut DbConn, source_system: &str, today: NaiveDate) -> Result<Context, AppError> {
        let area_ids = areas::table
            .select((areas::code, areas::id))
            .load::<(String, String)>(c)?
            .into_iter()
            .map(|(code, id)| (code.to_uppercase(), id))
            .collect();
        let user_ids = users::table
            .filter(users::disabled_at.is_null())
            .select((users::email, users::id))
            .load::<(String, String)>(c)?
            .into_iter()
            .map(|(e, id)| (e.to_lowercase(), id))
            .collect();
        let imported = import_rows::table
            .filter(import_rows::source_system.eq(source_system))
            .select((
                import_rows::kind,
                import_rows::source_id,
                import_rows::target_id,
            ))
            .load::<(String, String, String)>(c)?
            .into_iter()
            .map(|(k, s, t)| ((k, s), t))
            .collect();
        let rows: Vec<PersonRow> = people::table
            .filter(people::merged_into_id.is_null())
            .order(people::created_at.asc())
            .select((
                people::id,
                people::given_name,
                people::family_name,
                people::date_of_birth,
                people::sex,
                people::ethnicity,
                people::pnc_id,
                people::crn,
            ))
            .load(c)?;
        let mut ctx = Context {
            area_ids,
            user_ids,
            imported,
            people: Vec::with_capacity(rows.len()),
            by_pnc: HashMap::new(),
            by_crn: HashMap::new(),
            by_name_dob: HashMap::new(),
            today,
        };
        for (id, given, family, born, sex, ethnicity, pnc, crn) in rows {
            let i = ctx.people.len();
            if let Some(p) = pnc {
                ctx.by_pnc.entry(p).or_insert(i);
            }
            if let Some(c) = crn {
                ctx.by_crn.entry(c).or_insert(i);
            }
            ctx.by_name_dob
                .entry((normalise_name(&given), normalise_name(&family), born))
                .or_insert(i);
            ctx.people.push(ExistingPerson {
                id,
                sex,
                ethnicity,
                born,
            });
        }
        Ok(ctx)
    }

    fn already(&self, table: Table, source_id: &str) -> Option<&String> {
        self.imported
            .get(&(table.as_str().to_owned(), source_id.to_owned()))
    }
}

/// A data row's cells, or the column and reason it could not be read.
type DecodedRow = Result<Vec<String>, (String, String)>;

/// Reads a file's bytes into records of strings, one per data row, with their line numbers.
/// A field that is not UTF-8 is read as Windows-1252 (encoding `auto`), or rejected (`utf-8`).
struct Decoded {
    headers: Vec<String>,
    rows: Vec<(u64, DecodedRow)>,
    recoded: usize,
}

fn decode(input: &Input, fm: &mapping::FileMapping) -> Result<Decoded, AppError> {
    use mapping::Encoding;
    if let Some(want) = &fm.sha256 {
        let got = hex::encode(Sha256::digest(&input.bytes));
        if !got.eq_ignore_ascii_case(want) {
            return Err(AppError::Config(format!(
                "{}: the file's SHA-256 is {got}, not the {want} the mapping declares: it is not the export described (cut short, or changed since). Nothing was imported",
                input.name
            )));
        }
    }
    let bytes = input
        .bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&input.bytes);
    if bytes.iter().filter(|b| **b == b'"').count() % 2 == 1 {
        return Err(AppError::Config(format!(
            "{}: the file ends inside a quoted value (its quotation marks do not pair up), so it looks cut short. Export it again; nothing was imported",
            input.name
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(fm.delimiter as u8)
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let to_text = |b: &[u8]| -> Result<(String, bool), ()> {
        match std::str::from_utf8(b) {
            Ok(s) => Ok((s.to_owned(), false)),
            Err(_) => match fm.encoding {
                Encoding::Utf8 => Err(()),
                Encoding::Auto | Encoding::Windows1252 => {
                    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(b);
                    Ok((text.into_owned(), true))
                }
            },
        }
    };
    let header_bytes = reader
        .byte_headers()
        .map_err(|e| AppError::Config(format!("{}: cannot read the header row: {e}", input.name)))?
        .clone();
    let mut headers = Vec::with_capacity(header_bytes.len());
    for h in header_bytes.iter() {
        let (t, _) = to_text(h).map_err(|_| {
            AppError::Config(format!("{}: the header row is not UTF-8", input.name))
        })?;
        headers.push(t.trim().to_owned());
    }
    let mut out = Decoded {
        headers,
        rows: Vec::new(),
        recoded: 0,
    };
    let mut record = csv::ByteRecord::new();
    // Rows are numbered from 1, the first row after the header.
    let mut line = 0u64;
    // The row number of the last record, while it is shorter than the header.
    let mut last_short = None;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                line += 1;
                last_short = (record.len() < out.headers.len()).then_some(line);
                if record.len() != out.headers.len() {
                    out.rows.push((
                        line,
                        Err((
                            String::new(),
                            format!(
                                "the row has {} fields where the header has {}",
                                record.len(),
                                out.headers.len()
                            ),
                        )),
                    ));
                    continue;
                }
                let mut fields = Vec::with_capacity(record.len());
                let mut recoded = false;
                let mut bad = None;
                for (i, f) in record.iter().enumerate() {
                    match (fm.encoding, to_text(f)) {
                        (Encoding::Windows1252, _) => {
                            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(f);
                            fields.push(text.into_owned());
                        }
                        (_, Ok((t, r))) => {
                            recoded |= r;
                            fields.push(t);
                        }
                        (_, Err(())) => {
                            bad = Some(i);
                            break;
                        }
                    }
                }
                if let Some(i) = bad {
                    out.rows.push((
                        line,
                        Err((
                            out.headers[i].clone(),
                            "the text is not valid UTF-8".to_owned(),
                        )),
                    ));
                    continue;
                }
                // The service's one rule for text (`web::input`): no control characters but
                // tab and new lines; a NUL could not be stored on PostgreSQL at all.
                if let Some(i) = fields
                    .iter()
                    .position(|f| crate::web::input::has_forbidden(f))
                {
                    out.rows.push((
                        line,
                        Err((
                            out.headers[i].clone(),
                            "the text holds a control character (such as a NUL byte), which cannot be stored".to_owned(),
                        )),
                    ));
                    continue;
                }
                if recoded {
                    out.recoded += 1;
                }
                out.rows.push((line, Ok(fields)));
            }
            Err(e) => {
                line += 1;
                out.rows
                    .push((line, Err((String::new(), format!("unreadable CSV: {e}")))));
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) {
                    break;
                }
            }
        }
    }
    // A file cut mid-row ends with a short record: the whole file is suspect, not one row.
    if let Some(line) = last_short {
        return Err(AppError::Config(format!(
            "{}: the last row (row {line}) has fewer fields than the header, so the file looks cut short. Export it again; nothing was imported",
            input.name
        )));
    }
    if let Some(want) = fm.rows
        && want != out.rows.len() as u64
    {
        return Err(AppError::Config(format!(
            "{}: the mapping declares {want} data rows but the file has {}: it is not the export described (cut short, or changed since). Nothing was imported",
            input.name,
            out.rows.len()
        )));
    }
    Ok(out)
}

/// The cells at `cols` of a row, trimmed, the blank ones left out, joined by a space.
fn joined(values: &[String], cols: &[usize]) -> String {
    cols.iter()
        .filter_map(|i| values.get(*i))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One data row's values by our field name.
struct Cells<'a> {
    fm: &'a mapping::FileMapping,
    index: &'a HashMap<String, Vec<usize>>,
    values: &'a [String],
}

type FieldResult<T> = Result<T, (String, String)>;

impl Cells<'_> {
    /// The field's value, translated through its code list if it has one (any field may):
    /// the source cell (or cells, joined by a space), else the mapping's default (already
    /// ours). `None` when blank.
    fn get(&self, field: &str) -> FieldResult<Option<String>> {
        let joined = self
            .index
            .get(field)
            .map(|cols| joined(self.values, cols))
            .filter(|v| !v.is_empty());
        let translated = match &joined {
            None => None,
            Some(v) => match self.fm.translate(field, v) {
                mapping::Code::Ours(ours) => Some(ours.to_owned()),
                mapping::Code::Blank => None,
                mapping::Code::Refused(why) => {
                    return Err(self.err(
                        field,
                        format!(
                            "'{}' is refused by the mapping: {why}",
                            mapping::printable(v)
                        ),
                    ));
                }
                mapping::Code::Unmapped => {
                    return Err(
                        self.err(field, format!("unknown code '{}'", mapping::printable(v)))
                    );
                }
            },
        };
        let v = match translated {
            Some(v) => v,
            None => match self.fm.defaults.get(field) {
                Some(d) if !d.trim().is_empty() => d.trim().to_owned(),
                _ => return Ok(None),
            },
        };
        if v.contains('\u{FFFD}') {
            return Err(self.err(
                field,
                "holds the replacement character \u{FFFD}: the text was damaged before export"
                    .into(),
            ));
        }
        if v.chars().any(|c| c.is_control()) {
            return Err(self.err(field, "holds control characters".into()));
        }
        Ok(Some(v))
    }

    fn err(&self, field: &str, reason: String) -> (String, String) {
        (self.fm.column_label(field), reason)
    }

    fn required(&self, field: &str) -> FieldResult<String> {
        self.get(field)?
            .ok_or_else(|| self.err(field, "is blank".into()))
    }

    fn text(&self, field: &str, max: usize) -> FieldResult<Option<String>> {
        match self.get(field)? {
            Some(v) if v.chars().count() > max => {
                Err(self.err(field, format!("is longer than {max} characters")))
            }
            other => Ok(other),
        }
    }

    fn code<T: std::str::FromStr>(&self, field: &str) -> FieldResult<Option<T>> {
        let Some(v) = self.get(field)? else {
            return Ok(None);
        };
        v.parse::<T>().map(Some).map_err(|_| {
            self.err(
                field,
                format!("'{}' is not one of our codes", mapping::printable(&v)),
            )
        })
    }

    fn required_code<T: std::str::FromStr>(&self, field: &str) -> FieldResult<T> {
        self.code(field)?
            .ok_or_else(|| self.err(field, "is blank".into()))
    }

    fn date(&self, field: &str) -> FieldResult<Option<NaiveDate>> {
        let Some(v) = self.get(field)? else {
            return Ok(None);
        };
        let formats = self.fm.formats(field, mapping::DateKind::Date);
        mapping::parse_date(&v, &formats)
            .map(Some)
            .map_err(|e| self.err(field, e))
    }

    fn bool(&self, field: &str) -> FieldResult<bool> {
        let Some(v) = self.get(field)? else {
            return Ok(false);
        };
        match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok(true),
            "false" | "no" | "n" | "0" => Ok(false),
            other => Err(self.err(
                field,
                format!("'{}' is not yes or no", mapping::printable(other)),
            )),
        }
    }

    fn area(&self, ctx: &Context, field: &str) -> FieldResult<Option<String>> {
        let Some(v) = self.get(field)? else {
            return Ok(None);
        };
        ctx.area_ids
            .get(&v.to_uppercase())
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                self.err(
                    field,
                    format!("no area here has the code '{}'", mapping::printable(&v)),
                )
            })
    }
}

fn parse_person(cells: &Cells<'_>, ctx: &Context, source_id: &str) -> FieldResult<PersonRec> {
    let given_name = cells
        .text("given_name", 100)?
        .ok_or_else(|| cells.err("given_name", "is blank".into()))?;
    let family_name = cells
        .text("family_name", 100)?
        .ok_or_else(|| cells.err("family_name", "is blank".into()))?;
    let date_of_birth = cells
        .date("date_of_birth")?
        .ok_or_else(|| cells.err("date_of_birth", "is blank".into()))?;
    if date_of_birth > ctx.today {
        return Err(cells.err("date_of_birth", "is in the future".into()));
    }
    if date_of_birth.year() < 1900 {
        return Err(cells.err("date_of_birth", "is before 1900".into()));
    }
    let sex = cells.required_code("sex")?;
    let gender_identity = cells.required_code("gender_identity")?;
    let ethnicity = cells.code("ethnicity")?;
    let pnc_id = match cells.get("pnc_id")? {
        Some(v) => Some(
            PncId::parse(&v)
                .map_err(|e| cells.err("pnc_id", e))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let crn = match cells.get("crn")? {
        Some(v) => Some(
            Crn::parse(&v)
                .map_err(|e| cells.err("crn", e))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let area_id = cells
        .area(ctx, "area")?
        .ok_or_else(|| cells.err("area", "is blank".into()))?;
    Ok(PersonRec {
        source_id: source_id.to_owned(),
        given_name,
        family_name,
        date_of_birth,
        sex,
        gender_identity,
        ethnicity,
        pnc_id,
        crn,
        area_id,
        gp_practice: cells.text("gp_practice", 200)?,
        communication_needs: cells.text("communication_needs", 1000)?,
        interpreter_needed: cells.bool("interpreter_needed")?,
        language: cells.text("language", 100)?,
    })
}

fn parse_case(cells: &Cells<'_>, ctx: &Context, source_id: &str) -> FieldResult<RawCase> {
    let person_source = cells.required("person")?;
    let referred_on = cells
        .date("referred_on")?
        .ok_or_else(|| cells.err("referred_on", "is blank".into()))?;
    if referred_on > ctx.today {
        return Err(cells.err("referred_on", "is in the future".into()));
    }
    let sentence_date = cells.date("sentence_date")?;
    let requirement_end_date = cells.date("requirement_end_date")?;
    if let (Some(s), Some(e)) = (sentence_date, requirement_end_date)
        && e < s
    {
        return Err(cells.err("requirement_end_date", "is before the sentence date".into()));
    }
    let status: Status = cells.required_code("status")?;
    let closed_on = cells.date("closed_on")?;
    let mut check = None;
    match closed_on {
        None if status.is_final() => {
            return Err(cells.err(
                "closed_on",
                format!(
                    "is blank: a case imported as {} needs the date it closed, from which its retention review is counted",
                    status.label().to_lowercase()
                ),
            ));
        }
        Some(d) if d < referred_on => {
            return Err(cells.err("closed_on", "is before the referral date".into()));
        }
        Some(d) if d > ctx.today => {
            return Err(cells.err("closed_on", "is in the future".into()));
        }
        Some(d) if !status.is_final() => {
            check = Some(cells.err(
                "closed_on",
                format!(
                    "the case is imported as {} (still open), so its closing date {} is not kept: check the case's status in the old system",
                    status.label().to_lowercase(),
                    d.format("%-d %B %Y")
                ),
            ));
        }
        _ => {}
    }
    let rec = CaseRec {
        source_id: source_id.to_owned(),
        person: PersonRef::New(person_source.clone()),
        area_id: String::new(),
        entry_point: cells.required_code("entry_point")?,
        status,
        offence_category: cells.required_code("offence_category")?,
        urgency: cells.required_code("urgency")?,
        referred_on,
        sentence_date,
        requirement_end_date,
        closed_on: closed_on.filter(|_| status.is_final()),
    };
    Ok(RawCase {
        person_source,
        area_id: cells.area(ctx, "area")?,
        rec,
        check,
    })
}

fn parse_session(cells: &Cells<'_>, ctx: &Context, source_id: &str) -> FieldResult<RawSession> {
    let case_source = cells.required("referral")?;
    let raw = cells.required("starts_at")?;
    let formats = cells.fm.formats("starts_at", mapping::DateKind::DateTime);
    let starts_at =
        mapping::parse_datetime(&raw, &formats).map_err(|e| cells.err("starts_at", e))?;
    let minutes_raw = cells.required("minutes")?;
    let minutes: i32 = minutes_raw
        .parse()
        .ok()
        .filter(|m| (1..=600).contains(m))
        .ok_or_else(|| {
            cells.err(
                "minutes",
                format!(
                    "'{}' is not a whole number of minutes from 1 to 600",
                    mapping::printable(&minutes_raw)
                ),
            )
        })?;
    let status: SessionStatus = cells.required_code("status")?;
    let outcome: Option<Outcome> = cells.code("outcome")?;
    match (status, outcome) {
        (SessionStatus::Recorded, None) => {
            return Err(cells.err("outcome", "a recorded session needs an outcome".into()));
        }
        (SessionStatus::Booked | SessionStatus::Cancelled | SessionStatus::Superseded, Some(_)) => {
            return Err(cells.err("outcome", "only a recorded session has an outcome".into()));
        }
        _ => {}
    }
    let cancel_reason: Option<CancelReason> = cells.code("cancel_reason")?;
    let mut change_party: Option<ChangeParty> = cells.code("cancelled_by")?;
    if status != SessionStatus::Cancelled && (cancel_reason.is_some() || change_party.is_some()) {
        let field = if change_party.is_some() {
            "cancelled_by"
        } else {
            "cancel_reason"
        };
        return Err(cells.err(
            field,
            "only a cancelled session says who cancelled it and why".into(),
        ));
    }
    if let Some(reason) = cancel_reason {
        match change_party {
            None => change_party = Some(reason.party()),
            Some(p) if p != reason.party() => {
                return Err(cells.err(
                    "cancelled_by",
                    format!(
                        "says {} cancelled, but the reason ({}) is one of {}",
                        p.label().to_lowercase(),
                        reason.label().to_lowercase(),
                        reason.party().label().to_lowercase()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let email = cells.required("practitioner")?.to_lowercase();
    let ap_user_id = ctx.user_ids.get(&email).cloned().ok_or_else(|| {
        cells.err(
            "practitioner",
            format!(
                "no active user has the email '{}'",
                mapping::printable(&email)
            ),
        )
    })?;
    Ok(RawSession {
        case_source,
        rec: SessionRec {
            source_id: source_id.to_owned(),
            case: CaseRef::New(String::new()),
            starts_at,
            minutes,
            mode: cells.required_code("mode")?,
            status,
            outcome,
            ap_user_id,
            change_party,
            cancel_reason,
        },
    })
}

/// Reads one file into rows: parsed, rejected (bad values, duplicates) or already imported.
fn read_rows<T>(
    input: &Input,
    fm: &mapping::FileMapping,
    shared: bool,
    ctx: &Context,
    report: &mut FileReport,
    parse: impl Fn(&Cells<'_>, &str) -> FieldResult<T>,
    retention: impl Fn(&T) -> Option<String>,
) -> Result<Vec<Row<T>>, AppError> {
    let decoded = decode(input, fm)?;
    report.recoded = decoded.recoded;
    // Legacy values no code list names, by (column, value), over every row: listed in the
    // dry run, every one at once (a row's parse stops at its first problem).
    let mut unmapped: std::collections::BTreeMap<(String, String), usize> =
        std::collections::BTreeMap::new();
    let position = |col: &str| {
        decoded
            .headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(col))
    };
    let id_col = position(&fm.source_id).ok_or_else(|| {
        AppError::Config(format!(
            "{}: the source id column '{}' is not in the header",
            input.name, fm.source_id
        ))
    })?;
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (field, cols) in &fm.columns {
        for col in cols.names() {
            let i = position(col).ok_or_else(|| {
                AppError::Config(format!(
                    "{}: the column '{col}' (for {field}) is not in the header ({})",
                    input.name,
                    decoded.headers.join(", ")
                ))
            })?;
            index.entry(field.clone()).or_default().push(i);
        }
    }
    // The fields read through a code list, whose unlisted values are gathered.
    let coded: Vec<(&String, &Vec<usize>)> = index
        .iter()
        .filter(|(field, _)| fm.codes.contains_key(*field))
        .collect();
    // What identifies a row's record: its id and the cells this table reads (a file feeding
    // several tables holds other tables' cells too).
    let mut read: Vec<usize> = index.values().flatten().copied().collect();
    read.sort_unstable();
    read.dedup();
    let mut seen: HashMap<String, (u64, String)> = HashMap::new();
    let mut out = Vec::with_capacity(decoded.rows.len());
    for (line, values) in decoded.rows {
        let values = match values {
            Ok(v) => v,
            Err((field, reason)) => {
                out.push(Row {
                    line,
                    source_id: String::new(),
                    canon: String::new(),
                    parsed: Parsed::Rejected { field, reason },
                });
                continue;
            }
        };
        for (field, cols) in &coded {
            let v = joined(&values, cols);
            if !v.is_empty() && fm.translate(field, &v) == mapping::Code::Unmapped {
                *unmapped.entry((fm.column_label(field), v)).or_default() += 1;
            }
        }
        let source_id = values[id_col].trim().to_owned();
        let canon = std::iter::once(id_col)
            .chain(read.iter().copied())
            .map(|i| values[i].as_str())
            .collect::<Vec<_>>()
            .join("\u{1F}");
        let parsed = if source_id.is_empty() {
            Parsed::Rejected {
                field: fm.source_id.clone(),
                reason: "the source id is blank".into(),
            }
        } else if source_id.chars().any(char::is_control) {
            Parsed::Rejected {
                field: fm.source_id.clone(),
                reason: format!(
                    "the source id '{}' holds a control character (such as a tab, a line break or a NUL), which no id may hold",
                    mapping::printable(&source_id)
                ),
            }
        } else if let Some((first, first_canon)) = seen.get(&source_id)
            && shared
            && *first_canon == canon
        {
            Parsed::Repeat(*first)
        } else if let Some((first, first_canon)) = seen.get(&source_id) {
            Parsed::Rejected {
                field: fm.source_id.clone(),
                reason: if *first_canon == canon {
                    format!("a duplicate of row {first}")
                } else {
                    format!("the same source id as row {first}, with different values")
                },
            }
        } else if ctx.already(fm.table, &source_id).is_some() {
            Parsed::Already
        } else {
            let cells = Cells {
                fm,
                index: &index,
                values: &values,
            };
            match parse(&cells, &source_id) {
                Ok(t) => match retention(&t) {
                    Some(rule) => Parsed::Excluded(rule, t),
                    None => Parsed::Ok(t),
                },
                Err((field, reason)) => Parsed::Rejected { field, reason },
            }
        };
        if !source_id.is_empty() && !seen.contains_key(&source_id) {
            seen.insert(source_id.clone(), (line, canon.clone()));
        }
        out.push(Row {
            line,
            source_id,
            canon,
            parsed,
        });
    }
    report.unmapped = unmapped
        .into_iter()
        .map(|((column, value), rows)| report::Unmapped {
            column,
            value: mapping::printable(&value),
            rows,
        })
        .collect();
    Ok(out)
}

/// Builds the plan and its reconciliation report. Writes nothing.
pub fn plan(
    c: &mut DbConn,
    mapping: &Mapping,
    mapping_name: &str,
    inputs: &[Input],
    policy: &RetentionSettings,
) -> Result<(Plan, Report), AppError> {
    let today = crate::clock::today();
    let ctx = Context::load(c, &mapping.source_system, today)?;
    let mut report = Report::new(&mapping.source_system, mapping_name);
    report.tables = table_counts(c)?;

    // Which mapping each input follows; every file must be known, and each table fed once.
    let mut by_table: HashMap<Table, (&Input, &mapping::FileMapping)> = HashMap::new();
    for input in inputs {
        let fms: Vec<&mapping::FileMapping> = mapping.files_named(&input.name).collect();
        if fms.is_empty() {
            return Err(AppError::Config(format!(
                "{} is not described by the mapping (it describes {})",
                input.name,
                mapping
                    .files
                    .iter()
                    .map(|f| f.file_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for fm in fms {
            if by_table.insert(fm.table, (input, fm)).is_some() {
                return Err(AppError::Config(format!("{} is given twice", input.name)));
            }
        }
    }
    // Whether a file feeds more than one table (one row holding a person and their case).
    let shared = |name: &str| mapping.files_named(name).count() > 1;

    // A closed case already due for retention review under the service's policy (the one
    // the review queue reads) is not brought over.
    let past_retention = |raw: &RawCase| -> Option<String> {
        let rule = mapping.retention.as_ref()?;
        let closed = raw.rec.closed_on?;
        let due = crate::retention::policy::due_on(policy, raw.rec.status, closed, None)?;
        (due <= today).then(|| {
            let kind = crate::retention::policy::RecordType::of(raw.rec.status)
                .map(|k| format!("{} ({} years)", k.label().to_lowercase(), k.years(policy)))
                .unwrap_or_default();
            format!(
                "{}: closed on {}, its retention review was due on {} under the policy for {kind}",
                rule.rule,
                closed.format("%-d %B %Y"),
                due.format("%-d %B %Y"),
            )
        })
    };

    // Cases first: retention decides which people are brought over at all.
    let mut case_file = FileReport::new("", Table::Referrals);
    let case_rows: Vec<Row<RawCase>> = match by_table.get(&Table::Referrals) {
        Some((input, fm)) => {
            case_file = FileReport::new(&input.name, Table::Referrals);
            read_rows(
                input,
                fm,
                shared(&input.name),
                &ctx,
                &mut case_file,
                |cells, id| parse_case(cells, &ctx, id),
                past_retention,
            )?
        }
        None => Vec::new(),
    };
    // People with cases in this import, those whose every case is past retention, and the
    // first rejected case of each (a person is brought over only with a case).
    let rule_name = mapping
        .retention
        .as_ref()
        .map(|r| r.rule.clone())
        .unwrap_or_default();
    let mut live_cases_of: HashSet<&str> = HashSet::new();
    let mut retired_cases_of: HashSet<&str> = HashSet::new();
    for r in &case_rows {
        match &r.parsed {
            Parsed::Ok(raw) => {
                live_cases_of.insert(raw.person_source.as_str());
            }
            Parsed::Excluded(_, raw) => {
                retired_cases_of.insert(raw.person_source.as_str());
            }
            _ => {}
        }
    }
    let case_file_name = by_table.get(&Table::Referrals).map(|(i, _)| i.name.clone());

    // People.
    let mut person_outcome: HashMap<String, PersonStatus> = HashMap::new();
    let mut plan = Plan {
        source_system: mapping.source_system.clone(),
        ..Plan::default()
    };
    let mut hasher = Sha256::new();
    if let Some((input, fm)) = by_table.get(&Table::People) {
        let mut file = FileReport::new(&input.name, Table::People);
        let rows = read_rows(
            input,
            fm,
            shared(&input.name),
            &ctx,
            &mut file,
            |cells, id| parse_person(cells, &ctx, id),
            |_| None,
        )?;
        let mut new_by_pnc: HashMap<String, (String, u64)> = HashMap::new();
        let mut new_by_crn: HashMap<String, (String, u64)> = HashMap::new();
        for row in rows {
            file.source_rows += 1;
            match row.parsed {
                Parsed::Repeat(first) => {
                    file.note_repeat(row.line, &row.source_id, first, "person")
                }
                Parsed::Already => {
                    let target = ctx
                        .already(Table::People, &row.source_id)
                        .cloned()
                        .unwrap_or_default();
                    person_outcome.insert(
                        row.source_id.clone(),
                        PersonStatus::Ready(PersonRef::Existing(target)),
                    );
                    file.note_already(row.line, &row.source_id);
                }
                Parsed::Rejected { field, reason } => {
                    if !person_outcome.contains_key(&row.source_id) {
                        person_outcome
                            .insert(row.source_id.clone(), PersonStatus::Rejected(row.line));
                    }
                    file.note_rejected(row.line, &row.source_id, &field, &reason);
                }
                Parsed::Excluded(rule, _) => {
                    person_outcome
                        .insert(row.source_id.clone(), PersonStatus::Excluded(rule.clone()));
                    file.note_excluded(row.line, &row.source_id, &rule);
                }
                Parsed::Ok(p) => {
                    let p: PersonRec = p;
                    if !live_cases_of.contains(p.source_id.as_str()) {
                        if retired_cases_of.contains(p.source_id.as_str()) {
                            file.note_excluded(
                                row.line,
                                &p.source_id,
                                &format!("{rule_name} (every case of this person is past it)"),
                            );
                            person_outcome.insert(
                                p.source_id.clone(),
                                PersonStatus::Excluded(rule_name.clone()),
                            );
                        } else {
                            // Brought over alone, the person would be out of reach of every
                            // review: no referral holds them.
                            let why = match &case_file_name {
                                Some(f) => format!(
                                    "not imported: no case of this person in {f} can be imported (each is rejected, or there is none), and a person is brought over only with a case"
                                ),
                                None => "not imported: a person is brought over only with a case, and this import has no cases file".to_owned(),
                            };
                            file.note_rejected(row.line, &p.source_id, &fm.source_id, &why);
                            person_outcome
                                .insert(p.source_id.clone(), PersonStatus::Rejected(row.line));
                        }
                        continue;
                    }
                    // The same person as someone already here, or earlier in this file?
                    let existing = p
                        .pnc_id
                        .as_ref()
                        .and_then(|v| ctx.by_pnc.get(v).map(|i| ("PNC ID", *i)))
                        .or_else(|| {
                            p.crn
                                .as_ref()
                                .and_then(|v| ctx.by_crn.get(v).map(|i| ("CRN", *i)))
                        })
                        .or_else(|| {
                            ctx.by_name_dob
                                .get(&(
                                    normalise_name(&p.given_name),
                                    normalise_name(&p.family_name),
                                    p.date_of_birth,
                                ))
                                .map(|i| ("name and date of birth", *i))
                        });
                    let earlier = p
                        .pnc_id
                        .as_ref()
                        .and_then(|v| new_by_pnc.get(v).map(|x| ("PNC ID", x.clone())))
                        .or_else(|| {
                            p.crn
                                .as_ref()
                                .and_then(|v| new_by_crn.get(v).map(|x| ("CRN", x.clone())))
                        });
                    let into = if let Some((by, i)) = existing {
                        let e = &ctx.people[i];
                        plan.existing_people
                            .insert(e.id.clone(), (e.sex, e.ethnicity, e.born));
                        file.note_merged(
                            row.line,
                            &p.source_id,
                            &format!("same {by} as person {} already here", e.id),
                        );
                        Some(PersonRef::Existing(e.id.clone()))
                    } else if let Some((by, (first, line))) = earlier {
                        file.note_merged(
                            row.line,
                            &p.source_id,
                            &format!("same {by} as {first} (row {line})"),
                        );
                        Some(PersonRef::New(first))
                    } else {
                        None
                    };
                    hasher.update(canon_line(
                        "people",
                        &row.source_id,
                        &row.canon,
                        into.as_ref(),
                    ));
                    match into {
                        Some(into) => {
                            person_outcome
                                .insert(p.source_id.clone(), PersonStatus::Ready(into.clone()));
                            plan.merges.push(MergeRec {
                                source_id: p.source_id,
                                into,
                            });
                        }
                        None => {
                            file.imported += 1;
                            if let Some((column, why)) = lost_letter(fm, &p) {
                                file.note_check(row.line, &p.source_id, &column, &why);
                            }
                            if let Some(v) = &p.pnc_id {
                                new_by_pnc.insert(v.clone(), (p.source_id.clone(), row.line));
                            }
                            if let Some(v) = &p.crn {
                                new_by_crn.insert(v.clone(), (p.source_id.clone(), row.line));
                            }
                            person_outcome.insert(
                                p.source_id.clone(),
                                PersonStatus::Ready(PersonRef::New(p.source_id.clone())),
                            );
                            plan.people.push(p);
                        }
                    }
                }
            }
        }
        report.files.push(file);
    }
    let new_people: HashMap<&str, &PersonRec> = plan
        .people
        .iter()
        .map(|p| (p.source_id.as_str(), p))
        .collect();
    let new_people_area: HashMap<String, String> = new_people
        .iter()
        .map(|(k, p)| ((*k).to_owned(), p.area_id.clone()))
        .collect();
    drop(new_people);

    // Cases: link each to its person.
    let mut case_outcome: HashMap<String, CaseStatus> = HashMap::new();
    if !case_file.name.is_empty() {
        let mut file = case_file;
        let existing_person_area = existing_areas(c, &person_outcome, &case_rows)?;
        for row in case_rows {
            file.source_rows += 1;
            match row.parsed {
                Parsed::Repeat(first) => file.note_repeat(row.line, &row.source_id, first, "case"),
                Parsed::Already => {
                    case_outcome.insert(
                        row.source_id.clone(),
                        CaseStatus::Ready(CaseRef::Existing {
                            referral_id: ctx
                                .already(Table::Referrals, &row.source_id)
                                .cloned()
                                .unwrap_or_default(),
                            area_id: String::new(),
                        }),
                    );
                    file.note_already(row.line, &row.source_id);
                }
                Parsed::Rejected { field, reason } => {
                    case_outcome
                        .entry(row.source_id.clone())
                        .or_insert(CaseStatus::Rejected(row.line));
                    file.note_rejected(row.line, &row.source_id, &field, &reason);
                }
                Parsed::Excluded(why, _) => {
                    case_outcome.insert(
                        row.source_id.clone(),
                        CaseStatus::Excluded(rule_name.clone()),
                    );
                    file.note_excluded(row.line, &row.source_id, &why);
                }
                Parsed::Ok(raw) => {
                    let person_col = by_table
                        .get(&Table::Referrals)
                        .map(|(_, fm)| fm.column_label("person"))
                        .unwrap_or_else(|| "person".into());
                    let person = match person_outcome.get(&raw.person_source) {
                        Some(PersonStatus::Ready(r)) => Ok(r.clone()),
                        Some(PersonStatus::Rejected(line)) => Err(format!(
                            "person {} was rejected (row {line})",
                            mapping::printable(&raw.person_source)
                        )),
                        Some(PersonStatus::Excluded(rule)) => Err(format!(
                            "person {} is excluded by {rule}",
                            mapping::printable(&raw.person_source)
                        )),
                        None => match ctx.already(Table::People, &raw.person_source) {
                            Some(id) => Ok(PersonRef::Existing(id.clone())),
                            None => Err(format!(
                                "person {} is not in this import or an earlier one",
                                mapping::printable(&raw.person_source)
                            )),
                        },
                    };
                    let person = match person {
                        Ok(p) => p,
                        Err(reason) => {
                            case_outcome
                                .insert(row.source_id.clone(), CaseStatus::Rejected(row.line));
                            file.note_rejected(row.line, &row.source_id, &person_col, &reason);
                            continue;
                        }
                    };
                    let area_id = raw.area_id.clone().or_else(|| match &person {
                        PersonRef::New(s) => new_people_area.get(s).cloned(),
                        PersonRef::Existing(id) => existing_person_area.get(id).cloned(),
                    });
                    let Some(area_id) = area_id else {
                        case_outcome.insert(row.source_id.clone(), CaseStatus::Rejected(row.line));
                        file.note_rejected(
                            row.line,
                            &row.source_id,
                            "area",
                            "no area for the case or its person",
                        );
                        continue;
                    };
                    let mut rec = raw.rec;
                    rec.person = person;
                    rec.area_id = area_id.clone();
                    hasher.update(canon_line(
                        "referrals",
                        &row.source_id,
                        &row.canon,
                        Some(&rec.person),
                    ));
                    file.imported += 1;
                    if let Some((column, why)) = &raw.check {
                        file.note_check(row.line, &row.source_id, column, why);
                    }
                    case_outcome.insert(
                        row.source_id.clone(),
                        CaseStatus::Ready(CaseRef::New(row.source_id.clone())),
                    );
                    plan.cases.push(rec);
                }
            }
        }
        report.files.push(file);
    }

    // Sessions: link each to its case.
    if let Some((input, fm)) = by_table.get(&Table::Sessions) {
        let mut file = FileReport::new(&input.name, Table::Sessions);
        let rows = read_rows(
            input,
            fm,
            shared(&input.name),
            &ctx,
            &mut file,
            |cells, id| parse_session(cells, &ctx, id),
            |_| None,
        )?;
        let case_col = fm.column_label("referral");
        let earlier_ids: Vec<String> = rows
            .iter()
            .filter_map(|r| match &r.parsed {
                Parsed::Ok(s) => match case_outcome.get(&s.case_source) {
                    Some(CaseStatus::Ready(CaseRef::Existing { referral_id, .. })) => {
                        Some(referral_id.clone())
                    }
                    None => ctx.already(Table::Referrals, &s.case_source).cloned(),
                    _ => None,
                },
                _ => None,
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut earlier_area: HashMap<String, String> = HashMap::new();
        for chunk in earlier_ids.chunks(500) {
            for (id, area) in referrals::table
                .filter(referrals::id.eq_any(chunk))
                .select((referrals::id, referrals::area_id))
                .load::<(String, String)>(c)?
            {
                earlier_area.insert(id, area);
            }
        }
        for row in rows {
            file.source_rows += 1;
            match row.parsed {
                Parsed::Repeat(first) => {
                    file.note_repeat(row.line, &row.source_id, first, "appointment")
                }
                Parsed::Already => file.note_already(row.line, &row.source_id),
                Parsed::Rejected { field, reason } => {
                    file.note_rejected(row.line, &row.source_id, &field, &reason)
                }
                Parsed::Excluded(rule, _) => file.note_excluded(row.line, &row.source_id, &rule),
                Parsed::Ok(raw) => {
                    let cs = &raw.case_source;
                    let existing = |id: &String| {
                        earlier_area.get(id).map(|a| CaseRef::Existing {
                            referral_id: id.clone(),
                            area_id: a.clone(),
                        })
                    };
                    let case = match case_outcome.get(cs) {
                        Some(CaseStatus::Ready(CaseRef::New(s))) => Ok(CaseRef::New(s.clone())),
                        Some(CaseStatus::Ready(CaseRef::Existing { referral_id, .. })) => {
                            existing(referral_id).ok_or_else(|| {
                                format!("case {} is no longer here", mapping::printable(cs))
                            })
                        }
                        Some(CaseStatus::Rejected(line)) => Err(format!(
                            "case {} was rejected (row {line})",
                            mapping::printable(cs)
                        )),
                        Some(CaseStatus::Excluded(rule)) => {
                            file.note_excluded(
                                row.line,
                                &row.source_id,
                                &format!("{rule} (its case {} is past it)", mapping::printable(cs)),
                            );
                            continue;
                        }
                        None => match ctx.already(Table::Referrals, cs) {
                            Some(id) => existing(id).ok_or_else(|| {
                                format!("case {} is no longer here", mapping::printable(cs))
                            }),
                            None => Err(format!(
                                "case {} is not in this import or an earlier one",
                                mapping::printable(cs)
                            )),
                        },
                    };
                    match case {
                        Ok(case) => {
                            let mut rec = raw.rec;
                            rec.case = case;
                            hasher.update(canon_line("sessions", &row.source_id, &row.canon, None));
                            file.imported += 1;
                            plan.sessions.push(rec);
                        }
                        Err(reason) => {
                            file.note_rejected(row.line, &row.source_id, &case_col, &reason)
                        }
                    }
                }
            }
        }
        report.files.push(file);
    }

    hasher.update(mapping.source_system.as_bytes());
    report.checksum = hex::encode(hasher.finalize());
    for (name, before, after) in report.tables.iter_mut() {
        *after = *before
            + match name.as_str() {
                "people" => plan.people.len() as i64,
                "referrals" => plan.cases.len() as i64,
                "treatment_sessions" => plan.sessions.len() as i64,
                _ => 0,
            };
    }
    report.assert_balanced();
    Ok((plan, report))
}

/// A name holding `?`, which in an export usually stands for a letter the old system's
/// character set could not hold (é, ø, ł…): imported as it is, and listed for a person to
/// check against the person's other records.
fn lost_letter(fm: &mapping::FileMapping, p: &PersonRec) -> Option<(String, String)> {
    let (field, value) = [
        ("given_name", &p.given_name),
        ("family_name", &p.family_name),
    ]
    .into_iter()
    .find(|(_, v)| v.contains('?'))?;
    let column = fm.column_label(field);
    Some((
        column,
        format!(
            "'{}' holds a '?', which often stands for a letter the old system could not store (such as é or ø): check the name against the person's other records and correct it",
            mapping::printable(value)
        ),
    ))
}

enum PersonStatus {
    Ready(PersonRef),
    Rejected(u64),
    Excluded(String),
}

enum CaseStatus {
    Ready(CaseRef),
    Rejected(u64),
    Excluded(String),
}

/// Areas of people already here that this import's cases point at.
fn existing_areas(
    c: &mut DbConn,
    person_outcome: &HashMap<String, PersonStatus>,
    _cases: &[Row<RawCase>],
) -> Result<HashMap<String, String>, AppError> {
    let ids: Vec<String> = person_outcome
        .values()
        .filter_map(|s| match s {
            PersonStatus::Ready(PersonRef::Existing(id)) => Some(id.clone()),
            _ => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for (id, area) in people::table
            .filter(people::id.eq_any(chunk))
            .select((people::id, people::area_id))
            .load::<(String, String)>(c)?
        {
            out.insert(id, area);
        }
    }
    Ok(out)
}

/// One accepted row in the checksum: its table, source id, the cells as read and where a
/// merge or link points.
fn canon_line(table: &str, source_id: &str, canon: &str, link: Option<&PersonRef>) -> Vec<u8> {
    let link = match link {
        Some(PersonRef::New(s)) => format!("new:{s}"),
        Some(PersonRef::Existing(id)) => format!("existing:{id}"),
        None => String::new(),
    };
    let mut out = Vec::with_capacity(canon.len() + 64);
    for part in [table, source_id, canon, &link] {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// Rows in the tables an import feeds.
pub fn table_counts(c: &mut DbConn) -> Result<Vec<(String, i64, i64)>, AppError> {
    let p: i64 = people::table.count().get_result(c)?;
    let r: i64 = referrals::table.count().get_result(c)?;
    let s: i64 = treatment_sessions::table.count().get_result(c)?;
    Ok(vec![
        ("people".into(), p, p),
        ("referrals".into(), r, r),
        ("treatment_sessions".into(), s, s),
    ])
}
