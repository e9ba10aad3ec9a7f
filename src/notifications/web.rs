//! The administrators' outbox page (counts, dead letters, retry) and each person's email
//! choices on their account page.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::AppError;
use crate::notifications::messages::MessageKind;
use crate::notifications::{model, service};
use crate::state::State;
use crate::web::{self as page, format};

#[derive(Serialize)]
struct CountView {
    status: &'static str,
    label: &'static str,
    count: i64,
}

#[derive(Serialize)]
struct DeadView {
    id: String,
    kind: &'static str,
    recipient: String,
    attempts: i32,
    last_error: String,
    created: String,
}

#[derive(Serialize)]
struct FoundView {
    kind: &'static str,
    recipient: String,
    subject: String,
    status: &'static str,
    status_colour: &'static str,
    attempts: i32,
    last_error: String,
    created: String,
    sent: String,
}

/// How many emails the search shows at once.
const FOUND_MAX: i64 = 100;

/// `GET /admin/outbox`: the counts, the failed emails, and a search by recipient, status
/// and date (recorded, as it shows who was emailed about what).
pub async fn outbox(
    state: State,
    user: CurrentUser,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let raw = crate::form::RawForm::from_urlencoded(req.query_string().as_bytes());
    let query = service::parse_outbox_query(&raw);
    let wanted = query.clone().ok().flatten();
    let actor = user.actor();
    let service::OutboxOverview {
        counts,
        dead,
        found,
    } = state
        .db
        .write(move |c| service::outbox_overview(c, &actor, wanted.as_ref(), FOUND_MAX))
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert(
        "counts",
        &counts
            .iter()
            .map(|(s, n)| CountView {
                status: s.as_str(),
                label: s.label(),
                count: *n,
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert(
        "dead",
        &dead
            .iter()
            .map(|m| DeadView {
                id: m.id.clone(),
                kind: m.kind.label(),
                recipient: m.recipient.clone(),
                attempts: m.attempts,
                last_error: m.last_error.clone().unwrap_or_default(),
                created: format::date_time(m.created_at),
            })
            .collect::<Vec<_>>(),
    );
    let mut form = std::collections::BTreeMap::new();
    for k in [
        "recipient",
        "status",
        "from_date_day",
        "from_date_month",
        "from_date_year",
        "to_date_day",
        "to_date_month",
        "to_date_year",
    ] {
        form.insert(k, raw.get(k).trim().to_owned());
    }
    ctx.insert("form", &form);
    let mut statuses = vec![page::Choice::new(String::new(), "Any status")];
    statuses.extend(page::choices(
        model::OutboxStatus::ALL,
        model::OutboxStatus::as_str,
        model::OutboxStatus::label,
    ));
    ctx.insert("statuses", &statuses);
    if let Err(errors) = query {
        page::insert_errors(&mut ctx, &errors);
    }
    if let Some((rows, total)) = found {
        ctx.insert("found_total", &total);
        ctx.insert(
            "found",
            &rows
                .iter()
                .map(|m| FoundView {
                    kind: m.kind.label(),
                    recipient: m.recipient.clone(),
                    subject: m.subject.clone(),
                    status: m.status.label(),
                    status_colour: match m.status {
                        model::OutboxStatus::Sent => "green",
                        model::OutboxStatus::Dead => "red",
                        _ => "yellow",
                    },
                    attempts: m.attempts,
                    last_error: m.last_error.clone().unwrap_or_default(),
                    created: format::date_time(m.created_at),
                    sent: m.sent_at.map(format::date_time).unwrap_or_default(),
                })
                .collect::<Vec<_>>(),
        );
    }
    page::render(&state, &user, "/admin/outbox", "admin/outbox.html", ctx).await
}

/// Puts a dead-lettered message back in the queue (audited).
pub async fn retry(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let id = id.into_inner();
    let actor = user.actor();
    let requeued = state
        .db
        .write(move |c| service::requeue(c, &actor, &id))
        .await?;
    let flash = if requeued {
        Flash::success("The email will be sent again")
    } else {
        Flash::important("That email is no longer waiting for a retry")
    };
    page::flash_and_redirect(&state, &user, flash, "/admin/outbox").await
}

/// Saves the email checkboxes of the account page (repeated `kinds=` fields).
pub async fn save_preferences(
    state: State,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let allowed = service::optional_for(user.user.role);
    let wanted: Vec<MessageKind> = pairs
        .iter()
        .filter(|(k, _)| k == "kinds")
        .filter_map(|(_, v)| v.parse::<MessageKind>().ok())
        .filter(|k| allowed.contains(k))
        .collect();
    let uid = user.user.id.clone();
    let actor = user.actor();
    state
        .db
        .write(move |c| service::set_preferences(c, &actor, &uid, &allowed, &wanted))
        .await?;
    page::flash_and_redirect(
        &state,
        &user,
        Flash::success("Your email choices have been saved"),
        "/account#emails",
    )
    .await
}
