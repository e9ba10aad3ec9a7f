//! Delivers the outbox. Each message is claimed under a lease in its own transaction, sent,
//! then marked sent in another transaction once the server has accepted it. A worker that
//! dies between the two leaves the message in `sending`; when the lease runs out another
//! worker sends it again with the same `Message-ID`. Delivery is therefore at least once,
//! and receivers can drop repeats by `Message-ID`.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::Db;
use crate::error::AppError;
use crate::notifications::model;
use crate::notifications::transport::Transport;
use crate::settings::EmailSettings;

/// What one pass over the due messages did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
}

#[derive(Clone)]
pub struct Worker {
    db: Db,
    transport: Arc<dyn Transport>,
    settings: EmailSettings,
    owner: String,
}

impl Worker {
    pub fn new(db: Db, transport: Arc<dyn Transport>, settings: &EmailSettings) -> Self {
        Self {
            db,
            transport,
            settings: settings.clone(),
            owner: format!("worker-{}", crate::ids::new_id()),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Sends every message due now, one at a time, and returns what happened.
    pub async fn run_once(&self) -> Result<Pass, AppError> {
        let mut pass = Pass::default();
        let lease = chrono::Duration::seconds(self.settings.lease_secs);
        let started = crate::clock::now();
        loop {
            let owner = self.owner.clone();
            let claimed = self
                .db
                .write(move |c| model::claim_next(c, &owner, started, lease))
                .await?;
            let Some(message) = claimed else {
                return Ok(pass);
            };
            let result = self.transport.send(&message).await;
            let owner = self.owner.clone();
            let id = message.id.clone();
            match result {
                Ok(()) => {
                    let details = serde_json::json!({
                        "kind": message.kind.as_str(),
                        "to": message.recipient,
                    });
                    // Sending is a disclosure: recorded with the delivery, in one transaction.
                    let kept = self
                        .db
                        .write(move |c| {
                            let kept = model::mark_sent(c, &id, &owner)?;
                            if kept {
                                crate::audit::record(
                                    c,
                                    &crate::audit::Actor::system("email worker"),
                                    crate::audit::Event::new(
                                        crate::audit::AuditAction::Disclosure,
                                        "email.sent",
                                    )
                                    .record("email", &id)
                                    .details(details),
                                )?;
                            }
                            Ok(kept)
                        })
                        .await?;
                    if !kept {
                        log::warn!(
                            "email {} was sent after its lease ran out; another worker may send it again",
                            message.id
                        );
                    }
                    pass.sent += 1;
                }
                Err(e) => {
                    let retry_at = (!e.permanent && message.attempts < self.settings.max_attempts)
                        .then(|| retry_time(&self.settings, message.attempts, crate::clock::now()));
                    if retry_at.is_some() {
                        pass.retrying += 1;
                    } else {
                        pass.dead += 1;
                    }
                    log::warn!(
                        "email {} ({}) attempt {} failed: {}{}",
                        message.id,
                        message.kind,
                        message.attempts,
                        e.summary,
                        if retry_at.is_some() {
                            ""
                        } else {
                            "; dead-lettered"
                        }
                    );
                    let summary = e.summary.clone();
                    self.db
                        .write(move |c| model::mark_failed(c, &id, &owner, &summary, retry_at))
                        .await?;
                }
            }
        }
    }

    /// Polls until the process ends. A failed pass (database unavailable) is logged and
    /// tried again at the next tick.
    pub fn spawn(self) {
        let interval = Duration::from_secs(self.settings.poll_interval_secs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let pass = self.run_once().await;
                crate::metrics::worker_pass("email", pass.is_ok());
                if let Err(e) = pass {
                    log::warn!("email delivery pass failed: {e}");
                }
            }
        });
    }
}

/// When to try again after `attempts` failed attempts: base × 2^(attempts − 1), capped.
pub fn retry_time(settings: &EmailSettings, attempts: i32, now: NaiveDateTime) -> NaiveDateTime {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let wait = settings
        .backoff_base_secs
        .saturating_mul(1_i64 << exponent)
        .min(settings.backoff_max_secs);
    now + chrono::Duration::seconds(wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::messages::{Message, MessageKind};
    use crate::notifications::model::{OutboxStatus, enqueue};
    use crate::notifications::transport::{MemoryTransport, SendError};

    async fn worker_on_a_fresh_database(dir: &tempfile::TempDir) -> (Worker, MemoryTransport, Db) {
        let url = crate::db::DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("t.db").display()
        ))
        .unwrap();
        let pool = crate::db::build_pool(&url, 2, std::time::Duration::from_secs(5)).unwrap();
        crate::db::run_migrations(&mut pool.get().unwrap()).unwrap();
        let db = Db::new(pool, &url);
        let memory = MemoryTransport::default();
        let mut settings = crate::settings::Settings::from_toml("").unwrap().email;
        settings.backoff_base_secs = 0;
        let worker = Worker::new(db.clone(), Arc::new(memory.clone()), &settings);
        (worker, memory, db)
    }

    fn message() -> Message {
        Message {
            kind: MessageKind::VettingExpiring,
            to: "someone@example.org".into(),
            subject: "Subject".into(),
            text_body: "Text".into(),
            html_body: "<p>HTML</p>".into(),
        }
    }

    #[tokio::test]
    async fn queued_messages_are_sent_once_and_a_permanent_refusal_is_not_retried() {
        let dir = tempfile::TempDir::new().unwrap();
        let (worker, memory, db) = worker_on_a_fresh_database(&dir).await;
        db.write(|c| enqueue(c, message())).await.unwrap();
        assert_eq!(worker.run_once().await.unwrap().sent, 1);
        assert_eq!(worker.run_once().await.unwrap(), Pass::default());
        assert_eq!(memory.sent.lock().unwrap().len(), 1);

        *memory.fail_with.lock().unwrap() = Some(SendError::permanent("refused"));
        db.write(|c| enqueue(c, message())).await.unwrap();
        assert_eq!(worker.run_once().await.unwrap().dead, 1);
        let dead = db.run(|c| model::dead(c, 10)).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].status, OutboxStatus::Dead);
        assert_eq!(dead[0].attempts, 1);
    }

    #[test]
    fn the_wait_doubles_and_is_capped() {
        let s = crate::settings::Settings::from_toml("").unwrap().email;
        let now = crate::clock::now();
        let wait = |n| (retry_time(&s, n, now) - now).num_seconds();
        assert_eq!(wait(1), 60);
        assert_eq!(wait(2), 120);
        assert_eq!(wait(3), 240);
        assert_eq!(wait(7), 3600);
        assert_eq!(wait(1000), 3600);
    }
}
