//! The service directory: administrators keep it for their areas (add, change, deactivate,
//! reactivate). An administrator reaches a service only if it serves one of their areas, and
//! chooses the areas served among their own; areas they do not work in are left as they
//! were. Inactive services stay on earlier signpostings but are no longer offered.

pub mod web;

use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{directory_services, signpostings};
use crate::error::AppError;
use crate::signposting::forms::DirectoryInput;
use crate::signposting::model::{self, DirectoryChanges, DirectoryService};

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
        crate::reports::upkeep::refresh(c, &referral_id)?;
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
