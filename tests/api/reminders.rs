//! Appointment reminders to the person through GOV.UK Notify, on SQLite (default) or
//! PostgreSQL (`TEST_DATABASE_URL`), against a local Notify stand-in that checks each
//! request's token as Notify does: contact details kept as amendments and scoped to the
//! referral, confirmations and reminders written with the plan, sent when due in English or
//! Welsh, never twice (a lost answer, a retry, two workers racing), withdrawn when the
//! session moves or the person may no longer be contacted, delivery read back and shown,
//! a failed text followed by a letter, and the administrators' wording and failed list.

use chrono::{Duration, Weekday};
use diesel::prelude::*;
use mhtr_pathway::db::schema::{audit_events, referral_amendments, reminders, treatment_sessions};
use mhtr_pathway::reminders::model::Reminder;
use mhtr_pathway::reminders::worker::{Pass, Worker};
use mhtr_pathway::settings::ReminderTransport;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::notify::{self, NotifyStandIn};
use crate::treatment_sessions::{
    Cast, Clients, allocated_referral, cast, cast_with, clients, live, make_plan, next, today,
    treatment, working_day_from,
};

async fn with_notify(key: String) -> (Cast, NotifyStandIn) {
    let stand_in = NotifyStandIn::start().await;
    let base = stand_in.base_url.clone();
    let t = cast_with(move |s| {
        let r = &mut s.reminders;
        r.transport = ReminderTransport::Notify;
        r.provider = "Turning Point".into();
        r.notify.base_url = base;
        r.notify.api_key = key;
        r.notify.sms_template_id = notify::SMS_TEMPLATE.into();
        r.notify.email_template_id = notify::EMAIL_TEMPLATE.into();
        r.notify.letter_template_id = notify::LETTER_TEMPLATE.into();
        r.status_check_minutes = 1;
        r.max_attempts = 3;
        r.notify.timeout_secs = 5;
    })
    .await;
    (t, stand_in)
}

fn worker(t: &Cast) -> Worker {
    Worker::from_settings(t.app.state.db.clone(), &t.app.state.settings.reminders)
        .unwrap()
        .expect("reminders are on")
}

async fn reminders_of(t: &Cast, referral_id: &str) -> Vec<Reminder> {
    let id = referral_id.to_owned();
    t.app
        .with_db(move |c| {
            reminders::table
                .filter(reminders::referral_id.eq(&id))
                .order((reminders::due_at.asc(), reminders::id.asc()))
                .select(Reminder::as_select())
                .load(c)
                .unwrap()
        })
        .await
}

/// Makes these reminders due now (their time has come).
async fn due_now(t: &Cast, ids: &[&str]) {
    let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    t.app
        .with_db(move |c| {
            diesel::update(reminders::table.filter(reminders::id.eq_any(ids)))
                .set(reminders::due_at.eq(mhtr_pathway::clock::now() - Duration::seconds(1)))
                .execute(c)
                .unwrap()
        })
        .await;
}

/// The sent messages' delivery is due to be asked of Notify again (the interval has passed).
async fn statuses_due(t: &Cast) {
    t.app
        .with_db(|c| {
            diesel::update(reminders::table.filter(reminders::status.eq("sent")))
                .set(reminders::checked_at.eq(mhtr_pathway::clock::now() - Duration::minutes(2)))
                .execute(c)
                .unwrap()
        })
        .await;
}

/// One reminder of the referral, as stored.
async fn reminder(t: &Cast, referral_id: &str, id: &str) -> Reminder {
    reminders_of(t, referral_id)
        .await
        .into_iter()
        .find(|r| r.id == id)
        .unwrap()
}

/// A plan of weekly phone sessions starting at least two weeks ahead (so a letter is in time).
async fn planned(t: &Cast, c: &Clients, n: u32) -> (String, Vec<Value>) {
    let id = allocated_referral(t, c, n).await;
    let first = working_day_from(today() + Duration::days(15));
    let body = json!({"first_date": first.to_string(), "first_time": "14:30", "cadence": "weekly", "mode": "phone"});
    make_plan(&c.ap, &id, &body).await;
    let sessions = live(&treatment(&c.ap, &id).await);
    (id, sessions)
}

fn contact(mobile: &str, channel: &str, language: &str) -> Value {
    json!({
        "mobile": mobile,
        "address": ["Flat 2", "14 High Street", "Oakham", "le15 6ab"],
        "channel": channel,
        "language": language,
        "consent": "yes",
    })
}

async fn save_contact(api: &crate::referrals::helpers::Api, id: &str, body: &Value) -> Value {
    let (status, r) = api
        .post(&format!("/api/v1/referrals/{id}/contact"), body)
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

#[tokio::test]
async fn a_plan_is_confirmed_and_reminded_in_welsh_through_notify_and_delivery_is_shown() {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let (id, sessions) = planned(&t, &c, 301).await;
    assert!(
        reminders_of(&t, &id).await.is_empty(),
        "nothing without contact details"
    );

    let saved = save_contact(&c.ap, &id, &contact("+44 7700 900123", "sms", "cy")).await;
    assert_eq!(saved["mobile"], "07700900123");
    assert_eq!(saved["address"][3], "LE15 6AB");
    assert_eq!(saved["reminders_consent_on"], today().to_string());
    let written = reminders_of(&t, &id).await;
    let confirmations: Vec<&Reminder> = written.iter().filter(|r| r.slot == "confirm").collect();
    assert_eq!(confirmations.len(), 1, "one confirmation for the plan");
    assert_eq!(confirmations[0].kind.as_str(), "booked");
    assert_eq!(
        confirmations[0].session_id,
        sessions[0]["id"].as_str().unwrap()
    );
    // Two days before at 10:00 and on the morning, for each of the 12 sessions.
    assert_eq!(
        written
            .iter()
            .filter(|r| r.kind.as_str() == "upcoming")
            .count(),
        24
    );

    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!(pass.sent, 1, "only the confirmation is due: {pass:?}");
    let sent = stand_in.accepted();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, "sms");
    assert_eq!(sent[0].body["phone_number"], "07700900123");
    assert_eq!(sent[0].body["template_id"], notify::SMS_TEMPLATE);
    assert_eq!(sent[0].reference(), confirmations[0].id);
    let text = sent[0].text();
    assert!(
        text.starts_with("Mae eich apwyntiad nesaf gyda Turning Point ar ddydd "),
        "{text}"
    );
    assert!(text.contains("2:30yp, dros y ffôn"), "{text}");
    assert_eq!(stand_in.refused_tokens(), 0, "every token was good");

    // The first session's reminder two days before comes due and goes.
    let first_d2 = written
        .iter()
        .find(|r| r.session_id == sessions[0]["id"].as_str().unwrap() && r.slot == "d2")
        .unwrap()
        .id
        .clone();
    due_now(&t, &[&first_d2]).await;
    assert_eq!(worker(&t).run_once().await.unwrap().sent, 1);
    assert!(stand_in.accepted()[1].text().starts_with("Nodyn atgoffa"));

    // Notify reports both delivered; the worker asks once the interval has passed.
    stand_in.report_status("delivered");
    statuses_due(&t).await;
    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!(
        pass,
        Pass {
            checked: 2,
            ..Pass::default()
        }
    );
    let shown = treatment(&c.po, &id).await;
    let first = &live(&shown)[0];
    let lines = first["reminders"].as_array().unwrap();
    let delivered: Vec<&Value> = lines
        .iter()
        .filter(|l| l["delivery"] == "delivered")
        .collect();
    assert_eq!(delivered.len(), 2, "{first}");
    assert!(lines.iter().all(|l| l["failed"] == false));
    let page = t
        .app
        .browser(&t.po)
        .await
        .get(&format!("/referrals/{id}"))
        .await
        .1;
    assert!(
        page.contains("Reminder before an appointment by text message: Delivered"),
        "the officer sees it"
    );

    // Nothing goes twice; each sending is a disclosure in the audit log.
    assert_eq!(worker(&t).run_once().await.unwrap(), Pass::default());
    assert_eq!(stand_in.accepted().len(), 2);
    let disclosures: i64 = t
        .app
        .with_db(|c| {
            audit_events::table
                .filter(audit_events::event.eq("reminder.sent"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(disclosures, 2);
}

#[tokio::test]
async fn a_lost_answer_a_rate_limit_and_an_outage_never_send_twice_and_a_refused_text_becomes_a_letter()
 {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let (id, sessions) = planned(&t, &c, 302).await;
    save_contact(&c.ap, &id, &contact("07700900123", "sms", "en")).await;
    let written = reminders_of(&t, &id).await;
    let of_session = |n: usize, slot: &str| {
        written
            .iter()
            .find(|r| r.session_id == sessions[n]["id"].as_str().unwrap() && r.slot == slot)
            .unwrap()
            .id
            .clone()
    };

    // Rate limited, then sent on the next attempt.
    stand_in.fail_next(&[429]);
    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!((pass.sent, pass.retrying), (0, 1));
    let confirm = of_session(0, "confirm");
    due_now(&t, &[&confirm]).await;
    assert_eq!(worker(&t).run_once().await.unwrap().sent, 1);
    assert_eq!(stand_in.accepted().len(), 1);

    // Notify takes the message but the answer is lost: the retry finds it by its reference
    // and does not send it again.
    let d2 = of_session(0, "d2");
    due_now(&t, &[&d2]).await;
    stand_in.lose_next_answer();
    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!((pass.sent, pass.retrying), (0, 1));
    assert_eq!(stand_in.accepted().len(), 2, "Notify has it");
    due_now(&t, &[&d2]).await;
    assert_eq!(worker(&t).run_once().await.unwrap().sent, 1);
    assert_eq!(stand_in.accepted().len(), 2, "and it was not sent again");
    let row = reminder(&t, &id, &d2).await;
    assert_eq!(
        row.provider_id.as_deref(),
        Some(stand_in.accepted()[1].id.as_str())
    );

    // A worker that died mid-send (its lease ran out): the next one finds the message too.
    let morning = of_session(0, "morning");
    due_now(&t, &[&morning]).await;
    stand_in.lose_next_answer();
    worker(&t).run_once().await.unwrap();
    let m = morning.clone();
    t.app
        .with_db(move |c| {
            diesel::update(reminders::table.find(&m))
                .set((
                    reminders::status.eq("sending"),
                    reminders::lease_owner.eq(Some("a worker that died")),
                    reminders::lease_expires_at
                        .eq(Some(mhtr_pathway::clock::now() - Duration::seconds(1))),
                    reminders::due_at.eq(mhtr_pathway::clock::now() - Duration::seconds(1)),
                ))
                .execute(c)
                .unwrap()
        })
        .await;
    assert_eq!(worker(&t).run_once().await.unwrap().sent, 1);
    assert_eq!(stand_in.accepted().len(), 3, "sent once across the crash");

    // Notify is down: the reminder waits and is retried.
    let second = of_session(1, "d2");
    due_now(&t, &[&second]).await;
    stand_in.down().await;
    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!((pass.sent, pass.retrying), (0, 1));
    let row = reminder(&t, &id, &second).await;
    assert_eq!(row.status.as_str(), "queued");
    assert_eq!(
        row.last_error.as_deref(),
        Some("Notify could not be reached")
    );
}

#[tokio::test]
async fn a_number_notify_refuses_is_posted_as_a_letter_and_listed_for_administrators() {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let (id, sessions) = planned(&t, &c, 303).await;
    save_contact(&c.ap, &id, &contact(notify::REFUSED_NUMBER, "sms", "en")).await;
    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!((pass.dead, pass.letters), (1, 1), "{pass:?}");
    assert_eq!(
        worker(&t).run_once().await.unwrap().sent,
        1,
        "the letter goes"
    );
    let sent = stand_in.accepted();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, "letter");
    let p = &sent[0].body["personalisation"];
    assert_eq!(p["address_line_1"], "Flat 2");
    assert_eq!(p["address_line_4"], "LE15 6AB");
    assert_eq!(p["subject"], "Your appointments with Turning Point");

    // The failed text shows on the session, and before its attendance is recorded.
    let first = &live(&treatment(&c.ap, &id).await)[0];
    assert!(
        first["reminders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["failed"] == true),
        "{first}"
    );
    let sid = sessions[0]["id"].as_str().unwrap().to_owned();
    let page = t
        .app
        .browser(&t.ap)
        .await
        .get(&format!("/sessions/{sid}/attendance"))
        .await
        .1;
    assert!(page.contains("id=\"reminder-warning\""), "{page}");
    assert!(page.contains("did not reach the person"));

    // Administrators of the area see it and can send it again; others cannot.
    let admin = t.app.api(&t.admin).await;
    let (status, failed) = admin.get("/api/v1/reminders/failed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(
        failed[0]["error"],
        "Notify refused the message as not valid (400): check the number or address"
    );
    let rid = failed[0]["id"].as_str().unwrap().to_owned();
    let (status, _) =
        c.cl.post(&format!("/api/v1/reminders/{rid}/retry"), &json!({}))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = admin
        .post(&format!("/api/v1/reminders/{rid}/retry"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = admin
        .post(&format!("/api/v1/reminders/{rid}/retry"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already queued again");
    let page = t
        .app
        .browser(&t.admin)
        .await
        .get("/admin/reminders")
        .await
        .1;
    assert!(page.contains("Reminders are on"), "{page}");
}

#[tokio::test]
async fn an_email_that_bounces_for_good_is_followed_by_a_letter_once() {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let (id, _) = planned(&t, &c, 305).await;
    let mut details = contact("07700900123", "email", "en");
    details["email"] = json!("dana@example.org");
    save_contact(&c.ap, &id, &details).await;
    // The plan's confirmation goes by email, and Notify takes it.
    assert_eq!(worker(&t).run_once().await.unwrap().sent, 1);
    assert_eq!(stand_in.accepted()[0].kind, "email");

    // Later Notify reports it failed for good (the mailbox does not exist): a letter is
    // written in its place, once, and goes on the next pass.
    stand_in.report_status("permanent-failure");
    statuses_due(&t).await;
    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!((pass.checked, pass.letters), (1, 1), "{pass:?}");
    statuses_due(&t).await;
    let again = worker(&t).run_once().await.unwrap();
    assert_eq!(again.letters, 0, "{again:?}");
    let sent = stand_in.accepted();
    let letters: Vec<_> = sent.iter().filter(|a| a.kind == "letter").collect();
    assert_eq!(letters.len(), 1, "one letter");
    assert_eq!(
        letters[0].body["personalisation"]["address_line_1"],
        "Flat 2"
    );
    let written = reminders_of(&t, &id).await;
    let letter = written
        .iter()
        .find(|r| r.channel.as_str() == "letter")
        .unwrap();
    let email = written
        .iter()
        .find(|r| r.fallback_of.is_none() && r.id == *letter.fallback_of.as_ref().unwrap())
        .unwrap();
    assert_eq!(email.channel.as_str(), "email");
}

#[tokio::test]
async fn a_key_notify_does_not_know_is_refused_and_nothing_is_sent() {
    let wrong = format!(
        "mhtr-test-{}-{}",
        notify::SERVICE_ID,
        "00000000-0000-4000-8000-000000000000"
    );
    let (t, stand_in) = with_notify(wrong).await;
    let c = clients(&t).await;
    let (id, _) = planned(&t, &c, 304).await;
    save_contact(&c.ap, &id, &json!({"email": "dana@example.org", "channel": "email", "language": "en", "consent": "yes"})).await;
    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!(pass.dead, 1);
    assert!(stand_in.refused_tokens() >= 1);
    assert!(stand_in.accepted().is_empty());
    let confirm = reminders_of(&t, &id)
        .await
        .into_iter()
        .find(|r| r.slot == "confirm")
        .unwrap();
    assert_eq!(confirm.channel.as_str(), "email");
    assert_eq!(
        confirm.last_error.as_deref(),
        Some("Notify refused the API key (403): check reminders.notify.api_key")
    );
}

#[tokio::test]
async fn moving_a_session_or_withdrawing_consent_withdraws_its_reminders_before_they_go() {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let (id, sessions) = planned(&t, &c, 305).await;
    save_contact(&c.ap, &id, &contact("07700900123", "sms", "en")).await;
    worker(&t).run_once().await.unwrap();
    let third = sessions[2].clone();
    let third_id = third["id"].as_str().unwrap().to_owned();
    let to = working_day_from(today() + Duration::days(40));
    let (status, r) = c
        .ap
        .post(
            &format!("/api/v1/sessions/{third_id}/reschedule"),
            &json!({"version": third["version"], "new_date": to.to_string(), "new_time": "11:00", "party": "person_on_probation", "reason": "Work shift"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let moved_id = r["sessions"][0]["id"].as_str().unwrap().to_owned();
    let all = reminders_of(&t, &id).await;
    let old: Vec<&Reminder> = all.iter().filter(|r| r.session_id == third_id).collect();
    assert_eq!(old.len(), 2);
    assert!(old.iter().all(|r| r.status.as_str() == "cancelled"
        && r.last_error.as_deref() == Some("the appointment was moved or cancelled")));
    let new: Vec<&Reminder> = all.iter().filter(|r| r.session_id == moved_id).collect();
    assert_eq!(new.iter().filter(|r| r.kind.as_str() == "moved").count(), 1);
    assert_eq!(
        new.iter().filter(|r| r.kind.as_str() == "upcoming").count(),
        2
    );
    worker(&t).run_once().await.unwrap();
    let moved_text = stand_in.accepted().last().unwrap().text().to_owned();
    assert!(
        moved_text.starts_with("Your appointment with Turning Point has moved. It is now on "),
        "{moved_text}"
    );
    assert!(moved_text.contains("11:00am, by phone"));

    // A session cancelled by some other path is caught just before its reminder goes.
    let fourth = sessions[3]["id"].as_str().unwrap().to_owned();
    let f = fourth.clone();
    t.app
        .with_db(move |c| {
            diesel::update(treatment_sessions::table.find(&f))
                .set(treatment_sessions::status.eq("cancelled"))
                .execute(c)
                .unwrap()
        })
        .await;
    let due: Vec<String> = reminders_of(&t, &id)
        .await
        .into_iter()
        .filter(|r| r.session_id == fourth)
        .map(|r| r.id)
        .collect();
    due_now(&t, &due.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let before = stand_in.accepted().len();
    let pass = worker(&t).run_once().await.unwrap();
    assert_eq!((pass.sent, pass.withdrawn), (0, 2), "{pass:?}");
    assert_eq!(stand_in.accepted().len(), before);

    // "Do not contact": every reminder still to go is withdrawn, and none is written again.
    let version = reminders_version(&c, &id).await;
    let mut body = contact("07700900123", "sms", "en");
    body["do_not_contact"] = json!("yes");
    body["do_not_contact_reason"] = json!("Asked not to be contacted at home");
    body["version"] = json!(version);
    save_contact(&c.po, &id, &body).await;
    let queued = reminders_of(&t, &id)
        .await
        .into_iter()
        .filter(|r| r.status.as_str() == "queued")
        .count();
    assert_eq!(queued, 0);
    let events: Vec<String> = t
        .app
        .with_db(|c| {
            referral_amendments::table
                .filter(referral_amendments::field.like("contact.%"))
                .select(referral_amendments::new_value)
                .load(c)
                .unwrap()
        })
        .await;
    assert!(
        events
            .iter()
            .any(|v| v == "Do not contact: Asked not to be contacted at home"),
        "{events:?}"
    );
}

async fn reminders_version(c: &Clients, id: &str) -> i64 {
    let (status, r) = c.ap.get(&format!("/api/v1/referrals/{id}/contact")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r["details"]["version"].as_i64().unwrap()
}

#[tokio::test]
async fn two_workers_racing_send_each_reminder_once() {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let (id, _) = planned(&t, &c, 306).await;
    save_contact(&c.ap, &id, &contact("07700900123", "sms", "en")).await;
    let ids: Vec<String> = reminders_of(&t, &id)
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    due_now(&t, &ids.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let (a, b) = (worker(&t), worker(&t));
    let (pa, pb) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(pa.unwrap().sent + pb.unwrap().sent, ids.len());
    let mut references: Vec<String> = stand_in
        .accepted()
        .iter()
        .map(|a| a.reference().to_owned())
        .collect();
    references.sort();
    references.dedup();
    assert_eq!(references.len(), ids.len(), "each once");
    assert_eq!(stand_in.accepted().len(), ids.len());
}

#[tokio::test]
async fn contact_details_are_checked_scoped_kept_as_amendments_and_shown_on_the_pages() {
    let t = cast().await;
    let c = clients(&t).await;
    let id = allocated_referral(&t, &c, 307).await;
    make_plan(
        &c.ap,
        &id,
        &crate::treatment_sessions::weekly_plan(next(Weekday::Tue)),
    )
    .await;

    // Reminders are off in this service: the details are kept, nothing is written.
    let (status, r) = c.ap.get(&format!("/api/v1/referrals/{id}/contact")).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["details"], Value::Null);
    assert_eq!(r["can_change"], true);
    assert_eq!(r["reminders"]["mode"], "off");

    let (status, e) = c
        .ap
        .post(
            &format!("/api/v1/referrals/{id}/contact"),
            &json!({"mobile": "01632 960 001", "address": ["1 High Street", "Oakham"], "channel": "letter", "language": "fr"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    for field in ["mobile", "address", "language", "consent"] {
        assert!(e["fields"][field].is_string(), "{field}: {e}");
    }
    save_contact(&c.ap, &id, &contact("07700 900 123", "sms", "en")).await;
    assert!(reminders_of(&t, &id).await.is_empty(), "reminders are off");

    // A stale version is refused; the holder may change them; others in scope only read.
    let (status, _) =
        c.po.post(
            &format!("/api/v1/referrals/{id}/contact"),
            &contact("07700900124", "sms", "en"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let ap2 = t.app.api(&t.ap2).await;
    let (status, _) = ap2.get(&format!("/api/v1/referrals/{id}/contact")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a practitioner not allocated does not reach them"
    );
    let mut body = contact("07700900124", "sms", "en");
    body["version"] = json!(1);
    let (status, _) = ap2
        .post(&format!("/api/v1/referrals/{id}/contact"), &body)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let elsewhere = t
        .app
        .api(&t.cl_b)
        .await
        .giving_reason(crate::referrals::helpers::LEAD_REASON);
    let (status, _) = elsewhere
        .get(&format!("/api/v1/referrals/{id}/contact"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "out of scope is not found");
    let councillor = t.app.api(&t.councillor).await;
    let (status, _) = councillor
        .get(&format!("/api/v1/referrals/{id}/contact"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let saved = save_contact(&c.po, &id, &body).await;
    assert_eq!(saved["version"], 2);
    let changes: Vec<(String, String, String)> = t
        .app
        .with_db(|c| {
            referral_amendments::table
                .filter(referral_amendments::field.eq("contact.mobile"))
                .order(referral_amendments::at.asc())
                .select((
                    referral_amendments::old_value,
                    referral_amendments::new_value,
                    referral_amendments::actor_name,
                ))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(
        changes,
        [
            (
                String::new(),
                "07700900123".to_owned(),
                "Ash Psych".to_owned()
            ),
            (
                "07700900123".to_owned(),
                "07700900124".to_owned(),
                "Pat Officer".to_owned()
            ),
        ]
    );
    let views: i64 = t
        .app
        .with_db(|c| {
            audit_events::table
                .filter(audit_events::event.eq("referral.contact_viewed"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(views, 1, "each view of the details is audited");

    // The page: the form with an error summary, the input kept.
    let b = t.app.browser(&t.ap).await;
    let page = b.get(&format!("/referrals/{id}/contact")).await.1;
    assert!(page.contains("Reminders are off"), "{page}");
    assert!(page.contains("value=\"07700900124\""));
    let (status, _, page) = b
        .post(
            &format!("/referrals/{id}/contact"),
            &[
                ("version", "2"),
                ("mobile", "0770 090"),
                ("channel", "sms"),
                ("language", "cy"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("govuk-error-summary"), "{page}");
    assert!(page.contains("Enter a UK mobile number"));
    assert!(page.contains("value=\"0770 090\""), "the input is kept");
    let (status, location, _) = b
        .post(
            &format!("/referrals/{id}/contact"),
            &[
                ("version", "2"),
                ("mobile", "07700 900 125"),
                ("channel", "sms"),
                ("language", "cy"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/referrals/{id}"));
}

#[tokio::test]
async fn administrators_change_the_wording_with_a_preview_and_it_is_used() {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let admin = t.app.api(&t.admin).await;
    let (status, list) = admin.get("/api/v1/reminders/templates").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["templates"].as_array().unwrap().len(), 8);
    let (status, _) = c.cl.get("/api/v1/reminders/templates").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, e) = admin
        .post(
            "/api/v1/reminders/templates/booked/en",
            &json!({"subject": "Hi ((name))", "body": "See you on ((date))"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["fields"]["subject"]
            .as_str()
            .unwrap()
            .contains("((name))"),
        "{e}"
    );
    assert!(
        e["fields"]["body"].as_str().unwrap().contains("((time))"),
        "{e}"
    );
    let (status, _) = admin
        .post(
            "/api/v1/reminders/templates/booked/fr",
            &json!({"subject": "x", "body": "((date)) ((time))"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The preview fills in a sample session; saving needs a service-wide administrator.
    let b = t.app.browser(&t.admin).await;
    let (status, _, page) = b
        .post(
            "/admin/reminders/templates/booked/en",
            &[
                ("subject", "Appointments with ((provider))"),
                (
                    "body",
                    "See ((provider)) on ((date)) at ((time)), ((place)).",
                ),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"preview\""), "{page}");
    assert!(page.contains("See Turning Point on Tuesday"));
    assert!(page.contains("at 2:30pm, at Oakham Community Hub."));
    let (status, _) = admin
        .post("/api/v1/reminders/templates/booked/en", &json!({"subject": "Appointments with ((provider))", "body": "See ((provider)) on ((date)) at ((time)), ((place))."}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = admin.get("/api/v1/reminders/templates").await;
    let booked = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "booked" && t["language"] == "en")
        .unwrap()
        .clone();
    assert_eq!(booked["changed"], true);

    let (id, _) = planned(&t, &c, 308).await;
    save_contact(&c.ap, &id, &contact("07700900123", "sms", "en")).await;
    worker(&t).run_once().await.unwrap();
    assert!(
        stand_in.accepted()[0]
            .text()
            .starts_with("See Turning Point on "),
        "{}",
        stand_in.accepted()[0].text()
    );

    let admin_id = t.admin.id.clone();
    t.app
        .with_db(move |c| {
            mhtr_pathway::users::service::set_service_wide(
                c,
                &mhtr_pathway::audit::Actor::system("tests"),
                &admin_id,
                false,
            )
            .unwrap()
        })
        .await;
    let admin = t.app.api(&t.admin).await;
    let (status, _) = admin
        .post(
            "/api/v1/reminders/templates/booked/en",
            &json!({"subject": "x ((provider))", "body": "((date)) ((time))"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only a service-wide administrator changes the wording"
    );
}

#[tokio::test]
async fn the_report_gives_staff_reminder_coverage_and_the_did_not_attend_rate_with_and_without() {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let (id, sessions) = planned(&t, &c, 309).await;
    save_contact(&c.ap, &id, &contact("07700900123", "sms", "en")).await;
    worker(&t).run_once().await.unwrap();
    stand_in.report_status("delivered");
    statuses_due(&t).await;
    assert_eq!(worker(&t).run_once().await.unwrap().checked, 1);
    // Both sessions are made to have happened three days ago: the first (whose confirmation
    // was delivered) missed, the second (nothing delivered) attended.
    let day = today() - Duration::days(3);
    let (first, second, rid) = (
        sessions[0]["id"].as_str().unwrap().to_owned(),
        sessions[1]["id"].as_str().unwrap().to_owned(),
        id.clone(),
    );
    t.app
        .with_db(move |c| {
            for (sid, hour, outcome) in [
                (&first, 10, "unacceptable_absence"),
                (&second, 15, "attended"),
            ] {
                let at = day.and_hms_opt(hour, 0, 0).unwrap();
                diesel::update(treatment_sessions::table.find(sid))
                    .set((
                        treatment_sessions::starts_at.eq(at),
                        treatment_sessions::status.eq("recorded"),
                        treatment_sessions::outcome.eq(Some(outcome)),
                    ))
                    .execute(c)
                    .unwrap();
                diesel::update(reminders::table.filter(reminders::session_id.eq(sid)))
                    .set(reminders::for_starts_at.eq(at))
                    .execute(c)
                    .unwrap();
            }
            // The report's monthly session counts follow, as after any recorded session.
            mhtr_pathway::reports::upkeep::refresh(c, &rid).unwrap();
        })
        .await;
    let month = day.format("%Y-%m").to_string();
    let (status, report) =
        c.cl.get(&format!("/api/v1/reports/uptake?period={month}"))
            .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let texts = |key: &str| -> Vec<String> {
        report["sections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["rows"].as_array().unwrap())
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("no row {key}"))["figures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap().to_owned())
            .collect()
    };
    // Columns: Melton, Rutland, Total.
    assert_eq!(texts("reminder_sessions_due"), ["0", "2", "2"]);
    assert_eq!(texts("reminder_sessions_reminded"), ["0", "1", "1"]);
    assert_eq!(texts("rate_reminder_coverage")[2], "50.0%");
    assert_eq!(texts("rate_dna_reminded")[2], "100.0%");
    assert_eq!(texts("rate_dna_not_reminded")[2], "0.0%");
    assert_eq!(
        texts("rate_dna_not_reminded")[0],
        "[z]",
        "nothing to work it out from"
    );

    let councillor = t.app.api(&t.councillor).await;
    let (_, seen) = councillor
        .get(&format!("/api/v1/reports/uptake?period={month}"))
        .await;
    assert!(
        seen["sections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["key"] != "reminders"),
        "councillors do not see per-session reminder figures"
    );
}

async fn cancel(c: &Clients, session: &Value, reason: &str) -> Value {
    let (status, r) =
        c.ap.post(
            &format!(
                "/api/v1/sessions/{}/cancel",
                session["id"].as_str().unwrap()
            ),
            &json!({"version": session["version"], "cancel_reason": reason}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

/// A session the person was told of and that is cancelled: they are told not to come, once.
/// Not for a session they were never told of.
#[tokio::test]
async fn the_person_is_told_when_a_session_they_know_of_is_cancelled() {
    let (t, stand_in) = with_notify(notify::api_key()).await;
    let c = clients(&t).await;
    let (id, sessions) = planned(&t, &c, 311).await;
    save_contact(&c.ap, &id, &contact("07700900123", "sms", "en")).await;
    assert_eq!(worker(&t).run_once().await.unwrap().sent, 1, "the booking");
    // The third session's reminder two days before has gone too.
    let third_d2 = reminders_of(&t, &id)
        .await
        .into_iter()
        .find(|r| r.session_id == sessions[2]["id"].as_str().unwrap() && r.slot == "d2")
        .unwrap()
        .id;
    due_now(&t, &[&third_d2]).await;
    assert_eq!(worker(&t).run_once().await.unwrap().sent, 1);
    let kinds_for = |all: &[Reminder], session: &Value| -> Vec<String> {
        all.iter()
            .filter(|r| r.session_id == session["id"].as_str().unwrap())
            .filter(|r| r.status.as_str() != "cancelled")
            .map(|r| r.kind.as_str().to_owned())
            .collect()
    };

    // Never told of the second: nothing to say when it goes.
    cancel(&c, &sessions[1], "person_request").await;
    let all = reminders_of(&t, &id).await;
    assert!(
        kinds_for(&all, &sessions[1]).is_empty(),
        "{:?}",
        kinds_for(&all, &sessions[1])
    );

    // Told of the first (the booking): it is cancelled with nothing in its place.
    cancel(&c, &sessions[0], "person_unwell").await;
    let all = reminders_of(&t, &id).await;
    assert_eq!(kinds_for(&all, &sessions[0]), ["booked", "cancelled"]);
    let before = stand_in.accepted().len();
    assert_eq!(worker(&t).run_once().await.unwrap().sent, 1);
    let text = stand_in.accepted()[before].text().to_owned();
    assert!(
        text.starts_with("Your appointment with Turning Point on ")
            && text.contains("2:30pm is cancelled, so you do not need to attend"),
        "{text}"
    );

    // Told of the third, which the service cannot hold: the replacement is added at the end
    // of the plan, weeks later, so the person is told this one is off too.
    let r = cancel(&c, &sessions[2], "practitioner_unavailable").await;
    let replacement = r["replacement"].clone();
    assert!(replacement.is_object(), "{r}");
    let all = reminders_of(&t, &id).await;
    assert_eq!(kinds_for(&all, &sessions[2]), ["upcoming", "cancelled"]);
    assert!(kinds_for(&all, &replacement).contains(&"upcoming".to_owned()));

    // Said once for each, however often the referral's messages are brought up to date.
    let version = reminders_version(&c, &id).await;
    let mut body = contact("07700900123", "sms", "en");
    body["version"] = json!(version);
    save_contact(&c.ap, &id, &body).await;
    let said: usize = reminders_of(&t, &id)
        .await
        .iter()
        .filter(|r| r.kind.as_str() == "cancelled")
        .count();
    assert_eq!(said, 2);
}
