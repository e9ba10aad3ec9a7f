//! A report kept in memory per (areas, period, audience, day) and the version of its
//! inputs (the uptake report keeps one; `reports::uptake::report`) (migration 000040: a counter every write to a table the report reads moves on,
//! in the write's own transaction). The version is read in the same snapshot the report
//! would be built in, so a report kept under a version is exactly what building it again
//! would give: every figure equals a recount. A hit costs one read of the counter instead
//! of the build (BENCHMARKS.md: 64 readers at once). Each instance keeps its own, so
//! several instances on one database stay correct. Views are still audited by the callers,
//! hit or not.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::report_version;
use crate::error::AppError;

/// Reports kept at most; past it the oldest kept is dropped.
const KEPT: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The areas' ids, in the order the report shows them.
    pub areas: Vec<String>,
    pub period: String,
    /// Through disclosure control (councillors) or not.
    pub suppress: bool,
    pub threshold: i64,
    /// Figures for a period that can still change are marked provisional by today's date.
    pub today: NaiveDate,
}

struct Kept<V> {
    version: i64,
    report: Arc<V>,
    /// When it was last used, in calls: the oldest goes first.
    used: u64,
}

struct Shelf<V> {
    kept: HashMap<Key, Kept<V>>,
    calls: u64,
}

/// Reports of one kind kept, each with the version it was built at.
pub struct Cache<V> {
    inner: LazyLock<Mutex<Shelf<V>>>,
}

impl<V> Cache<V> {
    pub const fn new() -> Self {
        Self {
            inner: LazyLock::new(|| {
                Mutex::new(Shelf {
                    kept: HashMap::new(),
                    calls: 0,
                })
            }),
        }
    }
}

impl<V> Default for Cache<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// The version of the report's inputs, as this transaction sees them.
pub fn version(c: &mut DbConn) -> Result<i64, AppError> {
    Ok(report_version::table
        .find(1)
        .select(report_version::version)
        .first(c)?)
}

impl<V> Cache<V> {
    /// The report for `key` as of this transaction: kept, or made by `build` and kept. Call
    /// inside the transaction `build` reads in.
    pub fn get_or_build(
        &self,
        c: &mut DbConn,
        key: Key,
        build: impl FnOnce(&mut DbConn) -> Result<V, AppError>,
    ) -> Result<Arc<V>, AppError> {
        let version = version(c)?;
        {
            let mut cache = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            cache.calls += 1;
            let calls = cache.calls;
            if let Some(k) = cache.kept.get_mut(&key)
                && k.version == version
            {
                k.used = calls;
                crate::metrics::report_cache(true);
                return Ok(k.report.clone());
            }
        }
        crate::metrics::report_cache(false);
        let report = Arc::new(build(c)?);
        let mut cache = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let calls = cache.calls;
        // A newer version kept meanwhile by another reader stays.
        if cache.kept.get(&key).is_some_and(|k| k.version > version) {
            return Ok(report);
        }
        if cache.kept.len() >= KEPT
            && !cache.kept.contains_key(&key)
            && let Some(oldest) = cache
                .kept
                .iter()
                .min_by_key(|(_, k)| k.used)
                .map(|(key, _)| key.clone())
        {
            cache.kept.remove(&oldest);
        }
        cache.kept.insert(
            key,
            Kept {
                version,
                report: report.clone(),
                used: calls,
            },
        );
        Ok(report)
    }
}

/// A kept report with the renderings of it made so far, each a pure function of the report
/// and the rendering's name (the page's tables, the print view's): made on first use and
/// dropped with the report when its version is passed, so a hit renders nothing again.
pub struct WithViews<V> {
    pub report: V,
    views: Mutex<HashMap<&'static str, Arc<str>>>,
}

impl<V> WithViews<V> {
    pub fn new(report: V) -> Self {
        Self {
            report,
            views: Mutex::new(HashMap::new()),
        }
    }

    /// The rendering `name` of the report, made by `make` the first time it is asked for.
    pub fn view(
        &self,
        name: &'static str,
        make: impl FnOnce(&V) -> Result<String, AppError>,
    ) -> Result<Arc<str>, AppError> {
        if let Some(v) = self
            .views
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(v.clone());
        }
        // Made outside the lock: two first readers may both make it, and either is kept.
        let made: Arc<str> = make(&self.report)?.into();
        Ok(self
            .views
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name)
            .or_insert(made)
            .clone())
    }
}
