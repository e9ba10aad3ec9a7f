//! The rules of the retention review, each decision in one transaction: the queue of closed
//! referrals whose review has come, one referral's review, and a decision to keep it until a
//! next review or to erase the person's data. Every function reaches referrals through
//! [`model`], so through the referrals scope chokepoint.

use chrono::{Months, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::clock::{london_to_utc, utc_to_london};
use crate::db::DbConn;
use crate::db::schema::{referrals, retention_decisions};
use crate::error::{AppError, FieldErrors};
use crate::paging::page_of;
use crate::referrals::model::Viewer;
use crate::retention::erase;
use crate::retention::forms::{DecisionInput, ReviewInput};
use crate::retention::model::{self, ClosedReferral, Decision, DecisionRow};
use crate::retention::policy::{self, RecordType};
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

/// The last day a referral may have closed on to be due for its first review on `today`,
/// kept `years`: the latest day whose review date ([`policy::add_years`]) is not after
/// `today`. (On 28 February 2026, kept 2 years, that is 29 February 2024: its review date is
/// 28 February 2026.)
pub fn last_closing_day(today: NaiveDate, years: u32) -> NaiveDate {
    let Some(mut d) = today.checked_sub_months(Months::new(years.saturating_mul(12))) else {
        return NaiveDate::MIN;
    };
    while d > NaiveDate::MIN && policy::add_years(d, years) > today {
        d = d.pred_opt().unwrap_or(NaiveDate::MIN);
    }
    while let Some(next) = d.succ_opt() {
        if policy::add_years(next, years) > today {
            break;
        }
        d = next;
    }
    d
}

/// The instant (UTC) before which a referral must have closed to be due on `today`, kept
/// `years`: the start of the UK day after [`last_closing_day`].
fn closed_before(today: NaiveDate, years: u32) -> NaiveDateTime {
    let day_after = last_closing_day(today, years)
        .succ_opt()
        .unwrap_or(NaiveDate::MAX);
    london_to_utc(day_after.and_time(NaiveTime::MIN))
}

/// One page of the review queue.
#[derive(Debug, Clone)]
pub struct QueuePage {
    /// The page's referrals, the longest due first.
    pub due: Vec<Due>,
    /// How many are due in all.
    pub total: usize,
    /// The page shown (a page past the end shows the last) and how many there are.
    pub page: usize,
    pub pages: usize,
}

/// The order of the queue: the longest due first, then the earliest closed, then by id. Each
/// of the queue's database reads returns its referrals in this order.
fn queue_order(d: &Due) -> (NaiveDate, NaiveDateTime, &str) {
    (d.due_on, d.referral.closed_at, d.referral.id.as_str())
}

/// The referrals in the viewer's scope whose review has come, the longest due first: page
/// `asked` of them, `per` a page.
///
/// The database answers it, from the queue's ranges ([`model::Waiting`]): for each final
/// status, the referrals waiting for their first review that closed early enough
/// ([`closed_before`], the policy's period for that status), in closing order; and the
/// referrals a decision kept whose next review date has come, in that date's order. The
/// ranges are counted first; each is already in the queue's order, so the page is the first
/// `skip + per` of each, merged.
pub fn queue(
    c: &mut DbConn,
    viewer: &Viewer,
    policy: &RetentionSettings,
    today: NaiveDate,
    asked: Option<usize>,
    per: usize,
) -> Result<QueuePage, AppError> {
    let ranges: Vec<model::Waiting> = policy::CLOSING
        .iter()
        .filter_map(|&status| {
            RecordType::of(status).map(|kind| model::Waiting::First {
                status,
                closed_before: closed_before(today, kind.years(policy)),
            })
        })
        .chain([model::Waiting::Kept { today }])
        .collect();
    let counts = ranges
        .iter()
        .map(|w| w.count(c, viewer))
        .collect::<Result<Vec<usize>, AppError>>()?;
    let total = counts.iter().sum();
    let (page, pages, skip) = page_of(asked, total, per);
    let mut due: Vec<Due> = Vec::new();
    for (w, n) in ranges.into_iter().zip(counts) {
        if n > 0 {
            let rows = w.first(c, viewer, skip + per)?;
            due.extend(rows.into_iter().filter_map(|r| assess(policy, r)));
        }
    }
    debug_assert!(due.iter().all(|d| d.is_due(today)));
    due.sort_by(|a, b| queue_order(a).cmp(&queue_order(b)));
    Ok(QueuePage {
        due: due.into_iter().skip(skip).take(per).collect(),
        total,
        page,
        pages,
    })
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
    let due = model::closed_one(c, viewer, id)?.and_then(|r| assess(policy, r));
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
    input: Result<ReviewInput, FieldErrors>,
) -> Result<Decision, AppError> {
    let today = crate::clock::today();
    // The referral is looked up (and scope applied) before the input is judged, so a
    // record out of scope answers like a missing one whatever was sent.
    let r = review(c, viewer, policy, id)?;
    let input = input.map_err(AppError::Validation)?;
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
    crate::sessions::upkeep::record_event(
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
    crate::reports::upkeep::refresh(c, &due.referral.id)?;
    record_decision(c, viewer, due, Decision::Erase, reason, None)?;
    crate::sessions::upkeep::record_event(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_last_closing_day_is_the_latest_whose_review_has_come() {
        assert_eq!(last_closing_day(d(2026, 11, 23), 2), d(2024, 11, 23));
        assert_eq!(last_closing_day(d(2026, 11, 23), 0), d(2026, 11, 23));
        // 29 February 2024's review, two years on, is 28 February 2026.
        assert_eq!(last_closing_day(d(2026, 2, 28), 2), d(2024, 2, 29));
        assert_eq!(last_closing_day(d(2026, 3, 1), 2), d(2024, 3, 1));
        assert_eq!(last_closing_day(d(2028, 2, 29), 4), d(2024, 2, 29));
        assert_eq!(last_closing_day(d(2028, 2, 28), 4), d(2024, 2, 28));
        for years in [1, 2, 6] {
            let mut today = d(2023, 1, 1);
            while today < d(2029, 1, 1) {
                let last = last_closing_day(today, years);
                assert!(policy::add_years(last, years) <= today, "{today} {years}");
                let next = last.succ_opt().unwrap();
                assert!(policy::add_years(next, years) > today, "{today} {years}");
                today = today.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn due_means_closed_before_the_uk_day_after_the_last_closing_day() {
        // In summer the UK day starts at 23:00 UTC the evening before.
        assert_eq!(
            closed_before(d(2026, 7, 10), 2),
            d(2024, 7, 10).and_hms_opt(23, 0, 0).unwrap()
        );
        assert_eq!(
            closed_before(d(2026, 1, 10), 2),
            d(2024, 1, 11).and_hms_opt(0, 0, 0).unwrap()
        );
    }
}

#[derive(Debug, serde::Serialize)]
pub struct ErasedEntry {
    text: &'static str,
    on: String,
}

/// What is left to show of an erased referral: no personal data, only what happened when.
#[derive(Debug, serde::Serialize)]
pub struct ErasedView {
    reference: String,
    status: &'static str,
    area: String,
    erased_on: String,
    entries: Vec<ErasedEntry>,
}

/// What is left to show of an erased referral, if it was erased (`None` otherwise, for the
/// referral's own page to answer). A missing or out-of-scope referral is not found either
/// way; the scoped lookup is made only for an erased one, so a live referral costs one read
/// by key here.
pub fn erased_view(
    c: &mut DbConn,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<ErasedView>, AppError> {
    let Some(erased_at) = crate::retention::model::erased_at(c, id)? else {
        return Ok(None);
    };
    let r = crate::referrals::model::find(c, viewer, id)?;
    let mut entries: Vec<(chrono::NaiveDateTime, &'static str)> =
        crate::referrals::model::history(c, id)?
            .iter()
            .map(|h| (h.at, h.action.label()))
            .collect();
    entries.extend(
        crate::sessions::model::events_of(c, id)?
            .iter()
            .map(|e| (e.at, e.kind.label())),
    );
    entries.sort_by_key(|(at, _)| *at);
    Ok(Some(ErasedView {
        reference: r.reference,
        status: r.status.label(),
        area: crate::areas::names_by_id(c)?
            .remove(&r.area_id)
            .unwrap_or_default(),
        erased_on: crate::web::format::date(crate::clock::utc_to_london(erased_at).date()),
        entries: entries
            .into_iter()
            .map(|(at, text)| ErasedEntry {
                text,
                on: crate::web::format::date_time(at),
            })
            .collect(),
    }))
}
