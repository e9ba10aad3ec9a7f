//! The audit log: security events are recorded, and the hash chain shows tampering.

use mhtr_pathway::users::model::Role;

use crate::helpers::{assert_redirects_to, spawn_app};
use crate::mfa::enrol_through_the_pages;

#[tokio::test]
async fn sign_ins_enrolment_session_ends_and_disabling_are_audited() {
    let app = spawn_app().await;
    let (admin, admin_user) = app.login_as(Role::Admin).await;

    // A failed sign-in.
    let res = app
        .new_browser()
        .submit_password("nobody@staff.example.org", "a wrong guess at it")
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);

    // Enrolment, then signing out.
    let user = app.create_unenrolled_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    browser.submit_password(&user.email, &user.password).await;
    enrol_through_the_pages(&browser).await;
    browser.after_sign_in(&user.name).await;
    assert_redirects_to(&browser.sign_out().await, "/signed-out");

    // The user disabled by the administrator.
    let res = admin
        .post(&format!("/admin/users/{}/disable", user.id), &[])
        .await;
    assert_redirects_to(&res, &format!("/admin/users/{}", user.id));

    let events = app.audit_events();
    let find = |event: &str, actor: Option<&str>| {
        events
            .iter()
            .find(|e| e.event == event && (actor.is_none() || e.actor_user_id.as_deref() == actor))
            .unwrap_or_else(|| panic!("no {event} event in {:?}", names(&events)))
    };
    let ok = find("sign_in.succeeded", Some(&admin_user.id));
    assert_eq!(ok.actor_label, admin_user.email);
    assert_eq!(ok.ip.as_deref(), Some("127.0.0.1"));

    let failed = find("sign_in.failed", None);
    assert_eq!(failed.actor_label, "nobody@staff.example.org");
    assert!(failed.details.contains("unknown_account"));
    assert!(
        !failed.details.contains("a wrong guess"),
        "no password in the log"
    );

    let enrolled = find("mfa.enrolled", Some(&user.id));
    assert_eq!(enrolled.record_id.as_deref(), Some(user.id.as_str()));
    let secret = app.user_row(&user.id).totp_secret.unwrap();
    assert!(!enrolled.details.contains(&secret), "no secret in the log");

    let ended = find("session.ended", Some(&user.id));
    assert!(ended.details.contains("signed out"));

    let disabled = find("user.disabled", Some(&admin_user.id));
    assert_eq!(disabled.record_id.as_deref(), Some(user.id.as_str()));

    let verified = app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap());
    assert_eq!(verified, Ok(events.len() as u64));
}

fn names(events: &[mhtr_pathway::audit::AuditRow]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

#[tokio::test]
async fn the_audit_chain_verifies_until_a_row_is_altered() {
    let app = spawn_app().await;
    let (_admin, _) = app.login_as(Role::Admin).await;
    app.new_browser()
        .submit_password("nobody@staff.example.org", "a wrong guess at it")
        .await;
    let events = app.audit_events();
    assert!(events.len() >= 3, "{:?}", names(&events));
    assert_eq!(
        app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap()),
        Ok(events.len() as u64)
    );

    let altered = events[1].seq;
    app.with_db(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE audit_events SET details = '{{\"reason\":\"nothing to see\"}}' WHERE seq = {altered}"
        ))
        .execute(c)
        .unwrap();
    });
    assert_eq!(
        app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap()),
        Err(altered)
    );
}

#[tokio::test]
async fn removing_an_audit_row_breaks_the_chain() {
    let app = spawn_app().await;
    let (_admin, _) = app.login_as(Role::Admin).await;
    let events = app.audit_events();
    let removed = events[0].seq;
    app.with_db(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("DELETE FROM audit_events WHERE seq = {removed}"))
            .execute(c)
            .unwrap();
    });
    assert_eq!(
        app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap()),
        Err(removed)
    );
}

/// Deleting the newest entries leaves a chain that is valid as far as it goes: the head,
/// kept apart from the log, catches it and says where the log now stops short; an export's
/// checkpoint catches it even if the head was rolled back too.
#[tokio::test]
async fn removing_the_newest_audit_rows_is_caught_and_located() {
    let app = spawn_app().await;
    let (_admin, _) = app.login_as(Role::Admin).await;
    for _ in 0..3 {
        app.new_browser()
            .submit_password("nobody@staff.example.org", "a wrong guess at it")
            .await;
    }
    let events = app.audit_events();
    let total = events.len() as i64;
    let dir = tempfile::tempdir().unwrap();
    app.with_db(|c| {
        mhtr_pathway::export::export(
            c,
            dir.path(),
            "Checkpoint",
            &mhtr_pathway::audit::Actor::system("tests"),
        )
        .unwrap()
    });
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["audit_checkpoint"]["seq"], total);
    let hash = manifest["audit_checkpoint"]["hash"]
        .as_str()
        .unwrap()
        .to_owned();

    let first_removed = total - 1;
    app.with_db(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "DELETE FROM audit_events WHERE seq >= {first_removed}"
        ))
        .execute(c)
        .unwrap();
    });
    assert_eq!(
        app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap()),
        Err(first_removed)
    );

    // Rolling the head back to match hides it from the chain check, not from the checkpoint.
    app.with_db(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE audit_head SET seq = {0}, hash = (SELECT hash FROM audit_events WHERE seq = {0})",
            first_removed - 1
        ))
        .execute(c)
        .unwrap();
    });
    assert!(
        app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap())
            .is_ok()
    );
    assert_eq!(
        app.with_db(|c| mhtr_pathway::audit::verify_checkpoint(c, total, &hash).unwrap()),
        Err(total)
    );
}

#[tokio::test]
async fn the_audit_log_page_shows_the_events_to_administrators() {
    let app = spawn_app().await;
    let (admin, admin_user) = app.login_as(Role::Admin).await;
    let page = admin.get_page("/admin/audit").await;
    // Plain words and names on the list; codes and ids in the entry's own view.
    assert!(page.contains("Signed in"), "{page}");
    assert!(!page.contains("sign_in.succeeded"), "{page}");
    assert!(page.contains(&format!("{} ({})", admin_user.name, admin_user.email)));
}

#[tokio::test]
async fn an_audit_entry_opens_in_full_with_its_codes_and_the_look_is_recorded() {
    let app = spawn_app().await;
    let (admin, admin_user) = app.login_as(Role::Admin).await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    admin
        .post(&format!("/admin/users/{}/disable", user.id), &[])
        .await;
    let row = app
        .audit_events()
        .into_iter()
        .rev()
        .find(|e| e.event == "user.disabled")
        .expect("the disabling is recorded");
    let list = admin.get_page("/admin/audit?record_type=user").await;
    assert!(list.contains("Disabled a user"), "{list}");
    assert!(
        list.contains(&format!("User {}", user.name)),
        "the user by name: {list}"
    );

    let page = admin.get_page(&format!("/admin/audit/{}", row.seq)).await;
    for shown in [
        "Disabled a user",
        "user.disabled",
        user.id.as_str(),
        admin_user.id.as_str(),
        row.hash.as_str(),
        row.prev_hash.as_str(),
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    assert!(
        app.audit_events()
            .iter()
            .any(|e| e.event == "audit.entry_viewed"
                && e.record_id.as_deref() == Some(row.seq.to_string().as_str())
                && e.actor_user_id.as_deref() == Some(admin_user.id.as_str())),
        "looking is recorded"
    );
    let res = admin.get("/admin/audit/999999999").await;
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);
    let res = admin.get("/admin/audit/not-a-number").await;
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);

    // Other roles are refused.
    let (lead, _) = app.login_as(Role::ClinicalLead).await;
    let res = lead.get(&format!("/admin/audit/{}", row.seq)).await;
    assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn concurrent_events_keep_the_chain_intact() {
    let app = spawn_app().await;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..8 {
        let browser = app.new_browser();
        let token = crate::helpers::csrf_from_html(&browser.get_page("/sign-in").await);
        let (client, url) = (browser.client.clone(), browser.url("/sign-in"));
        attempts.spawn(async move {
            client
                .post(url)
                .form(&[
                    ("csrf_token", token),
                    ("email", format!("guess{i}@staff.example.org")),
                    ("password", "a wrong guess at it".to_owned()),
                ])
                .send()
                .await
                .map(|r| r.status())
        });
    }
    for status in attempts.join_all().await {
        assert_eq!(status.unwrap(), reqwest::StatusCode::OK);
    }
    let events = app.audit_events();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    assert_eq!(
        app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap()),
        Ok(8)
    );
}

#[tokio::test]
async fn reordering_audit_rows_breaks_the_chain() {
    let app = spawn_app().await;
    let (_admin, _) = app.login_as(Role::Admin).await;
    app.new_browser()
        .submit_password("nobody@staff.example.org", "a wrong guess at it")
        .await;
    let events = app.audit_events();
    assert!(events.len() >= 2);
    let (a, b) = (events[0].seq, events[1].seq);
    // Swap two entries' places in the sequence, keeping each one's own hashes.
    app.with_db(|c| {
        use diesel::RunQueryDsl;
        for sql in [
            format!("UPDATE audit_events SET seq = -1 WHERE seq = {a}"),
            format!("UPDATE audit_events SET seq = {a} WHERE seq = {b}"),
            format!("UPDATE audit_events SET seq = {b} WHERE seq = -1"),
        ] {
            diesel::sql_query(sql).execute(c).unwrap();
        }
    });
    assert_eq!(
        app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap()),
        Err(a.min(b))
    );
}

#[tokio::test]
async fn administrators_search_the_log_and_bad_dates_are_explained() {
    let app = spawn_app().await;
    let (admin, admin_user) = app.login_as(Role::Admin).await;
    app.new_browser()
        .submit_password("nobody@staff.example.org", "a wrong guess at it")
        .await;

    let page = admin
        .get_page(&format!(
            "/admin/audit?user={}",
            admin_user.email.to_uppercase()
        ))
        .await;
    assert!(page.contains("Signed in"), "{page}");
    assert!(!page.contains("nobody@staff.example.org"));

    let page = admin.get_page("/admin/audit?category=authentication").await;
    assert!(page.contains("nobody@staff.example.org"));
    let page = admin.get_page("/admin/audit?category=erasure").await;
    assert!(page.contains("0 entries"), "{page}");

    let today = crate::helpers::today();
    let tomorrow = today.succ_opt().unwrap();
    let q = |d: chrono::NaiveDate, name: &str| {
        use chrono::Datelike;
        format!(
            "{name}_day={}&{name}_month={}&{name}_year={}",
            d.day(),
            d.month(),
            d.year()
        )
    };
    let page = admin
        .get_page(&format!("/admin/audit?{}", q(tomorrow, "from_date")))
        .await;
    assert!(page.contains("0 entries"));
    let page = admin
        .get_page(&format!(
            "/admin/audit?{}&{}",
            q(today, "from_date"),
            q(today, "to_date")
        ))
        .await;
    assert!(page.contains("Signed in"));

    let page = admin
        .get_page("/admin/audit?from_date_day=31&from_date_month=2&from_date_year=2026")
        .await;
    assert_eq!(
        crate::helpers::error_summary(&page),
        vec!["The date to search from must be a real date"]
    );
    assert_eq!(
        crate::helpers::input_value(&page, "from_date_day").as_deref(),
        Some("31")
    );
    let page = admin
        .get_page(&format!(
            "/admin/audit?{}&{}",
            q(tomorrow, "from_date"),
            q(today, "to_date")
        ))
        .await;
    assert_eq!(crate::helpers::error_summary(&page).len(), 1);
}

#[tokio::test]
async fn the_log_exports_as_csv_with_a_reason_and_the_export_is_recorded() {
    let app = spawn_app().await;
    let (admin, admin_user) = app.login_as(Role::Admin).await;

    // No reason: the page again, with the error.
    let res = admin
        .post(
            "/admin/audit/export",
            &[("category", "authentication"), ("reason", " ")],
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(
        crate::helpers::error_summary(&page),
        vec!["Enter why you are exporting the audit log, for example the request it answers"]
    );

    let res = admin
        .post(
            "/admin/audit/export",
            &[
                ("category", "authentication"),
                ("reason", "Subject access request SAR-2026-14"),
            ],
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("seq,id,at,actor_user_id"));
    let body: Vec<&str> = lines.collect();
    assert!(!body.is_empty());
    assert!(
        body.iter().all(|l| l.contains("\"authentication\"")),
        "{csv}"
    );

    let exported = app
        .audit_events()
        .into_iter()
        .find(|e| e.event == "audit.exported")
        .expect("the export is recorded");
    assert_eq!(exported.action.as_str(), "disclosure");
    assert_eq!(
        exported.actor_user_id.as_deref(),
        Some(admin_user.id.as_str())
    );
    assert_eq!(
        exported.reason.as_deref(),
        Some("Subject access request SAR-2026-14")
    );
    assert!(exported.details.contains("authentication"));
    assert!(
        app.with_db(|c| mhtr_pathway::audit::verify(c).unwrap())
            .is_ok()
    );
}
