//! Throttling of password and code guessing, per account, per address and per pair, over a
//! sliding window. Nothing is locked for longer than the window, and an address the account
//! owner has signed in from before is only held to the per-pair limit, so a distributed
//! attack on an account cannot keep its owner out.

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

/// Refuses with `Throttled` when the email, the address, or the pair has failed too often.
/// Call inside a write transaction: the count is serialised with every other attempt on the
/// same account or address (see [`crate::db::serialise_on`]), so the failures that follow it
/// in the same transaction are counted by the next one.
pub fn check(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
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
    if pair.len() as i64 >= t.per_account_and_address {
        return Err(throttled(pair.last().copied(), since, t));
    }

    let by_ip: Vec<chrono::NaiveDateTime> = failures
        .filter(sign_in_attempts::ip.eq(ip))
        .select(sign_in_attempts::at)
        .order(sign_in_attempts::at.desc())
        .limit(t.per_address)
        .load(conn)?;
    if by_ip.len() as i64 >= t.per_address {
        return Err(throttled(by_ip.last().copied(), since, t));
    }

    let known_address: i64 = sign_in_attempts::table
        .filter(sign_in_attempts::email.eq(email))
        .filter(sign_in_attempts::ip.eq(ip))
        .filter(sign_in_attempts::succeeded.eq(true))
        .filter(sign_in_attempts::at.gt(now - Duration::days(30)))
        .count()
        .get_result(conn)?;
    if known_address == 0 {
        let by_account: Vec<chrono::NaiveDateTime> = failures
            .filter(sign_in_attempts::email.eq(email))
            .select(sign_in_attempts::at)
            .order(sign_in_attempts::at.desc())
            .limit(t.per_account)
            .load(conn)?;
        if by_account.len() as i64 >= t.per_account {
            return Err(throttled(by_account.last().copied(), since, t));
        }
    }
    Ok(())
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
    t: &ThrottleSettings,
) -> Result<Result<String, AppError>, AppError> {
    if let Err(refused) = check(conn, email, ip, t) {
        record(conn, email, ip, false, THROTTLED)?;
        return Ok(Err(refused));
    }
    let id = crate::ids::new_id();
    insert(conn, &id, email, ip, false, PENDING)?;
    Ok(Ok(id))
}

/// Says how a reserved attempt went.
pub fn settle(conn: &mut DbConn, id: &str, outcome: &str) -> Result<(), AppError> {
    diesel::update(sign_in_attempts::table.find(id))
        .set(sign_in_attempts::outcome.eq(outcome))
        .execute(conn)?;
    Ok(())
}

/// Logs an attempt (every attempt, success or failure, is kept).
pub fn record(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    succeeded: bool,
    outcome: &str,
) -> Result<(), AppError> {
    insert(conn, &crate::ids::new_id(), email, ip, succeeded, outcome)
}

fn insert(
    conn: &mut DbConn,
    id: &str,
    email: &str,
    ip: &str,
    succeeded: bool,
    outcome: &str,
) -> Result<(), AppError> {
    diesel::insert_into(sign_in_attempts::table)
        .values((
            sign_in_attempts::id.eq(id),
            sign_in_attempts::email.eq(email),
            sign_in_attempts::ip.eq(ip),
            sign_in_attempts::at.eq(crate::clock::now()),
            sign_in_attempts::succeeded.eq(succeeded),
            sign_in_attempts::outcome.eq(outcome),
        ))
        .execute(conn)?;
    Ok(())
}

/// Normalises an email as typed for throttling and lookup: trimmed, lower case, bounded.
pub fn normalise_email(raw: &str) -> String {
    raw.trim().to_lowercase().chars().take(254).collect()
}
