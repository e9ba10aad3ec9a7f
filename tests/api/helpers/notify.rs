//! A local stand-in for GOV.UK Notify's v2 API, started by a test. It checks each request's
//! JSON Web Token the way Notify does (HS256 with the API key's secret, issuer the service
//! id, `iat` within 30 seconds) and answers with Notify's documented bodies: 201 with the
//! notification, 400 for a phone number that is not a UK mobile, 403 for a bad token, 429
//! and 500 when told to. It keeps what it accepted, with a status a test sets.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub const SERVICE_ID: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
pub const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";
pub const SMS_TEMPLATE: &str = "f33517ff-2a88-4f6e-b855-c550268ce08a";
pub const EMAIL_TEMPLATE: &str = "0c8d6e4b-0d9e-4b43-9b7b-3c5b2a7d8e01";
pub const LETTER_TEMPLATE: &str = "6f1b4a1e-8a5c-4b0e-9d3a-2e6f7c8d9a10";
/// A number Notify refuses as not a UK mobile (a test-only rule of the stand-in).
pub const REFUSED_NUMBER: &str = "07700900000";

pub fn api_key() -> String {
    format!("mhtr-test-{SERVICE_ID}-{SECRET}")
}

/// One message the stand-in accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub id: String,
    /// `sms`, `email` or `letter`.
    pub kind: String,
    pub body: Value,
    pub status: String,
}

impl Accepted {
    pub fn reference(&self) -> &str {
        self.body["reference"].as_str().unwrap_or_default()
    }

    pub fn text(&self) -> &str {
        self.body["personalisation"]["body"]
            .as_str()
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    accepted: Vec<Accepted>,
    /// Status codes to answer the next sends with, in order.
    fail_next: Vec<u16>,
    /// Take the next send, then answer 500 (as if the answer were lost on the way back).
    lose_next_answer: bool,
    /// Requests refused for their token.
    refused_tokens: usize,
    /// What a status read reports for every message (none: each message's own).
    status_for_all: Option<String>,
}

#[derive(Clone)]
pub struct NotifyStandIn {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
    stop: Arc<Mutex<Option<actix_web::dev::ServerHandle>>>,
}

fn error(status: u16, error: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(json!({
        "status_code": status,
        "errors": [{"error": error, "message": message}],
    }))
}

/// The token checked as Notify checks it, or Notify's message for a 403.
fn check_token(req: &HttpRequest) -> Result<(), &'static str> {
    let refused = |m: &'static str| Err(m);
    let Some(auth) = req
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
    else {
        return refused("Unauthorized: authentication token must be provided");
    };
    let Some(token) = auth.strip_prefix("Bearer ") else {
        return refused("Unauthorized: authentication bearer scheme must be used");
    };
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return refused("Invalid token: signature, api token is not valid");
    }
    let decode = |p: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
    };
    let (Some(header), Some(claims)) = (decode(parts[0]), decode(parts[1])) else {
        return refused("Invalid token: signature, api token is not valid");
    };
    if header["alg"] != "HS256" {
        return refused("Invalid token: algorithm used is not HS256");
    }
    if claims["iss"] != SERVICE_ID {
        return refused("Invalid token: service not found");
    }
    let iat = claims["iat"].as_i64().unwrap_or(0);
    if (chrono::Utc::now().timestamp() - iat).abs() > 30 {
        return refused("Error: Your system clock must be accurate to within 30 seconds");
    }
    let expected = URL_SAFE_NO_PAD.encode(mhtr_pathway::reminders::key::sign(
        SECRET.as_bytes(),
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
    ));
    if expected != parts[2] {
        return refused("Invalid token: signature, api token is not valid");
    }
    Ok(())
}

async fn send(
    req: HttpRequest,
    kind: web::Path<String>,
    body: web::Json<Value>,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    if let Err(m) = check_token(&req) {
        inner.lock().unwrap().refused_tokens += 1;
        return error(403, "AuthError", m);
    }
    let kind = kind.into_inner();
    let body = body.into_inner();
    let mut s = inner.lock().unwrap();
    if !s.fail_next.is_empty() {
        return match s.fail_next.remove(0) {
            429 => error(
                429,
                "RateLimitError",
                "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
            ),
            code => error(code, "Exception", "Internal server error"),
        };
    }
    let template = body["template_id"].as_str().unwrap_or_default();
    let expected = match kind.as_str() {
        "sms" => SMS_TEMPLATE,
        "email" => EMAIL_TEMPLATE,
        "letter" => LETTER_TEMPLATE,
        _ => return error(404, "NotFound", "Not found"),
    };
    if template != expected {
        return error(400, "BadRequestError", "Template not found");
    }
    if kind == "sms" {
        let number = body["phone_number"].as_str().unwrap_or_default();
        if number == REFUSED_NUMBER || !number.starts_with("07") {
            return error(
                400,
                "ValidationError",
                "phone_number Not a UK mobile number",
            );
        }
    }
    if kind == "letter" && body["personalisation"]["address_line_3"].is_null() {
        return error(400, "ValidationError", "Address must be at least 3 lines");
    }
    let id = uuid::Uuid::new_v4().to_string();
    s.accepted.push(Accepted {
        id: id.clone(),
        kind: kind.clone(),
        body: body.clone(),
        status: if kind == "letter" {
            "accepted"
        } else {
            "created"
        }
        .into(),
    });
    if std::mem::take(&mut s.lose_next_answer) {
        return error(500, "Exception", "Internal server error");
    }
    HttpResponse::Created().json(json!({
        "id": id,
        "reference": body["reference"],
        "content": {"body": body["personalisation"]["body"], "from_number": "GOVUK"},
        "uri": format!("/v2/notifications/{id}"),
        "template": {"id": template, "version": 1, "uri": format!("/v2/template/{template}")},
    }))
}

fn notification(a: &Accepted, status_for_all: Option<&str>) -> Value {
    json!({
        "id": a.id,
        "reference": a.body["reference"],
        "type": a.kind,
        "status": status_for_all.unwrap_or(&a.status),
    })
}

async fn read_one(
    req: HttpRequest,
    id: web::Path<String>,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    if let Err(m) = check_token(&req) {
        return error(403, "AuthError", m);
    }
    let s = inner.lock().unwrap();
    match s.accepted.iter().find(|a| a.id == *id) {
        Some(a) => HttpResponse::Ok().json(notification(a, s.status_for_all.as_deref())),
        None => error(404, "NoResultFound", "No result found"),
    }
}

async fn read_many(
    req: HttpRequest,
    query: web::Query<std::collections::HashMap<String, String>>,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    if let Err(m) = check_token(&req) {
        return error(403, "AuthError", m);
    }
    let s = inner.lock().unwrap();
    let found: Vec<Value> = s
        .accepted
        .iter()
        .filter(|a| query.get("reference").is_none_or(|r| a.reference() == r))
        .map(|a| notification(a, s.status_for_all.as_deref()))
        .collect();
    HttpResponse::Ok()
        .json(json!({"notifications": found, "links": {"current": "/v2/notifications"}}))
}

impl NotifyStandIn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::new(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .service(
                            web::resource("/v2/notifications/{kind_or_id}")
                                .route(web::post().to(send))
                                .route(web::get().to(read_one)),
                        )
                        .route("/v2/notifications", web::get().to(read_many))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run();
                let _ = tx.send(server.handle());
                let _ = server.await;
            });
        });
        let handle = rx.await.unwrap();
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            inner,
            stop: Arc::new(Mutex::new(Some(handle))),
        }
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.inner.lock().unwrap().accepted.clone()
    }

    pub fn fail_next(&self, codes: &[u16]) {
        self.inner.lock().unwrap().fail_next = codes.to_vec();
    }

    pub fn lose_next_answer(&self) {
        self.inner.lock().unwrap().lose_next_answer = true;
    }

    pub fn refused_tokens(&self) -> usize {
        self.inner.lock().unwrap().refused_tokens
    }

    /// Sets the status Notify reports for every message from now on.
    pub fn report_status(&self, status: &str) {
        self.inner.lock().unwrap().status_for_all = Some(status.to_owned());
    }

    /// Stops answering: connections are refused.
    pub async fn down(&self) {
        let handle = self.stop.lock().unwrap().take();
        if let Some(h) = handle {
            h.stop(false).await;
        }
    }
}
