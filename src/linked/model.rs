//! Rows of the linked requirement tables and the queries over them. Every read starts from a
//! referral already found through `referrals::model::scoped`; the queries here take its id
//! and never widen scope.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{linked_activity, linked_requirements};
use crate::error::AppError;
use crate::linked::codes::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = linked_requirements)]
pub struct LinkedRequirement {
    pub id: String,
    pub referral_id: String,
    pub kind: RequirementKind,
    pub provider: String,
    /// A named person at the provider.
    pub treatment_director: String,
    pub key_contact: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub sequencing: Sequencing,
    pub status: RequirementStatus,
    /// The first time it became active.
    pub activated_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = linked_activity)]
pub struct Activity {
    pub id: String,
    pub linked_requirement_id: String,
    pub on_date: NaiveDate,
    pub kind: ActivityKind,
    pub note: String,
    pub entered_by: String,
    pub entered_via: EnteredVia,
    pub created_at: NaiveDateTime,
}

/// At most this many linked requirements or activity entries are listed.
pub const MAX_ROWS: i64 = 500;

pub fn requirement(c: &mut DbConn, id: &str) -> Result<LinkedRequirement, AppError> {
    Ok(linked_requirements::table
        .find(id)
        .select(LinkedRequirement::as_select())
        .first(c)?)
}

/// A referral's linked requirements, oldest first.
pub fn requirements_of(
    c: &mut DbConn,
    referral_id: &str,
) -> Result<Vec<LinkedRequirement>, AppError> {
    Ok(linked_requirements::table
        .filter(linked_requirements::referral_id.eq(referral_id))
        .order(linked_requirements::created_at.asc())
        .limit(MAX_ROWS)
        .select(LinkedRequirement::as_select())
        .load(c)?)
}

/// A requirement's activity, newest date first.
pub fn activity_of(c: &mut DbConn, requirement_id: &str) -> Result<Vec<Activity>, AppError> {
    Ok(linked_activity::table
        .filter(linked_activity::linked_requirement_id.eq(requirement_id))
        .order((
            linked_activity::on_date.desc(),
            linked_activity::created_at.desc(),
        ))
        .limit(MAX_ROWS)
        .select(Activity::as_select())
        .load(c)?)
}

pub fn insert_requirement(c: &mut DbConn, row: &LinkedRequirement) -> Result<(), AppError> {
    diesel::insert_into(linked_requirements::table)
        .values(row.clone())
        .execute(c)?;
    Ok(())
}

pub fn insert_activity(c: &mut DbConn, row: &Activity) -> Result<(), AppError> {
    diesel::insert_into(linked_activity::table)
        .values(row.clone())
        .execute(c)?;
    Ok(())
}

/// Moves a requirement from `from` to `to`; false when it was no longer `from` (a race).
pub fn set_status(
    c: &mut DbConn,
    id: &str,
    from: RequirementStatus,
    to: RequirementStatus,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let n = if to == RequirementStatus::Active {
        diesel::update(
            linked_requirements::table
                .find(id)
                .filter(linked_requirements::status.eq(from)),
        )
        .set((
            linked_requirements::status.eq(to),
            linked_requirements::activated_at.eq(Some(at)),
            linked_requirements::updated_at.eq(at),
        ))
        .execute(c)?
    } else {
        diesel::update(
            linked_requirements::table
                .find(id)
                .filter(linked_requirements::status.eq(from)),
        )
        .set((
            linked_requirements::status.eq(to),
            linked_requirements::updated_at.eq(at),
        ))
        .execute(c)?
    };
    Ok(n == 1)
}
