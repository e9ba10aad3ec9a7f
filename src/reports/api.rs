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
    Ok(HttpResponse::Ok().json(report))
}
