//! Typed, layered configuration: the built-in `config/default.toml`, then an optional file,
//! then `APP_*` environment variables. Unknown keys are errors, so a typo is caught at start.

use std::path::Path;

use serde::Deserialize;

use crate::db::{DatabaseUrl, redact_url};
use crate::error::AppError;

pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub email: EmailSettings,
    #[serde(default)]
    pub reports: ReportSettings,
    #[serde(default)]
    pub retention: RetentionSettings,
    #[serde(default)]
    pub import: ImportSettings,
    #[serde(default)]
    pub sessions: SessionSettings,
    #[serde(default)]
    pub service: ServiceSettings,
    #[serde(default)]
    pub clock: ClockSettings,
    #[serde(default)]
    pub data_quality: DataQualitySettings,
    #[serde(default)]
    pub reminders: ReminderSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
}

/// The Prometheus metrics endpoint (see `metrics`): off unless given an address of its own,
/// which should not be reachable from outside (the README's deployment section).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Where `GET /metrics` listens, e.g. 127.0.0.1:9464; empty for no metrics.
    pub bind: String,
    /// When set, a scrape must send `Authorization: Bearer <token>` (at least 32 characters).
    pub token: String,
}

impl std::fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("bind", &self.bind)
            .field("token", &(!self.token.is_empty()).then_some("[set]"))
            .finish()
    }
}

impl MetricsSettings {
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.bind.trim().is_empty() && self.bind.trim().parse::<std::net::SocketAddr>().is_err()
        {
            out.push(format!(
                "metrics.bind must be an address and port, e.g. 127.0.0.1:9464 (it is '{}')",
                self.bind.trim()
            ));
        }
        if !self.token.is_empty() && self.token.chars().count() < 32 {
            out.push("metrics.token must be at least 32 characters, or empty".to_owned());
        }
        out
    }
}

/// How reminders reach the person on the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReminderTransport {
    /// No reminders are written.
    Off,
    /// Reminders are written and logged (kind, channel, id), never sent: for the demo.
    Log,
    /// Reminders are sent through GOV.UK Notify.
    Notify,
}

/// Appointment reminders to the person on the order (see `reminders`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    pub transport: ReminderTransport,
    /// The name the messages give: who the appointment is with (never what it is for).
    pub provider: String,
    /// Reminders this many days before a session, sent at `send_at` (UK time).
    pub days_before: Vec<u32>,
    pub send_at: String,
    /// A reminder on the morning of the session at this UK time; empty for none.
    pub morning_of: String,
    /// When a text message fails for good, post the message instead where an address is
    /// held and the session is at least `letter_min_days` away.
    pub letter_fallback: bool,
    /// Letters take days to arrive: none is sent for a session nearer than this.
    pub letter_min_days: u32,
    pub poll_interval_secs: u64,
    pub max_attempts: i32,
    /// How often a sent message's delivery status is asked of Notify.
    pub status_check_minutes: i64,
    pub notify: NotifySettings,
}

impl std::fmt::Debug for ReminderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReminderSettings")
            .field("transport", &self.transport)
            .field("notify_key_set", &!self.notify.api_key.is_empty())
            .finish_non_exhaustive()
    }
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            transport: ReminderTransport::Off,
            provider: String::new(),
            days_before: vec![2],
            send_at: "10:00".into(),
            morning_of: "08:00".into(),
            letter_fallback: true,
            letter_min_days: 5,
            poll_interval_secs: 30,
            max_attempts: 6,
            status_check_minutes: 15,
            notify: NotifySettings::default(),
        }
    }
}

/// The GOV.UK Notify service the reminders go through.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    pub base_url: String,
    /// The API key as Notify shows it: name, service id and secret joined by dashes.
    pub api_key: String,
    /// Notify templates whose content is `((body))` (and subject or heading `((subject))`).
    pub sms_template_id: String,
    pub email_template_id: String,
    pub letter_template_id: String,
    pub timeout_secs: u64,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.notifications.service.gov.uk".into(),
            api_key: String::new(),
            sms_template_id: String::new(),
            email_template_id: String::new(),
            letter_template_id: String::new(),
            timeout_secs: 20,
        }
    }
}

impl ReminderSettings {
    /// Whether reminders are written at all: off, or Notify chosen without a key, is off.
    pub fn enabled(&self) -> bool {
        match self.transport {
            ReminderTransport::Off => false,
            ReminderTransport::Log => true,
            ReminderTransport::Notify => !self.notify.api_key.trim().is_empty(),
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (key, value) in [("send_at", &self.send_at), ("morning_of", &self.morning_of)] {
            if !(key == "morning_of" && value.trim().is_empty())
                && chrono::NaiveTime::parse_from_str(value.trim(), "%H:%M").is_err()
            {
                out.push(format!(
                    "reminders.{key} must be a time as HH:MM, like 10:00 (it is '{value}')"
                ));
            }
        }
        if self.days_before.iter().any(|d| !(1..=14).contains(d)) {
            out.push("reminders.days_before must hold whole numbers of days from 1 to 14".into());
        }
        if self.max_attempts < 1 || self.poll_interval_secs < 1 || self.status_check_minutes < 1 {
            out.push(
                "reminders.max_attempts, poll_interval_secs and status_check_minutes must be at least 1"
                    .into(),
            );
        }
        if self.transport == ReminderTransport::Notify && !self.notify.api_key.trim().is_empty() {
            if let Err(e) = crate::reminders::key::ApiKey::parse(&self.notify.api_key) {
                out.push(format!("reminders.notify.api_key: {e}"));
            }
            for (key, id) in [
                ("sms_template_id", &self.notify.sms_template_id),
                ("email_template_id", &self.notify.email_template_id),
                ("letter_template_id", &self.notify.letter_template_id),
            ] {
                if uuid::Uuid::parse_str(id.trim()).is_err() {
                    out.push(format!(
                        "reminders.notify.{key} must be the id of a Notify template (a UUID)"
                    ));
                }
            }
            if !self.notify.base_url.starts_with("https://")
                && !self.notify.base_url.starts_with("http://127.0.0.1")
                && !self.notify.base_url.starts_with("http://localhost")
            {
                out.push("reminders.notify.base_url must start with https://".into());
            }
        }
        if self.provider.trim().is_empty() && self.transport != ReminderTransport::Off {
            out.push(
                "reminders.provider must name who the appointments are with, like Turning Point"
                    .into(),
            );
        }
        out
    }
}

/// The partnership's minimum standards for what partners record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataQualitySettings {
    /// The fields every partner is agreed to record (see `quality::Field`).
    pub required: Vec<String>,
}

impl Default for DataQualitySettings {
    fn default() -> Self {
        Self {
            required: [
                "pnc_id",
                "crn",
                "ethnicity",
                "sex",
                "gender_identity",
                "gp_practice",
                "sentence_date",
                "requirement_end_date",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

/// The service's idea of today, for a migration rehearsal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSettings {
    /// `YYYY-MM-DD`: the service (pages, housekeeping, reports, the import's retention rule)
    /// runs as if this were today's date. For a dress rehearsal of a migration on a copy of
    /// the data; refused in production. Empty: the real date.
    pub today: String,
}

impl ClockSettings {
    /// The rehearsal date, if one is set (checked when the settings are loaded).
    pub fn today(&self) -> Option<chrono::NaiveDate> {
        chrono::NaiveDate::parse_from_str(self.today.trim(), "%Y-%m-%d").ok()
    }
}

/// Who runs this deployment, for the accessibility statement and privacy notice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// The organisation that runs the service (e.g. "Rutland Community Safety Partnership").
    /// Empty: the pages say "the organisation that runs this service".
    pub provider: String,
    /// Where to report an accessibility problem or ask for another format. Empty: the pages
    /// say to tell the service administrator.
    pub contact_email: String,
}

/// Treatment sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// Working days after a session's day that its outcome may still be recorded before the
    /// responsible officer is told it is not (the hourly housekeeping tells them).
    pub unrecorded_grace_working_days: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            unrecorded_grace_working_days: 1,
        }
    }
}

/// The retention policy: how many years after a referral closed it comes up for review, by
/// how it closed, and how far ahead a decision to keep it may set the next review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Declined at screening, not suitable, MHTR not made or withdrawn.
    pub ended_without_treatment_years: u32,
    /// Closed after treatment (completed, ended early, signposted and closed).
    pub closed_after_treatment_years: u32,
    /// A decision to keep a record sets its next review at most this many years ahead.
    pub max_retain_years: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            ended_without_treatment_years: 2,
            closed_after_treatment_years: 6,
            max_retain_years: 5,
        }
    }
}

/// The administrators' import page (`/admin/import`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// The shipped mapping files offered on the page (every `*.toml` in it, by name only).
    pub mappings_dir: String,
    /// Where uploads wait between the dry run and the import, each in a folder with a random
    /// name. Uploaded files are removed once imported; anything left is removed after a day.
    pub staging_dir: String,
    /// The largest file accepted, in MiB.
    pub max_file_mib: u64,
    /// The most accepted in one upload, all files together, in MiB.
    pub max_total_mib: u64,
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            mappings_dir: "config/import".into(),
            staging_dir: "./data/import-staging".into(),
            max_file_mib: 50,
            max_total_mib: 50,
        }
    }
}

impl RetentionSettings {
    /// What is wrong with the policy, in words for whoever runs the service.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (key, years) in [
            (
                "ended_without_treatment_years",
                self.ended_without_treatment_years,
            ),
            (
                "closed_after_treatment_years",
                self.closed_after_treatment_years,
            ),
        ] {
            if !(1..=100).contains(&years) {
                out.push(format!(
                    "retention.{key} must be a whole number of years from 1 to 100 (it is {years})"
                ));
            }
        }
        if !(1..=10).contains(&self.max_retain_years) {
            out.push(format!(
                "retention.max_retain_years must be a whole number of years from 1 to 10 (it is {})",
                self.max_retain_years
            ));
        }
        out
    }
}

impl ImportSettings {
    pub fn max_file_bytes(&self) -> usize {
        (self.max_file_mib as usize).saturating_mul(1024 * 1024)
    }

    pub fn max_total_bytes(&self) -> usize {
        (self.max_total_mib as usize).saturating_mul(1024 * 1024)
    }
}

/// Reporting: disclosure control for councillors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// Counts from 1 to one less than this are withheld from councillors.
    pub suppression_threshold: i64,
    /// Targets by indicator key (a row key of the uptake report, like `rate_completed`).
    #[serde(default)]
    pub targets: std::collections::BTreeMap<String, crate::reports::catalogue::Target>,
    /// Where the evaluation returns' mapping files are (`NAME.toml`, chosen by name).
    #[serde(default = "default_returns_dir")]
    pub returns_dir: String,
}

fn default_returns_dir() -> String {
    "config/returns".into()
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            suppression_threshold: 5,
            targets: Default::default(),
            returns_dir: default_returns_dir(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Test,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub base_url: String,
    pub workers: usize,
    /// Threads per worker for database work; 0 means the database pool's size.
    #[serde(default)]
    pub blocking_threads: usize,
    pub shutdown_timeout_secs: u64,
    /// Whether `serve` runs the hourly housekeeping (clean-ups, vetting reminders, the
    /// weekly digests), starting at once.
    #[serde(default = "yes")]
    pub housekeeping: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (comma-separated addresses or
    /// networks, e.g. "10.0.0.0/8"); empty: the peer's address is the client's.
    #[serde(default)]
    pub trusted_proxies: String,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    /// Whether `serve` applies pending migrations as it starts (the default). With several
    /// instances, run `mhtr-pathway migrate` once and set this false: an instance then
    /// reports not ready (`/readyz`) while migrations are pending.
    #[serde(default = "yes")]
    pub migrate_on_start: bool,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("migrate_on_start", &self.migrate_on_start)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    pub secure_cookies: bool,
    pub hsts: bool,
    pub idle_timeout_minutes: i64,
    pub absolute_timeout_hours: i64,
    pub pending_mfa_minutes: i64,
    pub max_sessions_per_user: i64,
    pub api_token_hours: i64,
    pub invitation_days: i64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub max_concurrent_hashes: usize,
    /// How long a page request may rely on a signed-in session read by an earlier one, in
    /// seconds (0: every request reads it). See `auth::session_cache`.
    #[serde(default = "default_session_cache_seconds")]
    pub session_cache_seconds: i64,
    pub throttle: ThrottleSettings,
}

fn default_session_cache_seconds() -> i64 {
    2
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    pub window_minutes: i64,
    pub per_account_and_address: i64,
    pub per_account: i64,
    pub per_address: i64,
}

/// How email leaves the service. Messages are written to the outbox table first; a worker
/// delivers them through the chosen transport.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub transport: EmailTransport,
    /// The `From` header, e.g. `MHTR Pathway <no-reply@mhtr.example.org>`.
    pub from: String,
    /// Where the file transport writes `.eml` files.
    pub file_dir: String,
    /// Whether `serve` starts the delivery worker.
    pub run_worker: bool,
    pub poll_interval_secs: u64,
    /// A message is dead-lettered after this many failed attempts.
    pub max_attempts: i32,
    /// The wait after the first failure; it doubles with each further failure.
    pub backoff_base_secs: i64,
    pub backoff_max_secs: i64,
    /// How long a worker may hold a message it is sending before another worker may take it.
    pub lease_secs: i64,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    /// Writes each message as an `.eml` file: for local development.
    File,
    Smtp,
    /// Logs that a message would be sent, without its recipient or content.
    Log,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Empty for a relay that needs no authentication.
    pub username: String,
    pub password: String,
    pub timeout_secs: u64,
    /// A PEM file of a certificate authority to trust for the mail server, besides the public
    /// ones; empty for none.
    pub ca_file: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same host or in tests.
    None,
    /// Upgrade with STARTTLS; refuse to send if the server cannot.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("timeout_secs", &self.timeout_secs)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("server", &self.server)
            .field("database", &self.database)
            .field("security", &self.security)
            .field("email", &self.email)
            .finish()
    }
}

impl Settings {
    /// Defaults, then `file` (or `APP_CONFIG_FILE`), then `APP_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, AppError> {
        let env_file = std::env::var("APP_CONFIG_FILE").ok();
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env_file.map(Into::into));
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));
        if let Some(path) = file {
            if !path.exists() {
                return Err(AppError::Config(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("APP")
                .prefix_separator("_")
                .separator("__")
                .ignore_empty(true)
                .try_parsing(true),
        );
        Self::from_builder(builder)
    }

    /// Defaults overlaid with the given TOML text (tests and config checks).
    pub fn from_toml(overlay: &str) -> Result<Self, AppError> {
        let builder = config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULT_TOML,
                config::FileFormat::Toml,
            ))
            .add_source(config::File::from_str(overlay, config::FileFormat::Toml));
        Self::from_builder(builder)
    }

    fn from_builder(
        builder: config::ConfigBuilder<config::builder::DefaultState>,
    ) -> Result<Self, AppError> {
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| AppError::Config(format!("invalid configuration: {e}")))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), AppError> {
        DatabaseUrl::parse(&self.database.url)?;
        let s = &self.security;
        let mut problems = Vec::new();
        if s.idle_timeout_minutes < 3 {
            problems.push("security.idle_timeout_minutes must be at least 3 (the warning comes 2 minutes before)");
        }
        if s.absolute_timeout_hours < 1 {
            problems.push("security.absolute_timeout_hours must be at least 1");
        }
        if s.max_sessions_per_user < 1 {
            problems.push("security.max_sessions_per_user must be at least 1");
        }
        if s.max_concurrent_hashes < 1 {
            problems.push("security.max_concurrent_hashes must be at least 1");
        }
        if self.database.pool_size < 1 {
            problems.push("database.pool_size must be at least 1");
        }
        let e = &self.email;
        if e.max_attempts < 1 {
            problems.push("email.max_attempts must be at least 1");
        }
        if e.poll_interval_secs < 1 {
            problems.push("email.poll_interval_secs must be at least 1");
        }
        if e.backoff_base_secs < 0 || e.backoff_max_secs < e.backoff_base_secs {
            problems.push(
                "email.backoff_base_secs must be at least 0 and at most email.backoff_max_secs",
            );
        }
        if e.lease_secs < 1 {
            problems.push("email.lease_secs must be at least 1");
        }
        if e.from.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(
                "email.from must be an email address, e.g. MHTR Pathway <no-reply@example.org>",
            );
        }
        if self.environment == Environment::Production && !s.secure_cookies {
            problems.push("security.secure_cookies must be true in production");
        }
        if !self.server.base_url.starts_with("http://")
            && !self.server.base_url.starts_with("https://")
        {
            problems.push("server.base_url must start with http:// or https://");
        }
        let i = &self.import;
        if i.max_file_mib < 1 || i.max_total_mib < i.max_file_mib {
            problems
                .push("import.max_file_mib must be at least 1 and at most import.max_total_mib");
        }
        if i.staging_dir.trim().is_empty() || i.mappings_dir.trim().is_empty() {
            problems.push("import.staging_dir and import.mappings_dir must name folders");
        }
        let mut problems: Vec<String> = problems.into_iter().map(str::to_owned).collect();
        for (key, t) in &self.reports.targets {
            if !crate::reports::catalogue::takes_target(key) {
                problems.push(format!(
                    "reports.targets.{key} is not an indicator of the uptake report that can take a target"
                ));
            } else if !t.target.is_finite() || !t.amber_within.is_finite() || t.amber_within < 0.0 {
                problems.push(format!(
                    "reports.targets.{key} needs a number for target and amber_within at least 0"
                ));
            }
        }
        problems.extend(self.retention.problems());
        problems.extend(self.reminders.problems());
        problems.extend(self.metrics.problems());
        if let Err(e) = crate::web::proxy::TrustedProxies::parse(&self.server.trusted_proxies) {
            problems.push(format!("server.trusted_proxies: {e}"));
        }
        if let Err(e) = crate::quality::required_fields(&self.data_quality.required) {
            problems.push(e);
        }
        if !self.clock.today.trim().is_empty() {
            if self.clock.today().is_none() {
                problems.push(format!(
                    "clock.today must be a date as YYYY-MM-DD, e.g. 2027-04-01 (it is '{}')",
                    self.clock.today.trim()
                ));
            } else if self.environment == Environment::Production {
                problems.push(
                    "clock.today is for migration rehearsals and cannot be set in production"
                        .to_owned(),
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AppError::Config(problems.join("; ")))
        }
    }

    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.database.url).expect("checked when the settings were loaded")
    }

    /// The scheme, host and port of `base_url`, as browsers send it in `Origin`.
    pub fn origin(&self) -> String {
        let url = self.server.base_url.trim_end_matches('/');
        match url
            .find("://")
            .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
        {
            Some(path_start) => url[..path_start].to_owned(),
            None => url.to_owned(),
        }
    }

    /// The pre-sign-in cookie that carries the CSRF token of forms shown before sign-in:
    /// `__Host-` prefixed like the session's, so no other host or path can plant one.
    pub fn presession_cookie_name(&self) -> &'static str {
        if self.security.secure_cookies {
            "__Host-mhtr-presession"
        } else {
            "mhtr-presession"
        }
    }

    /// The known-device cookie (see `auth::throttle`).
    pub fn device_cookie_name(&self) -> &'static str {
        if self.security.secure_cookies {
            "__Host-mhtr-device"
        } else {
            "mhtr-device"
        }
    }

    /// The page someone was going to when they were sent to sign in (see
    /// `web::return_path::AfterSignIn`).
    pub fn after_sign_in_cookie_name(&self) -> &'static str {
        if self.security.secure_cookies {
            "__Host-mhtr-after-sign-in"
        } else {
            "mhtr-after-sign-in"
        }
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.security.secure_cookies {
            "__Host-mhtr-session"
        } else {
            "mhtr-session"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_defaults_parse() {
        let s = Settings::from_toml("").unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert_eq!(s.session_cookie_name(), "__Host-mhtr-session");
    }

    #[test]
    fn report_targets_are_read_and_checked() {
        let s = Settings::from_toml("").unwrap();
        let t = s.reports.targets["rate_completed"];
        assert_eq!((t.target, t.amber_within), (0.6, 0.1));
        let s = Settings::from_toml(
            "[reports.targets]\nwait_assessment_p90 = { target = 28, amber_within = 7 }",
        )
        .unwrap();
        assert_eq!(s.reports.targets["wait_assessment_p90"].target, 28.0);
        let err =
            Settings::from_toml("[reports.targets]\ncompletion = { target = 0.6 }").unwrap_err();
        assert!(
            err.to_string().contains("reports.targets.completion"),
            "{err}"
        );
        assert!(
            Settings::from_toml("[reports.targets]\nrate_dna = { target = 0.1, amber = 1 }")
                .is_err()
        );
        assert!(
            Settings::from_toml(
                "[reports.targets]\nrate_dna = { target = 0.1, amber_within = -1 }"
            )
            .is_err()
        );
    }

    #[test]
    fn the_retention_policy_is_read_and_checked() {
        let s = Settings::from_toml("").unwrap();
        assert_eq!(s.retention, RetentionSettings::default());
        let s = Settings::from_toml("[retention]\nclosed_after_treatment_years = 8").unwrap();
        assert_eq!(s.retention.closed_after_treatment_years, 8);
        assert_eq!(s.retention.ended_without_treatment_years, 2);
        let err =
            Settings::from_toml("[retention]\nended_without_treatment_years = 0").unwrap_err();
        assert!(
            err.to_string()
                .contains("retention.ended_without_treatment_years must be a whole number of years from 1 to 100"),
            "{err}"
        );
        assert!(Settings::from_toml("[retention]\nmax_retain_years = 11").is_err());
        assert!(Settings::from_toml("[retention]\nreview_years = 3").is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Settings::from_toml("[server]\nbnid = \"x\"").is_err());
    }

    #[test]
    fn unsupported_database_urls_are_refused_at_load() {
        let err = Settings::from_toml("[database]\nurl = \"mysql://x\"").unwrap_err();
        assert!(err.to_string().contains("unsupported database URL"));
    }

    #[test]
    fn database_passwords_never_reach_debug_output() {
        let s =
            Settings::from_toml("[database]\nurl = \"postgres://u:hunter2hunter2@h/db\"").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn smtp_passwords_never_reach_debug_output() {
        let s = Settings::from_toml("[email.smtp]\npassword = \"hunter2hunter2\"").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn a_from_address_that_is_not_an_address_is_refused() {
        assert!(Settings::from_toml("[email]\nfrom = \"nobody\"").is_err());
    }

    #[test]
    fn origin_drops_any_path() {
        let s =
            Settings::from_toml("[server]\nbase_url = \"https://mhtr.example.org/app/\"").unwrap();
        assert_eq!(s.origin(), "https://mhtr.example.org");
    }
}
