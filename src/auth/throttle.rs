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

/// Refuses with `Throttled` when the email, the address, or the pair has failed too often.
pub fn check(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    t: &ThrottleSettings,
) -> Result<(), AppError> {
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

/// Logs an attempt (every attempt, success or failure, is kept).
pub fn record(
    conn: &mut DbConn,
    email: &str,
    ip: &str,
    succeeded: bool,
    outcome: &str,
) -> Result<(), AppError> {
    diesel::insert_into(sign_in_attempts::table)
        .values((
            sign_in_attempts::id.eq(crate::ids::new_id()),
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
