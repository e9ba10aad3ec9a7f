//! Service closure days (the whole service shut: training days, Christmas): the rows, the
//! administrators' page that adds and removes them, and [`closed_days`] for anything that
//! schedules sessions.

pub mod web;

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::service_closures;
use crate::error::{AppError, FieldErrors};
use crate::web::format;

const DESCRIPTION_MAX: usize = 200;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_closures)]
pub struct Closure {
    pub id: String,
    pub day: NaiveDate,
    pub description: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = service_closures)]
struct NewClosure<'a> {
    id: &'a str,
    day: NaiveDate,
    description: &'a str,
    created_by: Option<&'a str>,
    created_at: NaiveDateTime,
}

/// The days from `from` to `to` (both included) on which the service is closed.
pub fn closed_days(
    c: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeSet<NaiveDate>, AppError> {
    Ok(service_closures::table
        .filter(service_closures::day.between(from, to))
        .select(service_closures::day)
        .load::<NaiveDate>(c)?
        .into_iter()
        .collect())
}

/// The closures from `from` to `to` (both included), by day.
pub fn between(c: &mut DbConn, from: NaiveDate, to: NaiveDate) -> Result<Vec<Closure>, AppError> {
    Ok(service_closures::table
        .filter(service_closures::day.between(from, to))
        .order(service_closures::day.asc())
        .select(Closure::as_select())
        .load(c)?)
}

/// Upcoming closures (today onwards) in date order, or past ones latest first.
fn listed(c: &mut DbConn, today: NaiveDate, past: bool) -> Result<Vec<Closure>, AppError> {
    let q = service_closures::table.select(Closure::as_select());
    Ok(if past {
        q.filter(service_closures::day.lt(today))
            .order(service_closures::day.desc())
            .load(c)?
    } else {
        q.filter(service_closures::day.ge(today))
            .order(service_closures::day.asc())
            .load(c)?
    })
}

/// A closure as typed: a date no earlier than today and a short description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosureInput {
    pub day: NaiveDate,
    pub description: String,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct ClosureForm {
    #[serde(default)]
    pub closure_date_day: String,
    #[serde(default)]
    pub closure_date_month: String,
    #[serde(default)]
    pub closure_date_year: String,
    #[serde(default)]
    pub description: String,
}

impl ClosureForm {
    /// Parses the form; `today` is the earliest day a closure may be added for.
    pub fn parse(&self, today: NaiveDate) -> Result<ClosureInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let day = match crate::form::parse_date(
            &self.closure_date_day,
            &self.closure_date_month,
            &self.closure_date_year,
            "date of the closure",
        ) {
            Ok(d) if d < today => {
                errors.add(
                    "closure_date",
                    "The date of the closure must be today or in the future",
                );
                None
            }
            Ok(d) => Some(d),
            Err(message) => {
                errors.add("closure_date", message);
                None
            }
        };
        let description = self.description.trim();
        if description.is_empty() {
            errors.add("description", "Enter a description of the closure");
        } else if description.chars().count() > DESCRIPTION_MAX {
            errors.add(
                "description",
                format!("The description must be {DESCRIPTION_MAX} characters or fewer"),
            );
        }
        match day {
            Some(day) if errors.is_empty() => Ok(ClosureInput {
                day,
                description: description.to_owned(),
            }),
            _ => Err(errors),
        }
    }
}

/// Adds a closure (audited); a day already closed is a validation error on the date.
fn add(c: &mut DbConn, actor: &audit::Actor, input: &ClosureInput) -> Result<String, AppError> {
    let taken = service_closures::table
        .filter(service_closures::day.eq(input.day))
        .count()
        .get_result::<i64>(c)?
        > 0;
    if taken {
        return Err(AppError::Validation(FieldErrors::single(
            "closure_date",
            format!(
                "The service is already closed on {}",
                format::date(input.day)
            ),
        )));
    }
    let id = crate::ids::new_id();
    diesel::insert_into(service_closures::table)
        .values(NewClosure {
            id: &id,
            day: input.day,
            description: &input.description,
            created_by: actor.user_id.as_deref(),
            created_at: crate::clock::now(),
        })
        .execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "service_closure.added")
            .record("service_closure", &id)
            .details(json!({ "day": input.day.to_string() })),
    )?;
    Ok(id)
}

fn remove(c: &mut DbConn, actor: &audit::Actor, id: &str) -> Result<Closure, AppError> {
    let closure = service_closures::table
        .find(id)
        .select(Closure::as_select())
        .first(c)?;
    diesel::delete(service_closures::table.find(id)).execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "service_closure.deleted")
            .record("service_closure", id)
            .details(json!({ "day": closure.day.to_string() })),
    )?;
    Ok(closure)
}
