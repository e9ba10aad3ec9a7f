//! Throttling of password and code guessing, per account, per address and per pair, over a
//! sliding window. Nothing is locked for longer than the window, and an address the account
//! owner has signed in from before is only held to the per-pair limit, so a distributed
//! attack on an account, or a password spray from a shared office address, cannot keep its
//! owner out. On a known device (a browser the owner completed sign-in on, named by a
//! long-lived cookie) only that device's own failures count. Failures with made-up accounts
//! count only against the made-up account and address pair, never against real accounts
//! tried from the same address.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::sign_in_attempts;
use crate::error::AppError;
use crate::settings::ThrottleSettings;

pub const THROTTLED: &str = "throttled";
pub const PASSWORD_OK: &str = "password_ok";
/// An attempt reserved before its password is verified: a failure until it is settled.
pub const PENDING: &str = "pending";
/// A failure with an email that names no account.
pub const UNKNOWN_ACCOUNT: &str = "unknown_account";

/// The known device behind `token`, if it is one of `email`'s: the token's hash, as kept
/// with each attempt from it.
pub fn device_of(
    conn: &mut DbConn,
    email: &str,
    token: Option<&str>,
) -> Result<Option<String>, AppError> {
    use crate::db::schema::{known_devices, users};
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let hash = crate::ids::sha256_hex(token);
    let found: i64 = known_devices::table
        .inner_join(users::table)
        .filter(known_devices::token_hash.eq(&hash))
        .filter(users::email.eq(email))
        .count()
        .get_result(conn)?;
    Ok((found > 0).then_some(hash))
}

/// Remembers the browser `user_id` has just completed sign-in on: the device token it
/// already holds, if that is theirs, or a new one for the cookie (only its hash is kept).
pub fn remember_device(
    conn: &mut DbConn,
    user_id: &str,
    token: Option<&str>,
) -> Result<Option<String>, AppError> {
    use crate::db::schema::known_devices;
    let now = crate::clock::now();
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        let kept = diesel::update(
            known_devices::table
                .filter(known_devices::token_hash.eq(crate::ids::sha256_hex(t)))
                .filter(known_devices::user_id.eq(user_id)),
        )
        .set(known_devices::last_used_at.eq(now))
        .execute(conn)?;
        if kept == 1 {
            return Ok(None);
        }
    }
    let token = crate::ids::random_token(32);
    diesel::insert_into(known_devices::table)
        .values((
            known_devices::id.eq(crate::ids::new_id()),
            known_devices::user_id.eq(user_id),
            known_devices::token_hash.eq(crate::ids::sha256_hex(&token)),
            known_devices::created_at.eq(now),
            known_devices::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Some(token))
}

/// Refuses with `Throttled` when the email, the address, or the pair has failed too often.
/// Call inside a write transaction: the count is serialised with every other attempt on the
/// same account or address (see [`crate::db::serialise_on`]), so the failures that follow it
/// in the same transaction are counted by the next one.
pub fn check(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    device: Option<&str>,
    t: &ThrottleSettings,
) -> Result<(), AppError> {
    crate::db::serialise_on(
        conn,
        &[
            &format!("sign-in:account:{email}"),
            &format!("sign-in:address:{ip}"),
        ],
    )?;
    let now = crate::clock::now();
    let since = now - Duration::minutes(t.window_minutes);
    let failures = sign_in_attempts::table
        .filter(sign_in_attempts::at.gt(since))
        .filter(sign_in_attempts::succeeded.eq(false))
        // Attempts refused by the throttle itself do not extend it, and a right password
        // (logged until the second factor completes the sign-in) is no failure.
        .filter(sign_in_attempts::outcome.ne(THROTTLED))
        .filter(sign_in_attempts::outcome.ne(PASSWORD_OK));

    // On a known device of the account, only that device's failures count.
    if let Some(device) = device {
        let own: Vec<chrono::NaiveDateTime> = failures
            .filter(sign_in_attempts::email.eq(email))
            .filter(sign_in_attempts::device.eq(device))
            .select(sign_in_attempts::at)
            .order(sign_in_attempts::at.desc())
            .limit(t.per_account_and_address)
            .load(conn)?;
        full(own, t.per_account_and_address, since, t)?;
        return Ok(());
    }

    // A completed sign-in from this address clears the slate for the pair.
    let last_success: Option<chrono::NaiveDateTime> = sign_in_attempts::table
        .filter(sign_in_attempts::email.eq(email))
        .filter(sign_in_attempts::ip.eq(ip))
        .filter(sign_in_attempts::succeeded.eq(true))
        .select(diesel::dsl::max(sign_in_attempts::at))
        .first(conn)?;
    let pair_since = last_success.map_or(since, |t| t.max(since));
    let pair: Vec<chrono::NaiveDateTime> = failures
        .filter(sign_in_attempts::at.gt(pair_since))
        .filter(sign_in_attempts::email.eq(email))
        .filter(sign_in_attempts::ip.eq(ip))
        .select(sign_in_attempts::at)
        .order(sign_in_attempts::at.desc())
        .limit(t.per_account_and_address)
        .load(conn)?;
    full(pair, t.per_account_and_address, since, t)?;

    // An address the owner signed in from lately: the pair limit above is enough, so that
    // a spray against other accounts from a shared address does not keep them out.
    let known_address: i64 = sign_in_attempts::table
        .filter(sign_in_attempts::email.eq(email))
        .filter(sign_in_attempts::ip.eq(ip))
        .filter(sign_in_attempts::succeeded.eq(true))
        .filter(sign_in_attempts::at.gt(now - Duration::days(30)))
        .count()
        .get_result(conn)?;
    if known_address > 0 {
        return Ok(());
    }

    // Spraying real accounts from one address; made-up accounts are no one's to protect.
    let by_ip: Vec<chrono::NaiveDateTime> = failures
        .filter(sign_in_attempts::ip.eq(ip))
        .filter(sign_in_attempts::outcome.ne(UNKNOWN_ACCOUNT))
        .select(sign_in_attempts::at)
        .order(sign_in_attempts::at.desc())
        .limit(t.per_address)
        .load(conn)?;
    full(by_ip, t.per_address, since, t)?;

    {
        let by_account: Vec<chrono::NaiveDateTime> = failures
            .filter(sign_in_attempts::email.eq(email))
            .select(sign_in_attempts::at)
            .order(sign_in_attempts::at.desc())
            .limit(t.per_account)
            .load(conn)?;
        full(by_account, t.per_account, since, t)?;
    }
    Ok(())
}

/// Refuses when the newest failures counted (newest first, at most `limit`) fill the limit.
fn full(
    newest: Vec<chrono::NaiveDateTime>,
    limit: i64,
    since: chrono::NaiveDateTime,
    t: &ThrottleSettings,
) -> Result<(), AppError> {
    if newest.len() as i64 >= limit {
        Err(throttled(newest.last().copied(), since, t))
    } else {
        Ok(())
    }
}

/// Seconds until the oldest counted failure leaves the window.
fn throttled(
    oldest: Option<chrono::NaiveDateTime>,
    since: chrono::NaiveDateTime,
    t: &ThrottleSettings,
) -> AppError {
    let oldest = oldest.unwrap_or(since);
    let free_at = oldest + Duration::minutes(t.window_minutes);
    let secs = (free_at - crate::clock::now()).num_seconds().max(1) as u64;
    AppError::Throttled {
        retry_after_secs: secs,
    }
}

/// Reserves an attempt before the slow password check, in one step with the throttle's
/// count: refused ones are logged as throttled; a reserved one counts as a failure until
/// [`settle`] says how it went, so any number of attempts at once get no more than the
/// limit through. Call inside a write transaction; the answer is `Ok(Err(_))` when
/// throttled, so that the log of the refusal commits.
pub fn reserve(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    device_token: Option<&str>,
    t: &ThrottleSettings,
) -> Result<Result<String, AppError>, AppError> {
    let device = device_of(conn, email, device_token)?;
    if let Err(refused) = check(conn, email, ip, device.as_deref(), t) {
        insert(
            conn,
            &crate::ids::new_id(),
            email,
            ip,
            device.as_deref(),
            false,
            THROTTLED,
        )?;
        return Ok(Err(refused));
    }
    let id = crate::ids::new_id();
    insert(conn, &id, email, ip, device.as_deref(), false, PENDING)?;
    Ok(Ok(id))
}

/// [`check`] for an attempt from `device_token`'s browser.
pub fn check_from(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    device_token: Option<&str>,
    t: &ThrottleSettings,
) -> Result<(), AppError> {
    let device = device_of(conn, email, device_token)?;
    check(conn, email, ip, device.as_deref(), t)
}

/// Says how a reserved attempt went.
pub fn settle(conn: &mut DbConn, id: &str, outcome: &str) -> Result<(), AppError> {
    diesel::update(sign_in_attempts::table.find(id))
        .set(sign_in_attempts::outcome.eq(outcome))
        .execute(conn)?;
    count(false, outcome);
    Ok(())
}

/// An attempt's outcome in the metrics: a reserved one when it is settled, a right password
/// not at all (the sign-in succeeds, and is counted, once its code is right).
fn count(succeeded: bool, outcome: &str) {
    use crate::metrics::{SignIn, sign_in};
    match outcome {
        PENDING | PASSWORD_OK => {}
        THROTTLED => sign_in(SignIn::Throttled),
        _ if succeeded => sign_in(SignIn::Succeeded),
        _ => sign_in(SignIn::Failed),
    }
}

/// Logs an attempt (every attempt, success or failure, is kept), with the known device it
/// came from.
pub fn record(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    device_token: Option<&str>,
    succeeded: bool,
    outcome: &str,
) -> Result<(), AppError> {
    let device = device_of(conn, email, device_token)?;
    insert(
        conn,
        &crate::ids::new_id(),
        email,
        ip,
        device.as_deref(),
        succeeded,
        outcome,
    )
}

fn insert(
    conn: &mut DbConn,
    id: &str,
    email: &str,
    ip: &str,
    device: Option<&str>,
    succeeded: bool,
    outcome: &str,
) -> Result<(), AppError> {
    diesel::insert_into(sign_in_attempts::table)
        .values((
            sign_in_attempts::id.eq(id),
            sign_in_attempts::device.eq(device),
            sign_in_attempts::email.eq(email),
            sign_in_attempts::ip.eq(ip),
            sign_in_attempts::at.eq(crate::clock::now()),
            sign_in_attempts::succeeded.eq(succeeded),
            sign_in_attempts::outcome.eq(outcome),
        ))
        .execute(conn)?;
    count(succeeded, outcome);
    Ok(())
}

/// Normalises an email as typed for throttling and lookup: trimmed, lower case, bounded.
pub fn normalise_email(raw: &str) -> String {
    raw.trim().to_lowercase().chars().take(254).collect()
}
