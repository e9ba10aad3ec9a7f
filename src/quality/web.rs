//! The data-quality page (`/data-quality`), its CSV download and `GET /api/v1/data-quality`:
//! each parses nothing, calls [`super::view`] and renders what it returns.

use actix_web::HttpResponse;

use super::{Limit, Quality, Share};
use crate::auth::guard::{ApiUser, CurrentUser};
use crate::error::{ApiError, AppError, ErrorBody};
use crate::referrals::model::Viewer;
use crate::state::State;

async fn quality(
    state: &State,
    viewer: Viewer,
    actor: crate::audit::Actor,
    limit: Limit,
) -> Result<Quality, AppError> {
    let required =
        super::required_fields(&state.settings.data_quality.required).map_err(AppError::Config)?;
    state
        .db
        .write(move |c| super::view(c, &viewer, &actor, &required, crate::clock::today(), limit))
        .await
}

pub async fn page(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let q = quality(
        &state,
        Viewer::from(&user),
        user.actor(),
        Limit::First(SHOWN),
    )
    .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("q", &q);
    ctx.insert("more", &q.findings_total.saturating_sub(q.findings.len()));
    ctx.insert(
        "can_open",
        &(user.user.role == crate::users::model::Role::ClinicalLead),
    );
    crate::web::render(&state, &user, "/data-quality", "quality/index.html", ctx).await
}

/// Findings listed on the page; the CSV has them all.
const SHOWN: usize = 100;

fn cell(s: &Share) -> String {
    match s.percent() {
        Some(p) => format!("{p}"),
        None => "[z]".into(),
    }
}

/// Shares, then findings, under one header row so a spreadsheet filters it.
pub fn to_csv(q: &Quality) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "record",
        "organisation",
        "area",
        "field_or_reference",
        "records",
        "have",
        "percent_all",
        &format!(
            "percent_made_{}",
            q.last_month.replace(' ', "_").to_lowercase()
        ),
        &format!(
            "percent_made_{}",
            q.this_month.replace(' ', "_").to_lowercase()
        ),
        "problems",
    ]);
    let safe = |v: &str| crate::spreadsheet::defused(v).into_owned();
    for g in &q.groups {
        for f in &g.fields {
            let _ = w.write_record([
                "share",
                &safe(&g.organisation),
                &safe(&g.area),
                f.field.code(),
                &f.all.of.to_string(),
                &f.all.have.to_string(),
                &cell(&f.all),
                &cell(&f.last_month),
                &cell(&f.this_month),
                "",
            ]);
        }
    }
    for f in &q.findings {
        let _ = w.write_record([
            "finding",
            &safe(&f.organisation),
            &safe(&f.area),
            &safe(&f.reference),
            "",
            "",
            "",
            "",
            "",
            &safe(&f.problems.join("; ")),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub async fn csv(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let q = quality(&state, Viewer::from(&user), user.actor(), Limit::All).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"mhtr-data-quality-{}.csv\"",
                crate::clock::today()
            ),
        ))
        .body(format!("\u{feff}{}", to_csv(&q))))
}

#[utoipa::path(
    get, path = "/api/v1/data-quality", tag = "data quality",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "For each required field, the share of records in your scope that have it, per organisation and area (per organisation only for councillors), for all records and those made last month and this month; how many records break a standard (findings_total) and each of them in reference order (never for councillors)", body = Object),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only clinical leads, administrators and councillors", body = ErrorBody),
    )
)]
pub async fn api(state: State, api: ApiUser) -> Result<HttpResponse, ApiError> {
    let q = quality(&state, Viewer::from(&api), api.actor(), Limit::All).await?;
    Ok(HttpResponse::Ok().json(q))
}
