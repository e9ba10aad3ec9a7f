//! What erasure blanks, table by table, inside the caller's transaction. The list is the
//! README's "Retention" section: personal data of the referral and, once none of their
//! referrals is left unerased, of the person goes; the referral's skeleton (id, reference,
//! area, status, entry point, dates the report counts by), its report facts and the report's
//! aggregates stay, so uptake history does not move. Names of staff who acted stay: they
//! are the service's record of who did what, not the person's data.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    attendance_corrections, end_summaries, enforcement_reviews, linked_activity,
    linked_requirements, no_onward_support, outbox_messages, outcome_measures, people,
    practitioner_reports, referral_amendments, referral_events, referral_status_history, referrals,
    risk_alerts, session_notes, session_plans, signpostings, treatment_sessions,
};
use crate::error::AppError;
use crate::notifications::model::OutboxStatus;
use crate::referrals::codes::GenderIdentity;
use crate::referrals::forms::ReferralDetails;

/// Stands in for an erased date of birth (the column is required). Never shown: an erased
/// referral's page says its data was erased.
pub const ERASED_BIRTH_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// Keys of a timeline entry's details that hold free text (the court's name).
const FREE_TEXT_DETAILS: &[&str] = &["court", "report"];

/// Blanks the referral's personal data everywhere it is kept. Marking it erased is the
/// caller's, in the same transaction.
pub fn referral(c: &mut DbConn, referral_id: &str, reference: &str) -> Result<(), AppError> {
    let details = serde_json::to_string(&ReferralDetails::default())
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("empty details")))?;
    diesel::update(referrals::table.find(referral_id))
        .set((
            referrals::details.eq(details),
            referrals::idempotency_key.eq(None::<String>),
            referrals::requirement_end_date.eq(None::<NaiveDate>),
        ))
        .execute(c)?;
    timeline(c, referral_id)?;
    treatment(c, referral_id)?;
    onward_and_linked(c, referral_id)?;
    reminders(c, referral_id)?;
    emails(c, reference)
}

/// The person's messages about the referral's sessions: unsent ones are withdrawn, and
/// where and what was sent goes; that a message went, and how delivery went, stays.
fn reminders(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    use crate::db::schema::reminders as r;
    use crate::reminders::ReminderStatus;
    diesel::update(
        r::table
            .filter(r::referral_id.eq(referral_id))
            .filter(r::status.eq_any([ReminderStatus::Queued, ReminderStatus::Dead])),
    )
    .set(r::status.eq(ReminderStatus::Cancelled))
    .execute(c)?;
    diesel::update(r::table.filter(r::referral_id.eq(referral_id)))
        .set((
            r::recipient.eq(""),
            r::subject.eq(""),
            r::body.eq(""),
            r::last_error.eq(None::<String>),
        ))
        .execute(c)?;
    Ok(())
}

/// Status history, amendments and treatment events: what happened stays, what was written
/// about the person goes.
fn timeline(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    let rows: Vec<(String, String)> = referral_status_history::table
        .filter(referral_status_history::referral_id.eq(referral_id))
        .select((
            referral_status_history::id,
            referral_status_history::details,
        ))
        .load(c)?;
    for (id, details) in rows {
        diesel::update(referral_status_history::table.find(&id))
            .set((
                referral_status_history::summary.eq(""),
                referral_status_history::details.eq(without_free_text(&details)),
            ))
            .execute(c)?;
    }
    diesel::update(
        referral_amendments::table.filter(referral_amendments::referral_id.eq(referral_id)),
    )
    .set((
        referral_amendments::old_value.eq(""),
        referral_amendments::new_value.eq(""),
        referral_amendments::reason.eq(""),
    ))
    .execute(c)?;
    diesel::update(referral_events::table.filter(referral_events::referral_id.eq(referral_id)))
        .set(referral_events::summary.eq(""))
        .execute(c)?;
    diesel::update(
        crate::db::schema::identity_links::table
            .filter(crate::db::schema::identity_links::referral_id.eq(referral_id)),
    )
    .set(crate::db::schema::identity_links::decision_reason.eq(None::<String>))
    .execute(c)?;
    Ok(())
}

fn without_free_text(details: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(details) {
        Ok(serde_json::Value::Object(mut m)) => {
            for key in FREE_TEXT_DETAILS {
                m.remove(*key);
            }
            serde_json::Value::Object(m).to_string()
        }
        _ => "{}".to_owned(),
    }
}

/// Sessions keep their time, status and outcome (the report counts them); notes, places,
/// reasons and questionnaire answers go.
fn treatment(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    diesel::update(session_plans::table.filter(session_plans::referral_id.eq(referral_id)))
        .set(session_plans::location.eq(None::<String>))
        .execute(c)?;
    diesel::update(
        treatment_sessions::table.filter(treatment_sessions::referral_id.eq(referral_id)),
    )
    .set((
        treatment_sessions::location.eq(None::<String>),
        treatment_sessions::engagement_notes.eq(None::<String>),
        treatment_sessions::summary_for_ro.eq(None::<String>),
        treatment_sessions::change_reason.eq(None::<String>),
        treatment_sessions::cancel_reason.eq(None::<String>),
        treatment_sessions::absence_reason.eq(None::<String>),
    ))
    .execute(c)?;
    diesel::update(session_notes::table.filter(session_notes::referral_id.eq(referral_id)))
        .set(session_notes::body.eq(None::<String>))
        .execute(c)?;
    diesel::update(
        attendance_corrections::table.filter(attendance_corrections::referral_id.eq(referral_id)),
    )
    .set((
        attendance_corrections::reason.eq(None::<String>),
        attendance_corrections::old_absence_reason.eq(None::<String>),
        attendance_corrections::new_absence_reason.eq(None::<String>),
    ))
    .execute(c)?;
    diesel::update(outcome_measures::table.filter(outcome_measures::referral_id.eq(referral_id)))
        .set(outcome_measures::answers.eq(""))
        .execute(c)?;
    diesel::update(risk_alerts::table.filter(risk_alerts::referral_id.eq(referral_id)))
        .set(risk_alerts::action_taken.eq(None::<String>))
        .execute(c)?;
    diesel::update(
        practitioner_reports::table.filter(practitioner_reports::referral_id.eq(referral_id)),
    )
    .set(practitioner_reports::note.eq(""))
    .execute(c)?;
    diesel::update(
        enforcement_reviews::table.filter(enforcement_reviews::referral_id.eq(referral_id)),
    )
    .set((
        enforcement_reviews::note.eq(None::<String>),
        enforcement_reviews::withdrawn_reason.eq(None::<String>),
    ))
    .execute(c)?;
    Ok(())
}

/// Signposting reasons, the no-onward-support reason, the end-of-treatment summary, and the
/// free text of linked DRR and ATR requirements and their activity.
fn onward_and_linked(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    diesel::update(signpostings::table.filter(signpostings::referral_id.eq(referral_id)))
        .set(signpostings::reason.eq(None::<String>))
        .execute(c)?;
    diesel::update(no_onward_support::table.filter(no_onward_support::referral_id.eq(referral_id)))
        .set(no_onward_support::reason.eq(""))
        .execute(c)?;
    diesel::update(end_summaries::table.filter(end_summaries::referral_id.eq(referral_id)))
        .set(end_summaries::summary.eq(""))
        .execute(c)?;
    let linked = linked_requirements::table
        .filter(linked_requirements::referral_id.eq(referral_id))
        .select(linked_requirements::id);
    diesel::update(
        linked_activity::table.filter(linked_activity::linked_requirement_id.eq_any(linked)),
    )
    .set(linked_activity::note.eq(""))
    .execute(c)?;
    diesel::update(
        linked_requirements::table.filter(linked_requirements::referral_id.eq(referral_id)),
    )
    .set((
        linked_requirements::treatment_director.eq(""),
        linked_requirements::key_contact.eq(None::<String>),
    ))
    .execute(c)?;
    Ok(())
}

/// Emails about the referral (they carry its reference and the person's initials): those
/// not yet sent are withdrawn; sent ones keep their recipient and time, not their words.
fn emails(c: &mut DbConn, reference: &str) -> Result<(), AppError> {
    let about = format!("%{reference}%");
    let mentions = outbox_messages::subject
        .like(about.clone())
        .or(outbox_messages::text_body.like(about));
    diesel::delete(
        outbox_messages::table
            .filter(mentions.clone())
            .filter(outbox_messages::status.eq_any([OutboxStatus::Queued, OutboxStatus::Dead])),
    )
    .execute(c)?;
    diesel::update(outbox_messages::table.filter(mentions))
        .set((
            outbox_messages::subject.eq("Removed under the retention policy"),
            outbox_messages::text_body.eq(""),
            outbox_messages::html_body.eq(""),
            outbox_messages::last_error.eq(None::<String>),
        ))
        .execute(c)?;
    Ok(())
}

/// Blanks the person's record, and any record merged into it, once every referral of theirs
/// is erased. Returns whether it did.
pub fn person_if_done(c: &mut DbConn, person_id: &str) -> Result<bool, AppError> {
    let left: i64 = referrals::table
        .filter(referrals::person_id.eq(person_id))
        .filter(referrals::erased_at.is_null())
        .count()
        .get_result(c)?;
    if left > 0 {
        return Ok(false);
    }
    let merged = people::table
        .filter(people::merged_into_id.eq(person_id))
        .select(people::id);
    let ids: Vec<String> = merged.load(c)?;
    let now = crate::clock::now();
    diesel::delete(
        crate::db::schema::contact_details::table.filter(
            crate::db::schema::contact_details::person_id
                .eq(person_id)
                .or(crate::db::schema::contact_details::person_id.eq_any(ids.clone())),
        ),
    )
    .execute(c)?;
    diesel::update(people::table.filter(people::id.eq(person_id).or(people::id.eq_any(ids))))
        .set((
            people::given_name.eq(""),
            people::family_name.eq(""),
            people::date_of_birth.eq(ERASED_BIRTH_DATE),
            people::gender_identity.eq(GenderIdentity::NotStated),
            people::ethnicity.eq(None::<String>),
            people::pnc_id.eq(None::<String>),
            people::crn.eq(None::<String>),
            people::gp_practice.eq(None::<String>),
            people::communication_needs.eq(None::<String>),
            people::interpreter_needed.eq(false),
            people::language.eq(None::<String>),
            people::updated_at.eq(now),
            people::erased_at.eq(now),
        ))
        .execute(c)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_court_leaves_a_timeline_entry_and_codes_stay() {
        let kept = without_free_text(
            r#"{"order_type":"community","court":"Leicester Magistrates","date":"2024-01-02"}"#,
        );
        assert!(!kept.contains("Leicester"), "{kept}");
        assert!(
            kept.contains("community") && kept.contains("2024-01-02"),
            "{kept}"
        );
        assert_eq!(without_free_text("not json"), "{}");
    }
}
