//! The capacity pages: the clinical lead's overview and a practitioner's pattern. Handlers
//! parse, call the rules in [`super`], and render.

use actix_web::{HttpResponse, web};
use chrono::Days;
use serde::{Deserialize, Serialize};

use super::*;
use crate::auth::guard::CurrentUser;
use crate::state::State;
use crate::web as page;
use crate::web::flow::{self, Then};

/// The capacity page's query: an area of the reader's (all of them when absent), and the page
/// of practitioners and of the waiting list.
#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    pub area: Option<String>,
    pub page: Option<usize>,
    pub waiting_page: Option<usize>,
}

#[derive(Serialize)]
struct AreaOption {
    value: String,
    text: String,
    selected: bool,
}

/// The link to the capacity page with these choices, ready for a page number.
fn overview_url(area: Option<&str>, other: (&str, usize)) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(a) = area {
        pairs.push(("area", a.to_owned()));
    }
    pairs.push((other.0, other.1.to_string()));
    format!(
        "/capacity?{}&",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

pub async fn overview(
    state: State,
    user: CurrentUser,
    q: web::Query<OverviewQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let area = q.area.filter(|a| !a.is_empty());
    let today = crate::clock::today();
    let monday = monday_of(today);
    let viewer = Viewer::from(&user);
    let actor = user.actor();
    let (page_p, page_w) = (q.page, q.waiting_page);
    let area_chosen = area.clone();
    let view = state
        .db
        .write(move |c| {
            super::overview(
                c,
                &viewer,
                &actor,
                area_chosen.as_deref(),
                today,
                page_p,
                page_w,
            )
        })
        .await?;
    let loads: Vec<PractitionerLoad> = view
        .shown
        .into_iter()
        .map(|p| {
            let capacity = view
                .set
                .get(&p.id)
                .copied()
                .unwrap_or(DEFAULT_SESSIONS_PER_WEEK);
            let weeks = (0..WEEKS_AHEAD)
                .map(|w| {
                    let m = monday + Days::new(7 * w);
                    let n = view.booked.get(&(p.id.clone(), m)).copied().unwrap_or(0);
                    week_load(m, n, capacity)
                })
                .collect();
            PractitionerLoad {
                id: p.id,
                name: p.name,
                weeks,
            }
        })
        .collect();
    let area_options: Vec<AreaOption> = view
        .names
        .into_iter()
        .map(|(id, name)| AreaOption {
            selected: area.as_deref() == Some(id.as_str()),
            value: id,
            text: name,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("practitioners", &loads);
    ctx.insert("summary", &view.summary);
    ctx.insert("week_commencing", &format::date(monday));
    ctx.insert("page", &view.page);
    ctx.insert("pages", &view.pages);
    ctx.insert(
        "practitioners_url",
        &overview_url(area.as_deref(), ("waiting_page", view.waiting.page)),
    );
    ctx.insert("waiting", &view.waiting.list);
    ctx.insert("total_waiting", &view.waiting.total);
    ctx.insert("waiting_page", &view.waiting.page);
    ctx.insert("waiting_pages", &view.waiting.pages);
    ctx.insert(
        "waiting_url",
        &overview_url(area.as_deref(), ("page", view.page)),
    );
    ctx.insert("areas", &area_options);
    ctx.insert("area_chosen", &area.is_some());
    page::render(&state, &user, "/capacity", "sessions/capacity.html", ctx).await
}

#[derive(Serialize)]
struct PractitionerLoad {
    id: String,
    name: String,
    weeks: Vec<WeekLoad>,
}

/// A referral waiting for its first session.

#[derive(Serialize)]
struct DayOption {
    value: &'static str,
    text: &'static str,
}

fn settings_context(p: &Practitioner, form: &CapacityForm, can_edit: bool) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("practitioner", p);
    ctx.insert("form", form);
    ctx.insert("can_edit", &can_edit);
    ctx.insert(
        "day_options",
        &WEEK
            .iter()
            .map(|d| DayOption {
                value: day_code(*d),
                text: day_label(*d),
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert(
        "days_label",
        &WorkingDays::parse(&form.working_days.join(","))
            .map(|d| d.describe())
            .unwrap_or_default(),
    );
    ctx
}

fn nav_path(user: &CurrentUser) -> &'static str {
    match user.user.role {
        Role::ClinicalLead => "/capacity",
        Role::Admin => "/admin/users",
        _ => "/diary",
    }
}

pub async fn settings_form(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let viewer = Viewer::from(&user);
    let (p, (sessions, days)) = state.db.run(move |c| pattern_of(c, &viewer, &id)).await?;
    let form = CapacityForm {
        sessions_per_week: sessions.to_string(),
        working_days: WorkingDays::parse(&days)
            .map(|d| {
                d.days()
                    .into_iter()
                    .map(|d| day_code(d).to_owned())
                    .collect()
            })
            .unwrap_or_default(),
    };
    let can_edit = matches!(user.user.role, Role::ClinicalLead | Role::Admin);
    let ctx = settings_context(&p, &form, can_edit);
    page::render(
        &state,
        &user,
        nav_path(&user),
        "sessions/practitioner_capacity.html",
        ctx,
    )
    .await
}

pub async fn save_settings(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let viewer = Viewer::from(&user);
    let form = CapacityForm::from_body(&body);
    let (actor, who, pid) = (user.actor(), viewer.clone(), id.clone());
    flow::post(
        &state,
        &user,
        form.parse(),
        move |c, input| save_pattern(c, &who, &actor, &pid, &input),
        |p| {
            let back = if user.user.role == Role::ClinicalLead {
                "/capacity".to_owned()
            } else {
                format!("/practitioners/{}/capacity", p.id)
            };
            Then::success(format!("{}’s capacity has been saved", p.name), back)
        },
        async |errors| {
            let (p, _) = state.db.run(move |c| pattern_of(c, &viewer, &id)).await?;
            let ctx = page::with_errors(settings_context(&p, &form, true), &errors);
            let template = "sessions/practitioner_capacity.html";
            page::render(&state, &user, nav_path(&user), template, ctx).await
        },
    )
    .await
}
