//! The command line: `serve`, `migrate`, `user …`, `demo`, `totp`, `audit verify`, `backup`,
//! `restore`.

use std::io::Read;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::audit::Actor;
use crate::auth::password::{Hasher, Password, service_context_words};
use crate::db;
use crate::error::AppError;
use crate::settings::{Environment, Settings};
use crate::users::forms::{self, Email, UserInput};
use crate::users::model::{self, AdminScope, Role, VettingLevel};

#[derive(Debug, Parser)]
#[command(
    name = "mhtr-pathway",
    version,
    about = "Referrals, treatment sessions and uptake reporting for Mental Health Treatment Requirements",
    long_about = "Referrals, treatment sessions and uptake reporting for Mental Health Treatment Requirements.\n\n\
        Settings come from config/default.toml (built in), then the file given with --config (or\n\
        APP_CONFIG_FILE), then APP_* environment variables, e.g. APP_DATABASE__URL=postgres://user@host/db.\n\n\
        Try it:  mhtr-pathway serve --demo"
)]
pub struct Cli {
    /// A TOML settings file layered over the built-in defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web service (runs pending migrations first).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080 (overrides server.bind).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Load the demo data first and print how to sign in.
        #[arg(long)]
        demo: bool,
    },
    /// Run pending database migrations and exit.
    Migrate,
    /// Ask the instance listening on server.bind whether it is ready (`/readyz`), or with
    /// --live only alive (`/healthz`); exits 0 if so, 1 if not. For a container's health
    /// check, as the image holds no other HTTP client.
    Check {
        /// Ask whether it is alive rather than ready.
        #[arg(long)]
        live: bool,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Load the demo areas, organisations and one user per role, and print their sign-in details.
    Demo,
    /// Print the current 6-digit code for an authenticator key (for trying the demo without an app).
    Totp {
        /// The base32 key shown when setting up the authenticator.
        key: String,
    },
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import CSV exports of a legacy case system through a mapping file. Run with --dry-run
    /// first: it prints the reconciliation report (and writes it as CSV and HTML with
    /// --report-dir) and the checksum the real run must match (--checksum).
    Import {
        /// The mapping file, e.g. config/import/legacy_casebook.toml.
        #[arg(long, value_name = "FILE")]
        mapping: PathBuf,
        /// Check and reconcile only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write reconciliation.csv and reconciliation.html here.
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,
        /// Refuse to import unless the accepted content has this checksum (from the dry run).
        #[arg(long, value_name = "SHA256")]
        checksum: Option<String>,
        /// The email of the administrator doing the import (recorded on imported records).
        #[arg(long = "as", value_name = "EMAIL")]
        as_user: Option<String>,
        /// Source rows per transaction.
        #[arg(long, default_value_t = 20_000)]
        batch_rows: usize,
        /// The CSV files of the export, named as in the mapping.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Write a synthetic CaseBook export of about 5 x PEOPLE rows (for the import benchmark).
    #[command(hide = true)]
    ImportSample {
        #[arg(long)]
        people: usize,
        /// The email of an existing user who holds the appointments.
        #[arg(long)]
        practitioner: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Take a consistent backup of the live SQLite database (safe while `serve` runs).
    /// PostgreSQL is backed up with pg_dump -Fc (see the README).
    Backup {
        /// The backup file to write; it must not exist yet.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write everything the service holds (without password hashes, authenticator secrets or
    /// tokens) as CSV and JSON, one file per table, with manifest.json. Recorded in the audit
    /// log as a disclosure. Columns are described in docs/export.md.
    Export {
        /// A new or empty directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Why the data is being exported (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Put a SQLite backup back in place of the configured database. The backup is checked
    /// with PRAGMA integrity_check first; stop the service before restoring.
    Restore {
        /// A file written by `mhtr-pathway backup`.
        file: PathBuf,
        /// Restore even though the database looks in use (its -wal or -shm file exists),
        /// for files left behind by a crash. Never while the service is running.
        #[arg(long)]
        force: bool,
    },
    /// Fill the database with synthetic people, referrals, sessions and measures across the
    /// nine demo areas over five years, with their reporting facts (loads the demo data
    /// first if the areas are missing). For test and demo databases only.
    Synth {
        /// How many referrals to make.
        #[arg(long, default_value_t = 2_000)]
        referrals: usize,
        /// Seed for the generator: the same seed makes the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How many years back from today to spread them over.
        #[arg(long, default_value_t = 5)]
        years: i32,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from standard input, so it stays out of shell
    /// history: echo -n 'four random words here' | mhtr-pathway user add ... --password-stdin
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// probation_officer, assistant_psychologist, clinical_lead, councillor or admin.
        #[arg(long)]
        role: String,
        /// Organisation name (see the demo data, or created with --create-org).
        #[arg(long)]
        org: String,
        /// Create the organisation if it does not exist, of this kind (probation,
        /// liaison_diversion, mhtr_provider, council, police, other).
        #[arg(long, value_name = "KIND")]
        create_org: Option<String>,
        /// Area name or code; repeat for several. Unknown areas are created when --create-areas is given.
        #[arg(long = "area", required = true)]
        areas: Vec<String>,
        #[arg(long)]
        create_areas: bool,
        /// HCPC registration number (required for clinical leads), e.g. PYL012345.
        #[arg(long)]
        hcpc: Option<String>,
        /// nppv1, nppv2, nppv3, enhanced_dbs or police_officer.
        #[arg(long)]
        vetting_level: String,
        /// When the vetting expires, YYYY-MM-DD. Nobody signs in with expired vetting.
        #[arg(long, value_name = "DATE")]
        vetting_expires: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Make this administrator service-wide: every organisation and area. Only the
        /// command line can; administrators added on the pages manage their own
        /// organisation and areas.
        #[arg(long)]
        service_wide: bool,
    },
    /// Make an administrator service-wide (or, with --revoke, scoped to their own
    /// organisation and areas again). Their sessions end.
    ServiceWide {
        #[arg(long)]
        email: String,
        #[arg(long)]
        revoke: bool,
    },
    /// List users.
    List,
    /// Disable a user and end their sessions.
    Disable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain and that it ends at its head; fails if any entry was
    /// altered or removed, the newest ones too.
    Verify {
        /// Also check the log still holds the head recorded in this export's manifest.json
        /// (or another checkpoint kept apart from the database).
        #[arg(long, value_name = "MANIFEST")]
        checkpoint: Option<PathBuf>,
    },
}

/// The address `check` asks: the listening address, with a wildcard host asked on the
/// loopback address.
pub fn check_url(bind: &str, live: bool) -> String {
    let (host, port) = bind.rsplit_once(':').unwrap_or((bind, "8080"));
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "[::]" => "[::1]",
        h => h,
    };
    let path = if live { "healthz" } else { "readyz" };
    format!("http://{host}:{port}/{path}")
}

pub async fn run(cli: Cli) -> Result<(), AppError> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(today) = settings.clock.today() {
        crate::clock::pretend_today(today);
        log::warn!(
            "clock.today is set: the service runs as if today were {today} (a rehearsal, not live running)"
        );
    }
    match cli.command {
        Command::Serve { bind, demo } => {
            if let Some(b) = bind {
                settings.server.bind = b;
            }
            if demo {
                let text = load_demo(&settings).await?;
                println!("{text}");
                // The demo shows reminders going to the log, unless a Notify service is set.
                if settings.reminders.transport == crate::settings::ReminderTransport::Off {
                    let keep = settings.reminders.clone();
                    settings.reminders = crate::settings::ReminderSettings {
                        notify: keep.notify,
                        ..crate::demo::referrals::demo_reminders()
                    };
                }
            }
            let app = crate::startup::Application::build(settings.clone()).await?;
            log::info!(
                "listening on {} ({} database)",
                settings.server.bind,
                settings.database_url().backend_name()
            );
            println!(
                "MHTR Pathway is running: open {}/sign-in  (Ctrl+C stops it)",
                settings.server.base_url.trim_end_matches('/')
            );
            app.run_until_stopped()
                .await
                .map_err(|e| AppError::Internal(e.into()))
        }
        Command::Check { live } => {
            let url = check_url(&settings.server.bind, live);
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .map_err(|e| AppError::Internal(e.into()))?;
            match client.get(&url).send().await {
                Ok(res) if res.status().is_success() => {
                    println!("{url}: {}", res.status());
                    Ok(())
                }
                Ok(res) => Err(AppError::Unavailable(format!(
                    "{url}: {} {}",
                    res.status(),
                    res.text().await.unwrap_or_default()
                ))),
                Err(e) => Err(AppError::Unavailable(format!("{url}: {e}"))),
            }
        }
        Command::Migrate => {
            let url = settings.database_url();
            let applied = blocking(move || {
                let mut c = db::connect(&url)?;
                crate::startup::migrate(&mut c)
            })
            .await?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::Demo => {
            let text = load_demo(&settings).await?;
            println!("{text}");
            Ok(())
        }
        Command::Totp { key } => {
            let key: String = key
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase();
            println!("{}", crate::auth::totp::code_now(&key)?);
            Ok(())
        }
        Command::Audit(AuditCommand::Verify { checkpoint }) => {
            let url = settings.database_url();
            let point = match checkpoint {
                Some(path) => Some(read_checkpoint(&path)?),
                None => None,
            };
            let result = blocking(move || {
                let mut c = db::connect(&url)?;
                let chain = crate::audit::verify(&mut c)?;
                let point = match point {
                    Some((seq, hash)) => {
                        Some((seq, crate::audit::verify_checkpoint(&mut c, seq, &hash)?))
                    }
                    None => None,
                };
                Ok((chain, point))
            })
            .await?;
            match result {
                (Err(seq), _) => Err(AppError::Config(format!(
                    "audit log broken at entry {seq}: it was altered, removed or re-ordered"
                ))),
                (Ok(_), Some((seq, Err(_)))) => Err(AppError::Config(format!(
                    "audit log broken: the checkpoint's entry {seq} is missing or altered (entries up to it were removed or changed since)"
                ))),
                (Ok(n), Some((seq, Ok(())))) => {
                    println!(
                        "audit log intact: {n} entries verified; it still holds the checkpoint's entry {seq}"
                    );
                    Ok(())
                }
                (Ok(n), None) => {
                    println!("audit log intact: {n} entries verified");
                    Ok(())
                }
            }
        }
        Command::User(cmd) => user_command(settings, cmd).await,
        Command::ImportSample {
            people,
            practitioner,
            out,
        } => {
            let (inputs, expected) = crate::import::generate::casebook(people, &practitioner, 2026);
            std::fs::create_dir_all(&out)
                .map_err(|e| AppError::Config(format!("cannot create {}: {e}", out.display())))?;
            let mut rows = 0;
            for i in inputs {
                rows += i.bytes.iter().filter(|b| **b == b'\n').count() - 1;
                std::fs::write(out.join(&i.name), &i.bytes)
                    .map_err(|e| AppError::Config(format!("cannot write {}: {e}", i.name)))?;
            }
            println!(
                "{rows} source rows written to {}; expect {} people, {} referrals and {} sessions imported",
                out.display(),
                expected.people,
                expected.cases,
                expected.sessions
            );
            Ok(())
        }
        Command::Import {
            mapping,
            dry_run,
            report_dir,
            checksum,
            as_user,
            batch_rows,
            files,
        } => {
            let url = settings.database_url();
            let policy = settings.retention;
            blocking(move || {
                import_command(
                    &url, &policy, &mapping, dry_run, report_dir, checksum, as_user, batch_rows,
                    &files,
                )
            })
            .await
        }
        Command::Backup { out } => {
            let url = settings.database_url();
            let summary =
                blocking(move || db::backup::backup(&url, &out, &Actor::system("command line")))
                    .await?;
            println!(
                "backup written to {} ({} bytes, {} audit entries, integrity check ok)",
                summary.path.display(),
                summary.bytes,
                summary.audit_entries
            );
            Ok(())
        }
        Command::Export { out, reason } => {
            let url = settings.database_url();
            let summary = blocking(move || {
                let mut c = db::connect(&url)?;
                crate::export::export(&mut c, &out, &reason, &Actor::system("command line"))
            })
            .await?;
            let rows: usize = summary.tables.iter().map(|(_, n)| n).sum();
            println!(
                "exported {rows} rows from {} tables to {} (see manifest.json)",
                summary.tables.len(),
                summary.dir.display()
            );
            Ok(())
        }
        Command::Restore { file, force } => {
            let url = settings.database_url();
            let summary = blocking(move || {
                db::backup::restore(&url, &file, force, &Actor::system("command line"))
            })
            .await?;
            println!(
                "restored {} ({} bytes, {} audit entries); run `mhtr-pathway audit verify` to check the log",
                summary.path.display(),
                summary.bytes,
                summary.audit_entries
            );
            Ok(())
        }
        Command::Synth {
            referrals,
            seed,
            years,
        } => {
            if settings.environment == Environment::Production {
                return Err(AppError::Config(
                    "synthetic data is refused in production".into(),
                ));
            }
            let url = settings.database_url();
            let mut c = blocking(move || {
                let mut c = db::connect(&url)?;
                crate::startup::migrate(&mut c)?;
                let has_areas = crate::areas::find_area(&mut c, crate::demo::AREAS[0].0)?.is_some();
                Ok((c, has_areas))
            })
            .await?;
            if !c.1 {
                let text = load_demo(&settings).await?;
                println!("{text}");
            }
            let opts = crate::demo::synth::Options {
                referrals,
                seed,
                years: years.max(1),
                ..Default::default()
            };
            let summary = blocking(move || {
                crate::demo::synth::run(&mut c.0, &opts, |s| {
                    eprintln!(
                        "  {:>9} / {referrals} referrals, {:>10} sessions, {:>10} history rows, {:>6.1} s",
                        s.referrals, s.sessions, s.history, s.seconds
                    );
                })
            })
            .await?;
            println!(
                "Made {} referrals with {} status changes, {} sessions, {} outcome measures and {} signpostings in {:.1} s.",
                summary.referrals,
                summary.history,
                summary.sessions,
                summary.measures,
                summary.signpostings,
                summary.seconds
            );
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn import_command(
    url: &db::DatabaseUrl,
    policy: &crate::settings::RetentionSettings,
    mapping_path: &std::path::Path,
    dry_run: bool,
    report_dir: Option<PathBuf>,
    checksum: Option<String>,
    as_user: Option<String>,
    batch_rows: usize,
    files: &[PathBuf],
) -> Result<(), AppError> {
    use crate::import;
    let text = std::fs::read_to_string(mapping_path).map_err(|e| {
        AppError::Config(format!(
            "cannot read mapping file {}: {e}",
            mapping_path.display()
        ))
    })?;
    if import::native::is_native(&text) {
        return native_import_command(
            url,
            mapping_path,
            dry_run,
            report_dir,
            checksum,
            as_user,
            files,
        );
    }
    let started = std::time::Instant::now();
    let mapping = import::Mapping::load(mapping_path).map_err(AppError::Config)?;
    let name = mapping_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let inputs = files
        .iter()
        .map(|f| import::Input::read(f))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: usize = inputs
        .iter()
        .map(|i| i.bytes.iter().filter(|b| **b == b'\n').count())
        .sum();
    let mut c = db::connect(url)?;
    crate::startup::migrate(&mut c)?;
    let importer = if dry_run {
        None
    } else {
        let email = as_user.ok_or_else(|| {
            AppError::Config("--as EMAIL names the administrator doing the import".into())
        })?;
        let user = model::by_email(&mut c, &email.to_lowercase())?
            .filter(|u| u.role == Role::Admin && !u.is_disabled())
            .ok_or_else(|| AppError::Config(format!("{email} is not an active administrator")))?;
        Some(import::apply::Importer {
            actor: Actor::user(&user.id, &user.email, None),
            user_id: user.id,
            name: user.name,
        })
    };
    let (plan, mut report) = import::plan(&mut c, &mapping, &name, &inputs, policy)?;
    let planned = started.elapsed();
    if let Some(importer) = importer {
        let opts = import::apply::ApplyOptions {
            batch_rows,
            progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            ..import::apply::ApplyOptions::default()
        };
        import::apply::apply(
            &mut c,
            &plan,
            &mut report,
            &importer,
            checksum.as_deref(),
            &opts,
        )?;
    }
    let total = started.elapsed();
    print!("{}", report.to_text(50));
    if let Some(dir) = report_dir {
        std::fs::create_dir_all(&dir)
            .map_err(|e| AppError::Config(format!("cannot create {}: {e}", dir.display())))?;
        for (file, text) in [
            ("reconciliation.csv", report.to_csv()),
            ("reconciliation.html", report.to_html()),
        ] {
            std::fs::write(dir.join(file), text).map_err(|e| {
                AppError::Config(format!("cannot write {}: {e}", dir.join(file).display()))
            })?;
        }
        println!("Reports written to {}", dir.display());
    }
    let secs = total.as_secs_f64().max(0.001);
    println!(
        "{} source rows in {:.2}s (reconciled in {:.2}s): {:.0} rows/s",
        rows.saturating_sub(inputs.len()),
        secs,
        planned.as_secs_f64(),
        rows.saturating_sub(inputs.len()) as f64 / secs
    );
    Ok(())
}

/// `import` with a `format = "native"` mapping: an export of this service restored verbatim.
/// A folder among the files stands for the mapping's files in it.
fn native_import_command(
    url: &db::DatabaseUrl,
    mapping_path: &std::path::Path,
    dry_run: bool,
    report_dir: Option<PathBuf>,
    checksum: Option<String>,
    as_user: Option<String>,
    files: &[PathBuf],
) -> Result<(), AppError> {
    use crate::import::{self, native};
    let mapping = native::NativeMapping::load(mapping_path).map_err(AppError::Config)?;
    let name = mapping_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut paths = Vec::new();
    for f in files {
        if f.is_dir() {
            // An export made before a later table has no file for it (`export::LATER_TABLES`).
            paths.extend(
                mapping
                    .files
                    .iter()
                    .map(|m| (m, f.join(&m.file_name)))
                    .filter(|(m, path)| {
                        path.exists() || !crate::export::LATER_TABLES.contains(&m.table.as_str())
                    })
                    .map(|(_, path)| path),
            );
        } else {
            paths.push(f.clone());
        }
    }
    let inputs = paths
        .iter()
        .map(|f| import::Input::read(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut c = db::connect(url)?;
    crate::startup::migrate(&mut c)?;
    // The database may be empty (no administrator yet): then the import is the system's.
    let actor = match &as_user {
        None => Actor::system("import (native)"),
        Some(email) => {
            let user = model::by_email(&mut c, &email.to_lowercase())?
                .filter(|u| u.role == Role::Admin && !u.is_disabled())
                .ok_or_else(|| {
                    AppError::Config(format!("{email} is not an active administrator"))
                })?;
            Actor::user(&user.id, &user.email, None)
        }
    };
    let (plan, mut report) = native::plan(&mut c, &mapping, &name, &inputs)?;
    if !dry_run {
        native::apply(&mut c, &plan, &mut report, &actor, checksum.as_deref())?;
    }
    print!("{}", report.to_text(50));
    if let Some(dir) = report_dir {
        std::fs::create_dir_all(&dir)
            .map_err(|e| AppError::Config(format!("cannot create {}: {e}", dir.display())))?;
        for (file, text) in [
            ("reconciliation.csv", report.to_csv()),
            ("reconciliation.html", report.to_html()),
        ] {
            std::fs::write(dir.join(file), text).map_err(|e| {
                AppError::Config(format!("cannot write {}: {e}", dir.join(file).display()))
            })?;
        }
        println!("Reports written to {}", dir.display());
    }
    Ok(())
}

/// The audit checkpoint (entry and hash) in an export's manifest.json.
fn read_checkpoint(path: &std::path::Path) -> Result<(i64, String), AppError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::Config(format!("cannot read {}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| AppError::Config(format!("{} is not JSON: {e}", path.display())))?;
    let point = &v["audit_checkpoint"];
    match (point["seq"].as_i64(), point["hash"].as_str()) {
        (Some(seq), Some(hash)) => Ok((seq, hash.to_owned())),
        _ => Err(AppError::Config(format!(
            "{} holds no audit_checkpoint (seq and hash)",
            path.display()
        ))),
    }
}

/// Runs `f` in a write transaction on the user with this email; returns their email.
async fn on_user<T: Send + 'static>(
    url: crate::db::DatabaseUrl,
    email: &str,
    f: impl FnOnce(&mut db::DbConn, &crate::users::model::User) -> Result<T, AppError> + Send + 'static,
) -> Result<String, AppError> {
    let email = Email::parse(email).map_err(AppError::Config)?;
    blocking(move || {
        let mut c = db::connect(&url)?;
        let user = model::by_email(&mut c, email.as_str())?
            .ok_or_else(|| AppError::Config(format!("no user with email {}", email.as_str())))?;
        db::write_tx(&mut c, |c| f(c, &user))?;
        Ok(user.email)
    })
    .await
}

/// A refusal with field messages, as the command line says it.
fn config_error(e: AppError) -> AppError {
    match e {
        AppError::Validation(f) => AppError::Config(
            f.iter()
                .map(|(_, m)| m.to_owned())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => other,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    actix_web::web::block(f)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
}

async fn load_demo(settings: &Settings) -> Result<String, AppError> {
    if settings.environment == Environment::Production {
        return Err(AppError::Config(
            "demo data is refused in production: its passwords are published".into(),
        ));
    }
    let url = settings.database_url();
    let hasher = Hasher::new(&settings.security)?;
    let base = settings.server.base_url.clone();
    blocking(move || {
        let mut c = db::connect(&url)?;
        crate::startup::migrate(&mut c)?;
        let accounts = crate::demo::load(&mut c, &hasher)?;
        Ok(crate::demo::instructions(&base, accounts))
    })
    .await
}

async fn user_command(settings: Settings, cmd: UserCommand) -> Result<(), AppError> {
    let url = settings.database_url();
    match cmd {
        UserCommand::Add {
            email,
            name,
            role,
            org,
            create_org,
            areas,
            create_areas,
            hcpc,
            vetting_level,
            vetting_expires,
            password_stdin: _,
            service_wide,
        } => {
            if service_wide && role != "admin" {
                return Err(AppError::Config(
                    "--service-wide is for administrators (--role admin) only".into(),
                ));
            }
            let mut raw = String::new();
            std::io::stdin()
                .read_to_string(&mut raw)
                .map_err(|e| AppError::Config(format!("cannot read the password: {e}")))?;
            // One trailing newline from `echo` is not part of the password; nothing else is trimmed.
            let raw = raw
                .strip_suffix('\n')
                .map(|r| r.strip_suffix('\r').unwrap_or(r))
                .unwrap_or(&raw)
                .to_owned();
            let email = Email::parse(&email).map_err(AppError::Config)?;
            let role: Role = role.parse().map_err(|_| {
                AppError::Config("--role must be probation_officer, assistant_psychologist, clinical_lead, councillor or admin".into())
            })?;
            let level: VettingLevel = vetting_level.parse().map_err(|_| {
                AppError::Config(
                    "--vetting-level must be nppv1, nppv2, nppv3, enhanced_dbs or police_officer"
                        .into(),
                )
            })?;
            let expires =
                chrono::NaiveDate::parse_from_str(&vetting_expires, "%Y-%m-%d").map_err(|_| {
                    AppError::Config("--vetting-expires must be a date like 2027-03-31".into())
                })?;
            if expires < crate::clock::today() {
                return Err(AppError::Config(
                    "--vetting-expires is in the past: this user could not sign in".into(),
                ));
            }
            let hcpc = match (role, hcpc) {
                (_, Some(h)) => Some(forms::parse_hcpc(&h).map_err(AppError::Config)?),
                (Role::ClinicalLead, None) => {
                    return Err(AppError::Config("clinical leads need --hcpc".into()));
                }
                _ => None,
            };
            let mut context = service_context_words();
            context.extend([name.clone(), email.as_str().to_owned(), org.clone()]);
            context.extend(areas.iter().cloned());
            let password = Password::new_checked(raw, &context).map_err(AppError::Config)?;
            let hasher = Hasher::new(&settings.security)?;
            let hash = hasher.hash_now(&password)?;
            let user = blocking(move || {
                let mut c = db::connect(&url)?;
                crate::startup::migrate(&mut c)?;
                db::write_tx(&mut c, |c| {
                    let org_row = match (crate::areas::find_organisation(c, &org)?, create_org) {
                        (Some(o), _) => o,
                        (None, Some(kind)) => {
                            let kind = kind.parse().map_err(|_| AppError::Config("--create-org must be probation, liaison_diversion, mhtr_provider, council, police or other".into()))?;
                            let id = crate::areas::insert_organisation(c, &org, kind)?;
                            crate::areas::find_organisation(c, &id)?.ok_or(AppError::NotFound)?
                        }
                        (None, None) => return Err(AppError::Config(format!("no organisation called '{org}': add --create-org KIND to create it"))),
                    };
                    let mut area_ids = Vec::new();
                    for a in &areas {
                        let id = match (crate::areas::find_area(c, a)?, create_areas) {
                            (Some(area), _) => area.id,
                            (None, true) => crate::areas::insert_area(c, &a.to_uppercase().replace(' ', "-"), a)?,
                            (None, false) => return Err(AppError::Config(format!("no area called '{a}': add --create-areas to create it"))),
                        };
                        area_ids.push(id);
                    }
                    area_ids.sort();
                    area_ids.dedup();
                    let input = UserInput {
                        name: name.trim().to_owned(),
                        email,
                        role,
                        organisation_id: org_row.id,
                        area_ids,
                        hcpc_number: hcpc,
                        vetting: Some((level, expires)),
                    };
                    let actor = Actor::system("command line");
                    let user = crate::users::service::create(c, &AdminScope::everywhere(), &actor, &input, Some(&hash)).map_err(config_error)?;
                    if service_wide {
                        crate::users::service::set_service_wide(c, &actor, &user.id, true)
                    } else {
                        Ok(user)
                    }
                })
            })
            .await?;
            println!(
                "Added {} ({}). They set up two-factor authentication when they first sign in.",
                user.email,
                user.role.label()
            );
            Ok(())
        }
        UserCommand::List => {
            let rows = blocking(move || {
                let mut c = db::connect(&url)?;
                let (rows, _) = model::page(&mut c, &AdminScope::everywhere(), None, 0, 10_000)?;
                Ok(rows)
            })
            .await?;
            println!(
                "{:<40} {:<28} {:<24} {:<10} VETTING EXPIRES",
                "EMAIL", "NAME", "ROLE", "STATUS"
            );
            for u in rows {
                let status = if u.is_disabled() {
                    "disabled"
                } else {
                    "active"
                };
                let vetting = u
                    .vetting_expires_on
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "none".into());
                println!(
                    "{:<40} {:<28} {:<24} {:<10} {}",
                    u.email,
                    u.name,
                    u.role.label(),
                    status,
                    vetting
                );
            }
            Ok(())
        }
        UserCommand::Disable { email } => {
            let name = on_user(url, &email, |c, user| {
                crate::users::service::disable(
                    c,
                    &AdminScope::everywhere(),
                    &Actor::system("command line"),
                    &user.id,
                )
            })
            .await?;
            println!("Disabled {name}; their sessions and API tokens have ended.");
            Ok(())
        }
        UserCommand::ServiceWide { email, revoke } => {
            let name = on_user(url, &email, move |c, user| {
                crate::users::service::set_service_wide(
                    c,
                    &Actor::system("command line"),
                    &user.id,
                    !revoke,
                )
                .map_err(config_error)
            })
            .await?;
            if revoke {
                println!("{name} now manages their own organisation and areas only.");
            } else {
                println!("{name} is now a service-wide administrator.");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn the_check_asks_the_listening_port_on_loopback_for_a_wildcard() {
        assert_eq!(
            check_url("0.0.0.0:8080", false),
            "http://127.0.0.1:8080/readyz"
        );
        assert_eq!(check_url("[::]:9000", true), "http://[::1]:9000/healthz");
        assert_eq!(
            check_url("10.0.0.5:8080", false),
            "http://10.0.0.5:8080/readyz"
        );
    }
}
