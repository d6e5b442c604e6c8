//! Counters of the gateway as plain atomics; [`Metrics::snapshot`] copies them out so the runtime
//! crate can expose them (bytes fetched, cache hits and misses, series and chunks touched, block
//! loading and sync outcomes).

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! metrics {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live counters, shared by every block and request of one [`crate::BucketStore`].
        #[derive(Debug, Default)]
        pub struct Metrics {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// A point-in-time copy of [`Metrics`].
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct MetricsSnapshot {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Metrics {
            /// Read every counter.
            pub fn snapshot(&self) -> MetricsSnapshot {
                MetricsSnapshot {
                    $($name: self.$name.load(Ordering::Relaxed),)*
                }
            }
        }

        impl MetricsSnapshot {
            /// Counter deltas since `earlier` (gauges are taken as they are now).
            pub fn since(&self, earlier: &MetricsSnapshot) -> MetricsSnapshot {
                MetricsSnapshot {
                    $($name: self.$name.saturating_sub(earlier.$name),)*
                }
            }
        }
    };
}

metrics! {
    /// Series entries decoded for requests (`thanos_bucket_store_series_data_touched{data_type="series"}`).
    series_touched,
    /// Chunks selected for requests.
    chunks_touched,
    /// Postings lists used by requests (from cache or bucket).
    postings_touched,
    /// Bytes of postings fetched from the bucket.
    postings_bytes_fetched,
    /// Bytes of series entries fetched from the bucket.
    series_bytes_fetched,
    /// Bytes of chunks fetched from the bucket.
    chunk_bytes_fetched,
    /// Ranged GETs for postings.
    postings_gets,
    /// Ranged GETs for series entries.
    series_gets,
    /// Ranged GETs for chunks.
    chunk_gets,
    /// Postings lists served from the index cache.
    postings_cache_hits,
    /// Postings lists not in the index cache.
    postings_cache_misses,
    /// Series entries served from the index cache.
    series_cache_hits,
    /// Series entries not in the index cache.
    series_cache_misses,
    /// Chunks served from the chunk cache.
    chunk_cache_hits,
    /// Chunks not in the chunk cache.
    chunk_cache_misses,
    /// Blocks currently loaded (a gauge).
    blocks_loaded,
    /// Blocks loaded since start.
    block_loads,
    /// Blocks that failed to load since start (corrupted meta, index, missing files...).
    block_load_failures,
    /// Blocks dropped (deleted from the bucket, marked for deletion, out of the time shard).
    block_drops,
    /// Distinct corrupted blocks seen (bad meta.json, index or chunk files).
    corrupted_blocks,
    /// Index-headers built from the bucket (not found or invalid on local disk).
    index_headers_built,
    /// Index-headers loaded from local disk.
    index_headers_loaded,
    /// Syncs run.
    syncs,
    /// Syncs that failed (the bucket could not be listed).
    sync_failures,
    /// Series requests answered.
    series_requests,
    /// Requests refused by the series or samples limit.
    limit_rejections,
}

/// Add `n` to a counter.
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Increment a counter.
pub(crate) fn inc(c: &AtomicU64) {
    add(c, 1);
}
