//! Rows and queries of the retention review. Every query starts from the referrals scope
//! chokepoint with [`Purpose::Retention`]: administrators reach every area, clinical leads
//! their own, nobody else anything.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::coded_enum;
use crate::db::DbConn;
use crate::db::schema::{referral_status_history, referrals, retention_decisions};
use crate::error::AppError;
use crate::referrals::model::{Purpose, Viewer, scoped};
use crate::referrals::state::Status;
use crate::retention::policy::CLOSING;

coded_enum! {
    /// What a review decided.
    pub enum Decision {
        Retain = ("retain", "Kept"),
        Erase = ("erase", "Personal data erased"),
    }
}

/// A closed referral as the review sees it: no personal data.
#[derive(Debug, Clone)]
pub struct ClosedReferral {
    pub id: String,
    pub reference: String,
    pub area_id: String,
    pub status: Status,
    /// When it reached its final status.
    pub closed_at: NaiveDateTime,
    pub next_review_on: Option<NaiveDate>,
    pub version: i64,
    pub erased_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = retention_decisions)]
pub struct DecisionRow {
    pub id: String,
    pub referral_id: String,
    pub decision: Decision,
    pub reason: String,
    pub next_review_on: Option<NaiveDate>,
    pub decided_by: String,
    pub decided_at: NaiveDateTime,
}

/// The closed referrals in the viewer's retention scope, with the time each closed: those
/// closed before `closed_before` and not erased when given, the one with `id` when given.
pub fn closed(
    c: &mut DbConn,
    viewer: &Viewer,
    closed_before: Option<NaiveDateTime>,
    id: Option<&str>,
) -> Result<Vec<ClosedReferral>, AppError> {
    let mut q = scoped(viewer, Purpose::Retention)
        .filter(referrals::status.eq_any(CLOSING))
        .select((
            referrals::id,
            referrals::reference,
            referrals::area_id,
            referrals::status,
            referrals::retention_review_on,
            referrals::version,
            referrals::erased_at,
        ));
    // A final status is reached once and never left, so its one history entry dates it.
    let mut h = referral_status_history::table
        .filter(referral_status_history::to_status.eq_any(CLOSING))
        .select((
            referral_status_history::referral_id,
            referral_status_history::to_status,
            referral_status_history::at,
        ))
        .into_boxed();
    if let Some(t) = closed_before {
        q = q.filter(referrals::erased_at.is_null());
        h = h.filter(referral_status_history::at.lt(t));
    }
    if let Some(id) = id {
        q = q.filter(referrals::id.eq(id.to_owned()));
        h = h.filter(referral_status_history::referral_id.eq(id.to_owned()));
    }
    let closing: HashMap<(String, Status), NaiveDateTime> = h
        .load::<(String, Status, NaiveDateTime)>(c)?
        .into_iter()
        .map(|(r, s, at)| ((r, s), at))
        .collect();
    type Row = (
        String,
        String,
        String,
        Status,
        Option<NaiveDate>,
        i64,
        Option<NaiveDateTime>,
    );
    Ok(q.load::<Row>(c)?
        .into_iter()
        .filter_map(
            |(id, reference, area_id, status, next_review_on, version, erased_at)| {
                let closed_at = *closing.get(&(id.clone(), status))?;
                Some(ClosedReferral {
                    id,
                    reference,
                    area_id,
                    status,
                    closed_at,
                    next_review_on,
                    version,
                    erased_at,
                })
            },
        )
        .collect())
}

/// Whether the referral is in the viewer's retention scope at all (closed or not).
pub fn in_scope(c: &mut DbConn, viewer: &Viewer, id: &str) -> Result<bool, AppError> {
    Ok(scoped(viewer, Purpose::Retention)
        .filter(referrals::id.eq(id.to_owned()))
        .select(referrals::id)
        .first::<String>(c)
        .optional()?
        .is_some())
}

/// The referral's review decisions, newest first.
pub fn decisions_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<DecisionRow>, AppError> {
    Ok(retention_decisions::table
        .filter(retention_decisions::referral_id.eq(referral_id))
        .order(retention_decisions::decided_at.desc())
        .select(DecisionRow::as_select())
        .load(c)?)
}

/// Whether the referral's personal data has been erased.
pub fn is_erased(c: &mut DbConn, referral_id: &str) -> Result<bool, AppError> {
    Ok(referrals::table
        .find(referral_id)
        .select(referrals::erased_at)
        .first::<Option<NaiveDateTime>>(c)
        .optional()?
        .flatten()
        .is_some())
}
