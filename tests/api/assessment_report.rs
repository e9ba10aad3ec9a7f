//! The assessment and suitability report, on SQLite (default) or PostgreSQL
//! (`TEST_DATABASE_URL`): the clinical lead sends its content (formulation, recommendation,
//! the treatment proposed) with the step, the responsible officer reads it on the referral
//! and in the API and is emailed, and erasure removes it.

use chrono::Duration;
use mhtr_pathway::notifications::messages::MessageKind;
use reqwest::StatusCode;
use serde_json::json;

use crate::referrals::{advance, api_referral, probation_json};
use crate::treatment_sessions::{cast, clients, emails_of, outbox, sent, today};

/// A referral taken to consent, ready for the report.
async fn consented(
    t: &crate::treatment_sessions::Cast,
    c: &crate::treatment_sessions::Clients,
    given: &str,
    crn: &str,
) -> String {
    let mut body = probation_json(&t.app.area_a, given, "Report", Some(crn));
    body["create_new_person"] = json!(true);
    let id = api_referral(&c.po, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let past = (today() - Duration::days(3)).to_string();
    advance(
        &[("cl", &c.cl), ("ap", &c.ap)],
        &id,
        &[
            ("cl", json!({"action": "accept"})),
            (
                "cl",
                json!({"action": "book_assessment", "assessment_date": "2030-01-01", "assessor_id": t.ap.id}),
            ),
            ("ap", json!({"action": "record_assessment", "assessment_date": past})),
            ("cl", json!({"action": "record_suitable"})),
            ("ap", json!({"action": "record_consent", "consent_date": past})),
        ],
    )
    .await;
    id
}

#[tokio::test]
async fn the_report_carries_its_content_to_the_officer() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = consented(&t, &c, "Rhian", "R123456").await;
    let past = (today() - Duration::days(3)).to_string();
    let path = format!("/api/v1/referrals/{id}/transitions");
    let version = || async {
        let (_, r) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
        r["version"].clone()
    };

    // The content is needed, and the treatment cannot be proposed to start before the report.
    let (status, e) =
        c.cl.post(
            &path,
            &json!({"action": "send_report", "version": version().await, "report_date": past}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    for field in [
        "formulation",
        "recommendation",
        "proposed_start_date",
        "proposed_sessions",
        "proposed_mode",
    ] {
        assert!(e["fields"][field].is_string(), "{field}: {e}");
    }
    let report = |start: String| {
        json!({"action": "send_report", "report_date": past,
               "formulation": "Low mood kept going by isolation and poor sleep",
               "recommendation": "An MHTR of 10 fortnightly sessions with a community order",
               "proposed_start_date": start, "proposed_sessions": 10, "proposed_mode": "video"})
    };
    let mut early = report((today() - Duration::days(10)).to_string());
    early["version"] = version().await;
    let (status, e) = c.cl.post(&path, &early).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["fields"]["proposed_start_date"].is_string(), "{e}");

    let start = (today() + Duration::days(30)).to_string();
    let mut good = report(start.clone());
    good["version"] = version().await;
    let (status, r) = c.cl.post(&path, &good).await;
    assert_eq!(status, StatusCode::OK, "{r}");

    // The officer reads it, and is told.
    let (_, seen) = c.po.get(&format!("/api/v1/referrals/{id}")).await;
    let a = &seen["assessment_report"];
    assert_eq!(
        a["recommendation"],
        "An MHTR of 10 fortnightly sessions with a community order"
    );
    assert_eq!(
        a["formulation"],
        "Low mood kept going by isolation and poor sleep"
    );
    assert_eq!(a["proposed_start"], start.as_str());
    assert_eq!(a["proposed_sessions"], 10);
    assert_eq!(a["proposed_mode"], "video");
    assert_eq!(a["sent_on"], past.as_str());
    assert_eq!(
        sent(&outbox(&t.app).await, MessageKind::AssessmentReportSent),
        emails_of(&[&t.po])
    );
    let po = t.app.browser(&t.po).await;
    let (_, page) = po.get(&format!("/referrals/{id}")).await;
    assert!(
        page.contains("Assessment and suitability report")
            && page.contains("10 sessions, video, from"),
        "{page}"
    );

    // The form asks for each part and keeps what was typed.
    let lead = t.app.browser(&t.cl).await;
    let id2 = consented(&t, &c, "Rhys", "R123457").await;
    let (_, current) = c.cl.get(&format!("/api/v1/referrals/{id2}")).await;
    let v = current["version"].to_string();
    let form = format!("/referrals/{id2}/actions/send_report");
    let (status, _, body) = lead
        .post(
            &form,
            &[("version", v.as_str()), ("formulation", "Kept words")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("govuk-error-summary")
            && body.contains("Enter the recommendation to the court"),
        "{body}"
    );
    assert!(body.contains("Kept words"));
}
