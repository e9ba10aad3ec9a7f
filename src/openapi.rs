//! The OpenAPI 3 document, generated from the handlers' annotations so it cannot drift from
//! the code. Every API route in `routes.rs` must appear here (a test checks).

use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "MHTR Pathway API", version = "1", description = "JSON API of the MHTR Pathway service. Errors are {\"error\": code, \"message\": text, \"fields\": {field: message}}."),
    paths(crate::auth::api::issue_token, crate::auth::api::revoke_token, crate::auth::api::me),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "Bearer tokens (password and second factor)"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
