//! The case lists.

use crate::areas;
use crate::auth::guard::CurrentUser;
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};
use crate::referrals::forms::{self};
use crate::referrals::model::{self, Viewer};
use crate::referrals::state::{Status, Tab};
use crate::referrals::views::ReferralSummary;
use crate::state::State;
use crate::users::model::Role;
use crate::web::{self as page, Choice};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::*;

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
    /// Keyset paging (see `model::Position`): the referral the page follows or precedes, or
    /// the last page.
    after: Option<String>,
    before: Option<String>,
    last: Option<String>,
}

#[derive(Serialize)]
struct TabLink {
    href: String,
    text: String,
    active: bool,
}

pub async fn list(
    state: State,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let viewer = Viewer::from(&user);
    let who = viewer.clone();
    let counts = state
        .db
        .read_short(move |c| model::tab_counts(c, &who))
        .await?;
    // With no tab chosen, the list opens on its first tab that holds anything.
    let first_with_work = counts.as_ref().and_then(|n| {
        Tab::ALL
            .iter()
            .copied()
            .find(|t| n.get(t).is_some_and(|k| *k > 0))
    });
    let tab = q
        .tab
        .as_deref()
        .and_then(|t| t.parse::<Tab>().ok())
        .or(first_with_work)
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
    let last = q.last.as_deref() == Some("1");
    let at = model::Position::asked(
        page_no,
        PAGE_SIZE,
        q.after.as_deref(),
        q.before.as_deref(),
        last,
    );
    let f2 = filter.clone();
    let is_lead = user.user.role == Role::ClinicalLead;
    // A caseload is a few hundred referrals at most, read along its indexes: a short read.
    // A list of whole areas (a clinical lead's) counts every referral in the tab's statuses.
    let short = model::has_caseload(&viewer);
    let read = move |c: &mut DbConn| {
        let area_list = areas::named(c, &viewer.area_ids)?;
        let (rows, total) = model::list(c, &viewer, &f2, &at, PAGE_SIZE)?;
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
            text: match counts.as_ref().and_then(|n| n.get(t)) {
                Some(k) => format!("{} ({k})", t.label()),
                None => t.label().to_owned(),
            },
            active: !status_given && *t == tab,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("tabs", &tabs);
    ctx.insert("items", &items);
    ctx.insert("total", &total.count);
    ctx.insert("total_text", &crate::web::format::thousands(total.count));
    // Past what is counted, the pages run to the next one while a full page is shown.
    let counted_pages = ((total.count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let pages = if total.more {
        let next = total.next_follows(page_no, PAGE_SIZE, rows.len());
        (page_no + i64::from(next)).max(if total.common_name { 1 } else { counted_pages })
    } else {
        counted_pages
    };
    let page_no = if last && !total.more { pages } else { page_no };
    ctx.insert("more", &total.more);
    ctx.insert("common_name", &total.common_name);
    ctx.insert("last_extra", if total.more { "" } else { "&last=1" });
    ctx.insert("page", &page_no);
    ctx.insert("pages", &pages);
    // The neighbouring pages and the last are linked by keyset, so each costs what the
    // first does however deep (the page number stays in the link for the reader).
    let id_param = |k: &str, r: Option<&model::ListRow>| {
        r.map(|r| format!("&{k}={}", urlencode(&r.id)))
            .unwrap_or_default()
    };
    ctx.insert("next_extra", &id_param("after", rows.last()));
    ctx.insert("prev_extra", &id_param("before", rows.first()));
    ctx.insert(
        "base_url",
        &format!("/referrals?tab={}&{keep}", tab.as_str()),
    );
    ctx.insert("tab", tab.as_str());
    ctx.insert("tab_label", tab.label());
    ctx.insert(
        "heading",
        match user.user.role {
            Role::ProbationOfficer | Role::LiaisonDiversion => "Your referrals",
            Role::AssistantPsychologist => "Your caseload",
            _ => "Referrals",
        },
    );
    ctx.insert("is_lead", &is_lead);
    ctx.insert(
        "is_referrer",
        &crate::referrals::state::Action::Submit
            .roles()
            .contains(&user.user.role),
    );
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
