//! The actions that move a referral along.

use crate::auth::guard::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::Ctx;
use crate::referrals::forms::{self};
use crate::referrals::service::{self, Loaded};
use crate::referrals::state::{self, Action};
use crate::state::State;
use crate::users::model::Role;
use crate::web::flow::{self, Then};
use crate::web::{self as page, Choice};
use actix_web::{HttpResponse, web};
use std::collections::BTreeMap;

use super::*;

fn parse_action(s: &str) -> Result<Action, AppError> {
    match s.parse::<Action>() {
        Ok(Action::Submit) | Err(_) => Err(AppError::NotFound),
        Ok(a) => Ok(a),
    }
}

/// The action's form: `raw` as sent (or, first time, what the service already knows), the
/// people to choose from, and `errors` if it was refused.
async fn action_page(
    state: &State,
    user: &CurrentUser,
    l: &Loaded,
    action: Action,
    raw: Option<&RawForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let r = &l.referral;
    let loaded = l.clone();
    let form = state
        .db
        .read(move |c| service::action_form(c, &loaded, action, crate::clock::today()))
        .await?;
    let raw = raw.unwrap_or(&form.prefill);
    let staff = form.staff.unwrap_or_default();
    let mut ctx = tera::Context::new();
    ctx.insert("id", &r.id);
    ctx.insert("reference", &r.reference);
    ctx.insert(
        "person_name",
        &format!("{} {}", l.person.given_name, l.person.family_name),
    );
    ctx.insert("action", action.as_str());
    ctx.insert("title", action.label());
    ctx.insert("version", &r.version);
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for k in [
        "reason",
        "note",
        "assessor_id",
        "ap_id",
        "officer_id",
        "treatment_director_id",
        "order_type",
        "court",
        "combined_with",
        "end_outcome",
        "end_reason",
        "withdrawal_reason",
        "court_outcome",
        "formulation",
        "recommendation",
        "proposed_sessions",
        "proposed_mode",
    ] {
        values.insert(k.into(), raw.get(k).to_owned());
    }
    for d in [
        "sentence_date",
        "requirement_end_date",
        "proposed_start_date",
    ] {
        for p in ["day", "month", "year"] {
            let k = format!("{d}_{p}");
            values.insert(k.clone(), raw.get(&k).to_owned());
        }
    }
    if let Some((name, what, _)) = forms::action_date(action) {
        ctx.insert("date_name", name);
        ctx.insert("date_legend", &crate::web::format::capitalise(what));
        for p in ["day", "month", "year"] {
            ctx.insert(format!("date_{p}"), raw.get(&format!("{name}_{p}")));
        }
    }
    if let Some((name, label, _)) = forms::action_text(action) {
        ctx.insert("text_name", name);
        ctx.insert("text_label", label);
    }
    let people = with_blank(
        "Select a person",
        staff
            .into_iter()
            .map(|(id, text)| Choice::new(id, text))
            .collect(),
    );
    if let Some((name, label)) = forms::action_user(action) {
        let hint = (action == Action::BookAssessment
            && user.user.role == Role::AssistantPsychologist)
            .then_some("Leave blank to book it with yourself");
        ctx.insert("user_name", name);
        ctx.insert("user_label", label);
        ctx.insert("user_hint", hint.unwrap_or(""));
        ctx.insert("user_options", &people);
    }
    if action == Action::Accept {
        // Booking the assessment at the same sitting, optionally.
        ctx.insert("book_options", &people);
        for p in ["day", "month", "year"] {
            let k = format!("assessment_date_{p}");
            values.insert(k.clone(), raw.get(&k).to_owned());
        }
    }
    ctx.insert("is_accept", &(action == Action::Accept));
    ctx.insert("is_order", &(action == Action::RecordMhtrMade));
    ctx.insert("is_end", &(action == Action::EndTreatment));
    ctx.insert("is_withdraw", &(action == Action::Withdraw));
    ctx.insert("is_variation", &(action == Action::VaryOrder));
    ctx.insert("is_report", &(action == Action::SendReport));
    ctx.insert("is_share_give", &(action == Action::GiveShareConsent));
    ctx.insert(
        "is_share_withdraw",
        &(action == Action::WithdrawShareConsent),
    );
    ctx.insert(
        "mode_options",
        &choices(crate::code_pairs!(crate::sessions::codes::Mode)),
    );
    ctx.insert(
        "court_outcome_options",
        &choices(
            match action {
                Action::VaryOrder => CourtOutcome::VARIATIONS,
                _ => CourtOutcome::ENDINGS,
            }
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        ),
    );
    ctx.insert(
        "is_court_decision",
        &matches!(action, Action::VaryOrder | Action::EndOrder),
    );
    ctx.insert(
        "order_type_options",
        &choices(crate::code_pairs!(OrderType)),
    );
    ctx.insert(
        "combined_options",
        &choices(crate::code_pairs!(CombinedWith)),
    );
    ctx.insert(
        "end_outcome_options",
        &choices(crate::code_pairs!(EndOutcome)),
    );
    ctx.insert(
        "end_reason_options",
        &choices(crate::code_pairs!(EndReason)),
    );
    ctx.insert(
        "withdrawal_options",
        &choices(crate::code_pairs!(WithdrawalReason)),
    );
    ctx.insert("values", &values);
    ctx.insert("errors", &BTreeMap::<String, String>::new());
    if let Some(e) = errors {
        page::insert_errors(&mut ctx, e);
    }
    page::render(state, user, "/referrals", "referrals/action.html", ctx).await
}

pub async fn action_form(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let action = parse_action(&action)?;
    let l = match for_form(&state, &user, &id, action_allowed(user.user.role, action)).await? {
        Ok(l) => l,
        Err(erased) => return Ok(erased),
    };
    action_page(&state, &user, &l, action, None, None).await
}

/// Refuses the form of an action the role may never take or that is not possible at the
/// referral's step: a refused action shows nothing of the referral, so only a form shown
/// is a view.
fn action_allowed(role: Role, action: Action) -> impl FnOnce(&Loaded) -> Result<(), AppError> {
    move |l| {
        state::check(role, action, l.referral.status)
            .map(|_| ())
            .map_err(|refusal| match refusal {
                state::Refusal::WrongRole => AppError::Forbidden,
                r => AppError::Conflict(r.message(action, l.referral.status)),
            })
    }
}

pub async fn act(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let action = parse_action(&action)?;
    let raw = RawForm::from_urlencoded(&body);
    let ctx = Ctx::from(&user);
    let (rid, emails) = (id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_transition(action, &raw, crate::clock::today()),
        move |c, t| service::transition(c, &ctx, &rid, action, &t, Some(&emails)),
        |_| {
            Then::success(
                format!("{}: done", action.label()),
                format!("/referrals/{id}"),
            )
        },
        async |errors| {
            let l =
                match for_form(&state, &user, &id, action_allowed(user.user.role, action)).await? {
                    Ok(l) => l,
                    Err(erased) => return Ok(erased),
                };
            action_page(&state, &user, &l, action, Some(&raw), Some(&errors)).await
        },
    )
    .await
}
