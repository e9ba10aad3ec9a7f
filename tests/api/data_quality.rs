//! The data-quality view on SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`): shares of
//! the required fields per organisation and area, the records to fix, scoped by role (a
//! clinical lead's areas, an administrator's organisation, a councillor's shares only),
//! through the page, the CSV and the API, and recorded in the audit log.

use diesel::prelude::*;
use mhtr_pathway::areas::OrganisationKind;
use mhtr_pathway::db::schema::{audit_events, users};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::referrals::helpers::spawn_app;
use crate::referrals::{api_referral, probation_json};

#[tokio::test]
async fn each_role_sees_the_standards_of_the_records_in_its_scope() {
    let app = spawn_app().await;
    let (a, b) = (app.area_a.clone(), app.area_b.clone());
    let po = app
        .create_user(Role::ProbationOfficer, "Pat Officer", &[&a])
        .await;
    let partner_po = app
        .create_user(Role::ProbationOfficer, "Pia Partner", &[&a])
        .await;
    let po_b = app
        .create_user(Role::ProbationOfficer, "Bea Elsewhere", &[&b])
        .await;
    let cl = app
        .create_user(Role::ClinicalLead, "Dr Lee Lead", &[&a])
        .await;
    let admin = app.create_user(Role::Admin, "Ada Admin", &[&a]).await;
    let councillor = app.create_user(Role::Councillor, "Cllr Count", &[&a]).await;
    let ap = app
        .create_user(Role::AssistantPsychologist, "Ash Psych", &[&a])
        .await;
    // Pia works for another partner; Ada administers Pat's organisation in area A only.
    let (partner_id, admin_id) = (partner_po.id.clone(), admin.id.clone());
    app.with_db(move |c| {
        let org =
            mhtr_pathway::areas::insert_organisation(c, "Partner Trust", OrganisationKind::Other)
                .unwrap();
        diesel::update(users::table.find(&partner_id))
            .set(users::organisation_id.eq(&org))
            .execute(c)
            .unwrap();
        diesel::update(users::table.find(&admin_id))
            .set(users::service_wide.eq(false))
            .execute(c)
            .unwrap();
    })
    .await;

    // Pia's referral leaves the ethnic group unstated; Bea's is in area B. None has a GP
    // practice.
    let with_crn = api_referral(
        &app.api(&po).await,
        &probation_json(&a, "Sam", "Stone", Some("A123456")),
    )
    .await;
    let mut unstated = probation_json(&a, "Kim", "Keys", Some("C345678"));
    unstated["ethnicity"] = serde_json::json!("not_stated");
    let unstated_ref = api_referral(&app.api(&partner_po).await, &unstated).await;
    let elsewhere = api_referral(
        &app.api(&po_b).await,
        &probation_json(&b, "Jo", "Far", Some("B234567")),
    )
    .await;
    let reference = |r: &Value| r["reference"].as_str().unwrap().to_owned();

    // The clinical lead: both organisations in area A, by organisation and area.
    let (status, q) = app.api(&cl).await.get("/api/v1/data-quality").await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["records"], 2);
    let groups = q["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{q}");
    assert!(
        groups
            .iter()
            .all(|g| !g["area"].as_str().unwrap().is_empty())
    );
    let ethnicity_share = |g: &Value| {
        let f = g["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == "ethnicity")
            .unwrap();
        (
            f["all"]["have"].as_u64().unwrap(),
            f["all"]["of"].as_u64().unwrap(),
        )
    };
    let partner = groups
        .iter()
        .find(|g| g["organisation"] == "Partner Trust")
        .unwrap();
    assert_eq!(ethnicity_share(partner), (0, 1));
    let findings = q["findings"].as_array().unwrap();
    let refs: Vec<&str> = findings
        .iter()
        .map(|f| f["reference"].as_str().unwrap())
        .collect();
    assert!(
        refs.contains(&reference(&with_crn).as_str()),
        "GP practice missing"
    );
    assert!(refs.contains(&reference(&unstated_ref).as_str()));
    assert!(
        !refs.contains(&reference(&elsewhere).as_str()),
        "area B is out of scope"
    );
    let missing = findings
        .iter()
        .find(|f| f["reference"] == reference(&unstated_ref).as_str())
        .unwrap()["problems"]
        .to_string();
    assert!(missing.contains("Ethnic group stated missing"), "{missing}");
    assert!(missing.contains("GP practice missing"), "{missing}");

    // The page, with the records to fix linked for the lead, and the CSV.
    let lead = app.browser(&cl).await;
    let (status, page) = lead.get("/data-quality").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Records to fix"), "{page}");
    assert!(page.contains(&format!("/referrals/{}", with_crn["id"].as_str().unwrap())));
    let (status, csv) = lead.get("/data-quality.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("share,Partner Trust,"), "{csv}");
    assert!(
        csv.contains("finding,Partner Trust,") && csv.contains(&reference(&unstated_ref)),
        "{csv}"
    );

    // The administrator: their own organisation's records only.
    let (status, q) = app.api(&admin).await.get("/api/v1/data-quality").await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["records"], 1, "{q}");
    assert!(
        q["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["reference"] == reference(&with_crn).as_str())
    );

    // The councillor: shares per organisation across their areas, never a record.
    let (status, q) = app.api(&councillor).await.get("/api/v1/data-quality").await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["findings"].as_array().unwrap().len(), 0);
    assert_eq!(q["lists_records"], false);
    assert!(
        q["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["area"] == "")
    );
    let (status, page) = app.browser(&councillor).await.get("/data-quality").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Records to fix"));
    assert!(!page.contains(&reference(&with_crn)));

    // Everyone else is refused.
    let (status, _) = app.api(&ap).await.get("/api/v1/data-quality").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.browser(&po).await.get("/data-quality").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Every view is in the audit log.
    let views: i64 = app
        .with_db(|c| {
            audit_events::table
                .filter(audit_events::event.eq("data_quality.viewed"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(
        views, 6,
        "the lead's API, page and CSV, the admin's and the councillor's two"
    );
}

/// Amends a referral's person through the API, at its current version.
async fn amend(api: &crate::referrals::helpers::Api, id: &str, changes: Value) {
    let (status, r) = api.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, body) = api
        .post(
            &format!("/api/v1/referrals/{id}/amend"),
            &serde_json::json!({"version": r["version"], "reason": "Checked with the person", "changes": changes}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The records to fix of one referral, as the viewer's API shows them (`None`: not listed).
fn problems_of(q: &Value, reference: &str) -> Option<String> {
    q["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["reference"] == reference)
        .map(|f| f["problems"].to_string())
}

#[tokio::test]
async fn the_figures_follow_each_change_and_compare_people_only_within_the_scope() {
    let app = spawn_app().await;
    let (a, b) = (app.area_a.clone(), app.area_b.clone());
    let po = app
        .create_user(Role::ProbationOfficer, "Pat Officer", &[&a])
        .await;
    let po_b = app
        .create_user(Role::ProbationOfficer, "Bea Elsewhere", &[&b])
        .await;
    let cl = app
        .create_user(Role::ClinicalLead, "Dr Lee Lead", &[&a])
        .await;
    let admin = app.create_user(Role::Admin, "Sam Service", &[&a, &b]).await;
    let (pat, bea) = (app.api(&po).await, app.api(&po_b).await);
    let make = |api, area: &str, name: &str, crn: &str| {
        let body = probation_json(area, name, name, Some(crn));
        async move { api_referral(api, &body).await }
    };
    let r1 = make(&pat, &a, "Annabel", "D111111").await;
    let r2 = make(&pat, &a, "Roberto", "D222222").await;
    let r3 = make(&bea, &b, "Catriona", "E333333").await;
    let r4 = make(&pat, &a, "Danielle", "E444444").await;
    let id = |r: &Value| r["id"].as_str().unwrap().to_owned();
    let reference = |r: &Value| r["reference"].as_str().unwrap().to_owned();
    let lead = app.api(&cl).await;
    let everyone = app.api(&admin).await;

    // None has a GP practice: three records in area A to fix, none a person twice.
    let (_, q) = lead.get("/api/v1/data-quality").await;
    assert_eq!(q["findings_total"], 3, "{q}");
    assert_eq!(q["findings"].as_array().unwrap().len(), 3);
    assert!(!q.to_string().contains("same person"), "{q}");
    // The page lists the first of them in reference order and counts them all.
    let viewer = mhtr_pathway::referrals::model::Viewer {
        user_id: cl.id.clone(),
        name: "Dr Lee Lead".into(),
        role: Role::ClinicalLead,
        organisation_id: app.org.clone(),
        area_ids: vec![a.clone()],
        service_wide: false,
        police_cleared: false,
    };
    let first_two = app
        .with_db(move |c| {
            let required = mhtr_pathway::quality::Field::ALL.to_vec();
            mhtr_pathway::quality::view(
                c,
                &viewer,
                &mhtr_pathway::audit::Actor::system("test"),
                &required,
                mhtr_pathway::clock::today(),
                mhtr_pathway::quality::Limit::First(2),
            )
            .unwrap()
        })
        .await;
    let mut all: Vec<String> = [&r1, &r2, &r4].iter().map(|r| reference(r)).collect();
    all.sort();
    assert_eq!(first_two.findings_total, 3);
    assert_eq!(
        first_two
            .findings
            .iter()
            .map(|f| f.reference.clone())
            .collect::<Vec<_>>(),
        all[..2]
    );

    // Bob's CRN and date of birth corrected to Ann's CRN with another date: the two are
    // found as one person recorded twice, each naming the other.
    amend(
        &pat,
        &id(&r2),
        serde_json::json!({"crn": "D111111", "date_of_birth": "1985-01-01"}),
    )
    .await;
    let (_, q) = lead.get("/api/v1/data-quality").await;
    let ann = problems_of(&q, &reference(&r1)).unwrap();
    assert!(
        ann.contains(&format!("The same person as {}", reference(&r2))),
        "{ann}"
    );
    assert!(!ann.contains("1985") && !ann.contains("1990"), "{ann}");
    let bob = problems_of(&q, &reference(&r2)).unwrap();
    assert!(bob.contains(&reference(&r1)), "{bob}");

    // Dan takes Cat's CRN with another date of birth; Cat is in area B. The lead of area A
    // is told nothing of her record; an administrator of both areas sees the pair.
    amend(
        &pat,
        &id(&r4),
        serde_json::json!({"crn": "E333333", "date_of_birth": "1970-01-01"}),
    )
    .await;
    let (_, q) = lead.get("/api/v1/data-quality").await;
    let dan = problems_of(&q, &reference(&r4)).unwrap();
    assert!(!dan.contains("same person"), "{dan}");
    assert!(!q.to_string().contains(&reference(&r3)), "{q}");
    let (_, page) = app.browser(&cl).await.get("/data-quality").await;
    assert!(!page.contains(&reference(&r3)));
    let (_, q) = everyone.get("/api/v1/data-quality").await;
    let dan = problems_of(&q, &reference(&r4)).unwrap();
    assert!(
        dan.contains(&format!("The same person as {}", reference(&r3))),
        "{dan}"
    );

    // Ann's GP practice and PNC ID recorded: she is still to fix (recorded twice), but not
    // for those.
    amend(
        &pat,
        &id(&r1),
        serde_json::json!({"gp_practice": "Oakham Medical Practice", "pnc_id": "2006/0123456G"}),
    )
    .await;
    let (_, q) = lead.get("/api/v1/data-quality").await;
    let ann = problems_of(&q, &reference(&r1)).unwrap();
    assert!(
        !ann.contains("GP practice") && !ann.contains("PNC ID missing"),
        "{ann}"
    );
    assert_eq!(q["findings_total"], 3, "{q}");
    let gp = |q: &Value, column: &str| -> (u64, u64) {
        q["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["fields"].as_array().unwrap().iter())
            .filter(|f| f["field"] == "gp_practice")
            .fold((0, 0), |(h, o), f| {
                (
                    h + f[column]["have"].as_u64().unwrap(),
                    o + f[column]["of"].as_u64().unwrap(),
                )
            })
    };
    assert_eq!(gp(&q, "all"), (1, 3));
    assert_eq!(gp(&q, "this_month"), (1, 3), "all made this month");

    // Bob's date of birth put right: Ann has nothing left to fix.
    amend(
        &pat,
        &id(&r2),
        serde_json::json!({"date_of_birth": "1990-04-01"}),
    )
    .await;
    let (_, q) = lead.get("/api/v1/data-quality").await;
    assert_eq!(problems_of(&q, &reference(&r1)), None, "{q}");
    assert_eq!(q["findings_total"], 2, "{q}");

    // Pat moves to another partner: their records count as that organisation's.
    let org = app
        .with_db(|c| {
            mhtr_pathway::areas::insert_organisation(c, "Partner Trust", OrganisationKind::Other)
                .unwrap()
        })
        .await;
    let admin_pages = app.browser(&admin).await;
    let path = format!("/admin/users/{}/edit", po.id);
    let area_a = a.clone();
    let form = [
        ("name", "Pat Officer"),
        ("email", po.email.as_str()),
        ("role", "probation_officer"),
        ("organisation_id", org.as_str()),
        ("areas", area_a.as_str()),
    ];
    let (status, _, body) = admin_pages.post(&path, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, q) = lead.get("/api/v1/data-quality").await;
    let groups = q["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{q}");
    assert_eq!(groups[0]["organisation"], "Partner Trust");
    assert_eq!(groups[0]["records"], 3);

    // Area A taken off the list: every record there is to fix.
    let area = a.clone();
    app.with_db(move |c| {
        use mhtr_pathway::db::schema::areas;
        diesel::update(areas::table.find(&area))
            .set(areas::active.eq(false))
            .execute(c)
            .unwrap();
    })
    .await;
    let (_, q) = lead.get("/api/v1/data-quality").await;
    assert_eq!(q["findings_total"], 3, "{q}");
    assert!(
        problems_of(&q, &reference(&r1))
            .unwrap()
            .contains("Area no longer on the list")
    );

    // What is kept equals the same worked out afresh.
    let recount = app
        .with_db(|c| mhtr_pathway::reports::upkeep::recount(c).unwrap())
        .await;
    assert!(
        recount.quality_equal && recount.capacity_equal,
        "{recount:?}"
    );
}

#[tokio::test]
async fn people_changed_at_the_same_time_are_compared_with_each_others_changes() {
    let app = spawn_app().await;
    let a = app.area_a.clone();
    let po = app
        .create_user(Role::ProbationOfficer, "Pat Officer", &[&a])
        .await;
    let pat = app.api(&po).await;
    let names = [
        "Alderton",
        "Brampton",
        "Cottesmore",
        "Draycott",
        "Empingham",
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let crn = format!("F00000{i}");
        let r = api_referral(&pat, &probation_json(&a, name, name, Some(&crn))).await;
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let recount = || {
        app.with_db(|c| {
            mhtr_pathway::reports::upkeep::recount(c)
                .unwrap()
                .quality_equal
        })
    };
    // All five given one CRN, each with a date of birth of their own, at once: each writer
    // reads the others' people, so all five are found.
    futures_util::future::join_all(ids.iter().enumerate().map(|(i, id)| {
        let born = format!("198{i}-01-01");
        amend(
            &pat,
            id,
            serde_json::json!({"crn": "F999999", "date_of_birth": born}),
        )
    }))
    .await;
    assert!(recount().await, "the kept figures equal a recount");
    let cl = app
        .create_user(Role::ClinicalLead, "Dr Lee Lead", &[&a])
        .await;
    let lead = app.api(&cl).await;
    let (_, q) = lead.get("/api/v1/data-quality").await;
    let twice = q["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["problems"].to_string().contains("The same person as"))
        .count();
    assert_eq!(twice, 5, "{q}");
    // And all given one date at once: no one is recorded twice any more.
    futures_util::future::join_all(
        ids.iter()
            .map(|id| amend(&pat, id, serde_json::json!({"date_of_birth": "1990-04-01"}))),
    )
    .await;
    assert!(recount().await, "the kept figures equal a recount");
    let (_, q) = lead.get("/api/v1/data-quality").await;
    assert!(!q.to_string().contains("The same person as"), "{q}");
}
