//! The administrators' audit log pages: search the log (by user, record, category and date
//! range) and export what was found as CSV for a data protection officer. The export is a
//! disclosure in its own right: it needs a reason and is recorded.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::{AuditAction, Event, Filter};
use crate::auth::guard::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::state::State;
use crate::web::{self as page, Choice};

const PAGE_SIZE: i64 = 50;
const REASON_MAX: usize = 500;

/// The search form's fields, kept as typed so the form shows them back.
#[derive(Debug, Clone, Default, Serialize)]
struct Form {
    user: String,
    record_type: String,
    record_id: String,
    category: String,
    from_date_day: String,
    from_date_month: String,
    from_date_year: String,
    to_date_day: String,
    to_date_month: String,
    to_date_year: String,
}

impl Form {
    fn read(raw: &RawForm) -> Self {
        let g = |k: &str| raw.get(k).trim().to_owned();
        Self {
            user: g("user"),
            record_type: g("record_type"),
            record_id: g("record_id"),
            category: g("category"),
            from_date_day: g("from_date_day"),
            from_date_month: g("from_date_month"),
            from_date_year: g("from_date_year"),
            to_date_day: g("to_date_day"),
            to_date_month: g("to_date_month"),
            to_date_year: g("to_date_year"),
        }
    }

    /// The filter, or the errors to show in the summary.
    fn filter(&self) -> Result<Filter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let action = match self.category.as_str() {
            "" => None,
            c => match c.parse::<AuditAction>() {
                Ok(a) => Some(a),
                Err(_) => {
                    errors.add("category", "Select a category from the list");
                    None
                }
            },
        };
        let mut date = |field: &str, parts: [&str; 3], what: &str| {
            if parts.iter().all(|p| p.is_empty()) {
                return None;
            }
            match crate::form::parse_date(parts[0], parts[1], parts[2], what) {
                Ok(d) => Some(d),
                Err(m) => {
                    errors.add(field, m);
                    None
                }
            }
        };
        let from = date(
            "from_date",
            [
                &self.from_date_day,
                &self.from_date_month,
                &self.from_date_year,
            ],
            "date to search from",
        );
        let to = date(
            "to_date",
            [&self.to_date_day, &self.to_date_month, &self.to_date_year],
            "date to search to",
        );
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.add(
                "to_date",
                "The date to search to must be the same as or after the date to search from",
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Email addresses are recorded in lower case; user ids are matched as given.
        let user = if self.user.contains('@') {
            self.user.to_lowercase()
        } else {
            self.user.clone()
        };
        Ok(Filter {
            user: opt(&user),
            record_type: opt(&self.record_type),
            record_id: opt(&self.record_id),
            action,
            from,
            to,
        })
    }

    /// The query string that repeats this search (for pagination links).
    fn query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

fn categories() -> Vec<Choice> {
    let mut all = vec![Choice::new(String::new(), "Any category")];
    all.extend(page::choices(
        AuditAction::ALL,
        AuditAction::as_str,
        AuditAction::label,
    ));
    all
}

async fn render(
    state: &State,
    user: &CurrentUser,
    form: &Form,
    page_no: i64,
    reason: &str,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("form", form);
    ctx.insert("categories", &categories());
    ctx.insert("reason", reason);
    let filter = match (errors, form.filter()) {
        (None, Ok(f)) => Some(f),
        (Some(e), Ok(f)) => {
            page::insert_errors(&mut ctx, e);
            Some(f)
        }
        (_, Err(e)) => {
            page::insert_errors(&mut ctx, &e);
            None
        }
    };
    if let Some(f) = filter {
        let offset = (page_no - 1) * PAGE_SIZE;
        let (events, total) = state
            .db
            .run(move |c| super::entries(c, &f, offset, PAGE_SIZE))
            .await?;
        let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        ctx.insert("events", &events);
        ctx.insert("total", &total);
        ctx.insert("page", &page_no);
        ctx.insert("pages", &pages);
        ctx.insert("base_url", &format!("/admin/audit?{}&", form.query()));
        ctx.insert("searched", &true);
    }
    page::render(state, user, "/admin/audit", "admin/audit.html", ctx).await
}

/// `GET /admin/audit`: the search form and one page of results.
pub async fn search(
    state: State,
    user: CurrentUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let raw = RawForm::from_urlencoded(req.query_string().as_bytes());
    let form = Form::read(&raw);
    let page_no = raw.get("page").parse::<i64>().unwrap_or(1).max(1);
    render(&state, &user, &form, page_no, "", None).await
}

/// `GET /admin/audit/{seq}`: one entry in full (ids, codes, details and chain hashes). The
/// entry holds staff's addresses and reasons, so looking at it is recorded too.
pub async fn entry(
    state: State,
    user: CurrentUser,
    seq: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let seq: i64 = seq.parse().map_err(|_| AppError::NotFound)?;
    let detail = state
        .db
        .read(move |c| super::entry(c, seq))
        .await?
        .ok_or(AppError::NotFound)?;
    let seq_text = seq.to_string();
    state
        .views
        .append(
            &user.actor(),
            Event::new(AuditAction::Consultation, "audit.entry_viewed")
                .record("audit_event", &seq_text),
        )
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("e", &detail);
    page::render(&state, &user, "/admin/audit", "admin/audit_entry.html", ctx).await
}

/// `POST /admin/audit/export`: the matching entries as CSV, oldest first, with their chain
/// hashes. Needs a reason; the export is recorded as a disclosure before it is sent.
pub async fn export(
    state: State,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let raw = RawForm::from_urlencoded(&body);
    let form = Form::read(&raw);
    let reason = raw.get("reason").trim().to_owned();
    let mut errors = FieldErrors::new();
    if reason.is_empty() {
        errors.add(
            "reason",
            "Enter why you are exporting the audit log, for example the request it answers",
        );
    } else if reason.chars().count() > REASON_MAX {
        errors.add(
            "reason",
            format!("The reason must be {REASON_MAX} characters or fewer"),
        );
    }
    let filter = match form.filter() {
        Ok(f) if errors.is_empty() => f,
        _ => return render(&state, &user, &form, 1, &reason, Some(&errors)).await,
    };
    let actor = user.actor();
    let (body, rows) = state
        .db
        .write(move |c| {
            let mut out = super::CSV_COLUMNS.join(",");
            out.push_str("\r\n");
            let rows = super::each_matching(c, &filter, |r| out.push_str(&super::csv_line(r)))?;
            super::record(
                c,
                &actor,
                Event::new(AuditAction::Disclosure, "audit.exported")
                    .reason(&reason)
                    .details(serde_json::json!({ "filter": filter, "rows": rows })),
            )?;
            Ok((out, rows))
        })
        .await?;
    log::info!("audit log exported: {rows} entries");
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"mhtr-audit-{}.csv\"",
                crate::clock::today().format("%Y-%m-%d")
            ),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}
