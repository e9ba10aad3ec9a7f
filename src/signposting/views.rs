//! What templates and JSON see of the directory, signposting and the end-of-treatment
//! summary. Measure totals are clinical: other roles see only whether each measure reliably
//! improved.

use serde::Serialize;
use utoipa::ToSchema;

use crate::signposting::model::{DirectoryService, Signposting};
use crate::signposting::service::{Due, Onward};
use crate::signposting::summary::EndOfTreatment;
use crate::web::format;

fn utc(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DirectoryServiceJson {
    pub id: String,
    pub name: String,
    /// `talking_therapies`, `community_mental_health`, `gp`, `drug_alcohol`, `housing`,
    /// `employment`, `debt`, `domestic_abuse`, `peer_support` or `other`.
    pub service_type: String,
    pub service_type_label: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub active: bool,
    /// Ids of the areas served (for administrators; empty where not loaded).
    pub area_ids: Vec<String>,
}

impl DirectoryServiceJson {
    pub fn new(s: &DirectoryService, area_ids: Vec<String>) -> Self {
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
            service_type: s.service_type.as_str().into(),
            service_type_label: s.service_type.label().into(),
            phone: s.phone.clone(),
            email: s.email.clone(),
            website: s.website.clone(),
            address: s.address.clone(),
            active: s.active,
            area_ids,
        }
    }

    /// Phone, email, website and address on one line.
    pub fn contact(&self) -> String {
        [&self.phone, &self.email, &self.website, &self.address]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignpostingJson {
    pub id: String,
    pub service: DirectoryServiceJson,
    /// `YYYY-MM-DD`.
    pub signposted_date: String,
    /// `suggested`, `referral_made`, `accepted`, `declined` or `not_needed`.
    pub status: String,
    /// Accepted, declined and not needed are final; the others await an answer.
    pub is_final: bool,
    pub reason: Option<String>,
    /// `YYYY-MM-DD`.
    pub follow_up_date: Option<String>,
    /// Send it back with a change; a change made meanwhile is refused with 409.
    pub version: i64,
}

impl SignpostingJson {
    pub fn new(s: &Signposting, service: &DirectoryService) -> Self {
        Self {
            id: s.id.clone(),
            service: DirectoryServiceJson::new(service, Vec::new()),
            signposted_date: s.signposted_on.to_string(),
            status: s.status.as_str().into(),
            is_final: s.status.is_final(),
            reason: s.reason.clone(),
            follow_up_date: s.follow_up_on.map(|d| d.to_string()),
            version: s.version,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoOnwardSupportJson {
    pub reason: String,
    /// UTC.
    pub recorded_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnwardSupportJson {
    pub signpostings: Vec<SignpostingJson>,
    pub no_onward_support: Option<NoOnwardSupportJson>,
    /// Whether the referral may be closed as far as onward support goes.
    pub settled: bool,
    /// Active services covering the referral's area: the ones that may be chosen.
    pub offered_services: Vec<DirectoryServiceJson>,
}

impl OnwardSupportJson {
    pub fn new(o: &Onward) -> Self {
        let signpostings: Vec<SignpostingJson> = o
            .signpostings
            .iter()
            .map(|(s, svc)| SignpostingJson::new(s, svc))
            .collect();
        Self {
            settled: signpostings.iter().all(|s| s.is_final)
                && (!signpostings.is_empty() || o.no_onward.is_some()),
            signpostings,
            no_onward_support: o.no_onward.as_ref().map(|n| NoOnwardSupportJson {
                reason: n.reason.clone(),
                recorded_at: utc(n.recorded_at),
            }),
            offered_services: o
                .offered
                .iter()
                .map(|s| DirectoryServiceJson::new(s, Vec::new()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureChangeJson {
    /// `phq9`, `gad7` or `core10`.
    pub instrument: String,
    pub label: String,
    /// Clinical roles only: absent for others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_total: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_total: Option<u32>,
    /// Last minus first (negative is a fall). Clinical roles only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<i64>,
    /// The fall reaches the instrument's reliable change (PHQ-9 6, GAD-7 4, CORE-10 6).
    pub reliable_improvement: bool,
    /// `reliable_improvement`, `no_reliable_change` or `reliable_deterioration` (a rise of
    /// at least the reliable change).
    pub reliable_change: String,
    pub reliable_change_label: String,
    /// At or above the instrument's clinical cut-off (PHQ-9 10, GAD-7 8, CORE-10 11) at the
    /// first and at the last score.
    pub caseness_at_start: bool,
    pub caseness_at_end: bool,
}

/// The PHQ-9 and GAD-7 read together, in the NHS Talking Therapies definitions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CombinedOutcomeJson {
    /// At caseness on either measure at the start.
    pub caseness_at_start: bool,
    /// At caseness at the start, below both cut-offs at the end; `null` when not at caseness
    /// at the start (outside recovery's denominator).
    pub recovered: Option<bool>,
    /// `reliable_improvement` (at least one reliably improved, neither deteriorated),
    /// `reliable_deterioration` (either did) or `no_reliable_change`.
    pub reliable_change: String,
    /// Recovered and reliably improved; `null` when not at caseness at the start.
    pub reliably_recovered: Option<bool>,
    /// The reading in words.
    pub text: String,
}

impl CombinedOutcomeJson {
    pub fn new(c: &crate::sessions::outcomes::Combined) -> Self {
        let recovery = match (c.recovered, c.reliably_recovered) {
            (None, _) => "not at caseness at the start, so outside the recovery rate".to_owned(),
            (Some(true), Some(true)) => "reliably recovered".to_owned(),
            (Some(true), _) => "recovered (below both cut-offs at the end)".to_owned(),
            (Some(false), _) => "not recovered (still at caseness at the end)".to_owned(),
        };
        Self {
            caseness_at_start: c.caseness_at_start,
            recovered: c.recovered,
            reliable_change: c.change.as_str().to_owned(),
            reliably_recovered: c.reliably_recovered,
            text: format!("{}; {recovery}", c.change.label()),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndSummaryJson {
    pub sessions_attended: i64,
    pub target_sessions: i32,
    /// `completed` or `ended_early`.
    pub end_outcome: Option<String>,
    pub end_reason: Option<String>,
    /// `YYYY-MM-DD`.
    pub end_date: Option<String>,
    pub measures: Vec<MeasureChangeJson>,
    /// The PHQ-9 and GAD-7 together, when both have a first and a last score.
    pub combined_outcome: Option<CombinedOutcomeJson>,
    /// The practitioner's summary for the responsible officer.
    pub practitioner_summary: Option<String>,
    pub summary_written_by: Option<String>,
    /// UTC.
    pub summary_written_at: Option<String>,
    /// Sessions missed: acceptable absences (and any still awaiting evidence), and
    /// unacceptable failures (absences and failures to comply).
    pub sessions_missed_acceptable: i64,
    pub sessions_missed_unacceptable: i64,
    /// Each service signposted to and where it stands.
    pub onward_support: Vec<OnwardItemJson>,
    /// Why no onward support was needed, when that was recorded.
    pub no_onward_support_reason: Option<String>,
    /// `measures` is empty because the person has not consented to share their health
    /// information with criminal justice agencies (probation callers only).
    pub measures_withheld: bool,
}

/// A service signposted to, as the end-of-treatment summary lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnwardItemJson {
    pub service: String,
    /// `suggested`, `referred`, `accepted`, … (the signposting's status code).
    pub status: String,
    pub status_label: String,
}

impl EndSummaryJson {
    pub fn new(e: &EndOfTreatment, clinical: bool) -> Self {
        Self {
            sessions_attended: e.sessions_attended,
            target_sessions: e.target_sessions,
            end_outcome: e.outcome.map(|o| o.as_str().into()),
            end_reason: e.reason.map(|r| r.as_str().into()),
            end_date: e.ended_on.map(|d| d.to_string()),
            measures: e
                .changes
                .iter()
                .map(|m| MeasureChangeJson {
                    instrument: m.instrument.as_str().into(),
                    label: m.instrument.label().into(),
                    first_total: clinical.then_some(m.first),
                    last_total: clinical.then_some(m.last),
                    change: clinical.then_some(m.change),
                    reliable_improvement: m.reliably_improved,
                    reliable_change: m.outcome.change.as_str().into(),
                    reliable_change_label: m.outcome.change.label().into(),
                    caseness_at_start: m.outcome.caseness_at_start,
                    caseness_at_end: m.outcome.caseness_at_end,
                })
                .collect(),
            combined_outcome: e.combined.as_ref().map(CombinedOutcomeJson::new),
            practitioner_summary: e.summary.as_ref().map(|s| s.summary.clone()),
            summary_written_by: e.summary_by.clone(),
            summary_written_at: e.summary.as_ref().map(|s| utc(s.written_at)),
            sessions_missed_acceptable: e.missed_acceptable,
            sessions_missed_unacceptable: e.missed_unacceptable,
            onward_support: e
                .onward
                .iter()
                .map(|(service, status)| OnwardItemJson {
                    service: service.clone(),
                    status: status.as_str().into(),
                    status_label: status.label().into(),
                })
                .collect(),
            no_onward_support_reason: e.no_onward.clone(),
            measures_withheld: e.measures_withheld,
        }
    }
}

/// The summary as the referral page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EndSummaryView {
    pub sessions: String,
    pub ended: String,
    pub measures: Vec<MeasureChangeJson>,
    pub combined: Option<CombinedOutcomeJson>,
    pub summary: Option<String>,
    pub byline: Option<String>,
    /// Whether measure totals are shown.
    pub clinical: bool,
    /// The measures are withheld from probation without the person's consent to share.
    pub measures_withheld: bool,
}

impl EndSummaryView {
    pub fn new(e: &EndOfTreatment, clinical: bool) -> Self {
        let ended = match (e.outcome, e.reason) {
            (Some(o), Some(r)) => format!("{}: {}", o.label(), r.label().to_lowercase()),
            (Some(o), None) => o.label().to_owned(),
            _ => "Ended".to_owned(),
        };
        let ended = match e.ended_on {
            Some(d) => format!("{ended}, on {}", format::date(d)),
            None => ended,
        };
        Self {
            sessions: format!(
                "{} of {}; missed: {} acceptable, {} unacceptable",
                e.sessions_attended, e.target_sessions, e.missed_acceptable, e.missed_unacceptable
            ),
            ended,
            measures: EndSummaryJson::new(e, clinical).measures,
            combined: e.combined.as_ref().map(CombinedOutcomeJson::new),
            summary: e.summary.as_ref().map(|s| s.summary.clone()),
            byline: e.summary.as_ref().map(|s| {
                format!(
                    "{}, {}",
                    e.summary_by.clone().unwrap_or_default(),
                    format::date_time(s.written_at)
                )
            }),
            clinical,
            measures_withheld: e.measures_withheld,
        }
    }
}

/// One signposting as a row of the referral page.
#[derive(Debug, Clone, Serialize)]
pub struct SignpostingRow {
    pub id: String,
    pub service: String,
    pub service_type: String,
    pub contact: String,
    pub signposted: String,
    pub status: String,
    pub colour: String,
    pub reason: Option<String>,
    pub follow_up: Option<String>,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OnwardView {
    pub rows: Vec<SignpostingRow>,
    pub no_onward_reason: Option<String>,
    pub can_manage: bool,
    pub open: bool,
    pub settled: bool,
}

impl OnwardView {
    pub fn new(o: &Onward, today: chrono::NaiveDate) -> Self {
        let json = OnwardSupportJson::new(o);
        Self {
            rows: o
                .signpostings
                .iter()
                .map(|(s, svc)| SignpostingRow {
                    id: s.id.clone(),
                    service: svc.name.clone(),
                    service_type: svc.service_type.label().into(),
                    contact: DirectoryServiceJson::new(svc, Vec::new()).contact(),
                    signposted: format::date(s.signposted_on),
                    status: s.status.label().into(),
                    colour: s.status.colour().into(),
                    reason: s.reason.clone(),
                    follow_up: s.follow_up_on.map(format::date),
                    overdue: !s.status.is_final() && s.follow_up_on.is_some_and(|d| d <= today),
                })
                .collect(),
            no_onward_reason: o.no_onward.as_ref().map(|n| n.reason.clone()),
            can_manage: o.can_manage,
            open: o.open,
            settled: json.settled,
        }
    }
}

/// A due follow-up as listed for the practitioner.
#[derive(Debug, Clone, Serialize)]
pub struct DueRow {
    pub href: String,
    pub reference: String,
    pub service: String,
    pub status: String,
    pub follow_up: String,
}

impl From<&Due> for DueRow {
    fn from(d: &Due) -> Self {
        Self {
            href: format!("/signposting/{}/update", d.signposting.id),
            reference: d.reference.clone(),
            service: d.service_name.clone(),
            status: d.signposting.status.label().into(),
            follow_up: d
                .signposting
                .follow_up_on
                .map(format::date)
                .unwrap_or_default(),
        }
    }
}
