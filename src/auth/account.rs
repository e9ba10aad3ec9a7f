//! A person's own account changes, each with its audit entry in one transaction: signing
//! out, using an invitation or a reset link, ending sessions, API tokens, and changing the
//! password. The pages and the API parse, call one of these, and answer.

use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::auth::service::{self, InvitationPurpose};
use crate::auth::session::{self, ClientInfo, SessionRow, SessionStage};
use crate::auth::tokens::{self, ApiToken};
use crate::db::DbConn;
use crate::error::AppError;
use crate::settings::SecuritySettings;
use crate::users::model::{self as users_model, MfaState};

/// What the "your account" page shows of a person's own account.
pub struct Overview {
    pub sessions: Vec<SessionRow>,
    pub tokens: Vec<ApiToken>,
    pub codes_left: i64,
    pub areas: Vec<String>,
    pub organisation: String,
    pub email_choices: (
        Vec<crate::notifications::service::PreferenceOption>,
        Vec<&'static str>,
    ),
}

/// The person's live sessions and API tokens, recovery codes left, where they work, and
/// their email choices.
pub fn overview(c: &mut DbConn, me: &users_model::User) -> Result<Overview, AppError> {
    Ok(Overview {
        sessions: session::active_for_user(c, &me.id)?,
        tokens: tokens::live_for_user(c, &me.id)?,
        codes_left: service::recovery_codes_left(c, &me.id)?,
        areas: users_model::area_names(c, &me.id)?,
        organisation: users_model::organisation_name(c, &me.organisation_id)?,
        email_choices: crate::notifications::service::account_choices(c, &me.id, me.role)?,
    })
}

/// Ends the session of `token`, if it is live, as signed out.
pub fn sign_out(
    c: &mut DbConn,
    token: &str,
    settings: &SecuritySettings,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if let Ok(row) = session::lookup(c, token, settings)? {
        session::end(c, &row.id, "signed out")?;
        let user = users_model::by_id(c, &row.user_id)?;
        audit::record(
            c,
            &Actor::user(&user.id, &user.email, client.ip.clone()),
            Event::new(AuditAction::Authentication, "session.ended")
                .details(json!({ "reason": "signed out" })),
        )?;
    }
    Ok(())
}

/// Uses a link to set up the authenticator again: the invitation is spent and the person
/// enrols at their next sign-in. `false` when the link was used meanwhile.
pub fn use_authenticator_reset(
    c: &mut DbConn,
    actor: &Actor,
    invitation_id: &str,
    user_id: &str,
) -> Result<bool, AppError> {
    if !service::consume_invitation(c, invitation_id)? {
        return Ok(false);
    }
    users_model::set_mfa_state(c, user_id, MfaState::EnrolOnSignIn)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Authentication, "mfa.reset_link_used").record("user", user_id),
    )?;
    Ok(true)
}

/// Sets the password chosen through a welcome or reset link, spending the link. `false`
/// when the link was used meanwhile.
pub fn set_password_by_link(
    c: &mut DbConn,
    actor: &Actor,
    invitation_id: &str,
    purpose: InvitationPurpose,
    user_id: &str,
    hash: &str,
) -> Result<Option<(users_model::User, SessionStage)>, AppError> {
    if !service::consume_invitation(c, invitation_id)? {
        return Ok(None);
    }
    service::store_password(c, user_id, hash, None)?;
    let event = if purpose == InvitationPurpose::Welcome {
        "account.activated"
    } else {
        "password.reset"
    };
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Authentication, event).record("user", user_id),
    )?;
    // A reset password never skips the second factor: an enrolled user still gives a code;
    // one whose authenticator was reset by an administrator sets it up as they sign in.
    let user = users_model::by_id(c, user_id)?;
    let stage = if user.mfa_state == MfaState::Enrolled {
        SessionStage::MfaPending
    } else {
        SessionStage::MfaEnrol
    };
    if user.mfa_state == MfaState::ResetPending {
        users_model::set_mfa_state(c, user_id, MfaState::EnrolOnSignIn)?;
    }
    Ok(Some((user, stage)))
}

/// Ends one of the person's own sessions; `false` when there is no such live session.
pub fn end_own_session(
    c: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    public_id: &str,
) -> Result<bool, AppError> {
    let ended = session::end_by_public_id(c, user_id, public_id, "ended by user")?;
    if ended {
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Authentication, "session.ended")
                .details(json!({ "reason": "ended by user" })),
        )?;
    }
    Ok(ended)
}

/// Ends every session of the person but `keep`; how many.
pub fn end_other_sessions(
    c: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    keep: &str,
) -> Result<usize, AppError> {
    let n = session::end_all_for_user(c, user_id, "ended by user", Some(keep))?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Authentication, "session.ended")
            .details(json!({ "reason": "other sessions ended by user", "count": n })),
    )?;
    Ok(n)
}

/// Issues an API token to the person, who has just signed in for it.
pub fn issue_token(
    c: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    hours: i64,
) -> Result<(String, ApiToken), AppError> {
    let (token, row) = tokens::issue(c, user_id, hours)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Authentication, "api_token.issued").record("api_token", &row.id),
    )?;
    Ok((token, row))
}

/// Revokes API token `token_id`: the one a request came with, or (`owner` given) one of
/// the owner's own, from the account page. `false` when the owner has no such live token.
pub fn revoke_token(
    c: &mut DbConn,
    actor: &Actor,
    owner: Option<&str>,
    token_id: &str,
) -> Result<bool, AppError> {
    let done = match owner {
        Some(user_id) => tokens::revoke_own(c, user_id, token_id)?,
        None => {
            tokens::revoke(c, token_id)?;
            true
        }
    };
    if done {
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Authentication, "api_token.revoked")
                .record("api_token", token_id),
        )?;
    }
    Ok(done)
}

/// Changes the person's password from the account page: every other session ends, and this
/// one is replaced (a change of credentials is a change of privilege: a new session id).
pub fn change_password(
    c: &mut DbConn,
    actor: &Actor,
    old: &SessionRow,
    hash: &str,
    settings: &SecuritySettings,
    client: &ClientInfo,
) -> Result<(String, SessionRow), AppError> {
    service::store_password(c, &old.user_id, hash, Some(&old.id))?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Authentication, "password.changed").record("user", &old.user_id),
    )?;
    session::rotate(c, old, SessionStage::Full, settings, client)
}
