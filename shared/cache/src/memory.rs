//! In-process cache bounded by total bytes (keys + values), Thanos `type: IN-MEMORY`.
//!
//! Built on quick_cache with a byte weighter (CLOCK-Pro-like eviction, close to LRU for this
//! use). Items larger than `max_item_size` are skipped; every item expires after its TTL
//! (capped by `validity`) and an expired item is a miss. `max_size_items` bounds the item count
//! by giving every item a minimum weight of `max_size / max_size_items`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quick_cache::sync::{Cache as QuickCache, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};

use crate::Cache;
use crate::error::{Error, Result};
use crate::metrics::ScopedMetrics;

/// Thanos' default in-memory cache size (`--index-cache-size=250MB`).
pub const DEFAULT_MAX_SIZE: u64 = 250 << 20;
/// Thanos' default largest item of the in-memory index cache.
pub const DEFAULT_MAX_ITEM_SIZE: u64 = 125 << 20;
/// TTL used when neither the caller nor `validity` gives one (Thanos: 0s means 24h).
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// Limits of an [`InMemoryCache`] (0 values mean "default" as in Thanos).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InMemoryOptions {
    /// Total bytes of keys and values (default 250MiB).
    pub max_size: u64,
    /// Maximum number of items (0: bounded by bytes only).
    pub max_size_items: u64,
    /// Largest single item, key + value (0: 125MiB or `max_size` if smaller).
    pub max_item_size: u64,
    /// Longest lifetime of an item, and the TTL for `set_multi(.., Duration::ZERO)`
    /// (0: 24h).
    pub validity: Duration,
}

impl Default for InMemoryOptions {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
            max_size_items: 0,
            max_item_size: 0,
            validity: DEFAULT_VALIDITY,
        }
    }
}

#[derive(Clone)]
struct Entry {
    data: Bytes,
    expires_at: Instant,
}

/// Weight = key bytes + value bytes, at least `min_weight` (derived from `max_size_items`).
#[derive(Clone)]
struct ByteWeighter {
    min_weight: u64,
}

impl Weighter<String, Entry> for ByteWeighter {
    fn weight(&self, key: &String, val: &Entry) -> u64 {
        ((key.len() + val.data.len()) as u64).max(self.min_weight)
    }
}

type Inner =
    QuickCache<String, Entry, ByteWeighter, DefaultHashBuilder, DefaultLifecycle<String, Entry>>;

/// An in-process cache bounded by bytes.
pub struct InMemoryCache {
    cache: Inner,
    max_item_size: u64,
    validity: Duration,
    metrics: ScopedMetrics,
}

impl std::fmt::Debug for InMemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryCache")
            .field("capacity", &self.cache.capacity())
            .field("weight", &self.cache.weight())
            .field("items", &self.cache.len())
            .field("max_item_size", &self.max_item_size)
            .field("validity", &self.validity)
            .finish()
    }
}

impl InMemoryCache {
    /// A cache with these limits; fails when `max_item_size > max_size`.
    pub fn new(options: InMemoryOptions) -> Result<Self> {
        Self::with_metrics(options, ScopedMetrics::detached())
    }

    /// Like [`InMemoryCache::new`], counting skipped items into `metrics`.
    pub fn with_metrics(options: InMemoryOptions, metrics: ScopedMetrics) -> Result<Self> {
        let max_size = if options.max_size == 0 {
            DEFAULT_MAX_SIZE
        } else {
            options.max_size
        };
        let max_item_size = if options.max_item_size == 0 {
            DEFAULT_MAX_ITEM_SIZE.min(max_size)
        } else {
            options.max_item_size
        };
        if max_item_size > max_size {
            return Err(Error::config(format!(
                "IN-MEMORY config: max_item_size ({max_item_size}) cannot be bigger than max_size ({max_size})"
            )));
        }
        let validity = if options.validity.is_zero() {
            DEFAULT_VALIDITY
        } else {
            options.validity
        };
        let min_weight = if options.max_size_items == 0 {
            0
        } else {
            max_size.div_ceil(options.max_size_items)
        };
        // quick_cache splits capacity into shards and rejects an item heavier than ~97% of a
        // shard: choose few enough shards that the largest allowed item fits in one.
        let largest = max_item_size.max(min_weight).max(1);
        let fitting = (max_size as f64 * 0.9 / largest as f64).floor() as u64;
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get() as u64);
        let wanted = fitting.clamp(1, cores * 4);
        let shards = if wanted.is_power_of_two() {
            wanted
        } else {
            wanted.next_power_of_two() / 2
        };
        let estimated_items = if options.max_size_items > 0 {
            options.max_size_items
        } else {
            (max_size / 4096).max(64)
        };
        let quick_options = OptionsBuilder::new()
            .shards(shards as usize)
            .weight_capacity(max_size)
            .estimated_items_capacity(usize::try_from(estimated_items).unwrap_or(usize::MAX))
            .build()
            .map_err(|e| Error::config(format!("IN-MEMORY config: {e}")))?;
        let cache = QuickCache::with_options(
            quick_options,
            ByteWeighter { min_weight },
            DefaultHashBuilder::default(),
            DefaultLifecycle::default(),
        );
        tracing::debug!(
            max_size,
            max_item_size,
            max_size_items = options.max_size_items,
            validity_secs = validity.as_secs(),
            shards,
            "created in-memory cache"
        );
        Ok(Self {
            cache,
            max_item_size,
            validity,
            metrics,
        })
    }

    /// Total weight (bytes) currently held.
    pub fn weight(&self) -> u64 {
        self.cache.weight()
    }

    /// Number of items currently held (expired ones included until they are touched).
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether the cache holds no item.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// The byte capacity.
    pub fn capacity(&self) -> u64 {
        self.cache.capacity()
    }

    fn effective_ttl(&self, ttl: Duration) -> Duration {
        if ttl.is_zero() {
            self.validity
        } else {
            ttl.min(self.validity)
        }
    }
}

#[async_trait::async_trait]
impl Cache for InMemoryCache {
    async fn get_multi(&self, keys: &[String]) -> HashMap<String, Bytes> {
        let now = Instant::now();
        let mut found = HashMap::with_capacity(keys.len());
        for key in keys {
            let Some(entry) = self.cache.get(key.as_str()) else {
                continue;
            };
            if entry.expires_at <= now {
                self.cache.remove(key.as_str());
                continue;
            }
            found.insert(key.clone(), entry.data);
        }
        found
    }

    async fn set_multi(&self, items: Vec<(String, Bytes)>, ttl: Duration) {
        let expires_at = Instant::now() + self.effective_ttl(ttl);
        let mut skipped = 0usize;
        for (key, data) in items {
            let size = (key.len() + data.len()) as u64;
            if size > self.max_item_size {
                tracing::debug!(
                    key_len = key.len(),
                    size,
                    max_item_size = self.max_item_size,
                    "item bigger than max_item_size; not cached"
                );
                skipped += 1;
                continue;
            }
            // Copy out of a possibly much larger shared buffer, so a small cached slice
            // does not pin a big allocation.
            let data = Bytes::copy_from_slice(&data);
            self.cache.insert(key, Entry { data, expires_at });
        }
        if skipped > 0 {
            self.metrics.skipped(skipped);
        }
    }

    fn name(&self) -> &'static str {
        "in-memory"
    }
}

#[cfg(test)]
mod tests;
