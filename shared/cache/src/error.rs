//! The crate error. Only configuration and construction can fail: once built, a cache never
//! returns an error to its caller (backend failures are logged, counted and become misses).

/// Errors from parsing cache YAML and building a cache.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The YAML is malformed, has an unknown key, or a value is out of range.
    #[error("cache config: {0}")]
    Config(String),
    /// The backend type exists in Thanos but is not implemented here yet.
    #[error("cache config: type {0} is not supported yet (supported: IN-MEMORY, MEMCACHED)")]
    Unsupported(String),
}

impl Error {
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Self::Config(msg.into())
    }
}

/// Result with the crate [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
