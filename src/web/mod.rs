//! What every page shares: the template context (user, navigation, CSRF token, flash,
//! timeout warning), form error rendering, security headers and GOV.UK error pages.

pub mod flow;
pub mod format;
pub mod headers;
pub mod input;
pub mod observe;
pub mod proxy;
pub mod return_path;
pub mod stream;

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpMessage, HttpResponse, web};
use serde::Serialize;

use crate::auth::guard::CurrentUser;
use crate::auth::session::{self, Flash};
use crate::error::{AppError, FieldErrors, PageErrorMarker, ReasonNeeded};
use crate::state::AppState;
use crate::users::model::Role;

pub use crate::ids::SERVICE_NAME;

#[derive(Debug, Serialize)]
struct NavItem {
    href: &'static str,
    text: &'static str,
    active: bool,
}

#[derive(Debug, Serialize)]
struct UserContext<'a> {
    name: &'a str,
    email: &'a str,
    role: &'static str,
    role_label: &'static str,
}

/// Administrator pages that span every organisation and area.
pub const SERVICE_WIDE_PAGES: &[&str] = &["/admin/audit", "/admin/outbox", "/admin/import"];

/// The service navigation for a role; `path` marks the current section.
fn navigation(role: Role, service_wide: bool, path: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &'static str)> = vec![("/", "Home")];
    match role {
        Role::ProbationOfficer | Role::LiaisonDiversion => items.extend([
            ("/referrals", "Referrals"),
            ("/referrals/new", "Make a referral"),
        ]),
        Role::ClinicalLead => items.extend([
            ("/referrals", "Referrals"),
            ("/diary", "Diary"),
            ("/capacity", "Capacity"),
            ("/retention", "Retention"),
        ]),
        Role::AssistantPsychologist => {
            items.extend([("/referrals", "Referrals"), ("/diary", "Diary")])
        }
        Role::Councillor | Role::Admin => {}
    }
    if matches!(role, Role::Councillor | Role::ClinicalLead | Role::Admin) {
        items.push(("/reports/uptake", "Reports"));
        items.push(("/data-quality", "Data quality"));
    }
    if role == Role::Admin {
        items.extend([
            ("/admin/users", "Users"),
            ("/admin/vetting", "Vetting"),
            ("/admin/audit", "Audit log"),
            ("/people/merge", "Merge records"),
            ("/admin/outbox", "Email"),
            ("/admin/reminders", "Reminders"),
            ("/admin/closures", "Closures"),
            ("/admin/areas", "Areas"),
            ("/retention", "Retention"),
            ("/admin/import", "Import"),
        ]);
        // The log, the outbox and imports span every area: service-wide administrators only.
        if !service_wide {
            items.retain(|(href, _)| !SERVICE_WIDE_PAGES.contains(href));
        }
    }
    items
        .into_iter()
        .map(|(href, text)| NavItem {
            href,
            text,
            active: if href == "/" || href == "/referrals" {
                path == href
            } else {
                path.starts_with(href)
            },
        })
        .collect()
}

fn base_context() -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("service_name", SERVICE_NAME);
    ctx.insert("assets_version", crate::assets::ASSETS_VERSION);
    ctx
}

/// A context for pages shown before sign-in.
pub fn public_context(csrf_token: Option<&str>) -> tera::Context {
    let mut ctx = base_context();
    if let Some(t) = csrf_token {
        ctx.insert("csrf_token", t);
    }
    ctx
}

/// Renders a page for a signed-in user, taking any pending flash message.
pub async fn render(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    path: &str,
    template: &str,
    mut ctx: tera::Context,
) -> Result<HttpResponse, AppError> {
    let flash = if user.session.flash.is_some() {
        let row = user.session.clone();
        let flash = state.db.run(move |c| session::take_flash(c, &row)).await?;
        // A page view may have come from a cached session: it must not show this again.
        state.sessions.changed();
        flash
    } else {
        None
    };
    ctx.extend(signed_in_context(state, user, path, flash));
    html(state, template, &ctx)
}

fn signed_in_context(
    state: &AppState,
    user: &CurrentUser,
    path: &str,
    flash: Option<Flash>,
) -> tera::Context {
    let mut ctx = base_context();
    ctx.insert(
        "user",
        &UserContext {
            name: &user.user.name,
            email: &user.user.email,
            role: user.user.role.as_str(),
            role_label: user.user.role.label(),
        },
    );
    ctx.insert(
        "nav",
        &navigation(user.user.role, user.user.service_wide, path),
    );
    ctx.insert("csrf_token", &user.session.csrf_token);
    ctx.insert(
        "session_timeout_secs",
        &session::idle_seconds_left(&user.session, &state.settings.security),
    );
    if let Some(f) = flash {
        ctx.insert("flash", &f);
    }
    ctx
}

/// Renders a template to a 200 HTML response.
pub fn html(
    state: &AppState,
    template: &str,
    ctx: &tera::Context,
) -> Result<HttpResponse, AppError> {
    let body = state.templates.render(template, ctx)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// Puts form errors in the shape the GOV.UK macros expect: `errors` (field to message) and
/// `error_list` (summary links, in field order).
pub fn insert_errors(ctx: &mut tera::Context, errors: &FieldErrors) {
    #[derive(Serialize)]
    struct SummaryItem<'a> {
        text: &'a str,
        href: String,
    }
    let map: std::collections::BTreeMap<&str, &str> = errors.iter().collect();
    let list: Vec<SummaryItem<'_>> = errors
        .iter()
        .map(|(field, text)| SummaryItem {
            text,
            href: format!("#{}", summary_anchor(field)),
        })
        .collect();
    ctx.insert("errors", &map);
    ctx.insert("error_list", &list);
}

/// Date fields are linked at their day input.
fn summary_anchor(field: &str) -> String {
    if field.ends_with("_date") || field.ends_with("_on") || field.starts_with("date_") {
        format!("{field}-day")
    } else {
        field.to_owned()
    }
}

/// A form page re-rendered with its errors (status 200 keeps browsers' back button sane;
/// the error summary carries the message).
pub fn with_errors(mut ctx: tera::Context, errors: &FieldErrors) -> tera::Context {
    insert_errors(&mut ctx, errors);
    ctx
}

/// Redirect after a successful POST.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// Sets a flash message on the user's session, then redirects.
pub async fn flash_and_redirect(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    flash: Flash,
    to: &str,
) -> Result<HttpResponse, AppError> {
    let sid = user.session.id.clone();
    state
        .db
        .run(move |c| session::set_flash(c, &sid, &flash))
        .await?;
    state.sessions.changed();
    Ok(see_other(to))
}

/// Replaces the plain error bodies of `AppError` responses (and actix's own 404/405) with
/// GOV.UK error pages. API responses are JSON already and pass through.
pub fn error_page<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if res.request().path().starts_with("/api/") {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    // A referral off a clinical lead's caseload, asked for without a reason: to its reason
    // page, which brings the person back here once they have given one. A form sent
    // without one comes back to the form, as it is shown at the same address.
    let needed = res
        .response()
        .extensions()
        .get::<ReasonNeeded>()
        .map(|n| n.referral_id.clone());
    if let Some(referral_id) = needed {
        let req = res.request();
        let going_to = match (req.method().is_safe(), req.query_string()) {
            (true, q) if !q.is_empty() => format!("{}?{q}", req.path()),
            _ => req.path().to_owned(),
        };
        let to = return_path::reason_page_for(&referral_id, &going_to);
        let (req, _) = res.into_parts();
        return Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(req, see_other(&to)).map_into_right_body(),
        ));
    }
    // A body a handler produced on purpose (a form with its errors sent with 429, the health
    // check's JSON 503) stays; only errors and the framework's plain-text answers are restyled.
    let from_error = res
        .response()
        .extensions()
        .get::<PageErrorMarker>()
        .is_some();
    let deliberate = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| !v.as_bytes().starts_with(b"text/plain"));
    if !from_error && deliberate {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let message = res
        .response()
        .extensions()
        .get::<PageErrorMarker>()
        .map(|m| m.message.clone());
    let (title, message) = match status.as_u16() {
        404 => ("Page not found".to_owned(), String::new()),
        403 => (
            "You do not have permission to view this page".to_owned(),
            message.unwrap_or_default(),
        ),
        405 => ("Page not found".to_owned(), String::new()),
        429 => ("Too many attempts".to_owned(), message.unwrap_or_default()),
        400 => (
            "Sorry, there is a problem".to_owned(),
            message.unwrap_or_default(),
        ),
        // A refusal by the rules ("cannot be closed until …") is not a change by someone
        // else; only the optimistic-lock refusal says something changed.
        409 => {
            let message = message.unwrap_or_default();
            let title = if message.contains("changed since you opened it") {
                "This has changed since you opened it"
            } else {
                "This cannot be done yet"
            };
            (title.to_owned(), message)
        }
        503 => (
            "Sorry, the service is busy".to_owned(),
            message.unwrap_or_default(),
        ),
        s if s >= 500 => (
            "Sorry, there is a problem with the service".to_owned(),
            String::new(),
        ),
        _ => (
            "Sorry, there is a problem".to_owned(),
            message.unwrap_or_default(),
        ),
    };
    let status_shown = if status.as_u16() == 405 {
        404
    } else {
        status.as_u16()
    };
    let body = res
        .request()
        .app_data::<web::Data<AppState>>()
        .and_then(|state| {
            // A signed-in person keeps their header and navigation on an error page.
            let mut ctx = match res.request().extensions().get::<CurrentUser>() {
                Some(user) => signed_in_context(state, user, res.request().path(), None),
                None => base_context(),
            };
            ctx.insert("status", &status_shown);
            ctx.insert("request_id", &observe::request_id(res.request()));
            ctx.insert("title", &title);
            ctx.insert("message", &message);
            if let Some((href, text)) = way_back(res.request()) {
                ctx.insert("back_href", &href);
                ctx.insert("back_text", text);
            }
            state.templates.render("error.html", &ctx).ok()
        })
        .unwrap_or_else(|| format!("{title}. {message}"));
    let (req, old) = res.into_parts();
    let mut resp =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status_shown).unwrap_or(status));
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            resp.append_header((name.clone(), value.clone()));
        }
    }
    let resp: HttpResponse<BoxBody> = resp.content_type("text/html; charset=utf-8").body(body);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, resp).map_into_right_body(),
    ))
}

/// Where an error page on a referral's pages leads back to: the referral, for any page under
/// `/referrals/{id}/`; else the page the person came from, when it is on this service.
fn way_back(req: &actix_web::HttpRequest) -> Option<(String, &'static str)> {
    let path = req.path();
    if let Some(rest) = path.strip_prefix("/referrals/")
        && let Some((id, _)) = rest.split_once('/')
        && !id.is_empty()
        && id != "drafts"
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Some((format!("/referrals/{id}"), "Go back to the referral"));
    }
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let state = req.app_data::<web::Data<AppState>>()?;
    let base = state.settings.server.base_url.trim_end_matches('/');
    let came_from = referer.strip_prefix(base)?;
    return_path::AfterSignIn::parse(came_from)
        .filter(|p| p.as_str() != path)
        .map(|p| (p.as_str().to_owned(), "Go back to the page you were on"))
}

/// One option of a radio group, checkboxes or select, as the GOV.UK macros take it: the
/// value sent, the text shown, a hint under it (empty for none) and whether it starts
/// checked. Every list of options on every page is made of these.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Choice {
    pub value: String,
    pub text: String,
    pub hint: String,
    pub checked: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, text: impl Into<String>) -> Self {
        Choice {
            value: value.into(),
            text: text.into(),
            ..Choice::default()
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    pub fn checked(mut self, checked: bool) -> Self {
        self.checked = checked;
        self
    }
}

/// The options of a coded list: each value's code and label.
pub fn choices<T: Copy>(
    all: &[T],
    code: fn(&T) -> &'static str,
    label: fn(&T) -> &'static str,
) -> Vec<Choice> {
    all.iter().map(|v| Choice::new(code(v), label(v))).collect()
}

/// A page for someone not signed in (sign-in, an invitation, a confirmation link), with the
/// pre-session cookie its form's CSRF token is tied to.
pub fn public_page(
    state: &crate::state::AppState,
    req: &actix_web::HttpRequest,
    template: &str,
    mut ctx: tera::Context,
) -> Result<HttpResponse, AppError> {
    let (token, cookie) = crate::auth::guard::presession_token(req, &state.settings);
    ctx.extend(public_context(Some(&token)));
    let body = state.templates.render(template, &ctx)?;
    let mut resp = HttpResponse::Ok();
    if let Some(c) = cookie {
        resp.cookie(c);
    }
    Ok(resp.content_type("text/html; charset=utf-8").body(body))
}
