//! The one place the service reads the time: UTC, to the microsecond (both backends keep
//! microseconds, so a value read back equals the value written).

use chrono::{NaiveDateTime, Timelike, Utc};

pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

pub fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}
