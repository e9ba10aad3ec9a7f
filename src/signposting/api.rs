//! The onward support and directory JSON API: the same service, scope, rules and messages as
//! the pages. Bodies are typed for the OpenAPI document, then read through the pages' form
//! parsers (`RawForm::from_json`), so a mistake gets the same message on either side.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::guard::ApiUser;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::form::RawForm;
use crate::referrals::access::{Ctx, Grounds};
use crate::signposting::views::{
    DirectoryServiceJson, EndSummaryJson, OnwardSupportJson, SignpostingJson,
};
use crate::signposting::{directory, forms, model, service};
use crate::state::State;

#[utoipa::path(
    get, path = "/api/v1/referrals/{id}/signposting", tag = "onward support",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    responses(
        (status = 200, description = "The referral's signpostings, any record that no onward support is needed, and the services that may be chosen", body = OnwardSupportJson),
        (status = 403, description = "Your role has no referrals, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 422, description = "Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn list(state: State, ctx: Ctx, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let onward = state
        .db
        .write(move |c| service::view_onward(c, &ctx, &id))
        .await?;
    Ok(HttpResponse::Ok().json(OnwardSupportJson::new(&onward)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignpostRequest {
    /// A service from `offered_services`: active and covering the referral's area.
    pub service_id: String,
    /// `YYYY-MM-DD`, today or earlier.
    pub signposted_date: String,
    /// `suggested`, `referral_made`, `accepted`, `declined` or `not_needed`.
    pub status: String,
    /// Required for `not_needed`.
    pub reason: Option<String>,
    /// `YYYY-MM-DD`; required while awaiting an answer (`suggested`, `referral_made`).
    pub follow_up_date: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/signposting", tag = "onward support",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = SignpostRequest,
    responses(
        (status = 201, description = "Signposted", body = SignpostingJson),
        (status = 403, description = "You do not manage this referral's onward support, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "The referral is closed or not yet allocated", body = ErrorBody),
        (status = 422, description = "Invalid fields, or a service not offered for the referral's area", body = ErrorBody),
    )
)]
pub async fn signpost(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<SignpostRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = forms::parse_signpost(
        &RawForm::from_body(&body.into_inner())?,
        crate::clock::today(),
    )
    .map_err(AppError::Validation)?;
    let (s, svc) = state
        .db
        .write(move |c| service::signpost(c, &ctx, &id, &input))
        .await?;
    Ok(HttpResponse::Created().json(SignpostingJson::new(&s, &svc)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignpostUpdateRequest {
    /// The version last read.
    pub version: i64,
    pub status: String,
    pub reason: Option<String>,
    pub follow_up_date: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/signposting/{id}", tag = "onward support",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Signposting id"), Grounds),
    request_body = SignpostUpdateRequest,
    responses(
        (status = 200, description = "Updated", body = SignpostingJson),
        (status = 403, description = "You do not manage this referral's onward support, or `reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such signposting in your scope", body = ErrorBody),
        (status = 409, description = "Changed since you read it, or the referral is closed", body = ErrorBody),
        (status = 422, description = "Invalid fields, or Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn update(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<SignpostUpdateRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let raw = RawForm::from_body(&body.into_inner())?;
    let (s, svc) = state
        .db
        .write(move |c| service::update_from_form(c, &ctx, &id, &raw))
        .await?;
    Ok(HttpResponse::Ok().json(SignpostingJson::new(&s, &svc)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoOnwardRequest {
    /// Why the person needs no onward support.
    pub reason: String,
}

#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/no-onward-support", tag = "onward support",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = NoOnwardRequest,
    responses(
        (status = 200, description = "Recorded: the referral's onward support", body = OnwardSupportJson),
        (status = 403, description = "You do not manage this referral's onward support, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "The referral is closed or not yet allocated", body = ErrorBody),
        (status = 422, description = "No reason given", body = ErrorBody),
    )
)]
pub async fn no_onward(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<NoOnwardRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let reason = forms::parse_no_onward(&RawForm::from_body(&body.into_inner())?)
        .map_err(AppError::Validation)?;
    let onward = state
        .db
        .write(move |c| service::record_no_onward(c, &ctx, &id, &reason))
        .await?;
    Ok(HttpResponse::Ok().json(OnwardSupportJson::new(&onward)))
}

#[utoipa::path(
    get, path = "/api/v1/referrals/{id}/end-summary", tag = "onward support",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    responses(
        (status = 200, description = "The end-of-treatment summary. Measure totals are for clinical roles; others see whether each reliably improved", body = EndSummaryJson),
        (status = 403, description = "Your role has no referrals, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "Treatment has not ended", body = ErrorBody),
        (status = 422, description = "Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn end_summary(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let clinical = crate::sessions::service::sees_clinical(ctx.viewer.role);
    let e = state
        .db
        .write(move |c| service::view_end_summary(c, &ctx, &id))
        .await?;
    Ok(HttpResponse::Ok().json(EndSummaryJson::new(&e, clinical)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndSummaryRequest {
    /// The practitioner's summary for the responsible officer.
    pub summary: String,
}

#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/end-summary", tag = "onward support",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = EndSummaryRequest,
    responses(
        (status = 200, description = "Saved: the end-of-treatment summary", body = EndSummaryJson),
        (status = 403, description = "You do not manage this referral's treatment, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "Treatment has not ended", body = ErrorBody),
        (status = 422, description = "No summary given", body = ErrorBody),
    )
)]
pub async fn write_summary(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<EndSummaryRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let text = forms::parse_summary(&RawForm::from_body(&body.into_inner())?)
        .map_err(AppError::Validation)?;
    let clinical = crate::sessions::service::sees_clinical(ctx.viewer.role);
    let emails = state.emails.clone();
    let e = state
        .db
        .write(move |c| service::write_summary(c, &ctx, &id, &text, Some(&emails)))
        .await?;
    Ok(HttpResponse::Ok().json(EndSummaryJson::new(&e, clinical)))
}

// ------------------------------------------------------------------ directory

#[utoipa::path(
    get, path = "/api/v1/directory", tag = "onward support",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Services serving your areas, active or not, with their areas", body = [DirectoryServiceJson]),
        (status = 403, description = "Administrators only", body = ErrorBody),
    )
)]
pub async fn directory_list(state: State, api: ApiUser) -> Result<HttpResponse, ApiError> {
    let mine = api.area_ids.clone();
    let rows = state.db.run(move |c| directory::list_for(c, &mine)).await?;
    let json: Vec<DirectoryServiceJson> = rows
        .into_iter()
        .map(|(s, areas)| DirectoryServiceJson::new(&s, areas))
        .collect();
    Ok(HttpResponse::Ok().json(json))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DirectoryRequest {
    pub name: String,
    /// See `DirectoryServiceJson.service_type`.
    pub service_type: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    /// Areas served, among those you work in.
    pub areas: Vec<String>,
    /// On a change: `false` deactivates (no longer offered), `true` reactivates.
    pub active: Option<bool>,
}

#[utoipa::path(
    post, path = "/api/v1/directory", tag = "onward support",
    security(("bearer" = [])),
    request_body = DirectoryRequest,
    responses(
        (status = 201, description = "Added", body = DirectoryServiceJson),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn directory_create(
    state: State,
    api: ApiUser,
    body: web::Json<DirectoryRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = forms::parse_directory(&RawForm::from_body(&body.into_inner())?, &api.area_ids)
        .map_err(AppError::Validation)?;
    let actor = api.actor();
    let json = state
        .db
        .write(move |c| {
            let s = directory::create(c, &actor, &input)?;
            Ok(DirectoryServiceJson::new(&s, model::areas_of(c, &s.id)?))
        })
        .await?;
    Ok(HttpResponse::Created().json(json))
}

#[utoipa::path(
    post, path = "/api/v1/directory/{id}", tag = "onward support",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Directory service id")),
    request_body = DirectoryRequest,
    responses(
        (status = 200, description = "Changed", body = DirectoryServiceJson),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such service in your areas", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn directory_update(
    state: State,
    api: ApiUser,
    id: web::Path<String>,
    body: web::Json<DirectoryRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let active = body.active;
    let input = forms::parse_directory(&RawForm::from_body(&body)?, &api.area_ids)
        .map_err(AppError::Validation)?;
    let (actor, mine) = (api.actor(), api.area_ids.clone());
    let json = state
        .db
        .write(move |c| {
            let mut s = directory::update(c, &actor, &mine, &id, &input)?;
            if let Some(a) = active
                && a != s.active
            {
                s = directory::set_active(c, &actor, &mine, &id, a)?;
            }
            Ok(DirectoryServiceJson::new(&s, model::areas_of(c, &s.id)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json))
}
