//! Each area's adult population (18 and over), by year, as the ONS mid-year estimates give
//! it, with the source stated: the denominator of the uptake report's rates per 100,000
//! adults. An administrator records it for the areas they manage, on `/admin/areas/{id}` or
//! through the API; every change is audited.

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::area_populations;
use crate::error::{AppError, FieldErrors};
use crate::form::{RawForm, text};
use crate::users::model::AdminScope;

/// The largest adult population taken for one area: above any local authority's.
const MOST_ADULTS: i64 = 20_000_000;
/// The first year of the ONS mid-year estimates' current series.
const FIRST_YEAR: i32 = 2001;

#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema,
)]
#[diesel(table_name = area_populations)]
pub struct Population {
    pub area_id: String,
    /// The mid-year the estimate is for.
    pub year: i32,
    /// People aged 18 and over.
    pub adults: i64,
    /// Where the figure comes from, for example "ONS mid-2023 population estimates".
    pub source: String,
    #[serde(skip)]
    pub recorded_by: String,
    #[serde(skip)]
    pub recorded_at: NaiveDateTime,
}

/// A population as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationInput {
    pub year: i32,
    pub adults: i64,
    pub source: String,
}

/// Reads the form (or the API's body): the year, the number of adults (commas allowed) and
/// the source. `today` bounds the year.
pub fn parse(raw: &RawForm, today: chrono::NaiveDate) -> Result<PopulationInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let this_year = today.year();
    let year = match raw.get("year").trim() {
        "" => {
            e.add("year", "Enter the year the estimate is for");
            None
        }
        y => match y.parse::<i32>() {
            Ok(y) if (FIRST_YEAR..=this_year).contains(&y) => Some(y),
            _ => {
                e.add(
                    "year",
                    format!("Enter a year from {FIRST_YEAR} to {this_year}, like 2023"),
                );
                None
            }
        },
    };
    let adults = match raw.get("adults").trim().replace(',', "") {
        a if a.is_empty() => {
            e.add("adults", "Enter the number of adults aged 18 and over");
            None
        }
        a => match a.parse::<i64>() {
            Ok(n) if (1..=MOST_ADULTS).contains(&n) => Some(n),
            _ => {
                e.add(
                    "adults",
                    "Enter the number of adults as a whole number, like 31,700",
                );
                None
            }
        },
    };
    let source = text(
        raw,
        &mut e,
        "source",
        "Source",
        Some("Enter where the figure comes from, like ONS mid-2023 population estimates"),
        200,
    );
    match (year, adults, source) {
        (Some(year), Some(adults), Some(source)) if e.is_empty() => Ok(PopulationInput {
            year,
            adults,
            source,
        }),
        _ => Err(e),
    }
}

/// An area's populations, newest year first.
pub fn of_area(c: &mut DbConn, area_id: &str) -> Result<Vec<Population>, AppError> {
    Ok(of_areas(c, &[area_id.to_owned()])?
        .remove(area_id)
        .unwrap_or_default())
}

/// The populations of `areas`, by area, newest year first, in one query.
pub fn of_areas(
    c: &mut DbConn,
    areas: &[String],
) -> Result<std::collections::BTreeMap<String, Vec<Population>>, AppError> {
    let mut out: std::collections::BTreeMap<String, Vec<Population>> = Default::default();
    for p in area_populations::table
        .filter(area_populations::area_id.eq_any(areas))
        .order((area_populations::area_id, area_populations::year.desc()))
        .select(Population::as_select())
        .load(c)?
    {
        out.entry(p.area_id.clone()).or_default().push(p);
    }
    Ok(out)
}

/// Records (or replaces) the population of an area the administrator manages for one year,
/// audited with the figure before and after.
pub fn record(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    area_id: &str,
    input: &PopulationInput,
) -> Result<Population, AppError> {
    let area = super::managed_area(c, scope, area_id)?;
    let before: Option<i64> = area_populations::table
        .find((&area.id, input.year))
        .select(area_populations::adults)
        .first(c)
        .optional()?;
    let row = Population {
        area_id: area.id.clone(),
        year: input.year,
        adults: input.adults,
        source: input.source.clone(),
        recorded_by: actor.user_id.clone().unwrap_or_default(),
        recorded_at: crate::clock::now(),
    };
    diesel::delete(area_populations::table.find((&area.id, input.year))).execute(c)?;
    diesel::insert_into(area_populations::table)
        .values(&row)
        .execute(c)?;
    crate::audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "area.population_recorded")
            .record("area", &area.id)
            .details(serde_json::json!({
                "year": input.year,
                "adults": input.adults,
                "before": before,
            })),
    )?;
    Ok(row)
}

/// As [`record`], for input not yet known to be valid: the area is looked up first, so an
/// area outside the administrator's scope answers "not found" whatever the body says.
pub fn record_parsed(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    area_id: &str,
    parsed: Result<PopulationInput, FieldErrors>,
) -> Result<Population, AppError> {
    super::managed_area(c, scope, area_id)?;
    let input = parsed.map_err(AppError::Validation)?;
    record(c, scope, actor, area_id, &input)
}

/// For each of `areas`, the population the report for a period ending in `year` uses: the
/// latest estimate for that year or before, else the earliest there is. `None` where the
/// area has none.
pub fn for_year(
    c: &mut DbConn,
    areas: &[String],
    year: i32,
) -> Result<Vec<Option<Population>>, AppError> {
    let all: Vec<Population> = area_populations::table
        .filter(area_populations::area_id.eq_any(areas))
        .select(Population::as_select())
        .load(c)?;
    Ok(areas
        .iter()
        .map(|a| {
            let mine = all.iter().filter(|p| &p.area_id == a);
            mine.clone()
                .filter(|p| p.year <= year)
                .max_by_key(|p| p.year)
                .or_else(|| mine.min_by_key(|p| p.year))
                .cloned()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawForm {
        let mut r = RawForm::default();
        for (k, v) in pairs {
            r.set(k, *v);
        }
        r
    }

    #[test]
    fn a_population_is_a_year_a_whole_number_and_a_source() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let ok = parse(
            &raw(&[
                ("year", "2023"),
                ("adults", " 31,702 "),
                ("source", "ONS mid-2023 population estimates"),
            ]),
            today,
        )
        .unwrap();
        assert_eq!((ok.year, ok.adults), (2023, 31_702));
        let e = parse(&raw(&[]), today).unwrap_err();
        for f in ["year", "adults", "source"] {
            assert!(e.get(f).is_some(), "{f}");
        }
        for (year, adults) in [
            ("2027", "10"),
            ("1999", "10"),
            ("2023", "0"),
            ("2023", "1.5"),
        ] {
            let e = parse(
                &raw(&[("year", year), ("adults", adults), ("source", "ONS")]),
                today,
            )
            .unwrap_err();
            assert!(!e.is_empty(), "{year} {adults}");
        }
    }
}
