//! A practitioner's leave: an assistant psychologist marks a period away (or a clinical lead
//! marks it for one in their areas). No session can be booked on its days — the plan, a move,
//! an added session and a replacement all pass over them — and the sessions already booked on
//! them are listed to arrange in one go: each moved to a new time, or cancelled by the service
//! (which books a replacement after the last session, so all 12 can still be delivered). The
//! arrangements land together or not at all, and the responsible officers hear of the changes
//! through the usual plan emails.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::alteration as audit_change;
use crate::db::DbConn;
use crate::db::schema::{practitioner_leave, referrals, treatment_sessions, user_areas, users};
use crate::error::{AppError, FieldErrors};
use crate::notifications::Emails;
use crate::referrals::access::Ctx;
use crate::sessions::codes::{CancelReason, ChangeParty, SessionStatus};
use crate::sessions::forms::{Arrangement, CancelInput, LeaveInput, MoveInput};
use crate::sessions::model::Session;
use crate::users::model::Role;
use crate::web::format;

/// The longest leave recorded at once.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = practitioner_leave)]
pub struct Leave {
    pub id: String,
    pub user_id: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
}

impl Leave {
    /// "14 December 2026 to 1 January 2027".
    pub fn period(&self) -> String {
        format!(
            "{} to {}",
            format::date(self.starts_on),
            format::date(self.ends_on)
        )
    }
}

/// One booked session during leave, with its referral.
#[derive(Debug, Clone)]
pub struct Touched {
    pub session: Session,
    pub reference: String,
    /// Who may cover it: [`cover_choices`] for its area, `(id, name)`.
    pub cover_by: Vec<(String, String)>,
}

/// Whether the viewer may record or arrange the leave of `user_id`: their own, as an
/// assistant psychologist; or, as a clinical lead, an assistant psychologist who shares one
/// of their areas.
fn may_arrange_for(c: &mut DbConn, ctx: &Ctx, user_id: &str) -> Result<bool, AppError> {
    let v = &ctx.viewer;
    Ok(match v.role {
        Role::AssistantPsychologist => v.user_id == user_id,
        Role::ClinicalLead => {
            users::table
                .inner_join(user_areas::table)
                .filter(users::id.eq(user_id))
                .filter(users::role.eq(Role::AssistantPsychologist))
                .filter(user_areas::area_id.eq_any(&v.area_ids))
                .count()
                .get_result::<i64>(c)?
                > 0
        }
        _ => false,
    })
}

/// Whose leave the viewer may record: themselves (an assistant psychologist), or the active
/// assistant psychologists of their areas (a clinical lead); `(id, name)`.
pub fn practitioners(c: &mut DbConn, ctx: &Ctx) -> Result<Vec<(String, String)>, AppError> {
    let v = &ctx.viewer;
    match v.role {
        Role::AssistantPsychologist => Ok(vec![(v.user_id.clone(), v.name.clone())]),
        Role::ClinicalLead => Ok(users::table
            .inner_join(user_areas::table)
            .filter(users::role.eq(Role::AssistantPsychologist))
            .filter(users::disabled_at.is_null())
            .filter(user_areas::area_id.eq_any(&v.area_ids))
            .select((users::id, users::name))
            .distinct()
            .order(users::name.asc())
            .load(c)?),
        _ => Err(AppError::Forbidden),
    }
}

/// Records leave; returns it with the sessions it touches.
pub fn record(
    c: &mut DbConn,
    ctx: &Ctx,
    input: &LeaveInput,
) -> Result<(Leave, Vec<Touched>), AppError> {
    if !may_arrange_for(c, ctx, &input.user_id)? {
        return Err(AppError::Validation(FieldErrors::single(
            "user_id",
            "Select an assistant psychologist in your areas",
        )));
    }
    if input.ends_on < input.starts_on {
        return Err(AppError::Validation(FieldErrors::single(
            "ends_date",
            "The last day of leave must be on or after the first",
        )));
    }
    if (input.ends_on - input.starts_on).num_days() >= MAX_DAYS {
        return Err(AppError::Validation(FieldErrors::single(
            "ends_date",
            "Record leave of a year or less at a time",
        )));
    }
    if let Some(other) = practitioner_leave::table
        .filter(practitioner_leave::user_id.eq(&input.user_id))
        .filter(practitioner_leave::cancelled_at.is_null())
        .filter(practitioner_leave::starts_on.le(input.ends_on))
        .filter(practitioner_leave::ends_on.ge(input.starts_on))
        .select(Leave::as_select())
        .first(c)
        .optional()?
    {
        return Err(AppError::Validation(FieldErrors::single(
            "starts_date",
            format!("Leave from {} is already recorded", other.period()),
        )));
    }
    let leave = Leave {
        id: crate::ids::new_id(),
        user_id: input.user_id.clone(),
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        note: input.note.clone(),
        recorded_by: ctx.viewer.user_id.clone(),
        recorded_at: crate::clock::now(),
        cancelled_at: None,
    };
    diesel::insert_into(practitioner_leave::table)
        .values(&leave)
        .execute(c)?;
    audit_change(
        c,
        &ctx.actor,
        "leave.recorded",
        ("user", &leave.user_id),
        serde_json::json!({ "leave": leave.id, "starts_on": leave.starts_on, "ends_on": leave.ends_on }),
    )?;
    let touched = touched(c, &leave)?;
    Ok((leave, touched))
}

/// One period of leave the viewer may manage, or not found.
fn find(c: &mut DbConn, ctx: &Ctx, id: &str) -> Result<Leave, AppError> {
    let leave: Leave = practitioner_leave::table
        .find(id)
        .select(Leave::as_select())
        .first(c)?;
    if !may_arrange_for(c, ctx, &leave.user_id)? {
        return Err(AppError::NotFound);
    }
    Ok(leave)
}

/// One period of leave the viewer may manage, with the sessions booked during it.
pub fn view(c: &mut DbConn, ctx: &Ctx, id: &str) -> Result<(Leave, Vec<Touched>), AppError> {
    let leave = find(c, ctx, id)?;
    let touched = touched(c, &leave)?;
    Ok((leave, touched))
}

/// The leave the viewer may manage that has not ended by `today`: an assistant
/// psychologist's own, a clinical lead's team's; with each one's practitioner's name.
pub fn current(
    c: &mut DbConn,
    ctx: &Ctx,
    today: NaiveDate,
) -> Result<Vec<(Leave, String)>, AppError> {
    let v = &ctx.viewer;
    let mut q = practitioner_leave::table
        .inner_join(users::table.on(users::id.eq(practitioner_leave::user_id)))
        .filter(practitioner_leave::cancelled_at.is_null())
        .filter(practitioner_leave::ends_on.ge(today))
        .into_boxed::<crate::db::MultiBackend>();
    q = match v.role {
        Role::AssistantPsychologist => q.filter(practitioner_leave::user_id.eq(v.user_id.clone())),
        Role::ClinicalLead => q.filter(
            practitioner_leave::user_id.eq_any(
                user_areas::table
                    .filter(user_areas::area_id.eq_any(v.area_ids.clone()))
                    .select(user_areas::user_id),
            ),
        ),
        _ => return Err(AppError::Forbidden),
    };
    Ok(q.select((Leave::as_select(), users::name))
        .order(practitioner_leave::starts_on.asc())
        .limit(200)
        .load(c)?)
}

/// Cancels leave not yet over: its days are bookable again. Returns the leave as cancelled.
pub fn cancel(c: &mut DbConn, ctx: &Ctx, id: &str) -> Result<Leave, AppError> {
    let leave = find(c, ctx, id)?;
    let now = crate::clock::now();
    let changed = diesel::update(
        practitioner_leave::table
            .find(id)
            .filter(practitioner_leave::cancelled_at.is_null()),
    )
    .set(practitioner_leave::cancelled_at.eq(now))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict("This leave is already cancelled".into()));
    }
    audit_change(
        c,
        &ctx.actor,
        "leave.cancelled",
        ("user", &leave.user_id),
        serde_json::json!({ "leave": leave.id }),
    )?;
    Ok(Leave {
        cancelled_at: Some(now),
        ..leave
    })
}

/// The sessions booked for the practitioner during `leave`, in time order.
fn touched(c: &mut DbConn, leave: &Leave) -> Result<Vec<Touched>, AppError> {
    if leave.cancelled_at.is_some() {
        return Ok(Vec::new());
    }
    let from = leave.starts_on.and_time(chrono::NaiveTime::MIN);
    let to = (leave.ends_on + chrono::TimeDelta::days(1)).and_time(chrono::NaiveTime::MIN);
    let rows: Vec<(Session, String)> = treatment_sessions::table
        .inner_join(referrals::table)
        .filter(treatment_sessions::ap_user_id.eq(&leave.user_id))
        .filter(treatment_sessions::status.eq(SessionStatus::Booked))
        .filter(treatment_sessions::starts_at.ge(from))
        .filter(treatment_sessions::starts_at.lt(to))
        .order(treatment_sessions::starts_at.asc())
        .select((Session::as_select(), referrals::reference))
        .load(c)?;
    let mut by_area: std::collections::HashMap<String, Vec<(String, String)>> =
        std::collections::HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (session, reference) in rows {
        let cover_by = match by_area.get(&session.area_id) {
            Some(v) => v.clone(),
            None => {
                let v = cover_choices(c, leave, &session.area_id)?;
                by_area.insert(session.area_id.clone(), v.clone());
                v
            }
        };
        out.push(Touched {
            session,
            reference,
            cover_by,
        });
    }
    Ok(out)
}

/// Arranges the sessions booked during leave `id`, each `(session id, version, what)`: moved
/// (checked as any move: a working day, free, before the requirement ends, not on leave),
/// cancelled by the service (a replacement follows), or covered at its time by another
/// assistant psychologist of its area. Every one or none: a refusal is named against its
/// session (`session_<id>`) and nothing changes. Returns how many of each.
pub fn arrange(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    items: &[(String, i64, Arrangement)],
    emails: Option<&Emails>,
) -> Result<Arranged, AppError> {
    let (leave, touched) = view(c, ctx, id)?;
    if items.is_empty() {
        return Err(AppError::Validation(FieldErrors::single(
            "sessions",
            "Choose what happens to at least one session",
        )));
    }
    let reason = format!("The practitioner is on leave from {}", leave.period());
    let mut errors = FieldErrors::new();
    let (mut moved, mut cancelled, mut covered) = (0, 0, 0);
    for (session_id, version, what) in items {
        if !touched.iter().any(|t| &t.session.id == session_id) {
            errors.add(
                &format!("session_{session_id}"),
                "This session is not booked during the leave",
            );
            continue;
        }
        let done = match what {
            Arrangement::Move(to) => crate::sessions::service::reschedule(
                c,
                ctx,
                session_id,
                &MoveInput {
                    version: *version,
                    to: *to,
                    party: ChangeParty::Service,
                    reason: reason.clone(),
                },
                emails,
            )
            .map(|_| moved += 1),
            Arrangement::Cancel => crate::sessions::service::cancel(
                c,
                ctx,
                session_id,
                &CancelInput {
                    version: *version,
                    reason: CancelReason::PractitionerUnavailable,
                    note: Some(reason.clone()),
                },
                emails,
            )
            .map(|_| cancelled += 1),
            Arrangement::Cover(by) => {
                let t = touched
                    .iter()
                    .find(|t| &t.session.id == session_id)
                    .expect("listed above");
                cover(c, ctx, &leave, t, *version, by).map(|_| covered += 1)
            }
        };
        match done {
            Ok(()) => {}
            Err(AppError::Validation(e)) => {
                for (_, m) in e.iter() {
                    errors.add(&format!("session_{session_id}"), m);
                }
            }
            Err(AppError::Conflict(m)) => errors.add(&format!("session_{session_id}"), m),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(Arranged {
        moved,
        cancelled,
        covered,
    })
}

/// What an arrangement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arranged {
    pub moved: usize,
    pub cancelled: usize,
    pub covered: usize,
}

/// Who may cover a session of `leave`'s practitioner: the other active assistant
/// psychologists of the session's area; `(id, name)`.
pub fn cover_choices(
    c: &mut DbConn,
    leave: &Leave,
    area_id: &str,
) -> Result<Vec<(String, String)>, AppError> {
    Ok(users::table
        .inner_join(user_areas::table)
        .filter(users::role.eq(Role::AssistantPsychologist))
        .filter(users::disabled_at.is_null())
        .filter(users::id.ne(&leave.user_id))
        .filter(user_areas::area_id.eq(area_id))
        .select((users::id, users::name))
        .order(users::name.asc())
        .load(c)?)
}

/// Hands one session of the leave to `by`, at the same time: one of those who may cover it
/// (its [`Touched::cover_by`]), working that day, not on leave, and free then (the
/// diary's quarter hours are taken in the database, so a race with another booking fails
/// here). The responsible officer need not hear of it: the time is the same.
fn cover(
    c: &mut DbConn,
    ctx: &Ctx,
    leave: &Leave,
    t: &Touched,
    version: i64,
    by: &str,
) -> Result<(), AppError> {
    let s = &t.session;
    if s.version != version {
        return Err(AppError::Conflict(
            "This session changed since the page was loaded: reload it and choose again".into(),
        ));
    }
    let name = t
        .cover_by
        .iter()
        .find(|(id, _)| id == by)
        .map(|(_, name)| name.clone())
        .ok_or_else(|| {
            AppError::Validation(FieldErrors::single(
                "cover",
                "Choose an assistant psychologist who works in this session's area, other than the one on leave",
            ))
        })?;
    let day = s.starts_at.date();
    if !crate::sessions::upkeep::working_days(c, by)?.contains(chrono::Datelike::weekday(&day)) {
        return Err(AppError::Conflict(format!(
            "{name} does not work on {}s: choose someone else, or move the session",
            day.format("%A")
        )));
    }
    if !crate::sessions::model::leave_days(c, by, day, day)?.is_empty() {
        return Err(AppError::Conflict(format!(
            "{name} is on leave on {}: choose someone else, or move the session",
            format::date(day)
        )));
    }
    // In a savepoint: a clash fails on the diary's key without spoiling the transaction.
    c.transaction::<_, AppError, _>(|c| {
        crate::sessions::model::release_blocks(c, &s.id)?;
        crate::sessions::model::book_blocks(
            c,
            by,
            &s.id,
            &crate::sessions::plan::blocks(s.starts_at, s.minutes as u32),
        )
    })
    .map_err(|e| match e {
        AppError::Conflict(_) => AppError::Conflict(format!(
            "{name} already has an appointment at that time: choose someone else, or move the session"
        )),
        e => e,
    })?;
    let now = crate::clock::now();
    diesel::update(treatment_sessions::table.find(&s.id))
        .set((
            treatment_sessions::ap_user_id.eq(by),
            treatment_sessions::version.eq(s.version + 1),
            treatment_sessions::changed_by.eq(&ctx.viewer.user_id),
            treatment_sessions::changed_at.eq(now),
            treatment_sessions::updated_at.eq(now),
        ))
        .execute(c)?;
    audit_change(
        c,
        &ctx.actor,
        "session.covered",
        ("treatment_session", &s.id),
        serde_json::json!({ "leave": leave.id, "from": leave.user_id, "to": by }),
    )?;
    Ok(())
}
