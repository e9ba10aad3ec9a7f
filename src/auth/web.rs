//! Sign-in pages: password, authenticator code, recovery code, authenticator set-up,
//! invitation links, sign-out, "your account" (sessions, tokens, password change).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::audit::{self};
use crate::auth::account;
use crate::auth::guard::{CurrentUser, PendingSignIn, client_info};
use crate::auth::password::Password;
use crate::auth::service::{self, InvitationPurpose, PasswordOutcome, Refusal};
use crate::auth::session::{self, ClientInfo, Flash, SessionRow, SessionStage};
use crate::auth::totp;
use crate::error::{AppError, FieldErrors};
use crate::state::{AppState, State};
use crate::users::model::User;
use crate::web::{self as page, format};

fn session_cookie(state: &AppState, token: &str) -> Cookie<'static> {
    // No Max-Age: the cookie lasts for the browser session; the server decides how long
    // the session itself lives.
    Cookie::build(state.settings.session_cookie_name(), token.to_owned())
        .path("/")
        .http_only(true)
        .secure(state.settings.security.secure_cookies)
        .same_site(SameSite::Lax)
        .finish()
}

fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = session_cookie(state, "");
    c.set_max_age(CookieDuration::ZERO);
    c
}

fn pending_page(
    state: &AppState,
    pending: &PendingSignIn,
    template: &str,
    mut ctx: tera::Context,
) -> Result<HttpResponse, AppError> {
    ctx.extend(page::public_context(Some(&pending.session.csrf_token)));
    page::html(state, template, &ctx)
}

// ---------------------------------------------------------------- password step

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn sign_in_form(state: State, req: HttpRequest) -> Result<HttpResponse, AppError> {
    page::public_page(&state, &req, "auth/sign_in.html", tera::Context::new())
}

pub async fn sign_in(
    state: State,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    if form.email.trim().is_empty() {
        errors.add("email", "Enter your email address");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    let mut ctx = tera::Context::new();
    ctx.insert("email", &form.email);
    if !errors.is_empty() {
        return page::public_page(
            &state,
            &req,
            "auth/sign_in.html",
            page::with_errors(ctx, &errors),
        );
    }
    let client = client_info(&req);
    let password = Password::for_sign_in(form.password);
    let outcome = match service::check_password(&state, &form.email, &password, &client, "web")
        .await
    {
        Err(AppError::Throttled { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60);
            let msg = format!(
                "You have tried to sign in too many times. Wait {minutes} minute{} and try again",
                if minutes == 1 { "" } else { "s" }
            );
            let errors = FieldErrors::single("email", msg);
            let mut resp = page::public_page(
                &state,
                &req,
                "auth/sign_in.html",
                page::with_errors(ctx, &errors),
            )?;
            *resp.status_mut() = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
            return Ok(resp);
        }
        other => other?,
    };
    let (user, stage) = match outcome {
        PasswordOutcome::NeedsCode(u) => (u, SessionStage::MfaPending),
        PasswordOutcome::NeedsEnrolment(u) => (u, SessionStage::MfaEnrol),
        PasswordOutcome::Refused(refusal) => {
            let message = match refusal {
                Refusal::BadCredentials => "Enter a correct email address and password".to_owned(),
                Refusal::Disabled => "Your account has been disabled. Contact your administrator".to_owned(),
                Refusal::VettingExpired(Some(d)) => format!(
                    "Your vetting expired on {}. Ask your administrator to record your renewed vetting before you sign in",
                    format::date(d)
                ),
                Refusal::VettingExpired(None) => {
                    "There is no vetting record for your account. Ask your administrator to record your vetting before you sign in".to_owned()
                }
                Refusal::MfaResetPending => {
                    "Your authenticator app was reset. Use the link your administrator sent you to set it up again".to_owned()
                }
            };
            let errors = FieldErrors::single("email", message);
            return page::public_page(
                &state,
                &req,
                "auth/sign_in.html",
                page::with_errors(ctx, &errors),
            );
        }
    };
    start_stage(&state, &req, &user, stage, None).await
}

/// Starts (or rotates into) a session at `stage` and sends the browser to its page.
async fn start_stage(
    state: &State,
    req: &HttpRequest,
    user: &User,
    stage: SessionStage,
    old: Option<SessionRow>,
) -> Result<HttpResponse, AppError> {
    let client = client_info(req);
    let settings = state.settings.security.clone();
    let uid = user.id.clone();
    let (token, _) = state
        .db
        .write(move |c| match old {
            Some(old) => session::rotate(c, &old, stage, &settings, &client),
            None => session::create(c, &uid, stage, &settings, &client),
        })
        .await?;
    let to = match stage {
        SessionStage::MfaPending => "/sign-in/code",
        SessionStage::MfaEnrol => "/sign-in/set-up-authenticator",
        SessionStage::Full => "/",
    };
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(state, &token))
        .insert_header((header::LOCATION, to))
        .finish())
}

/// Completes sign-in: a fresh fully signed-in session, the per-user limit applied, and the
/// browser remembered as a known device. Returns the session row and the cookies to set.
async fn finish_sign_in(
    state: &State,
    req: &HttpRequest,
    pending: &PendingSignIn,
) -> Result<(SessionRow, Vec<Cookie<'static>>), AppError> {
    let client = client_info(req);
    let settings = state.settings.security.clone();
    let old = pending.session.clone();
    let (token, row, device) = state
        .db
        .write(move |c| {
            let (token, row) = session::rotate(c, &old, SessionStage::Full, &settings, &client)?;
            session::enforce_limit(c, &row.user_id, settings.max_sessions_per_user)?;
            let device =
                crate::auth::throttle::remember_device(c, &row.user_id, client.device.as_deref())?;
            Ok((token, row, device))
        })
        .await?;
    let mut cookies = vec![session_cookie(state, &token)];
    if let Some(device) = device {
        cookies.push(device_cookie(state, &device));
    }
    Ok((row, cookies))
}

/// The known-device cookie: a year, this site only, never read by scripts.
fn device_cookie(state: &AppState, token: &str) -> Cookie<'static> {
    Cookie::build(state.settings.device_cookie_name(), token.to_owned())
        .path("/")
        .http_only(true)
        .secure(state.settings.security.secure_cookies)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::days(365))
        .finish()
}

/// Where a completed sign-in goes: the page asked for before it (see
/// [`crate::web::return_path::AfterSignIn`]), else home; and the cookie that forgets it.
fn after_sign_in(state: &AppState, req: &HttpRequest) -> (String, Cookie<'static>) {
    use crate::web::return_path::AfterSignIn;
    let to = req
        .cookie(state.settings.after_sign_in_cookie_name())
        .and_then(|c| AfterSignIn::parse(c.value()))
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    (to, AfterSignIn::forget(&state.settings))
}

/// A response with the signed-in cookies set.
fn with_cookies(
    mut builder: actix_web::HttpResponseBuilder,
    cookies: Vec<Cookie<'static>>,
) -> actix_web::HttpResponseBuilder {
    for c in cookies {
        builder.cookie(c);
    }
    builder
}

// ---------------------------------------------------------------- second factor

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn code_form(state: State, pending: PendingSignIn) -> Result<HttpResponse, AppError> {
    if pending.session.stage != SessionStage::MfaPending {
        return Ok(page::see_other("/sign-in/set-up-authenticator"));
    }
    pending_page(&state, &pending, "auth/code.html", tera::Context::new())
}

pub async fn code(
    state: State,
    req: HttpRequest,
    pending: PendingSignIn,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let code = form.into_inner().code;
    if let Some(refusal) =
        second_factor(&state, &req, &pending, Factor::Authenticator, &code).await?
    {
        return Ok(refusal);
    }
    let (_, mut cookies) = finish_sign_in(&state, &req, &pending).await?;
    let (to, forget) = after_sign_in(&state, &req);
    cookies.push(forget);
    Ok(with_cookies(HttpResponse::SeeOther(), cookies)
        .insert_header((header::LOCATION, to))
        .finish())
}

/// The two ways to give a second factor at sign-in.
#[derive(Debug, Clone, Copy)]
enum Factor {
    Authenticator,
    RecoveryCode,
}

impl Factor {
    fn template(self) -> &'static str {
        match self {
            Factor::Authenticator => "auth/code.html",
            Factor::RecoveryCode => "auth/recovery_code.html",
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Factor::Authenticator => "Enter the 6-digit security code from your authenticator app",
            Factor::RecoveryCode => "Enter one of your recovery codes",
        }
    }

    fn wrong(self) -> &'static str {
        match self {
            Factor::Authenticator => {
                "The security code is not correct or has already been used. Enter the newest code from your authenticator app"
            }
            Factor::RecoveryCode => "The recovery code is not correct or has already been used",
        }
    }
}

/// Checks a second factor. `None` means accepted; otherwise the response to send instead
/// (the form with its error, or sign-in from the start after too many wrong codes).
async fn second_factor(
    state: &State,
    req: &HttpRequest,
    pending: &PendingSignIn,
    factor: Factor,
    code: &str,
) -> Result<Option<HttpResponse>, AppError> {
    if pending.session.stage != SessionStage::MfaPending {
        return Ok(Some(page::see_other("/sign-in/set-up-authenticator")));
    }
    let message = if code.trim().is_empty() {
        factor.missing()
    } else {
        let checked = match factor {
            Factor::Authenticator => {
                service::check_code(state, &pending.user, code, &pending.client, "web").await
            }
            Factor::RecoveryCode => {
                service::use_recovery_code(state, &pending.user, code, &pending.client, "web").await
            }
        };
        match checked {
            Ok(true) => return Ok(None),
            Ok(false) => factor.wrong(),
            Err(AppError::Throttled { .. }) => {
                let message = "You entered too many wrong codes. Sign in again in a few minutes";
                return sign_in_again(state, req, pending, message).await.map(Some);
            }
            Err(e) => return Err(e),
        }
    };
    let errors = FieldErrors::single("code", message);
    pending_page(
        state,
        pending,
        factor.template(),
        page::with_errors(tera::Context::new(), &errors),
    )
    .map(Some)
}

async fn sign_in_again(
    state: &State,
    req: &HttpRequest,
    pending: &PendingSignIn,
    message: &str,
) -> Result<HttpResponse, AppError> {
    let sid = pending.session.id.clone();
    state
        .db
        .write(move |c| session::end(c, &sid, "too many wrong codes"))
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("email", &pending.user.email);
    let errors = FieldErrors::single("email", message);
    let mut resp = page::public_page(
        state,
        req,
        "auth/sign_in.html",
        page::with_errors(ctx, &errors),
    )?;
    *resp.status_mut() = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
    resp.add_cookie(&removal_cookie(state))
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

pub async fn recovery_form(state: State, pending: PendingSignIn) -> Result<HttpResponse, AppError> {
    pending_page(
        &state,
        &pending,
        "auth/recovery_code.html",
        tera::Context::new(),
    )
}

pub async fn recovery(
    state: State,
    req: HttpRequest,
    pending: PendingSignIn,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let code = form.into_inner().code;
    if let Some(refusal) =
        second_factor(&state, &req, &pending, Factor::RecoveryCode, &code).await?
    {
        return Ok(refusal);
    }
    let (row, cookies) = finish_sign_in(&state, &req, &pending).await?;
    let uid = pending.user.id.clone();
    let left = state
        .db
        .run(move |c| service::recovery_codes_left(c, &uid))
        .await?;
    let flash = Flash::important(format!(
        "You have {left} recovery code{} left",
        if left == 1 { "" } else { "s" }
    ))
    .with_body("If you no longer have your authenticator app, ask your administrator to reset it.");
    let sid = row.id.clone();
    state
        .db
        .run(move |c| session::set_flash(c, &sid, &flash))
        .await?;
    let (to, forget) = after_sign_in(&state, &req);
    let mut cookies = cookies;
    cookies.push(forget);
    Ok(with_cookies(HttpResponse::SeeOther(), cookies)
        .insert_header((header::LOCATION, to))
        .finish())
}

// ---------------------------------------------------------------- enrolment

#[derive(Serialize)]
struct EnrolView {
    qr_svg: String,
    secret_grouped: String,
    email: String,
}

async fn enrol_view(state: &State, user: &User) -> Result<EnrolView, AppError> {
    let u = user.clone();
    let secret = state
        .db
        .write(move |c| service::enrolment_secret(c, &u))
        .await?;
    let uri = totp::otpauth_uri(&secret, &user.email);
    Ok(EnrolView {
        qr_svg: totp::qr_svg(&uri)?,
        secret_grouped: totp::grouped(&secret),
        email: user.email.clone(),
    })
}

pub async fn enrol_form(state: State, pending: PendingSignIn) -> Result<HttpResponse, AppError> {
    if pending.session.stage != SessionStage::MfaEnrol {
        return Ok(page::see_other("/sign-in/code"));
    }
    let mut ctx = tera::Context::new();
    ctx.insert("enrol", &enrol_view(&state, &pending.user).await?);
    pending_page(&state, &pending, "auth/enrol.html", ctx)
}

pub async fn enrol(
    state: State,
    req: HttpRequest,
    pending: PendingSignIn,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    if pending.session.stage != SessionStage::MfaEnrol {
        return Ok(page::see_other("/sign-in/code"));
    }
    let code = form.into_inner().code;
    let codes = if code.trim().is_empty() {
        None
    } else {
        match service::complete_enrolment(&state, &pending.user, &code, &pending.client).await {
            Err(AppError::Throttled { .. }) => {
                return sign_in_again(
                    &state,
                    &req,
                    &pending,
                    "You entered too many wrong codes. Sign in again in a few minutes",
                )
                .await;
            }
            other => other?,
        }
    };
    let Some(codes) = codes else {
        let message = if code.trim().is_empty() {
            "Enter the 6-digit security code from your authenticator app"
        } else {
            "The security code is not correct. Check the key you entered and try the newest code"
        };
        let mut ctx = tera::Context::new();
        ctx.insert("enrol", &enrol_view(&state, &pending.user).await?);
        let errors = FieldErrors::single("code", message);
        return pending_page(
            &state,
            &pending,
            "auth/enrol.html",
            page::with_errors(ctx, &errors),
        );
    };
    let (row, cookies) = finish_sign_in(&state, &req, &pending).await?;
    // The codes are shown once, on this response; only their hashes are kept.
    let mut ctx = tera::Context::new();
    ctx.insert("codes", &codes);
    ctx.extend(page::public_context(Some(&row.csrf_token)));
    let body = state.templates.render("auth/recovery_codes.html", &ctx)?;
    Ok(with_cookies(HttpResponse::Ok(), cookies)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

// ---------------------------------------------------------------- sign-out

pub async fn sign_out(state: State, req: HttpRequest) -> Result<HttpResponse, AppError> {
    if let Some(c) = req.cookie(state.settings.session_cookie_name()) {
        let token = c.value().to_owned();
        let client = client_info(&req);
        let settings = state.settings.security.clone();
        state
            .db
            .write(move |c| account::sign_out(c, &token, &settings, &client))
            .await?;
    }
    Ok(HttpResponse::SeeOther()
        .cookie(removal_cookie(&state))
        .insert_header(("Clear-Site-Data", "\"cache\", \"cookies\", \"storage\""))
        .insert_header((header::LOCATION, "/signed-out"))
        .finish())
}

#[derive(Debug, Deserialize)]
pub struct SignedOutQuery {
    reason: Option<String>,
}

pub async fn signed_out(
    state: State,
    req: HttpRequest,
    q: web::Query<SignedOutQuery>,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("reason", &q.reason.clone().unwrap_or_default());
    ctx.insert(
        "idle_minutes",
        &state.settings.security.idle_timeout_minutes,
    );
    let mut resp = page::public_page(&state, &req, "auth/signed_out.html", ctx)?;
    resp.add_cookie(&removal_cookie(&state))
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

/// The timeout warning's "Stay signed in".
pub async fn keep_alive(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let mut row = user.session.clone();
    state
        .db
        .run(move |c| session::touch(c, &mut row, true))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------- invitations

#[derive(Debug, Deserialize)]
pub struct InvitationForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn invitation_for(
    state: &State,
    token: &str,
) -> Result<Option<(service::Invitation, User)>, AppError> {
    let token = token.to_owned();
    state
        .db
        .run(move |c| service::find_invitation(c, &token))
        .await
}

fn invitation_ctx(inv: &service::Invitation, user: &User) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("purpose", inv.purpose.as_str());
    ctx.insert("heading", inv.purpose.label());
    ctx.insert("email", &user.email);
    ctx.insert("name", &user.name);
    ctx
}

pub async fn invitation_form(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match invitation_for(&state, &token).await? {
        Some((inv, user)) => page::public_page(
            &state,
            &req,
            "auth/invitation.html",
            invitation_ctx(&inv, &user),
        ),
        None => page::public_page(
            &state,
            &req,
            "auth/invitation_invalid.html",
            tera::Context::new(),
        ),
    }
}

pub async fn invitation(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<InvitationForm>,
) -> Result<HttpResponse, AppError> {
    let Some((inv, user)) = invitation_for(&state, &token).await? else {
        return page::public_page(
            &state,
            &req,
            "auth/invitation_invalid.html",
            tera::Context::new(),
        );
    };
    let form = form.into_inner();
    let client = client_info(&req);

    if inv.purpose == InvitationPurpose::MfaReset {
        // Setting up the authenticator again needs the link and the current password.
        let password = Password::for_sign_in(form.password);
        let ok = service::check_known_password(&state, &user, &password, &client, "mfa_reset_link")
            .await?;
        if !ok {
            let errors = FieldErrors::single("password", "Enter your current password");
            return page::public_page(
                &state,
                &req,
                "auth/invitation.html",
                page::with_errors(invitation_ctx(&inv, &user), &errors),
            );
        }
        let (inv_id, uid) = (inv.id.clone(), user.id.clone());
        let actor = audit::Actor::user(&user.id, &user.email, client.ip.clone());
        let consumed = state
            .db
            .write(move |c| account::use_authenticator_reset(c, &actor, &inv_id, &uid))
            .await?;
        if !consumed {
            return page::public_page(
                &state,
                &req,
                "auth/invitation_invalid.html",
                tera::Context::new(),
            );
        }
        return start_stage(&state, &req, &user, SessionStage::MfaEnrol, None).await;
    }

    let uid = user.id.clone();
    let u = user.clone();
    let context = state.db.run(move |c| service::context_words(c, &u)).await?;
    let mut errors = FieldErrors::new();
    let checked = match Password::new_checked(form.password.clone(), &context) {
        Ok(p) => Some(p),
        Err(msg) => {
            errors.add("password", msg);
            None
        }
    };
    if checked.is_some() && form.password != form.confirm_password {
        errors.add("confirm_password", "The passwords do not match");
    }
    let (Some(password), true) = (checked, errors.is_empty()) else {
        return page::public_page(
            &state,
            &req,
            "auth/invitation.html",
            page::with_errors(invitation_ctx(&inv, &user), &errors),
        );
    };
    let hash = state.hasher.hash(&password).await?;
    let (inv_id, purpose) = (inv.id.clone(), inv.purpose);
    let actor = audit::Actor::user(&user.id, &user.email, client.ip.clone());
    let consumed = state
        .db
        .write(move |c| account::set_password_by_link(c, &actor, &inv_id, purpose, &uid, &hash))
        .await?;
    match consumed {
        Some((fresh, stage)) => start_stage(&state, &req, &fresh, stage, None).await,
        None => page::public_page(
            &state,
            &req,
            "auth/invitation_invalid.html",
            tera::Context::new(),
        ),
    }
}

// ---------------------------------------------------------------- your account

#[derive(Serialize)]
struct SessionView {
    public_id: String,
    current: bool,
    started: String,
    last_seen: String,
    ip: String,
    device: String,
}

#[derive(Serialize)]
struct TokenView {
    id: String,
    created: String,
    expires: String,
    last_used: String,
}

pub async fn account(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let me = user.user.clone();
    let account::Overview {
        sessions,
        tokens,
        codes_left,
        areas,
        organisation,
        email_choices: (email_options, email_on),
    } = state.db.run(move |c| account::overview(c, &me)).await?;
    let sessions: Vec<SessionView> = sessions
        .iter()
        .map(|s| SessionView {
            public_id: session::public_id_of(&s.id),
            current: s.id == user.session.id,
            started: format::date_time(s.created_at),
            last_seen: format::date_time(s.last_seen_at),
            ip: s.ip.clone().unwrap_or_else(|| "Unknown".into()),
            device: describe_agent(s.user_agent.as_deref()),
        })
        .collect();
    let tokens: Vec<TokenView> = tokens
        .iter()
        .map(|t| TokenView {
            id: t.id.clone(),
            created: format::date_time(t.created_at),
            expires: format::date_time(t.expires_at),
            last_used: t
                .last_used_at
                .map(format::date_time)
                .unwrap_or_else(|| "Not used".into()),
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("sessions", &sessions);
    ctx.insert("tokens", &tokens);
    ctx.insert("codes_left", &codes_left);
    ctx.insert("areas", &areas);
    ctx.insert("organisation", &organisation);
    ctx.insert("email_options", &email_options);
    ctx.insert("email_on", &email_on);
    ctx.insert("role_label", user.user.role.label());
    ctx.insert("vetting_level", &user.user.vetting_level.map(|v| v.label()));
    ctx.insert(
        "vetting_expires",
        &user.user.vetting_expires_on.map(format::date),
    );
    page::render(&state, &user, "/account", "account/index.html", ctx).await
}

/// A short, non-identifying description of a browser for the sessions list.
fn describe_agent(ua: Option<&str>) -> String {
    let Some(ua) = ua else {
        return "Unknown device".into();
    };
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/", "reqwest"]
        .iter()
        .find(|b| ua.contains(*b))
        .map(|b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            "Safari/" => "Safari",
            "curl/" => "curl",
            _ => "API client",
        })
        .unwrap_or("Browser");
    let os = ["Windows", "Mac OS", "Android", "iPhone", "Linux"]
        .iter()
        .find(|o| ua.contains(*o))
        .copied();
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_owned(),
    }
}

pub async fn end_session(
    state: State,
    user: CurrentUser,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (uid, pid) = (user.user.id.clone(), public_id.into_inner());
    let actor = user.actor();
    let ended = state
        .db
        .write(move |c| account::end_own_session(c, &actor, &uid, &pid))
        .await?;
    if !ended {
        return Err(AppError::NotFound);
    }
    page::flash_and_redirect(&state, &user, Flash::success("Session ended"), "/account").await
}

pub async fn end_other_sessions(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (uid, keep) = (user.user.id.clone(), user.session.id.clone());
    let actor = user.actor();
    let n = state
        .db
        .write(move |c| account::end_other_sessions(c, &actor, &uid, &keep))
        .await?;
    let flash = Flash::success(format!(
        "{n} other session{} ended",
        if n == 1 { "" } else { "s" }
    ));
    page::flash_and_redirect(&state, &user, flash, "/account").await
}

pub async fn revoke_token(
    state: State,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (uid, tid) = (user.user.id.clone(), id.into_inner());
    let actor = user.actor();
    let done = state
        .db
        .write(move |c| account::revoke_token(c, &actor, Some(&uid), &tid))
        .await?;
    if !done {
        return Err(AppError::NotFound);
    }
    page::flash_and_redirect(
        &state,
        &user,
        Flash::success("API token revoked"),
        "/account",
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct ChangePasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn password_form(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    page::render(
        &state,
        &user,
        "/account",
        "account/password.html",
        tera::Context::new(),
    )
    .await
}

pub async fn change_password(
    state: State,
    req: HttpRequest,
    user: CurrentUser,
    form: web::Form<ChangePasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let current = Password::for_sign_in(form.current_password);
    if current.expose().is_empty() {
        errors.add("current_password", "Enter your current password");
    } else if !service::check_known_password(
        &state,
        &user.user,
        &current,
        &user.client,
        "change_password",
    )
    .await?
    {
        errors.add("current_password", "Your current password is not correct");
    }
    let u = user.user.clone();
    let context = state.db.run(move |c| service::context_words(c, &u)).await?;
    let new = match Password::new_checked(form.new_password.clone(), &context) {
        Ok(p) => Some(p),
        Err(m) => {
            errors.add("new_password", m);
            None
        }
    };
    if new.is_some() && form.new_password == current.expose() {
        errors.add(
            "new_password",
            "Your new password must be different from your current password",
        );
    }
    if new.is_some() && form.new_password != form.confirm_password {
        errors.add("confirm_password", "The passwords do not match");
    }
    let (Some(new), true) = (new, errors.is_empty()) else {
        return page::render(
            &state,
            &user,
            "/account",
            "account/password.html",
            page::with_errors(tera::Context::new(), &errors),
        )
        .await;
    };
    let hash = state.hasher.hash(&new).await?;
    let client: ClientInfo = client_info(&req);
    let settings = state.settings.security.clone();
    let old = user.session.clone();
    let actor = user.actor();
    let (token, row) = state
        .db
        .write(move |c| account::change_password(c, &actor, &old, &hash, &settings, &client))
        .await?;
    let flash = Flash::success("Your password has been changed")
        .with_body("You have been signed out everywhere else.");
    let sid = row.id.clone();
    state
        .db
        .run(move |c| session::set_flash(c, &sid, &flash))
        .await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(&state, &token))
        .insert_header((header::LOCATION, "/account"))
        .finish())
}
