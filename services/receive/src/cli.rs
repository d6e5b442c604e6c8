//! The flags of `strata receive`: Prometheus remote write in, per-tenant heads with a
//! write-ahead log. Flags keep Thanos' names and defaults, except the listen addresses, which
//! default to the strata ports on 127.0.0.1, and two flags Thanos does not have (every flag
//! also reads its `STRATA_*` environment variable):
//!
//! * `--receive.max-body-size` (Thanos sets this in its limits file as
//!   `write.default.request.size_bytes_limit`): larger compressed bodies get 413.
//! * `--tsdb.wal-fsync`: when the WAL is `fsync`ed. A sample is acknowledged once its WAL
//!   record is written to the OS (it survives a crash or `kill -9` of the process either
//!   way); `always` also `fsync`s before acknowledging (survives an OS crash or power loss,
//!   slower); a duration `fsync`s in the background at most that often (an OS crash may lose
//!   up to that much). Default `1s`.

use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::distributor::DistributorOptions;
use crate::head::{HeadOptions, SyncPolicy};
use crate::http::{DEFAULT_TENANT_HEADER, DEFAULT_TENANT_ID, HttpOptions};
use crate::remote_write::DecodeOptions;
use crate::service::ServiceConfig;
use crate::tenants::TenantOptions;
use clap::Args;
use strata_tsdb::labels::Labels;

use strata_runtime::cli::{
    ListenDefaults, ListenFlags, ObjstoreFlags, duration, positive_duration,
};

/// Receive's listen addresses (remote write has its own flag).
#[derive(Debug, Clone)]
pub struct ReceiveListen;

impl ListenDefaults for ReceiveListen {
    const HTTP: &'static str = "127.0.0.1:10909";
    const HTTP_HELP: &'static str = "Listen address for /metrics, /-/healthy and /-/ready";
    const GRPC: &'static str = "127.0.0.1:10907";
    const GRPC_HELP: &'static str =
        "Listen address for the StoreAPI and /thanos.WriteableStore/RemoteWrite (gRPC)";
}

/// Flags of `strata receive`.
#[derive(Debug, Clone, Args)]
pub struct ReceiveArgs {
    /// Data directory: one sub-directory (WAL, blocks) per tenant.
    #[arg(long = "tsdb.path", env = "STRATA_TSDB_PATH", default_value = "./data")]
    pub tsdb_path: PathBuf,
    #[command(flatten)]
    pub objstore: ObjstoreFlags,
    /// External label `name=value` announced for every tenant (repeatable).
    #[arg(long = "label", env = "STRATA_LABEL", value_parser = strata_runtime::cli::label)]
    pub labels: Vec<(String, String)>,
    /// Listen address for Prometheus remote write (`POST /api/v1/receive`).
    #[arg(
        long = "remote-write.address",
        env = "STRATA_REMOTE_WRITE_ADDRESS",
        default_value = "127.0.0.1:10908"
    )]
    pub remote_write_address: String,
    #[command(flatten)]
    pub listen: ListenFlags<ReceiveListen>,
    /// HTTP header naming the tenant of a write request (case-insensitive).
    #[arg(long = "receive.tenant-header", env = "STRATA_RECEIVE_TENANT_HEADER", default_value = DEFAULT_TENANT_HEADER)]
    pub tenant_header: String,
    /// Tenant of write requests without the tenant header.
    #[arg(long = "receive.default-tenant-id", env = "STRATA_RECEIVE_DEFAULT_TENANT_ID", default_value = DEFAULT_TENANT_ID)]
    pub default_tenant: String,
    /// Name of the external label carrying the tenant.
    #[arg(
        long = "receive.tenant-label-name",
        env = "STRATA_RECEIVE_TENANT_LABEL_NAME",
        default_value = "tenant_id"
    )]
    pub tenant_label: String,
    /// Maximum number of active series per tenant; a write that would create more gets 429
    /// (0 = unlimited).
    #[arg(
        long = "receive.max-series-per-tenant",
        env = "STRATA_RECEIVE_MAX_SERIES_PER_TENANT",
        default_value_t = 0
    )]
    pub max_series_per_tenant: usize,
    /// Largest accepted (compressed) remote write body, e.g. 32MiB; larger ones get 413.
    #[arg(long = "receive.max-body-size", env = "STRATA_RECEIVE_MAX_BODY_SIZE", default_value = "32MiB", value_parser = strata_runtime::cli::bytes)]
    pub max_body_size: u64,
    /// How long local blocks are kept (0d = forever).
    #[arg(long = "tsdb.retention", env = "STRATA_TSDB_RETENTION", default_value = "15d", value_parser = duration)]
    pub retention: Duration,
    /// Length of the blocks the heads are cut into (2h-aligned by default, as Thanos'
    /// --tsdb.min-block-duration); shorter values are for tests.
    #[arg(long = "tsdb.block-duration", env = "STRATA_TSDB_BLOCK_DURATION", default_value = "2h", value_parser = positive_duration)]
    pub block_duration: Duration,
    /// Samples later than the receiver's clock plus this window get 400 (0s = accept any
    /// timestamp, as Thanos). 10m (Mimir's and Cortex' `-validation.create-grace-period`)
    /// allows for senders' clock skew. Whatever the value, samples beyond it never move the
    /// cut of a tenant's head, so one far-future sample cannot block a tenant's current ones.
    #[arg(long = "tsdb.too-far-in-future.time-window", env = "STRATA_TSDB_TOO_FAR_IN_FUTURE_TIME_WINDOW", default_value = "0s", value_parser = duration)]
    pub too_far_in_future: Duration,
    /// How often heads are checked for complete blocks to cut, upload and expire.
    #[arg(long = "tsdb.cut-interval", env = "STRATA_TSDB_CUT_INTERVAL", default_value = "30s", value_parser = positive_duration, hide = true)]
    pub cut_interval: Duration,
    /// When the WAL is fsynced: `always` (before every acknowledgement) or a duration (in the
    /// background at most that often). Acknowledged samples survive a process crash either way.
    #[arg(long = "tsdb.wal-fsync", env = "STRATA_TSDB_WAL_FSYNC", default_value = "1s", value_parser = parse_sync_policy)]
    pub wal_fsync: SyncPolicy,
    /// Thanos hashrings JSON: which receivers own which tenants' series. With it, writes are
    /// routed by hashmod and replicated to --receive.replication-factor receivers over gRPC
    /// (/thanos.WriteableStore/RemoteWrite). Re-read when it changes.
    #[arg(long = "receive.hashrings-file", env = "STRATA_RECEIVE_HASHRINGS_FILE")]
    pub hashrings_file: Option<PathBuf>,
    /// This receiver's endpoint as the hashrings file lists it (default: --grpc-address).
    #[arg(long = "receive.local-endpoint", env = "STRATA_RECEIVE_LOCAL_ENDPOINT")]
    pub local_endpoint: Option<String>,
    /// How many receivers store each series; a write succeeds once floor(RF/2)+1 of them
    /// acknowledged it (1 for RF=2, as Thanos).
    #[arg(
        long = "receive.replication-factor",
        env = "STRATA_RECEIVE_REPLICATION_FACTOR",
        default_value_t = 1
    )]
    pub replication_factor: usize,
    /// Timeout of one request forwarded to another receiver.
    #[arg(long = "receive-forward-timeout", env = "STRATA_RECEIVE_FORWARD_TIMEOUT", default_value = "5s", value_parser = positive_duration)]
    pub forward_timeout: Duration,
    /// How often the hashrings file is checked for changes.
    #[arg(long = "receive.hashrings-file-refresh-interval", env = "STRATA_RECEIVE_HASHRINGS_FILE_REFRESH_INTERVAL", default_value = "5s", value_parser = positive_duration)]
    pub hashrings_refresh: Duration,
}

/// `always` or a positive duration.
fn parse_sync_policy(s: &str) -> Result<SyncPolicy, String> {
    if s.eq_ignore_ascii_case("always") {
        return Ok(SyncPolicy::Always);
    }
    match duration(s) {
        Ok(d) if d.is_zero() => Ok(SyncPolicy::Always),
        Ok(d) => Ok(SyncPolicy::Interval(d)),
        Err(_) => Err(format!(
            "{s:?} is neither `always` nor a duration such as 1s"
        )),
    }
}

/// `strata receive`: runs the receiver until `shutdown` resolves.
pub async fn run(
    a: ReceiveArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let bucket = a.objstore.bucket()?;
    if bucket.is_none() {
        tracing::warn!("no --objstore.config(-file): blocks are cut but stay in --tsdb.path");
    }
    let tenants = TenantOptions {
        dir: a.tsdb_path.clone(),
        head: HeadOptions {
            sync: a.wal_fsync,
            too_far_in_future: a.too_far_in_future,
            ..HeadOptions::default()
        },
        tenant_label: a.tenant_label,
        external_labels: Labels::from_pairs(a.labels),
        max_series_per_tenant: a.max_series_per_tenant,
    };
    let http = HttpOptions {
        tenant_header: a.tenant_header,
        default_tenant: a.default_tenant,
        max_body_bytes: usize::try_from(a.max_body_size).unwrap_or(usize::MAX),
        decode: DecodeOptions::default(),
    };
    let cfg = ServiceConfig {
        tenants,
        http,
        remote_write_address: a.remote_write_address,
        grpc_address: a.listen.grpc_address.clone(),
        http_address: a.listen.http_address,
        bucket,
        block_duration: a.block_duration,
        retention: a.retention,
        cut_interval: a.cut_interval,
        distributor: DistributorOptions {
            hashrings_file: a.hashrings_file,
            local_endpoint: a
                .local_endpoint
                .unwrap_or_else(|| a.listen.grpc_address.clone()),
            replication_factor: a.replication_factor,
            forward_timeout: a.forward_timeout,
            ..DistributorOptions::default()
        },
        hashrings_refresh: a.hashrings_refresh,
    };
    crate::service::run(cfg, shutdown, |r| {
        eprintln!(
            "strata receive: remote write on http://{}/api/v1/receive, StoreAPI on {} (gRPC), metrics on http://{}/metrics, data in {}",
            r.remote_write_addr,
            r.grpc_addr,
            r.http_addr,
            a.tsdb_path.display()
        );
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_policies_parse() {
        assert_eq!(parse_sync_policy("always"), Ok(SyncPolicy::Always));
        assert_eq!(parse_sync_policy("0s"), Ok(SyncPolicy::Always));
        assert_eq!(
            parse_sync_policy("250ms"),
            Ok(SyncPolicy::Interval(Duration::from_millis(250)))
        );
        assert!(parse_sync_policy("sometimes").is_err());
    }
}
