//! The reminders JSON API: the person's contact details and preferences through a referral,
//! and for administrators the wording and the reminders that failed. The same services,
//! scope, rules and messages as the pages.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::guard::ApiUser;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::form::RawForm;
use crate::referrals::access::{Ctx, Grounds};
use crate::reminders::contact::{self, ContactDetails};
use crate::reminders::templates::{self, TemplateRow};
use crate::reminders::{ServiceStatus, service_status};
use crate::state::State;
use crate::users::model::AdminScope;

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactJson {
    pub referral_id: String,
    /// Whether you may change them.
    pub can_change: bool,
    /// Null while none are recorded.
    pub details: Option<ContactDetailsJson>,
    /// Whether this service sends reminders at all.
    pub reminders: ServiceStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDetailsJson {
    /// `07…`, 11 digits.
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// Lines of the postal address, the postcode last.
    pub address: Vec<String>,
    /// `sms`, `email` or `letter`.
    pub channel: String,
    /// `en` or `cy`.
    pub language: String,
    /// The day the person agreed to reminders; null while they have not.
    pub reminders_consent_on: Option<chrono::NaiveDate>,
    pub do_not_contact: bool,
    pub do_not_contact_reason: Option<String>,
    /// Send it back with a change.
    pub version: i64,
}

impl From<ContactDetails> for ContactDetailsJson {
    fn from(d: ContactDetails) -> Self {
        Self {
            mobile: d.mobile,
            email: d.email,
            address: d
                .address
                .map(|a| a.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
            channel: d.channel.as_str().into(),
            language: d.language.as_str().into(),
            reminders_consent_on: d.reminders_consent_on,
            do_not_contact: d.do_not_contact,
            do_not_contact_reason: d.do_not_contact_reason,
            version: d.version,
        }
    }
}

#[utoipa::path(
    get, path = "/api/v1/referrals/{id}/contact", tag = "reminders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    responses(
        (status = 200, description = "The person's contact details and reminder preferences", body = ContactJson),
        (status = 403, description = "Your role keeps no contact details, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 422, description = "Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn contact_show(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let view = state.db.write(move |c| contact::view(c, &ctx, &id)).await?;
    Ok(HttpResponse::Ok().json(ContactJson {
        referral_id: view.referral_id,
        can_change: view.can_change,
        details: view.details.map(Into::into),
        reminders: service_status(&state.settings.reminders),
    }))
}

/// As the page takes them; `consent` is `yes` or `no`, `do_not_contact` `yes` or absent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactRequest {
    /// A UK mobile number, written any usual way.
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// Three to seven lines, the postcode last.
    pub address: Option<Vec<String>>,
    /// `sms`, `email` or `letter`: its detail must be given.
    pub channel: Option<String>,
    /// `en` or `cy`.
    pub language: Option<String>,
    /// `yes` or `no`: whether the person agreed to appointment reminders.
    pub consent: Option<String>,
    /// `yes` to record that the person must not be contacted (with the reason).
    pub do_not_contact: Option<String>,
    pub do_not_contact_reason: Option<String>,
    /// The version you read; absent for the first details.
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/contact", tag = "reminders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = ContactRequest,
    responses(
        (status = 200, description = "Saved; each change is an amendment in the referral's history", body = ContactDetailsJson),
        (status = 403, description = "You do not keep this person's contact details, or `reason_required`: send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "Changed by someone else meanwhile", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn contact_save(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<ContactRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let address = body.address.take().map(|lines| lines.join("\n"));
    let mut raw = RawForm::from_body(&body)?;
    raw.set("address", address.unwrap_or_default());
    let input = contact::parse(&raw).map_err(AppError::Validation)?;
    let (id, settings) = (id.into_inner(), state.settings.reminders.clone());
    let saved = state
        .db
        .write(move |c| contact::save(c, &ctx, &settings, &id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(ContactDetailsJson::from(saved)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplatesJson {
    pub reminders: ServiceStatus,
    #[schema(value_type = Vec<Object>)]
    pub templates: Vec<TemplateRow>,
}

#[utoipa::path(
    get, path = "/api/v1/reminders/templates", tag = "reminders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The wording of each kind of message in English and Welsh", body = TemplatesJson),
        (status = 403, description = "Administrators only", body = ErrorBody),
    )
)]
pub async fn templates_list(state: State, api: ApiUser) -> Result<HttpResponse, ApiError> {
    let role = api.user.role;
    let rows = state.db.run(move |c| templates::list(c, role)).await?;
    Ok(HttpResponse::Ok().json(TemplatesJson {
        reminders: service_status(&state.settings.reminders),
        templates: rows,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateRequest {
    /// The email's subject and the letter's heading.
    pub subject: Option<String>,
    /// At most 459 characters; placeholders `((provider))`, `((date))`, `((time))`,
    /// `((place))`; `((date))` and `((time))` must be there.
    pub body: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/reminders/templates/{kind}/{language}", tag = "reminders",
    security(("bearer" = [])),
    params(
        ("kind" = String, Path, description = "`booked`, `moved` or `upcoming`"),
        ("language" = String, Path, description = "`en` or `cy`"),
    ),
    request_body = TemplateRequest,
    responses(
        (status = 204, description = "Saved"),
        (status = 403, description = "Service-wide administrators only", body = ErrorBody),
        (status = 404, description = "No such kind or language", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn template_save(
    state: State,
    api: ApiUser,
    path: web::Path<(String, String)>,
    body: web::Json<TemplateRequest>,
) -> Result<HttpResponse, ApiError> {
    let (kind, language) = path.into_inner();
    let (k, l) = templates::named(&kind, &language)?;
    let w =
        templates::parse(&RawForm::from_body(&body.into_inner())?).map_err(AppError::Validation)?;
    let (role, wide, actor) = (api.user.role, api.user.service_wide, api.actor());
    state
        .db
        .write(move |c| templates::save(c, role, wide, &actor, k, l, &w))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedJson {
    pub id: String,
    pub session_id: String,
    pub referral_id: String,
    pub kind: String,
    pub channel: String,
    /// When it was written, UTC: `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_at: String,
    pub error: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/reminders/failed", tag = "reminders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reminders that could not be sent, in your areas, newest first", body = Vec<FailedJson>),
        (status = 403, description = "Administrators only", body = ErrorBody),
    )
)]
pub async fn failed(state: State, api: ApiUser) -> Result<HttpResponse, ApiError> {
    let (role, scope) = (
        api.user.role,
        AdminScope::of(&api.user, api.area_ids.clone()),
    );
    let dead = state
        .db
        .run(move |c| crate::reminders::failed(c, role, &scope))
        .await?;
    Ok(HttpResponse::Ok().json(
        dead.into_iter()
            .map(|r| FailedJson {
                id: r.id,
                session_id: r.session_id,
                referral_id: r.referral_id,
                kind: r.kind.as_str().into(),
                channel: r.channel.as_str().into(),
                created_at: r.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                error: r.last_error,
            })
            .collect::<Vec<_>>(),
    ))
}

#[utoipa::path(
    post, path = "/api/v1/reminders/{id}/retry", tag = "reminders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Reminder id")),
    responses(
        (status = 204, description = "Queued to be sent again"),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No failed reminder with this id in your areas", body = ErrorBody),
    )
)]
pub async fn retry(
    state: State,
    api: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (role, scope, actor, id) = (
        api.user.role,
        AdminScope::of(&api.user, api.area_ids.clone()),
        api.actor(),
        id.into_inner(),
    );
    state
        .db
        .write(move |c| crate::reminders::retry(c, role, &scope, &actor, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
