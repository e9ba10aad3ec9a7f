//! Linked requirement forms (and the same JSON through `RawForm::from_json`) into checked
//! input. Field names are shared by the pages and the API.

use chrono::NaiveDate;

use crate::error::FieldErrors;
use crate::form::{RawForm, choice, text};
use crate::linked::codes::*;

/// A requirement runs for at most three years (Sentencing Code, community requirements).
pub const MAX_YEARS: i32 = 3;
/// Names of the provider and the treatment director.
pub const MAX_NAME: usize = 200;
/// Name and phone number or email of the key contact.
pub const MAX_CONTACT: usize = 300;
/// An activity entry's text.
pub const MAX_NOTE: usize = 1000;
/// Dates are refused further than this from today, in years.
const SANE_YEARS: i32 = 10;

#[derive(Debug, Clone)]
pub struct RequirementInput {
    pub kind: RequirementKind,
    pub provider: String,
    pub treatment_director: String,
    pub key_contact: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub sequencing: Sequencing,
    /// Proposed (the court has yet to make it) or already active.
    pub status: RequirementStatus,
}

#[derive(Debug, Clone)]
pub struct ActivityInput {
    pub on_date: NaiveDate,
    pub kind: ActivityKind,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct StatusInput {
    pub status: RequirementStatus,
    pub note: Option<String>,
}

/// The same day `years` later or earlier (28 February for 29 February in a common year).
fn years_from(d: NaiveDate, years: i32) -> NaiveDate {
    let months = chrono::Months::new(years.unsigned_abs() * 12);
    if years >= 0 {
        d.checked_add_months(months)
    } else {
        d.checked_sub_months(months)
    }
    .unwrap_or(d)
}

/// A date within [`SANE_YEARS`] of today.
fn sane_date(
    raw: &RawForm,
    e: &mut FieldErrors,
    name: &str,
    what: &str,
    today: NaiveDate,
) -> Option<NaiveDate> {
    match raw.date(name, what) {
        Ok(d) if d < years_from(today, -SANE_YEARS) || d > years_from(today, SANE_YEARS) => {
            e.add(
                name,
                format!("The {what} must be within {SANE_YEARS} years of today"),
            );
            None
        }
        Ok(d) => Some(d),
        Err(m) => {
            e.add(name, m);
            None
        }
    }
}

pub fn parse_requirement(raw: &RawForm, today: NaiveDate) -> Result<RequirementInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let kind = choice(raw, &mut e, "kind", "Select whether it is a DRR or an ATR");
    let provider = text(
        raw,
        &mut e,
        "provider",
        "Provider",
        Some("Enter the provider"),
        MAX_NAME,
    );
    let treatment_director = text(
        raw,
        &mut e,
        "treatment_director",
        "Treatment director",
        Some("Enter the treatment director’s name"),
        MAX_NAME,
    );
    let key_contact = text(raw, &mut e, "key_contact", "Key contact", None, MAX_CONTACT);
    let start_date = sane_date(raw, &mut e, "start_date", "start date", today);
    let end_date = sane_date(raw, &mut e, "end_date", "end date", today);
    if let (Some(s), Some(end)) = (start_date, end_date) {
        if end <= s {
            e.add("end_date", "The end date must be after the start date");
        } else if end > years_from(s, MAX_YEARS) {
            e.add(
                "end_date",
                format!("A requirement lasts at most {MAX_YEARS} years from its start"),
            );
        }
    }
    let sequencing = choice(
        raw,
        &mut e,
        "sequencing",
        "Select how the requirement runs beside the MHTR",
    );
    let status = match raw.get("status").trim() {
        "" => Some(RequirementStatus::Proposed),
        s => match s.parse() {
            Ok(s @ (RequirementStatus::Proposed | RequirementStatus::Active)) => Some(s),
            _ => {
                e.add("status", "Select proposed or active");
                None
            }
        },
    };
    match (
        kind,
        provider,
        treatment_director,
        start_date,
        end_date,
        sequencing,
        status,
    ) {
        (
            Some(kind),
            Some(provider),
            Some(td),
            Some(start_date),
            Some(end_date),
            Some(seq),
            Some(status),
        ) if e.is_empty() => Ok(RequirementInput {
            kind,
            provider,
            treatment_director: td,
            key_contact,
            start_date,
            end_date,
            sequencing: seq,
            status,
        }),
        _ => Err(e),
    }
}

pub fn parse_activity(raw: &RawForm, today: NaiveDate) -> Result<ActivityInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let kind = match raw.get("kind").parse::<ActivityKind>() {
        Ok(k) if ActivityKind::ENTERED.contains(&k) => Some(k),
        _ => {
            e.add("kind", "Select what happened");
            None
        }
    };
    let on_date = sane_date(raw, &mut e, "on_date", "date", today);
    if let (Some(d), Some(k)) = (on_date, kind)
        && d > today
        && k != ActivityKind::CourtReview
    {
        e.add(
            "on_date",
            "The date must be today or in the past (only a court review can be entered ahead)",
        );
    }
    let required = (kind == Some(ActivityKind::Note)).then_some("Enter the note");
    let note = text(raw, &mut e, "note", "Details", required, MAX_NOTE);
    match (on_date, kind) {
        (Some(on_date), Some(kind)) if e.is_empty() => Ok(ActivityInput {
            on_date,
            kind,
            note: note.unwrap_or_default(),
        }),
        _ => Err(e),
    }
}

pub fn parse_status(raw: &RawForm) -> Result<StatusInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let status = choice(raw, &mut e, "status", "Select the new status");
    let note = text(raw, &mut e, "note", "Details", None, MAX_NOTE);
    match status {
        Some(status) if e.is_empty() => Ok(StatusInput { status, note }),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> RawForm {
        let obj: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
            .collect();
        RawForm::from_json(&obj)
    }

    fn drr(start: &str, end: &str) -> RawForm {
        form(&[
            ("kind", "drr"),
            ("provider", "Turning Point"),
            ("treatment_director", "Dr Ann Director"),
            ("start_date", start),
            ("end_date", end),
            ("sequencing", "parallel"),
        ])
    }

    #[test]
    fn a_requirement_needs_provider_director_and_an_end_after_its_start() {
        let today = d("2026-11-22");
        let ok = parse_requirement(&drr("2026-10-01", "2027-10-01"), today).unwrap();
        assert_eq!(ok.status, RequirementStatus::Proposed);
        assert_eq!(ok.kind, RequirementKind::Drr);
        let e = parse_requirement(&drr("2026-10-01", "2026-10-01"), today).unwrap_err();
        assert_eq!(
            e.get("end_date"),
            Some("The end date must be after the start date")
        );
        let e = parse_requirement(&drr("2026-10-01", "2030-10-01"), today).unwrap_err();
        assert!(e.get("end_date").unwrap().contains("at most 3 years"));
        let e = parse_requirement(&drr("1990-10-01", "1991-10-01"), today).unwrap_err();
        assert!(e.get("start_date").unwrap().contains("within 10 years"));
        let e = parse_requirement(&form(&[("kind", "mhtr")]), today).unwrap_err();
        for f in [
            "kind",
            "provider",
            "treatment_director",
            "start_date",
            "end_date",
            "sequencing",
        ] {
            assert!(e.get(f).is_some(), "{f}");
        }
    }

    #[test]
    fn only_a_court_review_may_be_dated_ahead() {
        let today = d("2026-11-22");
        let ahead = |kind| form(&[("kind", kind), ("on_date", "2026-12-10")]);
        assert!(parse_activity(&ahead("court_review"), today).is_ok());
        assert!(parse_activity(&ahead("appointment_attended"), today).is_err());
        assert!(
            parse_activity(
                &form(&[("kind", "status_changed"), ("on_date", "2026-11-01")]),
                today
            )
            .is_err(),
            "status changes come from changing the status"
        );
        let e = parse_activity(&form(&[("kind", "note"), ("on_date", "2026-11-01")]), today)
            .unwrap_err();
        assert_eq!(e.get("note"), Some("Enter the note"));
        let long = "x".repeat(MAX_NOTE + 1);
        let e = parse_activity(
            &form(&[
                ("kind", "review_held"),
                ("on_date", "2026-11-01"),
                ("note", &long),
            ]),
            today,
        )
        .unwrap_err();
        assert!(e.get("note").is_some());
    }
}
