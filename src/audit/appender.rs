//! Group commit for audit entries that stand alone: a view of a referral or a person writes
//! its entry and nothing else, and many people look at records at once. Each entry still
//! commits, durably, before the page that records it is shown; but the entries waiting at
//! any moment share one transaction (and so one sync to disk), and are chained in the order
//! they arrived. One thread appends; callers wait for their group to commit.
//!
//! Entries that belong to a change keep going through [`super::record`] inside the change's
//! own transaction, so the change and its entry commit together.

use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::{Actor, AuditAction, Event};
use crate::db::{DbPool, write_tx};
use crate::error::AppError;

/// The most entries one transaction takes.
const MAX_GROUP: usize = 512;

/// An [`Event`] that owns its text, to cross to the appending thread.
#[derive(Debug, Clone)]
struct OwnedEvent {
    action: AuditAction,
    event: String,
    record_type: Option<String>,
    record_id: Option<String>,
    reason: Option<String>,
    details: serde_json::Value,
}

impl OwnedEvent {
    fn of(e: &Event<'_>) -> Self {
        Self {
            action: e.action,
            event: e.event.to_owned(),
            record_type: e.record_type.map(str::to_owned),
            record_id: e.record_id.map(str::to_owned),
            reason: e.reason.map(str::to_owned),
            details: e.details.clone(),
        }
    }

    fn as_event(&self) -> Event<'_> {
        Event {
            action: self.action,
            event: &self.event,
            record_type: self.record_type.as_deref(),
            record_id: self.record_id.as_deref(),
            reason: self.reason.as_deref(),
            details: self.details.clone(),
        }
    }
}

struct Job {
    actor: Actor,
    event: OwnedEvent,
    done: oneshot::Sender<Result<(), String>>,
}

/// The sending side; cheap to clone. The thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct Appender {
    jobs: mpsc::Sender<Job>,
}

impl Appender {
    pub fn start(pool: DbPool) -> Result<Self, AppError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("audit-appender".into())
            .spawn(move || run(&pool, &queue))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("audit appender: {e}")))?;
        Ok(Self { jobs })
    }

    /// Appends `event` and returns once it is committed. An entry that could not be written
    /// is an error: the caller must not show what it was to record.
    pub async fn append(&self, actor: &Actor, event: Event<'_>) -> Result<(), AppError> {
        let (done, committed) = oneshot::channel();
        let unavailable =
            || AppError::Unavailable("the audit log is not accepting entries".to_owned());
        self.jobs
            .send(Job {
                actor: actor.clone(),
                event: OwnedEvent::of(&event),
                done,
            })
            .map_err(|_| unavailable())?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AppError::Unavailable(e)),
            Err(_) => Err(unavailable()),
        }
    }
}

fn run(pool: &DbPool, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let result = commit(pool, &group);
        if let Err(e) = &result {
            log::error!("audit entries not written ({} waiting): {e}", group.len());
        }
        for job in group {
            // The caller may have gone (a closed connection): nothing to tell.
            let _ = job.done.send(result.clone());
        }
    }
}

fn commit(pool: &DbPool, group: &[Job]) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let result = write_tx(&mut conn, |c| {
        let events: Vec<(&Actor, Event<'_>)> = group
            .iter()
            .map(|j| (&j.actor, j.event.as_event()))
            .collect();
        super::record_all(c, &events)
    });
    if let Err(e) = &result {
        crate::db::note_if_lost(e);
    }
    drop(conn);
    result.map_err(|e| e.to_string())
}

/// The audit log's appender for a pool, started on first use: what a handler calls to
/// record a view that stands alone ([`Views::append`]).
#[derive(Clone)]
pub struct Views {
    pool: DbPool,
    appender: std::sync::Arc<std::sync::OnceLock<Appender>>,
}

impl Views {
    pub fn new(pool: DbPool) -> Self {
        Self {
            pool,
            appender: Default::default(),
        }
    }

    /// Appends an audit entry that stands alone (a view), group-committed with the others
    /// waiting; returns once it is durable.
    pub async fn append(&self, actor: &Actor, event: Event<'_>) -> Result<(), AppError> {
        let appender = match self.appender.get() {
            Some(a) => a.clone(),
            None => {
                let started = Appender::start(self.pool.clone())?;
                self.appender.get_or_init(|| started).clone()
            }
        };
        appender.append(actor, event).await
    }
}
