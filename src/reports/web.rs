//! The uptake report pages and their CSV downloads. Councillors, clinical leads and
//! administrators choose a period and any of their own areas; councillors get the figures
//! through disclosure control, everywhere, exports included.

use actix_web::{HttpRequest, HttpResponse};

use crate::audit::{AuditAction, Event};
use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::form::RawForm;
use crate::reports::periods::{Period, PeriodKind};
use crate::reports::query::{parse_query, suppressed_for};
use crate::reports::uptake::{self, Report};
use crate::state::State;
use crate::web::Choice;

fn period_choices(current: &Period) -> Vec<Choice> {
    let today = crate::clock::today();
    let this_fy = Period::containing(PeriodKind::FinancialYear, today);
    let this_q = Period::containing(PeriodKind::Quarter, today);
    let this_m = Period::containing(PeriodKind::Month, today);
    let mut out: Vec<Choice> = [
        this_fy,
        this_fy.previous(),
        this_q,
        this_q.previous(),
        this_m,
        this_m.previous(),
    ]
    .into_iter()
    .map(|p| Choice::new(p.code(), p.label()).checked(p == *current))
    .collect();
    // Longer runs, for small areas whose figures any shorter period withholds.
    for months in [12, 36] {
        let p = Period::rolling(months, today);
        out.push(
            Choice::new(
                p.code(),
                format!(
                    "The {months} months to {} ({})",
                    this_m.previous().label(),
                    p.label()
                ),
            )
            .checked(p == *current),
        );
    }
    out
}

/// Turns to build a report: one per core.
fn building_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// The query of the report's downloads and print view: its period and areas.
fn csv_query(report: &Report) -> String {
    let areas: String = report
        .area_ids
        .iter()
        .map(|id| format!("&area={id}"))
        .collect();
    format!("period={}{areas}", report.period)
}

/// What the page shows of the report around its tables (the tables are rendered once per
/// report kept, by [`tables`]).
#[derive(serde::Serialize)]
struct ReportHead<'a> {
    period_label: &'a str,
    previous_label: &'a str,
    provisional: bool,
    suppressed: bool,
    columns: &'a [String],
    summary: &'a [String],
}

impl<'a> ReportHead<'a> {
    fn of(r: &'a Report) -> Self {
        Self {
            period_label: &r.period_label,
            previous_label: &r.previous_label,
            provisional: r.provisional,
            suppressed: r.suppressed,
            columns: &r.columns,
            summary: &r.summary,
        }
    }
}

/// The report's tables and charts as HTML, for the page or the print view.
pub fn tables(templates: &tera::Tera, report: &Report, print: bool) -> Result<String, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("report", report);
    ctx.insert("charts", &uptake::charts(report));
    ctx.insert("csv_query", &csv_query(report));
    ctx.insert("print", &print);
    Ok(templates.render("reports/uptake_tables.html", &ctx)?)
}

pub async fn uptake(
    state: State,
    user: CurrentUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = req.query_string().to_owned();
    let area_ids = user.area_ids.clone();
    let role = user.user.role;
    let threshold = state.settings.reports.suppression_threshold;
    let targets = state.settings.reports.targets.clone();
    // Built in a read transaction, so reports run side by side, as many at once as there are
    // cores (the work is all CPU; more at once would only hold more memory); the view is
    // recorded (durably, group-committed with others) before anything of it is shown.
    let _turn = building_permits()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let result = state
        .db
        .read(move |c| {
            let all_areas: Vec<(String, String)> = crate::areas::active_areas(c)?
                .into_iter()
                .filter(|a| area_ids.contains(&a.id))
                .map(|a| (a.id, a.name))
                .collect();
            match parse_query(c, &area_ids, &query) {
                Ok(q) => {
                    let report = uptake::report(c, &q, suppressed_for(role), threshold, &targets)?;
                    Ok((all_areas, Ok((report, q.areas))))
                }
                Err(AppError::Validation(e)) => Ok((all_areas, Err(e))),
                Err(e) => Err(e),
            }
        })
        .await?;
    if let (_, Ok((kept, areas))) = &result {
        let report = &kept.report;
        state
        .views
        .append(
                &user.actor(),
                Event::new(AuditAction::Consultation, "report.uptake_viewed").details(
                    serde_json::json!({ "period": report.period, "areas": areas.iter().map(|a| &a.0).collect::<Vec<_>>() }),
                ),
            )
            .await?;
    }
    let (all_areas, outcome) = result;
    let mut ctx = tera::Context::new();
    let raw = RawForm::from_urlencoded(req.query_string().as_bytes());
    let chosen: Vec<String> = raw.all("area");
    match outcome {
        Ok((kept, _)) => {
            let print = raw.get("print") == "1";
            let report = &kept.report;
            ctx.insert(
                "period_choices",
                &period_choices(&Period::parse(&report.period).unwrap_or_else(|_| {
                    Period::containing(PeriodKind::FinancialYear, crate::clock::today())
                })),
            );
            ctx.insert("csv_query", &csv_query(report));
            ctx.insert("withheld_max", &(report.threshold - 1));
            ctx.insert(
                "produced_at",
                &crate::web::format::date_time(crate::clock::now()),
            );
            ctx.insert("report", &ReportHead::of(report));
            let tables = kept.view(if print { "print" } else { "page" }, |r| {
                tables(&state.templates, r, print)
            })?;
            ctx.insert("tables", &*tables);
        }
        Err(errors) => {
            ctx.insert(
                "period_choices",
                &period_choices(&Period::containing(
                    PeriodKind::FinancialYear,
                    crate::clock::today(),
                )),
            );
            crate::web::insert_errors(&mut ctx, &errors);
        }
    }
    let preset = period_choices(&Period::containing(
        PeriodKind::Month,
        crate::clock::today(),
    ))
    .into_iter()
    .any(|p| p.value == raw.get("period"));
    ctx.insert(
        "other_checked",
        &(raw.get("period") == "other" || (!raw.get("period").is_empty() && !preset)),
    );
    ctx.insert(
        "period_other",
        if raw.get("period") == "other" {
            raw.get("period_other")
        } else if preset {
            ""
        } else {
            raw.get("period")
        },
    );
    ctx.insert(
        "area_choices",
        &all_areas
            .into_iter()
            .map(|(id, name)| {
                let checked = chosen.is_empty() || chosen.contains(&id);
                Choice::new(id, name).checked(checked)
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert("print", &(raw.get("print") == "1"));
    ctx.insert(
        "can_take_return",
        &(role != crate::users::model::Role::Councillor),
    );
    crate::web::render(&state, &user, "/reports", "reports/uptake.html", ctx).await
}

/// The report for a download: built in a read transaction for the user's query (their
/// areas, their role's disclosure control, the targets), then `render`ed; the disclosure is
/// recorded, durably, before anything is sent, naming what was downloaded.
async fn download<T: Send + 'static>(
    state: &State,
    user: &CurrentUser,
    req: &HttpRequest,
    what: &str,
    render: impl FnOnce(&Report) -> Result<T, AppError> + Send + 'static,
) -> Result<(std::sync::Arc<uptake::Kept>, T), AppError> {
    let query = req.query_string().to_owned();
    let area_ids = user.area_ids.clone();
    let role = user.user.role;
    let threshold = state.settings.reports.suppression_threshold;
    let targets = state.settings.reports.targets.clone();
    let actor = user.actor();
    let (kept, body) = state
        .db
        .read(move |c| {
            let q = parse_query(c, &area_ids, &query)?;
            let kept = uptake::report(c, &q, suppressed_for(role), threshold, &targets)?;
            let body = render(&kept.report)?;
            Ok((kept, body))
        })
        .await?;
    let report = &kept.report;
    state
        .views
        .append(
            &actor,
            Event::new(AuditAction::Disclosure, "report.uptake_downloaded").details(
                serde_json::json!({ "period": report.period, "section": what, "suppressed": report.suppressed }),
            ),
        )
        .await?;
    Ok((kept, body))
}

/// One section of the report, or its history, as CSV.
pub async fn uptake_csv(
    state: State,
    user: CurrentUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let raw = RawForm::from_urlencoded(req.query_string().as_bytes());
    let section = raw.get("section").to_owned();
    let (report, body) = download(&state, &user, &req, &section.clone(), move |report| {
        if section == "history" {
            return Ok(uptake::history_csv(report));
        }
        let s = report
            .sections
            .iter()
            .find(|s| s.key == section)
            .ok_or(AppError::NotFound)?;
        Ok(uptake::csv(report, s))
    })
    .await?;
    Ok(csv_attachment(
        &format!(
            "mhtr-uptake-{}-{}.csv",
            report.report.period.replace("..", "_to_"),
            raw.get("section")
        ),
        &body,
    ))
}

/// The whole report as an OpenDocument spreadsheet: a cover sheet, a sheet a section and
/// the history.
pub async fn uptake_ods(
    state: State,
    user: CurrentUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let produced = crate::web::format::date_time(crate::clock::now());
    let (report, body) = download(&state, &user, &req, "spreadsheet", move |report| {
        Ok(uptake::spreadsheet(report, &produced))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.oasis.opendocument.spreadsheet")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"mhtr-uptake-{}.ods\"",
                report.report.period.replace("..", "_to_")
            ),
        ))
        .body(body))
}

// ------------------------------------------------------------------ evaluation return

/// A CSV attachment, with a byte-order mark so Excel on Windows reads it as UTF-8 ("–",
/// "£", names with accents) instead of the system code page. The file name keeps letters,
/// digits, hyphens, underscores and dots only.
fn csv_attachment(name: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", attachment_name(name)))
        .body(format!("\u{feff}{body}"))
}

/// The `Content-Disposition` of a download named `name`, keeping letters, digits, hyphens,
/// underscores and dots only.
fn attachment_name(name: &str) -> String {
    format!(
        "attachment; filename=\"{}\"",
        name.replace(
            |ch: char| !ch.is_ascii_alphanumeric() && !"-_.".contains(ch),
            ""
        )
    )
}

/// The evaluation return `taken` as CSV, streamed (`web::stream`): for the pages a download
/// under its file name, starting with a byte-order mark for Excel; for the API the CSV alone.
pub(crate) fn return_response(
    state: &State,
    taken: crate::reports::evaluation::Taken,
    download: bool,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.content_type("text/csv; charset=utf-8");
    let first = if download {
        response.insert_header(("Content-Disposition", attachment_name(&taken.file_name)));
        "\u{feff}"
    } else {
        ""
    };
    response.streaming(crate::web::stream::read_streamed(
        &state.db,
        first,
        Box::new(move |c, out| crate::reports::evaluation::write_return(c, &taken, out)),
    ))
}

/// The evaluation return: the form, and with `download=yes` the CSV (or the form again,
/// saying what is wrong).
pub async fn evaluation(
    state: State,
    user: CurrentUser,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let raw = RawForm::from_urlencoded(req.query_string().as_bytes());
    let dir = state.settings.reports.returns_dir.clone();
    let mut errors = None;
    if raw.get("download") == "yes" {
        let (area_ids, role, actor) = (user.area_ids.clone(), user.user.role, user.actor());
        let (query, dir) = (req.query_string().to_owned(), dir.clone());
        let made = state
            .db
            .write(move |c| {
                crate::reports::evaluation::take_return(c, role, &actor, &area_ids, &query, &dir)
            })
            .await;
        match made {
            Ok(taken) => return Ok(return_response(&state, taken, true)),
            Err(AppError::Validation(e)) => errors = Some(e),
            Err(e) => return Err(e),
        }
    }
    let mut ctx = tera::Context::new();
    let options: Vec<Choice> = crate::reports::evaluation::returns_in(&dir)
        .into_iter()
        .map(|(file, title)| Choice::new(file, title))
        .collect();
    let mut values = raw.first_values();
    if raw.get("return").is_empty()
        && let Some(first) = options.first()
    {
        values.insert("return".into(), first.value.clone());
    }
    ctx.insert("return_options", &options);
    ctx.insert("values", &values);
    ctx.insert(
        "is_admin",
        &(user.user.role == crate::users::model::Role::Admin),
    );
    if let Some(e) = &errors {
        crate::web::insert_errors(&mut ctx, e);
    }
    crate::web::render(&state, &user, "/reports", "reports/evaluation.html", ctx).await
}

pub async fn identifier_extract_form(
    state: State,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    identifier_page(&state, &user, &RawForm::default(), None).await
}

async fn identifier_page(
    state: &State,
    user: &CurrentUser,
    raw: &RawForm,
    errors: Option<&crate::error::FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("values", &raw.first_values());
    if let Some(e) = errors {
        crate::web::insert_errors(&mut ctx, e);
    }
    crate::web::render(state, user, "/admin", "admin/identifier_extract.html", ctx).await
}

/// The identifier extract, as CSV; the form again, saying what is wrong.
pub async fn identifier_extract(
    state: State,
    user: CurrentUser,
    body: actix_web::web::Bytes,
) -> Result<HttpResponse, AppError> {
    let raw = RawForm::from_urlencoded(&body);
    let (area_ids, role, actor) = (user.area_ids.clone(), user.user.role, user.actor());
    let (period, reason) = (raw.get("period").to_owned(), raw.get("reason").to_owned());
    let made = state
        .db
        .write(move |c| {
            crate::reports::evaluation::take_identifiers(
                c,
                role,
                &actor,
                &area_ids,
                &period,
                &[],
                &reason,
            )
        })
        .await;
    match made {
        Ok((csv, file)) => Ok(csv_attachment(&file, &csv)),
        Err(AppError::Validation(e)) => identifier_page(&state, &user, &raw, Some(&e)).await,
        Err(e) => Err(e),
    }
}
