//! Administrator pages: users, vetting, sessions and the audit log.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::areas::{self, AreaView, OrganisationView};
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::state::State;
use crate::users::forms::{self, UserFormRaw};
use crate::users::model::{Role, User, VettingLevel};
use crate::users::service;
use crate::web::flow::{self, Then};
use crate::web::{self as page, Choice, format};

const PAGE_SIZE: i64 = 25;

#[derive(Serialize)]
struct UserRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    status: &'static str,
    status_colour: &'static str,
    vetting: String,
}

fn status_of(u: &User, today: chrono::NaiveDate) -> (&'static str, &'static str) {
    if u.is_disabled() {
        ("Disabled", "grey")
    } else if u.vetting_expired(today) {
        ("Vetting expired", "red")
    } else if u.password_hash.is_none() {
        ("Invited", "blue")
    } else {
        ("Active", "green")
    }
}

fn row_of(u: &User, today: chrono::NaiveDate) -> UserRow {
    let (status, status_colour) = status_of(u, today);
    UserRow {
        id: u.id.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.label(),
        status,
        status_colour,
        vetting: match (u.vetting_level, u.vetting_expires_on) {
            (Some(l), Some(d)) => format!("{}, expires {}", l.label(), format::date(d)),
            _ => "No vetting recorded".into(),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<i64>,
}

pub async fn list(
    state: State,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.q.clone().filter(|s| !s.trim().is_empty());
    let page_no = query.page.unwrap_or(1).max(1);
    let qq = q.clone();
    let scope = service::admin_scope(&user);
    let (rows, total) = state
        .db
        .run(move |c| {
            service::list(
                c,
                &scope,
                qq.as_deref(),
                (page_no - 1) * PAGE_SIZE,
                PAGE_SIZE,
            )
        })
        .await?;
    let today = crate::clock::today();
    let mut ctx = tera::Context::new();
    ctx.insert(
        "users",
        &rows.iter().map(|u| row_of(u, today)).collect::<Vec<_>>(),
    );
    ctx.insert("q", &q.clone().unwrap_or_default());
    ctx.insert("total", &total);
    ctx.insert("page", &page_no);
    ctx.insert("pages", &((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1));
    let base = match &q {
        Some(q) => format!("/admin/users?q={}&", urlencode(q)),
        None => "/admin/users?".to_owned(),
    };
    ctx.insert("base_url", &base);
    ctx.insert("service_wide", &user.user.service_wide);
    page::render(&state, &user, "/admin/users", "admin/users.html", ctx).await
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|v| v.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// The form's choices: a scoped administrator is offered only their own organisation and
/// areas (the service refuses anything else too).
async fn form_context(
    state: &State,
    user: &CurrentUser,
    raw: &UserFormRaw,
) -> Result<(tera::Context, Vec<String>, Vec<String>), AppError> {
    let scope = service::admin_scope(user);
    let (all_areas, all_orgs) = state
        .db
        .run(|c| Ok((areas::active_areas(c)?, areas::active_organisations(c)?)))
        .await?;
    // Every real area and organisation parses, so that one outside the administrator's
    // scope is refused by the service with its own message, not as "select one".
    let (area_ids, org_ids): (Vec<String>, Vec<String>) = (
        all_areas.iter().map(|a| a.id.clone()).collect(),
        all_orgs.iter().map(|o| o.id.clone()).collect(),
    );
    let areas: Vec<_> = all_areas
        .into_iter()
        .filter(|a| scope.service_wide || scope.area_ids.contains(&a.id))
        .collect();
    let orgs: Vec<_> = all_orgs
        .into_iter()
        .filter(|o| scope.service_wide || o.id == scope.organisation_id)
        .collect();
    let mut ctx = tera::Context::new();
    let area_views: Vec<AreaView> = areas.iter().map(AreaView::from).collect();
    let org_views: Vec<OrganisationView> = orgs.iter().map(OrganisationView::from).collect();
    ctx.insert(
        "area_options",
        &area_views
            .iter()
            .map(|a| Choice::new(a.id.clone(), a.name.clone()))
            .collect::<Vec<_>>(),
    );
    let mut org_options = vec![Choice::new(String::new(), "Select an organisation")];
    org_options.extend(
        org_views
            .iter()
            .map(|o| Choice::new(o.id.clone(), format!("{} ({})", o.name, o.kind))),
    );
    ctx.insert("organisation_options", &org_options);
    ctx.insert(
        "role_options",
        &Role::ALL
            .iter()
            .map(|r| Choice::new(r.as_str(), r.label()))
            .collect::<Vec<_>>(),
    );
    ctx.insert("vetting_options", &vetting_choices());
    ctx.insert("form", &FormEcho::from(raw));
    Ok((ctx, area_ids, org_ids))
}

/// The form values echoed back into the page (input is kept on error).
#[derive(Serialize)]
struct FormEcho {
    name: String,
    email: String,
    role: String,
    organisation_id: String,
    areas: Vec<String>,
    hcpc_number: String,
    vetting_level: String,
    vetting_expires_on_day: String,
    vetting_expires_on_month: String,
    vetting_expires_on_year: String,
}

impl From<&UserFormRaw> for FormEcho {
    fn from(r: &UserFormRaw) -> Self {
        Self {
            name: r.name.clone(),
            email: r.email.clone(),
            role: r.role.clone(),
            organisation_id: r.organisation_id.clone(),
            areas: r.areas.clone(),
            hcpc_number: r.hcpc_number.clone(),
            vetting_level: r.vetting_level.clone(),
            vetting_expires_on_day: r.vetting_expires_on_day.clone(),
            vetting_expires_on_month: r.vetting_expires_on_month.clone(),
            vetting_expires_on_year: r.vetting_expires_on_year.clone(),
        }
    }
}

/// Checkbox groups arrive as repeated `areas=` fields, which `web::Form` cannot collect;
/// this reads them from the raw body.
fn parse_user_form(body: &[u8]) -> UserFormRaw {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let mut raw = UserFormRaw::default();
    for (k, v) in pairs {
        match k.as_str() {
            "name" => raw.name = v,
            "email" => raw.email = v,
            "role" => raw.role = v,
            "organisation_id" => raw.organisation_id = v,
            "areas" => raw.areas.push(v),
            "hcpc_number" => raw.hcpc_number = v,
            "vetting_level" => raw.vetting_level = v,
            "vetting_expires_on_day" => raw.vetting_expires_on_day = v,
            "vetting_expires_on_month" => raw.vetting_expires_on_month = v,
            "vetting_expires_on_year" => raw.vetting_expires_on_year = v,
            _ => {}
        }
    }
    raw
}

pub async fn new_form(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (ctx, _, _) = form_context(&state, &user, &UserFormRaw::default()).await?;
    page::render(&state, &user, "/admin/users", "admin/user_new.html", ctx).await
}

pub async fn create(
    state: State,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let raw = parse_user_form(&body);
    let (ctx, area_ids, org_ids) = form_context(&state, &user, &raw).await?;
    let (actor, scope) = (user.actor(), service::admin_scope(&user));
    let days = state.settings.security.invitation_days;
    let emails = state.emails.clone();
    flow::post(
        &state,
        &user,
        forms::parse_user(&raw, &org_ids, &area_ids, crate::clock::today()),
        move |c, input| {
            let created = service::create(c, &scope, &actor, &input, None)?;
            service::reset_password(c, &scope, &actor, &created.id, days, &emails)?;
            Ok(created)
        },
        |created| {
            let flash = Flash::success(format!("{} has been added", created.name)).with_body(format!(
                "We have emailed them a single-use link to set their password. It expires in {days} days; if it does not arrive, send a new one from this page."
            ));
            Then::with(flash, format!("/admin/users/{}", created.id))
        },
        async |errors| {
            let ctx = page::with_errors(ctx, &errors);
            page::render(&state, &user, "/admin/users", "admin/user_new.html", ctx).await
        },
    )
    .await
}

#[derive(Serialize)]
struct UserDetail {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    organisation: String,
    areas: String,
    hcpc_number: String,
    status: &'static str,
    status_colour: &'static str,
    disabled: bool,
    mfa: &'static str,
    vetting_level: String,
    vetting_expires: String,
    sessions: usize,
    created: String,
    is_self: bool,
    area_history: Vec<SpellView>,
}

/// A spell in an area as the user's page lists it.
#[derive(Serialize)]
struct SpellView {
    area: String,
    from: String,
    to: String,
}

pub async fn show(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let scope = service::admin_scope(&user);
    let service::Detail {
        user: u,
        organisation: org,
        areas: area_names,
        area_history,
        sessions,
        events,
        ..
    } = state
        .db
        .run(move |c| service::detail(c, &scope, &id))
        .await?;
    let today = crate::clock::today();
    let (status, status_colour) = status_of(&u, today);
    let detail = UserDetail {
        id: u.id.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.label(),
        organisation: org,
        areas: area_names.join(", "),
        hcpc_number: u
            .hcpc_number
            .clone()
            .unwrap_or_else(|| "Not applicable".into()),
        status,
        status_colour,
        disabled: u.is_disabled(),
        mfa: u.mfa_state.label(),
        vetting_level: u
            .vetting_level
            .map(|v| v.label().to_owned())
            .unwrap_or_else(|| "Not recorded".into()),
        vetting_expires: u
            .vetting_expires_on
            .map(format::date)
            .unwrap_or_else(|| "Not recorded".into()),
        sessions,
        created: format::date_time(u.created_at),
        is_self: u.id == user.user.id,
        area_history: area_history
            .into_iter()
            .map(|s| SpellView {
                area: s.area,
                from: format::date(s.from),
                to: s.to.map_or_else(|| "Now".to_owned(), format::date),
            })
            .collect(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("u", &detail);
    ctx.insert("events", &events);
    page::render(&state, &user, "/admin/users", "admin/user.html", ctx).await
}

pub async fn edit_form(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let scope = service::admin_scope(&user);
    let d = state
        .db
        .run(move |c| service::detail(c, &scope, &id))
        .await?;
    let (u, areas) = (d.user, d.area_ids);
    let raw = raw_from_user(&u, areas);
    let (mut ctx, _, _) = form_context(&state, &user, &raw).await?;
    ctx.insert("user_id", &u.id);
    page::render(&state, &user, "/admin/users", "admin/user_edit.html", ctx).await
}

fn raw_from_user(u: &User, areas: Vec<String>) -> UserFormRaw {
    UserFormRaw {
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.as_str().into(),
        organisation_id: u.organisation_id.clone(),
        areas,
        hcpc_number: u.hcpc_number.clone().unwrap_or_default(),
        vetting_level: u
            .vetting_level
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default(),
        vetting_expires_on_day: u
            .vetting_expires_on
            .map(|d| d.format("%-d").to_string())
            .unwrap_or_default(),
        vetting_expires_on_month: u
            .vetting_expires_on
            .map(|d| d.format("%-m").to_string())
            .unwrap_or_default(),
        vetting_expires_on_year: u
            .vetting_expires_on
            .map(|d| d.format("%Y").to_string())
            .unwrap_or_default(),
    }
}

pub async fn update(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let raw = parse_user_form(&body);
    let (mut ctx, area_ids, org_ids) = form_context(&state, &user, &raw).await?;
    ctx.insert("user_id", &id);
    let (actor, scope, target) = (user.actor(), service::admin_scope(&user), id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_details(&raw, &org_ids, &area_ids),
        move |c, input| service::update(c, &scope, &actor, &target, &input),
        |updated| {
            let text = format!("{} has been updated", updated.name);
            Then::success(text, format!("/admin/users/{id}"))
        },
        async |errors| {
            // A user out of the administrator's scope answers as missing, whatever was sent.
            let (scope, uid) = (service::admin_scope(&user), id.clone());
            state
                .db
                .run(move |c| service::detail(c, &scope, &uid))
                .await?;
            let ctx = page::with_errors(ctx, &errors);
            page::render(&state, &user, "/admin/users", "admin/user_edit.html", ctx).await
        },
    )
    .await
}

fn vetting_choices() -> Vec<Choice> {
    VettingLevel::ALL
        .iter()
        .map(|v| Choice::new(v.as_str(), v.label()))
        .collect()
}

/// The vetting page for `u`, showing `raw` (what was recorded, or what was just typed).
async fn vetting_page(
    state: &State,
    user: &CurrentUser,
    u: &User,
    raw: &UserFormRaw,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("user_id", &u.id);
    ctx.insert("user_name", &u.name);
    ctx.insert("form", &FormEcho::from(raw));
    ctx.insert("vetting_options", &vetting_choices());
    if let Some(errors) = errors {
        page::insert_errors(&mut ctx, errors);
    }
    page::render(state, user, "/admin/users", "admin/user_vetting.html", ctx).await
}

pub async fn vetting_form(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let scope = service::admin_scope(&user);
    let u = state
        .db
        .run(move |c| service::detail(c, &scope, &id))
        .await?
        .user;
    vetting_page(&state, &user, &u, &raw_from_user(&u, vec![]), None).await
}

pub async fn set_vetting(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let raw = parse_user_form(&body);
    let mut errors = FieldErrors::new();
    let vetting = forms::parse_vetting(&raw, crate::clock::today(), &mut errors);
    let parsed = vetting.filter(|_| errors.is_empty()).ok_or(errors);
    let (actor, scope, target) = (user.actor(), service::admin_scope(&user), id.clone());
    flow::post(
        &state,
        &user,
        parsed,
        move |c, vetting| service::set_vetting(c, &scope, &actor, &target, &vetting),
        |u| {
            Then::success(
                format!("Vetting recorded for {}", u.name),
                format!("/admin/users/{id}"),
            )
        },
        async |errors| {
            let (scope, uid) = (service::admin_scope(&user), id.clone());
            let u = state
                .db
                .run(move |c| service::detail(c, &scope, &uid))
                .await?
                .user;
            vetting_page(&state, &user, &u, &raw, Some(&errors)).await
        },
    )
    .await
}

/// The one-button actions on a user's page.
pub async fn action(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let actor = user.actor();
    let scope = service::admin_scope(&user);
    let days = state.settings.security.invitation_days;
    let target = id.clone();
    let act = action.clone();
    let emails = state.emails.clone();
    let emailed = format!(
        "We have emailed the user a single-use link at their own address. It expires in {days} days."
    );
    let outcome = state
        .db
        .write(move |c| {
            Ok(match act.as_str() {
                "disable" => (
                    format!(
                        "{} has been disabled",
                        service::disable(c, &scope, &actor, &target)?.name
                    ),
                    false,
                ),
                "enable" => (
                    format!(
                        "{} has been enabled",
                        service::enable(c, &scope, &actor, &target)?.name
                    ),
                    false,
                ),
                "reset-password" => {
                    service::reset_password(c, &scope, &actor, &target, days, &emails)?;
                    ("Password reset link sent".to_owned(), true)
                }
                "reset-two-factor" => {
                    service::reset_mfa(c, &scope, &actor, &target, days, &emails)?;
                    ("Two-factor authentication reset".to_owned(), true)
                }
                "end-sessions" => {
                    let n = service::end_sessions(c, &scope, &actor, &target)?;
                    (
                        format!("{n} session{} ended", if n == 1 { "" } else { "s" }),
                        false,
                    )
                }
                _ => return Err(AppError::NotFound),
            })
        })
        .await;
    let (heading, link_sent) = match outcome {
        Ok(v) => v,
        Err(AppError::Conflict(m)) => (m, false),
        Err(e) => return Err(e),
    };
    let mut flash = Flash::success(heading);
    if link_sent {
        flash = flash.with_body(emailed);
    }
    page::flash_and_redirect(&state, &user, flash, &format!("/admin/users/{id}")).await
}

/// The page that asks a service-wide administrator to confirm signing everyone out.
async fn end_all_page(
    state: &State,
    user: &CurrentUser,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    service::service_wide_only(user)?;
    let mut ctx = tera::Context::new();
    ctx.insert(
        "confirm_options",
        &vec![Choice::new(
            "yes",
            "End every session but mine: everyone else must sign in again",
        )],
    );
    if let Some(errors) = errors {
        page::insert_errors(&mut ctx, errors);
    }
    page::render(state, user, "/admin/users", "admin/end_all.html", ctx).await
}

pub async fn end_all_form(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    end_all_page(&state, &user, None).await
}

pub async fn end_all_sessions(
    state: State,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let raw = RawForm::from_urlencoded(&body);
    let (actor, scope) = (user.actor(), service::admin_scope(&user));
    let keep = user.session.id.clone();
    flow::post(
        &state,
        &user,
        forms::parse_end_all(&raw),
        move |c, ()| service::end_all_sessions(c, &scope, &actor, &keep),
        |n| {
            let plural = if n == 1 { "" } else { "s" };
            let flash = Flash::success(format!("{n} session{plural} ended"))
                .with_body("Everyone but you has been signed out.");
            Then::with(flash, "/admin/users")
        },
        async |errors| end_all_page(&state, &user, Some(&errors)).await,
    )
    .await
}

pub async fn vetting(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let today = crate::clock::today();
    let until = today + chrono::Duration::days(30);
    let scope = service::admin_scope(&user);
    let (expiring, lapsed) = state
        .db
        .run(move |c| service::vetting_due(c, &scope, today, until))
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert(
        "expiring",
        &expiring
            .iter()
            .map(|u| row_of(u, today))
            .collect::<Vec<_>>(),
    );
    ctx.insert(
        "lapsed",
        &lapsed.iter().map(|u| row_of(u, today)).collect::<Vec<_>>(),
    );
    page::render(&state, &user, "/admin/vetting", "admin/vetting.html", ctx).await
}
