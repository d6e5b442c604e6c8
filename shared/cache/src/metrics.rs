//! Cache self-metrics (prometheus-client), in the spirit of Thanos' `thanos_cache_*` and
//! `thanos_store_index_cache_*` families, and [`InstrumentedCache`], a [`Cache`] decorator that
//! counts requested keys, hits, stored items and operation latency.
//!
//! Every series carries `name` (what the cache is for, e.g. `index-cache`) and `backend`
//! (`in-memory`, `memcached`). Backends count what only they can see (errors, items skipped
//! for size) through a [`ScopedMetrics`] handle.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::Cache;

/// The default metric name prefix.
pub const DEFAULT_PREFIX: &str = "thanos_cache";

const DURATION_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 3.0, 10.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    name: String,
    backend: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    name: String,
    backend: String,
    operation: String,
}

type HistogramFamily = Family<OperationLabels, Histogram, fn() -> Histogram>;

fn new_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Counters and histograms shared by every cache of a process; clone freely (shared state).
#[derive(Debug, Clone)]
pub struct CacheMetrics {
    prefix: String,
    requests: Family<CacheLabels, Counter>,
    hits: Family<CacheLabels, Counter>,
    items_set: Family<CacheLabels, Counter>,
    items_skipped: Family<CacheLabels, Counter>,
    errors: Family<OperationLabels, Counter>,
    duration: HistogramFamily,
}

impl Default for CacheMetrics {
    fn default() -> Self {
        Self::with_prefix(DEFAULT_PREFIX)
    }
}

impl CacheMetrics {
    /// Metrics named `thanos_cache_*`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Metrics named `<prefix>_*` (e.g. `thanos_store_index_cache`).
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            requests: Family::default(),
            hits: Family::default(),
            items_set: Family::default(),
            items_skipped: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(new_histogram as fn() -> Histogram),
        }
    }

    /// Register every family in `registry`:
    /// `<prefix>_requests_total`, `_hits_total`, `_items_set_total`, `_items_skipped_total`,
    /// `_errors_total{operation}` and `_operation_duration_seconds{operation}`.
    pub fn register(&self, registry: &mut Registry) {
        let p = &self.prefix;
        registry.register(
            format!("{p}_requests"),
            "Total number of keys requested from the cache",
            self.requests.clone(),
        );
        registry.register(
            format!("{p}_hits"),
            "Total number of requested keys found in the cache",
            self.hits.clone(),
        );
        registry.register(
            format!("{p}_items_set"),
            "Total number of items handed to the cache to store",
            self.items_set.clone(),
        );
        registry.register(
            format!("{p}_items_skipped"),
            "Total number of items not stored because they exceed max_item_size",
            self.items_skipped.clone(),
        );
        registry.register(
            format!("{p}_errors"),
            "Total number of failed backend operations (they behave as misses or dropped sets)",
            self.errors.clone(),
        );
        registry.register(
            format!("{p}_operation_duration_seconds"),
            "Duration of cache operations",
            self.duration.clone(),
        );
    }

    /// Handles for one cache (`name`, `backend`), resolved once.
    pub fn scoped(&self, name: &str, backend: &str) -> ScopedMetrics {
        let labels = CacheLabels {
            name: name.to_string(),
            backend: backend.to_string(),
        };
        let op = |operation: &str| OperationLabels {
            name: name.to_string(),
            backend: backend.to_string(),
            operation: operation.to_string(),
        };
        ScopedMetrics {
            requests: self.requests.get_or_create_owned(&labels),
            hits: self.hits.get_or_create_owned(&labels),
            items_set: self.items_set.get_or_create_owned(&labels),
            items_skipped: self.items_skipped.get_or_create_owned(&labels),
            get_errors: self.errors.get_or_create_owned(&op("get")),
            set_errors: self.errors.get_or_create_owned(&op("set")),
            get_duration: self.duration.get_or_create_owned(&op("get")),
            set_duration: self.duration.get_or_create_owned(&op("set")),
        }
    }

    /// Current counter values for one cache (handy for tests and readiness checks).
    pub fn snapshot(&self, name: &str, backend: &str) -> MetricsSnapshot {
        self.scoped(name, backend).snapshot()
    }
}

/// Counter values at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub requests: u64,
    pub hits: u64,
    pub items_set: u64,
    pub items_skipped: u64,
    pub get_errors: u64,
    pub set_errors: u64,
}

/// The metric handles of one cache. [`ScopedMetrics::detached`] gives handles registered
/// nowhere, for caches built without metrics.
#[derive(Debug, Clone)]
pub struct ScopedMetrics {
    pub(crate) requests: Counter,
    pub(crate) hits: Counter,
    pub(crate) items_set: Counter,
    pub(crate) items_skipped: Counter,
    pub(crate) get_errors: Counter,
    pub(crate) set_errors: Counter,
    get_duration: Histogram,
    set_duration: Histogram,
}

impl ScopedMetrics {
    /// Handles that are not registered anywhere (values are still readable).
    pub fn detached() -> Self {
        Self {
            requests: Counter::default(),
            hits: Counter::default(),
            items_set: Counter::default(),
            items_skipped: Counter::default(),
            get_errors: Counter::default(),
            set_errors: Counter::default(),
            get_duration: new_histogram(),
            set_duration: new_histogram(),
        }
    }

    /// Current counter values.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            requests: self.requests.get(),
            hits: self.hits.get(),
            items_set: self.items_set.get(),
            items_skipped: self.items_skipped.get(),
            get_errors: self.get_errors.get(),
            set_errors: self.set_errors.get(),
        }
    }

    pub(crate) fn skipped(&self, n: usize) {
        self.items_skipped.inc_by(n as u64);
    }

    pub(crate) fn get_error(&self) {
        self.get_errors.inc();
    }

    pub(crate) fn set_error(&self) {
        self.set_errors.inc();
    }
}

/// A [`Cache`] decorator counting requests, hits, stored items and latency.
#[derive(Debug)]
pub struct InstrumentedCache {
    inner: Arc<dyn Cache>,
    metrics: ScopedMetrics,
}

impl InstrumentedCache {
    /// Wrap `inner`; the series are labelled `name` and `inner.name()` as `backend`.
    pub fn new(inner: Arc<dyn Cache>, name: &str, metrics: &CacheMetrics) -> Self {
        let scoped = metrics.scoped(name, inner.name());
        Self::with_scoped(inner, scoped)
    }

    /// Wrap `inner` with already resolved handles.
    pub fn with_scoped(inner: Arc<dyn Cache>, metrics: ScopedMetrics) -> Self {
        Self { inner, metrics }
    }

    /// The handles this wrapper counts into.
    pub fn metrics(&self) -> &ScopedMetrics {
        &self.metrics
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[async_trait::async_trait]
impl Cache for InstrumentedCache {
    async fn get_multi(&self, keys: &[String]) -> HashMap<String, Bytes> {
        let start = Instant::now();
        let found = self.inner.get_multi(keys).await;
        self.metrics.requests.inc_by(keys.len() as u64);
        self.metrics.hits.inc_by(found.len() as u64);
        self.metrics.get_duration.observe(seconds(start.elapsed()));
        found
    }

    async fn set_multi(&self, items: Vec<(String, Bytes)>, ttl: Duration) {
        let start = Instant::now();
        let n = items.len() as u64;
        self.inner.set_multi(items, ttl).await;
        self.metrics.items_set.inc_by(n);
        self.metrics.set_duration.observe(seconds(start.elapsed()));
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}
