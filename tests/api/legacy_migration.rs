//! The legacy migration as a data officer runs it, on an export as it comes: closing dates and
//! the retention policy the review queue follows, people with no case left behind, truncated
//! files refused whole, control characters in ids, letters the old system lost, the link to
//! legacy ids carried through an export and import to a new server, and a rehearsal date.
//! Each runs on both backends.

use chrono::NaiveDate;
use diesel::prelude::*;
use mhtr_pathway::audit::Actor;
use mhtr_pathway::db::schema::{import_rows, people, referral_status_history, referrals};
use mhtr_pathway::import::apply::{ApplyOptions, Importer, apply};
use mhtr_pathway::import::{self, Input, Mapping, Report};
use mhtr_pathway::settings::RetentionSettings;
use mhtr_pathway::users::model::Role;

use crate::helpers::{TestApp, spawn_app};

const CLIENTS: &str = "ClientRef,Forename,Surname,DOB,Gender,GenderSameAsBirth,EthCode,PNC,CRN,District,GP,Interp,Lang\n";
const CASES: &str =
    "CaseNo,ClientRef,Route,CaseStatus,OffGroup,Priority,Opened,Sentenced,OrderEnds,Closed\n";

/// The first `n` of five clean CaseBook client rows, P1 to P5, in Leicester.
fn people(n: usize) -> String {
    const PEOPLE: &str = "\
P1,Ann,Able,01/01/1980,F,Y,W1,,,LEIC,,N,
P2,Bob,Baker,02/02/1981,M,Y,W1,,,LEIC,,N,
P3,Cat,Cole,03/03/1982,F,Y,W1,,,LEIC,,N,
P4,Dan,Dale,04/04/1983,M,Y,W1,,,LEIC,,N,
P5,Eve,East,05/05/1984,F,Y,W1,,,LEIC,,N,
";
    PEOPLE.lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn mapping() -> Mapping {
    Mapping::parse(include_str!("../../config/import/legacy_casebook.toml")).expect("mapping")
}

fn inputs(clients: &str, cases: &str) -> Vec<Input> {
    vec![
        Input {
            name: "cb_clients.csv".into(),
            bytes: format!("{CLIENTS}{clients}").into_bytes(),
        },
        Input {
            name: "cb_cases.csv".into(),
            bytes: format!("{CASES}{cases}").into_bytes(),
        },
    ]
}

fn importer(app: &TestApp) -> Importer {
    let admin = app.create_user(Role::Admin, &["Leicester"]);
    Importer {
        actor: Actor::user(&admin.id, &admin.email, None),
        user_id: admin.id,
        name: admin.name,
    }
}

fn plan_with(
    app: &TestApp,
    inputs: &[Input],
    policy: &RetentionSettings,
) -> Result<(import::Plan, Report), String> {
    app.with_db(|c| import::plan(c, &mapping(), "legacy_casebook", inputs, policy))
        .map_err(|e| e.to_string())
}

fn plan(app: &TestApp, inputs: &[Input]) -> (import::Plan, Report) {
    plan_with(app, inputs, &RetentionSettings::default()).expect("plan")
}

fn note<'a>(r: &'a Report, file: &str, id: &str) -> &'a import::RowNote {
    r.files
        .iter()
        .find(|f| f.name == file)
        .expect("file")
        .notes
        .iter()
        .find(|n| n.source_id == id)
        .unwrap_or_else(|| panic!("no note for {id}: {:?}", r.files))
}

fn counts(r: &Report, file: &str) -> (usize, usize, usize, usize, usize) {
    let f = r.files.iter().find(|f| f.name == file).expect("file");
    (
        f.source_rows,
        f.imported,
        f.rejected,
        f.excluded,
        f.to_check,
    )
}

fn run(app: &TestApp, inputs: &[Input], who: &Importer) -> Report {
    let (p, mut r) = plan(app, inputs);
    app.with_db(|c| apply(c, &p, &mut r, who, None, &ApplyOptions::default()))
        .expect("apply");
    r
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// The referral an imported case became.
fn referral_of(app: &TestApp, case: &str) -> String {
    app.with_db(|c| {
        import_rows::table
            .filter(import_rows::kind.eq("referrals"))
            .filter(import_rows::source_id.eq(case))
            .select(import_rows::target_id)
            .first(c)
            .expect("imported")
    })
}

#[tokio::test]
async fn a_closed_case_keeps_its_closing_date_and_retention_follows_the_services_policy() {
    let app = spawn_app().await;
    let who = importer(&app);
    let clients = &people(5);
    // K1 closed after treatment in 2024 (review due 2030); K2 withdrawn in 2023 (review due
    // 2025 under the default 2 years: already due, so left behind); K3 closed with no date;
    // K4 closed before it was opened; K5 still in treatment but with a closing date.
    let cases = "\
K1,P1,PSR,CLOSED,VAP,R,01/02/2022,01/03/2022,28/02/2023,10/05/2024
K2,P2,LD,WDN,THF,R,01/06/2022,,,15/01/2023
K3,P3,PSR,CLOSED,VAP,R,01/02/2022,,,
K4,P4,PSR,CLOSED,VAP,R,01/02/2022,,,01/01/2022
K5,P5,PSR,ACTIVE,DRG,R,01/06/2025,15/07/2025,14/07/2026,20/07/2026
";
    let files = inputs(clients, cases);
    let (_, r) = plan(&app, &files);
    assert_eq!(counts(&r, "cb_cases.csv"), (5, 2, 2, 1, 1), "{:?}", r.files);
    let k2 = note(&r, "cb_cases.csv", "K2");
    assert_eq!(k2.outcome, "excluded");
    assert!(
        k2.reason.contains("casebook-past-retention"),
        "{}",
        k2.reason
    );
    assert!(k2.reason.contains("15 January 2025"), "{}", k2.reason);
    let k3 = note(&r, "cb_cases.csv", "K3");
    assert_eq!((k3.outcome, k3.field.as_str()), ("rejected", "Closed"));
    assert!(
        k3.reason.contains("needs the date it closed"),
        "{}",
        k3.reason
    );
    assert!(
        note(&r, "cb_cases.csv", "K4")
            .reason
            .contains("before the referral date")
    );
    let k5 = note(&r, "cb_cases.csv", "K5");
    assert_eq!(
        (k5.outcome, k5.field.as_str()),
        ("imported, check", "Closed")
    );
    // The people of left-behind cases are not brought over either.
    assert_eq!(
        counts(&r, "cb_clients.csv"),
        (5, 2, 2, 1, 0),
        "{:?}",
        r.files
    );
    assert_eq!(note(&r, "cb_clients.csv", "P2").outcome, "excluded");
    assert_eq!(note(&r, "cb_clients.csv", "P3").outcome, "rejected");

    // The same files under a policy of 5 years for ending without treatment: K2 comes over.
    let longer = RetentionSettings {
        ended_without_treatment_years: 5,
        ..RetentionSettings::default()
    };
    let (_, r5) = plan_with(&app, &files, &longer).unwrap();
    assert_eq!(counts(&r5, "cb_cases.csv").1, 3);

    run(&app, &files, &who);
    let k1 = referral_of(&app, "K1");
    let (closed_at, status): (Option<chrono::NaiveDateTime>, String) = app.with_db(|c| {
        referrals::table
            .find(&k1)
            .select((referrals::closed_at, referrals::status))
            .first(c)
            .unwrap()
    });
    assert_eq!(status, "closed");
    assert_eq!(
        mhtr_pathway::clock::utc_to_london(closed_at.expect("closed")).date(),
        d(2024, 5, 10),
        "closed on the legacy closing date, not the day it was opened"
    );
    // Its timeline: referred on the legacy date, closed on the closing date.
    let steps: Vec<(String, String, chrono::NaiveDateTime)> = app.with_db(|c| {
        referral_status_history::table
            .filter(referral_status_history::referral_id.eq(&k1))
            .order(referral_status_history::at.asc())
            .select((
                referral_status_history::action,
                referral_status_history::to_status,
                referral_status_history::at,
            ))
            .load(c)
            .unwrap()
    });
    assert_eq!(
        steps
            .iter()
            .map(|(a, s, at)| (a.as_str(), s.as_str(), at.date()))
            .collect::<Vec<_>>(),
        vec![
            ("submit", "submitted", d(2022, 2, 1)),
            ("close", "closed", d(2024, 5, 9)),
        ],
        "UK midnight on 10 May 2024 is 23:00 UTC the day before"
    );
    // The retention review reads the same date: not due until 2030.
    let due = mhtr_pathway::retention::policy::due_on(
        &RetentionSettings::default(),
        mhtr_pathway::referrals::state::Status::Closed,
        d(2024, 5, 10),
        None,
    );
    assert_eq!(due, Some(d(2030, 5, 10)));
    // The still-open case keeps no closing date.
    let k5: Option<chrono::NaiveDateTime> = app.with_db(|c| {
        referrals::table
            .find(referral_of(&app, "K5"))
            .select(referrals::closed_at)
            .first(c)
            .unwrap()
    });
    assert_eq!(k5, None);

    // A mapping that still names its own period is refused with the reason.
    let old = include_str!("../../config/import/legacy_casebook.toml").replace(
        "rule = \"casebook-past-retention\"",
        "rule = \"casebook-past-retention\"\nclosed_more_than_years = 6",
    );
    let err = Mapping::parse(&old).unwrap_err();
    assert!(
        err.contains("retention.closed_after_treatment_years"),
        "{err}"
    );
}

#[tokio::test]
async fn a_person_whose_every_case_is_rejected_is_not_imported_and_the_report_says_why() {
    let app = spawn_app().await;
    let who = importer(&app);
    let clients = &people(3);
    // P1 has one good case; P2's only case has an unknown status; P3 has no case at all.
    let cases = "\
K1,P1,PSR,ACTIVE,VAP,R,01/02/2026,,,
K2,P2,PSR,XFER,VAP,R,01/02/2026,,,
";
    let files = inputs(clients, cases);
    let before: i64 = app.with_db(|c| people::table.count().get_result(c).unwrap());
    let r = run(&app, &files, &who);
    assert_eq!(counts(&r, "cb_clients.csv"), (3, 1, 2, 0, 0));
    for id in ["P2", "P3"] {
        let n = note(&r, "cb_clients.csv", id);
        assert_eq!((n.outcome, n.field.as_str()), ("rejected", "ClientRef"));
        assert!(
            n.reason.contains("brought over only with a case"),
            "{}",
            n.reason
        );
    }
    let after: i64 = app.with_db(|c| people::table.count().get_result(c).unwrap());
    assert_eq!(after, before + 1, "only the person with a case");
    let orphans: i64 = app.with_db(|c| {
        people::table
            .filter(diesel::dsl::not(diesel::dsl::exists(
                referrals::table.filter(referrals::person_id.eq(people::id)),
            )))
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(orphans, 0, "no one is out of reach of every review");

    // Once the case is put right, the next run brings the person over with it.
    let fixed = inputs(clients, &cases.replace("XFER", "ACTIVE"));
    let r = run(&app, &fixed, &who);
    assert_eq!(counts(&r, "cb_clients.csv").1, 1);
    assert_eq!(note(&r, "cb_clients.csv", "P3").outcome, "rejected");
}

#[tokio::test]
async fn a_truncated_or_changed_file_is_refused_whole() {
    let app = spawn_app().await;
    let clients = &people(2);
    let cases = "K1,P1,PSR,ACTIVE,VAP,R,01/02/2026,,,\nK2,P2,PSR,ACTIVE,VAP,R,01/02/2026,,,\n";
    // Cut mid-row: the last record is short.
    let cut = inputs(clients, &cases[..cases.len() - 12]);
    let err = plan_with(&app, &cut, &RetentionSettings::default()).unwrap_err();
    assert!(
        err.contains("cb_cases.csv") && err.contains("cut short"),
        "{err}"
    );
    // Cut inside a quoted value.
    let quoted = inputs(
        "P1,\"Ann\",Able,01/01/1980,F,Y,W1,,,LEIC,\"Westcotes, Health",
        cases,
    );
    let err = plan_with(&app, &quoted, &RetentionSettings::default()).unwrap_err();
    assert!(err.contains("quoted value"), "{err}");
    // A declared row count or checksum that does not match.
    let whole = inputs(clients, cases);
    let declared = |extra: &str| {
        let text = include_str!("../../config/import/legacy_casebook.toml").replace(
            "source_id = \"CaseNo\"",
            &format!("source_id = \"CaseNo\"\n{extra}"),
        );
        Mapping::parse(&text).unwrap()
    };
    let plan_mapped = |m: &Mapping, files: &[Input]| {
        app.with_db(|c| {
            import::plan(
                c,
                m,
                "legacy_casebook",
                files,
                &RetentionSettings::default(),
            )
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    assert!(plan_mapped(&declared("rows = 2"), &whole).is_ok());
    let short = inputs(clients, "K1,P1,PSR,ACTIVE,VAP,R,01/02/2026,,,\n");
    let err = plan_mapped(&declared("rows = 2"), &short).unwrap_err();
    assert!(
        err.contains("declares 2 data rows but the file has 1"),
        "{err}"
    );
    let sum = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(format!("{CASES}{cases}").as_bytes()))
    };
    assert!(plan_mapped(&declared(&format!("sha256 = \"{sum}\"")), &whole).is_ok());
    let err = plan_mapped(&declared(&format!("sha256 = \"{sum}\"")), &short).unwrap_err();
    assert!(err.contains("SHA-256"), "{err}");
    // Nothing was written by any of them.
    let written: i64 = app.with_db(|c| import_rows::table.count().get_result(c).unwrap());
    assert_eq!(written, 0);
}

#[tokio::test]
async fn control_characters_in_an_id_and_lost_letters_in_a_name_are_caught() {
    let app = spawn_app().await;
    let who = importer(&app);
    let clients = "\
\"P\t1\",Ann,Able,01/01/1980,F,Y,W1,,,LEIC,,N,
\"P\r\n2\",Bob,Baker,02/02/1981,M,Y,W1,,,LEIC,,N,
P3,Sin?ad,O'Brien,03/03/1982,F,Y,W1,,,LEIC,,N,
";
    let cases = "\
K1,\"P\t1\",PSR,ACTIVE,VAP,R,01/02/2026,,,
K2,P3,PSR,ACTIVE,VAP,R,01/02/2026,,,
\"K\u{1}3\",P3,PSR,ACTIVE,VAP,R,01/02/2026,,,
";
    let files = inputs(clients, cases);
    let r = run(&app, &files, &who);
    let tab = r.files[0]
        .notes
        .iter()
        .find(|n| n.line == 1)
        .expect("row 1 noted");
    assert_eq!((tab.outcome, tab.field.as_str()), ("rejected", "ClientRef"));
    assert!(tab.reason.contains("control character"), "{}", tab.reason);
    let line_break = r.files[0].notes.iter().find(|n| n.line == 2).unwrap();
    assert_eq!(line_break.outcome, "rejected");
    assert!(
        r.files[1]
            .notes
            .iter()
            .any(|n| n.line == 3 && n.outcome == "rejected"),
        "{:?}",
        r.files[1].notes
    );
    let sinead = note(&r, "cb_clients.csv", "P3");
    assert_eq!(
        (sinead.outcome, sinead.field.as_str()),
        ("imported, check", "Forename")
    );
    assert!(sinead.reason.contains("Sin?ad"), "{}", sinead.reason);
    assert!(r.to_csv().contains("imported, to check"));
    // Only clean ids were stored.
    let ids: Vec<String> = app.with_db(|c| {
        import_rows::table
            .select(import_rows::source_id)
            .load(c)
            .unwrap()
    });
    assert!(
        ids.iter().all(|i| !i.chars().any(char::is_control)),
        "{ids:?}"
    );
    assert!(ids.contains(&"P3".to_owned()));
}

#[tokio::test]
async fn after_a_move_to_a_new_server_the_same_legacy_import_adds_nothing() {
    let app = spawn_app().await;
    let who = importer(&app);
    crate::import::practitioner(&app);
    let sample =
        crate::import::sample_files(&["cb_clients.csv", "cb_cases.csv", "cb_appointments.csv"]);
    let first = run(&app, &sample, &who);
    let imported: usize = first.total(|f| f.imported + f.merged);
    assert!(imported > 10);

    // Export, and restore the export on a new server.
    let dir = tempfile::tempdir().unwrap();
    app.with_db(|c| {
        mhtr_pathway::export::export(c, dir.path(), "Move to the new server", &Actor::system("t"))
    })
    .unwrap();
    let target = crate::helpers::TestDatabase::new();
    let mut c = target.connect();
    mhtr_pathway::db::run_migrations(&mut c).unwrap();
    let native = mhtr_pathway::import::native::NativeMapping::parse(include_str!(
        "../../config/import/native.toml"
    ))
    .unwrap();
    let files: Vec<Input> = mhtr_pathway::export::TABLES
        .iter()
        .map(|t| Input::read(&dir.path().join(format!("{}.json", t.name))).unwrap())
        .collect();
    let (p, mut r) = mhtr_pathway::import::native::plan(&mut c, &native, "native", &files).unwrap();
    let links = r
        .files
        .iter()
        .find(|f| f.name == "import_rows.json")
        .expect("the export carries the link to legacy ids");
    assert_eq!(links.imported, imported);
    mhtr_pathway::import::native::apply(&mut c, &p, &mut r, &Actor::system("t"), None).unwrap();

    // The same legacy files again, on the new server: every accepted row is already here.
    let referrals_before: i64 = referrals::table.count().get_result(&mut c).unwrap();
    let (again, mut report) = import::plan(
        &mut c,
        &mapping(),
        "legacy_casebook",
        &sample,
        &Default::default(),
    )
    .unwrap();
    for f in &report.files {
        assert_eq!(f.imported + f.merged, 0, "{}: {:?}", f.name, f.notes);
    }
    assert_eq!(report.total(|f| f.already), imported);
    apply(
        &mut c,
        &again,
        &mut report,
        &who,
        None,
        &ApplyOptions::default(),
    )
    .unwrap();
    let referrals_after: i64 = referrals::table.count().get_result(&mut c).unwrap();
    assert_eq!(referrals_after, referrals_before, "nothing doubled");
}

/// `clock.today` moves the whole service's date for a migration rehearsal: the command-line
/// dry run on the rehearsal date leaves behind a case whose review falls due before it.
#[tokio::test]
async fn a_rehearsal_date_gives_the_go_live_answer() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let today = mhtr_pathway::clock::today();
    // Closed after treatment five years and a day before today: its review (six years on)
    // falls due in 364 days.
    let closed = today - chrono::Duration::days(365 * 5 + 1);
    for f in inputs(
        "P1,Ann,Able,01/01/1980,F,Y,W1,,,LEIC,,N,\n",
        &format!(
            "K1,P1,PSR,CLOSED,VAP,R,01/01/2019,,,{}\n",
            closed.format("%d/%m/%Y")
        ),
    ) {
        std::fs::write(dir.path().join(&f.name), &f.bytes).unwrap();
    }
    let dry_run = |rehearsal: Option<NaiveDate>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mhtr-pathway"));
        for (key, _) in std::env::vars() {
            if key.starts_with("APP_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("APP_DATABASE__URL", &app.state.settings.database.url)
            .arg("import")
            .arg("--mapping")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config/import/legacy_casebook.toml"
            ))
            .arg("--dry-run")
            .arg(dir.path().join("cb_clients.csv"))
            .arg(dir.path().join("cb_cases.csv"));
        if let Some(d) = rehearsal {
            cmd.env("APP_CLOCK__TODAY", d.to_string());
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let now = dry_run(None);
    fn line(text: &str) -> Vec<&str> {
        text.lines()
            .find(|l| l.starts_with("cb_cases.csv"))
            .map(|l| l.split_whitespace().collect())
            .unwrap()
    }
    // FILE TABLE SOURCE IMPORTED MERGED REJECTED EXCLUDED ALREADY
    assert_eq!(line(&now)[3], "1", "{now}");
    let go_live = dry_run(Some(today + chrono::Duration::days(400)));
    assert_eq!(line(&go_live)[3], "0", "{go_live}");
    assert_eq!(line(&go_live)[6], "1", "{go_live}");

    // A rehearsal date is refused in production, and a date that is not one is explained.
    let err = mhtr_pathway::settings::Settings::from_toml(
        "environment = \"production\"\n[security]\nsecure_cookies = true\n[clock]\ntoday = \"2027-04-01\"",
    )
    .expect_err("refused")
    .to_string();
    assert!(err.contains("cannot be set in production"), "{err}");
    let err = mhtr_pathway::settings::Settings::from_toml("[clock]\ntoday = \"1 April\"")
        .expect_err("refused")
        .to_string();
    assert!(err.contains("clock.today must be a date"), "{err}");
}

/// The README's walk-through: CaseLog's extract as it comes (a person and a case on one row,
/// worker codes, separate date and time columns, no sex column, a cancelled-by outcome)
/// imports with one mapping file and no preparation.
#[tokio::test]
async fn the_caselog_export_as_it_comes_imports_with_one_mapping_file() {
    use mhtr_pathway::db::schema::treatment_sessions;
    let app = spawn_app().await;
    let who = importer(&app);
    let ap = crate::import::practitioner(&app);
    let caselog = Mapping::parse(include_str!("../../config/import/legacy_caselog.toml"))
        .expect("the shipped mapping parses");
    let files = crate::import::sample_files(&["caselog_cases.csv", "caselog_contacts.csv"]);
    let plan_it = |files: &[Input]| {
        app.with_db(|c| {
            import::plan(
                c,
                &caselog,
                "legacy_caselog",
                files,
                &RetentionSettings::default(),
            )
        })
    };
    let (p, mut r) = plan_it(&files).expect("plan");
    let of = |table: &str| {
        let f = r.files.iter().find(|f| f.table == table).unwrap();
        (
            f.source_rows,
            f.imported,
            f.merged,
            f.rejected,
            f.excluded,
            f.to_check,
        )
    };
    // Kieran is on two rows (two cases): he comes over once. Bj?rn is listed to check; the
    // withdrawn 2022 case and its contact stay behind (past retention).
    assert_eq!(of("people"), (6, 5, 1, 0, 0, 1), "{:?}", r.files);
    assert_eq!(of("referrals"), (6, 5, 0, 0, 1, 0), "{:?}", r.files);
    assert_eq!(of("sessions"), (10, 9, 0, 0, 1, 0), "{:?}", r.files);
    assert!(r.files.iter().all(|f| f.unmapped.is_empty()));
    let merged = r.files[0]
        .notes
        .iter()
        .find(|n| n.outcome == "merged")
        .unwrap();
    assert_eq!(merged.source_id, "PR-501");
    assert!(merged.reason.contains("the same person as row 1"));
    app.with_db(|c| apply(c, &p, &mut r, &who, None, &ApplyOptions::default()))
        .expect("apply");

    // No sex was invented: the people are "not recorded".
    let sexes: Vec<(String, String)> = app.with_db(|c| {
        people::table
            .select((people::sex, people::gender_identity))
            .load(c)
            .unwrap()
    });
    assert_eq!(sexes.len(), 5);
    assert!(
        sexes
            .iter()
            .all(|(s, g)| s == "not_recorded" && g == "not_recorded"),
        "{sexes:?}"
    );
    // Date and time joined; the worker code is the practitioner; who cancelled is kept.
    let contacts: Vec<(
        String,
        chrono::NaiveDateTime,
        String,
        Option<String>,
        String,
    )> = app.with_db(|c| {
        treatment_sessions::table
            .inner_join(import_rows::table.on(import_rows::target_id.eq(treatment_sessions::id)))
            .order(import_rows::source_id.asc())
            .select((
                import_rows::source_id,
                treatment_sessions::starts_at,
                treatment_sessions::status,
                treatment_sessions::change_party,
                treatment_sessions::ap_user_id,
            ))
            .load(c)
            .unwrap()
    });
    let get = |id: &str| contacts.iter().find(|c| c.0 == id).unwrap().clone();
    assert_eq!(
        get("CT-9003").1,
        d(2026, 7, 7).and_hms_opt(10, 0, 0).unwrap()
    );
    assert_eq!(
        (get("CT-9003").2.as_str(), get("CT-9003").3.as_deref()),
        ("cancelled", Some("person_on_probation"))
    );
    assert_eq!(get("CT-9004").3.as_deref(), Some("service"));
    assert_eq!(get("CT-9001").3, None);
    assert!(contacts.iter().all(|c| c.4 == ap.id));

    // A typo in the export is listed with its count, and the real run refuses to start.
    let mut typo = files.clone();
    typo[1].bytes = String::from_utf8(typo[1].bytes.clone())
        .unwrap()
        .replace(
            "CT-9009,CL-2005,12/08/2026,11:00,50,Phone,ATT,AP1",
            "CT-9011,CL-2005,26/08/2026,11:00,50,Phone,ATT,AP2",
        )
        .replace(
            "CT-9010,CL-2005,19/08/2026,11:00,50,Phone,ATT,AP1",
            "CT-9012,CL-2005,02/09/2026,11:00,50,Fone,ATT,AP2",
        )
        .into_bytes();
    let (p, mut r) = plan_it(&typo).expect("plan");
    let contacts_file = r.files.iter().find(|f| f.table == "sessions").unwrap();
    assert_eq!(
        contacts_file
            .unmapped
            .iter()
            .map(|u| (u.column.as_str(), u.value.as_str(), u.rows))
            .collect::<Vec<_>>(),
        vec![("Method", "Fone", 1), ("Worker", "AP2", 2)],
        "every unknown value, with its rows"
    );
    let before: i64 = app.with_db(|c| treatment_sessions::table.count().get_result(c).unwrap());
    let err = app
        .with_db(|c| apply(c, &p, &mut r, &who, None, &ApplyOptions::default()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'AP2'") && err.contains("nothing was imported"),
        "{err}"
    );
    let after: i64 = app.with_db(|c| treatment_sessions::table.count().get_result(c).unwrap());
    assert_eq!(before, after);
    assert!(
        r.to_csv()
            .contains("unmapped,caselog_contacts.csv,sessions,,AP2,unmapped code,Worker,2")
    );
}
