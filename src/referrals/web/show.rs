//! The referral page, with its timeline.

use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::referrals::forms::{self, Step};
use crate::referrals::model::{self};
use crate::referrals::service::Loaded;
use crate::referrals::state::{self, Action, Status};
use crate::referrals::views::{self};
use crate::state::State;
use crate::users::model::Role;
use crate::web::{self as page, format};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::*;

fn section_rows(l: &Loaded, steps: &[Step], can_amend: bool) -> Vec<views::Row> {
    let raw = l.input.to_raw();
    let area = |id: &str| l.area_names.get(id).cloned().unwrap_or_default();
    let rid = l.referral.id.clone();
    let href = |f: &forms::Field| {
        if can_amend {
            format!("/referrals/{rid}/amend#{}", f.name)
        } else {
            String::new()
        }
    };
    steps
        .iter()
        .flat_map(|s| views::answer_rows(&raw, Some(*s), l.withheld, &area, &href))
        .collect()
}

#[derive(Serialize)]
struct ActionLink {
    href: String,
    text: &'static str,
}

pub async fn show(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    filter: web::Query<TimelineFilter>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let shown = viewed_for_page(&state, &user, &id, |c, viewer, l| {
        let linked = if crate::sessions::service::follows_treatment(viewer.role) {
            crate::linked::model::requirements_of(c, &l.referral.id)?
        } else {
            Vec::new()
        };
        let can_link = crate::linked::service::may_change(viewer, &l.referral);
        let t = crate::sessions::service::treatment(c, viewer, &l.referral)?;
        let mut names = l.names.clone();
        for uid in t
            .alerts
            .iter()
            .filter_map(|a| a.acknowledged_by.clone())
            .chain(t.reports.iter().map(|r| r.written_by.clone()))
        {
            if let std::collections::btree_map::Entry::Vacant(e) = names.entry(uid) {
                let n = model::user_name(c, e.key())?;
                e.insert(n);
            }
        }
        let clinical = matches!(
            viewer.role,
            Role::ClinicalLead | Role::AssistantPsychologist
        );
        let view = crate::sessions::views::treatment_view(
            &t,
            &names,
            clinical,
            crate::sessions::service::local_now().date(),
        );
        // Ending treatment and onward support, in the same read.
        let (end, onward) = crate::signposting::service::referral_section(c, viewer, &l.referral)?;
        let clinical = crate::sessions::service::sees_clinical(viewer.role);
        let ending = (
            end.map(|e| crate::signposting::views::EndSummaryView::new(&e, clinical)),
            crate::signposting::views::OnwardView::new(&onward, crate::clock::today()),
        );
        Ok(((t.can_manage, view), (linked, can_link), ending))
    })
    .await?;
    let (l, (treatment, linked, (end_summary, onward))) = match shown {
        PageRead::Shown(l, extra) => (l, extra),
        PageRead::Erased(view) => {
            return erased_page(&state, &user, &view).await;
        }
    };
    let (linked, can_link) = linked;
    let (can_manage_sessions, treatment) = treatment;
    let r = &l.referral;
    let role = user.user.role;
    let amend = can_amend(role, r.status) && !l.withheld.any();
    #[derive(Serialize)]
    struct MergeView {
        id: String,
        text: String,
    }
    let merges: Vec<MergeView> = if role == Role::ClinicalLead {
        let pid = r.person_id.clone();
        state
            .db
            .run(move |c| model::live_merges_into(c, &pid))
            .await?
            .into_iter()
            .map(|m| MergeView {
                id: m.id,
                text: format!(
                    "Another record of this person was merged in on {}",
                    format::date_time(m.merged_at)
                ),
            })
            .collect()
    } else {
        Vec::new()
    };
    let name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| l.names.get(i).cloned())
            .unwrap_or_else(|| "Not yet".into())
    };
    let summary = vec![
        views::Row {
            key: "Reference".into(),
            value: r.reference.clone(),
            href: String::new(),
        },
        views::Row {
            key: "Status".into(),
            value: r.status.label().into(),
            href: String::new(),
        },
        views::Row {
            key: "Entry point".into(),
            value: r.entry_point.label().into(),
            href: String::new(),
        },
        views::Row {
            key: "Area".into(),
            value: l.area_names.get(&r.area_id).cloned().unwrap_or_default(),
            href: String::new(),
        },
        views::Row {
            key: "Submitted".into(),
            value: format::date_time(r.submitted_at),
            href: String::new(),
        },
        views::Row {
            key: "Referred by".into(),
            value: l.names.get(&r.created_by).cloned().unwrap_or_default(),
            href: String::new(),
        },
        views::Row {
            key: "Responsible officer".into(),
            value: name(&r.responsible_officer_id),
            href: String::new(),
        },
        views::Row {
            key: "Assessing psychologist".into(),
            value: name(&r.assessor_id),
            href: String::new(),
        },
        views::Row {
            key: "Allocated psychologist".into(),
            value: name(&r.allocated_ap_id),
            href: String::new(),
        },
    ];
    let actions: Vec<ActionLink> = l
        .offered(role, &user.user.id)
        .into_iter()
        .map(|a| ActionLink {
            href: format!("/referrals/{}/actions/{}", r.id, a.as_str()),
            text: a.label(),
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("id", &r.id);
    ctx.insert("reference", &r.reference);
    ctx.insert(
        "person_name",
        &format!("{} {}", l.person.given_name, l.person.family_name),
    );
    ctx.insert("status_label", r.status.label());
    ctx.insert("status_colour", r.status.colour());
    ctx.insert("summary_rows", &summary);
    let mut person_rows = section_rows(&l, &[Step::Person], amend);
    if let Some(pos) = person_rows.iter().position(|r| r.key == "Ethnic group") {
        person_rows.insert(
            pos + 1,
            views::Row {
                key: "Broad ethnic group".into(),
                value: l
                    .input
                    .person
                    .ethnicity
                    .map(|e| e.group().label().to_owned())
                    .unwrap_or_else(|| "Not stated".into()),
                href: String::new(),
            },
        );
    }
    ctx.insert("person_rows", &person_rows);
    ctx.insert(
        "referral_rows",
        &section_rows(&l, &[Step::EntryPoint, Step::Details], amend),
    );
    const RISK: [&str; 4] = [
        "Risk of serious harm",
        "Safeguarding concerns",
        "Risk to staff",
        "Risk to staff details",
    ];
    let (risk_rows, needs_rows): (Vec<views::Row>, Vec<views::Row>) =
        section_rows(&l, &[Step::NeedsAndRisk], amend)
            .into_iter()
            .partition(|r| RISK.contains(&r.key.as_str()));
    ctx.insert("needs_rows", &needs_rows);
    ctx.insert("risk_rows", &risk_rows);
    ctx.insert("consent", &views::consent_text(&l));
    ctx.insert("order", &views::order_text(&l));
    ctx.insert("assessment_report", &views::report_view(&l));
    ctx.insert("report_withheld", &views::report_withheld(&l));
    ctx.insert(
        "follows_treatment",
        &crate::sessions::service::follows_treatment(role),
    );
    let shown = filter
        .timeline
        .as_deref()
        .filter(|f| matches!(*f, "mhtr" | "drr" | "atr"))
        .unwrap_or("all");
    let timeline: Vec<views::TimelineItem> = views::timeline(&l)
        .into_iter()
        .filter(|t| shown == "all" || t.source == shown)
        .collect();
    ctx.insert("timeline", &timeline);
    #[derive(Serialize)]
    struct FilterLink {
        text: &'static str,
        href: String,
        current: bool,
    }
    let filters: Vec<FilterLink> = [
        ("all", "Everything"),
        ("mhtr", "MHTR"),
        ("drr", "DRR"),
        ("atr", "ATR"),
    ]
    .into_iter()
    .map(|(code, text)| FilterLink {
        text,
        href: if code == "all" {
            format!("/referrals/{}#timeline", r.id)
        } else {
            format!("/referrals/{}?timeline={code}#timeline", r.id)
        },
        current: code == shown,
    })
    .collect();
    ctx.insert("timeline_filters", &filters);
    ctx.insert(
        "linked",
        &linked
            .iter()
            .map(crate::linked::views::LinkedRequirementJson::new)
            .collect::<Vec<_>>(),
    );
    let combination = crate::linked::service::combination(&linked);
    ctx.insert("linked_combination", combination.label());
    ctx.insert("can_link", &can_link);
    ctx.insert("actions", &actions);
    let mine = state::available(role, r.status);
    let blocked: Vec<serde_json::Value> = l
        .blocked
        .iter()
        .filter(|(a, _)| mine.contains(a))
        .map(|(a, why)| {
            serde_json::json!({
                "label": a.label(),
                "why": why,
                "onward": *a == Action::Close,
            })
        })
        .collect();
    ctx.insert("blocked", &blocked);
    ctx.insert("can_amend", &amend);
    ctx.insert("merges", &merges);
    ctx.insert("identity", &l.identity);
    ctx.insert("can_merge", &(role == Role::ClinicalLead));
    ctx.insert("treatment", &treatment);
    ctx.insert("can_manage_sessions", &can_manage_sessions);
    ctx.insert(
        "can_plan",
        &(can_manage_sessions && !treatment.has_plan && r.status == Status::Allocated),
    );
    ctx.insert(
        "can_add_session",
        &(can_manage_sessions
            && treatment.has_plan
            && matches!(r.status, Status::Allocated | Status::InTreatment)),
    );
    ctx.insert(
        "can_report",
        &(can_manage_sessions
            && matches!(
                r.status,
                Status::Allocated | Status::InTreatment | Status::Ended
            )),
    );
    ctx.insert("is_lead", &(role == Role::ClinicalLead));
    ctx.insert("alert_next_step", crate::sessions::model::ALERT_NEXT_STEP);
    ctx.insert(
        "is_holder",
        &(role == Role::ProbationOfficer && r.holder() == user.user.id),
    );
    ctx.insert("end_summary", &end_summary);
    ctx.insert("onward", &onward);
    page::render(&state, &user, "/referrals", "referrals/show.html", ctx).await
}
