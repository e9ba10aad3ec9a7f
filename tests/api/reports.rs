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

/// The audit log's entries of `event`: each one's reason and details.
async fn audited(t: &Cast, event: &'static str) -> Vec<(Option<String>, String)> {
    t.app
        .with_db(move |c| {
            use diesel::prelude::*;
            use mhtr_pathway::db::schema::audit_events;
            audit_events::table
                .filter(audit_events::event.eq(event))
                .select((audit_events::reason, audit_events::details))
                .load(c)
        })
        .await
        .unwrap()
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
        ("order_probation", "3"),
        ("order_arrest", "0"),
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
    assert_eq!(
        screened, "\"Screened\",\"[c]\",\"[c]\",\"\"",
        "no change told on a withheld total"
    );
    assert!(csv.contains("\"Change since "), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("\"Referrals made\",\"5\",\"5\",\"Up from 0 to 5")),
        "{csv}"
    );

    // In plain words, withheld figures said to be withheld; the home page leads here.
    let summary = report["summary"].as_array().unwrap();
    assert!(
        summary[0].as_str().unwrap().contains("5 referrals were made: 0 at the point of arrest and 5 at the pre-sentence stage. A withheld number of them have so far led to a court making"),
        "{summary:?}"
    );
    assert!(page.contains("In summary"));
    assert!(page.contains("What the words in this report mean"));
    let (_, home) = pages.get("/").await;
    assert!(
        home.contains("href=\"&#x2F;reports&#x2F;uptake\">Uptake and capacity report</a>"),
        "{home}"
    );

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

#[tokio::test]
async fn the_page_draws_its_charts_with_tables_and_targets_beside_the_figures() {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    let (_, report) = c.cl.get("/api/v1/reports/uptake").await;
    // The default configuration sets a target for the share of MHTRs that started: 1 of 3
    // against 80% is off target.
    let started = &row(&report, "rate_started")["target"];
    assert_eq!(started["label"], "Off target", "{report}");
    assert_eq!(started["target"], "80.0%");
    assert_eq!(started["colour"], "red");
    assert!(row(&report, "screened")["target"].is_null());
    assert_eq!(
        report["history"]["periods"].as_array().unwrap().len(),
        1,
        "only the years since the first referral"
    );

    let pages = t.app.browser(&t.cl).await;
    let (status, page) = pages.get("/reports/uptake").await;
    assert_eq!(status, StatusCode::OK);
    for id in [
        "chart-funnel",
        "chart-capacity",
        "chart-history-referred",
        "chart-history-started",
        "chart-history-completed",
        "chart-history-rate-dna",
    ] {
        assert!(
            page.contains(&format!("aria-labelledby=\"{id}-title {id}-desc\"")),
            "{id}"
        );
        assert!(page.contains(&format!("<title id=\"{id}-title\">")), "{id}");
    }
    assert_eq!(page.matches("role=\"img\"").count(), 6);
    assert!(page.contains("as a table</span>"), "a table alternative");
    assert!(page.contains(">Step</th>") && page.contains(">People</th>"));
    assert!(page.contains("Against target (total)"));
    assert!(page.contains("Off target") && page.contains("Target 80.0%"));

    let period = report["period"].as_str().unwrap();
    let (status, csv) = pages
        .get(&format!(
            "/reports/uptake.csv?period={period}&section=rates"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("\"Target\",\"Against target (total)\",\"Melton: 95% confidence interval\""),
        "{csv}"
    );
    // Each rate with its interval (Wilson, 95%): 4 of 5 screened is 37.6% to 96.4%.
    assert!(
        csv.contains("\"Referrals screened\",\"[z]\",\"80.0%\",\"80.0%\",\"\",\"\",\"[z]\",\"37.6% to 96.4%\""),
        "{csv}"
    );
    assert!(page.contains("95% CI 37.6% to 96.4%"), "on the page too");
    let line = csv
        .lines()
        .find(|l| l.starts_with("\"MHTRs that started treatment\""))
        .unwrap();
    assert!(line.contains("\"80.0%\",\"Off target\""), "{line}");
    let (status, history) = pages
        .get(&format!(
            "/reports/uptake.csv?period={period}&section=history"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(history.contains("\"Referrals made\""), "{history}");
}

#[tokio::test]
async fn councillors_charts_withhold_what_their_tables_withhold() {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    let pages = t.app.browser(&t.councillor).await;
    let (status, page) = pages.get("/reports/uptake").await;
    assert_eq!(status, StatusCode::OK);
    let start = page.find("<title id=\"chart-funnel-title\">").unwrap();
    let funnel = &page[start..start + page[start..].find("</svg>").unwrap()];
    // Referrals made (5) is drawn, and the zeros (completed, signposted); the six steps from
    // screening to starting are withheld: not drawn, and each says so.
    assert!(funnel.contains(">5</text>"), "{funnel}");
    assert_eq!(funnel.matches(">[c]</text>").count(), 6, "{funnel}");
    assert_eq!(funnel.matches("<rect").count(), 3, "{funnel}");
    for small in 1..=4 {
        assert!(
            !funnel.contains(&format!(">{small}</text>")),
            "no {small} in the chart"
        );
    }
    // The history charts for this year carry the same withheld cells.
    let start = page
        .find("<title id=\"chart-history-started-title\">")
        .unwrap();
    let started = &page[start..start + page[start..].find("</svg>").unwrap()];
    assert!(started.contains(">[c]</text>"), "{started}");
    assert!(!started.contains(">1</text>"));
    // Targets are not judged on withheld figures.
    let (_, report) = t
        .app
        .api(&t.councillor)
        .await
        .get("/api/v1/reports/uptake")
        .await;
    assert!(row(&report, "rate_started")["target"].is_null(), "{report}");
}

#[tokio::test]
async fn signposting_onward_is_counted_by_the_services_type() {
    use crate::signposting::{add_service, ended_referral, signpost_body};
    let t = cast().await;
    let c = clients(&t).await;
    let admin = t.app.api(&t.admin).await;
    let service = add_service(&admin, "Leicester Talking Therapies", &[&t.app.area_a]).await;
    let id = ended_referral(&t, &c, 1).await;
    let (status, s) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/signposting"),
            &signpost_body(
                &service,
                "referral_made",
                Some(crate::treatment_sessions::today().to_string()),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let (_, report) = c.cl.get("/api/v1/reports/uptake").await;
    assert_eq!(texts(&report, "signposted")[2], "1");
    assert_eq!(texts(&report, "signposted_talking_therapies")[2], "1");
    assert_eq!(texts(&report, "signposted_housing")[2], "0");

    // The directory says it is a housing service after all: the report follows.
    let (status, r) = admin
        .post(
            &format!("/api/v1/directory/{service}"),
            &json!({"name": "Leicester Housing", "service_type": "housing", "phone": "0116 1", "areas": [t.app.area_a]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, report) = c.cl.get("/api/v1/reports/uptake").await;
    assert_eq!(texts(&report, "signposted_talking_therapies")[2], "0");
    assert_eq!(texts(&report, "signposted_housing")[2], "1");
    let pages = t.app.browser(&t.cl).await;
    let (_, page) = pages.get("/reports/uptake").await;
    assert!(page.contains(">to Housing</text>"), "the funnel chart");

    // Found not needed: no longer counted.
    let sid = s["id"].as_str().unwrap();
    let (status, r) =
        c.ap.post(
            &format!("/api/v1/signposting/{sid}"),
            &json!({"version": s["version"], "status": "not_needed", "reason": "Has support already"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, report) = c.cl.get("/api/v1/reports/uptake").await;
    assert_eq!(texts(&report, "signposted")[2], "0");

    let recount = t
        .app
        .state
        .db
        .run(mhtr_pathway::reports::upkeep::recount)
        .await
        .unwrap();
    assert!(recount.facts_equal, "stored facts equal a recount");
    assert!(
        recount.quality_equal,
        "the data-quality figures equal a recount"
    );
    assert!(
        recount.capacity_equal,
        "the capacity counts and waiting list equal a recount"
    );
}

/// Completion needs every planned session attended; a clinical decision that treatment is
/// complete sooner is recorded with its reason and counted apart from completion.
#[tokio::test]
async fn completion_needs_every_planned_session_or_a_clinical_reason_and_is_counted_apart() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 80).await;
    make_plan(
        &c.ap,
        &id,
        &weekly_plan(working_day_from(next(chrono::Weekday::Tue))),
    )
    .await;
    crate::treatment_sessions::attend_first(&t.app, &c.ap, &id, 3, 3).await;
    let end = |body: Value| {
        let (ap, id) = (&c.ap, id.clone());
        async move {
            let (_, current) = ap.get(&format!("/api/v1/referrals/{id}")).await;
            let mut body = body;
            body["action"] = json!("end_treatment");
            body["end_date"] = json!(crate::treatment_sessions::today().to_string());
            body["version"] = current["version"].clone();
            ap.post(&format!("/api/v1/referrals/{id}/transitions"), &body)
                .await
        }
    };

    // "Completed" after 3 of 12 is refused, and the message says what to do instead.
    let (status, r) = end(json!({"end_outcome": "completed"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let message = r["fields"]["end_outcome"].as_str().unwrap_or_default();
    assert!(
        message.contains("all 12 planned sessions") && message.contains("3 have been"),
        "{r}"
    );
    assert!(
        message.contains("Completed early by clinical decision"),
        "{r}"
    );

    // Complete early without the clinical reason: refused.
    let (status, r) = end(json!({"end_outcome": "completed_early"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert!(r["fields"]["note"].is_string(), "{r}");

    // With it: recorded as such, in the timeline with the reason.
    let (status, r) = end(json!({
        "end_outcome": "completed_early",
        "note": "Goals met: mood stable, relapse plan agreed"
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, r) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(r["status"], "ended", "{r}");
    let timeline = r["timeline"].to_string();
    assert!(
        timeline.contains("Completed early by clinical decision")
            && timeline.contains("3 sessions attended of 12 planned")
            && timeline.contains("Goals met"),
        "{timeline}"
    );

    // The report counts it apart: not as completed, not as ended early.
    let (status, report) = c.cl.get("/api/v1/reports/uptake").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(texts(&report, "completed_early").last().unwrap(), "1");
    assert_eq!(texts(&report, "completed").last().unwrap(), "0");
    assert_eq!(texts(&report, "ended_early").last().unwrap(), "0");
}

/// The report's CSV starts with a byte-order mark, so a spreadsheet on Windows reads it as
/// UTF-8 (its dashes and names with accents intact).
#[tokio::test]
async fn the_report_csv_carries_a_byte_order_mark_for_spreadsheets() {
    let app = crate::helpers::spawn_app().await;
    let (lead, _) = app
        .login_as(mhtr_pathway::users::model::Role::ClinicalLead)
        .await;
    let res = lead.get("/reports/uptake.csv?section=funnel").await;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF\"Indicator, "), "{bytes:?}");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.contains("\"Referrals made\""), "{text}");
    // This period has only just begun: its figures can still change, and say so with the
    // GSS symbol; nothing is written as a dash.
    let head = text.lines().next().unwrap_or_default();
    assert!(
        head.contains("[p] (provisional: can still change)"),
        "{head}"
    );
    assert!(!text.contains('–'), "{text}");
}

/// The report speaks plainly: a summary of the totals, the history from the first referral
/// rather than years of zeros, breakdown rows marked as such, and a print view without the
/// menu that says when it was produced.
#[tokio::test]
async fn the_report_says_what_it_found_in_plain_words_and_prints_cleanly() {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    let (status, report) = c.cl.get("/api/v1/reports/uptake").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let summary: Vec<&str> = report["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        summary[0].ends_with("5 referrals were made: 0 at the point of arrest and 5 at the pre-sentence stage. 3 of them have so far led to a court making a Mental Health Treatment Requirement (MHTR)."),
        "{summary:?}"
    );
    assert_eq!(
        summary[1],
        "Those are the people diverted into the scheme: 0 came by arrest, through Liaison and Diversion, and 3 through probation's pre-sentence report."
    );
    assert!(
        summary[2].starts_with("Of those referrals, 1 people have started treatment and 0 have completed all their planned sessions"),
        "{summary:?}"
    );
    assert!(
        summary
            .iter()
            .any(|s| s.contains("are waiting for a first session now")),
        "{summary:?}"
    );
    assert_eq!(row(&report, "referred_arrest")["sub"], true);
    assert_eq!(row(&report, "referred")["sub"], false);
    // Every referral is from today: earlier years are not shown as zeros.
    assert_eq!(report["history"]["periods"].as_array().unwrap().len(), 1);
    assert_eq!(report["history"]["since_first_referral"], true);

    let pages = t.app.browser(&t.cl).await;
    let (status, page) = pages.get("/reports/uptake").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("app-report-table__sub"));
    assert!(page.contains("Periods before the first referral in these areas are left out."));
    assert!(page.contains("Why people can wait when there is spare capacity"));
    assert!(page.contains("Produced on "));
    assert!(
        !page.contains("app-print"),
        "the full report is not the print view"
    );
    let period = report["period"].as_str().unwrap();
    let (status, print) = pages
        .get(&format!("/reports/uptake?period={period}&print=1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(print.contains("govuk-template__body app-print"), "{print}");
    assert!(print.contains("Back to the full report"));
    assert!(print.contains("Produced on "));
    assert!(!print.contains("Show the report"), "no form to print");
}

#[tokio::test]
async fn rates_per_100000_adults_use_each_areas_recorded_population_and_state_it() {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    // The administrator manages area A only.
    let admin_id = t.admin.id.clone();
    t.app
        .with_db(move |c| {
            mhtr_pathway::users::service::set_service_wide(
                c,
                &mhtr_pathway::audit::Actor::system("tests"),
                &admin_id,
                false,
            )
            .unwrap()
        })
        .await;
    let admin = t.app.api(&t.admin).await;
    let (a, b) = (t.app.area_a.clone(), t.app.area_b.clone());
    let body =
        json!({"year": 2023, "adults": 31_702, "source": "ONS mid-2023 population estimates"});

    // Another area's population, another role, or nonsense: refused, nothing saved.
    let (status, _) = admin
        .post(&format!("/api/v1/areas/{b}/populations"), &body)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        c.cl.post(&format!("/api/v1/areas/{a}/populations"), &body)
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, r) = admin
        .post(
            &format!("/api/v1/areas/{a}/populations"),
            &json!({"year": 1990, "adults": 0, "source": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    for field in ["year", "adults", "source"] {
        assert!(r.to_string().contains(field), "{field}: {r}");
    }
    let (_, report) = c.cl.get("/api/v1/reports/uptake").await;
    assert!(
        texts(&report, "referred_per_100k")
            .iter()
            .all(|t| t == "[x]"),
        "no population yet: not available"
    );

    // Recorded: 5 referrals of 31,702 adults are 15.8 per 100,000.
    let (status, saved) = admin
        .post(&format!("/api/v1/areas/{a}/populations"), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let (_, areas) = admin.get("/api/v1/areas").await;
    assert_eq!(areas["areas"].as_array().unwrap().len(), 1, "{areas}");
    assert_eq!(areas["areas"][0]["populations"][0]["adults"], 31_702);
    let (_, report) = c.cl.get("/api/v1/reports/uptake").await;
    let ia = report["area_ids"]
        .as_array()
        .unwrap()
        .iter()
        .position(|id| id == a.as_str())
        .unwrap();
    assert_eq!(texts(&report, "adults")[ia], "31,702");
    assert_eq!(texts(&report, "referred_per_100k")[ia], "15.8");
    assert_eq!(texts(&report, "order_made_per_100k")[ia], "9.5");
    assert_eq!(texts(&report, "adults")[1 - ia], "[x]", "area B has none");
    assert_eq!(
        texts(&report, "referred_per_100k")[2],
        "[x]",
        "nor the total, without every area's"
    );
    let sources = report["population_sources"].to_string();
    assert!(
        sources.contains("31,702 adults, mid-2023 (ONS mid-2023 population estimates)"),
        "{sources}"
    );
    // A councillor's small counts stay withheld per 100,000 too.
    let councillor = t.app.api(&t.councillor).await;
    let (_, shown) = councillor.get("/api/v1/reports/uptake").await;
    let started = texts(&shown, "started")[0].clone();
    assert_eq!(started, "[c]");
    assert_eq!(texts(&shown, "started_per_100k")[0], "[c]");
    // Audited, with the figure.
    assert_eq!(audited(&t, "area.population_recorded").await.len(), 1);

    // On the pages: the form keeps what was typed and says what is wrong.
    let page = t.app.browser(&t.admin).await;
    let (status, html) = page.get(&format!("/admin/areas/{a}/population")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("31,702") && html.contains("mid-2023"),
        "{html}"
    );
    let (status, _, html) = page
        .post(
            &format!("/admin/areas/{a}/population"),
            &[("year", "2024"), ("adults", "lots"), ("source", "ONS")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("govuk-error-summary") && html.contains("whole number"),
        "{html}"
    );
    assert!(html.contains("value=\"lots\""), "the input kept");
    let (status, to, _) = page
        .post(
            &format!("/admin/areas/{a}/population"),
            &[
                ("year", "2024"),
                ("adults", "32,001"),
                ("source", "ONS mid-2024"),
            ],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/areas")
    );
    let (_, list) = page.get("/admin/areas").await;
    assert!(list.contains("32,001 (mid-2024)"), "{list}");
    let (status, _) = page.get(&format!("/admin/areas/{b}/population")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_spreadsheet_holds_every_table_with_the_same_withheld_cells_and_is_audited() {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    let councillor = t.app.browser(&t.councillor).await;
    let (status, page) = councillor.get("/reports/uptake").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("/reports/uptake.ods?"),
        "linked from the page"
    );
    let (status, body) = councillor.get_bytes("/reports/uptake.ods").await;
    assert_eq!(status, StatusCode::OK);
    // A ZIP whose first entry, stored, is the OpenDocument media type.
    assert_eq!(&body[0..4], b"PK\x03\x04");
    assert_eq!(
        &body[30..38 + 46],
        b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
    );
    // The entries are stored, so the sheets can be read in the bytes.
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("table:name=\"Cover\""));
    assert!(text.contains("table:name=\"The pathway\""));
    assert!(text.contains("table:name=\"History\""));
    assert!(text.contains("[c] Withheld to protect the people behind the figure"));
    // The councillor's 1 start is withheld here as on the page: no small count anywhere.
    assert!(text.contains("<text:p>[c]</text:p>"));
    let pathway = &text[text.find("table:name=\"The pathway\"").unwrap()..];
    let pathway = &pathway[..pathway.find("</table:table>").unwrap()];
    for small in 1..=4 {
        assert!(
            !pathway.contains(&format!("office:value=\"{small}\"")),
            "{small} shown: {pathway}"
        );
    }
    assert!(
        pathway.contains("<text:p>Started treatment (first session attended)</text:p></table:table-cell><table:table-cell office:value-type=\"string\"><text:p>[c]</text:p>"),
        "{pathway}"
    );
    let downloads = audited(&t, "report.uptake_downloaded").await;
    assert_eq!(
        downloads
            .iter()
            .filter(|(_, details)| details.contains("spreadsheet"))
            .count(),
        1
    );
    // A clinical lead's copy has the figures themselves, as numbers.
    let lead = t.app.browser(&t.cl).await;
    let (_, body) = lead.get_bytes("/reports/uptake.ods").await;
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("office:value-type=\"float\" office:value=\"5\""),
        "5 referrals"
    );
}

#[tokio::test]
async fn capacity_for_a_past_period_uses_the_staffing_pattern_and_leave_of_that_period() {
    use chrono::NaiveDate;
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::{
        practitioner_capacity_history, practitioner_leave, user_area_history, users,
    };
    let t = cast().await;
    let c = clients(&t).await;
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let (ap, ap2) = (t.ap.id.clone(), t.ap2.id.clone());
    t.app
        .with_db(move |c| {
            // Ash has worked here since January: 10 sessions a week to September, 20 from
            // October, and a week's leave in September. The other practitioner joined today.
            diesel::update(users::table.find(&ap))
                .set(users::created_at.eq(day(1, 1).and_hms_opt(9, 0, 0).unwrap()))
                .execute(c)
                .unwrap();
            diesel::update(user_area_history::table.filter(user_area_history::user_id.eq(&ap)))
                .set(user_area_history::from_date.eq(day(1, 1)))
                .execute(c)
                .unwrap();
            for (from, per_week) in [(day(1, 1), 10), (day(10, 1), 20)] {
                diesel::insert_into(practitioner_capacity_history::table)
                    .values((
                        practitioner_capacity_history::user_id.eq(&ap),
                        practitioner_capacity_history::effective_from.eq(from),
                        practitioner_capacity_history::sessions_per_week.eq(per_week),
                        practitioner_capacity_history::working_days.eq("mon,tue,wed,thu,fri"),
                    ))
                    .execute(c)
                    .unwrap();
            }
            diesel::insert_into(practitioner_leave::table)
                .values((
                    practitioner_leave::id.eq("leave-september"),
                    practitioner_leave::user_id.eq(&ap),
                    practitioner_leave::starts_on.eq(day(9, 14)),
                    practitioner_leave::ends_on.eq(day(9, 18)),
                    practitioner_leave::recorded_by.eq(&ap),
                    practitioner_leave::recorded_at.eq(day(9, 1).and_hms_opt(9, 0, 0).unwrap()),
                ))
                .execute(c)
                .unwrap();
            let _ = ap2;
        })
        .await;
    let capacity = |report: &Value| -> String {
        let ia = report["area_ids"]
            .as_array()
            .unwrap()
            .iter()
            .position(|id| id == t.app.area_a.as_str())
            .unwrap();
        texts(report, "sessions_capacity")[ia].clone()
    };
    // September: 22 weekdays, 5 of them on leave; 17 days at 2 sessions a day.
    let (status, september) = c.cl.get("/api/v1/reports/uptake?period=2026-09").await;
    assert_eq!(status, StatusCode::OK, "{september}");
    assert_eq!(capacity(&september), "34");
    // October: 22 weekdays at 4 sessions a day under the new pattern.
    let (_, october) = c.cl.get("/api/v1/reports/uptake?period=2026-10").await;
    assert_eq!(capacity(&october), "88");
    // Before Ash joined there was nobody.
    let (_, before) = c.cl.get("/api/v1/reports/uptake?period=2025-12").await;
    assert_eq!(capacity(&before), "0");
}

#[tokio::test]
async fn capacity_for_a_past_period_is_shared_between_the_areas_the_practitioner_belonged_to_then()
{
    use chrono::NaiveDate;
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::{user_area_history, users};
    let t = cast().await;
    let c = clients(&t).await;
    let (a, b) = (t.app.area_a.clone(), t.app.area_b.clone());
    // Ash has worked in Rutland since January, on the default pattern (15 sessions a week,
    // Monday to Friday: 3 a day), as loaded from an export made before areas had a history:
    // the membership counts from the account's opening. The other practitioner joined today.
    let january = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let ap = t.ap.id.clone();
    t.app
        .with_db(move |c| {
            diesel::update(users::table.find(&ap))
                .set(users::created_at.eq(january.and_hms_opt(9, 0, 0).unwrap()))
                .execute(c)
                .unwrap();
            diesel::delete(user_area_history::table.filter(user_area_history::user_id.eq(&ap)))
                .execute(c)
                .unwrap();
        })
        .await;
    let capacity = |report: &Value, area: &str| -> String {
        let i = report["area_ids"]
            .as_array()
            .unwrap()
            .iter()
            .position(|id| id == area)
            .unwrap();
        texts(report, "sessions_capacity")[i].clone()
    };
    let today = crate::helpers::today();
    let fortnight = format!(
        "/api/v1/reports/uptake?period={today}..{}",
        today + chrono::Duration::days(13)
    );
    let (_, september) = c.cl.get("/api/v1/reports/uptake?period=2026-09").await;
    assert_eq!(capacity(&september, &a), "66", "22 weekdays at 3 sessions");
    assert_eq!(capacity(&september, &b), "0");
    let figures = |report: &Value| -> (i64, i64) {
        (
            capacity(report, &a).parse().unwrap(),
            capacity(report, &b).parse().unwrap(),
        )
    };
    // The next fortnight: Ash and the other practitioner, both in Rutland.
    let (rutland_before, melton_before) = figures(&c.cl.get(&fortnight).await.1);
    assert!(
        rutland_before >= 48,
        "two at 3 sessions on 8 or more working days"
    );
    assert_eq!(melton_before, 0);

    // Today the administrator moves Ash to Melton, through the pages.
    let admin = t.app.browser(&t.admin).await;
    let path = format!("/admin/users/{}/edit", t.ap.id);
    let form = |areas: &[&String]| -> Vec<(String, String)> {
        let mut f = vec![
            ("name".to_owned(), "Ash Psych".to_owned()),
            ("email".to_owned(), t.ap.email.clone()),
            ("role".to_owned(), "assistant_psychologist".to_owned()),
            ("organisation_id".to_owned(), t.app.org.clone()),
        ];
        f.extend(areas.iter().map(|a| ("areas".to_owned(), (*a).clone())));
        f
    };
    let post = |fields: Vec<(String, String)>| {
        let admin = &admin;
        let path = path.clone();
        async move {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            admin.post(&path, &pairs).await
        }
    };
    let (status, loc, _) = post(form(&[&b])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc, format!("/admin/users/{}", t.ap.id));
    // September was staffed from Rutland, and stays so; from today Ash's capacity is Melton's.
    let (_, september) = c.cl.get("/api/v1/reports/uptake?period=2026-09").await;
    assert_eq!(capacity(&september, &a), "66");
    assert_eq!(capacity(&september, &b), "0");
    let (rutland, melton) = figures(&c.cl.get(&fortnight).await.1);
    assert_eq!(rutland, melton, "one practitioner in each");
    assert_eq!(rutland + melton, rutland_before);
    let (_, page) = admin.get(&format!("/admin/users/{}", t.ap.id)).await;
    assert!(page.contains("Areas over time"), "{page}");
    assert!(
        page.contains("1 January 2026"),
        "the Rutland spell's first day"
    );
    let yesterday = mhtr_pathway::web::format::date(today.pred_opt().unwrap());
    assert!(page.contains(&yesterday), "the Rutland spell's last day");

    // Back in Rutland the same day, as well as Melton: the Rutland spell goes on, and each
    // day of Ash's is shared between the two.
    let (status, _, _) = post(form(&[&a, &b])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (rutland_now, melton_now) = figures(&c.cl.get(&fortnight).await.1);
    assert!((rutland_now + melton_now - rutland_before).abs() <= 1);
    assert!(
        (2 * melton_now - melton).abs() <= 1,
        "{melton_now} is half of {melton}"
    );
    let ap = t.ap.id.clone();
    let spells: Vec<(String, NaiveDate, Option<NaiveDate>)> = t
        .app
        .with_db(move |c| {
            user_area_history::table
                .filter(user_area_history::user_id.eq(&ap))
                .order((user_area_history::area_id, user_area_history::from_date))
                .select((
                    user_area_history::area_id,
                    user_area_history::from_date,
                    user_area_history::to_date,
                ))
                .load(c)
                .unwrap()
        })
        .await;
    let mut expected = vec![(a.clone(), january, None), (b.clone(), today, None)];
    expected.sort();
    assert_eq!(spells, expected);
}

#[tokio::test]
async fn events_are_counted_in_the_period_they_happened_whenever_the_referral_was_made() {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    // The three MHTRs were made 30 days ago for referrals made today: a period around the
    // sentence holds the orders, and none of the referrals.
    let today = crate::helpers::today();
    let around = format!(
        "{}..{}",
        today - chrono::Duration::days(35),
        today - chrono::Duration::days(25)
    );
    let (status, report) =
        c.cl.get(&format!("/api/v1/reports/uptake?period={around}"))
            .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let total = |key: &str| texts(&report, key).last().unwrap().clone();
    assert_eq!(total("referred"), "0");
    assert_eq!(total("event_order_made"), "3");
    assert_eq!(total("event_order_probation"), "3");
    assert_eq!(total("event_order_arrest"), "0");
    assert_eq!(total("event_started"), "0", "the first session was today");
    // Today holds the first session, and the referrals.
    let (_, now) =
        c.cl.get(&format!("/api/v1/reports/uptake?period={today}..{today}"))
            .await;
    assert_eq!(texts(&now, "event_started").last().unwrap(), "1");
    assert_eq!(texts(&now, "referred").last().unwrap(), "5");
    assert_eq!(texts(&now, "event_order_made").last().unwrap(), "0");
}

#[tokio::test]
async fn the_evaluation_return_names_no_one_and_the_identifier_extract_is_for_administrators_with_a_reason()
 {
    let t = cast().await;
    let c = clients(&t).await;
    cohort(&t, &c).await;
    let today = crate::helpers::today();
    let period = format!("{today}..{today}");

    // A clinical lead's return: a row a referral, every field of the dictionary, no names.
    let page = t.app.browser(&t.cl).await;
    let (status, html) = page.get("/reports/evaluation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Evaluation return"), "{html}");
    let (status, body) = page
        .get_bytes(&format!(
            "/reports/evaluation?download=yes&return=evaluation&period={period}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 1 + 5, "{csv}");
    assert!(
        lines[0].starts_with("\"reference\",\"area_code\",\"area\""),
        "{}",
        lines[0]
    );
    assert!(
        lines.iter().skip(1).all(|l| l.starts_with("\"MH-")),
        "{csv}"
    );
    assert!(!csv.contains("Reported7"), "no names: {csv}");
    assert!(!csv.contains("T100073"), "no CRN");
    // The one who started has a first session and, as sentenced 30 days ago, a wait.
    assert!(
        csv.contains(&format!("\"{today}\",\"\",\"\",\"1\"")),
        "{csv}"
    );
    // An unknown return is refused on the form, saying so.
    let (status, html) = page
        .get(&format!(
            "/reports/evaluation?download=yes&return=nosuch&period={period}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("govuk-error-summary") && html.contains("There is no return called nosuch")
    );

    // The API gives the same, and refuses councillors and identifiers to leads.
    let (status, _) = t
        .app
        .api(&t.councillor)
        .await
        .get(&format!(
            "/api/v1/reports/evaluation?return=evaluation&period={period}"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        c.cl.post(
            "/api/v1/reports/identifier-extract",
            &json!({"period": period, "reason": "Study"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The administrator's extract needs a reason, and keeps it in the audit log.
    let admin = t.app.api(&t.admin).await;
    let (status, r) = admin
        .post(
            "/api/v1/reports/identifier-extract",
            &json!({"period": period, "reason": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let pages = t.app.browser(&t.admin).await;
    let (status, _, body) = pages
        .post(
            "/admin/identifier-extract",
            &[
                ("period", period.as_str()),
                ("reason", "Reoffending study, DSA-2026-04"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"reference\",\"crn\",\"pnc\""), "{body}");
    assert!(body.contains("\"T100073\""), "{body}");
    assert_eq!(body.trim_start_matches('\u{feff}').lines().count(), 1 + 5);
    let (status, _, html) = pages
        .post(
            "/admin/identifier-extract",
            &[("period", "someday"), ("reason", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("govuk-error-summary"), "{html}");
    let reasons: Vec<Option<String>> = audited(&t, "report.identifier_extract")
        .await
        .into_iter()
        .map(|(reason, _)| reason)
        .collect();
    assert_eq!(
        reasons,
        vec![Some("Reoffending study, DSA-2026-04".to_owned())]
    );
}

/// The report kept in memory (reports::cache) is the report built again, after each kind of
/// write it depends on: a referral and its steps, a session recorded, leave, a capacity
/// pattern, a population. Between writes it is not built again (the inputs' version stands);
/// a write elsewhere (the audit log of each view) does not move it.
#[tokio::test]
async fn a_kept_report_equals_the_report_built_again_after_every_kind_of_change() {
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::{
        area_populations, practitioner_capacity_history, practitioner_leave,
    };
    use mhtr_pathway::reports::{cache, query, uptake};
    let t = cast().await;
    let c = clients(&t).await;
    let (settings, lead_areas) = (
        t.app.state.settings.clone(),
        vec![t.app.area_a.clone(), t.app.area_b.clone()],
    );
    let lead_pages = t.app.browser(&t.cl).await;
    // The report as the API and the pages show it, and as built and rendered afresh,
    // uncached, at the same moment.
    let check = async |what: &str| -> i64 {
        let (status, shown) = c.cl.get("/api/v1/reports/uptake").await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        let (_, page) = lead_pages.get("/reports/uptake").await;
        let (_, print) = lead_pages.get("/reports/uptake?print=1").await;
        let (s, areas) = (settings.clone(), lead_areas.clone());
        let templates = t.app.state.templates.clone();
        let (fresh, fresh_tables, version) = t
            .app
            .with_db(move |c| {
                let q = query::parse_query(c, &areas, "").unwrap();
                let mut r = uptake::build(
                    c,
                    &q.areas,
                    &q.period,
                    false,
                    s.reports.suppression_threshold,
                )
                .unwrap();
                uptake::apply_targets(&mut r, &s.reports.targets);
                // Through text, as the API's answer came: serde_json reads some floats back
                // a last digit off.
                let text = serde_json::to_string(&r).unwrap();
                let fresh: Value = serde_json::from_str(&text).unwrap();
                let tables = [false, true].map(|print| {
                    mhtr_pathway::reports::web::tables(&templates, &r, print).unwrap()
                });
                (fresh, tables, cache::version(c).unwrap())
            })
            .await;
        assert!(
            page.contains(&fresh_tables[0]) && print.contains(&fresh_tables[1]),
            "after {what}: the page's tables are not the report's"
        );
        assert_ne!(
            fresh_tables[0], fresh_tables[1],
            "the print view has its own"
        );
        assert!(
            shown == fresh,
            "after {what}: the kept report is not the report: {:?}",
            first_difference(&shown, &fresh, String::new())
        );
        // Asked again with nothing changed: the same version, the same report.
        let (_, again) = c.cl.get("/api/v1/reports/uptake").await;
        assert_eq!(again, shown, "after {what}, asked again");
        let still = t.app.with_db(|c| cache::version(c).unwrap()).await;
        assert_eq!(
            still, version,
            "after {what}: viewing the report moved the version"
        );
        version
    };
    let mut version = check("nothing").await;
    let mut moved = |v: i64, what: &str| {
        assert_ne!(v, version, "{what} did not move the version");
        version = v;
    };
    cohort(&t, &c).await;
    moved(
        check("a cohort made, screened, allocated and a session recorded").await,
        "the cohort",
    );
    let ap = t.ap.id.clone();
    t.app
        .with_db(move |c| {
            diesel::insert_into(practitioner_leave::table)
                .values((
                    practitioner_leave::id.eq("leave-kept-report"),
                    practitioner_leave::user_id.eq(&ap),
                    practitioner_leave::starts_on.eq(mhtr_pathway::clock::today()),
                    practitioner_leave::ends_on.eq(mhtr_pathway::clock::today()),
                    practitioner_leave::recorded_by.eq(&ap),
                    practitioner_leave::recorded_at.eq(mhtr_pathway::clock::now()),
                ))
                .execute(c)
                .unwrap();
        })
        .await;
    moved(check("leave").await, "leave");
    let ap = t.ap.id.clone();
    t.app
        .with_db(move |c| {
            diesel::insert_into(practitioner_capacity_history::table)
                .values((
                    practitioner_capacity_history::user_id.eq(&ap),
                    practitioner_capacity_history::effective_from.eq(mhtr_pathway::clock::today()),
                    practitioner_capacity_history::sessions_per_week.eq(3),
                    practitioner_capacity_history::working_days.eq("mon,tue"),
                ))
                .execute(c)
                .unwrap();
        })
        .await;
    moved(check("a capacity pattern").await, "a capacity pattern");
    let area = t.app.area_a.clone();
    t.app
        .with_db(move |c| {
            use chrono::Datelike;
            diesel::delete(area_populations::table.filter(area_populations::area_id.eq(&area)))
                .execute(c)
                .unwrap();
            diesel::insert_into(area_populations::table)
                .values((
                    area_populations::area_id.eq(&area),
                    area_populations::year.eq(mhtr_pathway::clock::today().year()),
                    area_populations::adults.eq(31_000),
                    area_populations::source.eq("Test figure"),
                    area_populations::recorded_by.eq("test"),
                    area_populations::recorded_at.eq(mhtr_pathway::clock::now()),
                ))
                .execute(c)
                .unwrap();
        })
        .await;
    moved(check("a population").await, "a population");
}

/// Where two JSON values first differ, and how.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .find_map(|(k, v)| {
                first_difference(v, y.get(k).unwrap_or(&Value::Null), format!("{at}/{k}"))
            })
            .or_else(|| (x.len() != y.len()).then(|| format!("{at}: keys differ"))),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, format!("{at}/{i}"))),
        _ => (a != b).then(|| format!("{at}: {a} against {b}")),
    }
}

/// A return too large for one piece is streamed whole: every referral of the period in the
/// lead's areas once, in the order of referral, each row with every column, as many rows
/// as the audit entry recorded, on the page and through the API alike.
#[tokio::test]
async fn a_large_evaluation_return_is_streamed_whole_and_in_order() {
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::{areas, report_facts};
    let app = crate::referrals::helpers::spawn_app().await;
    let hasher = app.state.hasher.clone();
    app.with_db(move |c| {
        mhtr_pathway::demo::load(c, &hasher).expect("demo loads");
        let opts = mhtr_pathway::demo::synth::Options {
            referrals: 700,
            seed: 26,
            years: 1,
            chunk: 700,
        };
        mhtr_pathway::demo::synth::run(c, &opts, |_| {}).unwrap();
    })
    .await;
    let area_ids: Vec<String> = app
        .with_db(|c| areas::table.select(areas::id).load(c).unwrap())
        .await;
    let refs: Vec<&str> = area_ids.iter().map(String::as_str).collect();
    let lead = app
        .create_user(
            mhtr_pathway::users::model::Role::ClinicalLead,
            "Dr Wide Lead",
            &refs,
        )
        .await;
    let today = crate::helpers::today();
    let start = today - chrono::Duration::days(364);
    let period = format!("{start}..{today}");
    let (s, e) = (start, today);
    let expected: i64 = app
        .with_db(move |c| {
            report_facts::table
                .filter(report_facts::referred_on.between(s, e))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert!(expected > 400, "{expected} referrals in the year");

    let check = |csv: &str| {
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len() as i64, 1 + expected);
        let columns = lines[0].split("\",\"").count();
        let referred = lines[0]
            .split(',')
            .position(|h| h == "\"referred_on\"")
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut last = String::new();
        for l in &lines[1..] {
            let cells: Vec<&str> = l.split("\",\"").collect();
            assert_eq!(cells.len(), columns, "{l}");
            assert!(seen.insert(cells[0].to_owned()), "{} twice", cells[0]);
            let on = cells[referred].to_owned();
            assert!(on >= last, "in order of referral: {on} after {last}");
            last = on;
        }
        assert!(
            csv.len() > 3 * 64 * 1024,
            "more than one piece: {}",
            csv.len()
        );
    };
    let (status, body) = app
        .browser(&lead)
        .await
        .get_bytes(&format!(
            "/reports/evaluation?download=yes&return=evaluation&period={period}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let page_csv = String::from_utf8(body).unwrap();
    check(&page_csv);
    let api = app.api(&lead).await;
    let response = api
        .get_with(
            &format!("/api/v1/reports/evaluation?return=evaluation&period={period}"),
            &[],
        )
        .await;
    assert_eq!(response.0, StatusCode::OK);
    check(&response.1);
    assert_eq!(
        response.1,
        page_csv.trim_start_matches('\u{feff}'),
        "the same file"
    );
    let rows: Vec<Value> = app
        .with_db(|c| {
            use mhtr_pathway::db::schema::audit_events;
            audit_events::table
                .filter(audit_events::event.eq("report.evaluation_return"))
                .select(audit_events::details)
                .load::<String>(c)
                .unwrap()
        })
        .await
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap()["rows"].clone())
        .collect();
    assert_eq!(rows, vec![json!(expected), json!(expected)]);
}
