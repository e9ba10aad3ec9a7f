//! Sessions past their end with no recorded outcome. An absence is only known once it is
//! recorded, so a session nobody has recorded shows at once on the home page of its
//! practitioner and of the clinical leads of its area; and once `grace` working days
//! (Monday to Friday, not bank holidays) have passed after its day, the responsible officer
//! is told, once, by email and on the referral's timeline, from the hourly housekeeping.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{referrals, treatment_sessions};
use crate::error::AppError;
use crate::notifications::Emails;
use crate::referrals::model::{Purpose, Referral, Viewer, scoped};
use crate::sessions::calendar::{WorkingDays, is_bank_holiday};
use crate::sessions::codes::{EventKind, SessionStatus};
use crate::sessions::upkeep::{record_service_event, when};
use crate::users::model::Role;

/// At most this many are listed on a home page; the oldest first.
const LISTED: i64 = 50;

/// A clinical lead's sessions are found through at most this many of their referrals (a
/// bound on the query's size in any history; far more than a page lists).
const LEAD_REFERRALS: i64 = 2_000;

/// At most this many officers are told in one housekeeping run; the next run goes on.
const TOLD_PER_RUN: i64 = 500;

/// One session that is over and has no outcome.
#[derive(Debug, Clone)]
pub struct Unrecorded {
    pub session_id: String,
    pub referral_id: String,
    pub reference: String,
    pub starts_at: NaiveDateTime,
    /// The assistant psychologist whose session it is.
    pub ap_user_id: String,
}

impl Unrecorded {
    /// "Session on 22 November 2026 at 10:00 has no outcome recorded".
    pub fn describe(&self) -> String {
        format!(
            "Session on {} has no outcome recorded",
            when(self.starts_at)
        )
    }
}

fn is_over(starts_at: NaiveDateTime, minutes: i32, now: NaiveDateTime) -> bool {
    starts_at + Duration::minutes(i64::from(minutes)) <= now
}

/// The sessions that are over (at `now`, UK time) with no outcome: an assistant
/// psychologist's own; for a clinical lead, those of the referrals in their scope. Nobody
/// else records sessions, so nobody else is shown them.
pub fn waiting(
    c: &mut DbConn,
    viewer: &Viewer,
    now: NaiveDateTime,
) -> Result<Vec<Unrecorded>, AppError> {
    let pending = treatment_sessions::table
        .filter(treatment_sessions::status.eq(SessionStatus::Booked))
        .filter(treatment_sessions::outcome.is_null())
        .filter(treatment_sessions::starts_at.lt(now));
    let mut q = pending
        .inner_join(referrals::table)
        .into_boxed::<crate::db::MultiBackend>();
    q = match viewer.role {
        Role::AssistantPsychologist => {
            q.filter(treatment_sessions::ap_user_id.eq(viewer.user_id.clone()))
        }
        Role::ClinicalLead => {
            // The referrals in the lead's scope that have such a session.
            let mine: Vec<String> = scoped(viewer, Purpose::Casework)
                .filter(referrals::id.eq_any(pending.select(treatment_sessions::referral_id)))
                .select(referrals::id)
                .limit(LEAD_REFERRALS)
                .load(c)?;
            q.filter(treatment_sessions::referral_id.eq_any(mine))
        }
        _ => return Ok(Vec::new()),
    };
    let rows: Vec<(String, String, String, NaiveDateTime, i32, String)> = q
        .select((
            treatment_sessions::id,
            treatment_sessions::referral_id,
            referrals::reference,
            treatment_sessions::starts_at,
            treatment_sessions::minutes,
            treatment_sessions::ap_user_id,
        ))
        .order(treatment_sessions::starts_at.asc())
        .limit(LISTED)
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, _, at, minutes, _)| is_over(*at, *minutes, now))
        .map(
            |(session_id, referral_id, reference, starts_at, _, ap_user_id)| Unrecorded {
                session_id,
                referral_id,
                reference,
                starts_at,
                ap_user_id,
            },
        )
        .collect())
}

fn is_working_day(day: NaiveDate) -> bool {
    WorkingDays::WEEKDAYS.contains(day.weekday()) && !is_bank_holiday(day)
}

/// The last day on which a session held on `day` may still be recorded before the officer
/// is told: `grace` working days after it (the day itself when `grace` is 0).
pub fn last_day_to_record(day: NaiveDate, grace: u32) -> NaiveDate {
    let mut last = day;
    let mut left = grace;
    while left > 0 {
        last += Duration::days(1);
        if is_working_day(last) {
            left -= 1;
        }
    }
    last
}

/// Tells the responsible officer of every session whose last day to record has passed at
/// `now` (UK time) with no outcome; how many were told. Each session is claimed with a
/// conditional update in the transaction that queues its email, so two instances running
/// housekeeping at once tell the officer once.
pub fn tell_officers(
    c: &mut DbConn,
    emails: &Emails,
    now: NaiveDateTime,
    grace: u32,
) -> Result<usize, AppError> {
    let today = now.date();
    let candidates: Vec<(String, String, NaiveDateTime)> = treatment_sessions::table
        .filter(treatment_sessions::status.eq(SessionStatus::Booked))
        .filter(treatment_sessions::outcome.is_null())
        .filter(treatment_sessions::unrecorded_notified_at.is_null())
        .filter(treatment_sessions::starts_at.lt(today.and_time(chrono::NaiveTime::MIN)))
        .select((
            treatment_sessions::id,
            treatment_sessions::referral_id,
            treatment_sessions::starts_at,
        ))
        .order(treatment_sessions::starts_at.asc())
        .limit(TOLD_PER_RUN)
        .load(c)?;
    let mut told = 0;
    for (session_id, referral_id, starts_at) in candidates {
        if last_day_to_record(starts_at.date(), grace) >= today {
            continue;
        }
        let claimed = diesel::update(
            treatment_sessions::table
                .find(&session_id)
                .filter(treatment_sessions::unrecorded_notified_at.is_null())
                .filter(treatment_sessions::outcome.is_null()),
        )
        .set(treatment_sessions::unrecorded_notified_at.eq(crate::clock::now()))
        .execute(c)?;
        if claimed == 0 {
            continue;
        }
        let r: Referral = referrals::table
            .find(&referral_id)
            .select(Referral::as_select())
            .first(c)?;
        record_service_event(
            c,
            &referral_id,
            EventKind::SessionUnrecorded,
            format!(
                "The session on {} has no outcome recorded: the responsible officer was told",
                when(starts_at)
            ),
        )?;
        crate::notifications::sessions::unrecorded(c, emails, &r, starts_at.date())?;
        told += 1;
    }
    Ok(told)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_grace_counts_working_days_only() {
        // Monday 23 November 2026: one working day is Tuesday.
        assert_eq!(last_day_to_record(d(2026, 11, 23), 1), d(2026, 11, 24));
        // Friday 27 November: the weekend does not count, so Monday.
        assert_eq!(last_day_to_record(d(2026, 11, 27), 1), d(2026, 11, 30));
        // Thursday 24 December: Christmas Day and Boxing Day (moved to Monday 28th) and
        // the weekend are skipped, so Tuesday 29 December.
        assert_eq!(last_day_to_record(d(2026, 12, 24), 1), d(2026, 12, 29));
        // No grace: the day itself.
        assert_eq!(last_day_to_record(d(2026, 11, 23), 0), d(2026, 11, 23));
        assert_eq!(last_day_to_record(d(2026, 11, 23), 3), d(2026, 11, 26));
    }

    #[test]
    fn a_session_is_over_at_its_end_not_its_start() {
        let start = d(2026, 11, 23).and_hms_opt(10, 0, 0).unwrap();
        assert!(!is_over(start, 60, start + Duration::minutes(59)));
        assert!(is_over(start, 60, start + Duration::minutes(60)));
    }
}
