//! Referral pages: the case lists, the referral page with its timeline, the actions that
//! move a referral along, amendments, and the question pages that make a referral from a
//! saved draft.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use serde::Deserialize;

use crate::areas;
use crate::auth::guard::CurrentUser;
use crate::db::DbConn;
use crate::error::AppError;
use crate::form::RawForm;
use crate::referrals::access::{Ctx, view_event};
use crate::referrals::codes::*;
use crate::referrals::forms::{self, Kind};
use crate::referrals::model::Viewer;
use crate::referrals::service::{self, Loaded};
use crate::referrals::state::Status;
use crate::state::State;
use crate::users::model::Role;
use crate::web::{self as page, Choice};

const PAGE_SIZE: i64 = 25;

fn choices(pairs: Vec<(&'static str, &'static str)>) -> Vec<Choice> {
    pairs.into_iter().map(|(v, t)| Choice::new(v, t)).collect()
}

fn with_blank(first: &str, rest: Vec<Choice>) -> Vec<Choice> {
    let mut v = vec![Choice::new(String::new(), first)];
    v.extend(rest);
    v
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|v| v.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// The user's areas as (id, name), alphabetical.
async fn my_areas(state: &State, user: &CurrentUser) -> Result<Vec<(String, String)>, AppError> {
    let mine = user.area_ids.clone();
    state.db.run(move |c| areas::named(c, &mine)).await
}

/// The answers in the shape the question macros want: one string per field (dates as
/// three), and checked values for checkbox groups.
fn form_context(ctx: &mut tera::Context, raw: &RawForm, area_options: &[(String, String)]) {
    let mut single: BTreeMap<String, String> = BTreeMap::new();
    let mut multi: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut opts: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    for f in forms::fields() {
        match f.kind {
            Kind::Date => {
                for p in ["day", "month", "year"] {
                    let k = format!("{}_{p}", f.name);
                    single.insert(k.clone(), raw.get(&k).to_owned());
                }
            }
            Kind::Multi(pairs) => {
                multi.insert(f.name.into(), raw.all(f.name));
                opts.insert(f.name.into(), choices(pairs()));
            }
            Kind::Choice(pairs) => {
                single.insert(f.name.into(), raw.get(f.name).to_owned());
                // Drop-downs start blank so an unanswered question is not silently the
                // first option; radios need no blank.
                let options = match f.name {
                    "ethnicity" => with_blank("Select an ethnic group", choices(pairs())),
                    "offence_category" => {
                        with_blank("Select an offence category", choices(pairs()))
                    }
                    _ => choices(pairs()),
                };
                opts.insert(f.name.into(), options);
            }
            Kind::YesNo => {
                single.insert(f.name.into(), raw.get(f.name).to_owned());
                opts.insert(f.name.into(), choices(vec![("yes", "Yes"), ("no", "No")]));
            }
            Kind::Text => {
                single.insert(f.name.into(), raw.get(f.name).to_owned());
            }
        }
    }
    opts.insert(
        "area_id".into(),
        with_blank(
            "Select an area",
            area_options
                .iter()
                .map(|(id, name)| Choice::new(id.clone(), name.clone()))
                .collect(),
        ),
    );
    ctx.insert("form", &single);
    ctx.insert("form_multi", &multi);
    ctx.insert("opts", &opts);
}

pub mod actions;
pub mod amend;
pub mod identity;
pub mod list;
pub mod making;
pub mod merge;
pub mod reason;
pub mod show;

/// The timeline filter on the referral page: `mhtr`, `drr` or `atr`; anything else shows all.
#[derive(Debug, Deserialize)]
pub struct TimelineFilter {
    timeline: Option<String>,
}

/// What opening a referral for one of its pages found.
enum PageRead<T> {
    /// The referral, with what the page read of it in the same transaction; its view is
    /// already recorded.
    Shown(Box<service::Loaded>, T),
    /// The referral's personal data was erased: only what is left of it can be shown.
    Erased(crate::retention::service::ErasedView),
}

/// A referral for one of its pages, with what `more` reads of it in the same read
/// transaction; the view is recorded, durably, with the reason for it, before anything of
/// it is returned (entries of views arriving together share one commit:
/// [`crate::audit::appender`]). Off a clinical lead's caseload without a reason given this
/// session: [`AppError::ReasonRequired`], which sends them to the reason page and back.
/// `more` may refuse too, and nothing is recorded then.
async fn viewed_for_page<T, F>(
    state: &State,
    user: &CurrentUser,
    id: &str,
    more: F,
) -> Result<PageRead<T>, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &Viewer, &service::Loaded) -> Result<T, AppError> + Send + 'static,
{
    let (ctx, id) = (Ctx::from(user), id.to_owned());
    // One referral and its own records: a short read.
    let read = state
        .db
        .read_short(move |c| {
            if let Some(erased) = crate::retention::service::erased_view(c, &ctx.viewer, &id)? {
                return Ok(Err(erased));
            }
            let (l, reason) = service::load_for_page(c, &ctx, &id)?;
            let extra = more(c, &ctx.viewer, &l)?;
            Ok(Ok((l, reason, extra)))
        })
        .await?;
    let (l, reason, extra) = match read {
        Ok(shown) => shown,
        Err(erased) => return Ok(PageRead::Erased(erased)),
    };
    state
        .views
        .append(&user.actor(), view_event(&l.referral.id, reason.as_deref()))
        .await?;
    Ok(PageRead::Shown(Box::new(l), extra))
}

/// The referral for a form about it (an action, an amendment), its view recorded as
/// [`viewed_for_page`] records it; `check` may refuse the form first. A referral whose
/// personal data was erased shows what is left of it instead.
async fn for_form<F>(
    state: &State,
    user: &CurrentUser,
    id: &str,
    check: F,
) -> Result<Result<Box<Loaded>, HttpResponse>, AppError>
where
    F: FnOnce(&Loaded) -> Result<(), AppError> + Send + 'static,
{
    match viewed_for_page(state, user, id, move |_, _, l| check(l)).await? {
        PageRead::Shown(l, ()) => Ok(Ok(l)),
        PageRead::Erased(view) => Ok(Err(erased_page(state, user, &view).await?)),
    }
}

/// The referral page of an erased referral, in place of the full page: what is left of it
/// ([`crate::retention::service::erased_view`]).
async fn erased_page(
    state: &State,
    user: &CurrentUser,
    view: &crate::retention::service::ErasedView,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("r", view);
    page::render(state, user, "/referrals", "referrals/erased.html", ctx).await
}

pub(super) fn can_amend(role: Role, status: Status) -> bool {
    service::amendable(role, status)
}
