//! Local authority areas (the tenant boundary of every record) and partner organisations.
//! Both are data, configured per partnership, never code. Each area may name the provider's
//! intake mailbox, where news of a new referral goes (set on `/admin/areas`, see [`web`]).

pub mod api;
pub mod forms;
pub mod population;
pub mod web;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::coded_enum;
use crate::db::DbConn;
use crate::db::schema::{areas, organisations};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = areas)]
pub struct Area {
    pub id: String,
    pub code: String,
    pub name: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    /// The provider's intake mailbox for the area; `None` sends news of a new referral to
    /// the area's clinical leads instead.
    pub intake_email: Option<String>,
    /// A new intake mailbox waiting for someone at that address to confirm it.
    pub pending_intake_email: Option<String>,
    pub pending_intake_token_hash: Option<String>,
    pub pending_intake_expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = areas)]
pub struct NewArea<'a> {
    pub id: String,
    pub code: &'a str,
    pub name: &'a str,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

/// What templates and JSON see of an area.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaView {
    pub id: String,
    pub code: String,
    pub name: String,
}

impl From<&Area> for AreaView {
    fn from(a: &Area) -> Self {
        Self {
            id: a.id.clone(),
            code: a.code.clone(),
            name: a.name.clone(),
        }
    }
}

coded_enum! {
    /// The kind of partner an organisation is.
    pub enum OrganisationKind {
        Probation = ("probation", "Probation service"),
        LiaisonDiversion = ("liaison_diversion", "Liaison and Diversion"),
        MhtrProvider = ("mhtr_provider", "MHTR provider"),
        Council = ("council", "Council"),
        Police = ("police", "Police"),
        Other = ("other", "Other partner"),
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    pub kind: OrganisationKind,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = organisations)]
pub struct NewOrganisation<'a> {
    pub id: String,
    pub name: &'a str,
    pub kind: OrganisationKind,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrganisationView {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
}

impl From<&Organisation> for OrganisationView {
    fn from(o: &Organisation) -> Self {
        Self {
            id: o.id.clone(),
            name: o.name.clone(),
            kind: o.kind.label(),
        }
    }
}

pub fn active_areas(conn: &mut DbConn) -> Result<Vec<Area>, AppError> {
    Ok(areas::table
        .filter(areas::active.eq(true))
        .order(areas::name.asc())
        .select(Area::as_select())
        .load(conn)?)
}

/// The active areas among `ids`, as (id, name) by name: the choices of a reader's areas.
pub fn named(conn: &mut DbConn, ids: &[String]) -> Result<Vec<(String, String)>, AppError> {
    Ok(active_areas(conn)?
        .into_iter()
        .filter(|a| ids.contains(&a.id))
        .map(|a| (a.id, a.name))
        .collect())
}

/// Every area's name by its id, inactive ones too (for records made while they were active).
pub fn names_by_id(
    conn: &mut DbConn,
) -> Result<std::collections::BTreeMap<String, String>, AppError> {
    Ok(areas::table
        .select((areas::id, areas::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn area_by_id(conn: &mut DbConn, id: &str) -> Result<Area, AppError> {
    Ok(areas::table
        .find(id)
        .select(Area::as_select())
        .first(conn)?)
}

/// The provider's intake mailbox for an area, if one is set.
pub fn intake_email(conn: &mut DbConn, area_id: &str) -> Result<Option<String>, AppError> {
    Ok(areas::table
        .find(area_id)
        .select(areas::intake_email)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The areas an administrator manages: every area for a service-wide one, else their own.
pub fn managed_areas(
    conn: &mut DbConn,
    scope: &crate::users::model::AdminScope,
) -> Result<Vec<Area>, AppError> {
    let mut all = active_areas(conn)?;
    if !scope.service_wide {
        all.retain(|a| scope.area_ids.contains(&a.id));
    }
    Ok(all)
}

/// One area the administrator manages, or not found.
pub fn managed_area(
    conn: &mut DbConn,
    scope: &crate::users::model::AdminScope,
    id: &str,
) -> Result<Area, AppError> {
    if !scope.service_wide && !scope.area_ids.iter().any(|a| a == id) {
        return Err(AppError::NotFound);
    }
    area_by_id(conn, id)
}

/// What became of a change of intake mailbox.
#[derive(Debug)]
pub enum IntakeChange {
    /// Cleared, or set to the address it already had: in force now.
    Done(Area),
    /// A new address: mail goes there once someone there confirms it from the email sent.
    AwaitingConfirmation(Area),
}

/// Clears (`None`) an area's intake mailbox at once, or asks the new address to confirm it:
/// the confirmation link goes to that address only, and until it is used mail keeps going
/// where it went. Audited without the address (it may be a person's).
pub fn change_intake_email(
    conn: &mut DbConn,
    scope: &crate::users::model::AdminScope,
    actor: &crate::audit::Actor,
    area_id: &str,
    mailbox: Option<&forms::Email>,
    emails: &crate::notifications::Emails,
    days: i64,
) -> Result<IntakeChange, AppError> {
    let before = managed_area(conn, scope, area_id)?;
    let after = mailbox.map(|m| m.as_str().to_owned());
    if after.is_none() || after == before.intake_email {
        diesel::update(areas::table.find(area_id))
            .set((
                areas::intake_email.eq(&after),
                areas::pending_intake_email.eq(None::<String>),
                areas::pending_intake_token_hash.eq(None::<String>),
                areas::pending_intake_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        intake_audit(
            conn,
            actor,
            area_id,
            "area.intake_mailbox_changed",
            &after,
            &before,
        )?;
        return Ok(IntakeChange::Done(area_by_id(conn, area_id)?));
    }
    let token = crate::ids::random_token(32);
    let expires = crate::clock::now() + chrono::Duration::days(days);
    diesel::update(areas::table.find(area_id))
        .set((
            areas::pending_intake_email.eq(&after),
            areas::pending_intake_token_hash.eq(Some(crate::ids::sha256_hex(&token))),
            areas::pending_intake_expires_at.eq(Some(expires)),
        ))
        .execute(conn)?;
    let link = emails.link(&format!("/intake-mailbox/{token}"));
    let message = emails.typed(
        after.as_deref().unwrap_or_default(),
        &crate::notifications::messages::IntakeConfirmation {
            area: before.name.clone(),
            link,
            expires: crate::web::format::date(expires.date()),
        },
    )?;
    crate::notifications::enqueue(conn, message)?;
    intake_audit(
        conn,
        actor,
        area_id,
        "area.intake_mailbox_requested",
        &after,
        &before,
    )?;
    Ok(IntakeChange::AwaitingConfirmation(area_by_id(
        conn, area_id,
    )?))
}

fn intake_audit(
    conn: &mut DbConn,
    actor: &crate::audit::Actor,
    area_id: &str,
    event: &str,
    after: &Option<String>,
    before: &Area,
) -> Result<(), AppError> {
    crate::audit::record(
        conn,
        actor,
        crate::audit::Event::new(crate::audit::AuditAction::Administration, event)
            .record("area", area_id)
            .details(serde_json::json!({
                "intake_mailbox": if after.is_some() { "set" } else { "cleared" },
                "changed": &before.intake_email != after,
            })),
    )
}

/// The area whose new intake mailbox this link confirms, while the link is live.
pub fn pending_intake(conn: &mut DbConn, token: &str) -> Result<Option<Area>, AppError> {
    Ok(areas::table
        .filter(areas::pending_intake_token_hash.eq(crate::ids::sha256_hex(token)))
        .filter(areas::pending_intake_expires_at.gt(crate::clock::now()))
        .select(Area::as_select())
        .first(conn)
        .optional()?)
}

/// Someone at the new address confirmed it: from now on it takes the area's referral news.
/// The link works once.
pub fn confirm_intake(conn: &mut DbConn, token: &str) -> Result<Option<Area>, AppError> {
    let Some(area) = pending_intake(conn, token)? else {
        return Ok(None);
    };
    let changed = diesel::update(
        areas::table
            .filter(areas::id.eq(&area.id))
            .filter(areas::pending_intake_token_hash.eq(crate::ids::sha256_hex(token))),
    )
    .set((
        areas::intake_email.eq(&area.pending_intake_email),
        areas::pending_intake_email.eq(None::<String>),
        areas::pending_intake_token_hash.eq(None::<String>),
        areas::pending_intake_expires_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if changed != 1 {
        return Ok(None);
    }
    intake_audit(
        conn,
        &crate::audit::Actor::system("intake mailbox confirmation"),
        &area.id,
        "area.intake_mailbox_changed",
        &area.pending_intake_email,
        &area,
    )?;
    Ok(Some(area_by_id(conn, &area.id)?))
}

pub fn active_organisations(conn: &mut DbConn) -> Result<Vec<Organisation>, AppError> {
    Ok(organisations::table
        .filter(organisations::active.eq(true))
        .order(organisations::name.asc())
        .select(Organisation::as_select())
        .load(conn)?)
}

/// Finds an area by its code or its name (case-insensitive), as typed on the command line.
pub fn find_area(conn: &mut DbConn, code_or_name: &str) -> Result<Option<Area>, AppError> {
    let wanted = code_or_name.trim().to_lowercase();
    Ok(areas::table
        .select(Area::as_select())
        .load(conn)?
        .into_iter()
        .find(|a| a.code.to_lowercase() == wanted || a.name.to_lowercase() == wanted))
}

/// Finds an organisation by its name (case-insensitive) or id.
pub fn find_organisation(
    conn: &mut DbConn,
    name_or_id: &str,
) -> Result<Option<Organisation>, AppError> {
    let wanted = name_or_id.trim().to_lowercase();
    Ok(organisations::table
        .select(Organisation::as_select())
        .load(conn)?
        .into_iter()
        .find(|o| o.name.to_lowercase() == wanted || o.id == name_or_id))
}

pub fn insert_area(conn: &mut DbConn, code: &str, name: &str) -> Result<String, AppError> {
    let id = crate::ids::new_id();
    diesel::insert_into(areas::table)
        .values(NewArea {
            id: id.clone(),
            code,
            name,
            active: true,
            created_at: crate::clock::now(),
        })
        .execute(conn)?;
    Ok(id)
}

pub fn insert_organisation(
    conn: &mut DbConn,
    name: &str,
    kind: OrganisationKind,
) -> Result<String, AppError> {
    let id = crate::ids::new_id();
    diesel::insert_into(organisations::table)
        .values(NewOrganisation {
            id: id.clone(),
            name,
            kind,
            active: true,
            created_at: crate::clock::now(),
        })
        .execute(conn)?;
    Ok(id)
}
