//! The audit log in plain words: what each recorded event means, and what kind of record it
//! names. The stored codes stay as they are (they are hashed into the chain); these words
//! are only how the pages show them.

/// What happened, in words, for a stored event code. A code this table does not know is
/// shown with its parts spelled out ("widget.polished" becomes "Widget: polished"), so a
/// new event is never hidden.
pub fn describe(event: &str) -> String {
    let known = match event {
        "account.activated" => "Activated their account from an invitation",
        "api_token.issued" => "Was issued an API token",
        "api_token.revoked" => "Revoked an API token",
        "area.intake_mailbox_changed" => "Changed an area's intake mailbox",
        "area.intake_mailbox_requested" => "Asked to change an area's intake mailbox",
        "area.population_recorded" => "Recorded an area's adult population",
        "audit.exported" => "Exported the audit log",
        "audit.entry_viewed" => "Looked at an audit log entry in full",
        "calendar_feed.created" => "Created a calendar feed link",
        "calendar_feed.read" => "Calendar feed read by a calendar app",
        "calendar_feed.revoked" => "Revoked a calendar feed link",
        "data.exported" => "Exported the service's data",
        "database.backup_taken" => "Took a backup of the database",
        "database.restored" => "Restored the database from a backup",
        "diary.viewed" => "Looked at a diary",
        "directory_service.added" => "Added a service to the directory",
        "directory_service.changed" => "Changed a service in the directory",
        "directory_service.deactivated" => "Took a service out of the directory",
        "directory_service.reactivated" => "Put a service back in the directory",
        "email.preferences_changed" => "Changed their email preferences",
        "email.requeued" => "Sent a failed email again",
        "email.sent" => "An email was sent",
        "import.batch" => "Imported records from a legacy system",
        "import.native" => "Imported a data export",
        "leave.cancelled" => "Cancelled a practitioner's leave",
        "session.covered" => "Had a colleague cover a session during leave",
        "leave.recorded" => "Recorded a practitioner's leave",
        "linked.activity_added" => "Recorded activity on a linked DRR or ATR",
        "linked.added" => "Added a linked DRR or ATR",
        "linked.listed" => "Looked at a referral's linked requirements",
        "linked.status_changed" => "Changed the status of a linked DRR or ATR",
        "linked.viewed" => "Looked at a linked DRR or ATR",
        "mfa.enrolled" => "Set up an authenticator app",
        "mfa.reset" => "Reset someone's authenticator app",
        "mfa.reset_link_used" => "Used a link to set up a new authenticator app",
        "outbox.searched" => "Searched the email outbox",
        "password.changed" => "Changed their password",
        "password.reset" => "Reset their password from a link",
        "person.identity_decided" => "Decided whether a new referral is someone already known",
        "person.identity_linked" => "Joined a referral to a person already known",
        "person.merge_undone" => "Undid a merge of two people's records",
        "person.merged" => "Merged two records of the same person",
        "practitioner_capacity.changed" => "Changed a practitioner's working pattern",
        "referral.access_reason" => "Gave a reason to open a referral outside their own work",
        "referral.amended" => "Amended a referral",
        "referral.created" => "Made a referral",
        "referral.end_summary_viewed" => "Looked at an end-of-treatment summary",
        "referral.sessions_viewed" => "Looked at a referral's treatment sessions",
        "referral.contact_viewed" => "Looked at the person's contact details",
        "referral.contact_changed" => {
            "Changed the person's contact details or reminder preferences"
        }
        "reminder.sent" => "Sent an appointment reminder to the person",
        "reminder.retried" => "Sent a failed appointment reminder again",
        "reminders.template_changed" => "Changed the wording of an appointment reminder",
        "referral.session_notes_viewed" => "Looked at a session's notes and their versions",
        "referral.signposting_viewed" => "Looked at a referral's onward support",
        "referral.transition" => "Moved a referral to its next stage",
        "referral.viewed" => "Looked at a referral",
        "referral_draft.purged" => "Unfinished draft referrals deleted",
        "report.uptake_api" => "Read the uptake report through the API",
        "data_quality.viewed" => "Looked at the data-quality checks",
        "report.evaluation_return" => {
            "Took the evaluation return (one row a referral, naming no one)"
        }
        "report.identifier_extract" => "Took the identifier extract (references with CRN and PNC)",
        "report.uptake_downloaded" => "Downloaded the uptake report as CSV or a spreadsheet",
        "report.uptake_viewed" => "Looked at the uptake report",
        "retention.erased" => "Erased a closed referral at the end of its retention period",
        "retention.retained" => "Decided to keep a closed referral for longer",
        "service_closure.added" => "Added a day the service is closed",
        "service_closure.deleted" => "Removed a day the service is closed",
        "session.ended" => "Signed someone out",
        "session.ended_all" => "Signed everyone out",
        "sessions.added" => "Added a treatment session",
        "sessions.attendance_corrected" => "Corrected a recorded attendance",
        "sessions.attendance_recorded" => "Recorded a session's attendance",
        "sessions.cancelled" => "Cancelled a treatment session",
        "sessions.enforcement_decided" => "Recorded an enforcement decision on an absence",
        "sessions.evidence_decided" => "Decided the evidence for an absence",
        "sessions.evidence_lapsed" => "An absence's last day for evidence passed",
        "sessions.measure_recorded" => "Recorded an outcome measure",
        "sessions.notes_written" => "Wrote a new version of a session's notes",
        "sessions.plan_made" => "Planned the treatment sessions",
        "sessions.practitioner_report" => "Wrote a practitioner report",
        "sessions.rescheduled" => "Moved a treatment session",
        "sessions.risk_alert_acknowledged" => "Acknowledged a risk alert",
        "sessions.shifted" => "Moved the remaining treatment sessions",
        "sign_in.failed" => "Failed to sign in",
        "sign_in.succeeded" => "Signed in",
        "signposting.end_summary" => "Wrote an end-of-treatment summary",
        "signposting.no_onward_support" => "Recorded that no onward support was needed",
        "signposting.recorded" => "Signposted someone to a service",
        "signposting.updated" => "Updated the outcome of a signposting",
        "user.created" => "Added a user",
        "user.disabled" => "Disabled a user",
        "user.enabled" => "Enabled a user",
        "user.password_reset_link" => "Sent a user a password reset link",
        "user.service_wide" => "Changed whether an administrator is service-wide",
        "user.updated" => "Changed a user's details",
        "user.vetting_recorded" => "Recorded a user's vetting",
        "waiting_list.viewed" => "Looked at the waiting list",
        "worklist.viewed" => "Looked at a worklist",
        _ => return spelled_out(event),
    };
    known.to_owned()
}

/// "widget.polished_twice" as "Widget: polished twice".
fn spelled_out(event: &str) -> String {
    let Some((subject, what)) = event.split_once('.') else {
        return crate::web::format::capitalise(&event.replace('_', " "));
    };
    format!(
        "{}: {}",
        crate::web::format::capitalise(&subject.replace('_', " ")),
        what.replace(['_', '.'], " ")
    )
}

/// What a record type is called on the page.
pub fn record_kind(record_type: &str) -> String {
    match record_type {
        "api_token" => "API token".into(),
        "directory_service" => "Directory service".into(),
        "import_batch" => "Import".into(),
        "outbox_message" => "Email".into(),
        "service_closure" => "Closure day".into(),
        "session" => "Treatment session".into(),
        other => crate::web::format::capitalise(&other.replace('_', " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_events_read_as_sentences_and_unknown_ones_are_spelled_out() {
        assert_eq!(describe("referral.viewed"), "Looked at a referral");
        assert_eq!(describe("sign_in.failed"), "Failed to sign in");
        assert_eq!(describe("widget.polished_twice"), "Widget: polished twice");
        assert_eq!(describe("user"), "User");
        assert_eq!(record_kind("directory_service"), "Directory service");
        assert_eq!(record_kind("referral"), "Referral");
    }

    /// Every event code the service records has its own words: a new code written without
    /// them fails here, not silently on the page.
    #[test]
    fn every_event_the_service_records_has_words() {
        let mut missing = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("words.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, _) in text.match_indices("Event::new(") {
                    let call = &text[i..text.len().min(i + 200)];
                    // The code is a literal inside the call's own parentheses.
                    let Some(start) = call.find('"') else {
                        continue;
                    };
                    if call.find(')').is_some_and(|close| close < start) {
                        continue;
                    }
                    let rest = &call[start + 1..];
                    let code = &rest[..rest.find('"').unwrap_or(0)];
                    let looks_like_code = !code.is_empty()
                        && code
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.');
                    if looks_like_code && describe(code) == spelled_out(code) {
                        missing.push(format!("{code} ({})", path.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "events without words: {missing:?}");
    }
}
