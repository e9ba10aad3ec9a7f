//! What one referral adds to the uptake report ([`tally_fact`]): its share of every count
//! ([`Count`]) and of the three waits, and the sums of many ([`Tally`]). The report cube
//! stores exactly these shares, so a report read from the cube and one tallied from the
//! facts agree.

use std::collections::BTreeMap;

use crate::referrals::codes::{CombinedWith, EntryPoint, EthnicGroup, Sex};
use crate::reports::catalogue::{Count, signposted_key};
use crate::reports::facts::{AgeBand, Fact};
use crate::sessions::measures::{Instrument, reliably_improved};
use crate::sessions::outcomes;
use crate::signposting::codes::ServiceType;

/// The counts of one area (or the total) for the period's cohort: referrals made in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: BTreeMap<Count, i64>,
    /// Referral to assessment, assessment to sentence, sentence to first session.
    pub waits: [Waits; 3],
    pub attended: i64,
    pub missed: i64,
}

impl Tally {
    /// Adds to a count; a count that is zero is not kept, so equal tallies compare equal
    /// however they were made.
    pub fn add(&mut self, key: Count, n: i64) {
        if n == 0 {
            return;
        }
        let e = self.counts.entry(key).or_default();
        *e += n;
        if *e == 0 {
            self.counts.remove(&key);
        }
    }

    pub fn get(&self, key: Count) -> i64 {
        self.counts.get(&key).copied().unwrap_or(0)
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

pub fn tally(t: &mut Tally, f: &Fact) {
    t.add(Count::Referred, 1);
    t.add(
        match f.entry_point {
            EntryPoint::Arrest => Count::ReferredArrest,
            EntryPoint::Probation => Count::ReferredProbation,
        },
        1,
    );
    if f.screened_on.is_some() {
        t.add(Count::Screened, 1);
    }
    if f.accepted {
        t.add(Count::Accepted, 1);
    }
    if f.assessed_on.is_some() {
        t.add(Count::Assessed, 1);
    }
    if f.suitable {
        t.add(Count::Suitable, 1);
    }
    if f.consented_on.is_some() {
        t.add(Count::Consented, 1);
    }
    if f.order_made {
        t.add(Count::OrderMade, 1);
        t.add(
            match f.entry_point {
                EntryPoint::Arrest => Count::OrderArrest,
                EntryPoint::Probation => Count::OrderProbation,
            },
            1,
        );
        t.add(
            match f.combined_with {
                Some(CombinedWith::Drr) => Count::OrderDrr,
                Some(CombinedWith::Atr) => Count::OrderAtr,
                Some(CombinedWith::DrrAndAtr) => Count::OrderBoth,
                _ => Count::OrderAlone,
            },
            1,
        );
        if f.first_session_on.is_none() {
            t.add(Count::SentencedNotStarted, 1);
        }
    }
    if f.first_session_on.is_some() {
        t.add(Count::Started, 1);
        t.attended += i64::from(f.sessions_attended);
    }
    match f.end_outcome.as_deref() {
        Some("completed") => {
            t.add(Count::Completed, 1);
            if pair(f.phq9_first, f.phq9_last).is_some() {
                t.add(Count::Phq9PairsCompleters, 1);
            }
        }
        Some("completed_early") => t.add(Count::CompletedEarly, 1),
        Some(_) => t.add(Count::EndedEarly, 1),
        None => {}
    }
    let mut signposted = false;
    for code in f.signposted_types.split(',').filter(|c| !c.is_empty()) {
        if let Ok(kind) = code.parse::<ServiceType>() {
            signposted = true;
            t.add(signposted_key(kind), 1);
        }
    }
    if signposted {
        t.add(Count::Signposted, 1);
    }
    t.missed += i64::from(f.sessions_missed);
    t.add(Count::Missed, i64::from(f.sessions_missed));
    t.add(
        Count::Offered,
        i64::from(f.sessions_missed + f.sessions_attended),
    );
    for (instrument, pairs, improved, p) in [
        (
            Instrument::Phq9,
            Count::Phq9Pairs,
            Count::Phq9Improved,
            pair(f.phq9_first, f.phq9_last),
        ),
        (
            Instrument::Gad7,
            Count::Gad7Pairs,
            Count::Gad7Improved,
            pair(f.gad7_first, f.gad7_last),
        ),
        (
            Instrument::Core10,
            Count::Core10Pairs,
            Count::Core10Improved,
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
    // A finished course and its combined PHQ-9 and GAD-7 outcome.
    if f.ended_on.is_some() && outcomes::finished_treatment(f.sessions_attended.max(0) as u32) {
        t.add(Count::Finished, 1);
        if let (Some(p), Some(g)) = (
            pair(f.phq9_first, f.phq9_last),
            pair(f.gad7_first, f.gad7_last),
        ) {
            let o = outcomes::combined(p, g);
            t.add(Count::FinishedPaired, 1);
            match o.change {
                outcomes::Change::ReliableImprovement => t.add(Count::ReliablyImproved, 1),
                outcomes::Change::ReliableDeterioration => t.add(Count::ReliablyDeteriorated, 1),
                outcomes::Change::NoReliableChange => {}
            }
            if let Some(recovered) = o.recovered {
                t.add(Count::RecoveryBase, 1);
                if recovered {
                    t.add(Count::Recovered, 1);
                }
                if o.reliably_recovered == Some(true) {
                    t.add(Count::ReliablyRecovered, 1);
                }
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
            Sex::Female => Count::SexFemale,
            Sex::Male => Count::SexMale,
            Sex::NotRecorded => Count::SexNotRecorded,
        },
        1,
    );
    let group = f
        .ethnic_group
        .as_deref()
        .and_then(|g| g.parse::<EthnicGroup>().ok());
    t.add(
        match group {
            Some(EthnicGroup::Asian) => Count::EthAsian,
            Some(EthnicGroup::Black) => Count::EthBlack,
            Some(EthnicGroup::Mixed) => Count::EthMixed,
            Some(EthnicGroup::White) => Count::EthWhite,
            Some(EthnicGroup::Other) => Count::EthOther,
            None => Count::EthNotStated,
        },
        1,
    );
    t.add(
        match f.age_band {
            AgeBand::From18To24 => Count::Age1824,
            AgeBand::From25To34 => Count::Age2534,
            AgeBand::From35To44 => Count::Age3544,
            AgeBand::From45To54 => Count::Age4554,
            AgeBand::From55To64 => Count::Age5564,
            AgeBand::From65 => Count::Age65,
        },
        1,
    );
}

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
