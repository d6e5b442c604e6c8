//! The one error type of the tsdb crate: every decoder returns it instead of panicking.

use std::io;

/// Result alias for the tsdb crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing a block.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bytes do not follow the format (bad magic, truncated data, impossible values).
    #[error("corrupted {what}: {reason}")]
    Corrupted { what: &'static str, reason: String },
    /// A checksum did not match.
    #[error("checksum mismatch in {what}: expected {expected:#010x}, got {actual:#010x}")]
    Checksum {
        what: &'static str,
        expected: u32,
        actual: u32,
    },
    /// A version or encoding this crate does not read.
    #[error("unsupported {what}: {value}")]
    Unsupported { what: &'static str, value: String },
    /// A caller broke an API contract (e.g. series added out of order, out-of-order samples).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A regular expression in a matcher did not compile.
    #[error("invalid regular expression {pattern:?}: {source}")]
    Regex {
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    /// JSON (meta.json, marker files) did not parse.
    #[error("invalid {what}: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// Local file I/O failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// A range source (e.g. object storage) failed to deliver bytes.
    #[error("reading {what}: {source}")]
    Source {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub(crate) fn corrupted(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Corrupted {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
