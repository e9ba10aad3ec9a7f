//! Throttling of password guessing: per account and address, per account from everywhere
//! (without locking the owner out of places they have signed in from), and never for longer
//! than the window.

use mhtr_pathway::auth::throttle;
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{assert_redirects_to, error_summary, input_value, spawn_app, spawn_app_with};

/// The N of "Wait N minutes" in a throttled page.
fn minutes_to_wait(message: &str) -> u64 {
    let rest = message
        .split("Wait ")
        .nth(1)
        .unwrap_or_else(|| panic!("no wait in {message:?}"));
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

/// Five wrong passwords for `email` from this browser's address.
async fn guess_five_times(browser: &crate::helpers::Browser, email: &str) {
    for _ in 0..5 {
        let res = browser.submit_password(email, "a wrong guess at it").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn five_wrong_passwords_hold_the_account_at_that_address_even_for_the_right_one() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    guess_five_times(&browser, &user.email).await;

    let res = browser.submit_password(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(browser.cookie(app.session_cookie()).is_none());

    // Once the window has passed, the right password works again.
    let window = app.state.settings.security.throttle.window_minutes;
    app.age_sign_in_attempts(window + 1);
    browser.sign_in(&user).await;
}

#[tokio::test]
async fn the_throttled_sign_in_page_says_how_many_minutes_to_wait() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    guess_five_times(&browser, &user.email).await;

    let res = browser.submit_password(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = res.text().await.unwrap();
    let errors = error_summary(&page);
    assert_eq!(errors.len(), 1, "the sign-in form with one error");
    assert!(
        errors[0].starts_with("You have tried to sign in too many times. Wait "),
        "{errors:?}"
    );
    let wait = minutes_to_wait(&errors[0]);
    assert!((1..=15).contains(&wait), "wait {wait} minutes");
    assert_eq!(
        input_value(&page, "email").as_deref(),
        Some(user.email.as_str())
    );
}

#[tokio::test]
async fn failures_from_elsewhere_do_not_lock_the_owner_out_of_a_known_address() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ClinicalLead, &["Leicester"]);
    // The owner has signed in from here before.
    app.new_browser().sign_in(&user).await;

    // A distributed guess: one failure from each of many other addresses.
    let per_account = app.state.settings.security.throttle.per_account;
    app.with_db(|c| {
        for i in 0..per_account {
            throttle::record(
                c,
                &user.email,
                &format!("203.0.113.{i}"),
                None,
                false,
                "bad_credentials",
            )
            .unwrap();
        }
    });

    app.allow_code_reuse(&user);
    app.new_browser().sign_in(&user).await;

    // From an address never used before, the account is held.
    let stranger = app.new_browser_from("127.0.0.2");
    let res = stranger.submit_password(&user.email, &user.password).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn unknown_accounts_are_throttled_like_known_ones() {
    let app = spawn_app().await;
    let browser = app.new_browser();
    for _ in 0..5 {
        browser
            .submit_password("nobody@staff.example.org", "a wrong guess at it")
            .await;
    }
    let res = browser
        .submit_password("nobody@staff.example.org", "a wrong guess at it")
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn too_many_wrong_codes_end_the_half_finished_sign_in() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = app.new_browser();
    let res = browser.submit_password(&user.email, &user.password).await;
    assert_redirects_to(&res, "/sign-in/code");
    let pending = browser.cookie(app.session_cookie()).unwrap();
    let right = user.code_now();
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );

    let mut last = None;
    for _ in 0..10 {
        let res = browser.submit_code(&wrong).await;
        if res.status() != StatusCode::OK {
            last = Some(res);
            break;
        }
    }
    let res = last.expect("wrong codes are not accepted for ever");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = res.text().await.unwrap();
    assert_eq!(
        error_summary(&page),
        vec!["You entered too many wrong codes. Sign in again in a few minutes"]
    );
    assert_eq!(
        input_value(&page, "email").as_deref(),
        Some(user.email.as_str())
    );
    assert!(app.session_row(&pending).ended_at.is_some());
    assert_redirects_to(&browser.get("/sign-in/code").await, "/sign-in");
}

/// Signing in successfully is not guessing: someone who signs in and out five times in a
/// quarter of an hour (a shared PC, a browser restarted) must not be throttled.
#[tokio::test]
async fn repeated_successful_sign_ins_are_not_throttled() {
    let app = spawn_app().await;
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    for round in 0..6 {
        app.allow_code_reuse(&user);
        let browser = app.new_browser();
        let res = browser.submit_password(&user.email, &user.password).await;
        assert_redirects_to(&res, "/sign-in/code");
        let res = browser.submit_code(&user.code_now()).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "sign-in number {} was refused",
            round + 1
        );
        browser.after_sign_in(&user.name).await;
        browser.sign_out().await;
    }
}

/// Colleagues in one office share an address: their successful sign-ins are not a
/// password-spraying attack from it.
#[tokio::test]
async fn successful_sign_ins_of_colleagues_at_one_address_are_not_throttled() {
    let app = spawn_app_with(|s| s.security.throttle.per_address = 3).await;
    for _ in 0..4 {
        let (browser, _) = app.login_as(Role::ProbationOfficer).await;
        browser.get_page("/").await;
    }
}

/// Attempts for one account from one address that got past the throttle to a password check.
fn checked_attempts(app: &crate::helpers::TestApp, email: &str) -> i64 {
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::sign_in_attempts as a;
    let email = email.to_owned();
    app.with_db(move |c| {
        a::table
            .filter(a::email.eq(email))
            .filter(a::outcome.ne(throttle::THROTTLED))
            .count()
            .get_result(c)
            .unwrap()
    })
}

/// 200 wrong passwords at once for one account from one address, through the API, the
/// sign-in page and two instances of the service on one database: the throttle's count and
/// the attempt it lets through are one step, so no more than the limit are ever checked.
#[tokio::test]
async fn wrong_passwords_sent_at_once_get_no_more_than_the_limit_checked() {
    use std::sync::Arc;
    let app = spawn_app().await;
    let limit = app.state.settings.security.throttle.per_account_and_address;
    let client = reqwest::Client::new();

    // Through the API, on two instances at once.
    let user = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let second = app.second_instance().await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200 {
        let base = if n % 2 == 0 {
            app.address.clone()
        } else {
            second.address.clone()
        };
        let (client, email) = (client.clone(), user.email.clone());
        tasks.spawn(async move {
            client
                .post(format!("{base}/api/v1/auth/token"))
                .json(&serde_json::json!({"email": email, "password": "a wrong guess at it", "code": "000000"}))
                .send()
                .await
                .map(|r| r.status())
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        statuses.push(done.unwrap().unwrap());
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
    assert!(
        checked_attempts(&app, &user.email) <= limit,
        "{} password checks through the API, limit {limit}",
        checked_attempts(&app, &user.email)
    );

    // Through the sign-in page.
    let other = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let browser = Arc::new(app.new_browser());
    browser.get_page("/sign-in").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (browser, email) = (browser.clone(), other.email.clone());
        tasks.spawn(async move {
            browser
                .submit_password(&email, "a wrong guess at it")
                .await
                .status()
        });
    }
    while let Some(done) = tasks.join_next().await {
        let status = done.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }
    assert!(
        checked_attempts(&app, &other.email) <= limit,
        "{} password checks through the page, limit {limit}",
        checked_attempts(&app, &other.email)
    );
}

/// A shared office address: someone there tries 40 made-up accounts, then a colleague's
/// real one. Neither keeps out a user with the right password and code, whether they have
/// signed in from there before (their known device) or not.
#[tokio::test]
async fn made_up_accounts_and_a_colleagues_guesses_at_one_address_do_not_lock_anyone_out() {
    let app = spawn_app().await;
    let owner = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let newcomer = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let office = app.new_browser_from("127.0.0.3");
    office.sign_in(&owner).await;
    assert!(
        office
            .cookie(app.state.settings.device_cookie_name())
            .is_some(),
        "the browser is remembered at sign-in"
    );
    office.sign_out().await;

    let per_address = app.state.settings.security.throttle.per_address;
    let sprayer = app.new_browser_from("127.0.0.3");
    for n in 0..per_address {
        let res = sprayer
            .submit_password(&format!("nobody{n}@made-up.example"), "a wrong guess at it")
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Made-up accounts count only against themselves: a real account is still tried.
    app.allow_code_reuse(&newcomer);
    app.new_browser_from("127.0.0.3").sign_in(&newcomer).await;

    // Now a spray of real accounts from the same address trips the per-address limit ...
    let colleagues: Vec<_> = (0..per_address)
        .map(|_| app.create_user(Role::ProbationOfficer, &["Rutland"]))
        .collect();
    for c in &colleagues {
        sprayer
            .submit_password(&c.email, "a wrong guess at it")
            .await;
    }
    let stranger = app.create_user(Role::ProbationOfficer, &["Rutland"]);
    let res = app
        .new_browser_from("127.0.0.3")
        .submit_password(&stranger.email, &stranger.password)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a first sign-in from there is held"
    );

    // ... but not the owner on their known device, nor a user who signed in from there before.
    app.allow_code_reuse(&owner);
    let device = office
        .cookie(app.state.settings.device_cookie_name())
        .unwrap();
    let again = app.new_browser_from("127.0.0.3");
    again.set_cookie(app.state.settings.device_cookie_name(), &device);
    again.sign_in(&owner).await;
    app.allow_code_reuse(&newcomer);
    app.new_browser_from("127.0.0.3").sign_in(&newcomer).await;

    // A known device's own failures still count, for that device only.
    let guesser = app.new_browser_from("127.0.0.4");
    guesser.set_cookie(app.state.settings.device_cookie_name(), &device);
    for _ in 0..5 {
        guesser
            .submit_password(&owner.email, "a wrong guess at it")
            .await;
    }
    let res = guesser.submit_password(&owner.email, &owner.password).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}
