//! A clinical lead's reason for looking at a referral off their own caseload (DPA 2018 s.62),
//! through the API: asked for in the `Access-Reason` header, recorded as the reason page
//! records it, remembered as the pages remember it, and put on every view's audit entry.

use diesel::prelude::*;
use mhtr_pathway::audit::AuditRow;
use mhtr_pathway::db::schema::referrals;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::TestApp;
use super::{api_referral, cast, probation_json, status_of, version_of};

const REASON: &str = "Safeguarding review of the Rutland caseload";

async fn entries(app: &TestApp, id: &str) -> Vec<AuditRow> {
    let rid = id.to_owned();
    app.state
        .db
        .run(move |c| mhtr_pathway::audit::for_record(c, "referral", &rid, 200))
        .await
        .unwrap()
}

/// The audit entries of one kind for a referral, by one user: their reasons, oldest first.
async fn reasons_of(app: &TestApp, id: &str, event: &str, email: &str) -> Vec<Option<String>> {
    let mut rows: Vec<AuditRow> = entries(app, id)
        .await
        .into_iter()
        .filter(|e| e.event == event && e.actor_label == email)
        .collect();
    rows.sort_by_key(|e| e.seq);
    rows.into_iter().map(|e| e.reason).collect()
}

/// A referral made by the probation officer in area A, screened and booked for assessment
/// with the assistant psychologist by another clinical lead: in the test lead's areas, but
/// neither on their caseload nor waiting on the area's clinical leads, so opening it asks
/// them why.
pub(crate) async fn off_caseload(t: &super::Cast, family: &str, crn: &str) -> String {
    let po = t.app.api(&t.po).await;
    let id = api_referral(&po, &probation_json(&t.app.area_a, "Vi", family, Some(crn))).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = t
        .app
        .create_user(
            mhtr_pathway::users::model::Role::ClinicalLead,
            &format!("Dr Screener {crn}"),
            &[&t.app.area_a],
        )
        .await;
    let other = t.app.api(&other).await;
    super::advance(
        &[("cl", &other)],
        &id,
        &[
            ("cl", json!({"action": "accept"})),
            (
                "cl",
                json!({"action": "book_assessment", "assessment_date": "2030-01-01", "assessor_id": t.ap.id}),
            ),
        ],
    )
    .await;
    id
}

fn assert_reason_required(status: StatusCode, body: &str, what: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    let v: Value = serde_json::from_str(body).expect("a JSON error");
    assert_eq!(v["error"], "reason_required", "{what}: {body}");
    assert!(
        v["message"].as_str().unwrap().contains("Access-Reason"),
        "{what}: the message names the header: {body}"
    );
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error", "message"], "{what}: nothing else: {body}");
}

#[tokio::test]
async fn a_clinical_lead_gives_a_reason_before_the_api_shows_a_referral_off_their_caseload() {
    let t = cast().await;
    let id = off_caseload(&t, "Ewer", "V200001").await;
    let path = format!("/api/v1/referrals/{id}");
    let cl = t.app.api(&t.cl).await;

    // No reason: refused, with nothing of the person, and nothing recorded as seen.
    let (status, body) = cl.get_with(&path, &[]).await;
    assert_reason_required(status, &body, "no reason");
    for personal in ["Ewer", "V200001", "1990-04-01", "anxiety"] {
        assert!(!body.contains(personal), "{personal} in {body}");
    }

    // A blank or too long reason is a validation error on the header, as on the page.
    let (status, body) = cl.get_with(&path, &[("Access-Reason", "   ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "validation");
    assert_eq!(
        v["fields"]["Access-Reason"],
        "Enter why you need to see this referral, for example a safeguarding review"
    );
    assert!(!body.contains("Ewer"));
    let long = "x".repeat(501);
    let (status, body) = cl.get_with(&path, &[("Access-Reason", &long)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["fields"]["Access-Reason"],
        "The reason must be 500 characters or fewer"
    );
    assert!(
        reasons_of(&t.app, &id, "referral.viewed", &t.cl.email)
            .await
            .is_empty(),
        "no view was recorded"
    );
    assert!(
        reasons_of(&t.app, &id, "referral.access_reason", &t.cl.email)
            .await
            .is_empty(),
        "no reason was recorded"
    );

    // A good reason (trimmed, and 500 characters is not too long): recorded, then shown.
    let longest = "é".repeat(500);
    let (status, _) = cl
        .get_with(
            &format!("/api/v1/referrals/{id}/sessions"),
            &[("Access-Reason", &longest)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "500 characters is allowed");
    let (status, body) = cl
        .get_with(&path, &[("Access-Reason", &format!("  {REASON}  "))])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(shown["answers"]["family_name"], "Ewer", "{shown}");

    // Remembered for this referral while the token lasts, as the pages remember it for the
    // session: no need to send it again, and not recorded again when sent again.
    let (status, body) = cl.get_with(&path, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = cl.get_with(&path, &[("Access-Reason", REASON)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        reasons_of(&t.app, &id, "referral.access_reason", &t.cl.email).await,
        [Some(longest.clone()), Some(REASON.to_owned())],
        "each reason given once, as the reason page records it"
    );
    assert_eq!(
        reasons_of(&t.app, &id, "referral.viewed", &t.cl.email).await,
        vec![Some(REASON.to_owned()); 3],
        "every view carries the reason"
    );
    assert_eq!(
        reasons_of(&t.app, &id, "referral.sessions_viewed", &t.cl.email).await,
        [Some(longest)],
    );

    // The audit log shows it to an administrator.
    let admin = t
        .app
        .create_user(
            mhtr_pathway::users::model::Role::Admin,
            "Ada Min",
            &[&t.app.area_a],
        )
        .await;
    let (status, page) = t
        .app
        .browser(&admin)
        .await
        .get(&format!("/admin/audit?record_type=referral&record_id={id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(REASON), "the reason is in the audit log");
    assert!(page.contains("Gave a reason to open a referral outside their own work"));

    // Another token starts afresh, as a new sign-in does on the pages.
    let fresh = t.app.api(&t.cl).await;
    let (status, body) = fresh.get_with(&path, &[]).await;
    assert_reason_required(status, &body, "a new token");

    // Not for every referral: another one off the caseload still needs its own reason.
    let other = off_caseload(&t, "Other", "V200002").await;
    let (status, body) = cl
        .get_with(&format!("/api/v1/referrals/{other}"), &[])
        .await;
    assert_reason_required(status, &body, "another referral");
}

#[tokio::test]
async fn a_reason_given_on_the_pages_holds_for_the_api_and_the_other_way_round() {
    let t = cast().await;
    let one = off_caseload(&t, "Ewer", "V200011").await;
    let two = off_caseload(&t, "Bray", "V200012").await;
    let cl = t.app.api(&t.cl).await;
    let page = t.app.browser(&t.cl).await;

    // Given on the reason page: the API, whose token is older, honours it.
    let (status, to, _) = page
        .post(&format!("/referrals/{one}/reason"), &[("reason", REASON)])
        .await;
    assert_eq!(
        (status, to),
        (StatusCode::SEE_OTHER, format!("/referrals/{one}"))
    );
    let (status, body) = cl.get_with(&format!("/api/v1/referrals/{one}"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Given through the API: the page, whose session is older, shows the referral.
    let (status, loc, _) = page.get_with_location(&format!("/referrals/{two}")).await;
    assert_eq!(
        (status, loc),
        (StatusCode::SEE_OTHER, format!("/referrals/{two}/reason"))
    );
    let (status, _) = cl
        .get_with(
            &format!("/api/v1/referrals/{two}"),
            &[("Access-Reason", "Covering for a colleague")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = page.get(&format!("/referrals/{two}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Bray"));
    assert_eq!(
        reasons_of(&t.app, &two, "referral.viewed", &t.cl.email).await,
        vec![Some("Covering for a colleague".to_owned()); 2]
    );
}

#[tokio::test]
async fn every_api_call_on_a_referral_off_the_caseload_asks_first_and_changes_nothing() {
    let t = cast().await;
    let id = off_caseload(&t, "Ewer", "V200021").await;
    let cl = t.app.api(&t.cl).await;
    let reads = [
        "",
        "/sessions",
        "/linked-requirements",
        "/signposting",
        "/end-summary",
    ];
    for sub in reads {
        let (status, body) = cl
            .get_with(&format!("/api/v1/referrals/{id}{sub}"), &[])
            .await;
        assert_reason_required(status, &body, &format!("GET {sub}"));
    }
    let writes = [
        ("/transitions", json!({"action": "accept", "version": 1})),
        (
            "/amend",
            json!({"version": 1, "reason": "Spelling", "changes": {"family_name": "Ewers"}}),
        ),
        (
            "/sessions/plan",
            json!({"first_date": "2030-01-07", "first_time": "10:00", "cadence": "weekly", "mode": "phone"}),
        ),
        (
            "/sessions",
            json!({"new_date": "2030-01-07", "new_time": "10:00"}),
        ),
        (
            "/linked-requirements",
            json!({"kind": "drr", "provider": "P", "treatment_director": "T", "start_date": "2030-01-01", "end_date": "2030-06-01", "sequencing": "parallel"}),
        ),
        (
            "/signposting",
            json!({"service_id": "any", "signposted_date": "2026-01-05", "status": "accepted"}),
        ),
        ("/no-onward-support", json!({"reason": "None needed"})),
        ("/end-summary", json!({"summary": "Done"})),
    ];
    for (sub, body) in &writes {
        let (status, answer) = cl.post(&format!("/api/v1/referrals/{id}{sub}"), body).await;
        assert_reason_required(status, &answer.to_string(), &format!("POST {sub}"));
    }
    assert_eq!(version_of(&t.app, &id).await, 3, "nothing changed");
    assert_eq!(status_of(&t.app, &id).await, "assessment_booked");
    let seen: Vec<String> = entries(&t.app, &id)
        .await
        .into_iter()
        .filter(|e| e.actor_label == t.cl.email)
        .map(|e| e.event)
        .collect();
    assert!(seen.is_empty(), "nothing recorded for the lead: {seen:?}");

    // With the reason, the amendment goes ahead; a new token without it is asked again.
    let cl = cl.giving_reason(REASON);
    let amend = format!("/api/v1/referrals/{id}/amend");
    let (status, amended) = cl
        .post(
            &amend,
            &json!({"version": 3, "reason": "Spelling", "changes": {"family_name": "Ewers"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{amended}");
    let (status, refused) = t
        .app
        .api(&t.cl)
        .await
        .post(
            &amend,
            &json!({"version": 4, "reason": "Spelling", "changes": {"family_name": "Ewerss"}}),
        )
        .await;
    assert_reason_required(
        status,
        &refused.to_string(),
        "a new token, without the reason",
    );
    // Rebooking the assessment with the reason: a step of the pathway, recorded with it.
    let (status, moved) = cl
        .post(
            &format!("/api/v1/referrals/{id}/transitions"),
            &json!({"action": "book_assessment", "version": 4, "assessment_date": "2030-02-01", "assessor_id": t.ap.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["status"], "assessment_booked");
    assert_eq!(
        reasons_of(&t.app, &id, "referral.access_reason", &t.cl.email).await,
        [Some(REASON.to_owned())]
    );
    // Each answer shows the whole referral: a view beside the change itself, recorded with
    // the reason, until the lead's own step makes the referral part of their work.
    assert_eq!(
        reasons_of(&t.app, &id, "referral.viewed", &t.cl.email).await,
        vec![Some(REASON.to_owned()), None]
    );
    for change in ["referral.transition", "referral.amended"] {
        assert_eq!(
            reasons_of(&t.app, &id, change, &t.cl.email).await.len(),
            1,
            "{change}"
        );
    }
    // Having moved it along, the lead has it in their work: a new token is not asked.
    let (status, body) = t
        .app
        .api(&t.cl)
        .await
        .get(&format!("/api/v1/referrals/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn on_their_caseload_other_roles_and_out_of_scope_are_answered_as_before() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let id = off_caseload(&t, "Ewer", "V200031").await;
    let path = format!("/api/v1/referrals/{id}");

    // The probation officer who made it: no reason asked, none on the view.
    let (status, body) = po.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        reasons_of(&t.app, &id, "referral.viewed", &t.po.email).await,
        [None]
    );

    // A clinical lead on the referral's caseload (here: its assessor) is not asked either.
    let (cl_id, rid) = (t.cl.id.clone(), id.clone());
    t.app
        .state
        .db
        .run(move |c| {
            diesel::update(referrals::table.find(rid))
                .set(referrals::assessor_id.eq(Some(cl_id)))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let cl = t.app.api(&t.cl).await;
    let (status, body) = cl.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = cl.get(&format!("{path}/sessions")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        reasons_of(&t.app, &id, "referral.viewed", &t.cl.email).await,
        [None]
    );
    assert!(
        reasons_of(&t.app, &id, "referral.access_reason", &t.cl.email)
            .await
            .is_empty()
    );

    // A clinical lead of another area: not found, exactly as an id that names nothing, with
    // a reason or without.
    let far = t
        .app
        .create_user(
            mhtr_pathway::users::model::Role::ClinicalLead,
            "Dr Far Lead",
            &[&t.app.area_b],
        )
        .await;
    let far = t.app.api(&far).await;
    let ghost = "/api/v1/referrals/00000000-0000-0000-0000-000000000000";
    for headers in [&[][..], &[("Access-Reason", REASON)][..]] {
        let (s1, b1) = far.get_with(&path, headers).await;
        let (s2, b2) = far.get_with(ghost, headers).await;
        assert_eq!(s1, StatusCode::NOT_FOUND, "{b1}");
        assert_eq!((s1, b1), (s2, b2));
        let (s1, b1) = far.get_with(&format!("{path}/sessions"), headers).await;
        let (s2, b2) = far.get_with(&format!("{ghost}/sessions"), headers).await;
        assert_eq!(s1, StatusCode::NOT_FOUND, "{b1}");
        assert_eq!((s1, b1), (s2, b2));
    }
}

#[tokio::test]
async fn the_openapi_document_names_the_header_on_every_call_on_a_referral() {
    let t = cast().await;
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", t.app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (method, path, _) in mhtr_pathway::routes::declarations() {
        if !path.starts_with("/api/v1/referrals/{id}") {
            continue;
        }
        let op = &doc["paths"][path][method.as_str().to_lowercase()];
        let header = op["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} has parameters"))
            .iter()
            .find(|p| p["name"] == "Access-Reason")
            .unwrap_or_else(|| panic!("{method} {path} names the Access-Reason header"));
        assert_eq!(header["in"], "header");
        assert_eq!(header["required"], false);
        assert_eq!(header["schema"]["maxLength"], 500);
        for status in ["403", "422"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} documents {status}"
            );
        }
        assert!(
            op["responses"]["403"]["description"]
                .as_str()
                .unwrap()
                .contains("reason_required"),
            "{method} {path}"
        );
        checked += 1;
    }
    assert_eq!(checked, 17, "every call on a referral");
}

/// A referral waiting on the area's clinical leads (to be screened, here) is their own work:
/// a lead opens it without a reason, and the view is still recorded.
#[tokio::test]
async fn the_leads_open_what_waits_on_them_without_a_reason_and_the_view_is_recorded() {
    let t = cast().await;
    let po = t.app.api(&t.po).await;
    let id = api_referral(
        &po,
        &probation_json(&t.app.area_a, "Vi", "Queue", Some("V200041")),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = t.app.browser(&t.cl).await;
    let (status, body) = page.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Queue"));
    let (status, body) = t
        .app
        .api(&t.cl)
        .await
        .get_with(&format!("/api/v1/referrals/{id}"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        reasons_of(&t.app, &id, "referral.viewed", &t.cl.email).await,
        [None, None],
        "both views recorded, with no reason asked"
    );
}
