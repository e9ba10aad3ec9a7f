//! Name search through the trigram index (migration 000038): found by any part of a name,
//! surname first, a short name as a whole word; kept in step with amendments, merges and
//! their undoing, and erasure. Every search is asked twice: of a clinical lead's whole areas
//! (the database's index) and of a probation officer's caseload (matched in the service),
//! which must agree.

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::referrals::helpers::Api;
use crate::referrals::{advance, api_referral, probation_json, undo_merge_shown_on};
use crate::retention::{closed_days_ago, version_on};
use crate::treatment_sessions::{cast, clients};

async fn refer(po: &Api, area: &str, given: &str, family: &str, crn: &str) -> Value {
    let mut body = probation_json(area, given, family, Some(crn));
    body["create_new_person"] = json!(true);
    api_referral(po, &body).await
}

/// The references a search finds, in the order listed.
async fn found(api: &Api, q: &str) -> Vec<String> {
    let (status, body) = api
        .get(&format!(
            "/api/v1/referrals?per_page=100&q={}",
            urlencoding(q)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut refs: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(body["total"], refs.len() as i64, "{q}");
    refs.sort();
    refs
}

fn urlencoding(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn refs(items: &[&Value]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .map(|r| r["reference"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_name_is_found_by_any_part_and_the_index_follows_amendments_merges_and_erasure() {
    let t = cast().await;
    let c = clients(&t).await;
    let area = t.app.area_a.clone();
    let siobhan = refer(&c.po, &area, "Siobhan", "Quillfeather", "S100001").await;
    let li = refer(&c.po, &area, "Li", "Ng", "S100002").await;
    let kris = refer(&c.po, &area, "Kris", "Quilfether", "S100003").await;
    let lionel = refer(&c.po, &area, "Lionel", "Ngata", "S100004").await;
    // Both ways of searching must give the same answer.
    let both = async |q: &str, want: &[&Value]| {
        let want = refs(want);
        assert_eq!(found(&c.cl, q).await, want, "lead's search for {q:?}");
        assert_eq!(found(&c.po, q).await, want, "officer's search for {q:?}");
    };

    both("QUILLF", &[&siobhan]).await;
    both("iobhan quill", &[&siobhan]).await;
    both("Quillfeather, Siobhan", &[&siobhan]).await;
    both("quilf", &[&kris]).await;
    // One or two characters: a whole name, so "Ng" is not every Ngata.
    both("ng", &[&li]).await;
    both("Li", &[&li]).await;
    both("ngat", &[&lionel]).await;
    // Wildcards are letters like any other, not a way to list everyone.
    both("%", &[]).await;
    both("_", &[]).await;
    both("Q%l", &[]).await;

    // An amendment: the old name is no longer found, the new one is.
    let id = siobhan["id"].as_str().unwrap();
    let (status, body) = c
        .po
        .post(
            &format!("/api/v1/referrals/{id}/amend"),
            &json!({"version": 1, "reason": "Name changed by deed poll", "changes": {"family_name": "Brightwater"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    both("quillfeather", &[]).await;
    both("brightwat", &[&siobhan]).await;

    // A merge: either record's name finds the referrals now with one person; undone, each
    // name finds its own again.
    let cl = t.app.browser(&t.cl).await;
    let (status, location, page) = cl
        .post(
            "/people/merge",
            &[
                ("keep_reference", siobhan["reference"].as_str().unwrap()),
                ("merge_reference", kris["reference"].as_str().unwrap()),
                ("reason", "Same person, name misspelt at arrest"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    both("quilfether", &[&siobhan, &kris]).await;
    both("brightwater", &[&siobhan, &kris]).await;
    // So does the merged record's CRN.
    both("s100003", &[&siobhan, &kris]).await;
    let status = undo_merge_shown_on(&cl, &location, id).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    both("quilfether", &[&kris]).await;
    both("brightwater", &[&siobhan]).await;

    // Erasure: the person's name leaves the index.
    let kris_id = kris["id"].as_str().unwrap().to_owned();
    advance(
        &[("cl", &c.cl)],
        &kris_id,
        &[(
            "cl",
            json!({"action": "decline", "reason": "Needs are met by the GP practice"}),
        )],
    )
    .await;
    closed_days_ago(&t.app, &kris_id, 3 * 365).await;
    let admin = t.app.browser(&t.admin).await;
    let path = format!("/retention/{kris_id}");
    let (_, page) = admin.get(&path).await;
    let version = version_on(&page);
    let (status, _, page) = admin
        .post(
            &path,
            &[
                ("version", version.as_str()),
                ("decision", "erase"),
                ("reason", "Retention period over; no reason to keep"),
                ("confirm_erase", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    both("quilfether", &[]).await;
    both("kris", &[]).await;
    let left: i64 = t
        .app
        .with_db(|c| {
            use mhtr_pathway::db::schema::people_names;
            people_names::table
                .filter(people_names::name.like("%quilfether%"))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(left, 0, "nothing of an erased name is left to find");
    let indexed: i64 = t
        .app
        .with_db(|c| {
            use mhtr_pathway::db::schema::{people, people_names};
            let people: i64 = people::table.count().get_result(c).unwrap();
            let names: i64 = people_names::table.count().get_result(c).unwrap();
            assert_eq!(people, names, "every person is in the index once");
            names
        })
        .await;
    assert!(indexed >= 4);
}
