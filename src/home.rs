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
    let mut t = Vec::new();
    if role == Role::Admin {
        t.push(Task { href: "/admin/users", title: "Manage users", description: "Add people, set their areas and vetting, disable accounts and reset sign-in." });
        t.push(Task { href: "/admin/vetting", title: "Vetting due to expire", description: "People whose police vetting or DBS check expires in the next 30 days, or has expired." });
        t.push(Task {
            href: "/admin/audit",
            title: "Audit log",
            description: "Who signed in, and who changed or viewed what.",
        });
    }
    t.push(Task {
        href: "/account",
        title: "Your account",
        description: "Your sessions, API tokens, recovery codes and password.",
    });
    t
}

fn role_summary(role: Role) -> &'static str {
    match role {
        Role::ProbationOfficer => {
            "You make referrals for a Mental Health Treatment Requirement and act as Responsible Officer for people on your caseload."
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

pub async fn index(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (uid, org_id) = (user.user.id.clone(), user.user.organisation_id.clone());
    let (areas, organisation) = state
        .db
        .run(move |c| {
            Ok((
                model::area_names(c, &uid)?,
                model::organisation_name(c, &org_id)?,
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
    ctx.insert("tasks", &tasks(user.user.role));
    ctx.insert("vetting_soon", &vetting_soon);
    page::render(&state, &user, "/", "home/index.html", ctx).await
}

pub async fn accessibility(state: State, _req: HttpRequest) -> Result<HttpResponse, AppError> {
    page::html(
        &state,
        "home/accessibility.html",
        &page::public_context(None),
    )
}

pub async fn privacy(state: State, _req: HttpRequest) -> Result<HttpResponse, AppError> {
    page::html(&state, "home/privacy.html", &page::public_context(None))
}

/// `GET /healthz`: 200 when the database answers, 503 when it does not.
pub async fn healthz(state: State) -> HttpResponse {
    match state.db.run(|c| crate::db::ping(c)).await {
        Ok(()) => HttpResponse::Ok()
            .json(serde_json::json!({ "status": "ok", "database": state.db.backend() })),
        Err(e) => {
            log::error!("health check failed: {e}");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}
