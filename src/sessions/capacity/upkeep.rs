//! Keeps the capacity page's figures in step with the records (migration 000047): each
//! practitioner's live sessions per week from the current week on, and the orders waiting
//! for treatment. [`refresh`] runs inside the transaction that changed a referral (through
//! [`crate::reports::upkeep::refresh`], which every write to a referral, its sessions or its
//! person ends with) and moves the weekly counts by exactly the difference the referral
//! makes; [`add_new`] does the same for an import's cases written in bulk; [`backfill`]
//! fills the figures of existing records; [`recount`] checks them against the records.
//!
//! Weeks before the current one are never read: a referral's contribution to them is left
//! as it stood, and the hourly housekeeping removes them ([`prune`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    capacity_referral_weeks, capacity_waiting, capacity_weeks, referrals, treatment_sessions,
};
use crate::error::AppError;
use crate::referrals::state::Status;
use crate::sessions::codes::{Outcome, SessionStatus};
use crate::sessions::diary::{LIVE, monday_of};

/// The statuses of an order waiting for its treatment to start.
pub const WAITING: [Status; 3] = [Status::MhtrMade, Status::Inducted, Status::Allocated];
/// Keys a query binds at most.
const CHUNK: usize = 500;

/// A referral as its capacity figures need it.
#[derive(Queryable)]
struct ReferralRow {
    id: String,
    reference: String,
    area_id: String,
    status: Status,
    sentence_date: Option<NaiveDate>,
    updated_at: NaiveDateTime,
    erased_at: Option<NaiveDateTime>,
}

/// A session as its capacity figures need it.
#[derive(Queryable)]
struct SessionRow {
    referral_id: String,
    ap_user_id: String,
    starts_at: NaiveDateTime,
    status: SessionStatus,
    outcome: Option<Outcome>,
}

/// An order on the waiting list: its area, when the wait started, its reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WaitingRow {
    pub area_id: String,
    pub since: NaiveDate,
    pub reference: String,
}

/// A row of the waiting list as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = capacity_waiting)]
struct StoredWaiting {
    referral_id: String,
    area_id: String,
    since: NaiveDate,
    reference: String,
}

impl StoredWaiting {
    fn split(self) -> (String, WaitingRow) {
        (
            self.referral_id,
            WaitingRow {
                area_id: self.area_id,
                since: self.since,
                reference: self.reference,
            },
        )
    }
}

/// What one referral adds to the capacity figures: its live sessions per (practitioner,
/// week) from `this_week` on, and its place on the waiting list.
#[derive(Debug, Default, PartialEq, Eq)]
struct Kept {
    weeks: BTreeMap<(String, NaiveDate), i32>,
    waiting: Option<WaitingRow>,
}

/// The start of the current week (its Monday, UK date): the first week the figures keep.
pub fn this_week() -> NaiveDate {
    monday_of(crate::clock::today())
}

fn attended(s: &SessionRow) -> bool {
    LIVE.contains(&s.status) && s.outcome.is_some_and(Outcome::attended)
}

/// A referral's contribution, from the referral and its sessions. An erased referral adds
/// nothing.
fn derive(r: &ReferralRow, sessions: &[&SessionRow], this_week: NaiveDate) -> Kept {
    if r.erased_at.is_some() {
        return Kept::default();
    }
    let mut weeks = BTreeMap::new();
    for s in sessions.iter().filter(|s| LIVE.contains(&s.status)) {
        let week = monday_of(s.starts_at.date());
        if week >= this_week {
            *weeks.entry((s.ap_user_id.clone(), week)).or_default() += 1;
        }
    }
    let waiting =
        (WAITING.contains(&r.status) && !sessions.iter().any(|s| attended(s))).then(|| {
            WaitingRow {
                area_id: r.area_id.clone(),
                since: r.sentence_date.unwrap_or(r.updated_at.date()),
                reference: r.reference.clone(),
            }
        });
    Kept { weeks, waiting }
}

fn referral_rows(c: &mut DbConn, ids: &[String]) -> Result<Vec<ReferralRow>, AppError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            referrals::table
                .filter(referrals::id.eq_any(chunk))
                .select((
                    referrals::id,
                    referrals::reference,
                    referrals::area_id,
                    referrals::status,
                    referrals::sentence_date,
                    referrals::updated_at,
                    referrals::erased_at,
                ))
                .load::<ReferralRow>(c)?,
        );
    }
    Ok(out)
}

/// The referrals' sessions that count: live ones (for the weeks and for an attendance).
fn session_rows(c: &mut DbConn, ids: &[String]) -> Result<Vec<SessionRow>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            treatment_sessions::table
                .filter(treatment_sessions::referral_id.eq_any(chunk))
                .filter(treatment_sessions::status.eq_any(LIVE))
                .select((
                    treatment_sessions::referral_id,
                    treatment_sessions::ap_user_id,
                    treatment_sessions::starts_at,
                    treatment_sessions::status,
                    treatment_sessions::outcome,
                ))
                .load::<SessionRow>(c)?,
        );
    }
    Ok(out)
}

/// The contributions of `ids` worked out afresh, by referral.
fn derive_all(
    c: &mut DbConn,
    ids: &[String],
    this_week: NaiveDate,
) -> Result<BTreeMap<String, Kept>, AppError> {
    let sessions = session_rows(c, ids)?;
    let mut by_referral: HashMap<&str, Vec<&SessionRow>> = HashMap::new();
    for s in &sessions {
        by_referral
            .entry(s.referral_id.as_str())
            .or_default()
            .push(s);
    }
    Ok(referral_rows(c, ids)?
        .iter()
        .map(|r| {
            let own = by_referral
                .get(r.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            (r.id.clone(), derive(r, own, this_week))
        })
        .collect())
}

/// Works out one referral's contribution again and moves the weekly counts by the
/// difference; adds it to, or takes it off, the waiting list. Inside the writing transaction.
pub fn refresh(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    let this_week = this_week();
    let ids = [referral_id.to_owned()];
    let kept = derive_all(c, &ids, this_week)?
        .remove(referral_id)
        .unwrap_or_default();
    let old: Vec<(String, NaiveDate, i32)> = capacity_referral_weeks::table
        .filter(capacity_referral_weeks::referral_id.eq(referral_id))
        .select((
            capacity_referral_weeks::ap_user_id,
            capacity_referral_weeks::week,
            capacity_referral_weeks::booked,
        ))
        .load(c)?;
    let unchanged = old.len() == kept.weeks.len()
        && old
            .iter()
            .all(|(ap, w, n)| kept.weeks.get(&(ap.clone(), *w)) == Some(n));
    if !unchanged {
        // The rows this transaction removes are the ones it takes off the counts.
        let removed: Vec<(String, NaiveDate, i32)> = diesel::delete(
            capacity_referral_weeks::table
                .filter(capacity_referral_weeks::referral_id.eq(referral_id)),
        )
        .returning((
            capacity_referral_weeks::ap_user_id,
            capacity_referral_weeks::week,
            capacity_referral_weeks::booked,
        ))
        .get_results(c)?;
        for (ap, week, n) in removed.iter().filter(|(_, w, _)| *w >= this_week) {
            add_week(c, ap, *week, -n)?;
        }
        insert_weeks(c, referral_id, &kept.weeks)?;
        for ((ap, week), n) in &kept.weeks {
            add_week(c, ap, *week, *n)?;
        }
    }
    keep_waiting(c, referral_id, kept.waiting.as_ref())
}

fn insert_weeks(
    c: &mut DbConn,
    referral_id: &str,
    weeks: &BTreeMap<(String, NaiveDate), i32>,
) -> Result<(), AppError> {
    let rows: Vec<_> = weeks
        .iter()
        .map(|((ap, week), n)| {
            (
                capacity_referral_weeks::referral_id.eq(referral_id),
                capacity_referral_weeks::ap_user_id.eq(ap),
                capacity_referral_weeks::week.eq(*week),
                capacity_referral_weeks::booked.eq(*n),
            )
        })
        .collect();
    crate::db::bulk_insert!(c, capacity_referral_weeks::table, rows);
    Ok(())
}

/// The referral's place on the waiting list as `waiting` says.
fn keep_waiting(
    c: &mut DbConn,
    referral_id: &str,
    waiting: Option<&WaitingRow>,
) -> Result<(), AppError> {
    let stored: Option<WaitingRow> = capacity_waiting::table
        .find(referral_id)
        .select(StoredWaiting::as_select())
        .first::<StoredWaiting>(c)
        .optional()?
        .map(|w| w.split().1);
    if stored.as_ref() == waiting {
        return Ok(());
    }
    diesel::delete(capacity_waiting::table.find(referral_id)).execute(c)?;
    if let Some(w) = waiting {
        diesel::insert_into(capacity_waiting::table)
            .values((
                capacity_waiting::referral_id.eq(referral_id),
                capacity_waiting::area_id.eq(&w.area_id),
                capacity_waiting::since.eq(w.since),
                capacity_waiting::reference.eq(&w.reference),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Moves a practitioner's count for a week by `by`; a count that falls to nothing goes.
fn add_week(c: &mut DbConn, ap_user_id: &str, week: NaiveDate, by: i32) -> Result<(), AppError> {
    if by == 0 {
        return Ok(());
    }
    let row = (
        capacity_weeks::ap_user_id.eq(ap_user_id),
        capacity_weeks::week.eq(week),
        capacity_weeks::booked.eq(by),
    );
    let set = capacity_weeks::booked.eq(capacity_weeks::booked + by);
    let key = (capacity_weeks::ap_user_id, capacity_weeks::week);
    // One upsert, written once for both backends' connections.
    macro_rules! upsert {
        ($conn:expr) => {
            diesel::insert_into(capacity_weeks::table)
                .values(row)
                .on_conflict(key)
                .do_update()
                .set(set)
                .execute($conn)?
        };
    }
    match c {
        DbConn::Sqlite(c) => upsert!(c),
        DbConn::Pg(c) => upsert!(c),
    };
    if by < 0 {
        diesel::delete(
            capacity_weeks::table
                .find((ap_user_id, week))
                .filter(capacity_weeks::booked.le(0)),
        )
        .execute(c)?;
    }
    Ok(())
}

/// The figures of referrals written in bulk (an import's cases), which have none yet, inside
/// the transaction that wrote them: [`refresh`] for many at once.
pub fn add_new(c: &mut DbConn, ids: &[String]) -> Result<(), AppError> {
    let this_week = this_week();
    let kept = derive_all(c, ids, this_week)?;
    let mut totals: BTreeMap<(&str, NaiveDate), i32> = BTreeMap::new();
    for (id, k) in &kept {
        insert_weeks(c, id, &k.weeks)?;
        for ((ap, week), n) in &k.weeks {
            *totals.entry((ap.as_str(), *week)).or_default() += n;
        }
    }
    for ((ap, week), n) in totals {
        add_week(c, ap, week, n)?;
    }
    let waiting: Vec<_> = kept
        .iter()
        .filter_map(|(id, k)| {
            k.waiting.as_ref().map(|w| {
                (
                    capacity_waiting::referral_id.eq(id),
                    capacity_waiting::area_id.eq(&w.area_id),
                    capacity_waiting::since.eq(w.since),
                    capacity_waiting::reference.eq(&w.reference),
                )
            })
        })
        .collect();
    crate::db::bulk_insert!(c, capacity_waiting::table, waiting);
    Ok(())
}

/// The referrals whose figures may be missing or out of date: those with a live session
/// from the current week on, those whose order waits, and those already kept. Called after a
/// migration, an import of an export and `synth`; each is refreshed (which changes nothing
/// when its figures stand), a thousand to a transaction. How many were looked at.
pub fn backfill(c: &mut DbConn) -> Result<usize, AppError> {
    let this_week = this_week();
    let mut ids: BTreeSet<String> = treatment_sessions::table
        .filter(treatment_sessions::status.eq_any(LIVE))
        .filter(treatment_sessions::starts_at.ge(this_week.and_time(NaiveTime::MIN)))
        .select(treatment_sessions::referral_id)
        .distinct()
        .load::<String>(c)?
        .into_iter()
        .collect();
    ids.extend(
        referrals::table
            .filter(referrals::status.eq_any(WAITING))
            .filter(referrals::erased_at.is_null())
            .select(referrals::id)
            .load::<String>(c)?,
    );
    ids.extend(
        capacity_waiting::table
            .select(capacity_waiting::referral_id)
            .load::<String>(c)?,
    );
    ids.extend(
        capacity_referral_weeks::table
            .filter(capacity_referral_weeks::week.ge(this_week))
            .select(capacity_referral_weeks::referral_id)
            .distinct()
            .load::<String>(c)?,
    );
    let ids: Vec<String> = ids.into_iter().collect();
    for chunk in ids.chunks(1000) {
        crate::db::write_tx(c, |c| {
            for id in chunk {
                refresh(c, id)?;
            }
            Ok(())
        })?;
    }
    Ok(ids.len())
}

/// Removes the counts of weeks before the current one, which nothing reads (the hourly
/// housekeeping). How many rows went.
pub fn prune(c: &mut DbConn) -> Result<usize, AppError> {
    let this_week = this_week();
    let a = diesel::delete(
        capacity_referral_weeks::table.filter(capacity_referral_weeks::week.lt(this_week)),
    )
    .execute(c)?;
    let b = diesel::delete(capacity_weeks::table.filter(capacity_weeks::week.lt(this_week)))
        .execute(c)?;
    Ok(a + b)
}

/// The kept figures from the current week on against the same worked out afresh from the
/// records: each must be equal. Part of [`crate::reports::upkeep::recount`].
pub fn recount(c: &mut DbConn) -> Result<bool, AppError> {
    let this_week = this_week();
    let ids: Vec<String> = referrals::table
        .order(referrals::id.asc())
        .select(referrals::id)
        .load(c)?;
    let kept = derive_all(c, &ids, this_week)?;
    let mut weeks: BTreeMap<(String, NaiveDate), i32> = BTreeMap::new();
    let mut per_referral = BTreeSet::new();
    let mut waiting = BTreeMap::new();
    for (id, k) in kept {
        for ((ap, week), n) in k.weeks {
            *weeks.entry((ap.clone(), week)).or_default() += n;
            per_referral.insert((id.clone(), ap, week, n));
        }
        if let Some(w) = k.waiting {
            waiting.insert(id, w);
        }
    }
    let stored_weeks: BTreeMap<(String, NaiveDate), i32> = capacity_weeks::table
        .filter(capacity_weeks::week.ge(this_week))
        .select((
            capacity_weeks::ap_user_id,
            capacity_weeks::week,
            capacity_weeks::booked,
        ))
        .load::<(String, NaiveDate, i32)>(c)?
        .into_iter()
        .map(|(ap, w, n)| ((ap, w), n))
        .collect();
    let stored_per_referral: BTreeSet<(String, String, NaiveDate, i32)> =
        capacity_referral_weeks::table
            .filter(capacity_referral_weeks::week.ge(this_week))
            .select((
                capacity_referral_weeks::referral_id,
                capacity_referral_weeks::ap_user_id,
                capacity_referral_weeks::week,
                capacity_referral_weeks::booked,
            ))
            .load::<(String, String, NaiveDate, i32)>(c)?
            .into_iter()
            .collect();
    let stored_waiting: BTreeMap<String, WaitingRow> = capacity_waiting::table
        .select(StoredWaiting::as_select())
        .load::<StoredWaiting>(c)?
        .into_iter()
        .map(StoredWaiting::split)
        .collect();
    Ok(weeks == stored_weeks && per_referral == stored_per_referral && waiting == stored_waiting)
}

// ------------------------------------------------------------------------- readers

/// Live sessions per practitioner and week (by Monday) from `from` for `weeks` weeks, from
/// the kept counts. `from` is the current week or later.
pub fn booked_per_week(
    c: &mut DbConn,
    ap_ids: &[String],
    from: NaiveDate,
    weeks: u64,
) -> Result<HashMap<(String, NaiveDate), i64>, AppError> {
    let to = from + chrono::Days::new(7 * weeks);
    let mut counts = HashMap::new();
    for chunk in ap_ids.chunks(CHUNK) {
        let rows: Vec<(String, NaiveDate, i32)> = capacity_weeks::table
            .filter(capacity_weeks::ap_user_id.eq_any(chunk))
            .filter(capacity_weeks::week.ge(from))
            .filter(capacity_weeks::week.lt(to))
            .select((
                capacity_weeks::ap_user_id,
                capacity_weeks::week,
                capacity_weeks::booked,
            ))
            .load(c)?;
        for (ap, week, n) in rows {
            counts.insert((ap, week), i64::from(n));
        }
    }
    Ok(counts)
}

/// A page of the waiting list in `areas`, longest waiting first (the earliest start of the
/// wait, then by reference): `per` orders after the first `skip`, and how many wait in all.
pub fn waiting_in(
    c: &mut DbConn,
    areas: &[String],
    skip: usize,
    per: usize,
) -> Result<Vec<(String, WaitingRow)>, AppError> {
    Ok(capacity_waiting::table
        .filter(capacity_waiting::area_id.eq_any(areas))
        .order((
            capacity_waiting::since.asc(),
            capacity_waiting::reference.asc(),
        ))
        .offset(i64::try_from(skip).unwrap_or(i64::MAX))
        .limit(i64::try_from(per).unwrap_or(i64::MAX))
        .select(StoredWaiting::as_select())
        .load::<StoredWaiting>(c)?
        .into_iter()
        .map(StoredWaiting::split)
        .collect())
}

/// How many orders wait in `areas`.
pub fn waiting_count(c: &mut DbConn, areas: &[String]) -> Result<usize, AppError> {
    let n: i64 = capacity_waiting::table
        .filter(capacity_waiting::area_id.eq_any(areas))
        .count()
        .get_result(c)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn referral(status: Status) -> ReferralRow {
        ReferralRow {
            id: "r".into(),
            reference: "MH-1".into(),
            area_id: "a".into(),
            status,
            sentence_date: None,
            updated_at: day(2).and_hms_opt(9, 30, 0).unwrap(),
            erased_at: None,
        }
    }

    fn session(ap: &str, d: u32, status: SessionStatus, outcome: Option<Outcome>) -> SessionRow {
        SessionRow {
            referral_id: "r".into(),
            ap_user_id: ap.into(),
            starts_at: day(d).and_hms_opt(10, 0, 0).unwrap(),
            status,
            outcome,
        }
    }

    #[test]
    fn live_sessions_count_in_their_practitioners_week_from_the_current_week_on() {
        // Monday 7 December 2026 is the current week.
        let s = [
            session("ap", 1, SessionStatus::Recorded, Some(Outcome::Attended)),
            session("ap", 8, SessionStatus::Booked, None),
            session("ap", 10, SessionStatus::Recorded, Some(Outcome::Attended)),
            session("ap", 15, SessionStatus::Cancelled, None),
            session("ap", 16, SessionStatus::Superseded, None),
            session("other", 17, SessionStatus::Booked, None),
        ];
        let refs: Vec<&SessionRow> = s.iter().collect();
        let kept = derive(&referral(Status::InTreatment), &refs, day(7));
        let expected: BTreeMap<(String, NaiveDate), i32> = [
            (("ap".to_owned(), day(7)), 2),
            (("other".to_owned(), day(14)), 1),
        ]
        .into();
        assert_eq!(kept.weeks, expected);
        assert_eq!(kept.waiting, None);
    }

    #[test]
    fn an_order_waits_until_a_session_is_attended_from_its_sentence_or_last_change() {
        let booked = [session("ap", 8, SessionStatus::Booked, None)];
        let refs: Vec<&SessionRow> = booked.iter().collect();
        let mut r = referral(Status::Allocated);
        let w = derive(&r, &refs, day(7)).waiting.expect("waiting");
        assert_eq!((w.since, w.reference.as_str()), (day(2), "MH-1"));
        r.sentence_date = Some(day(1));
        assert_eq!(derive(&r, &refs, day(7)).waiting.unwrap().since, day(1));
        // Absent, or attended but then cancelled, does not start treatment.
        let s = [
            session(
                "ap",
                3,
                SessionStatus::Recorded,
                Some(Outcome::UnacceptableAbsence),
            ),
            session("ap", 4, SessionStatus::Cancelled, Some(Outcome::Attended)),
        ];
        let refs: Vec<&SessionRow> = s.iter().collect();
        assert!(derive(&r, &refs, day(7)).waiting.is_some());
        let s = [session(
            "ap",
            3,
            SessionStatus::Recorded,
            Some(Outcome::AttendedLate),
        )];
        let refs: Vec<&SessionRow> = s.iter().collect();
        assert!(derive(&r, &refs, day(7)).waiting.is_none());
        assert!(
            derive(&referral(Status::InTreatment), &[], day(7))
                .waiting
                .is_none()
        );
        assert!(
            derive(&referral(Status::MhtrMade), &[], day(7))
                .waiting
                .is_some()
        );
    }

    #[test]
    fn an_erased_referral_adds_nothing() {
        let mut r = referral(Status::Allocated);
        r.erased_at = Some(day(3).and_hms_opt(0, 0, 0).unwrap());
        let s = [session("ap", 8, SessionStatus::Booked, None)];
        let refs: Vec<&SessionRow> = s.iter().collect();
        assert_eq!(derive(&r, &refs, day(7)), Kept::default());
    }
}
