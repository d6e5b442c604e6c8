//! Chunk encodings (Prometheus `tsdb/chunkenc`): the encoding byte, the exact XOR float chunk
//! (`xor.go`) and the bit stream beneath it (`bstream.go`).

mod bstream;
mod xor;

pub use bstream::{BitReader, BitWriter};
pub use xor::{XorAppender, XorIterator, decode_xor, decode_xor_into, xor_num_samples};

/// Target samples per chunk, as Prometheus (`DefaultSamplesPerChunk`).
pub const SAMPLES_PER_CHUNK: usize = 120;
/// Prometheus cuts an XOR chunk before appending once it is larger than this many bytes.
pub const MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND: usize = 1024 - 19;

/// Chunk encoding byte as stored in chunk segment files (not the StoreAPI enum numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// 0: no data.
    None,
    /// 1: Gorilla-style XOR floats.
    Xor,
    /// 2: native integer histograms.
    Histogram,
    /// 3: native float histograms.
    FloatHistogram,
    /// 0xff: Thanos downsampled aggregate chunk.
    Aggr,
    /// Anything else (4, 5, 6 are experimental Prometheus encodings).
    Other(u8),
}

impl Encoding {
    /// The on-disk byte.
    pub fn to_byte(self) -> u8 {
        match self {
            Encoding::None => 0,
            Encoding::Xor => 1,
            Encoding::Histogram => 2,
            Encoding::FloatHistogram => 3,
            Encoding::Aggr => 0xff,
            Encoding::Other(b) => b,
        }
    }

    /// From the on-disk byte.
    pub fn from_byte(b: u8) -> Self {
        match b {
            0 => Encoding::None,
            1 => Encoding::Xor,
            2 => Encoding::Histogram,
            3 => Encoding::FloatHistogram,
            0xff => Encoding::Aggr,
            other => Encoding::Other(other),
        }
    }
}

/// The bit pattern Prometheus writes as a staleness marker (a specific NaN).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// True if `v` is the staleness marker (compares bits, not value: every NaN != NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}
