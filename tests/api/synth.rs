//! Synthetic data at small scale: the facts and the report's aggregates it writes equal a
//! recount from the source tables, the fast path of the report equals counting the facts
//! for any period, and the report renders over it.

use chrono::{Datelike, Duration, NaiveDate};
use reqwest::StatusCode;

use mhtr_pathway::db::DbConn;
use mhtr_pathway::reports::periods::Period;
use mhtr_pathway::reports::uptake;
use mhtr_pathway::users::model::Role;

use crate::helpers::{spawn_app, today};

/// Financial years, quarters, months and custom periods that start and end mid-month:
/// the aggregates must give exactly what counting the facts gives, for every area set.
/// Returns the periods where they differ.
pub fn fast_path_mismatches(c: &mut DbConn, areas: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let t = today();
    let fy = if t.month() >= 4 {
        t.year()
    } else {
        t.year() - 1
    };
    let mut periods = vec![
        Period::financial_year(fy),
        Period::financial_year(fy - 1),
        Period::financial_year(fy - 3),
        Period::month(t.year(), t.month()).unwrap(),
        Period::quarter(t.year(), 1).unwrap(),
        Period::custom(t - Duration::days(400), t - Duration::days(17)).unwrap(),
        Period::custom(t - Duration::days(20), t + Duration::days(3)).unwrap(),
        Period::custom(
            NaiveDate::from_ymd_opt(fy - 2, 2, 10).unwrap(),
            NaiveDate::from_ymd_opt(fy - 2, 2, 20).unwrap(),
        )
        .unwrap(),
    ];
    periods.push(periods[0].previous());
    let subsets = [
        areas.to_vec(),
        areas[..1].to_vec(),
        areas[areas.len() / 2..].to_vec(),
    ];
    for p in &periods {
        for set in &subsets {
            let fast = uptake::period_tallies(c, set, p).unwrap();
            let slow = uptake::recount_tallies(c, set, p).unwrap();
            if fast != slow {
                out.push(format!(
                    "period {} over {} areas:\n{fast:?}\n{slow:?}",
                    p.code(),
                    set.len()
                ));
            }
        }
    }
    out
}

fn nine_areas(c: &mut DbConn) -> Vec<String> {
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::areas;
    mhtr_pathway::demo::AREAS
        .iter()
        .map(|(code, _)| {
            areas::table
                .filter(areas::code.eq(code))
                .select(areas::id)
                .first::<String>(c)
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn synthetic_data_equals_a_recount_and_the_report_renders() {
    let app = spawn_app().await;
    let opts = mhtr_pathway::synth::Options {
        referrals: 2_000,
        seed: 42,
        chunk: 700,
        ..Default::default()
    };
    let mut seen = 0;
    let summary = app.with_db(|c| {
        mhtr_pathway::synth::run(c, &opts, |s| seen = s.referrals).expect("synthetic data")
    });
    assert_eq!(summary.referrals, 2_000);
    assert_eq!(seen, 2_000, "progress is reported to the end");
    assert!(
        summary.sessions > 8_000,
        "most referrals that start have about twelve sessions: {}",
        summary.sessions
    );
    assert!(summary.measures > 0 && summary.signpostings > 0);
    let short_plans = app.with_db(|c| {
        use diesel::dsl::count_star;
        use diesel::prelude::*;
        use mhtr_pathway::db::schema::{referrals, treatment_sessions};
        use mhtr_pathway::referrals::state::Status;
        let counts: Vec<(String, i64)> = treatment_sessions::table
            .inner_join(referrals::table)
            .filter(referrals::status.eq_any([Status::Ended, Status::Withdrawn]))
            .group_by(treatment_sessions::referral_id)
            .select((treatment_sessions::referral_id, count_star()))
            .load(c)
            .unwrap();
        assert!(counts.len() > 20, "{}", counts.len());
        counts.into_iter().filter(|(_, n)| *n < 12).count()
    });
    assert_eq!(
        short_plans, 0,
        "a plan cut short keeps its twelve appointments, the rest cancelled"
    );

    let recount = app.with_db(|c| mhtr_pathway::reports::facts::recount(c).unwrap());
    assert_eq!(recount.referrals, 2_000);
    assert!(recount.facts_equal, "stored facts equal a recount");
    assert!(
        recount.months_equal,
        "monthly session counts equal a recount"
    );
    assert!(
        recount.aggregates_equal,
        "the report's aggregates equal a recount"
    );

    let areas = app.with_db(nine_areas);
    let mismatches = app.with_db(|c| fast_path_mismatches(c, &areas));
    assert!(mismatches.is_empty(), "{mismatches:#?}");

    // The funnel narrows and every area has referrals.
    let t = today();
    let fy = if t.month() >= 4 {
        t.year()
    } else {
        t.year() - 1
    };
    let tallies = app
        .with_db(|c| uptake::period_tallies(c, &areas, &Period::financial_year(fy - 1)).unwrap());
    let total = tallies.last().unwrap();
    assert!(total.get("referred") > 300, "{total:?}");
    assert!(total.get("referred") > total.get("order_made"));
    assert!(total.get("order_made") > total.get("completed"));
    assert!(total.get("completed") > 0 && total.get("ended_early") > 0);
    assert!(tallies[..9].iter().all(|t| t.get("referred") > 0));

    // The rebuilt aggregates are the same as those written along the way.
    let before = app.with_db(|c| mhtr_pathway::reports::cube::stored(c).unwrap());
    app.with_db(|c| mhtr_pathway::db::write_tx(c, mhtr_pathway::reports::cube::rebuild).unwrap());
    let after = app.with_db(|c| mhtr_pathway::reports::cube::stored(c).unwrap());
    assert!(before == after, "rebuilding changes nothing");

    let names: Vec<&str> = mhtr_pathway::demo::AREAS.iter().map(|(_, n)| *n).collect();
    let lead = app.create_user(Role::ClinicalLead, &names);
    let browser = app.new_browser();
    browser.sign_in(&lead).await;
    let mut query = format!("/reports/uptake?period=FY{}", fy - 1);
    for a in &areas {
        query.push_str(&format!("&area={a}"));
    }
    let response = browser.get(&query).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Hinckley and Bosworth"),
        "all nine areas side by side"
    );
    assert!(
        page.contains(&total.get("referred").to_string()),
        "the total referrals are shown"
    );
}
