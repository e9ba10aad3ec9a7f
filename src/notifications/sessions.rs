//! Emails about treatment sessions, queued in the transaction of the change: the plan made
//! or changed and the practitioner's report (to the responsible officer), an unacceptable
//! failure (to the responsible officer at once; one within 12 months of a warning to the
//! clinical leads too), an absence awaiting evidence, a correction of what the officer was
//! told, and a risk alert (to the clinical leads of the area at once). Like every
//! referral email: reference, initials, date, an outcome word and a link; nothing clinical.

use crate::db::DbConn;
use crate::error::AppError;
use crate::notifications::messages::{
    Absence, AbsenceAwaitingEvidence, AttendanceCorrected, DatedNotice, Emails, PractitionerReport,
    RiskAlert, SecondAbsence, SessionPlanChanged, SessionUnrecorded,
};
use crate::notifications::referrals::{active_email, notice, send};
use crate::referrals::model::Referral;
use crate::sessions::codes::Outcome;

/// The responsible officer, or the referrer while there is none.
fn officer(c: &mut DbConn, r: &Referral) -> Result<Vec<String>, AppError> {
    Ok(active_email(c, r.holder())?.into_iter().collect())
}

fn clinical_leads(c: &mut DbConn, r: &Referral) -> Result<Vec<String>, AppError> {
    crate::notifications::referrals::clinical_leads_of(c, &r.area_id)
}

/// `outcome` is "made" or "changed"; `date` the first date concerned.
pub fn plan_changed(
    c: &mut DbConn,
    emails: &Emails,
    r: &Referral,
    date: chrono::NaiveDate,
    outcome: &'static str,
) -> Result<(), AppError> {
    // The person's own confirmations and reminders follow every change of the plan.
    crate::reminders::schedule::sync(c, emails.reminders(), &r.id)?;
    let to = officer(c, r)?;
    if to.is_empty() {
        return Ok(());
    }
    let n = notice(c, emails, r, date, Some(outcome))?;
    send(c, emails, &to, &SessionPlanChanged(n))
}

pub fn absence(
    c: &mut DbConn,
    emails: &Emails,
    r: &Referral,
    date: chrono::NaiveDate,
    outcome: Outcome,
    after_warning: Option<chrono::NaiveDate>,
) -> Result<(), AppError> {
    let word = match outcome {
        Outcome::FailedToComply => Some("failed to comply"),
        _ => None,
    };
    let n = notice(c, emails, r, date, word)?;
    let to = officer(c, r)?;
    match after_warning {
        Some(warning) => {
            let mut all = to;
            for lead in clinical_leads(c, r)? {
                if !all.contains(&lead) {
                    all.push(lead);
                }
            }
            let dated = DatedNotice {
                notice: n,
                second_date: crate::web::format::date(warning),
            };
            send(c, emails, &all, &SecondAbsence(dated))
        }
        None => send(c, emails, &to, &Absence(n)),
    }
}

/// An absence on `date` is awaiting evidence until `due`.
pub fn awaiting_evidence(
    c: &mut DbConn,
    emails: &Emails,
    r: &Referral,
    date: chrono::NaiveDate,
    due: chrono::NaiveDate,
) -> Result<(), AppError> {
    let to = officer(c, r)?;
    let dated = DatedNotice {
        notice: notice(c, emails, r, date, None)?,
        second_date: crate::web::format::date(due),
    };
    send(c, emails, &to, &AbsenceAwaitingEvidence(dated))
}

/// The attendance at the session on `date`, which the officer was told of, is corrected to
/// `now`.
pub fn attendance_corrected(
    c: &mut DbConn,
    emails: &Emails,
    r: &Referral,
    date: chrono::NaiveDate,
    now: Outcome,
) -> Result<(), AppError> {
    let to = officer(c, r)?;
    let n = notice(c, emails, r, date, Some(now.label()))?;
    send(c, emails, &to, &AttendanceCorrected(n))
}

/// A session on `date` still has no recorded outcome after the grace period.
pub fn unrecorded(
    c: &mut DbConn,
    emails: &Emails,
    r: &Referral,
    date: chrono::NaiveDate,
) -> Result<(), AppError> {
    let to = officer(c, r)?;
    let n = notice(c, emails, r, date, None)?;
    send(c, emails, &to, &SessionUnrecorded(n))
}

pub fn risk_alert(c: &mut DbConn, emails: &Emails, r: &Referral) -> Result<(), AppError> {
    let to = clinical_leads(c, r)?;
    let n = notice(c, emails, r, crate::clock::today(), None)?;
    send(c, emails, &to, &RiskAlert(n))
}

pub fn practitioner_report(c: &mut DbConn, emails: &Emails, r: &Referral) -> Result<(), AppError> {
    let to = officer(c, r)?;
    let n = notice(c, emails, r, crate::clock::today(), None)?;
    send(c, emails, &to, &PractitionerReport(n))
}
