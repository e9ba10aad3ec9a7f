//! The `reminders` table: writing a reminder, claiming the due ones under a lease, and
//! recording what became of each.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::db::schema::reminders;
use crate::error::AppError;
use crate::reminders::{Channel, Delivery, Language, ReminderKind, ReminderStatus};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reminders)]
pub struct Reminder {
    /// Also the Notify `reference`, by which a retry finds a message already sent.
    pub id: String,
    pub session_id: String,
    pub referral_id: String,
    pub person_id: String,
    pub area_id: String,
    pub kind: ReminderKind,
    pub slot: String,
    pub channel: Channel,
    pub language: Language,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// The session's UK wall-clock start when this was written.
    pub for_starts_at: NaiveDateTime,
    pub status: ReminderStatus,
    pub attempts: i32,
    pub due_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub delivery: Option<Delivery>,
    pub checked_at: Option<NaiveDateTime>,
    pub fallback_of: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl Reminder {
    /// This message as a new one: its own id, queued, due at `due_at`, nothing sent yet.
    pub fn queued(self, id: String, due_at: NaiveDateTime) -> Reminder {
        Reminder {
            id,
            status: ReminderStatus::Queued,
            attempts: 0,
            due_at,
            lease_owner: None,
            lease_expires_at: None,
            last_error: None,
            provider_id: None,
            delivery: None,
            checked_at: None,
            created_at: crate::clock::now(),
            sent_at: None,
            ..self
        }
    }
}

/// Inserts `$values` into `$table` unless a unique index already holds them (without
/// aborting a PostgreSQL transaction, as a caught unique violation would); the rows written.
macro_rules! insert_once {
    ($c:expr, $table:expr, $values:expr) => {
        match $c {
            DbConn::Sqlite(c) => diesel::insert_into($table)
                .values($values)
                .on_conflict_do_nothing()
                .execute(c)?,
            DbConn::Pg(c) => diesel::insert_into($table)
                .values($values)
                .on_conflict_do_nothing()
                .execute(c)?,
        }
    };
}
pub(crate) use insert_once;

/// Writes `r` unless the same message for the same session, time and channel is already
/// written (two changes racing write it once). Returns whether it was written.
pub fn insert(c: &mut DbConn, r: &Reminder) -> Result<bool, AppError> {
    let n = insert_once!(c, reminders::table, r);
    Ok(n == 1)
}

crate::db::lease::lease_claim!(fn claim_id on reminders by due_at, ReminderStatus);

/// Takes the next reminder due by `due_by` for `owner` under a lease (see
/// [`lease_claim`](crate::db::lease)), counting the attempt.
pub fn claim_next(
    c: &mut DbConn,
    owner: &str,
    due_by: NaiveDateTime,
    lease: Duration,
) -> Result<Option<Reminder>, AppError> {
    match claim_id(c, owner, due_by, lease)? {
        Some(id) => Ok(Some(by_id(c, &id)?)),
        None => Ok(None),
    }
}

pub fn by_id(c: &mut DbConn, id: &str) -> Result<Reminder, AppError> {
    Ok(reminders::table
        .find(id)
        .select(Reminder::as_select())
        .first(c)?)
}

/// Records that Notify took the message (as `provider_id`), if `owner` still holds it.
pub fn mark_sent(
    c: &mut DbConn,
    id: &str,
    owner: &str,
    provider_id: Option<&str>,
    delivery: Delivery,
) -> Result<bool, AppError> {
    let now = crate::clock::now();
    let n = diesel::update(
        reminders::table
            .find(id)
            .filter(reminders::lease_owner.eq(owner)),
    )
    .set((
        reminders::status.eq(ReminderStatus::Sent),
        reminders::sent_at.eq(Some(now)),
        reminders::checked_at.eq(Some(now)),
        reminders::provider_id.eq(provider_id),
        reminders::delivery.eq(Some(delivery)),
        reminders::lease_owner.eq(None::<String>),
        reminders::lease_expires_at.eq(None::<NaiveDateTime>),
        reminders::last_error.eq(None::<String>),
    ))
    .execute(c)?;
    Ok(n == 1)
}

/// A failed attempt: queued again at `retry_at`, or dead. `error` holds no personal data.
pub fn mark_failed(
    c: &mut DbConn,
    id: &str,
    owner: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> Result<bool, AppError> {
    let (status, next) = match retry_at {
        Some(at) => (ReminderStatus::Queued, at),
        None => (ReminderStatus::Dead, crate::clock::now()),
    };
    let n = diesel::update(
        reminders::table
            .find(id)
            .filter(reminders::lease_owner.eq(owner)),
    )
    .set((
        reminders::status.eq(status),
        reminders::due_at.eq(next),
        reminders::lease_owner.eq(None::<String>),
        reminders::lease_expires_at.eq(None::<NaiveDateTime>),
        reminders::last_error.eq(Some(error)),
    ))
    .execute(c)?;
    Ok(n == 1)
}

/// Withdraws a reminder not yet sent (held by `owner`, or by no one), with why.
pub fn cancel(c: &mut DbConn, id: &str, owner: Option<&str>, why: &str) -> Result<bool, AppError> {
    let mut q = diesel::update(reminders::table)
        .filter(reminders::id.eq(id))
        .into_boxed();
    q = match owner {
        Some(o) => q.filter(reminders::lease_owner.eq(o.to_owned())),
        None => q.filter(reminders::status.eq(ReminderStatus::Queued)),
    };
    let n = q
        .set((
            reminders::status.eq(ReminderStatus::Cancelled),
            reminders::lease_owner.eq(None::<String>),
            reminders::lease_expires_at.eq(None::<NaiveDateTime>),
            reminders::last_error.eq(Some(why)),
        ))
        .execute(c)?;
    Ok(n == 1)
}

/// Sent messages whose delivery may still change, last asked before `before`.
pub fn to_check(
    c: &mut DbConn,
    before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Reminder>, AppError> {
    let open = [
        Delivery::Created,
        Delivery::Sending,
        Delivery::Pending,
        Delivery::Accepted,
    ];
    Ok(reminders::table
        .filter(reminders::status.eq(ReminderStatus::Sent))
        .filter(reminders::delivery.eq_any(open))
        .filter(reminders::provider_id.is_not_null())
        .filter(reminders::checked_at.lt(before))
        .filter(reminders::sent_at.gt(before - Duration::days(7)))
        .order(reminders::checked_at.asc())
        .limit(limit)
        .select(Reminder::as_select())
        .load(c)?)
}

pub fn set_delivery(c: &mut DbConn, id: &str, delivery: Delivery) -> Result<(), AppError> {
    diesel::update(reminders::table.find(id))
        .set((
            reminders::delivery.eq(Some(delivery)),
            reminders::checked_at.eq(Some(crate::clock::now())),
        ))
        .execute(c)?;
    Ok(())
}

/// A reminder as a session's page and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReminderLine {
    pub id: String,
    /// `booked`, `moved` or `upcoming`.
    pub kind: String,
    /// `sms`, `email` or `letter`.
    pub channel: String,
    /// `queued`, `sending`, `sent`, `dead` or `cancelled`.
    pub status: String,
    /// Notify's status once sent: `created`, `sending`, `delivered`, `permanent-failure`,
    /// `temporary-failure`, `technical-failure` and, for letters, `accepted`, `received`,
    /// `validation-failed`; `logged` where reminders are only logged.
    pub delivery: Option<String>,
    /// In words, for the page.
    pub said: String,
    /// When it is (or was) due to go, UTC: `YYYY-MM-DDTHH:MM:SSZ`.
    pub due_at: String,
    /// The person did not get it: shown before an absence is judged.
    pub failed: bool,
}

impl From<&Reminder> for ReminderLine {
    fn from(r: &Reminder) -> Self {
        let failed = r.status == ReminderStatus::Dead || r.delivery.is_some_and(Delivery::failed);
        let said = match (r.status, r.delivery) {
            (ReminderStatus::Sent, Some(d)) => d.label().to_owned(),
            (ReminderStatus::Cancelled, _) => format!(
                "Not sent: {}",
                r.last_error.as_deref().unwrap_or("withdrawn")
            ),
            (ReminderStatus::Dead, _) => format!(
                "Not sent: {}",
                r.last_error.as_deref().unwrap_or("Notify refused it")
            ),
            (s, _) => s.label().to_owned(),
        };
        ReminderLine {
            id: r.id.clone(),
            kind: r.kind.as_str().into(),
            channel: r.channel.as_str().into(),
            status: r.status.as_str().into(),
            delivery: r.delivery.map(|d| d.as_str().to_owned()),
            said,
            due_at: r.due_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            failed,
        }
    }
}

/// The reminders of a referral's sessions, by session, in the order they are due.
pub fn of_referral(
    c: &mut DbConn,
    referral_id: &str,
) -> Result<std::collections::BTreeMap<String, Vec<ReminderLine>>, AppError> {
    let mut out: std::collections::BTreeMap<String, Vec<ReminderLine>> = Default::default();
    for r in reminders::table
        .filter(reminders::referral_id.eq(referral_id))
        .order((reminders::due_at.asc(), reminders::id.asc()))
        .select(Reminder::as_select())
        .load(c)?
    {
        out.entry(r.session_id.clone())
            .or_default()
            .push(ReminderLine::from(&r));
    }
    Ok(out)
}

/// The person's messages for the metrics: those due and not yet sent, how long the
/// longest-due has waited, and the failed ones.
pub fn queue_stats(c: &mut DbConn) -> Result<crate::metrics::Queue, AppError> {
    let now = crate::clock::now();
    let (queued, oldest): (i64, Option<NaiveDateTime>) = reminders::table
        .filter(reminders::status.eq_any([ReminderStatus::Queued, ReminderStatus::Sending]))
        .filter(reminders::due_at.le(now))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(reminders::due_at),
        ))
        .first(c)?;
    let dead: i64 = reminders::table
        .filter(reminders::status.eq(ReminderStatus::Dead))
        .count()
        .get_result(c)?;
    Ok(crate::metrics::Queue {
        queued,
        oldest_seconds: oldest.map_or(0, |t| (now - t).num_seconds().max(0)),
        dead,
    })
}

/// Failed reminders in `areas`, newest first.
pub fn dead_in(
    c: &mut DbConn,
    areas: Option<&[String]>,
    limit: i64,
) -> Result<Vec<Reminder>, AppError> {
    let mut q = reminders::table
        .filter(reminders::status.eq(ReminderStatus::Dead))
        .into_boxed();
    if let Some(a) = areas {
        q = q.filter(reminders::area_id.eq_any(a.to_vec()));
    }
    Ok(q.order(reminders::created_at.desc())
        .limit(limit)
        .select(Reminder::as_select())
        .load(c)?)
}

/// Puts a failed reminder back in the queue, if it is still failed (a double submit sends
/// once) and in `areas`.
pub fn requeue(c: &mut DbConn, id: &str, areas: Option<&[String]>) -> Result<bool, AppError> {
    let mut q = diesel::update(reminders::table)
        .filter(reminders::id.eq(id))
        .filter(reminders::status.eq(ReminderStatus::Dead))
        .into_boxed();
    if let Some(a) = areas {
        q = q.filter(reminders::area_id.eq_any(a.to_vec()));
    }
    let n = q
        .set((
            reminders::status.eq(ReminderStatus::Queued),
            reminders::attempts.eq(0),
            reminders::due_at.eq(crate::clock::now()),
            reminders::last_error.eq(None::<String>),
        ))
        .execute(c)?;
    Ok(n == 1)
}

/// What a practitioner or officer should know before judging an absence from session
/// `session_id`: a message to the person about it that did not reach them.
pub fn failed_warning(c: &mut DbConn, session_id: &str) -> Result<Option<String>, AppError> {
    let all: Vec<Reminder> = reminders::table
        .filter(reminders::session_id.eq(session_id))
        .order(reminders::due_at.desc())
        .select(Reminder::as_select())
        .load(c)?;
    Ok(all
        .iter()
        .map(|r| (r, ReminderLine::from(r)))
        .find(|(_, l)| l.failed)
        .map(|(r, l)| {
            format!(
                "The {} by {} about this session did not reach the person ({}). Weigh this before judging the absence unacceptable",
                r.kind.label().to_lowercase(),
                r.channel.label().to_lowercase(),
                l.said
            )
        }))
}
