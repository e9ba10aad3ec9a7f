//! Rules for managing staff accounts. Every change is audited in the same transaction, and
//! every change that reduces or alters what a user may do ends their sessions and tokens.

use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::auth::service::{InvitationPurpose, issue_invitation};
use crate::auth::{session, tokens};
use crate::db::DbConn;
use crate::db::schema::{recovery_codes, users};
use crate::error::{AppError, FieldErrors};
use crate::notifications::messages::AccountLink;
use crate::notifications::{self, Emails, MessageKind};
use crate::users::forms::{UserInput, VettingInput};
use crate::users::model::{self, AdminScope, MfaState, NewUser, User};

/// The administrator's scope: their organisation and areas, or everyone if service-wide.
pub fn admin_scope(user: &crate::auth::guard::CurrentUser) -> AdminScope {
    AdminScope::of(&user.user, user.area_ids.clone())
}

/// Refuses an administrator who is not service-wide: the audit log, the outbox and imports
/// span every organisation and area.
pub fn service_wide_only(user: &crate::auth::guard::CurrentUser) -> Result<(), AppError> {
    if user.user.service_wide {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// What a scoped administrator may give: their own organisation and areas, nothing more.
fn may_grant(scope: &AdminScope, input: &UserInput) -> Result<(), AppError> {
    if scope.service_wide {
        return Ok(());
    }
    let mut e = FieldErrors::new();
    if input.organisation_id != scope.organisation_id {
        e.add(
            "organisation_id",
            "Select your own organisation: you manage its users only",
        );
    }
    if input.area_ids.iter().any(|a| !scope.area_ids.contains(a)) {
        e.add("areas", "Select only areas that you administer");
    }
    e.into_result()
}

/// A page of the users the administrator manages.
pub fn list(
    c: &mut DbConn,
    scope: &AdminScope,
    query: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<User>, i64), AppError> {
    model::page(c, scope, query, offset, limit)
}

/// One user the administrator manages, with what their page shows: organisation, areas,
/// how many sessions are open, and the latest audit entries about them.
pub struct Detail {
    pub user: User,
    pub organisation: String,
    pub areas: Vec<String>,
    pub area_ids: Vec<String>,
    /// Their spells in areas, newest first.
    pub area_history: Vec<model::AreaSpell>,
    pub sessions: usize,
    pub events: Vec<crate::audit::AuditView>,
}

pub fn detail(c: &mut DbConn, scope: &AdminScope, user_id: &str) -> Result<Detail, AppError> {
    let user = model::managed(c, scope, user_id)?;
    Ok(Detail {
        organisation: model::organisation_name(c, &user.organisation_id)?,
        areas: model::area_names(c, &user.id)?,
        area_ids: model::area_ids(c, &user.id)?,
        area_history: model::area_history(c, &user.id)?,
        sessions: session::active_for_user(c, &user.id)?.len(),
        events: {
            let rows = audit::for_record(c, "user", &user.id, 20)?;
            audit::views(c, &rows)?
        },
        user,
    })
}

/// Users the administrator manages whose vetting expires by `until`, and whose vetting has
/// lapsed.
pub fn vetting_due(
    c: &mut DbConn,
    scope: &AdminScope,
    today: chrono::NaiveDate,
    until: chrono::NaiveDate,
) -> Result<(Vec<User>, Vec<User>), AppError> {
    Ok((
        model::vetting_expiring(c, scope, today, until)?,
        model::vetting_lapsed(c, scope, today)?,
    ))
}

/// Creates a user. With no password hash the user activates their account from a welcome
/// link; with one (first administrator, made on the command line) they set up their
/// authenticator at first sign-in.
pub fn create(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    input: &UserInput,
    password_hash: Option<&str>,
) -> Result<User, AppError> {
    may_grant(scope, input)?;
    if model::by_email(c, input.email.as_str())?.is_some() {
        return Err(AppError::Validation(FieldErrors::single(
            "email",
            "A user with this email address already exists",
        )));
    }
    let now = crate::clock::now();
    let id = crate::ids::new_id();
    diesel::insert_into(users::table)
        .values(NewUser {
            id: &id,
            email: input.email.as_str(),
            name: &input.name,
            role: input.role,
            organisation_id: &input.organisation_id,
            hcpc_number: input.hcpc_number.as_deref(),
            password_hash,
            password_changed_at: password_hash.map(|_| now),
            mfa_state: MfaState::EnrolOnSignIn,
            totp_secret: None,
            totp_last_step: None,
            vetting_level: input.vetting.map(|v| v.0),
            vetting_expires_on: input.vetting.map(|v| v.1),
            disabled_at: None,
            created_at: now,
            updated_at: now,
            service_wide: false,
        })
        .execute(c)?;
    model::set_areas(c, &id, &input.area_ids, crate::clock::today())?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "user.created")
            .record("user", &id)
            .details(json!({ "role": input.role.as_str(), "areas": input.area_ids.len() })),
    )?;
    model::by_id(c, &id)
}

/// Changes name, role, organisation, areas and HCPC number. A change of role, organisation
/// or areas changes what the user may see, so their sessions and tokens end.
pub fn update(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    user_id: &str,
    input: &UserInput,
) -> Result<User, AppError> {
    let before = model::managed(c, scope, user_id)?;
    may_grant(scope, input)?;
    if let Some(other) = model::by_email(c, input.email.as_str())?
        && other.id != user_id
    {
        return Err(AppError::Validation(FieldErrors::single(
            "email",
            "A user with this email address already exists",
        )));
    }
    let before_areas = {
        let mut a = model::area_ids(c, user_id)?;
        a.sort();
        a
    };
    if user_id == scope.user_id
        && (before.role != input.role
            || before.organisation_id != input.organisation_id
            || before_areas != input.area_ids)
    {
        return Err(AppError::Validation(FieldErrors::single(
            "role",
            "You cannot change your own role, organisation or areas: ask another administrator",
        )));
    }
    diesel::update(users::table.find(user_id))
        .set((
            users::name.eq(&input.name),
            users::email.eq(input.email.as_str()),
            users::role.eq(input.role),
            users::organisation_id.eq(&input.organisation_id),
            users::hcpc_number.eq(input.hcpc_number.as_deref()),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    model::set_areas(c, user_id, &input.area_ids, crate::clock::today())?;
    if before.organisation_id != input.organisation_id {
        // Their referrals are checked as the new organisation's (data quality).
        crate::quality::upkeep::refresh_made_by(c, user_id)?;
    }
    let privilege_changed = before.role != input.role
        || before.organisation_id != input.organisation_id
        || before_areas != input.area_ids;
    if privilege_changed {
        session::end_all_for_user(c, user_id, "access changed", None)?;
        tokens::revoke_all_for_user(c, user_id)?;
    }
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "user.updated")
            .record("user", user_id)
            .details(json!({
                "role_from": before.role.as_str(),
                "role_to": input.role.as_str(),
                "access_changed": privilege_changed,
            })),
    )?;
    model::by_id(c, user_id)
}

/// Disables a user and ends their sessions and tokens in the same transaction.
pub fn disable(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    user_id: &str,
) -> Result<User, AppError> {
    if actor.user_id.as_deref() == Some(user_id) {
        return Err(AppError::Conflict(
            "You cannot disable your own account".into(),
        ));
    }
    let user = model::managed(c, scope, user_id)?;
    if user.is_disabled() {
        return Ok(user);
    }
    diesel::update(users::table.find(user_id))
        .set((
            users::disabled_at.eq(Some(crate::clock::now())),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    let ended = session::end_all_for_user(c, user_id, "user disabled", None)?;
    tokens::revoke_all_for_user(c, user_id)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "user.disabled")
            .record("user", user_id)
            .details(json!({ "sessions_ended": ended })),
    )?;
    model::by_id(c, user_id)
}

pub fn enable(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    user_id: &str,
) -> Result<User, AppError> {
    model::managed(c, scope, user_id)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::disabled_at.eq(None::<chrono::NaiveDateTime>),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "user.enabled").record("user", user_id),
    )?;
    model::by_id(c, user_id)
}

pub fn set_vetting(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    user_id: &str,
    v: &VettingInput,
) -> Result<User, AppError> {
    model::managed(c, scope, user_id)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::vetting_level.eq(Some(v.level)),
            users::vetting_expires_on.eq(Some(v.expires_on)),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "user.vetting_recorded")
            .record("user", user_id)
            .details(json!({ "level": v.level.as_str(), "expires_on": v.expires_on.to_string() })),
    )?;
    model::by_id(c, user_id)
}

/// A single-use link to set a new password, emailed to the user's own address in this
/// transaction and never shown to anyone else. The old password stops working only when the
/// link is used; the second factor is still asked for afterwards.
pub fn reset_password(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    user_id: &str,
    days: i64,
    emails: &Emails,
) -> Result<(), AppError> {
    let user = model::managed(c, scope, user_id)?;
    let purpose = if user.password_hash.is_none() {
        InvitationPurpose::Welcome
    } else {
        InvitationPurpose::PasswordReset
    };
    let token = issue_invitation(c, user_id, purpose, actor.user_id.as_deref(), days)?;
    email_link(c, emails, &user, purpose, &token, days)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "user.password_reset_link").record("user", user_id),
    )?;
    Ok(())
}

/// Clears the user's authenticator and recovery codes and emails the user the single-use
/// link that, with their password, lets them set up a new one. Their sessions end now.
pub fn reset_mfa(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    user_id: &str,
    days: i64,
    emails: &Emails,
) -> Result<(), AppError> {
    let user = model::managed(c, scope, user_id)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::mfa_state.eq(if user.password_hash.is_some() {
                MfaState::ResetPending
            } else {
                MfaState::EnrolOnSignIn
            }),
            users::totp_secret.eq(None::<String>),
            users::totp_last_step.eq(None::<i64>),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(c)?;
    session::end_all_for_user(c, user_id, "two-factor reset", None)?;
    tokens::revoke_all_for_user(c, user_id)?;
    let purpose = if user.password_hash.is_some() {
        InvitationPurpose::MfaReset
    } else {
        InvitationPurpose::Welcome
    };
    let token = issue_invitation(c, user_id, purpose, actor.user_id.as_deref(), days)?;
    email_link(c, emails, &user, purpose, &token, days)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Authentication, "mfa.reset").record("user", user_id),
    )?;
    Ok(())
}

/// Queues the email that carries a single-use link to the person it is for: their name, the
/// link and its expiry date, nothing else.
fn email_link(
    c: &mut DbConn,
    emails: &Emails,
    user: &User,
    purpose: InvitationPurpose,
    token: &str,
    days: i64,
) -> Result<(), AppError> {
    let kind = match purpose {
        InvitationPurpose::Welcome => MessageKind::Welcome,
        InvitationPurpose::PasswordReset => MessageKind::PasswordReset,
        InvitationPurpose::MfaReset => MessageKind::MfaReset,
    };
    let link = emails.link(&format!("/invitation/{token}"));
    let expires = crate::web::format::date(crate::clock::today() + chrono::Duration::days(days));
    let message = emails.account_link(
        &user.email,
        &AccountLink {
            kind,
            name: &user.name,
            link: &link,
            expires: &expires,
        },
    )?;
    notifications::enqueue(c, message)?;
    Ok(())
}

/// Ends every session of one user (admin action).
pub fn end_sessions(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    user_id: &str,
) -> Result<usize, AppError> {
    model::managed(c, scope, user_id)?;
    let n = session::end_all_for_user(c, user_id, "ended by administrator", None)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Authentication, "session.ended")
            .record("user", user_id)
            .details(json!({ "reason": "ended by administrator", "count": n })),
    )?;
    Ok(n)
}

/// Ends everyone's sessions but the administrator's own: a service-wide administrator's
/// action only.
pub fn end_all_sessions(
    c: &mut DbConn,
    scope: &AdminScope,
    actor: &Actor,
    keep_session: &str,
) -> Result<usize, AppError> {
    if !scope.service_wide {
        return Err(AppError::Forbidden);
    }
    let n = session::end_everyone(c, "ended for everyone by administrator", Some(keep_session))?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Authentication, "session.ended_all").details(json!({ "count": n })),
    )?;
    Ok(n)
}

/// Makes an administrator service-wide, or scoped again: the command line's action only, so
/// that no one can grant it through the pages.
pub fn set_service_wide(
    c: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    on: bool,
) -> Result<User, AppError> {
    let user = model::by_id(c, user_id)?;
    if on && user.role != crate::users::model::Role::Admin {
        return Err(AppError::Validation(FieldErrors::single(
            "email",
            "Only an administrator can be made service-wide",
        )));
    }
    diesel::update(users::table.find(user_id))
        .set((
            users::service_wide.eq(on),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    session::end_all_for_user(c, user_id, "access changed", None)?;
    tokens::revoke_all_for_user(c, user_id)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "user.service_wide")
            .record("user", user_id)
            .details(json!({ "service_wide": on })),
    )?;
    model::by_id(c, user_id)
}
