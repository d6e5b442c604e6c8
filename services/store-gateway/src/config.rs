//! Configuration of the store gateway library: what the `strata store` flags map to.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use strata_cache::Cache;

/// Tuning of ranged reads: how far apart two needed byte ranges may be and still be fetched
/// with one GET, and how many series are processed per batch.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchConfig {
    /// Gap in bytes between two postings lists always fetched with one GET; larger gaps are
    /// bridged only within `max_overfetch` (a 16 KiB default once read 4.3x the needed bytes
    /// for a one-series query: `cargo bench -p strata --bench store_gateway`).
    pub postings_gap: u64,
    /// Gap in bytes between two series entries always fetched with one GET.
    pub series_min_gap: u64,
    /// Gap in bytes between two chunks always fetched with one GET.
    pub chunks_min_gap: u64,
    /// Largest gap ever bridged (any kind), subject to `max_overfetch`.
    pub max_gap: u64,
    /// A gap above the kind's minimum is bridged only while the merged GET stays within this
    /// multiple of the bytes actually needed from it (1.5 = at most 50% extra bytes).
    pub max_overfetch: f64,
    /// Series resolved (entries, then chunks) per batch; bounds memory per block in flight.
    pub series_batch_size: usize,
    /// Ranged GETs in flight per read (per block).
    pub get_concurrency: usize,
    /// Blocks loaded concurrently during a sync.
    pub block_sync_concurrency: usize,
    /// Batches buffered per block between the block reader and the merge.
    pub block_channel_batches: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            postings_gap: 512,
            series_min_gap: 4 * 1024,
            chunks_min_gap: 512,
            max_gap: 512 * 1024,
            max_overfetch: 1.5,
            series_batch_size: 256,
            get_concurrency: 16,
            block_sync_concurrency: 4,
            block_channel_batches: 1,
        }
    }
}

/// Everything the gateway needs besides the bucket itself.
#[derive(Clone)]
pub struct GatewayConfig {
    /// Local directory for index-headers (`<data_dir>/<ULID>/index-header`).
    pub data_dir: PathBuf,
    /// How often the bucket is re-synced (`--sync-block-duration`, default 15m).
    pub sync_interval: Duration,
    /// Blocks whose deletion mark is older than this are dropped (`--ignore-deletion-marks-delay`, 24h).
    pub ignore_deletion_marks_delay: Duration,
    /// Only blocks overlapping `[min_time, max_time]` (ms) are loaded and queried (`--min-time`).
    pub min_time: i64,
    /// See `min_time` (`--max-time`).
    pub max_time: i64,
    /// Max series touched per Series request, 0 = unlimited (`--store.limits.request-series`).
    pub series_limit: u64,
    /// Max samples per Series request (counted as chunks × 120), 0 = unlimited
    /// (`--store.limits.request-samples`).
    pub samples_limit: u64,
    /// Cache of postings lists and series entries.
    pub index_cache: Option<Arc<dyn Cache>>,
    /// Cache of chunks.
    pub chunk_cache: Option<Arc<dyn Cache>>,
    /// TTL of cached items (Thanos default 24h).
    pub cache_ttl: Duration,
    /// Ranged-read tuning.
    pub fetch: FetchConfig,
}

impl GatewayConfig {
    /// Defaults as in Thanos, with index-headers under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            sync_interval: Duration::from_secs(15 * 60),
            ignore_deletion_marks_delay: Duration::from_secs(24 * 3600),
            min_time: i64::MIN,
            max_time: i64::MAX,
            series_limit: 0,
            samples_limit: 0,
            index_cache: None,
            chunk_cache: None,
            cache_ttl: Duration::from_secs(24 * 3600),
            fetch: FetchConfig::default(),
        }
    }
}

impl fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("data_dir", &self.data_dir)
            .field("sync_interval", &self.sync_interval)
            .field(
                "ignore_deletion_marks_delay",
                &self.ignore_deletion_marks_delay,
            )
            .field("min_time", &self.min_time)
            .field("max_time", &self.max_time)
            .field("series_limit", &self.series_limit)
            .field("samples_limit", &self.samples_limit)
            .field("index_cache", &self.index_cache.as_ref().map(|c| c.name()))
            .field("chunk_cache", &self.chunk_cache.as_ref().map(|c| c.name()))
            .field("cache_ttl", &self.cache_ttl)
            .field("fetch", &self.fetch)
            .finish()
    }
}
