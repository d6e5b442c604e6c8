//! The index file, format v2 (Prometheus `tsdb/docs/format/index.md`, `tsdb/index/index.go`):
//! a streaming [`IndexWriter`], an [`IndexReader`] over any [`crate::range::RangeSource`] that only
//! issues ranged reads, the pure slice decoders of every section (for callers that do their own
//! reads, e.g. the store gateway), and [`verify_index`] which walks a whole index.

mod reader;
mod series;
mod symbols;
mod table;
mod toc;
mod verify;
mod writer;

pub use reader::IndexReader;
pub use series::{decode_series_entry, encode_series_body, series_entry_size};
pub use symbols::{Symbols, parse_symbol_table};
pub use table::{PostingsOffsetTable, decode_postings, parse_postings_offset_table};
pub use toc::{Toc, parse_toc};
pub use verify::{IndexStats, verify_index};
pub use writer::IndexWriter;

use crate::Labels;

/// Magic number at the start of an index file.
pub const MAGIC_INDEX: u32 = 0xBAAA_D700;
/// Bytes of the header: magic and version.
pub const HEADER_LEN: usize = 5;
/// Index format version 1 (not supported).
pub const FORMAT_V1: u8 = 1;
/// Index format version 2 (what is written).
pub const FORMAT_V2: u8 = 2;
/// Index format version 3 (read like version 2).
pub const FORMAT_V3: u8 = 3;
/// Series entries start at multiples of this; a series ref is its offset divided by it.
pub const SERIES_ALIGN: u64 = 16;
/// Postings lists start at multiples of this.
pub const POSTINGS_ALIGN: u64 = 4;

/// Where one chunk of a series is and which time range it covers (both ends inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChunkMeta {
    /// Timestamp of the first sample, in milliseconds.
    pub min_time: i64,
    /// Timestamp of the last sample, in milliseconds.
    pub max_time: i64,
    /// Chunk reference: segment file sequence in the upper 32 bits, offset in the lower 32.
    pub chunk_ref: u64,
}

/// One decoded series entry of the series section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeriesEntry {
    /// The label set, sorted by name.
    pub labels: Labels,
    /// The chunks, in time order.
    pub chunks: Vec<ChunkMeta>,
}
