//! The diary: a practitioner's week of live appointments, day by day, with closure days and
//! bank holidays marked. Also who a diary reader may see ([`Scope`]), shared with the
//! capacity pages and the calendar feed.

pub mod web;

use chrono::{Datelike, Days, IsoWeek, NaiveDate, NaiveDateTime, Weekday};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::db::schema::{people, referrals, treatment_sessions, user_areas, users};
use crate::error::AppError;
use crate::referrals::model::Viewer;
use crate::sessions::codes::{Mode, SessionStatus};
use crate::users::model::Role;

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
    /// The diary scope of a viewer, under the same rule as their referrals: their own
    /// appointments, or (a clinical lead) their areas'.
    pub fn of(viewer: &Viewer) -> Result<Self, AppError> {
        match viewer.role {
            Role::AssistantPsychologist => Ok(Scope::Own(viewer.user_id.clone())),
            Role::ClinicalLead => Ok(Scope::Lead(viewer.area_ids.clone())),
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

/// One week of a diary, Monday to Sunday: the practitioner chosen (`wanted`, or the
/// reader's own or first), those the reader may choose from, the live appointments, whose
/// view is recorded, and the days the service is closed.
#[allow(clippy::type_complexity)]
pub fn week(
    c: &mut DbConn,
    scope: &Scope,
    actor: &crate::audit::Actor,
    wanted: Option<&str>,
    monday: NaiveDate,
) -> Result<
    (
        Option<Practitioner>,
        Vec<Practitioner>,
        Vec<DiaryRow>,
        Vec<crate::sessions::closures::Closure>,
    ),
    AppError,
> {
    use crate::audit::{self, AuditAction, Event};
    let sunday = monday + chrono::Days::new(6);
    let (chosen, all) = scope.practitioner(c, wanted)?;
    let rows = match &chosen {
        Some(p) => {
            let rows = appointments(
                c,
                &p.id,
                monday.and_time(chrono::NaiveTime::MIN),
                (sunday + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN),
                &LIVE,
                scope.area_filter(),
            )?;
            if !rows.is_empty() {
                let week = week_code(monday.iso_week());
                audit::record(
                    c,
                    actor,
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
    let closed = crate::sessions::closures::between(c, monday, sunday)?;
    Ok((chosen, all, rows, closed))
}
