//! The administrators' areas page: each area with the provider's intake mailbox, and the
//! form that sets or clears it.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::areas::forms::IntakeForm;
use crate::areas::population;
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::state::State;
use crate::web as page;
use crate::web::flow::{self, Then};

#[derive(Serialize)]
struct AreaRow {
    id: String,
    code: String,
    name: String,
    intake_email: Option<String>,
    pending_intake_email: Option<String>,
    /// The latest adult population, "31,702 (mid-2023)".
    population: Option<String>,
}

pub async fn list(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let scope = crate::users::service::admin_scope(&user);
    let (areas, populations) = state
        .db
        .run(move |c| {
            let areas = super::managed_areas(c, &scope)?;
            let ids: Vec<String> = areas.iter().map(|a| a.id.clone()).collect();
            let populations = population::for_year(c, &ids, i32::MAX)?;
            Ok((areas, populations))
        })
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert(
        "areas",
        &areas
            .into_iter()
            .zip(populations)
            .map(|(a, p)| AreaRow {
                id: a.id,
                code: a.code,
                name: a.name,
                intake_email: a.intake_email,
                pending_intake_email: a.pending_intake_email,
                population: p.map(|p| {
                    format!(
                        "{} (mid-{})",
                        crate::web::format::thousands(p.adults),
                        p.year
                    )
                }),
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
    let scope = crate::users::service::admin_scope(user);
    let area = state
        .db
        .run(move |c| super::managed_area(c, &scope, &id))
        .await?;
    let form = form.unwrap_or_else(|| IntakeForm {
        intake_email: area.intake_email.clone().unwrap_or_default(),
    });
    let mut ctx = tera::Context::new();
    ctx.insert("area_id", &area.id);
    ctx.insert("area_name", &area.name);
    ctx.insert("pending_intake_email", &area.pending_intake_email);
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
    let (actor, scope) = (user.actor(), crate::users::service::admin_scope(&user));
    let emails = state.emails.clone();
    let days = state.settings.security.invitation_days;
    let area_id = id.clone();
    flow::post(
        &state,
        &user,
        form.parse(),
        move |c, mailbox| {
            let to = mailbox.as_ref();
            super::change_intake_email(c, &scope, &actor, &area_id, to, &emails, days)
        },
        |change| Then::with(intake_flash(&change), "/admin/areas"),
        async |errors| form_page(&state, &user, id, Some(form), Some(&errors)).await,
    )
    .await
}

/// What the administrator is told of a change to an area's intake mailbox.
fn intake_flash(change: &super::IntakeChange) -> Flash {
    match change {
        super::IntakeChange::AwaitingConfirmation(area) => Flash::success(format!(
            "We have emailed {} to confirm it",
            area.pending_intake_email.clone().unwrap_or_default()
        ))
        .with_body(format!(
            "New referrals in {} go to it once someone there uses the link in that email. Until then they go where they go now.",
            area.name
        )),
        super::IntakeChange::Done(area) => match &area.intake_email {
            Some(_) => Flash::success(format!(
                "New referrals in {} will be emailed to its intake mailbox",
                area.name
            )),
            None => Flash::success(format!(
                "New referrals in {} will be emailed to its clinical leads",
                area.name
            )),
        },
    }
}

/// The page a confirmation link opens: what it confirms, and a button (a link scanner that
/// opens it changes nothing).
pub async fn confirm_form(
    state: State,
    req: actix_web::HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let area = state
        .db
        .run(move |c| super::pending_intake(c, &token))
        .await?;
    confirm_page(&state, &req, area, false)
}

/// The button: the mailbox takes referral news from now on.
pub async fn confirm(
    state: State,
    req: actix_web::HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let area = state
        .db
        .write(move |c| super::confirm_intake(c, &token))
        .await?;
    confirm_page(&state, &req, area, true)
}

fn confirm_page(
    state: &State,
    req: &actix_web::HttpRequest,
    area: Option<super::Area>,
    done: bool,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::new();
    match area {
        Some(a) => {
            ctx.insert("area_name", &a.name);
            ctx.insert(
                "mailbox",
                &if done {
                    a.intake_email
                } else {
                    a.pending_intake_email
                },
            );
            ctx.insert("done", &done);
            crate::web::public_page(state, req, "admin/intake_confirm.html", ctx)
        }
        None => crate::web::public_page(state, req, "auth/invitation_invalid.html", ctx),
    }
}

// ------------------------------------------------------------------ adult population

#[derive(Serialize)]
struct PopulationRow {
    year: i32,
    adults_text: String,
    source: String,
}

async fn population_page(
    state: &State,
    user: &CurrentUser,
    id: String,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let scope = crate::users::service::admin_scope(user);
    let (area, populations) = state
        .db
        .run(move |c| {
            let area = super::managed_area(c, &scope, &id)?;
            let populations = population::of_area(c, &area.id)?;
            Ok((area, populations))
        })
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("area_id", &area.id);
    ctx.insert("area_name", &area.name);
    ctx.insert("area_code", &area.code);
    ctx.insert(
        "populations",
        &populations
            .into_iter()
            .map(|p| PopulationRow {
                year: p.year,
                adults_text: crate::web::format::thousands(p.adults),
                source: p.source,
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert("values", &raw.first_values());
    if let Some(errors) = errors {
        page::insert_errors(&mut ctx, errors);
    }
    page::render(
        state,
        user,
        "/admin/areas",
        "admin/area_population.html",
        ctx,
    )
    .await
}

pub async fn population_form(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    population_page(&state, &user, id.into_inner(), &RawForm::default(), None).await
}

/// Records an area's adult population for a year (audited); a mistake re-renders the form
/// with what was typed and an error summary.
pub async fn population_save(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (actor, scope) = (user.actor(), crate::users::service::admin_scope(&user));
    let area_id = id.clone();
    flow::post(
        &state,
        &user,
        population::parse(&raw, crate::clock::today()),
        move |c, input| population::record(c, &scope, &actor, &area_id, &input),
        |p| {
            Then::with(
                Flash::success(format!(
                    "Adult population for mid-{} saved: {}",
                    p.year,
                    crate::web::format::thousands(p.adults)
                )),
                "/admin/areas",
            )
        },
        async |errors| population_page(&state, &user, id, &raw, Some(&errors)).await,
    )
    .await
}
