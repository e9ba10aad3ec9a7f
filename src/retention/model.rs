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

/// One range of the review queue, each read in the queue's order.
#[derive(Debug, Clone, Copy)]
pub enum Waiting {
    /// Referrals waiting for their first review that reached `status` before
    /// `closed_before`, in closing order (then by id): one range of the
    /// `referrals_retention_due` index, read in its order with the areas checked inside it.
    First {
        status: Status,
        closed_before: NaiveDateTime,
    },
    /// Referrals a decision kept whose next review date is on or before `today`, by that
    /// date (then closing time and id).
    Kept { today: NaiveDate },
}

impl Waiting {
    /// The range's referrals in the viewer's scope, not erased.
    fn query<'a>(self, viewer: &Viewer) -> Scoped<'a> {
        let q = scoped(viewer, Purpose::Retention).filter(referrals::erased_at.is_null());
        match self {
            Waiting::First {
                status,
                closed_before,
            } => q
                .filter(referrals::status.eq(status))
                .filter(referrals::closed_at.is_not_null())
                .filter(referrals::closed_at.lt(closed_before))
                .filter(referrals::retention_review_on.is_null()),
            Waiting::Kept { today } => q
                .filter(referrals::retention_review_on.is_not_null())
                .filter(referrals::retention_review_on.le(today))
                .filter(referrals::status.eq_any(CLOSING)),
        }
    }

    /// How many referrals in the viewer's scope the range holds.
    pub fn count(self, c: &mut DbConn, viewer: &Viewer) -> Result<usize, AppError> {
        let n: i64 = self.query(viewer).count().get_result(c)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The first `limit` referrals of the range in the viewer's scope, in its order.
    pub fn first(
        self,
        c: &mut DbConn,
        viewer: &Viewer,
        limit: usize,
    ) -> Result<Vec<ClosedReferral>, AppError> {
        let q = match self {
            Waiting::First { .. } => self
                .query(viewer)
                .order((referrals::closed_at.asc(), referrals::id.asc())),
            Waiting::Kept { .. } => self.query(viewer).order((
                referrals::retention_review_on.asc(),
                referrals::closed_at.asc(),
                referrals::id.asc(),
            )),
        };
        Ok(q.limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .select(closed_columns!())
            .load::<Row>(c)?
            .into_iter()
            .filter_map(closed_referral)
            .collect())
    }
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

/// When a referral was erased (`None` if it was not); not found if there is no such referral.
/// By key, without scope: the caller looks the referral up in scope before showing anything.
pub fn erased_at(conn: &mut DbConn, id: &str) -> Result<Option<NaiveDateTime>, AppError> {
    Ok(referrals::table
        .find(id)
        .select(referrals::erased_at)
        .first(conn)?)
}
