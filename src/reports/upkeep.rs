//! Keeps the reporting facts and the cube in step with the records: [`refresh`] recomputes
//! a referral's facts (through [`facts::derive`]) inside the transaction that changed it and
//! moves the cube's counts by the difference; [`backfill`] fills what is missing after a
//! migration; [`recount`] checks the stored figures against the source tables.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{referrals, report_area_months, report_facts, report_referral_months};
use crate::error::AppError;
use crate::reports::cube;
use crate::reports::facts::{Fact, MonthCounts, add_to_area_month, derive, parts};
/// Recomputes one referral's facts and moves the area's monthly session counts by exactly
/// the difference. Call at the end of every write transaction that changes a referral, its
/// person, its sessions or its measures.
///
/// An erased referral's facts are left as they stand: its source data is blanked, and its
/// stored facts are what keeps the report's history right. The data-quality figures and
/// the capacity page's counts and waiting list are kept here too
/// ([`crate::quality::upkeep::refresh`], [`crate::sessions::capacity::upkeep::refresh`]),
/// which drop an erased referral.
pub fn refresh(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    crate::quality::upkeep::refresh(c, referral_id)?;
    crate::sessions::capacity::upkeep::refresh(c, referral_id)?;
    if crate::retention::model::is_erased(c, referral_id)? {
        return Ok(());
    }
    let p = parts(c, referral_id)?;
    let (fact, months) = derive(&p);
    let old_fact: Option<Fact> = report_facts::table
        .find(referral_id)
        .select(Fact::as_select())
        .first(c)
        .optional()?;
    cube::replace(c, old_fact.as_ref(), &fact)?;
    diesel::delete(report_facts::table.find(referral_id)).execute(c)?;
    diesel::insert_into(report_facts::table)
        .values(&fact)
        .execute(c)?;
    let old: Vec<(NaiveDate, String, i32, i32, i32)> = report_referral_months::table
        .filter(report_referral_months::referral_id.eq(referral_id))
        .select((
            report_referral_months::month,
            report_referral_months::area_id,
            report_referral_months::booked,
            report_referral_months::delivered,
            report_referral_months::missed,
        ))
        .load(c)?;
    let unchanged = old.len() == months.len()
        && old.iter().all(|(m, a, b, d, x)| {
            a == &fact.area_id
                && months.get(m)
                    == Some(&MonthCounts {
                        booked: *b,
                        delivered: *d,
                        missed: *x,
                    })
        });
    if unchanged {
        return Ok(());
    }
    for (month, area, booked, delivered, missed) in &old {
        add_to_area_month(
            c,
            area,
            *month,
            MonthCounts {
                booked: -booked,
                delivered: -delivered,
                missed: -missed,
            },
        )?;
    }
    diesel::delete(
        report_referral_months::table.filter(report_referral_months::referral_id.eq(referral_id)),
    )
    .execute(c)?;
    for (month, counts) in &months {
        diesel::insert_into(report_referral_months::table)
            .values((
                report_referral_months::referral_id.eq(referral_id),
                report_referral_months::month.eq(month),
                report_referral_months::area_id.eq(&fact.area_id),
                report_referral_months::booked.eq(counts.booked),
                report_referral_months::delivered.eq(counts.delivered),
                report_referral_months::missed.eq(counts.missed),
            ))
            .execute(c)?;
        add_to_area_month(c, &fact.area_id, *month, *counts)?;
    }
    Ok(())
}

/// Refreshes every referral of a person (after a merge or an amendment of who they are).
pub fn refresh_person(c: &mut DbConn, person_id: &str) -> Result<(), AppError> {
    let ids: Vec<String> = referrals::table
        .filter(referrals::person_id.eq(person_id))
        .select(referrals::id)
        .load(c)?;
    for id in ids {
        refresh(c, &id)?;
    }
    Ok(())
}

/// Computes the facts of every referral that has none, a thousand to a transaction, and
/// the report's aggregates from the facts when they have none yet (a database made before
/// they existed); and the data-quality figures of every referral without them
/// ([`crate::quality::upkeep::backfill`]) and the capacity page's
/// ([`crate::sessions::capacity::upkeep::backfill`]).
pub fn backfill(c: &mut DbConn) -> Result<usize, AppError> {
    crate::quality::upkeep::backfill(c)?;
    crate::sessions::capacity::upkeep::backfill(c)?;
    use diesel::connection::Connection;
    if cube::is_empty(c)? {
        c.transaction::<_, AppError, _>(cube::rebuild)?;
    }
    // NOT EXISTS, which PostgreSQL runs as an anti-join; `NOT IN (subquery)` took it
    // minutes at a million referrals.
    let missing: Vec<String> = referrals::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            report_facts::table.filter(report_facts::referral_id.eq(referrals::id)),
        )))
        .select(referrals::id)
        .load(c)?;
    for chunk in missing.chunks(1000) {
        c.transaction::<_, AppError, _>(|c| {
            for id in chunk {
                refresh(c, id)?;
            }
            Ok(())
        })?;
    }
    Ok(missing.len())
}

/// An erased referral's stored facts and months: they cannot be derived again from its
/// blanked source data, so they stand as they are.
fn stored_parts(
    c: &mut DbConn,
    referral_id: &str,
) -> Result<(Fact, BTreeMap<NaiveDate, MonthCounts>), AppError> {
    let fact = report_facts::table
        .find(referral_id)
        .select(Fact::as_select())
        .first(c)?;
    let months = report_referral_months::table
        .filter(report_referral_months::referral_id.eq(referral_id))
        .select((
            report_referral_months::month,
            report_referral_months::booked,
            report_referral_months::delivered,
            report_referral_months::missed,
        ))
        .load::<(NaiveDate, i32, i32, i32)>(c)?
        .into_iter()
        .map(|(m, booked, delivered, missed)| {
            (
                m,
                MonthCounts {
                    booked,
                    delivered,
                    missed,
                },
            )
        })
        .collect();
    Ok((fact, months))
}

/// The stored facts and monthly counts, and the same computed afresh from the source tables:
/// they must be equal. An erased referral's stored facts stand for it (its source data is
/// gone), but still count towards the aggregates and months checked. The test suite runs it
/// after its changes, on both databases.
pub fn recount(c: &mut DbConn) -> Result<Recount, AppError> {
    let rows: Vec<(String, Option<NaiveDateTime>)> = referrals::table
        .select((referrals::id, referrals::erased_at))
        .order(referrals::id.asc())
        .load(c)?;
    let mut facts = Vec::with_capacity(rows.len());
    let (mut cube_counts, mut cube_waits) = Default::default();
    let mut area_months: BTreeMap<(String, NaiveDate), MonthCounts> = BTreeMap::new();
    for (id, erased_at) in &rows {
        let (fact, months) = if erased_at.is_some() {
            stored_parts(c, id)?
        } else {
            derive(&parts(c, id)?)
        };
        cube::accumulate(&fact, 1, &mut cube_counts, &mut cube_waits);
        for (m, counts) in months {
            let e = area_months.entry((fact.area_id.clone(), m)).or_default();
            e.booked += counts.booked;
            e.delivered += counts.delivered;
            e.missed += counts.missed;
        }
        facts.push(fact);
    }
    area_months.retain(|_, v| *v != MonthCounts::default());
    let stored_facts: Vec<Fact> = report_facts::table
        .order(report_facts::referral_id.asc())
        .select(Fact::as_select())
        .load(c)?;
    let stored_months: BTreeMap<(String, NaiveDate), MonthCounts> = report_area_months::table
        .select((
            report_area_months::area_id,
            report_area_months::month,
            report_area_months::booked,
            report_area_months::delivered,
            report_area_months::missed,
        ))
        .load::<(String, NaiveDate, i32, i32, i32)>(c)?
        .into_iter()
        .map(|(a, m, b, d, x)| {
            (
                (a, m),
                MonthCounts {
                    booked: b,
                    delivered: d,
                    missed: x,
                },
            )
        })
        .filter(|(_, v)| *v != MonthCounts::default())
        .collect();
    cube_counts.retain(|_, n| *n != 0);
    cube_waits.retain(|_, n| *n != 0);
    let stored_cube = cube::stored(c)?;
    Ok(Recount {
        facts_equal: facts == stored_facts,
        months_equal: area_months == stored_months,
        aggregates_equal: (cube_counts, cube_waits) == stored_cube,
        quality_equal: crate::quality::upkeep::recount(c)?,
        capacity_equal: crate::sessions::capacity::upkeep::recount(c)?,
        referrals: facts.len(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recount {
    pub facts_equal: bool,
    pub months_equal: bool,
    /// The report's aggregates ([`cube`](super::cube)) equal the sum of the recounted facts.
    pub aggregates_equal: bool,
    /// The data-quality figures ([`crate::quality::upkeep`]) equal the same worked out
    /// afresh.
    pub quality_equal: bool,
    /// The capacity page's weekly counts and waiting list
    /// ([`crate::sessions::capacity::upkeep`]) equal the same worked out afresh.
    pub capacity_equal: bool,
    pub referrals: usize,
}
