//! What templates and JSON see of referrals: never a database row directly.

use serde::Serialize;
use utoipa::ToSchema;

use crate::form::RawForm;
use crate::referrals::consent::Withheld;
use crate::referrals::forms::{self, Field, Kind, ReferralInput, Step};
use crate::referrals::model::ListRow;
use crate::referrals::service::Loaded;
use crate::referrals::state::{Action, Status};
use crate::web::format;

/// A summary-list row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub key: String,
    pub value: String,
    pub href: String,
}

/// One entry of the MoJ timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineItem {
    /// What part of the order it is about: `mhtr` (the referral, its status and its
    /// sessions), `drr` or `atr` (a linked requirement).
    pub source: String,
    pub title: String,
    pub byline: String,
    pub datetime_iso: String,
    pub datetime_text: String,
    pub description: String,
}

/// A referral in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferralSummary {
    pub id: String,
    pub reference: String,
    pub person_name: String,
    pub status: String,
    pub status_label: String,
    pub status_colour: &'static str,
    pub entry_point: String,
    pub entry_point_label: String,
    pub area: String,
    pub urgency: String,
    /// UTC, ISO 8601.
    pub submitted_at: String,
    pub submitted_text: String,
    /// An arrest referral that no probation officer has taken over yet.
    pub needs_responsible_officer: bool,
}

impl ReferralSummary {
    pub fn new(r: &ListRow, area: String) -> Self {
        Self {
            id: r.id.clone(),
            reference: r.reference.clone(),
            person_name: format!("{} {}", r.given_name, r.family_name),
            status: r.status.as_str().into(),
            status_label: r.status.label().into(),
            status_colour: r.status.colour(),
            entry_point: r.entry_point.as_str().into(),
            entry_point_label: r.entry_point.label().into(),
            area,
            urgency: r.urgency.as_str().into(),
            submitted_at: format::iso(r.submitted_at),
            submitted_text: format::date(r.submitted_at.date()),
            needs_responsible_officer: r.entry_point == crate::referrals::codes::EntryPoint::Arrest
                && r.responsible_officer_id.is_none()
                && !r.status.is_final(),
        }
    }
}

/// The fields that apply to this referral's entry point, in order.
pub fn applicable_fields(entry: Option<crate::referrals::codes::EntryPoint>) -> Vec<Field> {
    forms::fields()
        .into_iter()
        .filter(|f| f.only_for.is_none() || f.only_for == entry)
        .collect()
}

/// Summary rows for the answers of one step (or all steps), empty answers shown as "Not
/// given"; answers `withheld` from the viewer read why, not to be changed.
pub fn answer_rows(
    raw: &RawForm,
    step: Option<Step>,
    withheld: Withheld,
    area_name: &dyn Fn(&str) -> String,
    href: &dyn Fn(&Field) -> String,
) -> Vec<Row> {
    let entry = raw.get("entry_point").parse().ok();
    applicable_fields(entry)
        .iter()
        .filter(|f| step.is_none_or(|s| f.step == s))
        .map(|f| {
            if let Some(why) = withheld.text(f.name) {
                return Row {
                    key: f.label.to_owned(),
                    value: why.to_owned(),
                    href: String::new(),
                };
            }
            let v = forms::display(f, raw, area_name);
            Row {
                key: f.label.to_owned(),
                value: if v.is_empty() { "Not given".into() } else { v },
                href: href(f),
            }
        })
        .collect()
}

/// The answers as JSON, in the shape the API accepts them: codes, dates as ISO 8601,
/// lists as arrays, yes/no as booleans.
pub fn answers_json(
    input: &ReferralInput,
    withheld: Withheld,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let raw = input.to_raw();
    let entry = Some(input.entry_point);
    let mut out = serde_json::Map::new();
    for f in applicable_fields(entry) {
        if withheld.text(f.name).is_some() {
            out.insert(f.name.to_owned(), Value::Null);
            continue;
        }
        let v = match f.kind {
            Kind::Date => {
                let d = crate::form::parse_date(
                    raw.get(&format!("{}_day", f.name)),
                    raw.get(&format!("{}_month", f.name)),
                    raw.get(&format!("{}_year", f.name)),
                    "date",
                );
                d.map(|d| Value::String(d.to_string()))
                    .unwrap_or(Value::Null)
            }
            Kind::Multi(_) => {
                Value::Array(raw.all(f.name).into_iter().map(Value::String).collect())
            }
            Kind::YesNo => match raw.get(f.name) {
                "yes" => Value::Bool(true),
                "no" => Value::Bool(false),
                _ => Value::Null,
            },
            _ => match raw.get(f.name) {
                "" => Value::Null,
                s => Value::String(s.to_owned()),
            },
        };
        out.insert(f.name.to_owned(), v);
    }
    out
}

fn history_title(action: Action, to: Status) -> String {
    match action {
        Action::Submit => "Referral submitted".into(),
        Action::TakeOver => "Taken over by a responsible officer".into(),
        Action::HandOver => "Handed over to another responsible officer".into(),
        Action::VaryOrder => "Order varied by the court".into(),
        Action::EndOrder => "Order ended by the court".into(),
        Action::BookAssessment => "Assessment booked".into(),
        Action::AllocateAp if to == Status::InTreatment => {
            "Treatment handed to another assistant psychologist".into()
        }
        Action::AllocateAp => "Assistant psychologist allocated".into(),
        Action::WithdrawConsent => "Consent withdrawn".into(),
        _ => to.label().to_owned(),
    }
}

/// The referral's timeline, newest first: every transition and amendment with who and when,
/// the treatment sessions and any linked DRR or ATR — the combined timeline of the order.
pub fn timeline(l: &Loaded) -> Vec<TimelineItem> {
    let mut items: Vec<(chrono::NaiveDateTime, TimelineItem)> = l
        .history
        .iter()
        .map(|h| {
            (
                h.at,
                TimelineItem {
                    source: "mhtr".into(),
                    title: history_title(h.action, h.to_status),
                    byline: h.actor_name.clone(),
                    datetime_iso: format::iso(h.at),
                    datetime_text: format::date_time(h.at),
                    description: h.summary.clone(),
                },
            )
        })
        .collect();
    // Amendments made together (same time, same person) are one entry.
    let mut i = 0;
    while i < l.amendments.len() {
        let first = &l.amendments[i];
        let group: Vec<_> = l.amendments[i..]
            .iter()
            .take_while(|a| a.at == first.at && a.actor_user_id == first.actor_user_id)
            .collect();
        let changes: Vec<String> = group
            .iter()
            .map(|a| {
                format!(
                    "{}: changed from “{}” to “{}”",
                    a.field_label,
                    if a.old_value.is_empty() {
                        "not given"
                    } else {
                        &a.old_value
                    },
                    if a.new_value.is_empty() {
                        "not given"
                    } else {
                        &a.new_value
                    },
                )
            })
            .collect();
        items.push((
            first.at,
            TimelineItem {
                source: "mhtr".into(),
                title: "Referral amended".into(),
                byline: first.actor_name.clone(),
                datetime_iso: format::iso(first.at),
                datetime_text: format::date_time(first.at),
                description: format!("{}. Reason: {}", changes.join("; "), first.reason),
            },
        ));
        i += group.len();
    }
    for m in &l.merges {
        let who = |id: &str| l.names.get(id).cloned().unwrap_or_default();
        items.push((
            m.merged_at,
            TimelineItem {
                source: "mhtr".into(),
                title: "Records of this person merged".into(),
                byline: who(&m.merged_by),
                datetime_iso: format::iso(m.merged_at),
                datetime_text: format::date_time(m.merged_at),
                description: if m.contact_moved {
                    "Another record of the same person was joined to this one, with its contact details for reminders"
                } else {
                    "Another record of the same person was joined to this one"
                }
                .into(),
            },
        ));
        if let (Some(at), Some(by)) = (m.undone_at, &m.undone_by) {
            items.push((
                at,
                TimelineItem {
                    source: "mhtr".into(),
                    title: "Merge undone".into(),
                    byline: who(by),
                    datetime_iso: format::iso(at),
                    datetime_text: format::date_time(at),
                    description: if m.contact_moved {
                        "The records are separate again, and the contact details went back"
                    } else {
                        "The records are separate again"
                    }
                    .into(),
                },
            ));
        }
    }
    for e in &l.events {
        items.push((
            e.at,
            TimelineItem {
                source: e.kind.source().into(),
                title: e.kind.label().to_owned(),
                byline: e.actor_name.clone(),
                datetime_iso: format::iso(e.at),
                datetime_text: format::date_time(e.at),
                description: e.summary.clone(),
            },
        ));
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.0));
    items.into_iter().map(|(_, t)| t).collect()
}

/// The latest consent record, in words.
pub fn consent_text(l: &Loaded) -> String {
    let last = l
        .history
        .iter()
        .rev()
        .find(|h| matches!(h.action, Action::RecordConsent | Action::WithdrawConsent));
    let treatment = match last {
        Some(h) if h.action == Action::WithdrawConsent => format!(
            "Consent withdrawn, recorded by {} on {}",
            h.actor_name,
            format::date(h.at.date())
        ),
        Some(h) => h.summary.clone(),
        None => "Consent to treatment not recorded yet".into(),
    };
    let sharing = l.share_consent.label();
    let shared_with_probation = match (l.share_consent, l.withheld.health) {
        (crate::referrals::consent::ShareConsent::Given, _) => "",
        (_, true) => {
            ": its health information is withheld from you; attendance, compliance and risk are still shared, as the order requires"
        }
        (_, false) => {
            ": its health information is withheld from probation; attendance, compliance and risk are still shared, as the order requires"
        }
    };
    format!("{treatment}. {sharing}{shared_with_probation}.")
}

/// Whether a report was sent that the viewer may not read: it is health information, and
/// the person has not consented to share it with them.
pub fn report_withheld(l: &Loaded) -> bool {
    l.withheld.health && l.history.iter().any(|h| h.action == Action::SendReport)
}

/// The latest assessment and suitability report, as the referral page and the API show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportView {
    /// `YYYY-MM-DD`.
    pub sent_on: Option<String>,
    pub sent_by: String,
    pub formulation: String,
    pub recommendation: String,
    /// `YYYY-MM-DD`.
    pub proposed_start: String,
    pub proposed_sessions: u32,
    /// `in_person`, `phone` or `video`.
    pub proposed_mode: String,
    /// The same, in words.
    pub proposal: String,
    /// When and by whom, in words.
    pub sent: String,
}

/// The latest assessment and suitability report sent, if any (none once erased).
pub fn report_view(l: &Loaded) -> Option<ReportView> {
    // The report is health information: withheld where the person did not consent.
    if l.withheld.health {
        return None;
    }
    let h = l
        .history
        .iter()
        .filter(|h| h.action == Action::SendReport)
        .max_by_key(|h| h.at)?;
    let details: serde_json::Value = serde_json::from_str(&h.details).ok()?;
    let report: forms::AssessmentReport =
        serde_json::from_value(details.get("report")?.clone()).ok()?;
    Some(ReportView {
        sent_on: details
            .get("date")
            .and_then(|d| d.as_str())
            .map(str::to_owned),
        sent: match details
            .get("date")
            .and_then(|d| d.as_str())
            .and_then(|d| d.parse().ok())
        {
            Some(day) => format!("{}, by {}", format::date(day), h.actor_name),
            None => format!("By {}", h.actor_name),
        },
        sent_by: h.actor_name.clone(),
        proposal: format!(
            "{} sessions, {}, from {}",
            report.proposed_sessions,
            report.proposed_mode.label().to_lowercase(),
            format::date(report.proposed_start)
        ),
        formulation: report.formulation,
        recommendation: report.recommendation,
        proposed_start: report.proposed_start.to_string(),
        proposed_sessions: report.proposed_sessions,
        proposed_mode: report.proposed_mode.as_str().into(),
    })
}

/// The order the court made, in words, with what the court decided since: each variation
/// or revocation, oldest first.
pub fn order_text(l: &Loaded) -> String {
    let made = l
        .history
        .iter()
        .rev()
        .find(|h| h.action == Action::RecordMhtrMade)
        .map(|h| h.summary.clone());
    let Some(made) = made else {
        return "No order recorded".into();
    };
    let mut text = made;
    let mut since: Vec<&crate::referrals::model::HistoryRow> = l
        .history
        .iter()
        .filter(|h| matches!(h.action, Action::VaryOrder | Action::EndOrder))
        .collect();
    since.sort_by_key(|h| h.at);
    for h in since {
        text.push_str(&format!(". {}", h.summary));
    }
    text
}

/// A referral as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferralJson {
    pub id: String,
    pub reference: String,
    pub status: String,
    pub status_label: String,
    /// Send this back with a transition or amendment; a stale one is refused with 409.
    pub version: i64,
    pub entry_point: String,
    pub area_id: String,
    pub area: String,
    pub person_id: String,
    /// The ONS 2021 broad group derived from `answers.ethnicity` (null when not stated).
    pub ethnic_group: Option<String>,
    pub created_by: String,
    pub responsible_officer: Option<String>,
    pub assessor: Option<String>,
    pub allocated_ap: Option<String>,
    /// UTC, ISO 8601.
    pub submitted_at: String,
    pub updated_at: String,
    /// The referral's answers, keyed like the create request.
    #[schema(value_type = Object)]
    pub answers: serde_json::Map<String, serde_json::Value>,
    /// Answers withheld (null in `answers`): police-linked ones, when the caller's vetting
    /// does not clear them (NPPV, or an enhanced DBS check); health ones from a probation
    /// officer, when the person has not consented to share them (`share_consent`).
    pub withheld: Vec<String>,
    /// The person's consent to share with criminal justice agencies: `given`, `not_given`
    /// (answered no at referral) or `withdrawn`.
    pub share_consent: String,
    pub consent: String,
    /// The assessment and suitability report sent to probation, once sent.
    pub assessment_report: Option<ReportView>,
    /// The order in words, with each variation or revocation since.
    pub order: String,
    /// The day the order was made, and the day the requirement ends now (after any
    /// variation), `YYYY-MM-DD`.
    pub sentence_date: Option<String>,
    pub requirement_end_date: Option<String>,
    /// Newest first.
    pub timeline: Vec<TimelineItem>,
    /// The steps offered to the caller now, as the referral page offers them: allowed for
    /// their role at this status, with nothing missing (see the page for why a step is held
    /// back), taking over or handing over only where it applies.
    pub actions: Vec<String>,
    /// Exact CRN or PNC ID matches with a person record the referrer was not shown, for a
    /// clinical lead to confirm or split (empty for every other role).
    pub identity: Vec<crate::referrals::service::IdentityView>,
}

impl ReferralJson {
    /// The referral as `role` (user `me`) may see it, with the steps offered to them.
    pub fn new(l: &Loaded, role: crate::users::model::Role, me: &str) -> Self {
        let r = &l.referral;
        let name = |id: &Option<String>| id.as_ref().and_then(|i| l.names.get(i).cloned());
        Self {
            id: r.id.clone(),
            reference: r.reference.clone(),
            status: r.status.as_str().into(),
            status_label: r.status.label().into(),
            version: r.version,
            entry_point: r.entry_point.as_str().into(),
            area_id: r.area_id.clone(),
            area: l.area_names.get(&r.area_id).cloned().unwrap_or_default(),
            person_id: r.person_id.clone(),
            ethnic_group: l
                .input
                .person
                .ethnicity
                .map(|e| e.group().as_str().to_owned()),
            created_by: l.names.get(&r.created_by).cloned().unwrap_or_default(),
            responsible_officer: name(&r.responsible_officer_id),
            assessor: name(&r.assessor_id),
            allocated_ap: name(&r.allocated_ap_id),
            submitted_at: format::iso(r.submitted_at),
            updated_at: format::iso(r.updated_at),
            answers: answers_json(&l.input, l.withheld),
            withheld: l.withheld.fields().into_iter().map(str::to_owned).collect(),
            share_consent: l.share_consent.as_str().to_owned(),
            consent: consent_text(l),
            assessment_report: report_view(l),
            order: order_text(l),
            sentence_date: l.referral.sentence_date.map(|d| d.to_string()),
            requirement_end_date: l.referral.requirement_end_date.map(|d| d.to_string()),
            timeline: timeline(l),
            actions: l
                .offered(role, me)
                .into_iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            identity: l.identity.clone(),
        }
    }
}
