//! The closures pages: handlers that parse, call the rules in [`super`], and render.

use super::*;
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::{AppError, FieldErrors};
use crate::state::State;
use crate::web::flow::{self, Then};
use crate::web::{self as page, format};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

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
    let actor = user.actor();
    flow::post(
        &state,
        &user,
        form.parse(crate::clock::today()),
        move |c, input| add(c, &actor, &input).map(|_| input.day),
        |day| {
            let text = format!("The service is closed on {}", format::date(day));
            Then::success(text, "/admin/closures")
        },
        async |errors| list_page(&state, &user, false, &form, Some(&errors)).await,
    )
    .await
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
