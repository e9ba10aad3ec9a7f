//! Sign-in rules shared by the pages and the API: password, second factor, recovery codes,
//! enrolment, invitations and password changes. Every attempt is logged and audited.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::auth::password::{Password, service_context_words};
use crate::auth::session::ClientInfo;
use crate::auth::{throttle, totp};
use crate::coded_enum;
use crate::db::schema::{invitations, recovery_codes, users};
use crate::db::{DbConn, write_tx};
use crate::error::AppError;
use crate::state::AppState;
use crate::users::model::{self as users_model, MfaState, User};

/// Why a password sign-in was refused. Unknown email and wrong password are one case, so the
/// answer never says which accounts exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    BadCredentials,
    Disabled,
    VettingExpired(Option<NaiveDate>),
    MfaResetPending,
}

#[derive(Debug)]
pub enum PasswordOutcome {
    /// Password right: the authenticator code comes next.
    NeedsCode(User),
    /// Password right: the user must set up an authenticator app now.
    NeedsEnrolment(User),
    Refused(Refusal),
}

fn ip_of(client: &ClientInfo) -> String {
    client.ip.clone().unwrap_or_else(|| "unknown".into())
}

/// Checks an email and password, with throttling, timing that does not depend on whether
/// the account exists, logging and auditing, and a rehash when the parameters changed.
pub async fn check_password(
    state: &AppState,
    email_raw: &str,
    password: &Password,
    client: &ClientInfo,
    via: &'static str,
) -> Result<PasswordOutcome, AppError> {
    let email = throttle::normalise_email(email_raw);
    let ip = ip_of(client);
    let throttle_settings = state.settings.security.throttle.clone();
    let (e, i, d) = (email.clone(), ip.clone(), client.device.clone());
    let (attempt, found) = state
        .db
        .write(move |c| {
            Ok(
                match throttle::reserve(c, &e, &i, d.as_deref(), &throttle_settings)? {
                    Ok(attempt) => Ok((attempt, users_model::by_email(c, &e)?)),
                    Err(refused) => Err(refused),
                },
            )
        })
        .await??;
    let verified = state
        .hasher
        .verify(
            password,
            found.as_ref().and_then(|u| u.password_hash.clone()),
        )
        .await?;

    let today = crate::clock::today();
    let (outcome, label) = match found {
        Some(user) if verified.ok => {
            if user.is_disabled() {
                (PasswordOutcome::Refused(Refusal::Disabled), "disabled")
            } else if user.vetting_expired(today) {
                (
                    PasswordOutcome::Refused(Refusal::VettingExpired(user.vetting_expires_on)),
                    "vetting_expired",
                )
            } else {
                match user.mfa_state {
                    MfaState::Enrolled => (PasswordOutcome::NeedsCode(user), throttle::PASSWORD_OK),
                    MfaState::EnrolOnSignIn => {
                        (PasswordOutcome::NeedsEnrolment(user), throttle::PASSWORD_OK)
                    }
                    MfaState::ResetPending => (
                        PasswordOutcome::Refused(Refusal::MfaResetPending),
                        "mfa_reset_pending",
                    ),
                }
            }
        }
        Some(_) => (
            PasswordOutcome::Refused(Refusal::BadCredentials),
            "bad_credentials",
        ),
        None => (
            PasswordOutcome::Refused(Refusal::BadCredentials),
            throttle::UNKNOWN_ACCOUNT,
        ),
    };

    let new_hash = match (&outcome, verified.needs_rehash) {
        (PasswordOutcome::NeedsCode(_) | PasswordOutcome::NeedsEnrolment(_), true) => {
            Some(state.hasher.hash(password).await?)
        }
        _ => None,
    };
    let user_id = match &outcome {
        PasswordOutcome::NeedsCode(u) | PasswordOutcome::NeedsEnrolment(u) => Some(u.id.clone()),
        PasswordOutcome::Refused(_) => None,
    };
    let client = client.clone();
    state
        .db
        .write(move |c| {
            // The password step alone is not a successful sign-in: success is recorded when
            // the second factor is given.
            throttle::settle(c, &attempt, label)?;
            if label != throttle::PASSWORD_OK {
                let actor = Actor {
                    user_id: None,
                    label: email.clone(),
                    ip: client.ip.clone(),
                };
                audit::record(
                    c,
                    &actor,
                    Event::new(AuditAction::Authentication, "sign_in.failed")
                        .details(json!({ "reason": label, "via": via })),
                )?;
            }
            if let (Some(uid), Some(hash)) = (&user_id, &new_hash) {
                diesel::update(users::table.find(uid))
                    .set(users::password_hash.eq(hash))
                    .execute(c)?;
            }
            Ok(())
        })
        .await?;
    Ok(outcome)
}

/// Checks the password of someone already known (changing their password, using an
/// authenticator reset link): throttled, and a wrong one is logged and audited like a failed
/// sign-in.
pub async fn check_known_password(
    state: &AppState,
    user: &User,
    password: &Password,
    client: &ClientInfo,
    via: &'static str,
) -> Result<bool, AppError> {
    let (email, ip, device) = (user.email.clone(), ip_of(client), client.device.clone());
    let throttle_settings = state.settings.security.throttle.clone();
    let attempt = state
        .db
        .write(move |c| throttle::reserve(c, &email, &ip, device.as_deref(), &throttle_settings))
        .await??;
    let ok = !password.expose().is_empty()
        && state
            .hasher
            .verify(password, user.password_hash.clone())
            .await?
            .ok;
    let (user, client) = (user.clone(), client.clone());
    state
        .db
        .write(move |c| {
            if ok {
                throttle::settle(c, &attempt, throttle::PASSWORD_OK)
            } else {
                throttle::settle(c, &attempt, "bad_password")?;
                audit::record(
                    c,
                    &Actor::user(&user.id, &user.email, client.ip.clone()),
                    Event::new(AuditAction::Authentication, "sign_in.failed")
                        .details(json!({ "reason": "bad_password", "via": via })),
                )
            }
        })
        .await?;
    Ok(ok)
}

/// The throttle for a code (or a known user's password) sent from `client`.
fn check_code_throttle(
    c: &mut DbConn,
    user: &User,
    client: &ClientInfo,
    settings: &crate::settings::ThrottleSettings,
) -> Result<(), AppError> {
    throttle::check_from(
        c,
        &user.email,
        &ip_of(client),
        client.device.as_deref(),
        settings,
    )
}

/// Logs a completed sign-in, which clears the failure count for this account and address.
fn record_success(
    c: &mut DbConn,
    user: &User,
    client: &ClientInfo,
    via: &str,
    factor: &str,
) -> Result<(), AppError> {
    throttle::record(
        c,
        &user.email,
        &ip_of(client),
        client.device.as_deref(),
        true,
        "signed_in",
    )?;
    audit::record(
        c,
        &Actor::user(&user.id, &user.email, client.ip.clone()),
        Event::new(AuditAction::Authentication, "sign_in.succeeded")
            .details(json!({ "via": via, "factor": factor })),
    )
}

fn record_code_failure(
    c: &mut DbConn,
    user: &User,
    client: &ClientInfo,
    via: &str,
    what: &str,
) -> Result<(), AppError> {
    throttle::record(
        c,
        &user.email,
        &ip_of(client),
        client.device.as_deref(),
        false,
        what,
    )?;
    audit::record(
        c,
        &Actor::user(&user.id, &user.email, client.ip.clone()),
        Event::new(AuditAction::Authentication, "sign_in.failed")
            .details(json!({ "reason": what, "via": via })),
    )
}

/// Checks an authenticator code. The step is claimed with a conditional update, so the same
/// code cannot be used twice even by two requests at once.
pub async fn check_code(
    state: &AppState,
    user: &User,
    code: &str,
    client: &ClientInfo,
    via: &'static str,
) -> Result<bool, AppError> {
    let (user, code, client) = (user.clone(), code.to_owned(), client.clone());
    let throttle_settings = state.settings.security.throttle.clone();
    state
        .db
        .write(move |c| {
            check_code_throttle(c, &user, &client, &throttle_settings)?;
            let fresh = users_model::by_id(c, &user.id)?;
            let Some(secret) = fresh.totp_secret.as_deref() else {
                return Ok(false);
            };
            let accepted = match totp::verify(secret, &code, fresh.totp_last_step)? {
                Some(step) => {
                    diesel::update(
                        users::table.find(&user.id).filter(
                            users::totp_last_step
                                .is_null()
                                .or(users::totp_last_step.lt(step)),
                        ),
                    )
                    .set(users::totp_last_step.eq(step))
                    .execute(c)?
                        == 1
                }
                None => false,
            };
            if accepted {
                record_success(c, &user, &client, via, "authenticator")?;
            } else {
                record_code_failure(c, &user, &client, via, "bad_code")?;
            }
            Ok(accepted)
        })
        .await
}

/// Uses a recovery code (each works once).
pub async fn use_recovery_code(
    state: &AppState,
    user: &User,
    code: &str,
    client: &ClientInfo,
    via: &'static str,
) -> Result<bool, AppError> {
    let (user, hash, client) = (user.clone(), totp::recovery_code_hash(code), client.clone());
    let throttle_settings = state.settings.security.throttle.clone();
    state
        .db
        .write(move |c| {
            check_code_throttle(c, &user, &client, &throttle_settings)?;
            let used = diesel::update(
                recovery_codes::table
                    .filter(recovery_codes::user_id.eq(&user.id))
                    .filter(recovery_codes::code_hash.eq(&hash))
                    .filter(recovery_codes::used_at.is_null()),
            )
            .set(recovery_codes::used_at.eq(crate::clock::now()))
            .execute(c)?
                == 1;
            if used {
                record_success(c, &user, &client, via, "recovery_code")?;
            } else {
                record_code_failure(c, &user, &client, via, "bad_recovery_code")?;
            }
            Ok(used)
        })
        .await
}

pub fn recovery_codes_left(c: &mut DbConn, user_id: &str) -> Result<i64, AppError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(c)?)
}

/// The secret to enrol with: the one already offered in this enrolment, or a new one.
pub fn enrolment_secret(c: &mut DbConn, user: &User) -> Result<String, AppError> {
    if user.mfa_state != MfaState::Enrolled
        && let Some(s) = &user.totp_secret
    {
        return Ok(s.clone());
    }
    let secret = totp::new_secret();
    diesel::update(users::table.find(&user.id))
        .set((
            users::totp_secret.eq(&secret),
            users::totp_last_step.eq(None::<i64>),
        ))
        .execute(c)?;
    Ok(secret)
}

/// Completes enrolment when the code matches the offered secret: marks the user enrolled
/// and returns ten new recovery codes (old ones are deleted).
pub async fn complete_enrolment(
    state: &AppState,
    user: &User,
    code: &str,
    client: &ClientInfo,
) -> Result<Option<Vec<String>>, AppError> {
    let (user, code, client) = (user.clone(), code.to_owned(), client.clone());
    let throttle_settings = state.settings.security.throttle.clone();
    state
        .db
        .write(move |c| {
            check_code_throttle(c, &user, &client, &throttle_settings)?;
            let fresh = users_model::by_id(c, &user.id)?;
            if fresh.mfa_state == MfaState::Enrolled {
                return Ok(None);
            }
            let Some(secret) = fresh.totp_secret.clone() else {
                return Ok(None);
            };
            let Some(step) = totp::verify(&secret, &code, None)? else {
                record_code_failure(c, &user, &client, "web", "bad_enrolment_code")?;
                return Ok(None);
            };
            diesel::update(users::table.find(&user.id))
                .set((
                    users::mfa_state.eq(MfaState::Enrolled),
                    users::totp_last_step.eq(step),
                    users::updated_at.eq(crate::clock::now()),
                ))
                .execute(c)?;
            let codes = replace_recovery_codes(c, &user.id)?;
            let actor = Actor::user(&user.id, &user.email, client.ip.clone());
            audit::record(
                c,
                &actor,
                Event::new(AuditAction::Authentication, "mfa.enrolled")
                    .record("user", &user.id)
                    .details(json!({ "secret": totp::fingerprint(&secret) })),
            )?;
            record_success(c, &user, &client, "web", "enrolment")?;
            Ok(Some(codes))
        })
        .await
}

pub fn replace_recovery_codes(c: &mut DbConn, user_id: &str) -> Result<Vec<String>, AppError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(c)?;
    let codes = totp::new_recovery_codes();
    let now = crate::clock::now();
    for code in &codes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::id.eq(crate::ids::new_id()),
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(totp::recovery_code_hash(code)),
                recovery_codes::created_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok(codes)
}

/// Words a user's password must not be built from: the service's own plus the user's
/// details, areas and organisation.
pub fn context_words(c: &mut DbConn, user: &User) -> Result<Vec<String>, AppError> {
    let mut words = service_context_words();
    words.push(user.name.clone());
    words.push(user.email.clone());
    words.extend(user.email.split(['@', '.']).map(str::to_owned));
    words.push(user.role.label().to_owned());
    words.extend(users_model::area_names(c, &user.id)?);
    words.push(users_model::organisation_name(c, &user.organisation_id)?);
    Ok(words)
}

coded_enum! {
    /// What a single-use link lets its holder do.
    pub enum InvitationPurpose {
        Welcome = ("welcome", "Set up your account"),
        PasswordReset = ("password_reset", "Reset your password"),
        MfaReset = ("mfa_reset", "Set up your authenticator app again"),
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: String,
    pub user_id: String,
    pub purpose: InvitationPurpose,
    pub token_hash: String,
    pub created_by: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub expires_at: chrono::NaiveDateTime,
    pub used_at: Option<chrono::NaiveDateTime>,
}

/// Issues a single-use link token (earlier unused links of the user are withdrawn).
pub fn issue_invitation(
    c: &mut DbConn,
    user_id: &str,
    purpose: InvitationPurpose,
    created_by: Option<&str>,
    days: i64,
) -> Result<String, AppError> {
    let now = crate::clock::now();
    diesel::update(
        invitations::table
            .filter(invitations::user_id.eq(user_id))
            .filter(invitations::used_at.is_null()),
    )
    .set(invitations::expires_at.eq(now))
    .execute(c)?;
    let token = crate::ids::random_token(32);
    diesel::insert_into(invitations::table)
        .values((
            invitations::id.eq(crate::ids::new_id()),
            invitations::user_id.eq(user_id),
            invitations::purpose.eq(purpose),
            invitations::token_hash.eq(crate::ids::sha256_hex(&token)),
            invitations::created_by.eq(created_by),
            invitations::created_at.eq(now),
            invitations::expires_at.eq(now + Duration::days(days)),
        ))
        .execute(c)?;
    Ok(token)
}

/// The live invitation behind a link token.
pub fn find_invitation(
    c: &mut DbConn,
    token: &str,
) -> Result<Option<(Invitation, User)>, AppError> {
    let inv = invitations::table
        .filter(invitations::token_hash.eq(crate::ids::sha256_hex(token)))
        .filter(invitations::used_at.is_null())
        .filter(invitations::expires_at.gt(crate::clock::now()))
        .select(Invitation::as_select())
        .first(c)
        .optional()?;
    match inv {
        Some(inv) => {
            let user = users_model::by_id(c, &inv.user_id)?;
            if user.is_disabled() {
                Ok(None)
            } else {
                Ok(Some((inv, user)))
            }
        }
        None => Ok(None),
    }
}

/// Marks an invitation used; false when someone else used it first.
pub fn consume_invitation(c: &mut DbConn, id: &str) -> Result<bool, AppError> {
    Ok(diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::used_at.is_null()),
    )
    .set(invitations::used_at.eq(crate::clock::now()))
    .execute(c)?
        == 1)
}

/// Stores a new password hash (and ends the user's other sessions and API tokens).
pub fn store_password(
    c: &mut DbConn,
    user_id: &str,
    hash: &str,
    keep_session: Option<&str>,
) -> Result<(), AppError> {
    let now = crate::clock::now();
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(c)?;
    crate::auth::session::end_all_for_user(c, user_id, "password changed", keep_session)?;
    crate::auth::tokens::revoke_all_for_user(c, user_id)?;
    Ok(())
}

/// True when the user's vetting blocks sign-in today; used by the CLI and admin pages.
pub fn write_audit(c: &mut DbConn, actor: &Actor, event: Event<'_>) -> Result<(), AppError> {
    write_tx(c, |c| audit::record(c, actor, event))
}
