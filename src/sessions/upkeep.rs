//! What the rest of the pathway asks of a referral's sessions, below every use case: who may
//! manage them, what a practitioner's working days are, sessions attended so far, the
//! timeline entry of a treatment event, and what a referral's own steps do to its booked
//! appointments (they move with a change of practitioner and are cancelled when treatment
//! ends). The referral service calls down to these, and the session use cases, which move
//! the referral along when a session is recorded, sit above both; so the dependencies run
//! one way: sessions::service -> referrals::service -> sessions::upkeep -> sessions::model.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{practitioner_capacity, referral_events, treatment_sessions};
use crate::error::AppError;
use crate::referrals::model::{Referral, Viewer};
use crate::sessions::calendar::WorkingDays;
use crate::sessions::codes::*;
use crate::sessions::model::{self, EventRow, Session};
use crate::sessions::plan;
use crate::users::model::Role;
use crate::web::format;

pub const STALE_SESSION: &str =
    "This appointment has changed since you opened it. Reload the page and try again";

/// Whether the viewer may change a referral's sessions and onward support: a clinical lead
/// of its area, or its allocated assistant psychologist.
pub fn may_manage(viewer: &Viewer, r: &Referral) -> bool {
    match viewer.role {
        Role::ClinicalLead => true,
        Role::AssistantPsychologist => {
            r.allocated_ap_id.as_deref() == Some(viewer.user_id.as_str())
        }
        _ => false,
    }
}

/// Whether a role sees clinical content: engagement notes, measures, risk alerts and
/// clinical timeline events.
pub fn sees_clinical(role: Role) -> bool {
    matches!(role, Role::ClinicalLead | Role::AssistantPsychologist)
}

/// Whether a role follows a referral's treatment (sessions, attendance, reports, linked
/// requirements, the end of treatment): everyone with referrals but the Liaison and
/// Diversion practitioner, who follows the referral they made, not the person's treatment.
pub fn follows_treatment(role: Role) -> bool {
    role != Role::LiaisonDiversion
}

/// The practitioner's working days (Monday to Friday unless set).
pub fn working_days(c: &mut DbConn, ap_user_id: &str) -> Result<WorkingDays, AppError> {
    let code: Option<String> = practitioner_capacity::table
        .find(ap_user_id)
        .select(practitioner_capacity::working_days)
        .first(c)
        .optional()?;
    Ok(code
        .and_then(|c| WorkingDays::parse(&c).ok())
        .unwrap_or(WorkingDays::WEEKDAYS))
}

/// Writes a treatment event on the referral's timeline.
pub fn record_event(
    c: &mut DbConn,
    viewer: &Viewer,
    referral_id: &str,
    kind: EventKind,
    clinical: bool,
    summary: String,
) -> Result<(), AppError> {
    insert_event(
        c,
        referral_id,
        kind,
        clinical,
        (Some(viewer.user_id.clone()), viewer.name.clone()),
        summary,
    )
}

fn insert_event(
    c: &mut DbConn,
    referral_id: &str,
    kind: EventKind,
    clinical: bool,
    (actor_user_id, actor_name): (Option<String>, String),
    summary: String,
) -> Result<(), AppError> {
    diesel::insert_into(referral_events::table)
        .values(EventRow {
            id: crate::ids::new_id(),
            referral_id: referral_id.to_owned(),
            kind,
            clinical,
            actor_user_id,
            actor_name,
            at: crate::clock::now(),
            summary,
        })
        .execute(c)?;
    Ok(())
}

/// Writes an event the service itself made (a deadline passed, the hourly housekeeping) on
/// the referral's timeline.
pub fn record_service_event(
    c: &mut DbConn,
    referral_id: &str,
    kind: EventKind,
    summary: String,
) -> Result<(), AppError> {
    insert_event(
        c,
        referral_id,
        kind,
        false,
        (None, "The service".into()),
        summary,
    )
}

pub fn when(at: NaiveDateTime) -> String {
    format!("{} at {}", format::date(at.date()), at.format("%H:%M"))
}

/// Marks `s` superseded or cancelled, guarding against a concurrent change.
pub(crate) fn retire(
    c: &mut DbConn,
    viewer: &Viewer,
    s: &Session,
    status: SessionStatus,
    party: ChangeParty,
    reason: Option<String>,
    cancel_reason: Option<CancelReason>,
) -> Result<(), AppError> {
    let now = crate::clock::now();
    let changed = diesel::update(
        treatment_sessions::table
            .filter(treatment_sessions::id.eq(&s.id))
            .filter(treatment_sessions::version.eq(s.version)),
    )
    .set((
        treatment_sessions::status.eq(status),
        treatment_sessions::change_party.eq(party),
        treatment_sessions::change_reason.eq(reason),
        treatment_sessions::cancel_reason.eq(cancel_reason),
        treatment_sessions::changed_by.eq(&viewer.user_id),
        treatment_sessions::changed_at.eq(now),
        treatment_sessions::version.eq(s.version + 1),
        treatment_sessions::updated_at.eq(now),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(STALE_SESSION.into()));
    }
    model::release_blocks(c, &s.id)
}

/// Treatment is over: appointments still booked are cancelled and their time released.
pub(crate) fn release_future(
    c: &mut DbConn,
    viewer: &Viewer,
    referral_id: &str,
) -> Result<(), AppError> {
    for s in model::sessions_of(c, referral_id)?
        .into_iter()
        .filter(|s| s.status == SessionStatus::Booked)
    {
        retire(
            c,
            viewer,
            &s,
            SessionStatus::Cancelled,
            ChangeParty::Service,
            Some("Treatment ended".into()),
            None,
        )?;
    }
    Ok(())
}

/// The order now ends on `end`: appointments booked after that day are cancelled and their
/// time released; how many.
pub fn cancel_after(
    c: &mut DbConn,
    viewer: &Viewer,
    referral_id: &str,
    end: chrono::NaiveDate,
) -> Result<usize, AppError> {
    let after: Vec<Session> = model::sessions_of(c, referral_id)?
        .into_iter()
        .filter(|s| s.status == SessionStatus::Booked && s.starts_at.date() > end)
        .collect();
    for s in &after {
        retire(
            c,
            viewer,
            s,
            SessionStatus::Cancelled,
            ChangeParty::Service,
            Some(format!(
                "The court varied the order: it now ends on {}",
                format::date(end)
            )),
            None,
        )?;
    }
    Ok(after.len())
}

/// Cancels the appointments left when treatment ends early (called by the referral's end).
pub fn treatment_ended(c: &mut DbConn, viewer: &Viewer, referral_id: &str) -> Result<(), AppError> {
    release_future(c, viewer, referral_id)
}

/// The referral passes to another assistant psychologist before treatment starts: its booked
/// appointments move to their diary, or the change is refused naming the clash.
pub fn reassign(c: &mut DbConn, referral_id: &str, new_ap: &str) -> Result<(), AppError> {
    let booked: Vec<Session> = model::sessions_of(c, referral_id)?
        .into_iter()
        .filter(|s| s.status == SessionStatus::Booked && s.ap_user_id != new_ap)
        .collect();
    let days = working_days(c, new_ap)?;
    for s in &booked {
        if !days.contains(chrono::Datelike::weekday(&s.starts_at.date())) {
            return Err(AppError::Conflict(format!(
                "The session on {} is not on one of that assistant psychologist’s working days: move it first",
                when(s.starts_at)
            )));
        }
        model::release_blocks(c, &s.id)?;
        model::book_blocks(c, new_ap, &s.id, &plan::blocks(s.starts_at, s.minutes as u32))
            .map_err(|_| {
                AppError::Conflict(format!(
                    "That assistant psychologist already has an appointment at the time of the session on {}: move it first",
                    when(s.starts_at)
                ))
            })?;
        diesel::update(treatment_sessions::table.find(&s.id))
            .set((
                treatment_sessions::ap_user_id.eq(new_ap),
                treatment_sessions::version.eq(s.version + 1),
                treatment_sessions::updated_at.eq(crate::clock::now()),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Sessions attended so far.
/// The sessions a referral's treatment plan sets out: the plan's number, or the usual 12
/// when none is made yet.
pub fn planned_count(c: &mut DbConn, referral_id: &str) -> Result<i64, AppError> {
    Ok(model::plan(c, referral_id)?
        .map(|p| i64::from(p.target_sessions))
        .unwrap_or(i64::from(plan::SESSIONS_IN_PLAN)))
}

pub fn attended_count(c: &mut DbConn, referral_id: &str) -> Result<i64, AppError> {
    Ok(treatment_sessions::table
        .filter(treatment_sessions::referral_id.eq(referral_id))
        .filter(treatment_sessions::outcome.eq_any([Outcome::Attended, Outcome::AttendedLate]))
        .count()
        .get_result(c)?)
}
