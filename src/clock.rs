//! The one place the service reads the time: UTC, to the microsecond (both backends keep
//! microseconds, so a value read back equals the value written), the UK date for anything
//! a person reads or enters as a date, and every conversion between UTC and the UK wall
//! clock (GMT, or BST from the last Sunday of March to the last Sunday of October).
//!
//! For a migration rehearsal the whole service can be told that today is another date
//! (`clock.today`, [`pretend_today`]): every reading of the time moves by the same whole
//! number of days, so a dress rehearsal on one date gives the go-live day's answers.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};

/// Days added to the real date (0 unless a rehearsal date is set).
static SHIFT_DAYS: AtomicI64 = AtomicI64::new(0);

pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc() + TimeDelta::days(SHIFT_DAYS.load(Ordering::Relaxed));
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// From now on the service reads `today` as today's UK date, the time of day running as
/// usual. Called once at start, from the `clock.today` setting.
pub fn pretend_today(today: NaiveDate) {
    let real = utc_to_london(Utc::now().naive_utc()).date();
    SHIFT_DAYS.store((today - real).num_days(), Ordering::Relaxed);
}

/// The days the clock is moved by (0 in normal running).
pub fn shift_days() -> i64 {
    SHIFT_DAYS.load(Ordering::Relaxed)
}

/// Today's date in the UK (the date on a wall calendar in England and Wales), which from
/// late March to late October is an hour ahead of UTC: between midnight and 1am BST the
/// UTC date is still yesterday's.
pub fn today() -> chrono::NaiveDate {
    utc_to_london(now()).date()
}

/// The last Sunday of March or October (both 31 days long), where the UK clocks change.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let last = NaiveDate::from_ymd_opt(year, month, 31)?;
    last.checked_sub_signed(TimeDelta::days(i64::from(
        last.weekday().num_days_from_sunday(),
    )))
}

/// The instants (UTC) where BST starts and ends in `year`: 01:00 UTC on the last Sundays of
/// March and October. `None` only at the very ends of chrono's range, which are read as GMT.
fn bst_bounds_utc(year: i32) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let one_am = |d: NaiveDate| d.and_time(NaiveTime::MIN) + TimeDelta::hours(1);
    Some((
        one_am(last_sunday(year, 3)?),
        one_am(last_sunday(year, 10)?),
    ))
}

/// Converts a UK wall-clock time to UTC. A time in the spring-forward gap (01:00–01:59, which
/// never shows on a UK clock) is read as BST, so it lands an hour earlier in UTC; a time in the
/// repeated autumn hour is read as its first (BST) occurrence.
pub fn london_to_utc(local: NaiveDateTime) -> NaiveDateTime {
    // On the wall clock BST runs from 01:00 (GMT) in March to 02:00 (BST) in October.
    match bst_bounds_utc(local.year()) {
        Some((start, end)) if local >= start && local < end + TimeDelta::hours(1) => {
            local - TimeDelta::hours(1)
        }
        _ => local,
    }
}

/// Converts a UTC time to the UK wall clock.
pub fn utc_to_london(utc: NaiveDateTime) -> NaiveDateTime {
    match bst_bounds_utc(utc.year()) {
        Some((start, end)) if utc >= start && utc < end => utc + TimeDelta::hours(1),
        _ => utc,
    }
}
