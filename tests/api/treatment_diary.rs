//! The diary, capacity and waiting list, working patterns, service closures and the
//! calendar feed. Referrals and sessions are written straight to the database (these pages
//! only read them), each write ending as the service's do, with the referral's kept figures
//! refreshed (`reports::upkeep::refresh`).

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use icalendar::parser::{read_calendar, unfold};
use mhtr_pathway::db::DbConn;
use mhtr_pathway::db::schema::{
    calendar_feeds, people, practitioner_capacity, referrals, service_closures, treatment_sessions,
};
use mhtr_pathway::ids::new_id;
use mhtr_pathway::sessions::diary::{monday_of, week_code};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{
    TestApp, TestUser, assert_redirects_to, element_text, error_summary, field_error, input_value,
    navigation, spawn_app, today, unescape,
};

/// A person and their referral in `area`; returns the referral's id and reference.
struct Case<'a> {
    area: &'a str,
    given: &'a str,
    family: &'a str,
    status: &'a str,
    sentence_date: Option<NaiveDate>,
    updated_at: NaiveDateTime,
    allocated: Option<&'a str>,
}

impl<'a> Case<'a> {
    fn new(area: &'a str, given: &'a str, family: &'a str) -> Self {
        Self {
            area,
            given,
            family,
            status: "in_treatment",
            sentence_date: None,
            updated_at: today().and_time(NaiveTime::MIN),
            allocated: None,
        }
    }
}

fn add_referral(app: &TestApp, by: &TestUser, case: Case<'_>) -> (String, String) {
    let area = app.area_id(case.area);
    let person = new_id();
    let id = new_id();
    let reference = format!("MH-{}", &id[id.len() - 9..].to_uppercase().replace('-', ""));
    let now = mhtr_pathway::clock::now();
    app.with_db(|c| {
        diesel::insert_into(people::table)
            .values((
                people::id.eq(&person),
                people::given_name.eq(case.given),
                people::family_name.eq(case.family),
                people::date_of_birth.eq(NaiveDate::from_ymd_opt(1990, 4, 2).unwrap()),
                people::sex.eq("female"),
                people::gender_identity.eq("same_as_sex"),
                people::crn.eq(Some("X123456")),
                people::area_id.eq(&area),
                people::interpreter_needed.eq(false),
                people::created_at.eq(now),
                people::updated_at.eq(now),
            ))
            .execute(c)
            .expect("insert person");
        diesel::insert_into(referrals::table)
            .values((
                referrals::id.eq(&id),
                referrals::reference.eq(&reference),
                referrals::person_id.eq(&person),
                referrals::area_id.eq(&area),
                referrals::entry_point.eq("probation"),
                referrals::status.eq(case.status),
                referrals::version.eq(1_i64),
                referrals::created_by.eq(&by.id),
                referrals::allocated_ap_id.eq(case.allocated),
                referrals::offence_category.eq("theft"),
                referrals::urgency.eq("routine"),
                referrals::details.eq("{}"),
                referrals::submitted_at.eq(now),
                referrals::updated_at.eq(case.updated_at),
                referrals::sentence_date.eq(case.sentence_date),
            ))
            .execute(c)
            .expect("insert referral");
        mhtr_pathway::reports::upkeep::refresh(c, &id).expect("refresh");
    });
    (id, reference)
}

struct Appointment<'a> {
    referral: &'a str,
    area: &'a str,
    ap: &'a str,
    starts_at: NaiveDateTime,
    mode: &'a str,
    location: Option<&'a str>,
    status: &'a str,
    outcome: Option<&'a str>,
}

impl<'a> Appointment<'a> {
    fn booked(referral: &'a str, ap: &'a str, starts_at: NaiveDateTime) -> Self {
        Self {
            referral,
            area: "Rutland",
            ap,
            starts_at,
            mode: "video",
            location: None,
            status: "booked",
            outcome: None,
        }
    }
}

fn add_session(app: &TestApp, a: Appointment<'_>) -> String {
    let id = new_id();
    let area = app.area_id(a.area);
    let now = mhtr_pathway::clock::now();
    app.with_db(|c: &mut DbConn| {
        diesel::insert_into(treatment_sessions::table)
            .values((
                treatment_sessions::id.eq(&id),
                treatment_sessions::referral_id.eq(a.referral),
                treatment_sessions::area_id.eq(&area),
                treatment_sessions::ap_user_id.eq(a.ap),
                treatment_sessions::starts_at.eq(a.starts_at),
                treatment_sessions::minutes.eq(50),
                treatment_sessions::mode.eq(a.mode),
                treatment_sessions::location.eq(a.location),
                treatment_sessions::status.eq(a.status),
                treatment_sessions::outcome.eq(a.outcome),
                treatment_sessions::version.eq(1_i64),
                treatment_sessions::created_by.eq(a.ap),
                treatment_sessions::created_at.eq(now),
                treatment_sessions::updated_at.eq(now),
            ))
            .execute(c)
            .expect("insert session");
        mhtr_pathway::reports::upkeep::refresh(c, a.referral).expect("refresh");
    });
    id
}

fn next_monday() -> NaiveDate {
    monday_of(today()) + Days::new(7)
}

fn at(day: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
    day.and_hms_opt(h, m, 0).unwrap()
}

async fn signed_in(app: &TestApp, user: &TestUser) -> crate::helpers::Browser {
    let browser = app.new_browser();
    browser.sign_in(user).await;
    browser
}

#[tokio::test]
async fn an_assistant_psychologist_sees_their_own_week_and_no_one_elses() {
    let app = spawn_app().await;
    let po = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let ap = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let other = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let (mine, my_ref) = add_referral(&app, &po, Case::new("Rutland", "Rosa", "Abbott"));
    let (gone, gone_ref) = add_referral(&app, &po, Case::new("Rutland", "Gail", "Gone"));
    let (theirs, their_ref) = add_referral(&app, &po, Case::new("Rutland", "Tess", "Other"));
    let monday = next_monday();
    let tuesday = monday + Days::new(1);
    add_session(&app, Appointment::booked(&mine, &ap.id, at(tuesday, 10, 0)));
    add_session(
        &app,
        Appointment {
            status: "cancelled",
            ..Appointment::booked(&gone, &ap.id, at(tuesday, 14, 0))
        },
    );
    add_session(
        &app,
        Appointment::booked(&theirs, &other.id, at(tuesday, 11, 0)),
    );
    app.with_db(|c| {
        diesel::insert_into(service_closures::table)
            .values((
                service_closures::id.eq(new_id()),
                service_closures::day.eq(monday + Days::new(2)),
                service_closures::description.eq("Staff training"),
                service_closures::created_at.eq(mhtr_pathway::clock::now()),
            ))
            .execute(c)
            .unwrap();
    });

    let browser = signed_in(&app, &ap).await;
    assert!(navigation(&browser.get_page("/").await).contains("Diary"));
    let week = week_code(monday.iso_week());
    let page = unescape(&browser.get_page(&format!("/diary?week={week}")).await);
    let tuesday_text =
        element_text(&page, &tuesday.format("day-%Y-%m-%d").to_string()).expect("Tuesday");
    assert!(tuesday_text.contains(&my_ref), "{tuesday_text}");
    assert!(tuesday_text.contains("R. A."));
    assert!(tuesday_text.contains("10:00am to 10:50am"));
    assert!(tuesday_text.contains("Video") && tuesday_text.contains("Booked"));
    assert!(page.contains(&format!("href=\"/referrals/{mine}\"")));
    assert!(
        !page.contains(&gone_ref),
        "a cancelled session holds no time"
    );
    assert!(!page.contains(&their_ref), "another practitioner's session");
    let wednesday_text = element_text(
        &page,
        &(monday + Days::new(2)).format("day-%Y-%m-%d").to_string(),
    )
    .unwrap();
    assert!(wednesday_text.contains("Service closed: Staff training"));
    assert!(page.contains(&format!(
        "/diary?week={}",
        week_code((monday + Days::new(7)).iso_week())
    )));

    // The current week by default; bank holidays are marked.
    browser.get_page("/diary").await;
    let christmas = unescape(&browser.get_page("/diary?week=2026-W52").await);
    assert!(christmas.contains("Bank holiday: Christmas Day"));

    let res = browser
        .get(&format!("/diary?week={week}&ap={}", other.id))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        browser.get("/diary?week=not-a-week").await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        app.audit_events()
            .iter()
            .any(|e| e.event == "diary.viewed" && e.record_id.as_deref() == Some(ap.id.as_str()))
    );
}

#[tokio::test]
async fn a_clinical_lead_sees_the_assistant_psychologists_of_their_areas_only() {
    let app = spawn_app().await;
    let po = app.create_user(Role::ProbationOfficer, &["Rutland", "Melton"]);
    let lead = app.create_user(Role::ClinicalLead, &["Rutland"]);
    let near = app.create_user(Role::AssistantPsychologist, &["Rutland", "Melton"]);
    let far = app.create_user(Role::AssistantPsychologist, &["Melton"]);
    let (here, here_ref) = add_referral(&app, &po, Case::new("Rutland", "Rosa", "Abbott"));
    let (there, there_ref) = add_referral(&app, &po, Case::new("Melton", "Mo", "Melton"));
    let tuesday = next_monday() + Days::new(1);
    add_session(
        &app,
        Appointment::booked(&here, &near.id, at(tuesday, 9, 30)),
    );
    add_session(
        &app,
        Appointment {
            area: "Melton",
            ..Appointment::booked(&there, &near.id, at(tuesday, 13, 0))
        },
    );

    let browser = signed_in(&app, &lead).await;
    let nav = navigation(&browser.get_page("/").await);
    assert!(nav.contains("Diary") && nav.contains("Capacity"), "{nav}");
    let week = week_code(next_monday().iso_week());
    let page = unescape(&browser.get_page(&format!("/diary?week={week}")).await);
    assert!(
        page.contains(&near.name),
        "the AP sharing Rutland is offered"
    );
    assert!(!page.contains(&far.name), "the AP only in Melton is not");
    assert!(page.contains(&here_ref) && page.contains("Rosa Abbott"));
    assert!(
        !page.contains(&there_ref),
        "a session outside the lead's areas is not shown"
    );
    let res = browser
        .get(&format!("/diary?week={week}&ap={}", far.id))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    browser
        .get_page(&format!("/diary?week={week}&ap={}", near.id))
        .await;
}

#[tokio::test]
async fn capacity_shows_bookings_against_each_weeks_allowance() {
    let app = spawn_app().await;
    let po = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let lead = app.create_user(Role::ClinicalLead, &["Rutland"]);
    let ap = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let (r, _) = add_referral(&app, &po, Case::new("Rutland", "Rosa", "Abbott"));
    let monday = next_monday();
    for (day, status) in [
        (0, "booked"),
        (1, "booked"),
        (2, "recorded"),
        (3, "cancelled"),
        (4, "superseded"),
    ] {
        add_session(
            &app,
            Appointment {
                status,
                ..Appointment::booked(&r, &ap.id, at(monday + Days::new(day), 10, 0))
            },
        );
    }
    let browser = signed_in(&app, &lead).await;

    // No pattern set: 15 a week.
    let page = browser.get_page("/capacity").await;
    let next = format!("capacity-{}-{}", ap.id, week_code(monday.iso_week()));
    let row = element_text(&page, &next).expect("next week's row");
    assert!(row.contains("3 / 15") && row.contains("20%"), "{row}");
    assert!(row.contains("Within capacity"));

    let res = browser
        .post(
            &format!("/practitioners/{}/capacity", ap.id),
            &[("sessions_per_week", "2"), ("working_days", "mon")],
        )
        .await;
    assert_redirects_to(&res, "/capacity");
    let page = browser.get_page("/capacity").await;
    let row = element_text(&page, &next).unwrap();
    assert!(row.contains("3 / 2") && row.contains("150%"), "{row}");
    assert!(row.contains("Over capacity"));
    let this_week = format!("capacity-{}-{}", ap.id, week_code(today().iso_week()));
    let row = element_text(&page, &this_week).expect("this week's row");
    assert!(row.contains("0 / 2") && row.contains("0%"), "{row}");
}

#[tokio::test]
async fn the_waiting_list_shows_orders_without_a_first_session_longest_waiting_first() {
    let app = spawn_app().await;
    let po = app.create_user(Role::ProbationOfficer, &["Rutland", "Melton"]);
    let lead = app.create_user(Role::ClinicalLead, &["Rutland"]);
    let ap = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let days_ago = |n: u64| today() - Days::new(n);
    let (_, ten) = add_referral(
        &app,
        &po,
        Case {
            status: "mhtr_made",
            sentence_date: Some(days_ago(10)),
            ..Case::new("Rutland", "Ann", "Ten")
        },
    );
    let (_, three) = add_referral(
        &app,
        &po,
        Case {
            status: "allocated",
            updated_at: days_ago(3).and_time(NaiveTime::MIN),
            allocated: Some(&ap.id),
            ..Case::new("Rutland", "Bea", "Three")
        },
    );
    let (thirty_id, thirty) = add_referral(
        &app,
        &po,
        Case {
            status: "inducted",
            sentence_date: Some(days_ago(30)),
            ..Case::new("Rutland", "Cy", "Thirty")
        },
    );
    let first = at(next_monday(), 11, 0);
    add_session(&app, Appointment::booked(&thirty_id, &ap.id, first));
    let (seen_id, seen) = add_referral(
        &app,
        &po,
        Case {
            status: "allocated",
            sentence_date: Some(days_ago(40)),
            ..Case::new("Rutland", "Di", "Seen")
        },
    );
    add_session(
        &app,
        Appointment {
            status: "recorded",
            outcome: Some("attended_late"),
            ..Appointment::booked(&seen_id, &ap.id, at(days_ago(2), 10, 0))
        },
    );
    let (_, elsewhere) = add_referral(
        &app,
        &po,
        Case {
            status: "mhtr_made",
            sentence_date: Some(days_ago(50)),
            ..Case::new("Melton", "Ed", "Elsewhere")
        },
    );
    let (_, treated) = add_referral(
        &app,
        &po,
        Case {
            status: "in_treatment",
            sentence_date: Some(days_ago(60)),
            ..Case::new("Rutland", "Fi", "Treated")
        },
    );

    let browser = signed_in(&app, &lead).await;
    let page = browser.get_page("/capacity").await;
    let table = element_text(&page, "waiting").expect("the waiting list");
    for absent in [&seen, &elsewhere, &treated] {
        assert!(!table.contains(absent.as_str()), "{absent} is not waiting");
    }
    let pos = |s: &str| table.find(s).unwrap_or_else(|| panic!("{s} in {table}"));
    assert!(
        pos(&thirty) < pos(&ten) && pos(&ten) < pos(&three),
        "{table}"
    );
    let words: Vec<&str> = table.split_whitespace().collect();
    let after = |reference: &str| -> Vec<&str> {
        let i = words.iter().position(|w| *w == reference).unwrap();
        words[i..].to_vec()
    };
    let row = after(&thirty).join(" ");
    assert!(
        row.starts_with(&format!("{thirty} C. T. Not allocated")),
        "{row}"
    );
    assert!(row.contains(" 30 "), "{row}");
    assert!(row.contains(&mhtr_pathway::web::format::date(first.date())));
    let row = after(&three).join(" ");
    assert!(
        row.contains(&ap.name) && row.contains("Not recorded 3 None booked"),
        "{row}"
    );
    assert!(!table.contains("Thirty"), "initials only, not names");
}

#[tokio::test]
async fn administrators_add_and_remove_closures_and_nobody_else_can() {
    let app = spawn_app().await;
    let admin = app.create_user(Role::Admin, &["Rutland"]);
    let browser = signed_in(&app, &admin).await;
    assert!(navigation(&browser.get_page("/").await).contains("Closures"));
    let day = today() + Days::new(20);
    let (d, m, y) = (
        day.format("%-d").to_string(),
        day.format("%-m").to_string(),
        day.format("%Y").to_string(),
    );

    // Errors: nothing given, then a past date; the input is kept.
    let res = browser
        .post(
            "/admin/closures",
            &[
                ("closure_date_day", ""),
                ("closure_date_month", ""),
                ("closure_date_year", ""),
                ("description", "Team training"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(error_summary(&page), ["Enter the date of the closure"]);
    assert!(page.contains("href=\"#closure_date-day\""));
    assert_eq!(
        input_value(&page, "description").as_deref(),
        Some("Team training")
    );
    let yesterday = today() - Days::new(1);
    let res = browser
        .post(
            "/admin/closures",
            &[
                ("closure_date_day", &yesterday.format("%-d").to_string()),
                ("closure_date_month", &yesterday.format("%-m").to_string()),
                ("closure_date_year", &yesterday.format("%Y").to_string()),
                ("description", &"x".repeat(201)),
            ],
        )
        .await;
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        [
            "The date of the closure must be today or in the future",
            "The description must be 200 characters or fewer"
        ]
    );

    let fields = [
        ("closure_date_day", d.as_str()),
        ("closure_date_month", m.as_str()),
        ("closure_date_year", y.as_str()),
        ("description", "Team training"),
    ];
    let res = browser.post("/admin/closures", &fields).await;
    assert_redirects_to(&res, "/admin/closures");
    let page = browser.get_page("/admin/closures").await;
    assert!(
        element_text(&page, "closures")
            .unwrap()
            .contains("Team training")
    );
    let res = browser.post("/admin/closures", &fields).await;
    let page = res.text().await.unwrap();
    assert_eq!(
        field_error(&page, "closure_date").as_deref(),
        Some(
            format!(
                "The service is already closed on {}",
                mhtr_pathway::web::format::date(day)
            )
            .as_str()
        )
    );
    let closed = app.with_db(|c| {
        mhtr_pathway::sessions::closures::closed_days(c, today(), today() + Days::new(30)).unwrap()
    });
    assert_eq!(closed.into_iter().collect::<Vec<_>>(), [day]);

    let lead = app.create_user(Role::ClinicalLead, &["Rutland"]);
    let lead_browser = signed_in(&app, &lead).await;
    let id: String = app.with_db(|c| {
        service_closures::table
            .select(service_closures::id)
            .first(c)
            .unwrap()
    });
    let res = lead_browser
        .post(&format!("/admin/closures/{id}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = lead_browser.post("/admin/closures", &fields).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        lead_browser.get("/admin/closures").await.status(),
        StatusCode::FORBIDDEN
    );

    let res = browser
        .post(&format!("/admin/closures/{id}/delete"), &[])
        .await;
    assert_redirects_to(&res, "/admin/closures");
    let page = browser.get_page("/admin/closures").await;
    assert!(page.contains("There are no upcoming closures."));
    browser.get_page("/admin/closures?past=1").await;
    let events: Vec<String> = app.audit_events().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&"service_closure.added".to_owned()));
    assert!(events.contains(&"service_closure.deleted".to_owned()));
}

#[tokio::test]
async fn working_patterns_are_set_by_leads_and_only_read_by_the_practitioner() {
    let app = spawn_app().await;
    let lead = app.create_user(Role::ClinicalLead, &["Rutland"]);
    let ap = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let far = app.create_user(Role::AssistantPsychologist, &["Melton"]);
    let path = format!("/practitioners/{}/capacity", ap.id);

    let browser = signed_in(&app, &lead).await;
    let page = browser.get_page(&path).await;
    assert_eq!(
        input_value(&page, "sessions_per_week").as_deref(),
        Some("15")
    );
    let res = browser.post(&path, &[("sessions_per_week", "0")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        [
            "Sessions per week must be a whole number from 1 to 40",
            "Select at least one working day"
        ]
    );
    assert_eq!(
        input_value(&page, "sessions_per_week").as_deref(),
        Some("0")
    );
    let res = browser
        .post(
            &path,
            &[
                ("sessions_per_week", "12"),
                ("working_days", "tue"),
                ("working_days", "thu"),
            ],
        )
        .await;
    assert_redirects_to(&res, "/capacity");
    let saved: (i32, String) = app.with_db(|c| {
        practitioner_capacity::table
            .find(&ap.id)
            .select((
                practitioner_capacity::sessions_per_week,
                practitioner_capacity::working_days,
            ))
            .first(c)
            .unwrap()
    });
    assert_eq!(saved, (12, "tue,thu".to_owned()));
    let pattern =
        app.with_db(|c| mhtr_pathway::sessions::capacity::working_pattern(c, &far.id).unwrap());
    assert_eq!(pattern, (15, "mon,tue,wed,thu,fri".to_owned()));
    assert!(app.audit_events().iter().any(|e| {
        e.event == "practitioner_capacity.changed" && e.record_id.as_deref() == Some(ap.id.as_str())
    }));
    let res = browser
        .get(&format!("/practitioners/{}/capacity", far.id))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "an AP outside the lead's areas"
    );

    let ap_browser = signed_in(&app, &ap).await;
    let page = ap_browser.get_page(&path).await;
    let pattern = element_text(&page, "pattern").expect("a read-only summary");
    assert!(
        pattern.contains("12") && pattern.contains("Tuesday and Thursday"),
        "{pattern}"
    );
    assert!(!page.contains("name=\"sessions_per_week\""));
    let res = ap_browser
        .post(
            &path,
            &[("sessions_per_week", "40"), ("working_days", "mon")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = ap_browser
        .get(&format!("/practitioners/{}/capacity", far.id))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

fn feed_path(page: &str) -> String {
    let url = element_text(page, "feed-url").expect("the page shows the feed address");
    let start = url.find("/calendar/").expect("a calendar address");
    url[start..].to_owned()
}

#[tokio::test]
async fn the_calendar_feed_carries_references_and_initials_and_stops_when_revoked() {
    let app = spawn_app().await;
    let po = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let ap = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let (r, reference) = add_referral(&app, &po, Case::new("Rutland", "Rosalind", "Abernethy"));
    let monday = next_monday();
    let in_person = add_session(
        &app,
        Appointment {
            mode: "in_person",
            location: Some("Oakham Probation Office, Room 2"),
            ..Appointment::booked(&r, &ap.id, at(monday, 10, 0))
        },
    );
    let cancelled = add_session(
        &app,
        Appointment {
            status: "cancelled",
            ..Appointment::booked(&r, &ap.id, at(monday + Days::new(7), 10, 0))
        },
    );
    add_session(
        &app,
        Appointment {
            status: "superseded",
            ..Appointment::booked(&r, &ap.id, at(monday + Days::new(8), 10, 0))
        },
    );
    add_session(
        &app,
        Appointment::booked(&r, &ap.id, at(today() + Days::new(200), 10, 0)),
    );

    let browser = signed_in(&app, &ap).await;
    assert!(
        browser
            .get_page("/account")
            .await
            .contains("/account/calendar")
    );
    let page = browser.get_page("/account/calendar").await;
    assert!(page.contains("You do not have a calendar feed."));
    let res = browser.post("/account/calendar", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let first = feed_path(&res.text().await.unwrap());
    assert!(first.ends_with(".ics"));
    let page = browser.get_page("/account/calendar").await;
    assert!(!page.contains(".ics"), "the address is shown once");
    assert!(page.contains("Not used yet"));

    let anonymous = app.new_browser();
    let res = anonymous.get(&first).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    let body = res.text().await.unwrap();
    let unfolded = unfold(&body);
    let calendar = read_calendar(&unfolded).expect("the feed parses");
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .collect();
    assert_eq!(
        events.len(),
        2,
        "the booked and the cancelled; not superseded or far ahead"
    );
    let prop = |e: &icalendar::parser::Component<'_>, name: &str| {
        e.properties
            .iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| p.val.as_str().to_owned())
    };
    assert_eq!(
        prop(events[0], "UID"),
        Some(format!("{in_person}@mhtr-pathway"))
    );
    assert_eq!(
        prop(events[0], "SUMMARY"),
        Some(format!("MHTR session – {reference} (R. A.)"))
    );
    assert_eq!(
        prop(events[0], "LOCATION").as_deref(),
        Some("Oakham Probation Office, Room 2")
    );
    assert_eq!(prop(events[0], "STATUS").as_deref(), Some("CONFIRMED"));
    assert_eq!(
        prop(events[1], "UID"),
        Some(format!("{cancelled}@mhtr-pathway"))
    );
    assert_eq!(prop(events[1], "STATUS").as_deref(), Some("CANCELLED"));
    assert_eq!(
        prop(events[1], "LOCATION"),
        None,
        "video sessions have no location"
    );
    for secret in [
        "Rosalind",
        "Abernethy",
        "X123456",
        "1990-04-02",
        "19900402",
        "theft",
        "Theft",
    ] {
        assert!(
            !unfolded.contains(secret),
            "the feed must not contain {secret}"
        );
    }
    let used: Option<NaiveDateTime> = app.with_db(|c| {
        calendar_feeds::table
            .filter(calendar_feeds::revoked_at.is_null())
            .select(calendar_feeds::last_used_at)
            .first(c)
            .unwrap()
    });
    assert!(used.is_some());

    // A new address replaces the old one.
    let res = browser.post("/account/calendar", &[]).await;
    let second = feed_path(&res.text().await.unwrap());
    assert_ne!(first, second);
    assert_eq!(anonymous.get(&first).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(anonymous.get(&second).await.status(), StatusCode::OK);

    let res = browser.post("/account/calendar/revoke", &[]).await;
    assert_redirects_to(&res, "/account/calendar");
    assert_eq!(anonymous.get(&second).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        anonymous.get("/calendar/not-a-token.ics").await.status(),
        StatusCode::NOT_FOUND
    );
    let stored: Vec<String> = app.with_db(|c| {
        calendar_feeds::table
            .select(calendar_feeds::token_hash)
            .load(c)
            .unwrap()
    });
    let token = second
        .trim_start_matches("/calendar/")
        .trim_end_matches(".ics");
    assert!(stored.contains(&mhtr_pathway::ids::sha256_hex(token)));
    assert!(!stored.iter().any(|h| h == token), "only the hash is kept");
}

/// How many practitioners' week tables a capacity page shows.
fn capacity_tables(page: &str) -> usize {
    page.matches("<table class=\"govuk-table\" id=\"capacity-")
        .count()
}

/// The waiting list's references, in the page's order.
fn waiting_references(page: &str) -> Vec<String> {
    let Some(table) = element_text(page, "waiting") else {
        return Vec::new();
    };
    table
        .split_whitespace()
        .filter(|w| w.starts_with("MH-"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn capacity_pages_practitioners_and_the_waiting_list_and_filters_by_area() {
    let app = spawn_app().await;
    let po = app.create_user(Role::ProbationOfficer, &["Rutland", "Melton"]);
    let lead = app.create_user(Role::ClinicalLead, &["Rutland", "Melton"]);
    for _ in 0..22 {
        app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    }
    let melton_ap = app.create_user(Role::AssistantPsychologist, &["Melton"]);
    // 53 waiting in Rutland, sentenced 1 to 53 days ago; one in Melton.
    let mut rutland = Vec::new();
    for n in 1..=53_u64 {
        let (_, reference) = add_referral(
            &app,
            &po,
            Case {
                status: "mhtr_made",
                sentence_date: Some(today() - Days::new(n)),
                ..Case::new("Rutland", "Wait", "Ing")
            },
        );
        rutland.push(reference);
    }
    rutland.reverse(); // the longest waiting first
    let (_, in_melton) = add_referral(
        &app,
        &po,
        Case {
            status: "mhtr_made",
            sentence_date: Some(today() - Days::new(400)),
            ..Case::new("Melton", "Far", "Away")
        },
    );
    let browser = signed_in(&app, &lead).await;

    let page = browser.get_page("/capacity").await;
    let words = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let summary = words(element_text(&page, "capacity-summary").expect("the week's summary"));
    assert!(summary.contains("Assistant psychologists 23"), "{summary}");
    assert!(
        summary.contains("0 / 345 (0%)"),
        "15 a week each: {summary}"
    );
    assert!(
        summary.contains("Waiting for a first session 54"),
        "{summary}"
    );
    assert_eq!(capacity_tables(&page), 20, "20 practitioners a page");
    assert!(page.contains("Page 1 of 2, by name."));
    let mut expected = vec![in_melton.clone()];
    expected.extend(rutland.iter().cloned());
    assert_eq!(waiting_references(&page), expected[..50]);
    assert!(page.contains("54 people waiting"));
    // Each list pages on its own, keeping the other's page.
    let links = unescape(&page);
    assert!(
        links.contains("href=\"/capacity?waiting_page=1&page=2\""),
        "practitioners' next page"
    );
    assert!(
        links.contains("href=\"/capacity?page=1&waiting_page=2\""),
        "waiting list's next page"
    );
    let page = browser.get_page("/capacity?page=2&waiting_page=2").await;
    assert_eq!(capacity_tables(&page), 3);
    assert_eq!(waiting_references(&page), expected[50..]);
    // A page past the end shows the last.
    let page = browser.get_page("/capacity?page=9&waiting_page=9").await;
    assert_eq!(capacity_tables(&page), 3);
    assert_eq!(waiting_references(&page), expected[50..]);

    // One area of the lead's.
    let melton = app.area_id("Melton");
    let page = browser.get_page(&format!("/capacity?area={melton}")).await;
    assert_eq!(capacity_tables(&page), 1);
    assert!(page.contains(&format!("id=\"capacity-{}\"", melton_ap.id)));
    assert_eq!(waiting_references(&page), std::slice::from_ref(&in_melton));
    let summary = words(element_text(&page, "capacity-summary").unwrap());
    assert!(summary.contains("Assistant psychologists 1"), "{summary}");
    assert!(
        summary.contains("Waiting for a first session 1"),
        "{summary}"
    );
    assert!(unescape(&page).contains(&format!(
        "<option value=\"{melton}\" selected>Melton</option>"
    )));
    // An area that is not the lead's is not found.
    let res = browser
        .get(&format!("/capacity?area={}", app.area_id("Leicester")))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// The feed is the practitioner's sign-in by other means: it stops the moment their vetting
/// lapses or their account is disabled, and comes back only with them.
#[tokio::test]
async fn the_calendar_feed_stops_at_once_when_vetting_lapses_or_the_account_is_disabled() {
    let app = spawn_app().await;
    let ap = app.create_user(Role::AssistantPsychologist, &["Rutland"]);
    let browser = signed_in(&app, &ap).await;
    let res = browser.post("/account/calendar", &[]).await;
    let feed = feed_path(&res.text().await.unwrap());
    let anonymous = app.new_browser();
    assert_eq!(anonymous.get(&feed).await.status(), StatusCode::OK);

    app.set_vetting_expiry(&ap, today() - Days::new(1));
    assert_eq!(anonymous.get(&feed).await.status(), StatusCode::NOT_FOUND);
    app.set_vetting_expiry(&ap, today() + Days::new(100));
    assert_eq!(anonymous.get(&feed).await.status(), StatusCode::OK);

    app.with_db(|c| {
        mhtr_pathway::users::service::disable(
            c,
            &mhtr_pathway::users::model::AdminScope::everywhere(),
            &mhtr_pathway::audit::Actor::system("tests"),
            &ap.id,
        )
        .unwrap()
    });
    assert_eq!(anonymous.get(&feed).await.status(), StatusCode::NOT_FOUND);
}
