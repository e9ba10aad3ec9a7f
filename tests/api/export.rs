//! `mhtr-pathway export`: deterministic files, a manifest that checks out, no secrets, and
//! the export recorded as a disclosure.

use std::collections::BTreeMap;

use mhtr_pathway::audit::Actor;
use sha2::{Digest, Sha256};

use crate::helpers::spawn_app;

fn files(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn two_exports_of_the_same_data_are_identical_and_hold_no_secrets() {
    let app = spawn_app().await;
    let hasher = app.state.hasher.clone();
    app.state
        .db
        .run(move |c| mhtr_pathway::demo::load(c, &hasher).map(|_| ()))
        .await
        .expect("demo loads");
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let actor = Actor::system("test");
    let a = app.with_db(|c| {
        mhtr_pathway::export::export(c, first.path(), "Records request RR-7", &actor).unwrap()
    });
    app.with_db(|c| {
        mhtr_pathway::export::export(c, second.path(), "Records request RR-7", &actor).unwrap()
    });
    let (one, two) = (files(first.path()), files(second.path()));
    assert_eq!(one.len(), mhtr_pathway::export::TABLES.len() * 2 + 1);
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    let referrals = a.tables.iter().find(|(t, _)| t == "referrals").unwrap().1;
    assert!(referrals > 0, "the demo referrals are exported");

    for (name, bytes) in &one {
        if name.starts_with("audit_events.") || name == "manifest.json" {
            continue;
        }
        assert!(two[name] == *bytes, "{name} differs between two exports");
    }
    // The audit log grew by exactly the first export's own disclosure entry.
    let (csv1, csv2) = (
        String::from_utf8(one["audit_events.csv"].clone()).unwrap(),
        String::from_utf8(two["audit_events.csv"].clone()).unwrap(),
    );
    assert!(csv2.starts_with(&csv1));
    let added = &csv2[csv1.len()..];
    assert_eq!(added.lines().count(), 1);
    assert!(added.contains("data.exported") && added.contains("Records request RR-7"));

    // The manifest's counts and checksums describe the files.
    let manifest: serde_json::Value = serde_json::from_slice(&one["manifest.json"]).unwrap();
    for t in manifest["tables"].as_array().unwrap() {
        for ext in ["csv", "json"] {
            let f = &t["files"][ext];
            let bytes = &one[f["file"].as_str().unwrap()];
            assert_eq!(
                f["sha256"].as_str().unwrap(),
                hex::encode(Sha256::digest(bytes))
            );
        }
        let json: Vec<serde_json::Value> =
            serde_json::from_slice(&one[t["files"]["json"]["file"].as_str().unwrap()]).unwrap();
        assert_eq!(json.len() as u64, t["rows"].as_u64().unwrap());
    }

    // No secret anywhere: not as a column, not as a value.
    let secrets: Vec<String> = app.with_db(|c| {
        use diesel::prelude::*;
        use mhtr_pathway::db::schema::users;
        users::table
            .select((users::password_hash, users::totp_secret))
            .load::<(Option<String>, Option<String>)>(c)
            .unwrap()
            .into_iter()
            .flat_map(|(a, b)| [a, b])
            .flatten()
            .collect()
    });
    assert!(!secrets.is_empty());
    for (name, bytes) in &one {
        let text = String::from_utf8_lossy(bytes);
        for column in mhtr_pathway::export::SECRET_COLUMNS {
            assert!(!text.contains(column), "{name} mentions {column}");
        }
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{name} holds a secret");
        }
    }

    // Recorded as a disclosure with its reason.
    let exported: Vec<_> = app
        .audit_events()
        .into_iter()
        .filter(|e| e.event == "data.exported")
        .collect();
    assert_eq!(exported.len(), 2);
    assert_eq!(exported[0].action.as_str(), "disclosure");
    assert_eq!(exported[0].reason.as_deref(), Some("Records request RR-7"));

    // A reason is required, and a directory with files in it is refused.
    let third = tempfile::tempdir().unwrap();
    assert!(
        app.with_db(|c| mhtr_pathway::export::export(c, third.path(), " ", &actor))
            .is_err()
    );
    assert!(
        app.with_db(|c| mhtr_pathway::export::export(c, first.path(), "again", &actor))
            .is_err()
    );
}
