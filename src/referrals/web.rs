//! Referral pages: the case lists, the referral page with its timeline, the actions that
//! move a referral along, amendments, and the question pages that make a referral from a
//! saved draft.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::areas;
use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::{Ctx, view_event};
use crate::referrals::codes::*;
use crate::referrals::forms::{self, AccessReason, Kind, Step};
use crate::referrals::model::{self, Viewer};
use crate::referrals::service::{self, CreateOutcome, Loaded, PersonChoice};
use crate::referrals::state::{self, Action, Status, Tab};
use crate::referrals::views::{self, ReferralSummary};
use crate::state::State;
use crate::users::model::Role;
use crate::web::return_path::ReturnPath;
use crate::web::{self as page, Choice, format};

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

// ------------------------------------------------------------------ case lists

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    tab: Option<String>,
    status: Option<String>,
    area_id: Option<String>,
    entry_point: Option<String>,
    ap_id: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    page: Option<i64>,
}

#[derive(Serialize)]
struct TabLink {
    href: String,
    text: &'static str,
    active: bool,
}

pub async fn list(
    state: State,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let tab = q
        .tab
        .as_deref()
        .and_then(|t| t.parse::<Tab>().ok())
        .unwrap_or(Tab::New);
    let status_given = q.status.as_deref().is_some_and(|s| !s.is_empty());
    let filter = forms::list_filter(
        q.status.as_deref(),
        (!status_given).then_some(tab.as_str()),
        q.area_id.as_deref(),
        q.entry_point.as_deref(),
        q.ap_id.as_deref(),
        q.q.as_deref(),
        q.sort.as_deref(),
    );
    let (filter, errors) = match filter {
        Ok(f) => (f, FieldErrors::new()),
        Err(e) => (
            model::ListFilter {
                statuses: tab.statuses(),
                ..Default::default()
            },
            e,
        ),
    };
    let page_no = q.page.unwrap_or(1).max(1);
    let viewer = Viewer::from(&user);
    let f2 = filter.clone();
    let is_lead = user.user.role == Role::ClinicalLead;
    // A caseload is a few hundred referrals at most, read along its indexes: a short read.
    // A list of whole areas (a clinical lead's) counts every referral in the tab's statuses.
    let short = model::has_caseload(&viewer);
    let read = move |c: &mut DbConn| {
        let area_list = areas::named(c, &viewer.area_ids)?;
        let (rows, total) = model::list(c, &viewer, &f2, (page_no - 1) * PAGE_SIZE, PAGE_SIZE)?;
        let mut aps = Vec::new();
        if is_lead {
            for a in &viewer.area_ids {
                for s in model::staff_in_area(c, Role::AssistantPsychologist, a)? {
                    if !aps
                        .iter()
                        .any(|x: &(String, String, Option<String>)| x.0 == s.0)
                    {
                        aps.push(s);
                    }
                }
            }
        }
        Ok((area_list, rows, total, aps))
    };
    let (area_list, rows, total, aps) = if short {
        state.db.read_short(read).await?
    } else {
        state.db.read(read).await?
    };
    let area_name = |id: &str| {
        area_list
            .iter()
            .find(|a| a.0 == id)
            .map(|a| a.1.clone())
            .unwrap_or_default()
    };
    let items: Vec<ReferralSummary> = rows
        .iter()
        .map(|r| ReferralSummary::new(r, area_name(&r.area_id)))
        .collect();

    // The filters to carry across pages (all) and tabs (all but status, which a tab replaces).
    let mut keep = String::new();
    let mut keep_for_tabs = String::new();
    if let Some(v) = q.status.as_deref().filter(|v| !v.is_empty()) {
        keep.push_str(&format!("status={}&", urlencode(v)));
    }
    for (k, v) in [
        ("area_id", &q.area_id),
        ("entry_point", &q.entry_point),
        ("ap_id", &q.ap_id),
        ("q", &q.q),
        ("sort", &q.sort),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            keep.push_str(&format!("{k}={}&", urlencode(v)));
            keep_for_tabs.push_str(&format!("&{k}={}", urlencode(v)));
        }
    }
    let tabs: Vec<TabLink> = Tab::ALL
        .iter()
        .map(|t| TabLink {
            href: format!("/referrals?tab={}{keep_for_tabs}", t.as_str()),
            text: t.label(),
            active: !status_given && *t == tab,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("tabs", &tabs);
    ctx.insert("items", &items);
    ctx.insert("total", &total);
    ctx.insert("page", &page_no);
    ctx.insert("pages", &((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1));
    ctx.insert(
        "base_url",
        &format!("/referrals?tab={}&{keep}", tab.as_str()),
    );
    ctx.insert("tab", tab.as_str());
    ctx.insert("tab_label", tab.label());
    ctx.insert(
        "heading",
        match user.user.role {
            Role::ProbationOfficer => "Your referrals",
            Role::AssistantPsychologist => "Your caseload",
            _ => "Referrals",
        },
    );
    ctx.insert("is_lead", &is_lead);
    ctx.insert("is_referrer", &(user.user.role == Role::ProbationOfficer));
    let echo = |v: &Option<String>| v.clone().unwrap_or_default();
    ctx.insert("f_status", &echo(&q.status));
    ctx.insert("f_area", &echo(&q.area_id));
    ctx.insert("f_entry", &echo(&q.entry_point));
    ctx.insert("f_ap", &echo(&q.ap_id));
    ctx.insert("f_q", &echo(&q.q));
    ctx.insert("f_sort", filter.sort.as_str());
    ctx.insert(
        "status_options",
        &with_blank(
            "Any status (use the tabs)",
            choices(crate::code_pairs!(Status)),
        ),
    );
    ctx.insert(
        "area_options",
        &with_blank(
            "All your areas",
            area_list
                .iter()
                .map(|(id, n)| Choice::new(id.clone(), n.clone()))
                .collect(),
        ),
    );
    ctx.insert(
        "entry_options",
        &with_blank("Both", choices(crate::code_pairs!(EntryPoint))),
    );
    ctx.insert(
        "ap_options",
        &with_blank(
            "Any",
            aps.into_iter()
                .map(|(id, name, _)| Choice::new(id, name))
                .collect(),
        ),
    );
    ctx.insert(
        "sort_options",
        &choices(vec![
            ("newest", "Newest first"),
            ("oldest", "Oldest first"),
            ("updated", "Recently updated"),
            ("reference", "Reference"),
            ("urgent", "Urgent first, then longest waiting"),
        ]),
    );
    if !errors.is_empty() {
        page::insert_errors(&mut ctx, &errors);
    }
    page::render(&state, &user, "/referrals", "referrals/list.html", ctx).await
}

// ------------------------------------------------------------------ the referral page

fn section_rows(l: &Loaded, steps: &[Step], can_amend: bool) -> Vec<views::Row> {
    let raw = l.input.to_raw();
    let area = |id: &str| l.area_names.get(id).cloned().unwrap_or_default();
    let rid = l.referral.id.clone();
    let href = |f: &forms::Field| {
        if can_amend {
            format!("/referrals/{rid}/amend#{}", f.name)
        } else {
            String::new()
        }
    };
    steps
        .iter()
        .flat_map(|s| views::answer_rows(&raw, Some(*s), l.withheld, &area, &href))
        .collect()
}

fn can_amend(role: Role, status: Status) -> bool {
    matches!(role, Role::ProbationOfficer | Role::ClinicalLead) && !status.is_final()
}

#[derive(Serialize)]
struct ActionLink {
    href: String,
    text: &'static str,
}

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

pub async fn show(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
    filter: web::Query<TimelineFilter>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let shown = viewed_for_page(&state, &user, &id, |c, viewer, l| {
        let linked = crate::linked::model::requirements_of(c, &l.referral.id)?;
        let can_link = crate::linked::service::may_change(viewer, &l.referral);
        let t = crate::sessions::service::treatment(c, viewer, &l.referral)?;
        let mut names = l.names.clone();
        for uid in t
            .alerts
            .iter()
            .filter_map(|a| a.acknowledged_by.clone())
            .chain(t.reports.iter().map(|r| r.written_by.clone()))
        {
            if let std::collections::btree_map::Entry::Vacant(e) = names.entry(uid) {
                let n = model::user_name(c, e.key())?;
                e.insert(n);
            }
        }
        let clinical = matches!(
            viewer.role,
            Role::ClinicalLead | Role::AssistantPsychologist
        );
        let view = crate::sessions::views::treatment_view(
            &t,
            &names,
            clinical,
            crate::sessions::service::local_now().date(),
        );
        // Ending treatment and onward support, in the same read.
        let (end, onward) = crate::signposting::service::referral_section(c, viewer, &l.referral)?;
        let clinical = crate::sessions::service::sees_clinical(viewer.role);
        let ending = (
            end.map(|e| crate::signposting::views::EndSummaryView::new(&e, clinical)),
            crate::signposting::views::OnwardView::new(&onward, crate::clock::today()),
        );
        Ok(((t.can_manage, view), (linked, can_link), ending))
    })
    .await?;
    let (l, (treatment, linked, (end_summary, onward))) = match shown {
        PageRead::Shown(l, extra) => (l, extra),
        PageRead::Erased(view) => {
            return erased_page(&state, &user, &view).await;
        }
    };
    let (linked, can_link) = linked;
    let (can_manage_sessions, treatment) = treatment;
    let r = &l.referral;
    let role = user.user.role;
    let amend = can_amend(role, r.status) && !l.withheld;
    #[derive(Serialize)]
    struct MergeView {
        id: String,
        text: String,
    }
    let merges: Vec<MergeView> = if role == Role::ClinicalLead {
        let pid = r.person_id.clone();
        state
            .db
            .run(move |c| model::live_merges_into(c, &pid))
            .await?
            .into_iter()
            .map(|m| MergeView {
                id: m.id,
                text: format!(
                    "Another record of this person was merged in on {}",
                    format::date_time(m.merged_at)
                ),
            })
            .collect()
    } else {
        Vec::new()
    };
    let name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| l.names.get(i).cloned())
            .unwrap_or_else(|| "Not yet".into())
    };
    let summary = vec![
        views::Row {
            key: "Reference".into(),
            value: r.reference.clone(),
            href: String::new(),
        },
        views::Row {
            key: "Status".into(),
            value: r.status.label().into(),
            href: String::new(),
        },
        views::Row {
            key: "Entry point".into(),
            value: r.entry_point.label().into(),
            href: String::new(),
        },
        views::Row {
            key: "Area".into(),
            value: l.area_names.get(&r.area_id).cloned().unwrap_or_default(),
            href: String::new(),
        },
        views::Row {
            key: "Submitted".into(),
            value: format::date_time(r.submitted_at),
            href: String::new(),
        },
        views::Row {
            key: "Referred by".into(),
            value: l.names.get(&r.created_by).cloned().unwrap_or_default(),
            href: String::new(),
        },
        views::Row {
            key: "Responsible officer".into(),
            value: name(&r.responsible_officer_id),
            href: String::new(),
        },
        views::Row {
            key: "Assessing psychologist".into(),
            value: name(&r.assessor_id),
            href: String::new(),
        },
        views::Row {
            key: "Allocated psychologist".into(),
            value: name(&r.allocated_ap_id),
            href: String::new(),
        },
    ];
    let actions: Vec<ActionLink> = state::available(role, r.status)
        .into_iter()
        .filter(|a| {
            *a != Action::TakeOver
                || (r.entry_point == EntryPoint::Arrest
                    && r.responsible_officer_id.as_deref() != Some(user.user.id.as_str()))
        })
        .map(|a| ActionLink {
            href: format!("/referrals/{}/actions/{}", r.id, a.as_str()),
            text: a.label(),
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("id", &r.id);
    ctx.insert("reference", &r.reference);
    ctx.insert(
        "person_name",
        &format!("{} {}", l.person.given_name, l.person.family_name),
    );
    ctx.insert("status_label", r.status.label());
    ctx.insert("status_colour", r.status.colour());
    ctx.insert("summary_rows", &summary);
    let mut person_rows = section_rows(&l, &[Step::Person], amend);
    if let Some(pos) = person_rows.iter().position(|r| r.key == "Ethnic group") {
        person_rows.insert(
            pos + 1,
            views::Row {
                key: "Broad ethnic group".into(),
                value: l
                    .input
                    .person
                    .ethnicity
                    .map(|e| e.group().label().to_owned())
                    .unwrap_or_else(|| "Not stated".into()),
                href: String::new(),
            },
        );
    }
    ctx.insert("person_rows", &person_rows);
    ctx.insert(
        "referral_rows",
        &section_rows(&l, &[Step::EntryPoint, Step::Details], amend),
    );
    const RISK: [&str; 4] = [
        "Risk of serious harm",
        "Safeguarding concerns",
        "Risk to staff",
        "Risk to staff details",
    ];
    let (risk_rows, needs_rows): (Vec<views::Row>, Vec<views::Row>) =
        section_rows(&l, &[Step::NeedsAndRisk], amend)
            .into_iter()
            .partition(|r| RISK.contains(&r.key.as_str()));
    ctx.insert("needs_rows", &needs_rows);
    ctx.insert("risk_rows", &risk_rows);
    ctx.insert("consent", &views::consent_text(&l));
    ctx.insert("order", &views::order_text(&l));
    let shown = filter
        .timeline
        .as_deref()
        .filter(|f| matches!(*f, "mhtr" | "drr" | "atr"))
        .unwrap_or("all");
    let timeline: Vec<views::TimelineItem> = views::timeline(&l)
        .into_iter()
        .filter(|t| shown == "all" || t.source == shown)
        .collect();
    ctx.insert("timeline", &timeline);
    #[derive(Serialize)]
    struct FilterLink {
        text: &'static str,
        href: String,
        current: bool,
    }
    let filters: Vec<FilterLink> = [
        ("all", "Everything"),
        ("mhtr", "MHTR"),
        ("drr", "DRR"),
        ("atr", "ATR"),
    ]
    .into_iter()
    .map(|(code, text)| FilterLink {
        text,
        href: if code == "all" {
            format!("/referrals/{}#timeline", r.id)
        } else {
            format!("/referrals/{}?timeline={code}#timeline", r.id)
        },
        current: code == shown,
    })
    .collect();
    ctx.insert("timeline_filters", &filters);
    ctx.insert(
        "linked",
        &linked
            .iter()
            .map(crate::linked::views::LinkedRequirementJson::new)
            .collect::<Vec<_>>(),
    );
    let combination = crate::linked::service::combination(&linked);
    ctx.insert("linked_combination", combination.label());
    ctx.insert("can_link", &can_link);
    ctx.insert("actions", &actions);
    ctx.insert("can_amend", &amend);
    ctx.insert("merges", &merges);
    ctx.insert("identity", &l.identity);
    ctx.insert("can_merge", &(role == Role::ClinicalLead));
    let holder = r.responsible_officer_id.as_ref().unwrap_or(&r.created_by);
    ctx.insert("treatment", &treatment);
    ctx.insert("can_manage_sessions", &can_manage_sessions);
    ctx.insert(
        "can_plan",
        &(can_manage_sessions && !treatment.has_plan && r.status == Status::Allocated),
    );
    ctx.insert(
        "can_add_session",
        &(can_manage_sessions
            && treatment.has_plan
            && matches!(r.status, Status::Allocated | Status::InTreatment)),
    );
    ctx.insert(
        "can_report",
        &(can_manage_sessions
            && matches!(
                r.status,
                Status::Allocated | Status::InTreatment | Status::Ended
            )),
    );
    ctx.insert("is_lead", &(role == Role::ClinicalLead));
    ctx.insert(
        "is_holder",
        &(role == Role::ProbationOfficer && holder == &user.user.id),
    );
    ctx.insert("end_summary", &end_summary);
    ctx.insert("onward", &onward);
    page::render(&state, &user, "/referrals", "referrals/show.html", ctx).await
}

// ------------------------------------------------------------------ actions

fn parse_action(s: &str) -> Result<Action, AppError> {
    match s.parse::<Action>() {
        Ok(Action::Submit) | Err(_) => Err(AppError::NotFound),
        Ok(a) => Ok(a),
    }
}

async fn action_page(
    state: &State,
    user: &CurrentUser,
    l: &Loaded,
    action: Action,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let r = &l.referral;
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
        "treatment_director_id",
        "order_type",
        "court",
        "combined_with",
        "end_outcome",
        "end_reason",
        "withdrawal_reason",
    ] {
        values.insert(k.into(), raw.get(k).to_owned());
    }
    for d in ["sentence_date", "requirement_end_date"] {
        for p in ["day", "month", "year"] {
            let k = format!("{d}_{p}");
            values.insert(k.clone(), raw.get(&k).to_owned());
        }
    }
    if let Some((name, what, _)) = forms::action_date(action) {
        ctx.insert("date_name", name);
        let mut legend = what.to_owned();
        if let Some(first) = legend.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        ctx.insert("date_legend", &legend);
        for p in ["day", "month", "year"] {
            ctx.insert(format!("date_{p}"), raw.get(&format!("{name}_{p}")));
        }
    }
    if let Some((name, label, _)) = forms::action_text(action) {
        ctx.insert("text_name", name);
        ctx.insert("text_label", label);
    }
    if let Some((name, label)) = forms::action_user(action) {
        let role = if action == Action::RecordMhtrMade {
            Role::ClinicalLead
        } else {
            Role::AssistantPsychologist
        };
        let area = r.area_id.clone();
        let staff = state
            .db
            .run(move |c| model::staff_in_area(c, role, &area))
            .await?;
        let hint = (action == Action::BookAssessment
            && user.user.role == Role::AssistantPsychologist)
            .then_some("Leave blank to book it with yourself");
        ctx.insert("user_name", name);
        ctx.insert("user_label", label);
        ctx.insert("user_hint", hint.unwrap_or(""));
        ctx.insert(
            "user_options",
            &with_blank(
                "Select a person",
                staff
                    .into_iter()
                    .filter(|(_, _, hcpc)| role != Role::ClinicalLead || hcpc.is_some())
                    .map(|(id, n, hcpc)| {
                        let text = match hcpc {
                            Some(h) if role == Role::ClinicalLead => format!("{n} ({h})"),
                            _ => n,
                        };
                        Choice::new(id, text)
                    })
                    .collect(),
            ),
        );
    }
    ctx.insert("is_order", &(action == Action::RecordMhtrMade));
    ctx.insert("is_end", &(action == Action::EndTreatment));
    ctx.insert("is_withdraw", &(action == Action::Withdraw));
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
    action_page(&state, &user, &l, action, &RawForm::default(), None).await
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
    let parsed = forms::parse_transition(action, &raw, crate::clock::today());
    let result = match parsed {
        Ok(t) => {
            let rid = id.clone();
            let emails = state.emails.clone();
            state
                .db
                .write(move |c| service::transition(c, &ctx, &rid, action, &t, Some(&emails)))
                .await
                .map(|_| ())
        }
        Err(e) => Err(AppError::Validation(e)),
    };
    match result {
        Ok(()) => {
            page::flash_and_redirect(
                &state,
                &user,
                Flash::success(format!("{}: done", action.label())),
                &format!("/referrals/{id}"),
            )
            .await
        }
        Err(AppError::Validation(errors)) => {
            let l =
                match for_form(&state, &user, &id, action_allowed(user.user.role, action)).await? {
                    Ok(l) => l,
                    Err(erased) => return Ok(erased),
                };
            action_page(&state, &user, &l, action, &raw, Some(&errors)).await
        }
        Err(e) => Err(e),
    }
}

// ------------------------------------------------------------------ amendments

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
        if l.withheld {
            // The form shows every answer, police-linked ones too.
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
    let result = state
        .db
        .write(move |c| service::amend(c, &ctx, &rid, version, &changes, &why))
        .await;
    match result {
        Ok(rows) => {
            page::flash_and_redirect(
                &state,
                &user,
                Flash::success(format!(
                    "Referral amended: {} answer{} changed",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                )),
                &format!("/referrals/{id}"),
            )
            .await
        }
        Err(AppError::Validation(errors)) => {
            let l = match for_form(&state, &user, &id, amend_allowed(user.user.role)).await? {
                Ok(l) => l,
                Err(erased) => return Ok(erased),
            };
            let mut shown = l.input.to_raw();
            shown.merge(&raw);
            amend_page(&state, &user, &l, &shown, &reason, Some(&errors)).await
        }
        Err(e) => Err(e),
    }
}

// ------------------------------------------------------------------ making a referral

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

async fn step_page(
    state: &State,
    user: &CurrentUser,
    draft_id: &str,
    step: Step,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
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
        Some(0) | None => "/referrals/new".to_owned(),
        Some(i) => format!("/referrals/drafts/{draft_id}/{}", Step::ALL[i - 1].slug()),
    };
    ctx.insert("back", &back);
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
) -> Result<HttpResponse, AppError> {
    let (draft_id, slug) = path.into_inner();
    let step = Step::from_slug(&slug).ok_or(AppError::NotFound)?;
    let raw = match draft_or_referral(&state, &user, &draft_id).await? {
        Ok(raw) => raw,
        Err(redirect) => return Ok(redirect),
    };
    step_page(&state, &user, &draft_id, step, &raw, None).await
}

pub async fn step_save(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (draft_id, slug) = path.into_inner();
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
    let errors = match forms::parse_referral(&raw, &user.area_ids, crate::clock::today()) {
        Ok(_) => FieldErrors::new(),
        Err(e) => forms::errors_for_step(&e, step, entry),
    };
    if !errors.is_empty() {
        return step_page(&state, &user, &draft_id, step, &raw, Some(&errors)).await;
    }
    let next = match step.next() {
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
            let href = |_: &forms::Field| format!("/referrals/drafts/{draft_id}/{}", s.slug());
            (
                s.title().to_owned(),
                // The referrer's own draft: every answer is theirs.
                views::answer_rows(raw, Some(*s), false, &area, &href),
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
                    href: format!("/referrals/drafts/{draft_id}/{step}"),
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
    let input = match forms::parse_referral(&raw, &user.area_ids, crate::clock::today()) {
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
    let outcome = state
        .db
        .write(move |c| {
            service::create(
                c,
                &viewer,
                &actor,
                &input,
                &choice,
                None,
                Some(&d),
                Some(&emails),
            )
        })
        .await;
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
        Err(AppError::Validation(e)) => check_page(&state, &user, &draft_id, &raw, Some(&e)).await,
        Err(e) => Err(e),
    }
}

// ------------------------------------------------------------------ merging people

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
    let me = user.user.id.clone();
    let mine: Vec<MergeView> = state
        .db
        .run(move |c| model::live_merges_by(c, &me))
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
    let result = state
        .db
        .write(move |c| {
            service::merge_people(c, &viewer, &actor, &keep, &drop, &why)?;
            // Administrators merge by reference but do not see referrals.
            model::find_by_reference(
                c,
                &viewer,
                model::Purpose::Casework,
                keep.trim().to_uppercase().as_str(),
            )
        })
        .await;
    match result {
        Ok(Some(kept)) => {
            page::flash_and_redirect(
                &state,
                &user,
                Flash::success("The records have been merged".to_owned())
                    .with_body("You can undo the merge from this page.".to_owned()),
                &format!("/referrals/{}", kept.id),
            )
            .await
        }
        Ok(None) => {
            page::flash_and_redirect(
                &state,
                &user,
                Flash::success("The records have been merged".to_owned())
                    .with_body("You can undo the merge from this page.".to_owned()),
                "/people/merge",
            )
            .await
        }
        Err(AppError::Validation(e)) => merge_page(&state, &user, &form, Some(&e)).await,
        Err(e) => Err(e),
    }
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

// ------------------------------------------------------------------ identity links

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
    let result = state
        .db
        .write(move |c| {
            let answer = service::IdentityDecision {
                decision: &decision,
                reason: &reason,
            };
            service::decide_identity(c, &ctx, &rid, &lid, &answer)
        })
        .await;
    match result {
        Ok((v, _)) => {
            page::flash_and_redirect(
                &state,
                &user,
                Flash::success(v.status_label),
                &format!("/referrals/{id}"),
            )
            .await
        }
        Err(AppError::Validation(errors)) => {
            let l = match for_form(&state, &user, &id, identity_open(link_id.clone())).await? {
                Ok(l) => l,
                Err(erased) => return Ok(erased),
            };
            identity_page(&state, &user, &l, &link_id, &raw, Some(&errors)).await
        }
        Err(e) => Err(e),
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
