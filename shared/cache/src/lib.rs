//! One cache abstraction for every component: index cache and chunk cache of the store
//! gateway, results cache of the query frontend. Backends: in-memory (bounded by bytes) and
//! memcached; selected by Thanos' cache YAML (`type: IN-MEMORY|MEMCACHED`, `config: {...}`).
//!
//! A cache never fails a request: backend errors are logged and counted and behave as misses.

mod config;
mod error;
pub mod memcached;
pub mod memory;
pub mod metrics;

pub use config::{BackendConfig, CacheConfig, INDEX_CACHE_ITEMS};
pub use error::{Error, Result};
pub use memcached::{
    HASHED_KEY_PREFIX, MAX_KEY_LEN, MemcachedCache, MemcachedOptions, is_safe_key, memcached_key,
    pick_server,
};
pub use memory::{InMemoryCache, InMemoryOptions};
pub use metrics::{CacheMetrics, InstrumentedCache, MetricsSnapshot, ScopedMetrics};

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use bytes::Bytes;

/// A key-value cache of byte strings.
#[async_trait::async_trait]
pub trait Cache: Send + Sync + Debug {
    /// Values for the keys that are present; missing keys (and backend errors) are absent.
    async fn get_multi(&self, keys: &[String]) -> HashMap<String, Bytes>;

    /// Store items for `ttl` (best effort: errors are logged, never returned).
    async fn set_multi(&self, items: Vec<(String, Bytes)>, ttl: Duration);

    /// A short name for logs and metrics (`in-memory`, `memcached`).
    fn name(&self) -> &'static str;
}
