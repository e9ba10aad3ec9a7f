//! Builds the application (state, middleware, routes) and the HTTP server around it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};

use crate::auth::password::Hasher;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::notifications::Emails;
use crate::notifications::worker::Worker;
use crate::settings::Settings;
use crate::state::AppState;

/// Parses every template (embedded at build time) once; autoescape is on for pages (`.html`)
/// and charts (`.svg`).
pub fn load_templates() -> Result<tera::Tera, AppError> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![".html", ".svg"]);
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| AppError::Config(format!("templates do not parse: {e:?}")))?;
    Ok(tera)
}

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The metrics server and its port, when `metrics.bind` is set.
    metrics: Option<(u16, Server)>,
}

impl Application {
    /// Opens the database, runs pending migrations and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, AppError> {
        let listener = TcpListener::bind(&settings.server.bind).map_err(|e| {
            AppError::Config(format!("cannot listen on {}: {e}", settings.server.bind))
        })?;
        Self::build_with_listener(settings, listener).await
    }

    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
    ) -> Result<Self, AppError> {
        let url = settings.database_url();
        let pool = db::build_pool(
            &url,
            settings.database.pool_size,
            Duration::from_secs(settings.database.connect_timeout_secs),
        )?;
        if settings.database.migrate_on_start {
            let migrate_pool = pool.clone();
            web::block(move || -> Result<(), AppError> {
                let mut conn = migrate_pool
                    .get()
                    .map_err(|e| AppError::Unavailable(e.to_string()))?;
                let applied = migrate(&mut conn)?;
                if !applied.is_empty() {
                    log::info!("applied {} migration(s)", applied.len());
                }
                Ok(())
            })
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("migration task failed: {e}")))??;
        }
        let hasher = Hasher::new(&settings.security)?;
        let templates = Arc::new(load_templates()?);
        let state = web::Data::new(AppState {
            views: crate::audit::appender::Views::new(pool.clone()),
            db: Db::new(pool, &url),
            hasher,
            emails: Emails::new(templates.clone(), &settings.server.base_url)
                .with_reminders(&settings.reminders),
            templates,
            sessions: crate::auth::session_cache::SessionCache::new(&settings.security),
            proxies: crate::web::proxy::TrustedProxies::parse(&settings.server.trusted_proxies)
                .map_err(AppError::Config)?,
            settings,
        });
        let port = listener
            .local_addr()
            .map_err(|e| AppError::Config(e.to_string()))?
            .port();
        let metrics = match state.settings.metrics.bind.trim() {
            "" => None,
            bind => {
                let listener = TcpListener::bind(bind).map_err(|e| {
                    AppError::Config(format!("cannot listen for metrics on {bind}: {e}"))
                })?;
                let port = listener
                    .local_addr()
                    .map_err(|e| AppError::Config(e.to_string()))?
                    .port();
                Some((
                    port,
                    crate::operations::metrics_server(state.clone(), listener)?,
                ))
            }
        };
        let server = build_server(state.clone(), listener)?;
        Ok(Self {
            port,
            server,
            state,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics server, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGINT/SIGTERM, then lets requests in flight finish. Starts the
    /// housekeeping task and the email delivery worker, unless either is turned off.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if self.state.settings.server.housekeeping {
            spawn_housekeeping(self.state.clone());
        }
        if self.state.settings.email.run_worker {
            let transport =
                crate::notifications::transport::from_settings(&self.state.settings.email)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
            Worker::new(self.state.db.clone(), transport, &self.state.settings.email).spawn();
            if let Some(reminders) = crate::reminders::worker::Worker::from_settings(
                self.state.db.clone(),
                &self.state.settings.reminders,
            )
            .map_err(|e| std::io::Error::other(e.to_string()))?
            {
                reminders.spawn();
            }
        }
        if let Some((_, metrics)) = self.metrics {
            tokio::spawn(metrics);
        }
        self.server.await
    }
}

fn build_server(state: web::Data<AppState>, listener: TcpListener) -> Result<Server, AppError> {
    let workers = match state.settings.server.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let blocking = match state.settings.server.blocking_threads {
        0 => state.settings.database.pool_size as usize,
        n => n,
    }
    .max(2);
    let shutdown = state.settings.server.shutdown_timeout_secs;
    let hsts = state.settings.security.hsts;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(
                web::JsonConfig::default()
                    .limit(256 * 1024)
                    .error_handler(|err, _| {
                        crate::error::ApiError(AppError::BadRequest(format!(
                            "The request body is not valid JSON: {err}"
                        )))
                        .into()
                    }),
            )
            .app_data(web::PayloadConfig::default().limit(256 * 1024))
            .configure(crate::routes::configure)
            .default_service(web::to(not_found))
            .wrap(from_fn(crate::web::input::reject_control_characters))
            .wrap(ErrorHandlers::new().default_handler(crate::web::error_page))
            .wrap(from_fn(move |req, next| {
                crate::web::headers::security_headers(hsts, req, next)
            }))
            .wrap(from_fn(crate::web::observe::observe))
    })
    .workers(workers)
    .worker_max_blocking_threads(blocking)
    .shutdown_timeout(shutdown)
    .listen(listener)
    .map_err(|e| AppError::Config(format!("cannot start the server: {e}")))?
    .run();
    Ok(server)
}

async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    if let Some(user) = crate::auth::guard::identify(&req).await {
        actix_web::HttpMessage::extensions_mut(&req).insert(user);
    }
    Err(AppError::NotFound)
}

/// Hourly: clean-up of dead session rows, referral drafts never submitted and old sent
/// emails, unrecorded sessions told to officers, absences past their last day for evidence
/// made unacceptable, fresh query planner statistics on SQLite, the vetting expiry reminders (which queue at most one reminder per user per
/// expiry date, however often they run) and, on Monday morning, the clinical leads' weekly
/// digests (at most one per lead per ISO week).
fn spawn_housekeeping(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match ran("sessions", state.db.write(crate::auth::session::purge_old)).await {
                Ok(n) if n > 0 => log::info!("removed {n} old session record(s)"),
                Ok(_) => {}
                Err(e) => log::warn!("session clean-up failed: {e}"),
            }
            match ran(
                "drafts",
                state.db.write(crate::referrals::service::purge_drafts),
            )
            .await
            {
                Ok(n) if n > 0 => log::info!("removed {n} unsubmitted referral draft(s)"),
                Ok(_) => {}
                Err(e) => log::warn!("referral draft clean-up failed: {e}"),
            }
            match ran(
                "sent_emails",
                state
                    .db
                    .write(|c| crate::notifications::model::purge_sent(c, crate::clock::now())),
            )
            .await
            {
                Ok(n) if n > 0 => log::info!("removed {n} old sent email record(s)"),
                Ok(_) => {}
                Err(e) => log::warn!("email clean-up failed: {e}"),
            }
            let emails = state.emails.clone();
            let today = crate::clock::today();
            match ran(
                "vetting_reminders",
                state.db.write(move |c| {
                    crate::notifications::vetting::queue_reminders(c, &emails, today)
                }),
            )
            .await
            {
                Ok(n) if n > 0 => log::info!("queued vetting reminders for {n} user(s)"),
                Ok(_) => {}
                Err(e) => log::warn!("vetting reminders failed: {e}"),
            }
            let (emails, grace) = (
                state.emails.clone(),
                state.settings.sessions.unrecorded_grace_working_days,
            );
            let now = crate::sessions::service::local_now();
            match ran(
                "unrecorded_sessions",
                state.db.write(move |c| {
                    crate::sessions::unrecorded::tell_officers(c, &emails, now, grace)
                }),
            )
            .await
            {
                Ok(n) if n > 0 => log::info!("told officers of {n} unrecorded session(s)"),
                Ok(_) => {}
                Err(e) => log::warn!("telling officers of unrecorded sessions failed: {e}"),
            }
            let emails = state.emails.clone();
            let today_uk = now.date();
            match ran(
                "evidence_deadlines",
                state.db.write(move |c| {
                    crate::sessions::enforcement::lapse_overdue(c, &emails, today_uk)
                }),
            )
            .await
            {
                Ok(n) if n > 0 => log::info!("{n} absence(s) passed their last day for evidence"),
                Ok(_) => {}
                Err(e) => log::warn!("passing absences' last day for evidence failed: {e}"),
            }
            match ran(
                "capacity_weeks",
                state.db.write(crate::sessions::capacity::upkeep::prune),
            )
            .await
            {
                Ok(n) if n > 0 => log::info!("removed {n} capacity count(s) of past weeks"),
                Ok(_) => {}
                Err(e) => log::warn!("removing past weeks' capacity counts failed: {e}"),
            }
            if let Err(e) = ran("statistics", state.db.run(crate::db::refresh_statistics)).await {
                log::warn!("refreshing the query planner's statistics failed: {e}");
            }
            if crate::notifications::digest::is_due(crate::clock::now()) {
                use crate::notifications::digest;
                let queued = async {
                    let emails = state.emails.clone();
                    let owed = state
                        .db
                        .read(move |c| digest::owed(c, &emails, today))
                        .await?;
                    if owed.is_empty() {
                        return Ok(0);
                    }
                    let emails = state.emails.clone();
                    state
                        .db
                        .write(move |c| digest::queue_owed(c, &emails, today, owed))
                        .await
                };
                match ran("weekly_digests", queued).await {
                    Ok(n) if n > 0 => log::info!("queued weekly digests for {n} clinical lead(s)"),
                    Ok(_) => {}
                    Err(e) => log::warn!("weekly digests failed: {e}"),
                }
            }
        }
    });
}

/// Runs a housekeeping job, counting it in the metrics and logging how long it took: a
/// job that holds the database for long holds back every write (sign-ins included), so one
/// taking more than a second is a warning.
async fn ran<T>(
    job: &'static str,
    work: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let started = std::time::Instant::now();
    let result = work.await;
    let took = started.elapsed();
    crate::metrics::housekeeping(job, result.is_ok());
    if took > Duration::from_secs(1) {
        log::warn!("housekeeping job {job} took {} ms", took.as_millis());
    } else {
        log::debug!("housekeeping job {job} took {} ms", took.as_millis());
    }
    result
}

/// Migrates the database, then gives referrals made before the reporting facts existed (or
/// by an older version) theirs: what the service's start and every command line do first.
/// The database layer migrates; bringing the domains' derived data up to date is this
/// layer's, above both.
pub fn migrate(conn: &mut db::DbConn) -> Result<Vec<String>, AppError> {
    let applied = db::run_migrations(conn)?;
    if !applied.is_empty() {
        crate::reports::upkeep::backfill(conn)?;
    }
    Ok(applied)
}
