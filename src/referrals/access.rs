//! Who may look at a referral, and on what grounds: the scope chokepoint's companion for
//! the reason a clinical lead gives (DPA 2018 s.62) to look at a referral off their own
//! caseload. Every service entry point on a referral or on a record of one takes a
//! [`Ctx`] and opens the referral through [`Ctx::open`] before it reads or changes
//! anything, so no handler can forget the gate.

use diesel::prelude::*;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::error::AppError;
use crate::referrals::forms::AccessReason;
use crate::referrals::model::{self, Referral, Viewer};
use crate::users::model::Role;

/// Who is acting, as whom for the audit log, and on what grounds: the context of every
/// use case on a referral or on a record of one.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub viewer: Viewer,
    pub actor: Actor,
    pub grounds: Grounds,
}

impl Ctx {
    /// A context whose grounds hold from `since` and which brings no new reason: a page
    /// request (since the sign-in session began) or work the service does itself.
    pub fn new(viewer: Viewer, actor: Actor, since: chrono::NaiveDateTime) -> Ctx {
        Ctx {
            viewer,
            actor,
            grounds: Grounds { given: None, since },
        }
    }

    /// THE gate of every use case on referral `id` or on a record of it: the referral in
    /// scope (out of scope is not found), and the reason given for looking at it when it
    /// is off the viewer's caseload, or [`AppError::ReasonRequired`]. A reason the
    /// request brings is recorded first ([`looking_at`]). Call inside a write transaction.
    pub fn open(&self, c: &mut DbConn, id: &str) -> Result<(Referral, Option<String>), AppError> {
        looking_at(c, &self.viewer, &self.actor, id, &self.grounds)
    }

    /// [`Ctx::open`], then the caption of a page about the referral, recording the view
    /// (with its reason) before anything is shown.
    pub fn caption(&self, c: &mut DbConn, id: &str) -> Result<Caption, AppError> {
        let (r, reason) = self.open(c, id)?;
        caption(c, &self.actor, &r, reason.as_deref())
    }
}

/// Whether a referral is on the viewer's own caseload: one they made, hold as responsible
/// officer, assess or are allocated, or whose treatment they direct (named when the MHTR
/// was made); for a clinical lead, also one they have moved along the pathway, and one
/// waiting on the area's clinical leads
/// ([`awaits_clinical_lead`](crate::referrals::state::Status::awaits_clinical_lead)).
/// Clinical leads see every referral in their areas, but looking at one off their own
/// caseload needs a reason (DPA 2018 s.62), given once per sign-in session (or API token)
/// for each referral: see [`Ctx::open`].
fn on_caseload(c: &mut DbConn, viewer: &Viewer, r: &Referral) -> Result<bool, AppError> {
    if viewer.role != Role::ClinicalLead {
        return Ok(true);
    }
    // The area's queue is the leads' own work: whatever waits on them to screen, decide,
    // allocate or close.
    if r.status.awaits_clinical_lead() {
        return Ok(true);
    }
    let me = Some(viewer.user_id.as_str());
    if r.created_by == viewer.user_id
        || r.responsible_officer_id.as_deref() == me
        || r.assessor_id.as_deref() == me
        || r.allocated_ap_id.as_deref() == me
    {
        return Ok(true);
    }
    // Asked only of a clinical lead the referral names in no other way: one who has moved
    // it along (screened it, booked its assessment, allocated it) has it in their work.
    Ok(model::treatment_director(c, &r.id)?.as_deref() == me
        || model::has_acted_on(c, &r.id, &viewer.user_id)?)
}

/// The reason the user gave, since `since` (the start of their session, or the issue of
/// their API token), for looking at a referral off their caseload: the latest one.
fn access_reason(
    c: &mut DbConn,
    user_id: &str,
    referral_id: &str,
    since: chrono::NaiveDateTime,
) -> Result<Option<String>, AppError> {
    use crate::db::schema::audit_events as a;
    Ok(a::table
        .filter(a::actor_user_id.eq(user_id))
        .filter(a::event.eq(ACCESS_REASON_EVENT))
        .filter(a::record_type.eq("referral"))
        .filter(a::record_id.eq(referral_id))
        .filter(a::at.ge(since))
        .order(a::seq.desc())
        .select(a::reason)
        .first::<Option<String>>(c)
        .optional()?
        .flatten())
}

const ACCESS_REASON_EVENT: &str = "referral.access_reason";

/// The reason given since `since` for looking at `r`, which is off the viewer's caseload,
/// or [`AppError::ReasonRequired`].
fn reason_given(
    c: &mut DbConn,
    viewer: &Viewer,
    r: &Referral,
    since: chrono::NaiveDateTime,
) -> Result<String, AppError> {
    access_reason(c, &viewer.user_id, &r.id, since)?.ok_or_else(|| AppError::ReasonRequired {
        referral_id: r.id.clone(),
    })
}

/// What an API request brings towards looking at a referral off the caller's caseload:
/// the reason it sends (the `Access-Reason` header), and since when a reason given earlier
/// still holds (the bearer token's issue, as a page session's start does for the pages).
#[derive(Debug, Clone)]
pub struct Grounds {
    pub given: Option<AccessReason>,
    pub since: chrono::NaiveDateTime,
}

/// The chokepoint of every API call on a referral or on a record of one (a treatment
/// session, a linked requirement, a signposting: pass its referral's id), before anything
/// is read or changed: finds the referral in scope (out of scope is not found, as ever);
/// off the viewer's caseload, records the reason sent exactly as the reason page does
/// ([`give_access_reason`]; not again while the same reason stands), then applies
/// the reason rule. Returns the referral and the reason to put on the audit entry of
/// what is shown. Call inside a write transaction.
fn looking_at(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    id: &str,
    grounds: &Grounds,
) -> Result<(Referral, Option<String>), AppError> {
    let r = model::find(c, viewer, id)?;
    if on_caseload(c, viewer, &r)? {
        return Ok((r, None));
    }
    if let Some(given) = &grounds.given
        && access_reason(c, &viewer.user_id, &r.id, grounds.since)?.as_deref()
            != Some(given.as_str())
    {
        give_access_reason(c, viewer, actor, &r.id, given)?;
    }
    let reason = reason_given(c, viewer, &r, grounds.since)?;
    Ok((r, Some(reason)))
}

/// The caption of a page about a referral or a record of one: the referral's reference and
/// the person's name.
#[derive(Debug, Clone)]
pub struct Caption {
    pub referral_id: String,
    pub reference: String,
    pub person_name: String,
}

/// The caption of a form or page about referral `r`, which the page has opened
/// ([`Ctx::open`], giving `reason`) and found for the viewer's role: the view is recorded,
/// with the reason, before anything is shown. Call inside a write transaction.
pub fn caption(
    c: &mut DbConn,
    actor: &Actor,
    r: &Referral,
    reason: Option<&str>,
) -> Result<Caption, AppError> {
    let p = model::person(c, &r.person_id)?;
    audit::record(c, actor, view_event(&r.id, reason))?;
    Ok(Caption {
        referral_id: r.id.clone(),
        reference: r.reference.clone(),
        person_name: format!("{} {}", p.given_name, p.family_name),
    })
}

/// The audit entry of a view of referral `id`, with the reason given for it if any.
pub fn view_event<'a>(id: &'a str, reason: Option<&'a str>) -> Event<'a> {
    Event::new(AuditAction::Consultation, "referral.viewed")
        .record("referral", id)
        .reason_if_any(reason)
}

/// Records a view of some of referral `id`'s records (`event`, such as
/// `referral.sessions_viewed`), with the reason given for looking at it if any.
pub fn record_view(
    c: &mut DbConn,
    actor: &Actor,
    event: &str,
    id: &str,
    reason: Option<&str>,
) -> Result<(), AppError> {
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Consultation, event)
            .record("referral", id)
            .reason_if_any(reason),
    )
}

/// Records the reason for looking at a referral off one's caseload.
pub fn give_access_reason(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    id: &str,
    reason: &AccessReason,
) -> Result<(), AppError> {
    let referral = model::find(c, viewer, id)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Consultation, ACCESS_REASON_EVENT)
            .record("referral", &referral.id)
            .reason(reason.as_str()),
    )
}
