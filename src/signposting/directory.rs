//! The service directory: administrators keep it for their areas (add, change, deactivate,
//! reactivate). An administrator reaches a service only if it serves one of their areas, and
//! chooses the areas served among their own; areas they do not work in are left as they
//! were. Inactive services stay on earlier signpostings but are no longer offered.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::db::DbConn;
use crate::db::schema::{directory_services, signpostings};
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::signposting::codes::ServiceType;
use crate::signposting::forms::{self, DirectoryInput};
use crate::signposting::model::{self, DirectoryChanges, DirectoryService};
use crate::signposting::views::DirectoryServiceJson;
use crate::state::State;
use crate::web as page;

// ------------------------------------------------------------------ rules

/// The services serving any of the administrator's areas, active or not, with their areas.
pub fn list_for(
    c: &mut DbConn,
    admin_areas: &[String],
) -> Result<Vec<(DirectoryService, Vec<String>)>, AppError> {
    let mut out = Vec::new();
    for s in model::services_in(c, admin_areas, false)? {
        let areas = model::areas_of(c, &s.id)?;
        out.push((s, areas));
    }
    Ok(out)
}

/// A service the administrator may change: it serves one of their areas.
pub fn managed(
    c: &mut DbConn,
    admin_areas: &[String],
    id: &str,
) -> Result<(DirectoryService, Vec<String>), AppError> {
    let s = model::service(c, id)?;
    let areas = model::areas_of(c, id)?;
    if !areas.iter().any(|a| admin_areas.contains(a)) {
        return Err(AppError::NotFound);
    }
    Ok((s, areas))
}

fn audit_change(
    c: &mut DbConn,
    actor: &Actor,
    name: &str,
    id: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, name)
            .record("directory_service", id)
            .details(details),
    )
}

pub fn create(
    c: &mut DbConn,
    actor: &Actor,
    input: &DirectoryInput,
) -> Result<DirectoryService, AppError> {
    let now = crate::clock::now();
    let s = DirectoryService {
        id: crate::ids::new_id(),
        name: input.name.clone(),
        service_type: input.service_type,
        phone: input.phone.clone(),
        email: input.email.clone(),
        website: input.website.clone(),
        address: input.address.clone(),
        active: true,
        created_by: actor.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(directory_services::table)
        .values(&s)
        .execute(c)?;
    model::set_areas(c, &s.id, &input.area_ids)?;
    audit_change(
        c,
        actor,
        "directory_service.added",
        &s.id,
        json!({ "areas": input.area_ids }),
    )?;
    Ok(s)
}

pub fn update(
    c: &mut DbConn,
    actor: &Actor,
    admin_areas: &[String],
    id: &str,
    input: &DirectoryInput,
) -> Result<DirectoryService, AppError> {
    let (_, areas) = managed(c, admin_areas, id)?;
    diesel::update(directory_services::table.find(id))
        .set(DirectoryChanges {
            name: input.name.clone(),
            service_type: input.service_type,
            phone: input.phone.clone(),
            email: input.email.clone(),
            website: input.website.clone(),
            address: input.address.clone(),
            updated_at: crate::clock::now(),
        })
        .execute(c)?;
    // The reporting facts count signposting by the service's type.
    let signposted: Vec<String> = signpostings::table
        .filter(signpostings::service_id.eq(id))
        .select(signpostings::referral_id)
        .distinct()
        .load(c)?;
    for referral_id in signposted {
        crate::reports::facts::refresh(c, &referral_id)?;
    }
    let mut kept: Vec<String> = areas
        .into_iter()
        .filter(|a| !admin_areas.contains(a))
        .collect();
    kept.extend(input.area_ids.iter().cloned());
    model::set_areas(c, id, &kept)?;
    audit_change(
        c,
        actor,
        "directory_service.changed",
        id,
        json!({ "areas": kept }),
    )?;
    model::service(c, id)
}

pub fn set_active(
    c: &mut DbConn,
    actor: &Actor,
    admin_areas: &[String],
    id: &str,
    active: bool,
) -> Result<DirectoryService, AppError> {
    managed(c, admin_areas, id)?;
    diesel::update(directory_services::table.find(id))
        .set((
            directory_services::active.eq(active),
            directory_services::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    audit_change(
        c,
        actor,
        if active {
            "directory_service.reactivated"
        } else {
            "directory_service.deactivated"
        },
        id,
        json!({}),
    )?;
    model::service(c, id)
}

// ------------------------------------------------------------------ pages

#[derive(Debug, Clone, Serialize)]
struct Choice {
    value: String,
    text: String,
}

#[derive(Serialize)]
struct ServiceRow {
    id: String,
    name: String,
    service_type: String,
    contact: String,
    areas: String,
    active: bool,
}

pub async fn list(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let mine = user.area_ids.clone();
    let (rows, names) = state
        .db
        .run(move |c| Ok((list_for(c, &mine)?, area_names(c)?)))
        .await?;
    let rows: Vec<ServiceRow> = rows
        .iter()
        .map(|(s, areas)| ServiceRow {
            id: s.id.clone(),
            name: s.name.clone(),
            service_type: s.service_type.label().into(),
            contact: DirectoryServiceJson::new(s, Vec::new()).contact(),
            areas: areas
                .iter()
                .filter_map(|a| names.get(a).cloned())
                .collect::<Vec<_>>()
                .join(", "),
            active: s.active,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("services", &rows);
    page::render(
        &state,
        &user,
        "/admin/directory",
        "admin/directory.html",
        ctx,
    )
    .await
}

fn area_names(c: &mut DbConn) -> Result<BTreeMap<String, String>, AppError> {
    Ok(crate::areas::active_areas(c)?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect())
}

fn values(raw: &RawForm) -> BTreeMap<String, String> {
    raw.0
        .iter()
        .map(|(k, v)| (k.clone(), v.first().cloned().unwrap_or_default()))
        .collect()
}

async fn form_page(
    state: &State,
    user: &CurrentUser,
    id: Option<&str>,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let names = state.db.run(area_names).await?;
    let options: Vec<Choice> = user
        .area_ids
        .iter()
        .filter_map(|a| {
            names.get(a).map(|n| Choice {
                value: a.clone(),
                text: n.clone(),
            })
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("area_options", &options);
    ctx.insert(
        "type_options",
        &ServiceType::ALL
            .iter()
            .map(|t| Choice {
                value: t.as_str().into(),
                text: t.label().into(),
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert("values", &values(raw));
    ctx.insert("areas", &raw.all("areas"));
    ctx.insert("errors", &BTreeMap::<String, String>::new());
    match id {
        Some(id) => {
            ctx.insert("title", "Change a service");
            ctx.insert("form_action", &format!("/admin/directory/{id}/edit"));
        }
        None => {
            ctx.insert("title", "Add a service");
            ctx.insert("form_action", "/admin/directory/new");
        }
    }
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(
        state,
        user,
        "/admin/directory",
        "admin/directory_form.html",
        ctx,
    )
    .await
}

pub async fn new_form(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    form_page(&state, &user, None, &RawForm::default(), None).await
}

pub async fn create_page(
    state: State,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let raw = RawForm::from_urlencoded(&body);
    let input = match forms::parse_directory(&raw, &user.area_ids) {
        Ok(i) => i,
        Err(e) => return form_page(&state, &user, None, &raw, Some(&e)).await,
    };
    let actor = user.actor();
    let s = state.db.write(move |c| create(c, &actor, &input)).await?;
    page::flash_and_redirect(
        &state,
        &user,
        Flash::success(format!("{} is in the directory", s.name)),
        "/admin/directory",
    )
    .await
}

pub async fn edit_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (mine, sid) = (user.area_ids.clone(), id.clone());
    let (s, areas) = state.db.run(move |c| managed(c, &mine, &sid)).await?;
    let mut raw = RawForm::default();
    raw.set("name", s.name.clone());
    raw.set("service_type", s.service_type.as_str());
    for (k, v) in [
        ("phone", &s.phone),
        ("email", &s.email),
        ("website", &s.website),
        ("address", &s.address),
    ] {
        raw.set(k, v.clone().unwrap_or_default());
    }
    raw.set_all(
        "areas",
        areas
            .into_iter()
            .filter(|a| user.area_ids.contains(a))
            .collect(),
    );
    form_page(&state, &user, Some(&id), &raw, None).await
}

pub async fn edit(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let input = match forms::parse_directory(&raw, &user.area_ids) {
        Ok(i) => i,
        Err(e) => {
            let (mine, sid) = (user.area_ids.clone(), id.clone());
            state.db.run(move |c| managed(c, &mine, &sid)).await?;
            return form_page(&state, &user, Some(&id), &raw, Some(&e)).await;
        }
    };
    let (actor, mine) = (user.actor(), user.area_ids.clone());
    let s = state
        .db
        .write(move |c| update(c, &actor, &mine, &id, &input))
        .await?;
    page::flash_and_redirect(
        &state,
        &user,
        Flash::success(format!("{} has been changed", s.name)),
        "/admin/directory",
    )
    .await
}

async fn activation(
    state: State,
    user: CurrentUser,
    id: String,
    active: bool,
) -> Result<HttpResponse, AppError> {
    let (actor, mine) = (user.actor(), user.area_ids.clone());
    let s = state
        .db
        .write(move |c| set_active(c, &actor, &mine, &id, active))
        .await?;
    page::flash_and_redirect(
        &state,
        &user,
        Flash::success(if active {
            format!("{} is offered again", s.name)
        } else {
            format!("{} is no longer offered", s.name)
        }),
        "/admin/directory",
    )
    .await
}

pub async fn deactivate(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    activation(state, user, path.into_inner(), false).await
}

pub async fn reactivate(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    activation(state, user, path.into_inner(), true).await
}
