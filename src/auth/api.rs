//! API authentication: bearer tokens issued after both factors, and revoked on request.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self};
use crate::auth::account;
use crate::auth::guard::{ApiUser, client_info};
use crate::auth::password::Password;
use crate::auth::service::{self, PasswordOutcome};
use crate::error::{ApiError, AppError, ErrorBody, FieldErrors};
use crate::state::State;
use crate::users::model as users_model;

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    /// The current 6-digit authenticator code, or one of the user's recovery codes.
    #[serde(default)]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub token: String,
    pub token_type: String,
    /// UTC, ISO 8601.
    pub expires_at: String,
}

/// Issue a bearer token (password and second factor).
#[utoipa::path(
    post, path = "/api/v1/auth/token", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Token issued", body = TokenResponse),
        (status = 401, description = "Wrong email, password or code", body = ErrorBody),
        (status = 422, description = "Missing fields", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
    )
)]
pub async fn issue_token(
    state: State,
    req: HttpRequest,
    body: web::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::new();
    if body.email.trim().is_empty() {
        errors.add("email", "Enter your email address");
    }
    if body.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    if body.code.trim().is_empty() {
        errors.add(
            "code",
            "Enter the code from your authenticator app or a recovery code",
        );
    }
    errors.into_result()?;
    let client = client_info(&req);
    let password = Password::for_sign_in(body.password);
    let user = match service::check_password(&state, &body.email, &password, &client, "api").await?
    {
        PasswordOutcome::NeedsCode(u) => u,
        // Accounts without a second factor set up cannot use the API until they have one.
        PasswordOutcome::NeedsEnrolment(_) | PasswordOutcome::Refused(_) => {
            return Err(AppError::Unauthenticated.into());
        }
    };
    let code = body.code.trim();
    let ok = if code.chars().filter(|c| c.is_ascii_digit()).count() == 6 && code.len() <= 7 {
        service::check_code(&state, &user, code, &client, "api").await?
    } else {
        service::use_recovery_code(&state, &user, code, &client, "api").await?
    };
    if !ok {
        return Err(AppError::Unauthenticated.into());
    }
    let hours = state.settings.security.api_token_hours;
    let actor = audit::Actor::user(&user.id, &user.email, client.ip.clone());
    let uid = user.id.clone();
    let (token, row) = state
        .db
        .write(move |c| account::issue_token(c, &actor, &uid, hours))
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        token,
        token_type: "Bearer".into(),
        expires_at: crate::web::format::iso(row.expires_at),
    }))
}

/// Revoke the bearer token used for this request.
#[utoipa::path(
    delete, path = "/api/v1/auth/token", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Token revoked"),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn revoke_token(state: State, api: ApiUser) -> Result<HttpResponse, ApiError> {
    let actor = api.actor();
    let tid = api.token_id.clone();
    state
        .db
        .write(move |c| account::revoke_token(c, &actor, None, &tid).map(|_| ()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub organisation: String,
    pub areas: Vec<String>,
}

/// The signed-in API user.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user behind the token", body = MeResponse),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn me(state: State, api: ApiUser) -> Result<HttpResponse, ApiError> {
    let u = api.user.clone();
    let (organisation, areas) = state
        .db
        .run(move |c| {
            Ok((
                users_model::organisation_name(c, &u.organisation_id)?,
                users_model::area_names(c, &u.id)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(MeResponse {
        id: api.user.id.clone(),
        name: api.user.name.clone(),
        email: api.user.email.clone(),
        role: api.user.role.as_str().into(),
        organisation,
        areas,
    }))
}
