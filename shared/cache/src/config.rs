//! Thanos cache YAML (`type: IN-MEMORY|MEMCACHED|REDIS`, `config: {...}`, and for the store
//! gateway's index cache `enabled_items` and `ttl`, Thanos' `pkg/store/cache/factory.go`), parsed
//! with serde-saphyr into typed options, and turned into an `Arc<dyn Cache>`.
//!
//! Unknown keys are rejected naming the key. Thanos keys that have no effect here
//! (`max_async_buffer_size`, `dns_provider_update_interval`, `single_flight`, ...) are accepted
//! and logged at debug level so that a Thanos config file works unchanged.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::Cache;
use crate::error::{Error, Result};
use crate::memcached::{MemcachedCache, MemcachedOptions};
use crate::memory::{InMemoryCache, InMemoryOptions};
use crate::metrics::{CacheMetrics, InstrumentedCache, ScopedMetrics};
use strata_units::yaml::TypedDocument;
use strata_units::{ByteSize, DurationValue};

/// Index cache item kinds accepted in `enabled_items` (Thanos names).
pub const INDEX_CACHE_ITEMS: [&str; 3] = ["Postings", "Series", "ExpandedPostings"];

/// A backend and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendConfig {
    InMemory(InMemoryOptions),
    Memcached(MemcachedOptions),
}

/// A parsed cache YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub backend: BackendConfig,
    /// Index cache item kinds to cache (empty: all). Only the store gateway reads it.
    pub enabled_items: Vec<String>,
    /// Index cache TTL for remote backends (`ttl`, Thanos default 24h when unset).
    pub ttl: Option<Duration>,
}

/// The keys of a cache document beside `type` and `config`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Extra {
    enabled_items: Option<Vec<String>>,
    ttl: Option<DurationValue>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawInMemory {
    max_size: Option<ByteSize>,
    max_size_items: Option<u64>,
    max_item_size: Option<ByteSize>,
    validity: Option<DurationValue>,
    single_flight: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawMemcached {
    addresses: Vec<String>,
    timeout: Option<DurationValue>,
    max_idle_connections: Option<usize>,
    max_async_concurrency: Option<usize>,
    max_async_buffer_size: Option<usize>,
    max_get_multi_concurrency: Option<usize>,
    max_get_multi_batch_size: Option<usize>,
    max_item_size: Option<ByteSize>,
    dns_provider_update_interval: Option<DurationValue>,
    auto_discovery: Option<bool>,
    set_async_circuit_breaker_config: Option<IgnoredAny>,
    expiration: Option<DurationValue>,
}

fn ignored(kind: &str, key: &str) {
    tracing::debug!(
        kind,
        key,
        "cache config key has no effect in strata; ignored"
    );
}

impl RawInMemory {
    fn into_options(self) -> InMemoryOptions {
        if self.single_flight.is_some() {
            ignored("IN-MEMORY", "single_flight");
        }
        let defaults = InMemoryOptions::default();
        InMemoryOptions {
            max_size: self.max_size.map_or(defaults.max_size, |b| b.0),
            max_size_items: self.max_size_items.unwrap_or(0),
            max_item_size: self.max_item_size.map_or(0, |b| b.0),
            validity: self.validity.map_or(Duration::ZERO, |d| d.0),
        }
    }
}

impl RawMemcached {
    fn into_options(self) -> Result<MemcachedOptions> {
        if self.auto_discovery == Some(true) {
            return Err(Error::config(
                "MEMCACHED config: auto_discovery is not supported yet; list host:port addresses",
            ));
        }
        for (present, key) in [
            (
                self.max_async_buffer_size.is_some(),
                "max_async_buffer_size",
            ),
            (
                self.dns_provider_update_interval.is_some(),
                "dns_provider_update_interval",
            ),
            (
                self.set_async_circuit_breaker_config.is_some(),
                "set_async_circuit_breaker_config",
            ),
        ] {
            if present {
                ignored("MEMCACHED", key);
            }
        }
        let defaults = MemcachedOptions::default();
        let timeout = self.timeout.map_or(defaults.timeout, |d| d.0);
        if timeout.is_zero() {
            return Err(Error::config(
                "MEMCACHED config: timeout must be greater than 0",
            ));
        }
        if self.addresses.iter().all(|a| a.trim().is_empty()) {
            return Err(Error::config(
                "MEMCACHED config: missing required key `addresses` (no memcached addresses configured)",
            ));
        }
        Ok(MemcachedOptions {
            addresses: self
                .addresses
                .into_iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            timeout,
            max_idle_connections: self
                .max_idle_connections
                .unwrap_or(defaults.max_idle_connections),
            max_item_size: self.max_item_size.map_or(defaults.max_item_size, |b| b.0),
            max_get_multi_batch_size: self.max_get_multi_batch_size.unwrap_or(0),
            max_get_multi_concurrency: self
                .max_get_multi_concurrency
                .unwrap_or(defaults.max_get_multi_concurrency),
            max_set_concurrency: self
                .max_async_concurrency
                .unwrap_or(defaults.max_set_concurrency),
            expiration: self.expiration.map_or(Duration::ZERO, |d| d.0),
        })
    }
}

impl CacheConfig {
    /// Parse a cache YAML document.
    pub fn from_yaml(yaml: &str) -> Result<Self> {
        let doc: TypedDocument<'_, Extra> = TypedDocument::parse(
            yaml,
            "",
            &["IN-MEMORY", "MEMCACHED"],
            &["enabled_items", "ttl"],
        )
        .map_err(Error::Config)?;
        let (kind, upper) = (doc.kind(), doc.kind_upper());
        let backend = match upper.as_str() {
            "IN-MEMORY" | "INMEMORY" => {
                let raw: RawInMemory = doc.config("IN-MEMORY").map_err(Error::Config)?;
                BackendConfig::InMemory(raw.into_options())
            }
            "MEMCACHED" => {
                let raw: RawMemcached = doc.config("MEMCACHED").map_err(Error::Config)?;
                BackendConfig::Memcached(raw.into_options()?)
            }
            "REDIS" | "GROUPCACHE" => return Err(Error::Unsupported(upper)),
            _ => {
                return Err(Error::config(format!(
                    "unknown type {kind:?} (one of IN-MEMORY, MEMCACHED)"
                )));
            }
        };
        let enabled_items = doc.extra.enabled_items.unwrap_or_default();
        for item in &enabled_items {
            if !INDEX_CACHE_ITEMS.contains(&item.as_str()) {
                return Err(Error::config(format!(
                    "enabled_items: unknown item {item:?} (one of {})",
                    INDEX_CACHE_ITEMS.join(", ")
                )));
            }
        }
        Ok(Self {
            backend,
            enabled_items,
            ttl: doc.extra.ttl.map(|d| d.0),
        })
    }

    /// An in-memory cache of `max_size` bytes (`--index-cache-size`).
    pub fn in_memory(max_size: u64) -> Self {
        Self {
            backend: BackendConfig::InMemory(InMemoryOptions {
                max_size,
                max_item_size: 0,
                ..InMemoryOptions::default()
            }),
            enabled_items: Vec::new(),
            ttl: None,
        }
    }

    /// Whether an index cache item kind (`Postings`, `Series`, `ExpandedPostings`) is cached.
    pub fn item_enabled(&self, item: &str) -> bool {
        self.enabled_items.is_empty() || self.enabled_items.iter().any(|i| i == item)
    }

    /// Build the backend, without metrics.
    pub fn build(&self) -> Result<Arc<dyn Cache>> {
        self.build_backend(ScopedMetrics::detached())
    }

    /// Build the backend wrapped in an [`InstrumentedCache`] counting into `metrics` with the
    /// label `name` (e.g. `index-cache`, `query-range`).
    pub fn build_instrumented(&self, name: &str, metrics: &CacheMetrics) -> Result<Arc<dyn Cache>> {
        let scoped = metrics.scoped(name, self.backend_name());
        let inner = self.build_backend(scoped.clone())?;
        Ok(Arc::new(InstrumentedCache::with_scoped(inner, scoped)))
    }

    /// `in-memory` or `memcached`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            BackendConfig::InMemory(_) => "in-memory",
            BackendConfig::Memcached(_) => "memcached",
        }
    }

    fn build_backend(&self, metrics: ScopedMetrics) -> Result<Arc<dyn Cache>> {
        Ok(match &self.backend {
            BackendConfig::InMemory(o) => Arc::new(InMemoryCache::with_metrics(*o, metrics)?),
            BackendConfig::Memcached(o) => {
                Arc::new(MemcachedCache::with_metrics(o.clone(), metrics)?)
            }
        })
    }
}

#[cfg(test)]
mod tests;
