//! Configuration: every shipped file parses, and a database URL the service does not
//! support is refused before anything is created.

use std::path::Path;
use std::process::Command;

use mhtr_pathway::settings::Settings;

#[test]
fn every_config_file_parses_over_the_defaults() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = Settings::from_toml(&text) {
            panic!("{} does not parse: {e}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 3, "default, test and the production example");
}

#[test]
fn a_mysql_url_is_refused() {
    let err = Settings::from_toml("[database]\nurl = \"mysql://u@h/db\"").expect_err("refused");
    let message = err.to_string();
    assert!(message.contains("unsupported database URL"), "{message}");
    assert!(message.contains("sqlite://"), "{message}");
    assert!(message.contains("postgres://"), "{message}");
}

/// `mhtr-pathway migrate` with the given database URL, run in an empty directory.
fn migrate_with(url: &str) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mhtr-pathway"));
    for (key, _) in std::env::vars() {
        if key.starts_with("APP_") {
            cmd.env_remove(key);
        }
    }
    let output = cmd
        .arg("migrate")
        .current_dir(dir.path())
        .env("APP_DATABASE__URL", url)
        .output()
        .expect("run the binary");
    (output, dir)
}

#[test]
fn migrate_refuses_a_mysql_url_naming_the_supported_schemes() {
    let (output, dir) = migrate_with("mysql://x");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sqlite://"), "{stderr}");
    assert!(stderr.contains("postgres://"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing created"
    );
}

#[test]
fn migrate_refuses_a_bare_path_and_creates_no_file() {
    let (output, dir) = migrate_with("./plain/path.db");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sqlite://"), "{stderr}");
    assert!(stderr.contains("postgres://"), "{stderr}");
    assert!(!dir.path().join("plain/path.db").exists());
    assert!(!dir.path().join("plain").exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing created"
    );
}
