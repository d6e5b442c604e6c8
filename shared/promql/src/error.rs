//! The engine's error type and the error classes the HTTP API maps them to (Prometheus'
//! `bad_data` / `execution` / `timeout` / `canceled` / `internal`).

/// How an error is reported over the Prometheus HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query is malformed (HTTP 400 `bad_data`).
    BadData,
    /// The query is valid but evaluating it failed (HTTP 422 `execution`).
    Execution,
    /// The query ran out of time (HTTP 503 `timeout`).
    Timeout,
    /// The query was cancelled (HTTP 503 `canceled`).
    Canceled,
    /// Reading data failed (HTTP 503 `unavailable`, or 500 `internal`).
    Storage,
}

/// Everything that can go wrong in parsing or evaluating a query.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Parse or type error, with the parser's message.
    #[error("{0}")]
    Parse(String),
    /// A query that parses but cannot be run as asked (e.g. a range vector in a range query).
    #[error("{0}")]
    BadData(String),
    /// A runtime error with Prometheus' wording (e.g. many-to-many matching).
    #[error("{0}")]
    Execution(String),
    /// The query loaded more samples than the limit allows.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// The query selected more series than the limit allows.
    #[error("query selected more than {0} series (limit --query.max-series)")]
    TooManySeries(usize),
    /// The query ran past its timeout.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query was cancelled by the caller.
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// A feature the engine does not have yet (never a wrong answer instead).
    #[error("{0} is not supported yet")]
    NotSupported(String),
    /// The store failed.
    #[error("{0}")]
    Storage(String),
}

impl Error {
    /// The HTTP error class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Parse(_) | Error::BadData(_) => ErrorKind::BadData,
            Error::Execution(_)
            | Error::TooManySamples(_)
            | Error::TooManySeries(_)
            | Error::NotSupported(_) => ErrorKind::Execution,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Canceled(_) => ErrorKind::Canceled,
            Error::Storage(_) => ErrorKind::Storage,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
