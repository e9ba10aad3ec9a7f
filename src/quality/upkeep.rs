//! Keeps the data-quality figures in step with the records, and reads them for a view.
//!
//! [`refresh`] works out one referral's standing again ([`super::Fact`]) inside the
//! transaction that changed it, moves the counts per area, organisation and month by the
//! difference, and checks again whether its person shares a PNC ID or CRN with someone
//! recorded with another date of birth. [`crate::reports::upkeep::refresh`] calls it, so every
//! write that keeps the report's facts keeps these too. [`backfill`] fills what is missing
//! after a migration, an import or a bulk load; [`recount`] compares what is kept with the
//! same worked out afresh.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::{Fact, Holder, Kind, Limit, Record, Scope, derive};
use crate::db::DbConn;
use crate::db::schema::{
    areas, people, quality_conflicts, quality_counts, quality_facts, quality_month_counts,
    referrals, users,
};
use crate::error::AppError;
use crate::referrals::codes::{EntryPoint, Ethnicity, GenderIdentity, Sex};
use crate::referrals::state::Status;

/// Referrals (not erased) read for the checks, by id.
fn records(c: &mut DbConn, ids: &[String]) -> Result<Vec<Record>, AppError> {
    type Row = (
        String,
        String,
        String,
        String,
        EntryPoint,
        Status,
        NaiveDateTime,
        Option<NaiveDate>,
        Option<NaiveDate>,
        String,
    );
    type PersonRow = (
        String,
        Option<String>,
        Option<String>,
        Option<Ethnicity>,
        Sex,
        GenderIdentity,
        Option<String>,
    );
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<Row> = referrals::table
            .filter(referrals::id.eq_any(chunk))
            .filter(referrals::erased_at.is_null())
            .select((
                referrals::id,
                referrals::reference,
                referrals::area_id,
                referrals::created_by,
                referrals::entry_point,
                referrals::status,
                referrals::submitted_at,
                referrals::sentence_date,
                referrals::requirement_end_date,
                referrals::person_id,
            ))
            .load(c)?;
        let makers: BTreeSet<&String> = rows.iter().map(|r| &r.3).collect();
        let org_of: HashMap<String, String> = users::table
            .filter(users::id.eq_any(makers))
            .select((users::id, users::organisation_id))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect();
        let persons: BTreeSet<&String> = rows.iter().map(|r| &r.9).collect();
        let person: HashMap<String, PersonRow> = people::table
            .filter(people::id.eq_any(persons))
            .select((
                people::id,
                people::pnc_id,
                people::crn,
                people::ethnicity,
                people::sex,
                people::gender_identity,
                people::gp_practice,
            ))
            .load::<PersonRow>(c)?
            .into_iter()
            .map(|p| (p.0.clone(), p))
            .collect();
        for r in rows {
            let Some(p) = person.get(&r.9) else {
                continue;
            };
            out.push(Record {
                organisation_id: org_of.get(&r.3).cloned().unwrap_or_default(),
                id: r.0,
                reference: r.1,
                area_id: r.2,
                entry_point: r.4,
                status: r.5,
                submitted_on: crate::clock::utc_to_london(r.6).date(),
                sentence_date: r.7,
                requirement_end_date: r.8,
                person_id: r.9,
                pnc_id: present(&p.1),
                crn: present(&p.2),
                has_ethnicity: p.3.is_some(),
                sex: p.4,
                gender_identity: p.5,
                has_gp: present(&p.6).is_some(),
            });
        }
    }
    Ok(out)
}

/// A value that is there: not missing, not blank.
fn present(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.trim().is_empty())
}

/// Works out one referral's standing again and moves the counts by the difference; an
/// erased referral leaves the figures. Then checks its person (and anyone who shared their
/// identifiers) for being recorded twice. Call at the end of every write transaction that
/// changes a referral or its person.
pub fn refresh(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    let new = records(c, &[referral_id.to_owned()])?.first().map(derive);
    let old: Option<Fact> = quality_facts::table
        .find(referral_id)
        .select(Fact::as_select())
        .first(c)
        .optional()?;
    if old != new {
        if let Some(o) = &old {
            count(c, o, -1)?;
            diesel::delete(quality_facts::table.find(referral_id)).execute(c)?;
        }
        if let Some(n) = &new {
            diesel::insert_into(quality_facts::table)
                .values(n)
                .execute(c)?;
            count(c, n, 1)?;
        }
    }
    let mut persons: Vec<String> = old.into_iter().chain(new).map(|f| f.person_id).collect();
    persons.dedup();
    recheck(c, &persons)
}

/// Works out again the referrals a user made: after their organisation changes, the
/// records count towards the new one.
pub fn refresh_made_by(c: &mut DbConn, user_id: &str) -> Result<(), AppError> {
    let ids: Vec<String> = referrals::table
        .filter(referrals::created_by.eq(user_id))
        .select(referrals::id)
        .load(c)?;
    for id in ids {
        refresh(c, &id)?;
    }
    Ok(())
}

/// Adds `by` records of a fact's kind to its counts, all time and in its month; a count that
/// falls to nothing goes.
fn count(c: &mut DbConn, f: &Fact, by: i32) -> Result<(), AppError> {
    add_counts(c, &f.area_id, &f.organisation_id, f.month, Kind::of(f), by)
}

fn add_counts(
    c: &mut DbConn,
    area_id: &str,
    organisation_id: &str,
    month: NaiveDate,
    kind: Kind,
    by: i32,
) -> Result<(), AppError> {
    let all = (
        quality_counts::area_id.eq(area_id),
        quality_counts::organisation_id.eq(organisation_id),
        quality_counts::applies.eq(kind.applies),
        quality_counts::missing.eq(kind.missing),
        quality_counts::bad.eq(kind.bad),
        quality_counts::records.eq(by),
    );
    let all_key = (
        quality_counts::area_id,
        quality_counts::organisation_id,
        quality_counts::applies,
        quality_counts::missing,
        quality_counts::bad,
    );
    let all_set = quality_counts::records.eq(quality_counts::records + by);
    let monthly = (
        quality_month_counts::month.eq(month),
        quality_month_counts::area_id.eq(area_id),
        quality_month_counts::organisation_id.eq(organisation_id),
        quality_month_counts::applies.eq(kind.applies),
        quality_month_counts::missing.eq(kind.missing),
        quality_month_counts::bad.eq(kind.bad),
        quality_month_counts::records.eq(by),
    );
    let monthly_key = (
        quality_month_counts::month,
        quality_month_counts::area_id,
        quality_month_counts::organisation_id,
        quality_month_counts::applies,
        quality_month_counts::missing,
        quality_month_counts::bad,
    );
    let monthly_set = quality_month_counts::records.eq(quality_month_counts::records + by);
    // One upsert each, written once for both backends' connections.
    macro_rules! upsert {
        ($conn:expr) => {{
            diesel::insert_into(quality_counts::table)
                .values(all)
                .on_conflict(all_key)
                .do_update()
                .set(all_set)
                .execute($conn)?;
            diesel::insert_into(quality_month_counts::table)
                .values(monthly)
                .on_conflict(monthly_key)
                .do_update()
                .set(monthly_set)
                .execute($conn)?;
        }};
    }
    match c {
        DbConn::Sqlite(c) => upsert!(c),
        DbConn::Pg(c) => upsert!(c),
    }
    if by < 0 {
        diesel::delete(
            quality_counts::table
                .filter(quality_counts::area_id.eq(area_id))
                .filter(quality_counts::organisation_id.eq(organisation_id))
                .filter(quality_counts::applies.eq(kind.applies))
                .filter(quality_counts::missing.eq(kind.missing))
                .filter(quality_counts::bad.eq(kind.bad))
                .filter(quality_counts::records.le(0)),
        )
        .execute(c)?;
        diesel::delete(
            quality_month_counts::table
                .filter(quality_month_counts::month.eq(month))
                .filter(quality_month_counts::area_id.eq(area_id))
                .filter(quality_month_counts::organisation_id.eq(organisation_id))
                .filter(quality_month_counts::applies.eq(kind.applies))
                .filter(quality_month_counts::missing.eq(kind.missing))
                .filter(quality_month_counts::bad.eq(kind.bad))
                .filter(quality_month_counts::records.le(0)),
        )
        .execute(c)?;
    }
    Ok(())
}

/// A person as the duplicate check reads them: (id, PNC ID, CRN, date of birth).
type Identity = (String, Option<String>, Option<String>, NaiveDate);

/// People in use (not merged into another, not erased) holding any of these identifiers.
fn holders(
    c: &mut DbConn,
    pncs: &BTreeSet<String>,
    crns: &BTreeSet<String>,
) -> Result<Vec<Identity>, AppError> {
    let mut out: Vec<Identity> = Vec::new();
    let in_use = || {
        people::table
            .filter(people::merged_into_id.is_null())
            .filter(people::erased_at.is_null())
    };
    let pncs: Vec<&String> = pncs.iter().collect();
    for chunk in pncs.chunks(500) {
        out.extend(
            in_use()
                .filter(people::pnc_id.eq_any(chunk))
                .select((
                    people::id,
                    people::pnc_id,
                    people::crn,
                    people::date_of_birth,
                ))
                .load::<Identity>(c)?,
        );
    }
    let crns: Vec<&String> = crns.iter().collect();
    for chunk in crns.chunks(500) {
        out.extend(
            in_use()
                .filter(people::crn.eq_any(chunk))
                .select((
                    people::id,
                    people::pnc_id,
                    people::crn,
                    people::date_of_birth,
                ))
                .load::<Identity>(c)?,
        );
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The identifiers (PNC IDs, CRNs) held by people with more than one date of birth between
/// them.
fn shared_with_two_births(people: &[Identity]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut pnc: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
    let mut crn: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
    for (_, p, r, born) in people {
        if let Some(p) = present(p) {
            pnc.entry(p).or_default().insert(*born);
        }
        if let Some(r) = present(r) {
            crn.entry(r).or_default().insert(*born);
        }
    }
    let two = |m: BTreeMap<String, BTreeSet<NaiveDate>>| {
        m.into_iter()
            .filter(|(_, births)| births.len() > 1)
            .map(|(v, _)| v)
            .collect::<BTreeSet<String>>()
    };
    (two(pnc), two(crn))
}

/// Who holds some identifiers, and what decides their standing.
struct Survey {
    /// The people holding them: everyone whose standing they decide.
    first: Vec<Identity>,
    /// Those and everyone holding those people's other identifiers, which decide it too.
    everyone: Vec<Identity>,
    /// Every identifier read.
    pncs: BTreeSet<String>,
    crns: BTreeSet<String>,
}

fn survey(
    c: &mut DbConn,
    pncs: &BTreeSet<String>,
    crns: &BTreeSet<String>,
) -> Result<Survey, AppError> {
    let first = holders(c, pncs, crns)?;
    let (mut more_pncs, mut more_crns) = (pncs.clone(), crns.clone());
    for (_, p, r, _) in &first {
        more_pncs.extend(present(p));
        more_crns.extend(present(r));
    }
    let everyone = if &more_pncs == pncs && &more_crns == crns {
        first.clone()
    } else {
        holders(c, &more_pncs, &more_crns)?
    };
    Ok(Survey {
        first,
        everyone,
        pncs: more_pncs,
        crns: more_crns,
    })
}

/// Checks again whether each of these people, and everyone who holds or held one of their
/// identifiers, shares a PNC ID or CRN with someone recorded with another date of birth,
/// and keeps `quality_conflicts` to match. Writes only what changes.
fn recheck(c: &mut DbConn, persons: &[String]) -> Result<(), AppError> {
    if persons.is_empty() {
        return Ok(());
    }
    let kept: Vec<Identity> = quality_conflicts::table
        .filter(quality_conflicts::person_id.eq_any(persons))
        .select(KEPT)
        .load(c)?;
    let current: Vec<Identity> = people::table
        .filter(people::id.eq_any(persons))
        .filter(people::merged_into_id.is_null())
        .filter(people::erased_at.is_null())
        .select((
            people::id,
            people::pnc_id,
            people::crn,
            people::date_of_birth,
        ))
        .load(c)?;
    let mut pncs = BTreeSet::new();
    let mut crns = BTreeSet::new();
    let identifiers = kept.iter().chain(current.iter()).map(|(_, p, r, _)| (p, r));
    for (p, r) in identifiers {
        pncs.extend(present(p));
        crns.extend(present(r));
    }
    let mut survey = survey(c, &pncs, &crns)?;
    if matches!(c, DbConn::Pg(_)) {
        // Two writers changing people who share an identifier each read the other's people:
        // one waits for the other to commit, then reads again. (SQLite has one writer.)
        let keys: Vec<String> = survey
            .pncs
            .iter()
            .map(|v| format!("quality:pnc:{v}"))
            .chain(survey.crns.iter().map(|v| format!("quality:crn:{v}")))
            .collect();
        crate::db::serialise_on(c, &keys.iter().map(String::as_str).collect::<Vec<_>>())?;
        survey = self::survey(c, &pncs, &crns)?;
    }
    let Survey {
        first, everyone, ..
    } = survey;
    let (two_pnc, two_crn) = shared_with_two_births(&everyone);
    let mut affected: BTreeSet<&String> = persons.iter().collect();
    affected.extend(first.iter().map(|h| &h.0));
    let was: HashMap<String, Identity> = quality_conflicts::table
        .filter(quality_conflicts::person_id.eq_any(&affected))
        .select(KEPT)
        .load::<Identity>(c)?
        .into_iter()
        .map(|k| (k.0.clone(), k))
        .collect();
    for person in affected {
        let now = everyone
            .iter()
            .chain(current.iter())
            .find(|h| &h.0 == person)
            .filter(|(_, p, r, _)| {
                present(p).is_some_and(|p| two_pnc.contains(&p))
                    || present(r).is_some_and(|r| two_crn.contains(&r))
            });
        if now == was.get(person) {
            continue;
        }
        diesel::delete(quality_conflicts::table.find(person)).execute(c)?;
        if let Some(who) = now {
            keep(c, who)?;
        }
    }
    Ok(())
}

/// The columns of `quality_conflicts`, read as an [`Identity`].
const KEPT: (
    quality_conflicts::person_id,
    quality_conflicts::pnc_id,
    quality_conflicts::crn,
    quality_conflicts::date_of_birth,
) = (
    quality_conflicts::person_id,
    quality_conflicts::pnc_id,
    quality_conflicts::crn,
    quality_conflicts::date_of_birth,
);

/// Records a person as recorded twice, with what they hold.
fn keep(c: &mut DbConn, (id, pnc, crn, born): &Identity) -> Result<(), AppError> {
    diesel::insert_into(quality_conflicts::table)
        .values((
            quality_conflicts::person_id.eq(id),
            quality_conflicts::pnc_id.eq(pnc),
            quality_conflicts::crn.eq(crn),
            quality_conflicts::date_of_birth.eq(born),
        ))
        .execute(c)?;
    Ok(())
}

/// Everyone recorded twice, worked out afresh from `people`: (person id, PNC ID, CRN).
fn all_recorded_twice(c: &mut DbConn) -> Result<BTreeSet<Identity>, AppError> {
    use diesel::dsl::count;
    let in_use = || {
        people::table
            .filter(people::merged_into_id.is_null())
            .filter(people::erased_at.is_null())
    };
    let pncs: BTreeSet<String> = in_use()
        .filter(people::pnc_id.is_not_null())
        .group_by(people::pnc_id)
        .having(count(people::date_of_birth).aggregate_distinct().gt(1))
        .select(people::pnc_id.assume_not_null())
        .load::<String>(c)?
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .collect();
    let crns: BTreeSet<String> = in_use()
        .filter(people::crn.is_not_null())
        .group_by(people::crn)
        .having(count(people::date_of_birth).aggregate_distinct().gt(1))
        .select(people::crn.assume_not_null())
        .load::<String>(c)?
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .collect();
    let everyone = holders(c, &pncs, &crns)?;
    let (two_pnc, two_crn) = shared_with_two_births(&everyone);
    Ok(everyone
        .into_iter()
        .filter(|(_, p, r, _)| {
            present(p).is_some_and(|p| two_pnc.contains(&p))
                || present(r).is_some_and(|r| two_crn.contains(&r))
        })
        .collect())
}

/// Fills in the standing of every referral (not erased) that has none, two thousand to a
/// transaction, and works out again who is recorded twice. Returns how many were filled.
pub fn backfill(c: &mut DbConn) -> Result<usize, AppError> {
    use diesel::connection::Connection;
    let missing: Vec<String> = referrals::table
        .filter(referrals::erased_at.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(
            quality_facts::table.filter(quality_facts::referral_id.eq(referrals::id)),
        )))
        .select(referrals::id)
        .load(c)?;
    for chunk in missing.chunks(2000) {
        c.transaction::<_, AppError, _>(|c| insert_new(c, chunk).map(|_| ()))?;
    }
    if !missing.is_empty() {
        c.transaction::<_, AppError, _>(|c| {
            diesel::delete(quality_conflicts::table).execute(c)?;
            for who in all_recorded_twice(c)? {
                keep(c, &who)?;
            }
            Ok(())
        })?;
    }
    Ok(missing.len())
}

/// Works out and stores the standing of referrals that have none yet, and counts them.
fn insert_new(c: &mut DbConn, ids: &[String]) -> Result<Vec<Fact>, AppError> {
    let facts: Vec<Fact> = records(c, ids)?.iter().map(derive).collect();
    crate::db::bulk_insert!(c, quality_facts::table, facts);
    for ((area, org, month, kind), n) in tally(&facts) {
        add_counts(c, &area, &org, month, kind, n)?;
    }
    Ok(facts)
}

/// The standing of referrals written in bulk (an import's cases), inside the transaction
/// that wrote them: [`refresh`] for many at once.
pub fn add_new(c: &mut DbConn, ids: &[String]) -> Result<(), AppError> {
    let facts = insert_new(c, ids)?;
    let persons: BTreeSet<String> = facts.into_iter().map(|f| f.person_id).collect();
    let persons: Vec<String> = persons.into_iter().collect();
    for chunk in persons.chunks(500) {
        recheck(c, chunk)?;
    }
    Ok(())
}

/// Facts counted by (area, organisation, month, kind).
fn tally(facts: &[Fact]) -> BTreeMap<(String, String, NaiveDate, Kind), i32> {
    let mut out: BTreeMap<(String, String, NaiveDate, Kind), i32> = BTreeMap::new();
    for f in facts {
        *out.entry((
            f.area_id.clone(),
            f.organisation_id.clone(),
            f.month,
            Kind::of(f),
        ))
        .or_default() += 1;
    }
    out
}

/// The kept figures against the same worked out afresh from the records: each must be
/// equal. Part of [`crate::reports::upkeep::recount`], which the test suite runs.
pub fn recount(c: &mut DbConn) -> Result<bool, AppError> {
    let ids: Vec<String> = referrals::table
        .filter(referrals::erased_at.is_null())
        .order(referrals::id.asc())
        .select(referrals::id)
        .load(c)?;
    let mut facts: Vec<Fact> = records(c, &ids)?.iter().map(derive).collect();
    facts.sort_by(|a, b| a.referral_id.cmp(&b.referral_id));
    let stored: Vec<Fact> = quality_facts::table
        .order(quality_facts::referral_id.asc())
        .select(Fact::as_select())
        .load(c)?;
    let mut all: BTreeMap<(String, String, Kind), i32> = BTreeMap::new();
    let monthly = tally(&facts);
    for ((area, org, _, kind), n) in &monthly {
        *all.entry((area.clone(), org.clone(), *kind)).or_default() += n;
    }
    let stored_all: BTreeMap<(String, String, Kind), i32> = quality_counts::table
        .select((
            quality_counts::area_id,
            quality_counts::organisation_id,
            quality_counts::applies,
            quality_counts::missing,
            quality_counts::bad,
            quality_counts::records,
        ))
        .load::<(String, String, i32, i32, i32, i32)>(c)?
        .into_iter()
        .map(|(a, o, applies, missing, bad, n)| {
            (
                (
                    a,
                    o,
                    Kind {
                        applies,
                        missing,
                        bad,
                    },
                ),
                n,
            )
        })
        .collect();
    let stored_monthly: BTreeMap<(String, String, NaiveDate, Kind), i32> =
        quality_month_counts::table
            .select((
                quality_month_counts::area_id,
                quality_month_counts::organisation_id,
                quality_month_counts::month,
                quality_month_counts::applies,
                quality_month_counts::missing,
                quality_month_counts::bad,
                quality_month_counts::records,
            ))
            .load::<(String, String, NaiveDate, i32, i32, i32, i32)>(c)?
            .into_iter()
            .map(|(a, o, m, applies, missing, bad, n)| {
                (
                    (
                        a,
                        o,
                        m,
                        Kind {
                            applies,
                            missing,
                            bad,
                        },
                    ),
                    n,
                )
            })
            .collect();
    let twice = all_recorded_twice(c)?;
    let stored_twice: BTreeSet<Identity> = quality_conflicts::table
        .select(KEPT)
        .load::<Identity>(c)?
        .into_iter()
        .collect();
    Ok(facts == stored && all == stored_all && monthly == stored_monthly && twice == stored_twice)
}

// ------------------------------------------------------------------ reading, for a view

/// The counts in scope: all time (month `None`), and in each of `months`.
pub(super) fn counts(
    c: &mut DbConn,
    scope: &Scope,
    months: &[NaiveDate],
) -> Result<super::Counts, AppError> {
    let mut all = quality_counts::table
        .select((
            quality_counts::area_id,
            quality_counts::organisation_id,
            quality_counts::applies,
            quality_counts::missing,
            quality_counts::bad,
            quality_counts::records,
        ))
        .into_boxed();
    if let Some(a) = &scope.areas {
        all = all.filter(quality_counts::area_id.eq_any(a));
    }
    if let Some(o) = &scope.organisation {
        all = all.filter(quality_counts::organisation_id.eq(o));
    }
    let mut out: super::Counts = all
        .load::<(String, String, i32, i32, i32, i32)>(c)?
        .into_iter()
        .map(|(a, o, applies, missing, bad, n)| {
            (
                a,
                o,
                None,
                Kind {
                    applies,
                    missing,
                    bad,
                },
                i64::from(n),
            )
        })
        .collect();
    let mut recent = quality_month_counts::table
        .filter(quality_month_counts::month.eq_any(months))
        .select((
            quality_month_counts::area_id,
            quality_month_counts::organisation_id,
            quality_month_counts::month,
            quality_month_counts::applies,
            quality_month_counts::missing,
            quality_month_counts::bad,
            quality_month_counts::records,
        ))
        .into_boxed();
    if let Some(a) = &scope.areas {
        recent = recent.filter(quality_month_counts::area_id.eq_any(a));
    }
    if let Some(o) = &scope.organisation {
        recent = recent.filter(quality_month_counts::organisation_id.eq(o));
    }
    out.extend(
        recent
            .load::<(String, String, NaiveDate, i32, i32, i32, i32)>(c)?
            .into_iter()
            .map(|(a, o, m, applies, missing, bad, n)| {
                (
                    a,
                    o,
                    Some(m),
                    Kind {
                        applies,
                        missing,
                        bad,
                    },
                    i64::from(n),
                )
            }),
    );
    Ok(out)
}

/// The records in scope of the people who may be recorded twice, with what the comparison
/// reads of them.
pub(super) struct Twice {
    pub facts: Vec<Fact>,
    pub holders: Vec<Holder>,
}

pub(super) fn recorded_twice(c: &mut DbConn, scope: &Scope) -> Result<Twice, AppError> {
    let who: HashMap<String, Identity> = quality_conflicts::table
        .select(KEPT)
        .load::<Identity>(c)?
        .into_iter()
        .map(|k| (k.0.clone(), k))
        .collect();
    let persons: Vec<&String> = who.keys().collect();
    let mut facts = Vec::new();
    for chunk in persons.chunks(500) {
        let mut q = quality_facts::table
            .filter(quality_facts::person_id.eq_any(chunk))
            .select(Fact::as_select())
            .into_boxed();
        if let Some(a) = &scope.areas {
            q = q.filter(quality_facts::area_id.eq_any(a));
        }
        if let Some(o) = &scope.organisation {
            q = q.filter(quality_facts::organisation_id.eq(o));
        }
        facts.extend(q.load::<Fact>(c)?);
    }
    let holders = facts
        .iter()
        .filter_map(|f| {
            let (_, p, r, born) = who.get(&f.person_id)?;
            Some(Holder {
                person_id: f.person_id.clone(),
                reference: f.reference.clone(),
                pnc_id: present(p),
                crn: present(r),
                born: *born,
            })
        })
        .collect();
    Ok(Twice { facts, holders })
}

/// The records in scope that break a standard by what they hold (a required field missing,
/// a malformed identifier) or by their area (`inactive`: every record there), in reference
/// order, area by area: the first `limit` of each area, which hold the first overall.
pub(super) fn breaking(
    c: &mut DbConn,
    scope: &Scope,
    required: i32,
    inactive: &[&str],
    limit: Limit,
) -> Result<Vec<Fact>, AppError> {
    let area_ids: Vec<String> = match &scope.areas {
        Some(a) => a.clone(),
        None => areas::table.select(areas::id).load(c)?,
    };
    let mut out = Vec::new();
    for area in &area_ids {
        let mut q = quality_facts::table
            .filter(quality_facts::area_id.eq(area))
            .select(Fact::as_select())
            .order(quality_facts::reference.asc())
            .into_boxed();
        if !inactive.contains(&area.as_str()) {
            // The first condition is the partial index's own, so it is used; the second
            // keeps the fields required.
            q = q
                .filter(sql::<Bool>("(missing <> 0 OR bad <> 0)"))
                .filter(sql::<Bool>(&format!(
                    "((missing & {required}) <> 0 OR bad <> 0)"
                )));
        }
        if let Some(o) = &scope.organisation {
            q = q.filter(quality_facts::organisation_id.eq(o));
        }
        if let Limit::First(n) = limit {
            q = q.limit(i64::try_from(n).unwrap_or(i64::MAX));
        }
        out.extend(q.load(c)?);
    }
    Ok(out)
}
