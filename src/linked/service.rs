//! The rules of linked DRR and ATR requirements, each change in one transaction: recording a
//! requirement, moving its status on, and entering its activity. Every function finds the
//! referral through the referrals scope chokepoint first, then checks the role: the
//! probation officer who holds the referral or a clinical lead of its area records and
//! changes requirements; the allocated assistant psychologist may also enter activity. Every
//! change is audited and written to the referral's timeline (`referral_events`), which is
//! therefore the combined timeline of the order.

use chrono::NaiveDate;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};
use crate::linked::codes::*;
use crate::linked::forms::{ActivityInput, RequirementInput, StatusInput};
use crate::linked::model::{self, Activity, LinkedRequirement};
use crate::referrals::access::{Caption, Ctx, caption, record_view};
use crate::referrals::codes::CombinedWith;
use crate::referrals::model::{self as referrals_model, Referral, Viewer};
use crate::sessions::codes::EventKind;
use crate::users::model::Role;
use crate::web::format;

/// Whether the viewer may record and change a referral's linked requirements: the probation
/// officer who holds it (responsible officer, or the referrer while there is none), or a
/// clinical lead of its area (scope has checked the area).
pub fn may_change(viewer: &Viewer, r: &Referral) -> bool {
    match viewer.role {
        Role::ClinicalLead => true,
        Role::ProbationOfficer => r.holder() == viewer.user_id,
        _ => false,
    }
}

/// Whether the viewer may enter activity: those who may change, and the allocated
/// assistant psychologist.
pub fn may_log(viewer: &Viewer, r: &Referral) -> bool {
    may_change(viewer, r)
        || (viewer.role == Role::AssistantPsychologist
            && r.allocated_ap_id.as_deref() == Some(viewer.user_id.as_str()))
}

/// What the order combines, for uptake reporting: the DRRs and ATRs that ever became active
/// (a requirement proposed and then revoked never ran beside the MHTR).
pub fn combination(reqs: &[LinkedRequirement]) -> CombinedWith {
    let ran = |k| reqs.iter().any(|r| r.kind == k && r.activated_at.is_some());
    match (ran(RequirementKind::Drr), ran(RequirementKind::Atr)) {
        (false, false) => CombinedWith::None,
        (true, false) => CombinedWith::Drr,
        (false, true) => CombinedWith::Atr,
        (true, true) => CombinedWith::DrrAndAtr,
    }
}

/// Refuses anything new on a referral whose personal data was erased under the retention
/// policy: what is written about it would be personal data again.
fn not_erased(c: &mut DbConn, r: &Referral) -> Result<(), AppError> {
    if crate::retention::model::is_erased(c, &r.id)? {
        return Err(AppError::Conflict(
            "The personal data of this referral was erased: nothing more is recorded on it".into(),
        ));
    }
    Ok(())
}

/// A referral in scope whose linked requirements the viewer may record (for forms).
pub fn referral_to_change(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<Referral, AppError> {
    changeable(c, ctx, referral_id).map(|(r, _)| r)
}

/// [`referral_to_change`], with the reason given for looking at the referral.
fn changeable(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(Referral, Option<String>), AppError> {
    let (r, reason) = ctx.open(c, referral_id)?;
    if !may_change(&ctx.viewer, &r) {
        return Err(AppError::Forbidden);
    }
    not_erased(c, &r)?;
    Ok((r, reason))
}

/// A linked requirement with its referral, opened through the reason gate
/// ([`Ctx::open`]), and the reason given for looking at it.
fn opened(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
) -> Result<(Referral, LinkedRequirement, Option<String>), AppError> {
    let l = model::requirement(c, id)?;
    let (r, reason) = ctx.open(c, &l.referral_id)?;
    Ok((r, l, reason))
}

/// What the viewer must be allowed on a requirement's referral: [`may_change`] or
/// [`may_log`].
pub type Permit = fn(&Viewer, &Referral) -> bool;

/// A requirement opened through the reason gate, if `may` allows the viewer and its
/// referral's personal data is not erased; with the reason given for looking at it.
fn permitted(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    may: Permit,
) -> Result<(Referral, LinkedRequirement, Option<String>), AppError> {
    let (r, l, reason) = opened(c, ctx, id)?;
    if !may(&ctx.viewer, &r) {
        return Err(AppError::Forbidden);
    }
    not_erased(c, &r)?;
    Ok((r, l, reason))
}

/// The caption of the form adding a requirement to a referral, the view recorded.
pub fn form_on_referral(c: &mut DbConn, ctx: &Ctx, referral_id: &str) -> Result<Caption, AppError> {
    let (r, reason) = changeable(c, ctx, referral_id)?;
    caption(c, &ctx.actor, &r, reason.as_deref())
}

/// A form on requirement `id` that `may` allows: the requirement and the form's caption, the
/// view recorded.
pub fn form_on_requirement(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    may: Permit,
) -> Result<(LinkedRequirement, Caption), AppError> {
    let (r, l, reason) = permitted(c, ctx, id, may)?;
    Ok((l, caption(c, &ctx.actor, &r, reason.as_deref())?))
}

/// A referral's linked requirements, for the API: opened through the reason gate, the view
/// recorded. Returns the referral's id with them.
pub fn list(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(String, Vec<LinkedRequirement>), AppError> {
    let (r, reason) = ctx.open(c, referral_id)?;
    record_view(c, &ctx.actor, "linked.listed", &r.id, reason.as_deref())?;
    Ok((r.id.clone(), model::requirements_of(c, &r.id)?))
}

/// A linked requirement whose status the viewer may change.
pub fn to_change(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
) -> Result<(Referral, LinkedRequirement), AppError> {
    permitted(c, ctx, id, may_change).map(|(r, l, _)| (r, l))
}

/// A linked requirement the viewer may enter activity on.
pub fn to_log(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
) -> Result<(Referral, LinkedRequirement), AppError> {
    permitted(c, ctx, id, may_log).map(|(r, l, _)| (r, l))
}

fn record_event(
    c: &mut DbConn,
    viewer: &Viewer,
    referral_id: &str,
    kind: EventKind,
    summary: String,
) -> Result<(), AppError> {
    crate::sessions::upkeep::record_event(c, viewer, referral_id, kind, false, summary)
}

fn audit_change(
    c: &mut DbConn,
    actor: &Actor,
    name: &str,
    referral_id: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, name)
            .record("referral", referral_id)
            .details(details),
    )
}

/// Records a DRR or ATR on a referral.
pub fn add(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    input: &RequirementInput,
) -> Result<LinkedRequirement, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let r = referral_to_change(c, ctx, referral_id)?;
    let now = crate::clock::now();
    let row = LinkedRequirement {
        id: crate::ids::new_id(),
        referral_id: r.id.clone(),
        kind: input.kind,
        provider: input.provider.clone(),
        treatment_director: input.treatment_director.clone(),
        key_contact: input.key_contact.clone(),
        start_date: input.start_date,
        end_date: input.end_date,
        sequencing: input.sequencing,
        status: input.status,
        activated_at: (input.status == RequirementStatus::Active).then_some(now),
        created_by: viewer.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    model::insert_requirement(c, &row)?;
    record_event(
        c,
        viewer,
        &r.id,
        input.kind.added_event(),
        format!(
            "{}, {} to {}, {}. Provider {}, treatment director {}. {}",
            row.status.label(),
            format::date(row.start_date),
            format::date(row.end_date),
            row.sequencing
                .label()
                .to_lowercase()
                .replace("mhtr", "MHTR"),
            row.provider,
            row.treatment_director,
            match &row.key_contact {
                Some(k) => format!("Key contact: {k}."),
                None => String::new(),
            }
        )
        .trim_end()
        .to_owned(),
    )?;
    audit_change(
        c,
        actor,
        "linked.added",
        &r.id,
        serde_json::json!({
            "linked_requirement": row.id,
            "kind": row.kind.as_str(),
            "status": row.status.as_str(),
        }),
    )?;
    Ok(row)
}

/// Moves a requirement's status on: proposed to active or revoked, active to completed or
/// revoked. Anything else is refused, saying what is possible.
pub fn change_status(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    input: &StatusInput,
    via: EnteredVia,
) -> Result<LinkedRequirement, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, l) = to_change(c, ctx, id)?;
    let allowed = l.status.next();
    if !allowed.contains(&input.status) {
        let what = l.kind.short();
        let from = l.status.label().to_lowercase();
        return Err(AppError::Conflict(if allowed.is_empty() {
            format!("This {what} is {from}: its status cannot change")
        } else {
            let to: Vec<String> = allowed.iter().map(|s| s.label().to_lowercase()).collect();
            let mut message = format!(
                "{} that is {from} can become {}, not {}",
                l.kind.with_article(),
                to.join(" or "),
                input.status.label().to_lowercase()
            );
            // Capitalised: it starts the message.
            message.replace_range(..1, "A");
            message
        }));
    }
    let now = crate::clock::now();
    if !model::set_status(c, id, l.status, input.status, now)? {
        return Err(AppError::Conflict(
            "This requirement has changed since you opened it. Reload the page and try again"
                .into(),
        ));
    }
    let change = format!(
        "{} to {}",
        l.status.label(),
        input.status.label().to_lowercase()
    );
    let text = match &input.note {
        Some(n) => format!("{change}. {n}"),
        None => change,
    };
    model::insert_activity(
        c,
        &Activity {
            id: crate::ids::new_id(),
            linked_requirement_id: l.id.clone(),
            on_date: crate::sessions::service::local_now().date(),
            kind: ActivityKind::StatusChanged,
            note: text.clone(),
            entered_by: viewer.user_id.clone(),
            entered_via: via,
            created_at: now,
        },
    )?;
    record_event(c, viewer, &r.id, l.kind.status_event(), text)?;
    audit_change(
        c,
        actor,
        "linked.status_changed",
        &r.id,
        serde_json::json!({
            "linked_requirement": l.id,
            "from": l.status.as_str(),
            "to": input.status.as_str(),
        }),
    )?;
    model::requirement(c, id)
}

/// Enters one activity on a requirement, from a page or the API.
pub fn add_activity(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    input: &ActivityInput,
    via: EnteredVia,
) -> Result<Activity, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, l) = to_log(c, ctx, id)?;
    if input.kind == ActivityKind::CourtReview && l.kind != RequirementKind::Drr {
        let mut e = FieldErrors::new();
        e.add("kind", "Court reviews are for DRRs only");
        return Err(AppError::Validation(e));
    }
    let row = Activity {
        id: crate::ids::new_id(),
        linked_requirement_id: l.id.clone(),
        on_date: input.on_date,
        kind: input.kind,
        note: input.note.clone(),
        entered_by: viewer.user_id.clone(),
        entered_via: via,
        created_at: crate::clock::now(),
    };
    model::insert_activity(c, &row)?;
    let head = format!("{} on {}", row.kind.label(), format::date(row.on_date));
    record_event(
        c,
        viewer,
        &r.id,
        l.kind.activity_event(),
        if row.note.is_empty() {
            head
        } else {
            format!("{head}. {}", row.note)
        },
    )?;
    audit_change(
        c,
        actor,
        "linked.activity_added",
        &r.id,
        serde_json::json!({
            "linked_requirement": l.id,
            "activity": row.id,
            "kind": row.kind.as_str(),
            "via": via.as_str(),
        }),
    )?;
    Ok(row)
}

/// A requirement, its activity and what the viewer may do, for its page and the API.
#[derive(Debug, Clone)]
pub struct Details {
    pub referral: Referral,
    pub person_name: String,
    pub requirement: LinkedRequirement,
    pub activity: Vec<Activity>,
    /// Names of those who entered the activity, by user id.
    pub names: std::collections::BTreeMap<String, String>,
    pub can_change: bool,
    pub can_log: bool,
}

/// Reads a requirement, its referral opened through the reason gate, and records the view
/// with the reason given for looking at it.
pub fn details(c: &mut DbConn, ctx: &Ctx, id: &str) -> Result<Details, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, l, reason) = opened(c, ctx, id)?;
    let reason = reason.as_deref();
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Consultation, "linked.viewed")
            .record("referral", &r.id)
            .reason_if_any(reason)
            .details(serde_json::json!({ "linked_requirement": l.id })),
    )?;
    let activity = model::activity_of(c, &l.id)?;
    let mut names = std::collections::BTreeMap::new();
    for a in &activity {
        if !names.contains_key(&a.entered_by) {
            let n = referrals_model::user_name(c, &a.entered_by)?;
            names.insert(a.entered_by.clone(), n);
        }
    }
    let p = referrals_model::person(c, &r.person_id)?;
    Ok(Details {
        person_name: format!("{} {}", p.given_name, p.family_name),
        can_change: may_change(viewer, &r),
        can_log: may_log(viewer, &r),
        referral: r,
        requirement: l,
        activity,
        names,
    })
}

/// The court review dates of a DRR, earliest first, with whether each is still to come.
pub fn court_reviews(activity: &[Activity], today: NaiveDate) -> Vec<(NaiveDate, bool)> {
    let mut out: Vec<(NaiveDate, bool)> = activity
        .iter()
        .filter(|a| a.kind == ActivityKind::CourtReview)
        .map(|a| (a.on_date, a.on_date > today))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: RequirementKind, status: RequirementStatus, ran: bool) -> LinkedRequirement {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        LinkedRequirement {
            id: "x".into(),
            referral_id: "r".into(),
            kind,
            provider: "P".into(),
            treatment_director: "T".into(),
            key_contact: None,
            start_date: at.date(),
            end_date: at.date(),
            sequencing: Sequencing::Parallel,
            status,
            activated_at: ran.then_some(at),
            created_by: "u".into(),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn an_order_is_combined_with_the_requirements_that_ran() {
        use RequirementKind::*;
        use RequirementStatus::*;
        assert_eq!(combination(&[]), CombinedWith::None);
        assert_eq!(
            combination(&[req(Drr, Proposed, false), req(Atr, Revoked, false)]),
            CombinedWith::None,
            "proposed, or revoked before it ran"
        );
        assert_eq!(combination(&[req(Drr, Active, true)]), CombinedWith::Drr);
        assert_eq!(
            combination(&[req(Atr, Completed, true), req(Drr, Proposed, false)]),
            CombinedWith::Atr
        );
        assert_eq!(
            combination(&[req(Atr, Revoked, true), req(Drr, Completed, true)]),
            CombinedWith::DrrAndAtr,
            "revoked after it ran still counts"
        );
    }
}
