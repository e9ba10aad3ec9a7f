//! The treatment sessions JSON API: the same service, scope, rules and messages as the pages.
//! Bodies are typed for the OpenAPI document, then read through the pages' form parsers
//! (`RawForm::from_json`), so a mistake gets the same message on either side.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, AppError, ErrorBody, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::{Ctx, Grounds};
use crate::referrals::model::Viewer;
use crate::sessions::codes::Outcome;
use crate::sessions::enforcement;
use crate::sessions::forms;
use crate::sessions::measures::Instrument;
use crate::sessions::model::{self, Session};
use crate::sessions::service::{self, Replacement, Treatment};
use crate::state::State;

/// Local (UK wall-clock) date and time as the API writes it.
fn local(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M").to_string()
}

fn utc(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanJson {
    /// `weekly` or `fortnightly`.
    pub cadence: String,
    pub minutes: i32,
    /// `in_person`, `phone` or `video`.
    pub mode: String,
    pub location: Option<String>,
    /// How many sessions the plan is to deliver.
    pub target: i32,
    /// When outcome measures are taken: `every_session` or `start_end`.
    pub measures: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionJson {
    pub id: String,
    /// Its place among the live (booked or recorded) sessions, from 1; null once moved or
    /// cancelled, or when it did not happen for the service's own reasons (its replacement
    /// takes the number).
    pub number: Option<i64>,
    /// UK wall-clock time, `YYYY-MM-DDTHH:MM`.
    pub starts_at: String,
    pub minutes: i32,
    pub mode: String,
    pub location: Option<String>,
    /// `booked`, `recorded`, `cancelled` or `superseded` (shown as Rescheduled).
    pub status: String,
    /// In the national probation vocabulary: `attended`, `attended_late` (both complied),
    /// `attended_failed_to_comply`, `acceptable_absence`, `awaiting_evidence`,
    /// `unacceptable_absence`, or `service_logistics`.
    pub outcome: Option<String>,
    /// Why an acceptable absence was accepted: `medical`, `employment`, `court_or_legal`,
    /// `family`, `religious` or `other`.
    pub absence_reason: Option<String>,
    /// The last day for evidence of an absence awaiting it, `YYYY-MM-DD`.
    pub evidence_due: Option<String>,
    /// While awaiting evidence: the days left to give it, counting today (0 on the last day).
    pub evidence_days_remaining: Option<i64>,
    /// Send it back with a change; a change made meanwhile is refused with 409.
    pub version: i64,
    pub summary_for_ro: Option<String>,
    /// Clinical roles only: absent for others.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub engagement_notes: Option<Option<String>>,
    /// Who asked for a move or cancellation: `person_on_probation` or `service`.
    pub change_party: Option<String>,
    pub change_reason: Option<String>,
    pub cancel_reason: Option<String>,
    /// The appointment this one was moved from.
    pub replaces_id: Option<String>,
    /// The appointment the service could not hold that this one makes up for.
    pub added_for_id: Option<String>,
    /// The person's confirmations and reminders about it, in the order they are due.
    pub reminders: Vec<crate::reminders::model::ReminderLine>,
}

/// Every appointment of a referral as JSON, numbered as the referral page numbers them.
fn sessions_json(
    all: &[Session],
    clinical: bool,
    reminders: &std::collections::BTreeMap<String, Vec<crate::reminders::model::ReminderLine>>,
) -> Vec<SessionJson> {
    let numbers = crate::sessions::views::numbers(all);
    all.iter()
        .map(|s| SessionJson {
            id: s.id.clone(),
            number: numbers.get(&s.id).map(|&n| n as i64),
            starts_at: local(s.starts_at),
            minutes: s.minutes,
            mode: s.mode.as_str().into(),
            location: s.location.clone(),
            status: s.status.as_str().into(),
            outcome: s.outcome.map(|o| o.as_str().into()),
            absence_reason: s.absence_reason.map(|r| r.as_str().into()),
            evidence_due: s.evidence_due.map(|d| d.to_string()),
            evidence_days_remaining: s
                .evidence_due
                .filter(|_| s.outcome == Some(Outcome::AwaitingEvidence))
                .map(|d| (d - crate::sessions::service::local_now().date()).num_days()),
            version: s.version,
            summary_for_ro: s.summary_for_ro.clone(),
            engagement_notes: clinical.then(|| s.engagement_notes.clone()),
            change_party: s.change_party.map(|p| p.as_str().into()),
            change_reason: s.change_reason.clone(),
            cancel_reason: s.cancel_reason.map(|r| r.as_str().into()),
            replaces_id: s.replaces_id.clone(),
            added_for_id: s.added_for_id.clone(),
            reminders: reminders.get(&s.id).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The named appointments of a referral, read back after a change so they carry their
/// numbers, in the order named.
fn reload(
    c: &mut crate::db::DbConn,
    viewer: &Viewer,
    referral_id: &str,
    ids: &[&str],
) -> Result<Vec<SessionJson>, AppError> {
    let all = sessions_json(
        &model::sessions_of(c, referral_id)?,
        service::sees_clinical(viewer.role),
        &crate::reminders::model::of_referral(c, referral_id)?,
    );
    Ok(ids
        .iter()
        .filter_map(|id| all.iter().find(|s| s.id == *id).cloned())
        .collect())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureJson {
    pub id: String,
    pub session_id: String,
    /// `phq9`, `gad7` or `core10`.
    pub instrument: String,
    /// `first`, `mid` or `last`.
    pub stage: String,
    pub total: i32,
    pub severity: String,
    /// A risk item was answered above zero.
    pub risk: bool,
}

impl From<&model::Measure> for MeasureJson {
    fn from(m: &model::Measure) -> Self {
        MeasureJson {
            id: m.id.clone(),
            session_id: m.session_id.clone(),
            instrument: m.instrument.as_str().into(),
            stage: m.stage.as_str().into(),
            total: m.total,
            severity: m.instrument.severity(m.total.max(0) as u32).into(),
            risk: m.risk,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RiskAlertJson {
    pub id: String,
    pub measure_id: String,
    /// UTC.
    pub raised_at: String,
    /// `risk_item` (the item about ending one's life or self-harm answered above zero) or
    /// `reliable_deterioration` (the total rose by the instrument's reliable change since the
    /// first session, during treatment).
    pub kind: String,
    /// What raised it: the measure, the question, the answer and its score, the total.
    pub context: String,
    /// What a clinical lead does next.
    pub next_step: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportJson {
    pub id: String,
    pub kind: String,
    pub note: String,
    /// UTC.
    pub written_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnforcementReviewJson {
    pub id: String,
    /// The unacceptable failure (absence or failure to comply) the review is about.
    pub session_id: String,
    /// Reviews flagged under the earlier rule: the first of two absences within 12 months.
    pub earlier_session_id: Option<String>,
    /// The review whose warning, given within the 12 months before this failure, makes
    /// breach action the expected decision.
    pub after_warning_id: Option<String>,
    /// UTC.
    pub flagged_at: String,
    /// `warning`, `breach` or `no_action`; `withdrawn` when the attendance was corrected;
    /// null until decided.
    pub decision: Option<String>,
    /// The day the warning was given or breach action started, `YYYY-MM-DD`.
    pub action_on: Option<String>,
    pub note: Option<String>,
    pub decided_at: Option<String>,
    /// UTC: when the responsible officer withdrew the warning or breach action (a withdrawn
    /// warning no longer counts for the 12 months); null if not withdrawn.
    pub withdrawn_at: Option<String>,
    /// Why it was withdrawn; null once the record's personal data is erased.
    pub withdrawal_reason: Option<String>,
}

/// A recorded attendance corrected, with what it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionJson {
    pub id: String,
    pub session_id: String,
    pub old_outcome: String,
    pub old_absence_reason: Option<String>,
    pub new_outcome: String,
    pub new_absence_reason: Option<String>,
    /// Why; null once the record's personal data is erased.
    pub reason: Option<String>,
    pub corrected_by: String,
    /// UTC.
    pub corrected_at: String,
}

impl From<&model::Correction> for CorrectionJson {
    fn from(k: &model::Correction) -> Self {
        CorrectionJson {
            id: k.id.clone(),
            session_id: k.session_id.clone(),
            old_outcome: k.old_outcome.as_str().into(),
            old_absence_reason: k.old_absence_reason.map(|r| r.as_str().into()),
            new_outcome: k.new_outcome.as_str().into(),
            new_absence_reason: k.new_absence_reason.map(|r| r.as_str().into()),
            reason: k.reason.clone(),
            corrected_by: k.corrected_by.clone(),
            corrected_at: utc(k.corrected_at),
        }
    }
}

/// A referral's treatment as the viewer may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TreatmentJson {
    pub referral_id: String,
    pub plan: Option<PlanJson>,
    /// Every appointment in time order, moved and cancelled ones included.
    pub sessions: Vec<SessionJson>,
    /// Clinical roles only: absent for others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measures: Option<Vec<MeasureJson>>,
    /// Risk alerts not yet acknowledged. Clinical roles only: absent for others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_alerts: Option<Vec<RiskAlertJson>>,
    pub reports: Vec<ReportJson>,
    pub enforcement_reviews: Vec<EnforcementReviewJson>,
    /// Corrections of recorded attendances, oldest first.
    pub attendance_corrections: Vec<CorrectionJson>,
    /// Whether you may change the sessions.
    pub can_manage: bool,
}

impl TreatmentJson {
    fn new(referral_id: String, t: &Treatment, clinical: bool) -> Self {
        TreatmentJson {
            referral_id,
            plan: t.plan.as_ref().map(|p| PlanJson {
                cadence: p.cadence.as_str().into(),
                minutes: p.minutes,
                mode: p.mode.as_str().into(),
                location: p.location.clone(),
                target: p.target_sessions,
                measures: p.measures.as_str().into(),
            }),
            sessions: sessions_json(&t.sessions, clinical, &t.reminders),
            measures: clinical.then(|| t.measures.iter().map(MeasureJson::from).collect()),
            risk_alerts: clinical.then(|| {
                t.alerts
                    .iter()
                    .filter(|a| a.acknowledged_at.is_none())
                    .map(|a| RiskAlertJson {
                        id: a.id.clone(),
                        measure_id: a.measure_id.clone(),
                        raised_at: utc(a.raised_at),
                        kind: a.kind.as_str().to_owned(),
                        context: t
                            .measures
                            .iter()
                            .find(|m| m.id == a.measure_id)
                            .map(model::Measure::alert_context)
                            .unwrap_or_default(),
                        next_step: model::ALERT_NEXT_STEP,
                    })
                    .collect()
            }),
            reports: t
                .reports
                .iter()
                .map(|r| ReportJson {
                    id: r.id.clone(),
                    kind: r.kind.as_str().into(),
                    note: r.note.clone(),
                    written_at: utc(r.written_at),
                })
                .collect(),
            enforcement_reviews: t
                .reviews
                .iter()
                .map(|v| EnforcementReviewJson {
                    id: v.id.clone(),
                    session_id: v.session_id.clone(),
                    earlier_session_id: v.earlier_session_id.clone(),
                    after_warning_id: v.after_warning_id.clone(),
                    flagged_at: utc(v.flagged_at),
                    decision: v.decision.map(|d| d.as_str().into()),
                    action_on: v.action_on.map(|d| d.to_string()),
                    note: v.note.clone(),
                    decided_at: v.decided_at.map(utc),
                    withdrawn_at: v.withdrawn_at.map(utc),
                    withdrawal_reason: v.withdrawn_reason.clone(),
                })
                .collect(),
            attendance_corrections: t.corrections.iter().map(CorrectionJson::from).collect(),
            can_manage: t.can_manage,
        }
    }
}

/// A referral's treatment: plan, appointments, reports and enforcement reviews; measures and
/// open risk alerts for clinical roles. The view is recorded in the audit log, with the
/// reason for it when a clinical lead looks at a referral off their own caseload.
#[utoipa::path(
    get, path = "/api/v1/referrals/{id}/sessions", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    responses(
        (status = 200, description = "The referral's treatment", body = TreatmentJson),
        (status = 403, description = "Your role has no referrals, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 422, description = "Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn list(state: State, ctx: Ctx, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let clinical = service::sees_clinical(ctx.viewer.role);
    let (rid, t) = state
        .db
        .write(move |c| service::view_treatment(c, &ctx, &id))
        .await?;
    Ok(HttpResponse::Ok().json(TreatmentJson::new(rid, &t, clinical)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanRequest {
    /// `YYYY-MM-DD`, in the future.
    pub first_date: String,
    /// `HH:MM` on the 24-hour clock, on the quarter hour.
    pub first_time: String,
    /// `weekly` or `fortnightly`.
    pub cadence: String,
    /// 15 to 180 in steps of 5; 50 when not given.
    pub minutes: Option<u32>,
    /// `in_person`, `phone` or `video`.
    pub mode: String,
    /// Required in person.
    pub location: Option<String>,
    /// When outcome measures are taken: `every_session` (when not given) or `start_end`.
    pub measures: Option<String>,
    /// Only say which dates the plan would book; nothing is saved.
    pub preview: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsJson {
    pub sessions: Vec<SessionJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanPreview {
    /// UK wall-clock times, `YYYY-MM-DDTHH:MM`.
    pub dates: Vec<String>,
}

/// Make the 12-session plan, booking every appointment or none. With `"preview": true`, say
/// which dates it would book and save nothing.
#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/sessions/plan", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = PlanRequest,
    responses(
        (status = 201, description = "Plan made: its appointments", body = SessionsJson),
        (status = 200, description = "Preview: the dates it would book", body = PlanPreview),
        (status = 403, description = "You do not manage this referral's sessions, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "Not possible at this step, already planned, or the diary changed meanwhile", body = ErrorBody),
        (status = 422, description = "Invalid fields, or no plan fits (the message says why)", body = ErrorBody),
    )
)]
pub async fn plan(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<PlanRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let input = forms::parse_plan(&RawForm::from_body(&body)?, service::local_now())
        .map_err(AppError::Validation)?;
    if body.preview == Some(true) {
        // A write transaction: a reason sent with the preview is recorded.
        let dates = state
            .db
            .write(move |c| service::preview_plan(c, &ctx, &id, &input))
            .await?;
        return Ok(HttpResponse::Ok().json(PlanPreview {
            dates: dates.into_iter().map(local).collect(),
        }));
    }
    let emails = state.emails.clone();
    let sessions = state
        .db
        .write(move |c| {
            let made = service::make_plan(c, &ctx, &id, &input, Some(&emails))?;
            let ids: Vec<&str> = made.iter().map(|s| s.id.as_str()).collect();
            reload(c, &ctx.viewer, &id, &ids)
        })
        .await?;
    Ok(HttpResponse::Created().json(SessionsJson { sessions }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddRequest {
    /// `YYYY-MM-DD`, in the future.
    pub new_date: String,
    /// `HH:MM` on the quarter hour.
    pub new_time: String,
}

/// Add one appointment to a referral's plan, with the plan's length, mode and place.
#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/sessions", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = AddRequest,
    responses(
        (status = 201, description = "Added", body = SessionJson),
        (status = 403, description = "You do not manage this referral's sessions, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "No plan, not in treatment, or the time was taken meanwhile", body = ErrorBody),
        (status = 422, description = "Invalid or unavailable time", body = ErrorBody),
    )
)]
pub async fn add(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<AddRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let at = forms::parse_add(
        &RawForm::from_body(&body.into_inner())?,
        service::local_now(),
    )
    .map_err(AppError::Validation)?;
    let emails = state.emails.clone();
    let mut s = state
        .db
        .write(move |c| {
            let s = service::add_session(c, &ctx, &id, at, Some(&emails))?;
            reload(c, &ctx.viewer, &id, &[&s.id])
        })
        .await?;
    let s = s
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("added session not read back")))?;
    Ok(HttpResponse::Created().json(s))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MoveRequest {
    /// The appointment's `version` as you read it.
    pub version: i64,
    /// `YYYY-MM-DD`, in the future.
    pub new_date: String,
    /// `HH:MM` on the quarter hour.
    pub new_time: String,
    /// Who asked: `person_on_probation` or `service`.
    pub party: String,
    pub reason: String,
    /// Move this and every booked appointment after it, keeping the plan's cadence.
    pub all_remaining: Option<bool>,
}

/// Move an appointment (or it and all after it). The old ones are kept as rescheduled, with
/// who asked and why, and each new one names the one it replaces.
#[utoipa::path(
    post, path = "/api/v1/sessions/{id}/reschedule", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), Grounds),
    request_body = MoveRequest,
    responses(
        (status = 200, description = "The new appointments", body = SessionsJson),
        (status = 403, description = "You do not manage this referral's sessions, or `reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such session in your scope", body = ErrorBody),
        (status = 409, description = "Changed since you read it, or cannot change now", body = ErrorBody),
        (status = 422, description = "Invalid or unavailable time, or Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn reschedule(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<MoveRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let input = forms::parse_move(&RawForm::from_body(&body)?, service::local_now())
        .map_err(AppError::Validation)?;
    let all = body.all_remaining == Some(true);
    let emails = state.emails.clone();
    let sessions = state
        .db
        .write(move |c| {
            let made = if all {
                service::shift_remaining(c, &ctx, &id, &input, Some(&emails))?
            } else {
                vec![service::reschedule(c, &ctx, &id, &input, Some(&emails))?]
            };
            let Some(first) = made.first() else {
                return Ok(Vec::new());
            };
            let ids: Vec<&str> = made.iter().map(|s| s.id.as_str()).collect();
            reload(c, &ctx.viewer, &first.referral_id, &ids)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SessionsJson { sessions }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CancelRequest {
    pub version: i64,
    /// `person_request`, `person_unwell`, `person_in_custody`, `practitioner_unavailable`,
    /// `premises_unavailable` or `booked_in_error`.
    pub cancel_reason: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelledJson {
    pub cancelled: SessionJson,
    /// The appointment added at the end when the service could not hold this one.
    pub replacement: Option<SessionJson>,
    /// Why no replacement could be booked, when one was needed.
    pub replacement_not_possible: Option<String>,
}

fn split(r: &Replacement) -> (Option<&str>, Option<String>) {
    match r {
        Replacement::NotNeeded => (None, None),
        Replacement::Booked(s) => (Some(s.id.as_str()), None),
        Replacement::NotPossible(why) => (None, Some(why.clone())),
    }
}

/// Cancel an appointment with a coded reason. One the service cancels is replaced at the end
/// of the plan.
#[utoipa::path(
    post, path = "/api/v1/sessions/{id}/cancel", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), Grounds),
    request_body = CancelRequest,
    responses(
        (status = 200, description = "Cancelled, with any replacement", body = CancelledJson),
        (status = 403, description = "You do not manage this referral's sessions, or `reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such session in your scope", body = ErrorBody),
        (status = 409, description = "Changed since you read it, or cannot change now", body = ErrorBody),
        (status = 422, description = "Invalid fields, or Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn cancel(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<CancelRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = forms::parse_cancel(&RawForm::from_body(&body.into_inner())?)
        .map_err(AppError::Validation)?;
    let emails = state.emails.clone();
    let out = state
        .db
        .write(move |c| {
            let replacement = service::cancel(c, &ctx, &id, &input, Some(&emails))?;
            let s = model::session(c, &id)?;
            let (new_id, not_possible) = split(&replacement);
            let mut ids = vec![id.as_str()];
            ids.extend(new_id);
            let mut found = reload(c, &ctx.viewer, &s.referral_id, &ids)?.into_iter();
            let cancelled = found.next().ok_or(AppError::NotFound)?;
            Ok(CancelledJson {
                cancelled,
                replacement: found.next(),
                replacement_not_possible: not_possible,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttendanceRequest {
    pub version: i64,
    /// Whether the session took place.
    pub happened: bool,
    /// When it happened: `attended` or `attended_late` (complied), or
    /// `attended_failed_to_comply`.
    pub attendance: Option<String>,
    /// When it did not: `acceptable_absence`, `awaiting_evidence`, `unacceptable_absence` or
    /// `service_logistics`.
    pub not_happened_reason: Option<String>,
    /// For an acceptable absence: `medical`, `employment`, `court_or_legal`, `family`,
    /// `religious` or `other`.
    #[serde(default)]
    pub absence_reason: Option<String>,
    /// For an absence awaiting evidence: the last day for it, `YYYY-MM-DD`, after the session,
    /// today or later and within 14 days.
    #[serde(default)]
    pub evidence_due_date: Option<String>,
    pub engagement_notes: Option<String>,
    pub summary_for_ro: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedJson {
    pub session: SessionJson,
    /// Sessions attended so far, and how many the plan is to deliver.
    pub attended: i64,
    pub target: i64,
    /// This was the first attended session: treatment has started.
    pub started: bool,
    /// This completed the plan: treatment has ended.
    pub ended: bool,
    /// An unacceptable failure (absence or failure to comply), reported to the responsible
    /// officer for an enforcement decision.
    pub absence_reported: bool,
    /// The failure follows a warning given within 12 months: breach action is expected.
    pub enforcement_flagged: bool,
    /// The day of that warning, `YYYY-MM-DD`.
    pub after_warning: Option<String>,
    /// Recorded as awaiting evidence until this day, `YYYY-MM-DD`.
    pub evidence_due: Option<String>,
    /// Added when the service could not hold the session.
    pub replacement: Option<SessionJson>,
    pub replacement_not_possible: Option<String>,
}

/// Record what happened at a session, on its day or after.
#[utoipa::path(
    post, path = "/api/v1/sessions/{id}/attendance", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), Grounds),
    request_body = AttendanceRequest,
    responses(
        (status = 200, description = "Recorded, and what followed", body = RecordedJson),
        (status = 403, description = "You do not manage this referral's sessions, or `reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such session in your scope", body = ErrorBody),
        (status = 409, description = "Changed since you read it, or cannot change now", body = ErrorBody),
        (status = 422, description = "Invalid fields, the session is still to come, or Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn attendance(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<AttendanceRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = forms::parse_attendance(&RawForm::from_body(&body.into_inner())?)
        .map_err(AppError::Validation)?;
    let emails = state.emails.clone();
    let out = state
        .db
        .write(move |c| {
            let rec = service::record_attendance(c, &ctx, &id, &input, Some(&emails))?;
            let s = model::session(c, &id)?;
            let (new_id, not_possible) =
                rec.replacement.as_ref().map(split).unwrap_or((None, None));
            let mut ids = vec![id.as_str()];
            ids.extend(new_id);
            let mut found = reload(c, &ctx.viewer, &s.referral_id, &ids)?.into_iter();
            let session = found.next().ok_or(AppError::NotFound)?;
            Ok(RecordedJson {
                session,
                attended: rec.attended,
                target: rec.target,
                started: rec.started,
                ended: rec.ended,
                absence_reported: rec.absence_reported,
                enforcement_flagged: rec.enforcement_flagged,
                after_warning: rec.after_warning.map(|d| d.to_string()),
                evidence_due: rec.evidence_due.map(|d| d.to_string()),
                replacement: found.next(),
                replacement_not_possible: not_possible,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MeasureRequest {
    /// `phq9`, `gad7` or `core10`.
    pub instrument: String,
    /// `first`, `mid` or `last`.
    pub stage: String,
    /// The answer to each question in order, each within the instrument's range. A wrong
    /// answer is reported against its question as `q1`, `q2`, …
    pub answers: Vec<i64>,
}

/// Record an outcome measure taken at an attended session. A risk item answered above zero
/// alerts the area's clinical leads at once.
#[utoipa::path(
    post, path = "/api/v1/sessions/{id}/measures", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), Grounds),
    request_body = MeasureRequest,
    responses(
        (status = 201, description = "Recorded", body = MeasureJson),
        (status = 403, description = "You do not manage this referral's sessions, or `reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such session in your scope", body = ErrorBody),
        (status = 409, description = "Not an attended session, or already recorded", body = ErrorBody),
        (status = 422, description = "Invalid answers, each against its question, or Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn measure(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<MeasureRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let instrument: Instrument = body.instrument.parse().map_err(|_| {
        AppError::Validation(FieldErrors::single(
            "instrument",
            "Select a questionnaire from the list",
        ))
    })?;
    if body.answers.len() > instrument.questions().len() {
        return Err(AppError::Validation(FieldErrors::single(
            "answers",
            format!(
                "The {} has {} questions",
                instrument.label(),
                instrument.questions().len()
            ),
        ))
        .into());
    }
    let mut raw = RawForm::default();
    raw.set("stage", body.stage);
    for (i, a) in body.answers.iter().enumerate() {
        raw.set(&forms::answer_field(i + 1), a.to_string());
    }
    let input = forms::parse_measure(&raw, instrument).map_err(AppError::Validation)?;
    let emails = state.emails.clone();
    let m = state
        .db
        .write(move |c| service::record_measure(c, &ctx, &id, &input, Some(&emails)))
        .await?;
    Ok(HttpResponse::Created().json(MeasureJson::from(&m)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportRequest {
    /// What is reported, as the Sentencing Act's grounds for a report: `continue_beyond`,
    /// `change`, `not_susceptible`, `no_further_treatment` or `unwilling`.
    pub kind: String,
    /// The report for the responsible officer (up to 4,000 characters).
    pub note: String,
}

/// Report to the responsible officer during or at the end of treatment: on the referral's
/// timeline, and emailed to the officer.
#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/practitioner-reports", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = ReportRequest,
    responses(
        (status = 201, description = "Sent", body = ReportJson),
        (status = 403, description = "You do not treat this referral, or `reason_required`: it is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "Not during or at the end of treatment", body = ErrorBody),
        (status = 422, description = "Invalid fields, or Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn report(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let raw = RawForm::from_body(&serde_json::json!({ "kind": body.kind, "note": body.note }))?;
    let input = forms::parse_report(&raw).map_err(AppError::Validation)?;
    let emails = state.emails.clone();
    let r = state
        .db
        .write(move |c| service::send_report(c, &ctx, &id, &input, Some(&emails)))
        .await?;
    Ok(HttpResponse::Created().json(ReportJson {
        id: r.id,
        kind: r.kind.as_str().into(),
        note: r.note,
        written_at: utc(r.written_at),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcknowledgeRequest {
    /// What was done about the alert (up to 2,000 characters).
    pub action_taken: String,
}

/// What was recorded: the referral, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoneJson {
    pub id: String,
    pub referral_id: String,
    /// UTC.
    pub at: String,
}

/// A clinical lead records what was done about a risk alert. Only the first of two
/// acknowledgements at once is kept; the other is told it is already acknowledged.
#[utoipa::path(
    post, path = "/api/v1/risk-alerts/{id}/acknowledge", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Risk alert id"), Grounds),
    request_body = AcknowledgeRequest,
    responses(
        (status = 200, description = "Acknowledged", body = DoneJson),
        (status = 403, description = "Only clinical leads acknowledge, or `reason_required`: its referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such alert in your scope", body = ErrorBody),
        (status = 409, description = "Already acknowledged", body = ErrorBody),
        (status = 422, description = "Invalid fields, or Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn acknowledge(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<AcknowledgeRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let raw = RawForm::from_body(&serde_json::json!({ "action_taken": body.action_taken }))?;
    let note = forms::parse_acknowledgement(&raw).map_err(AppError::Validation)?;
    let aid = id.clone();
    let (referral_id, at) = state
        .db
        .write(move |c| service::acknowledge_alert(c, &ctx, &aid, &note))
        .await?;
    Ok(HttpResponse::Ok().json(DoneJson {
        id,
        referral_id,
        at: utc(at),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionRequest {
    /// `warning`, `breach` or `no_action`. A warning is refused where one was given in the
    /// 12 months before the failure: the law then asks for breach action.
    pub decision: String,
    /// For a warning, the day it was given; for breach action, the day it started
    /// (`YYYY-MM-DD`, from the day of the failure to today).
    #[serde(default)]
    pub action_date: Option<String>,
    /// Optional, up to 2,000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// The responsible officer records the enforcement decision on an unacceptable failure. Only
/// the first of two decisions at once is kept.
#[utoipa::path(
    post, path = "/api/v1/enforcement-reviews/{id}/decision", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Enforcement review id"), Grounds),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Decided", body = DoneJson),
        (status = 403, description = "Only the referral's responsible officer decides", body = ErrorBody),
        (status = 404, description = "No such review in your scope", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn decide(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let raw = RawForm::from_body(&serde_json::json!({
        "decision": body.decision,
        "action_date": body.action_date,
        "note": body.note.clone().unwrap_or_default(),
    }))?;
    let input = forms::parse_decision(&raw).map_err(AppError::Validation)?;
    let rid = id.clone();
    let (referral_id, at) = state
        .db
        .write(move |c| enforcement::decide_review(c, &ctx, &rid, &input))
        .await?;
    Ok(HttpResponse::Ok().json(DoneJson {
        id,
        referral_id,
        at: utc(at),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WithdrawalRequest {
    /// Why the warning or breach action is withdrawn, up to 2,000 characters (for example,
    /// that the attendance behind it was corrected).
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawnJson {
    pub id: String,
    pub referral_id: String,
    /// UTC.
    pub at: String,
    /// Open reviews of later failures that no longer follow a warning within 12 months.
    pub unflagged: usize,
}

/// The responsible officer withdraws the warning or breach action they recorded, with the
/// reason. The decision is kept with who withdrew it and why; a withdrawn warning no longer
/// counts for the 12 months, and open reviews flagged because of it are flagged afresh. Only
/// the first of two withdrawals at once lands.
#[utoipa::path(
    post, path = "/api/v1/enforcement-reviews/{id}/withdrawal", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Enforcement review id"), Grounds),
    request_body = WithdrawalRequest,
    responses(
        (status = 200, description = "Withdrawn", body = WithdrawnJson),
        (status = 403, description = "Only the referral's responsible officer withdraws it", body = ErrorBody),
        (status = 404, description = "No such review in your scope", body = ErrorBody),
        (status = 409, description = "Already withdrawn, or not a warning or breach action", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn withdraw(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<WithdrawalRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let raw = RawForm::from_body(&serde_json::json!({ "reason": body.reason }))?;
    let input = forms::parse_withdrawal(&raw).map_err(AppError::Validation)?;
    let rid = id.clone();
    let done = state
        .db
        .write(move |c| enforcement::withdraw_decision(c, &ctx, &rid, &input))
        .await?;
    Ok(HttpResponse::Ok().json(WithdrawnJson {
        id,
        referral_id: done.referral_id,
        at: utc(done.at),
        unflagged: done.unflagged,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CorrectionRequest {
    pub version: i64,
    /// As in recording attendance: what the session should have been recorded as.
    pub happened: bool,
    pub attendance: Option<String>,
    pub not_happened_reason: Option<String>,
    #[serde(default)]
    pub absence_reason: Option<String>,
    #[serde(default)]
    pub evidence_due_date: Option<String>,
    /// Why it is corrected, up to 1,000 characters. The responsible officer sees it.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectedJson {
    pub session: SessionJson,
    pub attended: i64,
    pub target: i64,
    /// An open enforcement review of the old failure was withdrawn.
    pub review_withdrawn: bool,
    /// A warning or breach action already decided for the old failure, which stands (it is
    /// the responsible officer's decision), in words; null when there was none.
    pub decision_stands: Option<String>,
    /// The correction made it an unacceptable failure: reported for an enforcement decision.
    pub absence_reported: bool,
    /// The responsible officer, who had been told of the old value, was emailed the
    /// correction.
    pub officer_told: bool,
    /// The correction made the session one the service could not hold: its replacement.
    pub replacement: Option<SessionJson>,
    pub replacement_not_possible: Option<String>,
    /// The correction showed the session was held: the appointment added in its place was
    /// cancelled.
    pub replacement_cancelled: bool,
}

/// Correct a recorded attendance: its author or a clinical lead, with the reason. The old
/// value is kept; what the new value means follows (an unacceptable failure is reported, an
/// open enforcement review of a failure no longer one is withdrawn), and the responsible
/// officer is emailed if they had been told the old value. Once treatment has ended, a
/// correction may not change whether the session counts as attended.
#[utoipa::path(
    post, path = "/api/v1/sessions/{id}/correction", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), Grounds),
    request_body = CorrectionRequest,
    responses(
        (status = 200, description = "Corrected, and what followed", body = CorrectedJson),
        (status = 403, description = "Neither its author nor a clinical lead, or `reason_required`", body = ErrorBody),
        (status = 404, description = "No such session in your scope", body = ErrorBody),
        (status = 409, description = "Not recorded, changed since you read it, or treatment has ended", body = ErrorBody),
        (status = 422, description = "Invalid fields, or the same as recorded", body = ErrorBody),
    )
)]
pub async fn correct(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<CorrectionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = forms::parse_correction(&RawForm::from_body(&body.into_inner())?)
        .map_err(AppError::Validation)?;
    let emails = state.emails.clone();
    let out = state
        .db
        .write(move |c| {
            let k = service::correct_attendance(c, &ctx, &id, &input, Some(&emails))?;
            let rec = &k.recorded;
            let (new_id, not_possible) =
                rec.replacement.as_ref().map(split).unwrap_or((None, None));
            let mut ids = vec![id.as_str()];
            ids.extend(new_id);
            let mut found = reload(c, &ctx.viewer, &k.referral_id, &ids)?.into_iter();
            let session = found.next().ok_or(AppError::NotFound)?;
            Ok(CorrectedJson {
                session,
                attended: rec.attended,
                target: rec.target,
                review_withdrawn: k.review_withdrawn,
                decision_stands: k.decision_stands.clone(),
                absence_reported: rec.absence_reported,
                officer_told: k.officer_told,
                replacement: found.next(),
                replacement_not_possible: not_possible,
                replacement_cancelled: rec.replacement_cancelled,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// One version of a session's notes.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteVersionJson {
    pub version: i32,
    /// Null once the record's personal data is erased.
    pub body: Option<String>,
    pub written_by: String,
    /// UTC.
    pub written_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotesJson {
    pub session_id: String,
    /// The latest version (0 before any): send it back as `after` with a new one.
    pub current_version: i32,
    /// Oldest first.
    pub versions: Vec<NoteVersionJson>,
    /// Whether you may write a new version.
    pub can_write: bool,
}

/// A recorded session's notes, every version with who and when: clinical roles only. The
/// view is recorded.
#[utoipa::path(
    get, path = "/api/v1/sessions/{id}/notes", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), Grounds),
    responses(
        (status = 200, description = "The notes", body = NotesJson),
        (status = 403, description = "Not a clinical role, or `reason_required`", body = ErrorBody),
        (status = 404, description = "No such session in your scope", body = ErrorBody),
        (status = 409, description = "The session is not recorded yet", body = ErrorBody),
    )
)]
pub async fn notes(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (n, _) = state
        .db
        .write(move |c| crate::sessions::notes::view(c, &ctx, &id))
        .await?;
    Ok(HttpResponse::Ok().json(NotesJson {
        session_id: n.session.id.clone(),
        current_version: n.current(),
        can_write: n.can_write,
        versions: n
            .versions
            .iter()
            .map(|v| NoteVersionJson {
                version: v.version,
                body: v.body.clone(),
                written_by: v.written_by.clone(),
                written_at: utc(v.written_at),
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotesRequest {
    /// The version you read (`current_version`; 0 when there were none).
    pub after: i32,
    /// The whole new text, up to 4,000 characters.
    pub notes: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteWrittenJson {
    pub session_id: String,
    pub version: i32,
}

/// Write a new version of a recorded session's notes: the allocated assistant psychologist
/// or a clinical lead. Written on an old version, it is refused (409) so nothing read is
/// overwritten unseen.
#[utoipa::path(
    post, path = "/api/v1/sessions/{id}/notes", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), Grounds),
    request_body = NotesRequest,
    responses(
        (status = 201, description = "Saved as a new version", body = NoteWrittenJson),
        (status = 403, description = "You do not manage this referral's sessions, or `reason_required`", body = ErrorBody),
        (status = 404, description = "No such session in your scope", body = ErrorBody),
        (status = 409, description = "A newer version was written since yours, or the session is not recorded", body = ErrorBody),
        (status = 422, description = "No notes, too long, or the same as the current version", body = ErrorBody),
    )
)]
pub async fn write_notes(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<NotesRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = forms::parse_notes(&RawForm::from_body(&body.into_inner())?)
        .map_err(AppError::Validation)?;
    let sid = id.clone();
    let version = state
        .db
        .write(move |c| crate::sessions::notes::write(c, &ctx, &sid, input.after, &input.body))
        .await?;
    Ok(HttpResponse::Created().json(NoteWrittenJson {
        session_id: id,
        version,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EvidenceRequest {
    pub version: i64,
    /// `accepted` (the absence is acceptable) or `not_accepted` (it is unacceptable, and
    /// reported for an enforcement decision).
    pub evidence: String,
    /// When accepted: `medical`, `employment`, `court_or_legal`, `family`, `religious` or
    /// `other`.
    #[serde(default)]
    pub absence_reason: Option<String>,
    /// Optional, up to 1,000 characters. The responsible officer sees it.
    #[serde(default)]
    pub note: Option<String>,
}

/// Decide the evidence for an absence awaiting it: the practitioner, a clinical lead or the
/// responsible officer. Not accepted makes the absence unacceptable, reported for an
/// enforcement decision.
#[utoipa::path(
    post, path = "/api/v1/sessions/{id}/evidence", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id"), Grounds),
    request_body = EvidenceRequest,
    responses(
        (status = 200, description = "Decided", body = RecordedJson),
        (status = 403, description = "Not the practitioner, a clinical lead or the responsible officer, or `reason_required`", body = ErrorBody),
        (status = 404, description = "No such session in your scope", body = ErrorBody),
        (status = 409, description = "Not awaiting evidence, or changed since you read it", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn evidence(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<EvidenceRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let input = forms::parse_evidence(&RawForm::from_body(&body.into_inner())?)
        .map_err(AppError::Validation)?;
    let emails = state.emails.clone();
    let out = state
        .db
        .write(move |c| {
            let (referral_id, e) =
                enforcement::decide_evidence(c, &ctx, &id, &input, Some(&emails))?;
            let attended = crate::sessions::upkeep::attended_count(c, &referral_id)?;
            let target = crate::sessions::upkeep::planned_count(c, &referral_id)?;
            let session = reload(c, &ctx.viewer, &referral_id, &[id.as_str()])?
                .into_iter()
                .next()
                .ok_or(AppError::NotFound)?;
            Ok(RecordedJson {
                absence_reported: session.outcome.as_deref()
                    == Some(Outcome::UnacceptableAbsence.as_str()),
                session,
                attended,
                target,
                started: false,
                ended: false,
                enforcement_flagged: e.after_warning.is_some(),
                after_warning: e.after_warning.map(|d| d.to_string()),
                evidence_due: None,
                replacement: None,
                replacement_not_possible: None,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The week's work: an assistant psychologist's own, a clinical lead's team's. Each list is
/// oldest first and bounded at 50 (`more` says when there are more). Recorded in the audit
/// log as a view.
#[utoipa::path(
    get, path = "/api/v1/worklist", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The worklist", body = crate::sessions::worklist::Worklist),
        (status = 403, description = "Only assistant psychologists and clinical leads have one", body = ErrorBody),
    )
)]
pub async fn worklist(state: State, ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let list = state
        .db
        .write(move |c| {
            crate::sessions::worklist::worklist(c, &ctx.viewer, &ctx.actor, service::local_now())
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeaveJson {
    pub id: String,
    pub user_id: String,
    /// `YYYY-MM-DD`.
    pub starts_on: String,
    pub ends_on: String,
    pub note: Option<String>,
    pub cancelled: bool,
    /// The sessions booked during it, still to arrange.
    pub sessions: Vec<SessionJson>,
}

fn leave_json(
    c: &mut crate::db::DbConn,
    viewer: &Viewer,
    l: &crate::sessions::leave::Leave,
    touched: &[crate::sessions::leave::Touched],
) -> Result<LeaveJson, AppError> {
    let mut sessions = Vec::new();
    for t in touched {
        sessions.extend(reload(
            c,
            viewer,
            &t.session.referral_id,
            &[t.session.id.as_str()],
        )?);
    }
    Ok(LeaveJson {
        id: l.id.clone(),
        user_id: l.user_id.clone(),
        starts_on: l.starts_on.to_string(),
        ends_on: l.ends_on.to_string(),
        note: l.note.clone(),
        cancelled: l.cancelled_at.is_some(),
        sessions,
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeaveRequest {
    /// The assistant psychologist away; your own id when left out. A clinical lead names one
    /// of their areas' assistant psychologists.
    #[serde(default)]
    pub user_id: Option<String>,
    /// First and last days, `YYYY-MM-DD`, a year or less apart.
    pub starts_date: String,
    pub ends_date: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Record leave: no sessions can be booked on its days; the ones booked are listed.
#[utoipa::path(
    post, path = "/api/v1/leave", tag = "sessions",
    security(("bearer" = [])),
    request_body = LeaveRequest,
    responses(
        (status = 201, description = "Recorded, with the sessions booked during it", body = LeaveJson),
        (status = 403, description = "Only assistant psychologists and clinical leads record leave", body = ErrorBody),
        (status = 422, description = "Invalid dates, overlapping leave, or not a practitioner in your areas", body = ErrorBody),
    )
)]
pub async fn record_leave(
    state: State,
    ctx: Ctx,
    body: web::Json<LeaveRequest>,
) -> Result<HttpResponse, ApiError> {
    let me = ctx.viewer.user_id.clone();
    let input = forms::parse_leave(&RawForm::from_body(&body.into_inner())?, &me)
        .map_err(AppError::Validation)?;
    let out = state
        .db
        .write(move |c| {
            let (l, touched) = crate::sessions::leave::record(c, &ctx, &input)?;
            leave_json(c, &ctx.viewer, &l, &touched)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// The leave you may manage that has not ended: your own, or your team's.
#[utoipa::path(
    get, path = "/api/v1/leave", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Leave now and to come, without its sessions", body = Vec<LeaveJson>),
        (status = 403, description = "Only assistant psychologists and clinical leads", body = ErrorBody),
    )
)]
pub async fn list_leave(state: State, ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let out = state
        .db
        .read(move |c| {
            let rows = crate::sessions::leave::current(c, &ctx, service::local_now().date())?;
            rows.iter()
                .map(|(l, _)| leave_json(c, &ctx.viewer, l, &[]))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// One period of leave with the sessions booked during it.
#[utoipa::path(
    get, path = "/api/v1/leave/{id}", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Leave id")),
    responses(
        (status = 200, description = "The leave and its sessions", body = LeaveJson),
        (status = 404, description = "No such leave you may manage", body = ErrorBody),
    )
)]
pub async fn show_leave(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let out = state
        .db
        .read(move |c| {
            let (l, touched) = crate::sessions::leave::view(c, &ctx, &id)?;
            leave_json(c, &ctx.viewer, &l, &touched)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArrangementRequest {
    pub session_id: String,
    pub version: i64,
    /// `move` (with `new_date` and `new_time`), `cancel`, or `cover` (with `cover_by`).
    pub action: String,
    #[serde(default)]
    pub new_date: Option<String>,
    #[serde(default)]
    pub new_time: Option<String>,
    /// For `cover`: the user id of the assistant psychologist who takes the session.
    #[serde(default)]
    pub cover_by: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArrangementsRequest {
    pub arrangements: Vec<ArrangementRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArrangedJson {
    pub moved: usize,
    pub cancelled: usize,
    pub covered: usize,
}

/// Arrange the sessions booked during leave in one go: each moved, cancelled (a
/// replacement follows) or covered by another assistant psychologist of its area. All land, or none: a refusal is named as `session_<id>`.
#[utoipa::path(
    post, path = "/api/v1/leave/{id}/arrangements", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Leave id"), Grounds),
    request_body = ArrangementsRequest,
    responses(
        (status = 200, description = "Arranged", body = ArrangedJson),
        (status = 404, description = "No such leave you may manage", body = ErrorBody),
        (status = 422, description = "A session could not be arranged: nothing changed", body = ErrorBody),
    )
)]
pub async fn arrange_leave(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<ArrangementsRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut raw = RawForm::default();
    let mut listed = Vec::new();
    for a in &body.arrangements {
        listed.push(a.session_id.clone());
        raw.set(&format!("version_{}", a.session_id), a.version.to_string());
        raw.set(&format!("what_{}", a.session_id), a.action.clone());
        let date = a.new_date.clone().unwrap_or_default();
        let parts: Vec<&str> = date.split('-').collect();
        if let [y, m, d] = parts.as_slice() {
            raw.set(&format!("date_{}_day", a.session_id), (*d).to_owned());
            raw.set(&format!("date_{}_month", a.session_id), (*m).to_owned());
            raw.set(&format!("date_{}_year", a.session_id), (*y).to_owned());
        }
        raw.set(
            &format!("time_{}", a.session_id),
            a.new_time.clone().unwrap_or_default(),
        );
        if let Some(by) = &a.cover_by {
            raw.set(&format!("cover_{}", a.session_id), by.clone());
        }
        if !matches!(a.action.as_str(), "move" | "cancel" | "cover") {
            return Err(AppError::Validation(FieldErrors::single(
                &format!("session_{}", a.session_id),
                "The action is move, cancel or cover",
            ))
            .into());
        }
    }
    raw.set_all("session", listed);
    let items = forms::parse_arrangements(&raw).map_err(AppError::Validation)?;
    let emails = state.emails.clone();
    let done = state
        .db
        .write(move |c| crate::sessions::leave::arrange(c, &ctx, &id, &items, Some(&emails)))
        .await?;
    Ok(HttpResponse::Ok().json(ArrangedJson {
        moved: done.moved,
        cancelled: done.cancelled,
        covered: done.covered,
    }))
}

/// Cancel leave: its days are bookable again.
#[utoipa::path(
    post, path = "/api/v1/leave/{id}/cancel", tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Leave id")),
    responses(
        (status = 200, description = "Cancelled", body = LeaveJson),
        (status = 404, description = "No such leave you may manage", body = ErrorBody),
        (status = 409, description = "Already cancelled", body = ErrorBody),
    )
)]
pub async fn cancel_leave(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let out = state
        .db
        .write(move |c| {
            let l = crate::sessions::leave::cancel(c, &ctx, &id)?;
            leave_json(c, &ctx.viewer, &l, &[])
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
