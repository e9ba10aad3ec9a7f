//! Amendments to a referral's answers.

use crate::auth::guard::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::Ctx;
use crate::referrals::forms::{self, Kind};
use crate::referrals::service::{self, Loaded};
use crate::state::State;
use crate::users::model::Role;
use crate::web::flow::{self, Then};
use crate::web::{self as page};
use actix_web::{HttpResponse, web};

use super::*;

async fn amend_page(
    state: &State,
    user: &CurrentUser,
    l: &Loaded,
    raw: &RawForm,
    reason: &str,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let mut areas = my_areas(state, user).await?;
    if !areas.iter().any(|a| a.0 == l.referral.area_id) {
        areas.push((
            l.referral.area_id.clone(),
            l.area_names
                .get(&l.referral.area_id)
                .cloned()
                .unwrap_or_default(),
        ));
    }
    let mut ctx = tera::Context::new();
    form_context(&mut ctx, raw, &areas);
    ctx.insert("id", &l.referral.id);
    ctx.insert("reference", &l.referral.reference);
    ctx.insert("version", &l.referral.version);
    ctx.insert("reason", reason);
    ctx.insert("entry_point", raw.get("entry_point"));
    ctx.insert("amending", &true);
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(state, user, "/referrals", "referrals/amend.html", ctx).await
}

/// Refuses the amendment form of a referral that can no longer be amended, before anything
/// of it is shown.
fn amend_allowed(role: Role) -> impl FnOnce(&Loaded) -> Result<(), AppError> {
    move |l| {
        if l.withheld.any() {
            // The form shows every answer, the withheld ones too.
            Err(AppError::Forbidden)
        } else if can_amend(role, l.referral.status) {
            Ok(())
        } else {
            Err(AppError::Conflict(format!(
                "A referral that is {} cannot be amended",
                l.referral.status.label().to_lowercase()
            )))
        }
    }
}

pub async fn amend_form(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let l = match for_form(&state, &user, &id, amend_allowed(user.user.role)).await? {
        Ok(l) => l,
        Err(erased) => return Ok(erased),
    };
    let raw = l.input.to_raw();
    amend_page(&state, &user, &l, &raw, "", None).await
}

pub async fn amend(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let mut raw = RawForm::from_urlencoded(&body);
    let version: i64 = raw.get("version").parse().unwrap_or(-1);
    let reason = raw.get("reason").to_owned();
    raw.0.remove("version");
    raw.0.remove("reason");
    // Unticked checkbox groups send nothing: an empty list is the answer.
    for f in forms::fields() {
        if matches!(f.kind, Kind::Multi(_)) && !raw.0.contains_key(f.name) {
            raw.set_all(f.name, vec![]);
        }
    }
    let ctx = Ctx::from(&user);
    let (rid, changes, why) = (id.clone(), raw.clone(), reason.clone());
    flow::post_raw(
        &state,
        &user,
        move |c| service::amend(c, &ctx, &rid, version, &changes, &why),
        |rows| {
            let plural = if rows.len() == 1 { "" } else { "s" };
            let text = format!("Referral amended: {} answer{plural} changed", rows.len());
            Then::success(text, format!("/referrals/{id}"))
        },
        async |errors| {
            let l = match for_form(&state, &user, &id, amend_allowed(user.user.role)).await? {
                Ok(l) => l,
                Err(erased) => return Ok(erased),
            };
            let mut shown = l.input.to_raw();
            shown.merge(&raw);
            amend_page(&state, &user, &l, &shown, &reason, Some(&errors)).await
        },
    )
    .await
}
