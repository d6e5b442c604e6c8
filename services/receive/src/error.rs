//! The receive crate's one error type, and its one mapping to an HTTP status (what remote
//! write senders get) and to a gRPC status (what forwarding receivers get).
//!
//! Codes follow Thanos receive (`pkg/receive/handler.go`): 400 for input that can never be
//! stored (body, labels, tenant, a sample beyond `--tsdb.too-far-in-future.time-window`), 409 for samples that conflict with the request itself or the
//! head (out of order, duplicate with another value, before the head's minimum time: Thanos'
//! `errConflict`), 413 for size limits, 415 for a `Content-Type` or `Content-Encoding` receive
//! does not support (the remote write 2.0 spec), 429 for the series limit, 503 when the
//! receiver is not ready or a replicated write missed its quorum for a retryable reason, 500
//! for storage failures and everything else. Remote write senders retry 5xx and 429 and drop
//! other 4xx.
//! As gRPC statuses: 409 `AlreadyExists`, 400 `InvalidArgument`, 413 and 429
//! `ResourceExhausted`, 503 `Unavailable`, anything else `Internal`; a peer's status comes
//! back through [`Error::Forward`] with the inverse mapping.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::StatusCode;
use strata_tsdb::labels::Labels;

/// Everything that can go wrong in receive. `Display` is the message remote write senders
/// get as the response body; [`Error::status`] is the HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The receiver is starting or shutting down (503).
    #[error("receiver is not ready")]
    NotReady,
    /// The compressed body is over `--receive.max-body-size` (413).
    #[error("write request too large: body of {len} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Body length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The Snappy header claims a decompressed size over the limit (413).
    #[error(
        "write request too large: decompressed size of {len} bytes exceeds the limit of {limit} bytes"
    )]
    DecompressedTooLarge {
        /// Decompressed length claimed by the Snappy header.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The request body could not be read (400).
    #[error("read compressed request body: {0}")]
    ReadBody(#[source] axum::Error),
    /// The body is not valid Snappy block format (400).
    #[error("snappy decode error: {0}")]
    Snappy(#[source] snap::Error),
    /// The decompressed body is not a protobuf `prometheus.WriteRequest` (400).
    #[error("protobuf decode error: {0}")]
    Protobuf(#[source] prost::DecodeError),
    /// The `Content-Type` or `Content-Encoding` of a remote write request names a message or a
    /// compression receive does not support (415: the remote write 2.0 spec's "Unsupported
    /// Request Content", so that a sender can fall back to another message).
    #[error("unsupported {header} {value:?}: {reason}")]
    UnsupportedMediaType {
        /// `Content-Type` or `Content-Encoding`.
        header: &'static str,
        /// The header's value as sent.
        value: String,
        /// Why, and what is supported.
        reason: String,
    },
    /// A remote write 2.0 series refers to the symbols table badly (400).
    #[error("invalid series #{index}: {reason}")]
    InvalidSymbolRefs {
        /// Index of the series entry in the request (0-based).
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A series breaks the label rules (400).
    #[error("invalid series #{index} {series}: {problem}")]
    InvalidLabels {
        /// Index of the series entry in the request (0-based).
        index: usize,
        /// The series' labels as sent, `{a="1", …}` (cut if very long).
        series: String,
        /// What is wrong.
        problem: LabelProblem,
    },
    /// A series carries native histogram samples (400).
    #[error(
        "native histograms are not supported yet: series #{index} {series} has {count} histogram sample(s)"
    )]
    HistogramsUnsupported {
        /// Index of the series entry in the request (0-based).
        index: usize,
        /// The series' labels.
        series: String,
        /// Number of histogram samples in that series.
        count: usize,
    },
    /// A sample's timestamp is before the previous one of the same series entry (409).
    #[error(
        "out of order sample: timestamp {timestamp} after {previous} in series #{index} {series}"
    )]
    OutOfOrderInRequest {
        /// Index of the series entry in the request (0-based).
        index: usize,
        /// The series' labels.
        series: String,
        /// The offending timestamp (ms).
        timestamp: i64,
        /// The preceding timestamp (ms).
        previous: i64,
    },
    /// Two samples of one series entry share a timestamp but not a value (409).
    #[error(
        "duplicate sample for timestamp {timestamp} with a different value in series #{index} {series}"
    )]
    DuplicateInRequest {
        /// Index of the series entry in the request (0-based).
        index: usize,
        /// The series' labels.
        series: String,
        /// The duplicated timestamp (ms).
        timestamp: i64,
    },
    /// A request could not be encoded (only from `remote_write::encode`: too large for
    /// Snappy; 500).
    #[error("cannot encode write request: {0}")]
    Encode(#[source] snap::Error),
    /// The tenant header is not text (400).
    #[error("the tenant header is not valid text")]
    TenantHeaderNotText,
    /// The tenant name cannot name a directory (400).
    #[error("invalid tenant name {tenant:?}: {reason}")]
    InvalidTenant {
        /// The refused name.
        tenant: String,
        /// Why.
        reason: &'static str,
    },
    /// A sample not after the newest one of its series in the head (or at the same time with
    /// another value): Prometheus `ErrOutOfOrderSample` / `ErrDuplicateSampleForTimestamp` (409).
    #[error("out of order sample at {t} for series {labels}")]
    OutOfOrder {
        /// The series.
        labels: Labels,
        /// The rejected timestamp.
        t: i64,
    },
    /// A sample before the head's minimum valid time, already cut into a block (409).
    #[error("sample at {t} for series {labels} is before the head's minimum time {min_valid}")]
    OutOfBounds {
        /// The series.
        labels: Labels,
        /// The rejected timestamp.
        t: i64,
        /// Samples before this time are rejected.
        min_valid: i64,
    },
    /// A series with no labels (400).
    #[error("series with no labels")]
    EmptyLabels,
    /// A sample later than now + `--tsdb.too-far-in-future.time-window` (400; Thanos counts
    /// these as out of bounds, 409, but resending never helps).
    #[error(
        "sample at {t} for series {labels} is too far in the future: more than {window:?} after now ({now})"
    )]
    TooFarInFuture {
        /// The series.
        labels: Labels,
        /// The rejected timestamp (ms).
        t: i64,
        /// The receiver's clock when the sample arrived (ms).
        now: i64,
        /// `--tsdb.too-far-in-future.time-window`.
        window: Duration,
    },
    /// The tenant would exceed `--receive.max-series-per-tenant` (429).
    #[error("tenant {tenant} would exceed the limit of {limit} active series")]
    SeriesLimit {
        /// The tenant.
        tenant: String,
        /// The limit.
        limit: usize,
    },
    /// A failure of one tenant's storage.
    #[error("tenant {tenant}: {source}")]
    Tenant {
        /// The tenant.
        tenant: String,
        /// The cause.
        #[source]
        source: Box<Error>,
    },
    /// A WAL file operation failed.
    #[error("WAL I/O on {path}: {source}", path = path.display())]
    WalIo {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// One WAL append batch encodes to more than `wal::MAX_FRAME_BYTES`.
    #[error("WAL batch of {0} bytes exceeds the maximum frame size")]
    WalBatchTooLarge(usize),
    /// A WAL frame payload could not be decoded (replay treats it as a corrupt tail).
    #[error("corrupt WAL record: {0}")]
    WalDecode(#[source] strata_tsdb::Error),
    /// A WAL frame payload decoded to something impossible.
    #[error("corrupt WAL record: {0}")]
    WalCorrupt(String),
    /// Writing a block from the head failed.
    #[error("writing block: {0}")]
    WriteBlock(#[source] strata_tsdb::Error),
    /// `Head::cut_block` of a range starting after the head's oldest sample: those samples
    /// would be dropped without being in any block.
    #[error("cannot cut [{mint}, {maxt}): the head has samples from {min_time}")]
    InvalidCutRange {
        /// Requested start.
        mint: i64,
        /// Requested end.
        maxt: i64,
        /// The head's oldest sample.
        min_time: i64,
    },
    /// Cutting a tenant's head into a block failed.
    #[error("tenant {tenant}: cutting the head: {source}")]
    CutHead {
        /// The tenant.
        tenant: String,
        /// The cause.
        #[source]
        source: Box<Error>,
    },
    /// A local block could not be read or its meta.json written.
    #[error("block {}: {source}", dir.display())]
    Block {
        /// The block directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: strata_tsdb::Error,
    },
    /// Uploading a block failed.
    #[error("uploading {}: {source}", dir.display())]
    Upload {
        /// The block directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: strata_objstore::Error,
    },
    /// Local file I/O failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A shipper file (`thanos.shipper.json`) is not valid JSON.
    #[error("{}: {source}", path.display())]
    ShipperFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A shipper file could not be written.
    #[error("{}: {source}", path.display())]
    WriteShipperFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: strata_tsdb::Error,
    },
    /// The block duration is not positive.
    #[error("block duration must be positive, got {0} ms")]
    InvalidBlockDuration(i64),
    /// Flags that do not fit together.
    #[error("{0}")]
    InvalidFlags(String),
    /// `--receive.tenant-header` is not a valid HTTP header name.
    #[error("--receive.tenant-header {header:?} is not a valid HTTP header name")]
    InvalidTenantHeader {
        /// The configured value.
        header: String,
        /// The cause.
        #[source]
        source: axum::http::header::InvalidHeaderName,
    },
    /// `--receive.default-tenant-id` is not a valid tenant name.
    #[error("--receive.default-tenant-id {tenant:?}: {source}")]
    InvalidDefaultTenant {
        /// The configured value.
        tenant: String,
        /// Why it is invalid.
        #[source]
        source: Box<Error>,
    },
    /// The hashrings file cannot be read.
    #[error("--receive.hashrings-file {}: {source}", path.display())]
    ReadHashrings {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The hashrings file is invalid.
    #[error("--receive.hashrings-file {}: {source}", path.display())]
    InvalidHashringsFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: Box<Error>,
    },
    /// The hashrings file is not the Thanos JSON layout.
    #[error("hashrings file: {0}")]
    HashringsJson(#[source] serde_json::Error),
    /// The hashrings file holds an empty list.
    #[error("hashrings file: no hashrings: the file holds an empty list")]
    NoHashrings,
    /// A hashring is unusable (no endpoints, unknown algorithm, bad pattern, too few nodes).
    #[error("hashring {name:?}: {reason}")]
    InvalidHashring {
        /// The hashring's `hashring` name (or its position).
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A hashring's `tenants` entry is not a valid glob pattern.
    #[error("hashring {name:?}: tenant pattern {pattern:?}: {source}")]
    TenantPattern {
        /// The hashring's name (or its position).
        name: String,
        /// The pattern.
        pattern: String,
        /// Why it is invalid.
        #[source]
        source: glob::PatternError,
    },
    /// No hashring matches the tenant (and none is a default one without tenants).
    #[error("no hashring matches tenant {0:?}")]
    NoHashring(String),
    /// A hashring endpoint is not a valid address.
    #[error(transparent)]
    InvalidEndpoint(strata_storeapi::StoreError),
    /// A peer refused a forwarded write; its status decides ours (the inverse of
    /// `From<Error> for tonic::Status`, anything but the permanent codes being 503).
    #[error("forwarding to {endpoint}: {}", status.message())]
    Forward {
        /// The peer.
        endpoint: String,
        /// Its answer.
        #[source]
        status: tonic::Status,
    },
    /// A peer did not answer a forwarded write in time (503).
    #[error("forwarding to {endpoint}: no answer within {timeout:?}")]
    ForwardTimeout {
        /// The peer.
        endpoint: String,
        /// `--receive-forward-timeout`.
        timeout: Duration,
    },
    /// A replicated write was not acknowledged by a quorum of replicas for some series. The
    /// status is `cause`'s when one permanent cause alone ruled quorum out, else 503.
    #[error(
        "quorum not reached for {failed} of {series} series (each needs {quorum} of {replicas} replicas): {reasons}"
    )]
    QuorumNotReached {
        /// Series that missed their quorum.
        failed: usize,
        /// Series in the write.
        series: usize,
        /// Acknowledgements each series needs.
        quorum: usize,
        /// `--receive.replication-factor`.
        replicas: usize,
        /// Every distinct replica failure, joined by `; `.
        reasons: String,
        /// The permanent failure that ruled quorum out, if one did.
        #[source]
        cause: Option<Box<Error>>,
    },
    /// The tenant storage could not be opened (or synced at shutdown).
    #[error("TSDB: {0}")]
    OpenTsdb(#[source] Box<Error>),
    /// A listener could not be bound, or a server or task of the service failed.
    #[error("{context}: {source}")]
    Serve {
        /// What failed.
        context: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A listener could not be bound, a server failed, or the flags are unusable.
    #[error(transparent)]
    Runtime(#[from] strata_runtime::Error),
    /// A blocking task panicked or was cancelled.
    #[error("internal error: {0}")]
    TaskFailed(#[source] tokio::task::JoinError),
}

impl Error {
    /// The HTTP status of this error: the one mapping (see the module docs).
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotReady | Error::ForwardTimeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::BodyTooLarge { .. } | Error::DecompressedTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Error::ReadBody(_)
            | Error::Snappy(_)
            | Error::Protobuf(_)
            | Error::InvalidLabels { .. }
            | Error::InvalidSymbolRefs { .. }
            | Error::HistogramsUnsupported { .. }
            | Error::TenantHeaderNotText
            | Error::InvalidTenant { .. }
            | Error::EmptyLabels
            | Error::TooFarInFuture { .. } => StatusCode::BAD_REQUEST,
            Error::OutOfOrderInRequest { .. }
            | Error::DuplicateInRequest { .. }
            | Error::OutOfOrder { .. }
            | Error::OutOfBounds { .. } => StatusCode::CONFLICT,
            Error::SeriesLimit { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Forward { status, .. } => match status.code() {
                tonic::Code::AlreadyExists => StatusCode::CONFLICT,
                tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
                tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            },
            Error::QuorumNotReached { cause, .. } => cause
                .as_ref()
                .map_or(StatusCode::SERVICE_UNAVAILABLE, |c| c.status()),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// True if a sender should retry (5xx); remote write senders must not retry 4xx.
    pub fn is_retryable(&self) -> bool {
        self.status().is_server_error()
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn serve(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Serve {
            context: context.into(),
            source: source.into(),
        }
    }
}

impl From<Error> for tonic::Status {
    /// Thanos receive's gRPC codes for the HTTP statuses of [`Error::status`].
    fn from(e: Error) -> Self {
        let code = match e.status() {
            StatusCode::CONFLICT => tonic::Code::AlreadyExists,
            StatusCode::BAD_REQUEST => tonic::Code::InvalidArgument,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => {
                tonic::Code::ResourceExhausted
            }
            StatusCode::SERVICE_UNAVAILABLE => tonic::Code::Unavailable,
            _ => tonic::Code::Internal,
        };
        tonic::Status::new(code, e.to_string())
    }
}

/// What is wrong with a label set (the rules are in [`crate::remote_write`]'s docs); carried
/// by [`Error::InvalidLabels`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelProblem {
    /// No labels at all.
    Empty,
    /// A label has an empty name.
    EmptyName,
    /// A label name is not valid under the validation scheme.
    InvalidName(String),
    /// Labels are not sorted by name.
    OutOfOrder {
        /// The preceding name.
        earlier: String,
        /// The name that should have come first.
        later: String,
    },
    /// A name occurs twice.
    Duplicate(String),
    /// No `__name__` label, or an empty one.
    MissingMetricName,
    /// The `__name__` value is not valid under the validation scheme.
    InvalidMetricName(String),
}

impl std::fmt::Display for LabelProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelProblem::Empty => f.write_str("empty label set"),
            LabelProblem::EmptyName => f.write_str("label set contains a label with an empty name"),
            LabelProblem::InvalidName(n) => write!(f, "invalid label name {n:?}"),
            LabelProblem::OutOfOrder { earlier, later } => write!(
                f,
                "out of order labels: {later:?} sorts before the preceding label {earlier:?}"
            ),
            LabelProblem::Duplicate(n) => {
                write!(
                    f,
                    "label set contains duplicate label names: {n:?} is not unique"
                )
            }
            LabelProblem::MissingMetricName => f.write_str(
                "empty metric name: the series has no __name__ label or its value is empty",
            ),
            LabelProblem::InvalidMetricName(v) => write!(f, "invalid metric name {v:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_round_trip_through_forward() {
        for (e, code) in [
            (Error::EmptyLabels, tonic::Code::InvalidArgument),
            (
                Error::SeriesLimit {
                    tenant: "t".into(),
                    limit: 1,
                },
                tonic::Code::ResourceExhausted,
            ),
            (Error::NotReady, tonic::Code::Unavailable),
            (Error::InvalidBlockDuration(0), tonic::Code::Internal),
            (
                Error::OutOfOrder {
                    labels: Labels::empty(),
                    t: 1,
                },
                tonic::Code::AlreadyExists,
            ),
        ] {
            let status_before = e.status();
            let s = tonic::Status::from(e);
            assert_eq!(s.code(), code);
            let back = Error::Forward {
                endpoint: "x".into(),
                status: s,
            };
            // Permanent refusals keep their status; anything else is "unavailable" (503).
            let want = if status_before.is_server_error() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                status_before
            };
            assert_eq!(back.status(), want);
        }
    }
}
