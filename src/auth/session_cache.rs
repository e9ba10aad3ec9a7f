//! Signed-in sessions recently checked against the database, so that a run of page views by
//! one person does not read their session, user and areas again on every request.
//!
//! The cache is only ever consulted for requests that change nothing (GET, HEAD): every
//! state change is checked against the database as it stands. An entry is used only while
//! all of these hold, and the request goes to the database otherwise:
//! - it is younger than `security.session_cache_seconds` (0 turns the cache off), which
//!   bounds how late another process's change (a user disabled from the command line, a
//!   session ended by another server) is noticed;
//! - nothing has changed since it was read: every state-changing request to this service,
//!   and any session change made while showing a page (a flash message taken), makes every
//!   entry stale ([`SessionCache::changed`]);
//! - the session has neither reached its absolute end nor been idle too long, and the user is
//!   neither disabled nor out of vetting, checked again on the cached copy at each use.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Duration, NaiveDateTime};

use crate::auth::session::{SessionRow, SessionStage};
use crate::settings::SecuritySettings;
use crate::users::model::User;

/// More sessions than this at once and the cache starts again empty.
const MAX_ENTRIES: usize = 10_000;

/// A signed-in person as the guard hands them to pages.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: User,
    pub session: SessionRow,
    pub area_ids: Vec<String>,
}

struct Entry {
    staff: Staff,
    read_at: NaiveDateTime,
    generation: u64,
}

/// The cache of one running service. Its generation is its own, so two services in one
/// process (as in the test suite) never make each other's entries stale.
pub struct SessionCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
}

impl SessionCache {
    pub fn new(settings: &SecuritySettings) -> Self {
        Self {
            ttl: Duration::seconds(settings.session_cache_seconds.max(0)),
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Makes every cached session stale. Called once anything that may change a session, a
    /// user or their areas has been written and committed.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The current generation, read before loading from the database: an entry stored under
    /// it is stale if anything changed while it was being read.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn enabled(&self) -> bool {
        self.ttl > Duration::zero()
    }

    /// The cached person behind a session id, if the entry may still be used.
    pub fn get(&self, session_id: &str, settings: &SecuritySettings) -> Option<Staff> {
        if !self.enabled() {
            return None;
        }
        let now = crate::clock::now();
        let current = self.generation();
        let staff = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let e = entries.get(session_id)?;
            let fresh = e.generation == current && e.read_at <= now && now - e.read_at < self.ttl;
            if !fresh {
                return None;
            }
            e.staff.clone()
        };
        let s = &staff.session;
        let live = s.ended_at.is_none()
            && s.stage == SessionStage::Full
            && now < s.expires_at
            && now - s.last_seen_at < Duration::minutes(settings.idle_timeout_minutes);
        let allowed =
            !staff.user.is_disabled() && !staff.user.vetting_expired(crate::clock::today());
        (live && allowed).then_some(staff)
    }

    /// Keeps what the database said, under the generation read before asking it.
    pub fn put(&self, staff: &Staff, generation: u64) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            staff.session.id.clone(),
            Entry {
                staff: staff.clone(),
                read_at: crate::clock::now(),
                generation,
            },
        );
    }
}
