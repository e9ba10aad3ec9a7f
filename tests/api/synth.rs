//! Synthetic data at small scale: the facts and the report's aggregates it writes equal a
//! recount from the source tables, the fast path of the report equals counting the facts
//! for any period, and the report renders over it.

use chrono::{Datelike, Duration, NaiveDate};
use reqwest::StatusCode;

use mhtr_pathway::db::DbConn;
use mhtr_pathway::reports::catalogue::Count;
use mhtr_pathway::reports::periods::Period;
use mhtr_pathway::reports::uptake;
use mhtr_pathway::users::model::Role;

use crate::helpers::{TestApp, spawn_app, today};

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
    let opts = mhtr_pathway::demo::synth::Options {
        referrals: 2_000,
        seed: 42,
        chunk: 700,
        ..Default::default()
    };
    let mut seen = 0;
    let summary = app.with_db(|c| {
        mhtr_pathway::demo::synth::run(c, &opts, |s| seen = s.referrals).expect("synthetic data")
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

    let recount = app.with_db(|c| mhtr_pathway::reports::upkeep::recount(c).unwrap());
    assert_eq!(recount.referrals, 2_000);
    assert!(recount.facts_equal, "stored facts equal a recount");
    assert!(
        recount.quality_equal,
        "the data-quality figures equal a recount"
    );
    assert!(
        recount.capacity_equal,
        "the capacity counts and waiting list equal a recount"
    );
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
    assert!(total.get(Count::Referred) > 300, "{total:?}");
    assert!(total.get(Count::Referred) > total.get(Count::OrderMade));
    assert!(total.get(Count::OrderMade) > total.get(Count::Completed));
    assert!(total.get(Count::Completed) > 0 && total.get(Count::EndedEarly) > 0);
    assert!(tallies[..9].iter().all(|t| t.get(Count::Referred) > 0));

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
        page.contains(&total.get(Count::Referred).to_string()),
        "the total referrals are shown"
    );
}

/// The viewer behind a demo account, as the pages build it.
/// Synthetic referrals, written in one transaction.
fn synthesise(app: &TestApp, referrals: usize, seed: u64) {
    let opts = mhtr_pathway::demo::synth::Options {
        referrals,
        seed,
        chunk: referrals,
        ..Default::default()
    };
    app.with_db(|c| mhtr_pathway::demo::synth::run(c, &opts, |_| {}).expect("synthetic data"));
}

fn viewer_of(c: &mut DbConn, email: &str) -> mhtr_pathway::referrals::model::Viewer {
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::{user_areas, users};
    let (id, name, role, service_wide, organisation_id): (String, String, Role, bool, String) =
        users::table
            .filter(users::email.eq(email))
            .select((
                users::id,
                users::name,
                users::role,
                users::service_wide,
                users::organisation_id,
            ))
            .first(c)
            .unwrap();
    let area_ids = user_areas::table
        .filter(user_areas::user_id.eq(&id))
        .select(user_areas::area_id)
        .load(c)
        .unwrap();
    mhtr_pathway::referrals::model::Viewer {
        user_id: id,
        name,
        role,
        organisation_id,
        area_ids,
        service_wide,
        police_cleared: true,
    }
}

/// A caseload reached in several ways is read one way at a time and merged, counted and
/// ordered by the service; it must give exactly what the database gives for the whole scope
/// in one query: the same total, and the same referrals on every page, in every order,
/// every tab and with filters.
#[tokio::test]
async fn a_caseload_read_way_by_way_equals_the_whole_scope_asked_at_once() {
    use diesel::prelude::*;
    use mhtr_pathway::db::DbConn;
    use mhtr_pathway::db::schema::referrals;
    use mhtr_pathway::referrals::codes::EntryPoint;
    use mhtr_pathway::referrals::model::{
        self, Caps, ListFilter, NameSearch, Position, Seek, Sort, Total,
    };
    use mhtr_pathway::referrals::state::{Status, Tab};

    let app = spawn_app().await;
    // Staff already working in an area take their share of its synthetic cases.
    let officer = app.create_user(Role::ProbationOfficer, &["Rutland", "Leicester"]);
    let practitioner = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let lead = app.create_user(Role::ClinicalLead, &["Rutland"]);
    synthesise(&app, 900, 7);
    let officer = app.with_db(|c| viewer_of(c, &officer.email));
    let practitioner = app.with_db(|c| viewer_of(c, &practitioner.email));
    let lead = app.with_db(|c| viewer_of(c, &lead.email));

    // Synth makes every officer both referrer and responsible officer; give the demo
    // officer's caseload each of its ways: referrals of others they now hold, their own
    // referrals held by someone else, and arrest referrals waiting for an officer.
    app.with_db(|c| {
        let others: Vec<String> = referrals::table
            .filter(referrals::area_id.eq_any(&officer.area_ids))
            .filter(referrals::created_by.ne(&officer.user_id))
            .order(referrals::id)
            .select(referrals::id)
            .limit(120)
            .load(c)
            .unwrap();
        for (i, id) in others.iter().enumerate() {
            let q = diesel::update(referrals::table.find(id));
            match i % 3 {
                0 => q
                    .set(referrals::responsible_officer_id.eq(&officer.user_id))
                    .execute(c),
                1 => q
                    .set((
                        referrals::entry_point.eq(EntryPoint::Arrest),
                        referrals::responsible_officer_id.eq(None::<String>),
                    ))
                    .execute(c),
                _ => q
                    .set(referrals::responsible_officer_id.eq(None::<String>))
                    .execute(c),
            }
            .unwrap();
        }
        let mine: Vec<String> = referrals::table
            .filter(referrals::created_by.eq(&officer.user_id))
            .order(referrals::id)
            .select(referrals::id)
            .limit(20)
            .load(c)
            .unwrap();
        let colleague: String = referrals::table
            .find(&others[0])
            .select(referrals::created_by)
            .first(c)
            .unwrap();
        diesel::update(referrals::table.filter(referrals::id.eq_any(&mine)))
            .set(referrals::responsible_officer_id.eq(&colleague))
            .execute(c)
            .unwrap();
        // Another officer of the areas has left: their referrals wait for someone to take
        // them over, so they are on this officer's caseload too.
        use mhtr_pathway::db::schema::users;
        let leaver: String = referrals::table
            .filter(referrals::area_id.eq_any(&officer.area_ids))
            .filter(referrals::responsible_officer_id.ne(&officer.user_id))
            .filter(referrals::responsible_officer_id.ne(&colleague))
            .filter(referrals::responsible_officer_id.is_not_null())
            .select(referrals::responsible_officer_id.assume_not_null())
            .first(c)
            .unwrap();
        diesel::update(users::table.find(&leaver))
            .set(users::disabled_at.eq(Some(mhtr_pathway::clock::now())))
            .execute(c)
            .unwrap();
    });

    let sorts = [
        Sort::Newest,
        Sort::Oldest,
        Sort::Updated,
        Sort::Reference,
        Sort::UrgentFirst,
    ];
    let mut filters: Vec<ListFilter> = Tab::ALL
        .iter()
        .map(|t| ListFilter {
            statuses: t.statuses(),
            ..Default::default()
        })
        .collect();
    filters.push(ListFilter::default());
    filters.push(ListFilter {
        entry_point: Some(EntryPoint::Arrest),
        ..Default::default()
    });
    filters.push(ListFilter {
        statuses: vec![Status::Closed],
        area_id: officer.area_ids.first().cloned(),
        ..Default::default()
    });
    // Searches, answered within the caseload: a family name (in part, any case), a whole
    // name, a reference, a CRN, and a name no one has.
    let (family, given, reference, crn): (String, String, String, Option<String>) =
        app.with_db(|c| {
            use mhtr_pathway::db::schema::people;
            referrals::table
                .inner_join(people::table)
                .filter(referrals::responsible_officer_id.eq(&officer.user_id))
                .filter(people::crn.is_not_null())
                .order(referrals::id)
                .select((
                    people::family_name,
                    people::given_name,
                    referrals::reference,
                    people::crn,
                ))
                .first(c)
                .unwrap()
        });
    let part: String = family
        .chars()
        .skip(1)
        .take(3)
        .collect::<String>()
        .to_lowercase();
    for text in [
        part,
        format!("{given} {family}").to_uppercase(),
        reference.to_lowercase(),
        crn.unwrap(),
        "Nobody Atall".to_owned(),
    ] {
        filters.push(ListFilter {
            query: Some(text),
            ..Default::default()
        });
    }
    // Each tab's count, read way by way, is what the whole scope asked at once holds.
    for viewer in [&officer, &practitioner, &lead] {
        app.with_db(|c| {
            let counts = model::tab_counts(c, viewer).unwrap().unwrap();
            // A lead's Ended tab is not counted.
            for tab in Tab::ALL.iter().filter(|t| counts.contains_key(t)) {
                let filter = ListFilter {
                    statuses: tab.statuses(),
                    ..Default::default()
                };
                let all = model::in_order(viewer, &filter)
                    .select(referrals::id)
                    .load::<String>(c)
                    .unwrap()
                    .len() as i64;
                assert_eq!(counts[tab], all, "{:?}, {tab:?}", viewer.role);
            }
        });
    }
    let (mut compared, mut searched, mut sought, mut walked_common) = (0, 0, 0, false);
    for viewer in [&officer, &practitioner, &lead] {
        for filter in &filters {
            for sort in sorts {
                let filter = ListFilter {
                    sort,
                    ..filter.clone()
                };
                app.with_db(|c| {
                    // The whole scope in one query, filtered (searches too), counted and
                    // ordered by the database, as a list of whole areas is read.
                    let all: Vec<String> = model::in_order(viewer, &filter)
                        .select(referrals::id)
                        .load(c)
                        .unwrap();
                    // The lead's list counted only to 100, and a name found by more than
                    // 3 people matched as the list is read, so both ways are compared here.
                    let caps = if viewer.role == Role::ClinicalLead {
                        Caps {
                            counted: 100,
                            named: 3,
                            walked: 30,
                            merged: 4,
                        }
                    } else {
                        Caps::default()
                    };
                    let common = viewer.role == Role::ClinicalLead
                        && filter
                            .query
                            .as_deref()
                            .and_then(NameSearch::new)
                            .is_some_and(|n| {
                                use mhtr_pathway::db::schema::people_names;
                                people_names::table
                                    .filter(people_names::name.like(n.pattern()))
                                    .count()
                                    .get_result::<i64>(c)
                                    .unwrap()
                                    > 3
                            });
                    walked_common |= common;
                    let list = |c: &mut DbConn, at: &Position, limit: i64| {
                        model::list_capped(c, viewer, &filter, at, limit, caps).unwrap()
                    };
                    for (offset, limit) in [(0, 25), (25, 25), (40, 7), (all.len() as i64, 25)] {
                        let (rows, total) = list(c, &Position::at(offset), limit);
                        let n = all.len() as i64;
                        let want_total = if common {
                            Total {
                                count: if rows.is_empty() {
                                    0
                                } else {
                                    offset + rows.len() as i64
                                },
                                more: offset + limit < n,
                                common_name: true,
                            }
                        } else if n > caps.counted {
                            Total {
                                count: caps.counted,
                                more: true,
                                common_name: false,
                            }
                        } else {
                            Total::exact(n)
                        };
                        assert_eq!(
                            total, want_total,
                            "{:?} {filter:?} at {offset}",
                            viewer.role
                        );
                        let got: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
                        let want: Vec<&str> = all
                            .iter()
                            .skip(offset as usize)
                            .take(limit as usize)
                            .map(String::as_str)
                            .collect();
                        assert_eq!(got, want, "{:?} {filter:?} at {offset}", viewer.role);
                        compared += got.len();
                        if filter.query.is_some() {
                            searched += got.len();
                        }
                    }
                    // Keyset paging: forwards from the first page by each page's last
                    // referral, and backwards from the last referral by each page's first,
                    // gives the whole list in order, each referral once.
                    let ids = |rows: Vec<model::ListRow>| -> Vec<String> {
                        rows.into_iter().map(|r| r.id).collect()
                    };
                    let limit = 40;
                    let page = |c: &mut DbConn, seek: Option<Seek>| {
                        let at = Position { offset: 0, seek };
                        ids(list(c, &at, limit).0)
                    };
                    let mut walked = page(c, None);
                    while let Some(last) = walked.last().cloned() {
                        let next = page(c, Some(Seek::After(last)));
                        if next.is_empty() {
                            break;
                        }
                        walked.extend(next);
                    }
                    assert_eq!(walked, all, "forwards: {:?} {filter:?}", viewer.role);
                    let (_, total) = list(c, &Position::at(0), limit);
                    let mut back: Vec<String> = all.last().cloned().into_iter().collect();
                    if !total.more && !all.is_empty() {
                        // The last page, when the list is counted to its end.
                        back = page(c, Some(Seek::Last));
                        assert_eq!(back.len(), (all.len() - 1) % limit as usize + 1);
                    }
                    while let Some(first) = back.first().cloned() {
                        let before = page(c, Some(Seek::Before(first)));
                        if before.is_empty() {
                            break;
                        }
                        back.splice(0..0, before);
                    }
                    assert_eq!(back, all, "backwards: {:?} {filter:?}", viewer.role);
                    sought += all.len();
                });
            }
        }
    }
    assert!(compared > 500, "the caseloads were not empty: {compared}");
    assert!(searched > 0, "the searches found someone in the caseload");
    assert!(
        sought > 1000,
        "the lists paged by keyset were not empty: {sought}"
    );
    assert!(
        walked_common,
        "a name common enough to be matched as the list is read"
    );
    // A seek from a referral out of the viewer's scope is not answered from its place: the
    // page falls back to its number.
    app.with_db(|c| {
        let elsewhere: String = referrals::table
            .filter(referrals::area_id.ne_all(&lead.area_ids))
            .select(referrals::id)
            .first(c)
            .unwrap();
        let filter = ListFilter::default();
        let at = |seek| Position { offset: 40, seek };
        let by_number = model::list(c, &lead, &filter, &at(None), 40).unwrap().0;
        let sought = model::list(c, &lead, &filter, &at(Some(Seek::After(elsewhere))), 40)
            .unwrap()
            .0;
        let ids = |r: &[model::ListRow]| r.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&sought), ids(&by_number));
    });
}

/// A clinical lead's list of whole areas, in each of its orders, is read from an area index
/// alone: each area and status is a range already in that order, so SQLite takes the page
/// from the ranges without visiting every referral (migration 000018 for submission order, the
/// default; 000020 for last update, reference and urgent first. On a million referrals the
/// "Ended" tab of nine areas went from 2.5 s to 0.2 s). The test reads the plan of the query
/// the list really runs. PostgreSQL chooses its plans by its statistics, so this is checked on
/// SQLite.
#[tokio::test]
async fn a_leads_list_in_each_order_reads_an_area_index_alone() {
    use diesel::connection::{Connection, InstrumentationEvent};
    use diesel::prelude::*;
    use mhtr_pathway::referrals::model::{self, ListFilter, Sort};
    use mhtr_pathway::referrals::state::Tab;
    use std::sync::{Arc, Mutex};

    #[derive(QueryableByName, Debug)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    let app = spawn_app().await;
    if app.state.db.backend() != "sqlite" {
        return;
    }
    let lead = app.create_user(Role::ClinicalLead, &["Rutland", "Leicester"]);
    synthesise(&app, 300, 11);
    let lead = app.with_db(|c| viewer_of(c, &lead.email));
    app.with_db(|c| {
        for (sort, index) in [
            (Sort::Newest, "referrals_area_status"),
            (Sort::Oldest, "referrals_area_status"),
            (Sort::Updated, "referrals_area_status_updated"),
            (Sort::Reference, "referrals_area_status_reference"),
            (Sort::UrgentFirst, "referrals_area_status_urgency"),
        ] {
            for tab in [Tab::New, Tab::Ended] {
                let filter = ListFilter {
                    statuses: tab.statuses(),
                    sort,
                    ..Default::default()
                };
                let seen = Arc::new(Mutex::new(Vec::<String>::new()));
                let log = seen.clone();
                c.set_instrumentation(move |e: InstrumentationEvent<'_>| {
                    if let InstrumentationEvent::StartQuery { query, .. } = e {
                        log.lock().unwrap().push(query.to_string());
                    }
                });
                let (rows, total) =
                    model::list(c, &lead, &filter, &model::Position::at(0), 25).unwrap();
                c.set_instrumentation(|_: InstrumentationEvent<'_>| {});
                assert!(
                    total.count > 0 && !rows.is_empty(),
                    "{tab:?}: the list is empty"
                );
                let seen = seen.lock().unwrap();
                let ordered = seen
                    .iter()
                    .find(|q| q.contains("ORDER BY") && q.contains("LIMIT"))
                    .unwrap_or_else(|| panic!("no ordered page query among {seen:?}"));
                let sql = ordered.split(" -- binds").next().unwrap();
                let sql = sql
                    .replace(" LIMIT ? OFFSET ?", " LIMIT 25 OFFSET 0")
                    .replace('?', "'x'");
                let plan: Vec<Step> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load(c)
                    .unwrap();
                assert!(
                    plan.iter().any(|s| s.detail.contains("COVERING INDEX")
                        && s.detail.split(' ').any(|w| w == index)),
                    "{sort:?}, {tab:?}: the page is not read from {index} alone: {plan:?}\n{sql}"
                );
            }
        }
    });
}

/// The retention queue asks the database for the due referrals a page at a time: for each
/// final status, the range of the `referrals_retention_due` index before that status's
/// cut-off, in closing order, with the areas checked inside the index (migration 000019; on
/// a million referrals the queue had read every closed referral and its closing history). The
/// test reads the plans of the queries the queue really runs, for a lead and an
/// administrator, on synthetic data whose closing times it first checks against the history.
#[tokio::test]
async fn the_retention_queue_reads_each_status_from_the_due_index_in_closing_order() {
    use diesel::connection::{Connection, InstrumentationEvent};
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::{referral_status_history, referrals};
    use mhtr_pathway::retention::service;
    use std::sync::{Arc, Mutex};

    #[derive(QueryableByName, Debug)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    let app = spawn_app().await;
    let lead = app.create_user(Role::ClinicalLead, &["Rutland", "Leicester"]);
    let admin = app.create_user(Role::Admin, &[]);
    synthesise(&app, 400, 17);
    let sqlite = app.state.db.backend() == "sqlite";
    let policy = app.state.settings.retention;
    app.with_db(|c| {
        // Every synthetic referral in a final status carries the time of the change that
        // closed it, and no other referral carries one.
        let closing: Vec<(String, String, Option<chrono::NaiveDateTime>)> = referrals::table
            .select((referrals::id, referrals::status, referrals::closed_at))
            .load(c)
            .unwrap();
        let mut closed = 0;
        for (id, status, closed_at) in closing {
            let at: Option<chrono::NaiveDateTime> = referral_status_history::table
                .filter(referral_status_history::referral_id.eq(&id))
                .filter(referral_status_history::to_status.eq(&status))
                .select(diesel::dsl::max(referral_status_history::at))
                .first(c)
                .unwrap();
            let is_final = [
                "declined",
                "not_suitable",
                "mhtr_not_made",
                "withdrawn",
                "closed",
            ]
            .contains(&status.as_str());
            assert_eq!(closed_at, if is_final { at } else { None }, "{id} {status}");
            closed += usize::from(is_final);
        }
        assert!(closed > 100, "{closed} closed");

        for viewer in [viewer_of(c, &lead.email), viewer_of(c, &admin.email)] {
            let seen = Arc::new(Mutex::new(Vec::<String>::new()));
            let log = seen.clone();
            c.set_instrumentation(move |e: InstrumentationEvent<'_>| {
                if let InstrumentationEvent::StartQuery { query, .. } = e {
                    log.lock().unwrap().push(query.to_string());
                }
            });
            let page = service::queue(c, &viewer, &policy, today(), None, 50).unwrap();
            c.set_instrumentation(|_: InstrumentationEvent<'_>| {});
            assert!(page.total > 0 && !page.due.is_empty(), "nothing due");
            if !sqlite {
                // PostgreSQL chooses its plans by its statistics.
                continue;
            }
            let seen = seen.lock().unwrap();
            let reads: Vec<&String> = seen
                .iter()
                .filter(|q| q.contains("`closed_at` < ?"))
                .collect();
            // A count for each final status, and a page for each that has any due.
            assert!(reads.len() > 5, "{seen:?}");
            for q in reads {
                let sql = q.split(" -- binds").next().unwrap().replace('?', "'x'");
                let plan: Vec<Step> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load(c)
                    .unwrap();
                assert!(
                    plan.iter()
                        .any(|s| s.detail.contains("INDEX referrals_retention_due")),
                    "not read from the due index: {plan:?}\n{sql}"
                );
                // Referrals closed at the same instant are put in id order among themselves
                // ("FOR LAST TERM OF ORDER BY"); the range itself is read in closing order.
                assert!(
                    !plan
                        .iter()
                        .any(|s| s.detail.contains("TEMP B-TREE FOR ORDER BY")),
                    "sorted rather than read in order: {plan:?}\n{sql}"
                );
            }
        }
    });
}

/// The hourly housekeeping keeps SQLite's planner statistics: after a database has grown
/// without them, `refresh_statistics` gathers them (PostgreSQL's autovacuum does this there).
#[tokio::test]
async fn planner_statistics_are_gathered_where_they_are_missing() {
    use diesel::prelude::*;
    let app = spawn_app().await;
    if app.state.db.backend() != "sqlite" {
        return;
    }
    synthesise(&app, 300, 3);
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let referral_stats = |c: &mut DbConn| -> i64 {
        diesel::sql_query("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat1'")
            .get_result::<Count>(c)
            .unwrap()
            .n
            * diesel::sql_query("SELECT count(*) AS n FROM sqlite_stat1 WHERE tbl = 'referrals'")
                .get_result::<Count>(c)
                .map(|r| r.n)
                .unwrap_or(0)
    };
    // A database that grew without ever being analysed, and one analysed while it had no
    // referrals.
    for forget in ["DROP TABLE sqlite_stat1", "DELETE FROM sqlite_stat1"] {
        app.with_db(|c| {
            mhtr_pathway::db::refresh_statistics(c).unwrap();
            assert!(referral_stats(c) > 0);
            diesel::sql_query(forget).execute(c).unwrap();
            assert_eq!(referral_stats(c), 0);
            mhtr_pathway::db::refresh_statistics(c).unwrap();
            assert!(
                referral_stats(c) > 0,
                "the referrals' indexes were analysed after {forget}"
            );
        });
    }
}
