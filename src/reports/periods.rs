//! Reporting periods: calendar months, calendar quarters, UK financial years and custom date
//! ranges; how they are named for people and chart axes, and the stable code used in URLs.
//!
//! Years are limited to 1–9999 so every code has a four-digit year, sorts as text and parses back
//! to the same period. Constructors refuse dates outside that range; the operations that cannot
//! refuse (`financial_year`, `containing`, `previous`) stay inside it instead of panicking, so the
//! earliest period is its own `previous`.

use chrono::{Datelike, Days, Months, NaiveDate};

/// The first and last years a period may touch.
pub const FIRST_YEAR: i32 = 1;
pub const LAST_YEAR: i32 = 9999;

/// The longest custom period, in months.
const CUSTOM_MAX_MONTHS: u32 = 60;

const ENTER_A_PERIOD: &str =
    "Enter a period like 2026-11, 2026-Q3, FY2026 or 2026-05-01..2026-07-31";

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    Month,
    Quarter,
    FinancialYear,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodKind,
    pub start: NaiveDate,
    /// Inclusive.
    pub end: NaiveDate,
}

/// A date in the supported years, or `None`.
fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&year) {
        NaiveDate::from_ymd_opt(year, month, day)
    } else {
        None
    }
}

/// The first day of the supported range.
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// The last day of the supported range.
fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// The last day of a month in the supported years.
fn last_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    if month == 12 {
        ymd(year, 12, 31)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?.pred_opt()
    }
}

fn month_name(month: u32) -> &'static str {
    MONTHS
        .get(month.wrapping_sub(1) as usize)
        .copied()
        .unwrap_or("")
}

fn quarter_of(date: NaiveDate) -> u32 {
    date.month0() / 3 + 1
}

/// The year a financial year containing `day` starts in.
fn financial_year_of(day: NaiveDate) -> i32 {
    if day.month() >= 4 {
        day.year()
    } else {
        day.year() - 1
    }
}

impl Period {
    /// A calendar month; `None` for a month outside 1–12 or a year outside 1–9999.
    pub fn month(year: i32, month: u32) -> Option<Period> {
        Some(Period {
            kind: PeriodKind::Month,
            start: ymd(year, month, 1)?,
            end: last_of_month(year, month)?,
        })
    }

    /// A calendar quarter: Q1 is January to March.
    pub fn quarter(year: i32, q: u32) -> Option<Period> {
        if !(1..=4).contains(&q) {
            return None;
        }
        Some(Period {
            kind: PeriodKind::Quarter,
            start: ymd(year, q * 3 - 2, 1)?,
            end: last_of_month(year, q * 3)?,
        })
    }

    /// The UK financial year from 1 April `start_year` to 31 March the year after. A start year
    /// outside the supported range is brought to its nearest end.
    pub fn financial_year(start_year: i32) -> Period {
        let year = start_year.clamp(FIRST_YEAR, LAST_YEAR - 1);
        Period {
            kind: PeriodKind::FinancialYear,
            start: ymd(year, 4, 1).unwrap_or_else(first_day),
            end: ymd(year + 1, 3, 31).unwrap_or_else(last_day),
        }
    }

    /// Any range of whole days from `start` to `end` inclusive, at most five years long.
    pub fn custom(start: NaiveDate, end: NaiveDate) -> Result<Period, String> {
        if start < first_day() || end > last_day() {
            return Err("Enter dates in the years 1 to 9999".to_string());
        }
        if end < start {
            return Err("The end date must be the same as or after the start date".to_string());
        }
        let limit = start
            .checked_add_months(Months::new(CUSTOM_MAX_MONTHS))
            .unwrap_or_else(last_day);
        if end >= limit {
            return Err("A period can be at most 5 years long".to_string());
        }
        Ok(Period {
            kind: PeriodKind::Custom,
            start,
            end,
        })
    }

    /// The `months` whole months before the month of `today` (the last 12 or 36 months, say),
    /// so a small area's figures, withheld in any one month or quarter, can be read over a
    /// longer run. A custom period, so it reads back from its code.
    pub fn rolling(months: u32, today: NaiveDate) -> Period {
        let this_month = Period::containing(PeriodKind::Month, today);
        let end = this_month.start.pred_opt().unwrap_or(this_month.start);
        let start = this_month
            .start
            .checked_sub_months(Months::new(months.clamp(1, CUSTOM_MAX_MONTHS - 1)))
            .unwrap_or_else(first_day);
        Period {
            kind: PeriodKind::Custom,
            start,
            end,
        }
    }

    /// The month, quarter or financial year containing `day`; for `Custom`, the month.
    pub fn containing(kind: PeriodKind, day: NaiveDate) -> Period {
        let day = day.clamp(first_day(), last_day());
        let month = |d: NaiveDate| Period {
            kind: PeriodKind::Month,
            start: d.with_day(1).unwrap_or(d),
            end: last_of_month(d.year(), d.month()).unwrap_or(d),
        };
        match kind {
            PeriodKind::Month | PeriodKind::Custom => month(day),
            PeriodKind::Quarter => {
                Period::quarter(day.year(), quarter_of(day)).unwrap_or_else(|| month(day))
            }
            PeriodKind::FinancialYear => Period::financial_year(financial_year_of(day)),
        }
    }

    /// The period of the same kind just before this one; for a custom period, the same number
    /// of days immediately before it.
    pub fn previous(&self) -> Period {
        let Some(day_before) = self.start.pred_opt().filter(|d| *d >= first_day()) else {
            return *self;
        };
        match self.kind {
            PeriodKind::Custom => {
                let start = u64::try_from(self.days() - 1)
                    .ok()
                    .and_then(|len| day_before.checked_sub_days(Days::new(len)))
                    .unwrap_or(day_before)
                    .max(first_day());
                Period {
                    kind: PeriodKind::Custom,
                    start,
                    end: day_before,
                }
            }
            kind => Period::containing(kind, day_before),
        }
    }

    /// The `n` periods ending with this one, oldest first. Fewer at the start of year 1.
    pub fn series(&self, n: usize) -> Vec<Period> {
        let mut periods = Vec::with_capacity(n);
        let mut current = *self;
        while periods.len() < n {
            periods.push(current);
            let previous = current.previous();
            if previous == current {
                break;
            }
            current = previous;
        }
        periods.reverse();
        periods
    }

    /// How many days the period covers, counting both ends.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    pub fn weeks(&self) -> f64 {
        self.days() as f64 / 7.0
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d <= self.end
    }

    /// How the period is named in a sentence or heading, for example "November 2026".
    pub fn label(&self) -> String {
        let year = self.start.year();
        match self.kind {
            PeriodKind::Month => format!("{} {year}", month_name(self.start.month())),
            PeriodKind::Quarter => format!(
                "Q{} {year} ({} to {})",
                quarter_of(self.start),
                month_name(self.start.month()),
                month_name(self.end.month())
            ),
            PeriodKind::FinancialYear => format!("{year} to {} financial year", year + 1),
            PeriodKind::Custom => format!("{} to {}", long_date(self.start), long_date(self.end)),
        }
    }

    /// A short name for chart axes, for example "Nov 2026".
    pub fn short_label(&self) -> String {
        let year = self.start.year();
        match self.kind {
            PeriodKind::Month => format!("{} {year}", self.start.format("%b")),
            PeriodKind::Quarter => format!("Q{} {year}", quarter_of(self.start)),
            PeriodKind::FinancialYear => {
                format!("FY {year}-{:02}", (year + 1).rem_euclid(100))
            }
            PeriodKind::Custom => format!(
                "{}–{}",
                self.start.format("%d/%m/%y"),
                self.end.format("%d/%m/%y")
            ),
        }
    }

    /// The stable form used in URLs, for example "2026-11"; `parse` reads it back.
    pub fn code(&self) -> String {
        let year = self.start.year();
        match self.kind {
            PeriodKind::Month => format!("{year:04}-{:02}", self.start.month()),
            PeriodKind::Quarter => format!("{year:04}-Q{}", quarter_of(self.start)),
            PeriodKind::FinancialYear => format!("FY{year:04}"),
            PeriodKind::Custom => format!("{}..{}", date_code(self.start), date_code(self.end)),
        }
    }

    /// Reads a period from its code. Letters may be in either case and surrounding spaces are
    /// ignored; anything else gives a message to show the person who typed it.
    pub fn parse(code: &str) -> Result<Period, String> {
        let code = code.trim();
        let unrecognised = || ENTER_A_PERIOD.to_string();
        if let Some((start, end)) = code.split_once("..") {
            let start = parse_date(start.trim()).ok_or_else(unrecognised)?;
            let end = parse_date(end.trim()).ok_or_else(unrecognised)?;
            return Period::custom(start, end);
        }
        if let Some(year) = code
            .get(..2)
            .filter(|fy| fy.eq_ignore_ascii_case("FY"))
            .and_then(|_| code.get(2..))
        {
            let year = digits(year, 4).ok_or_else(unrecognised)?;
            // The year after 9999 is out of range.
            if !(FIRST_YEAR..LAST_YEAR).contains(&year) {
                return Err(unrecognised());
            }
            return Ok(Period::financial_year(year));
        }
        let (year, rest) = code.split_once('-').ok_or_else(unrecognised)?;
        let year = digits(year, 4).ok_or_else(unrecognised)?;
        let period = match rest.strip_prefix(['Q', 'q']) {
            Some(q) => Period::quarter(year, digits(q, 1).ok_or_else(unrecognised)? as u32),
            None => Period::month(year, digits(rest, 2).ok_or_else(unrecognised)? as u32),
        };
        period.ok_or_else(unrecognised)
    }
}

/// "1 May 2026".
fn long_date(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        date.day(),
        month_name(date.month()),
        date.year()
    )
}

/// "2026-05-01".
fn date_code(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// Exactly `len` ASCII digits.
fn digits(text: &str, len: usize) -> Option<i32> {
    if text.len() == len && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// "2026-05-01", strictly.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let mut parts = text.split('-');
    let year = digits(parts.next()?, 4)?;
    let month = digits(parts.next()?, 2)?;
    let day = digits(parts.next()?, 2)?;
    if parts.next().is_some() {
        return None;
    }
    ymd(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rolling_period_is_the_whole_months_before_this_one_and_reads_back() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let p = Period::rolling(12, today);
        assert_eq!(
            (p.start, p.end),
            (
                NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
            )
        );
        assert_eq!(Period::parse(&p.code()), Ok(p));
        let p = Period::rolling(36, NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
        assert_eq!(
            (p.start, p.end),
            (
                NaiveDate::from_ymd_opt(2023, 3, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
            )
        );
    }
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn months_run_from_the_first_to_the_last_day() {
        let feb = Period::month(2028, 2).unwrap();
        assert_eq!((feb.start, feb.end), (date(2028, 2, 1), date(2028, 2, 29)));
        let dec = Period::month(2026, 12).unwrap();
        assert_eq!(
            (dec.start, dec.end),
            (date(2026, 12, 1), date(2026, 12, 31))
        );
        assert_eq!(Period::month(2026, 0), None);
        assert_eq!(Period::month(2026, 13), None);
        assert_eq!(Period::month(0, 1), None);
        assert_eq!(Period::month(10_000, 1), None);
    }

    #[test]
    fn quarters_are_calendar_quarters() {
        let q3 = Period::quarter(2026, 3).unwrap();
        assert_eq!((q3.start, q3.end), (date(2026, 7, 1), date(2026, 9, 30)));
        assert_eq!(Period::quarter(2026, 1).unwrap().start, date(2026, 1, 1));
        assert_eq!(Period::quarter(2026, 4).unwrap().end, date(2026, 12, 31));
        assert_eq!(Period::quarter(2026, 0), None);
        assert_eq!(Period::quarter(2026, 5), None);
    }

    #[test]
    fn financial_years_turn_between_31_march_and_1_april() {
        let fy = Period::financial_year(2026);
        assert_eq!((fy.start, fy.end), (date(2026, 4, 1), date(2027, 3, 31)));
        let fy = PeriodKind::FinancialYear;
        assert_eq!(
            Period::containing(fy, date(2027, 3, 31)),
            Period::financial_year(2026)
        );
        assert_eq!(
            Period::containing(fy, date(2027, 4, 1)),
            Period::financial_year(2027)
        );
        assert_eq!(
            Period::containing(fy, date(2026, 4, 1)),
            Period::financial_year(2026)
        );
        assert_eq!(
            Period::containing(fy, date(2026, 3, 31)),
            Period::financial_year(2025)
        );
        assert_eq!(
            Period::financial_year(2026).previous(),
            Period::financial_year(2025)
        );
        assert_eq!(Period::financial_year(2027).days(), 366);
        assert_eq!(Period::financial_year(2028).days(), 365);
    }

    #[test]
    fn containing_finds_the_period_around_a_day() {
        let day = date(2026, 11, 22);
        assert_eq!(
            Period::containing(PeriodKind::Month, day),
            Period::month(2026, 11).unwrap()
        );
        assert_eq!(
            Period::containing(PeriodKind::Custom, day),
            Period::month(2026, 11).unwrap()
        );
        assert_eq!(
            Period::containing(PeriodKind::Quarter, day),
            Period::quarter(2026, 4).unwrap()
        );
        assert_eq!(
            Period::containing(PeriodKind::FinancialYear, day),
            Period::financial_year(2026)
        );
        assert_eq!(
            Period::containing(PeriodKind::Month, NaiveDate::MIN),
            Period::month(1, 1).unwrap()
        );
        assert_eq!(
            Period::containing(PeriodKind::FinancialYear, NaiveDate::MAX),
            Period::financial_year(9998)
        );
    }

    #[test]
    fn previous_steps_back_one_period() {
        assert_eq!(
            Period::month(2026, 1).unwrap().previous(),
            Period::month(2025, 12).unwrap()
        );
        assert_eq!(
            Period::quarter(2026, 1).unwrap().previous(),
            Period::quarter(2025, 4).unwrap()
        );
        let custom = Period::custom(date(2026, 5, 1), date(2026, 7, 31)).unwrap();
        assert_eq!(
            custom.previous(),
            Period::custom(date(2026, 1, 29), date(2026, 4, 30)).unwrap()
        );
        let first = Period::month(1, 1).unwrap();
        assert_eq!(first.previous(), first);
        assert_eq!(first.series(3), vec![first]);
    }

    #[test]
    fn custom_periods_are_checked() {
        let start = date(2026, 5, 1);
        assert!(Period::custom(start, start).is_ok());
        assert!(
            Period::custom(start, date(2026, 4, 30))
                .unwrap_err()
                .contains("after")
        );
        assert!(Period::custom(start, date(2031, 4, 30)).is_ok());
        assert!(
            Period::custom(start, date(2031, 5, 1))
                .unwrap_err()
                .contains("5 years")
        );
        assert!(Period::custom(date(0, 1, 1), start).is_err());
    }

    #[test]
    fn labels_codes_and_short_labels() {
        let cases = [
            (
                Period::month(2026, 11).unwrap(),
                "November 2026",
                "Nov 2026",
                "2026-11",
            ),
            (
                Period::quarter(2026, 3).unwrap(),
                "Q3 2026 (July to September)",
                "Q3 2026",
                "2026-Q3",
            ),
            (
                Period::financial_year(2026),
                "2026 to 2027 financial year",
                "FY 2026-27",
                "FY2026",
            ),
            (
                Period::financial_year(2099),
                "2099 to 2100 financial year",
                "FY 2099-00",
                "FY2099",
            ),
            (
                Period::custom(date(2026, 5, 1), date(2026, 7, 31)).unwrap(),
                "1 May 2026 to 31 July 2026",
                "01/05/26–31/07/26",
                "2026-05-01..2026-07-31",
            ),
        ];
        for (period, label, short, code) in cases {
            assert_eq!(period.label(), label);
            assert_eq!(period.short_label(), short);
            assert_eq!(period.code(), code);
            assert_eq!(Period::parse(code), Ok(period));
        }
    }

    #[test]
    fn parsing_is_forgiving_about_case_and_spaces_only() {
        assert_eq!(Period::parse(" fy2026 "), Ok(Period::financial_year(2026)));
        assert_eq!(
            Period::parse("2026-q3"),
            Period::quarter(2026, 3).ok_or(String::new())
        );
        for bad in [
            "",
            "2026",
            "2026-1",
            "2026-13",
            "2026-00",
            "2026-Q5",
            "2026-Q",
            "FY26",
            "FY9999",
            "26-11",
            "2026-11-01",
            "+2026-11",
            "2026-05-01..",
            "..2026-05-01",
            "2026-02-30..2026-03-01",
            "２０２６-11",
            "FY",
            "F",
        ] {
            assert_eq!(Period::parse(bad), Err(ENTER_A_PERIOD.to_string()), "{bad}");
        }
        assert!(
            Period::parse("2026-07-31..2026-05-01")
                .unwrap_err()
                .contains("after")
        );
    }

    #[test]
    fn weeks_and_contains() {
        let q = Period::quarter(2026, 3).unwrap();
        assert_eq!(q.days(), 92);
        assert!((q.weeks() - 92.0 / 7.0).abs() < 1e-12);
        assert!(q.contains(date(2026, 7, 1)) && q.contains(date(2026, 9, 30)));
        assert!(!q.contains(date(2026, 6, 30)) && !q.contains(date(2026, 10, 1)));
    }

    fn any_period() -> impl Strategy<Value = Period> {
        prop_oneof![
            (1i32..=9999, 1u32..=12).prop_map(|(y, m)| Period::month(y, m).unwrap()),
            (1i32..=9999, 1u32..=4).prop_map(|(y, q)| Period::quarter(y, q).unwrap()),
            (1i32..=9998).prop_map(Period::financial_year),
            (0i64..3_650_000, 0u64..(5 * 365)).prop_map(|(offset, len)| {
                let start = first_day() + chrono::Duration::days(offset);
                Period::custom(start, start + Days::new(len)).unwrap()
            }),
        ]
    }

    proptest! {
        #[test]
        fn codes_parse_back_to_the_same_period(period in any_period()) {
            prop_assert_eq!(Period::parse(&period.code()), Ok(period));
        }

        #[test]
        fn the_previous_period_ends_the_day_before(period in any_period()) {
            let previous = period.previous();
            prop_assume!(previous != period);
            prop_assert_eq!(previous.kind, period.kind);
            prop_assert_eq!(previous.end.succ_opt(), Some(period.start));
            if period.kind == PeriodKind::Custom && previous.start > first_day() {
                prop_assert_eq!(previous.days(), period.days());
            }
        }

        #[test]
        fn twelve_periods_are_contiguous(period in any_period()) {
            let series = period.series(12);
            prop_assert_eq!(series.last(), Some(&period));
            if period.start.year() > 70 {
                prop_assert_eq!(series.len(), 12);
            }
            for pair in series.windows(2) {
                prop_assert_eq!(pair[0].end.succ_opt(), Some(pair[1].start));
            }
        }

        #[test]
        fn a_period_contains_the_days_it_was_found_from(offset in 0i64..3_652_000) {
            let day = first_day() + chrono::Duration::days(offset);
            prop_assume!(day >= date(1, 4, 1) && day <= date(9999, 3, 31));
            for kind in [PeriodKind::Month, PeriodKind::Quarter, PeriodKind::FinancialYear] {
                let period = Period::containing(kind, day);
                prop_assert!(period.contains(day));
                prop_assert_eq!(period.kind, kind);
            }
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,30}") {
            let _ = Period::parse(&s);
        }

        #[test]
        fn parsing_code_shaped_text_never_panics(s in "(FY|fy)?[0-9Q.+-]{0,24}") {
            let _ = Period::parse(&s);
        }
    }
}
