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
