//! Crash safety: the real `mhtr-pathway serve` process takes writes over the API and is killed
//! with SIGKILL at random moments, again and again. After every kill, every write the client
//! saw acknowledged must be in the database, the database must pass `PRAGMA integrity_check`
//! and the audit chain must still verify.
//!
//! SQLite only: this is the backend whose durability the service itself configures (WAL with
//! `synchronous=FULL`, `BEGIN IMMEDIATE`). PostgreSQL's durability belongs to the server
//! (`fsync` and `synchronous_commit` on), so this test uses a SQLite file even when
//! `TEST_DATABASE_URL` names PostgreSQL.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Text;
use mhtr_pathway::areas::{self, OrganisationKind};
use mhtr_pathway::audit::Actor;
use mhtr_pathway::auth::tokens;
use mhtr_pathway::db::schema::{referrals, users};
use mhtr_pathway::db::{self, DatabaseUrl, DbConn};
use mhtr_pathway::users::forms::{Email, UserInput};
use mhtr_pathway::users::model::{MfaState, Role, VettingLevel};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ROUNDS: usize = 20;
const WRITERS: usize = 4;

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn start(config: &std::path::Path) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_mhtr-pathway"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mhtr-pathway serve");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_until_up(client: &reqwest::Client, server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(res) = client.get(format!("{}/healthz", server.base)).send().await
            && res.status() == StatusCode::OK
        {
            return;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the server exited on start: {status}");
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn referral(area_id: &str, round: usize, writer: usize, n: usize) -> Value {
    json!({
        "entry_point": "probation",
        "given_name": "Crash",
        "family_name": format!("Round{round}Writer{writer}Number{n}"),
        "date_of_birth": "1990-04-01",
        "sex": "female",
        "gender_identity": "same_as_sex",
        "ethnicity": "white_british",
        "crn": format!("C{:06}", round * 40_000 + writer * 10_000 + n),
        "area_id": area_id,
        "interpreter_needed": false,
        "court": "Leicester Magistrates' Court",
        "hearing_date": "2026-12-14",
        "offence_category": "theft",
        "needs": ["anxiety"],
        "substance_misuse": false,
        "drr_atr": "none",
        "rosh_level": "low",
        "risk_to_staff": false,
        "urgency": "routine",
        "session_mode": "phone",
        "create_new_person": true,
    })
}

/// A probation officer in one area, with an API token issued directly (no password hashing).
fn seed(conn: &mut DbConn) -> (String, String) {
    db::run_migrations(conn).expect("migrate");
    db::write_tx(conn, |c| {
        let area = areas::insert_area(c, "E06000017", "Rutland")?;
        let org = areas::insert_organisation(c, "Probation", OrganisationKind::Probation)?;
        let input = UserInput {
            name: "Pat Officer".into(),
            email: Email::parse("pat@probation.example.org").expect("email"),
            role: Role::ProbationOfficer,
            organisation_id: org,
            area_ids: vec![area.clone()],
            hcpc_number: None,
            vetting: Some((
                VettingLevel::Nppv2,
                mhtr_pathway::clock::today() + chrono::Duration::days(365),
            )),
        };
        let user = mhtr_pathway::users::service::create(
            c,
            &mhtr_pathway::users::model::AdminScope::everywhere(),
            &Actor::system("tests"),
            &input,
            None,
        )?;
        diesel::update(users::table.find(&user.id))
            .set(users::mfa_state.eq(MfaState::Enrolled))
            .execute(c)?;
        let (token, _) = tokens::issue(c, &user.id, 2)?;
        Ok((area, token))
    })
    .expect("seed the database")
}

/// What must hold after every kill: acknowledged referrals present, file and audit chain intact.
fn check(path: &str, acknowledged: &[String], round: usize) {
    let mut raw = diesel::SqliteConnection::establish(path).expect("open the database");
    let rows: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut raw)
        .expect("integrity check");
    let verdict: Vec<&str> = rows.iter().map(|r| r.integrity_check.as_str()).collect();
    assert_eq!(verdict, ["ok"], "round {round}: PRAGMA integrity_check");
    drop(raw);

    let mut conn = db::connect(&DatabaseUrl::Sqlite {
        path: path.to_owned(),
    })
    .expect("connect");
    let present: Vec<String> = referrals::table
        .select(referrals::id)
        .load(&mut conn)
        .expect("list referrals");
    for id in acknowledged {
        assert!(
            present.contains(id),
            "round {round}: acknowledged referral {id} was lost in the crash"
        );
    }
    let chain = mhtr_pathway::audit::verify(&mut conn).expect("read the audit log");
    assert!(
        chain.is_ok(),
        "round {round}: audit chain broken at {chain:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_the_database_stays_intact() {
    // A real disk, not /dev/shm: the point is what reaches the file.
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let path = dir.path().join("crash.db").display().to_string();
    let config = dir.path().join("crash.toml");
    std::fs::write(
        &config,
        format!(
            "environment = \"test\"\n\
             [server]\nbase_url = \"http://127.0.0.1\"\nworkers = 2\nshutdown_timeout_secs = 1\n\
             [database]\nurl = \"sqlite://{path}\"\npool_size = 4\n\
             [security]\nsecure_cookies = false\n\
             [email]\ntransport = \"log\"\nrun_worker = false\n"
        ),
    )
    .expect("write the settings file");
    let (area, token) = {
        let mut conn = db::connect(&DatabaseUrl::Sqlite { path: path.clone() }).expect("connect");
        seed(&mut conn)
    };

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut total_unacknowledged = 0usize;
    for round in 0..ROUNDS {
        let mut server = start(&config);
        wait_until_up(&client, &mut server).await;

        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let (client, base, token, area) = (
                client.clone(),
                server.base.clone(),
                token.clone(),
                area.clone(),
            );
            let acknowledged = acknowledged.clone();
            writers.push(tokio::spawn(async move {
                let mut unacknowledged = 0;
                for n in 0.. {
                    let sent = client
                        .post(format!("{base}/api/v1/referrals"))
                        .bearer_auth(&token)
                        .json(&referral(&area, round, writer, n))
                        .send()
                        .await;
                    let res = match sent {
                        Ok(res) => res,
                        // The server is gone: this write was never acknowledged.
                        Err(_) => return unacknowledged + 1,
                    };
                    let status = res.status();
                    let body: Value = match res.json().await {
                        Ok(b) => b,
                        Err(_) if status == StatusCode::CREATED => {
                            // The status line arrived, so it was acknowledged; the body
                            // did not. The test cannot name it, so it cannot check it.
                            return unacknowledged;
                        }
                        Err(_) => return unacknowledged + 1,
                    };
                    assert_eq!(status, StatusCode::CREATED, "{body}");
                    let id = body["id"].as_str().expect("an id").to_owned();
                    acknowledged.lock().unwrap().push(id);
                    unacknowledged = 0;
                }
                unreachable!()
            }));
        }
        // Kill at a random moment while the writers are busy: after the round's first
        // acknowledgement (however loaded the machine), then somewhere in the next 100 ms.
        let before = acknowledged.lock().unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while acknowledged.lock().unwrap().len() == before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let delay = rand::random_range(0..100);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.child.kill().expect("SIGKILL the server");
        server.child.wait().expect("reap the server");
        for w in writers {
            total_unacknowledged += w.await.expect("writer task");
        }

        let seen = acknowledged.lock().unwrap().clone();
        check(&path, &seen, round);
    }
    let seen = acknowledged.lock().unwrap().len();
    assert!(
        seen >= ROUNDS,
        "writes were acknowledged between the kills ({seen} in {ROUNDS} rounds)"
    );
    eprintln!(
        "crash safety: {ROUNDS} kills, {seen} acknowledged writes all kept, \
         {total_unacknowledged} in flight at a kill"
    );
}
