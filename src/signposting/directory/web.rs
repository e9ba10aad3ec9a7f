//! The directory pages: handlers that parse, call the rules in [`super`], and render.

use super::*;
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::signposting::codes::ServiceType;
use crate::signposting::forms::{self};
use crate::signposting::views::DirectoryServiceJson;
use crate::state::State;
use crate::web::flow::{self, Then};
use crate::web::{self as page, Choice};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use std::collections::BTreeMap;

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
        .filter_map(|a| names.get(a).map(|n| Choice::new(a.clone(), n.clone())))
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("area_options", &options);
    ctx.insert(
        "type_options",
        &ServiceType::ALL
            .iter()
            .map(|t| Choice::new(t.as_str(), t.label()))
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
    let actor = user.actor();
    flow::post(
        &state,
        &user,
        forms::parse_directory(&raw, &user.area_ids),
        move |c, input| create(c, &actor, &input),
        |s| {
            Then::success(
                format!("{} is in the directory", s.name),
                "/admin/directory",
            )
        },
        async |e| form_page(&state, &user, None, &raw, Some(&e)).await,
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
    let (actor, mine, sid) = (user.actor(), user.area_ids.clone(), id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_directory(&raw, &user.area_ids),
        move |c, input| update(c, &actor, &mine, &sid, &input),
        |s| Then::success(format!("{} has been changed", s.name), "/admin/directory"),
        async |e| {
            // Only a service in the administrator's areas is shown again.
            let (mine, sid) = (user.area_ids.clone(), id.clone());
            state.db.run(move |c| managed(c, &mine, &sid)).await?;
            form_page(&state, &user, Some(&id), &raw, Some(&e)).await
        },
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
