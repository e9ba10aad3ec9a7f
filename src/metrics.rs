//! Operational metrics in the Prometheus text format. Counters and histograms kept by this
//! instance (requests per route pattern, sign-in attempts, housekeeping runs) and figures read
//! from the database when scraped (pool use, the outboxes), so each instance of several
//! reports its own traffic and all report the shared queues alike.
//!
//! Labels are bounded: a request is labelled with its route pattern (`/referrals/{id}`),
//! never its path or query string, and a path no route matches is `unmatched`. Nothing here
//! names a person.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabel {
    job: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

struct Instance {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    sign_in: Family<OutcomeLabels, Counter>,
    housekeeping: Family<JobLabels, Counter>,
    housekeeping_last: Family<JobLabel, Gauge>,
    worker: Family<JobLabels, Counter>,
    report_cache: Family<OutcomeLabels, Counter>,
    worker_last: Family<JobLabel, Gauge>,
}

static METRICS: LazyLock<Instance> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("mhtr");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests answered, by method, route pattern and status",
        requests.clone(),
    );
    let latency: Latency = Family::new_with_constructor(latency_histogram);
    registry.register(
        "http_request_duration_seconds",
        "Time to answer an HTTP request, by method and route pattern",
        latency.clone(),
    );
    let sign_in = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "sign_in_attempts",
        "Sign-in attempts (password and code) by outcome: succeeded, failed or throttled",
        sign_in.clone(),
    );
    let housekeeping = Family::<JobLabels, Counter>::default();
    registry.register(
        "housekeeping_runs",
        "Housekeeping jobs run, by job and outcome (ok or failed)",
        housekeeping.clone(),
    );
    let housekeeping_last = Family::<JobLabel, Gauge>::default();
    registry.register(
        "housekeeping_last_run_timestamp_seconds",
        "When each housekeeping job last finished, as a Unix time",
        housekeeping_last.clone(),
    );
    let worker = Family::<JobLabels, Counter>::default();
    registry.register(
        "worker_passes",
        "Passes of the delivery workers over their outbox (job: email, reminders), by outcome",
        worker.clone(),
    );
    let worker_last = Family::<JobLabel, Gauge>::default();
    registry.register(
        "worker_last_pass_timestamp_seconds",
        "When each delivery worker last finished a pass, as a Unix time",
        worker_last.clone(),
    );
    let report_cache = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "report_cache_lookups",
        "Uptake reports asked for, by outcome: hit (kept, its inputs unchanged) or built",
        report_cache.clone(),
    );
    Instance {
        report_cache,
        registry,
        requests,
        latency,
        sign_in,
        housekeeping,
        housekeeping_last,
        worker,
        worker_last,
    }
});

/// The method label: the standard methods by name, anything else as `other`, so a client
/// cannot add labels by inventing methods.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// A request answered: `route` is its pattern (or [`UNMATCHED`]).
pub fn request(method: &str, route: &str, status: u16, seconds: f64) {
    let method = method_label(method);
    let m = &*METRICS;
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route: route.to_owned(),
            status,
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabels {
            method,
            route: route.to_owned(),
        })
        .observe(seconds);
}

/// How a sign-in attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    Succeeded,
    Failed,
    Throttled,
}

/// A sign-in attempt (a password or a code) has its outcome.
pub fn sign_in(outcome: SignIn) {
    let outcome = match outcome {
        SignIn::Succeeded => "succeeded",
        SignIn::Failed => "failed",
        SignIn::Throttled => "throttled",
    };
    METRICS
        .sign_in
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
}

/// A housekeeping job has run.
pub fn housekeeping(job: &'static str, ok: bool) {
    let m = &*METRICS;
    m.housekeeping
        .get_or_create(&JobLabels {
            job,
            outcome: if ok { "ok" } else { "failed" },
        })
        .inc();
    m.housekeeping_last
        .get_or_create(&JobLabel { job })
        .set(crate::clock::now().and_utc().timestamp());
}

/// An uptake report was asked for: kept (`hit`) or built.
pub fn report_cache(hit: bool) {
    METRICS
        .report_cache
        .get_or_create(&OutcomeLabels {
            outcome: if hit { "hit" } else { "built" },
        })
        .inc();
}

/// A delivery worker has made a pass over its outbox.
pub fn worker_pass(job: &'static str, ok: bool) {
    let m = &*METRICS;
    m.worker
        .get_or_create(&JobLabels {
            job,
            outcome: if ok { "ok" } else { "failed" },
        })
        .inc();
    m.worker_last
        .get_or_create(&JobLabel { job })
        .set(crate::clock::now().and_utc().timestamp());
}

/// What an outbox holds when scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queue {
    /// Waiting to be sent (or retried).
    pub queued: i64,
    /// Seconds since the oldest waiting message was queued (0 when none waits).
    pub oldest_seconds: i64,
    /// Given up on: failed for good, kept for an administrator.
    pub dead: i64,
}

/// What is read from the database and the pool when scraped.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub pool_max: u32,
    pub pool_idle: u32,
    pub pool_in_use: u32,
    /// Email, then the person's reminders.
    pub queues: Vec<(&'static str, Queue)>,
}

/// The exposition: this instance's counters, then the snapshot.
pub fn render(snapshot: &Snapshot) -> String {
    let mut scraped = Registry::with_prefix("mhtr");
    let pool = Family::<StateLabels, Gauge>::default();
    pool.get_or_create(&StateLabels { state: "idle" })
        .set(i64::from(snapshot.pool_idle));
    pool.get_or_create(&StateLabels { state: "in_use" })
        .set(i64::from(snapshot.pool_in_use));
    scraped.register(
        "db_pool_connections",
        "Database connections held by this instance's pool, idle or in use",
        pool,
    );
    let max = Gauge::<i64>::default();
    max.set(i64::from(snapshot.pool_max));
    scraped.register(
        "db_pool_max_connections",
        "The most connections this instance's pool opens",
        max,
    );
    let queued = Family::<QueueLabels, Gauge>::default();
    let oldest = Family::<QueueLabels, Gauge>::default();
    let dead = Family::<QueueLabels, Gauge>::default();
    for (queue, q) in &snapshot.queues {
        let l = QueueLabels { queue };
        queued.get_or_create(&l).set(q.queued);
        oldest.get_or_create(&l).set(q.oldest_seconds);
        dead.get_or_create(&l).set(q.dead);
    }
    scraped.register(
        "outbox_queued",
        "Messages waiting to be sent, by queue (email, reminder)",
        queued,
    );
    scraped.register(
        "outbox_oldest_queued_seconds",
        "Age of the oldest message waiting to be sent, by queue",
        oldest,
    );
    scraped.register(
        "outbox_dead_letters",
        "Messages given up on after their retries, by queue",
        dead,
    );
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode_registry(&mut out, &METRICS.registry);
    let _ = encode_registry(&mut out, &scraped);
    let _ = encode_eof(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_pattern_with_their_latency() {
        request("GET", "/test/{id}", 200, 0.003);
        request("GET", "/test/{id}", 200, 0.2);
        let text = render(&Snapshot {
            pool_max: 8,
            pool_idle: 3,
            pool_in_use: 1,
            queues: vec![(
                "email",
                Queue {
                    queued: 2,
                    oldest_seconds: 30,
                    dead: 1,
                },
            )],
        });
        assert!(
            text.contains(
                r#"mhtr_http_requests_total{method="GET",route="/test/{id}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"mhtr_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/test/{id}"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"mhtr_db_pool_connections{state="in_use"} 1"#));
        assert!(text.contains("mhtr_db_pool_max_connections 8"));
        assert!(text.contains(r#"mhtr_outbox_queued{queue="email"} 2"#));
        assert!(text.contains(r#"mhtr_outbox_oldest_queued_seconds{queue="email"} 30"#));
        assert!(text.contains(r#"mhtr_outbox_dead_letters{queue="email"} 1"#));
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn housekeeping_and_the_workers_are_counted_with_their_last_run() {
        housekeeping("test_job", true);
        worker_pass("test_worker", false);
        let text = render(&Snapshot::default());
        assert!(
            text.contains(r#"mhtr_housekeeping_runs_total{job="test_job",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"mhtr_housekeeping_last_run_timestamp_seconds{job="test_job"}"#));
        assert!(text.contains(r#"mhtr_worker_passes_total{job="test_worker",outcome="failed"} 1"#));
        assert!(text.contains(r#"mhtr_worker_last_pass_timestamp_seconds{job="test_worker"}"#));
    }

    #[test]
    fn an_invented_method_is_counted_as_other() {
        request("BREW", "unmatched", 405, 0.001);
        let text = render(&Snapshot::default());
        assert!(!text.contains("BREW"), "{text}");
        assert!(text.contains(r#"method="other",route="unmatched",status="405""#));
    }
}
