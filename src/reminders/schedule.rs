//! Which messages a referral's booked sessions should have, written in the transaction of
//! the change that booked, moved or cancelled them: a confirmation for sessions newly
//! booked or moved, the reminders before each session, and word that a session the person
//! was told of is cancelled (when nothing replaces it). Messages written earlier that no
//! longer fit (the session moved or was cancelled, the contact details changed, consent was
//! withdrawn) are withdrawn before they go.

use chrono::{Duration, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{referrals, reminder_confirmations, reminders, treatment_sessions};
use crate::error::AppError;
use crate::reminders::details::{self as contact, ContactDetails};
use crate::reminders::model::{self, Reminder};
use crate::reminders::templates::{self, Values};
use crate::reminders::{Channel, Language, ReminderKind, ReminderStatus};
use crate::sessions::codes::{Mode, SessionStatus};
use crate::settings::ReminderSettings;

/// A session still to come, as its messages name it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = treatment_sessions)]
pub struct Upcoming {
    pub id: String,
    pub starts_at: NaiveDateTime,
    pub mode: Mode,
    pub location: Option<String>,
    pub replaces_id: Option<String>,
}

fn upcoming(
    c: &mut DbConn,
    referral_id: &str,
    after_local: NaiveDateTime,
) -> Result<Vec<Upcoming>, AppError> {
    Ok(treatment_sessions::table
        .filter(treatment_sessions::referral_id.eq(referral_id))
        .filter(treatment_sessions::status.eq(SessionStatus::Booked))
        .filter(treatment_sessions::starts_at.gt(after_local))
        .order(treatment_sessions::starts_at.asc())
        .select(Upcoming::as_select())
        .load(c)?)
}

/// The referral's cancelled sessions still to come that the person was sent a message about
/// and that no session replaces.
fn told_and_cancelled(
    c: &mut DbConn,
    referral_id: &str,
    after_local: NaiveDateTime,
) -> Result<Vec<Upcoming>, AppError> {
    let replacing = diesel::alias!(treatment_sessions as replacing);
    let told = reminders::table
        .filter(reminders::session_id.eq(treatment_sessions::id))
        .filter(reminders::status.eq(ReminderStatus::Sent))
        .filter(reminders::kind.ne(ReminderKind::Cancelled));
    let replaced = replacing
        .filter(
            replacing
                .field(treatment_sessions::replaces_id)
                .eq(treatment_sessions::id.nullable()),
        )
        .select(replacing.field(treatment_sessions::id));
    Ok(treatment_sessions::table
        .filter(treatment_sessions::referral_id.eq(referral_id))
        .filter(treatment_sessions::status.eq(SessionStatus::Cancelled))
        .filter(treatment_sessions::starts_at.gt(after_local))
        .filter(diesel::dsl::exists(told))
        .filter(diesel::dsl::not(diesel::dsl::exists(replaced)))
        .order(treatment_sessions::starts_at.asc())
        .select(Upcoming::as_select())
        .load(c)?)
}

/// When each reminder before a session at `starts_at` (UK time) goes, as `(slot, UTC)`.
pub fn reminder_times(
    settings: &ReminderSettings,
    starts_at: NaiveDateTime,
) -> Vec<(String, NaiveDateTime)> {
    let mut out = Vec::new();
    if let Ok(at) = NaiveTime::parse_from_str(settings.send_at.trim(), "%H:%M") {
        for d in &settings.days_before {
            let local = (starts_at.date() - Duration::days(i64::from(*d))).and_time(at);
            out.push((format!("d{d}"), crate::clock::london_to_utc(local)));
        }
    }
    if let Ok(at) = NaiveTime::parse_from_str(settings.morning_of.trim(), "%H:%M") {
        let local = starts_at.date().and_time(at);
        if local < starts_at - Duration::hours(1) {
            out.push(("morning".into(), crate::clock::london_to_utc(local)));
        }
    }
    out
}

/// Why nothing may go to this person, if nothing may.
fn why_not(contact: Option<&ContactDetails>) -> Option<&'static str> {
    match contact {
        None => Some("no contact details are held"),
        Some(d) if d.do_not_contact => Some("the person is not to be contacted"),
        Some(d) if d.reminders_consent_on.is_none() => {
            Some("the person has not agreed to reminders")
        }
        Some(d) if d.route().is_none() => Some("no contact detail is held for the chosen channel"),
        Some(_) => None,
    }
}

/// Whether a letter about a session at `starts_at` can still arrive in time.
pub fn letter_in_time(
    settings: &ReminderSettings,
    starts_at: NaiveDateTime,
    now_local: NaiveDateTime,
) -> bool {
    starts_at.date() - now_local.date() >= Duration::days(i64::from(settings.letter_min_days))
}

struct Writer<'a> {
    settings: &'a ReminderSettings,
    referral_id: String,
    person_id: String,
    area_id: String,
    channel: Channel,
    recipient: String,
    language: Language,
}

impl Writer<'_> {
    fn write(
        &self,
        c: &mut DbConn,
        s: &Upcoming,
        kind: ReminderKind,
        slot: &str,
        due_at: NaiveDateTime,
    ) -> Result<Option<String>, AppError> {
        let values = Values {
            provider: self.settings.provider.clone(),
            starts_at: s.starts_at,
            mode: s.mode,
            location: s.location.clone(),
        };
        let w = templates::render(c, kind, self.language, &values)?;
        let id = crate::ids::new_id();
        let written = model::insert(
            c,
            &Reminder {
                id: id.clone(),
                session_id: s.id.clone(),
                referral_id: self.referral_id.clone(),
                person_id: self.person_id.clone(),
                area_id: self.area_id.clone(),
                kind,
                slot: slot.to_owned(),
                channel: self.channel,
                language: self.language,
                recipient: self.recipient.clone(),
                subject: w.subject,
                body: w.body,
                for_starts_at: s.starts_at,
                status: ReminderStatus::Queued,
                attempts: 0,
                due_at,
                lease_owner: None,
                lease_expires_at: None,
                last_error: None,
                provider_id: None,
                delivery: None,
                checked_at: None,
                fallback_of: None,
                created_at: crate::clock::now(),
                sent_at: None,
            },
        )?;
        Ok(written.then_some(id))
    }
}

/// Brings referral `referral_id`'s queued messages in line with its booked sessions and the
/// person's contact details. Call it inside the transaction of the change.
pub fn sync(
    c: &mut DbConn,
    settings: &ReminderSettings,
    referral_id: &str,
) -> Result<(), AppError> {
    if !settings.enabled() {
        return Ok(());
    }
    let (person_id, area_id): (String, String) = referrals::table
        .find(referral_id)
        .select((referrals::person_id, referrals::area_id))
        .first(c)?;
    let details = contact::of_person(c, &person_id)?;
    let now = crate::clock::now();
    let now_local = crate::clock::utc_to_london(now);
    let sessions = upcoming(c, referral_id, now_local)?;
    let queued: Vec<Reminder> = reminders::table
        .filter(reminders::referral_id.eq(referral_id))
        .filter(reminders::status.eq(ReminderStatus::Queued))
        .select(Reminder::as_select())
        .load(c)?;
    let blocked = why_not(details.as_ref());
    let route = details
        .as_ref()
        .filter(|_| blocked.is_none())
        .and_then(|d| d.route().map(|(ch, to)| (ch, to.to_owned(), d.language)));
    let cancelled = told_and_cancelled(c, referral_id, now_local)?;
    for q in &queued {
        let session = if q.kind == ReminderKind::Cancelled {
            cancelled.iter().find(|s| s.id == q.session_id)
        } else {
            sessions.iter().find(|s| s.id == q.session_id)
        };
        let why = match (&route, session) {
            (None, _) => blocked.unwrap_or("reminders are not wanted"),
            (_, None) => "the appointment was moved or cancelled",
            (_, Some(s)) if s.starts_at != q.for_starts_at => "the appointment was moved",
            (Some((ch, to, lang)), _)
                if *ch != q.channel || *to != q.recipient || *lang != q.language =>
            {
                "the contact details changed"
            }
            _ => continue,
        };
        model::cancel(c, &q.id, None, why)?;
    }
    let Some((channel, recipient, language)) = route else {
        return Ok(());
    };
    let writer = Writer {
        settings,
        referral_id: referral_id.to_owned(),
        person_id,
        area_id,
        channel,
        recipient,
        language,
    };
    // Confirmations: one for the next of the sessions newly booked, one for each moved.
    let mut first_booked = true;
    for s in &sessions {
        let confirmed = model::insert_once!(
            c,
            reminder_confirmations::table,
            (
                reminder_confirmations::session_id.eq(&s.id),
                reminder_confirmations::confirmed_at.eq(now),
            )
        ) == 1;
        if !confirmed {
            continue;
        }
        let kind = if s.replaces_id.is_some() {
            ReminderKind::Moved
        } else if std::mem::take(&mut first_booked) {
            ReminderKind::Booked
        } else {
            continue;
        };
        if channel == Channel::Letter && !letter_in_time(settings, s.starts_at, now_local) {
            continue;
        }
        if let Some(id) = writer.write(c, s, kind, "confirm", now)? {
            diesel::update(reminder_confirmations::table.find(&s.id))
                .set(reminder_confirmations::reminder_id.eq(Some(&id)))
                .execute(c)?;
        }
    }
    // A session the person was told of, cancelled with nothing in its place: they are told,
    // so they do not come (once: the message's key holds the session and its time).
    for s in &cancelled {
        if channel == Channel::Letter && !letter_in_time(settings, s.starts_at, now_local) {
            continue;
        }
        writer.write(c, s, ReminderKind::Cancelled, "cancel", now)?;
    }
    // Reminders before each session: not by letter, which would arrive too late.
    if channel != Channel::Letter {
        for s in &sessions {
            for (slot, due) in reminder_times(settings, s.starts_at) {
                if due > now {
                    writer.write(c, s, ReminderKind::Upcoming, &slot, due)?;
                }
            }
        }
    }
    Ok(())
}

/// Follows a change of the person's contact details in every referral of theirs.
pub fn follow_contact(
    c: &mut DbConn,
    settings: &ReminderSettings,
    person_id: &str,
) -> Result<(), AppError> {
    if !settings.enabled() {
        return Ok(());
    }
    let ids: Vec<String> = referrals::table
        .filter(referrals::person_id.eq(person_id))
        .filter(referrals::erased_at.is_null())
        .select(referrals::id)
        .load(c)?;
    for id in ids {
        sync(c, settings, &id)?;
    }
    Ok(())
}

/// Whether a reminder may still go now, checked by the worker just before sending: the
/// session still booked at the time it was written for, still to come, and the person still
/// reachable the same way. Returns why not.
pub fn still_wanted(c: &mut DbConn, r: &Reminder) -> Result<Option<&'static str>, AppError> {
    let session: Option<(SessionStatus, NaiveDateTime)> = treatment_sessions::table
        .find(&r.session_id)
        .select((treatment_sessions::status, treatment_sessions::starts_at))
        .first(c)
        .optional()?;
    let now_local = crate::clock::utc_to_london(crate::clock::now());
    let wanted_status = if r.kind == ReminderKind::Cancelled {
        SessionStatus::Cancelled
    } else {
        SessionStatus::Booked
    };
    match session {
        Some((status, at))
            if status == wanted_status && at == r.for_starts_at && at > now_local => {}
        Some((_, at)) if at <= now_local => return Ok(Some("the appointment has passed")),
        _ => return Ok(Some("the appointment was moved or cancelled")),
    }
    let details = contact::of_person(c, &r.person_id)?;
    if let Some(why) = why_not(details.as_ref()) {
        return Ok(Some(why));
    }
    let reachable = details
        .as_ref()
        .and_then(|d| d.address_for(r.channel))
        .is_some_and(|to| to == r.recipient);
    Ok((!reachable).then_some("the contact details changed"))
}

/// A letter in place of a text message or an email that failed for good (refused, or
/// reported by Notify as a permanent failure: a number or address that does not exist or a
/// mailbox that bounces), where an address is held and the session is far enough away.
/// Returns the letter's id.
pub fn letter_instead(
    c: &mut DbConn,
    settings: &ReminderSettings,
    failed: &Reminder,
) -> Result<Option<String>, AppError> {
    if !settings.letter_fallback
        || !matches!(failed.channel, Channel::Sms | Channel::Email)
        || failed.fallback_of.is_some()
    {
        return Ok(None);
    }
    let now = crate::clock::now();
    let now_local = crate::clock::utc_to_london(now);
    if !letter_in_time(settings, failed.for_starts_at, now_local) {
        return Ok(None);
    }
    let Some(address) = contact::of_person(c, &failed.person_id)?
        .filter(ContactDetails::may_remind)
        .and_then(|d| d.address)
    else {
        return Ok(None);
    };
    let id = crate::ids::new_id();
    let letter = Reminder {
        channel: Channel::Letter,
        recipient: address,
        fallback_of: Some(failed.id.clone()),
        ..failed.clone()
    }
    .queued(id.clone(), now);
    let written = model::insert(c, &letter)?;
    Ok(written.then_some(id))
}
