//! Enforcement as probation does it (Sentencing Code sch. 10 paras 5–6). Every unacceptable
//! failure — an unacceptable absence, or attending and failing to comply — is reported to
//! the responsible officer at once and opens an enforcement review, which the officer
//! decides: a warning (dated), breach action (return to court) or no further action. A
//! failure within 12 months of a warning is flagged, because the law then asks for breach
//! action. An absence awaiting evidence has a last day; the responsible officer sees the days
//! left; the practitioner or the officer decides the evidence, and if the day passes with no
//! decision the hourly housekeeping makes the absence unacceptable and the usual escalation
//! runs.

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::{Actor, alteration as audit_change};
use crate::db::DbConn;
use crate::db::schema::{enforcement_reviews, referrals, treatment_sessions};
use crate::error::{AppError, FieldErrors};
use crate::notifications::Emails;
use crate::referrals::access::{Caption, Ctx};
use crate::referrals::model::{Referral, Viewer};
use crate::sessions::codes::*;
use crate::sessions::forms::{DecisionInput, EvidenceInput, WithdrawalInput};
use crate::sessions::model::{self, EnforcementReview, Session};
use crate::sessions::upkeep::{STALE_SESSION, may_manage, record_event, record_service_event};
use crate::users::model::Role;
use crate::web::format;

/// The latest last day for evidence: this many days after the day it is set.
pub const EVIDENCE_MAX_DAYS: i64 = 14;

/// The evidence deadlines passed over in one housekeeping run at most; the next run goes on.
const LAPSED_PER_RUN: i64 = 500;

/// What an unacceptable failure led to.
#[derive(Debug, Clone, Default)]
pub struct Escalated {
    /// A warning given within the 12 months before the failure: breach action is expected.
    pub after_warning: Option<NaiveDate>,
}

/// The day 12 months before `day` (the last day of the month where it has no such day).
fn year_before(day: NaiveDate) -> NaiveDate {
    day.checked_sub_months(Months::new(12)).unwrap_or(day)
}

/// "has until 12 March 2027, 3 days remaining" (as of `today`); "had until 2 March 2027" once
/// past.
pub fn countdown(due: NaiveDate, today: NaiveDate) -> String {
    let left = (due - today).num_days();
    match left {
        n if n < 0 => format!("had until {}", format::date(due)),
        0 => format!("has until {}, the last day", format::date(due)),
        1 => format!("has until {}, 1 day remaining", format::date(due)),
        n => format!("has until {}, {n} days remaining", format::date(due)),
    }
}

/// A last day for evidence set on `today` for a session on `session_day`: after the session
/// and no later than [`EVIDENCE_MAX_DAYS`] from today.
pub fn check_evidence_due(
    due: NaiveDate,
    session_day: NaiveDate,
    today: NaiveDate,
) -> Result<(), AppError> {
    let refuse = |m: String| {
        Err(AppError::Validation(FieldErrors::single(
            "evidence_due_date",
            m,
        )))
    };
    if due < today || due <= session_day {
        return refuse(format!(
            "The last day for evidence must be after the session and today or later (today is {})",
            format::date(today)
        ));
    }
    if (due - today).num_days() > EVIDENCE_MAX_DAYS {
        return refuse(format!(
            "The last day for evidence must be within {EVIDENCE_MAX_DAYS} days, by {}",
            format::date(today + chrono::TimeDelta::days(EVIDENCE_MAX_DAYS))
        ));
    }
    Ok(())
}

/// What follows an unacceptable failure at session `s` (already recorded as `outcome`): the
/// timeline, an enforcement review for the responsible officer (flagged when it follows a
/// warning given within 12 months), and the emails. `by` is who recorded it; `None` for the
/// service, when a deadline for evidence passed.
pub fn escalate(
    c: &mut DbConn,
    by: Option<&Viewer>,
    r: &Referral,
    s: &Session,
    outcome: Outcome,
    emails: Option<&Emails>,
) -> Result<Escalated, AppError> {
    let day = s.starts_at.date();
    let what = match outcome {
        Outcome::FailedToComply => format!(
            "Attended but failed to comply on {}, reported to the responsible officer",
            format::date(day)
        ),
        _ => format!(
            "Unacceptable absence on {}, reported to the responsible officer",
            format::date(day)
        ),
    };
    event(c, by, &r.id, EventKind::AbsenceNotified, what)?;
    let warning = model::warning_between(c, &r.id, year_before(day), day)?;
    let now = crate::clock::now();
    match model::review_of_session(c, &s.id)? {
        // Withdrawn (by the service when the attendance was corrected, or by the officer),
        // and now unacceptable again: reopened for a fresh decision.
        Some(v)
            if v.decision == Some(EnforcementDecision::Withdrawn) || v.withdrawn_at.is_some() =>
        {
            diesel::update(enforcement_reviews::table.find(&v.id))
                .set((
                    enforcement_reviews::after_warning_id.eq(warning.as_ref().map(|w| &w.id)),
                    enforcement_reviews::flagged_at.eq(now),
                    enforcement_reviews::decision.eq(None::<EnforcementDecision>),
                    enforcement_reviews::action_on.eq(None::<NaiveDate>),
                    enforcement_reviews::note.eq(None::<String>),
                    enforcement_reviews::decided_by.eq(None::<String>),
                    enforcement_reviews::decided_at.eq(None::<NaiveDateTime>),
                    enforcement_reviews::withdrawn_at.eq(None::<NaiveDateTime>),
                    enforcement_reviews::withdrawn_by.eq(None::<String>),
                    enforcement_reviews::withdrawn_reason.eq(None::<String>),
                ))
                .execute(c)?;
        }
        // Already decided: the decision stands.
        Some(_) => {}
        None => {
            diesel::insert_into(enforcement_reviews::table)
                .values(EnforcementReview {
                    id: crate::ids::new_id(),
                    referral_id: r.id.clone(),
                    area_id: r.area_id.clone(),
                    session_id: s.id.clone(),
                    earlier_session_id: None,
                    after_warning_id: warning.as_ref().map(|w| w.id.clone()),
                    flagged_at: now,
                    decision: None,
                    action_on: None,
                    note: None,
                    decided_by: None,
                    decided_at: None,
                    withdrawn_at: None,
                    withdrawn_by: None,
                    withdrawn_reason: None,
                })
                .execute(c)?;
        }
    }
    let after_warning = warning.and_then(|w| w.action_on);
    event(
        c,
        by,
        &r.id,
        EventKind::EnforcementFlagged,
        match after_warning {
            Some(w) => format!(
                "Within 12 months of the warning given on {}: breach action is expected (Sentencing Code sch. 10 para 6). For the responsible officer’s enforcement decision",
                format::date(w)
            ),
            None => {
                "For the responsible officer’s enforcement decision: a warning or breach action"
                    .into()
            }
        },
    )?;
    if let Some(emails) = emails {
        crate::notifications::sessions::absence(c, emails, r, day, outcome, after_warning)?;
    }
    Ok(Escalated { after_warning })
}

fn event(
    c: &mut DbConn,
    by: Option<&Viewer>,
    referral_id: &str,
    kind: EventKind,
    summary: String,
) -> Result<(), AppError> {
    match by {
        Some(v) => record_event(c, v, referral_id, kind, false, summary),
        None => record_service_event(c, referral_id, kind, summary),
    }
}

/// Whether the viewer is the referral's responsible officer (or, while it has none, the
/// probation officer who referred).
pub fn is_officer(viewer: &Viewer, r: &Referral) -> bool {
    viewer.role == Role::ProbationOfficer && r.holder() == viewer.user_id
}

/// Whether the viewer may decide the evidence for an absence: whoever manages the sessions,
/// or the responsible officer.
pub fn may_decide_evidence(viewer: &Viewer, r: &Referral) -> bool {
    may_manage(viewer, r) || is_officer(viewer, r)
}

/// The evidence for an absence awaiting it is decided: accepted (with the reason) or not, in
/// which case the absence is unacceptable and escalates. Returns the referral's id.
pub fn decide_evidence(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
    input: &EvidenceInput,
    emails: Option<&Emails>,
) -> Result<(String, Escalated), AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    crate::db::lock_audit_chain(c)?;
    let s = model::session(c, session_id)?;
    let (r, _) = ctx.open(c, &s.referral_id)?;
    if !may_decide_evidence(viewer, &r) {
        return Err(AppError::Forbidden);
    }
    if s.outcome != Some(Outcome::AwaitingEvidence) {
        return Err(AppError::Conflict(
            "This absence is no longer awaiting evidence".into(),
        ));
    }
    if s.version != input.version {
        return Err(AppError::Conflict(STALE_SESSION.into()));
    }
    let outcome = match input.accepted {
        Some(_) => Outcome::AcceptableAbsence,
        None => Outcome::UnacceptableAbsence,
    };
    let changed = diesel::update(
        treatment_sessions::table
            .find(&s.id)
            .filter(treatment_sessions::version.eq(s.version))
            .filter(treatment_sessions::outcome.eq(Outcome::AwaitingEvidence)),
    )
    .set((
        treatment_sessions::outcome.eq(outcome),
        treatment_sessions::absence_reason.eq(input.accepted),
        treatment_sessions::version.eq(s.version + 1),
        treatment_sessions::updated_at.eq(crate::clock::now()),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(STALE_SESSION.into()));
    }
    let day = format::date(s.starts_at.date());
    let mut summary = match input.accepted {
        Some(why) => format!(
            "Evidence accepted for the absence on {day}: acceptable absence ({})",
            why.label().to_lowercase()
        ),
        None => format!("No acceptable evidence for the absence on {day}: unacceptable absence"),
    };
    if let Some(n) = &input.note {
        summary.push_str(&format!(". {n}"));
    }
    record_event(c, viewer, &r.id, EventKind::EvidenceDecided, false, summary)?;
    audit_change(
        c,
        actor,
        "sessions.evidence_decided",
        ("session", &s.id),
        serde_json::json!({ "outcome": outcome.as_str() }),
    )?;
    let mut out = Escalated::default();
    if outcome.enforceable() {
        out = escalate(c, Some(viewer), &r, &s, outcome, emails)?;
    }
    crate::reports::upkeep::refresh(c, &r.id)?;
    Ok((r.id, out))
}

/// Absences whose last day for evidence is before `today` (UK date) become unacceptable and
/// escalate; how many. Each is claimed by a conditional update, so two instances running
/// housekeeping at once escalate it once.
pub fn lapse_overdue(c: &mut DbConn, emails: &Emails, today: NaiveDate) -> Result<usize, AppError> {
    let due: Vec<Session> = treatment_sessions::table
        .filter(treatment_sessions::outcome.eq(Outcome::AwaitingEvidence))
        .filter(treatment_sessions::evidence_due.lt(today))
        .order(treatment_sessions::evidence_due.asc())
        .limit(LAPSED_PER_RUN)
        .select(Session::as_select())
        .load(c)?;
    let mut lapsed = 0;
    for s in due {
        let claimed = diesel::update(
            treatment_sessions::table
                .find(&s.id)
                .filter(treatment_sessions::version.eq(s.version))
                .filter(treatment_sessions::outcome.eq(Outcome::AwaitingEvidence)),
        )
        .set((
            treatment_sessions::outcome.eq(Outcome::UnacceptableAbsence),
            treatment_sessions::version.eq(s.version + 1),
            treatment_sessions::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
        if claimed == 0 {
            continue;
        }
        let r: Referral = referrals::table
            .find(&s.referral_id)
            .select(Referral::as_select())
            .first(c)?;
        record_service_event(
            c,
            &r.id,
            EventKind::EvidenceLapsed,
            format!(
                "No evidence was decided for the absence on {} by its last day, {}: it is now an unacceptable absence",
                format::date(s.starts_at.date()),
                s.evidence_due.map(format::date).unwrap_or_default()
            ),
        )?;
        audit_change(
            c,
            &Actor::system("housekeeping"),
            "sessions.evidence_lapsed",
            ("session", &s.id),
            serde_json::json!({ "evidence_due": s.evidence_due }),
        )?;
        escalate(c, None, &r, &s, Outcome::UnacceptableAbsence, Some(emails))?;
        crate::reports::upkeep::refresh(c, &r.id)?;
        lapsed += 1;
    }
    Ok(lapsed)
}

/// What the decision form says of the failure under review.
#[derive(Debug, Clone)]
pub struct ReviewContext {
    /// "Unacceptable absence on 3 March 2027".
    pub failure: String,
    /// The day of a warning given in the 12 months before the failure.
    pub warning: Option<NaiveDate>,
    /// A message to the person about the session that did not reach them.
    pub reminder_failed: Option<String>,
}

/// The caption of the form on enforcement review `review_id`, its referral opened through
/// the reason gate and the view recorded; and what the review is about.
pub fn review_form(
    c: &mut DbConn,
    ctx: &Ctx,
    review_id: &str,
) -> Result<(Caption, ReviewContext), AppError> {
    let review = model::review(c, review_id)?;
    let caption = ctx.caption(c, &review.referral_id)?;
    let s = model::session(c, &review.session_id)?;
    let day = s.starts_at.date();
    let failure = match s.outcome {
        Some(Outcome::FailedToComply) => {
            format!("Attended but failed to comply on {}", format::date(day))
        }
        _ => format!("Unacceptable absence on {}", format::date(day)),
    };
    let warning = model::warning_between(c, &review.referral_id, year_before(day), day)?
        .filter(|w| w.id != review.id)
        .and_then(|w| w.action_on);
    let reminder_failed = crate::reminders::model::failed_warning(c, &s.id)?;
    Ok((
        caption,
        ReviewContext {
            failure,
            warning,
            reminder_failed,
        },
    ))
}

/// The form deciding the evidence for the absence at `session_id`: the session and the
/// caption, if the viewer may decide it and it still awaits evidence; the view recorded.
pub fn evidence_form(
    c: &mut DbConn,
    ctx: &Ctx,
    session_id: &str,
) -> Result<(Session, Caption), AppError> {
    let s = model::session(c, session_id)?;
    let (r, reason) = ctx.open(c, &s.referral_id)?;
    if !may_decide_evidence(&ctx.viewer, &r) {
        return Err(AppError::Forbidden);
    }
    if s.outcome != Some(Outcome::AwaitingEvidence) {
        return Err(AppError::Conflict(
            "This absence is no longer awaiting evidence".into(),
        ));
    }
    let caption = crate::referrals::access::caption(c, &ctx.actor, &r, reason.as_deref())?;
    Ok((s, caption))
}

/// The responsible officer records the decision on an unacceptable failure; returns the
/// referral's id and when. A warning or breach action carries its day, on or after the
/// failure and not in the future; a warning is refused where one was given in the 12 months
/// before the failure (the law then asks for breach action). The update itself checks the
/// review is still open, so two decisions at once cannot both land.
pub fn decide_review(
    c: &mut DbConn,
    ctx: &Ctx,
    review_id: &str,
    input: &DecisionInput,
) -> Result<(String, NaiveDateTime), AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    // The audit chain first, in the order every audited change takes its locks.
    crate::db::lock_audit_chain(c)?;
    let review = model::review(c, review_id)?;
    let (r, _) = ctx.open(c, &review.referral_id)?;
    if !is_officer(viewer, &r) {
        return Err(AppError::Forbidden);
    }
    let already = || AppError::Conflict("This review is already decided".into());
    if review.decided_at.is_some() {
        return Err(already());
    }
    let failure = model::session(c, &review.session_id)?;
    let day = failure.starts_at.date();
    if let Some(on) = input.action_on {
        let today = crate::clock::today();
        if on < day || on > today {
            return Err(AppError::Validation(FieldErrors::single(
                "action_date",
                format!(
                    "The date must be from {} (the day of the failure) to today",
                    format::date(day)
                ),
            )));
        }
    }
    if input.decision == EnforcementDecision::Warning
        && let Some(w) = model::warning_between(c, &r.id, year_before(day), day)?
            .filter(|w| w.id != review.id)
            .and_then(|w| w.action_on)
    {
        return Err(AppError::Validation(FieldErrors::single(
            "decision",
            format!(
                "A warning was given on {}, within the 12 months before this failure: the law asks for breach action now (Sentencing Code sch. 10 para 6)",
                format::date(w)
            ),
        )));
    }
    let now = crate::clock::now();
    let changed = diesel::update(
        enforcement_reviews::table
            .find(review_id)
            .filter(enforcement_reviews::decided_at.is_null()),
    )
    .set((
        enforcement_reviews::decision.eq(input.decision),
        enforcement_reviews::action_on.eq(input.action_on),
        enforcement_reviews::note.eq(&input.note),
        enforcement_reviews::decided_by.eq(&viewer.user_id),
        enforcement_reviews::decided_at.eq(now),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(already());
    }
    let mut summary = format!(
        "{} for the failure on {}",
        input.decision.label(),
        format::date(day)
    );
    if let Some(on) = input.action_on {
        summary.push_str(&format!(", on {}", format::date(on)));
    }
    if let Some(n) = &input.note {
        summary.push_str(&format!(". {n}"));
    }
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::EnforcementDecided,
        false,
        summary,
    )?;
    audit_change(
        c,
        actor,
        "sessions.enforcement_decided",
        ("referral", &r.id),
        serde_json::json!({ "decision": input.decision.as_str(), "action_on": input.action_on }),
    )?;
    Ok((r.id, now))
}

/// What a correction did to the enforcement of the failure it removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withdrawal {
    /// The open review of it was withdrawn.
    pub withdrawn: bool,
    /// The officer had already decided it (a warning or breach action): the decision stands,
    /// as it is theirs, and the timeline says its failure is no longer recorded. In words,
    /// "The warning given on 3 March 2027".
    pub decision_stands: Option<String>,
}

/// A correction made the failure at `session_id` no longer one: its open review is
/// withdrawn; a decided one stands, for the officer to revisit, and the timeline says so.
pub fn withdraw_review(
    c: &mut DbConn,
    viewer: &Viewer,
    r: &Referral,
    session_id: &str,
) -> Result<Withdrawal, AppError> {
    let changed = diesel::update(
        enforcement_reviews::table
            .filter(enforcement_reviews::session_id.eq(session_id))
            .filter(enforcement_reviews::decided_at.is_null()),
    )
    .set((
        enforcement_reviews::decision.eq(EnforcementDecision::Withdrawn),
        enforcement_reviews::decided_by.eq(&viewer.user_id),
        enforcement_reviews::decided_at.eq(crate::clock::now()),
    ))
    .execute(c)?;
    if changed > 0 {
        record_event(
            c,
            viewer,
            &r.id,
            EventKind::EnforcementDecided,
            false,
            "Enforcement review withdrawn: the attendance was corrected".into(),
        )?;
    }
    let decided: Option<(Option<EnforcementDecision>, Option<NaiveDate>)> =
        enforcement_reviews::table
            .filter(enforcement_reviews::session_id.eq(session_id))
            .filter(
                enforcement_reviews::decision
                    .eq_any([EnforcementDecision::Warning, EnforcementDecision::Breach]),
            )
            .select((
                enforcement_reviews::decision,
                enforcement_reviews::action_on,
            ))
            .first(c)
            .optional()?;
    let decision_stands = decided.map(|(decision, on)| decision_in_words(decision, on));
    if let Some(what) = &decision_stands {
        record_event(
            c,
            viewer,
            &r.id,
            EventKind::EnforcementDecided,
            false,
            format!(
                "{what} for this failure stands: it is the responsible officer’s decision. The attendance was corrected, so the failure behind it is no longer recorded; the officer may withdraw it"
            ),
        )?;
    }
    Ok(Withdrawal {
        withdrawn: changed > 0,
        decision_stands,
    })
}

/// "The warning given on 3 March 2027", "The breach action started on 3 March 2027".
fn decision_in_words(decision: Option<EnforcementDecision>, on: Option<NaiveDate>) -> String {
    let (what, verb) = match decision {
        Some(EnforcementDecision::Breach) => ("The breach action", "started"),
        _ => ("The warning", "given"),
    };
    match on {
        Some(on) => format!("{what} {verb} on {}", format::date(on)),
        None => what.to_owned(),
    }
}

/// Whether `review` holds a warning or breach action not already withdrawn, which the
/// responsible officer may withdraw.
pub fn withdrawable(review: &EnforcementReview) -> bool {
    review.withdrawn_at.is_none()
        && matches!(
            review.decision,
            Some(EnforcementDecision::Warning | EnforcementDecision::Breach)
        )
}

/// What the form withdrawing a decision says of it.
#[derive(Debug, Clone)]
pub struct WithdrawalContext {
    /// "The warning given on 3 March 2027".
    pub decision: String,
    /// "Unacceptable absence on 1 March 2027".
    pub failure: String,
    /// The failure is no longer recorded: the attendance was corrected to this (lower case).
    pub corrected_to: Option<String>,
    /// Reviews of later failures flagged because of this warning.
    pub later_flagged: usize,
}

/// The form withdrawing the decision of review `review_id`: its caption, opened through the
/// reason gate with the view recorded, and what it is about; only for the responsible
/// officer, and only while there is a warning or breach action to withdraw.
pub fn withdrawal_form(
    c: &mut DbConn,
    ctx: &Ctx,
    review_id: &str,
) -> Result<(Caption, WithdrawalContext), AppError> {
    let (review, r, reason) = open_withdrawable(c, ctx, review_id)?;
    let caption = crate::referrals::access::caption(c, &ctx.actor, &r, reason.as_deref())?;
    let s = model::session(c, &review.session_id)?;
    let day = format::date(s.starts_at.date());
    let failure = match s.outcome {
        Some(Outcome::FailedToComply) => format!("Attended but failed to comply on {day}"),
        Some(o) if o.enforceable() => format!("Unacceptable absence on {day}"),
        _ => format!("The failure on {day}"),
    };
    let corrected_to = s
        .outcome
        .filter(|o| !o.enforceable())
        .map(|o| o.label().to_lowercase());
    let later_flagged = later_flagged(c, &review)?.len();
    Ok((
        caption,
        WithdrawalContext {
            decision: decision_in_words(review.decision, review.action_on),
            failure,
            corrected_to,
            later_flagged,
        },
    ))
}

/// Review `review_id` and its referral, opened through the reason gate, for its responsible
/// officer while it holds a warning or breach action to withdraw; with the reason given.
fn open_withdrawable(
    c: &mut DbConn,
    ctx: &Ctx,
    review_id: &str,
) -> Result<(EnforcementReview, Referral, Option<String>), AppError> {
    let review = model::review(c, review_id)?;
    let (r, reason) = ctx.open(c, &review.referral_id)?;
    if !is_officer(&ctx.viewer, &r) {
        return Err(AppError::Forbidden);
    }
    if !withdrawable(&review) {
        return Err(AppError::Conflict(if review.withdrawn_at.is_some() {
            "This decision is already withdrawn".into()
        } else {
            "Only a warning or breach action can be withdrawn".into()
        }));
    }
    Ok((review, r, reason))
}

/// The open reviews of later failures flagged because they followed the warning of `review`.
fn later_flagged(
    c: &mut DbConn,
    review: &EnforcementReview,
) -> Result<Vec<EnforcementReview>, AppError> {
    Ok(enforcement_reviews::table
        .filter(enforcement_reviews::after_warning_id.eq(&review.id))
        .filter(enforcement_reviews::decided_at.is_null())
        .select(EnforcementReview::as_select())
        .load(c)?)
}

/// What withdrawing a decision did.
#[derive(Debug, Clone)]
pub struct DecisionWithdrawn {
    pub referral_id: String,
    pub at: NaiveDateTime,
    /// Open reviews of later failures that no longer follow a warning within 12 months.
    pub unflagged: usize,
}

/// The responsible officer withdraws the warning or breach action they recorded, with the
/// reason: the decision is kept with who withdrew it, when and why, a withdrawn warning no
/// longer counts for the 12 months, and the open reviews of later failures flagged because of
/// it are flagged afresh (after an earlier warning, or not at all). The update itself checks
/// it is not already withdrawn, so two withdrawals at once land once.
pub fn withdraw_decision(
    c: &mut DbConn,
    ctx: &Ctx,
    review_id: &str,
    input: &WithdrawalInput,
) -> Result<DecisionWithdrawn, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    crate::db::lock_audit_chain(c)?;
    let (review, r, _) = open_withdrawable(c, ctx, review_id)?;
    let now = crate::clock::now();
    let changed = diesel::update(
        enforcement_reviews::table
            .find(review_id)
            .filter(enforcement_reviews::withdrawn_at.is_null())
            .filter(
                enforcement_reviews::decision
                    .eq_any([EnforcementDecision::Warning, EnforcementDecision::Breach]),
            ),
    )
    .set((
        enforcement_reviews::withdrawn_at.eq(now),
        enforcement_reviews::withdrawn_by.eq(&viewer.user_id),
        enforcement_reviews::withdrawn_reason.eq(&input.reason),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(
            "This decision is already withdrawn".into(),
        ));
    }
    let s = model::session(c, &review.session_id)?;
    let what = decision_in_words(review.decision, review.action_on);
    let mut summary = format!(
        "{what} for the failure on {} is withdrawn by the responsible officer: {}",
        format::date(s.starts_at.date()),
        input.reason
    );
    if review.decision == Some(EnforcementDecision::Warning) {
        summary.push_str(". It no longer counts for the 12 months");
    }
    record_event(
        c,
        viewer,
        &r.id,
        EventKind::EnforcementWithdrawn,
        false,
        summary,
    )?;
    let mut unflagged = 0;
    for later in later_flagged(c, &review)? {
        let day = model::session(c, &later.session_id)?.starts_at.date();
        let earlier =
            model::warning_between(c, &r.id, year_before(day), day)?.filter(|w| w.id != later.id);
        diesel::update(enforcement_reviews::table.find(&later.id))
            .set(enforcement_reviews::after_warning_id.eq(earlier.as_ref().map(|w| &w.id)))
            .execute(c)?;
        let text = match earlier.and_then(|w| w.action_on) {
            Some(on) => format!(
                "The failure on {} still follows a warning within 12 months, the one given on {}: breach action is still expected",
                format::date(day),
                format::date(on)
            ),
            None => {
                unflagged += 1;
                format!(
                    "The failure on {} no longer follows a warning within 12 months: the responsible officer decides a warning or breach action",
                    format::date(day)
                )
            }
        };
        record_event(c, viewer, &r.id, EventKind::EnforcementFlagged, false, text)?;
    }
    audit_change(
        c,
        actor,
        "sessions.enforcement_withdrawn",
        ("referral", &r.id),
        serde_json::json!({
            "review": review.id,
            "decision": review.decision.map(|d| d.as_str()),
            "action_on": review.action_on,
            "unflagged": unflagged,
        }),
    )?;
    Ok(DecisionWithdrawn {
        referral_id: r.id,
        at: now,
        unflagged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_countdown_says_the_days_left() {
        let due = d(2027, 3, 12);
        assert_eq!(
            countdown(due, d(2027, 3, 9)),
            "has until 12 March 2027, 3 days remaining"
        );
        assert_eq!(
            countdown(due, d(2027, 3, 11)),
            "has until 12 March 2027, 1 day remaining"
        );
        assert_eq!(countdown(due, due), "has until 12 March 2027, the last day");
        assert_eq!(countdown(due, d(2027, 3, 13)), "had until 12 March 2027");
    }

    #[test]
    fn twelve_months_back_is_the_same_day_a_year_before() {
        assert_eq!(year_before(d(2027, 3, 12)), d(2026, 3, 12));
        // 29 February has no day a year before: the end of February.
        assert_eq!(year_before(d(2028, 2, 29)), d(2027, 2, 28));
    }

    #[test]
    fn the_last_day_for_evidence_is_after_the_session_and_within_two_weeks() {
        let today = d(2027, 3, 10);
        let session = d(2027, 3, 9);
        assert!(check_evidence_due(d(2027, 3, 10), session, today).is_ok());
        assert!(check_evidence_due(d(2027, 3, 24), session, today).is_ok());
        assert!(check_evidence_due(d(2027, 3, 25), session, today).is_err());
        assert!(check_evidence_due(d(2027, 3, 9), session, today).is_err());
        // Recorded on the session's own day: the deadline is after it.
        assert!(check_evidence_due(d(2027, 3, 9), session, session).is_err());
    }
}
