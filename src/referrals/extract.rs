//! What a request brings to the referral services: who is asking ([`Viewer`]), on what
//! grounds ([`Grounds`]: the `Access-Reason` header and the token's issue for the API, the
//! sign-in session's start for the pages), and both together as the [`Ctx`] every use case
//! on a referral takes. Pages and API alike extract a [`Ctx`]; only an API request may bring
//! a reason in a header (a page gives it on the reason page).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::auth::guard::{ApiUser, CurrentUser};
use crate::error::{ACCESS_REASON_HEADER, ApiError, AppError, FieldErrors};
use crate::referrals::access::{Ctx, Grounds};
use crate::referrals::forms::{ACCESS_REASON_MAX, AccessReason};
use crate::referrals::model::Viewer;

/// Reads the [`Grounds`] of an API request: the `Access-Reason` header, checked as the reason
/// page checks its answer (a header sent blank, too long or twice is refused with a message
/// on the header, whoever sends it), and the issue of the bearer token.
fn grounds_of(req: &HttpRequest) -> Result<Grounds, AppError> {
    let since = req
        .extensions()
        .get::<ApiUser>()
        .map(|u| u.token_issued_at)
        .ok_or(AppError::Unauthenticated)?;
    let invalid = |m: String| AppError::Validation(FieldErrors::single(ACCESS_REASON_HEADER, m));
    let mut values = req.headers().get_all(ACCESS_REASON_HEADER);
    let given = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => {
            return Err(invalid(format!(
                "Send one {ACCESS_REASON_HEADER} header, not several"
            )));
        }
        (Some(v), None) => {
            let text = std::str::from_utf8(v.as_bytes())
                .map_err(|_| invalid("Send the reason as UTF-8 text".into()))?;
            Some(AccessReason::parse(text).map_err(invalid)?)
        }
    };
    Ok(Grounds { given, since })
}

/// The `Access-Reason` header in the OpenAPI document of every operation that takes it.
impl IntoParams for Grounds {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name(ACCESS_REASON_HEADER)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(format!(
                    "Clinical leads: why you need this referral (or the referral this record \
                     is part of) when it is not on your own caseload (DPA 2018 s.62); without it the answer is 403 `reason_required`. \
                     Recorded in the audit log and remembered for this referral while the token \
                     lasts, so later calls need not send it. 1 to {ACCESS_REASON_MAX} \
                     characters, UTF-8."
                )))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(ACCESS_REASON_MAX)),
                ))
                .build(),
        ]
    }
}

/// The viewer a signed-in `user` of `area_ids` is, today.
fn viewer_of(user: &crate::users::model::User, area_ids: &[String]) -> Viewer {
    Viewer {
        user_id: user.id.clone(),
        name: user.name.clone(),
        role: user.role,
        organisation_id: user.organisation_id.clone(),
        area_ids: area_ids.to_vec(),
        service_wide: user.service_wide,
        police_cleared: user.police_cleared(crate::clock::today()),
    }
}

impl From<&CurrentUser> for Viewer {
    fn from(u: &CurrentUser) -> Self {
        viewer_of(&u.user, &u.area_ids)
    }
}

impl From<&ApiUser> for Viewer {
    fn from(u: &ApiUser) -> Self {
        viewer_of(&u.user, &u.area_ids)
    }
}

impl From<&CurrentUser> for Ctx {
    /// A page request: a reason for looking holds from the start of the sign-in session.
    fn from(u: &CurrentUser) -> Self {
        Ctx::new(Viewer::from(u), u.actor(), u.session.created_at)
    }
}

/// The [`Ctx`] of a request: a page's signed-in user, or an API caller with the grounds its
/// request brings ([`Grounds`]).
fn ctx_of(req: &HttpRequest) -> Result<Ctx, actix_web::Error> {
    if let Some(u) = req.extensions().get::<CurrentUser>() {
        return Ok(Ctx::from(u));
    }
    let api = req
        .extensions()
        .get::<ApiUser>()
        .cloned()
        .ok_or_else(|| actix_web::Error::from(ApiError(AppError::Unauthenticated)))?;
    let grounds = grounds_of(req).map_err(ApiError)?;
    Ok(Ctx {
        viewer: Viewer::from(&api),
        actor: api.actor(),
        grounds,
    })
}

impl FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(ctx_of(req))
    }
}
