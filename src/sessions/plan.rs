//! The 12-session plan: where each appointment goes, given the cadence, the assistant
//! psychologist's working days, bank holidays, service closures and the existing diary. Pure:
//! the diary is asked through the `Diary` trait, so the rules are tested without a database.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

use crate::coded_enum;
use crate::sessions::calendar::{self, WorkingDays};

coded_enum! {
    /// How often sessions happen.
    pub enum Cadence {
        Weekly = ("weekly", "Weekly"),
        Fortnightly = ("fortnightly", "Every two weeks"),
    }
}

impl Cadence {
    /// Days between nominal session days.
    pub fn days(self) -> i64 {
        match self {
            Cadence::Weekly => 7,
            Cadence::Fortnightly => 14,
        }
    }
}

/// Appointments start on the quarter hour.
pub const SLOT_MINUTES: u32 = 15;
pub const DEFAULT_MINUTES: u32 = 50;
pub const MIN_MINUTES: u32 = 15;
pub const MAX_MINUTES: u32 = 180;
pub const SESSIONS_IN_PLAN: u32 = 12;

/// How far past its nominal day one session may move before the plan gives up: beyond that the
/// diary is too full (or the service closed too long) for the cadence to mean anything.
const MAX_SEARCH_DAYS: i64 = 60;

fn slot_seconds() -> i64 {
    i64::from(SLOT_MINUTES) * 60
}

/// The start of the quarter hour containing `t`.
fn floor_slot(t: NaiveDateTime) -> NaiveDateTime {
    let into_slot = i64::from(t.minute() % SLOT_MINUTES) * 60 + i64::from(t.second());
    t - TimeDelta::seconds(into_slot) - TimeDelta::nanoseconds(i64::from(t.nanosecond()))
}

/// The half-open span of quarter hours an appointment occupies.
fn span(start: NaiveDateTime, minutes: u32) -> (NaiveDateTime, NaiveDateTime) {
    let lo = floor_slot(start);
    let end = start + TimeDelta::minutes(i64::from(minutes));
    let end_floor = floor_slot(end);
    let hi = if end_floor == end {
        end
    } else {
        end_floor + TimeDelta::seconds(slot_seconds())
    };
    (lo, hi)
}

/// The quarter-hour blocks an appointment occupies: from its start (on a quarter hour) to its
/// end rounded up to the next quarter hour, e.g. 10:00 for 50 minutes occupies 10:00, 10:15,
/// 10:30 and 10:45, so nothing else can start until 11:00.
pub fn blocks(start: NaiveDateTime, minutes: u32) -> Vec<NaiveDateTime> {
    let (lo, hi) = span(start, minutes);
    let step = TimeDelta::seconds(slot_seconds());
    std::iter::successors(Some(lo), |&b| Some(b + step))
        .take_while(|&b| b < hi)
        .collect()
}

/// True when the two appointments share a block.
pub fn overlaps(a: NaiveDateTime, a_minutes: u32, b: NaiveDateTime, b_minutes: u32) -> bool {
    let (a_lo, a_hi) = span(a, a_minutes);
    let (b_lo, b_hi) = span(b, b_minutes);
    a_lo < a_hi && b_lo < b_hi && a_lo < b_hi && b_lo < a_hi
}

/// What the plan is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// Local (UK wall clock) start of the first session.
    pub first: NaiveDateTime,
    pub cadence: Cadence,
    pub minutes: u32,
    /// Usually 12; fewer when some are already delivered.
    pub count: u32,
    pub working_days: WorkingDays,
    /// Requirement end date, inclusive: every session must be on or before it.
    pub end_date: NaiveDate,
}

/// What the generator needs to know about the diary. Closures are admin-configured service
/// closure days; `is_busy` says whether the assistant psychologist already has an appointment
/// overlapping `[start, start + minutes)`.
pub trait Diary {
    fn is_closed(&self, day: NaiveDate) -> bool;
    fn is_busy(&self, start: NaiveDateTime, minutes: u32) -> bool;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The first appointment itself cannot be used; `why` is a sentence fragment such as
    /// "is a bank holiday (Christmas Day)".
    FirstUnavailable { day: NaiveDate, why: String },
    /// The start is not on a quarter hour, the length is out of range, or nothing was asked for.
    BadTime(String),
    /// The last session would fall on `needed`, after the requirement ends.
    PastEndDate {
        needed: NaiveDate,
        end_date: NaiveDate,
    },
    /// A date outside `FIRST_YEAR..=LAST_YEAR`, where bank holidays are unknown.
    NoCalendar { day: NaiveDate },
    /// No usable day within 60 days of `from`: the diary or closures block the whole stretch.
    NoFreeDay { from: NaiveDate },
}

fn long_date(day: NaiveDate) -> String {
    day.format("%-d %B %Y").to_string()
}

impl PlanError {
    /// The message shown to the person planning, as full sentences.
    pub fn message(&self) -> String {
        match self {
            PlanError::FirstUnavailable { day, why } => format!(
                "The first session cannot be on {} because it {}. Choose another date or time.",
                long_date(*day),
                why
            ),
            PlanError::BadTime(why) => why.clone(),
            PlanError::PastEndDate { needed, end_date } => format!(
                "The sessions would run until {}, after the requirement ends on {}. Choose an \
                 earlier first session or weekly sessions.",
                long_date(*needed),
                long_date(*end_date)
            ),
            PlanError::NoCalendar { day } => format!(
                "Sessions cannot be planned on {} because bank holidays are only known from {} \
                 to {}.",
                long_date(*day),
                calendar::FIRST_YEAR,
                calendar::LAST_YEAR
            ),
            PlanError::NoFreeDay { from } => format!(
                "There is no free day for a session in the {} days from {}. Free some time in \
                 the diary or choose another time of day.",
                MAX_SEARCH_DAYS,
                long_date(*from)
            ),
        }
    }
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for PlanError {}

fn check_minutes(minutes: u32) -> Result<(), PlanError> {
    if !(MIN_MINUTES..=MAX_MINUTES).contains(&minutes) || !minutes.is_multiple_of(5) {
        return Err(PlanError::BadTime(format!(
            "Session length must be between {MIN_MINUTES} and {MAX_MINUTES} minutes, in steps \
             of 5 minutes"
        )));
    }
    Ok(())
}

fn check_start(start: NaiveDateTime) -> Result<(), PlanError> {
    if floor_slot(start) != start {
        return Err(PlanError::BadTime(
            "Sessions must start on the hour or at quarter past, half past or quarter to"
                .to_string(),
        ));
    }
    Ok(())
}

/// Why `start` cannot take a session, or `None` when it can. Days outside the calendar and
/// after the end date are the caller's concern.
fn unavailable(
    start: NaiveDateTime,
    minutes: u32,
    working_days: WorkingDays,
    diary: &dyn Diary,
) -> Option<String> {
    let day = start.date();
    if let Some(name) = calendar::bank_holiday_name(day) {
        return Some(format!("is a bank holiday ({name})"));
    }
    if diary.is_closed(day) {
        return Some("is a service closure day".to_string());
    }
    if !working_days.contains(day.weekday()) {
        return Some("is not one of the assistant psychologist’s working days".to_string());
    }
    if diary.is_busy(start, minutes) {
        return Some("clashes with another appointment".to_string());
    }
    None
}

/// The first usable day on or after `from`, at `time`, within the search window.
fn place(
    from: NaiveDate,
    time: NaiveTime,
    minutes: u32,
    working_days: WorkingDays,
    end_date: NaiveDate,
    diary: &dyn Diary,
) -> Result<NaiveDateTime, PlanError> {
    let mut day = from;
    for _ in 0..=MAX_SEARCH_DAYS {
        if day > end_date {
            return Err(PlanError::PastEndDate {
                needed: day,
                end_date,
            });
        }
        if !calendar::covers(day) {
            return Err(PlanError::NoCalendar { day });
        }
        let start = day.and_time(time);
        if unavailable(start, minutes, working_days, diary).is_none() {
            return Ok(start);
        }
        day = day.succ_opt().ok_or(PlanError::NoCalendar { day })?;
    }
    Err(PlanError::NoFreeDay { from })
}

/// Dates and times of `count` appointments. Session 0 is exactly `first`; session k's nominal
/// day is `first` plus k cadences, moved forward to the first day (and never the same day as
/// the session before) that is a working day, not a bank holiday or closure, and free at the
/// same time. Nominal days stay anchored to `first`, so one moved session does not push every
/// later one.
pub fn generate(req: &PlanRequest, diary: &dyn Diary) -> Result<Vec<NaiveDateTime>, PlanError> {
    match plan_within(req, diary) {
        Err(PlanError::PastEndDate { needed, end_date }) => {
            // Say when the whole plan would really end, so the planner can judge how far off
            // it is; fall back to the first day past the end when even that cannot be placed.
            let unbounded = PlanRequest {
                end_date: NaiveDate::MAX,
                ..req.clone()
            };
            let needed = plan_within(&unbounded, diary)
                .ok()
                .and_then(|plan| plan.last().map(NaiveDateTime::date))
                .unwrap_or(needed);
            Err(PlanError::PastEndDate { needed, end_date })
        }
        other => other,
    }
}

fn plan_within(req: &PlanRequest, diary: &dyn Diary) -> Result<Vec<NaiveDateTime>, PlanError> {
    check_start(req.first)?;
    check_minutes(req.minutes)?;
    if req.count == 0 {
        return Err(PlanError::BadTime("Plan at least one session".to_string()));
    }
    let first_day = req.first.date();
    if !calendar::covers(first_day) {
        return Err(PlanError::NoCalendar { day: first_day });
    }
    if first_day > req.end_date {
        return Err(PlanError::PastEndDate {
            needed: first_day,
            end_date: req.end_date,
        });
    }
    if let Some(why) = unavailable(req.first, req.minutes, req.working_days, diary) {
        return Err(PlanError::FirstUnavailable {
            day: first_day,
            why,
        });
    }

    let mut sessions = vec![req.first];
    let mut previous = first_day;
    for k in 1..i64::from(req.count) {
        let nominal = first_day
            .checked_add_signed(TimeDelta::days(k * req.cadence.days()))
            .ok_or(PlanError::NoCalendar { day: previous })?;
        let day_after = previous
            .succ_opt()
            .ok_or(PlanError::NoCalendar { day: previous })?;
        let start = place(
            nominal.max(day_after),
            req.first.time(),
            req.minutes,
            req.working_days,
            req.end_date,
            diary,
        )?;
        previous = start.date();
        sessions.push(start);
    }
    Ok(sessions)
}

/// Where to put one extra appointment (a replacement for one cancelled by the service) after
/// `after`, the last current appointment: one cadence on, at the same time, by the same rules.
pub fn next_after(
    after: NaiveDateTime,
    cadence: Cadence,
    minutes: u32,
    working_days: WorkingDays,
    end_date: NaiveDate,
    diary: &dyn Diary,
) -> Result<NaiveDateTime, PlanError> {
    check_start(after)?;
    check_minutes(minutes)?;
    let nominal = after
        .date()
        .checked_add_signed(TimeDelta::days(cadence.days()))
        .ok_or(PlanError::NoCalendar { day: after.date() })?;
    place(
        nominal,
        after.time(),
        minutes,
        working_days,
        end_date,
        diary,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Default)]
    struct TestDiary {
        closures: BTreeSet<NaiveDate>,
        busy: Vec<(NaiveDateTime, u32)>,
    }

    impl Diary for TestDiary {
        fn is_closed(&self, day: NaiveDate) -> bool {
            self.closures.contains(&day)
        }

        fn is_busy(&self, start: NaiveDateTime, minutes: u32) -> bool {
            self.busy
                .iter()
                .any(|&(b, b_minutes)| overlaps(start, minutes, b, b_minutes))
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test date")
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        date(y, m, d).and_hms_opt(h, min, 0).expect("test time")
    }

    fn request(first: NaiveDateTime, cadence: Cadence, end_date: NaiveDate) -> PlanRequest {
        PlanRequest {
            first,
            cadence,
            minutes: DEFAULT_MINUTES,
            count: SESSIONS_IN_PLAN,
            working_days: WorkingDays::WEEKDAYS,
            end_date,
        }
    }

    #[test]
    fn blocks_round_the_end_up_to_the_quarter_hour() {
        assert_eq!(
            blocks(at(2026, 5, 5, 10, 0), 50),
            vec![
                at(2026, 5, 5, 10, 0),
                at(2026, 5, 5, 10, 15),
                at(2026, 5, 5, 10, 30),
                at(2026, 5, 5, 10, 45)
            ]
        );
        assert_eq!(blocks(at(2026, 5, 5, 10, 0), 60).len(), 4);
        assert!(overlaps(
            at(2026, 5, 5, 10, 0),
            50,
            at(2026, 5, 5, 10, 45),
            15
        ));
        assert!(!overlaps(
            at(2026, 5, 5, 10, 0),
            50,
            at(2026, 5, 5, 11, 0),
            15
        ));
        assert!(!overlaps(
            at(2026, 5, 5, 10, 0),
            60,
            at(2026, 5, 5, 11, 0),
            60
        ));
    }

    #[test]
    fn a_weekly_monday_plan_steps_over_the_christmas_holidays() {
        let plan = generate(
            &request(at(2026, 12, 14, 10, 0), Cadence::Weekly, date(2027, 12, 31)),
            &TestDiary::default(),
        )
        .expect("plan");
        assert_eq!(plan.len(), 12);
        assert_eq!(plan[1], at(2026, 12, 21, 10, 0));
        // 28 December 2026 is the Boxing Day substitute.
        assert_eq!(plan[2], at(2026, 12, 29, 10, 0));
        // The cadence stays anchored to the first Monday.
        assert_eq!(plan[3], at(2027, 1, 4, 10, 0));
    }

    #[test]
    fn fortnightly_sessions_are_two_weeks_apart() {
        let plan = generate(
            &request(
                at(2026, 6, 2, 14, 30),
                Cadence::Fortnightly,
                date(2027, 12, 31),
            ),
            &TestDiary::default(),
        )
        .expect("plan");
        for pair in plan.windows(2) {
            assert_eq!(pair[1] - pair[0], TimeDelta::days(14));
        }
    }

    #[test]
    fn a_busy_slot_or_closure_moves_the_session_to_the_next_free_day() {
        let diary = TestDiary {
            closures: BTreeSet::from([date(2026, 6, 9)]),
            busy: vec![(at(2026, 6, 10, 9, 30), 60), (at(2026, 6, 16, 8, 0), 180)],
        };
        let plan = generate(
            &request(at(2026, 6, 2, 10, 0), Cadence::Weekly, date(2027, 12, 31)),
            &diary,
        )
        .expect("plan");
        assert_eq!(plan[1], at(2026, 6, 11, 10, 0));
        assert_eq!(plan[2], at(2026, 6, 17, 10, 0));
        assert_eq!(plan[3], at(2026, 6, 23, 10, 0));
    }

    #[test]
    fn the_first_session_must_itself_be_usable() {
        let err = generate(
            &request(at(2026, 12, 25, 10, 0), Cadence::Weekly, date(2027, 12, 31)),
            &TestDiary::default(),
        )
        .expect_err("christmas");
        assert_eq!(
            err,
            PlanError::FirstUnavailable {
                day: date(2026, 12, 25),
                why: "is a bank holiday (Christmas Day)".to_string()
            }
        );
        assert_eq!(
            err.message(),
            "The first session cannot be on 25 December 2026 because it is a bank holiday \
             (Christmas Day). Choose another date or time."
        );
        let saturday = generate(
            &request(at(2026, 12, 19, 10, 0), Cadence::Weekly, date(2027, 12, 31)),
            &TestDiary::default(),
        );
        assert!(matches!(saturday, Err(PlanError::FirstUnavailable { .. })));
    }

    #[test]
    fn bad_times_are_refused() {
        let diary = TestDiary::default();
        let mut req = request(at(2026, 6, 2, 10, 5), Cadence::Weekly, date(2027, 12, 31));
        assert!(matches!(generate(&req, &diary), Err(PlanError::BadTime(_))));
        req.first = at(2026, 6, 2, 10, 0);
        req.minutes = 52;
        assert!(matches!(generate(&req, &diary), Err(PlanError::BadTime(_))));
        req.minutes = 185;
        assert!(matches!(generate(&req, &diary), Err(PlanError::BadTime(_))));
        req.minutes = 50;
        req.count = 0;
        assert!(matches!(generate(&req, &diary), Err(PlanError::BadTime(_))));
        req.count = 1;
        req.first = at(2033, 1, 4, 10, 0);
        req.end_date = date(2034, 1, 1);
        assert_eq!(
            generate(&req, &diary),
            Err(PlanError::NoCalendar {
                day: date(2033, 1, 4)
            })
        );
    }

    #[test]
    fn a_plan_past_the_end_date_is_refused_with_the_day_it_needed() {
        let err = generate(
            &request(
                at(2026, 11, 2, 10, 0),
                Cadence::Fortnightly,
                date(2027, 2, 1),
            ),
            &TestDiary::default(),
        )
        .expect_err("too long");
        assert_eq!(
            err,
            PlanError::PastEndDate {
                needed: date(2027, 4, 5),
                end_date: date(2027, 2, 1)
            }
        );
        assert_eq!(
            err.message(),
            "The sessions would run until 5 April 2027, after the requirement ends on 1 \
             February 2027. Choose an earlier first session or weekly sessions."
        );
    }

    #[test]
    fn a_diary_full_for_two_months_gives_up() {
        let diary = TestDiary {
            closures: (0..90)
                .map(|i| date(2026, 6, 3) + TimeDelta::days(i))
                .collect(),
            busy: Vec::new(),
        };
        let err = generate(
            &request(at(2026, 6, 2, 10, 0), Cadence::Weekly, date(2027, 12, 31)),
            &diary,
        )
        .expect_err("no room");
        assert_eq!(
            err,
            PlanError::NoFreeDay {
                from: date(2026, 6, 9)
            }
        );
    }

    #[test]
    fn a_replacement_goes_one_cadence_after_the_last_session() {
        let diary = TestDiary::default();
        let next = next_after(
            at(2026, 12, 21, 10, 0),
            Cadence::Weekly,
            50,
            WorkingDays::WEEKDAYS,
            date(2027, 6, 1),
            &diary,
        );
        assert_eq!(next, Ok(at(2026, 12, 29, 10, 0)));
        let late = next_after(
            at(2026, 12, 21, 10, 0),
            Cadence::Fortnightly,
            50,
            WorkingDays::WEEKDAYS,
            date(2026, 12, 31),
            &diary,
        );
        assert_eq!(
            late,
            Err(PlanError::PastEndDate {
                needed: date(2027, 1, 4),
                end_date: date(2026, 12, 31)
            })
        );
    }

    /// A request whose first session is usable, with its diary.
    fn usable_request() -> impl Strategy<Value = (PlanRequest, TestDiary)> {
        let first_day = 0i64..3103; // 2024-01-01 ..= 2032-06-30
        let slot = 32u32..=68; // 08:00 ..= 17:00 in quarter hours
        let cadence = prop_oneof![Just(Cadence::Weekly), Just(Cadence::Fortnightly)];
        let minutes = (3u32..=36).prop_map(|m| m * 5);
        let mask = 1u8..128;
        let closures = prop::collection::btree_set(0i64..450, 0..40);
        let busy = prop::collection::vec((0i64..450, 32u32..=68, 3u32..=36), 0..60);
        (first_day, slot, cadence, minutes, mask, closures, busy).prop_filter_map(
            "the first session must be usable",
            |(offset, slot, cadence, minutes, mask, closures, busy)| {
                let first_day = date(2024, 1, 1) + TimeDelta::days(offset);
                let first = first_day.and_time(NaiveTime::MIN)
                    + TimeDelta::minutes(i64::from(slot * SLOT_MINUTES));
                let working_days = WorkingDays::from_days(
                    &(0..7)
                        .filter(|i| mask & (1 << i) != 0)
                        .filter_map(|i| Weekday::try_from(i as u8).ok())
                        .collect::<Vec<_>>(),
                );
                let diary = TestDiary {
                    closures: closures
                        .into_iter()
                        .map(|d| first_day + TimeDelta::days(d))
                        .filter(|&d| d != first_day)
                        .collect(),
                    busy: busy
                        .into_iter()
                        .map(|(d, s, m)| {
                            let day = first_day.and_time(NaiveTime::MIN);
                            (
                                day + TimeDelta::days(d)
                                    + TimeDelta::minutes(i64::from(s * SLOT_MINUTES)),
                                m * 5,
                            )
                        })
                        .filter(|&(b, m)| !overlaps(b, m, first, minutes))
                        .collect(),
                };
                let usable = !calendar::is_bank_holiday(first_day)
                    && working_days.contains(first_day.weekday());
                usable.then(|| {
                    let req = PlanRequest {
                        first,
                        cadence,
                        minutes,
                        count: SESSIONS_IN_PLAN,
                        working_days,
                        end_date: first_day + TimeDelta::days(3 * 365),
                    };
                    (req, diary)
                })
            },
        )
    }

    fn check_plan(req: &PlanRequest, diary: &TestDiary, plan: &[NaiveDateTime]) {
        assert_eq!(plan[0], req.first);
        for pair in plan.windows(2) {
            assert!(
                pair[0].date() < pair[1].date(),
                "one session a day, in order"
            );
            assert!(!overlaps(pair[0], req.minutes, pair[1], req.minutes));
        }
        for (k, &s) in plan.iter().enumerate() {
            let nominal = req.first.date() + TimeDelta::days(k as i64 * req.cadence.days());
            assert!(s.date() >= nominal, "never before the nominal day");
            assert_eq!(s.time(), req.first.time());
            assert!(!calendar::is_bank_holiday(s.date()));
            assert!(!diary.is_closed(s.date()));
            assert!(req.working_days.contains(s.date().weekday()));
            assert!(!diary.is_busy(s, req.minutes));
            assert!(s.date() <= req.end_date);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_plan_with_room_has_every_session_on_a_usable_day((req, diary) in usable_request()) {
            match generate(&req, &diary) {
                Ok(plan) => {
                    prop_assert_eq!(plan.len(), req.count as usize);
                    check_plan(&req, &diary, &plan);
                }
                // The calendar ends in 2032, so late starts may run off it; and a random diary
                // can, rarely, be full for two months.
                Err(PlanError::NoCalendar { day }) => prop_assert!(!calendar::covers(day)),
                Err(PlanError::NoFreeDay { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn a_tight_end_date_gives_a_good_plan_or_past_end_date(
            (mut req, diary) in usable_request(),
            weeks in 0i64..30,
        ) {
            req.end_date = req.first.date() + TimeDelta::days(weeks * 7);
            match generate(&req, &diary) {
                Ok(plan) => {
                    prop_assert_eq!(plan.len(), req.count as usize);
                    check_plan(&req, &diary, &plan);
                }
                Err(PlanError::PastEndDate { needed, end_date }) => {
                    prop_assert_eq!(end_date, req.end_date);
                    prop_assert!(needed > end_date);
                }
                Err(PlanError::NoCalendar { day }) => prop_assert!(!calendar::covers(day)),
                Err(PlanError::NoFreeDay { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
