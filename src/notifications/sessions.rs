//! Emails about treatment sessions, queued in the transaction of the change: the plan made
//! or changed and the practitioner's report (to the responsible officer), an unacceptable
//! absence (to the responsible officer at once; a second within 12 months to the clinical
//! leads too) and a risk alert (to the clinical leads of the area at once). Like every
//! referral email: reference, initials, date, an outcome word and a link; nothing clinical.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{user_areas, users};
use crate::error::AppError;
use crate::notifications::messages::{
    Absence, Emails, PractitionerReport, RiskAlert, SecondAbsence, SessionPlanChanged,
    SessionUnrecorded,
};
use crate::notifications::referrals::{active_email, notice, send};
use crate::referrals::model::Referral;
use crate::users::model::Role;

/// The responsible officer, or the referrer while there is none.
fn officer(c: &mut DbConn, r: &Referral) -> Result<Vec<String>, AppError> {
    Ok(active_email(c, r.holder())?.into_iter().collect())
}

fn clinical_leads(c: &mut DbConn, r: &Referral) -> Result<Vec<String>, AppError> {
    Ok(users::table
        .inner_join(user_areas::table)
        .filter(user_areas::area_id.eq(&r.area_id))
        .filter(users::role.eq(Role::ClinicalLead))
        .filter(users::disabled_at.is_null())
        .select(users::email)
        .order(users::email.asc())
        .load(c)?)
}

/// `outcome` is "made" or "changed"; `date` the first date concerned.
pub fn plan_changed(
    c: &mut DbConn,
    emails: &Emails,
    r: &Referral,
    date: chrono::NaiveDate,
    outcome: &'static str,
) -> Result<(), AppError> {
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
    second: bool,
) -> Result<(), AppError> {
    let n = notice(c, emails, r, date, None)?;
    let to = officer(c, r)?;
    if second {
        let mut all = to;
        for lead in clinical_leads(c, r)? {
            if !all.contains(&lead) {
                all.push(lead);
            }
        }
        send(c, emails, &all, &SecondAbsence(n))
    } else {
        send(c, emails, &to, &Absence(n))
    }
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
