//! The reason page: why a clinical lead needs a referral off their caseload.

use crate::auth::guard::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::forms::AccessReason;
use crate::referrals::model::{self, Viewer};
use crate::state::State;
use crate::web::return_path::ReturnPath;
use crate::web::{self as page};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// The `next` of the reason page: where to go once the reason is given.
#[derive(Debug, Deserialize)]
pub struct GoingTo {
    next: Option<String>,
}

async fn reason_page(
    state: &State,
    user: &CurrentUser,
    id: String,
    next: Option<ReturnPath>,
    reason: &str,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::from(user);
    // Only the reference is shown here: no personal data before a reason is given.
    let referral = state.db.run(move |c| model::find(c, &viewer, &id)).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("id", &referral.id);
    ctx.insert("reference", &referral.reference);
    ctx.insert("next", next.as_ref().map(ReturnPath::as_str).unwrap_or(""));
    ctx.insert("reason", reason);
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(state, user, "/referrals", "referrals/reason.html", ctx).await
}

/// `GET /referrals/{id}/reason`: asks a clinical lead why they are opening a referral that
/// is in their area but not on their own caseload, or a page about it (`next`).
pub async fn reason_form(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    going_to: web::Query<GoingTo>,
) -> Result<HttpResponse, AppError> {
    let next = going_to.next.as_deref().and_then(ReturnPath::parse);
    reason_page(&state, &user, id.into_inner(), next, "", None).await
}

/// `POST /referrals/{id}/reason`: records the reason (remembered for this referral until
/// the session ends) and opens the page the person was going to: the referral, or a page
/// about it or one of its records.
pub async fn give_reason(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let next = ReturnPath::parse(raw.get("next"));
    let reason = match AccessReason::parse(raw.get("reason")) {
        Ok(r) => r,
        Err(message) => {
            let errors = FieldErrors::single("reason", message);
            let shown = raw.get("reason").trim().to_owned();
            return reason_page(&state, &user, id, next, &shown, Some(&errors)).await;
        }
    };
    let viewer = Viewer::from(&user);
    let actor = user.actor();
    let path = match next {
        Some(next) => next.as_str().to_owned(),
        None => format!("/referrals/{id}"),
    };
    state
        .db
        .write(move |c| {
            crate::referrals::access::give_access_reason(c, &viewer, &actor, &id, &reason)
        })
        .await?;
    Ok(page::see_other(&path))
}
