//! Sends the reminders that are due, one at a time, each claimed under a lease. Before a
//! reminder goes, the worker checks it still fits (the session still booked at that time,
//! the person still reachable that way); after it goes, it asks Notify how delivery went.
//!
//! Nothing is sent twice: each message's id is its Notify `reference`, and a message that
//! was claimed before (a worker died after Notify took it, before recording that) is looked
//! up by its reference first and only sent if Notify does not have it.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::Db;
use crate::error::AppError;
use crate::reminders::model::{self, Reminder};
use crate::reminders::notify::{Client, Connection, NotifyError};
use crate::reminders::{Delivery, schedule};
use crate::settings::{ReminderSettings, ReminderTransport};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
    /// Withdrawn before sending: no longer fitting.
    pub withdrawn: usize,
    /// Delivery statuses asked of Notify.
    pub checked: usize,
    /// Letters written in place of failed text messages.
    pub letters: usize,
}

enum Sender {
    Log,
    Notify(Client),
}

#[derive(Clone)]
pub struct Worker {
    db: Db,
    sender: Arc<Sender>,
    settings: Arc<ReminderSettings>,
    owner: String,
}

const LEASE_SECS: i64 = 120;

impl Worker {
    /// The worker the settings ask for, or None while reminders are off.
    pub fn from_settings(db: Db, settings: &ReminderSettings) -> Result<Option<Self>, AppError> {
        if !settings.enabled() {
            return Ok(None);
        }
        let sender = match settings.transport {
            ReminderTransport::Off => return Ok(None),
            ReminderTransport::Log => Sender::Log,
            ReminderTransport::Notify => {
                let n = &settings.notify;
                Sender::Notify(
                    Client::new(&Connection {
                        base_url: &n.base_url,
                        api_key: &n.api_key,
                        sms_template: &n.sms_template_id,
                        email_template: &n.email_template_id,
                        letter_template: &n.letter_template_id,
                        timeout_secs: n.timeout_secs,
                    })
                    .map_err(|e| AppError::Config(format!("reminders.notify: {e}")))?,
                )
            }
        };
        Ok(Some(Self {
            db,
            sender: Arc::new(sender),
            settings: Arc::new(settings.clone()),
            owner: format!("reminders-{}", crate::ids::new_id()),
        }))
    }

    /// Sends what is due now, then asks Notify about messages sent earlier.
    pub async fn run_once(&self) -> Result<Pass, AppError> {
        let mut pass = Pass::default();
        let lease = chrono::Duration::seconds(LEASE_SECS);
        let started = crate::clock::now();
        loop {
            let owner = self.owner.clone();
            let claimed = self
                .db
                .write(move |c| model::claim_next(c, &owner, started, lease))
                .await?;
            let Some(r) = claimed else { break };
            self.deliver(r, &mut pass).await?;
        }
        self.check_statuses(&mut pass).await?;
        Ok(pass)
    }

    async fn deliver(&self, r: Reminder, pass: &mut Pass) -> Result<(), AppError> {
        let (owner, id) = (self.owner.clone(), r.id.clone());
        let check = r.clone();
        let withdrawn = self
            .db
            .write(move |c| {
                Ok(match schedule::still_wanted(c, &check)? {
                    Some(why) => model::cancel(c, &id, Some(&owner), why)?,
                    None => false,
                })
            })
            .await?;
        if withdrawn {
            pass.withdrawn += 1;
            return Ok(());
        }
        let outcome: Result<(Option<String>, Delivery), NotifyError> = match &*self.sender {
            Sender::Log => {
                log::info!(
                    "reminder {} ({}, {}) is due; reminders are only logged, so nothing is sent",
                    r.id,
                    r.kind,
                    r.channel
                );
                Ok((None, Delivery::Logged))
            }
            Sender::Notify(client) => {
                let earlier = if r.attempts > 1 {
                    client.find(&r.id).await
                } else {
                    Ok(None)
                };
                match earlier {
                    Ok(Some(n)) => Ok((
                        Some(n.id),
                        n.status
                            .as_deref()
                            .and_then(Delivery::from_notify)
                            .unwrap_or(Delivery::Created),
                    )),
                    Ok(None) => client
                        .send(&r)
                        .await
                        .map(|id| (Some(id), Delivery::Created)),
                    Err(e) => Err(e),
                }
            }
        };
        let owner = self.owner.clone();
        match outcome {
            Ok((provider_id, delivery)) => {
                let r2 = r.clone();
                let kept = self
                    .db
                    .write(move |c| {
                        let kept =
                            model::mark_sent(c, &r2.id, &owner, provider_id.as_deref(), delivery)?;
                        if kept {
                            audit::record(
                                c,
                                &Actor::system("reminder worker"),
                                Event::new(AuditAction::Disclosure, "reminder.sent")
                                    .record("session", &r2.session_id)
                                    .details(serde_json::json!({
                                        "reminder": r2.id,
                                        "kind": r2.kind.as_str(),
                                        "channel": r2.channel.as_str(),
                                    })),
                            )?;
                        }
                        Ok(kept)
                    })
                    .await?;
                if !kept {
                    log::warn!("reminder {} was sent after its lease ran out", r.id);
                }
                pass.sent += 1;
            }
            Err(e) => {
                let retry_at = (!e.permanent && r.attempts < self.settings.max_attempts)
                    .then(|| retry_time(r.attempts, crate::clock::now()));
                log::warn!(
                    "reminder {} ({}, {}) attempt {} failed: {}{}",
                    r.id,
                    r.kind,
                    r.channel,
                    r.attempts,
                    e.summary,
                    if retry_at.is_some() { "" } else { "; given up" }
                );
                if retry_at.is_some() {
                    pass.retrying += 1;
                } else {
                    pass.dead += 1;
                }
                let settings = self.settings.clone();
                let letter = self
                    .db
                    .write(move |c| {
                        model::mark_failed(c, &r.id, &owner, &e.summary, retry_at)?;
                        if retry_at.is_none() && e.permanent {
                            return schedule::letter_instead(c, &settings, &r);
                        }
                        Ok(None)
                    })
                    .await?;
                pass.letters += usize::from(letter.is_some());
            }
        }
        Ok(())
    }

    /// Asks Notify about messages sent and not yet delivered or failed; writes a letter in
    /// place of a text message or an email that failed for good.
    async fn check_statuses(&self, pass: &mut Pass) -> Result<(), AppError> {
        let Sender::Notify(client) = &*self.sender else {
            return Ok(());
        };
        let before =
            crate::clock::now() - chrono::Duration::minutes(self.settings.status_check_minutes);
        let due = self
            .db
            .run(move |c| model::to_check(c, before, 100))
            .await?;
        for r in due {
            let Some(pid) = r.provider_id.clone() else {
                continue;
            };
            let delivery = match client.status(&pid).await {
                Ok(n) => n.status.as_deref().and_then(Delivery::from_notify),
                Err(e) => {
                    log::warn!(
                        "the status of reminder {} could not be read: {}",
                        r.id,
                        e.summary
                    );
                    None
                }
            };
            let settings = self.settings.clone();
            let letter = self
                .db
                .write(move |c| {
                    let Some(d) = delivery else {
                        // Asked: wait for the next interval before asking again.
                        model::set_delivery(c, &r.id, r.delivery.unwrap_or(Delivery::Created))?;
                        return Ok(None);
                    };
                    model::set_delivery(c, &r.id, d)?;
                    if d.failed() {
                        return schedule::letter_instead(c, &settings, &r);
                    }
                    Ok(None)
                })
                .await?;
            pass.checked += 1;
            pass.letters += usize::from(letter.is_some());
        }
        Ok(())
    }

    /// Polls until the process ends.
    pub fn spawn(self) {
        let interval = Duration::from_secs(self.settings.poll_interval_secs.max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let pass = self.run_once().await;
                crate::metrics::worker_pass("reminders", pass.is_ok());
                if let Err(e) = pass {
                    log::warn!("reminder pass failed: {e}");
                }
            }
        });
    }
}

/// One minute after the first failure, doubling, at most an hour.
pub fn retry_time(attempts: i32, now: NaiveDateTime) -> NaiveDateTime {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(6);
    now + chrono::Duration::seconds((60_i64 << exponent).min(3600))
}
