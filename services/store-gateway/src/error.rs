//! The store gateway's error type and its mapping to [`StoreError`].

use strata_storeapi::StoreError;
use ulid::Ulid;

/// What can go wrong loading blocks or answering a request.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A block's files do not decode (corrupted index, chunk, index-header...).
    #[error("block {block}: {source}")]
    Block {
        /// The block.
        block: Ulid,
        /// The decode error.
        #[source]
        source: strata_tsdb::Error,
    },
    /// A block is unusable for a reason found by the gateway (missing files...).
    #[error("block {block}: {reason}")]
    BadBlock {
        /// The block.
        block: Ulid,
        /// Why.
        reason: String,
    },
    /// The bucket failed.
    #[error("bucket: {0}")]
    Bucket(#[from] strata_objstore::Error),
    /// Local disk failed (index-header files).
    #[error("local file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A configured limit was exceeded.
    #[error("{0}")]
    Limit(String),
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The consumer went away.
    #[error("request cancelled")]
    Cancelled,
    /// The service could not listen or serve (address in use, server failure), or its flags
    /// are unusable.
    #[error(transparent)]
    Serve(#[from] strata_runtime::Error),
    /// A cache configuration is invalid.
    #[error("{what}: {source}")]
    Cache {
        /// Which cache (the flag).
        what: &'static str,
        /// The error.
        #[source]
        source: strata_cache::Error,
    },
}

impl GatewayError {
    pub(crate) fn block(block: Ulid, source: strata_tsdb::Error) -> Self {
        GatewayError::Block { block, source }
    }

    pub(crate) fn bad_block(block: Ulid, reason: impl Into<String>) -> Self {
        GatewayError::BadBlock {
            block,
            reason: reason.into(),
        }
    }

    #[cfg(feature = "testing")]
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        GatewayError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<GatewayError> for StoreError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::Limit(m) => StoreError::ResourceExhausted(m),
            GatewayError::InvalidArgument(m) => StoreError::InvalidArgument(m),
            GatewayError::Cancelled => StoreError::Cancelled,
            GatewayError::Bucket(b) => StoreError::Unavailable(b.to_string()),
            other => StoreError::Internal(other.to_string()),
        }
    }
}
