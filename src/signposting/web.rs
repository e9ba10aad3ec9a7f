//! Onward support pages: signpost to a directory service, move a signposting on, record
//! that no onward support is needed, the practitioner's end-of-treatment summary, and the
//! follow-ups that have come due. Every page finds its referral through the service, which
//! applies scope and role; a form shown with the person's name is a recorded view.

use actix_web::{HttpResponse, web};

use crate::auth::guard::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::{Caption, Ctx};
use crate::referrals::model::Viewer;
use crate::referrals::pages;
use crate::signposting::codes::SignpostStatus;
use crate::signposting::views::{DirectoryServiceJson, DueRow};
use crate::signposting::{forms, service};
use crate::state::State;
use crate::web::flow::{self, Then};
use crate::web::{self as page, Choice};

fn status_options() -> Vec<Choice> {
    SignpostStatus::ALL
        .iter()
        .map(|s| {
            Choice::new(s.as_str(), s.label()).hint(if s.is_final() {
                String::new()
            } else {
                "Awaiting an answer: give a follow-up date".into()
            })
        })
        .collect()
}

/// The heading of a form about one referral; showing it is a recorded view.
type Heading = Caption;

fn base_ctx(h: &Heading, title: &str, action: &str, raw: &RawForm) -> tera::Context {
    pages::form(h, title, action, &back_to(&h.referral_id), raw)
}

fn back_to(referral_id: &str) -> String {
    format!("/referrals/{referral_id}#onward-support")
}

// ------------------------------------------------------------------ signpost

async fn signpost_page(
    state: &State,
    user: &CurrentUser,
    referral_id: String,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let acting = Ctx::from(user);
    let (h, offered) = state
        .db
        .write(move |c| service::signpost_form(c, &acting, &referral_id))
        .await?;
    let mut ctx = base_ctx(
        &h,
        "Signpost to a service",
        &format!("/referrals/{}/signposting/new", h.referral_id),
        raw,
    );
    let options: Vec<Choice> = offered
        .iter()
        .map(|s| {
            Choice::new(
                s.id.clone(),
                format!("{} ({})", s.name, s.service_type.label()),
            )
            .hint(DirectoryServiceJson::new(s, Vec::new()).contact())
        })
        .collect();
    ctx.insert("service_options", &options);
    ctx.insert("status_options", &status_options());
    pages::show(state, user, "signposting/signpost.html", ctx, errors).await
}

pub async fn signpost_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut raw = RawForm::default();
    raw.set_date("signposted_date", Some(crate::clock::today()));
    signpost_page(&state, &user, path.into_inner(), &raw, None).await
}

pub async fn signpost(
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
        forms::parse_signpost(&raw, crate::clock::today()),
        move |c, input| service::signpost(c, &acting, &rid, &input),
        |_| Then::success("Signposting recorded", back_to(&referral_id)),
        async |e| signpost_page(&state, &user, referral_id.clone(), &raw, Some(&e)).await,
    )
    .await
}

// ------------------------------------------------------------------ update

async fn update_page(
    state: &State,
    user: &CurrentUser,
    id: String,
    raw: Option<&RawForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let acting = Ctx::from(user);
    let (_, s, svc, h) = state
        .db
        .write(move |c| service::form_on_signposting(c, &acting, &id))
        .await?;
    let raw = match raw {
        Some(r) => r.clone(),
        None => {
            let mut r = RawForm::default();
            r.set("status", s.status.as_str());
            r.set("reason", s.reason.clone().unwrap_or_default());
            r.set_date("follow_up_date", s.follow_up_on);
            r
        }
    };
    let mut ctx = base_ctx(
        &h,
        &format!("Update the signposting to {}", svc.name),
        &format!("/signposting/{}/update", s.id),
        &raw,
    );
    ctx.insert("version", &s.version);
    ctx.insert(
        "service_contact",
        &DirectoryServiceJson::new(&svc, Vec::new()).contact(),
    );
    ctx.insert("signposted", &crate::web::format::date(s.signposted_on));
    ctx.insert("status_options", &status_options());
    pages::show(state, user, "signposting/update.html", ctx, errors).await
}

pub async fn update_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    update_page(&state, &user, path.into_inner(), None, None).await
}

pub async fn update(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, sid, typed) = (Ctx::from(&user), id.clone(), raw.clone());
    flow::post_raw(
        &state,
        &user,
        move |c| service::update_from_form(c, &acting, &sid, &typed),
        |(s, _)| Then::success("Signposting updated", back_to(&s.referral_id)),
        async |e| update_page(&state, &user, id.clone(), Some(&raw), Some(&e)).await,
    )
    .await
}

// ------------------------------------------------------------------ no onward support

async fn no_onward_page(
    state: &State,
    user: &CurrentUser,
    referral_id: String,
    raw: Option<&RawForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let acting = Ctx::from(user);
    let (h, existing) = state
        .db
        .write(move |c| service::no_onward_form(c, &acting, &referral_id))
        .await?;
    let raw = match raw {
        Some(r) => r.clone(),
        None => {
            let mut r = RawForm::default();
            r.set("reason", existing.map(|e| e.reason).unwrap_or_default());
            r
        }
    };
    let ctx = base_ctx(
        &h,
        "Record that no onward support is needed",
        &format!("/referrals/{}/no-onward-support", h.referral_id),
        &raw,
    );
    pages::show(state, user, "signposting/no_onward.html", ctx, errors).await
}

pub async fn no_onward_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    no_onward_page(&state, &user, path.into_inner(), None, None).await
}

pub async fn no_onward(
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
        forms::parse_no_onward(&raw),
        move |c, reason| service::record_no_onward(c, &acting, &rid, &reason),
        |_| {
            Then::success(
                "Recorded that no onward support is needed",
                back_to(&referral_id),
            )
        },
        async |e| no_onward_page(&state, &user, referral_id.clone(), Some(&raw), Some(&e)).await,
    )
    .await
}

// ------------------------------------------------------------------ end-of-treatment summary

async fn summary_page(
    state: &State,
    user: &CurrentUser,
    referral_id: String,
    raw: Option<&RawForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let acting = Ctx::from(user);
    let (h, existing) = state
        .db
        .write(move |c| service::summary_form(c, &acting, &referral_id))
        .await?;
    let raw = match raw {
        Some(r) => r.clone(),
        None => {
            let mut r = RawForm::default();
            r.set("summary", existing.map(|e| e.summary).unwrap_or_default());
            r
        }
    };
    let ctx = base_ctx(
        &h,
        "End-of-treatment summary for the responsible officer",
        &format!("/referrals/{}/end-summary", h.referral_id),
        &raw,
    );
    pages::show(state, user, "signposting/end_summary.html", ctx, errors).await
}

pub async fn summary_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    summary_page(&state, &user, path.into_inner(), None, None).await
}

pub async fn write_summary(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let referral_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, rid, emails) = (Ctx::from(&user), referral_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_summary(&raw),
        move |c, text| service::write_summary(c, &acting, &rid, &text, Some(&emails)),
        |_| {
            Then::success(
                "End-of-treatment summary saved. The responsible officer has been emailed that it is ready",
                back_to(&referral_id),
            )
        },
        async |e| summary_page(&state, &user, referral_id.clone(), Some(&raw), Some(&e)).await,
    )
    .await
}

// ------------------------------------------------------------------ due follow-ups

pub async fn due(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::from(&user);
    let rows: Vec<DueRow> = state
        .db
        .run(move |c| service::due(c, &viewer, crate::clock::today()))
        .await?
        .iter()
        .map(DueRow::from)
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("rows", &rows);
    page::render(
        &state,
        &user,
        "/signposting/due",
        "signposting/due.html",
        ctx,
    )
    .await
}
