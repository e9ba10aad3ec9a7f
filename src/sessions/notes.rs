//! A session's engagement notes, in versions: recording a session writes the first; each
//! change after writes a new one, with who and when, and the session keeps the current text.
//! Notes are clinical: only clinical roles read them (the practitioners and clinical leads
//! whose scope holds the referral), and only whoever manages the referral's sessions writes
//! them. Reading the history is recorded as a view; writing as a change, on the timeline as a
//! clinical entry. A change made on an old version is refused, so no one overwrites what they
//! have not seen.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{session_notes, treatment_sessions};
use crate::error::{AppError, FieldErrors};
use crate::referrals::access::{Caption, Ctx};
use crate::sessions::codes::{EventKind, SessionStatus};
use crate::sessions::model::{self, Session};
use crate::sessions::upkeep::{may_manage, record_event, when};

/// One version of a session's notes.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = session_notes)]
pub struct NoteVersion {
    pub session_id: String,
    pub version: i32,
    pub referral_id: String,
    /// Cleared when the record's personal data is erased.
    pub body: Option<String>,
    pub written_by: String,
    pub written_at: NaiveDateTime,
}

/// A session's notes: every version, oldest first, and whether the viewer may write one.
#[derive(Debug, Clone)]
pub struct Notes {
    pub session: Session,
    pub versions: Vec<NoteVersion>,
    pub can_write: bool,
}

impl Notes {
    /// The version a new one follows (0 before any).
    pub fn current(&self) -> i32 {
        self.versions.last().map(|v| v.version).unwrap_or(0)
    }
}

/// The versions kept, or for a session recorded before versions were kept (or imported), its
/// current text as the first.
fn versions_of(c: &mut DbConn, s: &Session) -> Result<Vec<NoteVersion>, AppError> {
    let kept: Vec<NoteVersion> = session_notes::table
        .filter(session_notes::session_id.eq(&s.id))
        .order(session_notes::version.asc())
        .select(NoteVersion::as_select())
        .load(c)?;
    if !kept.is_empty() {
        return Ok(kept);
    }
    Ok(match (&s.engagement_notes, &s.recorded_by, s.recorded_at) {
        (Some(body), Some(by), Some(at)) => vec![NoteVersion {
            session_id: s.id.clone(),
            version: 1,
            referral_id: s.referral_id.clone(),
            body: Some(body.clone()),
            written_by: by.clone(),
            written_at: at,
        }],
        _ => Vec::new(),
    })
}

/// A recorded session's notes for a clinical role whose scope holds its referral; the view
/// recorded, with the reason given for it.
pub fn view(c: &mut DbConn, ctx: &Ctx, session_id: &str) -> Result<(Notes, Caption), AppError> {
    let s = model::session(c, session_id)?;
    let (r, reason) = ctx.open(c, &s.referral_id)?;
    if !crate::sessions::upkeep::sees_clinical(ctx.viewer.role) {
        return Err(AppError::Forbidden);
    }
    if s.status != SessionStatus::Recorded {
        return Err(AppError::Conflict(
            "Notes are written once the session is recorded".into(),
        ));
    }
    let caption = crate::referrals::access::caption(c, &ctx.actor, &r, reason.as_deref())?;
    crate::referrals::access::record_view(
        c,
        &ctx.actor,
        "referral.session_notes_viewed",
        &r.id,
        reason.as_deref(),
    )?;
    let versions = versions_of(c, &s)?;
    Ok((
        Notes {
            can_write: may_manage(&ctx.viewer, &r),
            session: s,
            versions,
        },
        caption,
    ))
}

/// Writes a new version of a recorded session's notes, following version `after` (the one
/// the writer saw; 0 when there was none). Returns the new version's number.
pub fn write(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
    after: i32,
    body: &str,
) -> Result<i32, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    crate::db::lock_audit_chain(c)?;
    let s = model::session(c, session_id)?;
    let (r, _) = ctx.open(c, &s.referral_id)?;
    if !may_manage(viewer, &r) {
        return Err(AppError::Forbidden);
    }
    if s.status != SessionStatus::Recorded {
        return Err(AppError::Conflict(
            "Notes are written once the session is recorded".into(),
        ));
    }
    let versions = versions_of(c, &s)?;
    let current = versions.last().map(|v| v.version).unwrap_or(0);
    if after != current {
        return Err(AppError::Conflict(format!(
            "Someone wrote version {current} of these notes since you opened them: reload to read it first"
        )));
    }
    if versions.last().and_then(|v| v.body.as_deref()) == Some(body) {
        return Err(AppError::Validation(FieldErrors::single(
            "notes",
            "The notes are the same as the current version",
        )));
    }
    // A first version kept only on the session (recorded before versions were kept) is
    // written down before the new one, so it is not lost.
    let stored: i64 = session_notes::table
        .filter(session_notes::session_id.eq(&s.id))
        .count()
        .get_result(c)?;
    if stored == 0
        && let Some(first) = versions.first()
    {
        diesel::insert_into(session_notes::table)
            .values(first)
            .execute(c)?;
    }
    let now = crate::clock::now();
    let version = current + 1;
    // The primary key (session, version) refuses a second writer of the same version.
    diesel::insert_into(session_notes::table)
        .values(NoteVersion {
            session_id: s.id.clone(),
            version,
            referral_id: r.id.clone(),
            body: Some(body.to_owned()),
            written_by: viewer.user_id.clone(),
            written_at: now,
        })
        .execute(c)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => AppError::Conflict(
                "Someone wrote a new version of these notes at the same moment: reload to read it"
                    .into(),
            ),
            e => e.into(),
        })?;
    diesel::update(treatment_sessions::table.find(&s.id))
        .set((
            treatment_sessions::engagement_notes.eq(body),
            treatment_sessions::updated_at.eq(now),
        ))
        .execute(c)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::NotesChanged,
        true,
        format!(
            "Notes on the session on {} changed (version {version})",
            when(s.starts_at)
        ),
    )?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "sessions.notes_written")
            .record("session", &s.id)
            .details(serde_json::json!({ "version": version })),
    )?;
    Ok(version)
}

/// The first version, written when the session is recorded with notes.
pub fn first(
    c: &mut DbConn,
    s: &Session,
    by: &str,
    body: Option<&str>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(body) = body else { return Ok(()) };
    diesel::insert_into(session_notes::table)
        .values(NoteVersion {
            session_id: s.id.clone(),
            version: 1,
            referral_id: s.referral_id.clone(),
            body: Some(body.to_owned()),
            written_by: by.to_owned(),
            written_at: at,
        })
        .execute(c)?;
    Ok(())
}
