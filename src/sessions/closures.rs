//! Service closure days (the whole service shut: training days, Christmas): the rows, the
//! administrators' page that adds and removes them, and [`closed_days`] for anything that
//! schedules sessions.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, AuditAction, Event};
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::db::DbConn;
use crate::db::schema::service_closures;
use crate::error::{AppError, FieldErrors};
use crate::state::State;
use crate::web::{self as page, format};

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

// ------------------------------------------------------------------------- pages

#[derive(Serialize)]
struct ClosureView {
    id: String,
    day: String,
    description: String,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    past: Option<String>,
}

async fn list_page(
    state: &State,
    user: &CurrentUser,
    past: bool,
    form: &ClosureForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let today = crate::clock::today();
    let rows = state.db.run(move |c| listed(c, today, past)).await?;
    let mut ctx = tera::Context::new();
    ctx.insert(
        "closures",
        &rows
            .iter()
            .map(|r| ClosureView {
                id: r.id.clone(),
                day: format!("{} {}", r.day.format("%A"), format::date(r.day)),
                description: r.description.clone(),
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert("past", &past);
    ctx.insert("form", form);
    // The whole service closes: a service-wide administrator's change.
    ctx.insert("can_change", &user.user.service_wide);
    if let Some(errors) = errors {
        page::insert_errors(&mut ctx, errors);
    }
    page::render(
        state,
        user,
        "/admin/closures",
        "sessions/closures.html",
        ctx,
    )
    .await
}

pub async fn list(
    state: State,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let past = query.past.as_deref().is_some_and(|p| !p.is_empty());
    list_page(&state, &user, past, &ClosureForm::default(), None).await
}

pub async fn create(
    state: State,
    user: CurrentUser,
    form: web::Form<ClosureForm>,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let form = form.into_inner();
    let input = match form.parse(crate::clock::today()) {
        Ok(i) => i,
        Err(errors) => return list_page(&state, &user, false, &form, Some(&errors)).await,
    };
    let actor = user.actor();
    let day = input.day;
    match state.db.write(move |c| add(c, &actor, &input)).await {
        Ok(_) => {
            page::flash_and_redirect(
                &state,
                &user,
                Flash::success(format!("The service is closed on {}", format::date(day))),
                "/admin/closures",
            )
            .await
        }
        Err(AppError::Validation(errors)) => {
            list_page(&state, &user, false, &form, Some(&errors)).await
        }
        Err(e) => Err(e),
    }
}

pub async fn delete(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let id = id.into_inner();
    let actor = user.actor();
    let removed = state.db.write(move |c| remove(c, &actor, &id)).await?;
    page::flash_and_redirect(
        &state,
        &user,
        Flash::success(format!(
            "The closure on {} has been removed",
            format::date(removed.day)
        )),
        "/admin/closures",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(d: &str, m: &str, y: &str, description: &str) -> ClosureForm {
        ClosureForm {
            closure_date_day: d.into(),
            closure_date_month: m.into(),
            closure_date_year: y.into(),
            description: description.into(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_future_date_and_a_description_make_a_closure() {
        let input = form("24", "12", "2026", "  Christmas Eve ")
            .parse(day(2026, 11, 22))
            .unwrap();
        assert_eq!(input.day, day(2026, 12, 24));
        assert_eq!(input.description, "Christmas Eve");
    }

    #[test]
    fn past_dates_empty_and_long_descriptions_are_refused() {
        let e = form("21", "11", "2026", "")
            .parse(day(2026, 11, 22))
            .unwrap_err();
        assert!(
            e.get("closure_date")
                .unwrap()
                .contains("today or in the future")
        );
        assert_eq!(
            e.get("description"),
            Some("Enter a description of the closure")
        );
        let e = form("", "", "", &"x".repeat(201))
            .parse(day(2026, 11, 22))
            .unwrap_err();
        assert_eq!(e.get("closure_date"), Some("Enter the date of the closure"));
        assert!(e.get("description").unwrap().contains("200 characters"));
    }
}
