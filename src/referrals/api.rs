//! The referrals JSON API: the same service, rules, scope and messages as the pages.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::guard::ApiUser;
use crate::error::{ApiError, AppError, ErrorBody, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::{Ctx, Grounds};
use crate::referrals::forms::{self};
use crate::referrals::model::{self, Viewer};
use crate::referrals::service::{self, CreateOutcome, PersonChoice};
use crate::referrals::state::Action;
use crate::referrals::views::{ReferralJson, ReferralSummary};
use crate::state::State;

const MAX_PER_PAGE: i64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// A status code, e.g. `submitted`.
    pub status: Option<String>,
    /// A case-list tab: new, in_assessment, awaiting_sentence, waiting, in_treatment, ended.
    pub tab: Option<String>,
    pub area_id: Option<String>,
    /// `arrest` or `probation`.
    pub entry_point: Option<String>,
    /// Assistant psychologist (assessing or allocated).
    pub ap_id: Option<String>,
    /// Reference, CRN, PNC ID or name.
    pub q: Option<String>,
    /// newest (default), oldest, updated, reference, urgent (urgent first, then longest waiting).
    pub sort: Option<String>,
    /// The page number (from 1). A deep page is read faster by `after` or `before`.
    pub page: Option<i64>,
    /// At most 100; 25 when not given.
    pub per_page: Option<i64>,
    /// The page that follows this referral id in the list (a page's `next_after`): read from
    /// the referral's place in the list's index, so a deep page costs what the first does.
    /// `page` is then only the number to show; an id out of your scope is ignored.
    pub after: Option<String>,
    /// The page that comes before this referral id (a page's `previous_before`).
    pub before: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralPage {
    pub items: Vec<ReferralSummary>,
    /// How many match; with `more`, at least this many (a list of whole areas counts to
    /// 1,000; a search for a very common name is not counted, so `total` is then the
    /// referrals up to this page and `more` says whether another page follows).
    pub total: i64,
    pub more: bool,
    /// The name searched for is too common to count: add to it, or search by CRN or
    /// reference.
    pub common_name: bool,
    pub page: i64,
    pub per_page: i64,
    /// Give as `after` (with `page` + 1) for the next page; absent on the last page.
    pub next_after: Option<String>,
    /// Give as `before` (with `page` − 1) for the previous page; absent on the first.
    pub previous_before: Option<String>,
}

/// List referrals in your scope.
#[utoipa::path(
    get, path = "/api/v1/referrals", tag = "referrals",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of referrals", body = ReferralPage),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Your role has no referrals", body = ErrorBody),
        (status = 422, description = "Unknown filter value", body = ErrorBody),
    )
)]
pub async fn list(
    state: State,
    api: ApiUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let filter = forms::list_filter(
        p.status.as_deref(),
        p.tab.as_deref(),
        p.area_id.as_deref(),
        p.entry_point.as_deref(),
        p.ap_id.as_deref(),
        p.q.as_deref(),
        p.sort.as_deref(),
    )
    .map_err(AppError::Validation)?;
    let per_page = p.per_page.unwrap_or(25).clamp(1, MAX_PER_PAGE);
    let page = p.page.unwrap_or(1).max(1);
    let viewer = Viewer::from(&api);
    let at = model::Position::asked(
        page,
        per_page,
        p.after.as_deref(),
        p.before.as_deref(),
        false,
    );
    let (rows, total, areas) = state
        .db
        .run(move |c| {
            let (rows, total) = model::list(c, &viewer, &filter, &at, per_page)?;
            Ok((rows, total, crate::areas::active_areas(c)?))
        })
        .await?;
    let area_name = |id: &str| {
        areas
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    Ok(HttpResponse::Ok().json(ReferralPage {
        items: rows
            .iter()
            .map(|r| ReferralSummary::new(r, area_name(&r.area_id)))
            .collect(),
        next_after: total
            .next_follows(page, per_page, rows.len())
            .then(|| rows.last().map(|r| r.id.clone()))
            .flatten(),
        previous_before: (page > 1)
            .then(|| rows.first().map(|r| r.id.clone()))
            .flatten(),
        total: total.count,
        more: total.more,
        common_name: total.common_name,
        page,
        per_page,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PossibleDuplicate {
    pub person_id: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateBody {
    /// Always `possible_duplicate`.
    pub error: String,
    pub message: String,
    pub candidates: Vec<PossibleDuplicate>,
}

/// Make a referral. The body holds the answers (see `answers` of a referral); add
/// `existing_person_id` or `"create_new_person": true` to resolve a possible duplicate.
#[utoipa::path(
    post, path = "/api/v1/referrals", tag = "referrals",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get the same referral, not a second one")),
    request_body(content = Object, description = "The referral's answers"),
    responses(
        (status = 201, description = "Referral made", body = ReferralJson),
        (status = 200, description = "Already made with this Idempotency-Key", body = ReferralJson),
        (status = 409, description = "The person may already be known: choose", body = DuplicateBody),
        (status = 422, description = "Invalid answers", body = ErrorBody),
    )
)]
pub async fn create(
    state: State,
    api: ApiUser,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let obj = body
        .as_object()
        .ok_or_else(|| AppError::BadRequest("The request body must be a JSON object".into()))?;
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    if key.as_ref().is_some_and(|k| k.len() > 200) {
        return Err(
            AppError::BadRequest("Idempotency-Key must be 200 characters or fewer".into()).into(),
        );
    }
    let raw = RawForm::from_json(obj);
    let choice = match (
        obj.get("existing_person_id").and_then(|v| v.as_str()),
        obj.get("create_new_person").and_then(|v| v.as_bool()),
    ) {
        (Some(id), _) => PersonChoice::Existing(id.to_owned()),
        (None, Some(true)) => PersonChoice::New,
        _ => PersonChoice::Undecided,
    };
    let input = forms::parse_referral_by(api.user.role, &raw, &api.area_ids, crate::clock::today())
        .map_err(AppError::Validation)?;
    let viewer = Viewer::from(&api);
    let actor = api.actor();
    let (role, me) = (api.user.role, api.user.id.clone());
    let emails = state.emails.clone();
    let outcome = state
        .db
        .write(move |c| {
            let out = service::create(
                c,
                &viewer,
                &actor,
                &input,
                &choice,
                key.as_deref(),
                None,
                Some(&emails),
            )?;
            let loaded = match &out {
                CreateOutcome::Created(r) | CreateOutcome::Repeated(r) => {
                    Some(service::load(c, &viewer, &r.id)?)
                }
                CreateOutcome::PossibleDuplicates(_) => None,
            };
            Ok((out, loaded))
        })
        .await?;
    match outcome {
        (CreateOutcome::Created(_), Some(l)) => {
            Ok(HttpResponse::Created().json(ReferralJson::new(&l, role, &me)))
        }
        (CreateOutcome::Repeated(_), Some(l)) => Ok(HttpResponse::Ok().json(ReferralJson::new(&l, role, &me))),
        (CreateOutcome::PossibleDuplicates(people), _) => Ok(HttpResponse::Conflict().json(DuplicateBody {
            error: "possible_duplicate".into(),
            message: "This person may already be known. Send existing_person_id to link the referral to one of them, or create_new_person: true".into(),
            candidates: people
                .iter()
                .map(|p| PossibleDuplicate {
                    person_id: p.id.clone(),
                    given_name: p.given_name.clone(),
                    family_name: p.family_name.clone(),
                    date_of_birth: p.date_of_birth.to_string(),
                })
                .collect(),
        })),
        _ => Err(AppError::Internal(anyhow::anyhow!("referral created but not loaded")).into()),
    }
}

/// Get a referral (the view is recorded in the audit log, with the reason for it when a
/// clinical lead looks at a referral off their own caseload).
#[utoipa::path(
    get, path = "/api/v1/referrals/{id}", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    responses(
        (status = 200, description = "The referral", body = ReferralJson),
        (status = 403, description = "`reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 422, description = "Access-Reason blank or too long", body = ErrorBody),
    )
)]
pub async fn get(state: State, ctx: Ctx, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (role, me) = (ctx.viewer.role, ctx.viewer.user_id.clone());
    let l = state.db.write(move |c| service::view(c, &ctx, &id)).await?;
    Ok(HttpResponse::Ok().json(ReferralJson::new(&l, role, &me)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AmendRequest {
    pub version: i64,
    pub reason: String,
    /// The answers to change, keyed like the create request.
    #[schema(value_type = Object)]
    pub changes: serde_json::Map<String, serde_json::Value>,
}

/// Amend a referral's answers; each change is kept with its old and new value and reason.
#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/amend", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body = AmendRequest,
    responses(
        (status = 200, description = "Amended", body = ReferralJson),
        (status = 403, description = "Your role cannot amend, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "Changed since you loaded it", body = ErrorBody),
        (status = 422, description = "Invalid answers", body = ErrorBody),
    )
)]
pub async fn amend(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<AmendRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let changes = RawForm::from_json(&body.changes);
    let (role, me) = (ctx.viewer.role, ctx.viewer.user_id.clone());
    let l = state
        .db
        .write(move |c| {
            service::amend(c, &ctx, &id, body.version, &changes, &body.reason)?;
            service::view(c, &ctx, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ReferralJson::new(&l, role, &me)))
}

/// A clinical lead's decision on an identity match of a referral.
#[derive(Debug, Deserialize, ToSchema)]
pub struct IdentityRequest {
    /// `confirm` (the same person) or `split` (a different person).
    pub decision: String,
    pub reason: String,
}

/// Confirm or split an exact CRN or PNC ID match (`identity` on the referral).
#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/identity/{link_id}", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), ("link_id" = String, Path, description = "Identity link id"), Grounds),
    request_body = IdentityRequest,
    responses(
        (status = 200, description = "Decided", body = ReferralJson),
        (status = 403, description = "Not a clinical lead, or `reason_required`: send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral or match in your scope", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
        (status = 422, description = "No decision or no reason", body = ErrorBody),
    )
)]
pub async fn identity(
    state: State,
    ctx: Ctx,
    path: web::Path<(String, String)>,
    body: web::Json<IdentityRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, link_id) = path.into_inner();
    let body = body.into_inner();
    let (role, me) = (ctx.viewer.role, ctx.viewer.user_id.clone());
    let l = state
        .db
        .write(move |c| {
            let answer = service::IdentityDecision {
                decision: &body.decision,
                reason: &body.reason,
            };
            service::decide_identity(c, &ctx, &id, &link_id, &answer)?;
            service::view(c, &ctx, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ReferralJson::new(&l, role, &me)))
}

/// Move a referral along the pathway. The body holds `action`, `version` and the action's
/// fields (dates as ISO 8601), named as on the pages. `accept` may also carry
/// `assessment_date` and `assessor_id` to book the assessment at the same time (both steps
/// are taken, or neither).
#[utoipa::path(
    post, path = "/api/v1/referrals/{id}/transitions", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id"), Grounds),
    request_body(content = Object, description = "action, version and the action's fields"),
    responses(
        (status = 200, description = "Done", body = ReferralJson),
        (status = 403, description = "Your role cannot take this action, or `reason_required`: the referral is not on your caseload; send Access-Reason", body = ErrorBody),
        (status = 404, description = "No such referral in your scope", body = ErrorBody),
        (status = 409, description = "Not possible at this step, or changed since you loaded it", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn transition(
    state: State,
    ctx: Ctx,
    id: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let obj = body
        .as_object()
        .ok_or_else(|| AppError::BadRequest("The request body must be a JSON object".into()))?;
    let raw = RawForm::from_json(obj);
    let action: Action = raw.get("action").parse().map_err(|_| {
        AppError::Validation(FieldErrors::single(
            "action",
            "Select an action from the list",
        ))
    })?;
    if action == Action::Submit {
        return Err(AppError::Validation(FieldErrors::single(
            "action",
            "Select an action from the list",
        ))
        .into());
    }
    let t = forms::parse_transition(action, &raw, crate::clock::today())
        .map_err(AppError::Validation)?;
    let (role, me) = (ctx.viewer.role, ctx.viewer.user_id.clone());
    let emails = state.emails.clone();
    let l = state
        .db
        .write(move |c| {
            service::transition(c, &ctx, &id, action, &t, Some(&emails))?;
            service::view(c, &ctx, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ReferralJson::new(&l, role, &me)))
}

/// A merge of two records of one person. Times are UTC.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeJson {
    pub id: String,
    /// The person whose record was kept: every referral moved is theirs until the merge is
    /// undone.
    pub kept_person_id: String,
    /// The person whose record was merged into the kept one.
    pub merged_person_id: String,
    /// The referrals moved (and moved back by an undo).
    pub referral_ids: Vec<String>,
    pub merged_at: String,
    pub undone_at: Option<String>,
    /// The merged person's contact details for reminders were moved to the person kept, who
    /// had none (an undo moves them back).
    pub contact_moved: bool,
    /// The referral given as the one to keep, for a clinical lead; absent for an
    /// administrator, who merges by reference and does not see referrals.
    pub kept_referral_id: Option<String>,
}

impl MergeJson {
    fn new(m: model::Merge, kept_referral_id: Option<String>) -> Result<Self, AppError> {
        Ok(Self {
            referral_ids: serde_json::from_str(&m.referral_ids)
                .map_err(|e| AppError::Internal(e.into()))?,
            merged_at: crate::web::format::iso(m.merged_at),
            undone_at: m.undone_at.map(crate::web::format::iso),
            id: m.id,
            kept_person_id: m.kept_person_id,
            merged_person_id: m.merged_person_id,
            contact_moved: m.contact_moved,
            kept_referral_id,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergesJson {
    pub items: Vec<MergeJson>,
}

/// The merges you made that are not undone, newest first (at most 10, as on the page).
#[utoipa::path(
    get, path = "/api/v1/people/merges", tag = "referrals",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your merges that can be undone", body = MergesJson),
        (status = 403, description = "Clinical leads and administrators only", body = ErrorBody),
    )
)]
pub async fn merges(state: State, api: ApiUser) -> Result<HttpResponse, ApiError> {
    let viewer = Viewer::from(&api);
    let items = state
        .db
        .run(move |c| service::my_merges(c, &viewer))
        .await?
        .into_iter()
        .map(|m| MergeJson::new(m, None))
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(MergesJson { items }))
}

/// Two records of one person to join. Every field is required; they are optional here so
/// that a missing one gets the same message as on the page.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The reference of a referral of the person whose record is kept, like `MH-7K3Q-PX4D`.
    pub keep_reference: Option<String>,
    /// The reference of a referral of the person whose record is merged into it.
    pub merge_reference: Option<String>,
    /// Why these are the same person (kept in the audit log).
    pub reason: Option<String>,
}

/// Join two records of one person: every referral of the person on `merge_reference` moves
/// to the person on `keep_reference`. Every referral moved must be in your areas.
#[utoipa::path(
    post, path = "/api/v1/people/merges", tag = "referrals",
    security(("bearer" = [])),
    request_body = MergeRequest,
    responses(
        (status = 201, description = "Merged; undo it with its id", body = MergeJson),
        (status = 403, description = "Clinical leads and administrators only", body = ErrorBody),
        (status = 409, description = "The records changed while merging", body = ErrorBody),
        (status = 422, description = "A reference not in your areas, the same person twice, no reason, or a person with referrals outside your areas", body = ErrorBody),
    )
)]
pub async fn merge(
    state: State,
    api: ApiUser,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (viewer, actor) = (Viewer::from(&api), api.actor());
    let merged = state
        .db
        .write(move |c| {
            service::merge_people(
                c,
                &viewer,
                &actor,
                body.keep_reference.as_deref().unwrap_or_default(),
                body.merge_reference.as_deref().unwrap_or_default(),
                body.reason.as_deref().unwrap_or_default(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(MergeJson::new(merged.merge, merged.kept_referral_id)?))
}

/// Undo a merge: the referrals moved go back to the person they came from. Anyone who could
/// have made the merge may undo it.
#[utoipa::path(
    post, path = "/api/v1/people/merges/{id}/undo", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Merge id")),
    responses(
        (status = 200, description = "Undone", body = MergeJson),
        (status = 403, description = "Clinical leads and administrators only", body = ErrorBody),
        (status = 404, description = "No such merge of referrals in your areas", body = ErrorBody),
        (status = 409, description = "Already undone", body = ErrorBody),
    )
)]
pub async fn undo_merge(
    state: State,
    api: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (viewer, actor) = (Viewer::from(&api), api.actor());
    let undone = state
        .db
        .write(move |c| service::undo_merge(c, &viewer, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(MergeJson::new(undone, None)?))
}
