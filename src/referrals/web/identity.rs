//! A clinical lead's decision on an identity match.

use crate::auth::guard::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::Ctx;
use crate::referrals::service::{self, Loaded};
use crate::state::State;
use crate::web::flow::{self, Then};
use crate::web::{self as page};
use actix_web::{HttpResponse, web};

use super::*;

/// The identity decision's page: the link as the lead sees it, and the form.
async fn identity_page(
    state: &State,
    user: &CurrentUser,
    l: &Loaded,
    link_id: &str,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let link = l
        .identity
        .iter()
        .find(|v| v.id == link_id)
        .ok_or(AppError::NotFound)?;
    let mut ctx = tera::Context::new();
    ctx.insert("id", &l.referral.id);
    ctx.insert("reference", &l.referral.reference);
    ctx.insert("link", link);
    ctx.insert(
        "decision_options",
        &choices(vec![
            ("confirm", "Yes, the same person"),
            ("split", "No, a different person"),
        ]),
    );
    ctx.insert("decision", raw.get("decision"));
    ctx.insert("reason", raw.get("reason"));
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(state, user, "/referrals", "referrals/identity.html", ctx).await
}

fn identity_open(link_id: String) -> impl FnOnce(&Loaded) -> Result<(), AppError> {
    move |l| match l.identity.iter().find(|v| v.id == link_id) {
        Some(v) if v.open => Ok(()),
        Some(_) => Err(AppError::Conflict(
            "This match has already been decided".into(),
        )),
        None => Err(AppError::NotFound),
    }
}

pub async fn identity_form(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, link_id) = path.into_inner();
    let l = match for_form(&state, &user, &id, identity_open(link_id.clone())).await? {
        Ok(l) => l,
        Err(erased) => return Ok(erased),
    };
    identity_page(&state, &user, &l, &link_id, &RawForm::default(), None).await
}

pub async fn identity(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, link_id) = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let ctx = Ctx::from(&user);
    let (rid, lid, decision, reason) = (
        id.clone(),
        link_id.clone(),
        raw.get("decision").to_owned(),
        raw.get("reason").to_owned(),
    );
    flow::post_raw(
        &state,
        &user,
        move |c| {
            let answer = service::IdentityDecision {
                decision: &decision,
                reason: &reason,
            };
            service::decide_identity(c, &ctx, &rid, &lid, &answer)
        },
        |(v, _)| Then::success(v.status_label, format!("/referrals/{id}")),
        async |errors| {
            let l = match for_form(&state, &user, &id, identity_open(link_id.clone())).await? {
                Ok(l) => l,
                Err(erased) => return Ok(erased),
            };
            identity_page(&state, &user, &l, &link_id, &raw, Some(&errors)).await
        },
    )
    .await
}
