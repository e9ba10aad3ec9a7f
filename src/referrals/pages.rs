//! The scaffolding every form on a referral's records shares (sessions, linked
//! requirements, onward support): the caption with the person's name and the referral's
//! reference, the back link, the form's action and the answers kept, rendered through one
//! template, `referral_record_form.html`, with errors in the GOV.UK error summary.

use std::collections::BTreeMap;

use actix_web::HttpResponse;

use crate::auth::guard::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::Caption;
use crate::state::State;
use crate::web as page;

/// The context of a form about referral `h` (the caption, already recorded as a view):
/// `title`, posting to `action`, with a back link to `back` and the answers in `raw`.
pub fn form(h: &Caption, title: &str, action: &str, back: &str, raw: &RawForm) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("referral_id", &h.referral_id);
    ctx.insert("reference", &h.reference);
    ctx.insert("person_name", &h.person_name);
    ctx.insert("title", title);
    ctx.insert("form_action", action);
    ctx.insert("back_href", back);
    ctx.insert("values", &raw.first_values());
    ctx.insert("errors", &BTreeMap::<String, String>::new());
    ctx
}

/// Shows a form made with [`form`], with `errors` in the error summary and against their
/// fields when given.
pub async fn show(
    state: &State,
    user: &CurrentUser,
    template: &str,
    mut ctx: tera::Context,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(state, user, "/referrals", template, ctx).await
}
