//! The linked requirements JSON API: the same service, scope, rules and messages as the
//! pages. Bodies are typed for the OpenAPI document, then read through the pages' form
//! parsers (`RawForm::from_json`), so a mistake gets the same message on either side.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, AppError, ErrorBody};
use crate::form::RawForm;
use crate::linked::codes::EnteredVia;
use crate::linked::views::{
    ActivityJson, LinkedRequirementDetailJson, LinkedRequirementJson, LinkedRequirementsJson,
};
use crate::linked::{forms, service};
use crate::referrals::access::{Ctx, Grounds};
use crate::sessions::service::local_now;
use crate::state::State;

/// A referral's linked DRRs and ATRs, and what the order combines.
#[utoipa::path(
    get, path = "/api/v1/referrals/{id}/linked-requirements", tag = "linked requirements",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    responses(
        (status = 200, description = "The linked requirements", body = LinkedRequirementsJson),
        (status = 403, description = "Your role has no referrals, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 422, description = "Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn list(state: State, ctx: Ctx, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (rid, reqs) = state.db.write(move |c| service::list(c, &ctx, &id)).await?;
    Ok(HttpResponse::Ok().json(LinkedRequirementsJson::new(rid, &reqs)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreateRequest {
    /// `drr` or `atr`.
    pub kind: String,
    /// Up to 200 characters.
    pub provider: String,
    /// The named person at the provider; up to 200 characters.
    pub treatment_director: String,
    /// Name and phone number or email; up to 300 characters.
    pub key_contact: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: String,
    /// `YYYY-MM-DD`, after the start and at most 3 years from it.
    pub end_date: String,
    /// `parallel`, `linked_first` or `mhtr_first`.
    pub sequencing: String,
    /// `proposed` (the default) or `active`.
    pub status: Option<String>,
}

/// Record a DRR or ATR beside the referral's MHTR.
#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/linked-requirements", tag = "linked requirements",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = CreateRequest,
    responses(
        (status = 201, description = "Recorded", body = LinkedRequirementJson),
        (status = 403, description = "You do not hold this referral, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn create(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<CreateRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input =
        forms::parse_requirement(&RawForm::from_body(&body.into_inner())?, local_now().date())
            .map_err(AppError::Validation)?;
    let l = state
        .db
        .write(move |c| service::add(c, &ctx, &id, &input))
        .await?;
    Ok(HttpResponse::Created().json(LinkedRequirementJson::new(&l)))
}

#[utoipa::path(
    get, path = "/api/v1/linked-requirements/{id}", tag = "linked requirements",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Linked requirement id"), Grounds),
    responses(
        (status = 200, description = "The requirement", body = LinkedRequirementDetailJson),
        (status = 403, description = "`reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such requirement in your scope", body = ErrorBody),
        (status = 422, description = "Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn get(state: State, ctx: Ctx, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = state
        .db
        .write(move |c| service::details(c, &ctx, &id))
        .await?;
    Ok(HttpResponse::Ok().json(LinkedRequirementDetailJson::new(&d, local_now().date())))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusRequest {
    /// Proposed to `active` or `revoked`; active to `completed` or `revoked`.
    pub status: String,
    /// Up to 1000 characters.
    pub note: Option<String>,
}

/// Move a linked requirement's status on.
#[utoipa::path(
    post, path = "/api/v1/linked-requirements/{id}/status", tag = "linked requirements",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Linked requirement id"), Grounds),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "Changed", body = LinkedRequirementJson),
        (status = 403, description = "You do not hold this referral, or `reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such requirement in your scope", body = ErrorBody),
        (status = 409, description = "That change is not possible from its status", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn status(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<StatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = forms::parse_status(&RawForm::from_body(&body.into_inner())?)
        .map_err(AppError::Validation)?;
    let l = state
        .db
        .write(move |c| service::change_status(c, &ctx, &id, &input, EnteredVia::Api))
        .await?;
    Ok(HttpResponse::Ok().json(LinkedRequirementJson::new(&l)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityRequest {
    /// `YYYY-MM-DD`; today or earlier, except a court review.
    pub on_date: String,
    /// `appointment_attended`, `appointment_missed`, `review_held`, `court_review` (DRRs
    /// only) or `note`.
    pub kind: String,
    /// Up to 1000 characters; required for a note.
    pub note: Option<String>,
}

/// Enter activity on a linked requirement: it goes on the referral's timeline too.
#[utoipa::path(
    post, path = "/api/v1/linked-requirements/{id}/activity", tag = "linked requirements",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Linked requirement id"), Grounds),
    request_body = ActivityRequest,
    responses(
        (status = 201, description = "Entered", body = ActivityJson),
        (status = 403, description = "You may not enter activity on this referral, or `reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such requirement in your scope", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn activity(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<ActivityRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = forms::parse_activity(&RawForm::from_body(&body.into_inner())?, local_now().date())
        .map_err(AppError::Validation)?;
    let name = ctx.viewer.name.clone();
    let a = state
        .db
        .write(move |c| service::add_activity(c, &ctx, &id, &input, EnteredVia::Api))
        .await?;
    Ok(HttpResponse::Created().json(ActivityJson::new(&a, name)))
}
