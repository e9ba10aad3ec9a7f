//! The outbox and email-choice rules behind the pages, each change with its audit entry in
//! the caller's transaction.

use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::error::AppError;
use crate::notifications::messages::MessageKind;
use crate::notifications::model;
use crate::users::model::Role;

/// Puts a dead-lettered message back in the queue (audited); `false` when it is no longer
/// waiting for a retry.
pub fn requeue(c: &mut DbConn, actor: &Actor, id: &str) -> Result<bool, AppError> {
    let message = model::by_id(c, id)?;
    let requeued = model::requeue(c, id)?;
    if requeued {
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Administration, "email.requeued")
                .record("outbox_message", id)
                .details(json!({ "kind": message.kind.as_str() })),
        )?;
    }
    Ok(requeued)
}

/// Saves a person's choice of optional emails among those `allowed` for their role (audited).
pub fn set_preferences(
    c: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    allowed: &[MessageKind],
    wanted: &[MessageKind],
) -> Result<(), AppError> {
    model::set_preferences(c, user_id, allowed, wanted)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "email.preferences_changed")
            .record("user", user_id)
            .details(json!({
                "on": wanted.iter().map(|k| k.as_str()).collect::<Vec<_>>()
            })),
    )
}

#[derive(serde::Serialize)]
pub struct PreferenceOption {
    value: &'static str,
    text: &'static str,
}

/// The optional kinds a person of `role` can receive.
pub fn optional_for(role: Role) -> Vec<MessageKind> {
    MessageKind::OPTIONAL
        .iter()
        .copied()
        .filter(|k| match k {
            MessageKind::VettingExpiringAdmin => role == Role::Admin,
            MessageKind::ReferralSubmitted | MessageKind::WeeklyDigest => {
                role == Role::ClinicalLead
            }
            MessageKind::ReferralScreened
            | MessageKind::TreatmentEnded
            | MessageKind::SessionPlan => role == Role::ProbationOfficer,
            MessageKind::ApAllocated => role == Role::AssistantPsychologist,
            _ => true,
        })
        .collect()
}

/// What the account page needs: the optional kinds this person can choose, and those on.
pub fn account_choices(
    c: &mut DbConn,
    user_id: &str,
    role: Role,
) -> Result<(Vec<PreferenceOption>, Vec<&'static str>), AppError> {
    let off = model::opt_outs(c, user_id)?;
    let kinds = optional_for(role);
    let on = kinds
        .iter()
        .filter(|k| !off.contains(k))
        .map(|k| k.as_str())
        .collect();
    let options = kinds
        .iter()
        .map(|k| PreferenceOption {
            value: k.as_str(),
            text: k.label(),
        })
        .collect();
    Ok((options, on))
}
