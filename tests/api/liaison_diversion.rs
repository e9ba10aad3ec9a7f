//! Who refers at arrest, and consent to share, on SQLite (default) or PostgreSQL
//! (`TEST_DATABASE_URL`): a Liaison and Diversion practitioner makes arrest referrals in
//! their areas, sees only those they made, and is told when a probation officer becomes
//! responsible; what the person did not consent to share is withheld from probation, and a
//! withdrawal is recorded, emailed and acted on, through the pages and the API.

use chrono::Duration;
use mhtr_pathway::notifications::messages::MessageKind;
use mhtr_pathway::referrals::consent;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::referrals::api_referral;
use crate::referrals::helpers::{Api, LEAD_REASON, TestUser};
use crate::treatment_sessions::{
    Cast, cast, clients, in_treatment, outbox, post_measure, sent, today,
};

fn arrest_json(area: &str, family: &str, consent_to_share: bool) -> Value {
    json!({
        "entry_point": "arrest",
        "given_name": "Dana",
        "family_name": family,
        "date_of_birth": "1991-05-02",
        "sex": "female",
        "gender_identity": "same_as_sex",
        "ethnicity": "white_british",
        "area_id": area,
        "gp_practice": "Market Street Surgery",
        "interpreter_needed": false,
        "location_kind": "custody_suite",
        "location": "Euston Street",
        "ld_practitioner": "Lee Diversion",
        "vulnerabilities": ["mental_health"],
        "consent_to_share": consent_to_share,
        "offence_category": "theft",
        "needs": ["anxiety"],
        "other_need": "Panic attacks in custody",
        "substance_misuse": true,
        "drr_atr": "none",
        "rosh_level": "low",
        "risk_to_staff": false,
        "urgency": "routine",
        "session_mode": "phone",
        "create_new_person": true,
    })
}

struct Team {
    ld: TestUser,
    ld_api: Api,
    ld2_api: Api,
    po: Api,
    cl: Api,
    ap: Api,
}

async fn team(t: &Cast) -> Team {
    let a = t.app.area_a.clone();
    let ld = t
        .app
        .create_user(Role::LiaisonDiversion, "Lee Diversion", &[&a])
        .await;
    let ld2 = t
        .app
        .create_user(Role::LiaisonDiversion, "Lou Court", &[&a])
        .await;
    Team {
        ld_api: t.app.api(&ld).await,
        ld2_api: t.app.api(&ld2).await,
        ld,
        po: t.app.api(&t.po).await,
        cl: t.app.api(&t.cl).await.giving_reason(LEAD_REASON),
        ap: t.app.api(&t.ap).await,
    }
}

async fn step(api: &Api, id: &str, body: Value) -> (StatusCode, Value) {
    let (_, current) = api.get(&format!("/api/v1/referrals/{id}")).await;
    let mut body = body;
    body["version"] = current["version"].clone();
    api.post(&format!("/api/v1/referrals/{id}/transitions"), &body)
        .await
}

async fn ok(api: &Api, id: &str, body: Value) -> Value {
    let (status, r) = step(api, id, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}: {r}");
    r
}

fn day(d: i64) -> String {
    (today() + Duration::days(d)).to_string()
}

#[tokio::test]
async fn a_liaison_and_diversion_practitioner_refers_at_arrest_and_follows_only_their_own() {
    let t = cast().await;
    let m = team(&t).await;

    // An arrest referral is theirs to make; a probation one is not, with the reason.
    let r = api_referral(&m.ld_api, &arrest_json(&t.app.area_a, "Custody", true)).await;
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["entry_point"], "arrest");
    assert_eq!(r["created_by"], "Lee Diversion");
    let mut probation = arrest_json(&t.app.area_a, "Wrongroute", true);
    probation["entry_point"] = json!("probation");
    probation["court"] = json!("Leicester Magistrates' Court");
    probation["hearing_date"] = json!("2030-01-01");
    let (status, e) = m.ld_api.post("/api/v1/referrals", &probation).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["fields"]["entry_point"]
            .as_str()
            .unwrap()
            .contains("point of arrest"),
        "{e}"
    );
    // Not in an area they do not work in.
    let mut elsewhere = arrest_json(&t.app.area_b, "Elsewhere", true);
    elsewhere["create_new_person"] = json!(true);
    let (status, _) = m.ld_api.post("/api/v1/referrals", &elsewhere).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Only what they made: a colleague's referral in the same area is not found.
    let other = api_referral(&m.ld2_api, &arrest_json(&t.app.area_a, "Courtroom", true)).await;
    let other_id = other["id"].as_str().unwrap();
    let (status, list) = m.ld_api.get("/api/v1/referrals").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .or(list.as_array())
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id.as_str()], "{list}");
    let (status, _) = m.ld_api.get(&format!("/api/v1/referrals/{other_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nor the treatment, enforcement or sessions routes: not their role's.
    let (status, _) = m
        .ld_api
        .get(&format!("/api/v1/referrals/{id}/sessions"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = m
        .ld_api
        .post("/api/v1/enforcement-reviews/x/decision", &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor may they take it over as responsible officer.
    let (status, _) = step(&m.ld_api, &id, json!({"action": "take_over"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A probation officer of the area takes it over; the practitioner is told, by email,
    // and sees who holds it.
    let r = ok(&m.po, &id, json!({"action": "take_over"})).await;
    assert_eq!(r["responsible_officer"], "Pat Officer");
    let rows = outbox(&t.app).await;
    assert_eq!(
        sent(&rows, MessageKind::ReferralTakenOver),
        vec![m.ld.email.clone()]
    );
    let (_, seen) = m.ld_api.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(seen["responsible_officer"], "Pat Officer");
    assert!(
        seen["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["title"]
                .as_str()
                .unwrap_or("")
                .contains("responsible officer")
                || i["description"]
                    .as_str()
                    .unwrap_or("")
                    .contains("is now the responsible officer")),
        "{seen}"
    );

    // On the pages: their home offers a referral at arrest, the list holds theirs only, and
    // the referral page shows the referral, not the treatment.
    let b = t.app.browser(&m.ld).await;
    let (status, home) = b.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("Make a referral"), "{home}");
    let (_, list) = b.get("/referrals").await;
    assert!(list.contains("Custody") && !list.contains("Courtroom"));
    let (status, page) = b.get(&format!("/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Pat Officer"));
    assert!(page.contains("shared with the responsible officer and the treating service"));
    // A new referral starts at arrest, in their name; choosing probation is refused on the
    // page, with the answer kept.
    let (status, loc, _) = b.post("/referrals/new", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, entry) = b.get(&loc).await;
    assert!(
        entry.contains(r#"value="arrest" checked"#),
        "arrest is chosen: {entry}"
    );
    let (status, _, page) = b.post(&loc, &[("entry_point", "probation")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("govuk-error-summary"));
    assert!(page.contains("Liaison and Diversion practitioners refer at the point of arrest"));
}

#[tokio::test]
async fn the_officer_recording_the_court_becomes_responsible_for_an_unheld_arrest_referral() {
    let t = cast().await;
    let m = team(&t).await;
    let id = api_referral(&m.ld_api, &arrest_json(&t.app.area_a, "Hearing", true)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    to_consent(&t, &m, &id).await;
    ok(
        &m.cl,
        &id,
        json!({"action": "send_report", "report_date": day(-2), "formulation": "Anxiety kept going by avoidance", "recommendation": "An MHTR of 12 sessions", "proposed_start_date": "2030-03-01", "proposed_sessions": 12, "proposed_mode": "phone"}),
    )
    .await;
    // No officer holds it; the one who records the hearing becomes its responsible officer.
    let r = ok(
        &m.po,
        &id,
        json!({"action": "await_sentence", "hearing_date": "2030-02-01"}),
    )
    .await;
    assert_eq!(r["responsible_officer"], "Pat Officer", "{r}");
    let rows = outbox(&t.app).await;
    assert_eq!(
        sent(&rows, MessageKind::ReferralTakenOver),
        vec![m.ld.email.clone()]
    );
}

/// Screening, assessment, suitability and consent to the MHTR, by the lead and the
/// practitioner.
async fn to_consent(t: &Cast, m: &Team, id: &str) {
    for (api, body) in [
        (&m.cl, json!({"action": "accept"})),
        (
            &m.cl,
            json!({"action": "book_assessment", "assessment_date": "2030-01-01", "assessor_id": t.ap.id}),
        ),
        (
            &m.ap,
            json!({"action": "record_assessment", "assessment_date": day(-3)}),
        ),
        (&m.cl, json!({"action": "record_suitable"})),
        (
            &m.ap,
            json!({"action": "record_consent", "consent_date": day(-3)}),
        ),
    ] {
        ok(api, id, body).await;
    }
}

/// A field of the referral's answers as the API gives it to `api`.
async fn answers(api: &Api, id: &str) -> Value {
    let (status, r) = api.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

#[tokio::test]
async fn what_the_person_did_not_consent_to_share_is_withheld_from_probation() {
    let t = cast().await;
    let m = team(&t).await;
    let id = api_referral(&m.ld_api, &arrest_json(&t.app.area_a, "Private", false)).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&m.po, &id, json!({"action": "take_over"})).await;

    // Probation sees who, where and the risk; not the health answers.
    let po_view = answers(&m.po, &id).await;
    assert_eq!(po_view["share_consent"], "not_given");
    for f in consent::HEALTH {
        assert!(po_view["answers"][f].is_null(), "{f}: {po_view}");
        assert!(
            po_view["withheld"].as_array().unwrap().contains(&json!(f)),
            "{f}"
        );
    }
    assert_eq!(po_view["answers"]["given_name"], "Dana");
    assert_eq!(po_view["answers"]["rosh_level"], "low");
    // The treating service, and the practitioner who referred, see all of it.
    for api in [&m.cl, &m.ld_api] {
        let v = answers(api, &id).await;
        assert_eq!(v["answers"]["needs"], json!(["anxiety"]), "{v}");
        assert_eq!(v["answers"]["gp_practice"], "Market Street Surgery");
    }
    // The page says why, and shows none of it; the officer cannot amend what they cannot see.
    let po_b = t.app.browser(&t.po).await;
    let (_, page) = po_b.get(&format!("/referrals/{id}")).await;
    assert!(page.contains(consent::WITHHELD), "withheld on the page");
    assert!(!page.contains("Market Street Surgery"));
    assert!(!page.contains("Panic attacks in custody"));
    assert!(!page.contains("/amend"));
    let (status, _) = po_b.get(&format!("/referrals/{id}/amend")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = m
        .po
        .post(
            &format!("/api/v1/referrals/{id}/amend"),
            &json!({"version": po_view["version"], "reason": "Typo", "changes": {"language": "Welsh"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Consent to the MHTR at assessment covers sharing with probation: then it shows.
    to_consent(&t, &m, &id).await;
    let v = answers(&m.po, &id).await;
    assert_eq!(v["share_consent"], "given");
    assert_eq!(v["answers"]["needs"], json!(["anxiety"]));

    // The person withdraws it: recorded on the timeline, emailed to the officer, and acted on.
    let (status, _) = step(
        &m.po,
        &id,
        json!({"action": "withdraw_share_consent", "decision_date": day(-1)}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "probation does not record it"
    );
    let (status, e) = step(
        &m.ap,
        &id,
        json!({"action": "withdraw_share_consent", "decision_date": day(1)}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not in the future: {e}"
    );
    let r = ok(
        &m.ap,
        &id,
        json!({"action": "withdraw_share_consent", "decision_date": day(-1), "note": "Told the practitioner by phone"}),
    )
    .await;
    assert_eq!(r["status"], "consent_recorded", "the status stays");
    let (status, e) = step(
        &m.ap,
        &id,
        json!({"action": "withdraw_share_consent", "decision_date": day(-1)}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "not twice: {e}");
    let rows = outbox(&t.app).await;
    let told: Vec<_> = rows
        .iter()
        .filter(|m| m.kind == MessageKind::ShareConsentChanged)
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].recipient, t.po.email);
    assert!(told[0].text_body.contains("withdrew consent"));
    assert!(!told[0].text_body.contains("anxiety"));
    let v = answers(&m.po, &id).await;
    assert_eq!(v["share_consent"], "withdrawn");
    assert!(v["answers"]["needs"].is_null());
    assert!(
        v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["description"]
                .as_str()
                .unwrap_or("")
                .contains("Consent to share with criminal justice agencies withdrawn")),
        "{v}"
    );

    // Without consent the report cannot go to probation; the lead is told why.
    let (status, e) = step(
        &m.cl,
        &id,
        json!({"action": "send_report", "report_date": day(-1), "formulation": "Anxiety kept going by avoidance", "recommendation": "An MHTR of 12 sessions", "proposed_start_date": "2030-03-01", "proposed_sessions": 12, "proposed_mode": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    let lead_view = answers(&m.cl, &id).await;
    assert!(
        !lead_view["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("send_report")),
        "{lead_view}"
    );
    assert!(
        lead_view["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("give_share_consent"))
    );
    let lead_b = t.app.browser(&t.cl).await;
    let (_, page) = lead_b.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("the report goes to probation only once their consent is recorded"),
        "the page says why the report waits"
    );
    assert!(page.contains("Record consent to share given"));

    // The practitioner who took it in custody records it given again; the report then goes,
    // and the officer reads it.
    ok(
        &m.ld_api,
        &id,
        json!({"action": "give_share_consent", "decision_date": day(0)}),
    )
    .await;
    ok(
        &m.cl,
        &id,
        json!({"action": "send_report", "report_date": day(0), "formulation": "Anxiety kept going by avoidance", "recommendation": "An MHTR of 12 sessions", "proposed_start_date": "2030-03-01", "proposed_sessions": 12, "proposed_mode": "phone"}),
    )
    .await;
    let v = answers(&m.po, &id).await;
    assert_eq!(
        v["assessment_report"]["formulation"],
        "Anxiety kept going by avoidance"
    );
    // Withdrawn again, the report is withheld from the officer too.
    ok(
        &m.ap,
        &id,
        json!({"action": "withdraw_share_consent", "decision_date": day(0)}),
    )
    .await;
    let v = answers(&m.po, &id).await;
    assert!(v["assessment_report"].is_null(), "{v}");
    let (_, page) = po_b.get(&format!("/referrals/{id}")).await;
    assert!(!page.contains("Anxiety kept going by avoidance"));
    assert!(page.contains("Assessment and suitability report"));
    // The clinical lead still reads it.
    let v = answers(&m.cl, &id).await;
    assert_eq!(
        v["assessment_report"]["formulation"],
        "Anxiety kept going by avoidance"
    );
    let rows = outbox(&t.app).await;
    assert_eq!(
        rows.iter()
            .filter(|m| m.kind == MessageKind::ShareConsentChanged)
            .count(),
        3,
        "withdrawn, given, withdrawn"
    );
}

#[tokio::test]
async fn the_end_of_treatment_measures_are_withheld_from_probation_after_a_withdrawal() {
    let t = cast().await;
    let c = clients(&t).await;
    let (id, tr) = in_treatment(&t, &c, 71, 2, 9).await;
    post_measure(&c.ap, &tr, 1, "phq9", "first", &[2, 2, 2, 2, 2, 2, 2, 1, 0]).await;
    post_measure(&c.ap, &tr, 2, "phq9", "last", &[1, 1, 1, 1, 1, 1, 1, 1, 0]).await;
    ok(
        &c.ap,
        &id,
        json!({"action": "end_treatment", "end_date": today().to_string(), "end_outcome": "ended_early", "end_reason": "disengaged"}),
    )
    .await;
    let path = format!("/api/v1/referrals/{id}/end-summary");
    let (status, s) = c.po.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["measures"].as_array().unwrap().len(), 1, "{s}");
    assert_eq!(s["measures_withheld"], false);

    ok(
        &c.ap,
        &id,
        json!({"action": "withdraw_share_consent", "decision_date": today().to_string()}),
    )
    .await;
    let (_, s) = c.po.get(&path).await;
    assert_eq!(s["measures"], json!([]), "{s}");
    assert_eq!(s["measures_withheld"], true);
    assert_eq!(s["sessions_attended"], 2, "attendance is still shared");
    let (_, page) = t
        .app
        .browser(&t.po)
        .await
        .get(&format!("/referrals/{id}"))
        .await;
    assert!(page.contains("Outcome measures: withheld"));
    let (_, s) = c.cl.get(&path).await;
    assert_eq!(s["measures"].as_array().unwrap().len(), 1, "{s}");
    assert_eq!(s["measures_withheld"], false);
}
