//! Ending treatment and onward support, through the JSON API and the pages: closing refused
//! until onward support is settled, the end-of-treatment summary with reliable improvement,
//! the directory offering only active services of the person's area, the administrators'
//! directory pages, follow-ups due, and scope on every new route.

use chrono::Duration;
use diesel::prelude::*;
use mhtr_pathway::db::schema::{no_onward_support, signpostings};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::referrals::advance;
use crate::referrals::helpers::Api;
use crate::treatment_sessions::{
    Cast, Clients, allocated_referral, cast, clients, referral_status, today,
};

/// A directory service added by the administrator's API, serving `areas`.
pub(crate) async fn add_service(admin: &Api, name: &str, areas: &[&str]) -> String {
    let (status, r) = admin
        .post(
            "/api/v1/directory",
            &json!({"name": name, "service_type": "talking_therapies", "phone": "0116 000 0000", "areas": areas}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    r["id"].as_str().unwrap().to_owned()
}

async fn transition(api: &Api, id: &str, body: Value) -> (StatusCode, Value) {
    let (_, current) = api.get(&format!("/api/v1/referrals/{id}")).await;
    let mut body = body;
    body["version"] = current["version"].clone();
    api.post(&format!("/api/v1/referrals/{id}/transitions"), &body)
        .await
}

/// An allocated referral whose treatment started with its first session and then ended
/// early.
pub(crate) async fn ended_referral(t: &Cast, c: &Clients, n: u32) -> String {
    let id = allocated_referral(t, c, n).await;
    let day = |d: i64| (today() - Duration::days(d)).to_string();
    crate::treatment_sessions::start_with_first_session(&t.app, &c.ap, &id, 20).await;
    let apis = [("ap", &c.ap)];
    advance(
        &apis,
        &id,
        &[(
            "ap",
            json!({"action": "end_treatment", "end_date": day(1), "end_outcome": "ended_early", "end_reason": "moved_area"}),
        )],
    )
    .await;
    id
}

pub(crate) fn signpost_body(service_id: &str, status: &str, follow_up: Option<String>) -> Value {
    json!({
        "service_id": service_id,
        "signposted_date": today().to_string(),
        "status": status,
        "follow_up_date": follow_up,
    })
}

async fn count_rows(t: &Cast) -> (i64, i64) {
    t.app
        .state
        .db
        .run(|c| {
            Ok((
                signpostings::table.count().get_result(c)?,
                no_onward_support::table.count().get_result(c)?,
            ))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn closing_is_refused_until_every_signposting_is_settled() {
    let t = cast().await;
    let c = clients(&t).await;
    let admin = t.app.api(&t.admin).await;
    let service = add_service(&admin, "Leicester Talking Therapies", &[&t.app.area_a]).await;
    let id = ended_referral(&t, &c, 1).await;

    let (status, r) = transition(&c.cl, &id, json!({"action": "close"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("record that no onward support is needed"),
        "{r}"
    );

    // A referral made awaits an answer: still unsettled, and the message names the service.
    let (status, s) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/signposting"),
            &signpost_body(&service, "referral_made", Some(today().to_string())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!(s["is_final"], false);
    let (status, r) = transition(&c.cl, &id, json!({"action": "close"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    let message = r["message"].as_str().unwrap();
    assert!(message.contains("Leicester Talking Therapies"), "{message}");
    assert!(message.contains("referral made"), "{message}");
    assert_eq!(referral_status(&t.app, &id).await, "ended");

    // Accepted: settled, and the referral closes.
    let sid = s["id"].as_str().unwrap();
    let (status, r) =
        c.ap.post(
            &format!("/api/v1/signposting/{sid}"),
            &json!({"version": s["version"], "status": "accepted"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    // A stale version is refused.
    let (status, _) =
        c.ap.post(
            &format!("/api/v1/signposting/{sid}"),
            &json!({"version": 0, "status": "declined"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, onward) =
        c.po.get(&format!("/api/v1/referrals/{id}/signposting"))
            .await;
    assert_eq!(onward["settled"], true, "{onward}");
    let (status, r) = transition(&c.cl, &id, json!({"action": "close"})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(referral_status(&t.app, &id).await, "closed");

    // The timeline carries the onward support.
    let (_, r) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    let timeline = serde_json::to_string(&r["timeline"]).unwrap();
    assert!(timeline.contains("Signposted to a service"), "{timeline}");
    assert!(timeline.contains("Signposting updated"), "{timeline}");

    // Closed: onward support no longer changes.
    let (status, _) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/no-onward-support"),
            &json!({"reason": "Too late"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn no_onward_support_with_a_reason_lets_the_referral_close() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = ended_referral(&t, &c, 2).await;
    let path = format!("/api/v1/referrals/{id}/no-onward-support");
    let (status, r) = c.ap.post(&path, &json!({"reason": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert!(r["fields"]["reason"].is_string());
    let (status, r) = c
        .ap
        .post(
            &path,
            &json!({"reason": "Moved to Scotland; already registered with a GP and a local team there"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["settled"], true);
    let (status, r) = transition(&c.cl, &id, json!({"action": "close"})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
}

#[tokio::test]
async fn the_end_summary_pairs_the_first_and_last_measures_with_reliable_improvement() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = crate::treatment_sessions::in_treatment(&t, &c, 3, 2, 9).await;
    // PHQ-9 15 → 9 (a fall of 6: reliable); GAD-7 12 → 9 (a fall of 3: not).
    let measures = [
        (1, "phq9", "first", vec![2, 2, 2, 2, 2, 2, 2, 1, 0]),
        (1, "gad7", "first", vec![2, 2, 2, 2, 2, 1, 1]),
        (2, "phq9", "last", vec![1, 1, 1, 1, 1, 1, 1, 2, 0]),
        (2, "gad7", "last", vec![2, 2, 1, 1, 1, 1, 1]),
    ];
    for (n, instrument, stage, answers) in measures {
        crate::treatment_sessions::post_measure(&c.ap, &tr, n, instrument, stage, &answers).await;
    }
    let summary_path = format!("/api/v1/referrals/{id}/end-summary");
    let (status, _) = c.ap.get(&summary_path).await;
    assert_eq!(status, StatusCode::CONFLICT, "not before treatment ends");
    let (status, r) = transition(
        &c.ap,
        &id,
        json!({"action": "end_treatment", "end_date": today().to_string(), "end_outcome": "ended_early", "end_reason": "disengaged"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");

    let (status, s) =
        c.ap.post(
            &summary_path,
            &json!({"summary": "Engaged in two sessions, then stopped coming."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["sessions_attended"], 2);
    assert_eq!(s["target_sessions"], 12);
    assert_eq!(s["sessions_missed_acceptable"], 0);
    assert_eq!(s["sessions_missed_unacceptable"], 0);
    assert_eq!(s["onward_support"], json!([]));
    // The officer is told it is ready, and again when it changes; the email carries a link,
    // never the summary.
    let ready = |rows: &[mhtr_pathway::notifications::model::OutboxMessage]| {
        rows.iter()
            .filter(|m| {
                m.kind == mhtr_pathway::notifications::messages::MessageKind::EndSummaryWritten
            })
            .map(|m| {
                assert!(!m.text_body.contains("stopped coming"), "{}", m.text_body);
                (m.recipient.clone(), m.subject.clone())
            })
            .collect::<Vec<_>>()
    };
    let rows = crate::treatment_sessions::outbox(&t.app).await;
    let told = ready(&rows);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, t.po.email);
    assert!(told[0].1.contains("ready"));
    let (status, _) =
        c.ap.post(
            &summary_path,
            &json!({"summary": "Engaged in two sessions, then stopped coming."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let told = ready(&crate::treatment_sessions::outbox(&t.app).await);
    assert_eq!(told.len(), 2);
    assert!(told[1].1.contains("changed"), "{told:?}");
    assert_eq!(s["end_outcome"], "ended_early");
    assert_eq!(s["end_reason"], "disengaged");
    let phq9 = &s["measures"][0];
    assert_eq!(phq9["instrument"], "phq9");
    assert_eq!(phq9["first_total"], 15);
    assert_eq!(phq9["last_total"], 9);
    assert_eq!(phq9["change"], -6);
    assert_eq!(phq9["reliable_improvement"], true);
    let gad7 = &s["measures"][1];
    assert_eq!(gad7["instrument"], "gad7");
    assert_eq!(gad7["change"], -3);
    assert_eq!(gad7["reliable_improvement"], false);
    // Read clinically (NHS Talking Therapies): PHQ-9 15 → 9 leaves caseness with a reliable
    // improvement; GAD-7 12 → 9 stays at caseness (8 or more) with no reliable change.
    assert_eq!(phq9["caseness_at_start"], true);
    assert_eq!(phq9["caseness_at_end"], false);
    assert_eq!(phq9["reliable_change"], "reliable_improvement");
    assert_eq!(gad7["caseness_at_end"], true);
    assert_eq!(gad7["reliable_change"], "no_reliable_change");
    // Together: a reliable improvement, but not recovered, as GAD-7 is still at caseness.
    let both = &s["combined_outcome"];
    assert_eq!(both["caseness_at_start"], true);
    assert_eq!(both["recovered"], false);
    assert_eq!(both["reliable_change"], "reliable_improvement");
    assert_eq!(both["reliably_recovered"], false);

    // The officer reads the summary and the flags, not the totals.
    let (status, o) = c.po.get(&summary_path).await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(
        o["practitioner_summary"],
        "Engaged in two sessions, then stopped coming."
    );
    assert_eq!(o["measures"][0]["reliable_improvement"], true);
    assert!(o["measures"][0].get("first_total").is_none(), "{o}");
    let (status, _) =
        c.po.post(&summary_path, &json!({"summary": "Officer's words"}))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // And on the referral page.
    let po = t.app.browser(&t.po).await;
    let (status, page) = po.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "End of treatment",
        "2 of 12",
        "Ended early",
        "Engaged in two sessions",
        "PHQ-9 and GAD-7 together: Reliable improvement; not recovered",
        "Yes, then no",
    ] {
        assert!(page.contains(text), "page shows {text}");
    }
    let ap = t.app.browser(&t.ap).await;
    let (_, page) = ap.get(&format!("/referrals/{id}")).await;
    assert!(page.contains("Onward support"));
    assert!(page.contains("Record that no onward support is needed"));

    // The uptake report counts the finished course (two attended sessions) and its outcome:
    // paired, at caseness at the start, not recovered (the GAD-7 ends at 9, still at
    // caseness), reliably improved (the PHQ-9), not deteriorated. Each rate gives its
    // denominator.
    let (status, report) = c.cl.get("/api/v1/reports/uptake").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let total = |key: &str| {
        report["sections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["rows"].as_array().unwrap().iter())
            .find(|r| r["key"] == key)
            .map(|r| {
                let f = r["figures"].as_array().unwrap().last().unwrap().clone();
                (f["text"].as_str().unwrap().to_owned(), f["of"].clone())
            })
            .unwrap_or_else(|| panic!("no row {key}"))
    };
    assert_eq!(total("rate_finished_paired"), ("100.0%".into(), json!(1)));
    assert_eq!(total("rate_recovery"), ("0.0%".into(), json!(1)));
    assert_eq!(total("rate_reliable_recovery"), ("0.0%".into(), json!(1)));
    assert_eq!(
        total("rate_reliable_improvement"),
        ("100.0%".into(), json!(1))
    );
    assert_eq!(
        total("rate_reliable_deterioration"),
        ("0.0%".into(), json!(1))
    );
}

#[tokio::test]
async fn inactive_services_and_other_areas_services_are_not_offered() {
    let t = cast().await;
    let c = clients(&t).await;
    let admin = t.app.api(&t.admin).await;
    let active = add_service(&admin, "Open Door", &[&t.app.area_a]).await;
    let closed = add_service(&admin, "Shut Door", &[&t.app.area_a]).await;
    let (status, r) = admin
        .post(
            &format!("/api/v1/directory/{closed}"),
            &json!({"name": "Shut Door", "service_type": "housing", "phone": "0116 1", "areas": [t.app.area_a], "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["active"], false);
    let cl_b_admin = t
        .app
        .create_user(Role::Admin, "Bea Admin", &[&t.app.area_b])
        .await;
    let elsewhere = add_service(&t.app.api(&cl_b_admin).await, "Far Door", &[&t.app.area_b]).await;

    let id = allocated_referral(&t, &c, 4).await;
    let (status, onward) =
        c.ap.get(&format!("/api/v1/referrals/{id}/signposting"))
            .await;
    assert_eq!(status, StatusCode::OK, "{onward}");
    let offered: Vec<&str> = onward["offered_services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(offered, [active.as_str()]);

    for refused in [&closed, &elsewhere] {
        let (status, r) =
            c.ap.post(
                &format!("/api/v1/referrals/{id}/signposting"),
                &signpost_body(refused, "accepted", None),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
        assert!(r["fields"]["service_id"].is_string(), "{r}");
    }
    let ap = t.app.browser(&t.ap).await;
    let (status, page) = ap.get(&format!("/referrals/{id}/signposting/new")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Open Door"));
    assert!(!page.contains("Shut Door"));
    assert!(!page.contains("Far Door"));
    assert_eq!(count_rows(&t).await, (0, 0));

    // Another area's administrator cannot reach this area's service.
    let (status, _) = t
        .app
        .api(&cl_b_admin)
        .await
        .post(
            &format!("/api/v1/directory/{active}"),
            &json!({"name": "Taken", "service_type": "housing", "phone": "1", "areas": [t.app.area_b]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_directory_pages_are_for_administrators_only() {
    let t = cast().await;
    let admin = t.app.browser(&t.admin).await;
    let (status, page) = admin.get("/admin/directory").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Add a service"));
    let (status, page) = admin.get("/admin/directory/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Areas served"));
    let (status, _, body) = admin
        .post(
            "/admin/directory/new",
            &[("website", "https://kept.example")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("govuk-error-summary"), "{body}");
    assert!(body.contains("Enter the name of the organisation"));
    assert!(
        body.contains("value=\"https:&#x2F;&#x2F;kept.example\""),
        "input kept"
    );
    let (status, location, _) = admin
        .post(
            "/admin/directory/new",
            &[
                ("name", "Melton Foodbank and Debt Advice"),
                ("service_type", "debt"),
                ("phone", "01664 000 000"),
                ("areas", &t.app.area_a),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/directory");
    let (_, page) = admin.get("/admin/directory").await;
    assert!(page.contains("Melton Foodbank and Debt Advice"));
    assert!(page.contains("Deactivate"));

    for user in [&t.po, &t.cl, &t.ap, &t.councillor] {
        let b = t.app.browser(user).await;
        for path in ["/admin/directory", "/admin/directory/new"] {
            let (status, _) = b.get(path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{} {path}", user.name);
        }
        let (status, _) = t.app.api(user).await.get("/api/v1/directory").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", user.name);
    }
}

/// Adds `n` copies of a referral (new ids and references), written by SQL in one statement:
/// a large area without the time it takes to make each through the service.
pub(crate) fn copy_referral(c: &mut mhtr_pathway::db::DbConn, id: &str, n: u32) {
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let columns: Vec<Column> = match c {
        mhtr_pathway::db::DbConn::Sqlite(_) => {
            diesel::sql_query("SELECT name FROM pragma_table_info('referrals')").load(c)
        }
        mhtr_pathway::db::DbConn::Pg(_) => diesel::sql_query(
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'referrals'",
        )
        .load(c),
    }
    .unwrap();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let values: Vec<String> = names
        .iter()
        .map(|n| match *n {
            "id" => "'copy-' || n.i".to_owned(),
            "reference" => "'COPY' || n.i".to_owned(),
            "idempotency_key" => "NULL".to_owned(),
            other => format!("r.{other}"),
        })
        .collect();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         INSERT INTO referrals ({}) SELECT {} FROM n CROSS JOIN referrals r WHERE r.id = '{id}'",
        names.join(", "),
        values.join(", ")
    );
    let added = diesel::sql_query(sql).execute(c).unwrap();
    assert_eq!(added, n as usize);
}

#[tokio::test]
async fn due_follow_ups_are_listed_for_the_practitioner() {
    let t = cast().await;
    let c = clients(&t).await;
    let admin = t.app.api(&t.admin).await;
    let service = add_service(&admin, "Peer Support Leicester", &[&t.app.area_a]).await;
    let id = allocated_referral(&t, &c, 6).await;
    let ap = t.app.browser(&t.ap).await;

    // On the page: an empty form says what is wrong, GOV.UK style, keeping input.
    let path = format!("/referrals/{id}/signposting/new");
    let (status, _, body) = ap.post(&path, &[("status", "suggested")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("govuk-error-summary"), "{body}");
    assert!(body.contains("Select the service"));
    assert!(
        body.contains("href=\"#follow_up_date-day\""),
        "date anchored"
    );
    let t0 = today();
    let day = |d: chrono::NaiveDate| {
        use chrono::Datelike;
        (
            d.day().to_string(),
            d.month().to_string(),
            d.year().to_string(),
        )
    };
    let (sd, sm, sy) = day(t0);
    let (status, location, _) = ap
        .post(
            &path,
            &[
                ("service_id", &service),
                ("signposted_date_day", &sd),
                ("signposted_date_month", &sm),
                ("signposted_date_year", &sy),
                ("status", "suggested"),
                ("follow_up_date_day", &sd),
                ("follow_up_date_month", &sm),
                ("follow_up_date_year", &sy),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with(&format!("/referrals/{id}")));
    // One not yet due.
    let (status, _) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/signposting"),
            &signpost_body(
                &service,
                "referral_made",
                Some((t0 + Duration::days(7)).to_string()),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, r) = c.ap.get(&format!("/api/v1/referrals/{id}")).await;
    let reference = r["reference"].as_str().unwrap().to_owned();
    let (status, page) = ap.get("/signposting/due").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&reference), "{page}");
    assert_eq!(
        page.matches("Peer Support Leicester").count(),
        2,
        "one row (and its hidden link text)"
    );
    let (_, home) = ap.get("/").await;
    assert!(home.contains("Signposting follow-up due"), "{home}");

    // Not the other practitioner's.
    let ap2 = t.app.browser(&t.ap2).await;
    let (status, page) = ap2.get("/signposting/due").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&reference));

    // The clinical lead sees it too, however many referrals their areas hold: more than a
    // query may carry values (32,766 on SQLite, 65,535 on PostgreSQL) once listed the due
    // follow-ups' scope as the ids of every referral in it, and the page failed.
    t.app
        .state
        .db
        .run({
            let id = id.clone();
            move |c| {
                copy_referral(c, &id, 70_000);
                Ok(())
            }
        })
        .await
        .unwrap();
    let lead = t.app.browser(&t.cl).await;
    let (status, page) = lead.get("/signposting/due").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&reference), "{page}");
    let (status, page) = t.app.browser(&t.cl_b).await.get("/signposting/due").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&reference), "another area's lead: {page}");

    // Updated on its page, it is no longer due.
    let (_, onward) =
        c.ap.get(&format!("/api/v1/referrals/{id}/signposting"))
            .await;
    let first = &onward["signpostings"][0];
    let update = format!("/signposting/{}/update", first["id"].as_str().unwrap());
    let (status, form) = ap.get(&update).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Update the signposting to Peer Support Leicester"));
    let (status, _, _) = ap
        .post(
            &update,
            &[
                ("version", "0"),
                ("status", "declined"),
                ("reason", "Prefers not to"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = ap.get("/signposting/due").await;
    assert!(!page.contains(&reference));
}

#[tokio::test]
async fn people_outside_the_scope_see_and_change_nothing_on_the_new_routes() {
    let t = cast().await;
    let c = clients(&t).await;
    let admin_api = t.app.api(&t.admin).await;
    let service = add_service(&admin_api, "Scoped Service", &[&t.app.area_a]).await;
    let id = ended_referral(&t, &c, 7).await;
    let (status, s) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/signposting"),
            &signpost_body(&service, "suggested", Some(today().to_string())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let sid = s["id"].as_str().unwrap().to_owned();
    let before = count_rows(&t).await;

    let po_b = t
        .app
        .create_user(Role::ProbationOfficer, "Out Area", &[&t.app.area_b])
        .await;
    let outsiders = [
        (&po_b, StatusCode::NOT_FOUND, StatusCode::FORBIDDEN),
        (&t.ap2, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
        (&t.cl_b, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
        (&t.councillor, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        (&t.admin, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
    ];
    for (user, read, write) in outsiders {
        let api = t.app.api(user).await;
        for path in [
            format!("/api/v1/referrals/{id}/signposting"),
            format!("/api/v1/referrals/{id}/end-summary"),
        ] {
            let (status, _) = api.get(&path).await;
            assert_eq!(status, read, "{} GET {path}", user.name);
        }
        let writes = [
            (
                format!("/api/v1/referrals/{id}/signposting"),
                signpost_body(&service, "accepted", None),
            ),
            (
                format!("/api/v1/signposting/{sid}"),
                json!({"version": 0, "status": "accepted"}),
            ),
            (
                format!("/api/v1/referrals/{id}/no-onward-support"),
                json!({"reason": "None"}),
            ),
            (
                format!("/api/v1/referrals/{id}/end-summary"),
                json!({"summary": "Mine"}),
            ),
        ];
        for (path, body) in &writes {
            let (status, _) = api.post(path, body).await;
            assert_eq!(status, write, "{} POST {path}", user.name);
        }
        let b = t.app.browser(user).await;
        let page_status = if read == StatusCode::FORBIDDEN || write == StatusCode::FORBIDDEN {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::NOT_FOUND
        };
        for path in [
            format!("/referrals/{id}/signposting/new"),
            format!("/signposting/{sid}/update"),
            format!("/referrals/{id}/no-onward-support"),
            format!("/referrals/{id}/end-summary"),
        ] {
            let (status, _) = b.get(&path).await;
            assert_eq!(status, page_status, "{} GET {path}", user.name);
        }
        let (status, _, _) = b
            .post(
                &format!("/signposting/{sid}/update"),
                &[("version", "0"), ("status", "accepted")],
            )
            .await;
        assert_eq!(status, page_status, "{} POST update", user.name);
    }
    // The responsible officer reads, but does not change.
    let (status, _) =
        c.po.get(&format!("/api/v1/referrals/{id}/signposting"))
            .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        c.po.post(
            &format!("/api/v1/signposting/{sid}"),
            &json!({"version": 0, "status": "accepted"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(count_rows(&t).await, before, "nothing changed");
    let (_, onward) =
        c.cl.get(&format!("/api/v1/referrals/{id}/signposting"))
            .await;
    assert_eq!(onward["signpostings"][0]["status"], "suggested");
    assert_eq!(onward["signpostings"][0]["version"], 0);
}

/// An area with one service and one with more than a thousand (past SQLite's expression
/// depth limit, were the equalities `db::any_of` writes nested one inside the next) are both
/// read, active services only, in name order.
#[tokio::test]
async fn an_area_with_many_services_offers_them_all() {
    use mhtr_pathway::db::schema::{directory_service_areas, directory_services};
    let t = cast().await;
    let admin = t.app.api(&t.admin).await;
    let first = add_service(&admin, "Aardvark House", &[&t.app.area_a]).await;
    let area = t.app.area_a.clone();
    let found = t
        .app
        .state
        .db
        .run(move |c| {
            let now = chrono::Utc::now().naive_utc();
            let few = mhtr_pathway::signposting::model::services_in(
                c,
                std::slice::from_ref(&area),
                true,
            )?;
            for n in 0..1100 {
                let id = format!("bulk-service-{n:03}");
                diesel::insert_into(directory_services::table)
                    .values((
                        directory_services::id.eq(&id),
                        directory_services::name.eq(format!("Service {n:03}")),
                        directory_services::service_type.eq("housing"),
                        directory_services::active.eq(n % 10 != 0),
                        directory_services::created_at.eq(now),
                        directory_services::updated_at.eq(now),
                    ))
                    .execute(c)?;
                diesel::insert_into(directory_service_areas::table)
                    .values((
                        directory_service_areas::service_id.eq(&id),
                        directory_service_areas::area_id.eq(&area),
                    ))
                    .execute(c)?;
            }
            let many = mhtr_pathway::signposting::model::services_in(c, &[area], true)?;
            Ok((few, many))
        })
        .await
        .unwrap();
    let (few, many) = found;
    assert_eq!(
        few.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [first.as_str()]
    );
    // 990 active bulk services and the first; MAX_SERVICES bounds the answer.
    let names: Vec<&str> = many.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names[0], "Aardvark House");
    assert!(names.len() > 100, "{}", names.len());
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    assert!(
        !names.contains(&"Service 010"),
        "an inactive service was offered"
    );
    assert!(names.contains(&"Service 011"));
}

/// On the pages, "Close" is offered only when it can succeed; until then the referral page
/// says what is missing, and a refusal reached anyway says what it is and leads back to the
/// referral, not only home.
#[tokio::test]
async fn close_is_offered_only_when_onward_support_is_settled() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = ended_referral(&t, &c, 40).await;
    let lead = t.app.browser(&t.cl).await;
    let (status, page) = lead.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let page = crate::helpers::unescape(&page);
    assert!(
        !page.contains(&format!("/referrals/{id}/actions/close")),
        "{page}"
    );
    assert!(page.contains("Close: not possible yet"), "{page}");
    assert!(
        page.contains("record that no onward support is needed"),
        "{page}"
    );

    // The refusal page, should the form be reached: what is missing, and the way back.
    let (_, current) = c.cl.get(&format!("/api/v1/referrals/{id}")).await;
    let version = current["version"].to_string();
    let (status, _, body) = lead
        .post(
            &format!("/referrals/{id}/actions/close"),
            &[("version", &version)],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let body = crate::helpers::unescape(&body);
    assert!(body.contains("This cannot be done yet"), "{body}");
    assert!(!body.contains("changed since you opened it"), "{body}");
    assert!(
        body.contains(&format!("href=\"/referrals/{id}\"")),
        "{body}"
    );
    assert!(body.contains("Go back to the referral"), "{body}");

    // Settled: "Close" is offered.
    let (status, r) =
        c.ap.post(
            &format!("/api/v1/referrals/{id}/no-onward-support"),
            &json!({"reason": "Moving in with family"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, page) = lead.get(&format!("/referrals/{id}")).await;
    let page = crate::helpers::unescape(&page);
    assert!(
        page.contains(&format!("/referrals/{id}/actions/close")),
        "{page}"
    );
    assert!(!page.contains("Close: not possible yet"), "{page}");
}
