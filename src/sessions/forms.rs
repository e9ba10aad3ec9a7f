//! Session forms (and the same JSON through `RawForm::from_json`) into checked input. Field
//! names are shared by the pages and the API.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::error::FieldErrors;
use crate::form::{RawForm, choice, text};
use crate::sessions::codes::*;
use crate::sessions::measures::{self, Instrument, Scores};
pub use crate::sessions::model::Attendance;
use crate::sessions::plan::{self, Cadence};

/// A time of day written `HH:MM` on the 24-hour clock, on the quarter hour.
pub fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    let v = raw.trim().replace('.', ":");
    if v.is_empty() {
        return Err("Enter a time".into());
    }
    let (h, m) = v.split_once(':').unwrap_or((v.as_str(), "00"));
    let (Ok(h), Ok(m)) = (h.trim().parse::<u32>(), m.trim().parse::<u32>()) else {
        return Err("Enter the time on the 24-hour clock, like 09:30 or 14:15".into());
    };
    let Some(t) = NaiveTime::from_hms_opt(h, m, 0) else {
        return Err("Enter a real time on the 24-hour clock, like 09:30 or 14:15".into());
    };
    if m % plan::SLOT_MINUTES != 0 {
        return Err(
            "Appointments start on the quarter hour, like 09:00, 09:15, 09:30 or 09:45".into(),
        );
    }
    if !(7..=20).contains(&t.hour()) || (t.hour() == 20 && t.minute() > 0) {
        return Err("Appointments start between 07:00 and 20:00".into());
    }
    Ok(t)
}

fn date_time(
    raw: &RawForm,
    e: &mut FieldErrors,
    date_name: &str,
    time_name: &str,
    what: &str,
) -> Option<NaiveDateTime> {
    let d = match raw.date(date_name, what) {
        Ok(d) => Some(d),
        Err(m) => {
            e.add(date_name, m);
            None
        }
    };
    let t = match parse_time(raw.get(time_name)) {
        Ok(t) => Some(t),
        Err(m) => {
            e.add(time_name, m);
            None
        }
    };
    Some(d?.and_time(t?))
}

fn minutes(raw: &RawForm, e: &mut FieldErrors) -> Option<u32> {
    let v = raw.get("minutes").trim();
    if v.is_empty() {
        return Some(plan::DEFAULT_MINUTES);
    }
    match v.parse::<u32>() {
        Ok(m) if (plan::MIN_MINUTES..=plan::MAX_MINUTES).contains(&m) && m % 5 == 0 => Some(m),
        _ => {
            e.add(
                "minutes",
                format!(
                    "Length must be a whole number of minutes from {} to {}, in steps of 5",
                    plan::MIN_MINUTES,
                    plan::MAX_MINUTES
                ),
            );
            None
        }
    }
}

fn not_past(e: &mut FieldErrors, field: &str, at: Option<NaiveDateTime>, now: NaiveDateTime) {
    if let Some(at) = at
        && at <= now
    {
        e.add(field, "The appointment must be in the future");
    }
}

/// How the 12 sessions are to be held.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    pub first: NaiveDateTime,
    pub cadence: Cadence,
    pub minutes: u32,
    pub mode: Mode,
    pub location: Option<String>,
    pub measures: MeasureSchedule,
}

/// `now` is the UK wall-clock time. `measures` may be left out: measures are then taken at
/// every session.
pub fn parse_plan(raw: &RawForm, now: NaiveDateTime) -> Result<PlanInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let first = date_time(
        raw,
        &mut e,
        "first_date",
        "first_time",
        "date of the first session",
    );
    not_past(&mut e, "first_date", first, now);
    let cadence = choice(raw, &mut e, "cadence", "Select how often the sessions are");
    let minutes = minutes(raw, &mut e);
    let mode: Option<Mode> = choice(raw, &mut e, "mode", "Select how the sessions are held");
    let location = text(raw, &mut e, "location", "Location", None, 200);
    if mode == Some(Mode::InPerson) && location.is_none() && e.get("location").is_none() {
        e.add("location", "Enter where the sessions are held");
    }
    let measures = if raw.get("measures").is_empty() {
        Some(MeasureSchedule::EverySession)
    } else {
        choice(
            raw,
            &mut e,
            "measures",
            "Select when outcome measures are taken",
        )
    };
    match (first, cadence, minutes, mode, measures) {
        (Some(first), Some(cadence), Some(minutes), Some(mode), Some(measures)) if e.is_empty() => {
            Ok(PlanInput {
                first,
                cadence,
                minutes,
                mode,
                measures,
                location: if mode == Mode::InPerson {
                    location
                } else {
                    None
                },
            })
        }
        _ => Err(e),
    }
}

/// Moving one appointment, or all that remain from it.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveInput {
    pub version: i64,
    pub to: NaiveDateTime,
    pub party: ChangeParty,
    pub reason: String,
}

pub fn parse_move(raw: &RawForm, now: NaiveDateTime) -> Result<MoveInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let version = version(raw, &mut e);
    let to = date_time(raw, &mut e, "new_date", "new_time", "new date");
    not_past(&mut e, "new_date", to, now);
    let party = choice(raw, &mut e, "party", "Select who asked for the change");
    let reason = text(
        raw,
        &mut e,
        "reason",
        "Reason",
        Some("Enter why the appointment is moving"),
        500,
    );
    match (to, party, reason) {
        (Some(to), Some(party), Some(reason)) if e.is_empty() => Ok(MoveInput {
            version,
            to,
            party,
            reason,
        }),
        _ => Err(e),
    }
}

/// One more appointment for a referral that has a plan: when.
pub fn parse_add(raw: &RawForm, now: NaiveDateTime) -> Result<NaiveDateTime, FieldErrors> {
    let mut e = FieldErrors::new();
    let at = date_time(raw, &mut e, "new_date", "new_time", "date");
    not_past(&mut e, "new_date", at, now);
    match at {
        Some(at) if e.is_empty() => Ok(at),
        _ => Err(e),
    }
}

fn version(raw: &RawForm, e: &mut FieldErrors) -> i64 {
    match raw.get("version").trim().parse::<i64>() {
        Ok(v) if v >= 0 => v,
        _ => {
            e.add(
                "version",
                "The appointment version is missing: reload the page and try again",
            );
            -1
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CancelInput {
    pub version: i64,
    pub reason: CancelReason,
    pub note: Option<String>,
}

pub fn parse_cancel(raw: &RawForm) -> Result<CancelInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let version = version(raw, &mut e);
    let reason = choice(
        raw,
        &mut e,
        "cancel_reason",
        "Select why the appointment is cancelled",
    );
    let note = text(raw, &mut e, "note", "Note", None, 500);
    match reason {
        Some(reason) if e.is_empty() => Ok(CancelInput {
            version,
            reason,
            note,
        }),
        _ => Err(e),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttendanceInput {
    pub version: i64,
    pub attendance: Attendance,
    pub engagement_notes: Option<String>,
    pub summary_for_ro: Option<String>,
}

/// "Did the session happen?" yes → complied on time or late, or failed to comply; no → why
/// not: an acceptable absence (with its reason), absent awaiting evidence (with the last day
/// for it), an unacceptable absence, or service logistics.
fn parse_outcome(raw: &RawForm, e: &mut FieldErrors) -> Option<Attendance> {
    let outcome = match raw.get("happened") {
        "yes" | "true" => match raw.get("attendance") {
            "attended" => Some(Outcome::Attended),
            "attended_late" => Some(Outcome::AttendedLate),
            "attended_failed_to_comply" => Some(Outcome::FailedToComply),
            _ => {
                e.add(
                    "attendance",
                    "Select whether the person complied, arrived late or failed to comply",
                );
                None
            }
        },
        "no" | "false" => match raw.get("not_happened_reason") {
            "acceptable_absence" => Some(Outcome::AcceptableAbsence),
            "awaiting_evidence" => Some(Outcome::AwaitingEvidence),
            "unacceptable_absence" => Some(Outcome::UnacceptableAbsence),
            "service_logistics" => Some(Outcome::ServiceLogistics),
            _ => {
                e.add(
                    "not_happened_reason",
                    "Select why the session did not happen",
                );
                None
            }
        },
        _ => {
            e.add("happened", "Select whether the session happened");
            None
        }
    }?;
    let absence_reason = (outcome == Outcome::AcceptableAbsence)
        .then(|| {
            choice(
                raw,
                e,
                "absence_reason",
                "Select why the absence is acceptable",
            )
        })
        .flatten();
    let evidence_due = (outcome == Outcome::AwaitingEvidence)
        .then(
            || match raw.date("evidence_due_date", "last day for evidence") {
                Ok(d) => Some(d),
                Err(m) => {
                    e.add("evidence_due_date", m);
                    None
                }
            },
        )
        .flatten();
    Some(Attendance {
        outcome,
        absence_reason,
        evidence_due,
    })
}

pub fn parse_attendance(raw: &RawForm) -> Result<AttendanceInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let version = version(raw, &mut e);
    let attendance = parse_outcome(raw, &mut e);
    let engagement_notes = text(
        raw,
        &mut e,
        "engagement_notes",
        "Engagement notes",
        None,
        4000,
    );
    let summary_for_ro = text(
        raw,
        &mut e,
        "summary_for_ro",
        "Summary for the responsible officer",
        None,
        1000,
    );
    match attendance {
        Some(attendance) if e.is_empty() => Ok(AttendanceInput {
            version,
            attendance,
            engagement_notes,
            summary_for_ro,
        }),
        _ => Err(e),
    }
}

/// A period of leave to record.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaveInput {
    pub user_id: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub note: Option<String>,
}

/// What to do with one session booked during leave.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrangement {
    Move(NaiveDateTime),
    Cancel,
    /// Kept at its time, held by another assistant psychologist (by user id).
    Cover(String),
}

/// Leave for `default_user` (the viewer) unless another assistant psychologist is chosen.
pub fn parse_leave(raw: &RawForm, default_user: &str) -> Result<LeaveInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let user_id = match raw.get("user_id").trim() {
        "" => default_user.to_owned(),
        u => u.to_owned(),
    };
    let mut day = |name: &str, what: &str| match raw.date(name, what) {
        Ok(d) => Some(d),
        Err(m) => {
            e.add(name, m);
            None
        }
    };
    let starts_on = day("starts_date", "first day of leave");
    let ends_on = day("ends_date", "last day of leave");
    let note = text(raw, &mut e, "note", "Note", None, 500);
    match (starts_on, ends_on) {
        (Some(starts_on), Some(ends_on)) if e.is_empty() => Ok(LeaveInput {
            user_id,
            starts_on,
            ends_on,
            note,
        }),
        _ => Err(e),
    }
}

/// The arrangements for sessions booked during leave, from the page: for each session listed
/// (`session`), `what_<id>` is `move` (with `date_<id>` and `time_<id>`), `cancel`, `cover`
/// (with `cover_<id>`, who covers) or `later` (left for now), and `version_<id>` the version
/// shown.
pub fn parse_arrangements(raw: &RawForm) -> Result<Vec<(String, i64, Arrangement)>, FieldErrors> {
    let mut e = FieldErrors::new();
    let mut out = Vec::new();
    for id in raw.all("session") {
        let field = format!("session_{id}");
        let version = raw
            .get(&format!("version_{id}"))
            .trim()
            .parse::<i64>()
            .unwrap_or(-1);
        match raw.get(&format!("what_{id}")) {
            "move" => match date_time(
                raw,
                &mut e,
                &format!("date_{id}"),
                &format!("time_{id}"),
                "new date",
            ) {
                Some(at) => out.push((id.clone(), version, Arrangement::Move(at))),
                None => {
                    if e.get(&field).is_none() {
                        e.add(&field, "Enter the new date and time for this session");
                    }
                }
            },
            "cancel" => out.push((id.clone(), version, Arrangement::Cancel)),
            "cover" => match raw.get(&format!("cover_{id}")).trim() {
                "" => e.add(
                    &field,
                    "Choose the assistant psychologist who covers this session",
                ),
                by => out.push((id.clone(), version, Arrangement::Cover(by.to_owned()))),
            },
            _ => {}
        }
    }
    if e.is_empty() { Ok(out) } else { Err(e) }
}

/// A new version of a session's notes, following version `after`.
#[derive(Debug, Clone, PartialEq)]
pub struct NotesInput {
    pub after: i32,
    pub body: String,
}

pub fn parse_notes(raw: &RawForm) -> Result<NotesInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let after = match raw.get("after").trim().parse::<i32>() {
        Ok(n) if n >= 0 => n,
        _ => {
            e.add(
                "notes",
                "The version you read is missing: reload the page and try again",
            );
            0
        }
    };
    let body = text(raw, &mut e, "notes", "Notes", Some("Enter the notes"), 4000);
    match body {
        Some(body) if e.is_empty() => Ok(NotesInput { after, body }),
        _ => Err(e),
    }
}

/// A recorded attendance put right: what it should have been, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectionInput {
    pub version: i64,
    pub attendance: Attendance,
    pub reason: String,
}

pub fn parse_correction(raw: &RawForm) -> Result<CorrectionInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let version = version(raw, &mut e);
    let attendance = parse_outcome(raw, &mut e);
    let reason = text(
        raw,
        &mut e,
        "reason",
        "Why it is corrected",
        Some("Enter why the attendance is corrected"),
        1000,
    );
    match (attendance, reason) {
        (Some(attendance), Some(reason)) if e.is_empty() => Ok(CorrectionInput {
            version,
            attendance,
            reason,
        }),
        _ => Err(e),
    }
}

/// What was decided about an absence awaiting evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceInput {
    pub version: i64,
    /// `Some(reason)`: the evidence was accepted; `None`: the absence is unacceptable.
    pub accepted: Option<AbsenceReason>,
    pub note: Option<String>,
}

pub fn parse_evidence(raw: &RawForm) -> Result<EvidenceInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let version = version(raw, &mut e);
    let accepted = match raw.get("evidence") {
        "accepted" => choice(
            raw,
            &mut e,
            "absence_reason",
            "Select why the absence is acceptable",
        )
        .map(Some),
        "not_accepted" => Some(None),
        _ => {
            e.add(
                "evidence",
                "Select whether acceptable evidence was given for the absence",
            );
            None
        }
    };
    let note = text(raw, &mut e, "note", "Note", None, 1000);
    match accepted {
        Some(accepted) if e.is_empty() => Ok(EvidenceInput {
            version,
            accepted,
            note,
        }),
        _ => Err(e),
    }
}

/// The form field of question `n` (1-based).
pub fn answer_field(n: usize) -> String {
    format!("q{n}")
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeasureInput {
    pub stage: Stage,
    pub scores: Scores,
}

pub fn parse_measure(raw: &RawForm, instrument: Instrument) -> Result<MeasureInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let stage = choice(
        raw,
        &mut e,
        "stage",
        "Select when in treatment the measure is taken",
    );
    let fields: Vec<String> = (1..=instrument.questions().len())
        .map(answer_field)
        .collect();
    let answers: Vec<&str> = fields.iter().map(|f| raw.get(f)).collect();
    let scores = match measures::parse_answers(instrument, &answers) {
        Ok(s) => Some(s),
        Err(errs) => {
            for (n, m) in errs {
                e.add(&answer_field(n), m);
            }
            None
        }
    };
    match (stage, scores) {
        (Some(stage), Some(scores)) if e.is_empty() => Ok(MeasureInput { stage, scores }),
        _ => Err(e),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    pub kind: ReportKind,
    pub note: String,
}

pub fn parse_report(raw: &RawForm) -> Result<ReportInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let kind = choice(raw, &mut e, "kind", "Select what you are reporting");
    let note = text(
        raw,
        &mut e,
        "note",
        "Report",
        Some("Enter the report for the responsible officer"),
        4000,
    );
    match (kind, note) {
        (Some(kind), Some(note)) if e.is_empty() => Ok(ReportInput { kind, note }),
        _ => Err(e),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionInput {
    pub decision: EnforcementDecision,
    /// The day the warning was given or breach action started.
    pub action_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// The officer's decision: a warning (with the day it was given), breach action (with the
/// day it started) or no further action.
pub fn parse_decision(raw: &RawForm) -> Result<DecisionInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let decision =
        choice::<EnforcementDecision>(raw, &mut e, "decision", "Select what you decided")
            .filter(|d| EnforcementDecision::OFFICER.contains(d));
    if decision.is_none() && e.is_empty() {
        e.add("decision", "Select what you decided");
    }
    let action_on = match decision {
        Some(d @ (EnforcementDecision::Warning | EnforcementDecision::Breach)) => {
            let what = if d == EnforcementDecision::Warning {
                "date the warning was given"
            } else {
                "date breach action started"
            };
            match raw.date("action_date", what) {
                Ok(day) => Some(day),
                Err(m) => {
                    e.add("action_date", m);
                    None
                }
            }
        }
        _ => None,
    };
    let note = text(raw, &mut e, "note", "Note", None, 2000);
    match decision {
        Some(decision) if e.is_empty() => Ok(DecisionInput {
            decision,
            action_on,
            note,
        }),
        _ => Err(e),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WithdrawalInput {
    /// Why the warning or breach action is withdrawn.
    pub reason: String,
}

/// The officer withdraws their warning or breach action: the reason is required.
pub fn parse_withdrawal(raw: &RawForm) -> Result<WithdrawalInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let reason = text(
        raw,
        &mut e,
        "reason",
        "Reason",
        Some("Enter why you are withdrawing it"),
        2000,
    );
    match reason {
        Some(reason) if e.is_empty() => Ok(WithdrawalInput { reason }),
        _ => Err(e),
    }
}

pub fn parse_acknowledgement(raw: &RawForm) -> Result<String, FieldErrors> {
    let mut e = FieldErrors::new();
    let note = text(
        raw,
        &mut e,
        "action_taken",
        "Action taken",
        Some("Enter what was done about the risk"),
        2000,
    );
    match note {
        Some(n) if e.is_empty() => Ok(n),
        _ => Err(e),
    }
}

/// The date of `at` for forms: day, month, year fields.
pub fn set_date_time(raw: &mut RawForm, date_name: &str, time_name: &str, at: NaiveDateTime) {
    raw.set_date(date_name, Some(at.date()));
    raw.set(time_name, at.format("%H:%M").to_string());
}

/// The date part only, for checks that speak of days.
pub fn day_of(at: NaiveDateTime) -> NaiveDate {
    at.date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
    }

    #[test]
    fn times_are_on_the_quarter_hour_in_working_hours() {
        assert_eq!(parse_time("9:30").unwrap().to_string(), "09:30:00");
        assert_eq!(parse_time("14.15").unwrap().to_string(), "14:15:00");
        assert_eq!(parse_time("14").unwrap().to_string(), "14:00:00");
        for bad in ["", "9:10", "25:00", "06:45", "20:15", "noon", "9:"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn time_parsing_never_panics(s in ".{0,12}") {
            let _ = parse_time(&s);
        }
    }

    fn plan_form() -> RawForm {
        let mut r = RawForm::default();
        r.set_date("first_date", NaiveDate::from_ymd_opt(2026, 12, 1));
        r.set("first_time", "10:00");
        r.set("cadence", "weekly");
        r.set("mode", "in_person");
        r.set("location", "Probation office, Oakham");
        r
    }

    #[test]
    fn a_plan_needs_a_future_start_and_a_place_when_in_person() {
        let p = parse_plan(&plan_form(), now()).unwrap();
        assert_eq!(p.minutes, plan::DEFAULT_MINUTES);
        let mut r = plan_form();
        r.set("location", "");
        r.set_date("first_date", NaiveDate::from_ymd_opt(2026, 11, 1));
        let e = parse_plan(&r, now()).unwrap_err();
        assert!(e.get("location").is_some());
        assert!(e.get("first_date").unwrap().contains("future"));
        r.set("mode", "phone");
        r.set("minutes", "52");
        let e = parse_plan(&r, now()).unwrap_err();
        assert!(e.get("location").is_none());
        assert!(e.get("minutes").is_some());
    }

    #[test]
    fn an_added_session_needs_a_future_date_and_a_time() {
        let mut r = RawForm::default();
        r.set_date("new_date", NaiveDate::from_ymd_opt(2026, 12, 3));
        r.set("new_time", "14:30");
        assert_eq!(
            parse_add(&r, now()).unwrap().to_string(),
            "2026-12-03 14:30:00"
        );
        r.set_date("new_date", NaiveDate::from_ymd_opt(2026, 11, 2));
        let e = parse_add(&r, now()).unwrap_err();
        assert!(e.get("new_date").unwrap().contains("future"));
        r.set("new_time", "");
        assert!(parse_add(&r, now()).unwrap_err().get("new_time").is_some());
    }

    #[test]
    fn attendance_asks_why_a_session_did_not_happen() {
        let mut r = RawForm::default();
        r.set("version", "0");
        r.set("happened", "no");
        let e = parse_attendance(&r).unwrap_err();
        assert!(e.get("not_happened_reason").is_some());
        r.set("not_happened_reason", "unacceptable_absence");
        assert_eq!(
            parse_attendance(&r).unwrap().attendance.outcome,
            Outcome::UnacceptableAbsence
        );
        r.set("happened", "yes");
        r.set("attendance", "attended_late");
        assert_eq!(
            parse_attendance(&r).unwrap().attendance.outcome,
            Outcome::AttendedLate
        );
        r.set("attendance", "attended_failed_to_comply");
        assert_eq!(
            parse_attendance(&r).unwrap().attendance.outcome,
            Outcome::FailedToComply
        );
    }

    #[test]
    fn an_acceptable_absence_needs_its_reason_and_awaiting_evidence_its_deadline() {
        let mut r = RawForm::default();
        r.set("version", "0");
        r.set("happened", "no");
        r.set("not_happened_reason", "acceptable_absence");
        let e = parse_attendance(&r).unwrap_err();
        assert!(e.get("absence_reason").is_some());
        r.set("absence_reason", "medical");
        let a = parse_attendance(&r).unwrap().attendance;
        assert_eq!(a.absence_reason, Some(AbsenceReason::Medical));
        assert_eq!(a.evidence_due, None);
        r.set("not_happened_reason", "awaiting_evidence");
        let e = parse_attendance(&r).unwrap_err();
        assert!(e.get("evidence_due_date").is_some());
        r.set("evidence_due_date_day", "12");
        r.set("evidence_due_date_month", "3");
        r.set("evidence_due_date_year", "2027");
        let a = parse_attendance(&r).unwrap().attendance;
        assert_eq!(a.evidence_due, NaiveDate::from_ymd_opt(2027, 3, 12));
        // The reason belongs to an acceptable absence only.
        assert_eq!(a.absence_reason, None);
        assert_eq!(
            a.describe(),
            "Absent — awaiting evidence until 12 March 2027"
        );
    }

    #[test]
    fn a_warning_needs_its_date_and_the_service_decision_is_not_offered() {
        let mut r = RawForm::default();
        r.set("decision", "warning");
        assert!(parse_decision(&r).unwrap_err().get("action_date").is_some());
        r.set_date("action_date", NaiveDate::from_ymd_opt(2027, 1, 4));
        let d = parse_decision(&r).unwrap();
        assert_eq!(d.action_on, NaiveDate::from_ymd_opt(2027, 1, 4));
        r.set("decision", "no_action");
        assert_eq!(parse_decision(&r).unwrap().action_on, None);
        r.set("decision", "withdrawn");
        assert!(parse_decision(&r).unwrap_err().get("decision").is_some());
    }

    #[test]
    fn an_out_of_range_answer_is_refused_against_its_question() {
        let mut r = RawForm::default();
        r.set("stage", "first");
        for n in 1..=9 {
            r.set(&answer_field(n), "1");
        }
        r.set("q4", "4");
        let e = parse_measure(&r, Instrument::Phq9).unwrap_err();
        assert!(e.get("q4").is_some());
        r.set("q4", "3");
        let m = parse_measure(&r, Instrument::Phq9).unwrap();
        assert_eq!(m.scores.total(), 11);
        assert!(m.scores.risk());
    }
}
