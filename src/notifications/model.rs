//! The outbox table: writing messages, claiming them under a lease, recording the outcome,
//! and the per-user opt-outs of optional kinds.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::coded_enum;
use crate::db::DbConn;
use crate::db::schema::{notification_opt_outs, outbox_messages};
use crate::error::AppError;
use crate::notifications::messages::{Message, MessageKind};

coded_enum! {
    /// Where a message is on its way out.
    pub enum OutboxStatus {
        Queued = ("queued", "Waiting to be sent"),
        Sending = ("sending", "Being sent"),
        Sent = ("sent", "Sent"),
        Dead = ("dead", "Failed"),
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_messages)]
pub struct OutboxMessage {
    pub id: String,
    pub message_id: String,
    pub kind: MessageKind,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox_messages)]
struct NewOutboxMessage<'a> {
    id: &'a str,
    message_id: &'a str,
    kind: MessageKind,
    recipient: &'a str,
    subject: &'a str,
    text_body: &'a str,
    html_body: &'a str,
    status: OutboxStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

/// Writes `message` to the outbox. Call it inside the transaction of the change that causes
/// the email, so both commit or neither does. Optional kinds the recipient has turned off are
/// dropped here; returns whether the message was queued.
pub fn enqueue(conn: &mut DbConn, message: Message) -> Result<bool, AppError> {
    if message.kind.is_optional() && has_opted_out(conn, &message.to, message.kind)? {
        return Ok(false);
    }
    let id = crate::ids::new_id();
    // Stable for every attempt, so a receiver can drop a repeat delivery.
    let message_id = format!("<{id}@mhtr-pathway>");
    let now = crate::clock::now();
    diesel::insert_into(outbox_messages::table)
        .values(NewOutboxMessage {
            id: &id,
            message_id: &message_id,
            kind: message.kind,
            recipient: &message.to,
            subject: &message.subject,
            text_body: &message.text_body,
            html_body: &message.html_body,
            status: OutboxStatus::Queued,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        })
        .execute(conn)?;
    Ok(true)
}

fn has_opted_out(conn: &mut DbConn, email: &str, kind: MessageKind) -> Result<bool, AppError> {
    use crate::db::schema::users;
    let n: i64 = notification_opt_outs::table
        .inner_join(users::table)
        .filter(users::email.eq(email))
        .filter(notification_opt_outs::kind.eq(kind))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

crate::db::lease::lease_claim!(fn claim_id on outbox_messages by next_attempt_at, OutboxStatus);

/// Takes the next message due by `due_by` for `owner` under a lease (see
/// [`lease_claim`](crate::db::lease)), counting the attempt.
pub fn claim_next(
    conn: &mut DbConn,
    owner: &str,
    due_by: NaiveDateTime,
    lease: Duration,
) -> Result<Option<OutboxMessage>, AppError> {
    match claim_id(conn, owner, due_by, lease)? {
        Some(id) => Ok(Some(by_id(conn, &id)?)),
        None => Ok(None),
    }
}

/// Records that the mail server accepted the message. The bodies are cleared: they may
/// hold a single-use link, which should not outlive its delivery in the database.
/// Returns false if `owner` no longer holds the lease (another worker took over).
pub fn mark_sent(conn: &mut DbConn, id: &str, owner: &str) -> Result<bool, AppError> {
    let n = diesel::update(
        outbox_messages::table
            .find(id)
            .filter(outbox_messages::lease_owner.eq(owner)),
    )
    .set((
        outbox_messages::status.eq(OutboxStatus::Sent),
        outbox_messages::sent_at.eq(Some(crate::clock::now())),
        outbox_messages::lease_owner.eq(None::<String>),
        outbox_messages::lease_expires_at.eq(None::<NaiveDateTime>),
        outbox_messages::last_error.eq(None::<String>),
        outbox_messages::text_body.eq(""),
        outbox_messages::html_body.eq(""),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a failed attempt: back to the queue after `retry_at`, or dead-lettered.
/// `error` must hold no personal data (no addresses, no server text that may echo them).
pub fn mark_failed(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> Result<bool, AppError> {
    let (status, next) = match retry_at {
        Some(at) => (OutboxStatus::Queued, at),
        None => (OutboxStatus::Dead, crate::clock::now()),
    };
    let n = diesel::update(
        outbox_messages::table
            .find(id)
            .filter(outbox_messages::lease_owner.eq(owner)),
    )
    .set((
        outbox_messages::status.eq(status),
        outbox_messages::next_attempt_at.eq(next),
        outbox_messages::lease_owner.eq(None::<String>),
        outbox_messages::lease_expires_at.eq(None::<NaiveDateTime>),
        outbox_messages::last_error.eq(Some(error)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The email outbox for the metrics: messages waiting (or being sent), the age of the
/// oldest, and the dead letters.
pub fn queue_stats(conn: &mut DbConn) -> Result<crate::metrics::Queue, AppError> {
    let waiting = [OutboxStatus::Queued, OutboxStatus::Sending];
    let (queued, oldest): (i64, Option<chrono::NaiveDateTime>) = outbox_messages::table
        .filter(outbox_messages::status.eq_any(waiting))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox_messages::created_at),
        ))
        .first(conn)?;
    let dead: i64 = outbox_messages::table
        .filter(outbox_messages::status.eq(OutboxStatus::Dead))
        .count()
        .get_result(conn)?;
    Ok(crate::metrics::Queue {
        queued,
        oldest_seconds: oldest.map_or(0, |t| (crate::clock::now() - t).num_seconds().max(0)),
        dead,
    })
}

/// How many messages are in each status.
pub fn counts(conn: &mut DbConn) -> Result<Vec<(OutboxStatus, i64)>, AppError> {
    let rows: Vec<(OutboxStatus, i64)> = outbox_messages::table
        .group_by(outbox_messages::status)
        .select((outbox_messages::status, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(OutboxStatus::ALL
        .iter()
        .map(|s| {
            let n = rows.iter().find(|(r, _)| r == s).map_or(0, |(_, n)| *n);
            (*s, n)
        })
        .collect())
}

/// Messages to `recipient` (as stored, lower case), in `status`, created from `from` to
/// `to` (whole UK days), newest first: at most `limit`, and how many match.
pub fn search(
    conn: &mut DbConn,
    recipient: Option<&str>,
    status: Option<OutboxStatus>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    limit: i64,
) -> Result<(Vec<OutboxMessage>, i64), AppError> {
    let query = || {
        let mut q = outbox_messages::table.into_boxed();
        if let Some(r) = recipient {
            q = q.filter(outbox_messages::recipient.eq(r.to_owned()));
        }
        if let Some(s) = status {
            q = q.filter(outbox_messages::status.eq(s));
        }
        if let Some(f) = from {
            q = q.filter(outbox_messages::created_at.ge(crate::clock::london_to_utc(
                f.and_time(chrono::NaiveTime::MIN),
            )));
        }
        if let Some(t) = to.and_then(|t| t.succ_opt()) {
            q = q.filter(outbox_messages::created_at.lt(crate::clock::london_to_utc(
                t.and_time(chrono::NaiveTime::MIN),
            )));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(outbox_messages::created_at.desc())
        .limit(limit)
        .select(OutboxMessage::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Dead-lettered messages, newest first.
pub fn dead(conn: &mut DbConn, limit: i64) -> Result<Vec<OutboxMessage>, AppError> {
    Ok(outbox_messages::table
        .filter(outbox_messages::status.eq(OutboxStatus::Dead))
        .order(outbox_messages::created_at.desc())
        .limit(limit)
        .select(OutboxMessage::as_select())
        .load(conn)?)
}

/// Puts a dead message back in the queue with a fresh set of attempts. Only dead messages
/// can be retried, so a double submit cannot send twice.
pub fn requeue(conn: &mut DbConn, id: &str) -> Result<bool, AppError> {
    let n = diesel::update(
        outbox_messages::table
            .find(id)
            .filter(outbox_messages::status.eq(OutboxStatus::Dead)),
    )
    .set((
        outbox_messages::status.eq(OutboxStatus::Queued),
        outbox_messages::attempts.eq(0),
        outbox_messages::next_attempt_at.eq(crate::clock::now()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// How long a sent message's row (recipient, subject, dates; the bodies are already gone)
/// is kept for the outbox page and for tracing a complaint.
pub const SENT_RETENTION_DAYS: i64 = 30;

/// Deletes sent messages older than [`SENT_RETENTION_DAYS`]; returns how many.
pub fn purge_sent(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, AppError> {
    Ok(diesel::delete(
        outbox_messages::table
            .filter(outbox_messages::status.eq(OutboxStatus::Sent))
            .filter(outbox_messages::sent_at.lt(now - Duration::days(SENT_RETENTION_DAYS))),
    )
    .execute(conn)?)
}

pub fn by_id(conn: &mut DbConn, id: &str) -> Result<OutboxMessage, AppError> {
    Ok(outbox_messages::table
        .find(id)
        .select(OutboxMessage::as_select())
        .first(conn)?)
}

/// The optional kinds a user has turned off.
pub fn opt_outs(conn: &mut DbConn, user_id: &str) -> Result<Vec<MessageKind>, AppError> {
    Ok(notification_opt_outs::table
        .filter(notification_opt_outs::user_id.eq(user_id))
        .select(notification_opt_outs::kind)
        .load(conn)?)
}

/// Replaces a user's choices among the kinds `offered` to them: each not in `wanted` is
/// turned off. Kinds not offered (another role's) keep their earlier choice.
pub fn set_preferences(
    conn: &mut DbConn,
    user_id: &str,
    offered: &[MessageKind],
    wanted: &[MessageKind],
) -> Result<(), AppError> {
    diesel::delete(
        notification_opt_outs::table
            .filter(notification_opt_outs::user_id.eq(user_id))
            .filter(notification_opt_outs::kind.eq_any(offered.to_vec())),
    )
    .execute(conn)?;
    let now = crate::clock::now();
    for kind in offered.iter().filter(|k| !wanted.contains(k)) {
        diesel::insert_into(notification_opt_outs::table)
            .values((
                notification_opt_outs::user_id.eq(user_id),
                notification_opt_outs::kind.eq(*kind),
                notification_opt_outs::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
