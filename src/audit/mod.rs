//! The audit log (DPA 2018 s.62 categories): append-only, every entry hash-chained to the one
//! before it so any alteration or deletion can be detected.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::coded_enum;
use crate::db::DbConn;
use crate::db::schema::audit_events;
use crate::error::AppError;

pub mod appender;
pub mod web;
pub mod words;

coded_enum! {
    /// The s.62 category an event belongs to, plus sign-in and administration events.
    pub enum AuditAction {
        Collection = ("collection", "Collection"),
        Alteration = ("alteration", "Alteration"),
        Consultation = ("consultation", "Consultation"),
        Disclosure = ("disclosure", "Disclosure"),
        Combination = ("combination", "Combination"),
        Erasure = ("erasure", "Erasure"),
        Authentication = ("authentication", "Authentication"),
        Administration = ("administration", "Administration"),
    }
}

/// Records a change `name` to record `record` (its type and id), with `details`: the
/// entry every use case that alters a record writes.
pub fn alteration(
    c: &mut crate::db::DbConn,
    actor: &Actor,
    name: &str,
    record: (&str, &str),
    details: serde_json::Value,
) -> Result<(), crate::error::AppError> {
    self::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, name)
            .record(record.0, record.1)
            .details(details),
    )
}

/// Who did it: a signed-in user, or the system itself (CLI, workers, anonymous sign-in
/// attempts).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<String>,
    pub label: String,
    pub ip: Option<String>,
}

impl Actor {
    pub fn system(label: &str) -> Self {
        Self {
            user_id: None,
            label: label.to_owned(),
            ip: None,
        }
    }

    pub fn user(user_id: &str, email: &str, ip: Option<String>) -> Self {
        Self {
            user_id: Some(user_id.to_owned()),
            label: email.to_owned(),
            ip,
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: AuditAction,
    /// A stable dotted name, e.g. `sign_in.failed`, `user.disabled`.
    pub event: &'a str,
    pub record_type: Option<&'a str>,
    pub record_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// Extra facts as JSON. Never passwords, codes or clinical content.
    pub details: serde_json::Value,
}

impl<'a> Event<'a> {
    pub fn new(action: AuditAction, event: &'a str) -> Self {
        Self {
            action,
            event,
            record_type: None,
            record_id: None,
            reason: None,
            details: serde_json::Value::Null,
        }
    }

    pub fn record(mut self, record_type: &'a str, record_id: &'a str) -> Self {
        self.record_type = Some(record_type);
        self.record_id = Some(record_id);
        self
    }

    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// [`Event::reason`] when there is one.
    pub fn reason_if_any(mut self, reason: Option<&'a str>) -> Self {
        self.reason = reason.or(self.reason);
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub seq: i64,
    pub id: String,
    pub at: NaiveDateTime,
    pub actor_user_id: Option<String>,
    pub actor_label: String,
    pub action: AuditAction,
    pub event: String,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditRow<'a> {
    seq: i64,
    id: String,
    at: NaiveDateTime,
    actor_user_id: Option<&'a str>,
    actor_label: &'a str,
    action: AuditAction,
    event: &'a str,
    record_type: Option<&'a str>,
    record_id: Option<&'a str>,
    reason: Option<&'a str>,
    ip: Option<&'a str>,
    details: String,
    prev_hash: String,
    hash: String,
}

/// What the log pages show of an entry: names and plain words, with the stored codes and
/// ids kept beside them for the detail view.
#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub seq: i64,
    pub at: String,
    /// The user's name where the entry names a user who still exists, else what was
    /// recorded (their email address, or "system").
    pub actor: String,
    /// What was recorded of the actor: an email address or a system name.
    pub actor_label: String,
    pub actor_user_id: Option<String>,
    pub action: &'static str,
    /// What happened, in words.
    pub event: String,
    /// The stored event code.
    pub code: String,
    /// The record in words: its kind and its name or reference where one is known.
    pub record: Option<String>,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
}

/// One entry in full, for the detail view.
#[derive(Debug, Clone, Serialize)]
pub struct AuditDetail {
    pub entry: AuditView,
    pub id: String,
    /// The recorded details, as indented JSON ("" when there are none).
    pub details: String,
    pub hash: String,
    pub prev_hash: String,
}

/// The names the entries refer to, looked up once for a page of them.
#[derive(Default)]
struct Names {
    users: std::collections::HashMap<String, (String, String)>,
    referrals: std::collections::HashMap<String, String>,
    areas: std::collections::HashMap<String, String>,
    services: std::collections::HashMap<String, String>,
}

impl Names {
    fn load(c: &mut DbConn, rows: &[AuditRow]) -> Result<Self, AppError> {
        use crate::db::schema::{areas, directory_services, referrals, users};
        let ids = |kind: &str| -> Vec<String> {
            let mut v: Vec<String> = rows
                .iter()
                .filter(|r| r.record_type.as_deref() == Some(kind))
                .filter_map(|r| r.record_id.clone())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let mut user_ids = ids("user");
        user_ids.extend(rows.iter().filter_map(|r| r.actor_user_id.clone()));
        user_ids.sort();
        user_ids.dedup();
        let users = users::table
            .filter(users::id.eq_any(&user_ids))
            .select((users::id, users::name, users::email))
            .load::<(String, String, String)>(c)?
            .into_iter()
            .map(|(id, name, email)| (id, (name, email)))
            .collect();
        let referrals = referrals::table
            .filter(referrals::id.eq_any(ids("referral")))
            .select((referrals::id, referrals::reference))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect();
        let areas = areas::table
            .filter(areas::id.eq_any(ids("area")))
            .select((areas::id, areas::name))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect();
        let services = directory_services::table
            .filter(directory_services::id.eq_any(ids("directory_service")))
            .select((directory_services::id, directory_services::name))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect();
        Ok(Self {
            users,
            referrals,
            areas,
            services,
        })
    }

    fn view(&self, r: &AuditRow) -> AuditView {
        let actor = r
            .actor_user_id
            .as_ref()
            .and_then(|id| self.users.get(id))
            .map_or_else(
                || r.actor_label.clone(),
                |(name, email)| format!("{name} ({email})"),
            );
        let record = r.record_type.as_deref().map(|kind| {
            let id = r.record_id.as_deref().unwrap_or("");
            let name = match kind {
                "user" => self.users.get(id).map(|(name, _)| name.clone()),
                "referral" => self.referrals.get(id).cloned(),
                "area" => self.areas.get(id).cloned(),
                "directory_service" => self.services.get(id).cloned(),
                _ => None,
            };
            match name {
                Some(name) => format!("{} {name}", words::record_kind(kind)),
                None => words::record_kind(kind),
            }
        });
        AuditView {
            seq: r.seq,
            at: crate::web::format::date_time(r.at),
            actor,
            actor_label: r.actor_label.clone(),
            actor_user_id: r.actor_user_id.clone(),
            action: r.action.label(),
            event: words::describe(&r.event),
            code: r.event.clone(),
            record,
            record_type: r.record_type.clone(),
            record_id: r.record_id.clone(),
            reason: r.reason.clone(),
            ip: r.ip.clone(),
        }
    }
}

/// Entries as the pages show them: with names and words.
pub fn views(c: &mut DbConn, rows: &[AuditRow]) -> Result<Vec<AuditView>, AppError> {
    let names = Names::load(c, rows)?;
    Ok(rows.iter().map(|r| names.view(r)).collect())
}

/// One page of the entries `f` finds, newest first, with names and words, and how many it
/// finds in all.
pub fn entries(
    c: &mut DbConn,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<AuditView>, i64), AppError> {
    let (rows, total) = search(c, f, offset, limit)?;
    Ok((views(c, &rows)?, total))
}

/// Entry `seq` in full, or None when there is no such entry.
pub fn entry(c: &mut DbConn, seq: i64) -> Result<Option<AuditDetail>, AppError> {
    let Some(row) = audit_events::table
        .filter(audit_events::seq.eq(seq))
        .select(AuditRow::as_select())
        .first(c)
        .optional()?
    else {
        return Ok(None);
    };
    let names = Names::load(c, std::slice::from_ref(&row))?;
    let details = serde_json::from_str::<serde_json::Value>(&row.details)
        .ok()
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default();
    Ok(Some(AuditDetail {
        entry: names.view(&row),
        id: row.id.clone(),
        details,
        hash: row.hash.clone(),
        prev_hash: row.prev_hash.clone(),
    }))
}

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn chain_hash(prev_hash: &str, row: &NewAuditRow<'_>) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        &row.seq.to_string(),
        &row.id,
        &row.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        row.actor_user_id.unwrap_or(""),
        row.actor_label,
        row.action.as_str(),
        row.event,
        row.record_type.unwrap_or(""),
        row.record_id.unwrap_or(""),
        row.reason.unwrap_or(""),
        row.ip.unwrap_or(""),
        &row.details,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an event. Call it inside the transaction of the change it records, so the change
/// and its audit entry commit or fail together.
pub fn record(conn: &mut DbConn, actor: &Actor, event: Event<'_>) -> Result<(), AppError> {
    record_all(conn, &[(actor, event)])
}

/// Appends events in order, in one statement, chaining each to the one before. Call it
/// inside a write transaction.
pub fn record_all(conn: &mut DbConn, events: &[(&Actor, Event<'_>)]) -> Result<(), AppError> {
    if events.is_empty() {
        return Ok(());
    }
    crate::db::lock_audit_chain(conn)?;
    let last: Option<(i64, String)> = audit_events::table
        .select((audit_events::seq, audit_events::hash))
        .order(audit_events::seq.desc())
        .first(conn)
        .optional()?;
    let (mut seq, mut prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let at = crate::clock::now();
    let mut rows = Vec::with_capacity(events.len());
    for (actor, event) in events {
        let mut row = NewAuditRow {
            seq,
            id: crate::ids::new_id(),
            at,
            actor_user_id: actor.user_id.as_deref(),
            actor_label: &actor.label,
            action: event.action,
            event: event.event,
            record_type: event.record_type,
            record_id: event.record_id,
            reason: event.reason,
            ip: actor.ip.as_deref(),
            details: event.details.to_string(),
            prev_hash: String::new(),
            hash: String::new(),
        };
        row.hash = chain_hash(&prev_hash, &row);
        row.prev_hash = std::mem::replace(&mut prev_hash, row.hash.clone());
        rows.push(row);
        seq += 1;
    }
    let (head_seq, head_hash) = (seq - 1, prev_hash);
    crate::db::bulk::bulk_insert!(conn, audit_events::table, rows);
    move_head(conn, head_seq, &head_hash, at)
}

/// Moves the chain's head (see migration 000024) to the newest entry. Call under
/// [`crate::db::lock_audit_chain`], in the transaction that appended it.
fn move_head(
    conn: &mut DbConn,
    seq: i64,
    hash: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    use crate::db::schema::audit_head;
    let moved = diesel::update(audit_head::table.find(1))
        .set((
            audit_head::seq.eq(seq),
            audit_head::hash.eq(hash),
            audit_head::at.eq(at),
        ))
        .execute(conn)?;
    if moved == 0 {
        diesel::insert_into(audit_head::table)
            .values((
                audit_head::id.eq(1),
                audit_head::seq.eq(seq),
                audit_head::hash.eq(hash),
                audit_head::at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether the log still holds entry `seq` with `hash`: a checkpoint taken earlier (an
/// export's manifest) against the log as it is now. `Err(seq)` if not.
pub fn verify_checkpoint(
    conn: &mut DbConn,
    seq: i64,
    hash: &str,
) -> Result<Result<(), i64>, AppError> {
    let found: Option<String> = audit_events::table
        .filter(audit_events::seq.eq(seq))
        .select(audit_events::hash)
        .first(conn)
        .optional()?;
    Ok(if found.as_deref() == Some(hash) {
        Ok(())
    } else {
        Err(seq)
    })
}

/// Records an event in its own write transaction (for events with no other change, such as
/// a failed sign-in or a page view).
pub fn record_now(conn: &mut DbConn, actor: &Actor, event: Event<'_>) -> Result<(), AppError> {
    crate::db::write_tx(conn, |c| record(c, actor, event))
}

/// Newest entries first, optionally for one actor.
pub fn recent(
    conn: &mut DbConn,
    actor_user_id: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, AppError> {
    let mut q = audit_events::table
        .select(AuditRow::as_select())
        .order(audit_events::seq.desc())
        .into_boxed();
    if let Some(uid) = actor_user_id {
        q = q.filter(audit_events::actor_user_id.eq(uid));
    }
    Ok(q.limit(limit).load(conn)?)
}

/// Entries about one record, newest first.
pub fn for_record(
    conn: &mut DbConn,
    record_type: &str,
    record_id: &str,
    limit: i64,
) -> Result<Vec<AuditRow>, AppError> {
    Ok(audit_events::table
        .filter(audit_events::record_type.eq(record_type))
        .filter(audit_events::record_id.eq(record_id))
        .select(AuditRow::as_select())
        .order(audit_events::seq.desc())
        .limit(limit)
        .load(conn)?)
}

/// Walks the whole chain and checks that it ends at its head. Returns the number of entries
/// checked, or the first sequence number whose entry was altered, removed (the newest ones
/// too) or re-ordered.
pub fn verify(conn: &mut DbConn) -> Result<Result<u64, i64>, AppError> {
    let mut prev = GENESIS_HASH.to_owned();
    let mut expected_seq = 1i64;
    let mut after = 0i64;
    loop {
        let batch: Vec<AuditRow> = audit_events::table
            .filter(audit_events::seq.gt(after))
            .order(audit_events::seq.asc())
            .limit(5000)
            .select(AuditRow::as_select())
            .load(conn)?;
        if batch.is_empty() {
            // The chain is whole as far as it goes; it must also go as far as the head says.
            use crate::db::schema::audit_head;
            let head: Option<(i64, String)> = audit_head::table
                .find(1)
                .select((audit_head::seq, audit_head::hash))
                .first(conn)
                .optional()?;
            let last = expected_seq - 1;
            return Ok(match head {
                Some((seq, _)) if seq > last => Err(last + 1),
                Some((seq, hash)) if seq < last || (seq == last && hash != prev) => Err(seq),
                None if last > 0 => Err(1),
                _ => Ok(last as u64),
            });
        }
        for r in &batch {
            let candidate = NewAuditRow {
                seq: r.seq,
                id: r.id.clone(),
                at: r.at,
                actor_user_id: r.actor_user_id.as_deref(),
                actor_label: &r.actor_label,
                action: r.action,
                event: &r.event,
                record_type: r.record_type.as_deref(),
                record_id: r.record_id.as_deref(),
                reason: r.reason.as_deref(),
                ip: r.ip.as_deref(),
                details: r.details.clone(),
                prev_hash: String::new(),
                hash: String::new(),
            };
            if r.seq != expected_seq
                || r.prev_hash != prev
                || chain_hash(&prev, &candidate) != r.hash
            {
                return Ok(Err(expected_seq));
            }
            prev = r.hash.clone();
            expected_seq += 1;
            after = r.seq;
        }
    }
}

/// What the administrators' search narrows the log to. Every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// The actor's email address (as recorded) or user id.
    pub user: Option<String>,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub action: Option<AuditAction>,
    /// First and last day, inclusive.
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
}

fn filtered<'a>(f: &Filter) -> audit_events::BoxedQuery<'a, crate::db::MultiBackend> {
    let mut q = audit_events::table.into_boxed();
    if let Some(u) = &f.user {
        q = q.filter(
            audit_events::actor_label
                .eq(u.clone())
                .or(audit_events::actor_user_id.eq(u.clone())),
        );
    }
    if let Some(t) = &f.record_type {
        q = q.filter(audit_events::record_type.eq(t.clone()));
    }
    if let Some(id) = &f.record_id {
        q = q.filter(audit_events::record_id.eq(id.clone()));
    }
    if let Some(a) = f.action {
        q = q.filter(audit_events::action.eq(a));
    }
    if let Some(d) = f.from {
        q = q.filter(audit_events::at.ge(d.and_time(chrono::NaiveTime::MIN)));
    }
    if let Some(d) = f.to.and_then(|d| d.succ_opt()) {
        q = q.filter(audit_events::at.lt(d.and_time(chrono::NaiveTime::MIN)));
    }
    q
}

/// One page of matching entries, newest first, and how many match in all.
pub fn search(
    conn: &mut DbConn,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<AuditRow>, i64), AppError> {
    let total: i64 = filtered(f).count().get_result(conn)?;
    let rows = filtered(f)
        .select(AuditRow::as_select())
        .order(audit_events::seq.desc())
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}

/// Every matching entry, oldest first (for the export), in batches so memory stays flat.
pub fn each_matching(
    conn: &mut DbConn,
    f: &Filter,
    mut each: impl FnMut(&AuditRow),
) -> Result<u64, AppError> {
    let mut after = 0i64;
    let mut n = 0u64;
    loop {
        let batch: Vec<AuditRow> = filtered(f)
            .filter(audit_events::seq.gt(after))
            .select(AuditRow::as_select())
            .order(audit_events::seq.asc())
            .limit(5000)
            .load(conn)?;
        let Some(last) = batch.last() else {
            return Ok(n);
        };
        after = last.seq;
        for r in &batch {
            each(r);
            n += 1;
        }
    }
}

/// One CSV field: always quoted, spreadsheet formulas defused.
pub fn csv_field(s: &str) -> String {
    crate::spreadsheet::quoted(s)
}

/// The columns of the audit CSV, which carries the chain so a reader can check it too.
pub const CSV_COLUMNS: [&str; 14] = [
    "seq",
    "id",
    "at",
    "actor_user_id",
    "actor_label",
    "category",
    "event",
    "record_type",
    "record_id",
    "reason",
    "ip",
    "details",
    "prev_hash",
    "hash",
];

/// One entry as a CSV line (CRLF-terminated).
pub fn csv_line(r: &AuditRow) -> String {
    let at = r.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let seq = r.seq.to_string();
    let fields: [&str; 14] = [
        &seq,
        &r.id,
        &at,
        r.actor_user_id.as_deref().unwrap_or(""),
        &r.actor_label,
        r.action.as_str(),
        &r.event,
        r.record_type.as_deref().unwrap_or(""),
        r.record_id.as_deref().unwrap_or(""),
        r.reason.as_deref().unwrap_or(""),
        r.ip.as_deref().unwrap_or(""),
        &r.details,
        &r.prev_hash,
        &r.hash,
    ];
    let mut line = fields.map(csv_field).join(",");
    line.push_str("\r\n");
    line
}
