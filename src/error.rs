//! One error type with stable codes, rendered as a GOV.UK page for people (through the
//! error-page middleware in `web::pages`) and as JSON for the API (`ApiError`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Field-level validation messages in the order the form shows its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }

    /// Records the first message for a field; later ones for the same field are ignored.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.0.iter().any(|(f, _)| f == field) {
            self.0.push((field.to_owned(), message.into()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }

    /// `Ok(())` when nothing was recorded, else the validation error.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("sign in required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    /// A clinical lead asked for a referral off their own caseload, or a record of one,
    /// without saying why (DPA 2018 s.62). The API answers this; a page sends the person to
    /// the referral's reason page and back ([`ReasonNeeded`], `web::error_page`).
    #[error("a reason is needed")]
    ReasonRequired { referral_id: String },
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many attempts")]
    Throttled { retry_after_secs: u64 },
    #[error("request refused: {0}")]
    BadRequest(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("database error")]
    Database(#[source] diesel::result::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            // SQLite gave up waiting for another writer (busy_timeout): the user's action was
            // not applied, and trying again shortly will work. A 503, not a crash.
            diesel::result::Error::DatabaseError(_, ref info) if is_busy(info.message()) => {
                AppError::Unavailable(format!("database busy: {}", info.message()))
            }
            other => AppError::Database(other),
        }
    }
}

/// SQLite's answers when a lock could not be had in time (SQLITE_BUSY, SQLITE_LOCKED).
fn is_busy(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("database table is locked")
}

/// How long a client is told to wait before trying again after a 503.
const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 5;

/// The request header an API client says why it looks at a referral off its caseload in;
/// named by [`AppError::ReasonRequired`]'s message.
pub const ACCESS_REASON_HEADER: &str = "Access-Reason";

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

impl From<tera::Error> for AppError {
    fn from(e: tera::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("template rendering failed"))
    }
}

impl AppError {
    /// The stable code clients may rely on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::ReasonRequired { .. } => "reason_required",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Throttled { .. } => "too_many_requests",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unavailable(_) => "unavailable",
            AppError::Config(_) | AppError::Database(_) | AppError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::ReasonRequired { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Config(_) | AppError::Database(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A message safe to show anyone: never the internal cause.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Validation(_) => "There is a problem with the information you gave".into(),
            AppError::Unauthenticated => "You need to sign in".into(),
            AppError::Forbidden => "You do not have permission to do that".into(),
            AppError::ReasonRequired { .. } => format!(
                "This referral is not on your caseload. Say why you need it in the {} header: \
                 the reason is recorded in the audit log",
                ACCESS_REASON_HEADER
            ),
            AppError::NotFound => "Not found".into(),
            AppError::Conflict(m) | AppError::BadRequest(m) => m.clone(),
            AppError::Throttled { .. } => {
                "Too many attempts. Wait a few minutes and try again".into()
            }
            AppError::Unavailable(_) => {
                "The service is busy and nothing was saved. Wait a few seconds, then go back \
                 and try again: what you entered is still in the form"
                    .into()
            }
            AppError::Config(_) | AppError::Database(_) | AppError::Internal(_) => {
                "Sorry, there is a problem with the service".into()
            }
        }
    }

    fn log_if_server_error(&self) {
        if self.status().is_server_error() {
            // The cause chain, once, at the boundary. Causes carry no personal data: queries
            // and templates report shapes, not values.
            let mut msg = self.to_string();
            let mut source = std::error::Error::source(self);
            while let Some(cause) = source {
                msg.push_str(": ");
                msg.push_str(&cause.to_string());
                source = cause.source();
            }
            log::error!("{msg}");
        }
    }
}

/// Marks a response produced from an `AppError` so the page middleware can render the
/// matching GOV.UK error page.
#[derive(Debug, Clone)]
pub struct PageErrorMarker {
    pub message: String,
}

/// Marks a response to a page asked for without the reason a referral off the user's
/// caseload needs: the page middleware sends the person to that referral's reason page.
#[derive(Debug, Clone)]
pub struct ReasonNeeded {
    pub referral_id: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log_if_server_error();
        match self {
            AppError::Unauthenticated => HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, "/sign-in"))
                .finish(),
            _ => {
                let mut resp = HttpResponse::build(self.status());
                if let AppError::Throttled { retry_after_secs } = self {
                    resp.insert_header(("Retry-After", retry_after_secs.to_string()));
                }
                if let AppError::Unavailable(_) = self {
                    resp.insert_header(("Retry-After", RETRY_AFTER_UNAVAILABLE_SECS.to_string()));
                }
                let mut resp = resp
                    .content_type("text/plain; charset=utf-8")
                    .body(self.public_message());
                resp.extensions_mut().insert(PageErrorMarker {
                    message: self.public_message(),
                });
                if let AppError::ReasonRequired { referral_id } = self {
                    resp.extensions_mut().insert(ReasonNeeded {
                        referral_id: referral_id.clone(),
                    });
                }
                resp
            }
        }
    }
}

/// The JSON error body of every API response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code: validation, unauthenticated, forbidden, reason_required,
    /// not_found, conflict, too_many_requests, bad_request, unavailable, internal.
    pub error: String,
    pub message: String,
    /// Field name to message, for `validation` errors.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// An `AppError` rendered as JSON, for API handlers.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError(e.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log_if_server_error();
        let fields = match &self.0 {
            AppError::Validation(f) => f
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            _ => Default::default(),
        };
        let message = match &self.0 {
            AppError::NotFound => "The resource was not found".to_owned(),
            other => other.public_message(),
        };
        let mut resp = HttpResponse::build(self.0.status());
        if let AppError::Unauthenticated = self.0 {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let AppError::Throttled { retry_after_secs } = self.0 {
            resp.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        if let AppError::Unavailable(_) = self.0 {
            resp.insert_header(("Retry-After", RETRY_AFTER_UNAVAILABLE_SECS.to_string()));
        }
        resp.json(ErrorBody {
            error: self.0.code().to_owned(),
            message,
            fields,
        })
    }
}
