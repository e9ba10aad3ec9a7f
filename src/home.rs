//! The home page each role lands on after sign-in, and the static information pages.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::state::State;
use crate::users::model::{self, Role};
use crate::web::{self as page, format};

#[derive(Serialize)]
struct Task {
    href: &'static str,
    title: &'static str,
    description: &'static str,
}

/// What each role is here to do, as links to the pages that exist for it.
fn tasks(role: Role) -> Vec<Task> {
    let task = |href, title, description| Task {
        href,
        title,
        description,
    };
    let mut t = Vec::new();
    match role {
        Role::ProbationOfficer => {
            t.push(task("/referrals/new", "Make a referral", "Refer someone for a Mental Health Treatment Requirement, at the pre-sentence report stage or taking over a referral made at arrest."));
            t.push(task("/referrals", "Your referrals", "Referrals you made or hold as responsible officer, and arrest referrals in your areas waiting for one."));
        }
        Role::LiaisonDiversion => {
            t.push(task("/referrals/new", "Make a referral", "Refer someone seen in a custody suite or at court for assessment for a Mental Health Treatment Requirement."));
            t.push(task("/referrals", "Your referrals", "The referrals you made, where each stands, and who holds it as responsible officer."));
        }
        Role::ClinicalLead => {
            t.push(task(
                "/referrals?tab=new",
                "Intake queue",
                "New referrals to screen.",
            ));
            t.push(task("/referrals", "Case lists", "Every referral in your areas, by stage: assessment, awaiting sentence, waiting for a first session, in treatment, ended."));
            t.push(task("/leave", "Leave", "Record an assistant psychologist's leave and arrange the sessions booked during it."));
            t.push(task("/worklist", "Team worklist", "Your team's week: sessions to record, measures and reports due, the next 7 days, screening past 5 working days, people not started within 21 days of sentence, treatment ended without measures, and referrals that need a new owner."));
            t.push(task(
                "/people/merge",
                "Merge records",
                "Combine two records of the same person, or undo a merge.",
            ));
            t.push(task(
                "/reports/uptake",
                "Uptake and capacity report",
                "The scheme's figures per area: referrals, orders, treatment, waits and capacity.",
            ));
        }
        Role::AssistantPsychologist => {
            t.push(task(
                "/referrals",
                "Your caseload",
                "People you are assessing or treating.",
            ));
            t.push(task("/leave", "Your leave", "Record time away: no sessions are booked then, and those already booked are moved or cancelled in one go."));
            t.push(task("/worklist", "Your worklist", "Your week: sessions to record, outcome measures and reports due, and the next 7 days."));
            t.push(task(
                "/signposting/due",
                "Signposting follow-ups",
                "Onward support awaiting an answer whose follow-up date has come.",
            ));
        }
        Role::Councillor => {
            t.push(task("/reports/uptake", "Uptake and capacity report", "How many people in your areas were referred, received a Mental Health Treatment Requirement and finished treatment, how long they waited, and whether there is capacity for the demand: figures only, never a person."));
        }
        Role::Admin => {
            t.push(task(
                "/admin/users",
                "Manage users",
                "Add people, set their areas and vetting, disable accounts and reset sign-in.",
            ));
            t.push(task(
                "/admin/directory",
                "Service directory",
                "The services people are signposted to when treatment ends, per area.",
            ));
            t.push(task("/admin/vetting", "Vetting due to expire", "People whose police vetting or DBS check expires in the next 30 days, or has expired."));
            t.push(task(
                "/admin/audit",
                "Audit log",
                "Who signed in, and who changed or viewed what.",
            ));
            t.push(task(
                "/people/merge",
                "Merge records",
                "Combine two records of the same person, or undo a merge.",
            ));
        }
    }
    t.push(task(
        "/account",
        "Your account",
        "Your sessions, API tokens, recovery codes and password.",
    ));
    t
}

fn role_summary(role: Role) -> &'static str {
    match role {
        Role::ProbationOfficer => {
            "You make referrals for a Mental Health Treatment Requirement and act as Responsible Officer for people on your caseload."
        }
        Role::LiaisonDiversion => {
            "You refer people seen in police custody or at court for assessment, and follow the referrals you made until a responsible officer takes them over."
        }
        Role::AssistantPsychologist => {
            "You assess people, deliver their 12 treatment sessions and record attendance and outcome measures."
        }
        Role::ClinicalLead => {
            "You screen referrals, allocate assistant psychologists, supervise treatment and watch capacity."
        }
        Role::Councillor => {
            "You see how many people in your areas use the scheme and whether there is capacity for the demand. You see figures only, never a person."
        }
        Role::Admin => "You manage users, areas, vetting and the service directory.",
    }
}

/// What needs the user: the treatment items, and for an assistant psychologist the
/// signposting follow-ups that have come due.
fn attention(
    c: &mut crate::db::DbConn,
    viewer: &crate::referrals::model::Viewer,
) -> Result<Vec<crate::sessions::service::Attention>, AppError> {
    let now = crate::sessions::service::local_now();
    let mut out = crate::sessions::service::attention(c, viewer, now)?;
    if viewer.role == Role::AssistantPsychologist {
        let due = crate::signposting::service::due(c, viewer, crate::clock::today())?;
        out.extend(
            due.into_iter()
                .map(|d| crate::sessions::service::Attention {
                    href: format!("/signposting/{}/update", d.signposting.id),
                    reference: d.reference,
                    text: "Signposting follow-up due".into(),
                }),
        );
    }
    Ok(out)
}

pub async fn index(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (uid, org_id) = (user.user.id.clone(), user.user.organisation_id.clone());
    let viewer = crate::referrals::model::Viewer::from(&user);
    let (areas, organisation, attention) = state
        .db
        .run(move |c| {
            Ok((
                model::area_names(c, &uid)?,
                model::organisation_name(c, &org_id)?,
                attention(c, &viewer)?,
            ))
        })
        .await?;
    let today = crate::clock::today();
    let vetting_soon = user
        .user
        .vetting_expires_on
        .filter(|d| (*d - today).num_days() <= 30)
        .map(format::date);
    let mut ctx = tera::Context::new();
    ctx.insert("role_label", user.user.role.label());
    ctx.insert("role_summary", role_summary(user.user.role));
    ctx.insert("areas", &areas);
    ctx.insert("organisation", &organisation);
    let mut shown = tasks(user.user.role);
    if !user.user.service_wide {
        shown.retain(|t| !crate::web::SERVICE_WIDE_PAGES.contains(&t.href));
    }
    ctx.insert("tasks", &shown);
    ctx.insert("vetting_soon", &vetting_soon);
    ctx.insert("attention", &attention);
    page::render(&state, &user, "/", "home/index.html", ctx).await
}

pub async fn accessibility(state: State, _req: HttpRequest) -> Result<HttpResponse, AppError> {
    let mut ctx = page::public_context(None);
    ctx.insert("service", &state.settings.service);
    page::html(&state, "home/accessibility.html", &ctx)
}

pub async fn privacy(state: State, _req: HttpRequest) -> Result<HttpResponse, AppError> {
    page::html(&state, "home/privacy.html", &page::public_context(None))
}

/// `GET /healthz`: 200 when the database answers, 503 when it does not.
pub async fn healthz(state: State) -> HttpResponse {
    match state.db.run(crate::db::ping).await {
        Ok(()) => HttpResponse::Ok()
            .json(serde_json::json!({ "status": "ok", "database": state.db.backend() })),
        Err(e) => {
            log::error!("health check failed: {e}");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}
