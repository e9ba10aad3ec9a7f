//! The diary pages: handlers that parse, call the rules in [`super`], and render.

use super::*;
use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::sessions::calendar;
use crate::state::State;
use crate::users::model::Role;
use crate::web::{self as page, Choice};
use actix_web::{HttpResponse, web};
use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

pub async fn show(
    state: State,
    user: CurrentUser,
    query: web::Query<DiaryQuery>,
) -> Result<HttpResponse, AppError> {
    let scope = Scope::of(&Viewer::from(&user))?;
    let monday = match query.week.as_deref().filter(|w| !w.is_empty()) {
        Some(code) => parse_week(code).ok_or(AppError::NotFound)?,
        None => monday_of(crate::clock::today()),
    };
    let sunday = monday + Days::new(6);
    let wanted = query.ap.clone();
    let actor = user.actor();
    let (chosen, all, rows, closed) = state
        .db
        .write(move |c| week(c, &scope, &actor, wanted.as_deref(), monday))
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
            .map(|p| Choice::new(p.id.clone(), p.name.clone()))
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
