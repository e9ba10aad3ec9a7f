//! The container image's entry point (`docs/deploy/entrypoint.sh`) and its health check
//! (`mhtr-pathway check`), run here with the binary under test: this machine has no
//! container engine to build the image itself (README, "Deploying").

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::free_port;

const ENTRYPOINT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy/entrypoint.sh");
const BIN: &str = env!("CARGO_BIN_EXE_mhtr-pathway");

/// The entry point with the environment the image gives, on `port`, its SQLite database in
/// a folder under `dir` that does not exist yet.
fn entrypoint(dir: &std::path::Path, port: u16, args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg(ENTRYPOINT)
        .args(args)
        .current_dir(dir)
        .env("MHTR_BIN", BIN)
        .env("MHTR_ALLOW_ROOT", "1")
        .env("APP_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("APP_SERVER__BASE_URL", format!("http://localhost:{port}"))
        .env(
            "APP_DATABASE__URL",
            format!("sqlite://{}/volume/data/app.db", dir.display()),
        )
        .env("APP_SERVER__HOUSEKEEPING", "false")
        .env("APP_EMAIL__TRANSPORT", "log")
        .env("RUST_LOG", "warn");
    c
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_entrypoint_serves_and_the_health_check_reports_ready_then_live() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = Running(
        entrypoint(dir.path(), port, &[])
            .stdout(Stdio::null())
            .spawn()
            .expect("the entry point starts"),
    );
    let check = |live: bool| {
        let mut c = entrypoint(dir.path(), port, &["check"]);
        if live {
            c.arg("--live");
        }
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    let started = Instant::now();
    while !check(false) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not ready within a minute"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(check(true), "alive");
    assert!(
        dir.path().join("volume/data/app.db").exists(),
        "the data folder was made and the database created in it"
    );

    // Nothing listening: the health check fails.
    let nobody = entrypoint(dir.path(), free_port(), &["check"])
        .output()
        .unwrap();
    assert_eq!(nobody.status.code(), Some(1));
}

#[test]
fn the_entrypoint_refuses_root_and_passes_other_commands_through() {
    let dir = tempfile::tempdir().unwrap();
    let out = entrypoint(dir.path(), free_port(), &["migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("migration(s) applied"));

    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if is_root {
        let out = entrypoint(dir.path(), free_port(), &["migrate"])
            .env_remove("MHTR_ALLOW_ROOT")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to run as root"));
    }
}
