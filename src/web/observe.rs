//! Every request gets an id, echoed in the `X-Request-Id` response header and shown on the
//! error page so a person can quote it; is logged once (id, method, route pattern, status,
//! duration) and counted in the metrics by its route pattern. A well-formed id sent by the
//! proxy in front is kept, so its log and this one can be joined.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

/// The header carrying the request id, both ways.
pub const HEADER: &str = "x-request-id";

/// The id of the request being answered, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The id of `req`, if the middleware gave it one.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// An id sent by the proxy is kept when it is 8 to 64 letters, digits, dots, dashes or
/// underscores; anything else is replaced, so a log line cannot be forged through it.
pub fn accepted(sent: Option<&str>) -> Option<&str> {
    sent.filter(|s| {
        (8..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    })
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let sent = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let id = accepted(sent.as_deref())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    match next.call(req).await {
        Ok(mut res) => {
            let route = res.request().match_pattern();
            finish(&id, &method, route, res.status().as_u16(), started);
            if let Ok(v) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(HeaderName::from_static(HEADER), v);
            }
            Ok(res)
        }
        // A failure below the handlers (they answer their own errors): logged and counted
        // here, answered by the framework.
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            finish(&id, &method, None, status, started);
            Err(e)
        }
    }
}

/// The request's log line and metrics.
fn finish(id: &str, method: &str, route: Option<String>, status: u16, started: Instant) {
    let route = route.unwrap_or_else(|| crate::metrics::UNMATCHED.to_owned());
    let seconds = started.elapsed().as_secs_f64();
    crate::metrics::request(method, &route, status, seconds);
    let duration_ms = (seconds * 10_000.0).round() / 10.0;
    log::info!(
        target: "mhtr_pathway::access",
        request_id = id,
        method = method,
        route = route.as_str(),
        status = status,
        duration_ms = duration_ms;
        "{method} {route} {status} {duration_ms}ms"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_id_from_the_proxy_is_kept() {
        assert_eq!(accepted(Some("a1b2c3d4-e5f6")), Some("a1b2c3d4-e5f6"));
        assert_eq!(accepted(Some("short")), None);
        assert_eq!(accepted(Some("has space in it")), None);
        assert_eq!(accepted(Some("line\nbreak-injected")), None);
        assert_eq!(accepted(Some(&"x".repeat(65))), None);
        assert_eq!(accepted(None), None);
    }
}
