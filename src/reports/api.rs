//! `GET /api/v1/reports/uptake`: the uptake report as JSON, scoped and suppressed exactly as
//! the page is.

use actix_web::{HttpRequest, HttpResponse};

use crate::auth::guard::ApiUser;
use crate::error::{ApiError, ErrorBody};
use crate::reports::query::{parse_query, suppressed_for};
use crate::reports::uptake::{self, Report};
use crate::state::State;

#[utoipa::path(
    get, path = "/api/v1/reports/uptake", tag = "reports",
    security(("bearer" = [])),
    params(
        ("period" = Option<String>, Query, description = "2026-11, 2026-Q3, FY2026 or 2026-05-01..2026-07-31; the current financial year when left out"),
        ("area" = Option<Vec<String>>, Query, description = "Area ids (repeat for several); all your areas when left out"),
    ),
    responses(
        (status = 200, description = "The report; councillors get withheld figures as \"[c]\" with no value", body = Report),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Your role has no reports", body = ErrorBody),
        (status = 422, description = "Unknown period or area", body = ErrorBody),
    )
)]
pub async fn uptake(
    state: State,
    api: ApiUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = req.query_string().to_owned();
    let area_ids = api.area_ids.clone();
    let role = api.user.role;
    let threshold = state.settings.reports.suppression_threshold;
    let targets = state.settings.reports.targets.clone();
    let actor = api.actor();
    let report = state
        .db
        .write(move |c| {
            let q = parse_query(c, &area_ids, &query)?;
            uptake::disclosed(c, &actor, &q, suppressed_for(role), threshold, &targets)
        })
        .await?;
    Ok(HttpResponse::Ok().json(&report.report))
}

#[utoipa::path(
    get, path = "/api/v1/reports/evaluation", tag = "reports",
    security(("bearer" = [])),
    params(
        ("return" = String, Query, description = "The return's mapping, by name: `evaluation` is shipped (every field of docs/evaluation-return.md)"),
        ("period" = Option<String>, Query, description = "Referrals made in: 2026-11, 2026-Q3, FY2026 or 2026-05-01..2026-07-31; the current financial year when left out"),
        ("area" = Option<Vec<String>>, Query, description = "Area ids (repeat for several); all your areas when left out"),
    ),
    responses(
        (status = 200, description = "The return as CSV (text/csv), one row per referral, naming no one", content_type = "text/csv", body = String),
        (status = 403, description = "Clinical leads and administrators only", body = ErrorBody),
        (status = 422, description = "Unknown return, period or area", body = ErrorBody),
    )
)]
pub async fn evaluation(
    state: State,
    api: ApiUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (query, dir) = (
        req.query_string().to_owned(),
        state.settings.reports.returns_dir.clone(),
    );
    let (area_ids, role, actor) = (api.area_ids.clone(), api.user.role, api.actor());
    let taken = state
        .db
        .write(move |c| {
            crate::reports::evaluation::take_return(c, role, &actor, &area_ids, &query, &dir)
        })
        .await?;
    Ok(crate::reports::web::return_response(&state, taken, false))
}

#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IdentifierExtractRequest {
    /// Referrals made in: 2026-11, 2026-Q3, FY2026 or 2026-05-01..2026-07-31.
    pub period: Option<String>,
    /// Area ids; all your areas when left out.
    pub area: Option<Vec<String>>,
    /// Why the identifiers are needed (kept in the audit log), up to 500 characters.
    pub reason: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/reports/identifier-extract", tag = "reports",
    security(("bearer" = [])),
    request_body = IdentifierExtractRequest,
    responses(
        (status = 200, description = "Each referral's reference with the person's CRN and PNC number, as CSV (text/csv)", content_type = "text/csv", body = String),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 422, description = "No reason, or an unknown period or area", body = ErrorBody),
    )
)]
pub async fn identifier_extract(
    state: State,
    api: ApiUser,
    body: actix_web::web::Json<IdentifierExtractRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (period, areas, reason) = (
        body.period.unwrap_or_default(),
        body.area.unwrap_or_default(),
        body.reason.unwrap_or_default(),
    );
    let (area_ids, role, actor) = (api.area_ids.clone(), api.user.role, api.actor());
    let (csv, _) = state
        .db
        .write(move |c| {
            crate::reports::evaluation::take_identifiers(
                c, role, &actor, &area_ids, &period, &areas, &reason,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(csv))
}
