//! Session pages: plan the 12 sessions (with a check of the dates before booking), add,
//! move, cancel and record a session, outcome measures, the practitioner's report, risk
//! alerts and enforcement decisions. Every page finds its referral through the service,
//! which applies scope and role; a form shown with the person's name is a recorded view.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::referrals::access::{Caption, Ctx};
use crate::referrals::model::Referral;
use crate::referrals::pages;
use crate::sessions::codes::*;
use crate::sessions::enforcement;
use crate::sessions::forms::{self, answer_field};
use crate::sessions::measures::Instrument;
use crate::sessions::model::{self, Attendance, Session};
use crate::sessions::plan::{self, Cadence};
use crate::sessions::service::{self, Replacement};
use crate::sessions::views;
use crate::state::State;
use crate::web::flow::{self, Then};
use crate::web::{Choice, choices, format};

/// The page caption: the referral reference and the person's name.
type Heading = Caption;

fn base_ctx(h: &Heading, title: &str, action: &str, raw: &RawForm) -> tera::Context {
    pages::form(h, title, action, &back_to(&h.referral_id), raw)
}

/// The referral of a page about its treatment and the page's caption: off a clinical
/// lead's caseload only with a reason given this session; recorded as a view.
async fn referral_heading(
    state: &State,
    user: &CurrentUser,
    referral_id: String,
) -> Result<(Referral, Heading), AppError> {
    read_form(state, user, referral_id, service::form_on_referral).await
}

/// A session, its referral and the page's caption, as [`referral_heading`].
async fn session_heading(
    state: &State,
    user: &CurrentUser,
    session_id: String,
) -> Result<(Referral, Session, Heading), AppError> {
    read_form(state, user, session_id, service::form_on_session).await
}

fn back_to(referral_id: &str) -> String {
    format!("/referrals/{referral_id}#sessions")
}

// ------------------------------------------------------------------ the plan

fn plan_ctx(h: &Heading, r: &Referral, raw: &RawForm) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Plan the 12 sessions",
        &format!("/referrals/{}/sessions/plan", h.referral_id),
        raw,
    );
    ctx.insert(
        "cadence_options",
        &choices(Cadence::ALL, Cadence::as_str, Cadence::label),
    );
    ctx.insert(
        "mode_options",
        &choices(Mode::ALL, Mode::as_str, Mode::label),
    );
    ctx.insert(
        "measures_options",
        &choices(
            MeasureSchedule::ALL,
            MeasureSchedule::as_str,
            MeasureSchedule::label,
        ),
    );
    ctx.insert(
        "end_date",
        &r.requirement_end_date.map(format::date).unwrap_or_default(),
    );
    ctx
}

pub async fn plan_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (r, h) = referral_heading(&state, &user, path.into_inner()).await?;
    let mut raw = RawForm::default();
    raw.set("minutes", plan::DEFAULT_MINUTES.to_string());
    raw.set("cadence", service::default_cadence().as_str());
    raw.set("measures", MeasureSchedule::EverySession.as_str());
    let ctx = plan_ctx(&h, &r, &raw);
    pages::show(&state, &user, "sessions/plan.html", ctx, None).await
}

pub async fn plan(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let referral_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let confirm = raw.get("confirm") == "yes";
    let again = async |e: FieldErrors| {
        let (r, h) = referral_heading(&state, &user, referral_id.clone()).await?;
        let ctx = plan_ctx(&h, &r, &raw);
        pages::show(&state, &user, "sessions/plan.html", ctx, Some(&e)).await
    };
    let input = match forms::parse_plan(&raw, service::local_now()) {
        Ok(input) => input,
        Err(e) => return again(e).await,
    };
    let (acting, rid, i) = (Ctx::from(&user), referral_id.clone(), input.clone());
    if confirm {
        let emails = state.emails.clone();
        return flow::post(
            &state,
            &user,
            Ok(i),
            move |c, i| service::make_plan(c, &acting, &rid, &i, Some(&emails)),
            |made| {
                let (first, last) = (&made[0], &made[made.len() - 1]);
                Then::success(
                    format!(
                        "{} sessions booked, from {} to {}",
                        made.len(),
                        format::date(first.starts_at.date()),
                        format::date(last.starts_at.date())
                    ),
                    back_to(&referral_id),
                )
            },
            again,
        )
        .await;
    }
    let previewed = state
        .db
        .run(move |c| service::preview_plan(c, &acting, &rid, &i))
        .await;
    let dates = match flow::split(previewed)? {
        Ok(dates) => dates,
        Err(e) => return again(e).await,
    };
    let (r, h) = referral_heading(&state, &user, referral_id.clone()).await?;
    let mut ctx = plan_ctx(&h, &r, &raw);
    ctx.insert("title", "Check the session dates");
    let rows: Vec<(usize, String, Option<&'static str>)> = dates
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let nominal =
                input.first.date() + chrono::TimeDelta::days(i as i64 * input.cadence.days());
            (
                i + 1,
                format!(
                    "{} {}, {}",
                    d.format("%a"),
                    format::date(d.date()),
                    d.format("%H:%M")
                ),
                (d.date() != nominal).then_some("Moved from the usual day"),
            )
        })
        .collect();
    ctx.insert("dates", &rows);
    ctx.insert("hidden", &raw.first_values());
    pages::show(&state, &user, "sessions/plan_check.html", ctx, None).await
}

// ------------------------------------------------------------------ add one

pub async fn add_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, h) = referral_heading(&state, &user, path.into_inner()).await?;
    let action = format!("/referrals/{}/sessions/add", h.referral_id);
    let ctx = base_ctx(&h, "Add a session", &action, &RawForm::default());
    pages::show(&state, &user, "sessions/add.html", ctx, None).await
}

pub async fn add(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let referral_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, rid, emails) = (Ctx::from(&user), referral_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_add(&raw, service::local_now()),
        move |c, at| service::add_session(c, &acting, &rid, at, Some(&emails)),
        |s| {
            Then::success(
                format!("Session added on {}", views::when(&s)),
                back_to(&referral_id),
            )
        },
        async |e| {
            let (_, h) = referral_heading(&state, &user, referral_id.clone()).await?;
            let action = format!("/referrals/{}/sessions/add", h.referral_id);
            let ctx = base_ctx(&h, "Add a session", &action, &raw);
            pages::show(&state, &user, "sessions/add.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ move

fn move_ctx(h: &Heading, s: &Session, raw: &RawForm) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Move a session",
        &format!("/sessions/{}/reschedule", s.id),
        raw,
    );
    ctx.insert("session_when", &views::when(s));
    ctx.insert("version", &s.version);
    ctx.insert(
        "party_options",
        &choices(ChangeParty::ALL, ChangeParty::as_str, ChangeParty::label),
    );
    ctx.insert(
        "which_options",
        &vec![
            Choice::new("this", "Only this session"),
            Choice::new(
                "remaining",
                "This session and every booked session after it, keeping the same interval",
            ),
        ],
    );
    ctx
}

pub async fn move_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, s, h) = session_heading(&state, &user, path.into_inner()).await?;
    let mut raw = RawForm::default();
    raw.set("which", "this");
    let ctx = move_ctx(&h, &s, &raw);
    pages::show(&state, &user, "sessions/move.html", ctx, None).await
}

pub async fn move_session(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let all = raw.get("which") == "remaining";
    let (acting, sid, emails) = (Ctx::from(&user), session_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_move(&raw, service::local_now()),
        move |c, input| {
            if all {
                service::shift_remaining(c, &acting, &sid, &input, Some(&emails))
            } else {
                service::reschedule(c, &acting, &sid, &input, Some(&emails)).map(|s| vec![s])
            }
        },
        |moved| {
            let referral_id = moved
                .first()
                .map(|s| s.referral_id.clone())
                .unwrap_or_default();
            let text = match moved.as_slice() {
                [one] => format!("Session moved to {}", views::when(one)),
                many => format!("{} sessions moved", many.len()),
            };
            Then::success(text, back_to(&referral_id))
        },
        async |e| {
            let (_, s, h) = session_heading(&state, &user, session_id.clone()).await?;
            let ctx = move_ctx(&h, &s, &raw);
            pages::show(&state, &user, "sessions/move.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ cancel

fn cancel_ctx(h: &Heading, s: &Session, raw: &RawForm) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Cancel a session",
        &format!("/sessions/{}/cancel", s.id),
        raw,
    );
    ctx.insert("session_when", &views::when(s));
    ctx.insert("version", &s.version);
    ctx.insert(
        "reason_options",
        &CancelReason::ALL
            .iter()
            .map(|r| {
                let replacement = if r.needs_replacement() {
                    "a replacement session is booked"
                } else {
                    "no replacement"
                };
                Choice::new(r.as_str(), format!("{} ({replacement})", r.label()))
            })
            .collect::<Vec<_>>(),
    );
    ctx
}

pub async fn cancel_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, s, h) = session_heading(&state, &user, path.into_inner()).await?;
    let ctx = cancel_ctx(&h, &s, &RawForm::default());
    pages::show(&state, &user, "sessions/cancel.html", ctx, None).await
}

pub async fn cancel(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, sid, emails) = (Ctx::from(&user), session_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_cancel(&raw),
        move |c, input| {
            let s = model::session(c, &sid)?;
            service::cancel(c, &acting, &sid, &input, Some(&emails)).map(|r| (s.referral_id, r))
        },
        |(referral_id, replacement)| {
            let flash = match replacement {
                Replacement::NotNeeded => Flash::success("Session cancelled"),
                Replacement::Booked(s) => Flash::success(format!(
                    "Session cancelled. A replacement is booked on {}",
                    views::when(&s)
                )),
                Replacement::NotPossible(why) => Flash::important(format!(
                    "Session cancelled, but no replacement could be booked: {why}"
                )),
            };
            Then::with(flash, back_to(&referral_id))
        },
        async |e| {
            let (_, s, h) = session_heading(&state, &user, session_id.clone()).await?;
            let ctx = cancel_ctx(&h, &s, &raw);
            pages::show(&state, &user, "sessions/cancel.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ attendance

/// The choices of what happened at a session, shared by recording and correcting it.
fn outcome_options(ctx: &mut tera::Context) {
    ctx.insert(
        "happened_options",
        &vec![Choice::new("yes", "Yes"), Choice::new("no", "No")],
    );
    ctx.insert(
        "attendance_options",
        &vec![
            Choice::new("attended", "Attended and complied, on time"),
            Choice::new("attended_late", "Attended and complied, but late"),
            Choice::new(
                "attended_failed_to_comply",
                "Attended but failed to comply (the responsible officer is told at once)",
            ),
        ],
    );
    ctx.insert(
        "reason_options",
        &[
            Outcome::AcceptableAbsence,
            Outcome::AwaitingEvidence,
            Outcome::UnacceptableAbsence,
            Outcome::ServiceLogistics,
        ]
        .iter()
        .map(|o| {
            let text = match o {
                Outcome::AcceptableAbsence => {
                    "Acceptable absence (the person gave an acceptable reason)"
                }
                Outcome::AwaitingEvidence => {
                    "Absent, awaiting evidence (the person has until a last day to give it)"
                }
                Outcome::UnacceptableAbsence => {
                    "Unacceptable absence (the responsible officer is told at once)"
                }
                _ => "Service logistics (a replacement session is booked)",
            };
            Choice::new(o.as_str(), text)
        })
        .collect::<Vec<_>>(),
    );
    ctx.insert(
        "absence_reason_options",
        &choices(
            AbsenceReason::ALL,
            AbsenceReason::as_str,
            AbsenceReason::label,
        ),
    );
    let example = service::local_now().date() + chrono::TimeDelta::days(7);
    ctx.insert(
        "evidence_example",
        &example.format("%-d %-m %Y").to_string(),
    );
}

async fn recording_heading(
    state: &State,
    user: &CurrentUser,
    session_id: String,
) -> Result<(Session, Heading, Option<String>), AppError> {
    read_form(state, user, session_id, service::recording_form).await
}

fn attendance_ctx(
    h: &Heading,
    s: &Session,
    raw: &RawForm,
    reminder_warning: Option<String>,
) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Record a session",
        &format!("/sessions/{}/attendance", s.id),
        raw,
    );
    ctx.insert("reminder_warning", &reminder_warning);
    ctx.insert("session_when", &views::when(s));
    ctx.insert("version", &s.version);
    outcome_options(&mut ctx);
    ctx
}

pub async fn attendance_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (s, h, warning) = recording_heading(&state, &user, path.into_inner()).await?;
    let ctx = attendance_ctx(&h, &s, &RawForm::default(), warning);
    pages::show(&state, &user, "sessions/attendance.html", ctx, None).await
}

pub async fn attendance(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, sid, emails) = (Ctx::from(&user), session_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_attendance(&raw),
        move |c, input| {
            let s = model::session(c, &sid)?;
            service::record_attendance(c, &acting, &sid, &input, Some(&emails))
                .map(|r| (s.referral_id, r))
        },
        |(referral_id, rec)| {
            let mut text = format!(
                "Session recorded. {} of {} sessions attended",
                rec.attended, rec.target
            );
            if rec.started {
                text.push_str(". Treatment has started");
            }
            if rec.ended {
                text.push_str(". Treatment is complete");
            }
            if rec.absence_reported {
                text.push_str(
                    ". The responsible officer has been told and asked for an enforcement decision",
                );
            }
            if let Some(w) = rec.after_warning {
                text.push_str(&format!(
                    ". This is within 12 months of the warning given on {}: breach action is expected",
                    format::date(w)
                ));
            }
            if let Some(due) = rec.evidence_due {
                text.push_str(&format!(
                    ". The responsible officer has been told the person has until {} to give evidence",
                    format::date(due)
                ));
            }
            match &rec.replacement {
                Some(Replacement::Booked(s)) => {
                    text.push_str(&format!(". A replacement is booked on {}", views::when(s)))
                }
                Some(Replacement::NotPossible(why)) => {
                    text.push_str(&format!(". No replacement could be booked: {why}"))
                }
                _ => {}
            }
            let flash = if rec.enforcement_flagged || rec.absence_reported || rec.evidence_due.is_some() {
                Flash::important(text)
            } else {
                Flash::success(text)
            };
            Then::with(flash, back_to(&referral_id))
        },
        async |e| {
            let (s, h, warning) = recording_heading(&state, &user, session_id.clone()).await?;
            let ctx = attendance_ctx(&h, &s, &raw, warning);
            pages::show(&state, &user, "sessions/attendance.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ measures

#[derive(Debug, Clone, Serialize)]
struct Question {
    name: String,
    number: usize,
    text: String,
    hint: &'static str,
    /// Each answer with what it scores for this question (a reversed item scores 4 for
    /// "Not at all").
    options: Vec<Choice>,
}

fn measure_ctx(h: &Heading, s: &Session, instrument: Instrument, raw: &RawForm) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        &format!("Record {}", instrument.label()),
        &format!("/sessions/{}/measures/{}", s.id, instrument.as_str()),
        raw,
    );
    ctx.insert("session_when", &views::when(s));
    ctx.insert("instrument_title", instrument.title());
    ctx.insert("stem", instrument.stem());
    ctx.insert(
        "questions",
        &instrument
            .questions()
            .iter()
            .enumerate()
            .map(|(i, q)| Question {
                name: answer_field(i + 1),
                number: i + 1,
                text: format!("{}. {q}", i + 1),
                hint: if instrument.is_reversed(i) {
                    "This statement is positive, so it scores in reverse"
                } else {
                    ""
                },
                options: instrument
                    .answers()
                    .iter()
                    .enumerate()
                    .map(|(a, label)| {
                        let score = instrument.item_score(i, a as u8);
                        Choice::new(a.to_string(), format!("{label} (scores {score})"))
                    })
                    .collect(),
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert(
        "stage_options",
        &choices(Stage::ALL, Stage::as_str, Stage::label),
    );
    ctx
}

fn instrument_of(s: &str) -> Result<Instrument, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

pub async fn measure_form(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (session_id, instrument) = path.into_inner();
    let instrument = instrument_of(&instrument)?;
    let (_, s, h) = session_heading(&state, &user, session_id).await?;
    let ctx = measure_ctx(&h, &s, instrument, &RawForm::default());
    pages::show(&state, &user, "sessions/measure.html", ctx, None).await
}

pub async fn measure(
    state: State,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (session_id, instrument) = path.into_inner();
    let instrument = instrument_of(&instrument)?;
    let raw = RawForm::from_urlencoded(&body);
    let (acting, sid, emails) = (Ctx::from(&user), session_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_measure(&raw, instrument),
        move |c, input| service::record_measure(c, &acting, &sid, &input, Some(&emails)),
        |m| {
            let mut text = format!(
                "{} recorded: total {} of {} ({})",
                instrument.label(),
                m.total,
                instrument.max_total(),
                instrument.severity(m.total.max(0) as u32).to_lowercase()
            );
            let flash = if m.risk {
                text.push_str(
                    ". The risk item was answered above zero: the clinical leads have been alerted",
                );
                Flash::important(text)
            } else {
                Flash::success(text)
            };
            Then::with(flash, back_to(&m.referral_id))
        },
        async |e| {
            let (_, s, h) = session_heading(&state, &user, session_id.clone()).await?;
            let ctx = measure_ctx(&h, &s, instrument, &raw);
            pages::show(&state, &user, "sessions/measure.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ practitioner report

fn report_ctx(h: &Heading, raw: &RawForm) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Report to the responsible officer",
        &format!("/referrals/{}/practitioner-report", h.referral_id),
        raw,
    );
    ctx.insert(
        "kind_options",
        &choices(ReportKind::ALL, ReportKind::as_str, ReportKind::label),
    );
    ctx
}

pub async fn report_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, h) = referral_heading(&state, &user, path.into_inner()).await?;
    let ctx = report_ctx(&h, &RawForm::default());
    pages::show(&state, &user, "sessions/report.html", ctx, None).await
}

pub async fn report(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let referral_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, rid, emails) = (Ctx::from(&user), referral_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_report(&raw),
        move |c, input| service::send_report(c, &acting, &rid, &input, Some(&emails)),
        |_| {
            Then::success(
                "Report sent to the responsible officer",
                back_to(&referral_id),
            )
        },
        async |e| {
            let (_, h) = referral_heading(&state, &user, referral_id.clone()).await?;
            let ctx = report_ctx(&h, &raw);
            pages::show(&state, &user, "sessions/report.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ risk alerts

/// The acknowledgement form of risk alert `id`, showing `raw` and any errors: what raised
/// the alert, when, and what to do next.
async fn alert_page(
    state: &State,
    user: &CurrentUser,
    id: &str,
    raw: &RawForm,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let (acting, aid) = (Ctx::from(user), id.to_owned());
    let (h, context) = state
        .db
        .write(move |c| service::alert_form(c, &acting, &aid))
        .await?;
    let action = format!("/risk-alerts/{id}/acknowledge");
    let mut ctx = base_ctx(&h, "Acknowledge a risk alert", &action, raw);
    ctx.insert("alert_context", &context);
    ctx.insert("next_step", crate::sessions::model::ALERT_NEXT_STEP);
    pages::show(state, user, "sessions/alert.html", ctx, errors).await
}

pub async fn alert_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    alert_page(&state, &user, &path.into_inner(), &RawForm::default(), None).await
}

pub async fn alert(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, aid) = (Ctx::from(&user), id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_acknowledgement(&raw),
        move |c, note| service::acknowledge_alert(c, &acting, &aid, &note),
        |(referral_id, _)| Then::success("Risk alert acknowledged", back_to(&referral_id)),
        async |e| alert_page(&state, &user, &id, &raw, Some(&e)).await,
    )
    .await
}

/// Runs the use case `f` reading what a form on record `id` shows, as the signed-in person,
/// in a write transaction (the view is recorded in it).
async fn read_form<T: Send + 'static>(
    state: &State,
    user: &CurrentUser,
    id: String,
    f: fn(&mut crate::db::DbConn, &Ctx, &str) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let acting = Ctx::from(user);
    state.db.write(move |c| f(c, &acting, &id)).await
}

// ------------------------------------------------------------------ enforcement

async fn review_heading(
    state: &State,
    user: &CurrentUser,
    review_id: String,
) -> Result<(Heading, enforcement::ReviewContext), AppError> {
    read_form(state, user, review_id, enforcement::review_form).await
}

fn decision_ctx(
    h: &Heading,
    id: &str,
    about: &enforcement::ReviewContext,
    raw: &RawForm,
) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Record your enforcement decision",
        &format!("/enforcement-reviews/{id}/decision"),
        raw,
    );
    ctx.insert("failure", &about.failure);
    ctx.insert("warning", &about.warning.map(format::date));
    ctx.insert("reminder_warning", &about.reminder_failed);
    ctx.insert(
        "decision_options",
        &choices(
            EnforcementDecision::OFFICER,
            EnforcementDecision::as_str,
            EnforcementDecision::label,
        ),
    );
    ctx
}

pub async fn decision_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (h, about) = review_heading(&state, &user, id.clone()).await?;
    let mut raw = RawForm::default();
    raw.set_date("action_date", Some(service::local_now().date()));
    let ctx = decision_ctx(&h, &id, &about, &raw);
    pages::show(&state, &user, "sessions/decision.html", ctx, None).await
}

pub async fn decision(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, rid) = (Ctx::from(&user), id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_decision(&raw),
        move |c, input| enforcement::decide_review(c, &acting, &rid, &input),
        |(referral_id, _)| Then::success("Enforcement decision recorded", back_to(&referral_id)),
        async |e| {
            let (h, about) = review_heading(&state, &user, id.clone()).await?;
            let ctx = decision_ctx(&h, &id, &about, &raw);
            pages::show(&state, &user, "sessions/decision.html", ctx, Some(&e)).await
        },
    )
    .await
}

async fn withdrawal_heading(
    state: &State,
    user: &CurrentUser,
    review_id: String,
) -> Result<(Heading, enforcement::WithdrawalContext), AppError> {
    read_form(state, user, review_id, enforcement::withdrawal_form).await
}

fn withdrawal_ctx(
    h: &Heading,
    id: &str,
    about: &enforcement::WithdrawalContext,
    raw: &RawForm,
) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Withdraw your enforcement decision",
        &format!("/enforcement-reviews/{id}/withdrawal"),
        raw,
    );
    ctx.insert("decision", &about.decision);
    ctx.insert("failure", &about.failure);
    ctx.insert("corrected_to", &about.corrected_to);
    ctx.insert("later_flagged", &about.later_flagged);
    ctx
}

pub async fn withdrawal_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (h, about) = withdrawal_heading(&state, &user, id.clone()).await?;
    let ctx = withdrawal_ctx(&h, &id, &about, &RawForm::default());
    pages::show(&state, &user, "sessions/withdrawal.html", ctx, None).await
}

pub async fn withdrawal(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, rid) = (Ctx::from(&user), id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_withdrawal(&raw),
        move |c, input| enforcement::withdraw_decision(c, &acting, &rid, &input),
        |done| {
            let mut text = String::from("Enforcement decision withdrawn");
            if done.unflagged > 0 {
                text.push_str(
                    ". A later failure no longer follows a warning within 12 months: decide it afresh",
                );
            }
            Then::success(text, back_to(&done.referral_id))
        },
        async |e| {
            let (h, about) = withdrawal_heading(&state, &user, id.clone()).await?;
            let ctx = withdrawal_ctx(&h, &id, &about, &raw);
            pages::show(&state, &user, "sessions/withdrawal.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ corrections and evidence

async fn correction_heading(
    state: &State,
    user: &CurrentUser,
    session_id: String,
) -> Result<(Session, Attendance, Heading), AppError> {
    read_form(state, user, session_id, service::correction_form).await
}

fn correction_ctx(h: &Heading, s: &Session, was: &Attendance, raw: &RawForm) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Correct the attendance",
        &format!("/sessions/{}/correction", s.id),
        raw,
    );
    ctx.insert("session_when", &views::when(s));
    ctx.insert("version", &s.version);
    ctx.insert("recorded_as", &was.describe_lower());
    ctx.insert(
        "officer_told",
        &(was.outcome.enforceable() || was.outcome == Outcome::AwaitingEvidence),
    );
    outcome_options(&mut ctx);
    ctx
}

pub async fn correction_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (s, was, h) = correction_heading(&state, &user, path.into_inner()).await?;
    let ctx = correction_ctx(&h, &s, &was, &RawForm::default());
    pages::show(&state, &user, "sessions/correction.html", ctx, None).await
}

pub async fn correction(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, sid, emails) = (Ctx::from(&user), session_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_correction(&raw),
        move |c, input| service::correct_attendance(c, &acting, &sid, &input, Some(&emails)),
        |k| {
            let mut text = String::from("Attendance corrected. The old value is kept");
            if k.review_withdrawn {
                text.push_str(". The open enforcement review of it is withdrawn");
            }
            if let Some(what) = &k.decision_stands {
                text.push_str(&format!(
                    ". {what} for it stands: the responsible officer decides whether to withdraw it"
                ));
            }
            if k.recorded.absence_reported {
                text.push_str(
                    ". The responsible officer has been told and asked for an enforcement decision",
                );
            }
            if k.officer_told {
                text.push_str(". The responsible officer has been emailed the correction");
            }
            if k.recorded.replacement_cancelled {
                text.push_str(". The session added in its place is cancelled");
            }
            match &k.recorded.replacement {
                Some(Replacement::Booked(s)) => {
                    text.push_str(&format!(". A replacement is booked on {}", views::when(s)))
                }
                Some(Replacement::NotPossible(why)) => {
                    text.push_str(&format!(". No replacement could be booked: {why}"))
                }
                _ => {}
            }
            Then::with(Flash::success(text), back_to(&k.referral_id))
        },
        async |e| {
            let (s, was, h) = correction_heading(&state, &user, session_id.clone()).await?;
            let ctx = correction_ctx(&h, &s, &was, &raw);
            pages::show(&state, &user, "sessions/correction.html", ctx, Some(&e)).await
        },
    )
    .await
}

async fn evidence_heading(
    state: &State,
    user: &CurrentUser,
    session_id: String,
) -> Result<(Session, Heading), AppError> {
    read_form(state, user, session_id, enforcement::evidence_form).await
}

fn evidence_ctx(h: &Heading, s: &Session, raw: &RawForm) -> tera::Context {
    let mut ctx = base_ctx(
        h,
        "Record the evidence for an absence",
        &format!("/sessions/{}/evidence", s.id),
        raw,
    );
    ctx.insert("session_when", &views::when(s));
    ctx.insert("version", &s.version);
    ctx.insert(
        "countdown",
        &s.evidence_due
            .map(|d| enforcement::countdown(d, service::local_now().date()))
            .unwrap_or_default(),
    );
    ctx.insert(
        "evidence_options",
        &vec![
            Choice::new("accepted", "Yes: the absence is acceptable"),
            Choice::new(
                "not_accepted",
                "No: the absence is unacceptable (the responsible officer decides on enforcement)",
            ),
        ],
    );
    ctx.insert(
        "absence_reason_options",
        &choices(
            AbsenceReason::ALL,
            AbsenceReason::as_str,
            AbsenceReason::label,
        ),
    );
    ctx
}

pub async fn evidence_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (s, h) = evidence_heading(&state, &user, path.into_inner()).await?;
    let ctx = evidence_ctx(&h, &s, &RawForm::default());
    pages::show(&state, &user, "sessions/evidence.html", ctx, None).await
}

pub async fn evidence(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, sid, emails) = (Ctx::from(&user), session_id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_evidence(&raw),
        move |c, input| {
            let accepted = input.accepted.is_some();
            enforcement::decide_evidence(c, &acting, &sid, &input, Some(&emails))
                .map(|(referral_id, e)| (referral_id, accepted, e))
        },
        |(referral_id, accepted, e)| {
            let mut text = if accepted {
                String::from("Evidence recorded: the absence is acceptable")
            } else {
                String::from(
                    "Recorded: the absence is unacceptable. The responsible officer decides on enforcement",
                )
            };
            if let Some(w) = e.after_warning {
                text.push_str(&format!(
                    ". This is within 12 months of the warning given on {}: breach action is expected",
                    format::date(w)
                ));
            }
            Then::with(Flash::success(text), back_to(&referral_id))
        },
        async |e| {
            let (s, h) = evidence_heading(&state, &user, session_id.clone()).await?;
            let ctx = evidence_ctx(&h, &s, &raw);
            pages::show(&state, &user, "sessions/evidence.html", ctx, Some(&e)).await
        },
    )
    .await
}

// ------------------------------------------------------------------ notes

async fn notes_heading(
    state: &State,
    user: &CurrentUser,
    session_id: String,
) -> Result<(crate::sessions::notes::Notes, Heading), AppError> {
    read_form(state, user, session_id, crate::sessions::notes::view).await
}

#[derive(Serialize)]
struct VersionRow {
    version: i32,
    byline: String,
    body: String,
}

async fn notes_page(
    state: &State,
    user: &CurrentUser,
    session_id: String,
    raw: Option<&RawForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let (n, h) = notes_heading(state, user, session_id).await?;
    let ids: Vec<String> = n.versions.iter().map(|v| v.written_by.clone()).collect();
    let names = state
        .db
        .read(move |c| crate::referrals::model::user_names(c, ids))
        .await?;
    let default = RawForm::default();
    let mut ctx = base_ctx(
        &h,
        "Session notes",
        &format!("/sessions/{}/notes", n.session.id),
        raw.unwrap_or(&default),
    );
    ctx.insert("session_when", &views::when(&n.session));
    ctx.insert("can_write", &n.can_write);
    ctx.insert("after", &n.current());
    ctx.insert(
        "current",
        &n.versions
            .last()
            .and_then(|v| v.body.clone())
            .unwrap_or_default(),
    );
    let rows: Vec<VersionRow> = n
        .versions
        .iter()
        .rev()
        .map(|v| VersionRow {
            version: v.version,
            byline: format!(
                "{}, {}",
                names.get(&v.written_by).cloned().unwrap_or_default(),
                format::date_time(v.written_at)
            ),
            body: v.body.clone().unwrap_or_default(),
        })
        .collect();
    ctx.insert("versions", &rows);
    pages::show(state, user, "sessions/notes.html", ctx, errors).await
}

pub async fn notes_form(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    notes_page(&state, &user, path.into_inner(), None, None).await
}

pub async fn notes(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, sid) = (Ctx::from(&user), session_id.clone());
    flow::post(
        &state,
        &user,
        forms::parse_notes(&raw),
        move |c, input| {
            crate::sessions::notes::write(c, &acting, &sid, input.after, &input.body)
                .map(|v| (v, model::session(c, &sid).map(|s| s.referral_id)))
        },
        |(version, referral_id)| {
            Then::success(
                format!("Notes saved as version {version}"),
                back_to(&referral_id.unwrap_or_default()),
            )
        },
        async |e| notes_page(&state, &user, session_id.clone(), Some(&raw), Some(&e)).await,
    )
    .await
}

// ------------------------------------------------------------------ leave

#[derive(Serialize)]
struct LeaveRow {
    id: String,
    who: String,
    period: String,
    note: String,
}

async fn leave_page(
    state: &State,
    user: &CurrentUser,
    raw: Option<&RawForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let acting = Ctx::from(user);
    let (current, people) = state
        .db
        .read(move |c| {
            Ok((
                crate::sessions::leave::current(c, &acting, service::local_now().date())?,
                crate::sessions::leave::practitioners(c, &acting)?,
            ))
        })
        .await?;
    let rows: Vec<LeaveRow> = current
        .iter()
        .map(|(l, who)| LeaveRow {
            id: l.id.clone(),
            who: who.clone(),
            period: l.period(),
            note: l.note.clone().unwrap_or_default(),
        })
        .collect();
    let mut ctx = tera::Context::new();
    let default = RawForm::default();
    ctx.insert("values", &raw.unwrap_or(&default).first_values());
    ctx.insert(
        "errors",
        &std::collections::BTreeMap::<String, String>::new(),
    );
    ctx.insert("rows", &rows);
    ctx.insert(
        "is_lead",
        &(user.user.role == crate::users::model::Role::ClinicalLead),
    );
    ctx.insert(
        "people",
        &people
            .into_iter()
            .map(|(id, name)| Choice::new(id, name))
            .collect::<Vec<_>>(),
    );
    if let Some(e) = errors {
        crate::web::insert_errors(&mut ctx, e);
    }
    crate::web::render(state, user, "/leave", "sessions/leave.html", ctx).await
}

/// `GET /leave`: the viewer's (or team's) leave, and the form to record more.
pub async fn leave_list(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    leave_page(&state, &user, None, None).await
}

/// `POST /leave`: records leave, then shows the sessions it touches.
pub async fn leave_record(
    state: State,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let raw = RawForm::from_urlencoded(&body);
    let acting = Ctx::from(&user);
    flow::post(
        &state,
        &user,
        forms::parse_leave(&raw, &user.user.id),
        move |c, input| crate::sessions::leave::record(c, &acting, &input),
        |(leave, touched)| {
            let text = match touched.len() {
                0 => format!("Leave recorded from {}. No sessions are booked during it", leave.period()),
                n => format!(
                    "Leave recorded from {}. {n} booked session{} during it: choose what happens to {}",
                    leave.period(),
                    if n == 1 { " is" } else { "s are" },
                    if n == 1 { "it" } else { "them" }
                ),
            };
            Then::with(Flash::success(text), format!("/leave/{}", leave.id))
        },
        async |e| leave_page(&state, &user, Some(&raw), Some(&e)).await,
    )
    .await
}

#[derive(Serialize)]
struct TouchedRow {
    id: String,
    version: i64,
    when: String,
    reference: String,
    href: String,
    /// Who may cover it, for its select.
    cover_by: Vec<Choice>,
}

async fn arrange_page(
    state: &State,
    user: &CurrentUser,
    id: String,
    raw: Option<&RawForm>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let acting = Ctx::from(user);
    let (leave, touched) = state
        .db
        .read(move |c| crate::sessions::leave::view(c, &acting, &id))
        .await?;
    let rows: Vec<TouchedRow> = touched
        .iter()
        .map(|t| TouchedRow {
            id: t.session.id.clone(),
            version: t.session.version,
            when: views::when(&t.session),
            reference: t.reference.clone(),
            href: format!("/referrals/{}#sessions", t.session.referral_id),
            cover_by: std::iter::once(Choice::new("", "Choose who covers"))
                .chain(t.cover_by.iter().map(|(id, name)| Choice::new(id, name)))
                .collect(),
        })
        .collect();
    let mut ctx = tera::Context::new();
    let default = RawForm::default();
    ctx.insert("values", &raw.unwrap_or(&default).first_values());
    ctx.insert(
        "errors",
        &std::collections::BTreeMap::<String, String>::new(),
    );
    ctx.insert("leave_id", &leave.id);
    ctx.insert("period", &leave.period());
    ctx.insert("cancelled", &leave.cancelled_at.is_some());
    ctx.insert("rows", &rows);
    ctx.insert(
        "what_options",
        &vec![
            Choice::new("move", "Move it to a new date and time"),
            Choice::new(
                "cancel",
                "Cancel it (the service books a replacement after the last session)",
            ),
            Choice::new(
                "cover",
                "Keep it at its time, with another assistant psychologist covering",
            ),
            Choice::new("later", "Decide later"),
        ],
    );
    if let Some(e) = errors {
        crate::web::insert_errors(&mut ctx, e);
    }
    crate::web::render(state, user, "/leave", "sessions/leave_arrange.html", ctx).await
}

/// `GET /leave/{id}`: the sessions booked during leave, to arrange in one go.
pub async fn leave_show(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    arrange_page(&state, &user, path.into_inner(), None, None).await
}

/// `POST /leave/{id}/arrange`: every choice lands, or none.
pub async fn leave_arrange(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let raw = RawForm::from_urlencoded(&body);
    let (acting, lid, emails) = (Ctx::from(&user), id.clone(), state.emails.clone());
    flow::post(
        &state,
        &user,
        forms::parse_arrangements(&raw),
        move |c, items| crate::sessions::leave::arrange(c, &acting, &lid, &items, Some(&emails)),
        |done: crate::sessions::leave::Arranged| {
            Then::with(
                Flash::success(format!(
                    "{} moved, {} cancelled and {} covered by a colleague. The responsible officers have been told of the moves and cancellations",
                    done.moved, done.cancelled, done.covered
                )),
                format!("/leave/{id}"),
            )
        },
        async |e| arrange_page(&state, &user, id.clone(), Some(&raw), Some(&e)).await,
    )
    .await
}

/// `POST /leave/{id}/cancel`: the leave is withdrawn and its days bookable again.
pub async fn leave_cancel(
    state: State,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = Ctx::from(&user);
    let leave = state
        .db
        .write(move |c| crate::sessions::leave::cancel(c, &acting, &id))
        .await?;
    crate::web::flash_and_redirect(
        &state,
        &user,
        Flash::success(format!("Leave from {} cancelled", leave.period())),
        "/leave",
    )
    .await
}

// ------------------------------------------------------------------ the worklist

/// `GET /worklist`: the week's work of an assistant psychologist, or a clinical lead's team.
pub async fn worklist(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let acting = Ctx::from(&user);
    let list = state
        .db
        .write(move |c| {
            crate::sessions::worklist::worklist(
                c,
                &acting.viewer,
                &acting.actor,
                service::local_now(),
            )
        })
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("worklist", &list);
    crate::web::render(&state, &user, "/worklist", "sessions/worklist.html", ctx).await
}
