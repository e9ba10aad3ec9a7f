//! The uptake and capacity report: for a period and a set of areas, the pathway funnel, its
//! rates, waits, sessions against capacity and equality monitoring, each area side by side
//! with the total, read from the reporting facts only. For councillors every count table
//! goes through disclosure control before anything is shown or exported.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::db::schema::{
    practitioner_capacity, report_area_months, report_facts, user_areas, users,
};
use crate::error::AppError;
use crate::referrals::codes::{CombinedWith, EntryPoint, EthnicGroup, Sex};
use crate::reports::facts::{AgeBand, Fact};
use crate::reports::periods::Period;
use crate::reports::suppression::{Cell, Table};
use crate::reports::trend::{self, Polarity};
use crate::sessions::measures::{Instrument, reliably_improved};
use crate::users::model::Role;

/// Sessions a week a practitioner is taken to offer when no capacity is recorded.
const DEFAULT_WEEKLY_CAPACITY: i64 = 15;

/// The counts of one area (or the total) for the period's cohort: referrals made in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: BTreeMap<&'static str, i64>,
    /// Referral to assessment, assessment to sentence, sentence to first session.
    pub waits: [Waits; 3],
    pub attended: i64,
    pub missed: i64,
}

impl Tally {
    /// Adds to a count; a count that is zero is not kept, so equal tallies compare equal
    /// however they were made.
    pub fn add(&mut self, key: &'static str, n: i64) {
        if n == 0 {
            return;
        }
        let e = self.counts.entry(key).or_default();
        *e += n;
        if *e == 0 {
            self.counts.remove(key);
        }
    }

    pub fn get(&self, key: &str) -> i64 {
        self.counts.get(key).copied().unwrap_or(0)
    }
}

/// Waits in days, as an exact histogram: how many waited each number of days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waits {
    days: BTreeMap<i64, i64>,
    n: i64,
}

impl Waits {
    pub fn push(&mut self, days: i64) {
        self.add(days, 1);
    }

    /// Adds `n` waits of `days` days.
    pub fn add(&mut self, days: i64, n: i64) {
        if n == 0 {
            return;
        }
        let e = self.days.entry(days).or_default();
        *e += n;
        if *e == 0 {
            self.days.remove(&days);
        }
        self.n += n;
    }

    /// How many waits.
    pub fn len(&self) -> usize {
        usize::try_from(self.n).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.n <= 0
    }

    /// (days, how many), shortest first.
    pub fn iter(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.days.iter().map(|(d, n)| (*d, *n))
    }
}

impl From<Vec<i64>> for Waits {
    fn from(days: Vec<i64>) -> Waits {
        let mut w = Waits::default();
        for d in days {
            w.push(d);
        }
        w
    }
}

/// The one `&'static str` for an indicator key read back from the aggregates. Keys come
/// only from [`tally_fact`], so the set stays small.
pub fn intern(key: &str) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::{LazyLock, Mutex};
    static KEYS: LazyLock<Mutex<BTreeSet<&'static str>>> =
        LazyLock::new(|| Mutex::new(BTreeSet::new()));
    let mut keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = keys.get(key) {
        return k;
    }
    let k: &'static str = Box::leak(key.to_owned().into_boxed_str());
    keys.insert(k);
    k
}

/// One indicator: what it is, how to read a change, and which counts it is built from.
struct Indicator {
    key: &'static str,
    label: &'static str,
    polarity: Polarity,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Count,
    /// numerator / denominator, as a percentage.
    Rate(&'static str, &'static str),
}

macro_rules! count {
    ($key:literal, $label:literal, $pol:ident) => {
        Indicator {
            key: $key,
            label: $label,
            polarity: Polarity::$pol,
            kind: Kind::Count,
        }
    };
}

macro_rules! rate {
    ($key:literal, $label:literal, $pol:ident, $num:literal, $den:literal) => {
        Indicator {
            key: $key,
            label: $label,
            polarity: Polarity::$pol,
            kind: Kind::Rate($num, $den),
        }
    };
}

/// The funnel, in pathway order.
const FUNNEL: &[Indicator] = &[
    count!("referred", "Referrals made", HigherIsBetter),
    count!("referred_arrest", "  at the point of arrest", Neutral),
    count!("referred_probation", "  at the pre-sentence stage", Neutral),
    count!("screened", "Screened", HigherIsBetter),
    count!("accepted", "Accepted at screening", HigherIsBetter),
    count!("assessed", "Assessed", HigherIsBetter),
    count!("suitable", "Found suitable", HigherIsBetter),
    count!("consented", "Consented", HigherIsBetter),
    count!("order_made", "MHTR made", HigherIsBetter),
    count!("order_alone", "  MHTR alone", Neutral),
    count!("order_drr", "  with a DRR", Neutral),
    count!("order_atr", "  with an ATR", Neutral),
    count!("order_both", "  with a DRR and an ATR", Neutral),
    count!(
        "started",
        "Started treatment (first session attended)",
        HigherIsBetter
    ),
    count!("completed", "Completed 12 sessions", HigherIsBetter),
    count!("ended_early", "Ended early", LowerIsBetter),
    count!(
        "sentenced_not_started",
        "Sentenced but not started",
        LowerIsBetter
    ),
];

const RATES: &[Indicator] = &[
    rate!(
        "rate_screened",
        "Referrals screened",
        HigherIsBetter,
        "screened",
        "referred"
    ),
    rate!(
        "rate_accepted",
        "Screened referrals accepted",
        Neutral,
        "accepted",
        "screened"
    ),
    rate!(
        "rate_suitable",
        "Assessed and found suitable",
        Neutral,
        "suitable",
        "assessed"
    ),
    rate!(
        "rate_order",
        "Consented who got an MHTR",
        HigherIsBetter,
        "order_made",
        "consented"
    ),
    rate!(
        "rate_started",
        "MHTRs that started treatment",
        HigherIsBetter,
        "started",
        "order_made"
    ),
    rate!(
        "rate_completed",
        "Completion rate (of those who started)",
        HigherIsBetter,
        "completed",
        "started"
    ),
    rate!(
        "rate_dna",
        "Did-not-attend rate (of sessions held or missed)",
        LowerIsBetter,
        "missed",
        "offered"
    ),
    rate!(
        "rate_paired",
        "Completers with paired PHQ-9 measures",
        HigherIsBetter,
        "phq9_pairs_completers",
        "completed"
    ),
    rate!(
        "rate_phq9",
        "Reliable improvement on PHQ-9 (of pairs)",
        HigherIsBetter,
        "phq9_improved",
        "phq9_pairs"
    ),
    rate!(
        "rate_gad7",
        "Reliable improvement on GAD-7 (of pairs)",
        HigherIsBetter,
        "gad7_improved",
        "gad7_pairs"
    ),
    rate!(
        "rate_core10",
        "Reliable improvement on CORE-10 (of pairs)",
        HigherIsBetter,
        "core10_improved",
        "core10_pairs"
    ),
];

/// Counts that only feed rates (not shown as rows of their own).
const HIDDEN_COUNTS: &[&str] = &[
    "missed",
    "offered",
    "phq9_pairs_completers",
    "phq9_pairs",
    "phq9_improved",
    "gad7_pairs",
    "gad7_improved",
    "core10_pairs",
    "core10_improved",
];

fn pair(first: Option<i32>, last: Option<i32>) -> Option<(u32, u32)> {
    match (first, last) {
        (Some(a), Some(b)) => Some((a.max(0) as u32, b.max(0) as u32)),
        _ => None,
    }
}

/// One referral's share of the counts: what the aggregates add up.
pub fn tally_fact(f: &Fact) -> Tally {
    let mut t = Tally::default();
    tally(&mut t, f);
    t
}

fn tally(t: &mut Tally, f: &Fact) {
    t.add("referred", 1);
    t.add(
        match f.entry_point {
            EntryPoint::Arrest => "referred_arrest",
            EntryPoint::Probation => "referred_probation",
        },
        1,
    );
    if f.screened_on.is_some() {
        t.add("screened", 1);
    }
    if f.accepted {
        t.add("accepted", 1);
    }
    if f.assessed_on.is_some() {
        t.add("assessed", 1);
    }
    if f.suitable {
        t.add("suitable", 1);
    }
    if f.consented_on.is_some() {
        t.add("consented", 1);
    }
    if f.order_made {
        t.add("order_made", 1);
        t.add(
            match f.combined_with {
                Some(CombinedWith::Drr) => "order_drr",
                Some(CombinedWith::Atr) => "order_atr",
                Some(CombinedWith::DrrAndAtr) => "order_both",
                _ => "order_alone",
            },
            1,
        );
        if f.first_session_on.is_none() {
            t.add("sentenced_not_started", 1);
        }
    }
    if f.first_session_on.is_some() {
        t.add("started", 1);
        t.attended += i64::from(f.sessions_attended);
    }
    match f.end_outcome.as_deref() {
        Some("completed") => {
            t.add("completed", 1);
            if pair(f.phq9_first, f.phq9_last).is_some() {
                t.add("phq9_pairs_completers", 1);
            }
        }
        Some(_) => t.add("ended_early", 1),
        None => {}
    }
    t.missed += i64::from(f.sessions_missed);
    t.add("missed", i64::from(f.sessions_missed));
    t.add(
        "offered",
        i64::from(f.sessions_missed + f.sessions_attended),
    );
    for (instrument, pairs, improved, p) in [
        (
            Instrument::Phq9,
            "phq9_pairs",
            "phq9_improved",
            pair(f.phq9_first, f.phq9_last),
        ),
        (
            Instrument::Gad7,
            "gad7_pairs",
            "gad7_improved",
            pair(f.gad7_first, f.gad7_last),
        ),
        (
            Instrument::Core10,
            "core10_pairs",
            "core10_improved",
            pair(f.core10_first, f.core10_last),
        ),
    ] {
        if let Some((a, b)) = p {
            t.add(pairs, 1);
            if reliably_improved(instrument, a, b) {
                t.add(improved, 1);
            }
        }
    }
    if let (Some(a), Some(b)) = (f.assessed_on, Some(f.referred_on)) {
        t.waits[0].push((a - b).num_days());
    }
    if let (Some(s), Some(a)) = (f.sentenced_on, f.assessed_on) {
        t.waits[1].push((s - a).num_days());
    }
    if let (Some(first), Some(s)) = (f.first_session_on, f.sentenced_on) {
        t.waits[2].push((first - s).num_days());
    }
    t.add(
        match f.sex {
            Sex::Female => "sex_female",
            Sex::Male => "sex_male",
        },
        1,
    );
    let group = f
        .ethnic_group
        .as_deref()
        .and_then(|g| g.parse::<EthnicGroup>().ok());
    t.add(
        match group {
            Some(EthnicGroup::Asian) => "eth_asian",
            Some(EthnicGroup::Black) => "eth_black",
            Some(EthnicGroup::Mixed) => "eth_mixed",
            Some(EthnicGroup::White) => "eth_white",
            Some(EthnicGroup::Other) => "eth_other",
            None => "eth_not_stated",
        },
        1,
    );
    t.add(
        match f.age_band {
            AgeBand::From18To24 => "age_18_24",
            AgeBand::From25To34 => "age_25_34",
            AgeBand::From35To44 => "age_35_44",
            AgeBand::From45To54 => "age_45_54",
            AgeBand::From55To64 => "age_55_64",
            AgeBand::From65 => "age_65",
        },
        1,
    );
}

const EQUALITY: &[(&str, &[(&str, &str)])] = &[
    ("Sex", &[("sex_female", "Female"), ("sex_male", "Male")]),
    (
        "Broad ethnic group",
        &[
            ("eth_asian", "Asian or Asian British"),
            ("eth_black", "Black, Black British, Caribbean or African"),
            ("eth_mixed", "Mixed or multiple ethnic groups"),
            ("eth_white", "White"),
            ("eth_other", "Other ethnic group"),
            ("eth_not_stated", "Not stated"),
        ],
    ),
    (
        "Age at referral",
        &[
            ("age_18_24", "18 to 24"),
            ("age_25_34", "25 to 34"),
            ("age_35_44", "35 to 44"),
            ("age_45_54", "45 to 54"),
            ("age_55_64", "55 to 64"),
            ("age_65", "65 and over"),
        ],
    ),
];

/// The median and 90th percentile (nearest rank) of some waits, in days.
pub fn percentiles(days: impl Into<Waits>) -> Option<(i64, i64)> {
    let w: Waits = days.into();
    if w.n <= 0 {
        return None;
    }
    let rank = |p: f64| {
        let r = ((p * w.n as f64).ceil() as i64).clamp(1, w.n);
        let mut seen = 0;
        for (d, n) in w.iter() {
            seen += n;
            if seen >= r {
                return d;
            }
        }
        w.days.keys().next_back().copied().unwrap_or(0)
    };
    Some((rank(0.5), rank(0.9)))
}

// ------------------------------------------------------------------ output

/// A figure as shown: the text, and whether it was withheld.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figure {
    pub text: String,
    /// The number, unless withheld (or not applicable).
    pub value: Option<f64>,
    pub suppressed: bool,
}

impl Figure {
    fn count(cell: Cell) -> Figure {
        match cell {
            Cell::Shown(n) => Figure {
                text: n.to_string(),
                value: Some(n as f64),
                suppressed: false,
            },
            Cell::Suppressed => Figure::withheld(),
        }
    }

    fn withheld() -> Figure {
        Figure {
            text: "[c]".into(),
            value: None,
            suppressed: true,
        }
    }

    fn none() -> Figure {
        Figure {
            text: "–".into(),
            value: None,
            suppressed: false,
        }
    }

    fn number(v: f64, text: String) -> Figure {
        Figure {
            text,
            value: Some(v),
            suppressed: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Row {
    pub key: String,
    pub label: String,
    /// One per area, then the total.
    pub figures: Vec<Figure>,
    /// The total against the previous period: direction, judgement, words.
    #[schema(value_type = Option<Object>)]
    pub trend: Option<trend::Trend>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Section {
    pub key: String,
    pub title: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub period: String,
    pub period_label: String,
    pub previous_label: String,
    /// Column headings: the areas, then "Total".
    pub columns: Vec<String>,
    /// The areas' ids, in column order.
    pub area_ids: Vec<String>,
    pub suppressed: bool,
    pub threshold: i64,
    pub sections: Vec<Section>,
}

// ------------------------------------------------------------------ computing

fn load_facts(
    c: &mut DbConn,
    areas: &[String],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<Fact>, AppError> {
    Ok(report_facts::table
        .filter(report_facts::area_id.eq_any(areas))
        .filter(report_facts::referred_on.between(start, end))
        .select(Fact::as_select())
        .load(c)?)
}

fn tallies(facts: &[Fact], areas: &[String]) -> Vec<Tally> {
    let mut out = vec![Tally::default(); areas.len() + 1];
    add_tallies(&mut out, facts, areas);
    out
}

fn add_tallies(out: &mut [Tally], facts: &[Fact], areas: &[String]) {
    let index: BTreeMap<&str, usize> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    for f in facts {
        if let Some(&i) = index.get(f.area_id.as_str()) {
            tally(&mut out[i], f);
            let last = out.len() - 1;
            tally(&mut out[last], f);
        }
    }
}

fn last_of_month(m: NaiveDate) -> NaiveDate {
    let next = if m.month() == 12 {
        NaiveDate::from_ymd_opt(m.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(m.year(), m.month() + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).unwrap_or(m)
}

/// The counts of the period's cohort (referrals made in it): one tally per area in the
/// order given, then the total. Calendar months wholly inside the period are read from the
/// aggregates ([`cube`](super::cube)); the days of a month the period covers only in part
/// are counted from the facts. Equal to [`recount_tallies`] always.
pub fn period_tallies(
    c: &mut DbConn,
    areas: &[String],
    period: &Period,
) -> Result<Vec<Tally>, AppError> {
    let mut out = vec![Tally::default(); areas.len() + 1];
    if areas.is_empty() || period.end < period.start {
        return Ok(out);
    }
    let mut whole: Option<(NaiveDate, NaiveDate)> = None;
    let mut partial: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    let mut m = crate::reports::facts::first_of_month(period.start);
    while m <= period.end {
        let last = last_of_month(m);
        if m >= period.start && last <= period.end {
            whole = Some((whole.map_or(m, |w| w.0), m));
        } else {
            partial.push((m.max(period.start), last.min(period.end)));
        }
        match last.succ_opt() {
            Some(next) => m = next,
            None => break,
        }
    }
    if let Some((first, last)) = whole {
        crate::reports::cube::add_months(c, areas, first, last, &mut out)?;
    }
    for (start, end) in partial {
        let facts = load_facts(c, areas, start, end)?;
        add_tallies(&mut out, &facts, areas);
    }
    Ok(out)
}

/// The same counts as [`period_tallies`], counted from every fact of the period: the
/// direct recount the fast path must always equal.
pub fn recount_tallies(
    c: &mut DbConn,
    areas: &[String],
    period: &Period,
) -> Result<Vec<Tally>, AppError> {
    Ok(tallies(
        &load_facts(c, areas, period.start, period.end)?,
        areas,
    ))
}

/// Months whose first day falls in the period: the calendar months the session counts are
/// kept by.
fn months_of(period: &Period) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = NaiveDate::from_ymd_opt(period.start.year(), period.start.month(), 1);
    while let Some(d) = m {
        if d > period.end {
            break;
        }
        if d >= period.start {
            out.push(d);
        }
        m = if d.month() == 12 {
            NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
        };
    }
    out
}

/// Sessions booked, delivered and missed per area in the period, and the weekly capacity
/// of the practitioners working there (shared equally between their areas).
pub fn capacity(
    c: &mut DbConn,
    areas: &[String],
    period: &Period,
) -> Result<Vec<[i64; 5]>, AppError> {
    let months = months_of(period);
    let rows: Vec<(String, i32, i32, i32)> = report_area_months::table
        .filter(report_area_months::area_id.eq_any(areas))
        .filter(report_area_months::month.eq_any(&months))
        .select((
            report_area_months::area_id,
            report_area_months::booked,
            report_area_months::delivered,
            report_area_months::missed,
        ))
        .load(c)?;
    let practitioners: Vec<(String, Option<i32>)> = users::table
        .left_join(practitioner_capacity::table)
        .filter(users::role.eq(Role::AssistantPsychologist))
        .filter(users::disabled_at.is_null())
        .select((
            users::id,
            practitioner_capacity::sessions_per_week.nullable(),
        ))
        .load(c)?;
    let memberships: Vec<(String, String)> = user_areas::table
        .select((user_areas::user_id, user_areas::area_id))
        .load(c)?;
    let mut out = vec![[0i64; 5]; areas.len() + 1];
    let index: BTreeMap<&str, usize> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    let last = areas.len();
    for (area, booked, delivered, missed) in rows {
        if let Some(&i) = index.get(area.as_str()) {
            for j in [i, last] {
                out[j][0] += i64::from(booked);
                out[j][1] += i64::from(delivered);
                out[j][2] += i64::from(missed);
            }
        }
    }
    let weeks = months.len() as f64 * 52.0 / 12.0;
    let mut theirs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (u, a) in &memberships {
        theirs.entry(u.as_str()).or_default().push(a.as_str());
    }
    for (user, per_week) in &practitioners {
        let Some(theirs) = theirs.get(user.as_str()) else {
            continue;
        };
        let weekly = per_week.map(i64::from).unwrap_or(DEFAULT_WEEKLY_CAPACITY);
        let share = weekly as f64 * weeks / theirs.len() as f64;
        for a in theirs {
            if let Some(&i) = index.get(a) {
                out[i][3] += share.round() as i64;
                out[last][3] += share.round() as i64;
            }
        }
    }
    // Waiting now: orders made, no first session, not ended or withdrawn.
    for (a, n) in crate::reports::cube::waiting_now(c, areas)? {
        if let Some(&i) = index.get(a.as_str()) {
            out[i][4] += n;
            out[last][4] += n;
        }
    }
    Ok(out)
}

/// Builds the report. `suppress` applies disclosure control (councillors); `threshold` is
/// the smallest count shown.
pub fn build(
    c: &mut DbConn,
    areas: &[(String, String)],
    period: &Period,
    suppress: bool,
    threshold: i64,
) -> Result<Report, AppError> {
    let ids: Vec<String> = areas.iter().map(|(id, _)| id.clone()).collect();
    let now = period_tallies(c, &ids, period)?;
    let previous_period = period.previous();
    let before = period_tallies(c, &ids, &previous_period)?;
    let cap = capacity(c, &ids, period)?;
    let cap_before = capacity(c, &ids, &previous_period)?;
    let n = ids.len() + 1;

    // Every count that is shown, or that a rate is built on, in one table so one
    // suppression pass covers the rows' totals and the breakdowns' sums.
    let mut keys: Vec<&'static str> = FUNNEL.iter().map(|i| i.key).collect();
    keys.extend(HIDDEN_COUNTS);
    for (_, cats) in EQUALITY {
        keys.extend(cats.iter().map(|(k, _)| *k));
    }
    let cells = |tallies: &[Tally]| -> BTreeMap<&'static str, Vec<Cell>> {
        let mut values = Vec::with_capacity(keys.len() * n);
        for k in &keys {
            values.extend(tallies.iter().map(|t| t.get(k)));
        }
        let mut table = Table::new(values.clone());
        let at = |k: &str, col: usize| keys.iter().position(|x| *x == k).unwrap_or(0) * n + col;
        for (r, _) in keys.iter().enumerate() {
            table.sum(r * n + n - 1, (0..n - 1).map(|col| r * n + col).collect());
        }
        for col in 0..n {
            table.sum(
                at("referred", col),
                vec![at("referred_arrest", col), at("referred_probation", col)],
            );
            table.sum(
                at("order_made", col),
                ["order_alone", "order_drr", "order_atr", "order_both"]
                    .iter()
                    .map(|k| at(k, col))
                    .collect(),
            );
            for (_, cats) in EQUALITY {
                table.sum(
                    at("referred", col),
                    cats.iter().map(|(k, _)| at(k, col)).collect(),
                );
            }
        }
        let shown: Vec<Cell> = if suppress {
            table.suppress(threshold)
        } else {
            values.iter().map(|v| Cell::Shown(*v)).collect()
        };
        keys.iter()
            .enumerate()
            .map(|(r, k)| (*k, shown[r * n..(r + 1) * n].to_vec()))
            .collect()
    };
    let cur = cells(&now);
    let prev = cells(&before);

    let count_trend = |key: &str, pol: Polarity| {
        let v = |m: &BTreeMap<&'static str, Vec<Cell>>| match m.get(key).and_then(|r| r.last()) {
            Some(Cell::Shown(x)) => Some(*x as f64),
            _ => None,
        };
        trend::trend(v(&cur), v(&prev), pol, |x| format!("{x:.0}"))
    };
    let funnel = FUNNEL
        .iter()
        .map(|i| Row {
            key: i.key.into(),
            label: i.label.trim().into(),
            figures: cur[i.key].iter().map(|c| Figure::count(*c)).collect(),
            trend: count_trend(i.key, i.polarity),
        })
        .collect();
    let pct = |cells: &BTreeMap<&'static str, Vec<Cell>>, num: &str, den: &str, col: usize| {
        crate::reports::suppression::rate(cells[num][col], cells[den][col]).map(|r| r * 100.0)
    };
    let rates = RATES
        .iter()
        .map(|i| {
            let Kind::Rate(num, den) = i.kind else {
                unreachable!("rates are rates")
            };
            let figures = (0..n)
                .map(
                    |col| match (pct(&cur, num, den, col), cur[num][col], cur[den][col]) {
                        (Some(v), _, _) => Figure::number(v, format!("{v:.1}%")),
                        (None, Cell::Suppressed, _) | (None, _, Cell::Suppressed) => {
                            Figure::withheld()
                        }
                        _ => Figure::none(),
                    },
                )
                .collect();
            Row {
                key: i.key.into(),
                label: i.label.into(),
                figures,
                trend: trend::trend(
                    pct(&cur, num, den, n - 1),
                    pct(&prev, num, den, n - 1),
                    i.polarity,
                    |x| format!("{x:.1}%"),
                ),
            }
        })
        .collect();
    // Means and waits are built on counts: withheld where the count behind them is.
    let mean_row = {
        let figures = (0..n)
            .map(|col| match cur["started"][col] {
                Cell::Suppressed => Figure::withheld(),
                Cell::Shown(0) => Figure::none(),
                Cell::Shown(s) => {
                    let v = now[col].attended as f64 / s as f64;
                    Figure::number(v, format!("{v:.1}"))
                }
            })
            .collect();
        Row {
            key: "mean_sessions".into(),
            label: "Mean sessions attended (of those who started)".into(),
            figures,
            trend: None,
        }
    };
    let wait_labels = [
        ("wait_assessment", "Referral to assessment"),
        ("wait_sentence", "Assessment to sentence"),
        ("wait_first_session", "Sentence to first session"),
    ];
    let mut waits = Vec::new();
    for (w, (key, label)) in wait_labels.iter().enumerate() {
        let figures = |p90: bool| -> Vec<Figure> {
            (0..n)
                .map(|col| {
                    let count = now[col].waits[w].len() as i64;
                    if suppress && count > 0 && count < threshold {
                        return Figure::withheld();
                    }
                    match percentiles(now[col].waits[w].clone()) {
                        Some((median, p)) => {
                            let v = if p90 { p } else { median };
                            Figure::number(v as f64, format!("{v} days"))
                        }
                        None => Figure::none(),
                    }
                })
                .collect()
        };
        waits.push(Row {
            key: format!("{key}_median"),
            label: format!("{label}: median"),
            figures: figures(false),
            trend: None,
        });
        waits.push(Row {
            key: format!("{key}_p90"),
            label: format!("{label}: 90th percentile"),
            figures: figures(true),
            trend: None,
        });
    }
    let capacity_rows = {
        let figure = |v: i64| Figure::number(v as f64, v.to_string());
        let mut rows = vec![
            Row {
                key: "sessions_capacity".into(),
                label: "Session capacity (practitioners' weekly capacity over the period)".into(),
                figures: cap.iter().map(|c| figure(c[3])).collect(),
                trend: None,
            },
            Row {
                key: "sessions_booked".into(),
                label: "Sessions booked".into(),
                figures: cap.iter().map(|c| figure(c[0])).collect(),
                trend: trend::trend(
                    Some(cap[n - 1][0] as f64),
                    Some(cap_before[n - 1][0] as f64),
                    Polarity::Neutral,
                    |x| format!("{x:.0}"),
                ),
            },
            Row {
                key: "sessions_delivered".into(),
                label: "Sessions delivered".into(),
                figures: cap.iter().map(|c| figure(c[1])).collect(),
                trend: trend::trend(
                    Some(cap[n - 1][1] as f64),
                    Some(cap_before[n - 1][1] as f64),
                    Polarity::HigherIsBetter,
                    |x| format!("{x:.0}"),
                ),
            },
            Row {
                key: "utilisation".into(),
                label: "Utilisation (booked of capacity)".into(),
                figures: cap
                    .iter()
                    .map(|c| {
                        if c[3] == 0 {
                            Figure::none()
                        } else {
                            let v = c[0] as f64 * 100.0 / c[3] as f64;
                            Figure::number(v, format!("{v:.1}%"))
                        }
                    })
                    .collect(),
                trend: None,
            },
        ];
        // Waiting list counts people: disclosure control applies.
        let mut waiting = Table::new(cap.iter().map(|c| c[4]).collect());
        waiting.sum(n - 1, (0..n - 1).collect());
        let waiting_cells: Vec<Cell> = if suppress {
            waiting.suppress(threshold)
        } else {
            cap.iter().map(|c| Cell::Shown(c[4])).collect()
        };
        rows.push(Row {
            key: "waiting_list".into(),
            label: "Waiting for a first session now".into(),
            figures: waiting_cells.iter().map(|c| Figure::count(*c)).collect(),
            trend: None,
        });
        let weeks = months_of(period).len() as f64 * 52.0 / 12.0;
        rows.push(Row {
            key: "weeks_to_clear".into(),
            label: "Weeks to clear the waiting list at current spare capacity".into(),
            figures: cap
                .iter()
                .zip(&waiting_cells)
                .map(|(c, w)| match w {
                    Cell::Suppressed => Figure::withheld(),
                    Cell::Shown(0) => Figure::number(0.0, "0".into()),
                    Cell::Shown(people) => {
                        let spare_per_week = if weeks > 0.0 {
                            (c[3] - c[0]) as f64 / weeks
                        } else {
                            0.0
                        };
                        if spare_per_week <= 0.0 {
                            Figure {
                                text: "Not at current capacity".into(),
                                value: None,
                                suppressed: false,
                            }
                        } else {
                            // Each person waiting needs 12 sessions.
                            let v = (*people as f64 * 12.0 / spare_per_week).ceil();
                            Figure::number(v, format!("{v:.0}"))
                        }
                    }
                })
                .collect(),
            trend: None,
        });
        rows
    };
    let equality = EQUALITY
        .iter()
        .map(|(title, cats)| Section {
            key: format!("equality_{}", title.to_lowercase().replace(' ', "_")),
            title: format!("Referrals by {}", title.to_lowercase()),
            rows: cats
                .iter()
                .map(|(k, label)| Row {
                    key: (*k).into(),
                    label: (*label).into(),
                    figures: cur[k].iter().map(|c| Figure::count(*c)).collect(),
                    trend: None,
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let mut sections = vec![
        Section {
            key: "funnel".into(),
            title: "The pathway".into(),
            rows: funnel,
        },
        Section {
            key: "rates".into(),
            title: "Rates".into(),
            rows: {
                let mut r: Vec<Row> = rates;
                r.push(mean_row);
                r
            },
        },
        Section {
            key: "waits".into(),
            title: "Waits".into(),
            rows: waits,
        },
        Section {
            key: "capacity".into(),
            title: "Capacity and demand".into(),
            rows: capacity_rows,
        },
    ];
    sections.extend(equality);
    let mut columns: Vec<String> = areas.iter().map(|(_, name)| name.clone()).collect();
    columns.push("Total".into());
    Ok(Report {
        period: period.code(),
        period_label: period.label(),
        previous_label: previous_period.label(),
        columns,
        area_ids: ids,
        suppressed: suppress,
        threshold,
        sections,
    })
}

/// One section as CSV: a heading row, then a row per indicator.
pub fn csv(report: &Report, section: &Section) -> String {
    fn field(s: &str) -> String {
        // Quote everything and neutralise spreadsheet formulas.
        let s = if s.starts_with(['=', '+', '-', '@']) {
            format!("'{s}")
        } else {
            s.to_owned()
        };
        format!("\"{}\"", s.replace('"', "\"\""))
    }
    let mut out = String::new();
    let mut head = vec![field("Indicator")];
    head.extend(report.columns.iter().map(|c| field(c)));
    out.push_str(&head.join(","));
    out.push_str("\r\n");
    for row in &section.rows {
        let mut line = vec![field(&row.label)];
        line.extend(row.figures.iter().map(|f| field(&f.text)));
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        assert_eq!(percentiles(vec![]), None);
        assert_eq!(percentiles(vec![7]), Some((7, 7)));
        assert_eq!(percentiles((1..=10).collect::<Vec<i64>>()), Some((5, 9)));
        assert_eq!(percentiles(vec![30, 10, 20]), Some((20, 30)));
    }

    #[test]
    fn months_are_those_starting_in_the_period() {
        let fy = Period::financial_year(2026);
        let m = months_of(&fy);
        assert_eq!(m.len(), 12);
        assert_eq!(m[0], NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        assert_eq!(m[11], NaiveDate::from_ymd_opt(2027, 3, 1).unwrap());
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let report = Report {
            period: "2026-11".into(),
            period_label: "November 2026".into(),
            previous_label: "October 2026".into(),
            columns: vec!["Rutland".into(), "Total".into()],
            area_ids: vec!["a1".into()],
            suppressed: true,
            threshold: 5,
            sections: vec![],
        };
        let section = Section {
            key: "x".into(),
            title: "x".into(),
            rows: vec![Row {
                key: "k".into(),
                label: "=HYPERLINK(\"x\")".into(),
                figures: vec![Figure::withheld(), Figure::number(7.0, "7".into())],
                trend: None,
            }],
        };
        let out = csv(&report, &section);
        assert!(out.starts_with("\"Indicator\",\"Rutland\",\"Total\"\r\n"));
        assert!(
            out.contains("\"'=HYPERLINK(\"\"x\"\")\",\"[c]\",\"7\""),
            "{out}"
        );
    }
}
