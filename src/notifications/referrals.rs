//! Emails about referrals, queued in the transaction of the change they report: a referral
//! made (to the provider's intake mailbox for its area, else its clinical leads), screened (to the referrer), allocated (to the
//! assistant psychologist) and treatment ended (to the responsible officer, else the
//! referrer). Each carries the reference, the person's initials, a date, the outcome word
//! and a link; never a name, needs, offence or reasons.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{user_areas, users};
use crate::error::AppError;
use crate::notifications::messages::{
    self, ApAllocated, AssessmentReportSent, Email, Emails, EndSummaryWritten, OrderChanged,
    ReferralHandedOver, ReferralNotice, ReferralScreened, ReferralSubmitted, ReferralTakenOver,
    ShareConsentChanged, TreatmentEnded,
};
use crate::notifications::model::enqueue;
use crate::referrals::model::{self, Referral};
use crate::referrals::state::Action;
use crate::users::model::Role;

pub(crate) fn notice(
    c: &mut DbConn,
    emails: &Emails,
    r: &Referral,
    date: chrono::NaiveDate,
    outcome: Option<&'static str>,
) -> Result<ReferralNotice, AppError> {
    let person = model::person(c, &r.person_id)?;
    Ok(ReferralNotice {
        reference: r.reference.clone(),
        initials: messages::initials(&format!("{} {}", person.given_name, person.family_name)),
        date: crate::web::format::date(date),
        outcome,
        link: emails.link(&format!("/referrals/{}", r.id)),
    })
}

/// The addresses of the active clinical leads whose areas include `area_id`.
pub(crate) fn clinical_leads_of(c: &mut DbConn, area_id: &str) -> Result<Vec<String>, AppError> {
    Ok(users::table
        .inner_join(user_areas::table)
        .filter(user_areas::area_id.eq(area_id))
        .filter(users::role.eq(Role::ClinicalLead))
        .filter(users::disabled_at.is_null())
        .select(users::email)
        .order(users::email.asc())
        .load(c)?)
}

/// The address of an active user.
pub(crate) fn active_email(c: &mut DbConn, user_id: &str) -> Result<Option<String>, AppError> {
    Ok(users::table
        .find(user_id)
        .filter(users::disabled_at.is_null())
        .select(users::email)
        .first(c)
        .optional()?)
}

pub(crate) fn send<E: Email>(
    c: &mut DbConn,
    emails: &Emails,
    to: &[String],
    email: &E,
) -> Result<(), AppError> {
    for address in to {
        enqueue(c, emails.typed(address, email)?)?;
    }
    Ok(())
}

/// A referral has just been made: the provider's intake mailbox for the referral's area hears
/// of it, or, where the area has none, every active clinical lead whose areas include it.
pub fn submitted(c: &mut DbConn, emails: &Emails, r: &Referral) -> Result<(), AppError> {
    let to: Vec<String> = match crate::areas::intake_email(c, &r.area_id)? {
        Some(mailbox) => vec![mailbox],
        None => clinical_leads_of(c, &r.area_id)?,
    };
    if to.is_empty() {
        return Ok(());
    }
    let n = notice(c, emails, r, crate::clock::today(), None)?;
    send(c, emails, &to, &ReferralSubmitted(n))
}

/// One person to hear of a step of referral `r`, if their account is active.
struct Told<'a> {
    emails: &'a Emails,
    r: &'a Referral,
    on: chrono::NaiveDate,
    user: Option<&'a str>,
    outcome: Option<&'static str>,
}

impl Told<'_> {
    fn send<E: Email>(
        self,
        c: &mut DbConn,
        wrap: impl FnOnce(ReferralNotice) -> E,
    ) -> Result<(), AppError> {
        let Some(user) = self.user else {
            return Ok(());
        };
        let to: Vec<String> = active_email(c, user)?.into_iter().collect();
        if to.is_empty() {
            return Ok(());
        }
        let n = notice(c, self.emails, self.r, self.on, self.outcome)?;
        send(c, self.emails, &to, &wrap(n))
    }
}

/// The probation officer holding `r`: its responsible officer, or with none its referrer if
/// a probation officer made it (a Liaison and Diversion practitioner never holds one).
fn officer_holding(c: &mut DbConn, r: &Referral) -> Result<Option<String>, AppError> {
    let holder = r.holder();
    Ok(
        (crate::referrals::model::user_role(c, holder)? == Some(Role::ProbationOfficer))
            .then(|| holder.to_owned()),
    )
}

/// A probation officer became the responsible officer of `r`, which someone else made: the
/// referrer hears who now holds it.
pub fn taken_over(c: &mut DbConn, emails: &Emails, r: &Referral) -> Result<(), AppError> {
    if r.responsible_officer_id.as_deref() == Some(r.created_by.as_str()) {
        return Ok(());
    }
    Told {
        emails,
        r,
        on: crate::clock::today(),
        user: Some(r.created_by.as_str()),
        outcome: None,
    }
    .send(c, ReferralTakenOver)
}

/// The end-of-treatment summary of `r` is written (`rewritten`: changed): its responsible
/// officer (or the referrer while there is none) hears, with a link; the summary itself
/// stays behind sign-in, where each view of it is recorded.
pub fn end_summary_written(
    c: &mut DbConn,
    emails: &Emails,
    r: &Referral,
    rewritten: bool,
) -> Result<(), AppError> {
    Told {
        emails,
        r,
        on: crate::clock::today(),
        user: Some(r.holder()),
        outcome: rewritten.then_some("changed"),
    }
    .send(c, EndSummaryWritten)
}

/// `r` (as it is after `action`) has just moved along the pathway; `date` is the date the
/// user gave for the step, if any.
pub fn transitioned(
    c: &mut DbConn,
    emails: &Emails,
    action: Action,
    r: &Referral,
    date: Option<chrono::NaiveDate>,
) -> Result<(), AppError> {
    let on = date.unwrap_or_else(crate::clock::today);
    let tell = |user, outcome| Told {
        emails,
        r,
        on,
        user,
        outcome,
    };
    match action {
        Action::Accept => {
            tell(Some(r.created_by.as_str()), Some("accepted")).send(c, ReferralScreened)?
        }
        Action::Decline => {
            tell(Some(r.created_by.as_str()), Some("declined")).send(c, ReferralScreened)?
        }
        Action::AllocateAp => tell(r.allocated_ap_id.as_deref(), None).send(c, ApAllocated)?,
        Action::HandOver => {
            tell(r.responsible_officer_id.as_deref(), None).send(c, ReferralHandedOver)?
        }
        Action::EndTreatment => tell(Some(r.holder()), Some("ended")).send(c, TreatmentEnded)?,
        Action::SendReport => tell(Some(r.holder()), None).send(c, AssessmentReportSent)?,
        // The officer holding the referral hears what they may see of it now.
        Action::GiveShareConsent | Action::WithdrawShareConsent => {
            let outcome = Some(if action == Action::GiveShareConsent {
                "given"
            } else {
                "withdrawn"
            });
            let officer = officer_holding(c, r)?;
            tell(officer.as_deref(), outcome).send(c, ShareConsentChanged)?
        }
        // The practitioner treating (or, before allocation, the area's clinical leads) hears
        // what the court decided.
        Action::VaryOrder | Action::EndOrder => {
            let outcome = Some(if action == Action::VaryOrder {
                "varied"
            } else {
                "ended"
            });
            match r.allocated_ap_id.as_deref() {
                Some(ap) => tell(Some(ap), outcome).send(c, OrderChanged)?,
                None => {
                    let n = notice(c, emails, r, on, outcome)?;
                    let leads = clinical_leads_of(c, &r.area_id)?;
                    send(c, emails, &leads, &OrderChanged(n))?
                }
            }
        }
        _ => {}
    }
    Ok(())
}
