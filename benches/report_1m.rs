//! The all-areas uptake report for a UK financial year over a large synthetic database.
//!
//! Makes the database once (`synth`) if it holds fewer referrals than asked for, then builds
//! the report for the nine areas and the last full financial year `BENCH_RUNS` times, as a
//! clinical lead (no suppression) and as a councillor (with suppression), and prints the
//! median and 90th percentile. The figures cover everything the report page does before
//! the template: reading the aggregates and capacity for the period and the previous one,
//! the counts, rates, waits, trends and disclosure control.
//!
//!   BENCH_DATABASE_URL=sqlite:///var/tmp/mhtr-1m.db BENCH_REFERRALS=1000000 \
//!     cargo bench --bench report_1m
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mhtr_1m cargo bench --bench report_1m

use std::time::Instant;

use chrono::Datelike;
use diesel::prelude::*;

use mhtr_pathway::db::schema::{areas, referrals};
use mhtr_pathway::db::{self, DatabaseUrl};
use mhtr_pathway::reports::periods::Period;
use mhtr_pathway::reports::uptake;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn stats(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    (rank(0.5), rank(0.9))
}

fn main() {
    let raw = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "sqlite:///var/tmp/mhtr-bench.db".into());
    let wanted: usize = env_or("BENCH_REFERRALS", 1_000_000);
    let runs: usize = env_or("BENCH_RUNS", 30);
    let url = DatabaseUrl::parse(&raw).expect("BENCH_DATABASE_URL is a database URL");
    let mut c = db::connect(&url).expect("connect");
    db::run_migrations(&mut c).expect("migrate");
    let have: i64 = referrals::table.count().get_result(&mut c).expect("count");
    if (have as usize) < wanted {
        let opts = mhtr_pathway::demo::synth::Options {
            referrals: wanted - have as usize,
            seed: 2026,
            ..Default::default()
        };
        eprintln!("synthesising {} referrals into {raw}", opts.referrals);
        let s = mhtr_pathway::demo::synth::run(&mut c, &opts, |s| {
            eprintln!(
                "  {:>9} referrals, {:>10} sessions, {:>7.1} s",
                s.referrals, s.sessions, s.seconds
            );
        })
        .expect("synth");
        eprintln!(
            "synth: {} referrals, {} sessions, {} status changes, {} measures in {:.1} s",
            s.referrals, s.sessions, s.history, s.measures, s.seconds
        );
    }
    let referrals: i64 = referrals::table.count().get_result(&mut c).expect("count");
    let sessions: i64 = mhtr_pathway::db::schema::treatment_sessions::table
        .count()
        .get_result(&mut c)
        .expect("count");
    let area_list: Vec<(String, String)> = mhtr_pathway::demo::AREAS
        .iter()
        .map(|(code, name)| {
            let id: String = areas::table
                .filter(areas::code.eq(code))
                .select(areas::id)
                .first(&mut c)
                .expect("the demo areas");
            (id, (*name).to_owned())
        })
        .collect();
    let today = mhtr_pathway::clock::today();
    let fy = if today.month() >= 4 {
        today.year() - 1
    } else {
        today.year() - 2
    };
    // BENCH_PERIOD (e.g. FY2023) when the data do not reach the last financial year.
    let period = std::env::var("BENCH_PERIOD")
        .ok()
        .and_then(|p| Period::parse(&p).ok())
        .unwrap_or_else(|| Period::financial_year(fy));
    println!(
        "{} database, {referrals} referrals, {sessions} sessions; report for {} ({}), nine areas, {runs} runs",
        url.backend_name(),
        period.label(),
        period.code()
    );
    for (who, suppress) in [("clinical lead", false), ("councillor", true)] {
        // One untimed run warms the caches, as a running server's would be.
        uptake::build(&mut c, &area_list, &period, suppress, 5).expect("report");
        let mut ms = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let report = uptake::build(&mut c, &area_list, &period, suppress, 5).expect("report");
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(report);
        }
        let (median, p90) = stats(ms);
        println!("  as a {who:<13} median {median:>7.1} ms   90th percentile {p90:>7.1} ms");
    }
    let mut ms = Vec::with_capacity(runs);
    let ids: Vec<String> = area_list.iter().map(|(id, _)| id.clone()).collect();
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(uptake::period_tallies(&mut c, &ids, &period).expect("tallies"));
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (median, p90) = stats(ms);
    println!("  period_tallies alone  median {median:>7.1} ms   90th percentile {p90:>7.1} ms");
    // The fast path must equal counting every fact of the period, whatever the scale.
    for p in [period, period.previous()] {
        let fast = uptake::period_tallies(&mut c, &ids, &p).expect("tallies");
        let t = Instant::now();
        let slow = uptake::recount_tallies(&mut c, &ids, &p).expect("recount");
        let took = t.elapsed().as_secs_f64() * 1000.0;
        assert!(
            fast == slow,
            "{}: the aggregates differ from a recount",
            p.code()
        );
        println!(
            "  {}: equal to a direct recount of its facts (the recount took {took:.0} ms)",
            p.code()
        );
    }
}
