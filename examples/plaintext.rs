//! The ceiling the load test compares the service with: actix-web answering a fixed
//! plain-text body, with nothing else (no database, no session, no template), on the same
//! number of worker threads as the service (one per core).
//!
//!   cargo run --release --example plaintext -- 127.0.0.1:8098

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8098".into());
    HttpServer::new(|| {
        App::new().route(
            "/plaintext",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/plain")
                    .body("Hello, World!")
            }),
        )
    })
    .bind(bind)?
    .run()
    .await
}
