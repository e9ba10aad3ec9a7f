//! The question pages that make a referral from a saved draft.

use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::forms::{self, Kind, Step};
use crate::referrals::model::{self, Viewer};
use crate::referrals::service::{self, CreateOutcome, PersonChoice};
use crate::referrals::views::{self};
use crate::state::State;
use crate::web::flow;
use crate::web::{self as page, format};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::*;

#[derive(Serialize)]
struct DraftLink {
    href: String,
    started: String,
    name: String,
}

pub async fn start(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let uid = user.user.id.clone();
    let drafts = state.db.run(move |c| model::drafts_of(c, &uid)).await?;
    let links: Vec<DraftLink> = drafts
        .iter()
        .map(|d| {
            let raw: RawForm = serde_json::from_str(&d.data).unwrap_or_default();
            let name = format!("{} {}", raw.get("given_name"), raw.get("family_name"));
            DraftLink {
                href: format!("/referrals/drafts/{}/check", d.id),
                started: format::date_time(d.created_at),
                name: if name.trim().is_empty() {
                    "No name yet".into()
                } else {
                    name.trim().to_owned()
                },
            }
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("drafts", &links);
    ctx.insert("retention_days", &service::DRAFT_RETENTION_DAYS);
    page::render(&state, &user, "/referrals/new", "referrals/start.html", ctx).await
}

pub async fn create_draft(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let viewer = Viewer::from(&user);
    let id = state
        .db
        .write(move |c| service::new_draft(c, &viewer))
        .await?;
    Ok(page::see_other(&format!(
        "/referrals/drafts/{id}/{}",
        Step::EntryPoint.slug()
    )))
}

/// `?from=check`: a question page opened from "Change" on the check page, which it goes back
/// to once saved.
#[derive(Debug, Default, serde::Deserialize)]
pub struct StepQuery {
    #[serde(default)]
    from: String,
}

impl StepQuery {
    fn opened_from_check(&self) -> bool {
        self.from == "check"
    }
}

async fn step_page(
    state: &State,
    user: &CurrentUser,
    draft_id: &str,
    step: Step,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
    from_check: bool,
) -> Result<HttpResponse, AppError> {
    let areas = my_areas(state, user).await?;
    let mut ctx = tera::Context::new();
    form_context(&mut ctx, raw, &areas);
    ctx.insert("draft_id", draft_id);
    ctx.insert("step", step.slug());
    ctx.insert("title", step.title());
    ctx.insert("entry_point", raw.get("entry_point"));
    ctx.insert("amending", &false);
    let back = match Step::ALL.iter().position(|s| *s == step) {
        _ if from_check => format!("/referrals/drafts/{draft_id}/check"),
        Some(0) | None => "/referrals/new".to_owned(),
        Some(i) => format!("/referrals/drafts/{draft_id}/{}", Step::ALL[i - 1].slug()),
    };
    ctx.insert("back", &back);
    ctx.insert("from_check", &from_check);
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(state, user, "/referrals/new", "referrals/step.html", ctx).await
}

/// A draft that was already submitted sends its owner to the referral it became.
async fn draft_or_referral(
    state: &State,
    user: &CurrentUser,
    draft_id: &str,
) -> Result<Result<RawForm, HttpResponse>, AppError> {
    let viewer = Viewer::from(user);
    let d = draft_id.to_owned();
    let found = state
        .db
        .run(move |c| match service::draft_answers(c, &viewer, &d) {
            Ok(raw) => Ok(Ok(raw)),
            Err(AppError::NotFound) => match service::submitted_from_draft(c, &viewer, &d)? {
                Some(r) => Ok(Err(r.id)),
                None => Err(AppError::NotFound),
            },
            Err(e) => Err(e),
        })
        .await?;
    Ok(found.map_err(|rid| page::see_other(&format!("/referrals/{rid}"))))
}

pub async fn step_form(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<StepQuery>,
) -> Result<HttpResponse, AppError> {
    let (draft_id, slug) = path.into_inner();
    let step = Step::from_slug(&slug).ok_or(AppError::NotFound)?;
    let raw = match draft_or_referral(&state, &user, &draft_id).await? {
        Ok(raw) => raw,
        Err(redirect) => return Ok(redirect),
    };
    step_page(
        &state,
        &user,
        &draft_id,
        step,
        &raw,
        None,
        query.opened_from_check(),
    )
    .await
}

pub async fn step_save(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<StepQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (draft_id, slug) = path.into_inner();
    let from_check = query.opened_from_check();
    let step = Step::from_slug(&slug).ok_or(AppError::NotFound)?;
    let mut page_answers = RawForm::from_urlencoded(&body);
    // Checkbox groups on this page that were left unticked.
    for f in forms::fields() {
        if f.step == step
            && matches!(f.kind, Kind::Multi(_))
            && !page_answers.0.contains_key(f.name)
        {
            page_answers.set_all(f.name, vec![]);
        }
    }
    let viewer = Viewer::from(&user);
    let d = draft_id.clone();
    let saved = state
        .db
        .write(move |c| service::save_draft(c, &viewer, &d, &page_answers))
        .await;
    let raw = match saved {
        Ok(raw) => raw,
        Err(AppError::NotFound) => {
            return match draft_or_referral(&state, &user, &draft_id).await? {
                Ok(_) => Err(AppError::NotFound),
                Err(redirect) => Ok(redirect),
            };
        }
        Err(e) => return Err(e),
    };
    let entry = raw.get("entry_point").parse().ok();
    let errors =
        match forms::parse_referral_by(user.user.role, &raw, &user.area_ids, crate::clock::today())
        {
            Ok(_) => FieldErrors::new(),
            Err(e) => forms::errors_for_step(&e, step, entry),
        };
    if !errors.is_empty() {
        return step_page(
            &state,
            &user,
            &draft_id,
            step,
            &raw,
            Some(&errors),
            from_check,
        )
        .await;
    }
    let next = match step.next() {
        _ if from_check => "check",
        Some(s) => s.slug(),
        None => "check",
    };
    Ok(page::see_other(&format!(
        "/referrals/drafts/{draft_id}/{next}"
    )))
}

async fn check_page(
    state: &State,
    user: &CurrentUser,
    draft_id: &str,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let areas = my_areas(state, user).await?;
    let area = |id: &str| {
        areas
            .iter()
            .find(|a| a.0 == id)
            .map(|a| a.1.clone())
            .unwrap_or_default()
    };
    let sections: Vec<(String, Vec<views::Row>)> = Step::ALL
        .iter()
        .map(|s| {
            let href =
                |_: &forms::Field| format!("/referrals/drafts/{draft_id}/{}?from=check", s.slug());
            (
                s.title().to_owned(),
                // The referrer's own draft: every answer is theirs.
                views::answer_rows(raw, Some(*s), Default::default(), &area, &href),
            )
        })
        .collect();
    #[derive(Serialize)]
    struct Section {
        title: String,
        rows: Vec<views::Row>,
    }
    let mut ctx = tera::Context::new();
    ctx.insert(
        "sections",
        &sections
            .into_iter()
            .map(|(title, rows)| Section { title, rows })
            .collect::<Vec<_>>(),
    );
    ctx.insert("draft_id", draft_id);
    if let Some(e) = errors {
        // On this page each error links to the question page that asks it.
        #[derive(Serialize)]
        struct Item {
            text: String,
            href: String,
        }
        let entry = raw.get("entry_point").parse().ok();
        let list: Vec<Item> = e
            .iter()
            .map(|(field, text)| {
                let step = views::applicable_fields(entry)
                    .into_iter()
                    .find(|f| f.name == field)
                    .map(|f| f.step.slug())
                    .unwrap_or("entry-point");
                Item {
                    text: text.to_owned(),
                    href: format!("/referrals/drafts/{draft_id}/{step}?from=check"),
                }
            })
            .collect();
        ctx.insert("error_list", &list);
    }
    page::render(state, user, "/referrals/new", "referrals/check.html", ctx).await
}

pub async fn check_form(
    state: State,
    user: CurrentUser,
    draft_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let draft_id = draft_id.into_inner();
    let raw = match draft_or_referral(&state, &user, &draft_id).await? {
        Ok(raw) => raw,
        Err(redirect) => return Ok(redirect),
    };
    check_page(&state, &user, &draft_id, &raw, None).await
}

#[derive(Serialize)]
struct Candidate {
    value: String,
    text: String,
    hint: String,
}

pub async fn submit(
    state: State,
    user: CurrentUser,
    draft_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let draft_id = draft_id.into_inner();
    let form = RawForm::from_urlencoded(&body);
    let raw = match draft_or_referral(&state, &user, &draft_id).await? {
        Ok(raw) => raw,
        // Sent twice: the first submission consumed the draft.
        Err(redirect) => return Ok(redirect),
    };
    let input =
        match forms::parse_referral_by(user.user.role, &raw, &user.area_ids, crate::clock::today())
        {
            Ok(i) => i,
            Err(e) => return check_page(&state, &user, &draft_id, &raw, Some(&e)).await,
        };
    // Set by the "already known?" page: sending it with no answer is an error, not a repeat.
    let asked = form.get("choosing") == "yes";
    let choice = match form.get("person_choice") {
        "" => PersonChoice::Undecided,
        "new" => PersonChoice::New,
        id => PersonChoice::Existing(id.to_owned()),
    };
    let viewer = Viewer::from(&user);
    let actor = user.actor();
    let d = draft_id.clone();
    let emails = state.emails.clone();
    let outcome = flow::submit(&state, Ok(input), move |c, input| {
        let (draft, emails) = (Some(d.as_str()), Some(&emails));
        service::create(c, &viewer, &actor, &input, &choice, None, draft, emails)
    })
    .await?;
    match outcome {
        Ok(CreateOutcome::Created(r)) | Ok(CreateOutcome::Repeated(r)) => {
            page::flash_and_redirect(
                &state,
                &user,
                Flash::success(format!("Referral {} submitted", r.reference)),
                &format!("/referrals/{}", r.id),
            )
            .await
        }
        Ok(CreateOutcome::PossibleDuplicates(people)) => {
            let mut options: Vec<Candidate> = people
                .iter()
                .map(|p| Candidate {
                    value: p.id.clone(),
                    text: format!("{} {}", p.given_name, p.family_name),
                    hint: format!(
                        "Born {}{}",
                        format::date(p.date_of_birth),
                        p.crn
                            .as_ref()
                            .map(|c| format!(", CRN {c}"))
                            .unwrap_or_default()
                    ),
                })
                .collect();
            options.push(Candidate {
                value: "new".into(),
                text: "None of these: this is a new person".into(),
                hint: String::new(),
            });
            let mut ctx = tera::Context::new();
            ctx.insert("draft_id", &draft_id);
            ctx.insert("options", &options);
            if asked {
                let errors = FieldErrors::single(
                    "person_choice",
                    "Select one of these people, or that this is a new person",
                );
                page::insert_errors(&mut ctx, &errors);
            }
            page::render(
                &state,
                &user,
                "/referrals/new",
                "referrals/duplicates.html",
                ctx,
            )
            .await
        }
        Err(e) => check_page(&state, &user, &draft_id, &raw, Some(&e)).await,
    }
}
