//! The administrators' import page: the same import as `mhtr-pathway import`, from a browser.
//!
//! 1. `GET /admin/import` offers the shipped mappings (the `*.toml` files of
//!    `import.mappings_dir`, chosen by name: no path can be given) and a file input.
//! 2. `POST /admin/import` (multipart) stores the files in a new folder with a random name under
//!    `import.staging_dir` (never a name the browser sent), plans them exactly as the CLI dry
//!    run does and shows the reconciliation report with its checksum.
//! 3. `POST /admin/import/run` plans the staged files again and applies the plan only if its
//!    checksum is the dry run's (the CLI's `--checksum`), in the same all-or-nothing batches,
//!    audited, as the signed-in administrator; then shows the result.
//!
//! Each staged upload belongs to the administrator who sent it. Its files are removed once
//! imported; anything left is removed a day later, when the next upload is staged.

use std::path::{Path, PathBuf};

use actix_multipart::Multipart;
use actix_web::{HttpResponse, http::header, web};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::{Input, Mapping, Report};
use crate::auth::guard::{CSRF_FIELD, CurrentUser};
use crate::error::{AppError, FieldErrors};
use crate::settings::ImportSettings;
use crate::state::State;
use crate::web as page;

const PATH: &str = "/admin/import";
/// Rows listed per file on the page; the CSV download has them all.
const NOTES_SHOWN: usize = 100;
/// Staged uploads older than this are removed.
const STAGING_HOURS: i64 = 24;

/// A shipped mapping as the form offers it.
#[derive(Debug, Clone, Serialize)]
pub struct MappingChoice {
    pub value: String,
    pub text: String,
    pub hint: String,
}

/// A mapping name is a file stem made of these characters only, so it can never name a path.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The mappings in `import.mappings_dir`, by name. One that does not parse is still listed
/// (with its problem as the hint), so choosing it says why rather than hiding it.
pub fn mapping_choices(settings: &ImportSettings) -> Vec<MappingChoice> {
    let Ok(entries) = std::fs::read_dir(&settings.mappings_dir) else {
        return Vec::new();
    };
    let mut out: Vec<MappingChoice> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("toml") {
                return None;
            }
            let name = path.file_stem()?.to_str()?.to_owned();
            if !valid_name(&name) {
                return None;
            }
            // The native format (this service's own export) is for the command line.
            if std::fs::read_to_string(&path).is_ok_and(|t| super::native::is_native(&t)) {
                return None;
            }
            let hint = match Mapping::load(&path) {
                Ok(m) if m.description.is_empty() => format!("Files: {}", file_names(&m)),
                Ok(m) => format!("{}. Files: {}", m.description, file_names(&m)),
                Err(e) => format!("This mapping cannot be used: {e}"),
            };
            Some(MappingChoice {
                value: name.clone(),
                text: name,
                hint,
            })
        })
        .collect();
    out.sort_by(|a, b| a.value.cmp(&b.value));
    out
}

/// The files a mapping reads, each once (one file may feed several tables).
fn file_names(m: &Mapping) -> String {
    let mut names: Vec<&str> = Vec::new();
    for f in &m.files {
        if !names.contains(&f.file_name.as_str()) {
            names.push(&f.file_name);
        }
    }
    names.join(", ")
}

/// Loads a shipped mapping by name; only a name the page listed is accepted.
fn load_mapping(settings: &ImportSettings, name: &str) -> Result<Mapping, String> {
    if !valid_name(name) || !mapping_choices(settings).iter().any(|c| c.value == name) {
        return Err("Choose one of the mappings listed".into());
    }
    Mapping::load(&Path::new(&settings.mappings_dir).join(format!("{name}.toml")))
}

// ---------------------------------------------------------------------------- staging

#[derive(Debug, Serialize, Deserialize)]
struct StagedFile {
    /// The name the file was sent with: matched against the mapping and shown, never a path.
    name: String,
    /// Its name in the staging folder.
    stored: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    user_id: String,
    mapping: String,
    files: Vec<StagedFile>,
}

/// A staging folder id is one we made: URL-safe base64 of 18 random bytes.
fn valid_upload_id(id: &str) -> bool {
    id.len() == 24
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn staging_path(settings: &ImportSettings, id: &str) -> PathBuf {
    Path::new(&settings.staging_dir).join(id)
}

fn io_error(what: &str, e: std::io::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("import staging: {what}: {e}"))
}

/// Removes staged uploads older than a day.
fn sweep(settings: &ImportSettings) {
    let Ok(entries) = std::fs::read_dir(&settings.staging_dir) else {
        return;
    };
    let limit = std::time::Duration::from_secs(STAGING_HOURS as u64 * 3600);
    for e in entries.filter_map(Result::ok) {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > limit);
        let name = e.file_name();
        if old && name.to_str().is_some_and(valid_upload_id) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Writes the upload to a new staging folder and returns its id.
fn stage(
    settings: &ImportSettings,
    user_id: &str,
    mapping: &str,
    inputs: &[Input],
) -> Result<String, AppError> {
    sweep(settings);
    let id = crate::ids::random_token(18);
    let dir = staging_path(settings, &id);
    // Only the service's own user may read what was uploaded.
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| io_error("create folder", e))?;
    let mut files = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let stored = format!("{}.csv", i + 1);
        std::fs::write(dir.join(&stored), &input.bytes).map_err(|e| io_error("write file", e))?;
        files.push(StagedFile {
            name: input.name.clone(),
            stored,
        });
    }
    let meta = Meta {
        user_id: user_id.to_owned(),
        mapping: mapping.to_owned(),
        files,
    };
    let json = serde_json::to_vec(&meta).map_err(|e| AppError::Internal(e.into()))?;
    std::fs::write(dir.join("upload.json"), json).map_err(|e| io_error("write upload", e))?;
    Ok(id)
}

/// The staged upload `id` of this administrator: its mapping name and files. Anyone else's,
/// or one that has gone, is not found.
fn unstage(
    settings: &ImportSettings,
    user_id: &str,
    id: &str,
) -> Result<(Meta, Vec<Input>), AppError> {
    if !valid_upload_id(id) {
        return Err(AppError::NotFound);
    }
    let dir = staging_path(settings, id);
    let meta: Meta = std::fs::read(dir.join("upload.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(AppError::NotFound)?;
    if meta.user_id != user_id {
        return Err(AppError::NotFound);
    }
    let mut inputs = Vec::with_capacity(meta.files.len());
    for f in &meta.files {
        let bytes = std::fs::read(dir.join(&f.stored)).map_err(|_| AppError::NotFound)?;
        inputs.push(Input {
            name: f.name.clone(),
            bytes,
        });
    }
    Ok((meta, inputs))
}

fn save_report(settings: &ImportSettings, id: &str, report: &Report) -> Result<(), AppError> {
    std::fs::write(
        staging_path(settings, id).join("report.csv"),
        report.to_csv(),
    )
    .map_err(|e| io_error("write report", e))
}

// ---------------------------------------------------------------------------- pages

#[derive(Debug, Default, Serialize)]
struct FormValues {
    mapping: String,
}

async fn form_page(
    state: &State,
    user: &CurrentUser,
    values: FormValues,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let settings = &state.settings.import;
    let mut ctx = tera::Context::new();
    ctx.insert("mappings", &mapping_choices(settings));
    ctx.insert("values", &values);
    ctx.insert("max_file_mib", &settings.max_file_mib);
    ctx.insert("max_total_mib", &settings.max_total_mib);
    if let Some(errors) = errors {
        page::insert_errors(&mut ctx, errors);
    }
    page::render(state, user, PATH, "admin/import.html", ctx).await
}

pub async fn form(state: State, user: CurrentUser) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    form_page(&state, &user, FormValues::default(), None).await
}

/// What the browser sent: the mapping's name and the files, each within the limits.
struct Upload {
    mapping: String,
    inputs: Vec<Input>,
}

/// Reads the multipart body. Files go to memory only up to `import.max_file_mib` each and
/// `import.max_total_mib` in all; past either, the upload is refused with a message.
async fn read_upload(
    mut body: Multipart,
    settings: &ImportSettings,
) -> Result<Upload, (Upload, FieldErrors)> {
    let mut up = Upload {
        mapping: String::new(),
        inputs: Vec::new(),
    };
    let mut total = 0usize;
    let refuse = |up: Upload, field: &str, msg: String| Err((up, FieldErrors::single(field, msg)));
    while let Some(part) = body.next().await {
        let mut part = match part {
            Ok(p) => p,
            Err(e) => {
                return refuse(
                    up,
                    "files",
                    format!("The upload could not be read ({e}). Try again"),
                );
            }
        };
        let name = part.name().unwrap_or("").to_owned();
        let filename = part
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        match (name.as_str(), filename) {
            (CSRF_FIELD, None) => {
                // Checked by the guard; read past it.
                let _ = part.bytes(1024).await;
            }
            ("mapping", None) => match part.bytes(256).await {
                Ok(Ok(b)) => up.mapping = String::from_utf8_lossy(&b).trim().to_owned(),
                _ => return refuse(up, "mapping", "Choose one of the mappings listed".into()),
            },
            ("files", Some(filename)) => {
                // The base name only: some browsers send a whole path.
                let filename = filename
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                let left = settings.max_total_bytes().saturating_sub(total);
                let limit = settings.max_file_bytes().min(left);
                let bytes = match part.bytes(limit).await {
                    Ok(Ok(b)) => b,
                    Ok(Err(e)) => {
                        return refuse(
                            up,
                            "files",
                            format!("The upload could not be read ({e}). Try again"),
                        );
                    }
                    Err(_) if limit < settings.max_file_bytes() => {
                        return refuse(
                            up,
                            "files",
                            format!(
                                "The files must be smaller than {} MiB in all",
                                settings.max_total_mib
                            ),
                        );
                    }
                    Err(_) => {
                        return refuse(
                            up,
                            "files",
                            format!(
                                "{} must be smaller than {} MiB",
                                super::mapping::printable(&filename),
                                settings.max_file_mib
                            ),
                        );
                    }
                };
                if filename.is_empty() && bytes.is_empty() {
                    // An empty file input sends one nameless, empty part.
                    continue;
                }
                total += bytes.len();
                if !filename.to_ascii_lowercase().ends_with(".csv") || bytes.contains(&0) {
                    return refuse(
                        up,
                        "files",
                        format!(
                            "{} is not a CSV file: choose the CSV files the mapping names",
                            super::mapping::printable(&filename)
                        ),
                    );
                }
                if up.inputs.iter().any(|i| i.name == filename) {
                    return refuse(
                        up,
                        "files",
                        format!(
                            "{} was chosen twice: choose each file once",
                            super::mapping::printable(&filename)
                        ),
                    );
                }
                up.inputs.push(Input {
                    name: filename,
                    bytes: bytes.to_vec(),
                });
            }
            _ => {
                return refuse(
                    up,
                    "files",
                    "The upload had something other than a mapping and CSV files".into(),
                );
            }
        }
    }
    let mut errors = FieldErrors::new();
    if up.mapping.is_empty() {
        errors.add("mapping", "Choose the mapping the files follow");
    }
    if up.inputs.is_empty() {
        errors.add("files", "Choose one or more CSV files");
    }
    if errors.is_empty() {
        Ok(up)
    } else {
        Err((up, errors))
    }
}

/// Step 1: stage the files and show the dry run's reconciliation.
pub async fn upload(
    state: State,
    user: CurrentUser,
    body: Multipart,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let settings = state.settings.import.clone();
    let up = match read_upload(body, &settings).await {
        Ok(up) => up,
        Err((up, errors)) => {
            let values = FormValues {
                mapping: up.mapping,
            };
            return form_page(&state, &user, values, Some(&errors)).await;
        }
    };
    let mapping = match load_mapping(&settings, &up.mapping) {
        Ok(m) => m,
        Err(e) => {
            let values = FormValues {
                mapping: up.mapping,
            };
            return form_page(
                &state,
                &user,
                values,
                Some(&FieldErrors::single("mapping", e)),
            )
            .await;
        }
    };
    let name = up.mapping.clone();
    let user_id = user.user.id.clone();
    let policy = state.settings.retention;
    let planned = state
        .db
        .run(move |c| {
            let (_, report) = match super::plan(c, &mapping, &name, &up.inputs, &policy) {
                Ok(p) => p,
                // A file the mapping does not describe or cannot read.
                Err(AppError::Config(msg)) => return Ok(Err((name, msg))),
                Err(e) => return Err(e),
            };
            let id = stage(&settings, &user_id, &name, &up.inputs)?;
            save_report(&settings, &id, &report)?;
            Ok(Ok((id, report)))
        })
        .await?;
    match planned {
        Ok((id, report)) => report_page(&state, &user, &id, &report).await,
        Err((mapping, msg)) => {
            let errors = FieldErrors::single("files", crate::web::format::capitalise(&msg));
            form_page(&state, &user, FormValues { mapping }, Some(&errors)).await
        }
    }
}

async fn report_page(
    state: &State,
    user: &CurrentUser,
    id: &str,
    report: &Report,
) -> Result<HttpResponse, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("r", &report.view(NOTES_SHOWN));
    ctx.insert("upload", id);
    ctx.insert("notes_shown", &NOTES_SHOWN);
    let nothing_new = report.total(|f| f.imported + f.merged) == 0;
    ctx.insert("nothing_new", &nothing_new);
    ctx.insert(
        "unmapped",
        &report
            .refuse_unmapped()
            .err()
            .map(|m| crate::web::format::capitalise(&m)),
    );
    page::render(state, user, PATH, "admin/import_report.html", ctx).await
}

#[derive(Debug, Deserialize)]
pub struct RunForm {
    #[serde(default)]
    upload: String,
    #[serde(default)]
    checksum: String,
}

/// Step 2: the real run, only if the plan is still exactly the one the dry run showed.
pub async fn run(
    state: State,
    user: CurrentUser,
    form: web::Form<RunForm>,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let form = form.into_inner();
    let settings = state.settings.import.clone();
    let importer = super::apply::Importer {
        actor: user.actor(),
        user_id: user.user.id.clone(),
        name: user.user.name.clone(),
    };
    let (meta, inputs) = match unstage(&settings, &user.user.id, &form.upload) {
        Ok(x) => x,
        Err(AppError::NotFound) => {
            let errors = FieldErrors::single(
                "files",
                "That upload has already been imported or has expired: upload the files again",
            );
            return form_page(&state, &user, FormValues::default(), Some(&errors)).await;
        }
        Err(e) => return Err(e),
    };
    let mapping = match load_mapping(&settings, &meta.mapping) {
        Ok(m) => m,
        Err(e) => {
            let values = FormValues {
                mapping: meta.mapping,
            };
            return form_page(
                &state,
                &user,
                values,
                Some(&FieldErrors::single("mapping", e)),
            )
            .await;
        }
    };
    let id = form.upload.clone();
    let name = meta.mapping.clone();
    let policy = state.settings.retention;
    let applied = state
        .db
        .run(move |c| {
            let (plan, mut report) = match super::plan(c, &mapping, &name, &inputs, &policy) {
                Ok(p) => p,
                Err(AppError::Config(msg)) => return Ok(Err(msg)),
                Err(e) => return Err(e),
            };
            let opts = super::apply::ApplyOptions::default();
            match super::apply::apply(
                c,
                &plan,
                &mut report,
                &importer,
                Some(&form.checksum),
                &opts,
            ) {
                Ok(()) => {}
                Err(AppError::Conflict(msg)) => return Ok(Err(msg)),
                Err(e) => return Err(e),
            }
            save_report(&settings, &id, &report)?;
            // The data is in the database now; the uploaded copies go.
            for f in &meta.files {
                let _ = std::fs::remove_file(staging_path(&settings, &id).join(&f.stored));
            }
            Ok(Ok(report))
        })
        .await?;
    match applied {
        Ok(report) => {
            let mut ctx = tera::Context::new();
            ctx.insert("r", &report.view(NOTES_SHOWN));
            ctx.insert("upload", &form.upload);
            ctx.insert("notes_shown", &NOTES_SHOWN);
            ctx.insert("imported", &report.total(|f| f.imported + f.merged));
            page::render(&state, &user, PATH, "admin/import_result.html", ctx).await
        }
        Err(msg) => {
            let errors = FieldErrors::single("files", crate::web::format::capitalise(&msg));
            let values = FormValues {
                mapping: meta_mapping_or_empty(&state.settings.import, &user.user.id, &form.upload),
            };
            form_page(&state, &user, values, Some(&errors)).await
        }
    }
}

fn meta_mapping_or_empty(settings: &ImportSettings, user_id: &str, id: &str) -> String {
    unstage(settings, user_id, id)
        .map(|(m, _)| m.mapping)
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    upload: String,
}

/// The full reconciliation report of an upload (the latest step: dry run, or import) as CSV.
pub async fn report_csv(
    state: State,
    user: CurrentUser,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    crate::users::service::service_wide_only(&user)?;
    let settings = &state.settings.import;
    let id = query.into_inner().upload;
    if !valid_upload_id(&id) {
        return Err(AppError::NotFound);
    }
    let dir = staging_path(settings, &id);
    let meta: Meta = std::fs::read(dir.join("upload.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(AppError::NotFound)?;
    if meta.user_id != user.user.id {
        return Err(AppError::NotFound);
    }
    let csv = std::fs::read(dir.join("report.csv")).map_err(|_| AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"import-reconciliation-{}.csv\"",
                meta.mapping
            ),
        ))
        .body(csv))
}
