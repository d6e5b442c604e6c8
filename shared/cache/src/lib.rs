//! One cache abstraction for every component: index cache and chunk cache of the store
//! gateway, results cache of the query frontend. Backends: in-memory (bounded by bytes) and
//! memcached; selected by Thanos' cache YAML (`type: IN-MEMORY|MEMCACHED`, `config: {...}`).
//!
//! A cache never fails a request: backend errors are logged and counted and behave as misses.

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
