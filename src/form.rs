//! Form input below every domain: the raw fields of a page form or an API body
//! ([`RawForm`]), and the small parsers every form uses (dates, text, coded choices), so
//! that the pages and the API give the same messages for the same mistakes.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldErrors};

/// Field name to values, as sent by a form (repeated names for checkboxes) or by the API
/// (arrays, strings, booleans and numbers read as text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawForm(pub BTreeMap<String, Vec<String>>);

impl RawForm {
    pub fn from_urlencoded(body: &[u8]) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            if k == "csrf_token" {
                continue;
            }
            map.entry(k).or_default().push(v);
        }
        Self(map)
    }

    /// Reads an API request's typed body as the form the parsers read, so a mistake gets
    /// the same message on the pages and the API. A body that is not a JSON object is a bad
    /// request.
    pub fn from_body<T: serde::Serialize>(body: &T) -> Result<Self, AppError> {
        match serde_json::to_value(body) {
            Ok(serde_json::Value::Object(obj)) => Ok(Self::from_json(&obj)),
            _ => Err(AppError::BadRequest(
                "The request body must be a JSON object".into(),
            )),
        }
    }

    /// Reads a JSON object. Dates may be given as one ISO 8601 value (`"date_of_birth":
    /// "1990-04-01"`) and are split into the day, month and year the forms use.
    pub fn from_json(obj: &serde_json::Map<String, serde_json::Value>) -> Self {
        use serde_json::Value;
        let mut map = BTreeMap::new();
        for (k, v) in obj {
            let values: Vec<String> = match v {
                Value::Null => vec![],
                Value::Bool(b) => vec![if *b { "yes" } else { "no" }.to_owned()],
                Value::Number(n) => vec![n.to_string()],
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| match i {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect(),
                Value::Object(_) => vec![],
            };
            if k.ends_with("_date") || k == "date_of_birth" {
                let s = values.first().cloned().unwrap_or_default();
                let parts: Vec<&str> = s.split('-').collect();
                let (y, m, d) = match parts.as_slice() {
                    [y, m, d] => (y.to_string(), m.to_string(), d.to_string()),
                    // Not ISO: leave the parts so the date parser reports it.
                    _ if s.is_empty() => (String::new(), String::new(), String::new()),
                    _ => ("x".into(), "x".into(), "x".into()),
                };
                map.insert(format!("{k}_day"), vec![d]);
                map.insert(format!("{k}_month"), vec![m]);
                map.insert(format!("{k}_year"), vec![y]);
                continue;
            }
            map.insert(k.clone(), values);
        }
        Self(map)
    }

    pub fn get(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .map(|v| v.iter().filter(|s| !s.is_empty()).cloned().collect())
            .unwrap_or_default()
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), vec![value.into()]);
    }

    pub fn set_all(&mut self, name: &str, values: Vec<String>) {
        self.0.insert(name.to_owned(), values);
    }

    pub fn set_date(&mut self, name: &str, d: Option<NaiveDate>) {
        let (day, month, year) = match d {
            Some(d) => (
                d.day().to_string(),
                d.month().to_string(),
                d.year().to_string(),
            ),
            None => Default::default(),
        };
        self.set(&format!("{name}_day"), day);
        self.set(&format!("{name}_month"), month);
        self.set(&format!("{name}_year"), year);
    }

    /// Overlays `other`'s fields on these (a page of the flow, or an amendment).
    pub fn merge(&mut self, other: &RawForm) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
    }

    /// Each field's first value, as the form templates show them back.
    pub fn first_values(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), v.first().cloned().unwrap_or_default()))
            .collect()
    }

    pub fn date(&self, name: &str, what: &str) -> Result<NaiveDate, String> {
        parse_date(
            self.get(&format!("{name}_day")),
            self.get(&format!("{name}_month")),
            self.get(&format!("{name}_year")),
            what,
        )
    }

    pub fn date_given(&self, name: &str) -> bool {
        ["day", "month", "year"]
            .iter()
            .any(|p| !self.get(&format!("{name}_{p}")).trim().is_empty())
    }
}

/// A date from the GOV.UK three-field date input.
pub fn parse_date(day: &str, month: &str, year: &str, what: &str) -> Result<NaiveDate, String> {
    let (d, m, y) = (day.trim(), month.trim(), year.trim());
    if d.is_empty() && m.is_empty() && y.is_empty() {
        return Err(format!("Enter the {what}"));
    }
    let missing: Vec<&str> = [("day", d), ("month", m), ("year", y)]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "The {what} must include a {}",
            missing.join(" and ")
        ));
    }
    let (Ok(d), Ok(m), Ok(y)) = (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>()) else {
        return Err(format!("The {what} must be a real date"));
    };
    if !(1900..=2200).contains(&y) {
        return Err(format!(
            "The {what} must be a real date, with a 4-digit year"
        ));
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("The {what} must be a real date"))
}

/// A text answer, trimmed: `None` when empty (with `required`'s message, if given) or longer
/// than `max` characters (with a message naming `label`).
pub fn text(
    raw: &RawForm,
    errors: &mut FieldErrors,
    name: &str,
    label: &str,
    required: Option<&str>,
    max: usize,
) -> Option<String> {
    let v = raw.get(name).trim();
    if v.is_empty() {
        if let Some(msg) = required {
            errors.add(name, msg);
        }
        return None;
    }
    if v.chars().count() > max {
        errors.add(name, format!("{label} must be {max} characters or fewer"));
        return None;
    }
    Some(v.to_owned())
}

/// A coded answer, or `msg` against the field.
pub fn choice<T: std::str::FromStr>(
    raw: &RawForm,
    errors: &mut FieldErrors,
    name: &str,
    msg: &str,
) -> Option<T> {
    match raw.get(name).parse::<T>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.add(name, msg);
            None
        }
    }
}
