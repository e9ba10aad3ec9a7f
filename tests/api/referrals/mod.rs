//! Referrals end to end (with their own small harness), through the pages and the API, on SQLite (default) or PostgreSQL
//! (`TEST_DATABASE_URL`).

mod access_reason;
pub(crate) mod helpers;
mod identity;

use crate::helpers::unescape;
use chrono::Duration;
use diesel::prelude::*;
use helpers::{Api, Browser, LEAD_REASON, TestApp, TestUser, spawn_app};
use mhtr_pathway::db::schema::{
    referral_amendments, referral_drafts, referral_status_history, referrals,
};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) struct Cast {
    app: TestApp,
    po: TestUser,
    po_b: TestUser,
    cl: TestUser,
    ap: TestUser,
    ap2: TestUser,
    councillor: TestUser,
}

pub(crate) async fn cast() -> Cast {
    let app = spawn_app().await;
    let (a, b) = (app.area_a.clone(), app.area_b.clone());
    Cast {
        po: app
            .create_user(Role::ProbationOfficer, "Pat Officer", &[&a])
            .await,
        po_b: app
            .create_user(Role::ProbationOfficer, "Bea Elsewhere", &[&b])
            .await,
        cl: app
            .create_user(Role::ClinicalLead, "Dr Lee Lead", &[&a, &b])
            .await,
        ap: app
            .create_user(Role::AssistantPsychologist, "Ash Psych", &[&a])
            .await,
        ap2: app
            .create_user(Role::AssistantPsychologist, "Other Psych", &[&a])
            .await,
        councillor: app.create_user(Role::Councillor, "Cllr Count", &[&a]).await,
        app,
    }
}

pub(crate) fn probation_json(area: &str, given: &str, family: &str, crn: Option<&str>) -> Value {
    json!({
        "entry_point": "probation",
        "given_name": given,
        "family_name": family,
        "date_of_birth": "1990-04-01",
        "sex": "male",
        "gender_identity": "same_as_sex",
        "ethnicity": "white_british",
        "crn": crn,
        "area_id": area,
        "interpreter_needed": false,
        "court": "Leicester Magistrates' Court",
        "hearing_date": "2026-12-14",
        "offence_category": "theft",
        "needs": ["anxiety"],
        "substance_misuse": false,
        "drr_atr": "none",
        "rosh_level": "low",
        "risk_to_staff": false,
        "urgency": "routine",
        "session_mode": "phone",
    })
}

/// Undoes the merge offered on the referral page at `path` (a clinical lead's browser).
pub(crate) async fn undo_merge_shown_on(cl: &Browser, path: &str, referral_id: &str) -> StatusCode {
    let (_, page) = cl.get(path).await;
    assert!(page.contains("Undo this merge"));
    let marker = "action=\"/people/merges/";
    let start = page.find(marker).unwrap() + marker.len();
    let merge_id = page[start..].split('/').next().unwrap().to_owned();
    cl.post(
        &format!("/people/merges/{merge_id}/undo"),
        &[("referral_id", referral_id)],
    )
    .await
    .0
}

pub(crate) async fn api_referral(api: &Api, body: &Value) -> Value {
    let (status, r) = api.post("/api/v1/referrals", body).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    r
}

fn dmy(iso: &str) -> (String, String, String) {
    let p: Vec<&str> = iso.split('-').collect();
    (p[2].to_owned(), p[1].to_owned(), p[0].to_owned())
}

/// Makes a referral through the question pages; returns the referral id.
pub(crate) async fn page_referral(b: &Browser, area: &str, entry: &str, crn: &str) -> String {
    let (status, loc, _) = b.post("/referrals/new", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let draft = loc
        .trim_start_matches("/referrals/drafts/")
        .trim_end_matches("/entry-point")
        .to_owned();
    let step = |s: &str| format!("/referrals/drafts/{draft}/{s}");
    let (status, loc, _) = b
        .post(&step("entry-point"), &[("entry_point", entry)])
        .await;
    assert_eq!(
        (status, loc.as_str()),
        (StatusCode::SEE_OTHER, step("person").as_str())
    );
    let (status, loc, body) = b
        .post(
            &step("person"),
            &[
                ("given_name", "Robin"),
                ("family_name", "Page"),
                ("date_of_birth_day", "2"),
                ("date_of_birth_month", "7"),
                ("date_of_birth_year", "1988"),
                ("sex", "female"),
                ("gender_identity", "same_as_sex"),
                ("ethnicity", "mixed_white_asian"),
                ("crn", crn),
                ("pnc_id", "2001/12345H"),
                ("area_id", area),
                ("interpreter_needed", "no"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(loc, step("details"));
    let details: Vec<(&str, &str)> = if entry == "arrest" {
        vec![
            ("location_kind", "custody_suite"),
            ("location", "Euston Street"),
            ("ld_practitioner", "Jordan Ellis"),
            ("vulnerabilities", "mental_health"),
            ("vulnerabilities", "debt"),
            ("consent_to_share", "yes"),
            ("offence_category", "public_order"),
        ]
    } else {
        vec![
            ("court", "Leicester Crown Court"),
            ("hearing_date_day", "14"),
            ("hearing_date_month", "12"),
            ("hearing_date_year", "2026"),
            ("offence_category", "theft"),
        ]
    };
    let (status, loc, body) = b.post(&step("details"), &details).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(loc, step("needs-and-risk"));
    let (status, loc, body) = b
        .post(
            &step("needs-and-risk"),
            &[
                ("needs", "depression"),
                ("needs", "ptsd"),
                ("substance_misuse", "no"),
                ("drr_atr", "none"),
                ("rosh_level", "medium"),
                ("risk_to_staff", "no"),
                ("urgency", "urgent"),
                ("session_mode", "video"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(loc, step("check"));
    let (status, page) = b.get(&step("check")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Check your answers"));
    assert!(page.contains("12345H"));
    assert!(page.contains("Robin"));
    let (status, loc, body) = b.post(&step("check"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(loc.starts_with("/referrals/"), "{loc}");
    // The same form sent again makes no second referral: it leads to the first.
    let (again, loc2, _) = b.post(&step("check"), &[]).await;
    assert_eq!(again, StatusCode::SEE_OTHER);
    assert_eq!(loc2, loc);
    loc.trim_start_matches("/referrals/").to_owned()
}

async fn version_of(app: &TestApp, id: &str) -> i64 {
    let id = id.to_owned();
    app.state
        .db
        .run(move |c| {
            Ok(referrals::table
                .find(id)
                .select(referrals::version)
                .first::<i64>(c)?)
        })
        .await
        .unwrap()
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let id = id.to_owned();
    app.state
        .db
        .run(move |c| {
            Ok(referrals::table
                .find(id)
                .select(referrals::status)
                .first::<String>(c)?)
        })
        .await
        .unwrap()
}

/// Takes an action through the pages, expecting success.
async fn act(app: &TestApp, b: &Browser, id: &str, action: &str, fields: &[(&str, &str)]) {
    let v = version_of(app, id).await.to_string();
    let (status, _) = b.get(&format!("/referrals/{id}/actions/{action}")).await;
    assert_eq!(status, StatusCode::OK, "form for {action}");
    let mut f: Vec<(&str, &str)> = fields.to_vec();
    f.push(("version", &v));
    let (status, loc, body) = b
        .post(&format!("/referrals/{id}/actions/{action}"), &f)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{action}: {body}");
    assert_eq!(loc, format!("/referrals/{id}"));
}

fn date_fields<'a>(name: &str, d: &'a (String, String, String)) -> Vec<(String, &'a str)> {
    vec![
        (format!("{name}_day"), d.0.as_str()),
        (format!("{name}_month"), d.1.as_str()),
        (format!("{name}_year"), d.2.as_str()),
    ]
}

#[tokio::test]
async fn a_probation_referral_goes_through_the_whole_pathway_on_the_pages() {
    let t = cast().await;
    let (po, cl, ap) = (
        t.app.browser(&t.po).await,
        t.app.browser(&t.cl).await,
        t.app.browser(&t.ap).await,
    );
    let id = page_referral(&po, &t.app.area_a, "probation", "X123456").await;
    let count: i64 = t
        .app
        .state
        .db
        .run(|c| Ok(referrals::table.count().get_result(c)?))
        .await
        .unwrap();
    assert_eq!(count, 1, "double submission made one referral");

    let today = chrono::Utc::now().date_naive();
    let past = (today - Duration::days(1)).to_string();
    let future = (today + Duration::days(20)).to_string();
    let later = (today + Duration::days(200)).to_string();
    let (p, f, l) = (dmy(&past), dmy(&future), dmy(&later));
    let with = |name: &str, d: &(String, String, String)| -> Vec<(String, String)> {
        date_fields(name, d)
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect()
    };
    macro_rules! go {
        ($b:expr, $action:expr, $fields:expr) => {{
            let owned: Vec<(String, String)> = $fields;
            let refs: Vec<(&str, &str)> = owned
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            act(&t.app, $b, &id, $action, &refs).await;
        }};
    }
    go!(&cl, "accept", vec![]);
    let mut booking = with("assessment_date", &f);
    booking.push(("assessor_id".into(), t.ap.id.clone()));
    go!(&cl, "book_assessment", booking);
    go!(&ap, "record_assessment", with("assessment_date", &p));
    go!(&cl, "record_suitable", vec![]);
    // What is done today starts with today's date (UK).
    let uk_today = mhtr_pathway::clock::today();
    let (_, form) = ap
        .get(&format!("/referrals/{id}/actions/record_consent"))
        .await;
    for (part, value) in [
        ("day", uk_today.format("%-d").to_string()),
        ("month", uk_today.format("%-m").to_string()),
        ("year", uk_today.format("%Y").to_string()),
    ] {
        assert!(
            form.contains(&format!(
                "name=\"consent_date_{part}\" type=\"text\" value=\"{value}\""
            )),
            "consent date {part} prefilled: {form}"
        );
    }
    go!(&ap, "record_consent", with("consent_date", &p));
    let mut report = with("report_date", &p);
    report.extend(with("proposed_start_date", &f));
    report.extend([
        (
            "formulation".into(),
            "Low mood kept going by isolation".into(),
        ),
        (
            "recommendation".into(),
            "An MHTR of 12 weekly sessions".into(),
        ),
        ("proposed_sessions".into(), "12".into()),
        ("proposed_mode".into(), "phone".into()),
    ]);
    go!(&cl, "send_report", report);
    go!(&po, "await_sentence", with("hearing_date", &f));
    go!(&po, "record_adjourned", with("hearing_date", &f));
    let mut order = with("sentence_date", &p);
    order.extend(with("requirement_end_date", &l));
    order.extend([
        ("order_type".into(), "co".into()),
        ("court".into(), "Leicester Crown Court".into()),
        ("treatment_director_id".into(), t.cl.id.clone()),
        ("combined_with".into(), "drr".into()),
    ]);
    // The order's form starts with the court from the referral.
    let (_, form) = po
        .get(&format!("/referrals/{id}/actions/record_mhtr_made"))
        .await;
    assert!(
        unescape(&form).contains("value=\"Leicester Crown Court\""),
        "court prefilled: {form}"
    );
    go!(&po, "record_mhtr_made", order);
    go!(&po, "record_induction", with("induction_date", &p));
    // Allocation starts with the assistant psychologist who assessed, and shows each one's
    // sessions booked against capacity.
    let (_, form) = cl
        .get(&format!("/referrals/{id}/actions/allocate_ap"))
        .await;
    let form = unescape(&form);
    assert!(
        form.contains(&format!("<option value=\"{}\" selected>Ash Psych: this week 0 of 15 sessions booked, next week 0 of 15</option>", t.ap.id)),
        "{form}"
    );
    assert!(form.contains("Other Psych: this week 0 of 15 sessions booked"));
    go!(&cl, "allocate_ap", vec![("ap_id".into(), t.ap.id.clone())]);
    // Treatment starts with its first session attended (the assistant psychologist's API).
    let ap_api = t.app.api(&t.ap).await;
    crate::treatment_sessions::start_with_first_session(&t.app, &ap_api, &id, 3).await;
    let mut end = with("end_date", &p);
    end.extend([
        ("end_outcome".into(), "ended_early".into()),
        ("end_reason".into(), "disengaged".into()),
    ]);
    go!(&ap, "end_treatment", end);
    let (status, _, _) = ap
        .post(
            &format!("/referrals/{id}/no-onward-support"),
            &[("reason", "Already supported by the local recovery service")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    go!(&cl, "close", vec![]);
    assert_eq!(status_of(&t.app, &id).await, "closed");

    let (status, page) = po.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "moj-timeline",
        "Referral submitted",
        "Community order",
        "PYL012345",
        "With a DRR",
        "Ended early",
        "Disengaged",
        "Closed",
        "Dr Lee Lead",
    ] {
        assert!(page.contains(text), "referral page shows {text}");
    }
}

#[tokio::test]
async fn an_arrest_referral_is_taken_over_by_a_responsible_officer() {
    let t = cast().await;
    let po = t.app.browser(&t.po).await;
    let id = page_referral(&po, &t.app.area_a, "arrest", "").await;
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(page.contains("Take over as responsible officer"));
    assert!(page.contains("Euston Street"));
    let other = t
        .app
        .create_user(Role::ProbationOfficer, "Ro Taker", &[&t.app.area_a])
        .await;
    // Every officer in the area is told it waits for one: on their home page and in their
    // list.
    let other_pages = t.app.browser(&other).await;
    let (_, home) = other_pages.get("/").await;
    assert!(
        home.contains("is waiting for a responsible officer: take it over if it is yours"),
        "{home}"
    );
    let (_, list) = other_pages.get("/referrals").await;
    assert!(list.contains("Needs a responsible officer"), "{list}");
    let taker = t.app.api(&other).await;
    let (status, r) = taker.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an arrest referral waiting for an RO is visible in the area"
    );
    let (status, r) = taker
        .post(
            &format!("/api/v1/referrals/{id}/transitions"),
            &json!({"action": "take_over", "version": r["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["responsible_officer"], "Ro Taker");
    assert_eq!(r["status"], "submitted");
    let (_, home) = other_pages.get("/").await;
    assert!(
        !home.contains("waiting for a responsible officer"),
        "{home}"
    );
    let (_, list) = other_pages.get("/referrals").await;
    assert!(!list.contains("Needs a responsible officer"), "{list}");
    // A third officer no longer sees it: it has its responsible officer now.
    let third = t
        .app
        .create_user(Role::ProbationOfficer, "Third Officer", &[&t.app.area_a])
        .await;
    let (status, _) = t
        .app
        .api(&third)
        .await
        .get(&format!("/api/v1/referrals/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn out_of_role_out_of_order_and_stale_transitions_change_nothing() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let cl = t.app.api(&t.cl).await.giving_reason(LEAD_REASON);
    let r = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Sam", "Stone", Some("A111111")),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/referrals/{id}/transitions");

    let (status, body) = po
        .post(&path, &json!({"action": "accept", "version": 1}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = cl
        .post(
            &path,
            &json!({"action": "send_report", "version": 1, "report_date": "2026-01-01",
                    "formulation": "x", "recommendation": "y", "proposed_start_date": "2026-02-01",
                    "proposed_sessions": 12, "proposed_mode": "phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["message"],
        "You cannot record report sent to probation when the referral is submitted"
    );
    let (status, body) = cl
        .post(&path, &json!({"action": "accept", "version": 7}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("changed since you opened it")
    );
    let (status, body) = cl
        .post(&path, &json!({"action": "decline", "version": 1}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["fields"]["reason"],
        "Enter the reason for declining the referral"
    );
    assert_eq!(version_of(&t.app, &id).await, 1);
    assert_eq!(status_of(&t.app, &id).await, "submitted");

    // The page refuses the same way, and the accepted action then works once only.
    let page = t.app.browser(&t.cl).await;
    let (status, _) = page
        .get(&format!("/referrals/{id}/actions/send_report"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = page
        .post(
            &format!("/referrals/{id}/actions/accept"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, body) = page
        .post(
            &format!("/referrals/{id}/actions/accept"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("This referral has changed since you opened it"));
    // At the right version, an action the new step does not allow is named as such.
    let (status, _, body) = page
        .post(
            &format!("/referrals/{id}/actions/accept"),
            &[("version", "2")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("cannot accept at screening when the referral is accepted at screening"));
    // Administrators take no clinical steps: the route is not theirs.
    let admin = t
        .app
        .create_user(Role::Admin, "Ad Min", &[&t.app.area_a])
        .await;
    let (status, _) = t
        .app
        .api(&admin)
        .await
        .post(&path, &json!({"action": "accept", "version": 2}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn people_outside_scope_get_the_same_answer_as_for_nothing() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let r = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Kim", "Scope", Some("S222222")),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let missing = uuid::Uuid::now_v7().to_string();

    for user in [&t.po_b, &t.ap] {
        let api = t.app.api(user).await;
        let (s1, b1) = api.get(&format!("/api/v1/referrals/{id}")).await;
        let (s2, b2) = api.get(&format!("/api/v1/referrals/{missing}")).await;
        assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        assert_eq!(b1, b2);
        let (_, list) = api.get("/api/v1/referrals?tab=new").await;
        assert_eq!(list["total"], 0, "{} sees nothing in the list", user.name);
        let (s, _) = api
            .post(
                &format!("/api/v1/referrals/{id}/transitions"),
                &json!({"action": "book_assessment", "version": 1, "assessment_date": "2030-01-01"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let page = t.app.browser(user).await;
        let (p1, body1) = page.get(&format!("/referrals/{id}")).await;
        let (p2, body2) = page.get(&format!("/referrals/{missing}")).await;
        assert_eq!((p1, p2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        assert_eq!(body1.len(), body2.len());
    }
    // Not allocated: another assistant psychologist in the same area.
    let (s, _) = t
        .app
        .api(&t.ap2)
        .await
        .get(&format!("/api/v1/referrals/{id}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Councillors have no referral routes at all, whatever the id.
    let api = t.app.api(&t.councillor).await;
    let (s1, _) = api.get(&format!("/api/v1/referrals/{id}")).await;
    let (s2, _) = api.get(&format!("/api/v1/referrals/{missing}")).await;
    assert_eq!((s1, s2), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
    let (s, _) = api.get("/api/v1/referrals").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let page = t.app.browser(&t.councillor).await;
    let (p1, b1) = page.get(&format!("/referrals/{id}")).await;
    let (p2, b2) = page.get(&format!("/referrals/{missing}")).await;
    assert_eq!((p1, p2), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
    assert_eq!(b1, b2);
    let (_, home) = page.get("/").await;
    assert!(
        !home.contains("href=\"&#x2F;referrals"),
        "no referral navigation for councillors"
    );

    // Once allocated for assessment, the assistant psychologist sees it.
    let cl = t.app.api(&t.cl).await.giving_reason(LEAD_REASON);
    let path = format!("/api/v1/referrals/{id}/transitions");
    cl.post(&path, &json!({"action": "accept", "version": 1}))
        .await;
    let (s, b) = cl
        .post(
            &path,
            &json!({"action": "book_assessment", "version": 2, "assessment_date": "2030-01-01", "assessor_id": t.ap.id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = t
        .app
        .api(&t.ap)
        .await
        .get(&format!("/api/v1/referrals/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t
        .app
        .api(&t.ap2)
        .await
        .get(&format!("/api/v1/referrals/{id}"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn viewing_a_referral_is_recorded_as_a_consultation() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let id = access_reason::off_caseload(&t, "Ewer", "V100001").await;
    // The referral is in the clinical lead's area but not on their caseload: a reason first.
    let cl = t.app.browser(&t.cl).await;
    let (status, loc, _) = cl.get_with_location(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc, format!("/referrals/{id}/reason"));
    let (status, page) = cl.get(&loc).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Ewer"), "no personal data before the reason");
    let (status, _, page) = cl.post(&loc, &[("reason", "  ")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Enter why you need to see this referral"));
    let (status, to, _) = cl
        .post(
            &loc,
            &[("reason", "Safeguarding review of the Melton caseload")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("/referrals/{id}"));
    // Remembered for this referral for the rest of the session.
    for _ in 0..2 {
        let (status, page) = cl.get(&format!("/referrals/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Ewer"));
    }
    // Probation officers see their own referral without being asked.
    let po_page = t.app.browser(&t.po).await;
    assert_eq!(
        po_page.get(&format!("/referrals/{id}")).await.0,
        StatusCode::OK
    );
    po.get(&format!("/api/v1/referrals/{id}")).await;
    let rid = id.clone();
    let views = t
        .app
        .state
        .db
        .run(move |c| mhtr_pathway::audit::for_record(c, "referral", &rid, 50))
        .await
        .unwrap();
    // (The lead who screened it and booked its assessment looked at it too.)
    let consultations: Vec<_> = views
        .iter()
        .filter(|e| e.event == "referral.viewed")
        .map(|e| e.actor_label.clone())
        .filter(|a| *a == t.cl.email || *a == t.po.email)
        .collect();
    assert_eq!(consultations.len(), 4);
    assert_eq!(
        consultations.iter().filter(|a| **a == t.cl.email).count(),
        2
    );
    assert!(consultations.contains(&t.po.email));
    let reasons: Vec<_> = views
        .iter()
        .filter(|e| e.event == "referral.viewed" && e.actor_label == t.cl.email)
        .map(|e| e.reason.clone())
        .collect();
    assert!(
        reasons
            .iter()
            .all(|r| r.as_deref() == Some("Safeguarding review of the Melton caseload")),
        "{reasons:?}"
    );
    assert!(views.iter().any(|e| e.event == "referral.access_reason"));
}

#[tokio::test]
async fn views_at_once_are_each_recorded_before_the_page_is_shown() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let created = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Rowan", "Ewer", Some("V123456")),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let page = std::sync::Arc::new(t.app.browser(&t.po).await);
    let mut views = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (page, path) = (page.clone(), format!("/referrals/{id}"));
        views.spawn(async move { page.get(&path).await.0 });
    }
    for status in views.join_all().await {
        assert_eq!(status, StatusCode::OK);
    }
    // Every page shown has its entry, already committed, in one unbroken chain.
    let rid = id.clone();
    let entries = t
        .app
        .state
        .db
        .run(move |c| mhtr_pathway::audit::for_record(c, "referral", &rid, 100))
        .await
        .unwrap();
    let viewed = entries
        .iter()
        .filter(|e| e.event == "referral.viewed" && e.actor_label == t.po.email)
        .count();
    assert_eq!(viewed, 40);
    assert!(
        t.app
            .state
            .db
            .run(mhtr_pathway::audit::verify)
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn duplicates_link_on_identifiers_and_offer_a_choice_on_close_names() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let first = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Alex", "Morgan", Some("X123456")),
    )
    .await;
    let person = first["person_id"].clone();
    // The same CRN and an agreeing name is the same person; a name that disagrees is not
    // attached to the record silently (tests/api/referrals/identity.rs).
    let second = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Alex", "Morgan", Some("x123456")),
    )
    .await;
    assert_eq!(second["person_id"], person);

    // A close name and the same date of birth: the caller chooses.
    let mut body = probation_json(&t.app.area_a, "Alex", "Morgen", Some("Y654321"));
    let (status, dup) = po.post("/api/v1/referrals", &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(dup["error"], "possible_duplicate");
    assert_eq!(dup["candidates"][0]["person_id"], person);
    body["existing_person_id"] = person.clone();
    let linked = api_referral(&po, &body).await;
    assert_eq!(linked["person_id"], person);
    let mut body = probation_json(&t.app.area_a, "Alex", "Morgen", Some("Z654321"));
    body["create_new_person"] = json!(true);
    let separate = api_referral(&po, &body).await;
    assert_ne!(separate["person_id"], person);

    // On the pages the choice is a question.
    let page = t.app.browser(&t.po).await;
    let draft = draft_ready_to_check(&page, &t.app.area_a).await;
    let (status, _, body) = page.post(&format!("{draft}/check"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Is this someone already known?"));
    let person_id = person.as_str().unwrap().to_owned();
    let (status, loc, _) = page
        .post(&format!("{draft}/check"), &[("person_choice", &person_id)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, r) = po.get(&format!("/api/v1{loc}")).await;
    assert_eq!(r["person_id"], person);
}

#[tokio::test]
async fn amendments_keep_old_and_new_values_with_who_when_and_why() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let r = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Jo", "Amend", Some("J100000")),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/referrals/{id}/amend");
    let (status, body) = po
        .post(&path, &json!({"version": 1, "reason": "", "changes": {"family_name": "Amended", "crn": "bad"}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"]["reason"], "Enter the reason for the change");
    assert!(
        body["fields"]["crn"]
            .as_str()
            .unwrap()
            .contains("one letter and six digits")
    );
    let (status, body) = po
        .post(
            &path,
            &json!({"version": 1, "reason": "Spelling corrected by the person", "changes": {"family_name": "Amended", "rosh_level": "high"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);
    assert_eq!(body["answers"]["family_name"], "Amended");
    let item = &body["timeline"][0];
    assert_eq!(item["title"], "Referral amended");
    assert_eq!(item["byline"], "Pat Officer");
    let d = item["description"].as_str().unwrap();
    assert!(
        d.contains("Family name: changed from “Amend” to “Amended”"),
        "{d}"
    );
    assert!(
        d.contains("Risk of serious harm: changed from “Low” to “High”"),
        "{d}"
    );
    assert!(d.contains("Reason: Spelling corrected by the person"));
    let rid = id.clone();
    let rows: Vec<(String, String, String)> = t
        .app
        .state
        .db
        .run(move |c| {
            Ok(referral_amendments::table
                .filter(referral_amendments::referral_id.eq(rid))
                .select((
                    referral_amendments::field,
                    referral_amendments::old_value,
                    referral_amendments::new_value,
                ))
                .load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    // A stale amendment is refused.
    let (status, _) = po
        .post(
            &path,
            &json!({"version": 1, "reason": "again", "changes": {"family_name": "X"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Through the page: the change shows on the referral page's timeline.
    let b = t.app.browser(&t.cl).await;
    let (status, form) = b.get(&format!("/referrals/{id}/amend")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"Amended\""));
    let (status, _, body) = b
        .post(
            &format!("/referrals/{id}/amend"),
            &[
                ("version", "2"),
                ("reason", "Court changed"),
                ("entry_point", "probation"),
                ("court", "Loughborough Magistrates' Court"),
                ("needs", "anxiety"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, page) = b.get(&format!("/referrals/{id}")).await;
    assert!(page.contains("Loughborough Magistrates"));
    assert!(page.contains("Court changed"));
}

#[tokio::test]
async fn drafts_never_submitted_are_purged_after_ninety_days() {
    let t = cast().await;
    let b = t.app.browser(&t.po).await;
    let (_, old, _) = b.post("/referrals/new", &[]).await;
    let (_, recent, _) = b.post("/referrals/new", &[]).await;
    let old_id = old.split('/').nth(3).unwrap().to_owned();
    let id = old_id.clone();
    t.app
        .state
        .db
        .write(move |c| {
            diesel::update(referral_drafts::table.find(id))
                .set(
                    referral_drafts::updated_at
                        .eq(chrono::Utc::now().naive_utc() - Duration::days(91)),
                )
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let n = t
        .app
        .state
        .db
        .write(mhtr_pathway::referrals::service::purge_drafts)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(b.get(&old).await.0, StatusCode::NOT_FOUND);
    assert_eq!(b.get(&recent).await.0, StatusCode::OK);
    // Someone else's draft is not found either.
    let other = t.app.browser(&t.po_b).await;
    assert_eq!(other.get(&recent).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_api_and_the_pages_agree() {
    let t = cast().await;
    let po_api = t.app.api(&t.po).await;
    let po_page = t.app.browser(&t.po).await;

    // Made through the API, read on the page.
    let r = api_referral(
        &po_api,
        &probation_json(&t.app.area_a, "Api", "Made", Some("Q765432")),
    )
    .await;
    let (status, page) = po_page
        .get(&format!("/referrals/{}", r["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r["reference"].as_str().unwrap()));
    assert!(page.contains("Api Made"));
    assert!(page.contains("White: English, Welsh, Scottish, Northern Irish or British"));
    assert!(page.contains("Broad ethnic group"));

    // Made on the pages, read through the API.
    let id = page_referral(&po_page, &t.app.area_a, "probation", "P111222").await;
    let (status, r) = po_api.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["answers"]["crn"], "P111222");
    assert_eq!(r["answers"]["pnc_id"], "2001/0012345H");
    assert_eq!(r["answers"]["needs"], json!(["depression", "ptsd"]));
    assert_eq!(r["answers"]["date_of_birth"], "1988-07-02");
    assert_eq!(r["answers"]["ethnicity"], "mixed_white_asian");
    assert_eq!(r["ethnic_group"], "mixed");
    assert!(r["reference"].as_str().unwrap().starts_with("MH-"));

    // The same mistakes get the same messages.
    let mut bad = probation_json(&t.app.area_a, "", "Young", Some("12345"));
    bad["date_of_birth"] =
        json!((chrono::Utc::now().date_naive() - Duration::days(365 * 16)).to_string());
    bad["pnc_id"] = json!("2001/0012345A");
    let (status, body) = po_api.post("/api/v1/referrals", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "validation");
    let (_, loc, _) = po_page.post("/referrals/new", &[]).await;
    let draft = loc.trim_end_matches("/entry-point").to_owned();
    po_page
        .post(
            &format!("{draft}/entry-point"),
            &[("entry_point", "probation")],
        )
        .await;
    let dob = dmy(bad["date_of_birth"].as_str().unwrap());
    let (status, _, html) = po_page
        .post(
            &format!("{draft}/person"),
            &[
                ("given_name", ""),
                ("family_name", "Young"),
                ("date_of_birth_day", &dob.0),
                ("date_of_birth_month", &dob.1),
                ("date_of_birth_year", &dob.2),
                ("crn", "12345"),
                ("pnc_id", "2001/0012345A"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("There is a problem"));
    assert!(html.contains("value=\"Young\""), "input is kept");
    for field in ["given_name", "date_of_birth", "crn", "pnc_id"] {
        let message = body["fields"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}"));
        let escaped = message.replace('\'', "&#x27;");
        assert!(html.contains(&escaped), "page shows: {message}");
    }
    assert!(
        body["fields"]["date_of_birth"]
            .as_str()
            .unwrap()
            .contains("18 or over")
    );
}

#[tokio::test]
async fn the_api_honours_idempotency_keys_and_lists_with_filters() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let body = probation_json(&t.app.area_a, "Ida", "Key", Some("K999999"));
    let (s1, r1) = po
        .post_with_key("/api/v1/referrals", &body, Some("abc-1"))
        .await;
    let (s2, r2) = po
        .post_with_key("/api/v1/referrals", &body, Some("abc-1"))
        .await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(r1["id"], r2["id"]);
    for i in 0..3 {
        let crn = format!("L10000{i}");
        let mut body = probation_json(&t.app.area_a, "List", &format!("Person{i}"), Some(&crn));
        body["create_new_person"] = json!(true);
        api_referral(&po, &body).await;
    }
    let cl = t.app.api(&t.cl).await;
    let (_, all) = cl.get("/api/v1/referrals?tab=new&per_page=2").await;
    assert_eq!(all["total"], 4);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, clamped) = cl.get("/api/v1/referrals?per_page=100000").await;
    assert_eq!(clamped["per_page"], 100);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let mut urgent = probation_json(&t.app.area_a, "Urgent", "Case", Some("U100001"));
    urgent["urgency"] = json!("urgent");
    let u = api_referral(&po, &urgent).await;
    let (_, sorted) = cl.get("/api/v1/referrals?tab=new&sort=urgent").await;
    assert_eq!(sorted["items"][0]["id"], u["id"]);
    assert_eq!(
        sorted["items"][1]["id"], r1["id"],
        "then the longest waiting"
    );
    let (_, found) = cl.get("/api/v1/referrals?q=k999999").await;
    assert_eq!(found["total"], 1);
    let reference = r1["reference"].as_str().unwrap();
    let (_, found) = cl
        .get(&format!("/api/v1/referrals?q={}", reference.to_lowercase()))
        .await;
    assert_eq!(found["total"], 1);
    let (_, found) = cl.get("/api/v1/referrals?q=person1").await;
    assert_eq!(found["total"], 1);
    let (_, none) = cl
        .get(&format!("/api/v1/referrals?area_id={}", t.app.area_b))
        .await;
    assert_eq!(none["total"], 0);
    let (s, body) = cl.get("/api/v1/referrals?status=nonsense").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"]["status"], "Select a status from the list");
    let (s, page) = t
        .app
        .browser(&t.cl)
        .await
        .get("/referrals?tab=new&q=Person")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("3 referrals"));
    assert!(
        page.contains("tab=ended&amp;q=Person"),
        "tabs keep the search"
    );
    let (_, doc) = po.get("/api/v1/openapi.json").await;
    for p in [
        "/api/v1/referrals",
        "/api/v1/referrals/{id}",
        "/api/v1/referrals/{id}/amend",
        "/api/v1/referrals/{id}/transitions",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} documented");
    }
}

/// Two referrals in area A that the service takes for two people (another date of birth and
/// CRN), each given as (given name, family name, CRN): what a merge joins.
async fn two_records(
    t: &Cast,
    po: &Api,
    first: (&str, &str, &str),
    second: (&str, &str, &str),
) -> (Value, Value) {
    let a = api_referral(
        po,
        &probation_json(&t.app.area_a, first.0, first.1, Some(first.2)),
    )
    .await;
    let mut body = probation_json(&t.app.area_a, second.0, second.1, Some(second.2));
    body["date_of_birth"] = json!("1991-05-05");
    let b = api_referral(po, &body).await;
    (a, b)
}

#[tokio::test]
async fn clinical_leads_merge_two_records_of_a_person_and_can_undo_it() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let (a, b) = two_records(
        &t,
        &po,
        ("Chris", "Keep", "C100001"),
        ("Kris", "Duplicate", "C100002"),
    )
    .await;
    assert_ne!(a["person_id"], b["person_id"]);
    let (ra, rb) = (
        a["reference"].as_str().unwrap(),
        b["reference"].as_str().unwrap(),
    );

    let (status, _, _) = t
        .app
        .browser(&t.po)
        .await
        .post(
            "/people/merge",
            &[
                ("keep_reference", ra),
                ("merge_reference", rb),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "probation officers do not merge"
    );

    let cl = t.app.browser(&t.cl).await;
    let (status, _, page) = cl
        .post(
            "/people/merge",
            &[
                ("keep_reference", ra),
                ("merge_reference", rb),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Enter why these are the same person"));
    let (status, loc, _) = cl
        .post(
            "/people/merge",
            &[
                ("keep_reference", &ra.to_lowercase()),
                ("merge_reference", rb),
                ("reason", "Same person, name misspelt at arrest"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc, format!("/referrals/{}", a["id"].as_str().unwrap()));
    let (_, b_now) = po
        .get(&format!("/api/v1/referrals/{}", b["id"].as_str().unwrap()))
        .await;
    assert_eq!(b_now["person_id"], a["person_id"]);

    let status = undo_merge_shown_on(&cl, &loc, a["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, b_after) = po
        .get(&format!("/api/v1/referrals/{}", b["id"].as_str().unwrap()))
        .await;
    assert_eq!(b_after["person_id"], b["person_id"]);
    assert_eq!(b_after["timeline"][0]["title"], "Merge undone");
    assert_eq!(
        b_after["timeline"][1]["title"],
        "Records of this person merged"
    );
    assert_eq!(b_after["timeline"][1]["byline"], "Dr Lee Lead");
    let events = t
        .app
        .state
        .db
        .run(|c| mhtr_pathway::audit::recent(c, None, 100))
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.event == "person.merged"
        && e.reason.as_deref() == Some("Same person, name misspelt at arrest")));
    assert!(events.iter().any(|e| e.event == "person.merge_undone"));

    // Administrators merge by reference too, without seeing the referrals.
    let admin_user = t
        .app
        .create_user(Role::Admin, "Ada Admin", &[&t.app.area_a])
        .await;
    let admin = t.app.browser(&admin_user).await;
    let (status, loc, _) = admin
        .post(
            "/people/merge",
            &[
                ("keep_reference", ra),
                ("merge_reference", rb),
                ("reason", "Confirmed by the clinical lead"),
            ],
        )
        .await;
    assert_eq!(
        (status, loc.as_str()),
        (StatusCode::SEE_OTHER, "/people/merge")
    );
    let (_, b_now) = po
        .get(&format!("/api/v1/referrals/{}", b["id"].as_str().unwrap()))
        .await;
    assert_eq!(b_now["person_id"], a["person_id"]);
    let (status, _) = admin
        .get(&format!("/referrals/{}", a["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page) = admin.get("/people/merge").await;
    let marker = "action=\"/people/merges/";
    let start = page.find(marker).unwrap() + marker.len();
    let merge_id = page[start..].split('/').next().unwrap().to_owned();
    let (status, loc, _) = admin
        .post(&format!("/people/merges/{merge_id}/undo"), &[])
        .await;
    assert_eq!(
        (status, loc.as_str()),
        (StatusCode::SEE_OTHER, "/people/merge")
    );
    let (_, b_after) = po
        .get(&format!("/api/v1/referrals/{}", b["id"].as_str().unwrap()))
        .await;
    assert_eq!(b_after["person_id"], b["person_id"]);
    // An administrator of another area finds neither referral.
    let other_admin = t
        .app
        .create_user(Role::Admin, "Oda Admin", &[&t.app.area_b])
        .await;
    let (status, _, page) = t
        .app
        .browser(&other_admin)
        .await
        .post(
            "/people/merge",
            &[
                ("keep_reference", ra),
                ("merge_reference", rb),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Enter the reference of a referral in your areas"));
}

#[tokio::test]
async fn merges_are_made_listed_and_undone_through_the_api_once_each_and_in_scope() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let (a, b) = two_records(
        &t,
        &po,
        ("Morgan", "Kept", "M100001"),
        ("Morgen", "Twice", "M100002"),
    )
    .await;
    let (ra, rb) = (
        a["reference"].as_str().unwrap(),
        b["reference"].as_str().unwrap(),
    );
    // Only the second record has contact details: the merge takes them to the one kept.
    let (status, saved) = po
        .post(
            &format!("/api/v1/referrals/{}/contact", b["id"].as_str().unwrap()),
            &json!({"mobile": "07700900456", "channel": "sms", "language": "en", "consent": "yes"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let mobile_of = async |id: &Value| {
        let (status, r) = po
            .get(&format!(
                "/api/v1/referrals/{}/contact",
                id.as_str().unwrap()
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        r["details"]["mobile"].clone()
    };
    assert_eq!(mobile_of(&a["id"]).await, Value::Null);
    let person_of = async |id: &Value| {
        po.get(&format!("/api/v1/referrals/{}", id.as_str().unwrap()))
            .await
            .1["person_id"]
            .clone()
    };

    let (status, _) = po
        .post(
            "/api/v1/people/merges",
            &json!({"keep_reference": ra, "merge_reference": rb, "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "officers do not merge");
    assert_eq!(
        po.get("/api/v1/people/merges").await.0,
        StatusCode::FORBIDDEN
    );

    let cl = t.app.api(&t.cl).await;
    let (status, e) = cl.post("/api/v1/people/merges", &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        e["fields"]["keep_reference"],
        "Enter the reference of a referral in your areas, like MH-7K3Q-PX4D"
    );
    assert_eq!(e["fields"]["reason"], "Enter why these are the same person");
    let (status, e) = cl
        .post(
            "/api/v1/people/merges",
            &json!({"keep_reference": ra, "merge_reference": ra, "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        e["fields"]["merge_reference"],
        "These referrals are already for the same person"
    );

    // The same merge sent twice at once is made once.
    let ask = json!({
        "keep_reference": ra.to_lowercase(),
        "merge_reference": rb,
        "reason": "Same date of birth and CRN typed twice",
    });
    let (first, second) = tokio::join!(
        cl.post("/api/v1/people/merges", &ask),
        cl.post("/api/v1/people/merges", &ask),
    );
    let made: Vec<&Value> = [&first, &second]
        .into_iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(made.len(), 1, "{first:?} {second:?}");
    for (s, e) in [&first, &second] {
        assert!(
            [
                StatusCode::CREATED,
                StatusCode::CONFLICT,
                StatusCode::UNPROCESSABLE_ENTITY
            ]
            .contains(s),
            "{s} {e}"
        );
    }
    let m = made[0].clone();
    assert_eq!(m["kept_person_id"], a["person_id"]);
    assert_eq!(m["merged_person_id"], b["person_id"]);
    assert_eq!(m["referral_ids"], json!([b["id"]]));
    assert_eq!(m["kept_referral_id"], a["id"]);
    assert!(m["undone_at"].is_null());
    assert_eq!(person_of(&b["id"]).await, a["person_id"]);
    assert_eq!(m["contact_moved"], true);
    assert_eq!(mobile_of(&a["id"]).await, "07700900456");
    let (_, kept) = po
        .get(&format!("/api/v1/referrals/{}", a["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        kept["timeline"][0]["description"],
        "Another record of the same person was joined to this one, with its contact details for reminders"
    );
    let (status, mine) = cl.get("/api/v1/people/merges").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], m["id"]);

    // An administrator of the other area cannot see or undo it; nor can a made-up id.
    let other_admin = t
        .app
        .create_user(Role::Admin, "Oda Admin", &[&t.app.area_b])
        .await;
    let other = t.app.api(&other_admin).await;
    let undo = format!("/api/v1/people/merges/{}/undo", m["id"].as_str().unwrap());
    assert_eq!(other.post(&undo, &json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        cl.post("/api/v1/people/merges/no-such-merge/undo", &json!({}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, e) = other
        .post(
            "/api/v1/people/merges",
            &json!({"keep_reference": ra, "merge_reference": rb, "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(person_of(&b["id"]).await, a["person_id"]);

    // Two undos at once: one undoes it, the other is told it is done.
    let empty = json!({});
    let (first, second) = tokio::join!(cl.post(&undo, &empty), cl.post(&undo, &empty));
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let undone = if first.0 == StatusCode::OK {
        first.1
    } else {
        second.1
    };
    assert!(undone["undone_at"].is_string());
    assert_eq!(person_of(&b["id"]).await, b["person_id"]);
    assert_eq!(mobile_of(&b["id"]).await, "07700900456", "they go back");
    assert_eq!(mobile_of(&a["id"]).await, Value::Null);
    assert_eq!(cl.get("/api/v1/people/merges").await.1["items"], json!([]));
    let events = t
        .app
        .state
        .db
        .run(|c| mhtr_pathway::audit::recent(c, None, 100))
        .await
        .unwrap();
    let count = |name: &str| events.iter().filter(|e| e.event == name).count();
    assert_eq!(
        (count("person.merged"), count("person.merge_undone")),
        (1, 1)
    );

    // An administrator in the area merges by reference and is not given the referral.
    let admin_user = t
        .app
        .create_user(Role::Admin, "Ada Admin", &[&t.app.area_a])
        .await;
    let admin = t.app.api(&admin_user).await;
    let (status, m) = admin
        .post(
            "/api/v1/people/merges",
            &json!({"keep_reference": ra, "merge_reference": rb, "reason": "Confirmed by the lead"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert!(m["kept_referral_id"].is_null());
    let undo = format!("/api/v1/people/merges/{}/undo", m["id"].as_str().unwrap());
    assert_eq!(admin.post(&undo, &json!({})).await.0, StatusCode::OK);
    assert_eq!(person_of(&b["id"]).await, b["person_id"]);
}

#[tokio::test]
async fn the_same_submission_racing_itself_makes_one_referral() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let body = probation_json(&t.app.area_a, "Rae", "Race", Some("R123123"));
    let (a, b, c) = tokio::join!(
        po.post_with_key("/api/v1/referrals", &body, Some("race-1")),
        po.post_with_key("/api/v1/referrals", &body, Some("race-1")),
        po.post_with_key("/api/v1/referrals", &body, Some("race-1")),
    );
    for (s, r) in [&a, &b, &c] {
        assert!(
            [StatusCode::CREATED, StatusCode::OK, StatusCode::CONFLICT].contains(s),
            "{s} {r}"
        );
    }
    let n: i64 = t
        .app
        .state
        .db
        .run(|c| Ok(referrals::table.count().get_result(c)?))
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn every_role_gets_its_own_pages() {
    let t = cast().await;
    let po = t.app.browser(&t.po).await;
    page_referral(&po, &t.app.area_a, "probation", "E123456").await;
    let (s, home) = po.get("/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        home.contains("href=\"&#x2F;referrals&#x2F;new\""),
        "Make a referral in the navigation"
    );
    for (path, text) in [
        ("/referrals", "Your referrals"),
        ("/referrals/new", "Start a new referral"),
        ("/referrals?tab=ended", "There are no referrals here"),
    ] {
        let (s, page) = po.get(path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(page.contains(text), "{path} shows {text}");
    }
    let cl = t.app.browser(&t.cl).await;
    for (path, text) in [
        ("/referrals?tab=new", "Robin Page"),
        ("/referrals?entry_point=probation&sort=oldest", "Robin Page"),
        ("/people/merge", "Merge two records"),
    ] {
        let (s, page) = cl.get(path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(page.contains(text), "{path} shows {text}");
    }
    let (s, _) = cl.get("/referrals/new").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "only probation officers make referrals"
    );
    let (s, page) = t.app.browser(&t.ap).await.get("/referrals").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Your caseload"));
    assert!(!page.contains("Robin Page"));
}

/// Moves a referral through `steps`, each taken by the named API client, expecting each to
/// succeed.
pub(crate) async fn advance(apis: &[(&str, &Api)], id: &str, steps: &[(&str, Value)]) -> Value {
    let mut last = Value::Null;
    for (who, body) in steps {
        let api = apis
            .iter()
            .find(|(name, _)| name == who)
            .map(|(_, a)| *a)
            .expect("known client");
        let (_, current) = api.get(&format!("/api/v1/referrals/{id}")).await;
        let mut body = body.clone();
        body["version"] = current["version"].clone();
        let (status, r) = api
            .post(&format!("/api/v1/referrals/{id}/transitions"), &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}: {r}");
        last = r;
    }
    last
}

async fn exit_referral(t: &Cast, po: &Api, n: usize) -> String {
    let mut body = probation_json(
        &t.app.area_a,
        "Exit",
        &format!("Route{n}"),
        Some(&format!("W20000{n}")),
    );
    body["create_new_person"] = json!(true);
    api_referral(po, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_way_out_of_the_pathway_is_recorded_with_its_reason() {
    let t = cast().await;
    let (po, cl, ap) = (
        t.app.api(&t.po).await,
        t.app.api(&t.cl).await.giving_reason(LEAD_REASON),
        t.app.api(&t.ap).await,
    );
    let apis = [("po", &po), ("cl", &cl), ("ap", &ap)];
    let past = (chrono::Utc::now().date_naive() - Duration::days(1)).to_string();
    let to_assessed = || -> Vec<(&'static str, Value)> {
        vec![
            ("cl", json!({"action": "accept"})),
            (
                "cl",
                json!({"action": "book_assessment", "assessment_date": "2030-01-01", "assessor_id": t.ap.id}),
            ),
            (
                "ap",
                json!({"action": "record_assessment", "assessment_date": past}),
            ),
        ]
    };

    let id = exit_referral(&t, &po, 1).await;
    let r = advance(
        &apis,
        &id,
        &[(
            "cl",
            json!({"action": "decline", "reason": "Above primary-care threshold"}),
        )],
    )
    .await;
    assert_eq!(r["status"], "declined");
    assert_eq!(
        r["timeline"][0]["description"],
        "Above primary-care threshold"
    );
    assert_eq!(r["actions"], json!([]));

    let id = exit_referral(&t, &po, 2).await;
    let mut steps = to_assessed();
    steps.push((
        "cl",
        json!({"action": "record_not_suitable", "reason": "Needs secondary care"}),
    ));
    let r = advance(&apis, &id, &steps).await;
    assert_eq!(r["status"], "not_suitable");

    let id = exit_referral(&t, &po, 3).await;
    let mut steps = to_assessed();
    steps.extend([
        ("cl", json!({"action": "record_suitable"})),
        (
            "ap",
            json!({"action": "record_consent", "consent_date": past}),
        ),
        (
            "ap",
            json!({"action": "withdraw_consent", "note": "No longer wishes to take part"}),
        ),
    ]);
    let r = advance(&apis, &id, &steps).await;
    assert_eq!(r["status"], "withdrawn");
    assert!(
        r["consent"]
            .as_str()
            .unwrap()
            .starts_with("Consent withdrawn")
    );

    let id = exit_referral(&t, &po, 4).await;
    let mut steps = to_assessed();
    steps.extend([
        ("cl", json!({"action": "record_suitable"})),
        (
            "ap",
            json!({"action": "record_consent", "consent_date": past}),
        ),
        ("cl", json!({"action": "send_report", "report_date": past, "formulation": "Low mood and anxiety kept going by isolation and poor sleep; a structured 12 sessions would help", "recommendation": "An MHTR of 12 weekly sessions with a community order", "proposed_start_date": "2030-03-01", "proposed_sessions": 12, "proposed_mode": "in_person"})),
        (
            "po",
            json!({"action": "await_sentence", "hearing_date": "2030-02-01"}),
        ),
        (
            "po",
            json!({"action": "record_mhtr_not_made", "note": "Custodial sentence"}),
        ),
    ]);
    let r = advance(&apis, &id, &steps).await;
    assert_eq!(r["status"], "mhtr_not_made");
    assert_eq!(r["order"], "No order recorded");

    let id = exit_referral(&t, &po, 5).await;
    let (_, current) = po.get(&format!("/api/v1/referrals/{id}")).await;
    let (status, body) = po
        .post(
            &format!("/api/v1/referrals/{id}/transitions"),
            &json!({"action": "withdraw", "version": current["version"], "withdrawal_reason": "other"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["fields"]["note"],
        "Describe why the referral is withdrawn"
    );
    let r = advance(
        &apis,
        &id,
        &[(
            "po",
            json!({"action": "withdraw", "withdrawal_reason": "moved_area"}),
        )],
    )
    .await;
    assert_eq!(r["status"], "withdrawn");
    assert_eq!(r["timeline"][0]["description"], "Moved area");
}

#[tokio::test]
async fn the_demo_referrals_show_on_every_page_for_every_role() {
    let app = spawn_app().await;
    let hasher = app.state.hasher.clone();
    app.state
        .db
        .run(move |c| mhtr_pathway::demo::load(c, &hasher).map(|_| ()))
        .await
        .expect("demo loads");
    let hasher = app.state.hasher.clone();
    app.state
        .db
        .run(move |c| mhtr_pathway::demo::load(c, &hasher).map(|_| ()))
        .await
        .expect("demo loads again");
    let total: i64 = app
        .state
        .db
        .run(|c| Ok(referrals::table.count().get_result(c)?))
        .await
        .unwrap();
    assert_eq!(total, 11, "loading the demo twice makes its referrals once");
    // One of them was given another person's CRN: linked for the lead to confirm or split.
    let links: Vec<String> = app
        .state
        .db
        .run(|c| {
            use mhtr_pathway::db::schema::identity_links as l;
            Ok(l::table.select(l::status).load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(links, vec!["to_confirm".to_owned()]);
    let mut acted = 0;
    let mut linked_seen = 0;
    for account in mhtr_pathway::demo::ACCOUNTS {
        let b = app.browser(&app.demo_user(account)).await;
        // Onward support: the directory has demo services, and a follow-up is due.
        if account.role == Role::Admin {
            let (status, directory) = b.get("/admin/directory").await;
            assert_eq!(status, StatusCode::OK);
            assert!(directory.contains("Harborough Jobs and Skills Hub"));
        }
        if account.email == "tom.walker@turningpoint.demo.example" {
            let (_, home) = b.get("/").await;
            assert!(home.contains("Signposting follow-up due"), "{home}");
            let (status, due) = b.get("/signposting/due").await;
            assert_eq!(status, StatusCode::OK);
            assert!(due.contains("Rutland Housing Options"), "{due}");
        }
        let (status, first) = b.get("/referrals").await;
        if matches!(account.role, Role::Councillor | Role::Admin) {
            assert_eq!(status, StatusCode::FORBIDDEN);
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{}", account.email);
        let mut seen = 0;
        for tab in [
            "new",
            "in_assessment",
            "awaiting_sentence",
            "waiting",
            "in_treatment",
            "ended",
        ] {
            let (status, page) = b.get(&format!("/referrals?tab={tab}")).await;
            assert_eq!(status, StatusCode::OK);
            let ids: Vec<String> = page
                .split("href=\"/referrals/")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .filter(|id| id.len() == 36)
                .map(str::to_owned)
                .collect();
            for id in ids {
                seen += 1;
                let (status, page) = b.get(&format!("/referrals/{id}")).await;
                assert_eq!(status, StatusCode::OK, "{} /referrals/{id}", account.email);
                for action in page
                    .split("&#x2F;actions&#x2F;")
                    .skip(1)
                    .filter_map(|rest| rest.split('"').next())
                {
                    let (status, _) = b.get(&format!("/referrals/{id}/actions/{action}")).await;
                    assert_eq!(status, StatusCode::OK, "{} {action} on {id}", account.email);
                    acted += 1;
                }
                for linked in page
                    .split("href=\"/linked-requirements/")
                    .skip(1)
                    .filter_map(|rest| rest.split('"').next())
                {
                    let (status, _) = b.get(&format!("/linked-requirements/{linked}")).await;
                    assert_eq!(status, StatusCode::OK, "{} linked {linked}", account.email);
                    linked_seen += 1;
                }
            }
        }
        assert!(seen > 0, "{} sees demo referrals", account.email);
        assert!(first.contains("referral"));
    }
    assert!(acted >= 5, "action forms opened: {acted}");
    assert!(linked_seen > 0, "the demo DRR is shown");
}

async fn history_len(app: &TestApp, id: &str) -> i64 {
    let id = id.to_owned();
    app.state
        .db
        .run(move |c| {
            Ok(referral_status_history::table
                .filter(referral_status_history::referral_id.eq(id))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap()
}

/// Two clinical leads screen the same referral at the same moment, one accepting and one
/// declining: exactly one wins, the other is told the referral changed and to reload, and
/// nothing of the losing action is kept. Repeated so that the requests really overlap.
#[tokio::test]
async fn racing_transitions_of_one_referral_let_exactly_one_win_through_the_api() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let lead_a = t.app.api(&t.cl).await.giving_reason(LEAD_REASON);
    let other = t
        .app
        .create_user(Role::ClinicalLead, "Dr Second Lead", &[&t.app.area_a])
        .await;
    let lead_b = t.app.api(&other).await.giving_reason(LEAD_REASON);
    let names = ["Ashby", "Brook", "Carver", "Dunmore", "Ellery", "Fenwick"];
    for (n, family) in names.into_iter().enumerate() {
        let r = api_referral(
            &po,
            &probation_json(
                &t.app.area_a,
                "Rae",
                family,
                Some(&format!("R{:06}", 200 + n)),
            ),
        )
        .await;
        let id = r["id"].as_str().unwrap().to_owned();
        let before = history_len(&t.app, &id).await;
        let path = format!("/api/v1/referrals/{id}/transitions");
        let accept = json!({"action": "accept", "version": 1});
        let decline = json!({"action": "decline", "version": 1, "reason": "Needs secondary care"});
        let ((sa, ba), (sb, bb)) =
            tokio::join!(lead_a.post(&path, &accept), lead_b.post(&path, &decline));
        let (won, lost_body, expected) = match (sa, sb) {
            (StatusCode::OK, StatusCode::CONFLICT) => (ba, bb, "accepted"),
            (StatusCode::CONFLICT, StatusCode::OK) => (bb, ba, "declined"),
            other => panic!("exactly one must win: {other:?} {ba} {bb}"),
        };
        assert_eq!(won["status"], expected, "{won}");
        assert_eq!(lost_body["error"], "conflict");
        assert!(
            lost_body["message"]
                .as_str()
                .unwrap()
                .contains("changed since you opened it. Reload"),
            "{lost_body}"
        );
        assert_eq!(status_of(&t.app, &id).await, expected);
        assert_eq!(version_of(&t.app, &id).await, 2);
        assert_eq!(
            history_len(&t.app, &id).await,
            before + 1,
            "one step recorded"
        );
    }
}

/// The same race through the pages: the winner is sent back to the referral, the loser
/// gets a page saying the referral changed and to reload, with a 409.
#[tokio::test]
async fn racing_transitions_of_one_referral_through_the_pages_tell_the_loser_to_reload() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let other = t
        .app
        .create_user(Role::ClinicalLead, "Dr Second Lead", &[&t.app.area_a])
        .await;
    let (page_a, page_b) = (t.app.browser(&t.cl).await, t.app.browser(&other).await);
    let names = ["Gower", "Hollins", "Iredale", "Jessop"];
    for (n, family) in names.into_iter().enumerate() {
        let r = api_referral(
            &po,
            &probation_json(
                &t.app.area_a,
                "Rae",
                family,
                Some(&format!("P{:06}", 300 + n)),
            ),
        )
        .await;
        let id = r["id"].as_str().unwrap().to_owned();
        let before = history_len(&t.app, &id).await;
        let accept = format!("/referrals/{id}/actions/accept");
        let decline = format!("/referrals/{id}/actions/decline");
        let ((sa, _, ba), (sb, _, bb)) = tokio::join!(
            page_a.post(&accept, &[("version", "1")]),
            page_b.post(
                &decline,
                &[("version", "1"), ("reason", "Needs secondary care")]
            )
        );
        let (lost_page, expected) = match (sa, sb) {
            (StatusCode::SEE_OTHER, StatusCode::CONFLICT) => (bb, "accepted"),
            (StatusCode::CONFLICT, StatusCode::SEE_OTHER) => (ba, "declined"),
            other => panic!("exactly one must win: {other:?}"),
        };
        assert!(
            lost_page.contains("This referral has changed since you opened it"),
            "{lost_page}"
        );
        assert!(lost_page.contains("Reload the page"));
        assert!(lost_page.contains("govuk-"), "a GOV.UK page");
        assert_eq!(status_of(&t.app, &id).await, expected);
        assert_eq!(version_of(&t.app, &id).await, 2);
        assert_eq!(history_len(&t.app, &id).await, before + 1);
    }
}

/// The answers of the person page: Alex Morgan, born 1 April 1990, in `area`.
fn person_answers(area: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("given_name", "Alex"),
        ("family_name", "Morgan"),
        ("date_of_birth_day", "1"),
        ("date_of_birth_month", "4"),
        ("date_of_birth_year", "1990"),
        ("sex", "male"),
        ("gender_identity", "same_as_sex"),
        ("ethnicity", "not_stated"),
        ("area_id", area),
        ("interpreter_needed", "no"),
    ]
}

/// An arrest referral's draft with every question page answered on the pages; its path.
async fn draft_ready_to_check(page: &Browser, area: &str) -> String {
    let (_, loc, _) = page.post("/referrals/new", &[]).await;
    let draft = loc.trim_end_matches("/entry-point").to_owned();
    let steps: [(&str, Vec<(&str, &str)>); 4] = [
        ("entry-point", vec![("entry_point", "arrest")]),
        ("person", person_answers(area)),
        (
            "details",
            vec![
                ("location_kind", "court"),
                ("location", "Leicester Magistrates' Court"),
                ("ld_practitioner", "J Ellis"),
                ("consent_to_share", "yes"),
                ("offence_category", "theft"),
            ],
        ),
        (
            "needs-and-risk",
            vec![
                ("needs", "anxiety"),
                ("substance_misuse", "no"),
                ("drr_atr", "none"),
                ("rosh_level", "low"),
                ("risk_to_staff", "no"),
                ("urgency", "routine"),
                ("session_mode", "phone"),
            ],
        ),
    ];
    for (slug, fields) in &steps {
        let (status, _, body) = page.post(&format!("{draft}/{slug}"), fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{slug}: {body}");
    }
    draft
}

/// "Change" on the check page opens the question page with a way back to the check page,
/// and saving it returns there, not to the next question.
#[tokio::test]
async fn change_on_the_check_page_returns_to_the_check_page() {
    let t = cast().await;
    let page = t.app.browser(&t.po).await;
    let draft = draft_ready_to_check(&page, &t.app.area_a).await;
    let person = person_answers(&t.app.area_a);
    let (status, check) = page.get(&format!("{draft}/check")).await;
    assert_eq!(status, StatusCode::OK);
    let change = crate::helpers::unescape(&format!("{draft}/person?from=check"));
    assert!(
        crate::helpers::unescape(&check).contains(&change),
        "{check}"
    );

    // The question page opened from the check page goes back to it.
    let (status, form) = page.get(&change).await;
    assert_eq!(status, StatusCode::OK);
    let form = crate::helpers::unescape(&form);
    assert!(form.contains(&format!("action=\"{change}\"")), "{form}");
    assert!(form.contains(&format!("href=\"{draft}/check\"")), "{form}");
    assert!(form.contains("Save and go back to check your answers"));

    // Saved: back to the check page with the new answer.
    let mut changed = person.clone();
    changed[1] = ("family_name", "Morgan-Reid");
    let (status, loc, _) = page.post(&change, &changed).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc, format!("{draft}/check"));
    let (_, check) = page.get(&format!("{draft}/check")).await;
    assert!(check.contains("Morgan-Reid"), "{check}");

    // Saved without coming from the check page: on to the next question, as before.
    let (_, loc, _) = page.post(&format!("{draft}/person"), &changed).await;
    assert_eq!(loc, format!("{draft}/details"));
}

/// Screening and booking the assessment, done by one lead at one sitting, is one form:
/// both steps are taken together, or neither.
#[tokio::test]
async fn a_lead_accepts_and_books_the_assessment_at_one_sitting() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let cl = t.app.api(&t.cl).await;
    let made = |family: &'static str, crn: &'static str| {
        let po = &po;
        let area = t.app.area_a.clone();
        async move {
            api_referral(po, &probation_json(&area, "Bo", family, Some(crn))).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let id = made("Sitting", "B300001").await;
    let path = format!("/api/v1/referrals/{id}/transitions");

    // Half a booking is refused, naming what is missing, and nothing changes.
    let (status, body) = cl
        .post(
            &path,
            &json!({"action": "accept", "version": 1, "assessor_id": t.ap.id}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"]["assessment_date"].is_string(), "{body}");
    assert_eq!(status_of(&t.app, &id).await, "submitted");
    let (status, body) = cl
        .post(
            &path,
            &json!({"action": "accept", "version": 1, "assessment_date": "2030-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["fields"]["assessor_id"].is_string(), "{body}");

    // Both: accepted and booked, two entries in the timeline.
    let (status, body) = cl
        .post(
            &path,
            &json!({"action": "accept", "version": 1, "assessment_date": "2030-01-01", "assessor_id": t.ap.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "assessment_booked");
    assert_eq!(body["version"], 3);
    let cl_pages = t.app.browser(&t.cl).await;
    let (_, page) = cl_pages.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("Accepted at screening")
            && page.contains("Assessment on 1 January 2030 with Ash Psych"),
        "{page}"
    );

    // An assessor from another area is refused and the acceptance is not kept either.
    let other = made("Elsewhere", "B300002").await;
    let stranger = t
        .app
        .create_user(Role::AssistantPsychologist, "Far Psych", &[&t.app.area_b])
        .await;
    let (status, body) = cl
        .post(
            &format!("/api/v1/referrals/{other}/transitions"),
            &json!({"action": "accept", "version": 1, "assessment_date": "2030-01-01", "assessor_id": stranger.id}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(status_of(&t.app, &other).await, "submitted");

    // The page offers the booking beside the acceptance.
    let (_, form) = cl_pages
        .get(&format!("/referrals/{other}/actions/accept"))
        .await;
    assert!(
        form.contains("Book the assessment now (optional)"),
        "{form}"
    );
    assert!(
        form.contains("Ash Psych: this week 0 of 15 sessions booked"),
        "{form}"
    );
}

/// A step that cannot succeed is not offered: the page says why instead.
#[tokio::test]
async fn a_step_without_the_people_it_needs_is_not_offered_and_the_page_says_why() {
    let t = cast().await;
    // Area B has no assistant psychologist.
    let po_b = t.app.api(&t.po_b).await;
    let id = api_referral(
        &po_b,
        &probation_json(&t.app.area_b, "Mo", "Nobody", Some("B400001")),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cl = t.app.api(&t.cl).await;
    advance(&[("cl", &cl)], &id, &[("cl", json!({"action": "accept"}))]).await;
    let pages = t.app.browser(&t.cl).await;
    let (_, page) = pages.get(&format!("/referrals/{id}")).await;
    let page = crate::helpers::unescape(&page);
    assert!(
        page.contains("Book assessment: not possible yet. No assistant psychologist works in this referral's area yet: ask an administrator to add one."),
        "{page}"
    );
    assert!(
        !page.contains(&format!("/referrals/{id}/actions/book_assessment")),
        "not offered"
    );
    let (_, r) = cl.get(&format!("/api/v1/referrals/{id}")).await;
    assert!(
        !r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "book_assessment"),
        "nor in the API: {r}"
    );
    // Once one works there, it is offered.
    t.app
        .create_user(Role::AssistantPsychologist, "New Psych", &[&t.app.area_b])
        .await;
    let (_, page) = pages.get(&format!("/referrals/{id}")).await;
    let page = crate::helpers::unescape(&page);
    assert!(page.contains(&format!("/referrals/{id}/actions/book_assessment")));
    assert!(!page.contains("not possible yet"));
}

/// A probation referral moves between officers: its officer hands it over (the new one is
/// emailed), and one whose officer's account is disabled waits, in sight of the area's
/// officers, for one of them to take it over.
#[tokio::test]
async fn a_referral_is_handed_over_and_one_left_by_a_disabled_officer_is_taken_over() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let id = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Hal", "Over", Some("H500001")),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = t
        .app
        .create_user(Role::ProbationOfficer, "Nia Next", &[&t.app.area_a])
        .await;
    let path = format!("/api/v1/referrals/{id}/transitions");
    let (_, r) = po.get(&format!("/api/v1/referrals/{id}")).await;
    let v = r["version"].clone();
    // The API offers what the page offers: the holder may hand over, not take over.
    let offered: Vec<&str> = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        offered.contains(&"hand_over") && !offered.contains(&"take_over"),
        "{offered:?}"
    );

    // Refused: to themselves, to an officer of another area, and with no one chosen.
    for (officer, field) in [
        (t.po.id.as_str(), "officer_id"),
        (t.po_b.id.as_str(), "officer_id"),
        ("", "officer_id"),
    ] {
        let (status, body) = po
            .post(
                &path,
                &json!({"action": "hand_over", "version": v, "officer_id": officer}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{officer}: {body}"
        );
        assert!(body["fields"][field].is_string(), "{body}");
    }
    let (status, moved) = po
        .post(
            &path,
            &json!({"action": "hand_over", "version": v, "officer_id": next.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["responsible_officer"], "Nia Next");
    assert_eq!(moved["status"], "submitted");
    let queued: Vec<(String, String)> = t
        .app
        .with_db(move |c| {
            use mhtr_pathway::db::schema::outbox_messages as o;
            o::table
                .filter(o::kind.eq("referral_handed_over"))
                .select((o::recipient, o::subject))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].0, next.email);
    // The officer who made it no longer holds it, so cannot hand it on.
    let (_, r) = po.get(&format!("/api/v1/referrals/{id}")).await;
    let (status, body) = po
        .post(
            &path,
            &json!({"action": "hand_over", "version": r["version"], "officer_id": t.po.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The new officer leaves: the referral waits for another, in sight of the area.
    t.app.disable(&next.id).await;
    let third = t
        .app
        .create_user(Role::ProbationOfficer, "Tess Third", &[&t.app.area_a])
        .await;
    let pages = t.app.browser(&third).await;
    let (_, home) = pages.get("/").await;
    assert!(
        home.contains(
            "Its responsible officer&#x27;s account is disabled: take it over if it is yours"
        ) || home
            .contains("Its responsible officer's account is disabled: take it over if it is yours"),
        "{home}"
    );
    let (status, page) = pages.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Take over as responsible officer"), "{page}");
    let third_api = t.app.api(&third).await;
    let (_, r) = third_api.get(&format!("/api/v1/referrals/{id}")).await;
    let offered: Vec<&str> = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        offered.contains(&"take_over") && !offered.contains(&"hand_over"),
        "{offered:?}"
    );
    let (status, moved) = third_api
        .post(
            &path,
            &json!({"action": "take_over", "version": r["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["responsible_officer"], "Tess Third");
    let (_, page) = pages.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("Handed over to another responsible officer"),
        "{page}"
    );

    // A probation referral whose officer is still here cannot be taken over.
    let other = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Ida", "Held", Some("H500002")),
    )
    .await;
    let (status, body) = third_api
        .post(
            &format!(
                "/api/v1/referrals/{}/transitions",
                other["id"].as_str().unwrap()
            ),
            &json!({"action": "take_over", "version": other["version"]}),
        )
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::CONFLICT,
        "{status} {body}"
    );
}
