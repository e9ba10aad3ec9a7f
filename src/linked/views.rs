//! What templates and JSON see of linked requirements: never a database row directly.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::linked::model::{Activity, LinkedRequirement};
use crate::linked::service::{self, Details};
use crate::web::format;

/// A linked requirement, for its page, the referral page and the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkedRequirementJson {
    pub id: String,
    pub referral_id: String,
    /// `drr` or `atr`.
    pub kind: String,
    pub kind_label: String,
    /// `DRR` or `ATR`.
    pub short: String,
    pub provider: String,
    pub treatment_director: String,
    pub key_contact: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: String,
    pub end_date: String,
    pub start_text: String,
    pub end_text: String,
    /// `parallel`, `linked_first` (the DRR or ATR comes first) or `mhtr_first`.
    pub sequencing: String,
    pub sequencing_label: String,
    /// `proposed`, `active`, `completed` or `revoked`.
    pub status: String,
    pub status_label: String,
    pub status_colour: String,
    /// The statuses it may move to now.
    pub next_statuses: Vec<String>,
    /// UTC, ISO 8601.
    pub created_at: String,
    pub updated_at: String,
}

impl LinkedRequirementJson {
    pub fn new(l: &LinkedRequirement) -> Self {
        Self {
            id: l.id.clone(),
            referral_id: l.referral_id.clone(),
            kind: l.kind.as_str().into(),
            kind_label: l.kind.label().into(),
            short: l.kind.short().into(),
            provider: l.provider.clone(),
            treatment_director: l.treatment_director.clone(),
            key_contact: l.key_contact.clone(),
            start_date: l.start_date.to_string(),
            end_date: l.end_date.to_string(),
            start_text: format::date(l.start_date),
            end_text: format::date(l.end_date),
            sequencing: l.sequencing.as_str().into(),
            sequencing_label: l.sequencing.label().into(),
            status: l.status.as_str().into(),
            status_label: l.status.label().into(),
            status_colour: l.status.colour().into(),
            next_statuses: l.status.next().iter().map(|s| s.as_str().into()).collect(),
            created_at: format::iso(l.created_at),
            updated_at: format::iso(l.updated_at),
        }
    }
}

/// One activity entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityJson {
    pub id: String,
    /// `YYYY-MM-DD`.
    pub on_date: String,
    pub on_text: String,
    /// `appointment_attended`, `appointment_missed`, `review_held`, `court_review`,
    /// `status_changed` or `note`.
    pub kind: String,
    pub kind_label: String,
    pub note: String,
    pub entered_by: String,
    /// `page` or `api`.
    pub entered_via: String,
    /// UTC, ISO 8601.
    pub created_at: String,
}

impl ActivityJson {
    pub fn new(a: &Activity, entered_by: String) -> Self {
        Self {
            id: a.id.clone(),
            on_date: a.on_date.to_string(),
            on_text: format::date(a.on_date),
            kind: a.kind.as_str().into(),
            kind_label: a.kind.label().into(),
            note: a.note.clone(),
            entered_by,
            entered_via: a.entered_via.as_str().into(),
            created_at: format::iso(a.created_at),
        }
    }
}

/// A DRR's court review date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourtReviewJson {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub text: String,
    /// Still to come.
    pub upcoming: bool,
}

/// A linked requirement with its activity, newest first, and its court reviews.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkedRequirementDetailJson {
    pub requirement: LinkedRequirementJson,
    pub activity: Vec<ActivityJson>,
    /// DRRs only; earliest first.
    pub court_reviews: Vec<CourtReviewJson>,
    /// Whether the caller may change the status.
    pub can_change: bool,
    /// Whether the caller may enter activity.
    pub can_log: bool,
}

impl LinkedRequirementDetailJson {
    pub fn new(d: &Details, today: NaiveDate) -> Self {
        Self {
            requirement: LinkedRequirementJson::new(&d.requirement),
            activity: d
                .activity
                .iter()
                .map(|a| {
                    ActivityJson::new(a, d.names.get(&a.entered_by).cloned().unwrap_or_default())
                })
                .collect(),
            court_reviews: service::court_reviews(&d.activity, today)
                .into_iter()
                .map(|(date, upcoming)| CourtReviewJson {
                    date: date.to_string(),
                    text: format::date(date),
                    upcoming,
                })
                .collect(),
            can_change: d.can_change,
            can_log: d.can_log,
        }
    }
}

/// A referral's linked requirements and what the order combines.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkedRequirementsJson {
    pub referral_id: String,
    /// `none`, `drr`, `atr` or `drr_and_atr`: the requirements that became active.
    pub combination: String,
    pub combination_label: String,
    pub requirements: Vec<LinkedRequirementJson>,
}

impl LinkedRequirementsJson {
    pub fn new(referral_id: String, reqs: &[LinkedRequirement]) -> Self {
        let c = service::combination(reqs);
        Self {
            referral_id,
            combination: c.as_str().into(),
            combination_label: c.label().into(),
            requirements: reqs.iter().map(LinkedRequirementJson::new).collect(),
        }
    }
}
