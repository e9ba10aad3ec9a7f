//! The calendar facts the session plan rests on: England & Wales bank holidays for the years
//! the service plans in, the UK wall clock (GMT/BST), and an assistant psychologist's working
//! days.

use chrono::{Datelike, NaiveDate, Weekday};

/// The first year whose bank holidays are known.
pub const FIRST_YEAR: i32 = 2024;
/// The last year whose bank holidays are known; extend the table before plans reach past it.
pub const LAST_YEAR: i32 = 2032;

const HOLIDAY_COUNT: usize = 72;

/// Builds a date at compile time: an invalid constant fails the build, never a request.
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid bank holiday date"),
    }
}

/// Every England & Wales bank holiday from `FIRST_YEAR` to `LAST_YEAR`, sorted, written out
/// date by date so it can be checked against the published list; a test checks it against
/// the rules too. Names follow gov.uk.
const BANK_HOLIDAYS: [(NaiveDate, &str); HOLIDAY_COUNT] = [
    (ymd(2024, 1, 1), "New Year’s Day"),
    (ymd(2024, 3, 29), "Good Friday"),
    (ymd(2024, 4, 1), "Easter Monday"),
    (ymd(2024, 5, 6), "Early May bank holiday"),
    (ymd(2024, 5, 27), "Spring bank holiday"),
    (ymd(2024, 8, 26), "Summer bank holiday"),
    (ymd(2024, 12, 25), "Christmas Day"),
    (ymd(2024, 12, 26), "Boxing Day"),
    (ymd(2025, 1, 1), "New Year’s Day"),
    (ymd(2025, 4, 18), "Good Friday"),
    (ymd(2025, 4, 21), "Easter Monday"),
    (ymd(2025, 5, 5), "Early May bank holiday"),
    (ymd(2025, 5, 26), "Spring bank holiday"),
    (ymd(2025, 8, 25), "Summer bank holiday"),
    (ymd(2025, 12, 25), "Christmas Day"),
    (ymd(2025, 12, 26), "Boxing Day"),
    (ymd(2026, 1, 1), "New Year’s Day"),
    (ymd(2026, 4, 3), "Good Friday"),
    (ymd(2026, 4, 6), "Easter Monday"),
    (ymd(2026, 5, 4), "Early May bank holiday"),
    (ymd(2026, 5, 25), "Spring bank holiday"),
    (ymd(2026, 8, 31), "Summer bank holiday"),
    (ymd(2026, 12, 25), "Christmas Day"),
    (ymd(2026, 12, 28), "Boxing Day (substitute day)"),
    (ymd(2027, 1, 1), "New Year’s Day"),
    (ymd(2027, 3, 26), "Good Friday"),
    (ymd(2027, 3, 29), "Easter Monday"),
    (ymd(2027, 5, 3), "Early May bank holiday"),
    (ymd(2027, 5, 31), "Spring bank holiday"),
    (ymd(2027, 8, 30), "Summer bank holiday"),
    (ymd(2027, 12, 27), "Christmas Day (substitute day)"),
    (ymd(2027, 12, 28), "Boxing Day (substitute day)"),
    (ymd(2028, 1, 3), "New Year’s Day (substitute day)"),
    (ymd(2028, 4, 14), "Good Friday"),
    (ymd(2028, 4, 17), "Easter Monday"),
    (ymd(2028, 5, 1), "Early May bank holiday"),
    (ymd(2028, 5, 29), "Spring bank holiday"),
    (ymd(2028, 8, 28), "Summer bank holiday"),
    (ymd(2028, 12, 25), "Christmas Day"),
    (ymd(2028, 12, 26), "Boxing Day"),
    (ymd(2029, 1, 1), "New Year’s Day"),
    (ymd(2029, 3, 30), "Good Friday"),
    (ymd(2029, 4, 2), "Easter Monday"),
    (ymd(2029, 5, 7), "Early May bank holiday"),
    (ymd(2029, 5, 28), "Spring bank holiday"),
    (ymd(2029, 8, 27), "Summer bank holiday"),
    (ymd(2029, 12, 25), "Christmas Day"),
    (ymd(2029, 12, 26), "Boxing Day"),
    (ymd(2030, 1, 1), "New Year’s Day"),
    (ymd(2030, 4, 19), "Good Friday"),
    (ymd(2030, 4, 22), "Easter Monday"),
    (ymd(2030, 5, 6), "Early May bank holiday"),
    (ymd(2030, 5, 27), "Spring bank holiday"),
    (ymd(2030, 8, 26), "Summer bank holiday"),
    (ymd(2030, 12, 25), "Christmas Day"),
    (ymd(2030, 12, 26), "Boxing Day"),
    (ymd(2031, 1, 1), "New Year’s Day"),
    (ymd(2031, 4, 11), "Good Friday"),
    (ymd(2031, 4, 14), "Easter Monday"),
    (ymd(2031, 5, 5), "Early May bank holiday"),
    (ymd(2031, 5, 26), "Spring bank holiday"),
    (ymd(2031, 8, 25), "Summer bank holiday"),
    (ymd(2031, 12, 25), "Christmas Day"),
    (ymd(2031, 12, 26), "Boxing Day"),
    (ymd(2032, 1, 1), "New Year’s Day"),
    (ymd(2032, 3, 26), "Good Friday"),
    (ymd(2032, 3, 29), "Easter Monday"),
    (ymd(2032, 5, 3), "Early May bank holiday"),
    (ymd(2032, 5, 31), "Spring bank holiday"),
    (ymd(2032, 8, 30), "Summer bank holiday"),
    (ymd(2032, 12, 27), "Christmas Day (substitute day)"),
    (ymd(2032, 12, 28), "Boxing Day (substitute day)"),
];

const fn holiday_dates() -> [NaiveDate; HOLIDAY_COUNT] {
    let mut dates = [NaiveDate::MIN; HOLIDAY_COUNT];
    let mut i = 0;
    while i < HOLIDAY_COUNT {
        dates[i] = BANK_HOLIDAYS[i].0;
        i += 1;
    }
    dates
}

static HOLIDAY_DATES: [NaiveDate; HOLIDAY_COUNT] = holiday_dates();

/// Every known bank holiday, sorted.
pub fn bank_holidays() -> &'static [NaiveDate] {
    &HOLIDAY_DATES
}

pub fn is_bank_holiday(day: NaiveDate) -> bool {
    HOLIDAY_DATES.binary_search(&day).is_ok()
}

/// The gov.uk name of the bank holiday on `day`, if it is one.
pub fn bank_holiday_name(day: NaiveDate) -> Option<&'static str> {
    HOLIDAY_DATES
        .binary_search(&day)
        .ok()
        .map(|i| BANK_HOLIDAYS[i].1)
}

/// Whether bank holidays are known for `day`'s year; outside it nothing may be planned.
pub fn covers(day: NaiveDate) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&day.year())
}

const DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The days of the week an assistant psychologist works: bit 0 is Monday, bit 6 Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkingDays(u8);

impl WorkingDays {
    /// Monday to Friday.
    pub const WEEKDAYS: WorkingDays = WorkingDays(0b001_1111);

    fn bit(day: Weekday) -> u8 {
        1 << day.num_days_from_monday()
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Self::bit(day) != 0
    }

    pub fn from_days(days: &[Weekday]) -> WorkingDays {
        WorkingDays(days.iter().fold(0, |mask, &d| mask | Self::bit(d)))
    }

    /// The working days, Monday first.
    pub fn days(self) -> Vec<Weekday> {
        DAYS.into_iter().filter(|&d| self.contains(d)).collect()
    }

    pub fn count(self) -> u32 {
        self.0.count_ones()
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The stored form, e.g. "mon,tue,wed,thu,fri": Monday first, so equal sets store equally.
    pub fn as_code(self) -> String {
        self.days()
            .into_iter()
            .map(day_code)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form (or a form field), ignoring case and spaces.
    pub fn parse(s: &str) -> Result<WorkingDays, String> {
        let mut days = Vec::new();
        for part in s.split(',') {
            let code = part.trim().to_ascii_lowercase();
            if code.is_empty() {
                continue;
            }
            match DAYS.into_iter().find(|&d| day_code(d) == code) {
                Some(day) => days.push(day),
                None => return Err(format!("‘{}’ is not a day of the week", part.trim())),
            }
        }
        if days.is_empty() {
            return Err("Select at least one working day".to_string());
        }
        Ok(WorkingDays::from_days(&days))
    }

    /// For people: "Monday to Friday", or "Monday, Wednesday and Friday".
    pub fn describe(self) -> String {
        if self == WorkingDays::WEEKDAYS {
            return "Monday to Friday".to_string();
        }
        let labels: Vec<&str> = self.days().into_iter().map(day_label).collect();
        match labels.split_last() {
            None => "No working days".to_string(),
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} and {}", rest.join(", "), last),
        }
    }
}

pub fn day_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

pub fn day_label(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{london_to_utc, utc_to_london};
    use chrono::{NaiveDateTime, TimeDelta, Timelike};
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test date")
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        date(y, m, d).and_hms_opt(h, min, 0).expect("test time")
    }

    /// Easter Sunday by the anonymous Gregorian algorithm.
    fn easter(y: i32) -> NaiveDate {
        let a = y % 19;
        let b = y / 100;
        let c = y % 100;
        let d = b / 4;
        let e = b % 4;
        let f = (b + 8) / 25;
        let g = (b - f + 1) / 3;
        let h = (19 * a + b - d - g + 15) % 30;
        let i = c / 4;
        let k = c % 4;
        let l = (32 + 2 * e + 2 * i - h - k) % 7;
        let m = (a + 11 * h + 22 * l) / 451;
        let month = (h + l - 7 * m + 114) / 31;
        let day = (h + l - 7 * m + 114) % 31 + 1;
        date(y, month as u32, day as u32)
    }

    fn is_weekend(d: NaiveDate) -> bool {
        matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn next_monday(d: NaiveDate) -> NaiveDate {
        let mut d = d;
        while d.weekday() != Weekday::Mon {
            d = d.succ_opt().expect("in range");
        }
        d
    }

    /// The rules, applied from scratch, for comparison with the written-out table.
    fn by_rule(y: i32) -> Vec<(NaiveDate, String)> {
        const SUB: &str = " (substitute day)";
        let mut out = Vec::new();
        let new_year = date(y, 1, 1);
        if is_weekend(new_year) {
            out.push((next_monday(new_year), format!("New Year’s Day{SUB}")));
        } else {
            out.push((new_year, "New Year’s Day".to_string()));
        }
        let e = easter(y);
        out.push((e - TimeDelta::days(2), "Good Friday".to_string()));
        out.push((e + TimeDelta::days(1), "Easter Monday".to_string()));
        out.push((
            next_monday(date(y, 5, 1)),
            "Early May bank holiday".to_string(),
        ));
        let last_monday = |m: u32, d: u32| {
            let end = date(y, m, d);
            end - TimeDelta::days(i64::from(end.weekday().num_days_from_monday()))
        };
        out.push((last_monday(5, 31), "Spring bank holiday".to_string()));
        out.push((last_monday(8, 31), "Summer bank holiday".to_string()));
        match date(y, 12, 25).weekday() {
            Weekday::Sat => {
                out.push((date(y, 12, 27), format!("Christmas Day{SUB}")));
                out.push((date(y, 12, 28), format!("Boxing Day{SUB}")));
            }
            Weekday::Sun => {
                out.push((date(y, 12, 26), "Boxing Day".to_string()));
                out.push((date(y, 12, 27), format!("Christmas Day{SUB}")));
            }
            Weekday::Fri => {
                out.push((date(y, 12, 25), "Christmas Day".to_string()));
                out.push((date(y, 12, 28), format!("Boxing Day{SUB}")));
            }
            _ => {
                out.push((date(y, 12, 25), "Christmas Day".to_string()));
                out.push((date(y, 12, 26), "Boxing Day".to_string()));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_table_matches_the_rules_for_every_year() {
        for y in FIRST_YEAR..=LAST_YEAR {
            let table: Vec<(NaiveDate, String)> = BANK_HOLIDAYS
                .iter()
                .filter(|(d, _)| d.year() == y)
                .map(|(d, n)| (*d, (*n).to_string()))
                .collect();
            assert_eq!(table, by_rule(y), "year {y}");
        }
    }

    #[test]
    fn the_table_is_sorted_with_eight_weekday_holidays_a_year() {
        assert!(HOLIDAY_DATES.windows(2).all(|w| w[0] < w[1]));
        for y in FIRST_YEAR..=LAST_YEAR {
            assert_eq!(HOLIDAY_DATES.iter().filter(|d| d.year() == y).count(), 8);
        }
        assert!(HOLIDAY_DATES.iter().all(|&d| !is_weekend(d) && covers(d)));
    }

    #[test]
    fn the_published_dates_are_present() {
        let published = [
            (
                2024,
                [
                    (1, 1),
                    (3, 29),
                    (4, 1),
                    (5, 6),
                    (5, 27),
                    (8, 26),
                    (12, 25),
                    (12, 26),
                ],
            ),
            (
                2025,
                [
                    (1, 1),
                    (4, 18),
                    (4, 21),
                    (5, 5),
                    (5, 26),
                    (8, 25),
                    (12, 25),
                    (12, 26),
                ],
            ),
            (
                2026,
                [
                    (1, 1),
                    (4, 3),
                    (4, 6),
                    (5, 4),
                    (5, 25),
                    (8, 31),
                    (12, 25),
                    (12, 28),
                ],
            ),
            (
                2027,
                [
                    (1, 1),
                    (3, 26),
                    (3, 29),
                    (5, 3),
                    (5, 31),
                    (8, 30),
                    (12, 27),
                    (12, 28),
                ],
            ),
        ];
        for (y, days) in published {
            for (m, d) in days {
                assert!(is_bank_holiday(date(y, m, d)), "{y}-{m}-{d}");
            }
        }
        assert_eq!(
            bank_holiday_name(date(2026, 12, 28)),
            Some("Boxing Day (substitute day)")
        );
        assert_eq!(
            bank_holiday_name(date(2027, 12, 27)),
            Some("Christmas Day (substitute day)")
        );
        assert_eq!(bank_holiday_name(date(2026, 12, 29)), None);
        assert_eq!(bank_holidays().len(), HOLIDAY_COUNT);
    }

    #[test]
    fn coverage_is_the_table_years() {
        assert!(covers(date(2024, 1, 1)));
        assert!(covers(date(2032, 12, 31)));
        assert!(!covers(date(2023, 12, 31)));
        assert!(!covers(date(2033, 1, 1)));
    }

    #[test]
    fn spring_forward_2026() {
        // Clocks go forward at 01:00 UTC on 29 March 2026.
        assert_eq!(
            utc_to_london(at(2026, 3, 29, 0, 59)),
            at(2026, 3, 29, 0, 59)
        );
        assert_eq!(utc_to_london(at(2026, 3, 29, 1, 0)), at(2026, 3, 29, 2, 0));
        assert_eq!(
            london_to_utc(at(2026, 3, 29, 0, 59)),
            at(2026, 3, 29, 0, 59)
        );
        assert_eq!(london_to_utc(at(2026, 3, 29, 2, 0)), at(2026, 3, 29, 1, 0));
        // The gap hour never shows on a clock; it is read as BST.
        assert_eq!(
            london_to_utc(at(2026, 3, 29, 1, 30)),
            at(2026, 3, 29, 0, 30)
        );
        assert_eq!(london_to_utc(at(2026, 6, 1, 10, 0)), at(2026, 6, 1, 9, 0));
    }

    #[test]
    fn fall_back_2026() {
        // Clocks go back at 01:00 UTC on 25 October 2026.
        assert_eq!(
            utc_to_london(at(2026, 10, 25, 0, 30)),
            at(2026, 10, 25, 1, 30)
        );
        assert_eq!(
            utc_to_london(at(2026, 10, 25, 1, 0)),
            at(2026, 10, 25, 1, 0)
        );
        assert_eq!(
            utc_to_london(at(2026, 10, 25, 1, 30)),
            at(2026, 10, 25, 1, 30)
        );
        // The repeated hour is read as its first, BST, occurrence.
        assert_eq!(
            london_to_utc(at(2026, 10, 25, 1, 30)),
            at(2026, 10, 25, 0, 30)
        );
        assert_eq!(
            london_to_utc(at(2026, 10, 25, 2, 0)),
            at(2026, 10, 25, 2, 0)
        );
        assert_eq!(
            london_to_utc(at(2026, 12, 1, 10, 0)),
            at(2026, 12, 1, 10, 0)
        );
    }

    proptest! {
        #[test]
        fn utc_round_trips_through_the_uk_clock(minutes in 0i64..(9 * 366 * 24 * 60)) {
            let utc = at(2024, 1, 1, 0, 0) + TimeDelta::minutes(minutes);
            let back = london_to_utc(utc_to_london(utc));
            // The autumn hour that the UK clock shows twice reads as its first (BST) showing:
            // the hour of UTC just after BST ends comes back an hour early, as documented.
            let local = utc_to_london(utc);
            let repeated = local == utc
                && local.month() == 10
                && local.weekday() == chrono::Weekday::Sun
                && local.day() > 24
                && local.hour() == 1;
            if repeated {
                prop_assert_eq!(back, utc - TimeDelta::hours(1));
            } else {
                prop_assert_eq!(back, utc);
            }
        }

        #[test]
        fn working_days_round_trip_through_their_code(mask in 1u8..128) {
            let days = WorkingDays(mask);
            prop_assert_eq!(WorkingDays::parse(&days.as_code()), Ok(days));
            prop_assert_eq!(WorkingDays::from_days(&days.days()), days);
            prop_assert_eq!(days.count() as usize, days.days().len());
        }
    }

    #[test]
    fn working_days_parse_and_describe() {
        assert_eq!(WorkingDays::WEEKDAYS.as_code(), "mon,tue,wed,thu,fri");
        assert_eq!(
            WorkingDays::parse(" Fri, MON ,wed"),
            Ok(WorkingDays::from_days(&[
                Weekday::Mon,
                Weekday::Wed,
                Weekday::Fri
            ]))
        );
        assert_eq!(
            WorkingDays::parse(""),
            Err("Select at least one working day".to_string())
        );
        assert!(WorkingDays::parse("mon,funday").is_err());
        assert_eq!(WorkingDays::WEEKDAYS.describe(), "Monday to Friday");
        assert_eq!(
            WorkingDays::from_days(&[Weekday::Mon, Weekday::Wed, Weekday::Fri]).describe(),
            "Monday, Wednesday and Friday"
        );
        assert_eq!(
            WorkingDays::from_days(&[Weekday::Sat]).describe(),
            "Saturday"
        );
        assert!(WorkingDays::from_days(&[]).is_empty());
        assert!(!WorkingDays::WEEKDAYS.contains(Weekday::Sun));
    }
}
