//! The one place the service reads the time: UTC, to the microsecond (both backends keep
//! microseconds, so a value read back equals the value written), and the UK date for
//! anything a person reads or enters as a date.

use chrono::{NaiveDateTime, Timelike, Utc};

pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// Today's date in the UK (the date on a wall calendar in England and Wales), which from
/// late March to late October is an hour ahead of UTC: between midnight and 1am BST the
/// UTC date is still yesterday's.
pub fn today() -> chrono::NaiveDate {
    crate::sessions::calendar::utc_to_london(now()).date()
}
