//! The rules of onward support, each change in one transaction: signposting a person to a
//! directory service, moving a signposting on, recording that no onward support is needed,
//! the practitioner's end-of-treatment summary, and (in [`crate::signposting::settled`]) the rule that a referral
//! closes only once onward support is settled. Every function finds the referral through
//! the referrals scope chokepoint first; changes are for its allocated assistant
//! psychologist or a clinical lead of its area, and the responsible officer may read.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::alteration as audit_change;
use crate::db::DbConn;
use crate::db::schema::{end_summaries, no_onward_support, referrals, signpostings};
use crate::error::{AppError, FieldErrors};
use crate::referrals::access::{Caption, Ctx, record_view};
use crate::referrals::model::{Purpose, Referral, Viewer, scoped};
use crate::referrals::state::Status;
use crate::sessions::codes::EventKind;
use crate::sessions::upkeep::record_event;
use crate::signposting::codes::SignpostStatus;
use crate::signposting::forms::{SignpostInput, StatusInput, UpdateInput};
use crate::signposting::model::{self, DirectoryService, EndSummary, NoOnwardSupport, Signposting};
use crate::signposting::summary::EndOfTreatment;
use crate::users::model::Role;
use crate::web::format;

const SUMMARY_AFTER_END: &str = "The end-of-treatment summary is written once treatment has ended";

pub const STALE_SIGNPOSTING: &str =
    "This signposting has changed since you opened it. Reload the page and try again";

/// The referral in scope, if the viewer may change its onward support (the same people who
/// manage its sessions).
pub fn referral_to_manage(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<Referral, AppError> {
    crate::sessions::service::referral_to_manage(c, ctx, referral_id)
}

/// A form on a referral's onward support: the referral, if the viewer may change it, and the
/// form's caption, the view recorded with its reason.
pub fn form_on_referral(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(Referral, Caption), AppError> {
    crate::sessions::service::form_on_referral(c, ctx, referral_id)
}

/// Whether the viewer may change a referral's onward support (it is in their scope).
pub fn can_manage(viewer: &Viewer, r: &Referral) -> bool {
    crate::sessions::upkeep::may_manage(viewer, r)
}

/// Onward support is arranged from allocation until the referral is closed.
pub fn open_for_signposting(r: &Referral) -> bool {
    matches!(
        r.status,
        Status::Allocated | Status::InTreatment | Status::Ended
    )
}

fn check_open(r: &Referral) -> Result<(), AppError> {
    if open_for_signposting(r) {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "Onward support cannot change when the referral is {}",
            r.status.label().to_lowercase()
        )))
    }
}

/// The services offered for a referral: active, and serving its area.
pub fn offered_services(c: &mut DbConn, r: &Referral) -> Result<Vec<DirectoryService>, AppError> {
    model::services_in(c, std::slice::from_ref(&r.area_id), true)
}

fn describe(service: &DirectoryService, s: &StatusInput) -> String {
    let mut text = format!(
        "{} ({}): {}",
        service.name,
        service.service_type.label(),
        s.status.label().to_lowercase()
    );
    if let Some(r) = &s.reason {
        text.push_str(&format!(". {r}"));
    }
    if let Some(d) = s.follow_up_on {
        text.push_str(&format!(". Follow up on {}", format::date(d)));
    }
    text
}

/// Signposts the person to a service offered for the referral's area.
pub fn signpost(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    input: &SignpostInput,
) -> Result<(Signposting, DirectoryService), AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let r = referral_to_manage(c, ctx, referral_id)?;
    check_open(&r)?;
    let service = offered_services(c, &r)?
        .into_iter()
        .find(|s| s.id == input.service_id)
        .ok_or_else(|| {
            AppError::Validation(FieldErrors::single(
                "service_id",
                "Select an active service that covers the person's area",
            ))
        })?;
    let now = crate::clock::now();
    let row = Signposting {
        id: crate::ids::new_id(),
        referral_id: r.id.clone(),
        service_id: service.id.clone(),
        signposted_on: input.signposted_on,
        status: input.status.status,
        reason: input.status.reason.clone(),
        follow_up_on: input.status.follow_up_on,
        version: 0,
        created_by: viewer.user_id.clone(),
        created_at: now,
        updated_by: viewer.user_id.clone(),
        updated_at: now,
    };
    diesel::insert_into(signpostings::table)
        .values(&row)
        .execute(c)?;
    crate::reports::upkeep::refresh(c, &r.id)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::SignpostingRecorded,
        false,
        describe(&service, &input.status),
    )?;
    audit_change(
        c,
        actor,
        "signposting.recorded",
        ("referral", &r.id),
        json!({ "signposting": row.id, "service": service.id, "status": row.status.as_str() }),
    )?;
    Ok((row, service))
}

/// A signposting in scope with its referral and service, if the viewer may change it.
pub fn signposting_to_manage(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
) -> Result<(Referral, Signposting, DirectoryService), AppError> {
    let s = model::signposting(c, id)?;
    let r = referral_to_manage(c, ctx, &s.referral_id)?;
    let service = model::service(c, &s.service_id)?;
    Ok((r, s, service))
}

/// A form on one signposting, as [`form_on_referral`]: its referral, the signposting, its
/// directory service and the form's caption.
pub fn form_on_signposting(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
) -> Result<(Referral, Signposting, DirectoryService, Caption), AppError> {
    let s = model::signposting(c, id)?;
    let (r, caption) = form_on_referral(c, ctx, &s.referral_id)?;
    let service = model::service(c, &s.service_id)?;
    Ok((r, s, service, caption))
}

/// The signpost form: its caption and the services offered for the referral's area.
pub fn signpost_form(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(Caption, Vec<DirectoryService>), AppError> {
    let (r, caption) = form_on_referral(c, ctx, referral_id)?;
    Ok((caption, offered_services(c, &r)?))
}

/// The "no onward support needed" form: its caption and what was recorded before, if any.
pub fn no_onward_form(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(Caption, Option<NoOnwardSupport>), AppError> {
    let (r, caption) = form_on_referral(c, ctx, referral_id)?;
    Ok((caption, model::no_onward_support_of(c, &r.id)?))
}

/// The end-of-treatment summary form, once treatment has ended: its caption and the summary
/// written before, if any.
pub fn summary_form(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<(Caption, Option<EndSummary>), AppError> {
    let (r, caption) = form_on_referral(c, ctx, referral_id)?;
    if !crate::signposting::summary::has_ended(&r) {
        return Err(AppError::Conflict(SUMMARY_AFTER_END.into()));
    }
    Ok((caption, model::end_summary_of(c, &r.id)?))
}

/// A signposting moved on from the update form's answers, which are read against the
/// signposting as stored (a follow-up date cannot come before it was signposted).
pub fn update_from_form(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    answers: &crate::form::RawForm,
) -> Result<(Signposting, DirectoryService), AppError> {
    let (_, s, _) = signposting_to_manage(c, ctx, id)?;
    let input = crate::signposting::forms::parse_update(answers, s.signposted_on)
        .map_err(AppError::Validation)?;
    update(c, ctx, id, &input)
}

/// Moves a signposting on: a referral made, accepted, declined, not needed, or a new
/// follow-up date.
pub fn update(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    input: &UpdateInput,
) -> Result<(Signposting, DirectoryService), AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let (r, s, service) = signposting_to_manage(c, ctx, id)?;
    check_open(&r)?;
    if s.version != input.version {
        return Err(AppError::Conflict(STALE_SIGNPOSTING.into()));
    }
    let changed = diesel::update(
        signpostings::table
            .filter(signpostings::id.eq(id))
            .filter(signpostings::version.eq(s.version)),
    )
    .set((
        signpostings::status.eq(input.status.status),
        signpostings::reason.eq(&input.status.reason),
        signpostings::follow_up_on.eq(input.status.follow_up_on),
        signpostings::version.eq(s.version + 1),
        signpostings::updated_by.eq(&viewer.user_id),
        signpostings::updated_at.eq(crate::clock::now()),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(STALE_SIGNPOSTING.into()));
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::SignpostingUpdated,
        false,
        describe(&service, &input.status),
    )?;
    audit_change(
        c,
        actor,
        "signposting.updated",
        ("referral", &r.id),
        json!({ "signposting": id, "from": s.status.as_str(), "to": input.status.status.as_str() }),
    )?;
    Ok((model::signposting(c, id)?, service))
}

/// Records (or restates) that the person needs no onward support, and why.
pub fn record_no_onward(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    reason: &str,
) -> Result<Onward, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let r = referral_to_manage(c, ctx, referral_id)?;
    check_open(&r)?;
    let row = NoOnwardSupport {
        referral_id: r.id.clone(),
        reason: reason.to_owned(),
        recorded_by: viewer.user_id.clone(),
        recorded_at: crate::clock::now(),
    };
    diesel::delete(no_onward_support::table.find(&r.id)).execute(c)?;
    diesel::insert_into(no_onward_support::table)
        .values(&row)
        .execute(c)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::NoOnwardSupport,
        false,
        reason.to_owned(),
    )?;
    audit_change(
        c,
        actor,
        "signposting.no_onward_support",
        ("referral", &r.id),
        json!({}),
    )?;
    onward(c, viewer, &r)
}

/// Writes or rewrites the practitioner's end-of-treatment summary for the responsible
/// officer, once treatment has ended.
pub fn write_summary(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    summary: &str,
    emails: Option<&crate::notifications::Emails>,
) -> Result<EndOfTreatment, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    let r = referral_to_manage(c, ctx, referral_id)?;
    if !crate::signposting::summary::has_ended(&r) {
        return Err(AppError::Conflict(SUMMARY_AFTER_END.into()));
    }
    let rewritten = model::end_summary_of(c, &r.id)?.is_some();
    diesel::delete(end_summaries::table.find(&r.id)).execute(c)?;
    diesel::insert_into(end_summaries::table)
        .values(EndSummary {
            referral_id: r.id.clone(),
            summary: summary.to_owned(),
            written_by: viewer.user_id.clone(),
            written_at: crate::clock::now(),
        })
        .execute(c)?;
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::EndSummaryWritten,
        false,
        if rewritten {
            format!("Summary changed: {summary}")
        } else {
            summary.to_owned()
        },
    )?;
    audit_change(
        c,
        actor,
        "signposting.end_summary",
        ("referral", &r.id),
        json!({ "rewritten": rewritten }),
    )?;
    if let Some(emails) = emails {
        crate::notifications::referrals::end_summary_written(c, emails, &r, rewritten)?;
    }
    crate::signposting::summary::end_of_treatment(c, &r)?
        .ok_or_else(|| AppError::Conflict(SUMMARY_AFTER_END.into()))
}

/// A referral's onward support, for the API: opened through the reason gate, the view
/// recorded.
pub fn view_onward(c: &mut DbConn, ctx: &Ctx, referral_id: &str) -> Result<Onward, AppError> {
    let (r, reason) = ctx.open(c, referral_id)?;
    record_view(
        c,
        &ctx.actor,
        "referral.signposting_viewed",
        &r.id,
        reason.as_deref(),
    )?;
    onward(c, &ctx.viewer, &r)
}

/// A referral's end-of-treatment summary, for the API, as [`view_onward`]; refused until
/// treatment has ended.
pub fn view_end_summary(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
) -> Result<EndOfTreatment, AppError> {
    let (r, reason) = ctx.open(c, referral_id)?;
    record_view(
        c,
        &ctx.actor,
        "referral.end_summary_viewed",
        &r.id,
        reason.as_deref(),
    )?;
    crate::signposting::summary::end_of_treatment(c, &r)?
        .ok_or_else(|| AppError::Conflict("Treatment has not ended".into()))?
        .for_viewer(c, &ctx.viewer, &r)
}

/// A referral's onward support, for its page and the API. The caller has found the
/// referral in scope.
#[derive(Debug, Clone, Default)]
pub struct Onward {
    pub signpostings: Vec<(Signposting, DirectoryService)>,
    pub no_onward: Option<NoOnwardSupport>,
    pub offered: Vec<DirectoryService>,
    pub can_manage: bool,
    pub open: bool,
}

pub fn onward(c: &mut DbConn, viewer: &Viewer, r: &Referral) -> Result<Onward, AppError> {
    let mut signposted = Vec::new();
    for s in model::signpostings_of(c, &r.id)? {
        let service = model::service(c, &s.service_id)?;
        signposted.push((s, service));
    }
    Ok(Onward {
        signpostings: signposted,
        no_onward: model::no_onward_support_of(c, &r.id)?,
        offered: offered_services(c, r)?,
        can_manage: can_manage(viewer, r),
        open: open_for_signposting(r),
    })
}

/// A follow-up that has come due.
#[derive(Debug, Clone)]
pub struct Due {
    pub signposting: Signposting,
    pub reference: String,
    pub service_name: String,
}

/// Signpostings awaiting an answer whose follow-up date is today or past: for an assistant
/// psychologist, on the referrals allocated to them; for a clinical lead, in their areas.
pub fn due(c: &mut DbConn, viewer: &Viewer, today: NaiveDate) -> Result<Vec<Due>, AppError> {
    if !matches!(
        viewer.role,
        Role::AssistantPsychologist | Role::ClinicalLead
    ) {
        return Ok(Vec::new());
    }
    let open: Vec<SignpostStatus> = SignpostStatus::ALL
        .iter()
        .copied()
        .filter(|s| !s.is_final())
        .collect();
    // The follow-ups due first, then which of them are in the viewer's scope: due follow-ups
    // are few beside the referrals in scope (a clinical lead's areas may hold a million),
    // and the scope is asked of their referrals a chunk at a time, so no query carries more
    // values than a database accepts.
    let due: Vec<(String, String)> = signpostings::table
        .filter(signpostings::status.eq_any(open))
        .filter(signpostings::follow_up_on.le(today))
        .order((signpostings::follow_up_on.asc(), signpostings::id.asc()))
        .select((signpostings::id, signpostings::referral_id))
        .load(c)?;
    let mut wanted_referrals: Vec<String> = due.iter().map(|d| d.1.clone()).collect();
    wanted_referrals.sort_unstable();
    wanted_referrals.dedup();
    let mut references: std::collections::BTreeMap<String, String> = Default::default();
    for chunk in wanted_referrals.chunks(500) {
        // IN lists, not `db::any_of`: its OR of equalities is for short lists.
        let mut q = scoped(viewer, Purpose::Casework).filter(referrals::id.eq_any(chunk.to_vec()));
        if viewer.role == Role::AssistantPsychologist {
            q = q.filter(referrals::allocated_ap_id.eq(viewer.user_id.clone()));
        }
        references.extend(
            q.select((referrals::id, referrals::reference))
                .load::<(String, String)>(c)?,
        );
    }
    let wanted: Vec<String> = due
        .into_iter()
        .filter(|(_, referral_id)| references.contains_key(referral_id))
        .map(|(id, _)| id)
        .take(model::MAX_SERVICES as usize)
        .collect();
    let mut rows: Vec<Signposting> = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(500) {
        rows.extend(
            signpostings::table
                .filter(signpostings::id.eq_any(chunk))
                .select(Signposting::as_select())
                .load::<Signposting>(c)?,
        );
    }
    let order: std::collections::HashMap<&str, usize> = wanted
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    rows.sort_by_key(|s| order.get(s.id.as_str()).copied());
    let mut out = Vec::new();
    for s in rows {
        let service_name = model::service(c, &s.service_id)?.name;
        out.push(Due {
            reference: references.get(&s.referral_id).cloned().unwrap_or_default(),
            service_name,
            signposting: s,
        });
    }
    Ok(out)
}

/// The referral's onward support and, once treatment has ended, its end-of-treatment
/// summary, for the referral page. The caller has found the referral in scope and recorded
/// the view.
pub fn referral_section(
    c: &mut DbConn,
    viewer: &Viewer,
    r: &Referral,
) -> Result<(Option<EndOfTreatment>, Onward), AppError> {
    if !crate::sessions::upkeep::follows_treatment(viewer.role) {
        return Ok((None, Onward::default()));
    }
    let end = match crate::signposting::summary::end_of_treatment(c, r)? {
        Some(e) => Some(e.for_viewer(c, viewer, r)?),
        None => None,
    };
    Ok((end, onward(c, viewer, r)?))
}
