//! The week's work, as lists: for an assistant psychologist their own, for a clinical lead
//! their team's (every referral in their areas). Sessions to record, outcome measures due,
//! assessments and end-of-treatment summaries to write, and the next seven days; and for a
//! clinical lead, referrals waiting for screening past the target, people sentenced but not
//! started within 21 days, treatment that ended without a first or last measure (the
//! national weak point), and referrals whose practitioner or officer has left. Each list is
//! bounded and oldest first, so it costs the same in any history. Showing it is recorded in
//! the audit log, as a list of people the viewer looked at.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{
    end_summaries, outcome_measures, people, referrals, treatment_sessions, users,
};
use crate::error::AppError;
use crate::referrals::model::{Purpose, Viewer, final_statuses, scoped, user_names};
use crate::referrals::state::Status;
use crate::sessions::codes::{MeasureSchedule, Outcome, SessionStatus, Stage};
use crate::sessions::unrecorded::{self, last_day_to_record};
use crate::sessions::upkeep::when;
use crate::users::model::Role;
use crate::web::format;

/// At most this many in one list; the page says when there are more.
const LISTED: i64 = 50;

/// Working days a referral may wait for screening before it is listed as overdue.
pub const SCREENING_WORKING_DAYS: u32 = 5;

/// Days from sentence to the first session before a referral is listed as not started.
pub const START_WITHIN_DAYS: i64 = 21;

/// Ended treatment is checked for missing measures this many days back.
const ENDED_LOOKBACK_DAYS: i64 = 90;

/// One piece of work: the referral, the person, what is due, and whose it is (for a lead).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorklistItem {
    pub href: String,
    pub reference: String,
    pub person: String,
    pub text: String,
    /// The practitioner or officer it belongs to, on a clinical lead's team list.
    pub whose: Option<String>,
}

/// One list of the worklist.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorklistSection {
    /// `to_record`, `next_7_days`, `measures_due`, `reports_due`; for clinical leads also
    /// `screening_overdue`, `not_started`, `ended_without_measures`, `needs_new_owner`.
    pub key: &'static str,
    pub title: &'static str,
    /// What belongs in it, in a sentence.
    pub hint: &'static str,
    pub items: Vec<WorklistItem>,
    /// More than [`LISTED`] were found: the oldest are shown.
    pub more: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Worklist {
    /// "Your work" or "Your team's work".
    pub scope: &'static str,
    pub sections: Vec<WorklistSection>,
}

struct Row {
    referral_id: String,
    href: String,
    text: String,
    whose: Option<String>,
}

/// The worklist of the viewer at `now` (UK time): an assistant psychologist's or a clinical
/// lead's; nobody else has one. The view is recorded.
pub fn worklist(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Worklist, AppError> {
    let lead = match viewer.role {
        Role::ClinicalLead => true,
        Role::AssistantPsychologist => false,
        _ => return Err(AppError::Forbidden),
    };
    let today = now.date();
    // An assistant psychologist's lists are their own; a lead's run through the area scope.
    let own = !lead;
    let mut lists: Vec<(&'static str, &'static str, &'static str, Vec<Row>)> = vec![
        (
            "to_record",
            "Sessions to record",
            "Sessions that are over with no outcome recorded, oldest first.",
            to_record(c, viewer, now)?,
        ),
        (
            "next_7_days",
            "The next 7 days",
            "Booked sessions from now to a week ahead.",
            next_days(c, viewer, own, now)?,
        ),
        (
            "measures_due",
            "Outcome measures due",
            "In treatment with no first measure after a session attended, an attended session with no measure where the plan measures at every session, or at the last session with no last measure.",
            measures_due(c, viewer, own)?,
        ),
        (
            "reports_due",
            "Assessments and summaries to write",
            "Assessments booked and not yet recorded, and ended treatment with no end-of-treatment summary.",
            reports_due(c, viewer, own)?,
        ),
    ];
    if lead {
        lists.push((
            "screening_overdue",
            "Waiting for screening",
            "Referrals submitted more than 5 working days ago and not yet screened.",
            screening_overdue(c, viewer, today)?,
        ));
        lists.push((
            "not_started",
            "Sentenced, not started within 21 days",
            "An MHTR made more than 21 days ago with no session attended yet.",
            not_started(c, viewer, today)?,
        ));
        lists.push((
            "ended_without_measures",
            "Ended without a first or last measure",
            "Treatment ended in the last 90 days after sessions attended, missing a first or a last measure.",
            ended_without_measures(c, viewer, today)?,
        ));
        lists.push((
            "needs_new_owner",
            "Needs a new owner",
            "Open referrals whose responsible officer, assessor or assistant psychologist no longer has an account.",
            needs_new_owner(c, viewer)?,
        ));
    }
    let ids: BTreeSet<String> = lists
        .iter()
        .flat_map(|(_, _, _, rows)| rows.iter().map(|r| r.referral_id.clone()))
        .collect();
    let names = person_names(c, &ids)?;
    let shown = ids.len();
    let sections = lists
        .into_iter()
        .map(|(key, title, hint, rows)| {
            let more = rows.len() as i64 > LISTED;
            WorklistSection {
                key,
                title,
                hint,
                more,
                items: rows
                    .into_iter()
                    .take(LISTED as usize)
                    .map(|r| {
                        let (reference, person) =
                            names.get(&r.referral_id).cloned().unwrap_or_default();
                        WorklistItem {
                            href: r.href,
                            reference,
                            person,
                            text: r.text,
                            whose: r.whose.filter(|_| lead),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Consultation, "worklist.viewed").details(serde_json::json!({
            "referrals": shown,
        })),
    )?;
    Ok(Worklist {
        scope: if lead {
            "Your team's work"
        } else {
            "Your work"
        },
        sections,
    })
}

/// The reference and the person's name of each referral.
fn person_names(
    c: &mut DbConn,
    ids: &BTreeSet<String>,
) -> Result<BTreeMap<String, (String, String)>, AppError> {
    let rows: Vec<(String, String, String, String)> = referrals::table
        .inner_join(people::table)
        .filter(referrals::id.eq_any(ids))
        .select((
            referrals::id,
            referrals::reference,
            people::given_name,
            people::family_name,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(id, reference, given, family)| (id, (reference, format!("{given} {family}"))))
        .collect())
}

fn to_record(c: &mut DbConn, viewer: &Viewer, now: NaiveDateTime) -> Result<Vec<Row>, AppError> {
    let waiting = unrecorded::waiting(c, viewer, now)?;
    let names = user_names(c, waiting.iter().map(|u| u.ap_user_id.clone()))?;
    Ok(waiting
        .into_iter()
        .map(|u| Row {
            href: format!("/sessions/{}/attendance", u.session_id),
            text: u.describe(),
            whose: names.get(&u.ap_user_id).cloned(),
            referral_id: u.referral_id,
        })
        .collect())
}

/// The booked sessions of the viewer's referrals (an assistant psychologist's own sessions;
/// a lead's area) in the coming week.
fn next_days(
    c: &mut DbConn,
    viewer: &Viewer,
    own: bool,
    now: NaiveDateTime,
) -> Result<Vec<Row>, AppError> {
    let mut q = treatment_sessions::table
        .filter(treatment_sessions::status.eq(SessionStatus::Booked))
        .filter(treatment_sessions::starts_at.ge(now))
        .filter(treatment_sessions::starts_at.lt(now + Duration::days(7)))
        .into_boxed::<crate::db::MultiBackend>();
    q = if own {
        q.filter(treatment_sessions::ap_user_id.eq(viewer.user_id.clone()))
    } else {
        q.filter(treatment_sessions::area_id.eq_any(viewer.area_ids.clone()))
    };
    let rows: Vec<(String, String, NaiveDateTime, String, String)> = q
        .select((
            treatment_sessions::id,
            treatment_sessions::referral_id,
            treatment_sessions::starts_at,
            treatment_sessions::mode,
            treatment_sessions::ap_user_id,
        ))
        .order(treatment_sessions::starts_at.asc())
        .limit(LISTED + 1)
        .load(c)?;
    let names = user_names(c, rows.iter().map(|r| r.4.clone()))?;
    Ok(rows
        .into_iter()
        .map(|(_, referral_id, at, mode, ap)| Row {
            href: format!("/referrals/{referral_id}#sessions"),
            text: format!(
                "Session on {}, {}",
                when(at),
                mode.parse::<crate::sessions::codes::Mode>()
                    .map(|m| m.label().to_lowercase())
                    .unwrap_or(mode)
            ),
            whose: names.get(&ap).cloned(),
            referral_id,
        })
        .collect())
}

/// Referrals in treatment (the viewer's own, or in a lead's areas) and their practitioners.
fn in_treatment(
    c: &mut DbConn,
    viewer: &Viewer,
    own: bool,
) -> Result<Vec<(String, Option<String>)>, AppError> {
    let mut q = scoped(viewer, Purpose::Casework)
        .filter(referrals::status.eq_any([Status::Allocated, Status::InTreatment]));
    if own {
        q = q.filter(referrals::allocated_ap_id.eq(viewer.user_id.clone()));
    }
    Ok(q.select((referrals::id, referrals::allocated_ap_id))
        .order(referrals::updated_at.asc())
        .limit(2_000)
        .load(c)?)
}

/// Per referral: sessions attended, which measure stages are recorded, and the latest
/// attended session with no measure at all.
#[derive(Default)]
struct Progress {
    attended: i64,
    first: bool,
    last: bool,
    unmeasured: Option<NaiveDateTime>,
}

fn progress(c: &mut DbConn, ids: &[String]) -> Result<BTreeMap<String, Progress>, AppError> {
    let attended: Vec<(String, String, NaiveDateTime)> = treatment_sessions::table
        .filter(treatment_sessions::referral_id.eq_any(ids))
        .filter(treatment_sessions::outcome.eq_any([Outcome::Attended, Outcome::AttendedLate]))
        .select((
            treatment_sessions::referral_id,
            treatment_sessions::id,
            treatment_sessions::starts_at,
        ))
        .load(c)?;
    let taken: Vec<(String, String, Stage)> = outcome_measures::table
        .filter(outcome_measures::referral_id.eq_any(ids))
        .select((
            outcome_measures::referral_id,
            outcome_measures::session_id,
            outcome_measures::stage,
        ))
        .load(c)?;
    let measured: BTreeSet<&str> = taken.iter().map(|(_, s, _)| s.as_str()).collect();
    let mut out: BTreeMap<String, Progress> = ids
        .iter()
        .map(|id| (id.clone(), Progress::default()))
        .collect();
    for (id, session, at) in &attended {
        if let Some(p) = out.get_mut(id) {
            p.attended += 1;
            if !measured.contains(session.as_str()) && p.unmeasured.is_none_or(|u| u < *at) {
                p.unmeasured = Some(*at);
            }
        }
    }
    for (id, _, stage) in &taken {
        if let Some(p) = out.get_mut(id) {
            match stage {
                Stage::First => p.first = true,
                Stage::Last => p.last = true,
                Stage::Mid => {}
            }
        }
    }
    Ok(out)
}

/// Referrals in treatment whose next measure is due: the first, once a session is attended;
/// under a plan that measures at every session, any attended session without one; and the
/// last, near the end of the plan.
fn measures_due(c: &mut DbConn, viewer: &Viewer, own: bool) -> Result<Vec<Row>, AppError> {
    use crate::db::schema::session_plans;
    let treating = in_treatment(c, viewer, own)?;
    let ids: Vec<String> = treating.iter().map(|(id, _)| id.clone()).collect();
    let done = progress(c, &ids)?;
    let plans: BTreeMap<String, (i32, MeasureSchedule)> = session_plans::table
        .filter(session_plans::referral_id.eq_any(&ids))
        .select((
            session_plans::referral_id,
            session_plans::target_sessions,
            session_plans::measures,
        ))
        .load::<(String, i32, MeasureSchedule)>(c)?
        .into_iter()
        .map(|(id, target, measures)| (id, (target, measures)))
        .collect();
    let names = user_names(c, treating.iter().filter_map(|(_, ap)| ap.clone()))?;
    let mut out = Vec::new();
    for (id, ap) in treating {
        let Some(p) = done.get(&id) else { continue };
        let (target, schedule) = plans
            .get(&id)
            .map(|(t, m)| (i64::from(*t), *m))
            .unwrap_or((12, MeasureSchedule::StartAndEnd));
        let text = if p.attended >= 1 && !p.first {
            "No first measure: take PHQ-9 and GAD-7 (or CORE-10) at the next session".to_owned()
        } else if let Some(at) = p
            .unmeasured
            .filter(|_| schedule == MeasureSchedule::EverySession)
        {
            format!(
                "No measure from the session on {}: measures are taken at every session",
                format::date(at.date())
            )
        } else if p.attended >= target - 1 && !p.last {
            format!(
                "{} of {target} sessions attended: take the last measures at the last session",
                p.attended
            )
        } else {
            continue;
        };
        out.push(Row {
            href: format!("/referrals/{id}#sessions"),
            text,
            whose: ap.and_then(|a| names.get(&a).cloned()),
            referral_id: id,
        });
    }
    Ok(out)
}

fn reports_due(c: &mut DbConn, viewer: &Viewer, own: bool) -> Result<Vec<Row>, AppError> {
    let mut assessing =
        scoped(viewer, Purpose::Casework).filter(referrals::status.eq(Status::AssessmentBooked));
    if own {
        assessing = assessing.filter(referrals::assessor_id.eq(viewer.user_id.clone()));
    }
    let assessing: Vec<(String, Option<String>)> = assessing
        .select((referrals::id, referrals::assessor_id))
        .order(referrals::updated_at.asc())
        .limit(LISTED + 1)
        .load(c)?;
    let mut ended = scoped(viewer, Purpose::Casework)
        .filter(referrals::status.eq(Status::Ended))
        .filter(referrals::id.ne_all(end_summaries::table.select(end_summaries::referral_id)));
    if own {
        ended = ended.filter(referrals::allocated_ap_id.eq(viewer.user_id.clone()));
    }
    let ended: Vec<(String, Option<String>)> = ended
        .select((referrals::id, referrals::allocated_ap_id))
        .order(referrals::updated_at.asc())
        .limit(LISTED + 1)
        .load(c)?;
    let names = user_names(
        c,
        assessing
            .iter()
            .chain(ended.iter())
            .filter_map(|(_, u)| u.clone()),
    )?;
    let whose = |u: &Option<String>| u.as_ref().and_then(|u| names.get(u).cloned());
    let mut out: Vec<Row> = assessing
        .iter()
        .map(|(id, u)| Row {
            href: format!("/referrals/{id}/actions/record_assessment"),
            text: "Assessment booked: record it once held".into(),
            whose: whose(u),
            referral_id: id.clone(),
        })
        .collect();
    out.extend(ended.iter().map(|(id, u)| Row {
        href: format!("/referrals/{id}"),
        text: "Treatment ended: write the end-of-treatment summary".into(),
        whose: whose(u),
        referral_id: id.clone(),
    }));
    Ok(out)
}

fn screening_overdue(
    c: &mut DbConn,
    viewer: &Viewer,
    today: NaiveDate,
) -> Result<Vec<Row>, AppError> {
    // Five working days back is at most a fortnight back, holidays included.
    let rows: Vec<(String, NaiveDateTime)> = scoped(viewer, Purpose::Casework)
        .filter(referrals::status.eq(Status::Submitted))
        .filter(
            referrals::submitted_at
                .lt((today - Duration::days(5)).and_time(chrono::NaiveTime::MIN)),
        )
        .select((referrals::id, referrals::submitted_at))
        .order(referrals::submitted_at.asc())
        .limit(LISTED + 1)
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at)| {
            let day = crate::clock::utc_to_london(at).date();
            (last_day_to_record(day, SCREENING_WORKING_DAYS) < today).then(|| Row {
                href: format!("/referrals/{id}"),
                text: format!(
                    "Submitted on {} ({} days ago), not yet screened",
                    format::date(day),
                    (today - day).num_days()
                ),
                whose: None,
                referral_id: id,
            })
        })
        .collect())
}

fn not_started(c: &mut DbConn, viewer: &Viewer, today: NaiveDate) -> Result<Vec<Row>, AppError> {
    let rows: Vec<(String, Option<NaiveDate>)> = scoped(viewer, Purpose::Casework)
        .filter(referrals::status.eq_any(crate::sessions::capacity::upkeep::WAITING))
        .filter(referrals::sentence_date.lt(today - Duration::days(START_WITHIN_DAYS)))
        .select((referrals::id, referrals::sentence_date))
        .order(referrals::sentence_date.asc())
        .limit(LISTED + 1)
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, sentenced)| {
            let sentenced = sentenced?;
            Some(Row {
                href: format!("/referrals/{id}"),
                text: format!(
                    "Sentenced on {} ({} days ago), no session attended yet",
                    format::date(sentenced),
                    (today - sentenced).num_days()
                ),
                whose: None,
                referral_id: id,
            })
        })
        .collect())
}

fn ended_without_measures(
    c: &mut DbConn,
    viewer: &Viewer,
    today: NaiveDate,
) -> Result<Vec<Row>, AppError> {
    let since = (today - Duration::days(ENDED_LOOKBACK_DAYS)).and_time(chrono::NaiveTime::MIN);
    let ended: Vec<(String, Option<String>)> = scoped(viewer, Purpose::Casework)
        .filter(referrals::status.eq_any([Status::Ended, Status::Closed]))
        .filter(referrals::updated_at.ge(since))
        .select((referrals::id, referrals::allocated_ap_id))
        .order(referrals::updated_at.asc())
        .limit(2_000)
        .load(c)?;
    let ids: Vec<String> = ended.iter().map(|(id, _)| id.clone()).collect();
    let done = progress(c, &ids)?;
    let names = user_names(c, ended.iter().filter_map(|(_, ap)| ap.clone()))?;
    Ok(ended
        .into_iter()
        .filter_map(|(id, ap)| {
            let p = done.get(&id)?;
            let missing = match (p.first, p.last) {
                _ if p.attended == 0 => return None,
                (false, false) => "no first or last measure",
                (false, true) => "no first measure",
                (true, false) => "no last measure",
                (true, true) => return None,
            };
            Some(Row {
                href: format!("/referrals/{id}"),
                text: format!(
                    "Ended after {} session{} attended with {missing}",
                    p.attended,
                    if p.attended == 1 { "" } else { "s" }
                ),
                whose: ap.and_then(|a| names.get(&a).cloned()),
                referral_id: id,
            })
        })
        .collect())
}

/// A referral, its status, and its officer, assessor and assistant psychologist.
type Holders = (
    String,
    Status,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Open referrals whose holder left: the officer, the assessor of a booked assessment, or
/// the assistant psychologist of a treatment.
fn needs_new_owner(c: &mut DbConn, viewer: &Viewer) -> Result<Vec<Row>, AppError> {
    let disabled = crate::referrals::model::disabled_ids(c)?;
    if disabled.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Holders> = scoped(viewer, Purpose::Casework)
        .filter(referrals::status.ne_all(final_statuses()))
        .filter(
            referrals::responsible_officer_id
                .eq_any(disabled.clone())
                .or(referrals::status
                    .eq(Status::AssessmentBooked)
                    .and(referrals::assessor_id.eq_any(disabled.clone())))
                .or(referrals::status
                    .eq_any([Status::Allocated, Status::InTreatment])
                    .and(referrals::allocated_ap_id.eq_any(disabled))),
        )
        .select((
            referrals::id,
            referrals::status,
            referrals::responsible_officer_id,
            referrals::assessor_id,
            referrals::allocated_ap_id,
        ))
        .order(referrals::reference.asc())
        .limit(LISTED + 1)
        .load(c)?;
    let gone: BTreeSet<String> = users::table
        .filter(
            users::id.eq_any(
                rows.iter()
                    .flat_map(|(_, _, o, a, p)| [o.clone(), a.clone(), p.clone()])
                    .flatten()
                    .collect::<Vec<_>>(),
            ),
        )
        .filter(users::disabled_at.is_not_null())
        .select(users::id)
        .load::<String>(c)?
        .into_iter()
        .collect();
    let left = |u: &Option<String>| u.as_ref().is_some_and(|u| gone.contains(u));
    Ok(rows
        .into_iter()
        .map(|(id, status, officer, assessor, _)| {
            let (text, href) = if left(&officer) {
                (
                    "The responsible officer no longer has an account: another officer takes it over",
                    format!("/referrals/{id}"),
                )
            } else if status == Status::AssessmentBooked && left(&assessor) {
                (
                    "The assessor no longer has an account: book the assessment with another",
                    format!("/referrals/{id}/actions/book_assessment"),
                )
            } else {
                (
                    "The assistant psychologist no longer has an account: allocate another",
                    format!("/referrals/{id}/actions/allocate_ap"),
                )
            };
            Row {
                href,
                text: text.into(),
                whose: None,
                referral_id: id,
            }
        })
        .collect())
}
