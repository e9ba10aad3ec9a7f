//! Import from a legacy system: the shipped messy CaseBook sample and generated exports
//! reconcile to the last row, the real run writes exactly what the dry run reported, a second
//! run imports nothing, and a run stopped half way resumes to the same state as one that was
//! not (on both backends).

use chrono::NaiveDate;
use diesel::prelude::*;
use mhtr_pathway::audit::Actor;
use mhtr_pathway::db::DbConn;
use mhtr_pathway::db::schema::{
    audit_events, deferred_indexes, import_rows, people, referrals, report_area_months,
    report_facts, treatment_sessions, users,
};
use mhtr_pathway::import::apply::{ApplyOptions, Importer, apply};
use mhtr_pathway::import::{self, Input, Mapping, Report};
use mhtr_pathway::users::model::Role;

use crate::helpers::{TestApp, spawn_app};

const AP_EMAIL: &str = "tom.walker@turningpoint.demo.example";

fn mapping() -> Mapping {
    Mapping::parse(include_str!("../../config/import/legacy_casebook.toml")).expect("mapping")
}

/// Shipped sample files, by name.
pub(crate) fn sample_files(names: &[&str]) -> Vec<Input> {
    names
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

fn sample() -> Vec<Input> {
    sample_files(&["cb_clients.csv", "cb_cases.csv", "cb_appointments.csv"])
}

/// The practitioner the samples' appointments name (the demo's Tom Walker), in Leicester.
pub(crate) fn practitioner(app: &TestApp) -> crate::helpers::TestUser {
    let ap = app.create_user(Role::AssistantPsychologist, &["Leicester"]);
    app.with_db(|c| {
        diesel::update(users::table.find(&ap.id))
            .set(users::email.eq(AP_EMAIL))
            .execute(c)
            .unwrap();
    });
    ap
}

/// An administrator to import as, and the practitioner the sample's appointments name.
fn setup(app: &TestApp) -> Importer {
    let admin = app.create_user(Role::Admin, &["Leicester"]);
    practitioner(app);
    Importer {
        actor: Actor::user(&admin.id, &admin.email, None),
        user_id: admin.id,
        name: admin.name,
    }
}

/// Two people already here, whom the sample's CB1004 (same CRN) and CB1005 (same name and
/// date of birth) are.
fn existing_people(app: &TestApp) -> (String, String) {
    let area = app.area_id("Leicester");
    let now = mhtr_pathway::clock::now();
    app.with_db(|c| {
        let mut ids = Vec::new();
        for (given, family, born, crn, sex) in [
            (
                "Daniel",
                "Hughes",
                NaiveDate::from_ymd_opt(1991, 3, 14).unwrap(),
                Some("M204113"),
                "male",
            ),
            (
                "Aisha",
                "Rahman",
                NaiveDate::from_ymd_opt(1987, 9, 2).unwrap(),
                None,
                "female",
            ),
        ] {
            let id = mhtr_pathway::ids::new_id();
            diesel::insert_into(people::table)
                .values((
                    people::id.eq(&id),
                    people::given_name.eq(given),
                    people::family_name.eq(family),
                    people::date_of_birth.eq(born),
                    people::sex.eq(sex),
                    people::gender_identity.eq("same_as_sex"),
                    people::crn.eq(crn),
                    people::area_id.eq(&area),
                    people::interpreter_needed.eq(false),
                    people::created_at.eq(now),
                    people::updated_at.eq(now),
                ))
                .execute(c)
                .unwrap();
            ids.push(id);
        }
        (ids[0].clone(), ids[1].clone())
    })
}

fn plan(app: &TestApp, inputs: &[Input]) -> (import::Plan, Report) {
    app.with_db(|c| {
        import::plan(
            c,
            &mapping(),
            "legacy_casebook",
            inputs,
            &Default::default(),
        )
    })
    .expect("plan")
}

fn counts(c: &mut DbConn) -> (i64, i64, i64, i64, i64) {
    (
        people::table.count().get_result(c).unwrap(),
        referrals::table.count().get_result(c).unwrap(),
        treatment_sessions::table.count().get_result(c).unwrap(),
        import_rows::table.count().get_result(c).unwrap(),
        report_facts::table.count().get_result(c).unwrap(),
    )
}

fn file<'a>(r: &'a Report, name: &str) -> &'a import::FileReport {
    r.files
        .iter()
        .find(|f| f.name == name)
        .expect("file in report")
}

fn reason<'a>(r: &'a Report, file_name: &str, id: &str) -> &'a str {
    &file(r, file_name)
        .notes
        .iter()
        .find(|n| n.source_id == id)
        .unwrap_or_else(|| panic!("no note for {id}"))
        .reason
}

#[tokio::test]
async fn the_messy_sample_reconciles_imports_as_reported_and_only_once() {
    let app = spawn_app().await;
    let importer = setup(&app);
    let (daniel, aisha) = existing_people(&app);
    let before = app.with_db(counts);

    let (plan1, report) = plan(&app, &sample());
    // A dry run writes nothing.
    assert_eq!(app.with_db(counts), before);
    let clients = file(&report, "cb_clients.csv");
    assert_eq!(
        (
            clients.source_rows,
            clients.imported,
            clients.merged,
            clients.rejected,
            clients.excluded,
            clients.already
        ),
        (17, 4, 3, 9, 1, 0)
    );
    assert_eq!(
        clients.recoded, 1,
        "the Windows-1252 row is read, and reported"
    );
    let cases = file(&report, "cb_cases.csv");
    assert_eq!(
        (
            cases.source_rows,
            cases.imported,
            cases.merged,
            cases.rejected,
            cases.excluded
        ),
        (15, 7, 0, 5, 3)
    );
    let appts = file(&report, "cb_appointments.csv");
    assert_eq!(
        (
            appts.source_rows,
            appts.imported,
            appts.rejected,
            appts.excluded
        ),
        (17, 8, 8, 1)
    );
    for f in &report.files {
        assert_eq!(f.source_rows, f.accounted(), "{} adds up", f.name);
    }
    // Every kind of mess is named, with its row and field.
    assert!(reason(&report, "cb_clients.csv", "CB1004").contains(&daniel));
    assert!(reason(&report, "cb_clients.csv", "CB1005").contains(&aisha));
    assert!(reason(&report, "cb_clients.csv", "CB1006").contains("not a date"));
    assert!(reason(&report, "cb_clients.csv", "CB1007").contains("'X' is refused by the mapping"));
    assert!(reason(&report, "cb_clients.csv", "CB1010").contains("damaged"));
    assert!(reason(&report, "cb_clients.csv", "CB1011").contains("casebook-past-retention"));
    assert!(
        reason(&report, "cb_clients.csv", "CB1009").contains("brought over only with a case"),
        "Zoë's only case (C5010) is rejected, so she is not brought over alone"
    );
    assert!(reason(&report, "cb_clients.csv", "CB1013").contains("CB1002"));
    assert!(reason(&report, "cb_cases.csv", "C5006").contains("casebook-past-retention"));
    assert!(
        reason(&report, "cb_cases.csv", "C5003").contains("closing date"),
        "an ended (still open) case with a closing date is imported and listed to check"
    );
    assert!(reason(&report, "cb_cases.csv", "C5010").contains("'XFER' is refused by the mapping"));
    assert!(reason(&report, "cb_appointments.csv", "A9010").contains("forty"));
    let dup = file(&report, "cb_clients.csv")
        .notes
        .iter()
        .find(|n| n.line == 9)
        .unwrap();
    assert_eq!(
        (
            dup.source_id.as_str(),
            dup.field.as_str(),
            dup.reason.as_str()
        ),
        ("CB1001", "ClientRef", "a duplicate of row 1")
    );
    let expected_after: Vec<i64> = report.tables.iter().map(|t| t.2).collect();
    assert_eq!(
        expected_after,
        vec![before.0 + 4, before.1 + 7, before.2 + 8]
    );
    let csv = report.to_csv();
    assert!(csv.contains("row,cb_clients.csv,people,6,CB1006,rejected,DOB,"));
    assert!(
        report
            .to_html()
            .contains("<caption>cb_cases.csv: rows not simply imported</caption>")
    );

    // The real run: exactly the plan the dry run showed, or nothing.
    let checksum = report.checksum.clone();
    let refused = app.with_db(|c| {
        apply(
            c,
            &plan1,
            &mut report.clone(),
            &importer,
            Some("0000"),
            &ApplyOptions::default(),
        )
    });
    assert!(refused.is_err());
    assert_eq!(app.with_db(counts), before);
    let (plan2, mut report2) = plan(&app, &sample());
    assert_eq!(
        report2.checksum, checksum,
        "the same files and database give the same checksum"
    );
    app.with_db(|c| {
        apply(
            c,
            &plan2,
            &mut report2,
            &importer,
            Some(&checksum),
            &ApplyOptions::default(),
        )
    })
    .expect("apply");
    let after = app.with_db(counts);
    assert_eq!(
        (after.0, after.1, after.2),
        (before.0 + 4, before.1 + 7, before.2 + 8)
    );
    assert_eq!(
        after.3,
        4 + 3 + 7 + 8,
        "every accepted row is mapped to its record"
    );
    assert_eq!(
        after.4, after.1,
        "every imported referral has its report facts"
    );
    assert_eq!(
        report2.tables.iter().map(|t| t.2).collect::<Vec<_>>(),
        expected_after
    );

    // Merged rows point at the existing people; their cases are theirs.
    let daniel_cases: i64 = app.with_db(|c| {
        referrals::table
            .filter(referrals::person_id.eq(&daniel))
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(daniel_cases, 1);
    // Sessions count in the monthly figures.
    let booked: i64 = app.with_db(|c| {
        report_area_months::table
            .select(diesel::dsl::sum(report_area_months::booked))
            .first::<Option<i64>>(c)
            .unwrap()
            .unwrap_or(0)
    });
    assert!(booked > 0);
    // One audit entry per batch, a combination, naming the batch; and the chain holds.
    let batch = report2.batch_id.clone().unwrap();
    let audited: i64 = app.with_db(|c| {
        audit_events::table
            .filter(audit_events::event.eq("import.batch"))
            .filter(audit_events::action.eq("combination"))
            .filter(audit_events::record_id.eq(&batch))
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(audited, 3, "people, merges and cases with their sessions");
    assert!(app.with_db(mhtr_pathway::audit::verify).unwrap().is_ok());
    // The recount from the source tables agrees with the facts and report aggregates
    // written in bulk.
    let recount = app.with_db(|c| mhtr_pathway::reports::upkeep::recount(c).unwrap());
    assert!(
        recount.facts_equal
            && recount.months_equal
            && recount.aggregates_equal
            && recount.quality_equal
            && recount.capacity_equal,
        "{recount:?}"
    );
    app.with_db(|c| {
        let ids: Vec<String> = import_rows::table
            .filter(import_rows::kind.eq("referrals"))
            .select(import_rows::target_id)
            .load(c)
            .unwrap();
        for id in ids {
            let stored: mhtr_pathway::reports::facts::Fact = report_facts::table
                .find(&id)
                .select(mhtr_pathway::reports::facts::Fact::as_select())
                .first(c)
                .unwrap();
            mhtr_pathway::reports::upkeep::refresh(c, &id).unwrap();
            let fresh: mhtr_pathway::reports::facts::Fact = report_facts::table
                .find(&id)
                .select(mhtr_pathway::reports::facts::Fact::as_select())
                .first(c)
                .unwrap();
            assert_eq!(stored, fresh);
        }
    });

    // Again: nothing new, and every accepted row says so.
    let (plan3, mut report3) = plan(&app, &sample());
    for f in &report3.files {
        assert_eq!(f.imported + f.merged, 0, "{}", f.name);
        assert_eq!(f.source_rows, f.accounted());
    }
    assert_eq!(file(&report3, "cb_clients.csv").already, 7);
    assert_eq!(file(&report3, "cb_cases.csv").already, 7);
    assert_eq!(file(&report3, "cb_appointments.csv").already, 8);
    app.with_db(|c| {
        apply(
            c,
            &plan3,
            &mut report3,
            &importer,
            None,
            &ApplyOptions::default(),
        )
    })
    .unwrap();
    assert_eq!(app.with_db(counts), after);
}

/// What an import left, independent of generated ids: the source rows mapped (kind, source
/// id, outcome), the people's names, the counts of sessions and of report facts, and the
/// monthly session figures.
type ImportState = (
    Vec<(String, String, String)>,
    Vec<(String, String)>,
    i64,
    i64,
    Vec<(i32, i32, i32)>,
);

/// What an import left, independent of generated ids.
fn state(c: &mut DbConn) -> ImportState {
    let rows: Vec<(String, String, String)> = import_rows::table
        .select((
            import_rows::kind,
            import_rows::source_id,
            import_rows::outcome,
        ))
        .order((import_rows::kind, import_rows::source_id))
        .load(c)
        .unwrap();
    let mut names: Vec<(String, String)> = people::table
        .select((people::given_name, people::family_name))
        .load(c)
        .unwrap();
    names.sort();
    // Area ids differ between databases: compare the months' figures as a sorted list.
    let mut months: Vec<(i32, i32, i32)> = report_area_months::table
        .select((
            report_area_months::booked,
            report_area_months::delivered,
            report_area_months::missed,
        ))
        .load(c)
        .unwrap();
    months.sort();
    (
        rows,
        names,
        treatment_sessions::table.count().get_result(c).unwrap(),
        report_facts::table.count().get_result(c).unwrap(),
        months,
    )
}

/// The database's indexes (name and definition; on PostgreSQL the name only, as its
/// definitions name each test's own schema).
fn indexes(c: &mut DbConn) -> Vec<(String, String)> {
    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        definition: String,
    }
    let sql = match c {
        DbConn::Sqlite(_) => {
            "SELECT name, sql AS definition FROM sqlite_schema \
             WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
        }
        DbConn::Pg(_) => {
            "SELECT indexname AS name, '' AS definition FROM pg_indexes \
             WHERE schemaname = current_schema() ORDER BY indexname"
        }
    };
    diesel::sql_query(sql)
        .load::<Index>(c)
        .unwrap()
        .into_iter()
        .map(|i| (i.name, i.definition))
        .collect()
}

/// Indexes an import has set aside and not yet built again.
fn set_aside(c: &mut DbConn) -> Vec<String> {
    deferred_indexes::table
        .select(deferred_indexes::name)
        .order(deferred_indexes::name)
        .load(c)
        .unwrap()
}

#[tokio::test]
async fn generated_exports_reconcile_and_a_stopped_import_resumes_to_the_same_state() {
    let (inputs, expected) = import::generate::casebook(400, AP_EMAIL, 7);
    // The uninterrupted run keeps its indexes up to date row by row; the stopped one sets
    // them aside (on SQLite) whenever a table gets more rows than it holds.
    let opts = |fail, defer| ApplyOptions {
        batch_rows: 150,
        progress: false,
        fail_after_batches: fail,
        defer_indexes_from: defer,
    };

    // Uninterrupted.
    let whole = spawn_app().await;
    let importer = setup(&whole);
    let (p, mut r) = plan(&whole, &inputs);
    let f = |n| file(&r, n).imported;
    assert_eq!(
        (
            f("cb_clients.csv"),
            f("cb_cases.csv"),
            f("cb_appointments.csv")
        ),
        (expected.people, expected.cases, expected.sessions)
    );
    for f in &r.files {
        assert_eq!(f.source_rows, f.accounted(), "{} adds up", f.name);
        assert_eq!(
            f.source_rows,
            inputs
                .iter()
                .find(|i| i.name == f.name)
                .unwrap()
                .bytes
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                - 1
        );
    }
    whole
        .with_db(|c| apply(c, &p, &mut r, &importer, None, &opts(None, None)))
        .unwrap();
    let want = whole.with_db(state);
    let all_indexes = whole.with_db(indexes);
    assert!(whole.with_db(set_aside).is_empty());

    // Stopped after each of several batches, then run again until done.
    let stopped = spawn_app().await;
    let importer = setup(&stopped);
    let sqlite = stopped.with_db(|c| matches!(c, DbConn::Sqlite(_)));
    for k in [1, 3, 2] {
        let (p, mut r) = plan(&stopped, &inputs);
        let result =
            stopped.with_db(|c| apply(c, &p, &mut r, &importer, None, &opts(Some(k), Some(0))));
        assert!(result.is_err(), "the injected failure stops the run");
        // Stopped as a crash would stop it: the indexes it set aside are missing and recorded.
        let (left, missing) = stopped.with_db(|c| (set_aside(c), indexes(c)));
        if sqlite {
            assert!(
                left.contains(&"treatment_sessions_ap".to_owned()),
                "{left:?}"
            );
            assert!(missing.iter().all(|(name, _)| !left.contains(name)));
            assert_eq!(missing.len() + left.len(), all_indexes.len());
        } else {
            assert!(left.is_empty(), "PostgreSQL keeps its indexes");
            assert_eq!(missing, all_indexes);
        }
        if k == 3 {
            // `migrate` and the service's start build them again (the next import does too).
            stopped.with_db(|c| mhtr_pathway::db::run_migrations(c).unwrap());
            assert!(stopped.with_db(set_aside).is_empty());
            assert_eq!(stopped.with_db(indexes), all_indexes);
        }
        // No partial rows: everything written is mapped, every referral has its facts.
        stopped.with_db(|c| {
            let (p, rf, s, mapped, facts) = counts(c);
            let merged: i64 = import_rows::table
                .filter(import_rows::outcome.eq("merged"))
                .count()
                .get_result(c)
                .unwrap();
            assert_eq!(
                p + rf + s,
                mapped - merged,
                "every record written has its source row"
            );
            assert_eq!(facts, rf);
        });
    }
    let (p, mut r) = plan(&stopped, &inputs);
    assert!(r.files.iter().any(|f| f.already > 0));
    stopped
        .with_db(|c| apply(c, &p, &mut r, &importer, None, &opts(None, Some(0))))
        .unwrap();
    assert_eq!(stopped.with_db(state), want);
    assert!(stopped.with_db(set_aside).is_empty());
    assert_eq!(stopped.with_db(indexes), all_indexes);

    let (_, again) = plan(&stopped, &inputs);
    assert!(again.files.iter().all(|f| f.imported + f.merged == 0));
}

#[tokio::test]
async fn a_file_the_mapping_does_not_describe_is_refused() {
    let app = spawn_app().await;
    let inputs = vec![Input {
        name: "other.csv".into(),
        bytes: b"a,b\n1,2\n".to_vec(),
    }];
    let err = app
        .with_db(|c| {
            import::plan(
                c,
                &mapping(),
                "legacy_casebook",
                &inputs,
                &Default::default(),
            )
        })
        .unwrap_err();
    assert!(format!("{err:?}").contains("not described by the mapping"));
    let missing_column = vec![Input {
        name: "cb_clients.csv".into(),
        bytes: b"ClientRef,Forename\nX1,A\n".to_vec(),
    }];
    let err = app
        .with_db(|c| {
            import::plan(
                c,
                &mapping(),
                "legacy_casebook",
                &missing_column,
                &Default::default(),
            )
        })
        .unwrap_err();
    assert!(format!("{err:?}").contains("is not in the header"));
}
