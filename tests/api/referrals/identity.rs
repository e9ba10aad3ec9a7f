//! An exact CRN or PNC ID match never discloses a person outside the referrer's scope, never
//! attaches a referral to a stranger whose details differ, and a change to a shared person
//! is an amendment on every one of their referrals.

use super::helpers::LEAD_REASON;
use super::{api_referral, cast, probation_json};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn an_identifier_known_in_another_area_links_without_disclosing_the_person() {
    let t = cast().await;
    let rutland = t.app.api(&t.po_b).await;
    let mut known = probation_json(&t.app.area_b, "Robin", "Hartley", Some("R123456"));
    known["ethnicity"] = json!("asian_indian");
    known["date_of_birth"] = json!("1984-02-03");
    let known = api_referral(&rutland, &known).await;

    // The same CRN, a stranger's details (a mistyped CRN) from another area's officer.
    let po = t.app.api(&t.po).await;
    let mistyped = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Sam", "Other", Some("r123456")),
    )
    .await;
    assert_ne!(mistyped["person_id"], known["person_id"]);
    assert_eq!(mistyped["answers"]["given_name"], "Sam");
    assert_eq!(mistyped["answers"]["ethnicity"], "white_british");
    assert_eq!(
        mistyped["identity"],
        json!([]),
        "the referrer is told nothing"
    );
    let text = mistyped.to_string();
    assert!(!text.contains("Hartley") && !text.contains("1984-02-03") && !text.contains("asian"));

    // The same CRN with the same name and date of birth: still nothing disclosed.
    let mut same = probation_json(&t.app.area_a, "Robin", "Hartley", Some("R123456"));
    same["date_of_birth"] = json!("1984-02-03");
    same["ethnicity"] = json!("not_stated");
    let same = api_referral(&po, &same).await;
    assert_ne!(same["person_id"], known["person_id"]);
    assert_eq!(same["answers"]["ethnicity"], "not_stated");

    // The pages tell the referrer nothing of the other record either.
    let page = t.app.browser(&t.po).await;
    let (status, body) = page
        .get(&format!("/referrals/{}", same["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("Asian") && !body.contains("Identity match"));

    // The clinical lead of the receiving area sees both links, and the other area's
    // referral because it is in their areas too.
    let cl = t.app.api(&t.cl).await.giving_reason(LEAD_REASON);
    let mid = mistyped["id"].as_str().unwrap();
    let (_, r) = cl.get(&format!("/api/v1/referrals/{mid}")).await;
    let link = &r["identity"][0];
    assert_eq!(link["status"], "to_confirm");
    assert_eq!(link["identifier"], "crn");
    assert_eq!(link["matched_references"], json!([known["reference"]]));
    let sid = same["id"].as_str().unwrap();
    let (_, r) = cl.get(&format!("/api/v1/referrals/{sid}")).await;
    assert_eq!(r["identity"][0]["status"], "linked");

    // A lead of area A only is told the person is known outside their areas, nothing else.
    let lead_a = t
        .app
        .create_user(Role::ClinicalLead, "Dr Ann Area", &[&t.app.area_a])
        .await;
    let lead_a_api = t.app.api(&lead_a).await.giving_reason(LEAD_REASON);
    let (_, r) = lead_a_api.get(&format!("/api/v1/referrals/{mid}")).await;
    assert_eq!(r["identity"][0]["matched_references"], json!([]));
    assert!(
        r["identity"][0]["text"]
            .as_str()
            .unwrap()
            .contains("outside your areas")
    );

    // The lead decides: a reason is needed, once only.
    let link_id = link["id"].as_str().unwrap();
    let path = format!("/api/v1/referrals/{mid}/identity/{link_id}");
    let (s, body) = cl
        .post(&path, &json!({"decision": "split", "reason": " "}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["fields"]["reason"],
        "Enter the reason for your decision"
    );
    let (s, body) = cl
        .post(&path, &json!({"decision": "maybe", "reason": "x"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["fields"]["decision"].is_string());
    let (s, _) = po
        .post(&path, &json!({"decision": "split", "reason": "x"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = cl
        .post(
            &path,
            &json!({"decision": "split", "reason": "Different date of birth; CRN mistyped"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["identity"][0]["status"], "split");
    let (s, _) = cl
        .post(&path, &json!({"decision": "confirm", "reason": "again"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Through the pages: the form shows its errors in a summary and keeps the input.
    let lead_page = t.app.browser(&t.cl).await;
    let slink = r_link(&cl, sid).await;
    let form = format!("/referrals/{sid}/identity/{slink}");
    lead_page
        .post(
            &format!("/referrals/{sid}/reason"),
            &[("reason", LEAD_REASON)],
        )
        .await;
    let (status, body) = lead_page.get(&form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = lead_page.post(&form, &[("decision", "confirm")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("govuk-error-summary"));
    assert!(body.contains("Enter the reason for your decision"));
    assert!(body.contains("value=\"confirm\" checked"));
    let (status, _, _) = lead_page
        .post(
            &form,
            &[
                ("decision", "confirm"),
                ("reason", "Same name, date of birth and CRN"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, r) = cl.get(&format!("/api/v1/referrals/{sid}")).await;
    assert_eq!(r["identity"][0]["status"], "confirmed");

    let count = |event: &'static str| {
        t.app.state.db.run(move |c| {
            use diesel::prelude::*;
            use mhtr_pathway::db::schema::audit_events as a;
            Ok(a::table
                .filter(a::event.eq(event))
                .count()
                .get_result::<i64>(c)?)
        })
    };
    assert_eq!(count("person.identity_linked").await.unwrap(), 2);
    assert_eq!(count("person.identity_decided").await.unwrap(), 2);
}

async fn r_link(cl: &super::helpers::Api, referral_id: &str) -> String {
    let (_, r) = cl.get(&format!("/api/v1/referrals/{referral_id}")).await;
    r["identity"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_change_to_a_shared_person_is_an_amendment_on_every_referral_of_theirs() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let first = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Lee", "Shared", Some("L654321")),
    )
    .await;
    let second = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Lee", "Shared", Some("L654321")),
    )
    .await;
    assert_eq!(first["person_id"], second["person_id"]);
    let id = first["id"].as_str().unwrap();
    let (s, body) = po
        .post(
            &format!("/api/v1/referrals/{id}/amend"),
            &json!({"version": 1, "reason": "Name spelt wrongly", "changes": {"family_name": "Sharred", "rosh_level": "high"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, other) = po
        .get(&format!(
            "/api/v1/referrals/{}",
            second["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(other["answers"]["family_name"], "Sharred");
    assert_eq!(
        other["answers"]["rosh_level"], "low",
        "referral answers stay each referral's own"
    );
    let item = &other["timeline"][0];
    assert_eq!(item["title"], "Referral amended");
    assert_eq!(item["byline"], "Pat Officer");
    let d = item["description"].as_str().unwrap();
    assert!(
        d.contains("Family name: changed from “Shared” to “Sharred”"),
        "{d}"
    );
    assert!(!d.contains("Risk of serious harm"), "{d}");
    assert!(
        d.contains(&format!(
            "Name spelt wrongly (through referral {})",
            first["reference"].as_str().unwrap()
        )),
        "{d}"
    );
}

/// Police-linked and risk answers need police vetting (NPPV) or an enhanced DBS check: a
/// clinical lead with a standard DBS check sees the referral with them withheld, cannot
/// amend it, and cannot find a person by PNC ID; one with NPPV sees everything.
#[tokio::test]
async fn police_linked_answers_are_withheld_from_users_without_police_vetting() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let mut body = probation_json(&t.app.area_a, "Vic", "Vetting", Some("V123456"));
    let pnc = format!(
        "2001/0012345{}",
        mhtr_pathway::referrals::forms::PncId::check_letter(2001, 12345)
    );
    body["pnc_id"] = json!(pnc);
    body["rosh_level"] = json!("high");
    let (status, r) = po.post("/api/v1/referrals", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();

    let lead = t
        .app
        .create_user(Role::ClinicalLead, "Dr Dee Bs", &[&t.app.area_a])
        .await;
    let lead_id = lead.id.clone();
    t.app
        .state
        .db
        .write(move |c| {
            mhtr_pathway::users::service::set_vetting(
                c,
                &mhtr_pathway::users::model::AdminScope::everywhere(),
                &mhtr_pathway::audit::Actor::system("tests"),
                &lead_id,
                &mhtr_pathway::users::forms::VettingInput {
                    level: mhtr_pathway::users::model::VettingLevel::StandardDbs,
                    expires_on: chrono::Utc::now().date_naive() + chrono::Duration::days(300),
                },
            )
        })
        .await
        .unwrap();
    let unvetted = t.app.api(&lead).await.giving_reason(LEAD_REASON);
    let (status, seen) = unvetted.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["answers"]["pnc_id"], Value::Null);
    assert_eq!(seen["answers"]["rosh_level"], Value::Null);
    assert_eq!(seen["answers"]["family_name"], "Vetting");
    assert!(
        seen["withheld"]
            .as_array()
            .unwrap()
            .contains(&json!("rosh_level"))
    );
    let (status, _) = unvetted
        .post(
            &format!("/api/v1/referrals/{id}/amend"),
            &json!({"version": 1, "reason": "x", "changes": {"family_name": "Other"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, by_pnc) = unvetted.get(&format!("/api/v1/referrals?q={pnc}")).await;
    assert_eq!(by_pnc["total"], 0);
    let (_, by_name) = unvetted.get("/api/v1/referrals?q=Vetting").await;
    assert_eq!(by_name["total"], 1);

    let pages = t.app.browser(&lead).await;
    pages
        .post(
            &format!("/referrals/{id}/reason"),
            &[("reason", LEAD_REASON)],
        )
        .await;
    let (status, page) = pages.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Withheld: seeing this needs police vetting"));
    assert!(!page.contains(&pnc));
    assert!(!page.contains(&format!("/referrals/{id}/amend")));
    let (status, _) = pages.get(&format!("/referrals/{id}/amend")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Vetted: everything.
    let cl = t.app.api(&t.cl).await.giving_reason(LEAD_REASON);
    let (_, full) = cl.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(full["answers"]["rosh_level"], "high");
    assert_eq!(full["answers"]["pnc_id"], json!(pnc));
    assert_eq!(full["withheld"], json!([]));
    let (_, by_pnc) = cl.get(&format!("/api/v1/referrals?q={pnc}")).await;
    assert_eq!(by_pnc["total"], 1);
}
