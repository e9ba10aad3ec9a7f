//! The administrators' areas page: each area with the provider's intake mailbox, and the
//! form that sets or clears it.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::areas::forms::IntakeForm;
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::{AppError, FieldErrors};
use crate::state::State;
use crate::web as page;

#[derive(Serialize)]
struct AreaRow {
    id: String,
    code: String,
    name: String,
    intake_email: Option<String>,
}

pub async fn list(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let areas = state.db.run(super::active_areas).await?;
    let mut ctx = tera::Context::new();
    ctx.insert(
        "areas",
        &areas
            .into_iter()
            .map(|a| AreaRow {
                id: a.id,
                code: a.code,
                name: a.name,
                intake_email: a.intake_email,
            })
            .collect::<Vec<_>>(),
    );
    page::render(&state, &user, "/admin/areas", "admin/areas.html", ctx).await
}

async fn form_page(
    state: &State,
    user: &CurrentUser,
    id: String,
    form: Option<IntakeForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let area = state.db.run(move |c| super::area_by_id(c, &id)).await?;
    let form = form.unwrap_or_else(|| IntakeForm {
        intake_email: area.intake_email.clone().unwrap_or_default(),
    });
    let mut ctx = tera::Context::new();
    ctx.insert("area_id", &area.id);
    ctx.insert("area_name", &area.name);
    ctx.insert("form", &form);
    if let Some(errors) = errors {
        page::insert_errors(&mut ctx, errors);
    }
    page::render(state, user, "/admin/areas", "admin/area.html", ctx).await
}

pub async fn edit(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    form_page(&state, &user, id.into_inner(), None, None).await
}

/// Sets or clears the intake mailbox (audited); a malformed address re-renders the form with
/// what was typed and an error summary.
pub async fn save(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    form: web::Form<IntakeForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let form = form.into_inner();
    let mailbox = match form.parse() {
        Ok(m) => m,
        Err(errors) => return form_page(&state, &user, id, Some(form), Some(&errors)).await,
    };
    let actor = user.actor();
    let area = state
        .db
        .write(move |c| super::set_intake_email(c, &actor, &id, mailbox.as_ref()))
        .await?;
    let flash = match &area.intake_email {
        Some(_) => Flash::success(format!(
            "New referrals in {} will be emailed to its intake mailbox",
            area.name
        )),
        None => Flash::success(format!(
            "New referrals in {} will be emailed to its clinical leads",
            area.name
        )),
    };
    page::flash_and_redirect(&state, &user, flash, "/admin/areas").await
}
