//! Server-side sessions: the cookie holds a random token, the table holds its SHA-256 with
//! the stage of sign-in, the CSRF token and the timestamps that enforce idle and absolute
//! lifetimes. Ending a row ends the session, whatever the browser still holds.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::coded_enum;
use crate::db::DbConn;
use crate::db::schema::sessions;
use crate::error::AppError;
use crate::settings::SecuritySettings;

coded_enum! {
    /// How far through sign-in a session is.
    pub enum SessionStage {
        /// Password accepted; the authenticator code is still to come.
        MfaPending = ("mfa_pending", "Waiting for the security code"),
        /// Password accepted; the user must set up an authenticator app now.
        MfaEnrol = ("mfa_enrol", "Setting up two-factor authentication"),
        /// Fully signed in.
        Full = ("full", "Signed in"),
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub stage: SessionStage,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub flash: Option<String>,
    pub ended_at: Option<NaiveDateTime>,
    pub ended_reason: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
struct NewSession<'a> {
    id: String,
    user_id: &'a str,
    stage: SessionStage,
    csrf_token: String,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
}

/// A one-off message shown on the next page (GOV.UK notification banner).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    /// `success` or `important`.
    pub kind: String,
    pub heading: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Flash {
    pub fn success(heading: impl Into<String>) -> Self {
        Self {
            kind: "success".into(),
            heading: heading.into(),
            body: None,
        }
    }

    pub fn important(heading: impl Into<String>) -> Self {
        Self {
            kind: "important".into(),
            heading: heading.into(),
            body: None,
        }
    }

    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// Why a session was found unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Missing,
    Ended,
    IdleTimeout,
    AbsoluteTimeout,
}

/// Where the request came from, for the session list and the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The known-device cookie the browser sent, if any (see `auth::throttle`).
    pub device: Option<String>,
}

/// Starts a session and returns the cookie token (only its hash is stored).
pub fn create(
    conn: &mut DbConn,
    user_id: &str,
    stage: SessionStage,
    s: &SecuritySettings,
    client: &ClientInfo,
) -> Result<(String, SessionRow), AppError> {
    let token = crate::ids::random_token(32);
    let now = crate::clock::now();
    let lifetime = match stage {
        SessionStage::Full => Duration::hours(s.absolute_timeout_hours),
        SessionStage::MfaPending | SessionStage::MfaEnrol => {
            Duration::minutes(s.pending_mfa_minutes)
        }
    };
    let ua: Option<String> = client
        .user_agent
        .as_ref()
        .map(|u| u.chars().take(200).collect());
    let row = NewSession {
        id: crate::ids::sha256_hex(&token),
        user_id,
        stage,
        csrf_token: crate::ids::random_token(24),
        created_at: now,
        last_seen_at: now,
        expires_at: now + lifetime,
        ip: client.ip.as_deref(),
        user_agent: ua.as_deref(),
    };
    diesel::insert_into(sessions::table)
        .values(&row)
        .execute(conn)?;
    let stored = sessions::table
        .find(&row.id)
        .select(SessionRow::as_select())
        .first(conn)?;
    Ok((token, stored))
}

/// Finds the live session behind a cookie token. An idle or expired session is ended on
/// the spot so it can never be revived.
pub fn lookup(
    conn: &mut DbConn,
    token: &str,
    s: &SecuritySettings,
) -> Result<Result<SessionRow, Invalid>, AppError> {
    let id = crate::ids::sha256_hex(token);
    let Some(row) = sessions::table
        .find(&id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Err(Invalid::Missing));
    };
    if row.ended_at.is_some() {
        return Ok(Err(Invalid::Ended));
    }
    let now = crate::clock::now();
    if now >= row.expires_at {
        end(conn, &row.id, "absolute timeout")?;
        return Ok(Err(Invalid::AbsoluteTimeout));
    }
    if row.stage == SessionStage::Full
        && now - row.last_seen_at >= Duration::minutes(s.idle_timeout_minutes)
    {
        end(conn, &row.id, "idle timeout")?;
        return Ok(Err(Invalid::IdleTimeout));
    }
    Ok(Ok(row))
}

/// Records activity. Writes at most every 15 seconds per session, unless `force`.
pub fn touch(conn: &mut DbConn, row: &mut SessionRow, force: bool) -> Result<(), AppError> {
    let now = crate::clock::now();
    if force || now - row.last_seen_at >= Duration::seconds(15) {
        diesel::update(sessions::table.find(&row.id))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)?;
        row.last_seen_at = now;
    }
    Ok(())
}

pub fn end(conn: &mut DbConn, id: &str, reason: &str) -> Result<bool, AppError> {
    let n = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at.is_null()),
    )
    .set((
        sessions::ended_at.eq(crate::clock::now()),
        sessions::ended_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Ends one of a user's own sessions, by its public id (the first 16 hex characters of the
/// stored hash, never the cookie token).
pub fn end_by_public_id(
    conn: &mut DbConn,
    user_id: &str,
    public_id: &str,
    reason: &str,
) -> Result<bool, AppError> {
    let rows = active_for_user(conn, user_id)?;
    match rows.into_iter().find(|r| public_id_of(&r.id) == public_id) {
        Some(r) => end(conn, &r.id, reason),
        None => Ok(false),
    }
}

pub fn public_id_of(session_id: &str) -> String {
    session_id.chars().take(16).collect()
}

/// Ends every live session of a user (optionally keeping one) and returns how many ended.
pub fn end_all_for_user(
    conn: &mut DbConn,
    user_id: &str,
    reason: &str,
    keep: Option<&str>,
) -> Result<usize, AppError> {
    end_live(conn, Some(user_id), reason, keep)
}

/// Ends every live session of everyone (optionally keeping one).
pub fn end_everyone(
    conn: &mut DbConn,
    reason: &str,
    keep: Option<&str>,
) -> Result<usize, AppError> {
    end_live(conn, None, reason, keep)
}

/// Ends the live sessions of one user, or of everyone, but `keep`.
fn end_live(
    conn: &mut DbConn,
    user_id: Option<&str>,
    reason: &str,
    keep: Option<&str>,
) -> Result<usize, AppError> {
    let mut q = diesel::update(sessions::table)
        .filter(sessions::ended_at.is_null())
        .into_boxed();
    if let Some(user_id) = user_id {
        q = q.filter(sessions::user_id.eq(user_id.to_owned()));
    }
    if let Some(keep) = keep {
        q = q.filter(sessions::id.ne(keep.to_owned()));
    }
    Ok(q.set((
        sessions::ended_at.eq(crate::clock::now()),
        sessions::ended_reason.eq(reason),
    ))
    .execute(conn)?)
}

/// Live, fully signed-in sessions of a user, newest first.
pub fn active_for_user(conn: &mut DbConn, user_id: &str) -> Result<Vec<SessionRow>, AppError> {
    let now = crate::clock::now();
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::stage.eq(SessionStage::Full))
        .filter(sessions::expires_at.gt(now))
        .order(sessions::created_at.desc())
        .select(SessionRow::as_select())
        .load(conn)?)
}

/// Keeps at most `max` live sessions per user: the oldest beyond that are ended.
pub fn enforce_limit(conn: &mut DbConn, user_id: &str, max: i64) -> Result<usize, AppError> {
    let live = active_for_user(conn, user_id)?;
    let mut ended = 0;
    for old in live.iter().skip(max.max(1) as usize) {
        if end(conn, &old.id, "too many sessions")? {
            ended += 1;
        }
    }
    Ok(ended)
}

/// Replaces a session by a new one at `stage` (new cookie, new CSRF token): done at every
/// step of sign-in and at any change of privilege, so a fixed or stolen id stops working.
pub fn rotate(
    conn: &mut DbConn,
    old: &SessionRow,
    stage: SessionStage,
    s: &SecuritySettings,
    client: &ClientInfo,
) -> Result<(String, SessionRow), AppError> {
    end(conn, &old.id, "rotated")?;
    create(conn, &old.user_id, stage, s, client)
}

pub fn set_flash(conn: &mut DbConn, session_id: &str, flash: &Flash) -> Result<(), AppError> {
    let json = serde_json::to_string(flash).map_err(|e| AppError::Internal(e.into()))?;
    diesel::update(sessions::table.find(session_id))
        .set(sessions::flash.eq(Some(json)))
        .execute(conn)?;
    Ok(())
}

/// Takes the pending flash message, if any (one write only when there is one).
pub fn take_flash(conn: &mut DbConn, row: &SessionRow) -> Result<Option<Flash>, AppError> {
    let Some(json) = &row.flash else {
        return Ok(None);
    };
    diesel::update(sessions::table.find(&row.id))
        .set(sessions::flash.eq(None::<String>))
        .execute(conn)?;
    Ok(serde_json::from_str(json).ok())
}

/// Seconds of idleness left before the session ends (for the timeout warning).
pub fn idle_seconds_left(row: &SessionRow, s: &SecuritySettings) -> i64 {
    let idle_end = row.last_seen_at + Duration::minutes(s.idle_timeout_minutes);
    let end = idle_end.min(row.expires_at);
    (end - crate::clock::now()).num_seconds().max(0)
}

/// Removes long-dead rows (sessions ended or expired more than 30 days ago).
pub fn purge_old(conn: &mut DbConn) -> Result<usize, AppError> {
    let cutoff = crate::clock::now() - Duration::days(30);
    Ok(diesel::delete(sessions::table.filter(sessions::expires_at.lt(cutoff))).execute(conn)?)
}
