//! Calendar feeds: a secret address a practitioner's calendar app subscribes to, serving
//! their appointments as iCalendar. Only the SHA-256 of the secret is stored; a new one
//! revokes the old. The feed carries the referral reference and initials, never a name, date
//! of birth, CRN, PNC ID or offence.

pub mod web;

use chrono::{Days, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{calendar_feeds, people, referrals, treatment_sessions};
use crate::error::AppError;
use crate::sessions::codes::{Mode, SessionStatus};
use crate::sessions::diary::initials;
use crate::sessions::ics::{self, EventStatus};

/// How far back and ahead the feed reaches.
const DAYS_BACK: u64 = 30;
const DAYS_AHEAD: u64 = 180;
const TOKEN_BYTES: usize = 32;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calendar_feeds)]
pub struct Feed {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

fn live_feed(c: &mut DbConn, user_id: &str) -> Result<Option<Feed>, AppError> {
    Ok(calendar_feeds::table
        .filter(calendar_feeds::user_id.eq(user_id))
        .filter(calendar_feeds::revoked_at.is_null())
        .order(calendar_feeds::created_at.desc())
        .select(Feed::as_select())
        .first(c)
        .optional()?)
}

/// Revokes the user's live feeds; true when there was one.
fn revoke_all(c: &mut DbConn, user_id: &str, now: NaiveDateTime) -> Result<bool, AppError> {
    let n = diesel::update(
        calendar_feeds::table
            .filter(calendar_feeds::user_id.eq(user_id))
            .filter(calendar_feeds::revoked_at.is_null()),
    )
    .set(calendar_feeds::revoked_at.eq(Some(now)))
    .execute(c)?;
    Ok(n > 0)
}

/// Makes a new feed for the user, revoking any other, and returns its secret token.
pub fn create(c: &mut DbConn, actor: &Actor, user_id: &str) -> Result<String, AppError> {
    let now = crate::clock::now();
    let replaced = revoke_all(c, user_id, now)?;
    let token = crate::ids::random_token(TOKEN_BYTES);
    let id = crate::ids::new_id();
    diesel::insert_into(calendar_feeds::table)
        .values((
            calendar_feeds::id.eq(&id),
            calendar_feeds::user_id.eq(user_id),
            calendar_feeds::token_hash.eq(crate::ids::sha256_hex(&token)),
            calendar_feeds::created_at.eq(now),
        ))
        .execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "calendar_feed.created")
            .record("calendar_feed", &id)
            .details(serde_json::json!({ "replaced": replaced })),
    )?;
    Ok(token)
}

pub fn revoke(c: &mut DbConn, actor: &Actor, user_id: &str) -> Result<bool, AppError> {
    let revoked = revoke_all(c, user_id, crate::clock::now())?;
    if revoked {
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Alteration, "calendar_feed.revoked").record("user", user_id),
        )?;
    }
    Ok(revoked)
}

#[derive(Queryable)]
struct FeedRow {
    id: String,
    reference: String,
    given_name: String,
    family_name: String,
    starts_at: NaiveDateTime,
    minutes: i32,
    mode: Mode,
    location: Option<String>,
    status: SessionStatus,
    version: i64,
    updated_at: NaiveDateTime,
}

/// The summary a calendar shows: reference and initials only.
pub fn summary(reference: &str, given_name: &str, family_name: &str) -> String {
    format!(
        "MHTR session – {reference} ({})",
        initials(given_name, family_name)
    )
}

fn event_of(r: FeedRow) -> ics::Event {
    let cancelled = r.status == SessionStatus::Cancelled;
    ics::Event {
        uid: format!("{}@mhtr-pathway", r.id),
        start: r.starts_at,
        minutes: u32::try_from(r.minutes).unwrap_or(0),
        summary: summary(&r.reference, &r.given_name, &r.family_name),
        location: if r.mode == Mode::InPerson {
            r.location
        } else {
            None
        },
        description: Some(format!("{}. {}.", r.mode.label(), r.status.label())),
        status: if cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        },
        sequence: u32::try_from(r.version).unwrap_or(0),
        updated: r.updated_at,
    }
}

/// The feed behind `token`, as iCalendar text; an unknown or revoked token, or an owner who
/// could not sign in now (disabled, vetting lapsed) or treats no one, is not found. Records the use.
fn read(c: &mut DbConn, token: &str, ip: Option<String>) -> Result<String, AppError> {
    let feed = calendar_feeds::table
        .filter(calendar_feeds::token_hash.eq(crate::ids::sha256_hex(token)))
        .filter(calendar_feeds::revoked_at.is_null())
        .select(Feed::as_select())
        .first(c)?;
    let owner = crate::users::model::by_id(c, &feed.user_id)?;
    // The feed is the owner's sign-in by other means: it stops, at once, whenever they could
    // not sign in (disabled, vetting lapsed) or no longer treat anyone.
    if owner.is_disabled()
        || owner.vetting_expired(crate::clock::today())
        || !matches!(
            owner.role,
            crate::users::model::Role::AssistantPsychologist
                | crate::users::model::Role::ClinicalLead
        )
    {
        return Err(AppError::NotFound);
    }
    let now = crate::clock::now();
    diesel::update(calendar_feeds::table.find(&feed.id))
        .set(calendar_feeds::last_used_at.eq(Some(now)))
        .execute(c)?;
    let today = crate::clock::today();
    let from = (today - Days::new(DAYS_BACK)).and_time(chrono::NaiveTime::MIN);
    let to = (today + Days::new(DAYS_AHEAD + 1)).and_time(chrono::NaiveTime::MIN);
    let rows: Vec<FeedRow> = treatment_sessions::table
        .inner_join(referrals::table.inner_join(people::table))
        .filter(treatment_sessions::ap_user_id.eq(&owner.id))
        .filter(treatment_sessions::starts_at.ge(from))
        .filter(treatment_sessions::starts_at.lt(to))
        .filter(treatment_sessions::status.eq_any([
            SessionStatus::Booked,
            SessionStatus::Recorded,
            SessionStatus::Cancelled,
        ]))
        .select((
            treatment_sessions::id,
            referrals::reference,
            people::given_name,
            people::family_name,
            treatment_sessions::starts_at,
            treatment_sessions::minutes,
            treatment_sessions::mode,
            treatment_sessions::location,
            treatment_sessions::status,
            treatment_sessions::version,
            treatment_sessions::updated_at,
        ))
        .order((
            treatment_sessions::starts_at.asc(),
            treatment_sessions::id.asc(),
        ))
        .load(c)?;
    audit::record(
        c,
        &Actor::user(&owner.id, &owner.email, ip),
        Event::new(AuditAction::Disclosure, "calendar_feed.read")
            .record("calendar_feed", &feed.id)
            .details(serde_json::json!({ "sessions": rows.len() })),
    )?;
    let events: Vec<ics::Event> = rows.into_iter().map(event_of).collect();
    Ok(ics::calendar("MHTR sessions", &events, now))
}
