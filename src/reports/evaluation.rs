//! The evaluation return: one row per referral made in the period, for commissioners and
//! evaluators, with its pathway dates and waits, the order and how treatment ended, each
//! measure's first and last score with their dates and clinical reading (caseness, reliable
//! change), the NHS Talking Therapies outcomes of the PHQ-9 and GAD-7 together, and onward
//! support. Which fields, in which order and under which headings, is set by a mapping file
//! (`config/returns/*.toml`, chosen by name), read against the data dictionary
//! ([`FIELDS`], written out in `docs/evaluation-return.md`).
//!
//! A row names no one: it carries the referral's own reference, which means nothing outside
//! the service. Linking to reoffending data needs the separate identifier extract
//! ([`identifier_extract`]): the reference with the person's CRN and PNC number, for
//! administrators only, with a reason, audited. Councillors get neither: their figures are
//! the uptake report's, through disclosure control.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{
    areas, outcome_measures, people, referrals, report_facts, treatment_sessions,
};
use crate::error::{AppError, FieldErrors};
use crate::reports::facts::Fact;
use crate::reports::query::Query;
use crate::sessions::measures::Instrument;
use crate::sessions::outcomes;
use crate::spreadsheet::quoted;
use crate::users::model::Role;

/// One field of the data dictionary: its key (what a mapping names), what it holds.
pub struct Field {
    pub key: &'static str,
    pub meaning: &'static str,
}

macro_rules! fields {
    ($($key:literal => $meaning:literal,)*) => {
        /// The data dictionary: every field a return may carry.
        pub const FIELDS: &[Field] = &[$(Field { key: $key, meaning: $meaning },)*];
    };
}

fields! {
    "reference" => "The referral's reference in this service (MH-…). Names no one; the identifier extract links it to the CRN and PNC number.",
    "area_code" => "ONS code of the local authority area the referral was made in.",
    "area" => "Name of that area.",
    "entry_point" => "How the person came: `arrest` (Liaison and Diversion) or `probation` (pre-sentence report).",
    "sex" => "`male`, `female` or `not_recorded`.",
    "age_band" => "Age band at referral, for example `25_34`.",
    "ethnic_group" => "ONS broad ethnic group code; empty when not stated.",
    "referred_on" => "Date the referral was made (YYYY-MM-DD).",
    "screened_on" => "Date screened; empty if not yet.",
    "accepted" => "`true` if accepted at screening.",
    "assessed_on" => "Date of the suitability assessment; empty if none.",
    "suitable" => "`true` if found suitable.",
    "consented_on" => "Date the person consented to the requirement; empty if not.",
    "sentenced_on" => "Date of sentence; empty if not yet sentenced.",
    "order_made" => "`true` if the court made an MHTR.",
    "combined_with" => "What the MHTR was made with: `none`, `drr`, `atr` or `drr_and_atr`; empty without an order.",
    "first_session_on" => "Date of the first attended treatment session; empty if none.",
    "ended_on" => "Date treatment ended; empty while in treatment or if it never started.",
    "end_outcome" => "How treatment ended, for example `completed` or `disengaged`; empty if it has not.",
    "sessions_attended" => "Treatment sessions attended.",
    "sessions_missed" => "Treatment sessions missed (acceptable and unacceptable absences).",
    "wait_referral_to_assessment_days" => "Days from referral to assessment; empty without an assessment.",
    "wait_sentence_to_first_session_days" => "Days from sentence to the first session; empty without both.",
    "finished_treatment" => "`true` if treatment ended after at least two attended sessions (NHS Talking Therapies' finished course).",
    "phq9_first" => "First PHQ-9 total (0 to 27); empty if none.",
    "phq9_first_on" => "Date of the session it was taken at.",
    "phq9_last" => "Last PHQ-9 total, when there are two or more; empty otherwise.",
    "phq9_last_on" => "Date of the session it was taken at.",
    "phq9_caseness_start" => "`true` if the first PHQ-9 is 10 or more.",
    "phq9_caseness_end" => "`true` if the last PHQ-9 is 10 or more; empty without a last.",
    "phq9_change" => "`reliable_improvement` (a fall of 6 or more), `reliable_deterioration` (a rise of 6 or more) or `no_reliable_change`; empty without a pair.",
    "gad7_first" => "First GAD-7 total (0 to 21); empty if none.",
    "gad7_first_on" => "Date of the session it was taken at.",
    "gad7_last" => "Last GAD-7 total, when there are two or more; empty otherwise.",
    "gad7_last_on" => "Date of the session it was taken at.",
    "gad7_caseness_start" => "`true` if the first GAD-7 is 8 or more.",
    "gad7_caseness_end" => "`true` if the last GAD-7 is 8 or more; empty without a last.",
    "gad7_change" => "As `phq9_change`, with a threshold of 4.",
    "core10_first" => "First CORE-10 total (0 to 40); empty if none.",
    "core10_first_on" => "Date of the session it was taken at.",
    "core10_last" => "Last CORE-10 total, when there are two or more; empty otherwise.",
    "core10_last_on" => "Date of the session it was taken at.",
    "core10_caseness_start" => "`true` if the first CORE-10 is 11 or more.",
    "core10_caseness_end" => "`true` if the last CORE-10 is 11 or more; empty without a last.",
    "core10_change" => "As `phq9_change`, with a threshold of 6.",
    "paired" => "`true` if both PHQ-9 and GAD-7 have a first and a last score.",
    "recovery_caseness_start" => "`true` if at caseness on PHQ-9 or GAD-7 at the start (in recovery's denominator); empty unless paired.",
    "recovered" => "`true` if at caseness at the start and below both cut-offs at the end; empty unless in recovery's denominator.",
    "reliably_recovered" => "`true` if recovered and reliably improved; empty unless in recovery's denominator.",
    "combined_change" => "PHQ-9 and GAD-7 together: `reliable_improvement`, `reliable_deterioration` or `no_reliable_change`; empty unless paired.",
    "signposted_to" => "Service types the person was signposted onward to, separated by commas.",
}

/// A mapping file: which fields, in which order, under which headings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(rename = "return")]
    pub about: About,
    #[serde(rename = "column")]
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct About {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub header: String,
    pub field: String,
}

/// A mapping name: letters, digits, hyphens and underscores (it names a file).
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Reads the mapping `name` from `dir`, checking every field against the dictionary.
pub fn load_mapping(dir: &str, name: &str) -> Result<Mapping, AppError> {
    let refuse = |m: String| AppError::Validation(FieldErrors::single("return", m));
    if !safe_name(name) {
        return Err(refuse(
            "Choose a return by its name, like evaluation".into(),
        ));
    }
    let path = std::path::Path::new(dir).join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path)
        .map_err(|_| refuse(format!("There is no return called {name}")))?;
    parse_mapping(&text).map_err(refuse)
}

/// The returns in `dir`: each file's name (what to ask for) and its title.
pub fn returns_in(dir: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e
                        .file_name()
                        .to_string_lossy()
                        .strip_suffix(".toml")?
                        .to_owned();
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    let m = parse_mapping(&text).ok()?;
                    safe_name(&name).then_some((name, m.about.name))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A mapping from its text: every column names a field of the dictionary, once.
pub fn parse_mapping(text: &str) -> Result<Mapping, String> {
    let m: Mapping =
        toml::from_str(text).map_err(|e| format!("The mapping cannot be read: {e}"))?;
    if m.columns.is_empty() {
        return Err("The mapping has no columns".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &m.columns {
        if !FIELDS.iter().any(|f| f.key == c.field) {
            return Err(format!(
                "Column \"{}\" names field \"{}\", which is not in the data dictionary",
                c.header, c.field
            ));
        }
        if !seen.insert(c.header.as_str()) {
            return Err(format!("Two columns are headed \"{}\"", c.header));
        }
    }
    Ok(m)
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn flag(b: bool) -> String {
    b.to_string()
}

fn opt_flag(b: Option<bool>) -> String {
    b.map(flag).unwrap_or_default()
}

/// First and last scores of one measure with the dates of their sessions.
#[derive(Debug, Clone, Copy, Default)]
struct Scores {
    first: Option<(i32, NaiveDate)>,
    last: Option<(i32, NaiveDate)>,
}

/// Every field of one referral, by key.
fn row_of(
    f: &Fact,
    reference: &str,
    area: &(String, String),
    scores: &BTreeMap<Instrument, Scores>,
) -> BTreeMap<&'static str, String> {
    let mut r = BTreeMap::new();
    let days = |a: Option<NaiveDate>, b: Option<NaiveDate>| match (a, b) {
        (Some(a), Some(b)) => (b - a).num_days().to_string(),
        _ => String::new(),
    };
    r.insert("reference", reference.to_owned());
    r.insert("area_code", area.0.clone());
    r.insert("area", area.1.clone());
    r.insert("entry_point", f.entry_point.as_str().to_owned());
    r.insert("sex", f.sex.as_str().to_owned());
    r.insert("age_band", f.age_band.as_str().to_owned());
    r.insert("ethnic_group", f.ethnic_group.clone().unwrap_or_default());
    r.insert("referred_on", f.referred_on.to_string());
    r.insert("screened_on", date(f.screened_on));
    r.insert("accepted", flag(f.accepted));
    r.insert("assessed_on", date(f.assessed_on));
    r.insert("suitable", flag(f.suitable));
    r.insert("consented_on", date(f.consented_on));
    r.insert("sentenced_on", date(f.sentenced_on));
    r.insert("order_made", flag(f.order_made));
    r.insert(
        "combined_with",
        f.combined_with
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
    );
    r.insert("first_session_on", date(f.first_session_on));
    r.insert("ended_on", date(f.ended_on));
    r.insert("end_outcome", f.end_outcome.clone().unwrap_or_default());
    r.insert("sessions_attended", f.sessions_attended.to_string());
    r.insert("sessions_missed", f.sessions_missed.to_string());
    r.insert(
        "wait_referral_to_assessment_days",
        days(Some(f.referred_on), f.assessed_on),
    );
    r.insert(
        "wait_sentence_to_first_session_days",
        days(f.sentenced_on, f.first_session_on),
    );
    let finished = f.ended_on.is_some()
        && outcomes::finished_treatment(u32::try_from(f.sessions_attended).unwrap_or(0));
    r.insert("finished_treatment", flag(finished));
    let pair = |i: Instrument| -> Option<(u32, u32)> {
        let s = scores.get(&i)?;
        Some((
            u32::try_from(s.first?.0).ok()?,
            u32::try_from(s.last?.0).ok()?,
        ))
    };
    for (i, key) in [
        (Instrument::Phq9, "phq9"),
        (Instrument::Gad7, "gad7"),
        (Instrument::Core10, "core10"),
    ] {
        let s = scores.get(&i).copied().unwrap_or_default();
        let put = |r: &mut BTreeMap<&'static str, String>, suffix: &str, v: String| {
            if let Some(f) = FIELDS.iter().find(|f| f.key == format!("{key}_{suffix}")) {
                r.insert(f.key, v);
            }
        };
        put(
            &mut r,
            "first",
            s.first.map(|x| x.0.to_string()).unwrap_or_default(),
        );
        put(&mut r, "first_on", date(s.first.map(|x| x.1)));
        put(
            &mut r,
            "last",
            s.last.map(|x| x.0.to_string()).unwrap_or_default(),
        );
        put(&mut r, "last_on", date(s.last.map(|x| x.1)));
        put(
            &mut r,
            "caseness_start",
            opt_flag(
                s.first
                    .map(|x| outcomes::at_caseness(i, u32::try_from(x.0).unwrap_or(0))),
            ),
        );
        put(
            &mut r,
            "caseness_end",
            opt_flag(
                s.last
                    .map(|x| outcomes::at_caseness(i, u32::try_from(x.0).unwrap_or(0))),
            ),
        );
        put(
            &mut r,
            "change",
            pair(i)
                .map(|(a, b)| outcomes::change(i, a, b).as_str().to_owned())
                .unwrap_or_default(),
        );
    }
    let together = match (pair(Instrument::Phq9), pair(Instrument::Gad7)) {
        (Some(p), Some(g)) => Some(outcomes::combined(p, g)),
        _ => None,
    };
    r.insert("paired", flag(together.is_some()));
    r.insert(
        "recovery_caseness_start",
        opt_flag(together.map(|t| t.caseness_at_start)),
    );
    r.insert("recovered", opt_flag(together.and_then(|t| t.recovered)));
    r.insert(
        "reliably_recovered",
        opt_flag(together.and_then(|t| t.reliably_recovered)),
    );
    r.insert(
        "combined_change",
        together
            .map(|t| t.change.as_str().to_owned())
            .unwrap_or_default(),
    );
    r.insert("signposted_to", f.signposted_types.clone());
    r
}

/// Each referral's first and last score per measure, with the dates of their sessions (by
/// session time, then when recorded).
fn scores_of(
    c: &mut DbConn,
    ids: &[String],
) -> Result<BTreeMap<String, BTreeMap<Instrument, Scores>>, AppError> {
    let mut out: BTreeMap<String, BTreeMap<Instrument, Scores>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, Instrument, i32, chrono::NaiveDateTime)> = outcome_measures::table
            .inner_join(
                treatment_sessions::table
                    .on(treatment_sessions::id.eq(outcome_measures::session_id)),
            )
            .filter(outcome_measures::referral_id.eq_any(chunk))
            .order((
                outcome_measures::referral_id,
                treatment_sessions::starts_at.asc(),
                outcome_measures::recorded_at.asc(),
            ))
            .select((
                outcome_measures::referral_id,
                outcome_measures::instrument,
                outcome_measures::total,
                treatment_sessions::starts_at,
            ))
            .load(c)?;
        let mut counts: BTreeMap<(String, Instrument), usize> = BTreeMap::new();
        for (id, i, total, at) in rows {
            let n = counts.entry((id.clone(), i)).or_default();
            *n += 1;
            let s = out.entry(id).or_default().entry(i).or_default();
            if *n == 1 {
                s.first = Some((total, at.date()));
            } else {
                s.last = Some((total, at.date()));
            }
        }
    }
    Ok(out)
}

/// Who may take the return: clinical leads and administrators, for their own areas.
fn may_take(role: Role) -> bool {
    matches!(role, Role::ClinicalLead | Role::Admin)
}

/// A return asked for, checked and recorded: what [`write_return`] writes.
pub struct Taken {
    mapping: Mapping,
    area_ids: Vec<String>,
    period: crate::reports::periods::Period,
    /// The file name to offer it under.
    pub file_name: String,
}

/// The return asked for by `query` (`return`, `period`, `area`) among `user_areas`, with
/// its mapping read from `dir`: checked (clinical leads and administrators, their own areas,
/// a known return and period) and recorded in the audit log with the rows it holds, before
/// anything of it is written. Call in a write transaction; then write it with
/// [`write_return`].
pub fn take_return(
    c: &mut DbConn,
    role: Role,
    actor: &Actor,
    user_areas: &[String],
    query: &str,
    dir: &str,
) -> Result<Taken, AppError> {
    if !may_take(role) {
        return Err(AppError::Forbidden);
    }
    let raw = crate::form::RawForm::from_urlencoded(query.as_bytes());
    let name = raw.get("return").to_owned();
    let mapping = load_mapping(dir, &name)?;
    let q = crate::reports::query::parse_query(c, user_areas, query)?;
    let area_ids: Vec<String> = q.areas.iter().map(|(id, _)| id.clone()).collect();
    let rows: i64 = report_facts::table
        .filter(report_facts::area_id.eq_any(&area_ids))
        .filter(report_facts::referred_on.between(q.period.start, q.period.end))
        .count()
        .get_result(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Disclosure, "report.evaluation_return").details(
            serde_json::json!({
                "return": name,
                "period": q.period.code(),
                "rows": rows,
            }),
        ),
    )?;
    Ok(Taken {
        file_name: format!("{name}-{}.csv", q.period.code().replace("..", "_to_")),
        mapping,
        area_ids,
        period: q.period,
    })
}

/// About how much CSV [`write_return`] gathers before handing it on.
const RETURN_CHUNK: usize = 64 * 1024;

/// Writes the return `taken` as CSV under its mapping's headings, handing it to `out` a
/// piece at a time: the referrals are read a day of referral at a time, in the order of
/// their referral dates, so memory holds a day's rows whatever the period's size. Call in a
/// read transaction (one snapshot for the whole file). `out` failing (the download was
/// abandoned) stops it.
pub fn write_return(
    c: &mut DbConn,
    taken: &Taken,
    out: &mut dyn FnMut(String) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let area_codes: BTreeMap<String, (String, String)> = areas::table
        .filter(areas::id.eq_any(&taken.area_ids))
        .select((areas::id, areas::code, areas::name))
        .load::<(String, String, String)>(c)?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    let columns = &taken.mapping.columns;
    let head: Vec<String> = columns.iter().map(|c| quoted(&c.header)).collect();
    let mut buf = head.join(",");
    buf.push_str("\r\n");
    let none = BTreeMap::new();
    let mut day = taken.period.start;
    while day <= taken.period.end {
        let facts: Vec<Fact> = report_facts::table
            .filter(report_facts::referred_on.eq(day))
            .filter(report_facts::area_id.eq_any(&taken.area_ids))
            .order(report_facts::referral_id)
            .select(Fact::as_select())
            .load(c)?;
        day = day.succ_opt().unwrap_or(NaiveDate::MAX);
        if facts.is_empty() {
            continue;
        }
        let ids: Vec<String> = facts.iter().map(|f| f.referral_id.clone()).collect();
        let references: BTreeMap<String, String> = referrals::table
            .filter(referrals::id.eq_any(&ids))
            .select((referrals::id, referrals::reference))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect();
        let scores = scores_of(c, &ids)?;
        for f in &facts {
            let area = area_codes.get(&f.area_id).cloned().unwrap_or_default();
            let reference = references.get(&f.referral_id).cloned().unwrap_or_default();
            let row = row_of(
                f,
                &reference,
                &area,
                scores.get(&f.referral_id).unwrap_or(&none),
            );
            let line: Vec<String> = columns
                .iter()
                .map(|c| quoted(row.get(c.field.as_str()).map_or("", String::as_str)))
                .collect();
            buf.push_str(&line.join(","));
            buf.push_str("\r\n");
        }
        if buf.len() >= RETURN_CHUNK {
            out(std::mem::take(&mut buf))?;
        }
    }
    if !buf.is_empty() {
        out(buf)?;
    }
    Ok(())
}

/// The identifier extract for `period` (and `areas`, all of `user_areas` when none) among
/// `user_areas`: the CSV and a file name for it.
pub fn take_identifiers(
    c: &mut DbConn,
    role: Role,
    actor: &Actor,
    user_areas: &[String],
    period: &str,
    areas: &[String],
    reason: &str,
) -> Result<(String, String), AppError> {
    let mut pairs = vec![("period", period)];
    pairs.extend(areas.iter().map(|a| ("area", a.as_str())));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let q = crate::reports::query::parse_query(c, user_areas, &query)?;
    let (csv, _) = identifier_extract(c, role, actor, &q, reason)?;
    Ok((
        csv,
        format!("identifiers-{}.csv", q.period.code().replace("..", "_to_")),
    ))
}

/// The identifier extract: each referral made in the period in the administrator's areas,
/// its reference with the person's CRN and PNC number, for linking the evaluation return to
/// reoffending data. Administrators only, with a reason, audited with it.
pub fn identifier_extract(
    c: &mut DbConn,
    role: Role,
    actor: &Actor,
    q: &Query,
    reason: &str,
) -> Result<(String, usize), AppError> {
    if role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::Validation(FieldErrors::single(
            "reason",
            "Enter why you need the identifiers, like the data sharing agreement for the reoffending study (up to 500 characters)",
        )));
    }
    let area_ids: Vec<String> = q.areas.iter().map(|(id, _)| id.clone()).collect();
    let rows: Vec<(String, Option<String>, Option<String>)> = referrals::table
        .inner_join(people::table.on(people::id.eq(referrals::person_id)))
        .inner_join(report_facts::table.on(report_facts::referral_id.eq(referrals::id)))
        .filter(referrals::area_id.eq_any(&area_ids))
        .filter(report_facts::referred_on.between(q.period.start, q.period.end))
        .order(referrals::reference)
        .select((referrals::reference, people::crn, people::pnc_id))
        .load(c)?;
    let mut out = String::from("\"reference\",\"crn\",\"pnc\"\r\n");
    for (reference, crn, pnc) in &rows {
        out.push_str(&format!(
            "{},{},{}\r\n",
            quoted(reference),
            quoted(crn.as_deref().unwrap_or_default()),
            quoted(pnc.as_deref().unwrap_or_default())
        ));
    }
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Disclosure, "report.identifier_extract")
            .reason(reason)
            .details(serde_json::json!({ "period": q.period.code(), "rows": rows.len() })),
    )?;
    Ok((out, rows.len()))
}

/// The data dictionary as Markdown, for `docs/evaluation-return.md`.
pub fn dictionary_markdown() -> String {
    let mut out = String::from("| Field | Meaning |\n|---|---|\n");
    for f in FIELDS {
        out.push_str(&format!("| `{}` | {} |\n", f.key, f.meaning));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_mapping_names_only_fields_of_the_dictionary() {
        let m = parse_mapping(include_str!("../../config/returns/evaluation.toml")).unwrap();
        assert_eq!(m.columns.len(), FIELDS.len(), "every field, once");
        let bad = "[return]\nname = \"x\"\ndescription = \"y\"\n[[column]]\nheader = \"A\"\nfield = \"shoe_size\"\n";
        assert!(parse_mapping(bad).unwrap_err().contains("shoe_size"));
        assert!(!safe_name("../secrets") && safe_name("evaluation"));
    }

    #[test]
    fn the_dictionary_in_the_docs_is_the_one_in_the_code() {
        let doc = include_str!("../../docs/evaluation-return.md");
        assert!(
            doc.contains(&dictionary_markdown()),
            "regenerate the table in docs/evaluation-return.md"
        );
    }

    #[test]
    fn a_row_reads_the_scores_clinically() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        use crate::referrals::codes::{EntryPoint, Sex};
        use crate::reports::facts::AgeBand;
        let f = Fact {
            referral_id: "r1".into(),
            area_id: "a1".into(),
            entry_point: EntryPoint::Probation,
            status: crate::referrals::state::Status::Ended,
            referred_on: day(1),
            sex: Sex::Female,
            ethnic_group: None,
            age_band: AgeBand::From25To34,
            screened_on: Some(day(2)),
            accepted: true,
            assessed_on: Some(day(11)),
            suitable: true,
            consented_on: Some(day(12)),
            sentenced_on: Some(day(20)),
            order_made: true,
            combined_with: None,
            first_session_on: Some(day(27)),
            ended_on: Some(day(30)),
            end_outcome: Some("completed".into()),
            end_reason: None,
            withdrawn: false,
            sessions_attended: 12,
            sessions_missed: 0,
            phq9_first: Some(18),
            phq9_last: Some(8),
            gad7_first: Some(9),
            gad7_last: Some(6),
            core10_first: None,
            core10_last: None,
            signposted_types: "gp".into(),
        };
        let mut scores = BTreeMap::new();
        // PHQ-9 18 → 8: caseness at the start, not at the end, a fall of 10.
        scores.insert(
            Instrument::Phq9,
            Scores {
                first: Some((18, day(2))),
                last: Some((8, day(29))),
            },
        );
        // GAD-7 9 → 6: a fall of 3, no reliable change.
        scores.insert(
            Instrument::Gad7,
            Scores {
                first: Some((9, day(2))),
                last: Some((6, day(29))),
            },
        );
        let r = row_of(&f, "MH-1", &("E06000017".into(), "Rutland".into()), &scores);
        assert_eq!(r["wait_referral_to_assessment_days"], "10");
        assert_eq!(r["wait_sentence_to_first_session_days"], "7");
        assert_eq!(r["phq9_change"], "reliable_improvement");
        assert_eq!(r["gad7_change"], "no_reliable_change");
        assert_eq!(r["phq9_caseness_end"], "false");
        assert_eq!(r["paired"], "true");
        assert_eq!(r["recovered"], "true");
        assert_eq!(r["reliably_recovered"], "true");
        assert_eq!(r["combined_change"], "reliable_improvement");
        assert_eq!(r["core10_first"], "");
        assert_eq!(r["core10_change"], "");
        assert_eq!(r["finished_treatment"], "true");
        for field in FIELDS {
            assert!(r.contains_key(field.key), "{} is filled", field.key);
        }
    }
}
