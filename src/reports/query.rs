//! What a report request asks for, checked against the asker's areas, and whose figures go
//! through disclosure control: shared by the report pages and the API.

use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::reports::periods::{Period, PeriodKind};
use crate::users::model::Role;

/// What was asked for, checked: the areas (id, name) in the user's scope and the period.
pub struct Query {
    pub areas: Vec<(String, String)>,
    pub period: Period,
}

/// Reads `period` and `area` (repeatable) from a query string. No area means all the user's
/// areas; an area outside them is refused as if it did not exist.
pub fn parse_query(c: &mut DbConn, user_areas: &[String], query: &str) -> Result<Query, AppError> {
    let raw = RawForm::from_urlencoded(query.as_bytes());
    let mut errors = FieldErrors::new();
    let code = match raw.get("period").trim() {
        "other" => raw.get("period_other").trim(),
        code => code,
    };
    let period = match code {
        "" => Period::containing(PeriodKind::FinancialYear, crate::clock::today()),
        code => match Period::parse(code) {
            Ok(p) => p,
            Err(m) => {
                errors.add("period", m);
                Period::containing(PeriodKind::FinancialYear, crate::clock::today())
            }
        },
    };
    let mine: Vec<(String, String)> = crate::areas::active_areas(c)?
        .into_iter()
        .filter(|a| user_areas.contains(&a.id))
        .map(|a| (a.id, a.name))
        .collect();
    let asked = raw.all("area");
    let areas = if asked.is_empty() || asked.iter().any(|a| a == "all") {
        mine
    } else {
        if asked.iter().any(|a| !mine.iter().any(|(id, _)| id == a)) {
            errors.add("area", "Choose from your areas");
        }
        mine.into_iter()
            .filter(|(id, _)| asked.contains(id))
            .collect()
    };
    if areas.is_empty() && errors.get("area").is_none() {
        errors.add(
            "area",
            "You have no areas to report on: ask an administrator",
        );
    }
    if errors.is_empty() {
        Ok(Query { areas, period })
    } else {
        Err(AppError::Validation(errors))
    }
}

pub fn suppressed_for(role: Role) -> bool {
    !matches!(role, Role::ClinicalLead | Role::Admin)
}
