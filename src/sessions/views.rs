//! What the referral page sees of its treatment: sessions numbered among the live ones,
//! measures, alerts, reports and enforcement reviews, in words.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sessions::codes::{EnforcementDecision, Outcome, SessionStatus};
use crate::sessions::model::{Attendance, Session};
use crate::sessions::service::Treatment;
use crate::web::format;

#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    pub id: String,
    /// Its place among the live appointments, from 1; none for moved or cancelled ones.
    pub number: Option<usize>,
    pub when: String,
    pub mode: String,
    pub status: String,
    pub status_colour: &'static str,
    pub detail: String,
    pub summary_for_ro: String,
    pub engagement_notes: String,
    pub can_record: bool,
    pub can_change: bool,
    pub can_measure: bool,
    /// The viewer may correct what was recorded (its author or a clinical lead).
    pub can_correct: bool,
    /// A recorded session, for a clinical role: its notes and their versions.
    pub has_notes: bool,
    pub version: i64,
    /// The person's messages about it, in words ("Reminder by text message: Delivered").
    pub reminders: Vec<String>,
    /// A message to the person about it was not delivered: weigh that before judging an
    /// absence unacceptable.
    pub reminder_failed: bool,
}

/// An absence awaiting evidence, with the days left.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceRow {
    pub session_id: String,
    pub when: String,
    /// "has until 12 March 2027, 3 days remaining".
    pub countdown: String,
    pub can_decide: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeasureRow {
    pub instrument: String,
    pub stage: String,
    pub session: String,
    pub total: String,
    pub severity: String,
    pub risk: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertRow {
    pub id: String,
    pub raised: String,
    pub open: bool,
    pub text: String,
    /// Why it was raised: a risk item above zero, or a reliable deterioration.
    pub kind_text: &'static str,
    /// What raised it: the measure, the question, the answer and its score, the total.
    pub context: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewRow {
    pub id: String,
    pub open: bool,
    pub text: String,
    /// The viewer (the responsible officer) may withdraw its warning or breach action.
    pub can_withdraw: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub kind: String,
    pub note: String,
    pub byline: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TreatmentView {
    pub has_plan: bool,
    pub plan_text: String,
    pub attended: usize,
    pub target: i32,
    pub sessions: Vec<SessionRow>,
    pub measures: Vec<MeasureRow>,
    pub alerts: Vec<AlertRow>,
    pub reviews: Vec<ReviewRow>,
    pub reports: Vec<ReportRow>,
    pub evidence: Vec<EvidenceRow>,
}

pub fn when(s: &Session) -> String {
    format!(
        "{} {}",
        s.starts_at.format("%a"),
        format::date(s.starts_at.date())
    ) + &format!(", {}", s.starts_at.format("%H:%M"))
}

/// Each live appointment's number, from 1, in time order. A session that did not happen for
/// the service's own reasons is not counted: its replacement takes its number.
pub fn numbers(sessions: &[Session]) -> BTreeMap<String, usize> {
    sessions
        .iter()
        .filter(|s| s.is_live() && s.outcome != Some(Outcome::ServiceLogistics))
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i + 1))
        .collect()
}

/// Each message to the person about a session, in words; withdrawn ones are left out.
pub fn reminder_words(lines: Option<&Vec<crate::reminders::model::ReminderLine>>) -> Vec<String> {
    lines
        .into_iter()
        .flatten()
        .filter(|r| r.status != "cancelled")
        .map(|r| {
            let kind = r
                .kind
                .parse::<crate::reminders::ReminderKind>()
                .map_or("Message", |k| k.label());
            let channel = r
                .channel
                .parse::<crate::reminders::Channel>()
                .map_or("", |c| c.label());
            format!("{kind} by {}: {}", channel.to_lowercase(), r.said)
        })
        .collect()
}

pub fn treatment_view(
    t: &Treatment,
    names: &BTreeMap<String, String>,
    clinical: bool,
    today: chrono::NaiveDate,
) -> TreatmentView {
    let numbers = numbers(&t.sessions);
    let by_id: BTreeMap<&str, &Session> = t.sessions.iter().map(|s| (s.id.as_str(), s)).collect();
    let sessions = t
        .sessions
        .iter()
        .map(|s| {
            let (status, colour) = match (s.status, s.outcome) {
                (SessionStatus::Recorded, Some(o)) => (o.label().to_owned(), o.colour()),
                (SessionStatus::Booked, _) => ("Booked".to_owned(), "blue"),
                (SessionStatus::Cancelled, _) => ("Cancelled".to_owned(), "grey"),
                (st, _) => (st.label().to_owned(), "grey"),
            };
            let mut detail = Vec::new();
            if let Some(l) = &s.location {
                detail.push(l.clone());
            }
            if s.status == SessionStatus::Superseded {
                if let Some(p) = s.change_party {
                    detail.push(format!(
                        "Moved at the request of {}",
                        p.label().to_lowercase()
                    ));
                }
                if let Some(r) = &s.change_reason {
                    detail.push(r.clone());
                }
            }
            if s.status == SessionStatus::Cancelled {
                if let Some(r) = s.cancel_reason {
                    detail.push(r.label().to_owned());
                }
                if let Some(r) = &s.change_reason {
                    detail.push(r.clone());
                }
            }
            if let Some(orig) = s.added_for_id.as_deref().and_then(|id| by_id.get(id))
                && s.replaces_id.is_none()
            {
                detail.push(format!("In place of the session on {}", when(orig)));
            }
            if let Some(why) = s.absence_reason {
                detail.push(why.label().to_owned());
            }
            if let (Some(Outcome::AwaitingEvidence), Some(due)) = (s.outcome, s.evidence_due) {
                detail.push(format!(
                    "The person {} to give evidence",
                    crate::sessions::enforcement::countdown(due, today)
                ));
            }
            for k in t.corrections.iter().filter(|k| k.session_id == s.id) {
                detail.push(format!(
                    "Corrected on {} by {}: was {}. Why: {}",
                    format::date_time(k.corrected_at),
                    names.get(&k.corrected_by).cloned().unwrap_or_default(),
                    Attendance::new(k.old_outcome, k.old_absence_reason, None).describe_lower(),
                    k.reason.clone().unwrap_or_default()
                ));
            }
            SessionRow {
                id: s.id.clone(),
                number: numbers.get(&s.id).copied(),
                when: when(s),
                mode: s.mode.label().to_owned(),
                status,
                status_colour: colour,
                detail: detail.join(". "),
                summary_for_ro: s.summary_for_ro.clone().unwrap_or_default(),
                engagement_notes: if clinical {
                    s.engagement_notes.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                can_record: t.can_manage
                    && s.status == SessionStatus::Booked
                    && s.starts_at.date() <= today,
                can_change: t.can_manage && s.status == SessionStatus::Booked,
                can_measure: t.can_manage && s.outcome.is_some_and(Outcome::attended),
                has_notes: clinical && s.status == SessionStatus::Recorded,
                can_correct: s.status == SessionStatus::Recorded
                    && (t.can_correct_all
                        || (clinical && s.recorded_by.as_deref() == Some(t.viewer_id.as_str()))),
                version: s.version,
                reminders: reminder_words(t.reminders.get(&s.id)),
                reminder_failed: t
                    .reminders
                    .get(&s.id)
                    .is_some_and(|rs| rs.iter().any(|r| r.failed)),
            }
        })
        .collect();
    let session_day = |id: &str| {
        by_id
            .get(id)
            .map(|s| format::date(s.starts_at.date()))
            .unwrap_or_default()
    };
    let measures = t
        .measures
        .iter()
        .map(|m| MeasureRow {
            instrument: m.instrument.label().to_owned(),
            stage: m.stage.label().to_owned(),
            session: session_day(&m.session_id),
            total: format!("{} of {}", m.total, m.instrument.max_total()),
            severity: m.instrument.severity(m.total.max(0) as u32).to_owned(),
            risk: if m.risk {
                "Yes: risk item above zero"
            } else {
                "No"
            },
        })
        .collect();
    let alerts = t
        .alerts
        .iter()
        .map(|a| AlertRow {
            id: a.id.clone(),
            raised: format::date_time(a.raised_at),
            open: a.acknowledged_at.is_none(),
            kind_text: a.kind.label(),
            context: t
                .measures
                .iter()
                .find(|m| m.id == a.measure_id)
                .map(crate::sessions::model::Measure::alert_context)
                .unwrap_or_default(),
            text: match (&a.acknowledged_by, &a.action_taken) {
                (Some(by), Some(what)) => format!(
                    "Acknowledged by {}: {what}",
                    names.get(by).cloned().unwrap_or_default()
                ),
                _ => "Not yet acknowledged by a clinical lead".into(),
            },
        })
        .collect();
    let reviews = t
        .reviews
        .iter()
        .filter(|v| v.decision != Some(EnforcementDecision::Withdrawn))
        .map(|v| {
            let failure = by_id.get(v.session_id.as_str());
            let day = session_day(&v.session_id);
            let what = match (&v.earlier_session_id, failure.and_then(|s| s.outcome)) {
                (Some(first), _) => format!(
                    "Unacceptable absences on {} and {day}, within 12 months",
                    session_day(first)
                ),
                (None, Some(Outcome::FailedToComply)) => {
                    format!("Attended but failed to comply on {day}")
                }
                _ => format!("Unacceptable absence on {day}"),
            };
            let warning = v
                .after_warning_id
                .as_deref()
                .and_then(|w| t.reviews.iter().find(|x| x.id == w))
                .and_then(|w| w.action_on)
                .map(|on| {
                    format!(
                        ", within 12 months of the warning given on {}: breach action is expected",
                        format::date(on)
                    )
                })
                .unwrap_or_default();
            let withdrawn = match (v.withdrawn_at, &v.withdrawn_reason) {
                (Some(at), Some(why)) => format!(
                    ". Withdrawn by the responsible officer on {}: {why}",
                    format::date(crate::clock::utc_to_london(at).date())
                ),
                (Some(at), None) => format!(
                    ". Withdrawn by the responsible officer on {}",
                    format::date(crate::clock::utc_to_london(at).date())
                ),
                _ => String::new(),
            };
            ReviewRow {
                id: v.id.clone(),
                open: v.decided_at.is_none(),
                can_withdraw: t.is_officer && crate::sessions::enforcement::withdrawable(v),
                text: match v.decision {
                    Some(d) => format!(
                        "{what}{warning}. Decided: {}{}{}{withdrawn}",
                        d.label(),
                        v.action_on
                            .map(|on| format!(" on {}", format::date(on)))
                            .unwrap_or_default(),
                        v.note.as_ref().map(|n| format!(". {n}")).unwrap_or_default()
                    ),
                    None => format!(
                        "{what}{warning}. The responsible officer records a warning or breach action"
                    ),
                },
            }
        })
        .collect();
    let evidence = t
        .sessions
        .iter()
        .filter(|s| s.outcome == Some(Outcome::AwaitingEvidence))
        .map(|s| EvidenceRow {
            session_id: s.id.clone(),
            when: when(s),
            countdown: s
                .evidence_due
                .map(|due| crate::sessions::enforcement::countdown(due, today))
                .unwrap_or_default(),
            can_decide: t.can_decide_evidence,
        })
        .collect();
    let reports = t
        .reports
        .iter()
        .map(|r| ReportRow {
            kind: r.kind.label().to_owned(),
            note: r.note.clone(),
            byline: format!(
                "{}, {}",
                names.get(&r.written_by).cloned().unwrap_or_default(),
                format::date_time(r.written_at)
            ),
        })
        .collect();
    TreatmentView {
        has_plan: t.plan.is_some(),
        plan_text: t
            .plan
            .as_ref()
            .map(|p| {
                format!(
                    "{} sessions, {}, {} minutes each, {}{}. Outcome measures {}",
                    p.target_sessions,
                    p.cadence.label().to_lowercase(),
                    p.minutes,
                    p.mode.label().to_lowercase(),
                    p.location
                        .as_ref()
                        .map(|l| format!(" at {l}"))
                        .unwrap_or_default(),
                    p.measures.label().to_lowercase()
                )
            })
            .unwrap_or_default(),
        attended: t
            .sessions
            .iter()
            .filter(|s| s.outcome.is_some_and(Outcome::attended))
            .count(),
        target: t.plan.as_ref().map(|p| p.target_sessions).unwrap_or(12),
        sessions,
        measures,
        alerts,
        reviews,
        reports,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::codes::Mode;

    fn session(id: &str, day: u32, status: SessionStatus, outcome: Option<Outcome>) -> Session {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        Session {
            id: id.into(),
            referral_id: "r".into(),
            area_id: "a".into(),
            ap_user_id: "u".into(),
            starts_at: at,
            minutes: 60,
            mode: Mode::Phone,
            location: None,
            status,
            outcome,
            engagement_notes: None,
            summary_for_ro: None,
            recorded_by: None,
            recorded_at: None,
            change_party: None,
            change_reason: None,
            cancel_reason: None,
            changed_by: None,
            changed_at: None,
            replaces_id: None,
            added_for_id: None,
            version: 1,
            created_by: "u".into(),
            created_at: at,
            updated_at: at,
            absence_reason: None,
            evidence_due: None,
        }
    }

    #[test]
    fn a_session_the_service_could_not_hold_gives_its_number_to_the_replacement() {
        use SessionStatus::*;
        let sessions = [
            session("a", 2, Recorded, Some(Outcome::Attended)),
            session("b", 9, Recorded, Some(Outcome::ServiceLogistics)),
            session("c", 10, Recorded, Some(Outcome::UnacceptableAbsence)),
            session("d", 11, Cancelled, None),
            session("e", 16, Booked, None),
        ];
        let n = numbers(&sessions);
        assert_eq!(n.get("a"), Some(&1));
        assert_eq!(n.get("b"), None);
        assert_eq!(n.get("c"), Some(&2));
        assert_eq!(n.get("d"), None);
        assert_eq!(n.get("e"), Some(&3));
    }
}
