//! The rules of the retention review, each decision in one transaction: the queue of closed
//! referrals whose review has come, one referral's review, and a decision to keep it until a
//! next review or to erase the person's data. Every function reaches referrals through
//! [`model`], so through the referrals scope chokepoint.

use chrono::{Days, Months, NaiveDate};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{referrals, retention_decisions};
use crate::error::AppError;
use crate::referrals::model::Viewer;
use crate::retention::erase;
use crate::retention::forms::{DecisionInput, ReviewInput};
use crate::retention::model::{self, ClosedReferral, Decision, DecisionRow};
use crate::retention::policy::{self, RecordType};
use crate::sessions::calendar::utc_to_london;
use crate::sessions::codes::EventKind;
use crate::settings::RetentionSettings;

pub const NOT_DUE: &str = "This referral is not due for review: it may have been decided already. Go back to the review queue";
pub const STALE: &str =
    "This referral has changed since you opened it. Reload the page and try again";
pub const ERASED_SUMMARY: &str = "Personal data erased under the retention policy";

/// A closed referral with its review date.
#[derive(Debug, Clone)]
pub struct Due {
    pub referral: ClosedReferral,
    pub kind: RecordType,
    pub closed_on: NaiveDate,
    pub due_on: NaiveDate,
}

impl Due {
    pub fn is_due(&self, today: NaiveDate) -> bool {
        self.referral.erased_at.is_none() && self.due_on <= today
    }
}

fn assess(policy: &RetentionSettings, r: ClosedReferral) -> Option<Due> {
    let closed_on = utc_to_london(r.closed_at).date();
    let kind = RecordType::of(r.status)?;
    let due_on = policy::due_on(policy, r.status, closed_on, r.next_review_on)?;
    Some(Due {
        referral: r,
        kind,
        closed_on,
        due_on,
    })
}

/// The referrals in the viewer's scope whose review has come, the longest due first.
pub fn queue(
    c: &mut DbConn,
    viewer: &Viewer,
    policy: &RetentionSettings,
    today: NaiveDate,
) -> Result<Vec<Due>, AppError> {
    // Nothing that closed within the shortest period is due (a decision to keep only moves a
    // review later), so the database returns only the older ones; a day's margin covers the
    // UK date being ahead of UTC.
    let years = Months::new(policy::shortest(policy).saturating_mul(12));
    let cutoff = today
        .checked_sub_months(years)
        .and_then(|d| d.checked_add_days(Days::new(2)))
        .and_then(|d| d.and_hms_opt(0, 0, 0));
    let mut due: Vec<Due> = model::closed(c, viewer, cutoff, None)?
        .into_iter()
        .filter_map(|r| assess(policy, r))
        .filter(|d| d.is_due(today))
        .collect();
    due.sort_by(|a, b| (a.due_on, &a.referral.reference).cmp(&(b.due_on, &b.referral.reference)));
    Ok(due)
}

/// One referral's review: its closure and review date (`None` while it is open) and the
/// decisions made on it. Not found outside the viewer's scope.
pub struct Review {
    pub reference: String,
    pub area_id: String,
    pub due: Option<Due>,
    pub decisions: Vec<DecisionRow>,
}

pub fn review(
    c: &mut DbConn,
    viewer: &Viewer,
    policy: &RetentionSettings,
    id: &str,
) -> Result<Review, AppError> {
    if !model::in_scope(c, viewer, id)? {
        return Err(AppError::NotFound);
    }
    let (reference, area_id): (String, String) = referrals::table
        .find(id)
        .select((referrals::reference, referrals::area_id))
        .first(c)?;
    let due = model::closed(c, viewer, None, Some(id))?
        .into_iter()
        .next()
        .and_then(|r| assess(policy, r));
    Ok(Review {
        reference,
        area_id,
        due,
        decisions: model::decisions_of(c, id)?,
    })
}

/// Records a decision on a referral whose review has come, against the version the reviewer
/// saw: a second submission, or a decision on a referral decided meanwhile, changes nothing.
pub fn decide(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    policy: &RetentionSettings,
    id: &str,
    input: &ReviewInput,
) -> Result<Decision, AppError> {
    let today = crate::clock::today();
    let r = review(c, viewer, policy, id)?;
    let due = r
        .due
        .filter(|d| d.is_due(today))
        .ok_or_else(|| AppError::Conflict(NOT_DUE.into()))?;
    let version = due.referral.version;
    if version != input.version {
        return Err(AppError::Conflict(STALE.into()));
    }
    match &input.decision {
        DecisionInput::Retain {
            reason,
            next_review_on,
        } => retain(c, viewer, actor, &due, reason, *next_review_on),
        DecisionInput::Erase { reason } => erase(c, viewer, actor, &due, reason),
    }
}

/// Moves the referral's version on, only if it is still the one the reviewer saw and not
/// erased: of two submissions of one decision, the second changes nothing.
fn claim(c: &mut DbConn, due: &Due) -> Result<(), AppError> {
    let changed = diesel::update(
        referrals::table
            .filter(referrals::id.eq(&due.referral.id))
            .filter(referrals::version.eq(due.referral.version))
            .filter(referrals::erased_at.is_null()),
    )
    .set(referrals::version.eq(due.referral.version + 1))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(STALE.into()));
    }
    Ok(())
}

fn record_decision(
    c: &mut DbConn,
    viewer: &Viewer,
    due: &Due,
    decision: Decision,
    reason: &str,
    next_review_on: Option<NaiveDate>,
) -> Result<(), AppError> {
    diesel::insert_into(retention_decisions::table)
        .values(DecisionRow {
            id: crate::ids::new_id(),
            referral_id: due.referral.id.clone(),
            decision,
            reason: reason.to_owned(),
            next_review_on,
            decided_by: viewer.user_id.clone(),
            decided_at: crate::clock::now(),
        })
        .execute(c)?;
    Ok(())
}

fn retain(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    due: &Due,
    reason: &str,
    next_review_on: NaiveDate,
) -> Result<Decision, AppError> {
    claim(c, due)?;
    diesel::update(referrals::table.find(&due.referral.id))
        .set(referrals::retention_review_on.eq(next_review_on))
        .execute(c)?;
    record_decision(
        c,
        viewer,
        due,
        Decision::Retain,
        reason,
        Some(next_review_on),
    )?;
    crate::sessions::service::record_event(
        c,
        viewer,
        &due.referral.id,
        EventKind::RecordRetained,
        false,
        format!(
            "Next review on {}",
            crate::web::format::date(next_review_on)
        ),
    )?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "retention.retained")
            .record("referral", &due.referral.id)
            .reason(reason)
            .details(json!({
                "next_review_on": next_review_on.to_string(),
                "was_due_on": due.due_on.to_string(),
            })),
    )?;
    Ok(Decision::Retain)
}

fn erase(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    due: &Due,
    reason: &str,
) -> Result<Decision, AppError> {
    let now = crate::clock::now();
    claim(c, due)?;
    diesel::update(referrals::table.find(&due.referral.id))
        .set((
            referrals::erased_at.eq(now),
            referrals::erased_by.eq(&viewer.user_id),
        ))
        .execute(c)?;
    let person_id: String = referrals::table
        .find(&due.referral.id)
        .select(referrals::person_id)
        .first(c)?;
    erase::referral(c, &due.referral.id, &due.referral.reference)?;
    let person_erased = erase::person_if_done(c, &person_id)?;
    record_decision(c, viewer, due, Decision::Erase, reason, None)?;
    crate::sessions::service::record_event(
        c,
        viewer,
        &due.referral.id,
        EventKind::PersonalDataErased,
        false,
        ERASED_SUMMARY.to_owned(),
    )?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Erasure, "retention.erased")
            .record("referral", &due.referral.id)
            .reason(reason)
            .details(json!({
                "record_type": due.kind.label(),
                "closed_on": due.closed_on.to_string(),
                "person_erased": person_erased,
            })),
    )?;
    Ok(Decision::Erase)
}
