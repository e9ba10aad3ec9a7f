//! What a council's IT team watches: readiness for the load balancer, and the metrics on
//! their own address. `/healthz` (in `home`) says the process is alive and reaches its
//! database; `/readyz` says it can take work: no migration pending and the database taking
//! writes. The metrics listen on `metrics.bind`, never on the public address, and ask for a
//! token when `metrics.token` is set.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::{AppState, State};

/// `GET /readyz`: 200 when this instance can take work; 503, with the reason, while a
/// migration is pending, the database refuses writes or cannot be reached.
pub async fn readyz(state: State) -> HttpResponse {
    match state.db.run(crate::db::unready).await {
        Ok(None) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Ok(Some(why)) => {
            log::warn!("not ready: {why}");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "not_ready", "reason": why }))
        }
        Err(e) => {
            log::error!("readiness check failed: {e}");
            HttpResponse::ServiceUnavailable().json(
                serde_json::json!({ "status": "not_ready", "reason": "the database cannot be reached" }),
            )
        }
    }
}

/// The pool and the outboxes, read when scraped.
fn snapshot(
    state: &AppState,
) -> impl FnOnce(&mut crate::db::DbConn) -> Result<crate::metrics::Snapshot, AppError> + use<> {
    let pool = state.db.pool().state();
    let pool_max = state.db.pool().max_size();
    move |c| {
        Ok(crate::metrics::Snapshot {
            pool_max,
            pool_idle: pool.idle_connections,
            pool_in_use: pool.connections.saturating_sub(pool.idle_connections),
            queues: vec![
                ("email", crate::notifications::model::queue_stats(c)?),
                ("reminder", crate::reminders::model::queue_stats(c)?),
            ],
        })
    }
}

/// Whether a scrape carries the token (always, when none is set).
pub fn token_matches(expected: &str, authorization: Option<&str>) -> bool {
    if expected.is_empty() {
        return true;
    }
    let Some(given) = authorization.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// `GET /metrics` on the metrics address.
async fn metrics(state: State, req: HttpRequest) -> HttpResponse {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !token_matches(&state.settings.metrics.token, authorization) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .finish();
    }
    match state.db.run(snapshot(&state)).await {
        Ok(s) => HttpResponse::Ok()
            .content_type(crate::metrics::CONTENT_TYPE)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(crate::metrics::render(&s)),
        Err(e) => {
            log::error!("reading the metrics failed: {e}");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

/// The metrics server on its own listener: `GET /metrics` and nothing else.
pub fn metrics_server(
    state: web::Data<AppState>,
    listener: TcpListener,
) -> Result<Server, AppError> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(metrics))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(|e| AppError::Config(format!("cannot start the metrics server: {e}")))?
    .run();
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_needs_the_token_only_when_one_is_set() {
        assert!(token_matches("", None));
        let t = "0123456789abcdef0123456789abcdef";
        assert!(token_matches(t, Some(&format!("Bearer {t}"))));
        assert!(!token_matches(t, None));
        assert!(!token_matches(t, Some("Bearer wrong")));
        assert!(!token_matches(t, Some(t)));
    }
}
