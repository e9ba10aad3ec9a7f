//! The uptake report: figures checked against a hand-counted cohort, disclosure control for
//! councillors on the page, in CSV and in the API, and scope by area.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::referrals::{advance, api_referral, probation_json};
use crate::treatment_sessions::{
    Cast, Clients, allocated_referral, as_if_held, cast, clients, make_plan, next, numbered,
    record, treatment, weekly_plan, working_day_from,
};

/// Five referrals made today in area A: three allocated (one of them started), one only
/// referred, one declined at screening.
async fn cohort(t: &Cast, c: &Clients) {
    let started = allocated_referral(t, c, 70).await;
    allocated_referral(t, c, 71).await;
    allocated_referral(t, c, 72).await;
    for (n, decline) in [(73, false), (74, true)] {
        let mut body = probation_json(
            &t.app.area_a,
            "Rory",
            &format!("Reported{n}"),
            Some(&format!("T{:06}", 100_000 + n)),
        );
        body["create_new_person"] = json!(true);
        let id = api_referral(&c.po, &body).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if decline {
            advance(
                &[("cl", &c.cl)],
                &id,
                &[(
                    "cl",
                    json!({"action": "decline", "reason": "Needs secondary care"}),
                )],
            )
            .await;
        }
    }
    make_plan(
        &c.ap,
        &started,
        &weekly_plan(working_day_from(next(chrono::Weekday::Tue))),
    )
    .await;
    let first = numbered(&treatment(&c.ap, &started).await, 1);
    as_if_held(&t.app, first["id"].as_str().unwrap(), 0).await;
    let first = numbered(&treatment(&c.ap, &started).await, 1);
    let (status, body) = record(
        &c.ap,
        &first,
        json!({"happened": true, "attendance": "attended"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["rows"].as_array().unwrap())
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key}"))
}

fn texts(report: &Value, key: &str) -> Vec<String> {
    row(report, key)["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn clinical_leads_see_the_hand_counted_figures() {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    let (status, report) = c.cl.get("/api/v1/reports/uptake").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["suppressed"], false);
    // The lead works in areas A and B: A, B, then the total.
    assert_eq!(report["columns"].as_array().unwrap().len(), 3);
    let ia = report["area_ids"]
        .as_array()
        .unwrap()
        .iter()
        .position(|id| id == t.app.area_a.as_str())
        .unwrap();
    let ib = 1 - ia;
    let a = |key: &str| texts(&report, key)[ia].clone();
    let total = |key: &str| texts(&report, key)[2].clone();
    for (key, want) in [
        ("referred", "5"),
        ("referred_probation", "5"),
        ("referred_arrest", "0"),
        ("screened", "4"),
        ("accepted", "3"),
        ("assessed", "3"),
        ("suitable", "3"),
        ("consented", "3"),
        ("order_made", "3"),
        ("order_drr", "3"),
        ("order_alone", "0"),
        ("started", "1"),
        ("completed", "0"),
        ("sentenced_not_started", "2"),
        ("sex_male", "5"),
    ] {
        assert_eq!(a(key), want, "{key}");
        assert_eq!(total(key), want, "{key} total");
        assert_eq!(texts(&report, key)[ib], "0", "{key} in area B");
    }
    assert_eq!(a("rate_screened"), "80.0%");
    assert_eq!(a("rate_started"), "33.3%");
    assert_eq!(a("waiting_list"), "2");
    assert_eq!(a("sessions_delivered"), "1");
    // Referral → assessment: the fixtures assess 40 days before today, referred today.
    assert!(a("wait_assessment_median").ends_with("days"));
}

#[tokio::test]
async fn councillors_get_small_counts_withheld_everywhere() {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    let councillor = t.app.api(&t.councillor).await;
    let (status, report) = councillor.get("/api/v1/reports/uptake").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["suppressed"], true);
    // The councillor's one area, then the total.
    assert_eq!(texts(&report, "referred"), vec!["5", "5"]);
    for key in [
        "screened",
        "accepted",
        "started",
        "order_drr",
        "waiting_list",
    ] {
        assert_eq!(
            texts(&report, key),
            vec!["[c]", "[c]"],
            "{key}: withheld, and the total with it"
        );
        assert!(row(&report, key)["figures"][0]["value"].is_null());
    }
    assert_eq!(
        texts(&report, "order_alone"),
        vec!["0", "0"],
        "zero stays zero"
    );
    assert_eq!(
        texts(&report, "rate_screened")[0],
        "[c]",
        "a rate on a withheld count is withheld"
    );
    let serialised = report.to_string();
    for name in ["Dana", "Rory", "Sessionson", "Reported"] {
        assert!(!serialised.contains(name), "no person in a report");
    }

    // The page and its CSV say the same.
    let pages = t.app.browser(&t.councillor).await;
    let (status, page) = pages.get("/reports/uptake").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("[c]"));
    assert!(page.contains("To protect the people behind them"));
    let period = report["period"].as_str().unwrap();
    let (status, csv) = pages
        .get(&format!(
            "/reports/uptake.csv?period={period}&section=funnel"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let screened = csv
        .lines()
        .find(|l| l.starts_with("\"Screened\""))
        .expect("a screened row");
    assert_eq!(screened, "\"Screened\",\"[c]\",\"[c]\"");

    // Other areas are not theirs to see, and nothing person-level is.
    let (status, _) = councillor
        .get(&format!("/api/v1/reports/uptake?area={}", t.app.area_b))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = councillor.get("/api/v1/referrals").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = pages.get("/referrals").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Assistant psychologists and probation officers have no reports.
    let (status, _) = c.ap.get("/api/v1/reports/uptake").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = c.po.get("/api/v1/reports/uptake").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_period_that_cannot_be_read_is_refused_with_a_message() {
    let t = cast().await;
    let pages = t.app.browser(&t.councillor).await;
    let (status, page) = pages
        .get("/reports/uptake?period=other&period_other=sometime")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("govuk-error-summary"), "{page}");
    assert!(page.contains("value=\"sometime\""), "input kept");
    let (status, _) = pages.get("/reports/uptake?period=FY2025").await;
    assert_eq!(status, StatusCode::OK);
}
