//! The Prometheus TSDB block format, read and write, byte-compatible with Prometheus
//! (`tsdb/docs/format/{index,chunks,tombstones}.md`), plus the Thanos downsampled aggregate chunk.
//!
//! The readers are "sans-IO" where it matters: every section decoder works on a byte slice,
//! and the [`range::RangeSource`] trait lets the same index and chunk readers run over a local
//! file, a buffer in memory, or ranged GETs against object storage.

pub mod aggr;
pub mod block;
pub mod chunkenc;
pub mod chunks;
pub mod encoding;
pub mod error;
pub mod index;
pub mod labels;
pub mod matchers;
pub mod meta;
pub mod postings;
pub mod range;
pub mod tombstones;

pub use error::{Error, Result};
pub use labels::{Label, Labels};

/// The default block range and chunk range: two hours in milliseconds.
pub const DEFAULT_BLOCK_DURATION_MS: i64 = 2 * 60 * 60 * 1000;

/// Exclusive end of the block-range-aligned window containing `t` (Prometheus `rangeForTimestamp`).
pub fn range_for_timestamp(t: i64, width: i64) -> i64 {
    t.div_euclid(width) * width + width
}
