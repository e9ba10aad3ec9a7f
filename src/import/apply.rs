//! Writes a plan: people, then merges, then each case with its sessions, then sessions of
//! cases an earlier import made. Each batch is one write transaction with multi-row inserts,
//! its `import_rows` (source id → record) and one audit entry, so a batch is all or nothing
//! and a run stopped between batches resumes by running again.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::report::Report;
use super::{CaseRec, CaseRef, PersonRef, Plan, SessionRec};
use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::schema::{
    import_batches, import_rows, people, referral_status_history, referrals,
    report_referral_months, treatment_sessions,
};
use crate::db::types::{Stamp, StampRef};
use crate::db::{self, DbConn, bulk_insert, deferred_indexes};
use crate::error::AppError;
use crate::referrals::codes::*;
use crate::referrals::state::{Action, Status};
use crate::reports::facts::{self, MonthCounts, Parts};
use crate::sessions::codes::{CancelReason, ChangeParty, Mode, Outcome, SessionStatus};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Source rows per transaction.
    pub batch_rows: usize,
    /// Draw a progress bar on standard error.
    pub progress: bool,
    /// Tests: fail (as a crash would) once this many batches have committed.
    pub fail_after_batches: Option<usize>,
    /// Build a table's ordinary indexes after the load instead of row by row when the plan
    /// brings it at least this many rows and more than it holds (see `defer_indexes`); `None`
    /// never does.
    pub defer_indexes_from: Option<usize>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            batch_rows: 20_000,
            progress: false,
            fail_after_batches: None,
            defer_indexes_from: Some(DEFER_INDEXES_FROM),
        }
    }
}

/// Below this many rows for a table, keeping its indexes up to date row by row costs well
/// under a second: not worth leaving the service's queries without them while the import runs.
pub const DEFER_INDEXES_FROM: usize = 10_000;

/// A table that would hold more rows than this after the import keeps its indexes: building an
/// index holds the write lock, for 3.5–3.7 s at 633,000 sessions on the two-core benchmark
/// machine under load (BENCHMARKS.md), and the service's writers wait at most the 5-second
/// busy timeout.
pub const DEFER_INDEXES_UP_TO: i64 = 1_000_000;

#[derive(Insertable)]
#[diesel(table_name = people, treat_none_as_default_value = false)]
struct PersonRow<'a> {
    id: &'a str,
    given_name: &'a str,
    family_name: &'a str,
    date_of_birth: chrono::NaiveDate,
    sex: Sex,
    gender_identity: GenderIdentity,
    ethnicity: Option<Ethnicity>,
    pnc_id: Option<&'a str>,
    crn: Option<&'a str>,
    area_id: &'a str,
    gp_practice: Option<&'a str>,
    communication_needs: Option<&'a str>,
    interpreter_needed: bool,
    language: Option<&'a str>,
    created_at: StampRef<'a>,
    updated_at: StampRef<'a>,
}

#[derive(Insertable)]
#[diesel(table_name = referrals, treat_none_as_default_value = false)]
struct ReferralRow<'a> {
    id: &'a str,
    reference: &'a str,
    person_id: &'a str,
    area_id: &'a str,
    entry_point: EntryPoint,
    status: Status,
    version: i64,
    created_by: &'a str,
    offence_category: OffenceCategory,
    urgency: Urgency,
    details: &'a str,
    submitted_at: NaiveDateTime,
    updated_at: StampRef<'a>,
    sentence_date: Option<chrono::NaiveDate>,
    requirement_end_date: Option<chrono::NaiveDate>,
    closed_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = referral_status_history, treat_none_as_default_value = false)]
struct HistoryInsert<'a> {
    id: String,
    referral_id: &'a str,
    action: Action,
    to_status: Status,
    actor_user_id: Option<&'a str>,
    actor_name: &'a str,
    at: NaiveDateTime,
    summary: &'a str,
    details: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = treatment_sessions, treat_none_as_default_value = false)]
struct SessionRow<'a> {
    id: &'a str,
    referral_id: &'a str,
    area_id: &'a str,
    ap_user_id: &'a str,
    starts_at: NaiveDateTime,
    minutes: i32,
    mode: Mode,
    status: SessionStatus,
    outcome: Option<Outcome>,
    change_party: Option<ChangeParty>,
    cancel_reason: Option<CancelReason>,
    version: i64,
    created_by: &'a str,
    created_at: StampRef<'a>,
    updated_at: StampRef<'a>,
}

#[derive(Insertable)]
#[diesel(table_name = import_rows)]
struct ImportRow<'a> {
    source_system: &'a str,
    kind: &'static str,
    source_id: &'a str,
    batch_id: &'a str,
    target_table: &'static str,
    target_id: &'a str,
    outcome: &'static str,
}

#[derive(Insertable)]
#[diesel(table_name = report_referral_months)]
struct MonthRow<'a> {
    referral_id: &'a str,
    month: chrono::NaiveDate,
    area_id: &'a str,
    booked: i32,
    delivered: i32,
    missed: i32,
}

/// Who the import is done by: recorded as the creator of imported referrals and sessions.
#[derive(Debug, Clone)]
pub struct Importer {
    pub actor: Actor,
    pub user_id: String,
    pub name: String,
}

/// Counts written by one batch.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    people: usize,
    merged: usize,
    referrals: usize,
    sessions: usize,
}

struct Progress {
    on: bool,
    total: usize,
    done: usize,
}

impl Progress {
    fn step(&mut self, n: usize) {
        self.done += n;
        if self.on && self.total > 0 {
            let pct = self.done * 100 / self.total;
            let filled = pct * 40 / 100;
            let _ = write!(
                std::io::stderr(),
                "\r[{}{}] {:>3}% {}/{} rows",
                "#".repeat(filled),
                " ".repeat(40 - filled),
                pct,
                self.done,
                self.total
            );
            if self.done >= self.total {
                let _ = writeln!(std::io::stderr());
            }
        }
    }
}

/// Where a run's time goes, phase by phase, summed over its batches (logged at debug level).
struct Phases {
    mark: Instant,
    spent: Vec<(&'static str, Duration)>,
    /// The longest a batch held the write lock (others wait up to the busy timeout).
    longest: Duration,
}

impl Phases {
    fn new() -> Self {
        Self {
            mark: Instant::now(),
            spent: Vec::new(),
            longest: Duration::ZERO,
        }
    }

    /// Charges the time since the last lap to `phase`.
    fn lap(&mut self, phase: &'static str) {
        let now = Instant::now();
        let took = now - self.mark;
        self.mark = now;
        match self.spent.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, d)) => *d += took,
            None => self.spent.push((phase, took)),
        }
    }

    /// Notes how long a batch's transaction took, from its start.
    fn held(&mut self, since: Instant) {
        self.longest = self.longest.max(since.elapsed());
    }

    fn log(&self) {
        if log::log_enabled!(log::Level::Debug) {
            let parts: Vec<String> = self
                .spent
                .iter()
                .map(|(p, d)| format!("{p} {:.2}s", d.as_secs_f64()))
                .collect();
            log::debug!(
                "import batches: {}; longest batch {:.2}s",
                parts.join(", "),
                self.longest.as_secs_f64()
            );
        }
    }
}

/// Applies the plan the report describes. With `expected_checksum`, refuses unless the plan is
/// exactly the one a dry run showed.
pub fn apply(
    c: &mut DbConn,
    plan: &Plan,
    report: &mut Report,
    importer: &Importer,
    expected_checksum: Option<&str>,
    opts: &ApplyOptions,
) -> Result<(), AppError> {
    if let Some(expected) = expected_checksum
        && expected != report.checksum
    {
        return Err(AppError::Conflict(format!(
            "the files or the database have changed since the dry run (checksum {} now, {} then): run the dry run again",
            report.checksum, expected
        )));
    }
    report.refuse_unmapped().map_err(AppError::Conflict)?;
    if plan.people.is_empty()
        && plan.merges.is_empty()
        && plan.cases.is_empty()
        && plan.sessions.is_empty()
    {
        // Nothing new: no batch, no audit entry.
        report.applied = true;
        return Ok(());
    }
    let batch_id = crate::ids::new_id();
    let now = crate::clock::now();
    let sys = plan.source_system.as_str();
    db::write_tx(c, |c| {
        diesel::insert_into(import_batches::table)
            .values((
                import_batches::id.eq(&batch_id),
                import_batches::source_system.eq(sys),
                import_batches::mapping.eq(&report.mapping),
                import_batches::checksum.eq(&report.checksum),
                import_batches::started_by.eq(&importer.actor.label),
                import_batches::started_at.eq(now),
                import_batches::summary.eq("{}"),
            ))
            .execute(c)?;
        Ok(())
    })?;
    let mut references: HashSet<String> = referrals::table
        .select(referrals::reference)
        .load(c)?
        .into_iter()
        .collect();
    // The batches commit one by one; the run is acknowledged by the last transaction, which
    // records the import batch as finished (`db::bulk_load` says why the batches need not be
    // synced one by one).
    db::bulk_load(
        c,
        |c| {
            // Indexes an interrupted run set aside come back first (a CREATE INDEX each, cheap
            // beside the load); then this run decides for itself which to set aside.
            deferred_indexes::restore(c)?;
            defer_indexes(c, plan, opts)?;
            let crashed = Cell::new(false);
            let written = write_batches(
                c,
                plan,
                importer,
                &batch_id,
                now,
                &mut references,
                opts,
                &crashed,
            );
            if written.is_err()
                && !crashed.get()
                && let Err(e) = deferred_indexes::restore(c)
            {
                // They are recorded: the next import, `migrate` or start builds them.
                log::warn!("could not build the indexes set aside after a failed import: {e}");
            }
            written
        },
        |c, (totals, committed)| {
            let summary = json!({
                "people": totals.people, "merged": totals.merged, "referrals": totals.referrals,
                "sessions": totals.sessions, "batches": committed,
            });
            db::write_tx(c, |c| {
                diesel::update(import_batches::table.find(&batch_id))
                    .set((
                        import_batches::finished_at.eq(crate::clock::now()),
                        import_batches::summary.eq(summary.to_string()),
                    ))
                    .execute(c)?;
                Ok(())
            })?;
            Ok(())
        },
    )?;
    let after = super::table_counts(c)?;
    for ((_, _, a), (_, now_count, _)) in report.tables.iter_mut().zip(after) {
        *a = now_count;
    }
    report.batch_id = Some(batch_id);
    report.applied = true;
    Ok(())
}

/// Sets aside the ordinary (non-unique) indexes of each table the plan brings more rows than it
/// holds, and at least `opts.defer_indexes_from` (but no more than [`DEFER_INDEXES_UP_TO`] in
/// all), to be built once after the cases are written ([`deferred_indexes`]). Building such an index sorts at most twice the rows the import
/// brings, and writes each page once; keeping it up to date costs a B-tree insert at a random
/// place for every row, and every batch's commit writes again each index page it touched. Into
/// a table already larger than the import, a rebuild would cost more than it saves and hold the
/// write lock for longer, so those keep their indexes. Tables the import writes only a little
/// into (the report cube, the area-month counters) keep theirs.
fn defer_indexes(c: &mut DbConn, plan: &Plan, opts: &ApplyOptions) -> Result<(), AppError> {
    use crate::db::schema::report_facts;
    let Some(from) = opts.defer_indexes_from else {
        return Ok(());
    };
    if !matches!(c, DbConn::Sqlite(_)) {
        // PostgreSQL keeps its indexes: dropping one takes an exclusive lock on the table.
        return Ok(());
    }
    let cases = plan.cases.len() as i64;
    let sessions = plan
        .sessions
        .iter()
        .filter(|s| matches!(s.case, CaseRef::New(_)))
        .count() as i64;
    let tables = [
        (
            "people",
            plan.people.len() as i64,
            people::table.count().get_result::<i64>(c)?,
        ),
        (
            "referrals",
            cases,
            referrals::table.count().get_result::<i64>(c)?,
        ),
        (
            "referral_status_history",
            cases,
            referral_status_history::table
                .count()
                .get_result::<i64>(c)?,
        ),
        (
            "report_facts",
            cases,
            report_facts::table.count().get_result::<i64>(c)?,
        ),
        (
            "treatment_sessions",
            sessions,
            treatment_sessions::table.count().get_result::<i64>(c)?,
        ),
    ];
    let mut deferred = Vec::new();
    for (table, incoming, existing) in tables {
        if incoming >= from as i64
            && incoming > existing
            && existing + incoming <= DEFER_INDEXES_UP_TO
        {
            deferred.extend(deferred_indexes::defer(c, table)?);
        }
    }
    if !deferred.is_empty() {
        log::info!(
            "building {} index(es) once after the load instead of row by row: {}",
            deferred.len(),
            deferred.join(", ")
        );
    }
    Ok(())
}

/// Writes the plan's batches, each one write transaction, and builds the indexes set aside
/// once the cases are in; returns what they wrote and how many there were. `crashed` is set
/// when the failure injected for tests stops it, which, like a crash, leaves the indexes to the
/// next start.
#[allow(clippy::too_many_arguments)]
fn write_batches(
    c: &mut DbConn,
    plan: &Plan,
    importer: &Importer,
    batch_id: &str,
    now: NaiveDateTime,
    references: &mut HashSet<String>,
    opts: &ApplyOptions,
    crashed: &Cell<bool>,
) -> Result<(Counts, usize), AppError> {
    let sys = plan.source_system.as_str();
    let stamp = Stamp::new(now);
    let mut phases = Phases::new();
    let mut progress = Progress {
        on: opts.progress,
        total: plan.people.len() + plan.merges.len() + plan.cases.len() + plan.sessions.len(),
        done: 0,
    };
    let batch_rows = opts.batch_rows.max(1);
    let mut committed = 0usize;
    let mut totals = Counts::default();
    let mut person_ids: HashMap<&str, String> = HashMap::with_capacity(plan.people.len());
    let mut person_facts_of: HashMap<String, PersonFacts> =
        HashMap::with_capacity(plan.people.len());
    let check_crash = |committed: usize| -> Result<(), AppError> {
        if opts.fail_after_batches == Some(committed) {
            crashed.set(true);
            return Err(AppError::Internal(anyhow::anyhow!(
                "import stopped after {committed} batch(es) (injected failure)"
            )));
        }
        Ok(())
    };

    // People.
    for chunk in plan.people.chunks(batch_rows) {
        let ids: Vec<String> = chunk.iter().map(|_| crate::ids::new_id()).collect();
        let began = Instant::now();
        db::write_tx(c, |c| {
            let rows: Vec<PersonRow<'_>> = chunk
                .iter()
                .zip(&ids)
                .map(|(p, id)| PersonRow {
                    id,
                    given_name: &p.given_name,
                    family_name: &p.family_name,
                    date_of_birth: p.date_of_birth,
                    sex: p.sex,
                    gender_identity: p.gender_identity,
                    ethnicity: p.ethnicity,
                    pnc_id: p.pnc_id.as_deref(),
                    crn: p.crn.as_deref(),
                    area_id: &p.area_id,
                    gp_practice: p.gp_practice.as_deref(),
                    communication_needs: p.communication_needs.as_deref(),
                    interpreter_needed: p.interpreter_needed,
                    language: p.language.as_deref(),
                    created_at: stamp.get(),
                    updated_at: stamp.get(),
                })
                .collect();
            bulk_insert!(c, people::table, rows);
            phases.lap("people");
            let maps: Vec<ImportRow<'_>> = chunk
                .iter()
                .zip(&ids)
                .map(|(p, id)| ImportRow {
                    source_system: sys,
                    kind: "people",
                    source_id: &p.source_id,
                    batch_id,
                    target_table: "people",
                    target_id: id,
                    outcome: "imported",
                })
                .collect();
            bulk_insert!(c, import_rows::table, maps);
            phases.lap("import_rows");
            let counts = Counts {
                people: chunk.len(),
                ..Counts::default()
            };
            audit_batch(
                c,
                importer,
                batch_id,
                sys,
                committed + 1,
                counts,
                chunk.first().map(|p| p.source_id.as_str()),
                chunk.last().map(|p| p.source_id.as_str()),
            )
        })?;
        phases.held(began);
        phases.lap("audit and commit");
        for (p, id) in chunk.iter().zip(ids) {
            person_facts_of.insert(id.clone(), (p.sex, p.ethnicity, p.date_of_birth));
            person_ids.insert(p.source_id.as_str(), id);
        }
        totals.people += chunk.len();
        committed += 1;
        progress.step(chunk.len());
        check_crash(committed)?;
    }

    // People who are someone already here, or someone earlier in this import.
    let resolve = |r: &PersonRef, person_ids: &HashMap<&str, String>| -> Result<String, AppError> {
        match r {
            PersonRef::Existing(id) => Ok(id.clone()),
            PersonRef::New(s) => person_ids.get(s.as_str()).cloned().ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("person {s} was planned but not written"))
            }),
        }
    };
    for chunk in plan.merges.chunks(batch_rows) {
        let targets: Vec<String> = chunk
            .iter()
            .map(|m| resolve(&m.into, &person_ids))
            .collect::<Result<_, _>>()?;
        let began = Instant::now();
        db::write_tx(c, |c| {
            let maps: Vec<ImportRow<'_>> = chunk
                .iter()
                .zip(&targets)
                .map(|(m, id)| ImportRow {
                    source_system: sys,
                    kind: "people",
                    source_id: &m.source_id,
                    batch_id,
                    target_table: "people",
                    target_id: id,
                    outcome: "merged",
                })
                .collect();
            bulk_insert!(c, import_rows::table, maps);
            let counts = Counts {
                merged: chunk.len(),
                ..Counts::default()
            };
            audit_batch(
                c,
                importer,
                batch_id,
                sys,
                committed + 1,
                counts,
                chunk.first().map(|m| m.source_id.as_str()),
                chunk.last().map(|m| m.source_id.as_str()),
            )
        })?;
        phases.held(began);
        totals.merged += chunk.len();
        committed += 1;
        progress.step(chunk.len());
        check_crash(committed)?;
    }

    // Cases, each with its sessions, so every batch leaves a case's report facts complete.
    let mut sessions_of: HashMap<&str, Vec<&SessionRec>> = HashMap::new();
    let mut later: Vec<&SessionRec> = Vec::new();
    for s in &plan.sessions {
        match &s.case {
            CaseRef::New(src) => sessions_of.entry(src.as_str()).or_default().push(s),
            CaseRef::Existing { .. } => later.push(s),
        }
    }
    let mut start = 0;
    while start < plan.cases.len() {
        let mut end = start;
        let mut rows = 0;
        while end < plan.cases.len() && rows < batch_rows {
            rows += 1 + sessions_of
                .get(plan.cases[end].source_id.as_str())
                .map_or(0, Vec::len);
            end += 1;
        }
        let chunk = &plan.cases[start..end];
        let ids: Vec<String> = chunk.iter().map(|_| crate::ids::new_id()).collect();
        let mut refs = Vec::with_capacity(chunk.len());
        for _ in chunk {
            let mut r = crate::referrals::service::new_reference();
            while references.contains(&r) {
                r = crate::referrals::service::new_reference();
            }
            references.insert(r.clone());
            refs.push(r);
        }
        let person_of: Vec<String> = chunk
            .iter()
            .map(|r| resolve(&r.person, &person_ids))
            .collect::<Result<_, _>>()?;
        let began = Instant::now();
        let n_sessions = db::write_tx(c, |c| {
            write_cases(
                c,
                plan,
                importer,
                batch_id,
                chunk,
                &ids,
                &refs,
                &person_of,
                &sessions_of,
                &person_facts_of,
                committed + 1,
                &mut phases,
            )
        })?;
        phases.held(began);
        phases.lap("audit and commit");
        totals.referrals += chunk.len();
        totals.sessions += n_sessions;
        committed += 1;
        progress.step(rows);
        start = end;
        check_crash(committed)?;
    }

    // The indexes set aside, built once (before the sessions below, whose facts are recomputed
    // by queries that use them).
    let (built, longest) = deferred_indexes::restore(c)?;
    if built > 0 {
        phases.longest = phases.longest.max(longest);
        phases.lap("building indexes");
    }

    // Sessions of cases an earlier import made: their facts are recomputed from the tables.
    for chunk in later.chunks(batch_rows) {
        let began = Instant::now();
        db::write_tx(c, |c| {
            let mut rows = Vec::with_capacity(chunk.len());
            let mut maps = Vec::with_capacity(chunk.len());
            let ids: Vec<String> = chunk.iter().map(|_| crate::ids::new_id()).collect();
            let mut touched = BTreeMap::new();
            for (s, id) in chunk.iter().zip(&ids) {
                let CaseRef::Existing {
                    referral_id,
                    area_id,
                } = &s.case
                else {
                    continue;
                };
                touched.insert(referral_id.as_str(), ());
                rows.push(session_row(
                    s,
                    id,
                    referral_id,
                    area_id,
                    importer,
                    stamp.get(),
                ));
                maps.push(ImportRow {
                    source_system: sys,
                    kind: "sessions",
                    source_id: &s.source_id,
                    batch_id,
                    target_table: "treatment_sessions",
                    target_id: id,
                    outcome: "imported",
                });
            }
            bulk_insert!(c, treatment_sessions::table, rows);
            bulk_insert!(c, import_rows::table, maps);
            for r in touched.keys() {
                crate::reports::upkeep::refresh(c, r)?;
            }
            let counts = Counts {
                sessions: chunk.len(),
                ..Counts::default()
            };
            audit_batch(
                c,
                importer,
                batch_id,
                sys,
                committed + 1,
                counts,
                chunk.first().map(|s| s.source_id.as_str()),
                chunk.last().map(|s| s.source_id.as_str()),
            )
        })?;
        phases.held(began);
        totals.sessions += chunk.len();
        committed += 1;
        progress.step(chunk.len());
        check_crash(committed)?;
    }
    phases.log();
    Ok((totals, committed))
}

fn session_row<'a>(
    s: &'a SessionRec,
    id: &'a str,
    referral_id: &'a str,
    area_id: &'a str,
    importer: &'a Importer,
    now: StampRef<'a>,
) -> SessionRow<'a> {
    SessionRow {
        id,
        referral_id,
        area_id,
        ap_user_id: &s.ap_user_id,
        starts_at: s.starts_at,
        minutes: s.minutes,
        mode: s.mode,
        status: s.status,
        outcome: s.outcome,
        change_party: s.change_party,
        cancel_reason: s.cancel_reason,
        version: 1,
        created_by: &importer.user_id,
        created_at: now,
        updated_at: now,
    }
}

/// One batch of cases: referrals, their history line, their sessions, their report facts and
/// the mapping of every source id.
#[allow(clippy::too_many_arguments)]
fn write_cases(
    c: &mut DbConn,
    plan: &Plan,
    importer: &Importer,
    batch_id: &str,
    chunk: &[CaseRec],
    ids: &[String],
    refs: &[String],
    person_of: &[String],
    sessions_of: &HashMap<&str, Vec<&SessionRec>>,
    person_facts_of: &HashMap<String, PersonFacts>,
    batch_no: usize,
    phases: &mut Phases,
) -> Result<usize, AppError> {
    let stamp = Stamp::new(crate::clock::now());
    let now = stamp.get();
    let sys = plan.source_system.as_str();
    let details = "{}";
    let summaries: Vec<String> = chunk
        .iter()
        .map(|r| format!("Imported from {sys} (case {})", r.source_id))
        .collect();
    let close_summaries: Vec<String> = chunk
        .iter()
        .map(|r| {
            format!(
                "Closed in {sys} (case {}): imported as {}",
                r.source_id,
                r.status.label().to_lowercase()
            )
        })
        .collect();
    let history_details: Vec<String> = chunk
        .iter()
        .map(|r| {
            json!({"source_system": sys, "source_id": r.source_id, "import_batch": batch_id})
                .to_string()
        })
        .collect();
    let mut referral_rows = Vec::with_capacity(chunk.len());
    let mut history = Vec::with_capacity(chunk.len());
    let mut maps = Vec::with_capacity(chunk.len() * 4);
    let mut session_rows = Vec::new();
    let mut session_ids: Vec<String> = Vec::new();
    let mut fact_rows = Vec::with_capacity(chunk.len());
    let mut month_rows: Vec<(usize, chrono::NaiveDate, MonthCounts)> = Vec::new();
    let mut area_deltas: BTreeMap<(String, chrono::NaiveDate), MonthCounts> = BTreeMap::new();
    for (i, r) in chunk.iter().enumerate() {
        let submitted_at = r.referred_on.and_hms_opt(0, 0, 0).unwrap_or_default();
        // A case imported closed closes on its legacy closing date (UK midnight), which
        // the plan requires of every final status and keeps for no other.
        let closed_at = r
            .closed_on
            .map(|d| crate::clock::london_to_utc(d.and_time(chrono::NaiveTime::MIN)));
        referral_rows.push(ReferralRow {
            id: &ids[i],
            reference: &refs[i],
            person_id: &person_of[i],
            area_id: &r.area_id,
            entry_point: r.entry_point,
            status: r.status,
            version: 1,
            created_by: &importer.user_id,
            offence_category: r.offence_category,
            urgency: r.urgency,
            details,
            submitted_at,
            updated_at: now,
            sentence_date: r.sentence_date,
            requirement_end_date: r.requirement_end_date,
            closed_at,
        });
        // Its timeline: referred on the legacy date, and (if it came over closed) closed on
        // the legacy closing date.
        history.push(HistoryInsert {
            id: crate::ids::new_id(),
            referral_id: &ids[i],
            action: Action::Submit,
            to_status: if closed_at.is_some() {
                Status::Submitted
            } else {
                r.status
            },
            actor_user_id: Some(&importer.user_id),
            actor_name: &importer.name,
            at: submitted_at,
            summary: &summaries[i],
            details: &history_details[i],
        });
        if let Some(at) = closed_at {
            history.push(HistoryInsert {
                id: crate::ids::new_id(),
                referral_id: &ids[i],
                action: Action::Close,
                to_status: r.status,
                actor_user_id: Some(&importer.user_id),
                actor_name: &importer.name,
                at,
                summary: &close_summaries[i],
                details: &history_details[i],
            });
        }
        maps.push(ImportRow {
            source_system: sys,
            kind: "referrals",
            source_id: &r.source_id,
            batch_id,
            target_table: "referrals",
            target_id: &ids[i],
            outcome: "imported",
        });
        let sessions = sessions_of
            .get(r.source_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for _ in sessions {
            session_ids.push(crate::ids::new_id());
        }
        // The report facts, derived from what this batch writes (the one definition).
        let (sex, ethnicity, born) = person_facts_of
            .get(person_of[i].as_str())
            .or_else(|| plan.existing_people.get(&person_of[i]))
            .copied()
            .map(Ok)
            .unwrap_or_else(|| person_facts(c, &person_of[i]))?;
        let mut timeline: Vec<_> = sessions
            .iter()
            .map(|s| (s.starts_at, s.status, s.outcome))
            .collect();
        timeline.sort_by_key(|t| t.0);
        let parts = Parts {
            referral_id: ids[i].clone(),
            area_id: r.area_id.clone(),
            entry_point: r.entry_point,
            status: r.status,
            submitted_at,
            sentence_date: r.sentence_date,
            combined_with: None,
            sex,
            ethnicity,
            born,
            history: std::iter::once((Action::Submit, submitted_at, history_details[i].clone()))
                .chain(closed_at.map(|at| (Action::Close, at, history_details[i].clone())))
                .collect(),
            sessions: timeline,
            measures: Vec::new(),
            signposted: Vec::new(),
        };
        let (fact, months) = facts::derive(&parts);
        for (m, counts) in months {
            month_rows.push((i, m, counts));
            let e = area_deltas.entry((r.area_id.clone(), m)).or_default();
            e.booked += counts.booked;
            e.delivered += counts.delivered;
            e.missed += counts.missed;
        }
        fact_rows.push(fact);
    }
    let mut k = 0;
    for (i, r) in chunk.iter().enumerate() {
        for s in sessions_of
            .get(r.source_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            session_rows.push(session_row(
                s,
                &session_ids[k],
                &ids[i],
                &r.area_id,
                importer,
                now,
            ));
            maps.push(ImportRow {
                source_system: sys,
                kind: "sessions",
                source_id: &s.source_id,
                batch_id,
                target_table: "treatment_sessions",
                target_id: &session_ids[k],
                outcome: "imported",
            });
            k += 1;
        }
    }
    phases.lap("cases in memory");
    bulk_insert!(c, referrals::table, referral_rows);
    phases.lap("referrals");
    bulk_insert!(c, referral_status_history::table, history);
    phases.lap("history");
    bulk_insert!(c, treatment_sessions::table, session_rows);
    phases.lap("sessions");
    bulk_insert!(c, import_rows::table, maps);
    phases.lap("import_rows");
    bulk_insert!(c, crate::db::schema::report_facts::table, fact_rows);
    phases.lap("report facts");
    crate::reports::cube::add_facts(c, &fact_rows)?;
    phases.lap("report cube");
    let months: Vec<MonthRow<'_>> = month_rows
        .iter()
        .map(|(i, m, n)| MonthRow {
            referral_id: &ids[*i],
            month: *m,
            area_id: &chunk[*i].area_id,
            booked: n.booked,
            delivered: n.delivered,
            missed: n.missed,
        })
        .collect();
    bulk_insert!(c, report_referral_months::table, months);
    for ((area, month), delta) in &area_deltas {
        facts::add_to_area_month(c, area, *month, *delta)?;
    }
    phases.lap("report months");
    crate::quality::upkeep::add_new(c, ids)?;
    phases.lap("data quality");
    crate::sessions::capacity::upkeep::add_new(c, ids)?;
    phases.lap("capacity");
    let counts = Counts {
        referrals: chunk.len(),
        sessions: k,
        ..Counts::default()
    };
    audit_batch(
        c,
        importer,
        batch_id,
        sys,
        batch_no,
        counts,
        chunk.first().map(|r| r.source_id.as_str()),
        chunk.last().map(|r| r.source_id.as_str()),
    )?;
    Ok(k)
}

type PersonFacts = (Sex, Option<Ethnicity>, chrono::NaiveDate);

fn person_facts(c: &mut DbConn, id: &str) -> Result<PersonFacts, AppError> {
    Ok(people::table
        .find(id)
        .select((people::sex, people::ethnicity, people::date_of_birth))
        .first(c)?)
}

/// One audit entry per batch (a combination under DPA 2018 s.62), naming the import batch,
/// the source system, the counts and the first and last source ids it carried.
#[allow(clippy::too_many_arguments)]
fn audit_batch(
    c: &mut DbConn,
    importer: &Importer,
    batch_id: &str,
    source_system: &str,
    batch_no: usize,
    counts: Counts,
    first: Option<&str>,
    last: Option<&str>,
) -> Result<(), AppError> {
    audit::record(
        c,
        &importer.actor,
        Event::new(AuditAction::Combination, "import.batch")
            .record("import_batch", batch_id)
            .details(json!({
                "source_system": source_system,
                "batch": batch_no,
                "people": counts.people,
                "merged": counts.merged,
                "referrals": counts.referrals,
                "sessions": counts.sessions,
                "first_source_id": first,
                "last_source_id": last,
            })),
    )
}
