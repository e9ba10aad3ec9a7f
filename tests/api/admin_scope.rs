//! Administrators are scoped to their organisation and areas: they cannot see, reset, take
//! over or create users elsewhere, grant themselves more, or point another area's intake
//! mailbox anywhere; reset links go only to the user's own address; a new intake mailbox
//! takes mail only once confirmed from that address.

use mhtr_pathway::audit::Actor;
use mhtr_pathway::notifications::messages::MessageKind;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{
    Browser, TestApp, TestUser, csrf_from_html, error_summary, location, spawn_app, today, unescape,
};

/// An administrator of the probation organisation for Rutland only, signed in.
async fn rutland_admin(app: &TestApp) -> (Browser, TestUser) {
    let admin = app.create_user(Role::Admin, &["Rutland"]);
    let org = app.organisation_id_for(Role::ProbationOfficer);
    app.with_db(|c| {
        use diesel::prelude::*;
        use mhtr_pathway::db::schema::users;
        mhtr_pathway::users::service::set_service_wide(
            c,
            &Actor::system("tests"),
            &admin.id,
            false,
        )
        .expect("scoped");
        // The probation service's own administrator.
        diesel::update(users::table.find(&admin.id))
            .set(users::organisation_id.eq(&org))
            .execute(c)
            .expect("organisation")
    });
    let browser = app.new_browser();
    browser.sign_in(&admin).await;
    (browser, admin)
}

fn new_user_form<'a>(
    email: &'a str,
    role: &'a str,
    org: &'a str,
    area: &'a str,
    expires: &'a (String, String, String),
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "Rae Newcomer"),
        ("email", email),
        ("role", role),
        ("organisation_id", org),
        ("areas", area),
        (
            "hcpc_number",
            if role == "clinical_lead" {
                "PYL012345"
            } else {
                ""
            },
        ),
        ("vetting_level", "nppv2"),
        ("vetting_expires_on_day", &expires.0),
        ("vetting_expires_on_month", &expires.1),
        ("vetting_expires_on_year", &expires.2),
    ]
}

fn next_year() -> (String, String, String) {
    let d = today() + chrono::Duration::days(365);
    (
        d.format("%-d").to_string(),
        d.format("%-m").to_string(),
        d.format("%Y").to_string(),
    )
}

#[tokio::test]
async fn an_administrator_cannot_see_reset_or_take_over_a_user_of_another_area() {
    let app = spawn_app().await;
    let (admin, _) = rutland_admin(&app).await;
    let melton = app.create_user(Role::ProbationOfficer, &["Melton"]);
    let rutland = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let both = app.create_user(Role::ProbationOfficer, &["Rutland", "Melton"]);

    // The list shows only the users the administrator manages.
    let list = admin.get_page("/admin/users").await;
    assert!(list.contains(&rutland.email));
    assert!(!list.contains(&melton.email) && !list.contains(&both.email));

    // Every page and action on a user elsewhere answers like a user that does not exist.
    for user in [&melton, &both] {
        for path in ["", "/edit", "/vetting"] {
            let res = admin.get(&format!("/admin/users/{}{path}", user.id)).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "GET {path}");
        }
        for action in [
            "reset-password",
            "reset-two-factor",
            "disable",
            "enable",
            "end-sessions",
        ] {
            let res = admin
                .post(&format!("/admin/users/{}/{action}", user.id), &[])
                .await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
        }
    }
    assert!(
        !app.outbox().iter().any(|m| m.recipient == melton.email),
        "no link was sent to the other area's officer"
    );
    assert!(app.user_row(&melton.id).disabled_at.is_none());

    // In scope: the reset goes to the user's own address, is never shown, and is audited.
    let res = admin
        .post(&format!("/admin/users/{}/reset-password", rutland.id), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = admin.get_page(&location(&res)).await;
    assert!(unescape(&page).contains("at their own address"));
    assert!(!page.contains("/invitation/"));
    let sent: Vec<_> = app
        .outbox()
        .into_iter()
        .filter(|m| m.recipient == rutland.email)
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, MessageKind::PasswordReset);
    assert!(
        app.audit_events()
            .iter()
            .any(|e| e.event == "user.password_reset_link"
                && e.record_id.as_deref() == Some(rutland.id.as_str()))
    );
}

#[tokio::test]
async fn an_administrator_cannot_grant_an_area_organisation_or_role_they_do_not_hold() {
    let app = spawn_app().await;
    let (admin, me) = rutland_admin(&app).await;
    let expires = next_year();
    let probation = app.organisation_id_for(Role::ProbationOfficer);
    let provider = app.organisation_id_for(Role::ClinicalLead);
    let melton = app.area_id("Melton");
    let rutland = app.area_id("Rutland");

    // A clinical lead account for themselves in another area, or another organisation.
    for (org, area, message) in [
        (&probation, &melton, "Select only areas that you administer"),
        (
            &provider,
            &rutland,
            "Select your own organisation: you manage its users only",
        ),
    ] {
        let res = admin
            .post(
                "/admin/users/new",
                &new_user_form(
                    "me.again@staff.example.org",
                    "clinical_lead",
                    org,
                    area,
                    &expires,
                ),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let page = res.text().await.unwrap();
        assert!(
            error_summary(&page).iter().any(|e| e.contains(message)),
            "{:?}",
            error_summary(&page)
        );
    }
    assert!(
        !app.outbox()
            .iter()
            .any(|m| m.recipient == "me.again@staff.example.org")
    );

    // The form offers only what they hold.
    let form = admin.get_page("/admin/users/new").await;
    assert!(form.contains(&format!("value=\"{rutland}\"")));
    assert!(!form.contains(&format!("value=\"{melton}\"")));
    assert!(!form.contains(&format!("value=\"{provider}\"")));

    // Within their own organisation and area it works, and the link is only emailed.
    let res = admin
        .post(
            "/admin/users/new",
            &new_user_form(
                "rae@probation.example.org",
                "probation_officer",
                &probation,
                &rutland,
                &expires,
            ),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = admin.get_page(&location(&res)).await;
    assert!(!page.contains("/invitation/"));
    assert!(
        app.invitation_sent_to("rae@probation.example.org")
            .starts_with("/invitation/")
    );

    // No self-escalation: not their own role, organisation or areas.
    let res = admin
        .post(
            &format!("/admin/users/{}/edit", me.id),
            &[
                ("name", "Self Promoted"),
                ("email", &me.email),
                ("role", "clinical_lead"),
                ("organisation_id", &probation),
                ("areas", &rutland),
                ("hcpc_number", "PYL012345"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(
        error_summary(&page)
            .iter()
            .any(|e| e.contains("You cannot change your own role")),
        "{:?}",
        error_summary(&page)
    );
    assert_eq!(app.user_row(&me.id).role, Role::Admin);

    // Pages that span every area are for service-wide administrators only.
    for path in ["/admin/audit", "/admin/outbox", "/admin/import"] {
        assert_eq!(
            admin.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let res = admin.post("/admin/sessions/end-all", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = admin
        .post("/admin/sessions/end-all", &[("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = admin.get("/admin/sessions/end-all").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let home = admin.get_page("/").await;
    assert!(!home.contains("/admin/audit") && !home.contains("Audit log"));
}

#[tokio::test]
async fn an_intake_mailbox_is_changed_only_in_ones_areas_and_only_once_confirmed() {
    let app = spawn_app().await;
    let (admin, _) = rutland_admin(&app).await;
    let melton = app.area_id("Melton");
    let rutland = app.area_id("Rutland");

    // Another area's mailbox: not found, and nothing is sent.
    assert_eq!(
        admin.get(&format!("/admin/areas/{melton}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let res = admin
        .post(
            &format!("/admin/areas/{melton}"),
            &[("intake_email", "outside@elsewhere.example")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let areas = admin.get_page("/admin/areas").await;
    assert!(areas.contains(&format!("/admin/areas/{rutland}")));
    assert!(!areas.contains(&format!("/admin/areas/{melton}")));

    // Their own area: waiting for the new address to confirm.
    let res = admin
        .post(
            &format!("/admin/areas/{rutland}"),
            &[("intake_email", "intake@provider.example")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mailbox = || app.with_db(|c| mhtr_pathway::areas::intake_email(c, &rutland).unwrap());
    assert_eq!(mailbox(), None);
    let mail = app
        .outbox()
        .into_iter()
        .find(|m| m.kind == MessageKind::IntakeConfirmation)
        .expect("a confirmation email");
    assert_eq!(mail.recipient, "intake@provider.example");
    let start = mail.text_body.find("/intake-mailbox/").unwrap();
    let link: String = mail.text_body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        .collect();

    // Opening the link changes nothing (a mail scanner may open it); the button does, once.
    let someone = app.new_browser();
    let page = someone.get_page(&link).await;
    assert!(page.contains("Confirm this mailbox"));
    assert_eq!(mailbox(), None);
    let res = someone
        .post_form(&link, &[("csrf_token", &csrf_from_html(&page))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Intake mailbox confirmed")
    );
    assert_eq!(mailbox().as_deref(), Some("intake@provider.example"));
    let again = someone.get_page(&link).await;
    assert!(again.contains("expired or has already been used"));
}

#[tokio::test]
async fn a_scoped_administrator_neither_closes_the_service_nor_sees_others_practitioners_or_their_vetting()
 {
    let app = spawn_app().await;
    let (admin, me) = rutland_admin(&app).await;
    let wide = app.create_user(Role::Admin, &["Rutland"]);

    // Closures shut the whole service: a service-wide administrator's change.
    let page = admin.get_page("/admin/closures").await;
    assert!(!page.contains("Add a closure"));
    let res = admin
        .post(
            "/admin/closures",
            &[
                ("closure_date_day", "24"),
                ("closure_date_month", "12"),
                ("closure_date_year", "2030"),
                ("description", "Christmas"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // A practitioner elsewhere is not found; one of their own is.
    let melton_ap = app.create_user(Role::AssistantPsychologist, &["Melton"]);
    let res = admin
        .get(&format!("/practitioners/{}/capacity", melton_ap.id))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Vetting reminders about a user go only to the administrators who manage them.
    let melton_po = app.create_user(Role::ProbationOfficer, &["Melton"]);
    let rutland_po = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    for u in [&melton_po, &rutland_po] {
        app.set_vetting_expiry(u, today() + chrono::Duration::days(10));
    }
    let emails = app.state.emails.clone();
    app.with_db(|c| {
        mhtr_pathway::db::write_tx(c, |c| {
            mhtr_pathway::notifications::vetting::queue_reminders(c, &emails, today())
        })
        .unwrap()
    });
    let to = |who: &TestUser| -> usize {
        app.outbox()
            .iter()
            .filter(|m| m.kind == MessageKind::VettingExpiringAdmin && m.recipient == who.email)
            .count()
    };
    assert_eq!(to(&wide), 2, "the service-wide administrator hears of both");
    assert_eq!(
        to(&me),
        1,
        "the Rutland administrator hears of the Rutland officer only"
    );
}
