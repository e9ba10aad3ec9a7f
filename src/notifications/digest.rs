//! The weekly digest for clinical leads: on Monday morning each active clinical lead is
//! emailed counts for their areas (referrals waiting for a first session and the longest
//! wait, open risk alerts, enforcement reviews awaiting a decision). Counts only: no names,
//! no references. Run from the housekeeping loop; `weekly_digests` records each lead's
//! digest by the Monday of its ISO week, so running again in the same week queues nothing.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{enforcement_reviews, risk_alerts, user_areas, users, weekly_digests};
use crate::error::AppError;
use crate::notifications::messages::{Emails, WeeklyDigest};
use crate::notifications::model::enqueue;
use crate::sessions::diary::monday_of;
use crate::users::model::Role;

/// Digests go from this hour (UTC) on Monday.
pub const SEND_FROM_HOUR: u32 = 7;

/// Whether the housekeeping loop should queue this week's digests at `now` (UTC): on Monday,
/// from [`SEND_FROM_HOUR`]. The loop runs hourly, so the first Monday run after that hour
/// queues them and later runs find them already recorded.
pub fn is_due(now: NaiveDateTime) -> bool {
    now.weekday() == Weekday::Mon && now.hour() >= SEND_FROM_HOUR
}

/// Queues the digest for the ISO week of `today` to every active clinical lead with areas
/// who has none yet this week; returns how many were queued (a lead who turned digests off
/// is recorded but sent nothing). Call it in a write transaction, so the record of a digest
/// and its email commit together. The service itself works the counts out in a read
/// transaction first ([`owed`]) and holds the write lock only for [`queue_owed`]: on a large
/// database the counts take seconds, and staff saving a form meanwhile would wait for them.
pub fn queue_digests(
    conn: &mut DbConn,
    emails: &Emails,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let owed = owed(conn, emails, today)?;
    queue_owed(conn, emails, today, owed)
}

/// A clinical lead's digest for the week, worked out and not yet recorded.
#[derive(Debug)]
pub struct Owed {
    lead_id: String,
    email: String,
    digest: WeeklyDigest,
}

/// The digests owed for the ISO week of `today`: one for each active clinical lead with areas
/// who has none recorded yet this week. Reads only.
pub fn owed(conn: &mut DbConn, emails: &Emails, today: NaiveDate) -> Result<Vec<Owed>, AppError> {
    let week_start = monday_of(today);
    let leads: Vec<(String, String)> = users::table
        .filter(users::role.eq(Role::ClinicalLead))
        .filter(users::disabled_at.is_null())
        .order(users::id.asc())
        .select((users::id, users::email))
        .load(conn)?;
    let mut owed = Vec::new();
    for (lead_id, email) in leads {
        if recorded(conn, &lead_id, week_start)? {
            continue;
        }
        let area_ids: Vec<String> = user_areas::table
            .filter(user_areas::user_id.eq(&lead_id))
            .select(user_areas::area_id)
            .load(conn)?;
        if area_ids.is_empty() {
            continue;
        }
        let digest = counts(conn, emails, &area_ids, week_start, today)?;
        owed.push(Owed {
            lead_id,
            email,
            digest,
        });
    }
    Ok(owed)
}

/// Records and queues the digests [`owed`] found; one recorded meanwhile (by another
/// instance, or an earlier run) is skipped. Call it in a write transaction.
pub fn queue_owed(
    conn: &mut DbConn,
    emails: &Emails,
    today: NaiveDate,
    owed: Vec<Owed>,
) -> Result<usize, AppError> {
    let week_start = monday_of(today);
    let mut queued = 0;
    for o in owed {
        if recorded(conn, &o.lead_id, week_start)? {
            continue;
        }
        // Another instance racing here fails on the primary key and rolls back its emails.
        diesel::insert_into(weekly_digests::table)
            .values((
                weekly_digests::user_id.eq(&o.lead_id),
                weekly_digests::week_start.eq(week_start),
                weekly_digests::queued_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        if enqueue(conn, emails.typed(&o.email, &o.digest)?)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Whether the lead's digest for the week starting `week_start` is recorded.
fn recorded(conn: &mut DbConn, lead_id: &str, week_start: NaiveDate) -> Result<bool, AppError> {
    let n: i64 = weekly_digests::table
        .filter(weekly_digests::user_id.eq(lead_id))
        .filter(weekly_digests::week_start.eq(week_start))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The digest's counts for `area_ids` on `today`.
fn counts(
    c: &mut DbConn,
    emails: &Emails,
    area_ids: &[String],
    week_start: NaiveDate,
    today: NaiveDate,
) -> Result<WeeklyDigest, AppError> {
    // The first of the list is the longest waiting.
    let waiting = crate::sessions::capacity::waiting_list(c, area_ids, today, Some(1), 1)?;
    let risk_alerts: i64 = risk_alerts::table
        .filter(risk_alerts::area_id.eq_any(area_ids))
        .filter(risk_alerts::acknowledged_at.is_null())
        .count()
        .get_result(c)?;
    let enforcement_reviews: i64 = enforcement_reviews::table
        .filter(enforcement_reviews::area_id.eq_any(area_ids))
        .filter(enforcement_reviews::decision.is_null())
        .count()
        .get_result(c)?;
    Ok(WeeklyDigest {
        week: crate::web::format::date(week_start),
        waiting: i64::try_from(waiting.total).unwrap_or(i64::MAX),
        oldest_wait_days: waiting.list.first().map(|w| w.days_waiting),
        risk_alerts,
        enforcement_reviews,
        follow_ups: due_follow_ups(c, area_ids)?,
        link: emails.link("/"),
    })
}

/// Signposting follow-ups due by today in `area_ids`: an answer still awaited (not final)
/// and its follow-up date reached. The digest shows the line only when there are some.
pub fn due_follow_ups(c: &mut DbConn, area_ids: &[String]) -> Result<i64, AppError> {
    use crate::db::schema::{referrals, signpostings};
    use crate::signposting::codes::SignpostStatus;
    let open: Vec<SignpostStatus> = SignpostStatus::ALL
        .iter()
        .copied()
        .filter(|s| !s.is_final())
        .collect();
    Ok(signpostings::table
        .inner_join(referrals::table)
        .filter(referrals::area_id.eq_any(area_ids))
        .filter(signpostings::status.eq_any(open))
        .filter(signpostings::follow_up_on.le(crate::clock::today()))
        .count()
        .get_result(c)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn digests_are_due_on_monday_from_seven() {
        assert!(!is_due(at(2026, 11, 23, 6)), "Monday, too early");
        assert!(is_due(at(2026, 11, 23, 7)));
        assert!(is_due(at(2026, 11, 23, 23)));
        assert!(!is_due(at(2026, 11, 24, 7)), "Tuesday");
        assert!(!is_due(at(2026, 11, 22, 12)), "Sunday");
    }
}
