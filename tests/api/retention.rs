//! The retention review: the queue shows exactly the closed referrals whose review has come
//! under the policy, in each reviewer's scope; keeping a record needs a reason and a next
//! review date and takes it off the queue until then; erasing blanks every personal field
//! while the report figures, the recount and the audit chain stay right.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use mhtr_pathway::db::DbConn;
use mhtr_pathway::db::schema::{
    end_summaries, linked_activity, linked_requirements, no_onward_support, outbox_messages,
    outcome_measures, people, referral_amendments, referral_events, referral_status_history,
    referrals, report_area_months, report_cube, report_facts, retention_decisions, signpostings,
    treatment_sessions,
};
use mhtr_pathway::reports::facts::Fact;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::referrals::helpers::{Api, TestApp};
use crate::referrals::{advance, api_referral, probation_json};
use crate::signposting::add_service;
use crate::treatment_sessions::{
    Cast, Clients, allocated_referral, as_if_held, cast, clients, make_plan, next, numbered,
    record, today, treatment, weekly_plan,
};

/// A referral made by `po` in `area` and declined at screening by `cl`.
pub(crate) async fn declined(po: &Api, cl: &Api, area: &str, n: u32) -> String {
    let mut body = probation_json(
        area,
        "Robin",
        &format!("Retainer{n}"),
        Some(&format!("R{:06}", 200_000 + n)),
    );
    body["create_new_person"] = json!(true);
    let id = api_referral(po, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let apis = [("cl", cl)];
    advance(
        &apis,
        &id,
        &[(
            "cl",
            json!({"action": "decline", "reason": "Needs are met by the GP practice"}),
        )],
    )
    .await;
    id
}

/// A referral made by `po` in `area` and left open.
async fn open_referral(po: &Api, area: &str, crn: &str) -> String {
    let mut body = probation_json(area, "Open", "Case", Some(crn));
    body["create_new_person"] = json!(true);
    api_referral(po, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Time passing: the referral reached its final status `days` ago.
pub(crate) async fn closed_days_ago(app: &TestApp, id: &str, days: i64) {
    let id = id.to_owned();
    let at = (today() - Duration::days(days))
        .and_hms_opt(12, 0, 0)
        .unwrap();
    app.state
        .db
        .write(move |c| {
            let status: String = referrals::table
                .find(&id)
                .select(referrals::status)
                .first(c)?;
            diesel::update(
                referral_status_history::table
                    .filter(referral_status_history::referral_id.eq(&id))
                    .filter(referral_status_history::to_status.eq(status)),
            )
            .set(referral_status_history::at.eq(at))
            .execute(c)?;
            diesel::update(referrals::table.find(&id))
                .set(referrals::closed_at.eq(Some(at)))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

fn reference_of(c: &mut DbConn, id: &str) -> String {
    referrals::table
        .find(id)
        .select(referrals::reference)
        .first(c)
        .unwrap()
}

async fn reference(app: &TestApp, id: &str) -> String {
    let id = id.to_owned();
    app.state
        .db
        .run(move |c| Ok(reference_of(c, &id)))
        .await
        .unwrap()
}

/// A referral through treatment with two sessions recorded with notes, outcome measures, an
/// end-of-treatment summary and a signposting, then closed.
async fn closed_after_treatment(t: &Cast, c: &Clients, n: u32) -> String {
    let admin = t.app.api(&t.admin).await;
    let service = add_service(&admin, "Open Minds", &[&t.app.area_a]).await;
    let id = allocated_referral(t, c, n).await;
    make_plan(&c.ap, &id, &weekly_plan(next(chrono::Weekday::Wed))).await;
    let tr = treatment(&c.ap, &id).await;
    for s in 1..=2 {
        as_if_held(&t.app, numbered(&tr, s)["id"].as_str().unwrap(), 10 - s).await;
    }
    let tr = treatment(&c.ap, &id).await;
    for s in 1..=2 {
        let (status, r) = record(
            &c.ap,
            &numbered(&tr, s),
            json!({"happened": true, "attendance": "attended", "engagement_notes": "Talked about the housing worries at Elm Street", "summary_for_ro": "Attended and engaged"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        let sid = numbered(&tr, s)["id"].as_str().unwrap().to_owned();
        let (status, r) =
            c.ap.post(
                &format!("/api/v1/sessions/{sid}/measures"),
                &json!({"instrument": "gad7", "stage": if s == 1 { "first" } else { "last" }, "answers": [2, 2, 1, 1, 1, 1, 1]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
    // A correction and a second version of the notes, both with personal detail.
    let second = numbered(&treatment(&c.ap, &id).await, 2);
    let sid = second["id"].as_str().unwrap().to_owned();
    let (status, r) =
        c.ap.post(
            &format!("/api/v1/sessions/{sid}/correction"),
            &json!({"version": second["version"], "happened": true, "attendance": "attended_late",
                    "reason": "Robin was held up at Elm Street"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, r) = c
        .ap
        .post(
            &format!("/api/v1/sessions/{sid}/notes"),
            &json!({"after": 1, "notes": "Talked about the housing worries at Elm Street, and the move"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let apis = [("ap", &c.ap), ("cl", &c.cl)];
    advance(
        &apis,
        &id,
        &[(
            "ap",
            json!({"action": "end_treatment", "end_date": today().to_string(), "end_outcome": "completed_early", "note": "Goals met after two sessions"}),
        )],
    )
    .await;
    let (status, r) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/end-summary"),
            &json!({"summary": "Robin worked hard on sleep and worry."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, r) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/signposting"),
            &json!({"service_id": service, "signposted_date": today().to_string(), "status": "not_needed", "reason": "Robin has support from a sister in Melton"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let (status, r) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/no-onward-support"),
            &json!({"reason": "Moving in with family"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    advance(&apis, &id, &[("cl", json!({"action": "close"}))]).await;
    id
}

fn position(page: &str, needle: &str) -> usize {
    page.find(needle)
        .unwrap_or_else(|| panic!("{needle} on the page"))
}

pub(crate) fn version_on(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let i = position(page, marker) + marker.len();
    page[i..i + page[i..].find('"').unwrap()].to_owned()
}

fn date_fields(d: NaiveDate) -> [(&'static str, String); 3] {
    use chrono::Datelike;
    [
        ("next_review_date_day", d.day().to_string()),
        ("next_review_date_month", d.month().to_string()),
        ("next_review_date_year", d.year().to_string()),
    ]
}

#[tokio::test]
async fn the_queue_shows_exactly_the_due_referrals_in_each_reviewers_scope() {
    let t = cast().await;
    let c = clients(&t).await;
    let po_b = t
        .app
        .create_user(Role::ProbationOfficer, "Bea Officer", &[&t.app.area_b])
        .await;
    let po_b = t.app.api(&po_b).await;
    let due_a = declined(&c.po, &c.cl, &t.app.area_a, 1).await;
    let recent = declined(&c.po, &c.cl, &t.app.area_a, 2).await;
    let due_b = declined(&po_b, &c.cl, &t.app.area_b, 3).await;
    let treated = closed_after_treatment(&t, &c, 4).await;
    let treated_recent = declined(&c.po, &c.cl, &t.app.area_a, 5).await;
    let open = open_referral(&c.po, &t.app.area_a, "R299999").await;
    // Ended without treatment: due after 2 years. Closed after treatment: after 6.
    closed_days_ago(&t.app, &due_a, 3 * 365 + 10).await;
    closed_days_ago(&t.app, &recent, 365).await;
    closed_days_ago(&t.app, &due_b, 5 * 365).await;
    closed_days_ago(&t.app, &treated, 7 * 365 + 20).await;
    // A treated referral closed 3 years ago is not due, though a declined one would be.
    closed_days_ago(&t.app, &treated_recent, 3 * 365).await;
    let rid = treated_recent.clone();
    t.app
        .state
        .db
        .write(move |c| {
            diesel::update(
                referral_status_history::table
                    .filter(referral_status_history::referral_id.eq(&rid))
                    .filter(referral_status_history::to_status.eq("declined")),
            )
            .set(referral_status_history::to_status.eq("closed"))
            .execute(c)?;
            diesel::update(referrals::table.find(&rid))
                .set(referrals::status.eq("closed"))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let refs: Vec<String> = {
        let mut out = Vec::new();
        for id in [&due_a, &recent, &due_b, &treated, &treated_recent, &open] {
            out.push(reference(&t.app, id).await);
        }
        out
    };
    let [
        ref_a,
        ref_recent,
        ref_b,
        ref_treated,
        ref_treated_recent,
        ref_open,
    ] = <[String; 6]>::try_from(refs).unwrap();

    let admin = t.app.browser(&t.admin).await;
    let (status, page) = admin.get("/retention").await;
    assert_eq!(status, StatusCode::OK);
    for r in [&ref_recent, &ref_open] {
        assert!(!page.contains(r.as_str()), "{r} is not due");
    }
    // The longest due first: area B's (due 3 years ago), the treated one, area A's.
    let (b, tr, a) = (
        position(&page, &ref_b),
        position(&page, &ref_treated),
        position(&page, &ref_a),
    );
    assert!(b < tr && tr < a, "oldest due first");
    assert!(page.contains("3 records due"), "{page}");
    assert!(page.contains("Declined at screening"));
    assert!(page.contains("Closed after treatment"));

    // A clinical lead of area A only sees area A's; area B's answers like a missing one.
    let cl2 = t.app.browser(&t.cl2).await;
    let (status, page) = cl2.get("/retention").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(ref_a.as_str()) && page.contains(ref_treated.as_str()));
    assert!(!page.contains(ref_b.as_str()), "area B is out of scope");
    assert!(!page.contains(ref_treated_recent.as_str()));
    let (status, _) = cl2.get(&format!("/retention/{due_b}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = cl2.get("/retention/no-such-referral").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, page) = cl2.get(&format!("/retention/{due_a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Save the decision"));
    let (status, page) = cl2.get(&format!("/retention/{recent}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("not due for review until"), "no form yet");
    assert!(!page.contains("Save the decision"));

    // Nobody else reviews.
    for user in [&t.councillor, &t.po, &t.ap] {
        let b = t.app.browser(user).await;
        for path in ["/retention".to_owned(), format!("/retention/{due_a}")] {
            let (status, _) = b.get(&path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
    }
}

/// The ids of the referrals a queue page links to, in the page's order.
fn queue_ids(page: &str) -> Vec<String> {
    crate::helpers::unescape(page)
        .split("href=\"/retention/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// Every closed referral in the database, and which are due today under the default policy,
/// worked out here one by one: (id, area) in the queue's order.
fn due_by_brute_force(c: &mut DbConn, today: NaiveDate) -> Vec<(String, String)> {
    use mhtr_pathway::clock::utc_to_london;
    use mhtr_pathway::retention::policy::add_years;
    type Row = (
        String,
        String,
        String,
        Option<NaiveDateTime>,
        Option<NaiveDate>,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Row> = referrals::table
        .select((
            referrals::id,
            referrals::area_id,
            referrals::status,
            referrals::closed_at,
            referrals::retention_review_on,
            referrals::erased_at,
        ))
        .load(c)
        .unwrap();
    let mut due: Vec<(NaiveDate, NaiveDateTime, String, String)> = rows
        .into_iter()
        .filter_map(|(id, area, status, closed_at, review_on, erased_at)| {
            let years = match status.as_str() {
                "declined" | "not_suitable" | "mhtr_not_made" | "withdrawn" => 2,
                "closed" => 6,
                _ => return None,
            };
            let closed_at = closed_at.expect("a closed referral has its closing time");
            let due_on =
                review_on.unwrap_or_else(|| add_years(utc_to_london(closed_at).date(), years));
            (erased_at.is_none() && due_on <= today).then_some((due_on, closed_at, id, area))
        })
        .collect();
    due.sort();
    due.into_iter().map(|(_, _, id, area)| (id, area)).collect()
}

/// Hundreds of closed referrals over eight years, in every final status, in two areas, some
/// kept to a next review date (past or to come), some erased, some closed at the same
/// instant, two either side of the first due day's end: every page of the queue holds exactly
/// the due ones in order, the longest due first, as worked out here from every referral.
#[tokio::test]
async fn the_queue_pages_through_every_due_referral_in_order() {
    use mhtr_pathway::clock::london_to_utc;
    use mhtr_pathway::retention::service::last_closing_day;
    let t = cast().await;
    let c = clients(&t).await;
    let first = declined(&c.po, &c.cl, &t.app.area_a, 1).await;
    let (area_a, area_b) = (t.app.area_a.clone(), t.app.area_b.clone());
    let day = today();
    t.app
        .state
        .db
        .write(move |c| {
            crate::signposting::copy_referral(c, &first, 300);
            let now = mhtr_pathway::clock::now();
            let statuses = [
                "declined",
                "not_suitable",
                "mhtr_not_made",
                "withdrawn",
                "closed",
            ];
            let same_instant = now - Duration::days(1000);
            for i in 1..=300_i64 {
                let closed_at = if i % 23 == 0 {
                    same_instant
                } else {
                    now - Duration::days(i * 37 % 3000) - Duration::seconds(i * 7919 % 86_400)
                };
                let review_on = if i % 11 == 0 {
                    Some(day - Duration::days(i % 400))
                } else if i % 13 == 0 {
                    Some(day + Duration::days(30))
                } else {
                    None
                };
                diesel::update(referrals::table.find(format!("copy-{i}")))
                    .set((
                        referrals::status.eq(statuses[(i % 5) as usize]),
                        referrals::closed_at.eq(Some(closed_at)),
                        referrals::area_id.eq(if i % 3 == 0 { &area_b } else { &area_a }),
                        referrals::retention_review_on.eq(review_on),
                        referrals::erased_at.eq((i % 17 == 0).then_some(now)),
                    ))
                    .execute(c)?;
            }
            // Declined, closed in the last minute of the last day that is due, and in the
            // first minute of the next.
            let edge = last_closing_day(day, 2);
            for (id, at) in [
                ("copy-5", edge.and_hms_opt(23, 59, 59).unwrap()),
                (
                    "copy-10",
                    edge.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap(),
                ),
            ] {
                diesel::update(referrals::table.find(id))
                    .set((
                        referrals::status.eq("declined"),
                        referrals::closed_at.eq(Some(london_to_utc(at))),
                        referrals::retention_review_on.eq(None::<NaiveDate>),
                        referrals::erased_at.eq(None::<NaiveDateTime>),
                    ))
                    .execute(c)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let expected = t
        .app
        .state
        .db
        .run(move |c| Ok(due_by_brute_force(c, day)))
        .await
        .unwrap();
    let ids = |rows: &[(String, String)]| rows.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    assert!(
        expected.len() > 100,
        "{} due: more than two pages",
        expected.len()
    );
    assert!(expected.iter().any(|(id, _)| id == "copy-5"));
    assert!(!expected.iter().any(|(id, _)| id == "copy-10"));

    let admin = t.app.browser(&t.admin).await;
    let mut seen = Vec::new();
    let pages = expected.len().div_ceil(50);
    for p in 1..=pages {
        let (status, page) = admin.get(&format!("/retention?page={p}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains(&format!("{} records due", expected.len())),
            "page {p}"
        );
        seen.extend(queue_ids(&page));
    }
    assert_eq!(seen, ids(&expected), "every due referral once, in order");
    // A page past the end shows the last.
    let (_, page) = admin.get(&format!("/retention?page={}", pages + 5)).await;
    assert_eq!(queue_ids(&page), ids(&expected[(pages - 1) * 50..]));

    // A clinical lead of area A: area A's alone, in the same order.
    let in_a: Vec<(String, String)> = expected
        .iter()
        .filter(|(_, area)| *area == t.app.area_a)
        .cloned()
        .collect();
    let cl2 = t.app.browser(&t.cl2).await;
    let (_, page) = cl2.get("/retention").await;
    assert!(page.contains(&format!("{} records due", in_a.len())));
    assert_eq!(queue_ids(&page), ids(&in_a[..50.min(in_a.len())]));
    let (_, page) = cl2.get("/retention?page=2").await;
    assert_eq!(queue_ids(&page), ids(&in_a[50..100.min(in_a.len())]));
}

/// A database from before closing times were kept: migration 000019 dates each closed
/// referral by the history entry that closed it, and leaves open ones undated.
#[tokio::test]
async fn the_migration_dates_referrals_closed_before_it() {
    use diesel::connection::SimpleConnection;
    let t = cast().await;
    let c = clients(&t).await;
    let closed = declined(&c.po, &c.cl, &t.app.area_a, 1).await;
    // The transition that closes a referral dates it as its history entry does.
    let id = closed.clone();
    let (closed_at, history_at) = t
        .app
        .state
        .db
        .run(move |c| {
            let closed_at: Option<NaiveDateTime> = referrals::table
                .find(&id)
                .select(referrals::closed_at)
                .first(c)?;
            let history_at: NaiveDateTime = referral_status_history::table
                .filter(referral_status_history::referral_id.eq(&id))
                .filter(referral_status_history::to_status.eq("declined"))
                .select(referral_status_history::at)
                .first(c)?;
            Ok((closed_at, history_at))
        })
        .await
        .unwrap();
    assert_eq!(closed_at, Some(history_at));
    closed_days_ago(&t.app, &closed, 900).await;
    let open = open_referral(&c.po, &t.app.area_a, "R299998").await;
    let dir = format!(
        "{}/migrations/{}/2026-11-22-000019_retention_due",
        env!("CARGO_MANIFEST_DIR"),
        t.app.state.db.backend()
    );
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).unwrap();
    let (down, up) = (read("down.sql"), read("up.sql"));
    let (ids, expected) = (
        [closed.clone(), open.clone()],
        (today() - Duration::days(900)).and_hms_opt(12, 0, 0),
    );
    let dated = t
        .app
        .state
        .db
        .write(move |c| {
            let closing_times = |c: &mut DbConn| {
                ids.iter()
                    .map(|id| {
                        referrals::table
                            .find(id)
                            .select(referrals::closed_at)
                            .first(c)
                    })
                    .collect::<Result<Vec<Option<NaiveDateTime>>, _>>()
            };
            assert_eq!(closing_times(c)?, [expected, None]);
            c.batch_execute(&down)?;
            c.batch_execute(&up)?;
            Ok(closing_times(c)?)
        })
        .await
        .unwrap();
    assert_eq!(dated, [expected, None]);
}

#[tokio::test]
async fn keeping_a_record_needs_a_reason_and_a_date_and_moves_its_review() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = declined(&c.po, &c.cl, &t.app.area_a, 1).await;
    closed_days_ago(&t.app, &id, 3 * 365).await;
    let reference = reference(&t.app, &id).await;
    let cl = t.app.browser(&t.cl).await;
    let path = format!("/retention/{id}");
    let (_, page) = cl.get(&path).await;
    let version = version_on(&page);

    // A past date: the error summary, the input kept.
    let past = date_fields(today() - Duration::days(3));
    let mut form: Vec<(&str, &str)> = vec![
        ("version", &version),
        ("decision", "retain"),
        ("reason", "A complaint about the decision is open"),
    ];
    form.extend(past.iter().map(|(k, v)| (*k, v.as_str())));
    let (status, _, page) = cl.post(&path, &form).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("govuk-error-summary"), "{page}");
    assert!(page.contains("The next review date must be in the future"));
    assert!(
        page.contains("A complaint about the decision is open"),
        "input kept"
    );
    assert!(page.contains("<title>Error:"));
    // Too far ahead.
    let far = date_fields(today() + Duration::days(6 * 366));
    let mut form_far: Vec<(&str, &str)> = vec![
        ("version", &version),
        ("decision", "retain"),
        ("reason", "Complaint open"),
    ];
    form_far.extend(far.iter().map(|(k, v)| (*k, v.as_str())));
    let (_, _, page) = cl.post(&path, &form_far).await;
    assert!(page.contains("within 5 years"), "{page}");
    // Erasing without the confirmation.
    let (status, _, page) = cl
        .post(
            &path,
            &[
                ("version", &version),
                ("decision", "erase"),
                ("reason", "Period over"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("cannot be recovered"), "{page}");
    assert_eq!(t.app.decisions(&id).await, 0, "nothing decided yet");

    // A good decision: off the queue, next review set, timeline and audit written.
    let next_review = today() + Duration::days(200);
    let fields = date_fields(next_review);
    let mut good: Vec<(&str, &str)> = vec![
        ("version", &version),
        ("decision", "retain"),
        ("reason", "A complaint about the decision is open"),
    ];
    good.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    let (status, location, _) = cl.post(&path, &good).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/retention");
    let (_, page) = cl.get("/retention").await;
    assert!(
        !page.contains(reference.as_str()),
        "kept until the next review"
    );
    // The same form again (a double submission) changes nothing.
    let (status, _, _) = cl.post(&path, &good).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(t.app.decisions(&id).await, 1, "one decision");
    let rid = id.clone();
    let (review_on, events): (Option<NaiveDate>, Vec<String>) = t
        .app
        .state
        .db
        .run(move |c| {
            Ok((
                referrals::table
                    .find(&rid)
                    .select(referrals::retention_review_on)
                    .first(c)?,
                referral_events::table
                    .filter(referral_events::referral_id.eq(&rid))
                    .select(referral_events::kind)
                    .load(c)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(review_on, Some(next_review));
    assert!(events.contains(&"record_retained".to_owned()));
    let audit = t.app.audit_of(&id, "retention.retained").await;
    assert_eq!(
        audit.as_deref(),
        Some("A complaint about the decision is open")
    );

    // The next review date comes: back on the queue, due on that date.
    let rid = id.clone();
    let back = today() - Duration::days(1);
    t.app
        .state
        .db
        .write(move |c| {
            diesel::update(referrals::table.find(&rid))
                .set(referrals::retention_review_on.eq(back))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let (_, page) = cl.get("/retention").await;
    assert!(page.contains(reference.as_str()));
    assert!(page.contains(&mhtr_pathway::web::format::date(back)));
}

type AreaMonth = (String, NaiveDate, i32, i32, i32);
type CubeRow = (String, NaiveDate, String, i64);

/// Everything the report is made of, to compare before and after.
fn figures(c: &mut DbConn) -> (Vec<Fact>, Vec<AreaMonth>, Vec<CubeRow>) {
    (
        report_facts::table
            .order(report_facts::referral_id)
            .select(Fact::as_select())
            .load(c)
            .unwrap(),
        report_area_months::table
            .order((report_area_months::area_id, report_area_months::month))
            .load(c)
            .unwrap(),
        report_cube::table
            .order((
                report_cube::area_id,
                report_cube::month,
                report_cube::indicator,
            ))
            .load(c)
            .unwrap(),
    )
}

#[tokio::test]
async fn erasure_blanks_every_personal_field_and_keeps_the_figures() {
    let t = cast().await;
    let c = clients(&t).await;
    let treated = closed_after_treatment(&t, &c, 1).await;
    let declined_id = declined(&c.po, &c.cl, &t.app.area_a, 2).await;
    closed_days_ago(&t.app, &treated, 7 * 365).await;
    closed_days_ago(&t.app, &declined_id, 3 * 365).await;
    let admin_api = t.app.api(&t.admin).await;
    let (status, report_before) = admin_api.get("/api/v1/reports/uptake").await;
    assert_eq!(status, StatusCode::OK);
    let before = t.app.state.db.run(|c| Ok(figures(c))).await.unwrap();
    let reference = reference(&t.app, &treated).await;
    let (status, r) = c
        .cl
        .post(
            &format!("/api/v1/referrals/{treated}/contact"),
            &json!({"mobile": "07700900123", "address": ["2 Elm Street", "Oakham", "LE15 6AB"], "channel": "sms", "language": "en", "consent": "yes"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");

    let admin = t.app.browser(&t.admin).await;
    for id in [&treated, &declined_id] {
        let path = format!("/retention/{id}");
        let (_, page) = admin.get(&path).await;
        let version = version_on(&page);
        let (status, location, page) = admin
            .post(
                &path,
                &[
                    ("version", &version),
                    ("decision", "erase"),
                    ("reason", "Retention period over; no reason to keep"),
                    ("confirm_erase", "yes"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(location, "/retention");
    }
    let (_, page) = admin.get("/retention").await;
    assert!(page.contains("No records are due for review"), "{page}");

    // Every personal field is blank.
    let id = treated.clone();
    let reference_in_emails = reference.clone();
    t.app
        .state
        .db
        .run(move |c| {
            let person_id: String = referrals::table
                .find(&id)
                .select(referrals::person_id)
                .first(c)?;
            let (given, family, born, pnc, crn, erased): (
                String,
                String,
                NaiveDate,
                Option<String>,
                Option<String>,
                Option<NaiveDateTime>,
            ) = people::table
                .find(&person_id)
                .select((
                    people::given_name,
                    people::family_name,
                    people::date_of_birth,
                    people::pnc_id,
                    people::crn,
                    people::erased_at,
                ))
                .first(c)?;
            assert_eq!((given.as_str(), family.as_str()), ("", ""));
            assert_eq!(born, NaiveDate::from_ymd_opt(1900, 1, 1).unwrap());
            assert_eq!((pnc, crn), (None, None));
            assert!(erased.is_some());
            let contact: i64 = mhtr_pathway::db::schema::contact_details::table
                .filter(mhtr_pathway::db::schema::contact_details::person_id.eq(&person_id))
                .count()
                .get_result(c)?;
            assert_eq!(contact, 0, "the contact details go with the person");
            let (details, erased_at, erased_by): (String, Option<NaiveDateTime>, Option<String>) =
                referrals::table
                    .find(&id)
                    .select((
                        referrals::details,
                        referrals::erased_at,
                        referrals::erased_by,
                    ))
                    .first(c)?;
            assert!(!details.contains("Leicester"), "{details}");
            assert!(erased_at.is_some() && erased_by.is_some());
            let history: Vec<(String, String)> = referral_status_history::table
                .filter(referral_status_history::referral_id.eq(&id))
                .select((
                    referral_status_history::summary,
                    referral_status_history::details,
                ))
                .load(c)?;
            assert!(history.len() > 5);
            for (summary, details) in &history {
                assert_eq!(summary, "");
                assert!(!details.contains("Crown Court"), "{details}");
                assert!(
                    !details.contains("isolation"),
                    "the report's text: {details}"
                );
            }
            use mhtr_pathway::db::schema::{attendance_corrections, session_notes};
            let notes: Vec<Option<String>> = session_notes::table
                .filter(session_notes::referral_id.eq(&id))
                .select(session_notes::body)
                .load(c)?;
            assert!(notes.len() >= 3, "{notes:?}");
            assert!(notes.iter().all(Option::is_none), "{notes:?}");
            let why: Vec<Option<String>> = attendance_corrections::table
                .filter(attendance_corrections::referral_id.eq(&id))
                .select(attendance_corrections::reason)
                .load(c)?;
            assert_eq!(why, vec![None]);
            let amended: i64 = referral_amendments::table
                .filter(referral_amendments::referral_id.eq(&id))
                .filter(
                    referral_amendments::old_value
                        .ne("")
                        .or(referral_amendments::new_value.ne(""))
                        .or(referral_amendments::reason.ne("")),
                )
                .count()
                .get_result(c)?;
            assert_eq!(amended, 0);
            let events: Vec<(String, String)> = referral_events::table
                .filter(referral_events::referral_id.eq(&id))
                .select((referral_events::kind, referral_events::summary))
                .load(c)?;
            for (kind, summary) in &events {
                if kind == "personal_data_erased" {
                    assert_eq!(summary, "Personal data erased under the retention policy");
                } else {
                    assert_eq!(summary, "", "{kind}");
                }
            }
            assert!(events.iter().any(|(k, _)| k == "personal_data_erased"));
            type Notes = (
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
            );
            let sessions: Vec<Notes> = treatment_sessions::table
                .filter(treatment_sessions::referral_id.eq(&id))
                .select((
                    treatment_sessions::engagement_notes,
                    treatment_sessions::summary_for_ro,
                    treatment_sessions::location,
                    treatment_sessions::change_reason,
                    treatment_sessions::cancel_reason,
                ))
                .load(c)?;
            assert!(!sessions.is_empty());
            assert!(
                sessions
                    .iter()
                    .all(|s| *s == (None, None, None, None, None))
            );
            let answers: Vec<String> = outcome_measures::table
                .filter(outcome_measures::referral_id.eq(&id))
                .select(outcome_measures::answers)
                .load(c)?;
            assert_eq!(answers.len(), 2);
            assert!(answers.iter().all(String::is_empty));
            let summary: String = end_summaries::table
                .find(&id)
                .select(end_summaries::summary)
                .first(c)?;
            assert_eq!(summary, "");
            let no_onward: String = no_onward_support::table
                .find(&id)
                .select(no_onward_support::reason)
                .first(c)?;
            assert_eq!(no_onward, "");
            let reasons: Vec<Option<String>> = signpostings::table
                .filter(signpostings::referral_id.eq(&id))
                .select(signpostings::reason)
                .load(c)?;
            assert_eq!(reasons, vec![None]);
            let linked: Vec<(String, Option<String>)> = linked_requirements::table
                .filter(linked_requirements::referral_id.eq(&id))
                .select((
                    linked_requirements::treatment_director,
                    linked_requirements::key_contact,
                ))
                .load(c)?;
            assert!(linked.iter().all(|l| *l == (String::new(), None)));
            let notes: i64 = linked_activity::table
                .inner_join(linked_requirements::table)
                .filter(linked_requirements::referral_id.eq(&id))
                .filter(linked_activity::note.ne(""))
                .count()
                .get_result(c)?;
            assert_eq!(notes, 0);
            let emails: i64 = outbox_messages::table
                .filter(
                    outbox_messages::text_body
                        .like(format!("%{reference_in_emails}%"))
                        .or(outbox_messages::subject.like(format!("%{reference_in_emails}%"))),
                )
                .count()
                .get_result(c)?;
            assert_eq!(emails, 0, "no email still carries the referral");
            Ok(())
        })
        .await
        .unwrap();

    // The report is unchanged, to the figure, and a recount agrees.
    let after = t.app.state.db.run(|c| Ok(figures(c))).await.unwrap();
    assert_eq!(before, after);
    let (_, report_after) = admin_api.get("/api/v1/reports/uptake").await;
    assert_eq!(without_time(report_before), without_time(report_after));
    let recount = t
        .app
        .state
        .db
        .run(mhtr_pathway::reports::upkeep::recount)
        .await
        .unwrap();
    assert!(
        recount.facts_equal
            && recount.months_equal
            && recount.aggregates_equal
            && recount.quality_equal
            && recount.capacity_equal,
        "{recount:?}"
    );

    // Audited with the reason, and the chain still verifies.
    let audit = t.app.audit_of(&treated, "retention.erased").await;
    assert_eq!(
        audit.as_deref(),
        Some("Retention period over; no reason to keep")
    );
    let verified = t
        .app
        .state
        .db
        .run(mhtr_pathway::audit::verify)
        .await
        .unwrap();
    assert!(verified.is_ok(), "{verified:?}");

    // The referral page says it was erased and shows nobody; the case list still loads.
    let cl = t.app.browser(&t.cl).await;
    let (status, page) = cl.get(&format!("/referrals/{treated}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Personal data erased"), "{page}");
    assert!(
        !page.contains("Robin") && !page.contains("Retainer"),
        "{page}"
    );
    let (status, page) = cl.get("/referrals?tab=ended").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Robin"));
    let (status, _) = c.cl.get(&format!("/api/v1/referrals/{treated}")).await;
    assert_eq!(status, StatusCode::OK);
    // Nothing new is written about it.
    let (status, _) = cl
        .get(&format!("/referrals/{treated}/linked-requirements/new"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A second decision cannot follow.
    let (status, _, _) = admin
        .post(
            &format!("/retention/{treated}"),
            &[
                ("version", "99"),
                ("decision", "erase"),
                ("reason", "Again"),
                ("confirm_erase", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

/// The report as JSON without the moment it was made.
fn without_time(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("generated_at");
    }
    v
}

impl TestApp {
    async fn audit_of(&self, referral_id: &str, event: &str) -> Option<String> {
        use mhtr_pathway::db::schema::audit_events as a;
        let (id, event) = (referral_id.to_owned(), event.to_owned());
        self.state
            .db
            .run(move |c| {
                Ok(a::table
                    .filter(a::record_id.eq(&id))
                    .filter(a::event.eq(&event))
                    .select(a::reason)
                    .first::<Option<String>>(c)
                    .optional()?
                    .flatten())
            })
            .await
            .unwrap()
    }

    async fn decisions(&self, referral_id: &str) -> i64 {
        let id = referral_id.to_owned();
        self.state
            .db
            .run(move |c| {
                Ok(retention_decisions::table
                    .filter(retention_decisions::referral_id.eq(&id))
                    .count()
                    .get_result(c)?)
            })
            .await
            .unwrap()
    }
}
