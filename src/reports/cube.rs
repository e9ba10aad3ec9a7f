//! The uptake report's aggregates (`report_cube`, `report_cube_waits`): for each area and
//! cohort month, every count the report adds up and exact histograms of the waits. A
//! referral's share is exactly what [`tally::tally_fact`] counts for its facts, so the
//! aggregates are by construction the sum of the facts; [`replace`] moves them by the
//! difference between a referral's old and new facts in the same transaction as
//! [`upkeep::refresh`](super::upkeep::refresh), and [`rebuild`] computes them afresh.
//! Counts are read for whole months; the report reads the days of a partly covered month
//! from the facts.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use crate::db::DbConn;
use crate::db::bulk::{day, insert_rows, q};
use crate::db::schema::{report_cube, report_cube_waits, report_facts};
use crate::error::AppError;
use crate::reports::catalogue::Count;
use crate::reports::facts::{Fact, first_of_month};
use crate::reports::tally::{self, Tally};

/// Sessions attended by those who started (the mean's numerator).
pub const ATTENDED: &str = "_attended";
/// Sessions missed.
pub const MISSED: &str = "_missed";
/// Orders made and waiting for a first session now (not a cohort count: summed over every
/// month).
pub const WAITING: &str = "_waiting";

pub type Counts = BTreeMap<(String, NaiveDate, String), i64>;
pub type Waits = BTreeMap<(String, NaiveDate, i32, i32), i64>;

/// Whether a referral is on the waiting list now.
pub fn waiting(f: &Fact) -> bool {
    f.order_made && f.first_session_on.is_none() && f.ended_on.is_none() && !f.withdrawn
}

/// Adds `sign` times a fact's share to the maps.
pub fn accumulate(f: &Fact, sign: i64, counts: &mut Counts, waits: &mut Waits) {
    let t = tally::tally_fact(f);
    let month = first_of_month(f.referred_on);
    let mut add = |k: &str, n: i64| {
        if n != 0 {
            *counts
                .entry((f.area_id.clone(), month, k.to_owned()))
                .or_default() += sign * n;
        }
    };
    for (k, n) in &t.counts {
        add(k.as_str(), *n);
    }
    add(ATTENDED, t.attended);
    add(MISSED, t.missed);
    add(WAITING, i64::from(waiting(f)));
    for (kind, w) in t.waits.iter().enumerate() {
        for (d, n) in w.iter() {
            *waits
                .entry((f.area_id.clone(), month, kind as i32, d as i32))
                .or_default() += sign * n;
        }
    }
}

/// Writes the differences in the maps, adding to the rows already there.
pub fn apply(c: &mut DbConn, counts: &Counts, waits: &Waits) -> Result<(), AppError> {
    let rows: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|((a, m, k), n)| format!("({},{},{},{n})", q(a), day(*m), q(k)))
        .collect();
    insert_rows(
        c,
        "INSERT INTO report_cube (area_id, month, indicator, n)",
        &rows,
        "ON CONFLICT (area_id, month, indicator) DO UPDATE SET n = report_cube.n + excluded.n",
    )?;
    let rows: Vec<String> = waits
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|((a, m, k, d), n)| format!("({},{},{k},{d},{n})", q(a), day(*m)))
        .collect();
    insert_rows(
        c,
        "INSERT INTO report_cube_waits (area_id, month, kind, days, n)",
        &rows,
        "ON CONFLICT (area_id, month, kind, days) DO UPDATE SET n = report_cube_waits.n + excluded.n",
    )?;
    Ok(())
}

/// Adds new referrals' facts (the synthetic data generator).
pub fn add_facts(c: &mut DbConn, facts: &[Fact]) -> Result<(), AppError> {
    let (mut counts, mut waits) = (Counts::new(), Waits::new());
    for f in facts {
        accumulate(f, 1, &mut counts, &mut waits);
    }
    apply(c, &counts, &waits)
}

/// Moves the aggregates from a referral's old facts (none when new) to its new ones.
pub fn replace(c: &mut DbConn, old: Option<&Fact>, new: &Fact) -> Result<(), AppError> {
    if old == Some(new) {
        return Ok(());
    }
    let (mut counts, mut waits) = (Counts::new(), Waits::new());
    if let Some(old) = old {
        accumulate(old, -1, &mut counts, &mut waits);
    }
    accumulate(new, 1, &mut counts, &mut waits);
    apply(c, &counts, &waits)
}

/// The aggregates computed from every stored fact, read a page at a time.
pub fn from_facts(c: &mut DbConn) -> Result<(Counts, Waits), AppError> {
    let (mut counts, mut waits) = (Counts::new(), Waits::new());
    let mut after = String::new();
    loop {
        let page: Vec<Fact> = report_facts::table
            .filter(report_facts::referral_id.gt(&after))
            .order(report_facts::referral_id.asc())
            .limit(20_000)
            .select(Fact::as_select())
            .load(c)?;
        let Some(last) = page.last() else { break };
        after = last.referral_id.clone();
        for f in &page {
            accumulate(f, 1, &mut counts, &mut waits);
        }
    }
    counts.retain(|_, n| *n != 0);
    waits.retain(|_, n| *n != 0);
    Ok((counts, waits))
}

/// The stored aggregates, without zero rows.
pub fn stored(c: &mut DbConn) -> Result<(Counts, Waits), AppError> {
    let counts = report_cube::table
        .select((
            report_cube::area_id,
            report_cube::month,
            report_cube::indicator,
            report_cube::n,
        ))
        .load::<(String, NaiveDate, String, i64)>(c)?
        .into_iter()
        .filter(|r| r.3 != 0)
        .map(|(a, m, k, n)| ((a, m, k), n))
        .collect();
    let waits = report_cube_waits::table
        .select((
            report_cube_waits::area_id,
            report_cube_waits::month,
            report_cube_waits::kind,
            report_cube_waits::days,
            report_cube_waits::n,
        ))
        .load::<(String, NaiveDate, i32, i32, i64)>(c)?
        .into_iter()
        .filter(|r| r.4 != 0)
        .map(|(a, m, k, d, n)| ((a, m, k, d), n))
        .collect();
    Ok((counts, waits))
}

/// Computes the aggregates afresh from the facts (after a migration that added them).
pub fn rebuild(c: &mut DbConn) -> Result<(), AppError> {
    diesel::delete(report_cube::table).execute(c)?;
    diesel::delete(report_cube_waits::table).execute(c)?;
    let (counts, waits) = from_facts(c)?;
    apply(c, &counts, &waits)
}

/// Whether the aggregates hold nothing at all.
pub fn is_empty(c: &mut DbConn) -> Result<bool, AppError> {
    let n: i64 = report_cube::table.count().get_result(c)?;
    Ok(n == 0)
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Text)]
    area_id: String,
    #[diesel(sql_type = Text)]
    indicator: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct WaitRow {
    #[diesel(sql_type = Text)]
    area_id: String,
    #[diesel(sql_type = Integer)]
    kind: i32,
    #[diesel(sql_type = Integer)]
    days: i32,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn load<T>(c: &mut DbConn, sql: &str) -> Result<Vec<T>, AppError>
where
    T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
{
    Ok(match c {
        DbConn::Sqlite(s) => diesel::sql_query(sql).load(s)?,
        DbConn::Pg(p) => diesel::sql_query(sql).load(p)?,
    })
}

fn in_list(areas: &[String]) -> String {
    areas.iter().map(|a| q(a)).collect::<Vec<_>>().join(",")
}

/// Adds the aggregates of the cohort months `first..=last` to the tallies: one per area in
/// the order given, then the total.
pub fn add_months(
    c: &mut DbConn,
    areas: &[String],
    first: NaiveDate,
    last: NaiveDate,
    out: &mut [Tally],
) -> Result<(), AppError> {
    if areas.is_empty() {
        return Ok(());
    }
    let index: BTreeMap<&str, usize> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    let total = areas.len();
    let list = in_list(areas);
    let counts: Vec<CountRow> = load(
        c,
        &format!(
            "SELECT area_id, indicator, CAST(SUM(n) AS BIGINT) AS n FROM report_cube \
             WHERE area_id IN ({list}) AND month BETWEEN {} AND {} AND indicator <> {} \
             GROUP BY area_id, indicator",
            day(first),
            day(last),
            q(WAITING)
        ),
    )?;
    for r in counts {
        let Some(&i) = index.get(r.area_id.as_str()) else {
            continue;
        };
        for col in [i, total] {
            let t = &mut out[col];
            match r.indicator.as_str() {
                ATTENDED => t.attended += r.n,
                MISSED => t.missed += r.n,
                k => match k.parse::<Count>() {
                    Ok(key) => t.add(key, r.n),
                    // Written by an earlier version whose catalogue had this count: it
                    // is no row of today's report.
                    Err(e) => log::warn!("report cube: {e}"),
                },
            }
        }
    }
    let waits: Vec<WaitRow> = load(
        c,
        &format!(
            "SELECT area_id, kind, days, CAST(SUM(n) AS BIGINT) AS n FROM report_cube_waits \
             WHERE area_id IN ({list}) AND month BETWEEN {} AND {} \
             GROUP BY area_id, kind, days",
            day(first),
            day(last)
        ),
    )?;
    for r in waits {
        let (Some(&i), Ok(kind)) = (index.get(r.area_id.as_str()), usize::try_from(r.kind)) else {
            continue;
        };
        for col in [i, total] {
            if let Some(w) = out[col].waits.get_mut(kind) {
                w.add(i64::from(r.days), r.n);
            }
        }
    }
    Ok(())
}

/// Orders made and waiting for a first session now, per area.
pub fn waiting_now(c: &mut DbConn, areas: &[String]) -> Result<BTreeMap<String, i64>, AppError> {
    if areas.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<CountRow> = load(
        c,
        &format!(
            "SELECT area_id, indicator, CAST(SUM(n) AS BIGINT) AS n FROM report_cube \
             WHERE indicator = {} AND area_id IN ({}) GROUP BY area_id, indicator",
            q(WAITING),
            in_list(areas)
        ),
    )?;
    Ok(rows.into_iter().map(|r| (r.area_id, r.n)).collect())
}
