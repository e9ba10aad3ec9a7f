//! Rows of the session tables and the queries over them. Every read of a referral's
//! sessions starts from a referral already found through `referrals::model::scoped`; the
//! queries here take its id and never widen scope.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    ap_bookings, attendance_corrections, enforcement_reviews, outcome_measures,
    practitioner_reports, referral_events, risk_alerts, session_plans, treatment_sessions,
};
use crate::error::AppError;
use crate::sessions::codes::*;
use crate::sessions::measures::Instrument;
use crate::sessions::plan::Cadence;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = session_plans)]
pub struct Plan {
    pub referral_id: String,
    pub cadence: Cadence,
    pub minutes: i32,
    pub mode: Mode,
    pub location: Option<String>,
    pub target_sessions: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub measures: MeasureSchedule,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = treatment_sessions)]
pub struct Session {
    pub id: String,
    pub referral_id: String,
    pub area_id: String,
    pub ap_user_id: String,
    /// UK wall-clock time.
    pub starts_at: NaiveDateTime,
    pub minutes: i32,
    pub mode: Mode,
    pub location: Option<String>,
    pub status: SessionStatus,
    pub outcome: Option<Outcome>,
    pub engagement_notes: Option<String>,
    pub summary_for_ro: Option<String>,
    pub recorded_by: Option<String>,
    pub recorded_at: Option<NaiveDateTime>,
    pub change_party: Option<ChangeParty>,
    pub change_reason: Option<String>,
    pub cancel_reason: Option<CancelReason>,
    pub changed_by: Option<String>,
    pub changed_at: Option<NaiveDateTime>,
    pub replaces_id: Option<String>,
    pub added_for_id: Option<String>,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Why an acceptable absence was accepted.
    pub absence_reason: Option<AbsenceReason>,
    /// The last day to give evidence for an absence awaiting evidence.
    pub evidence_due: Option<NaiveDate>,
}

impl Session {
    /// What was recorded, with the absence's reason or the last day for evidence.
    pub fn attendance(&self) -> Option<Attendance> {
        self.outcome
            .map(|outcome| Attendance::new(outcome, self.absence_reason, self.evidence_due))
    }

    /// Booked or recorded: it holds time in the diary and counts towards the 12.
    pub fn is_live(&self) -> bool {
        matches!(self.status, SessionStatus::Booked | SessionStatus::Recorded)
    }

    pub fn ends_at(&self) -> NaiveDateTime {
        self.starts_at + chrono::TimeDelta::minutes(i64::from(self.minutes))
    }
}

/// What happened at a session, as recorded: the outcome, with the reason for an acceptable
/// absence or the deadline of one awaiting evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attendance {
    pub outcome: Outcome,
    pub absence_reason: Option<AbsenceReason>,
    pub evidence_due: Option<NaiveDate>,
}

impl Attendance {
    pub fn of(outcome: Outcome) -> Self {
        Self {
            outcome,
            absence_reason: None,
            evidence_due: None,
        }
    }

    /// `outcome` with only what belongs to it: the reason of an acceptable absence, the last
    /// day of one awaiting evidence.
    pub fn new(
        outcome: Outcome,
        absence_reason: Option<AbsenceReason>,
        evidence_due: Option<NaiveDate>,
    ) -> Self {
        Self {
            outcome,
            absence_reason: absence_reason.filter(|_| outcome == Outcome::AcceptableAbsence),
            evidence_due: evidence_due.filter(|_| outcome == Outcome::AwaitingEvidence),
        }
    }

    /// "Acceptable absence (illness or a medical appointment)", "Absent — awaiting evidence
    /// until 12 March 2027".
    pub fn describe(&self) -> String {
        self.describe_as(self.outcome.label().to_owned())
    }

    /// As [`Attendance::describe`], within a sentence: "acceptable absence (…)".
    pub fn describe_lower(&self) -> String {
        self.describe_as(self.outcome.label().to_lowercase())
    }

    fn describe_as(&self, label: String) -> String {
        match (self.absence_reason, self.evidence_due) {
            (Some(why), _) => format!("{label} ({})", why.label().to_lowercase()),
            (_, Some(due)) => format!("{label} until {}", crate::web::format::date(due)),
            _ => label,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outcome_measures)]
pub struct Measure {
    pub id: String,
    pub referral_id: String,
    pub session_id: String,
    pub instrument: Instrument,
    pub stage: Stage,
    pub answers: String,
    pub total: i32,
    pub risk: bool,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = risk_alerts)]
pub struct RiskAlert {
    pub id: String,
    pub referral_id: String,
    pub area_id: String,
    pub measure_id: String,
    pub raised_at: NaiveDateTime,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub action_taken: Option<String>,
    pub kind: AlertKind,
}

crate::coded_enum! {
    /// Why a clinical lead is alerted about an outcome measure.
    pub enum AlertKind {
        /// The item about ending one's life or self-harm answered above zero.
        RiskItem = ("risk_item", "A risk item on an outcome measure was answered above zero"),
        /// The total rose by at least the instrument's reliable change since the first score,
        /// during treatment.
        ReliableDeterioration = ("reliable_deterioration", "An outcome measure shows a reliable deterioration since the first session"),
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = practitioner_reports)]
pub struct Report {
    pub id: String,
    pub referral_id: String,
    pub kind: ReportKind,
    pub note: String,
    pub written_by: String,
    pub written_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enforcement_reviews)]
pub struct EnforcementReview {
    pub id: String,
    pub referral_id: String,
    pub area_id: String,
    /// The unacceptable failure the review is about.
    pub session_id: String,
    /// Reviews flagged under the earlier rule: the first of two absences within 12 months.
    pub earlier_session_id: Option<String>,
    /// The review whose warning, given within the 12 months before this failure, makes
    /// breach action the expected decision.
    pub after_warning_id: Option<String>,
    pub flagged_at: NaiveDateTime,
    pub decision: Option<EnforcementDecision>,
    /// The day the warning was given or breach action started.
    pub action_on: Option<NaiveDate>,
    pub note: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    /// The responsible officer withdrew their warning or breach action: it is kept, and a
    /// withdrawn warning no longer counts for the 12 months.
    pub withdrawn_at: Option<NaiveDateTime>,
    pub withdrawn_by: Option<String>,
    /// Why; null once the record's personal data is erased.
    pub withdrawn_reason: Option<String>,
}

/// A recorded attendance corrected: what it was, what it became, why, by whom.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = attendance_corrections)]
pub struct Correction {
    pub id: String,
    pub session_id: String,
    pub referral_id: String,
    pub old_outcome: Outcome,
    pub old_absence_reason: Option<AbsenceReason>,
    pub new_outcome: Outcome,
    pub new_absence_reason: Option<AbsenceReason>,
    /// Cleared when the record's personal data is erased.
    pub reason: Option<String>,
    pub corrected_by: String,
    pub corrected_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = referral_events)]
pub struct EventRow {
    pub id: String,
    pub referral_id: String,
    pub kind: EventKind,
    /// Shown to clinical roles only.
    pub clinical: bool,
    pub actor_user_id: Option<String>,
    pub actor_name: String,
    pub at: NaiveDateTime,
    pub summary: String,
}

/// At most this many sessions of one referral are listed (12, replacements and moves).
pub const MAX_SESSIONS: i64 = 200;

pub fn plan(c: &mut DbConn, referral_id: &str) -> Result<Option<Plan>, AppError> {
    Ok(session_plans::table
        .find(referral_id)
        .select(Plan::as_select())
        .first(c)
        .optional()?)
}

/// Every appointment of a referral, in time order, superseded and cancelled ones included.
pub fn sessions_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<Session>, AppError> {
    Ok(treatment_sessions::table
        .filter(treatment_sessions::referral_id.eq(referral_id))
        .order((
            treatment_sessions::starts_at.asc(),
            treatment_sessions::created_at.asc(),
        ))
        .limit(MAX_SESSIONS)
        .select(Session::as_select())
        .load(c)?)
}

pub fn session(c: &mut DbConn, id: &str) -> Result<Session, AppError> {
    Ok(treatment_sessions::table
        .find(id)
        .select(Session::as_select())
        .first(c)?)
}

pub fn measures_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<Measure>, AppError> {
    Ok(outcome_measures::table
        .filter(outcome_measures::referral_id.eq(referral_id))
        .order(outcome_measures::recorded_at.asc())
        .limit(MAX_SESSIONS)
        .select(Measure::as_select())
        .load(c)?)
}

pub fn alerts_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<RiskAlert>, AppError> {
    Ok(risk_alerts::table
        .filter(risk_alerts::referral_id.eq(referral_id))
        .order(risk_alerts::raised_at.desc())
        .limit(MAX_SESSIONS)
        .select(RiskAlert::as_select())
        .load(c)?)
}

pub fn reports_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<Report>, AppError> {
    Ok(practitioner_reports::table
        .filter(practitioner_reports::referral_id.eq(referral_id))
        .order(practitioner_reports::written_at.desc())
        .limit(MAX_SESSIONS)
        .select(Report::as_select())
        .load(c)?)
}

pub fn reviews_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<EnforcementReview>, AppError> {
    Ok(enforcement_reviews::table
        .filter(enforcement_reviews::referral_id.eq(referral_id))
        .order(enforcement_reviews::flagged_at.desc())
        .limit(MAX_SESSIONS)
        .select(EnforcementReview::as_select())
        .load(c)?)
}

pub fn events_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<EventRow>, AppError> {
    Ok(referral_events::table
        .filter(referral_events::referral_id.eq(referral_id))
        .order(referral_events::at.asc())
        .limit(1000)
        .select(EventRow::as_select())
        .load(c)?)
}

/// Whether the practitioner holds any quarter hour of the appointment, leaving aside the
/// appointments in `except` (those about to move).
pub fn busy(
    c: &mut DbConn,
    ap_user_id: &str,
    blocks: &[NaiveDateTime],
    except: &[String],
) -> Result<bool, AppError> {
    let mut q = ap_bookings::table
        .filter(ap_bookings::ap_user_id.eq(ap_user_id))
        .filter(ap_bookings::block_start.eq_any(blocks.to_vec()))
        .into_boxed();
    if !except.is_empty() {
        q = q.filter(ap_bookings::session_id.ne_all(except.to_vec()));
    }
    Ok(q.select(ap_bookings::session_id)
        .first::<String>(c)
        .optional()?
        .is_some())
}

/// Holds the appointment's quarter hours. A clash with another appointment fails on the
/// primary key, whatever raced it, and is reported as a conflict.
pub fn book_blocks(
    c: &mut DbConn,
    ap_user_id: &str,
    session_id: &str,
    blocks: &[NaiveDateTime],
) -> Result<(), AppError> {
    let rows: Vec<_> = blocks
        .iter()
        .map(|b| {
            (
                ap_bookings::ap_user_id.eq(ap_user_id),
                ap_bookings::block_start.eq(*b),
                ap_bookings::session_id.eq(session_id),
            )
        })
        .collect();
    for row in rows {
        match diesel::insert_into(ap_bookings::table)
            .values(row)
            .execute(c)
        {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                return Err(AppError::Conflict(
                    "The assistant psychologist already has an appointment at that time. Choose another time."
                        .into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

pub fn release_blocks(c: &mut DbConn, session_id: &str) -> Result<(), AppError> {
    diesel::delete(ap_bookings::table.filter(ap_bookings::session_id.eq(session_id))).execute(c)?;
    Ok(())
}

/// The days of leave of `user_id` from `from` to `to`, for the diary.
pub fn leave_days(
    c: &mut DbConn,
    user_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, AppError> {
    let periods: Vec<(NaiveDate, NaiveDate)> = crate::db::schema::practitioner_leave::table
        .filter(crate::db::schema::practitioner_leave::user_id.eq(user_id))
        .filter(crate::db::schema::practitioner_leave::cancelled_at.is_null())
        .filter(crate::db::schema::practitioner_leave::starts_on.le(to))
        .filter(crate::db::schema::practitioner_leave::ends_on.ge(from))
        .select((
            crate::db::schema::practitioner_leave::starts_on,
            crate::db::schema::practitioner_leave::ends_on,
        ))
        .load(c)?;
    Ok(periods
        .into_iter()
        .flat_map(|(s, e)| s.max(from).iter_days().take_while(move |d| *d <= e.min(to)))
        .collect())
}

/// The corrections of a referral's attendances, oldest first.
pub fn corrections_of(c: &mut DbConn, referral_id: &str) -> Result<Vec<Correction>, AppError> {
    Ok(attendance_corrections::table
        .filter(attendance_corrections::referral_id.eq(referral_id))
        .order((
            attendance_corrections::corrected_at.asc(),
            attendance_corrections::id.asc(),
        ))
        .select(Correction::as_select())
        .load(c)?)
}

/// An enforcement review (not found if there is no such review; scope is the caller's,
/// through its referral).
pub fn review(c: &mut DbConn, id: &str) -> Result<EnforcementReview, AppError> {
    Ok(enforcement_reviews::table
        .find(id)
        .select(EnforcementReview::as_select())
        .first(c)?)
}

/// The enforcement review of an unacceptable failure, if it has one.
pub fn review_of_session(
    c: &mut DbConn,
    session_id: &str,
) -> Result<Option<EnforcementReview>, AppError> {
    Ok(enforcement_reviews::table
        .filter(enforcement_reviews::session_id.eq(session_id))
        .select(EnforcementReview::as_select())
        .first(c)
        .optional()?)
}

/// The latest warning on a referral given from `since` to `until` (local dates), if any.
pub fn warning_between(
    c: &mut DbConn,
    referral_id: &str,
    since: NaiveDate,
    until: NaiveDate,
) -> Result<Option<EnforcementReview>, AppError> {
    Ok(enforcement_reviews::table
        .filter(enforcement_reviews::referral_id.eq(referral_id))
        .filter(enforcement_reviews::decision.eq(EnforcementDecision::Warning))
        .filter(enforcement_reviews::withdrawn_at.is_null())
        .filter(enforcement_reviews::action_on.ge(since))
        .filter(enforcement_reviews::action_on.le(until))
        .order(enforcement_reviews::action_on.desc())
        .select(EnforcementReview::as_select())
        .first(c)
        .optional()?)
}

/// The referral a risk alert is about (not found if there is no such alert; scope is the
/// caller's, through the referral).
pub fn alert_referral(conn: &mut DbConn, id: &str) -> Result<String, AppError> {
    use crate::db::schema::risk_alerts;
    Ok(risk_alerts::table
        .find(id)
        .select(risk_alerts::referral_id)
        .first(conn)?)
}

/// A risk alert and the outcome measure that raised it.
pub fn alert_and_measure(conn: &mut DbConn, id: &str) -> Result<(RiskAlert, Measure), AppError> {
    use crate::db::schema::{outcome_measures, risk_alerts};
    let alert: RiskAlert = risk_alerts::table
        .find(id)
        .select(RiskAlert::as_select())
        .first(conn)?;
    let measure = outcome_measures::table
        .find(&alert.measure_id)
        .select(Measure::as_select())
        .first(conn)?;
    Ok((alert, measure))
}

/// The referral an enforcement review is about (as [`alert_referral`]).
pub fn review_referral(conn: &mut DbConn, id: &str) -> Result<String, AppError> {
    use crate::db::schema::enforcement_reviews;
    Ok(enforcement_reviews::table
        .find(id)
        .select(enforcement_reviews::referral_id)
        .first(conn)?)
}

/// What a clinical lead does about an open risk alert, and by when.
pub const ALERT_NEXT_STEP: &str = "Review the risk with the practitioner today: contact the person or their crisis plan contacts if needed, then record what was done";

impl Measure {
    /// What raised a risk alert on this measure, in words: "PHQ-9, question 9 (“Thoughts
    /// that …”): “Several days” (scores 1). Total 14 of 27, moderate".
    pub fn alert_context(&self) -> String {
        let m = self;
        let instrument = m.instrument;
        let total = format!(
            "Total {} of {}, {}",
            m.total,
            instrument.max_total(),
            instrument.severity(m.total.max(0) as u32).to_lowercase()
        );
        let Some(item) = instrument.risk_item() else {
            return format!("{}. {total}", instrument.label());
        };
        let question = instrument
            .questions()
            .get(item - 1)
            .copied()
            .unwrap_or_default();
        let answer = crate::sessions::measures::Scores::from_code(instrument, &m.answers)
            .ok()
            .and_then(|s| s.answers().get(item - 1).copied());
        let answered = match answer {
            Some(a) => format!(
                "“{}” (scores {})",
                instrument
                    .answers()
                    .get(usize::from(a))
                    .copied()
                    .unwrap_or_default(),
                instrument.item_score(item - 1, a)
            ),
            None => "answered above zero".into(),
        };
        format!(
            "{}, question {item} (“{question}”): {answered}. {total}",
            instrument.label()
        )
    }
}
