//! The diary: a practitioner's week of live appointments, day by day, with closure days and
//! bank holidays marked. Also who a diary reader may see ([`Scope`]), shared with the
//! capacity pages and the calendar feed.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{Datelike, Days, IsoWeek, NaiveDate, NaiveDateTime, Weekday};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditAction, Event};
use crate::auth::guard::CurrentUser;
use crate::db::DbConn;
use crate::db::schema::{people, referrals, treatment_sessions, user_areas, users};
use crate::error::AppError;
use crate::sessions::codes::{Mode, SessionStatus};
use crate::sessions::{calendar, closures};
use crate::state::State;
use crate::users::model::Role;
use crate::web as page;

/// Appointments that hold time in a diary.
pub const LIVE: [SessionStatus; 2] = [SessionStatus::Booked, SessionStatus::Recorded];

/// "R. A." for Rosa Abbott: enough for a practitioner to recognise their own appointment,
/// too little to identify anyone from a diary left open or a calendar synced to a phone.
pub fn initials(given_name: &str, family_name: &str) -> String {
    [given_name, family_name]
        .iter()
        .filter_map(|n| n.trim().chars().next())
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "2026-W48".
pub fn week_code(week: IsoWeek) -> String {
    format!("{}-W{:02}", week.year(), week.week())
}

/// The Monday of an ISO week written like "2026-W48".
pub fn parse_week(code: &str) -> Option<NaiveDate> {
    let (year, week) = code.trim().split_once("-W")?;
    NaiveDate::from_isoywd_opt(year.parse().ok()?, week.parse().ok()?, Weekday::Mon)
}

/// The Monday of the week `day` falls in.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// "2:05pm".
pub fn time_of_day(t: NaiveDateTime) -> String {
    t.format("%-I:%M%P").to_string()
}

/// An assistant psychologist a reader may see.
#[derive(Debug, Clone, Serialize)]
pub struct Practitioner {
    pub id: String,
    pub name: String,
}

/// What a diary reader may see: their own appointments (an assistant psychologist), or
/// those of the assistant psychologists who share an area with them, in their areas (a
/// clinical lead). Nobody else has a diary.
#[derive(Debug, Clone)]
pub enum Scope {
    Own(String),
    Lead(Vec<String>),
}

impl Scope {
    pub fn of(user: &CurrentUser) -> Result<Self, AppError> {
        match user.user.role {
            Role::AssistantPsychologist => Ok(Scope::Own(user.user.id.clone())),
            Role::ClinicalLead => Ok(Scope::Lead(user.area_ids.clone())),
            _ => Err(AppError::Forbidden),
        }
    }

    /// The practitioners whose diaries this reader may open, by name.
    pub fn practitioners(&self, c: &mut DbConn) -> Result<Vec<Practitioner>, AppError> {
        let q = users::table
            .filter(users::role.eq(Role::AssistantPsychologist))
            .filter(users::disabled_at.is_null())
            .select((users::id, users::name))
            .order((users::name.asc(), users::id.asc()));
        let rows: Vec<(String, String)> = match self {
            Scope::Own(id) => q.filter(users::id.eq(id)).load(c)?,
            Scope::Lead(areas) => q
                .filter(
                    users::id.eq_any(
                        user_areas::table
                            .filter(user_areas::area_id.eq_any(areas))
                            .select(user_areas::user_id),
                    ),
                )
                .load(c)?,
        };
        Ok(rows
            .into_iter()
            .map(|(id, name)| Practitioner { id, name })
            .collect())
    }

    /// The practitioner named by `wanted` (default: the reader, or a lead's first), if this
    /// reader may see them. Someone out of scope is not found.
    pub fn practitioner(
        &self,
        c: &mut DbConn,
        wanted: Option<&str>,
    ) -> Result<(Option<Practitioner>, Vec<Practitioner>), AppError> {
        let all = self.practitioners(c)?;
        let chosen = match wanted.filter(|w| !w.is_empty()) {
            Some(w) => Some(
                all.iter()
                    .find(|p| p.id == w)
                    .cloned()
                    .ok_or(AppError::NotFound)?,
            ),
            None => all.first().cloned(),
        };
        Ok((chosen, all))
    }

    /// The same reader looking at one of their areas only (`None`: all of them). An area
    /// that is not theirs is not found, like any record out of scope.
    pub fn within(self, area: Option<&str>) -> Result<Self, AppError> {
        match (self, area) {
            (scope, None) => Ok(scope),
            (Scope::Lead(areas), Some(a)) if areas.iter().any(|x| x == a) => {
                Ok(Scope::Lead(vec![a.to_owned()]))
            }
            _ => Err(AppError::NotFound),
        }
    }

    /// Areas a session must be in to be shown, if limited.
    pub fn area_filter(&self) -> Option<&[String]> {
        match self {
            Scope::Own(_) => None,
            Scope::Lead(areas) => Some(areas),
        }
    }
}

/// An appointment as the diary and the calendar feed need it.
#[derive(Debug, Clone, Queryable)]
pub struct DiaryRow {
    pub id: String,
    pub referral_id: String,
    pub reference: String,
    pub given_name: String,
    pub family_name: String,
    pub starts_at: NaiveDateTime,
    pub minutes: i32,
    pub mode: Mode,
    pub location: Option<String>,
    pub status: SessionStatus,
}

/// One practitioner's appointments in `statuses` starting in `[from, to)`, in time order,
/// limited to `areas` when given.
pub fn appointments(
    c: &mut DbConn,
    ap_user_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    statuses: &[SessionStatus],
    areas: Option<&[String]>,
) -> Result<Vec<DiaryRow>, AppError> {
    let mut q = treatment_sessions::table
        .inner_join(referrals::table.inner_join(people::table))
        .filter(treatment_sessions::ap_user_id.eq(ap_user_id))
        .filter(treatment_sessions::starts_at.ge(from))
        .filter(treatment_sessions::starts_at.lt(to))
        .filter(treatment_sessions::status.eq_any(statuses.to_vec()))
        .select((
            treatment_sessions::id,
            treatment_sessions::referral_id,
            referrals::reference,
            people::given_name,
            people::family_name,
            treatment_sessions::starts_at,
            treatment_sessions::minutes,
            treatment_sessions::mode,
            treatment_sessions::location,
            treatment_sessions::status,
        ))
        .order((
            treatment_sessions::starts_at.asc(),
            treatment_sessions::id.asc(),
        ))
        .into_boxed();
    if let Some(areas) = areas {
        q = q.filter(treatment_sessions::area_id.eq_any(areas.to_vec()));
    }
    Ok(q.load(c)?)
}

// ------------------------------------------------------------------------- page

#[derive(Debug, Deserialize)]
pub struct DiaryQuery {
    week: Option<String>,
    ap: Option<String>,
}

#[derive(Serialize)]
struct AppointmentView {
    href: String,
    time: String,
    reference: String,
    initials: String,
    name: String,
    mode: &'static str,
    location: String,
    status: &'static str,
}

#[derive(Serialize)]
struct DayView {
    id: String,
    heading: String,
    notes: Vec<String>,
    appointments: Vec<AppointmentView>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    text: String,
}

pub async fn show(
    state: State,
    user: CurrentUser,
    query: web::Query<DiaryQuery>,
) -> Result<HttpResponse, AppError> {
    let scope = Scope::of(&user)?;
    let monday = match query.week.as_deref().filter(|w| !w.is_empty()) {
        Some(code) => parse_week(code).ok_or(AppError::NotFound)?,
        None => monday_of(crate::clock::today()),
    };
    let sunday = monday + Days::new(6);
    let wanted = query.ap.clone();
    let actor = user.actor();
    let (chosen, all, rows, closed) = state
        .db
        .write(move |c| {
            let (chosen, all) = scope.practitioner(c, wanted.as_deref())?;
            let rows = match &chosen {
                Some(p) => {
                    let rows = appointments(
                        c,
                        &p.id,
                        monday.and_time(chrono::NaiveTime::MIN),
                        (sunday + Days::new(1)).and_time(chrono::NaiveTime::MIN),
                        &LIVE,
                        scope.area_filter(),
                    )?;
                    if !rows.is_empty() {
                        let week = week_code(monday.iso_week());
                        audit::record(
                            c,
                            &actor,
                            Event::new(AuditAction::Consultation, "diary.viewed")
                                .record("user", &p.id)
                                .details(serde_json::json!({
                                    "week": week,
                                    "sessions": rows.len(),
                                })),
                        )?;
                    }
                    rows
                }
                None => Vec::new(),
            };
            let closed = closures::between(c, monday, sunday)?;
            Ok((chosen, all, rows, closed))
        })
        .await?;

    let mut by_day: BTreeMap<NaiveDate, Vec<AppointmentView>> = BTreeMap::new();
    for r in rows {
        let ends = r.starts_at + chrono::Duration::minutes(i64::from(r.minutes));
        by_day
            .entry(r.starts_at.date())
            .or_default()
            .push(AppointmentView {
                href: format!("/referrals/{}", r.referral_id),
                time: format!("{} to {}", time_of_day(r.starts_at), time_of_day(ends)),
                reference: r.reference,
                initials: initials(&r.given_name, &r.family_name),
                name: format!("{} {}", r.given_name, r.family_name),
                mode: r.mode.label(),
                location: r.location.unwrap_or_default(),
                status: r.status.label(),
            });
    }
    let days: Vec<DayView> = monday
        .iter_days()
        .take(7)
        .map(|d| {
            let mut notes: Vec<String> = closed
                .iter()
                .filter(|c| c.day == d)
                .map(|c| format!("Service closed: {}", c.description))
                .collect();
            notes
                .extend(calendar::bank_holiday_name(d).map(|name| format!("Bank holiday: {name}")));
            DayView {
                id: d.format("day-%Y-%m-%d").to_string(),
                heading: format!("{} {}", d.format("%A"), crate::web::format::date(d)),
                notes,
                appointments: by_day.remove(&d).unwrap_or_default(),
            }
        })
        .collect();

    let ap_param = match (&user.user.role, &chosen) {
        (Role::ClinicalLead, Some(p)) => format!("&ap={}", p.id),
        _ => String::new(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("days", &days);
    ctx.insert(
        "week_label",
        &format!(
            "{} to {}",
            crate::web::format::date(monday),
            crate::web::format::date(sunday)
        ),
    );
    ctx.insert("week", &week_code(monday.iso_week()));
    ctx.insert(
        "previous_href",
        &format!(
            "/diary?week={}{ap_param}",
            week_code((monday - Days::new(7)).iso_week())
        ),
    );
    ctx.insert(
        "next_href",
        &format!(
            "/diary?week={}{ap_param}",
            week_code((monday + Days::new(7)).iso_week())
        ),
    );
    ctx.insert("is_lead", &(user.user.role == Role::ClinicalLead));
    ctx.insert("practitioner", &chosen);
    ctx.insert(
        "practitioner_options",
        &all.iter()
            .map(|p| Choice {
                value: p.id.clone(),
                text: p.name.clone(),
            })
            .collect::<Vec<_>>(),
    );
    page::render(&state, &user, "/diary", "sessions/diary.html", ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_are_first_letters_with_stops() {
        assert_eq!(initials("Rosa", "Abbott"), "R. A.");
        assert_eq!(initials("élodie", " o'neill"), "É. O.");
        assert_eq!(initials("", "Abbott"), "A.");
    }

    #[test]
    fn weeks_are_iso_weeks_starting_monday() {
        let monday = parse_week("2026-W48").unwrap();
        assert_eq!(monday, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(week_code(monday.iso_week()), "2026-W48");
        assert_eq!(
            monday_of(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()),
            monday
        );
        assert_eq!(
            week_code(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap().iso_week()),
            "2026-W53"
        );
        assert!(parse_week("2026-W54").is_none());
        assert!(parse_week("next week").is_none());
    }
}
