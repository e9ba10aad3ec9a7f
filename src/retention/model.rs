//! Rows and queries of the retention review. Every query starts from the referrals scope
//! chokepoint with [`Purpose::Retention`]: administrators reach every area, clinical leads
//! their own, nobody else anything.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::coded_enum;
use crate::db::DbConn;
use crate::db::schema::{referrals, retention_decisions};
use crate::error::AppError;
use crate::referrals::model::{Purpose, Scoped, Viewer, scoped};
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
    /// When it reached its final status (`referrals.closed_at`).
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

type Row = (
    String,
    String,
    String,
    Status,
    Option<NaiveDateTime>,
    Option<NaiveDate>,
    i64,
    Option<NaiveDateTime>,
);

fn closed_referral(
    (id, reference, area_id, status, closed_at, next_review_on, version, erased_at): Row,
) -> Option<ClosedReferral> {
    Some(ClosedReferral {
        id,
        reference,
        area_id,
        status,
        closed_at: closed_at?,
        next_review_on,
        version,
        erased_at,
    })
}

macro_rules! closed_columns {
    () => {
        (
            referrals::id,
            referrals::reference,
            referrals::area_id,
            referrals::status,
            referrals::closed_at,
            referrals::retention_review_on,
            referrals::version,
            referrals::erased_at,
        )
    };
}

/// One closed referral in the viewer's retention scope, erased or not; `None` while it is
/// open (or out of scope).
pub fn closed_one(
    c: &mut DbConn,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<ClosedReferral>, AppError> {
    Ok(scoped(viewer, Purpose::Retention)
        .filter(referrals::id.eq(id.to_owned()))
        .filter(referrals::status.eq_any(CLOSING))
        .select(closed_columns!())
        .first::<Row>(c)
        .optional()?
        .and_then(closed_referral))
}

/// The closed referrals in the viewer's scope waiting for their first review that reached
/// `status` before `closed_before`, not erased: the first `limit` in closing order (the
/// oldest first, then by id), and how many there are in all. Each status is one range of the
/// `referrals_retention_due` index, read in its order with the areas checked inside it.
pub fn first_reviews(
    c: &mut DbConn,
    viewer: &Viewer,
    status: Status,
    closed_before: NaiveDateTime,
    limit: usize,
) -> Result<(Vec<ClosedReferral>, usize), AppError> {
    let waiting = || {
        scoped(viewer, Purpose::Retention)
            .filter(referrals::status.eq(status))
            .filter(referrals::closed_at.is_not_null())
            .filter(referrals::closed_at.lt(closed_before))
            .filter(referrals::erased_at.is_null())
            .filter(referrals::retention_review_on.is_null())
    };
    first_and_count(
        c,
        waiting,
        |q| q.order((referrals::closed_at.asc(), referrals::id.asc())),
        limit,
    )
}

/// The closed referrals in the viewer's scope that a decision kept, whose next review date
/// is on or before `today`, not erased: the first `limit` by that date (then closing time and
/// id), and how many there are in all.
pub fn kept_reviews(
    c: &mut DbConn,
    viewer: &Viewer,
    today: NaiveDate,
    limit: usize,
) -> Result<(Vec<ClosedReferral>, usize), AppError> {
    let waiting = || {
        scoped(viewer, Purpose::Retention)
            .filter(referrals::retention_review_on.is_not_null())
            .filter(referrals::retention_review_on.le(today))
            .filter(referrals::erased_at.is_null())
            .filter(referrals::status.eq_any(CLOSING))
    };
    first_and_count(
        c,
        waiting,
        |q| {
            q.order((
                referrals::retention_review_on.asc(),
                referrals::closed_at.asc(),
                referrals::id.asc(),
            ))
        },
        limit,
    )
}

/// The first `limit` referrals `waiting` holds, in the order `ordered` gives, and how many it
/// holds in all.
fn first_and_count<'a>(
    c: &mut DbConn,
    waiting: impl Fn() -> Scoped<'a>,
    ordered: impl FnOnce(Scoped<'a>) -> Scoped<'a>,
    limit: usize,
) -> Result<(Vec<ClosedReferral>, usize), AppError> {
    let total: i64 = waiting().count().get_result(c)?;
    let rows = if limit == 0 || total == 0 {
        Vec::new()
    } else {
        ordered(waiting())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .select(closed_columns!())
            .load::<Row>(c)?
    };
    Ok((
        rows.into_iter().filter_map(closed_referral).collect(),
        usize::try_from(total).unwrap_or(0),
    ))
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
