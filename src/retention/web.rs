//! The retention review pages: the queue of closed referrals whose review has come, and the
//! decision page of one referral. Neither shows personal data: the reference, the area and
//! how and when it closed are what the policy decides on; the referral page is a link away
//! for those whose casework scope reaches it.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::guard::CurrentUser;
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::model::Viewer;
use crate::retention::forms::parse_review;
use crate::retention::model::{Decision, DecisionRow};
use crate::retention::service::{self, Due, Review};
use crate::state::State;
use crate::web::flow::{self, Then};
use crate::web::{self as page, Choice, format};

const PAGE_SIZE: usize = 50;

fn area_names(c: &mut DbConn) -> Result<BTreeMap<String, String>, AppError> {
    crate::areas::names_by_id(c)
}

#[derive(Debug, Serialize)]
struct DueRow {
    href: String,
    reference: String,
    area: String,
    closed_as: &'static str,
    record_type: &'static str,
    closed_on: String,
    due_on: String,
}

impl DueRow {
    fn new(d: &Due, areas: &BTreeMap<String, String>) -> Self {
        Self {
            href: format!("/retention/{}", d.referral.id),
            reference: d.referral.reference.clone(),
            area: areas.get(&d.referral.area_id).cloned().unwrap_or_default(),
            closed_as: d.referral.status.label(),
            record_type: d.kind.label(),
            closed_on: format::date(d.closed_on),
            due_on: format::date(d.due_on),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    page: Option<usize>,
}

pub async fn queue(
    state: State,
    user: CurrentUser,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    let (viewer, policy, asked) = (Viewer::from(&user), state.settings.retention, q.page);
    let (queue, areas) = state
        .db
        .run(move |c| {
            let today = crate::clock::today();
            let queue = service::queue(c, &viewer, &policy, today, asked, PAGE_SIZE)?;
            Ok((queue, area_names(c)?))
        })
        .await?;
    let rows: Vec<DueRow> = queue.due.iter().map(|d| DueRow::new(d, &areas)).collect();
    let mut ctx = tera::Context::new();
    ctx.insert("rows", &rows);
    ctx.insert("total", &queue.total);
    ctx.insert("page", &queue.page);
    ctx.insert("pages", &queue.pages);
    ctx.insert("base_url", "/retention?");
    ctx.insert("policy", &state.settings.retention);
    page::render(&state, &user, "/retention", "retention/queue.html", ctx).await
}

#[derive(Debug, Serialize)]
struct DecisionView {
    decision: &'static str,
    reason: String,
    next_review_on: String,
    decided_by: String,
    decided_at: String,
}

fn decision_views(c: &mut DbConn, rows: &[DecisionRow]) -> Result<Vec<DecisionView>, AppError> {
    rows.iter()
        .map(|d| {
            Ok(DecisionView {
                decision: d.decision.label(),
                reason: d.reason.clone(),
                next_review_on: d.next_review_on.map(format::date).unwrap_or_default(),
                decided_by: crate::referrals::model::user_name(c, &d.decided_by)?,
                decided_at: format::date_time(d.decided_at),
            })
        })
        .collect()
}

/// What the decision page shows about the referral.
#[derive(Debug, Serialize)]
struct ReviewView {
    id: String,
    reference: String,
    area: String,
    closed: bool,
    erased: bool,
    is_due: bool,
    closed_as: String,
    record_type: String,
    closed_on: String,
    due_on: String,
    version: i64,
}

impl ReviewView {
    fn new(id: &str, r: &Review, areas: &BTreeMap<String, String>) -> Self {
        let today = crate::clock::today();
        let d = r.due.as_ref();
        Self {
            id: id.to_owned(),
            reference: r.reference.clone(),
            area: areas.get(&r.area_id).cloned().unwrap_or_default(),
            closed: d.is_some(),
            erased: d.is_some_and(|d| d.referral.erased_at.is_some()),
            is_due: d.is_some_and(|d| d.is_due(today)),
            closed_as: d
                .map_or("Not closed", |d| d.referral.status.label())
                .to_owned(),
            record_type: d
                .map_or("Not covered until it closes", |d| d.kind.label())
                .to_owned(),
            closed_on: d.map_or("Not closed".to_owned(), |d| format::date(d.closed_on)),
            due_on: d.map_or("Not due".to_owned(), |d| format::date(d.due_on)),
            version: d.map(|d| d.referral.version).unwrap_or_default(),
        }
    }
}

fn decision_options() -> Vec<Choice> {
    vec![
        Choice::new(
            Decision::Retain.as_str(),
            "Keep the record until a next review",
        ),
        Choice::new(Decision::Erase.as_str(), "Erase the personal data"),
    ]
}

async fn review_page(
    state: &State,
    user: &CurrentUser,
    id: String,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let (viewer, policy) = (Viewer::from(user), state.settings.retention);
    let (view, decisions) = state
        .db
        .run(move |c| {
            let r = service::review(c, &viewer, &policy, &id)?;
            let view = ReviewView::new(&id, &r, &area_names(c)?);
            Ok((view, decision_views(c, &r.decisions)?))
        })
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("r", &view);
    ctx.insert("decisions", &decisions);
    ctx.insert("decision_options", &decision_options());
    ctx.insert(
        "confirm_options",
        &[Choice::new(
            "yes",
            "I understand the personal data cannot be recovered",
        )],
    );
    ctx.insert(
        "max_retain_years",
        &state.settings.retention.max_retain_years,
    );
    ctx.insert("values", &raw.first_values());
    ctx.insert("errors", &BTreeMap::<String, String>::new());
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(state, user, "/retention", "retention/review.html", ctx).await
}

pub async fn review_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    review_page(&state, &user, path.into_inner(), &RawForm::default(), None).await
}

pub async fn decide(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let policy = state.settings.retention;
    let (viewer, actor, rid) = (Viewer::from(&user), user.actor(), id.clone());
    let parsed = parse_review(&raw, crate::clock::today(), policy.max_retain_years);
    flow::post_raw(
        &state,
        &user,
        move |c| service::decide(c, &viewer, &actor, &policy, &rid, parsed),
        |decision| {
            let message = match decision {
                Decision::Retain => {
                    "Record kept; it comes back to the queue on its next review date"
                }
                Decision::Erase => "Personal data erased; the report figures are unchanged",
            };
            Then::success(message, "/retention")
        },
        async |e| review_page(&state, &user, id.clone(), &raw, Some(&e)).await,
    )
    .await
}
