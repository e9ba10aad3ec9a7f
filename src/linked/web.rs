//! Linked requirement pages: record a DRR or ATR on a referral, its page with the activity
//! and court reviews, change its status, enter activity. Every page finds its referral
//! through the service, which applies scope and role; a page shown with the person's name
//! is a recorded view.

use actix_web::{HttpResponse, web};

use crate::auth::guard::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::linked::codes::*;
use crate::linked::forms;
use crate::linked::model::LinkedRequirement;
use crate::linked::service;
use crate::linked::views::{LinkedRequirementDetailJson, LinkedRequirementJson};
use crate::referrals::access::{Caption, Ctx};
use crate::referrals::pages;
use crate::sessions::service::local_now;
use crate::state::State;
use crate::web::flow::{self, Then};
use crate::web::{self as page, choices};

/// The page caption: the referral reference and the person's name.
type Heading = Caption;

fn back_to_referral(referral_id: &str) -> String {
    format!("/referrals/{referral_id}#linked-requirements")
}

fn requirement_href(id: &str) -> String {
    format!("/linked-requirements/{id}")
}

// ------------------------------------------------------------------ a new requirement

async fn referral_heading(
    state: &State,
    user: &CurrentUser,
    referral_id: String,
) -> Result<Heading, AppError> {
    let acting = Ctx::from(user);
    state
        .db
        .write(move |c| service::form_on_referral(c, &acting, &referral_id))
        .await
}

fn new_ctx(h: &Heading, raw: &RawForm) -> tera::Context {
    let mut ctx = pages::form(
        h,
        "Add a linked DRR or ATR",
        &format!("/referrals/{}/linked-requirements/new", h.referral_id),
        &back_to_referral(&h.referral_id),
        raw,
    );
    ctx.insert(
        "kind_options",
        &choices(
            RequirementKind::ALL,
            RequirementKind::as_str,
            RequirementKind::label,
        ),
    );
    ctx.insert(
        "sequencing_options",
        &choices(Sequencing::ALL, Sequencing::as_str, Sequencing::label),
    );
    ctx.insert(
        "status_options",
        &choices(
            &[RequirementStatus::Proposed, RequirementStatus::Active],
            RequirementStatus::as_str,
            RequirementStatus::label,
        ),
    );
    ctx
}

pub async fn new_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let h = referral_heading(&state, &user, path.into_inner()).await?;
    let ctx = new_ctx(&h, &RawForm::default());
    pages::show(&state, &user, "linked/new.html", ctx, None).await
}

pub async fn create(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let referral_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, rid) = (Ctx::from(&user), referral_id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_requirement(&raw, local_now().date()),
        move |c, input| service::add(c, &acting, &rid, &input),
        |l| {
            Then::success(
                format!("{} recorded", l.kind.short()),
                requirement_href(&l.id),
            )
        },
        async |e| {
            let h = referral_heading(&state, &user, referral_id.clone()).await?;
            let ctx = new_ctx(&h, &raw);
            pages::show(&state, &user, "linked/new.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ its page

pub async fn show(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = Ctx::from(&user);
    let d = state
        .db
        .write(move |c| service::details(c, &acting, &id))
        .await?;
    let view = LinkedRequirementDetailJson::new(&d, local_now().date());
    let mut ctx = tera::Context::new();
    ctx.insert("referral_id", &d.referral.id);
    ctx.insert("reference", &d.referral.reference);
    ctx.insert("person_name", &d.person_name);
    ctx.insert("title", &d.requirement.kind.label());
    ctx.insert("l", &view.requirement);
    ctx.insert("activity", &view.activity);
    ctx.insert("court_reviews", &view.court_reviews);
    ctx.insert("is_drr", &(d.requirement.kind == RequirementKind::Drr));
    ctx.insert(
        "can_change",
        &(d.can_change && !d.requirement.status.next().is_empty()),
    );
    ctx.insert("can_log", &d.can_log);
    page::render(&state, &user, "/referrals", "linked/show.html", ctx).await
}

// ------------------------------------------------------------------ status

async fn requirement_heading(
    state: &State,
    user: &CurrentUser,
    id: String,
    may: service::Permit,
) -> Result<(LinkedRequirement, Heading), AppError> {
    let acting = Ctx::from(user);
    state
        .db
        .write(move |c| service::form_on_requirement(c, &acting, &id, may))
        .await
}

fn status_ctx(h: &Heading, l: &LinkedRequirement, raw: &RawForm) -> tera::Context {
    let mut ctx = pages::form(
        h,
        &format!("Change the status of the {}", l.kind.short()),
        &format!("/linked-requirements/{}/status", l.id),
        &requirement_href(&l.id),
        raw,
    );
    ctx.insert("l", &LinkedRequirementJson::new(l));
    ctx.insert(
        "status_options",
        &choices(
            l.status.next(),
            RequirementStatus::as_str,
            RequirementStatus::label,
        ),
    );
    ctx
}

pub async fn status_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (l, h) = requirement_heading(&state, &user, path.into_inner(), service::may_change).await?;
    let ctx = status_ctx(&h, &l, &RawForm::default());
    pages::show(&state, &user, "linked/status.html", ctx, None).await
}

pub async fn status(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, lid) = (Ctx::from(&user), id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_status(&raw),
        move |c, input| {
            service::change_status(c, &acting, &lid, &input, EnteredVia::Page).map_err(
                |e| match e {
                    // A move the rules refuse is shown on the form, saying what is possible.
                    AppError::Conflict(m) => AppError::Validation(FieldErrors::single("status", m)),
                    e => e,
                },
            )
        },
        |l| {
            let now = format!(
                "{} is now {}",
                l.kind.short(),
                l.status.label().to_lowercase()
            );
            Then::success(now, requirement_href(&l.id))
        },
        async |e| {
            let (l, h) =
                requirement_heading(&state, &user, id.clone(), service::may_change).await?;
            let ctx = status_ctx(&h, &l, &raw);
            pages::show(&state, &user, "linked/status.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ activity

fn activity_ctx(h: &Heading, l: &LinkedRequirement, raw: &RawForm) -> tera::Context {
    let mut ctx = pages::form(
        h,
        &format!("Add activity to the {}", l.kind.short()),
        &format!("/linked-requirements/{}/activity", l.id),
        &requirement_href(&l.id),
        raw,
    );
    let kinds: Vec<ActivityKind> = ActivityKind::ENTERED
        .iter()
        .copied()
        .filter(|k| *k != ActivityKind::CourtReview || l.kind == RequirementKind::Drr)
        .collect();
    ctx.insert(
        "kind_options",
        &choices(&kinds, ActivityKind::as_str, ActivityKind::label),
    );
    ctx.insert("l", &LinkedRequirementJson::new(l));
    ctx
}

pub async fn activity_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (l, h) = requirement_heading(&state, &user, path.into_inner(), service::may_log).await?;
    let ctx = activity_ctx(&h, &l, &RawForm::default());
    pages::show(&state, &user, "linked/activity.html", ctx, None).await
}

pub async fn activity(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, lid) = (Ctx::from(&user), id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_activity(&raw, local_now().date()),
        move |c, input| service::add_activity(c, &acting, &lid, &input, EnteredVia::Page),
        |_| Then::success("Activity added", requirement_href(&id)),
        async |e| {
            let (l, h) = requirement_heading(&state, &user, id.clone(), service::may_log).await?;
            let ctx = activity_ctx(&h, &l, &raw);
            pages::show(&state, &user, "linked/activity.html", ctx, Some(&e)).await
        },
    )
    .await
}
