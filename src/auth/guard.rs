//! Access control at the edge: every route in `routes.rs` declares an [`Access`], and this
//! middleware enforces it before the handler runs — who may call it, the cross-site checks
//! and the CSRF token on every state change. The signed-in user is then handed to the
//! handler through the [`CurrentUser`], [`PendingSignIn`] and [`ApiUser`] extractors.

use std::future::{Ready, ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::auth::session::{self, ClientInfo, Invalid, SessionRow, SessionStage};
use crate::auth::session_cache::Staff;
use crate::auth::tokens;
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::users::model::{self as users, Role, User};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: sign-in, assets, health. State changes still need the pre-session token.
    Public,
    /// Someone half-way through sign-in (password given, second factor to come).
    PendingSignIn,
    /// A fully signed-in user holding one of these roles.
    Staff(&'static [Role]),
    /// Any live session, at any stage of sign-in (sign-out); none sends the visitor on.
    Session,
    /// An API client with a bearer token of a user holding one of these roles.
    Api(&'static [Role]),
    /// An API call anyone may make (token issue, the OpenAPI document). Bearer-only: no
    /// cookies are read, so there is nothing for a cross-site request to ride on.
    ApiPublic,
}

pub const ANY_ROLE: &[Role] = Role::ALL;

/// The fully signed-in user of a page request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub session: SessionRow,
    pub area_ids: Vec<String>,
    pub client: ClientInfo,
}

impl CurrentUser {
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::user(&self.user.id, &self.user.email, self.client.ip.clone())
    }

    pub fn has_role(&self, roles: &[Role]) -> bool {
        roles.contains(&self.user.role)
    }
}

/// A user who has given a password but not yet the second factor.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub user: User,
    pub session: SessionRow,
    pub client: ClientInfo,
}

/// The user behind an API bearer token.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub user: User,
    pub token_id: String,
    /// When the token was issued: for the API what a page session's start is to the pages
    /// (a reason given for looking at a referral holds from then on).
    pub token_issued_at: chrono::NaiveDateTime,
    pub area_ids: Vec<String>,
    pub client: ClientInfo,
}

impl ApiUser {
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::user(&self.user.id, &self.user.email, self.client.ip.clone())
    }
}

macro_rules! from_extensions {
    ($ty:ty, $err:expr) => {
        impl FromRequest for $ty {
            type Error = actix_web::Error;
            type Future = Ready<Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                // Present only when the route's declared access put it there.
                ready(
                    req.extensions()
                        .get::<$ty>()
                        .cloned()
                        .ok_or_else(|| $err.into()),
                )
            }
        }
    };
}

from_extensions!(CurrentUser, AppError::Unauthenticated);
from_extensions!(PendingSignIn, AppError::Unauthenticated);
from_extensions!(ApiUser, ApiError(AppError::Unauthenticated));

pub fn client_info(req: &HttpRequest) -> ClientInfo {
    let state = req.app_data::<web::Data<AppState>>();
    let device = state
        .and_then(|s| req.cookie(s.settings.device_cookie_name()))
        .map(|c| c.value().chars().take(128).collect());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    ClientInfo {
        ip: req.peer_addr().map(|a| match state {
            Some(s) => s.proxies.client(a.ip(), forwarded).to_string(),
            None => a.ip().to_string(),
        }),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        device,
    }
}

pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware behind every route's declared access. Refusals become responses here,
/// so they get the same GOV.UK error pages (or JSON) as errors from handlers.
pub async fn enforce(
    access: Access,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let http_req = req.request().clone();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let unsafe_method = is_unsafe(req.method());
    let res = match check(access, req, next).await {
        Ok(res) => res,
        Err(e) => ServiceResponse::new(http_req, e.error_response()),
    };
    if unsafe_method && let Some(state) = state {
        // Whatever it changed (a user, their areas, a session) is committed by now.
        state.sessions.changed();
    }
    Ok(res)
}

/// The signed-in person behind a session cookie: from the [`SessionCache`] for a request
/// that changes nothing, else from the database (and then remembered).
///
/// [`SessionCache`]: crate::auth::session_cache::SessionCache
async fn staff_for(
    state: &web::Data<AppState>,
    token: String,
    unsafe_method: bool,
) -> Result<Result<Staff, StaffRefusal>, AppError> {
    let settings = state.settings.security.clone();
    let session_id = crate::ids::sha256_hex(&token);
    if !unsafe_method && let Some(staff) = state.sessions.get(&session_id, &settings) {
        return Ok(Ok(staff));
    }
    let generation = state.sessions.generation();
    let loaded = state
        .db
        .run(move |c| load_staff(c, &token, &settings))
        .await?;
    if let Ok(staff) = &loaded
        && !unsafe_method
    {
        state.sessions.put(staff, generation);
    }
    Ok(loaded)
}

async fn check(
    access: Access,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?;
    let unsafe_method = is_unsafe(req.method());

    match access {
        Access::Api(roles) => return enforce_api(roles, &state, req, next).await,
        Access::ApiPublic => return Ok(next.call(req).await?.map_into_boxed_body()),
        _ => {}
    }

    if unsafe_method {
        cross_site_check(&req, &state)?;
    }

    let client = client_info(req.request());
    let cookie = req
        .cookie(state.settings.session_cookie_name())
        .map(|c| c.value().to_owned());
    let expected_csrf = match access {
        Access::Public => {
            if unsafe_method {
                let cookie = req
                    .cookie(state.settings.presession_cookie_name())
                    .map(|c| c.value().to_owned());
                Some(cookie.ok_or(AppError::BadRequest(
                    "Your session expired before the form was sent. Go back and try again".into(),
                ))?)
            } else {
                None
            }
        }
        Access::PendingSignIn => {
            let Some(token) = cookie else {
                return Ok(redirect(req, "/sign-in"));
            };
            let settings = state.settings.security.clone();
            let found = state
                .db
                .run(move |c| {
                    let row = match session::lookup(c, &token, &settings)? {
                        Ok(r) if r.stage != SessionStage::Full => r,
                        _ => return Ok(None),
                    };
                    let user = users::by_id(c, &row.user_id)?;
                    Ok(Some((row, user)))
                })
                .await?;
            let Some((row, user)) = found else {
                return Ok(redirect(req, "/sign-in"));
            };
            let csrf = row.csrf_token.clone();
            req.extensions_mut().insert(PendingSignIn {
                user,
                session: row,
                client,
            });
            unsafe_method.then_some(csrf)
        }
        Access::Staff(roles) => {
            let Some(token) = cookie else {
                return Ok(to_sign_in(req, "/sign-in", &state));
            };
            let loaded = staff_for(&state, token, unsafe_method).await?;
            let current = match loaded {
                Ok(Staff {
                    user,
                    session,
                    area_ids,
                }) => CurrentUser {
                    user,
                    session,
                    area_ids,
                    client,
                },
                Err(StaffRefusal::Invalid(Invalid::IdleTimeout)) => {
                    return Ok(to_sign_in(req, "/signed-out?reason=timeout", &state));
                }
                Err(StaffRefusal::VettingExpired) => {
                    return Ok(redirect(req, "/signed-out?reason=vetting"));
                }
                Err(_) => return Ok(to_sign_in(req, "/sign-in", &state)),
            };
            let allowed = current.has_role(roles);
            let csrf = current.session.csrf_token.clone();
            // Known even when refused, so the error page keeps the person's header.
            req.extensions_mut().insert(current);
            if !allowed {
                return Err(AppError::Forbidden.into());
            }
            unsafe_method.then_some(csrf)
        }
        Access::Session => {
            let Some(token) = cookie else {
                return Ok(redirect(req, "/signed-out"));
            };
            let settings = state.settings.security.clone();
            let row = state
                .db
                .run(move |c| session::lookup(c, &token, &settings))
                .await?;
            match row {
                Ok(row) => unsafe_method.then_some(row.csrf_token),
                Err(_) => return Ok(redirect(req, "/signed-out")),
            }
        }
        Access::Api(_) | Access::ApiPublic => unreachable!("handled above"),
    };

    let mut req = req;
    if let Some(expected) = expected_csrf {
        let given = csrf_from_request(&mut req).await?;
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) || expected.is_empty() {
            log::warn!(
                "CSRF token missing or wrong on {} {}",
                req.method(),
                req.path()
            );
            return Err(AppError::BadRequest(
                "This form has expired or was not sent from this service. Go back, reload the page and try again"
                    .into(),
            )
            .into());
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The fully signed-in person behind a request no route matched, if there is one, so the
/// "page not found" page keeps their header and navigation. Nothing is refused here: an
/// absent, expired or half-finished session just means the anonymous page.
pub async fn identify(req: &HttpRequest) -> Option<CurrentUser> {
    if req.path().starts_with("/api/") {
        return None;
    }
    let state = req.app_data::<web::Data<AppState>>()?.clone();
    let token = req
        .cookie(state.settings.session_cookie_name())
        .map(|c| c.value().to_owned())?;
    let settings = state.settings.security.clone();
    let loaded = state
        .db
        .run(move |c| load_staff(c, &token, &settings))
        .await
        .ok()?;
    let Staff {
        user,
        session,
        area_ids,
    } = loaded.ok()?;
    Some(CurrentUser {
        user,
        session,
        area_ids,
        client: client_info(req),
    })
}

enum StaffRefusal {
    Invalid(Invalid),
    NotFull,
    Disabled,
    VettingExpired,
}

fn load_staff(
    c: &mut crate::db::DbConn,
    token: &str,
    settings: &crate::settings::SecuritySettings,
) -> Result<Result<Staff, StaffRefusal>, AppError> {
    let mut row = match session::lookup(c, token, settings)? {
        Ok(r) => r,
        Err(why) => return Ok(Err(StaffRefusal::Invalid(why))),
    };
    if row.stage != SessionStage::Full {
        return Ok(Err(StaffRefusal::NotFull));
    }
    let user = users::by_id(c, &row.user_id)?;
    if user.is_disabled() {
        session::end(c, &row.id, "user disabled")?;
        return Ok(Err(StaffRefusal::Disabled));
    }
    if user.vetting_expired(crate::clock::today()) {
        session::end(c, &row.id, "vetting expired")?;
        return Ok(Err(StaffRefusal::VettingExpired));
    }
    session::touch(c, &mut row, false)?;
    let area_ids = users::area_ids(c, &user.id)?;
    Ok(Ok(Staff {
        user,
        session: row,
        area_ids,
    }))
}

async fn enforce_api(
    roles: &'static [Role],
    state: &web::Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_owned());
    let Some(bearer) = bearer else {
        return Err(ApiError(AppError::Unauthenticated).into());
    };
    let found = state
        .db
        .run(move |c| {
            let Some(tok) = tokens::lookup(c, &bearer)? else {
                return Ok(None);
            };
            let user = users::by_id(c, &tok.user_id)?;
            if user.is_disabled() || user.vetting_expired(crate::clock::today()) {
                return Ok(None);
            }
            let areas = users::area_ids(c, &user.id)?;
            Ok(Some((tok.id, tok.created_at, user, areas)))
        })
        .await
        .map_err(ApiError)?;
    let Some((token_id, token_issued_at, user, area_ids)) = found else {
        return Err(ApiError(AppError::Unauthenticated).into());
    };
    if !roles.contains(&user.role) {
        return Err(ApiError(AppError::Forbidden).into());
    }
    let client = client_info(req.request());
    req.extensions_mut().insert(ApiUser {
        user,
        token_id,
        token_issued_at,
        area_ids,
        client,
    });
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Refuses state changes sent from another site: browsers say so in `Sec-Fetch-Site`, and
/// in `Origin` when they send one, which must be the configured base URL's.
fn cross_site_check(req: &ServiceRequest, state: &AppState) -> Result<(), AppError> {
    if let Some(site) = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(AppError::Forbidden);
    }
    if let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        // Against the configured address only: Host, X-Forwarded-Host and Forwarded are the
        // sender's to choose, so they prove nothing.
        if !origin.eq_ignore_ascii_case(&state.settings.origin()) {
            return Err(AppError::Forbidden);
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct CsrfField {
    csrf_token: Option<String>,
}

/// The CSRF token from the `X-CSRF-Token` header, or from the form body (which is read and
/// put back for the handler). A `multipart/form-data` body (a file upload) must carry the
/// token as its first part: only that part is read, at most [`MULTIPART_CSRF_PREFIX`] bytes,
/// and the bytes read are put back in front of the rest of the body, still unread.
async fn csrf_from_request(req: &mut ServiceRequest) -> Result<String, actix_web::Error> {
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return Ok(v.to_owned());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Ok(match multipart_boundary(&content_type) {
            Some(boundary) => csrf_from_multipart(req, &boundary).await?,
            None => String::new(),
        });
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form {
        return Ok(String::new());
    }
    let body = req.extract::<web::Bytes>().await?;
    let token = serde_urlencoded::from_bytes::<CsrfField>(&body)
        .ok()
        .and_then(|f| f.csrf_token)
        .unwrap_or_default();
    req.set_payload(bytes_payload(body));
    Ok(token)
}

/// How much of a multipart body is read to find the token part before giving up.
pub const MULTIPART_CSRF_PREFIX: usize = 8 * 1024;

/// The `boundary` parameter of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        (!v.is_empty() && v.len() <= 70).then(|| v.to_owned())
    })
}

/// What the start of a multipart body says about the token.
#[derive(Debug, PartialEq, Eq)]
enum FirstPart {
    /// The first part is the `csrf_token` field, with this value.
    Token(String),
    /// The first part is something else, or the body is not multipart: no token.
    Absent,
    /// More bytes are needed to tell.
    Incomplete,
}

/// Reads the first part of a multipart body: `--boundary CRLF`, headers, a blank line, the
/// value, then `CRLF --boundary`. Only a plain field (no file name) called `csrf_token` counts.
fn first_multipart_part(head: &[u8], boundary: &str) -> FirstPart {
    let opening = format!("--{boundary}\r\n");
    if head.len() < opening.len() {
        return if opening.as_bytes().starts_with(head) {
            FirstPart::Incomplete
        } else {
            FirstPart::Absent
        };
    }
    let Some(rest) = head.strip_prefix(opening.as_bytes()) else {
        return FirstPart::Absent;
    };
    let Some(end_of_headers) = find(rest, b"\r\n\r\n") else {
        return FirstPart::Incomplete;
    };
    let Ok(headers) = std::str::from_utf8(&rest[..end_of_headers]) else {
        return FirstPart::Absent;
    };
    let mut is_token = false;
    for line in headers.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            return FirstPart::Absent;
        };
        if !name.trim().eq_ignore_ascii_case("content-disposition") {
            continue;
        }
        let mut params = value.split(';').map(str::trim);
        if !params
            .next()
            .is_some_and(|d| d.eq_ignore_ascii_case("form-data"))
        {
            return FirstPart::Absent;
        }
        for p in params {
            match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("name") => {
                    is_token = v.trim().trim_matches('"') == CSRF_FIELD;
                }
                Some((k, _)) if k.trim().to_ascii_lowercase().starts_with("filename") => {
                    return FirstPart::Absent;
                }
                _ => {}
            }
        }
    }
    if !is_token {
        return FirstPart::Absent;
    }
    let body = &rest[end_of_headers + 4..];
    let closing = format!("\r\n--{boundary}");
    match find(body, closing.as_bytes()) {
        Some(end) => match std::str::from_utf8(&body[..end]) {
            Ok(v) => FirstPart::Token(v.to_owned()),
            Err(_) => FirstPart::Absent,
        },
        None => FirstPart::Incomplete,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The token from the first part of a multipart body. The body is read only until the first
/// part ends (at most [`MULTIPART_CSRF_PREFIX`] bytes); what was read goes back in front of
/// the rest of the stream, so the handler sees the whole body and no file is held here.
async fn csrf_from_multipart(
    req: &mut ServiceRequest,
    boundary: &str,
) -> Result<String, actix_web::Error> {
    use futures_util::StreamExt as _;
    let mut payload = req.take_payload();
    let mut head = web::BytesMut::new();
    let mut ended = false;
    let token = loop {
        match first_multipart_part(&head, boundary) {
            FirstPart::Token(t) => break t,
            FirstPart::Absent => break String::new(),
            FirstPart::Incomplete if ended || head.len() >= MULTIPART_CSRF_PREFIX => {
                break String::new();
            }
            FirstPart::Incomplete => match payload.next().await {
                Some(Ok(chunk)) => head.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(e.into()),
                None => ended = true,
            },
        }
    };
    let read = futures_util::stream::once(std::future::ready(Ok(head.freeze())));
    let joined: actix_http::BoxedPayloadStream = Box::pin(read.chain(payload));
    req.set_payload(Payload::from(joined));
    Ok(token)
}

/// A body read by a middleware, put back for the handler.
pub(crate) fn bytes_payload(body: web::Bytes) -> Payload {
    let (_, mut h1) = actix_http::h1::Payload::create(true);
    h1.unread_data(body);
    Payload::from(h1)
}

/// Sends someone who is not (or no longer) signed in to `to`, remembering the page they
/// asked for, if it is one to go on to, so that signing in takes them there.
fn to_sign_in(req: ServiceRequest, to: &str, state: &AppState) -> ServiceResponse<BoxBody> {
    use crate::web::return_path::AfterSignIn;
    let wanted = (req.method() == Method::GET)
        .then(|| req.uri().path_and_query().map(|p| p.as_str().to_owned()))
        .flatten()
        .and_then(|p| AfterSignIn::parse(&p));
    let mut res = HttpResponse::SeeOther();
    res.insert_header((header::LOCATION, to.to_owned()));
    if let Some(page) = wanted {
        res.cookie(page.cookie(&state.settings));
    }
    req.into_response(res.finish())
}

fn redirect(req: ServiceRequest, to: &str) -> ServiceResponse<BoxBody> {
    req.into_response(
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to.to_owned()))
            .finish(),
    )
}

/// The pre-session token for forms shown before sign-in: the value in the cookie, or a new
/// one with the cookie to set.
pub fn presession_token(
    req: &HttpRequest,
    settings: &crate::settings::Settings,
) -> (String, Option<actix_web::cookie::Cookie<'static>>) {
    let name = settings.presession_cookie_name();
    if let Some(c) = req.cookie(name)
        && c.value().len() >= 32
    {
        return (c.value().to_owned(), None);
    }
    let token = crate::ids::random_token(24);
    let cookie = actix_web::cookie::Cookie::build(name, token.clone())
        .path("/")
        .http_only(true)
        .secure(settings.security.secure_cookies)
        .same_site(actix_web::cookie::SameSite::Strict)
        .finish();
    (token, Some(cookie))
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "XyZ123";

    fn body(first: &str) -> Vec<u8> {
        format!("--{B}\r\n{first}\r\n--{B}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.csv\"\r\n\r\nx\r\n--{B}--\r\n").into_bytes()
    }

    #[test]
    fn the_boundary_is_read_from_the_content_type() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=----abc").as_deref(),
            Some("----abc")
        );
        assert_eq!(
            multipart_boundary("multipart/form-data; charset=utf-8; boundary=\"q r\"").as_deref(),
            Some("q r")
        );
        assert_eq!(multipart_boundary("multipart/form-data"), None);
    }

    #[test]
    fn only_a_first_part_named_csrf_token_gives_the_token() {
        let ok = body("Content-Disposition: form-data; name=\"csrf_token\"\r\n\r\nsecret");
        assert_eq!(
            first_multipart_part(&ok, B),
            FirstPart::Token("secret".into())
        );
        // Every prefix of it is incomplete, never a wrong answer.
        let full = "--XyZ123\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nsecret\r\n--XyZ123".len();
        for n in 0..full {
            assert_eq!(
                first_multipart_part(&ok[..n], B),
                FirstPart::Incomplete,
                "{n}"
            );
        }
        for other in [
            "Content-Disposition: form-data; name=\"mapping\"\r\n\r\nsecret",
            "Content-Disposition: form-data; name=\"csrf_token\"; filename=\"t\"\r\n\r\nsecret",
            "Content-Disposition: attachment; name=\"csrf_token\"\r\n\r\nsecret",
        ] {
            assert_eq!(first_multipart_part(&body(other), B), FirstPart::Absent);
        }
        // A token part that is not first does not count.
        let later = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"mapping\"\r\n\r\nm\r\n--{B}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nsecret\r\n--{B}--\r\n"
        );
        assert_eq!(first_multipart_part(later.as_bytes(), B), FirstPart::Absent);
        assert_eq!(first_multipart_part(b"garbage", B), FirstPart::Absent);
    }
}
