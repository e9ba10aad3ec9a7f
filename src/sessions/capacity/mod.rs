//! Practitioners' capacity: each assistant psychologist's weekly session allowance and
//! working days, the clinical lead's view of bookings against it for the next 12 weeks, the
//! waiting list of orders with no first session yet, and the page that sets the pattern.

pub mod upkeep;
pub mod web;

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Weekday};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{
    people, practitioner_capacity, practitioner_capacity_history, referrals, treatment_sessions,
    user_areas, users,
};
use crate::error::{AppError, FieldErrors};
use crate::paging::page_of;
use crate::referrals::model::Viewer;
use crate::sessions::calendar::{WorkingDays, day_code, day_label};
use crate::sessions::codes::SessionStatus;
use crate::sessions::diary::{self, Practitioner, Scope, initials, monday_of, week_code};
use crate::users::model::{self as users_model, Role};
use crate::web::format;

pub const DEFAULT_SESSIONS_PER_WEEK: i32 = 15;
pub const DEFAULT_WORKING_DAYS: &str = "mon,tue,wed,thu,fri";
const WEEKS_AHEAD: u64 = 12;
/// Practitioners a page shows, each with a table of 12 weeks.
const PRACTITIONERS_PER_PAGE: usize = 20;
const WAITING_PER_PAGE: usize = 50;
/// Keys a query binds at most (SQLite allows 32,766 variables a statement).
const CHUNK: usize = 500;
const SESSIONS_PER_WEEK_MAX: i32 = 40;
const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Sessions per week and working days code for an assistant psychologist (15 and Monday to
/// Friday when nobody has set them).
pub fn working_pattern(c: &mut DbConn, ap_user_id: &str) -> Result<(i32, String), AppError> {
    Ok(practitioner_capacity::table
        .find(ap_user_id)
        .select((
            practitioner_capacity::sessions_per_week,
            practitioner_capacity::working_days,
        ))
        .first::<(i32, String)>(c)
        .optional()?
        .unwrap_or_else(|| (DEFAULT_SESSIONS_PER_WEEK, DEFAULT_WORKING_DAYS.to_owned())))
}

/// A practitioner's pattern, for the settings page: the practitioner, if the viewer may see
/// them ([`practitioner_for`]), their sessions per week and working days code.
pub fn pattern_of(
    c: &mut DbConn,
    viewer: &Viewer,
    id: &str,
) -> Result<(Practitioner, (i32, String)), AppError> {
    let p = practitioner_for(c, viewer, id)?;
    let pattern = working_pattern(c, &p.id)?;
    Ok((p, pattern))
}

/// Sets a practitioner's pattern (audited): clinical leads of their areas and the
/// administrators who manage them.
pub fn save_pattern(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &audit::Actor,
    id: &str,
    input: &CapacityInput,
) -> Result<Practitioner, AppError> {
    if !matches!(viewer.role, Role::ClinicalLead | Role::Admin) {
        return Err(AppError::Forbidden);
    }
    let p = practitioner_for(c, viewer, id)?;
    set_pattern(c, actor, &p.id, input)?;
    Ok(p)
}

/// Sets the pattern (audited).
fn set_pattern(
    c: &mut DbConn,
    actor: &audit::Actor,
    ap_user_id: &str,
    input: &CapacityInput,
) -> Result<(), AppError> {
    let now = crate::clock::now();
    let days = input.days.as_code();
    let updated = diesel::update(practitioner_capacity::table.find(ap_user_id))
        .set((
            practitioner_capacity::sessions_per_week.eq(input.sessions_per_week),
            practitioner_capacity::working_days.eq(&days),
            practitioner_capacity::updated_by.eq(actor.user_id.as_deref()),
            practitioner_capacity::updated_at.eq(now),
        ))
        .execute(c)?;
    if updated == 0 {
        diesel::insert_into(practitioner_capacity::table)
            .values((
                practitioner_capacity::user_id.eq(ap_user_id),
                practitioner_capacity::sessions_per_week.eq(input.sessions_per_week),
                practitioner_capacity::working_days.eq(&days),
                practitioner_capacity::updated_by.eq(actor.user_id.as_deref()),
                practitioner_capacity::updated_at.eq(now),
            ))
            .execute(c)?;
    }
    // The pattern in force from today, for the capacity of past periods.
    let today = crate::clock::today();
    diesel::delete(practitioner_capacity_history::table.find((ap_user_id, today))).execute(c)?;
    diesel::insert_into(practitioner_capacity_history::table)
        .values((
            practitioner_capacity_history::user_id.eq(ap_user_id),
            practitioner_capacity_history::effective_from.eq(today),
            practitioner_capacity_history::sessions_per_week.eq(input.sessions_per_week),
            practitioner_capacity_history::working_days.eq(&days),
        ))
        .execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "practitioner_capacity.changed")
            .record("user", ap_user_id)
            .details(json!({
                "sessions_per_week": input.sessions_per_week,
                "working_days": days,
            })),
    )
}

// ------------------------------------------------------------------------- capacity

pub use upkeep::booked_per_week;

fn patterns(c: &mut DbConn, ap_ids: &[String]) -> Result<HashMap<String, i32>, AppError> {
    let mut set = HashMap::new();
    for chunk in ap_ids.chunks(CHUNK) {
        set.extend(
            practitioner_capacity::table
                .filter(practitioner_capacity::user_id.eq_any(chunk))
                .select((
                    practitioner_capacity::user_id,
                    practitioner_capacity::sessions_per_week,
                ))
                .load::<(String, i32)>(c)?,
        );
    }
    Ok(set)
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct WeekLoad {
    pub week: String,
    pub commencing: String,
    pub booked: i64,
    pub capacity: i32,
    pub utilisation: i64,
    pub over: bool,
}

/// For choosing whom to allocate: each assistant psychologist's sessions booked against
/// their capacity this week and next, in words ("this week 9 of 15 sessions booked, next
/// week 6 of 15").
pub fn allocation_load(
    c: &mut DbConn,
    ap_ids: &[String],
    today: NaiveDate,
) -> Result<HashMap<String, String>, AppError> {
    let monday = monday_of(today);
    let next = monday + Days::new(7);
    let booked = booked_per_week(c, ap_ids, monday, 2)?;
    let set = patterns(c, ap_ids)?;
    Ok(ap_ids
        .iter()
        .map(|id| {
            let capacity = set.get(id).copied().unwrap_or(DEFAULT_SESSIONS_PER_WEEK);
            let n = |week| booked.get(&(id.clone(), week)).copied().unwrap_or(0);
            (
                id.clone(),
                format!(
                    "this week {} of {capacity} sessions booked, next week {} of {capacity}",
                    n(monday),
                    n(next)
                ),
            )
        })
        .collect())
}

/// Booked against capacity for one week.
pub fn week_load(monday: NaiveDate, booked: i64, capacity: i32) -> WeekLoad {
    let utilisation = if capacity > 0 {
        (booked * 100 + i64::from(capacity) / 2) / i64::from(capacity)
    } else {
        0
    };
    WeekLoad {
        week: week_code(monday.iso_week()),
        commencing: format::date(monday),
        booked,
        capacity,
        utilisation,
        over: booked > i64::from(capacity),
    }
}

#[derive(Debug, Serialize)]
pub struct Waiting {
    pub referral_id: String,
    pub reference: String,
    pub initials: String,
    pub allocated: String,
    pub sentence_date: String,
    pub days_waiting: i64,
    pub first_booked: String,
}

/// Orders made in `areas` (made, inducted or allocated) with no attended session yet,
/// longest waiting first: page `asked` of them, `per` a page. The list is kept as referrals
/// and sessions change ([`upkeep`]); the people's names, practitioners' names and first
/// booked sessions are read for the page's orders alone.
pub fn waiting_list(
    c: &mut DbConn,
    areas: &[String],
    today: NaiveDate,
    asked: Option<usize>,
    per: usize,
) -> Result<WaitingPage, AppError> {
    let total = upkeep::waiting_count(c, areas)?;
    let (page, pages, skip) = page_of(asked, total, per);
    let kept = upkeep::waiting_in(c, areas, skip, per)?;
    let ids: Vec<&String> = kept.iter().map(|(id, _)| id).collect();
    let rows: Vec<(String, String, Option<String>, Option<NaiveDate>)> = referrals::table
        .filter(referrals::id.eq_any(&ids))
        .select((
            referrals::id,
            referrals::person_id,
            referrals::allocated_ap_id,
            referrals::sentence_date,
        ))
        .load(c)?;
    let by_id: HashMap<String, (String, Option<String>, Option<NaiveDate>)> = rows
        .into_iter()
        .map(|(id, person, ap, sentence)| (id, (person, ap, sentence)))
        .collect();
    let person_ids: Vec<&String> = by_id.values().map(|(person, _, _)| person).collect();
    let named: HashMap<String, (String, String)> = people::table
        .filter(people::id.eq_any(&person_ids))
        .select((people::id, people::given_name, people::family_name))
        .load::<(String, String, String)>(c)?
        .into_iter()
        .map(|(id, given, family)| (id, (given, family)))
        .collect();
    let mut first: HashMap<String, NaiveDateTime> = HashMap::new();
    for (rid, at) in treatment_sessions::table
        .filter(treatment_sessions::referral_id.eq_any(&ids))
        .filter(treatment_sessions::status.eq(SessionStatus::Booked))
        .select((
            treatment_sessions::referral_id,
            treatment_sessions::starts_at,
        ))
        .load::<(String, NaiveDateTime)>(c)?
    {
        first
            .entry(rid)
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
    }
    let ap_ids: Vec<&String> = by_id
        .values()
        .filter_map(|(_, ap, _)| ap.as_ref())
        .collect();
    let names: HashMap<String, String> = users::table
        .filter(users::id.eq_any(&ap_ids))
        .select((users::id, users::name))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    let list = kept
        .into_iter()
        .map(|(id, w)| {
            let (person_id, ap, sentence) = by_id.get(&id).cloned().unwrap_or_default();
            let (given, family) = named.get(&person_id).cloned().unwrap_or_default();
            Waiting {
                initials: initials(&given, &family),
                allocated: ap
                    .and_then(|a| names.get(&a).cloned())
                    .unwrap_or_else(|| "Not allocated".into()),
                sentence_date: sentence
                    .map(format::date)
                    .unwrap_or_else(|| "Not recorded".into()),
                days_waiting: (today - w.since).num_days(),
                first_booked: first
                    .get(&id)
                    .map(|t| format!("{} at {}", format::date(t.date()), diary::time_of_day(*t)))
                    .unwrap_or_else(|| "None booked".into()),
                referral_id: id,
                reference: w.reference,
            }
        })
        .collect();
    Ok(WaitingPage {
        list,
        total,
        page,
        pages,
    })
}

/// A page of the waiting list.
pub struct WaitingPage {
    pub list: Vec<Waiting>,
    /// Everyone waiting.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
}

/// This week across every practitioner in view: the page's summary.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct WeekSummary {
    pub practitioners: usize,
    pub booked: i64,
    pub capacity: i64,
    pub utilisation: i64,
    pub over: usize,
}

fn week_summary(
    ids: &[String],
    booked: &HashMap<(String, NaiveDate), i64>,
    set: &HashMap<String, i32>,
    monday: NaiveDate,
) -> WeekSummary {
    let mut sum = WeekSummary {
        practitioners: ids.len(),
        ..WeekSummary::default()
    };
    for id in ids {
        let capacity = set.get(id).copied().unwrap_or(DEFAULT_SESSIONS_PER_WEEK);
        let n = booked.get(&(id.clone(), monday)).copied().unwrap_or(0);
        let load = week_load(monday, n, capacity);
        sum.booked += load.booked;
        sum.capacity += i64::from(load.capacity);
        sum.over += usize::from(load.over);
    }
    sum.utilisation = if sum.capacity > 0 {
        (sum.booked * 100 + sum.capacity / 2) / sum.capacity
    } else {
        0
    };
    sum
}

/// The capacity overview of a clinical lead (or a practitioner's own): this week's summary
/// across the practitioners in view, one page of them with their next 12 weeks' bookings,
/// and one page of the waiting list, whose view is recorded. `area` narrows to one of the
/// viewer's areas (another is not found).
pub fn overview(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &audit::Actor,
    area: Option<&str>,
    today: NaiveDate,
    page_p: Option<usize>,
    page_w: Option<usize>,
) -> Result<OverviewData, AppError> {
    let scope = Scope::of(viewer)?.within(area)?;
    let areas: Vec<String> = scope
        .area_filter()
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let mine = viewer.area_ids.clone();
    let monday = monday_of(today);
    let practitioners: Vec<Practitioner> = scope.practitioners(c)?;
    let ids: Vec<String> = practitioners.iter().map(|p| p.id.clone()).collect();
    let set = patterns(c, &ids)?;
    let summary = week_summary(&ids, &booked_per_week(c, &ids, monday, 1)?, &set, monday);
    let (page, pages, skip) = page_of(page_p, practitioners.len(), PRACTITIONERS_PER_PAGE);
    let shown: Vec<Practitioner> = practitioners
        .into_iter()
        .skip(skip)
        .take(PRACTITIONERS_PER_PAGE)
        .collect();
    let shown_ids: Vec<String> = shown.iter().map(|p| p.id.clone()).collect();
    let booked = booked_per_week(c, &shown_ids, monday, WEEKS_AHEAD)?;
    let waiting = waiting_list(c, &areas, today, page_w, WAITING_PER_PAGE)?;
    if !waiting.list.is_empty() {
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Consultation, "waiting_list.viewed").details(json!({
                "referrals": waiting.list.iter().map(|w| w.referral_id.as_str()).collect::<Vec<_>>(),
                "waiting": waiting.total,
            })),
        )?;
    }
    let names = crate::areas::named(c, &mine)?;
    Ok(OverviewData {
        shown,
        booked,
        set,
        summary,
        page,
        pages,
        waiting,
        names,
    })
}

/// What the capacity page shows.
pub struct OverviewData {
    pub shown: Vec<Practitioner>,
    pub booked: HashMap<(String, NaiveDate), i64>,
    pub set: HashMap<String, i32>,
    pub summary: WeekSummary,
    pub page: usize,
    pub pages: usize,
    pub waiting: WaitingPage,
    pub names: Vec<(String, String)>,
}

// ------------------------------------------------------------------------- settings

/// The capacity form once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityInput {
    pub sessions_per_week: i32,
    pub days: WorkingDays,
}

/// The capacity form as sent (working days arrive as repeated `working_days=` fields).
#[derive(Debug, Default, Clone, Serialize)]
pub struct CapacityForm {
    pub sessions_per_week: String,
    pub working_days: Vec<String>,
}

impl CapacityForm {
    pub fn from_body(body: &[u8]) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let mut form = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "sessions_per_week" => form.sessions_per_week = v,
                "working_days" => form.working_days.push(v),
                _ => {}
            }
        }
        form
    }

    pub fn parse(&self) -> Result<CapacityInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let raw = self.sessions_per_week.trim();
        let sessions = match raw.parse::<i32>() {
            _ if raw.is_empty() => {
                errors.add("sessions_per_week", "Enter the number of sessions per week");
                None
            }
            Ok(n) if (1..=SESSIONS_PER_WEEK_MAX).contains(&n) => Some(n),
            _ => {
                errors.add(
                    "sessions_per_week",
                    format!(
                        "Sessions per week must be a whole number from 1 to {SESSIONS_PER_WEEK_MAX}"
                    ),
                );
                None
            }
        };
        let days = match WorkingDays::parse(&self.working_days.join(",")) {
            Ok(d) => Some(d),
            Err(message) => {
                errors.add("working_days", message);
                None
            }
        };
        match (sessions, days) {
            (Some(sessions_per_week), Some(days)) => Ok(CapacityInput {
                sessions_per_week,
                days,
            }),
            _ => Err(errors),
        }
    }
}

/// The assistant psychologist `id`, if `viewer` may see their pattern: themselves, one who
/// shares an area with a clinical lead, those an administrator manages. Anyone else is not
/// found.
pub fn practitioner_for(
    c: &mut DbConn,
    viewer: &Viewer,
    id: &str,
) -> Result<Practitioner, AppError> {
    let target = users_model::by_id(c, id)?;
    if target.role != Role::AssistantPsychologist {
        return Err(AppError::NotFound);
    }
    let visible = match viewer.role {
        // An administrator: the practitioners they manage.
        Role::Admin => users_model::manages(c, &viewer.admin_scope(), id)?,
        Role::AssistantPsychologist => target.id == viewer.user_id,
        Role::ClinicalLead => {
            user_areas::table
                .filter(user_areas::user_id.eq(&target.id))
                .filter(user_areas::area_id.eq_any(&viewer.area_ids))
                .count()
                .get_result::<i64>(c)?
                > 0
        }
        _ => false,
    };
    if !visible {
        return Err(AppError::NotFound);
    }
    Ok(Practitioner {
        id: target.id,
        name: target.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_needs_1_to_40_sessions_and_a_day() {
        let form = |n: &str, days: &[&str]| CapacityForm {
            sessions_per_week: n.into(),
            working_days: days.iter().map(|d| d.to_string()).collect(),
        };
        let ok = form(" 12 ", &["tue", "thu"]).parse().unwrap();
        assert_eq!(ok.sessions_per_week, 12);
        assert_eq!(ok.days.as_code(), "tue,thu");
        for bad in ["0", "41", "ten", "2.5"] {
            let e = form(bad, &["mon"]).parse().unwrap_err();
            assert!(
                e.get("sessions_per_week").unwrap().contains("from 1 to 40"),
                "{bad}"
            );
        }
        let e = form("", &[]).parse().unwrap_err();
        assert_eq!(
            e.get("sessions_per_week"),
            Some("Enter the number of sessions per week")
        );
        assert_eq!(
            e.get("working_days"),
            Some("Select at least one working day")
        );
    }

    #[test]
    fn utilisation_is_rounded_and_over_capacity_is_flagged() {
        let m = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let w = week_load(m, 2, 3);
        assert_eq!((w.utilisation, w.over), (67, false));
        assert_eq!(w.week, "2026-W48");
        let w = week_load(m, 16, 15);
        assert_eq!((w.utilisation, w.over), (107, true));
    }
}
