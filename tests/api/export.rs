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

/// A test app holding the demo data.
async fn app_with_demo() -> crate::helpers::TestApp {
    let app = spawn_app().await;
    app.with_db(|c| mhtr_pathway::demo::load(c, &app.state.hasher).expect("demo loads"));
    app
}

#[tokio::test]
async fn two_exports_of_the_same_data_are_identical_and_hold_no_secrets() {
    let app = app_with_demo().await;
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

/// The row count of every exported table.
fn table_rows(c: &mut mhtr_pathway::db::DbConn) -> BTreeMap<&'static str, usize> {
    mhtr_pathway::export::TABLES
        .iter()
        .map(|t| (t.name, mhtr_pathway::export::rows(c, t).unwrap().len()))
        .collect()
}

/// Fills the tables the demo data and the synthetic data leave empty, with awkward text
/// (commas, quotes, new lines, non-ASCII, an empty string beside a null).
fn fill_the_rest(c: &mut mhtr_pathway::db::DbConn) {
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::*;
    let now = mhtr_pathway::clock::now();
    let user: String = users::table
        .filter(users::role.eq("clinical_lead"))
        .select(users::id)
        .order(users::id.asc())
        .first(c)
        .unwrap();
    let refs: Vec<String> = referrals::table
        .select(referrals::id)
        .order(referrals::id.asc())
        .limit(3)
        .load(c)
        .unwrap();
    let folk: Vec<String> = people::table
        .select(people::id)
        .order(people::id.asc())
        .limit(2)
        .load(c)
        .unwrap();
    let done: Vec<String> = no_onward_support::table
        .select(no_onward_support::referral_id)
        .load(c)
        .unwrap();
    let free = refs.iter().find(|r| !done.contains(r)).unwrap();
    diesel::insert_into(no_onward_support::table)
        .values((
            no_onward_support::referral_id.eq(free),
            no_onward_support::reason.eq("Declined, said \"not now\",\r\nmaybe later — Zoë"),
            no_onward_support::recorded_by.eq(&user),
            no_onward_support::recorded_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    let (session, referral): (String, String) = treatment_sessions::table
        .filter(treatment_sessions::status.eq("recorded"))
        .select((treatment_sessions::id, treatment_sessions::referral_id))
        .order(treatment_sessions::id.asc())
        .first(c)
        .unwrap();
    // A legacy import's bookkeeping: its batch, and the link from a legacy id to a record.
    let batch = mhtr_pathway::ids::new_id();
    diesel::insert_into(import_batches::table)
        .values((
            import_batches::id.eq(&batch),
            import_batches::source_system.eq("casebook"),
            import_batches::mapping.eq("legacy_casebook"),
            import_batches::checksum.eq("0".repeat(64)),
            import_batches::started_by.eq(&user),
            import_batches::started_at.eq(now),
            import_batches::finished_at.eq(Some(now)),
            import_batches::summary.eq("{\"people\": 1, \"note\": \"Zoë, \\\"quoted\\\"\"}"),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(import_rows::table)
        .values((
            import_rows::source_system.eq("casebook"),
            import_rows::kind.eq("people"),
            import_rows::source_id.eq("CB,1001 \"Zoë\""),
            import_rows::batch_id.eq(&batch),
            import_rows::target_table.eq("people"),
            import_rows::target_id.eq(&folk[0]),
            import_rows::outcome.eq("imported"),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(practitioner_leave::table)
        .values((
            practitioner_leave::id.eq(mhtr_pathway::ids::new_id()),
            practitioner_leave::user_id.eq(&user),
            practitioner_leave::starts_on.eq(now.date()),
            practitioner_leave::ends_on.eq(now.date() + chrono::Duration::days(3)),
            practitioner_leave::note.eq(Some("Leave, \"long\" weekend; Zoë")),
            practitioner_leave::recorded_by.eq(&user),
            practitioner_leave::recorded_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(attendance_corrections::table)
        .values((
            attendance_corrections::id.eq(mhtr_pathway::ids::new_id()),
            attendance_corrections::session_id.eq(&session),
            attendance_corrections::referral_id.eq(&referral),
            attendance_corrections::old_outcome.eq("unacceptable_absence"),
            attendance_corrections::new_outcome.eq("acceptable_absence"),
            attendance_corrections::new_absence_reason.eq(Some("medical")),
            attendance_corrections::reason.eq(Some("GP letter, \"seen\"; Zoë")),
            attendance_corrections::corrected_by.eq(&user),
            attendance_corrections::corrected_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(retention_decisions::table)
        .values((
            retention_decisions::id.eq(mhtr_pathway::ids::new_id()),
            retention_decisions::referral_id.eq(&refs[0]),
            retention_decisions::decision.eq("retain"),
            retention_decisions::reason.eq("Open complaint, \"keep\" until it closes; Zoë"),
            retention_decisions::next_review_on.eq(Some(now.date() + chrono::Duration::days(365))),
            retention_decisions::decided_by.eq(&user),
            retention_decisions::decided_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(person_merges::table)
        .values((
            person_merges::id.eq(mhtr_pathway::ids::new_id()),
            person_merges::kept_person_id.eq(&folk[0]),
            person_merges::merged_person_id.eq(&folk[1]),
            person_merges::referral_ids.eq("[]"),
            person_merges::merged_by.eq(&user),
            person_merges::merged_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(identity_links::table)
        .values((
            identity_links::id.eq(mhtr_pathway::ids::new_id()),
            identity_links::referral_id.eq(&refs[0]),
            identity_links::person_id.eq(&folk[0]),
            identity_links::matched_person_id.eq(&folk[1]),
            identity_links::identifier.eq("crn"),
            identity_links::details_agree.eq(false),
            identity_links::status.eq("split"),
            identity_links::created_by.eq(&user),
            identity_links::created_at.eq(now),
            identity_links::decided_by.eq(Some(&user)),
            identity_links::decided_at.eq(Some(now)),
            identity_links::decision_reason.eq(Some("Different \"date\" of birth, Zoë")),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(practitioner_capacity::table)
        .values((
            practitioner_capacity::user_id.eq(&user),
            practitioner_capacity::sessions_per_week.eq(12),
            practitioner_capacity::working_days.eq("mon,tue,thu"),
            practitioner_capacity::updated_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(practitioner_capacity_history::table)
        .values((
            practitioner_capacity_history::user_id.eq(&user),
            practitioner_capacity_history::effective_from.eq(now.date()),
            practitioner_capacity_history::sessions_per_week.eq(12),
            practitioner_capacity_history::working_days.eq("mon,tue,thu"),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(practitioner_reports::table)
        .values((
            practitioner_reports::id.eq(mhtr_pathway::ids::new_id()),
            practitioner_reports::referral_id.eq(&refs[0]),
            practitioner_reports::kind.eq("progress"),
            practitioner_reports::note.eq(""),
            practitioner_reports::written_by.eq(&user),
            practitioner_reports::written_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(referral_amendments::table)
        .values((
            referral_amendments::id.eq(mhtr_pathway::ids::new_id()),
            referral_amendments::referral_id.eq(&refs[1]),
            referral_amendments::field.eq("urgency"),
            referral_amendments::field_label.eq("Urgency"),
            referral_amendments::old_value.eq("routine"),
            referral_amendments::new_value.eq("urgent"),
            referral_amendments::reason.eq("=SUM(A1) in a reason, 'quoted'"),
            referral_amendments::actor_name.eq("System"),
            referral_amendments::at.eq(now),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(service_closures::table)
        .values((
            service_closures::id.eq(mhtr_pathway::ids::new_id()),
            service_closures::day.eq(chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()),
            service_closures::description.eq("Christmas Day"),
            service_closures::created_by.eq(&user),
            service_closures::created_at.eq(now),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(reminder_templates::table)
        .values((
            reminder_templates::kind.eq("upcoming"),
            reminder_templates::language.eq("cy"),
            reminder_templates::subject.eq("Nodyn atgoffa, \"((provider))\""),
            reminder_templates::body.eq("Apwyntiad ar ((date)) am ((time)),\n((place))."),
            reminder_templates::updated_by.eq(&user),
            reminder_templates::updated_at.eq(now),
        ))
        .execute(c)
        .unwrap();
}

fn inputs_of(dir: &std::path::Path) -> Vec<mhtr_pathway::import::Input> {
    mhtr_pathway::export::TABLES
        .iter()
        .map(|t| dir.join(format!("{}.json", t.name)))
        .filter(|path| path.exists())
        .map(|path| mhtr_pathway::import::Input::read(&path).unwrap())
        .collect()
}

/// The round trip's "identical": every data file byte-identical; the audit log files are the
/// first export's entries byte for byte followed by exactly the import's own entry; the
/// manifest is the same but for the audit log.
fn assert_same_but_the_import_entry(
    one: &BTreeMap<String, Vec<u8>>,
    two: &BTreeMap<String, Vec<u8>>,
) {
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in one {
        if name.starts_with("audit_events.") || name == "manifest.json" {
            continue;
        }
        assert!(two[name] == *bytes, "{name} differs after the round trip");
    }
    // The audit log: the first database's entries, then the import's own, nothing else.
    let (csv1, csv2) = (
        String::from_utf8(one["audit_events.csv"].clone()).unwrap(),
        String::from_utf8(two["audit_events.csv"].clone()).unwrap(),
    );
    assert!(
        csv2.starts_with(&csv1),
        "the audit entries are kept as they were"
    );
    let added = &csv2[csv1.len()..];
    assert_eq!(added.lines().count(), 1, "{added}");
    assert!(added.contains(",combination,import.native,"), "{added}");
    let (json1, json2): (Vec<serde_json::Value>, Vec<serde_json::Value>) = (
        serde_json::from_slice(&one["audit_events.json"]).unwrap(),
        serde_json::from_slice(&two["audit_events.json"]).unwrap(),
    );
    assert_eq!(json2.len(), json1.len() + 1);
    assert_eq!(json2[..json1.len()], json1[..]);
    assert_eq!(json2[json1.len()]["event"], "import.native");
    assert_eq!(
        json2[json1.len()]["prev_hash"],
        json1.last().unwrap()["hash"],
        "the import's entry continues the imported chain"
    );
    // The manifest differs only in the audit log's count and checksums.
    let strip = |bytes: &[u8]| {
        let mut m: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        m["tables"]
            .as_array_mut()
            .unwrap()
            .retain(|t| t["name"] != "audit_events");
        // The checkpoint is the audit log's head, which the import's own entry moves on.
        m.as_object_mut().unwrap().remove("audit_checkpoint");
        m
    };
    assert_eq!(strip(&one["manifest.json"]), strip(&two["manifest.json"]));
}

/// The round trip: export, import the export with the shipped `native` mapping into an
/// empty database, export again. "Identical" means: every data file (CSV and JSON) of every
/// table but the audit log is byte-identical; the audit log files hold every entry of the first
/// export byte for byte, followed by exactly the import's own entry (`import.native`), and
/// nothing else; the manifest is identical but for the audit log's row count and checksums.
/// The second database's audit chain verifies, its report facts and aggregates equal a
/// recount, and importing the same export again imports nothing.
#[tokio::test]
async fn an_export_imported_with_the_native_mapping_exports_identically() {
    let app = app_with_demo().await;
    app.with_db(|c| {
        let opts = mhtr_pathway::demo::synth::Options {
            referrals: 150,
            seed: 9,
            chunk: 100,
            ..Default::default()
        };
        mhtr_pathway::demo::synth::run(c, &opts, |_| {}).unwrap();
        fill_the_rest(c);
    });
    let rows = app.with_db(table_rows);
    for (t, n) in &rows {
        assert!(*n > 0, "{t} has rows to carry over");
    }
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let actor = Actor::system("test");
    app.with_db(|c| mhtr_pathway::export::export(c, first.path(), "Move to new server", &actor))
        .unwrap();

    // Into an empty database.
    let target = crate::helpers::TestDatabase::new();
    let mut c = target.connect();
    mhtr_pathway::db::run_migrations(&mut c).unwrap();
    let mapping = mhtr_pathway::import::native::NativeMapping::parse(include_str!(
        "../../config/import/native.toml"
    ))
    .unwrap();
    let inputs = inputs_of(first.path());
    let (plan, mut report) =
        mhtr_pathway::import::native::plan(&mut c, &mapping, "native", &inputs).unwrap();
    for f in &report.files {
        assert_eq!(
            (f.imported, f.rejected, f.already),
            (f.source_rows, 0, 0),
            "{}: {:?}",
            f.name,
            f.notes.first()
        );
    }
    let checksum = report.checksum.clone();
    mhtr_pathway::import::native::apply(
        &mut c,
        &plan,
        &mut report,
        &Actor::system("import (native)"),
        Some(&checksum),
    )
    .unwrap();
    mhtr_pathway::export::export(&mut c, second.path(), "Check the move", &actor).unwrap();

    let (one, two) = (files(first.path()), files(second.path()));
    assert_same_but_the_import_entry(&one, &two);

    assert!(
        mhtr_pathway::audit::verify(&mut c).unwrap().is_ok(),
        "the restored audit chain verifies"
    );
    let recount = mhtr_pathway::reports::upkeep::recount(&mut c).unwrap();
    assert_eq!(recount.referrals, rows["referrals"]);
    assert!(
        recount.facts_equal
            && recount.months_equal
            && recount.aggregates_equal
            && recount.quality_equal
            && recount.capacity_equal
    );
    // The report facts are the original's.
    let facts = |c: &mut mhtr_pathway::db::DbConn| -> i64 {
        use diesel::prelude::*;
        mhtr_pathway::db::schema::report_facts::table
            .count()
            .get_result(c)
            .unwrap()
    };
    assert_eq!(facts(&mut c), app.with_db(facts));
    // Nobody can sign in with a password until invited again.
    {
        use diesel::prelude::*;
        use mhtr_pathway::db::schema::users;
        let hashes: Vec<Option<String>> = users::table
            .select(users::password_hash)
            .load(&mut c)
            .unwrap();
        assert!(hashes.iter().all(Option::is_none));
    }

    // Across backends: the same export into a fresh SQLite database exports the same (under
    // TEST_DATABASE_URL this is PostgreSQL to SQLite).
    let lite = tempfile::tempdir().unwrap();
    let url = mhtr_pathway::db::DatabaseUrl::parse(&format!(
        "sqlite://{}",
        lite.path().join("restored.db").display()
    ))
    .unwrap();
    let mut l = mhtr_pathway::db::connect(&url).unwrap();
    mhtr_pathway::db::run_migrations(&mut l).unwrap();
    let (plan, mut report) =
        mhtr_pathway::import::native::plan(&mut l, &mapping, "native", &inputs).unwrap();
    assert_eq!(report.checksum, checksum, "the same rows are accepted");
    mhtr_pathway::import::native::apply(
        &mut l,
        &plan,
        &mut report,
        &Actor::system("import (native)"),
        Some(&checksum),
    )
    .unwrap();
    let third = tempfile::tempdir().unwrap();
    mhtr_pathway::export::export(&mut l, third.path(), "Check the move", &actor).unwrap();
    assert_same_but_the_import_entry(&one, &files(third.path()));
    drop(l);

    // Again: everything is already here.
    let (plan, report) =
        mhtr_pathway::import::native::plan(&mut c, &mapping, "native", &inputs).unwrap();
    assert_eq!(plan.rows(), 0);
    for f in &report.files {
        if f.table == "audit_events" {
            continue;
        }
        assert_eq!(f.already, f.source_rows, "{}", f.name);
    }
    // A changed row under a kept id is rejected, with its row and column.
    let mut people: Vec<serde_json::Value> = serde_json::from_slice(&one["people.json"]).unwrap();
    people[0]["given_name"] = "Changed".into();
    people[1]["date_of_birth"] = "31/02/1990".into();
    let changed = vec![mhtr_pathway::import::Input {
        name: "people.json".into(),
        bytes: serde_json::to_vec(&people).unwrap(),
    }];
    let only_people = mhtr_pathway::import::native::NativeMapping::parse(
        "format = \"native\"\nsource_system = \"mhtr-pathway\"\n[[file]]\nfile_name = \"people.json\"\ntable = \"people\"\n",
    )
    .unwrap();
    let (_, report) =
        mhtr_pathway::import::native::plan(&mut c, &only_people, "native", &changed).unwrap();
    let f = &report.files[0];
    assert_eq!(f.rejected, 2);
    assert_eq!(f.already, f.source_rows - 2);
    assert!(
        f.notes
            .iter()
            .any(|n| n.line == 1 && n.outcome == "rejected" && n.reason.contains("different row"))
    );
    assert!(
        f.notes
            .iter()
            .any(|n| n.line == 2 && n.field == "date_of_birth" && n.reason.contains("not a date"))
    );

    {
        use diesel::prelude::*;
        use mhtr_pathway::db::schema::users;
        // "Reset authenticator app" is their new invitation: set a password, then an app.
        let admin: String = users::table
            .filter(users::role.eq("admin"))
            .select(users::id)
            .first(&mut c)
            .unwrap();
        mhtr_pathway::users::service::reset_mfa(
            &mut c,
            &mhtr_pathway::users::model::AdminScope::everywhere(),
            &Actor::system("test"),
            &admin,
            7,
            &app.state.emails,
        )
        .unwrap();
        let state: String = users::table
            .find(&admin)
            .select(users::mfa_state)
            .first(&mut c)
            .unwrap();
        assert_eq!(state, "enrol_on_sign_in");
    }
}

/// An export of an old SQLite database may hold a NUL byte in text, which PostgreSQL cannot
/// store: the dry run refuses that row by file, line, key and column, and a child of it
/// stops the import by table and key, never with a bare database error; nothing is written.
#[tokio::test]
async fn an_export_holding_a_nul_is_refused_with_the_row_named_on_either_backend() {
    let app = app_with_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let actor = Actor::system("test");
    app.with_db(|c| mhtr_pathway::export::export(c, dir.path(), "Move to new server", &actor))
        .unwrap();
    // What an old SQLite database exported: a NUL inside a person's name.
    let people = dir.path().join("people.json");
    let mut rows: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&people).unwrap()).unwrap();
    let id = rows[0]["id"].as_str().unwrap().to_owned();
    rows[0]["given_name"] = serde_json::json!("Ju\u{0}lie");
    std::fs::write(&people, serde_json::to_vec(&rows).unwrap()).unwrap();

    let target = crate::helpers::TestDatabase::new();
    let mut c = target.connect();
    mhtr_pathway::db::run_migrations(&mut c).unwrap();
    let mapping = mhtr_pathway::import::native::NativeMapping::parse(include_str!(
        "../../config/import/native.toml"
    ))
    .unwrap();
    let (plan, mut report) =
        mhtr_pathway::import::native::plan(&mut c, &mapping, "native", &inputs_of(dir.path()))
            .unwrap();
    let file = report.files.iter().find(|f| f.table == "people").unwrap();
    assert_eq!(file.rejected, 1);
    let note = &file.notes[0];
    assert_eq!(
        (note.line, note.source_id.as_str(), note.field.as_str()),
        (1, id.as_str(), "given_name")
    );
    assert!(note.reason.contains("NUL"), "{}", note.reason);

    let err = mhtr_pathway::import::native::apply(&mut c, &plan, &mut report, &actor, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("could not be stored") && err.contains("rejected"),
        "{err}"
    );
    use diesel::prelude::*;
    let stored: i64 = mhtr_pathway::db::schema::people::table
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(stored, 0, "all or nothing");
}

/// An export made before a column or a table was added restores whole, the column taking
/// the value rows had before it existed and the table left empty; a column or a table
/// missing that was always there is still refused.
#[tokio::test]
async fn an_export_made_before_a_later_column_loads_with_its_earlier_value() {
    let app = app_with_demo().await;
    app.with_db(fill_the_rest);
    let dir = tempfile::tempdir().unwrap();
    let actor = Actor::system("test");
    app.with_db(|c| mhtr_pathway::export::export(c, dir.path(), "Move to new server", &actor))
        .unwrap();
    let strip = |table: &str, column: &str| {
        let path = dir.path().join(format!("{table}.json"));
        let mut rows: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(!rows.is_empty(), "{table} has rows");
        for row in &mut rows {
            row.as_object_mut().unwrap().remove(column).unwrap();
        }
        std::fs::write(&path, serde_json::to_vec(&rows).unwrap()).unwrap();
        rows.len()
    };
    for (table, column, _) in mhtr_pathway::export::LATER_COLUMNS {
        strip(table, column);
    }
    for table in mhtr_pathway::export::LATER_TABLES {
        std::fs::remove_file(dir.path().join(format!("{table}.json"))).unwrap();
    }
    let mapping = mhtr_pathway::import::native::NativeMapping::parse(include_str!(
        "../../config/import/native.toml"
    ))
    .unwrap();

    let target = crate::helpers::TestDatabase::new();
    let mut c = target.connect();
    mhtr_pathway::db::run_migrations(&mut c).unwrap();
    let (plan, mut report) =
        mhtr_pathway::import::native::plan(&mut c, &mapping, "native", &inputs_of(dir.path()))
            .unwrap();
    for f in &report.files {
        assert_eq!(f.rejected, 0, "{}: {:?}", f.table, f.notes);
    }
    mhtr_pathway::import::native::apply(&mut c, &plan, &mut report, &actor, None).unwrap();
    use diesel::prelude::*;
    use mhtr_pathway::db::schema::person_merges;
    let moved: Vec<bool> = person_merges::table
        .select(person_merges::contact_moved)
        .load(&mut c)
        .unwrap();
    assert!(!moved.is_empty() && moved.iter().all(|m| !m));
    // A table added later is left empty: memberships count from each account's opening.
    use mhtr_pathway::db::schema::{user_area_history, user_areas};
    let memberships: i64 = user_areas::table.count().get_result(&mut c).unwrap();
    let spells: i64 = user_area_history::table.count().get_result(&mut c).unwrap();
    assert!(memberships > 0);
    assert_eq!(spells, 0);

    // A table that every export has is still required.
    let mut without_users = inputs_of(dir.path());
    without_users.retain(|i| i.name != "users.json");
    let fresh = crate::helpers::TestDatabase::new();
    let mut f = fresh.connect();
    mhtr_pathway::db::run_migrations(&mut f).unwrap();
    let err = mhtr_pathway::import::native::plan(&mut f, &mapping, "native", &without_users)
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("users.json is missing"), "{err}");

    // A column that every export has is still required.
    let merges = strip("person_merges", "merged_at");
    let target = crate::helpers::TestDatabase::new();
    let mut c = target.connect();
    mhtr_pathway::db::run_migrations(&mut c).unwrap();
    let (_, report) =
        mhtr_pathway::import::native::plan(&mut c, &mapping, "native", &inputs_of(dir.path()))
            .unwrap();
    let file = report
        .files
        .iter()
        .find(|f| f.table == "person_merges")
        .unwrap();
    assert_eq!(file.rejected, merges);
    assert_eq!(file.notes[0].field, "merged_at");
    assert!(
        file.notes[0].reason.contains("missing"),
        "{}",
        file.notes[0].reason
    );
}

/// One rule for every CSV the service writes: a cell a spreadsheet would run as a formula is
/// defused in the export's CSV as in the reports; the JSON keeps the value as stored.
#[tokio::test]
async fn the_exports_csv_defuses_spreadsheet_formulas_and_its_json_keeps_the_value() {
    let app = spawn_app().await;
    let formula = "=HYPERLINK(\"http://evil.example\",\"Click\")";
    app.with_db(|c| mhtr_pathway::areas::insert_area(c, "E99999998", formula).unwrap());
    let dir = tempfile::tempdir().unwrap();
    app.with_db(|c| {
        mhtr_pathway::export::export(c, dir.path(), "Formula check", &Actor::system("test"))
            .unwrap()
    });
    let csv = std::fs::read_to_string(dir.path().join("areas.csv")).unwrap();
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil.example\"\""),
        "{csv}"
    );
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"));
    let json: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("areas.json")).unwrap()).unwrap();
    assert!(json.iter().any(|a| a["name"] == formula));
}

/// Tables the export leaves out on purpose: sign-in machinery and secrets, queues of messages
/// (delivered or not), drafts, and what is worked out again from the records.
const NOT_EXPORTED: &[&str] = &[
    "__diesel_schema_migrations",
    "sessions",
    "api_tokens",
    "sign_in_attempts",
    "known_devices",
    "recovery_codes",
    "invitations",
    "audit_head",
    "referral_drafts",
    "outbox_messages",
    "notification_opt_outs",
    "vetting_reminders",
    "weekly_digests",
    "ap_bookings",
    "calendar_feeds",
    "report_facts",
    "report_cube",
    "report_cube_waits",
    "report_referral_months",
    "report_area_months",
    // The data-quality page's figures (migration 000046), worked out again on import.
    "quality_facts",
    "quality_counts",
    "quality_month_counts",
    "quality_conflicts",
    // The capacity page's counts and waiting list (migration 000047), worked out again on
    // import.
    "capacity_referral_weeks",
    "capacity_weeks",
    "capacity_waiting",
    "deferred_indexes",
    "reminders",
    "reminder_confirmations",
    // The names index (migration 000038), made again from people by triggers on import;
    // on SQLite a full-text table and its own tables.
    "people_name_keys",
    "people_names",
    "people_names_data",
    "people_names_idx",
    "people_names_content",
    "people_names_docsize",
    "people_names_config",
    // The uptake report's input version (migration 000040), kept by triggers.
    "report_version",
];

/// Columns left out of exported tables: secrets, and an area's intake mailbox change while it
/// awaits confirmation, and whether an administrator is service-wide (set again by the
/// command line on the new system).
const COLUMNS_NOT_EXPORTED: &[(&str, &str)] = &[
    ("areas", "pending_intake_email"),
    ("areas", "pending_intake_token_hash"),
    ("areas", "pending_intake_expires_at"),
    ("users", "service_wide"),
];

/// Every column of every table is exported, or left out on purpose above: a column added by
/// a migration and forgotten in the export would be lost by the next migration to a new
/// system.
#[tokio::test]
async fn every_column_is_exported_or_left_out_on_purpose() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    let app = spawn_app().await;
    let columns: Vec<Column> = app.with_db(|c| {
        let sql = match c {
            mhtr_pathway::db::DbConn::Sqlite(_) => {
                "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
                 JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
                 AND m.name NOT LIKE 'sqlite_%'"
            }
            mhtr_pathway::db::DbConn::Pg(_) => {
                "SELECT table_name::text AS table_name, column_name::text AS column_name \
                 FROM information_schema.columns WHERE table_schema = 'public'"
            }
        };
        diesel::sql_query(sql).load(c).unwrap()
    });
    let mut missing = Vec::new();
    for col in &columns {
        let (t, c) = (col.table_name.as_str(), col.column_name.as_str());
        if NOT_EXPORTED.contains(&t)
            || COLUMNS_NOT_EXPORTED.contains(&(t, c))
            || mhtr_pathway::export::SECRET_COLUMNS.contains(&c)
        {
            continue;
        }
        let exported = mhtr_pathway::export::TABLES
            .iter()
            .find(|x| x.name == t)
            .is_some_and(|x| x.columns.iter().any(|(name, _)| *name == c));
        if !exported {
            missing.push(format!("{t}.{c}"));
        }
    }
    assert!(missing.is_empty(), "not exported: {missing:?}");
}
