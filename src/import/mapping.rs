//! The mapping file: how one legacy system's CSV export maps onto our tables. A different
//! legacy layout needs a new mapping file, not new code.
//!
//! ```toml
//! source_system = "casebook"
//! [retention]             # cases already due for retention review are not brought over
//! rule = "casebook-retention"
//! [[file]]
//! file_name = "clients.csv"
//! table = "people"
//! source_id = "ClientRef"
//! rows = 1250             # optional: the export's own row count (or sha256 = "…")
//! [file.columns]          # our field = source column (or columns, joined by a space)
//! given_name = "Forename"
//! [file.dates]            # formats tried in turn
//! date_of_birth = ["%d/%m/%Y", "%Y-%m-%d"]
//! [file.codes.sex]        # legacy code = our code ("" = blank; "reject: why" refuses
//! M = "male"              # the row); any other value is listed as unmapped
//! [file.defaults]         # used when the column is not mapped or the cell is blank
//! sex = "not_recorded"
//! ```
//!
//! One export file may feed several tables (a row holding the person and their case): give
//! it one `[[file]]` per table, with the same `file_name`.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

/// The tables a legacy file can feed, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    People,
    Referrals,
    Sessions,
}

impl Table {
    pub fn as_str(self) -> &'static str {
        match self {
            Table::People => "people",
            Table::Referrals => "referrals",
            Table::Sessions => "sessions",
        }
    }

    /// The fields a file of this table may map, and whether each is required.
    pub fn fields(self) -> &'static [(&'static str, bool)] {
        match self {
            Table::People => &[
                ("given_name", true),
                ("family_name", true),
                ("date_of_birth", true),
                ("sex", true),
                ("gender_identity", true),
                ("ethnicity", false),
                ("pnc_id", false),
                ("crn", false),
                ("area", true),
                ("gp_practice", false),
                ("communication_needs", false),
                ("interpreter_needed", false),
                ("language", false),
            ],
            Table::Referrals => &[
                ("person", true),
                ("area", false),
                ("entry_point", true),
                ("status", true),
                ("offence_category", true),
                ("urgency", true),
                ("referred_on", true),
                ("sentence_date", false),
                ("requirement_end_date", false),
                ("closed_on", false),
            ],
            Table::Sessions => &[
                ("referral", true),
                ("starts_at", true),
                ("minutes", true),
                ("mode", true),
                ("status", true),
                ("outcome", false),
                ("practitioner", true),
                ("cancelled_by", false),
                ("cancel_reason", false),
            ],
        }
    }

    /// Fields holding dates (`date`) or date-times (`datetime`).
    pub fn date_kind(self, field: &str) -> Option<DateKind> {
        match (self, field) {
            (Table::People, "date_of_birth")
            | (
                Table::Referrals,
                "referred_on" | "sentence_date" | "requirement_end_date" | "closed_on",
            ) => Some(DateKind::Date),
            (Table::Sessions, "starts_at") => Some(DateKind::DateTime),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateKind {
    Date,
    DateTime,
}

/// How the bytes of a file are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8; a row that is not valid UTF-8 is read as Windows-1252 and reported.
    #[default]
    Auto,
    Utf8,
    #[serde(alias = "cp1252", alias = "windows1252")]
    Windows1252,
}

/// Closed cases whose retention review is already due under the service's own policy
/// (`[retention]` in the settings, the same one the review queue reads) are not brought over,
/// nor anything that only belongs to them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// The rule's name, shown against every row it excludes.
    pub rule: String,
    #[serde(default)]
    pub description: String,
    /// No longer read: the period is the service's retention policy. Kept only to explain
    /// the change to a mapping file written before it.
    #[serde(default)]
    pub closed_more_than_years: Option<u32>,
}

/// The source column a field is read from, or several whose cells are joined with a space
/// (a date column and a time column make one start time).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Columns {
    One(String),
    Joined(Vec<String>),
}

impl Columns {
    pub fn names(&self) -> &[String] {
        match self {
            Columns::One(c) => std::slice::from_ref(c),
            Columns::Joined(cs) => cs,
        }
    }

    /// How the report names it: the column, or the columns joined with " + ".
    pub fn label(&self) -> String {
        self.names().join(" + ")
    }
}

/// What a legacy code stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code<'a> {
    /// One of our codes (or a value such as a practitioner's email).
    Ours(&'a str),
    /// Nothing: the cell is read as blank.
    Blank,
    /// The mapping refuses rows with this value, for the reason given.
    Refused(&'a str),
    /// The mapping does not list it.
    Unmapped,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMapping {
    /// The input file's name (without folders), e.g. `cb_clients.csv`.
    pub file_name: String,
    pub table: Table,
    /// The source column holding the row's id in the legacy system.
    pub source_id: String,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Our field = source column, or columns joined by a space.
    #[serde(default)]
    pub columns: BTreeMap<String, Columns>,
    /// Our field = the date formats tried in turn (chrono `strftime` syntax).
    #[serde(default)]
    pub dates: BTreeMap<String, Vec<String>>,
    /// Our field = { legacy code = our code }.
    #[serde(default)]
    pub codes: BTreeMap<String, BTreeMap<String, String>>,
    /// Our field = the value used when the column is unmapped or the cell blank.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// The number of data rows the legacy system says it exported: a file with any other
    /// number is refused whole (it was cut short, or is not the export described).
    #[serde(default)]
    pub rows: Option<u64>,
    /// The SHA-256 (hex) of the file as exported: a file with any other is refused whole.
    #[serde(default)]
    pub sha256: Option<String>,
}

fn default_delimiter() -> char {
    ','
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Names the legacy system; source ids are unique within it.
    pub source_system: String,
    #[serde(default)]
    pub description: String,
    pub retention: Option<Retention>,
    #[serde(rename = "file")]
    pub files: Vec<FileMapping>,
}

const DEFAULT_DATE_FORMATS: &[&str] = &["%Y-%m-%d"];
const DEFAULT_DATETIME_FORMATS: &[&str] =
    &["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"];

impl Mapping {
    /// Reads and checks a mapping file's text. Every problem is a message, never a panic.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let m: Mapping = toml::from_str(text).map_err(|e| format!("mapping file: {e}"))?;
        m.check()?;
        Ok(m)
    }

    pub fn load(path: &std::path::Path) -> Result<Mapping, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read mapping file {}: {e}", path.display()))?;
        Mapping::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn check(&self) -> Result<(), String> {
        if self.source_system.trim().is_empty() {
            return Err("source_system must name the legacy system".into());
        }
        if self.files.is_empty() {
            return Err("the mapping describes no [[file]]".into());
        }
        if let Some(r) = &self.retention {
            if r.rule.trim().is_empty() {
                return Err("[retention] needs a rule name".into());
            }
            if r.closed_more_than_years.is_some() {
                return Err("[retention] closed_more_than_years is not read: a case is left behind when its retention review is already due under the service's own policy (retention.ended_without_treatment_years and retention.closed_after_treatment_years in the settings), the one the review queue follows. Remove the line".into());
            }
        }
        let mut names = std::collections::HashSet::new();
        let mut tables = std::collections::HashSet::new();
        for f in &self.files {
            if !names.insert((f.file_name.as_str(), f.table)) {
                return Err(format!(
                    "file {} is described twice as a source of {}",
                    f.file_name,
                    f.table.as_str()
                ));
            }
            if !tables.insert(f.table) {
                return Err(format!(
                    "{} is fed by two files: give one [[file]] per table",
                    f.table.as_str()
                ));
            }
            if let Some(other) = self
                .files
                .iter()
                .find(|o| o.file_name == f.file_name && o.table != f.table)
                && (other.delimiter != f.delimiter || other.encoding != f.encoding)
            {
                return Err(format!(
                    "file {}: the [[file]] sections that read it must agree on its delimiter and encoding",
                    f.file_name
                ));
            }
            for (field, map) in &f.codes {
                for (legacy, ours) in map {
                    if let Some(why) = ours.strip_prefix("reject:")
                        && why.trim().is_empty()
                    {
                        return Err(format!(
                            "file {}: codes.{field}.{legacy}: say why the rows are refused, e.g. \"reject: transferred out before the move\"",
                            f.file_name
                        ));
                    }
                }
            }
            if f.source_id.trim().is_empty() {
                return Err(format!(
                    "file {}: source_id must name a column",
                    f.file_name
                ));
            }
            if let Some(h) = &f.sha256
                && (h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()))
            {
                return Err(format!(
                    "file {}: sha256 must be 64 hexadecimal digits",
                    f.file_name
                ));
            }
            if !f.delimiter.is_ascii() {
                return Err(format!(
                    "file {}: the delimiter must be one ASCII character",
                    f.file_name
                ));
            }
            let known: Vec<&str> = f.table.fields().iter().map(|(n, _)| *n).collect();
            for key in f
                .columns
                .keys()
                .chain(f.dates.keys())
                .chain(f.codes.keys())
                .chain(f.defaults.keys())
            {
                if !known.contains(&key.as_str()) {
                    return Err(format!(
                        "file {}: {} has no field '{key}' (fields: {})",
                        f.file_name,
                        f.table.as_str(),
                        known.join(", ")
                    ));
                }
            }
            for (field, required) in f.table.fields() {
                if *required && !f.columns.contains_key(*field) && !f.defaults.contains_key(*field)
                {
                    return Err(format!(
                        "file {}: the required field '{field}' has no column and no default",
                        f.file_name
                    ));
                }
            }
            for (field, formats) in &f.dates {
                if f.table.date_kind(field).is_none() {
                    return Err(format!(
                        "file {}: '{field}' is not a date field",
                        f.file_name
                    ));
                }
                if formats.is_empty() {
                    return Err(format!(
                        "file {}: no date format for '{field}'",
                        f.file_name
                    ));
                }
                for fmt in formats {
                    check_format(fmt).map_err(|e| format!("file {}: {field}: {e}", f.file_name))?;
                }
            }
        }
        Ok(())
    }

    /// The mapping of an input file, by its name (the first, where it feeds several tables).
    pub fn file(&self, file_name: &str) -> Option<&FileMapping> {
        self.files.iter().find(|f| f.file_name == file_name)
    }

    /// Every table an input file feeds, by its name.
    pub fn files_named<'a>(&'a self, file_name: &'a str) -> impl Iterator<Item = &'a FileMapping> {
        self.files.iter().filter(move |f| f.file_name == file_name)
    }
}

/// A strftime format chrono accepts (an invalid one would fail every row instead of once here).
fn check_format(fmt: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if fmt.trim().is_empty() {
        return Err("an empty date format".into());
    }
    if StrftimeItems::new(fmt).any(|i| matches!(i, Item::Error)) {
        return Err(format!("'{fmt}' is not a valid date format"));
    }
    Ok(())
}

impl FileMapping {
    /// The formats for a date field: the mapping's, else ISO 8601.
    pub fn formats(&self, field: &str, kind: DateKind) -> Vec<&str> {
        match self.dates.get(field) {
            Some(f) => f.iter().map(String::as_str).collect(),
            None => match kind {
                DateKind::Date => DEFAULT_DATE_FORMATS.to_vec(),
                DateKind::DateTime => DEFAULT_DATETIME_FORMATS.to_vec(),
            },
        }
    }

    /// Translates a legacy value through the field's code list; with no list the value itself
    /// stands (checked by the caller).
    pub fn translate<'a>(&'a self, field: &str, value: &'a str) -> Code<'a> {
        let Some(map) = self.codes.get(field) else {
            return Code::Ours(value);
        };
        let Some(ours) = map.get(value).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(value))
                .map(|(_, v)| v)
        }) else {
            return Code::Unmapped;
        };
        if let Some(why) = ours.strip_prefix("reject:") {
            Code::Refused(why.trim())
        } else if ours.trim().is_empty() {
            Code::Blank
        } else {
            Code::Ours(ours.trim())
        }
    }

    /// As [`FileMapping::translate`], as a value or the reason it is not one (the tests' view
    /// of a code list).
    #[cfg(test)]
    pub fn code<'a>(&'a self, field: &str, value: &'a str) -> Result<&'a str, String> {
        match self.translate(field, value) {
            Code::Ours(v) => Ok(v),
            Code::Blank => Ok(""),
            Code::Refused(why) => Err(why.to_owned()),
            Code::Unmapped => Err(format!("unknown code '{}'", printable(value))),
        }
    }

    /// The source column(s) of a field, as the report names them.
    pub fn column_label(&self, field: &str) -> String {
        self.columns
            .get(field)
            .map(Columns::label)
            .unwrap_or_else(|| field.to_owned())
    }
}

/// Parses a date with the first format that fits.
pub fn parse_date(value: &str, formats: &[&str]) -> Result<NaiveDate, String> {
    let v = value.trim();
    for f in formats {
        if let Ok(d) = NaiveDate::parse_from_str(v, f) {
            return Ok(d);
        }
    }
    Err(format!(
        "'{}' is not a date in any of the formats {}",
        printable(v),
        formats.join(", ")
    ))
}

/// Parses a date and time with the first format that fits; a bare date is midnight.
pub fn parse_datetime(value: &str, formats: &[&str]) -> Result<NaiveDateTime, String> {
    let v = value.trim();
    for f in formats {
        if let Ok(d) = NaiveDateTime::parse_from_str(v, f) {
            return Ok(d);
        }
        if let Ok(d) = NaiveDate::parse_from_str(v, f)
            && let Some(t) = d.and_hms_opt(0, 0, 0)
        {
            return Ok(t);
        }
    }
    Err(format!(
        "'{}' is not a date and time in any of the formats {}",
        printable(v),
        formats.join(", ")
    ))
}

/// A value quoted in a message: control characters escaped, at most 40 characters.
pub fn printable(v: &str) -> String {
    let mut out: String = v.chars().take(40).flat_map(char::escape_default).collect();
    if v.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMALL: &str = r#"
source_system = "x"
[[file]]
file_name = "p.csv"
table = "people"
source_id = "Id"
[file.columns]
given_name = "First"
family_name = "Last"
date_of_birth = "Born"
sex = "Sex"
area = "Area"
[file.defaults]
gender_identity = "not_stated"
[file.dates]
date_of_birth = ["%d/%m/%Y", "%Y-%m-%d"]
[file.codes.sex]
M = "male"
"#;

    #[test]
    fn the_shipped_mapping_parses() {
        let text = include_str!("../../config/import/legacy_casebook.toml");
        let m = Mapping::parse(text).unwrap();
        assert_eq!(m.source_system, "casebook");
        assert_eq!(m.files.len(), 3);
    }

    #[test]
    fn a_small_mapping_parses_and_translates() {
        let m = Mapping::parse(SMALL).unwrap();
        let f = m.file("p.csv").unwrap();
        assert_eq!(f.code("sex", "M").unwrap(), "male");
        assert_eq!(f.code("sex", "m").unwrap(), "male");
        assert_eq!(f.code("sex", "X").unwrap_err(), "unknown code 'X'");
        let formats = f.formats("date_of_birth", DateKind::Date);
        assert_eq!(
            parse_date("03/02/1990", &formats).unwrap(),
            NaiveDate::from_ymd_opt(1990, 2, 3).unwrap()
        );
        assert_eq!(
            parse_date("1990-02-03", &formats).unwrap(),
            NaiveDate::from_ymd_opt(1990, 2, 3).unwrap()
        );
        assert!(
            parse_date("31/02/1990", &formats)
                .unwrap_err()
                .contains("not a date")
        );
    }

    #[test]
    fn mistakes_in_a_mapping_are_explained() {
        let missing = SMALL.replace("area = \"Area\"\n", "");
        assert!(Mapping::parse(&missing).unwrap_err().contains("'area'"));
        let unknown = SMALL.replace("area = \"Area\"", "area = \"Area\"\nshoe_size = \"Shoe\"");
        assert!(Mapping::parse(&unknown).unwrap_err().contains("shoe_size"));
        let bad_table = SMALL.replace("table = \"people\"", "table = \"cats\"");
        assert!(
            Mapping::parse(&bad_table)
                .unwrap_err()
                .contains("mapping file")
        );
        let bad_format = SMALL.replace("%d/%m/%Y", "%Q");
        assert!(
            Mapping::parse(&bad_format)
                .unwrap_err()
                .contains("not a valid date format")
        );
        assert!(Mapping::parse("").is_err());
    }

    #[test]
    fn datetimes_accept_bare_dates() {
        let t = parse_datetime("2024-05-01", &["%Y-%m-%d %H:%M", "%Y-%m-%d"]).unwrap();
        assert_eq!(t.to_string(), "2024-05-01 00:00:00");
        let t = parse_datetime("01/05/2024 14:30", &["%d/%m/%Y %H:%M"]).unwrap();
        assert_eq!(t.to_string(), "2024-05-01 14:30:00");
    }

    proptest! {
        #[test]
        fn mapping_parsing_never_panics(text in "\\PC{0,400}") {
            let _ = Mapping::parse(&text);
        }

        #[test]
        fn mapping_with_mutated_lines_never_panics(cut in 0usize..400, insert in "\\PC{0,20}") {
            let mut s = SMALL.to_owned();
            let at = (0..=cut.min(s.len())).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            s.insert_str(at, &insert);
            let _ = Mapping::parse(&s);
        }

        #[test]
        fn dates_never_panic_and_explain(v in "\\PC{0,30}", fmt in "(%[dmYyHMSbB]|[-/ :]|\\PC){0,8}") {
            match parse_date(&v, &[fmt.as_str()]) {
                Ok(_) => {}
                Err(e) => prop_assert!(e.contains("not a date")),
            }
            let _ = parse_datetime(&v, &[fmt.as_str()]);
        }

        #[test]
        fn valid_dates_round_trip(y in 1900i32..2100, m in 1u32..=12, d in 1u32..=28) {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let text = date.format("%d/%m/%Y").to_string();
            prop_assert_eq!(parse_date(&text, &["%Y-%m-%d", "%d/%m/%Y"]).unwrap(), date);
        }

        #[test]
        fn codes_never_panic(v in "\\PC{0,30}") {
            let m = Mapping::parse(SMALL).unwrap();
            let f = m.file("p.csv").unwrap();
            match f.code("sex", &v) {
                Ok(c) => prop_assert_eq!(c, "male"),
                Err(e) => prop_assert!(e.starts_with("unknown code")),
            }
        }
    }
}
