//! Dates and times as GOV.UK writes them ("22 November 2026", "2:05pm"), in UK time.

use chrono::{NaiveDate, NaiveDateTime};

/// "22 November 2026".
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// "22 November 2026 at 2:05pm" in UK time, for a moment stored in UTC (every stored
/// timestamp is; a session's appointment time is stored as the UK time it is booked for and
/// is written by its own helper).
pub fn date_time(t: NaiveDateTime) -> String {
    let t = crate::clock::utc_to_london(t);
    let hour = t.format("%-I").to_string();
    let minute = t.format("%M").to_string();
    let ampm = t.format("%P").to_string();
    format!("{} at {}:{}{}", date(t.date()), hour, minute, ampm)
}

/// ISO 8601 for `<time datetime>`.
pub fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `s` with its first letter in capitals ("a withheld number" → "A withheld number").
/// "31,702": a whole number with its thousands separated.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

pub fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_the_gov_uk_way() {
        let t = NaiveDate::from_ymd_opt(2026, 11, 2)
            .unwrap()
            .and_hms_opt(14, 5, 0)
            .unwrap();
        assert_eq!(date(t.date()), "2 November 2026");
        // GMT in November: UK time is UTC.
        assert_eq!(date_time(t), "2 November 2026 at 2:05pm");
        // BST in July: an hour ahead, across midnight too.
        let summer = NaiveDate::from_ymd_opt(2026, 7, 1)
            .unwrap()
            .and_hms_opt(23, 30, 0)
            .unwrap();
        assert_eq!(date_time(summer), "2 July 2026 at 12:30am");
    }
}
