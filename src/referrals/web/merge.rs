//! Joining two records of one person, and undoing it.

use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::{AppError, FieldErrors};
use crate::referrals::model::Viewer;
use crate::referrals::service::{self};
use crate::state::State;
use crate::web::flow::{self, Then};
use crate::web::{self as page, format};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    keep_reference: String,
    #[serde(default)]
    merge_reference: String,
    #[serde(default)]
    reason: String,
}

async fn merge_page(
    state: &State,
    user: &CurrentUser,
    form: &MergeForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("keep_reference", &form.keep_reference);
    ctx.insert("merge_reference", &form.merge_reference);
    ctx.insert("reason", &form.reason);
    #[derive(Serialize)]
    struct MergeView {
        id: String,
        text: String,
    }
    let viewer = Viewer::from(user);
    let mine: Vec<MergeView> = state
        .db
        .run(move |c| service::my_merges(c, &viewer))
        .await?
        .into_iter()
        .map(|m| MergeView {
            id: m.id,
            text: format!("Merged on {}", format::date_time(m.merged_at)),
        })
        .collect();
    ctx.insert("merges", &mine);
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(state, user, "/people/merge", "referrals/merge.html", ctx).await
}

pub async fn merge_form(
    state: State,
    user: CurrentUser,
    query: web::Query<MergeForm>,
) -> Result<HttpResponse, AppError> {
    merge_page(&state, &user, &query.into_inner(), None).await
}

pub async fn merge(
    state: State,
    user: CurrentUser,
    form: web::Form<MergeForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let viewer = Viewer::from(&user);
    let actor = user.actor();
    let (keep, drop, why) = (
        form.keep_reference.clone(),
        form.merge_reference.clone(),
        form.reason.clone(),
    );
    flow::post_raw(
        &state,
        &user,
        move |c| service::merge_people(c, &viewer, &actor, &keep, &drop, &why),
        |merged| {
            let flash = Flash::success("The records have been merged".to_owned())
                .with_body("You can undo the merge from this page.".to_owned());
            // Administrators merge by reference but do not see referrals.
            let to = merged
                .kept_referral_id
                .map_or("/people/merge".to_owned(), |id| format!("/referrals/{id}"));
            Then::with(flash, to)
        },
        async |e| merge_page(&state, &user, &form, Some(&e)).await,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct UndoForm {
    #[serde(default)]
    referral_id: String,
}

pub async fn undo_merge(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    form: web::Form<UndoForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let viewer = Viewer::from(&user);
    let actor = user.actor();
    state
        .db
        .write(move |c| service::undo_merge(c, &viewer, &actor, &id))
        .await?;
    let back = if form.referral_id.is_empty() {
        "/people/merge".to_owned()
    } else {
        format!("/referrals/{}", form.referral_id)
    };
    page::flash_and_redirect(
        &state,
        &user,
        Flash::success("The merge has been undone".to_owned()),
        &back,
    )
    .await
}
