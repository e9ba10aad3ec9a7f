//! Pages: the person's contact details and reminder preferences (`/referrals/{id}/contact`),
//! and for administrators whether reminders are on, the wording with a preview, and the
//! reminders that failed (`/admin/reminders`).

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::Ctx;
use crate::referrals::pages;
use crate::reminders::templates::{self, Wording};
use crate::reminders::{Channel, Language, contact, service_status};
use crate::state::State;
use crate::web as page;
use crate::web::flow::{self, Then};
use crate::web::{Choice, choices};

// ------------------------------------------------------------------ contact details

async fn contact_page(
    state: &State,
    user: &CurrentUser,
    id: String,
    raw: Option<&RawForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let acting = Ctx::from(user);
    let view = state
        .db
        .write(move |c| contact::view(c, &acting, &id))
        .await?;
    let values = match raw {
        Some(raw) => raw.first_values(),
        None => contact::to_raw(view.details.as_ref()).first_values(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("referral_id", &view.referral_id);
    ctx.insert("reference", &view.reference);
    ctx.insert("can_change", &view.can_change);
    ctx.insert("values", &values);
    let consent_on = view
        .details
        .as_ref()
        .and_then(|d| d.reminders_consent_on)
        .map(crate::web::format::date);
    ctx.insert(
        "consent_hint",
        &match &consent_on {
            Some(on) => format!("They agreed on {on}."),
            None => "The day they agree is recorded.".to_owned(),
        },
    );
    ctx.insert("consent_on", &consent_on);
    let ticked: Vec<&str> = if values.get("do_not_contact").is_some_and(|v| v == "yes") {
        vec!["yes"]
    } else {
        Vec::new()
    };
    ctx.insert("do_not_contact", &ticked);
    ctx.insert(
        "yes_no",
        &[Choice::new("yes", "Yes"), Choice::new("no", "No")],
    );
    ctx.insert(
        "do_not_contact_options",
        &[Choice::new("yes", "The person must not be contacted")],
    );
    ctx.insert(
        "channels",
        &choices(Channel::ALL, Channel::as_str, Channel::label),
    );
    ctx.insert(
        "languages",
        &choices(Language::ALL, Language::as_str, Language::label),
    );
    ctx.insert("reminders", &service_status(&state.settings.reminders));
    pages::show(state, user, "reminders/contact.html", ctx, errors).await
}

pub async fn contact_form(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    contact_page(&state, &user, id.into_inner(), None, None).await
}

pub async fn contact_save(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, rid, settings) = (
        Ctx::from(&user),
        id.clone(),
        state.settings.reminders.clone(),
    );
    flow::post(
        &state,
        &user,
        contact::parse(&raw),
        move |c, input| contact::save(c, &acting, &settings, &rid, &input),
        |_| {
            Then::with(
                Flash::success("Contact details and reminder preferences saved"),
                format!("/referrals/{id}"),
            )
        },
        async |e| contact_page(&state, &user, id.clone(), Some(&raw), Some(&e)).await,
    )
    .await
}

// ------------------------------------------------------------------ administrators

#[derive(Serialize)]
struct DeadRow {
    id: String,
    kind: &'static str,
    channel: &'static str,
    created: String,
    error: String,
}

pub async fn admin(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (role, scope) = (user.user.role, crate::users::service::admin_scope(&user));
    let (rows, dead) = state
        .db
        .run(move |c| crate::reminders::admin_overview(c, role, &scope))
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("templates", &rows);
    ctx.insert("can_edit", &user.user.service_wide);
    ctx.insert("reminders", &service_status(&state.settings.reminders));
    ctx.insert(
        "dead",
        &dead
            .iter()
            .map(|r| DeadRow {
                id: r.id.clone(),
                kind: r.kind.label(),
                channel: r.channel.label(),
                created: crate::web::format::date_time(r.created_at),
                error: r.last_error.clone().unwrap_or_default(),
            })
            .collect::<Vec<_>>(),
    );
    page::render(
        &state,
        &user,
        "/admin/reminders",
        "admin/reminders.html",
        ctx,
    )
    .await
}

async fn template_page(
    state: &State,
    user: &CurrentUser,
    kind: String,
    language: String,
    raw: Option<&RawForm>,
    preview: Option<Wording>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let (k, l) = templates::named(&kind, &language)?;
    let role = user.user.role;
    let current = state
        .db
        .run(move |c| templates::for_admin(c, role, k, l))
        .await?;
    let values = match raw {
        Some(raw) => raw.first_values(),
        None => {
            let mut r = RawForm::default();
            r.set("subject", current.0.subject.clone());
            r.set("body", current.0.body.clone());
            r.first_values()
        }
    };
    let mut ctx = tera::Context::new();
    ctx.insert("kind", k.as_str());
    ctx.insert("kind_label", k.label());
    ctx.insert("language", l.as_str());
    ctx.insert("language_label", l.label());
    ctx.insert("values", &values);
    ctx.insert("preview", &preview);
    ctx.insert("most_body", &templates::MOST_BODY);
    ctx.insert(
        "placeholders",
        &templates::PLACEHOLDERS
            .iter()
            .map(|(n, d)| (format!("(({n}))"), *d))
            .collect::<Vec<_>>(),
    );
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(
        state,
        user,
        "/admin/reminders",
        "admin/reminder_template.html",
        ctx,
    )
    .await
}

pub async fn template_form(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (kind, language) = path.into_inner();
    template_page(&state, &user, kind, language, None, None, None).await
}

/// Previews the wording ("Preview") or saves it ("Save"); a mistake re-renders the form with
/// what was typed and an error summary.
pub async fn template_save(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (kind, language) = path.into_inner();
    let (k, l) = templates::named(&kind, &language)?;
    let raw = RawForm::from_urlencoded(&body);
    let parsed = templates::parse(&raw);
    if raw.get("action") == "preview" {
        return match parsed {
            Ok(w) => {
                let shown = templates::preview(&w, l, &state.settings.reminders.provider);
                template_page(&state, &user, kind, language, Some(&raw), Some(shown), None).await
            }
            Err(e) => {
                template_page(&state, &user, kind, language, Some(&raw), None, Some(&e)).await
            }
        };
    }
    let (role, wide, actor) = (user.user.role, user.user.service_wide, user.actor());
    flow::post(
        &state,
        &user,
        parsed,
        move |c, w| templates::save(c, role, wide, &actor, k, l, &w),
        |_| {
            Then::with(
                Flash::success(format!("{} ({}) saved", k.label(), l.label())),
                "/admin/reminders",
            )
        },
        async |e| {
            template_page(
                &state,
                &user,
                kind.clone(),
                language.clone(),
                Some(&raw),
                None,
                Some(&e),
            )
            .await
        },
    )
    .await
}

pub async fn retry(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (role, scope, actor, id) = (
        user.user.role,
        crate::users::service::admin_scope(&user),
        user.actor(),
        id.into_inner(),
    );
    state
        .db
        .write(move |c| crate::reminders::retry(c, role, &scope, &actor, &id))
        .await?;
    page::flash_and_redirect(
        &state,
        &user,
        Flash::success("The reminder will be sent again"),
        "/admin/reminders",
    )
    .await
}
