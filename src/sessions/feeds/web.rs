//! The feeds pages: handlers that parse, call the rules in [`super`], and render.

use super::*;
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::AppError;
use crate::state::State;
use crate::web::{self as page, format};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

#[derive(Serialize)]
struct FeedView {
    created: String,
    last_used: String,
}

fn feed_url(state: &State, token: &str) -> String {
    format!(
        "{}/calendar/{token}.ics",
        state.settings.server.base_url.trim_end_matches('/')
    )
}

async fn calendar_page(
    state: &State,
    user: &CurrentUser,
    new_url: Option<String>,
) -> Result<HttpResponse, AppError> {
    let uid = user.user.id.clone();
    let feed = state.db.run(move |c| live_feed(c, &uid)).await?;
    let mut ctx = tera::Context::new();
    ctx.insert(
        "feed",
        &feed.map(|f| FeedView {
            created: format::date_time(f.created_at),
            last_used: f
                .last_used_at
                .map(format::date_time)
                .unwrap_or_else(|| "Not used yet".into()),
        }),
    );
    ctx.insert("new_url", &new_url);
    page::render(state, user, "/account", "sessions/calendar_feed.html", ctx).await
}

pub async fn show(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    calendar_page(&state, &user, None).await
}

/// Makes a new feed and shows its address, once: only its hash is kept.
pub async fn create_feed(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let actor = user.actor();
    let uid = user.user.id.clone();
    let token = state.db.write(move |c| create(c, &actor, &uid)).await?;
    let url = feed_url(&state, &token);
    calendar_page(&state, &user, Some(url)).await
}

pub async fn revoke_feed(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let actor = user.actor();
    let uid = user.user.id.clone();
    let revoked = state.db.write(move |c| revoke(c, &actor, &uid)).await?;
    let flash = if revoked {
        Flash::success("Your calendar feed has been turned off")
    } else {
        Flash::important("You had no calendar feed")
    };
    page::flash_and_redirect(&state, &user, flash, "/account/calendar").await
}

/// `GET /calendar/{token}.ics`: no session, the secret in the address is the credential.
pub async fn ics_feed(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let ip = crate::auth::guard::client_info(&req).ip;
    let body = state.db.write(move |c| read(c, &token, ip)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_reference_and_initials_only() {
        let s = summary("MH-7K3Q-PX4D", "Rosa", "Abbott");
        assert_eq!(s, "MHTR session – MH-7K3Q-PX4D (R. A.)");
        assert!(!s.contains("Rosa") && !s.contains("Abbott"));
    }
}
