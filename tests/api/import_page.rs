//! The administrators' import page: the shipped CaseBook sample uploaded through `/admin/import`
//! reconciles to exactly the figures of the CLI's dry run, imports once as the signed-in
//! administrator, and a second upload of the same files has nothing new; bad uploads are
//! refused with the GOV.UK error summary and write nothing; only administrators get the page.

use diesel::prelude::*;
use mhtr_pathway::db::DbConn;
use mhtr_pathway::db::schema::{audit_events, import_rows, people, referrals, users};
use mhtr_pathway::import::{self, Input, Mapping, Report};
use mhtr_pathway::users::model::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, TestApp, error_summary, input_value, spawn_app_with};

const AP_EMAIL: &str = "tom.walker@turningpoint.demo.example";
pub const BOUNDARY: &str = "----mhtrTestBoundary7MA4YWxkTrZu0gW";
const SAMPLE: [&str; 3] = ["cb_clients.csv", "cb_cases.csv", "cb_appointments.csv"];

fn sample() -> Vec<Input> {
    SAMPLE
        .iter()
        .map(|n| {
            Input::read(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("config/import/sample")
                    .join(n),
            )
            .expect("sample file")
        })
        .collect()
}

/// A file's name and content.
type NamedFile<'a> = (&'a str, &'a [u8]);

/// One part of a multipart body: field name, file name (for a file) and content.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub body: &'a [u8],
}

pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match p.filename {
            Some(f) => out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n",
                    p.name
                )
                .as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", p.name).as_bytes(),
            ),
        }
        out.extend_from_slice(p.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

pub async fn post_multipart(browser: &Browser, path: &str, body: Vec<u8>) -> reqwest::Response {
    browser
        .client
        .post(browser.url(path))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("multipart POST")
}

/// The page's upload: the token first, as the form sends it, then the mapping and the files.
async fn upload(browser: &Browser, mapping: &str, files: &[(&str, &[u8])]) -> reqwest::Response {
    let token = browser.csrf();
    let mut parts = vec![
        Part {
            name: "csrf_token",
            filename: None,
            body: token.as_bytes(),
        },
        Part {
            name: "mapping",
            filename: None,
            body: mapping.as_bytes(),
        },
    ];
    for (name, bytes) in files {
        parts.push(Part {
            name: "files",
            filename: Some(name),
            body: bytes,
        });
    }
    post_multipart(browser, "/admin/import", multipart(&parts)).await
}

async fn upload_sample(browser: &Browser) -> String {
    let inputs = sample();
    let files: Vec<(&str, &[u8])> = inputs
        .iter()
        .map(|i| (i.name.as_str(), i.bytes.as_slice()))
        .collect();
    let res = upload(browser, "legacy_casebook", &files).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

/// The staging folder and the shipped mappings for one test.
fn app_settings(staging: &std::path::Path) -> impl FnOnce(&mut mhtr_pathway::settings::Settings) {
    let staging = staging.to_string_lossy().into_owned();
    move |s| {
        s.import.staging_dir = staging;
        s.import.mappings_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config/import").into();
    }
}

async fn admin_browser(app: &TestApp) -> Browser {
    let admin = app.create_user(Role::Admin, &["Leicester"]);
    let ap = app.create_user(Role::AssistantPsychologist, &["Leicester"]);
    app.with_db(|c| {
        diesel::update(users::table.find(&ap.id))
            .set(users::email.eq(AP_EMAIL))
            .execute(c)
            .unwrap();
    });
    let browser = app.new_browser();
    browser.sign_in(&admin).await;
    browser
}

/// The counts the page shows for a file, in report order.
fn page_counts(html: &str, file: &str) -> [usize; 6] {
    let start = html
        .find(&format!("data-file=\"{file}\""))
        .unwrap_or_else(|| panic!("{file} is not on the page"));
    let row = &html[start..start + html[start..].find("</tr>").unwrap()];
    let count = |key: &str| -> usize {
        let at = row
            .find(&format!("data-count=\"{key}\">"))
            .unwrap_or_else(|| panic!("no {key} for {file}"))
            + key.len()
            + 14;
        row[at..at + row[at..].find('<').unwrap()]
            .trim()
            .parse()
            .unwrap()
    };
    [
        count("source_rows"),
        count("imported"),
        count("merged"),
        count("rejected"),
        count("excluded"),
        count("already"),
    ]
}

fn report_counts(r: &Report, file: &str) -> [usize; 6] {
    let f = r.files.iter().find(|f| f.name == file).unwrap();
    [
        f.source_rows,
        f.imported,
        f.merged,
        f.rejected,
        f.excluded,
        f.already,
    ]
}

fn cli_dry_run(app: &TestApp) -> Report {
    let mapping = Mapping::parse(include_str!("../../config/import/legacy_casebook.toml")).unwrap();
    app.with_db(|c| {
        import::plan(
            c,
            &mapping,
            "legacy_casebook",
            &sample(),
            &Default::default(),
        )
    })
    .expect("plan")
    .1
}

fn checksum_on(html: &str) -> String {
    let start = html.find("id=\"import-checksum\"").expect("checksum shown");
    let from = start + html[start..].find('>').unwrap() + 1;
    html[from..from + html[from..].find('<').unwrap()].to_owned()
}

fn totals(c: &mut DbConn) -> (i64, i64, i64) {
    (
        people::table.count().get_result(c).unwrap(),
        referrals::table.count().get_result(c).unwrap(),
        import_rows::table.count().get_result(c).unwrap(),
    )
}

fn staged(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn the_sample_uploaded_through_the_page_reconciles_like_the_cli_and_imports_once() {
    let staging = tempfile::tempdir().unwrap();
    let app = spawn_app_with(app_settings(staging.path())).await;
    let admin = admin_browser(&app).await;

    let form = admin.get_page("/admin/import").await;
    assert!(form.contains("enctype=\"multipart/form-data\""));
    assert!(
        form.contains("value=\"legacy_casebook\""),
        "the shipped mapping is offered"
    );
    assert!(
        !form.contains("value=\"native\""),
        "the native format is for the command line"
    );
    let expected = cli_dry_run(&app);
    let before = app.with_db(totals);

    // Step 1: the dry run. The page's figures are the CLI's, and nothing is written.
    let page = upload_sample(&admin).await;
    assert!(page.contains("Check the import"), "{page}");
    for file in SAMPLE {
        assert_eq!(
            page_counts(&page, file),
            report_counts(&expected, file),
            "{file}"
        );
    }
    assert_eq!(checksum_on(&page), expected.checksum);
    assert_eq!(app.with_db(totals), before);
    // Rejected rows are listed with their row, column and reason.
    assert!(
        page.contains("&#x27;X&#x27; is refused by the mapping")
            || page.contains("'X' is refused by the mapping"),
        "{page}"
    );
    assert_eq!(staged(staging.path()), 1, "the upload waits in one folder");
    let upload_id = input_value(&page, "upload").expect("the upload is named in the form");
    assert_eq!(input_value(&page, "checksum").unwrap(), expected.checksum);
    // The full report downloads as CSV.
    let res = admin
        .get(&format!("/admin/import/report.csv?upload={upload_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(csv.contains(&expected.checksum));
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("row,")).count(),
        expected.files.iter().map(|f| f.notes.len()).sum::<usize>()
    );

    // Step 2: the import, as the signed-in administrator, audited.
    let audit_before: i64 = app.with_db(|c| audit_events::table.count().get_result(c).unwrap());
    let res = admin
        .post(
            "/admin/import/run",
            &[("upload", &upload_id), ("checksum", &expected.checksum)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let done = res.text().await.unwrap();
    assert!(done.contains("Import complete"), "{done}");
    let (p, r, rows) = app.with_db(totals);
    let imported = |t: &str| {
        expected
            .files
            .iter()
            .filter(|f| f.table == t)
            .map(|f| f.imported)
            .sum::<usize>() as i64
    };
    assert_eq!(p - before.0, imported("people"));
    assert_eq!(r - before.1, imported("referrals"));
    assert!(rows > before.2);
    let audit_after: i64 = app.with_db(|c| audit_events::table.count().get_result(c).unwrap());
    assert!(audit_after > audit_before, "the import is audited");
    // The uploaded copies are gone; the same upload cannot be imported twice.
    let res = admin
        .post(
            "/admin/import/run",
            &[("upload", &upload_id), ("checksum", &expected.checksum)],
        )
        .await;
    let again = res.text().await.unwrap();
    assert!(
        error_summary(&again)
            .iter()
            .any(|e| e.contains("already been imported")),
        "{again}"
    );
    assert_eq!(app.with_db(totals), (p, r, rows));

    // Uploading the same files again: everything accepted is already here.
    let page = upload_sample(&admin).await;
    for file in SAMPLE {
        let [source, new, merged, rejected, excluded, already] = page_counts(&page, file);
        assert_eq!((new, merged), (0, 0), "{file}");
        assert_eq!(source, rejected + excluded + already, "{file}");
    }
    assert!(page.contains("nothing new to import"));
    assert!(!page.contains("Import these rows"));
    assert_eq!(app.with_db(totals), (p, r, rows));
}

#[tokio::test]
async fn a_changed_database_between_dry_run_and_import_is_refused() {
    let staging = tempfile::tempdir().unwrap();
    let app = spawn_app_with(app_settings(staging.path())).await;
    let admin = admin_browser(&app).await;
    let page = upload_sample(&admin).await;
    let upload_id = input_value(&page, "upload").unwrap();
    let before = app.with_db(totals);
    let res = admin
        .post(
            "/admin/import/run",
            &[("upload", &upload_id), ("checksum", &"0".repeat(64))],
        )
        .await;
    let html = res.text().await.unwrap();
    assert!(
        error_summary(&html)
            .iter()
            .any(|e| e.contains("changed since the dry run")),
        "{html}"
    );
    assert_eq!(app.with_db(totals), before);
    // Another administrator cannot use (or even see) this upload.
    let other = app.create_user(Role::Admin, &["Leicester"]);
    let browser = app.new_browser();
    browser.sign_in(&other).await;
    let res = browser
        .get(&format!("/admin/import/report.csv?upload={upload_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let checksum = checksum_on(&page);
    let res = browser
        .post(
            "/admin/import/run",
            &[("upload", &upload_id), ("checksum", &checksum)],
        )
        .await;
    let html = res.text().await.unwrap();
    assert!(!error_summary(&html).is_empty());
    assert_eq!(app.with_db(totals), before);
}

#[tokio::test]
async fn bad_uploads_are_refused_with_the_error_summary_and_write_nothing() {
    let staging = tempfile::tempdir().unwrap();
    let app = spawn_app_with(|s| {
        app_settings(staging.path())(s);
        s.import.max_file_mib = 1;
        s.import.max_total_mib = 1;
    })
    .await;
    let admin = admin_browser(&app).await;
    let before = app.with_db(totals);
    let clients = sample().remove(0);
    let big = vec![b'a'; 1024 * 1024 + 10];
    let cases: Vec<(&str, Vec<NamedFile<'_>>, &str)> = vec![
        (
            "",
            vec![("cb_clients.csv", &clients.bytes)],
            "Choose the mapping",
        ),
        ("legacy_casebook", vec![], "Choose one or more CSV files"),
        (
            "../../etc/passwd",
            vec![("cb_clients.csv", &clients.bytes)],
            "Choose one of the mappings listed",
        ),
        (
            "nonexistent",
            vec![("cb_clients.csv", &clients.bytes)],
            "Choose one of the mappings listed",
        ),
        (
            "legacy_casebook",
            vec![("other.csv", b"a,b\n1,2\n")],
            "not described by the mapping",
        ),
        (
            "legacy_casebook",
            vec![("cb_clients.csv", b"\x89PNG\r\n\x1a\n\0\0")],
            "is not a CSV file",
        ),
        (
            "legacy_casebook",
            vec![("photo.png", b"just text")],
            "is not a CSV file",
        ),
        (
            "legacy_casebook",
            vec![("cb_clients.csv", &big)],
            "must be smaller than 1 MiB",
        ),
    ];
    for (mapping, files, message) in cases {
        let res = upload(&admin, mapping, &files).await;
        assert_eq!(res.status(), StatusCode::OK, "{mapping} {message}");
        let html = res.text().await.unwrap();
        let errors = error_summary(&html);
        assert!(
            errors.iter().any(|e| e.contains(message)),
            "{message}: {errors:?}"
        );
        assert!(html.contains("<title>Error: "), "{message}");
        if mapping == "legacy_casebook" {
            assert!(
                html.contains("value=\"legacy_casebook\" checked"),
                "the chosen mapping is kept ({message})"
            );
        }
    }
    assert_eq!(app.with_db(totals), before);
    assert_eq!(staged(staging.path()), 0, "nothing was staged");
}

#[tokio::test]
async fn only_administrators_reach_the_import_page() {
    let staging = tempfile::tempdir().unwrap();
    let app = spawn_app_with(app_settings(staging.path())).await;
    for role in Role::ALL.iter().filter(|r| **r != Role::Admin) {
        let (browser, _) = app.login_as(*role).await;
        let res = browser.get("/admin/import").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
        let inputs = sample();
        let files: Vec<(&str, &[u8])> = inputs
            .iter()
            .map(|i| (i.name.as_str(), i.bytes.as_slice()))
            .collect();
        let res = upload(&browser, "legacy_casebook", &files).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
        let res = browser
            .post("/admin/import/run", &[("upload", "x"), ("checksum", "y")])
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
    }
    assert_eq!(staged(staging.path()), 0);
    let (p, ..) = app.with_db(totals);
    assert_eq!(p, 0);
}

/// A larger export (several hundred KB, many network reads) arrives whole after the guard has
/// read the token part: the page's figures are the CLI's for the same files.
#[tokio::test]
async fn a_larger_export_arrives_whole() {
    let staging = tempfile::tempdir().unwrap();
    let app = spawn_app_with(app_settings(staging.path())).await;
    let admin = admin_browser(&app).await;
    let (inputs, _) = import::generate::casebook(2_000, AP_EMAIL, 7);
    assert!(inputs.iter().map(|i| i.bytes.len()).sum::<usize>() > 300_000);
    let mapping = Mapping::parse(include_str!("../../config/import/legacy_casebook.toml")).unwrap();
    let expected = app
        .with_db(|c| import::plan(c, &mapping, "legacy_casebook", &inputs, &Default::default()))
        .unwrap()
        .1;
    let files: Vec<(&str, &[u8])> = inputs
        .iter()
        .map(|i| (i.name.as_str(), i.bytes.as_slice()))
        .collect();
    let res = upload(&admin, "legacy_casebook", &files).await;
    let page = res.text().await.unwrap();
    for f in &inputs {
        assert_eq!(
            page_counts(&page, &f.name),
            report_counts(&expected, &f.name),
            "{}",
            f.name
        );
    }
    assert_eq!(checksum_on(&page), expected.checksum);
}
