//! The areas JSON API for administrators: the areas they manage with each one's adult
//! populations, and recording a population. The same service, scope, rules and messages as
//! the pages.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::areas::population::{self, Population};
use crate::auth::guard::ApiUser;
use crate::error::{ApiError, ErrorBody};
use crate::form::RawForm;
use crate::state::State;
use crate::users::model::AdminScope;

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaJson {
    pub id: String,
    /// The ONS code of the local authority.
    pub code: String,
    pub name: String,
    /// Adult populations recorded, newest year first.
    pub populations: Vec<Population>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreasJson {
    pub areas: Vec<AreaJson>,
}

#[utoipa::path(
    get, path = "/api/v1/areas", tag = "administration",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The areas you manage, with their adult populations", body = AreasJson),
        (status = 403, description = "Administrators only", body = ErrorBody),
    )
)]
pub async fn list(state: State, api: ApiUser) -> Result<HttpResponse, ApiError> {
    let scope = AdminScope::of(&api.user, api.area_ids.clone());
    let json = state
        .db
        .run(move |c| {
            let managed = super::managed_areas(c, &scope)?;
            let ids: Vec<String> = managed.iter().map(|a| a.id.clone()).collect();
            let mut populations = population::of_areas(c, &ids)?;
            let areas = managed
                .into_iter()
                .map(|a| AreaJson {
                    populations: populations.remove(&a.id).unwrap_or_default(),
                    id: a.id,
                    code: a.code,
                    name: a.name,
                })
                .collect();
            Ok(AreasJson { areas })
        })
        .await?;
    Ok(HttpResponse::Ok().json(json))
}

/// Every field is required; they are optional here so that a missing one gets the same
/// message as on the page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PopulationRequest {
    /// The mid-year the estimate is for, from 2001 to this year.
    pub year: Option<i32>,
    /// People aged 18 and over.
    pub adults: Option<i64>,
    /// Where the figure comes from, for example "ONS mid-2023 population estimates".
    pub source: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/areas/{id}/populations", tag = "administration",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Area id")),
    request_body = PopulationRequest,
    responses(
        (status = 201, description = "Recorded (a year already recorded is replaced)", body = Population),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such area among those you manage", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn record(
    state: State,
    api: ApiUser,
    id: web::Path<String>,
    body: web::Json<PopulationRequest>,
) -> Result<HttpResponse, ApiError> {
    let parsed = population::parse(
        &RawForm::from_body(&body.into_inner())?,
        crate::clock::today(),
    );
    let (scope, actor, id) = (
        AdminScope::of(&api.user, api.area_ids.clone()),
        api.actor(),
        id.into_inner(),
    );
    let saved = state
        .db
        .write(move |c| population::record_parsed(c, &scope, &actor, &id, parsed))
        .await?;
    Ok(HttpResponse::Created().json(saved))
}
