//! The provider's intake mailbox per area: set by administrators on `/admin/areas`, it is where
//! news of a new referral goes; an area without one emails its clinical leads.

use diesel::prelude::*;
use mhtr_pathway::db::schema::{audit_events, outbox_messages};
use mhtr_pathway::notifications::messages::MessageKind;
use mhtr_pathway::notifications::model::OutboxMessage;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::referrals::helpers::{TestApp, spawn_app};
use crate::referrals::{api_referral, probation_json};

async fn submitted_to(app: &TestApp) -> Vec<String> {
    app.state
        .db
        .run(|c| {
            Ok(outbox_messages::table
                .filter(outbox_messages::kind.eq(MessageKind::ReferralSubmitted))
                .order((outbox_messages::created_at.asc(), outbox_messages::id.asc()))
                .select(OutboxMessage::as_select())
                .load::<OutboxMessage>(c)?)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.recipient)
        .collect()
}

#[tokio::test]
async fn a_referral_is_emailed_to_its_areas_intake_mailbox_else_to_the_clinical_leads() {
    let app = spawn_app().await;
    let (a, b) = (app.area_a.clone(), app.area_b.clone());
    let admin = app.create_user(Role::Admin, "Ada Admin", &[]).await;
    let po = app
        .create_user(Role::ProbationOfficer, "Pat Officer", &[&a, &b])
        .await;
    let cl = app
        .create_user(Role::ClinicalLead, "Dr Lee Lead", &[&a, &b])
        .await;
    let po_api = app.api(&po).await;
    let admin_pages = app.browser(&admin).await;

    // No mailbox yet: the clinical lead hears of it, as before.
    api_referral(
        &po_api,
        &probation_json(&a, "Sam", "Stone", Some("A111111")),
    )
    .await;
    assert_eq!(submitted_to(&app).await, vec![cl.email.clone()]);

    // The areas page lists both areas, neither with a mailbox.
    let (status, page) = admin_pages.get("/admin/areas").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("href=\"/admin/areas/{a}\"")),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"/admin/areas/{b}\"")));
    assert!(
        page.contains("href=\"&#x2F;admin&#x2F;areas\" aria-current=\"true\""),
        "Areas is in the navigation: {page}"
    );

    // A malformed address is refused with an error summary, keeping what was typed.
    let path = format!("/admin/areas/{a}");
    let (status, _, page) = admin_pages
        .post(&path, &[("intake_email", "intake at provider")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("govuk-error-summary"), "{page}");
    assert!(page.contains("href=\"#intake_email\""));
    assert!(page.contains("value=\"intake at provider\""));
    assert!(page.contains("<title>Error: "));

    let (status, loc, _) = admin_pages
        .post(&path, &[("intake_email", " Intake@Provider.Example ")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc, "/admin/areas");
    let (_, page) = admin_pages.get("/admin/areas").await;
    assert!(page.contains("Waiting for confirmation"), "{page}");
    assert!(page.contains("intake@provider.example"), "{page}");

    // Until someone at the new address confirms it, news goes where it went.
    api_referral(&po_api, &probation_json(&a, "Ida", "Wait", Some("A121212"))).await;
    assert_eq!(submitted_to(&app).await.last(), Some(&cl.email));
    let link: String = app
        .state
        .db
        .run(|c| {
            Ok(outbox_messages::table
                .filter(outbox_messages::kind.eq(MessageKind::IntakeConfirmation))
                .filter(outbox_messages::recipient.eq("intake@provider.example"))
                .select(outbox_messages::text_body)
                .first::<String>(c)?)
        })
        .await
        .unwrap();
    let start = link.find("/intake-mailbox/").expect("a confirmation link");
    let token: String = link[start + "/intake-mailbox/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    let confirmed = app
        .state
        .db
        .write(move |c| mhtr_pathway::areas::confirm_intake(c, &token))
        .await
        .unwrap();
    assert!(confirmed.is_some());
    let (_, form) = admin_pages.get(&path).await;
    assert!(form.contains("value=\"intake@provider.example\""));

    // With a mailbox: it alone hears of the next referral in that area; the other area's
    // referral still goes to its clinical lead.
    api_referral(&po_api, &probation_json(&a, "Kit", "Hale", Some("A222222"))).await;
    api_referral(&po_api, &probation_json(&b, "Jo", "Marsh", Some("A333333"))).await;
    assert_eq!(
        submitted_to(&app).await,
        vec![
            cl.email.clone(),
            cl.email.clone(),
            "intake@provider.example".to_owned(),
            cl.email.clone()
        ]
    );

    // Cleared: back to the clinical leads.
    let (status, _, _) = admin_pages.post(&path, &[("intake_email", "  ")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    api_referral(&po_api, &probation_json(&a, "Lou", "Reed", Some("A444444"))).await;
    assert_eq!(submitted_to(&app).await.last(), Some(&cl.email));

    // Both changes are audited against the area, without the address.
    let audited: Vec<(Option<String>, String)> = app
        .state
        .db
        .run(|c| {
            Ok(audit_events::table
                .filter(audit_events::event.eq("area.intake_mailbox_changed"))
                .order(audit_events::seq.asc())
                .select((audit_events::record_id, audit_events::details))
                .load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(audited.len(), 2);
    assert!(
        audited
            .iter()
            .all(|(id, _)| id.as_deref() == Some(a.as_str()))
    );
    assert!(audited[0].1.contains("\"set\"") && audited[1].1.contains("\"cleared\""));
    assert!(audited.iter().all(|(_, d)| !d.contains("provider.example")));
}

#[tokio::test]
async fn only_administrators_reach_the_areas_page() {
    let app = spawn_app().await;
    let cl = app
        .create_user(Role::ClinicalLead, "Dr Lee Lead", &[&app.area_a])
        .await;
    let pages = app.browser(&cl).await;
    let (status, _) = pages.get("/admin/areas").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = pages
        .post(
            &format!("/admin/areas/{}", app.area_a),
            &[("intake_email", "x@provider.example")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
