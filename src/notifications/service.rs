//! The outbox and email-choice rules behind the pages, each change with its audit entry in
//! the caller's transaction.

use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::error::AppError;
use crate::notifications::messages::MessageKind;
use crate::notifications::model;
use crate::users::model::Role;

/// What the administrators' outbox search looks for: emails to one address, in one state,
/// created within some days. Every part is optional.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct OutboxQuery {
    pub recipient: Option<String>,
    pub status: Option<model::OutboxStatus>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
}

/// Reads the outbox search form: an email address, a status and a date range. `None` when
/// the page is opened without a search (`search=1`); an error when a search asks for
/// nothing, or a field cannot be read.
pub fn parse_outbox_query(
    raw: &crate::form::RawForm,
) -> Result<Option<OutboxQuery>, crate::error::FieldErrors> {
    if raw.get("search") != "1" {
        return Ok(None);
    }
    let mut errors = crate::error::FieldErrors::new();
    let recipient = raw.get("recipient").trim().to_lowercase();
    if !recipient.is_empty() && (!recipient.contains('@') || recipient.chars().count() > 320) {
        errors.add(
            "recipient",
            "Enter an email address in the correct format, like name@example.com",
        );
    }
    let status = match raw.get("status") {
        "" => None,
        s => match s.parse::<model::OutboxStatus>() {
            Ok(s) => Some(s),
            Err(_) => {
                errors.add("status", "Select a status from the list");
                None
            }
        },
    };
    let mut date = |field: &str, what: &str| {
        if !raw.date_given(field) {
            return None;
        }
        raw.date(field, what).map_err(|m| errors.add(field, m)).ok()
    };
    let from = date("from_date", "first day to search");
    let to = date("to_date", "last day to search");
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.add(
            "to_date",
            "The last day must be the same as or after the first day",
        );
    }
    let q = OutboxQuery {
        recipient: (!recipient.is_empty()).then_some(recipient),
        status,
        from,
        to,
    };
    if errors.is_empty()
        && q.recipient.is_none()
        && q.status.is_none()
        && q.from.is_none()
        && q.to.is_none()
    {
        errors.add(
            "recipient",
            "Enter an email address, or choose a status or dates, to search for",
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Some(q))
}

/// The emails the query finds, newest first, at most `limit`, and how many it finds in all.
/// The search shows who was emailed about what, so it is recorded.
pub fn search_outbox(
    c: &mut DbConn,
    actor: &Actor,
    q: &OutboxQuery,
    limit: i64,
) -> Result<(Vec<model::OutboxMessage>, i64), AppError> {
    let found = model::search(c, q.recipient.as_deref(), q.status, q.from, q.to, limit)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Consultation, "outbox.searched")
            .details(json!({ "query": q, "found": found.1 })),
    )?;
    Ok(found)
}

/// What the administrators' outbox page shows.
pub struct OutboxOverview {
    /// Messages by status.
    pub counts: Vec<(model::OutboxStatus, i64)>,
    /// The latest failed messages.
    pub dead: Vec<model::OutboxMessage>,
    /// What the search found, and how many in all, when there was a search.
    pub found: Option<(Vec<model::OutboxMessage>, i64)>,
}

/// The outbox page's figures and lists, with what `search` finds (recorded) when there is
/// a search.
pub fn outbox_overview(
    c: &mut DbConn,
    actor: &Actor,
    search: Option<&OutboxQuery>,
    limit: i64,
) -> Result<OutboxOverview, AppError> {
    let found = search
        .map(|q| search_outbox(c, actor, q, limit))
        .transpose()?;
    Ok(OutboxOverview {
        counts: model::counts(c)?,
        dead: model::dead(c, 200)?,
        found,
    })
}

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
            MessageKind::ReferralScreened | MessageKind::ReferralTakenOver => {
                matches!(role, Role::ProbationOfficer | Role::LiaisonDiversion)
            }
            MessageKind::TreatmentEnded | MessageKind::SessionPlan => {
                role == Role::ProbationOfficer
            }
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
