//! Rows and queries of the directory and of signposting. No rules here: see `service`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    directory_service_areas, directory_services, end_summaries, no_onward_support, signpostings,
};
use crate::error::AppError;
use crate::signposting::codes::{ServiceType, SignpostStatus};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = directory_services)]
pub struct DirectoryService {
    pub id: String,
    pub name: String,
    pub service_type: ServiceType,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub active: bool,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = directory_services, treat_none_as_null = true)]
pub struct DirectoryChanges {
    pub name: String,
    pub service_type: ServiceType,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signpostings)]
pub struct Signposting {
    pub id: String,
    pub referral_id: String,
    pub service_id: String,
    pub signposted_on: NaiveDate,
    pub status: SignpostStatus,
    pub reason: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = no_onward_support)]
pub struct NoOnwardSupport {
    pub referral_id: String,
    pub reason: String,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = end_summaries)]
pub struct EndSummary {
    pub referral_id: String,
    pub summary: String,
    pub written_by: String,
    pub written_at: NaiveDateTime,
}

/// At most this many directory services are listed at once.
pub const MAX_SERVICES: i64 = 500;

pub fn service(c: &mut DbConn, id: &str) -> Result<DirectoryService, AppError> {
    Ok(directory_services::table
        .find(id)
        .select(DirectoryService::as_select())
        .first(c)?)
}

/// The areas a service serves.
pub fn areas_of(c: &mut DbConn, service_id: &str) -> Result<Vec<String>, AppError> {
    Ok(directory_service_areas::table
        .filter(directory_service_areas::service_id.eq(service_id))
        .select(directory_service_areas::area_id)
        .order(directory_service_areas::area_id.asc())
        .load(c)?)
}

/// Services serving any of `area_ids`, active or not, by name.
pub fn services_in(
    c: &mut DbConn,
    area_ids: &[String],
    active_only: bool,
) -> Result<Vec<DirectoryService>, AppError> {
    // Two short queries that both stay prepared (every referral page reads this), where
    // one with an IN list is parsed and planned again on each use ([`crate::db::any_of`]).
    let mut ids: Vec<String> = directory_service_areas::table
        .into_boxed()
        .filter(crate::db::any_of(
            directory_service_areas::area_id,
            area_ids.iter().cloned(),
        ))
        .select(directory_service_areas::service_id)
        .load(c)?;
    ids.sort_unstable();
    ids.dedup();
    let mut q = directory_services::table
        .into_boxed()
        .filter(crate::db::any_of(directory_services::id, ids));
    if active_only {
        q = q.filter(directory_services::active.eq(true));
    }
    Ok(
        q.order((directory_services::name.asc(), directory_services::id.asc()))
            .limit(MAX_SERVICES)
            .select(DirectoryService::as_select())
            .load(c)?,
    )
}

pub fn set_areas(c: &mut DbConn, service_id: &str, area_ids: &[String]) -> Result<(), AppError> {
    diesel::delete(
        directory_service_areas::table.filter(directory_service_areas::service_id.eq(service_id)),
    )
    .execute(c)?;
    for a in area_ids {
        diesel::insert_into(directory_service_areas::table)
            .values((
                directory_service_areas::service_id.eq(service_id),
                directory_service_areas::area_id.eq(a),
            ))
            .execute(c)?;
    }
    Ok(())
}

pub fn signposting(c: &mut DbConn, id: &str) -> Result<Signposting, AppError> {
    Ok(signpostings::table
        .find(id)
        .select(Signposting::as_select())
        .first(c)?)
}

pub fn signpostings_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<Signposting>, AppError> {
    Ok(signpostings::table
        .filter(signpostings::referral_id.eq(referral_id))
        .order((
            signpostings::signposted_on.asc(),
            signpostings::created_at.asc(),
        ))
        .limit(MAX_SERVICES)
        .select(Signposting::as_select())
        .load(c)?)
}

pub fn no_onward_support_of(
    c: &mut DbConn,
    referral_id: &str,
) -> Result<Option<NoOnwardSupport>, AppError> {
    Ok(no_onward_support::table
        .find(referral_id)
        .select(NoOnwardSupport::as_select())
        .first(c)
        .optional()?)
}

pub fn end_summary_of(c: &mut DbConn, referral_id: &str) -> Result<Option<EndSummary>, AppError> {
    Ok(end_summaries::table
        .find(referral_id)
        .select(EndSummary::as_select())
        .first(c)
        .optional()?)
}
