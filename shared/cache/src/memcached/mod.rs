//! Memcached backend, Thanos `type: MEMCACHED`: keys sharded over `addresses` by jump hash,
//! multi-gets split into batches of `max_get_multi_batch_size` run concurrently, items larger
//! than `max_item_size` not sent, every operation bounded by `timeout`.
//!
//! Speaks the text protocol through async-memcached (one connection per operation, pooled).
//! Errors and timeouts never reach the caller: they are logged, counted, and behave as misses
//! or dropped sets; connections to a restarted server are replaced on the next operation.

mod keys;
mod pool;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_memcached::Value;
use bytes::Bytes;
use futures::future::join_all;
use tokio::sync::Semaphore;

pub use self::keys::{HASHED_KEY_PREFIX, MAX_KEY_LEN, is_safe_key, memcached_key, pick_server};
use self::pool::{Reply, Request, ServerPool};
use crate::Cache;
use crate::error::{Error, Result};
use crate::metrics::ScopedMetrics;

/// Thanos' default `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
/// Thanos' default `max_item_size` (memcached's default `-I`).
pub const DEFAULT_MAX_ITEM_SIZE: u64 = 1 << 20;
/// TTL used when neither the caller nor `expiration` gives one (Thanos: 0s means 24h).
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(24 * 3600);
/// memcached reads an exptime above 30 days as an absolute unix time.
const MAX_RELATIVE_EXPTIME: u64 = 30 * 24 * 3600;

/// Settings of a [`MemcachedCache`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemcachedOptions {
    /// `host:port` of every server.
    pub addresses: Vec<String>,
    /// Bound on each operation, connecting included.
    pub timeout: Duration,
    /// Idle connections kept per server.
    pub max_idle_connections: usize,
    /// Largest value sent (0: no limit).
    pub max_item_size: u64,
    /// Most keys in one `get` (0: no limit).
    pub max_get_multi_batch_size: usize,
    /// Most `get` batches in flight at once (0: no limit).
    pub max_get_multi_concurrency: usize,
    /// Most `set` batches in flight at once (0: no limit).
    pub max_set_concurrency: usize,
    /// Longest item lifetime, and the TTL for `set_multi(.., Duration::ZERO)` (0: 24h).
    pub expiration: Duration,
}

impl Default for MemcachedOptions {
    fn default() -> Self {
        Self {
            addresses: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_idle_connections: 100,
            max_item_size: DEFAULT_MAX_ITEM_SIZE,
            max_get_multi_batch_size: 0,
            max_get_multi_concurrency: 100,
            max_set_concurrency: 20,
            expiration: Duration::ZERO,
        }
    }
}

/// A cache in one or more memcached servers.
#[derive(Debug, Clone)]
pub struct MemcachedCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    servers: Vec<ServerPool>,
    options: MemcachedOptions,
    get_gate: Option<Semaphore>,
    set_gate: Option<Semaphore>,
    metrics: ScopedMetrics,
}

fn gate(limit: usize) -> Option<Semaphore> {
    (limit > 0).then(|| Semaphore::new(limit))
}

impl MemcachedCache {
    /// A cache over `options.addresses` (no connection is made until first use).
    pub fn new(options: MemcachedOptions) -> Result<Self> {
        Self::with_metrics(options, ScopedMetrics::detached())
    }

    /// Like [`MemcachedCache::new`], counting errors and skipped items into `metrics`.
    pub fn with_metrics(options: MemcachedOptions, metrics: ScopedMetrics) -> Result<Self> {
        if options.addresses.is_empty() {
            return Err(Error::config(
                "MEMCACHED config: no memcached addresses configured",
            ));
        }
        if options.timeout.is_zero() {
            return Err(Error::config(
                "MEMCACHED config: timeout must be greater than 0",
            ));
        }
        let mut servers = Vec::with_capacity(options.addresses.len());
        for addr in &options.addresses {
            let addr = addr.trim();
            if let Some((scheme, _)) = addr.split_once('+') {
                return Err(Error::config(format!(
                    "MEMCACHED config: address {addr:?}: service discovery ({scheme}+) is not supported yet; list host:port addresses"
                )));
            }
            if addr
                .rsplit_once(':')
                .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
            {
                return Err(Error::config(format!(
                    "MEMCACHED config: address {addr:?} is not host:port"
                )));
            }
            servers.push(ServerPool::new(
                addr.to_string(),
                options.max_idle_connections,
            ));
        }
        tracing::debug!(
            servers = ?options.addresses,
            timeout_ms = options.timeout.as_millis() as u64,
            max_item_size = options.max_item_size,
            "created memcached cache"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                servers,
                get_gate: gate(options.max_get_multi_concurrency),
                set_gate: gate(options.max_set_concurrency),
                options,
                metrics,
            }),
        })
    }

    /// The configured options.
    pub fn options(&self) -> &MemcachedOptions {
        &self.inner.options
    }

    fn timeout_ms(&self) -> u64 {
        u64::try_from(self.inner.options.timeout.as_millis()).unwrap_or(u64::MAX)
    }

    fn exptime(&self, ttl: Duration) -> i64 {
        let cap = if self.inner.options.expiration.is_zero() {
            DEFAULT_EXPIRATION
        } else {
            self.inner.options.expiration
        };
        let ttl = if ttl.is_zero() { cap } else { ttl.min(cap) };
        // Round up: a sub-second TTL must not become 0 (never expire).
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let secs = secs.max(1);
        if secs <= MAX_RELATIVE_EXPTIME {
            return secs as i64;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        i64::try_from(now.saturating_add(secs)).unwrap_or(i64::MAX)
    }

    /// Split `keys` into per-server batches.
    fn batches<T>(&self, items: Vec<(String, T)>) -> Vec<(usize, Vec<(String, T)>)> {
        let n = self.inner.servers.len();
        let mut per_server: Vec<Vec<(String, T)>> = (0..n).map(|_| Vec::new()).collect();
        for (key, value) in items {
            let server = pick_server(&key, n);
            if let Some(bucket) = per_server.get_mut(server) {
                bucket.push((key, value));
            }
        }
        let limit = match self.inner.options.max_get_multi_batch_size {
            0 => usize::MAX,
            n => n,
        };
        let mut out = Vec::new();
        for (server, mut bucket) in per_server.into_iter().enumerate() {
            while !bucket.is_empty() {
                let rest = bucket.split_off(bucket.len().min(limit));
                out.push((server, bucket));
                bucket = rest;
            }
        }
        out
    }

    async fn get_batch(&self, server: usize, keys: Vec<String>) -> Vec<Value> {
        let Some(pool) = self.inner.servers.get(server) else {
            return Vec::new();
        };
        let _permit = match &self.inner.get_gate {
            Some(gate) => gate.acquire().await.ok(),
            None => None,
        };
        let request = Request::Get(&keys);
        match tokio::time::timeout(self.inner.options.timeout, pool.execute(&request)).await {
            Ok(Ok(Reply::Values(values))) => values,
            Ok(Ok(Reply::Stored { .. })) => Vec::new(),
            Ok(Err(e)) => {
                self.inner.metrics.get_error();
                tracing::warn!(
                    server = %pool.addr(),
                    keys = keys.len(),
                    error = %e,
                    "memcached get failed; treating as misses"
                );
                Vec::new()
            }
            Err(_) => {
                self.inner.metrics.get_error();
                tracing::warn!(
                    server = %pool.addr(),
                    keys = keys.len(),
                    timeout_ms = self.timeout_ms(),
                    "memcached get timed out; treating as misses"
                );
                Vec::new()
            }
        }
    }

    async fn set_batch(&self, server: usize, items: Vec<(String, Bytes)>, exptime: i64) {
        let Some(pool) = self.inner.servers.get(server) else {
            return;
        };
        let _permit = match &self.inner.set_gate {
            Some(gate) => gate.acquire().await.ok(),
            None => None,
        };
        let request = Request::Set(&items, exptime);
        match tokio::time::timeout(self.inner.options.timeout, pool.execute(&request)).await {
            Ok(Ok(Reply::Stored { refused })) if !refused.is_empty() => {
                self.inner.metrics.set_error();
                tracing::warn!(
                    server = %pool.addr(),
                    refused = refused.len(),
                    first_key = refused.first().map_or("", String::as_str),
                    "memcached refused to store items"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                self.inner.metrics.set_error();
                tracing::warn!(
                    server = %pool.addr(),
                    items = items.len(),
                    error = %e,
                    "memcached set failed; items dropped"
                );
            }
            Err(_) => {
                self.inner.metrics.set_error();
                tracing::warn!(
                    server = %pool.addr(),
                    items = items.len(),
                    timeout_ms = self.timeout_ms(),
                    "memcached set timed out; items dropped"
                );
            }
        }
    }
}

#[async_trait::async_trait]
impl Cache for MemcachedCache {
    async fn get_multi(&self, keys: &[String]) -> HashMap<String, Bytes> {
        // memcached key -> caller key
        let mut originals: HashMap<String, &String> = HashMap::with_capacity(keys.len());
        for key in keys {
            originals.entry(memcached_key(key)).or_insert(key);
        }
        let wanted: Vec<(String, ())> = originals.keys().map(|k| (k.clone(), ())).collect();
        let batches = self.batches(wanted);
        let replies = join_all(batches.into_iter().map(|(server, batch)| {
            let keys: Vec<String> = batch.into_iter().map(|(k, ())| k).collect();
            self.get_batch(server, keys)
        }))
        .await;
        let mut found = HashMap::with_capacity(keys.len());
        for value in replies.into_iter().flatten() {
            let (Ok(mkey), Some(data)) = (String::from_utf8(value.key), value.data) else {
                continue;
            };
            if let Some(original) = originals.get(&mkey) {
                found.insert((*original).clone(), Bytes::from(data));
            }
        }
        found
    }

    async fn set_multi(&self, items: Vec<(String, Bytes)>, ttl: Duration) {
        let max = self.inner.options.max_item_size;
        let mut skipped = 0usize;
        let mut wanted = Vec::with_capacity(items.len());
        for (key, data) in items {
            if max > 0 && data.len() as u64 > max {
                tracing::debug!(
                    key_len = key.len(),
                    size = data.len(),
                    max_item_size = max,
                    "item bigger than max_item_size; not sent to memcached"
                );
                skipped += 1;
                continue;
            }
            wanted.push((memcached_key(&key), data));
        }
        if skipped > 0 {
            self.inner.metrics.skipped(skipped);
        }
        if wanted.is_empty() {
            return;
        }
        let exptime = self.exptime(ttl);
        let batches = self.batches(wanted);
        join_all(
            batches
                .into_iter()
                .map(|(server, batch)| self.set_batch(server, batch, exptime)),
        )
        .await;
    }

    fn name(&self) -> &'static str {
        "memcached"
    }
}
