//! The rules of treatment sessions, each change in one transaction: making the 12-session
//! plan, moving, cancelling and adding appointments, recording what happened, outcome
//! measures with their risk alerts, the practitioner's report and enforcement reviews.
//! Every function finds the referral through the referrals scope chokepoint first, then
//! checks the role: the allocated assistant psychologist or a clinical lead of the area
//! changes sessions; the responsible officer decides on enforcement.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::audit::{Actor, alteration as audit_change};
use crate::db::DbConn;
use crate::db::schema::{
    ap_bookings, attendance_corrections, outcome_measures, practitioner_reports, risk_alerts,
    service_closures, session_plans, treatment_sessions,
};
use crate::error::{AppError, FieldErrors};
use crate::notifications::Emails;
use crate::referrals::access::{Caption, Ctx};
use crate::referrals::codes::EndOutcome;
use crate::referrals::forms::TransitionInput;
use crate::referrals::model::{self as referrals_model, Referral, Viewer};
use crate::referrals::state::{Action, Status};
use crate::sessions::calendar::{self};
use crate::sessions::codes::*;
use crate::sessions::enforcement;
use crate::sessions::forms::{
    Attendance, AttendanceInput, CancelInput, CorrectionInput, MeasureInput, MoveInput, PlanInput,
    ReportInput,
};
use crate::sessions::model::{self, EnforcementReview, EventRow, Measure, Plan, Session};
use crate::sessions::plan::{self, Cadence, PlanError, PlanRequest};
use crate::sessions::upkeep::{
    STALE_SESSION, may_manage, record_event, retire, when, working_days,
};
use crate::users::model::Role;
use crate::web::format;

const ALREADY_PLANNED: &str =
    "This referral already has a session plan: move or cancel its sessions instead";

/// The UK wall-clock time now.
pub fn local_now() -> NaiveDateTime {
    crate::clock::utc_to_london(crate::clock::now())
}

/// The referral, opened through the reason gate ([`Ctx::open`]), if the viewer may change
/// its sessions; and the reason given for looking at it.
fn managed(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(Referral, Option<String>), AppError> {
    let (r, reason) = ctx.open(c, referral_id)?;
    if !may_manage(&ctx.viewer, &r) {
        return Err(AppError::Forbidden);
    }
    Ok((r, reason))
}

/// A referral in scope, if the viewer may change its sessions.
fn managed_referral(c: &mut DbConn, ctx: &Ctx, referral_id: &str) -> Result<Referral, AppError> {
    managed(c, ctx, referral_id).map(|(r, _)| r)
}

/// A session in scope with its referral, if the viewer may change it.
fn managed_session(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
) -> Result<(Referral, Session), AppError> {
    let s = model::session(c, session_id)?;
    let r = managed_referral(c, ctx, &s.referral_id)?;
    Ok((r, s))
}

/// A form on a referral's treatment: the referral, if the viewer may change its sessions,
/// and the form's caption, the view recorded with its reason.
pub fn form_on_referral(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(Referral, Caption), AppError> {
    let (r, reason) = managed(c, ctx, referral_id)?;
    let caption = crate::referrals::access::caption(c, &ctx.actor, &r, reason.as_deref())?;
    Ok((r, caption))
}

/// The caption of the form on risk alert `alert_id`, its referral opened through the
/// reason gate and the view recorded.
/// Also what raised the alert, in words, with when.
pub fn alert_form(
    c: &mut DbConn,
    ctx: &Ctx,
    alert_id: &str,
) -> Result<(Caption, String), AppError> {
    let (alert, measure) = model::alert_and_measure(c, alert_id)?;
    let caption = ctx.caption(c, &alert.referral_id)?;
    let context = format!(
        "Raised {}. {}. {}",
        crate::web::format::date_time(alert.raised_at),
        alert.kind.label(),
        measure.alert_context()
    );
    Ok((caption, context))
}

/// A form on one session, as [`form_on_referral`]: its referral, the session and the caption.
pub fn form_on_session(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
) -> Result<(Referral, Session, Caption), AppError> {
    let s = model::session(c, session_id)?;
    let (r, caption) = form_on_referral(c, ctx, &s.referral_id)?;
    Ok((r, s, caption))
}

/// The form to record a session's attendance: as [`form_on_session`], with a warning when
/// a message to the person about the session did not reach them.
pub fn recording_form(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
) -> Result<(Session, Caption, Option<String>), AppError> {
    let (_, s, caption) = form_on_session(c, ctx, session_id)?;
    let warning = crate::reminders::model::failed_warning(c, &s.id)?;
    Ok((s, caption, warning))
}

fn in_treatment(r: &Referral) -> Result<(), AppError> {
    if matches!(r.status, Status::Allocated | Status::InTreatment) {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "Sessions cannot change when the referral is {}",
            r.status.label().to_lowercase().replace("mhtr", "MHTR")
        )))
    }
}

fn end_date(r: &Referral) -> Result<NaiveDate, AppError> {
    r.requirement_end_date.ok_or_else(|| {
        AppError::Conflict("The requirement's end date is not recorded for this referral".into())
    })
}

/// What the plan generator knows of the diary, read once for the whole period so a plan
/// costs three queries however long it is.
struct LoadedDiary {
    closures: BTreeSet<NaiveDate>,
    /// The practitioner's days of leave.
    away: BTreeSet<NaiveDate>,
    held: HashSet<NaiveDateTime>,
}

impl plan::Diary for LoadedDiary {
    fn is_closed(&self, day: NaiveDate) -> bool {
        self.closures.contains(&day) || self.away.contains(&day)
    }

    fn is_busy(&self, start: NaiveDateTime, minutes: u32) -> bool {
        plan::blocks(start, minutes)
            .iter()
            .any(|b| self.held.contains(b))
    }
}

fn load_diary(
    c: &mut DbConn,
    ap_user_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    except: &[String],
) -> Result<LoadedDiary, AppError> {
    let closures = service_closures::table
        .filter(service_closures::day.between(from, to))
        .select(service_closures::day)
        .load::<NaiveDate>(c)?
        .into_iter()
        .collect();
    let start = from.and_time(chrono::NaiveTime::MIN);
    let end = (to + TimeDelta::days(1)).and_time(chrono::NaiveTime::MIN);
    let mut q = ap_bookings::table
        .filter(ap_bookings::ap_user_id.eq(ap_user_id))
        .filter(ap_bookings::block_start.ge(start))
        .filter(ap_bookings::block_start.lt(end))
        .into_boxed();
    if !except.is_empty() {
        q = q.filter(ap_bookings::session_id.ne_all(except.to_vec()));
    }
    let held = q
        .select(ap_bookings::block_start)
        .load::<NaiveDateTime>(c)?
        .into_iter()
        .collect();
    let away = model::leave_days(c, ap_user_id, from, to)?
        .into_iter()
        .collect();
    Ok(LoadedDiary {
        closures,
        away,
        held,
    })
}

fn plan_error(field: &str, e: PlanError) -> AppError {
    AppError::Validation(FieldErrors::single(field, e.message()))
}

/// Checks one appointment time: a working day, not a bank holiday or closure, free in the
/// practitioner's diary, on or before the requirement's end.
fn check_slot(
    c: &mut DbConn,
    ap_user_id: &str,
    at: NaiveDateTime,
    minutes: u32,
    end: NaiveDate,
    except: &[String],
    field: &str,
) -> Result<(), AppError> {
    let day = at.date();
    let says = |m: String| AppError::Validation(FieldErrors::single(field, m));
    let when = format::date(day);
    if day > end {
        return Err(says(format!(
            "{when} is after the requirement ends on {}",
            format::date(end)
        )));
    }
    if !calendar::covers(day) {
        return Err(says(format!(
            "Appointments can be booked up to the end of {}",
            calendar::LAST_YEAR
        )));
    }
    if let Some(name) = calendar::bank_holiday_name(day) {
        return Err(says(format!("{when} is a bank holiday ({name})")));
    }
    let diary = load_diary(c, ap_user_id, day, day, except)?;
    if diary.closures.contains(&day) {
        return Err(says(format!("The service is closed on {when}")));
    }
    if diary.away.contains(&day) {
        return Err(says(format!(
            "The assistant psychologist is on leave on {when}"
        )));
    }
    let days = working_days(c, ap_user_id)?;
    if !days.contains(chrono::Datelike::weekday(&day)) {
        return Err(says(format!(
            "{when} is not one of the assistant psychologist’s working days ({})",
            days.describe()
        )));
    }
    if plan::Diary::is_busy(&diary, at, minutes) {
        return Err(says(format!(
            "The assistant psychologist already has an appointment at {} on {when}",
            at.format("%H:%M")
        )));
    }
    Ok(())
}

/// Inserts a booked appointment and holds its time.
#[allow(clippy::too_many_arguments)]
fn insert_session(
    c: &mut DbConn,
    viewer: &Viewer,
    r: &Referral,
    ap: &str,
    at: NaiveDateTime,
    minutes: u32,
    mode: Mode,
    location: Option<String>,
    replaces: Option<&str>,
    added_for: Option<&str>,
) -> Result<Session, AppError> {
    let now = crate::clock::now();
    let s = Session {
        id: crate::ids::new_id(),
        referral_id: r.id.clone(),
        area_id: r.area_id.clone(),
        ap_user_id: ap.to_owned(),
        starts_at: at,
        minutes: minutes as i32,
        mode,
        location,
        status: SessionStatus::Booked,
        outcome: None,
        engagement_notes: None,
        summary_for_ro: None,
        recorded_by: None,
        recorded_at: None,
        change_party: None,
        change_reason: None,
        cancel_reason: None,
        changed_by: None,
        changed_at: None,
        replaces_id: replaces.map(str::to_owned),
        added_for_id: added_for.map(str::to_owned),
        version: 0,
        created_by: viewer.user_id.clone(),
        created_at: now,
        updated_at: now,
        absence_reason: None,
        evidence_due: None,
    };
    diesel::insert_into(treatment_sessions::table)
        .values(&s)
        .execute(c)?;
    model::book_blocks(c, ap, &s.id, &plan::blocks(at, minutes))?;
    Ok(s)
}

// ------------------------------------------------------------------ the plan

/// The dates the plan would book, for the user to check before saving. Says why when it
/// cannot be done.
pub fn preview_plan(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    input: &PlanInput,
) -> Result<Vec<NaiveDateTime>, AppError> {
    let _viewer = &ctx.viewer;
    let r = managed_referral(c, ctx, referral_id)?;
    plan_dates(c, &r, input)
}

fn plan_dates(
    c: &mut DbConn,
    r: &Referral,
    input: &PlanInput,
) -> Result<Vec<NaiveDateTime>, AppError> {
    if r.status != Status::Allocated {
        return Err(AppError::Conflict(
            "A session plan is made once an assistant psychologist is allocated and before treatment starts"
                .into(),
        ));
    }
    if model::plan(c, &r.id)?.is_some() {
        return Err(AppError::Conflict(ALREADY_PLANNED.into()));
    }
    let ap = r
        .allocated_ap_id
        .clone()
        .ok_or_else(|| AppError::Conflict("No assistant psychologist is allocated".into()))?;
    let end = end_date(r)?;
    let req = PlanRequest {
        first: input.first,
        cadence: input.cadence,
        minutes: input.minutes,
        count: plan::SESSIONS_IN_PLAN,
        working_days: working_days(c, &ap)?,
        end_date: end,
    };
    let diary = load_diary(c, &ap, input.first.date(), end, &[])?;
    plan::generate(&req, &diary).map_err(|e| plan_error("first_date", e))
}

/// Makes the 12-session plan and books every appointment, all or nothing.
pub fn make_plan(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    input: &PlanInput,
    emails: Option<&Emails>,
) -> Result<Vec<Session>, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let r = managed_referral(c, ctx, referral_id)?;
    let dates = plan_dates(c, &r, input)?;
    let ap = r.allocated_ap_id.clone().unwrap_or_default();
    let now = crate::clock::now();
    // The plan's key is the referral: a plan made meanwhile by a concurrent request (which
    // `plan_dates` could not yet see) fails here, and is the same conflict.
    diesel::insert_into(session_plans::table)
        .values(Plan {
            referral_id: r.id.clone(),
            cadence: input.cadence,
            minutes: input.minutes as i32,
            mode: input.mode,
            location: input.location.clone(),
            target_sessions: plan::SESSIONS_IN_PLAN as i32,
            created_by: viewer.user_id.clone(),
            created_at: now,
            updated_at: now,
            measures: input.measures,
        })
        .execute(c)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => AppError::Conflict(ALREADY_PLANNED.into()),
            other => other.into(),
        })?;
    let mut made = Vec::with_capacity(dates.len());
    for at in &dates {
        made.push(insert_session(
            c,
            viewer,
            &r,
            &ap,
            *at,
            input.minutes,
            input.mode,
            input.location.clone(),
            None,
            None,
        )?);
    }
    let (first, last) = (dates[0], dates[dates.len() - 1]);
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::PlanMade,
        false,
        format!(
            "{} sessions, {}, {} minutes, {}. First on {}, last on {}. Outcome measures {}",
            dates.len(),
            input.cadence.label().to_lowercase(),
            input.minutes,
            input.mode.label().to_lowercase(),
            when(first),
            when(last),
            input.measures.label().to_lowercase()
        ),
    )?;
    audit_change(
        c,
        actor,
        "sessions.plan_made",
        ("referral", &r.id),
        serde_json::json!({ "sessions": dates.len() }),
    )?;
    if let Some(emails) = emails {
        crate::notifications::sessions::plan_changed(c, emails, &r, first.date(), "made")?;
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok(made)
}

// ------------------------------------------------------------------ changes

fn fresh(s: &Session, version: i64) -> Result<(), AppError> {
    if s.version != version {
        return Err(AppError::Conflict(STALE_SESSION.into()));
    }
    if s.status != SessionStatus::Booked {
        return Err(AppError::Conflict(format!(
            "This appointment is {} and cannot change",
            s.status.label().to_lowercase()
        )));
    }
    Ok(())
}

/// Moves one appointment. The old one is kept as rescheduled, with who asked and why.
pub fn reschedule(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
    input: &MoveInput,
    emails: Option<&Emails>,
) -> Result<Session, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, s) = managed_session(c, ctx, session_id)?;
    in_treatment(&r)?;
    fresh(&s, input.version)?;
    let end = end_date(&r)?;
    check_slot(
        c,
        &s.ap_user_id,
        input.to,
        s.minutes as u32,
        end,
        std::slice::from_ref(&s.id),
        "new_date",
    )?;
    retire(
        c,
        viewer,
        &s,
        SessionStatus::Superseded,
        input.party,
        Some(input.reason.clone()),
        None,
    )?;
    let new = insert_session(
        c,
        viewer,
        &r,
        &s.ap_user_id,
        input.to,
        s.minutes as u32,
        s.mode,
        s.location.clone(),
        Some(&s.id),
        s.added_for_id.as_deref(),
    )?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::SessionRescheduled,
        false,
        format!(
            "Moved from {} to {}. Asked by {}: {}",
            when(s.starts_at),
            when(input.to),
            input.party.label().to_lowercase(),
            input.reason
        ),
    )?;
    audit_change(
        c,
        actor,
        "sessions.rescheduled",
        ("session", &s.id),
        serde_json::json!({ "new_session": new.id, "party": input.party.as_str() }),
    )?;
    if let Some(emails) = emails {
        crate::notifications::sessions::plan_changed(c, emails, &r, input.to.date(), "changed")?;
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok(new)
}

/// Moves this appointment and every booked one after it: the first goes to `input.to`,
/// the rest follow at the plan's cadence with the plan's rules.
pub fn shift_remaining(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
    input: &MoveInput,
    emails: Option<&Emails>,
) -> Result<Vec<Session>, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, s) = managed_session(c, ctx, session_id)?;
    in_treatment(&r)?;
    fresh(&s, input.version)?;
    let plan = model::plan(c, &r.id)?
        .ok_or_else(|| AppError::Conflict("This referral has no session plan".into()))?;
    let moving: Vec<Session> = model::sessions_of(c, &r.id)?
        .into_iter()
        .filter(|x| x.status == SessionStatus::Booked && x.starts_at >= s.starts_at)
        .collect();
    let ids: Vec<String> = moving.iter().map(|x| x.id.clone()).collect();
    let end = end_date(&r)?;
    let req = PlanRequest {
        first: input.to,
        cadence: plan.cadence,
        minutes: s.minutes as u32,
        count: moving.len() as u32,
        working_days: working_days(c, &s.ap_user_id)?,
        end_date: end,
    };
    let diary = load_diary(c, &s.ap_user_id, input.to.date(), end, &ids)?;
    let dates = plan::generate(&req, &diary).map_err(|e| plan_error("new_date", e))?;
    // Every old appointment lets go of its time before any new one is booked: the new
    // dates were chosen ignoring the moving ones, so a new one may take an old one's slot
    // (moving everything a week later, say).
    for old in &moving {
        retire(
            c,
            viewer,
            old,
            SessionStatus::Superseded,
            input.party,
            Some(input.reason.clone()),
            None,
        )?;
    }
    let mut made = Vec::with_capacity(dates.len());
    for (old, at) in moving.iter().zip(&dates) {
        made.push(insert_session(
            c,
            viewer,
            &r,
            &old.ap_user_id,
            *at,
            old.minutes as u32,
            old.mode,
            old.location.clone(),
            Some(&old.id),
            old.added_for_id.as_deref(),
        )?);
    }
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::SessionsShifted,
        false,
        format!(
            "{} sessions moved: now from {} to {}. Asked by {}: {}",
            dates.len(),
            when(dates[0]),
            when(dates[dates.len() - 1]),
            input.party.label().to_lowercase(),
            input.reason
        ),
    )?;
    audit_change(
        c,
        actor,
        "sessions.shifted",
        ("referral", &r.id),
        serde_json::json!({ "moved": ids, "party": input.party.as_str() }),
    )?;
    if let Some(emails) = emails {
        crate::notifications::sessions::plan_changed(c, emails, &r, dates[0].date(), "changed")?;
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok(made)
}

/// What became of a session the service could not hold.
#[derive(Debug, Clone)]
pub enum Replacement {
    NotNeeded,
    /// Boxed: a session row is large beside the other variants.
    Booked(Box<Session>),
    /// No time could be found before the requirement ends: why, in words.
    NotPossible(String),
}

/// Books one more appointment after the last live one, at the plan's cadence, so 12 can
/// still be delivered.
fn replace(
    c: &mut DbConn,
    viewer: &Viewer,
    r: &Referral,
    lost: &Session,
) -> Result<Replacement, AppError> {
    let Some(plan) = model::plan(c, &r.id)? else {
        return Ok(Replacement::NotPossible(
            "the referral has no session plan".into(),
        ));
    };
    let end = end_date(r)?;
    let last = model::sessions_of(c, &r.id)?
        .into_iter()
        .filter(|x| x.is_live())
        .map(|x| x.starts_at)
        .max()
        .unwrap_or(lost.starts_at)
        .max(lost.starts_at);
    // Same time of day as the lost appointment.
    let after = last.date().and_time(lost.starts_at.time());
    let diary = load_diary(c, &lost.ap_user_id, after.date(), end, &[])?;
    match plan::next_after(
        after,
        plan.cadence,
        lost.minutes as u32,
        working_days(c, &lost.ap_user_id)?,
        end,
        &diary,
    ) {
        Ok(at) => {
            let s = insert_session(
                c,
                viewer,
                r,
                &lost.ap_user_id,
                at,
                lost.minutes as u32,
                lost.mode,
                lost.location.clone(),
                None,
                Some(&lost.id),
            )?;
            record_event(
                c,
                viewer,
                &r.id,
                EventKind::SessionAdded,
                false,
                format!(
                    "Added on {} in place of the session on {}",
                    when(at),
                    when(lost.starts_at)
                ),
            )?;
            Ok(Replacement::Booked(Box::new(s)))
        }
        Err(e) => Ok(Replacement::NotPossible(e.message())),
    }
}

/// Cancels an appointment with a coded reason. One the service cancels is replaced.
pub fn cancel(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
    input: &CancelInput,
    emails: Option<&Emails>,
) -> Result<Replacement, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, s) = managed_session(c, ctx, session_id)?;
    in_treatment(&r)?;
    fresh(&s, input.version)?;
    retire(
        c,
        viewer,
        &s,
        SessionStatus::Cancelled,
        input.reason.party(),
        input.note.clone(),
        Some(input.reason),
    )?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::SessionCancelled,
        false,
        match &input.note {
            Some(n) => format!("{}: {}. {n}", when(s.starts_at), input.reason.label()),
            None => format!("{}: {}", when(s.starts_at), input.reason.label()),
        },
    )?;
    let replacement = if input.reason.needs_replacement() {
        replace(c, viewer, &r, &s)?
    } else {
        Replacement::NotNeeded
    };
    audit_change(
        c,
        actor,
        "sessions.cancelled",
        ("session", &s.id),
        serde_json::json!({
            "reason": input.reason.as_str(),
            "replacement": match &replacement { Replacement::Booked(x) => Some(x.id.clone()), _ => None },
        }),
    )?;
    if let Some(emails) = emails {
        crate::notifications::sessions::plan_changed(c, emails, &r, s.starts_at.date(), "changed")?;
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok(replacement)
}

/// Adds one appointment to a referral's plan (after absences, say).
pub fn add_session(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    at: NaiveDateTime,
    emails: Option<&Emails>,
) -> Result<Session, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let r = managed_referral(c, ctx, referral_id)?;
    in_treatment(&r)?;
    let plan = model::plan(c, &r.id)?
        .ok_or_else(|| AppError::Conflict("Make the session plan first".into()))?;
    let ap = r
        .allocated_ap_id
        .clone()
        .ok_or_else(|| AppError::Conflict("No assistant psychologist is allocated".into()))?;
    let end = end_date(&r)?;
    check_slot(c, &ap, at, plan.minutes as u32, end, &[], "new_date")?;
    let s = insert_session(
        c,
        viewer,
        &r,
        &ap,
        at,
        plan.minutes as u32,
        plan.mode,
        plan.location.clone(),
        None,
        None,
    )?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::SessionAdded,
        false,
        format!("Added on {}", when(at)),
    )?;
    audit_change(
        c,
        actor,
        "sessions.added",
        ("session", &s.id),
        serde_json::json!({}),
    )?;
    if let Some(emails) = emails {
        crate::notifications::sessions::plan_changed(c, emails, &r, at.date(), "changed")?;
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok(s)
}

// ------------------------------------------------------------------ recording

/// What recording a session led to, for the message the user sees.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub attended: i64,
    pub target: i64,
    pub started: bool,
    pub ended: bool,
    pub absence_reported: bool,
    /// The failure follows a warning given within 12 months: breach action is expected.
    pub enforcement_flagged: bool,
    pub after_warning: Option<NaiveDate>,
    /// Recorded as awaiting evidence until this day.
    pub evidence_due: Option<NaiveDate>,
    pub replacement: Option<Replacement>,
    /// A correction cancelled the appointment added in place of this one.
    pub replacement_cancelled: bool,
}

#[expect(clippy::too_many_arguments)]
fn transition_to(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    referral_id: &str,
    action: Action,
    on: NaiveDate,
    end_outcome: Option<EndOutcome>,
    emails: Option<&Emails>,
) -> Result<(), AppError> {
    let r = referrals_model::find(c, viewer, referral_id)?;
    let t = TransitionInput {
        version: r.version,
        date: Some(on),
        end_outcome,
        ..Default::default()
    };
    crate::referrals::service::follow(c, viewer, actor, referral_id, action, &t, emails)?;
    Ok(())
}

/// Records what happened at a session. The first attended session starts treatment; the
/// twelfth ends it as completed. An unacceptable failure is reported to the responsible
/// officer at once for an enforcement decision ([`enforcement::escalate`]); an absence
/// awaiting evidence is reported with its last day.
pub fn record_attendance(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
    input: &AttendanceInput,
    emails: Option<&Emails>,
) -> Result<Recorded, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, s) = managed_session(c, ctx, session_id)?;
    in_treatment(&r)?;
    fresh(&s, input.version)?;
    let today = local_now().date();
    if s.starts_at.date() > today {
        return Err(AppError::Validation(FieldErrors::single(
            "happened",
            format!(
                "This session is on {}: record it on the day or after",
                format::date(s.starts_at.date())
            ),
        )));
    }
    let a = input.attendance;
    if let Some(due) = a.evidence_due {
        enforcement::check_evidence_due(due, s.starts_at.date(), today)?;
    }
    let now = crate::clock::now();
    let changed = diesel::update(
        treatment_sessions::table
            .filter(treatment_sessions::id.eq(&s.id))
            .filter(treatment_sessions::version.eq(s.version)),
    )
    .set((
        treatment_sessions::status.eq(SessionStatus::Recorded),
        treatment_sessions::outcome.eq(a.outcome),
        treatment_sessions::absence_reason.eq(a.absence_reason),
        treatment_sessions::evidence_due.eq(a.evidence_due),
        treatment_sessions::engagement_notes.eq(&input.engagement_notes),
        treatment_sessions::summary_for_ro.eq(&input.summary_for_ro),
        treatment_sessions::recorded_by.eq(&viewer.user_id),
        treatment_sessions::recorded_at.eq(now),
        treatment_sessions::version.eq(s.version + 1),
        treatment_sessions::updated_at.eq(now),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(STALE_SESSION.into()));
    }
    crate::sessions::notes::first(
        c,
        &s,
        &viewer.user_id,
        input.engagement_notes.as_deref(),
        now,
    )?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::AttendanceRecorded,
        false,
        match &input.summary_for_ro {
            Some(summary) => format!(
                "Session on {}: {}. {summary}",
                when(s.starts_at),
                a.describe()
            ),
            None => format!("Session on {}: {}", when(s.starts_at), a.describe()),
        },
    )?;
    audit_change(
        c,
        actor,
        "sessions.attendance_recorded",
        ("session", &s.id),
        serde_json::json!({ "outcome": a.outcome.as_str() }),
    )?;
    let out = after_outcome(c, viewer, actor, &r, &s, None, a, emails)?;
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok(out)
}

/// What a newly recorded (or corrected) outcome `a` of session `s` sets going, `was` the
/// outcome it had: treatment starts with the first attended session and ends with the last;
/// an unacceptable failure escalates; an absence awaiting evidence is reported with its last
/// day; a session the service could not hold is replaced.
#[expect(clippy::too_many_arguments)]
fn after_outcome(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    r: &Referral,
    s: &Session,
    was: Option<Attendance>,
    a: Attendance,
    emails: Option<&Emails>,
) -> Result<Recorded, AppError> {
    let attended = model::sessions_of(c, &r.id)?
        .iter()
        .filter(|x| x.outcome.is_some_and(Outcome::attended))
        .count() as i64;
    let target = crate::sessions::upkeep::planned_count(c, &r.id)?;
    let mut out = Recorded {
        attended,
        target,
        ..Default::default()
    };
    let day = s.starts_at.date();
    let was_outcome = was.map(|w| w.outcome);
    if a.outcome.attended() && !was_outcome.is_some_and(Outcome::attended) {
        if r.status == Status::Allocated {
            transition_to(
                c,
                viewer,
                actor,
                &r.id,
                Action::StartTreatment,
                day,
                None,
                emails,
            )?;
            out.started = true;
        }
        if attended >= target {
            transition_to(
                c,
                viewer,
                actor,
                &r.id,
                Action::EndTreatment,
                day,
                Some(EndOutcome::Completed),
                emails,
            )?;
            out.ended = true;
        }
    }
    if a.outcome.enforceable() && !was_outcome.is_some_and(Outcome::enforceable) {
        let e = enforcement::escalate(c, Some(viewer), r, s, a.outcome, emails)?;
        out.absence_reported = true;
        out.enforcement_flagged = e.after_warning.is_some();
        out.after_warning = e.after_warning;
    }
    if let Some(due) = a.evidence_due.filter(|_| was != Some(a)) {
        record_event(
            c,
            viewer,
            &r.id,
            EventKind::EvidenceAwaited,
            false,
            format!(
                "Absent on {}, awaiting evidence until {}: after that day with no evidence decided, the absence is unacceptable",
                format::date(day),
                format::date(due)
            ),
        )?;
        if let Some(emails) = emails {
            crate::notifications::sessions::awaiting_evidence(c, emails, r, day, due)?;
        }
        out.evidence_due = Some(due);
    }
    match (was_outcome, a.outcome) {
        (Some(Outcome::ServiceLogistics), Outcome::ServiceLogistics) => {}
        (_, Outcome::ServiceLogistics) => {
            out.replacement = Some(replace(c, viewer, r, s)?);
        }
        (Some(Outcome::ServiceLogistics), _) => {
            out.replacement_cancelled = cancel_replacement(c, viewer, r, s)?;
        }
        _ => {}
    }
    // A replacement booked or withdrawn: the person's confirmations and reminders follow.
    if let Some(emails) = emails
        && (out.replacement.is_some() || out.replacement_cancelled)
    {
        crate::reminders::schedule::sync(c, emails.reminders(), &r.id)?;
    }
    Ok(out)
}

/// The appointment booked in place of `lost` (which the service could not hold, until a
/// correction said otherwise) is cancelled if it is still to be held; whether it was.
fn cancel_replacement(
    c: &mut DbConn,
    viewer: &Viewer,
    r: &Referral,
    lost: &Session,
) -> Result<bool, AppError> {
    let added: Option<Session> = treatment_sessions::table
        .filter(treatment_sessions::added_for_id.eq(&lost.id))
        .filter(treatment_sessions::status.eq(SessionStatus::Booked))
        .select(Session::as_select())
        .first(c)
        .optional()?;
    let Some(added) = added else {
        return Ok(false);
    };
    retire(
        c,
        viewer,
        &added,
        SessionStatus::Cancelled,
        ChangeParty::Service,
        Some("The session it replaced was corrected: it was not lost".into()),
        Some(CancelReason::BookedInError),
    )?;
    model::release_blocks(c, &added.id)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::SessionCancelled,
        false,
        format!(
            "The session on {}, added in place of the one on {}, is cancelled: that session was corrected",
            when(added.starts_at),
            when(lost.starts_at)
        ),
    )?;
    Ok(true)
}

/// Whether the viewer may correct session `s`'s recorded attendance: a clinical lead, or
/// the practitioner who recorded it.
fn may_correct(viewer: &Viewer, s: &Session) -> bool {
    viewer.role == Role::ClinicalLead
        || (sees_clinical(viewer.role) && s.recorded_by.as_deref() == Some(viewer.user_id.as_str()))
}

/// The correction form of session `session_id`: the session, its recorded attendance and the
/// caption, if the viewer may correct it; the view recorded.
pub fn correction_form(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
) -> Result<(Session, Attendance, Caption), AppError> {
    let s = model::session(c, session_id)?;
    let (r, reason) = ctx.open(c, &s.referral_id)?;
    if !may_correct(&ctx.viewer, &s) {
        return Err(AppError::Forbidden);
    }
    let was = recorded_attendance(&s)?;
    let caption = crate::referrals::access::caption(c, &ctx.actor, &r, reason.as_deref())?;
    Ok((s, was, caption))
}

/// What session `s` is recorded as; refused when it is not recorded.
fn recorded_attendance(s: &Session) -> Result<Attendance, AppError> {
    s.attendance()
        .filter(|_| s.status == SessionStatus::Recorded)
        .ok_or_else(|| AppError::Conflict("Only a recorded session can be corrected".into()))
}

/// What a correction set going.
#[derive(Debug, Clone, Default)]
pub struct Corrected {
    pub referral_id: String,
    pub recorded: Recorded,
    /// An open enforcement review of the old failure was withdrawn.
    pub review_withdrawn: bool,
    /// A decision already taken on the old failure (a warning or breach action) that
    /// stands, in words, for the officer to revisit.
    pub decision_stands: Option<String>,
    /// The responsible officer was emailed the correction (the old value had reached them).
    pub officer_told: bool,
}

/// Corrects a recorded attendance: by the practitioner who recorded it or a clinical lead,
/// with the reason, the old value kept. What the new value means then follows (an
/// unacceptable failure escalates; one no longer a failure has its open review withdrawn);
/// and if the old value had been emailed to the responsible officer, the correction is too.
/// Once treatment has ended, a correction may not change whether the session counts as
/// attended (that would reopen or change how treatment ended).
pub fn correct_attendance(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
    input: &CorrectionInput,
    emails: Option<&Emails>,
) -> Result<Corrected, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    crate::db::lock_audit_chain(c)?;
    let s = model::session(c, session_id)?;
    let (r, _) = ctx.open(c, &s.referral_id)?;
    if !may_correct(viewer, &s) {
        return Err(AppError::Forbidden);
    }
    let was = recorded_attendance(&s)?;
    if s.version != input.version {
        return Err(AppError::Conflict(STALE_SESSION.into()));
    }
    let a = input.attendance;
    if a == was {
        return Err(AppError::Validation(FieldErrors::single(
            "happened",
            format!(
                "The session is already recorded as {}",
                was.describe_lower()
            ),
        )));
    }
    let ended = !matches!(r.status, Status::Allocated | Status::InTreatment);
    if ended
        && (a.outcome.attended() != was.outcome.attended()
            || (a.outcome == Outcome::ServiceLogistics)
                != (was.outcome == Outcome::ServiceLogistics))
    {
        return Err(AppError::Conflict(format!(
            "Treatment has ended, so a correction cannot change whether this session counts towards it (it was recorded as {})",
            was.describe_lower()
        )));
    }
    if let Some(due) = a
        .evidence_due
        .filter(|_| was.evidence_due != a.evidence_due)
    {
        enforcement::check_evidence_due(due, s.starts_at.date(), local_now().date())?;
    }
    let now = crate::clock::now();
    let changed = diesel::update(
        treatment_sessions::table
            .find(&s.id)
            .filter(treatment_sessions::version.eq(s.version)),
    )
    .set((
        treatment_sessions::outcome.eq(a.outcome),
        treatment_sessions::absence_reason.eq(a.absence_reason),
        treatment_sessions::evidence_due.eq(a.evidence_due),
        treatment_sessions::version.eq(s.version + 1),
        treatment_sessions::updated_at.eq(now),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(STALE_SESSION.into()));
    }
    diesel::insert_into(attendance_corrections::table)
        .values(model::Correction {
            id: crate::ids::new_id(),
            session_id: s.id.clone(),
            referral_id: r.id.clone(),
            old_outcome: was.outcome,
            old_absence_reason: was.absence_reason,
            new_outcome: a.outcome,
            new_absence_reason: a.absence_reason,
            reason: Some(input.reason.clone()),
            corrected_by: viewer.user_id.clone(),
            corrected_at: now,
        })
        .execute(c)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::AttendanceCorrected,
        false,
        format!(
            "Session on {} corrected from {} to {}. Why: {}",
            when(s.starts_at),
            was.describe_lower(),
            a.describe_lower(),
            input.reason
        ),
    )?;
    audit_change(
        c,
        actor,
        "sessions.attendance_corrected",
        ("session", &s.id),
        serde_json::json!({ "from": was.outcome.as_str(), "to": a.outcome.as_str() }),
    )?;
    let mut out = Corrected {
        referral_id: r.id.clone(),
        ..Default::default()
    };
    if was.outcome.enforceable() && !a.outcome.enforceable() {
        let w = enforcement::withdraw_review(c, viewer, &r, &s.id)?;
        (out.review_withdrawn, out.decision_stands) = (w.withdrawn, w.decision_stands);
    }
    out.recorded = after_outcome(c, viewer, actor, &r, &s, Some(was), a, emails)?;
    // The officer heard of the old value: an unacceptable failure or an absence awaiting
    // evidence. They hear of the new one from its own email where it has one.
    let told_before = was.outcome.enforceable() || was.outcome == Outcome::AwaitingEvidence;
    if told_before && let Some(emails) = emails {
        crate::notifications::sessions::attendance_corrected(
            c,
            emails,
            &r,
            s.starts_at.date(),
            a.outcome,
        )?;
        out.officer_told = true;
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok(out)
}

/// Records an outcome measure taken at a session that happened. A risk item answered above
/// zero raises a risk alert to the clinical leads of the area at once.
pub fn record_measure(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
    input: &MeasureInput,
    emails: Option<&Emails>,
) -> Result<Measure, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, s) = managed_session(c, ctx, session_id)?;
    if !matches!(r.status, Status::InTreatment | Status::Ended) {
        return Err(AppError::Conflict(
            "Outcome measures are recorded during treatment".into(),
        ));
    }
    if !s.outcome.is_some_and(Outcome::attended) {
        return Err(AppError::Conflict(
            "Outcome measures are recorded for sessions the person attended".into(),
        ));
    }
    let instrument = input.scores.instrument();
    let exists = outcome_measures::table
        .filter(outcome_measures::session_id.eq(&s.id))
        .filter(outcome_measures::instrument.eq(instrument))
        .count()
        .get_result::<i64>(c)?;
    if exists > 0 {
        return Err(AppError::Conflict(format!(
            "A {} is already recorded for this session",
            instrument.label()
        )));
    }
    let m = Measure {
        id: crate::ids::new_id(),
        referral_id: r.id.clone(),
        session_id: s.id.clone(),
        instrument,
        stage: input.stage,
        answers: input.scores.answers_code(),
        total: input.scores.total() as i32,
        risk: input.scores.risk(),
        recorded_by: viewer.user_id.clone(),
        recorded_at: crate::clock::now(),
    };
    diesel::insert_into(outcome_measures::table)
        .values(&m)
        .execute(c)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::MeasureRecorded,
        true,
        format!(
            "{} ({}) at the session on {}: total {} of {}, {}",
            instrument.label(),
            input.stage.label().to_lowercase(),
            format::date(s.starts_at.date()),
            m.total,
            instrument.max_total(),
            instrument.severity(m.total as u32).to_lowercase()
        ),
    )?;
    audit_change(
        c,
        actor,
        "sessions.measure_recorded",
        ("session", &s.id),
        serde_json::json!({ "instrument": instrument.as_str(), "risk": m.risk }),
    )?;
    if m.risk {
        raise_alert(c, viewer, &r, &m, model::AlertKind::RiskItem, emails)?;
    } else if r.status == Status::InTreatment && deteriorated(c, &m)? {
        raise_alert(
            c,
            viewer,
            &r,
            &m,
            model::AlertKind::ReliableDeterioration,
            emails,
        )?;
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok(m)
}

/// Whether measure `m` shows a reliable deterioration since the referral's first score on
/// the same instrument (the first by session time; `m` itself has none to compare).
fn deteriorated(c: &mut DbConn, m: &Measure) -> Result<bool, AppError> {
    use crate::db::schema::treatment_sessions;
    let first: Option<i32> = outcome_measures::table
        .inner_join(
            treatment_sessions::table.on(treatment_sessions::id.eq(outcome_measures::session_id)),
        )
        .filter(outcome_measures::referral_id.eq(&m.referral_id))
        .filter(outcome_measures::instrument.eq(m.instrument))
        .filter(outcome_measures::id.ne(&m.id))
        .order((
            treatment_sessions::starts_at.asc(),
            outcome_measures::recorded_at.asc(),
        ))
        .select(outcome_measures::total)
        .first(c)
        .optional()?;
    Ok(first.is_some_and(|f| {
        crate::sessions::outcomes::change(
            m.instrument,
            u32::try_from(f).unwrap_or(0),
            u32::try_from(m.total).unwrap_or(0),
        ) == crate::sessions::outcomes::Change::ReliableDeterioration
    }))
}

fn raise_alert(
    c: &mut DbConn,
    viewer: &Viewer,
    r: &Referral,
    m: &Measure,
    kind: model::AlertKind,
    emails: Option<&Emails>,
) -> Result<(), AppError> {
    let instrument = m.instrument;
    diesel::insert_into(risk_alerts::table)
        .values(model::RiskAlert {
            id: crate::ids::new_id(),
            referral_id: r.id.clone(),
            area_id: r.area_id.clone(),
            measure_id: m.id.clone(),
            raised_at: crate::clock::now(),
            acknowledged_by: None,
            acknowledged_at: None,
            action_taken: None,
            kind,
        })
        .execute(c)?;
    let what = match kind {
        model::AlertKind::RiskItem => format!(
            "{} risk item {} answered above zero",
            instrument.label(),
            instrument.risk_item().unwrap_or_default()
        ),
        model::AlertKind::ReliableDeterioration => format!(
            "{} total {} is a reliable deterioration since the first session",
            instrument.label(),
            m.total
        ),
    };
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::RiskAlert,
        true,
        format!("{what}: clinical leads alerted"),
    )?;
    if let Some(emails) = emails {
        crate::notifications::sessions::risk_alert(c, emails, r)?;
    }
    Ok(())
}

/// A clinical lead records what was done about a risk alert; returns its referral's id and
/// when. Only the first of two leads acknowledging at once succeeds: the update itself
/// checks the alert is still open.
pub fn acknowledge_alert(
    c: &mut DbConn,
    ctx: &Ctx,
    alert_id: &str,
    action_taken: &str,
) -> Result<(String, NaiveDateTime), AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    // The audit chain first, as a lead giving a reason takes it before the alert's row: the
    // other order let two leads acknowledging at once deadlock on PostgreSQL.
    crate::db::lock_audit_chain(c)?;
    let alert: model::RiskAlert = risk_alerts::table
        .find(alert_id)
        .select(model::RiskAlert::as_select())
        .first(c)?;
    let (r, _) = ctx.open(c, &alert.referral_id)?;
    if viewer.role != Role::ClinicalLead {
        return Err(AppError::Forbidden);
    }
    let already = || AppError::Conflict("This alert is already acknowledged".into());
    if alert.acknowledged_at.is_some() {
        return Err(already());
    }
    let now = crate::clock::now();
    let changed = diesel::update(
        risk_alerts::table
            .find(alert_id)
            .filter(risk_alerts::acknowledged_at.is_null()),
    )
    .set((
        risk_alerts::acknowledged_by.eq(&viewer.user_id),
        risk_alerts::acknowledged_at.eq(now),
        risk_alerts::action_taken.eq(action_taken),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(already());
    }
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::RiskAlertAcknowledged,
        true,
        action_taken.to_owned(),
    )?;
    audit_change(
        c,
        actor,
        "sessions.risk_alert_acknowledged",
        ("risk_alert", alert_id),
        serde_json::json!({}),
    )?;
    Ok((r.id, now))
}

/// The practitioner's report to the responsible officer: on the timeline and sent.
pub fn send_report(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    input: &ReportInput,
    emails: Option<&Emails>,
) -> Result<model::Report, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let r = managed_referral(c, ctx, referral_id)?;
    if !matches!(
        r.status,
        Status::Allocated | Status::InTreatment | Status::Ended
    ) {
        return Err(AppError::Conflict(
            "A practitioner report is made during treatment".into(),
        ));
    }
    let id = crate::ids::new_id();
    let report = model::Report {
        id: id.clone(),
        referral_id: r.id.clone(),
        kind: input.kind,
        note: input.note.clone(),
        written_by: viewer.user_id.clone(),
        written_at: crate::clock::now(),
    };
    diesel::insert_into(practitioner_reports::table)
        .values(report.clone())
        .execute(c)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::PractitionerReport,
        false,
        format!("{}. {}", input.kind.label(), input.note),
    )?;
    audit_change(
        c,
        actor,
        "sessions.practitioner_report",
        ("referral", &r.id),
        serde_json::json!({ "kind": input.kind.as_str(), "report": id }),
    )?;
    if let Some(emails) = emails {
        crate::notifications::sessions::practitioner_report(c, emails, &r)?;
    }
    Ok(report)
}

// ------------------------------------------------------------------ reading

/// Everything about a referral's treatment, for its page and the API.
#[derive(Debug, Clone, Default)]
pub struct Treatment {
    pub plan: Option<Plan>,
    pub sessions: Vec<Session>,
    pub measures: Vec<Measure>,
    pub alerts: Vec<model::RiskAlert>,
    pub reports: Vec<model::Report>,
    pub reviews: Vec<EnforcementReview>,
    pub events: Vec<EventRow>,
    /// Corrections of recorded attendances, oldest first.
    pub corrections: Vec<model::Correction>,
    /// The person's confirmations and reminders, by session.
    pub reminders: BTreeMap<String, Vec<crate::reminders::model::ReminderLine>>,
    /// Whether the viewer may change the sessions.
    pub can_manage: bool,
    /// Whether the viewer may correct any recorded attendance (a clinical lead); an
    /// assistant psychologist corrects their own.
    pub can_correct_all: bool,
    /// Whether the viewer may decide the evidence for an absence awaiting it.
    pub can_decide_evidence: bool,
    /// Whether the viewer is the referral's responsible officer, who decides enforcement and
    /// may withdraw a warning or breach action.
    pub is_officer: bool,
    pub viewer_id: String,
}

pub use crate::sessions::upkeep::{follows_treatment, sees_clinical};

/// A referral's treatment, for the API: opened through the reason gate and recorded as a
/// view of its sessions. Returns the referral's id with it.
pub fn view_treatment(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(String, Treatment), AppError> {
    let (r, reason) = ctx.open(c, referral_id)?;
    crate::referrals::access::record_view(
        c,
        &ctx.actor,
        "referral.sessions_viewed",
        &r.id,
        reason.as_deref(),
    )?;
    Ok((r.id.clone(), treatment(c, &ctx.viewer, &r)?))
}

/// Loads a referral's treatment. The caller has found the referral in scope (and recorded
/// the view).
pub fn treatment(c: &mut DbConn, viewer: &Viewer, r: &Referral) -> Result<Treatment, AppError> {
    if !follows_treatment(viewer.role) {
        return Ok(Treatment::default());
    }
    let can_manage = match viewer.role {
        Role::ClinicalLead => true,
        Role::AssistantPsychologist => {
            r.allocated_ap_id.as_deref() == Some(viewer.user_id.as_str())
        }
        _ => false,
    };
    let clinical = sees_clinical(viewer.role);
    Ok(Treatment {
        plan: model::plan(c, &r.id)?,
        sessions: model::sessions_of(c, &r.id)?,
        measures: if clinical {
            model::measures_of(c, &r.id)?
        } else {
            Vec::new()
        },
        alerts: if clinical {
            model::alerts_of(c, &r.id)?
        } else {
            Vec::new()
        },
        reports: model::reports_of(c, &r.id)?,
        reviews: model::reviews_of(c, &r.id)?,
        events: model::events_of(c, &r.id)?
            .into_iter()
            .filter(|e| clinical || !e.clinical)
            .collect(),
        corrections: model::corrections_of(c, &r.id)?,
        reminders: crate::reminders::model::of_referral(c, &r.id)?,
        can_manage,
        can_correct_all: viewer.role == Role::ClinicalLead,
        can_decide_evidence: enforcement::may_decide_evidence(viewer, r),
        is_officer: enforcement::is_officer(viewer, r),
        viewer_id: viewer.user_id.clone(),
    })
}

/// A session in scope for reading (any casework role that can see its referral).
pub fn session_in_scope(
    c: &mut DbConn,
    viewer: &Viewer,
    session_id: &str,
) -> Result<(Referral, Session), AppError> {
    let s = model::session(c, session_id)?;
    let r = referrals_model::find(c, viewer, &s.referral_id)?;
    Ok((r, s))
}

/// A referral whose sessions the viewer may change (for forms).
pub fn referral_to_manage(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<Referral, AppError> {
    managed_referral(c, ctx, referral_id)
}

/// The default cadence offered on the plan form.
pub fn default_cadence() -> Cadence {
    Cadence::Weekly
}

/// Something on a referral in the viewer's scope that needs them: (for clinical leads) a risk
/// alert not yet acknowledged, a session over with no outcome, or an enforcement review not
/// yet decided.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attention {
    pub href: String,
    pub reference: String,
    pub text: String,
}

/// What needs the viewer, in this order: risk alerts, sessions over with no outcome (as of
/// `now`, UK time), referrals whose officer or assistant psychologist no longer has an
/// account, arrest referrals waiting for a responsible officer, enforcement reviews.
pub fn attention(
    c: &mut DbConn,
    viewer: &Viewer,
    now: NaiveDateTime,
) -> Result<Vec<Attention>, AppError> {
    use crate::db::schema::{outcome_measures, referrals};
    use crate::referrals::model::{Purpose, scoped};
    let mut out = Vec::new();
    if viewer.role == Role::ClinicalLead {
        // Unacknowledged risk alerts come first, each saying what raised it.
        let referrals_with_alerts: Vec<(String, String)> = scoped(viewer, Purpose::Casework)
            .filter(
                referrals::id.eq_any(
                    risk_alerts::table
                        .filter(risk_alerts::acknowledged_at.is_null())
                        .select(risk_alerts::referral_id),
                ),
            )
            .select((referrals::id, referrals::reference))
            .order(referrals::reference.asc())
            .limit(100)
            .load(c)?;
        let references: BTreeMap<String, String> = referrals_with_alerts.into_iter().collect();
        let alerts: Vec<model::RiskAlert> = risk_alerts::table
            .filter(risk_alerts::acknowledged_at.is_null())
            .filter(risk_alerts::referral_id.eq_any(references.keys()))
            .order(risk_alerts::raised_at.asc())
            .select(model::RiskAlert::as_select())
            .load(c)?;
        let measures: BTreeMap<String, model::Measure> = outcome_measures::table
            .filter(outcome_measures::id.eq_any(alerts.iter().map(|a| &a.measure_id)))
            .select(model::Measure::as_select())
            .load(c)?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        for a in alerts {
            let Some(measure) = measures.get(&a.measure_id) else {
                continue;
            };
            out.push(Attention {
                href: format!("/risk-alerts/{}/acknowledge", a.id),
                reference: references.get(&a.referral_id).cloned().unwrap_or_default(),
                text: format!(
                    "Risk alert raised {}: {}. {}. Review it today and record what was done",
                    crate::web::format::date_time(a.raised_at),
                    a.kind.label(),
                    measure.alert_context()
                ),
            });
        }
    }
    let unrecorded = crate::sessions::unrecorded::waiting(c, viewer, now)?;
    out.extend(unrecorded.into_iter().map(|u| Attention {
        href: format!("/sessions/{}/attendance", u.session_id),
        text: u.describe(),
        reference: u.reference,
    }));
    if !matches!(viewer.role, Role::ProbationOfficer | Role::ClinicalLead) {
        return Ok(out);
    }
    if viewer.role == Role::ClinicalLead {
        // Referrals whose assistant psychologist's account is disabled: to book or allocate
        // someone else, so nobody's assessment or treatment is left with no one.
        use crate::referrals::state::Status;
        let gone = crate::referrals::model::disabled_ids(c)?;
        let orphaned: Vec<(String, String, Status)> = if gone.is_empty() {
            Vec::new()
        } else {
            scoped(viewer, Purpose::Casework)
                .filter(
                    referrals::status
                        .eq(Status::AssessmentBooked)
                        .and(referrals::assessor_id.eq_any(gone.clone()))
                        .or(referrals::status
                            .eq_any([Status::Allocated, Status::InTreatment])
                            .and(referrals::allocated_ap_id.eq_any(gone))),
                )
                .select((referrals::id, referrals::reference, referrals::status))
                .order(referrals::reference.asc())
                .limit(100)
                .load(c)?
        };
        out.extend(orphaned.into_iter().map(|(id, reference, status)| {
            let (what, action) = if status == Status::AssessmentBooked {
                ("assessment", "book_assessment")
            } else {
                ("treatment", "allocate_ap")
            };
            Attention {
                href: format!("/referrals/{id}/actions/{action}"),
                reference,
                text: format!(
                    "The assistant psychologist for this {what} no longer has an account: choose another"
                ),
            }
        }));
    }
    if viewer.role == Role::ProbationOfficer {
        // Referrals whose officer's account is disabled wait for another to take them over.
        use crate::referrals::model::final_statuses;
        let gone = crate::referrals::model::disabled_ids(c)?;
        let orphaned: Vec<(String, String)> = if gone.is_empty() {
            Vec::new()
        } else {
            scoped(viewer, Purpose::Casework)
                .filter(referrals::responsible_officer_id.eq_any(gone))
                .filter(referrals::status.ne_all(final_statuses()))
                .select((referrals::id, referrals::reference))
                .order(referrals::reference.asc())
                .limit(100)
                .load(c)?
        };
        out.extend(orphaned.into_iter().map(|(id, reference)| Attention {
            href: format!("/referrals/{id}"),
            reference,
            text:
                "Its responsible officer's account is disabled: take it over if it is yours".into(),
        }));
        // Arrest referrals in the officer's areas that no officer has taken over yet.
        use crate::referrals::codes::EntryPoint;
        let waiting: Vec<(String, String, NaiveDateTime)> = scoped(viewer, Purpose::Casework)
            .filter(referrals::entry_point.eq(EntryPoint::Arrest))
            .filter(referrals::responsible_officer_id.is_null())
            .filter(referrals::status.ne_all(final_statuses()))
            .select((referrals::id, referrals::reference, referrals::submitted_at))
            .order(referrals::submitted_at.asc())
            .limit(100)
            .load(c)?;
        out.extend(waiting.into_iter().map(|(id, reference, at)| Attention {
            href: format!("/referrals/{id}"),
            reference,
            text: format!(
                "Arrest referral made {} is waiting for a responsible officer: take it over if it is yours",
                crate::web::format::date(crate::clock::utc_to_london(at).date())
            ),
        }));
    }
    // Absences awaiting evidence, the nearest last day first, with the days left.
    let awaiting_sessions =
        treatment_sessions::table.filter(treatment_sessions::outcome.eq(Outcome::AwaitingEvidence));
    let waiting_on: BTreeMap<String, String> = scoped(viewer, Purpose::Casework)
        .filter(referrals::id.eq_any(awaiting_sessions.select(treatment_sessions::referral_id)))
        .select((referrals::id, referrals::reference))
        .limit(100)
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    let awaiting: Vec<(String, String, NaiveDateTime, Option<NaiveDate>)> = awaiting_sessions
        .filter(treatment_sessions::referral_id.eq_any(waiting_on.keys()))
        .select((
            treatment_sessions::referral_id,
            treatment_sessions::referral_id,
            treatment_sessions::starts_at,
            treatment_sessions::evidence_due,
        ))
        .order(treatment_sessions::evidence_due.asc())
        .load::<(String, String, NaiveDateTime, Option<NaiveDate>)>(c)?
        .into_iter()
        .map(|(id, _, at, due)| {
            let reference = waiting_on.get(&id).cloned().unwrap_or_default();
            (id, reference, at, due)
        })
        .collect();
    out.extend(
        awaiting
            .into_iter()
            .map(|(id, reference, at, due)| Attention {
                href: format!("/referrals/{id}#sessions"),
                reference,
                text: format!(
                    "Absent on {}, awaiting evidence: the person {}",
                    format::date(at.date()),
                    due.map(|d| enforcement::countdown(d, now.date()))
                        .unwrap_or_default()
                ),
            }),
    );
    let reviews: Vec<(String, String)> = scoped(viewer, Purpose::Casework)
        .filter(
            referrals::id.eq_any(
                crate::db::schema::enforcement_reviews::table
                    .filter(crate::db::schema::enforcement_reviews::decided_at.is_null())
                    .select(crate::db::schema::enforcement_reviews::referral_id),
            ),
        )
        .select((referrals::id, referrals::reference))
        .order(referrals::reference.asc())
        .limit(100)
        .load(c)?;
    out.extend(reviews.into_iter().map(|(id, reference)| Attention {
        href: format!("/referrals/{id}"),
        reference,
        text: "Unacceptable failure to attend or comply: the responsible officer's enforcement decision is due".into(),
    }));
    Ok(out)
}
