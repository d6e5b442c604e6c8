//! strata tools: bucket utilities (`strata tools bucket ...`). For now the OpenMetrics backfill
//! that imports history into a bucket and seeds buckets for tests.

pub mod backfill;
pub mod openmetrics;

/// Result alias for the tools crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the tools.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input file has a syntax error.
    #[error("line {line}: {reason}")]
    Parse { line: u64, reason: String },
    /// The input or the options are not usable.
    #[error("{0}")]
    Input(String),
    /// Local file I/O failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Writing a block failed.
    #[error(transparent)]
    Tsdb(#[from] strata_tsdb::Error),
    /// Talking to the bucket failed.
    #[error(transparent)]
    Objstore(#[from] strata_objstore::Error),
}
