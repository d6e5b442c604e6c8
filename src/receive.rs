//! `strata receive`: Prometheus remote write in, per-tenant heads with a write-ahead log.
//! Flags keep Thanos' names and defaults, except the listen addresses, which default to the
//! strata ports on 127.0.0.1 (DESIGN.md), and two flags Thanos does not have:
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

use anyhow::{Context, Result};
use clap::Args;
use strata_receive::distributor::DistributorOptions;
use strata_receive::head::{HeadOptions, SyncPolicy};
use strata_receive::http::{DEFAULT_TENANT_HEADER, DEFAULT_TENANT_ID, HttpOptions};
use strata_receive::remote_write::DecodeOptions;
use strata_receive::service::{ServiceConfig, run};
use strata_receive::tenants::TenantOptions;
use strata_tsdb::labels::Labels;

use crate::ObjstoreFlags;
use crate::flags::parse_duration_ms;

/// Flags of `strata receive`.
#[derive(Debug, Args)]
pub(crate) struct ReceiveArgs {
    /// Data directory: one sub-directory (WAL, blocks) per tenant.
    #[arg(long = "tsdb.path", env = "STRATA_TSDB_PATH", default_value = "./data")]
    tsdb_path: PathBuf,
    #[command(flatten)]
    objstore: ObjstoreFlags,
    /// External label `name=value` announced for every tenant (repeatable).
    #[arg(long = "label", value_parser = crate::parse_label)]
    labels: Vec<(String, String)>,
    /// Listen address for Prometheus remote write (`POST /api/v1/receive`).
    #[arg(long = "remote-write.address", default_value = "127.0.0.1:10908")]
    remote_write_address: String,
    /// Listen address for the StoreAPI (gRPC).
    #[arg(long = "grpc-address", default_value = "127.0.0.1:10907")]
    grpc_address: String,
    /// Listen address for /metrics, /-/healthy and /-/ready.
    #[arg(long = "http-address", default_value = "127.0.0.1:10909")]
    http_address: String,
    /// HTTP header naming the tenant of a write request (case-insensitive).
    #[arg(long = "receive.tenant-header", default_value = DEFAULT_TENANT_HEADER)]
    tenant_header: String,
    /// Tenant of write requests without the tenant header.
    #[arg(long = "receive.default-tenant-id", default_value = DEFAULT_TENANT_ID)]
    default_tenant: String,
    /// Name of the external label carrying the tenant.
    #[arg(long = "receive.tenant-label-name", default_value = "tenant_id")]
    tenant_label: String,
    /// Maximum number of active series per tenant; a write that would create more gets 429
    /// (0 = unlimited).
    #[arg(long = "receive.max-series-per-tenant", default_value_t = 0)]
    max_series_per_tenant: usize,
    /// Largest accepted (compressed) remote write body, e.g. 32MiB; larger ones get 413.
    #[arg(long = "receive.max-body-size", default_value = "32MiB", value_parser = strata_units::parse_bytes)]
    max_body_size: u64,
    /// How long local blocks are kept (0d = forever).
    #[arg(long = "tsdb.retention", default_value = "15d", value_parser = parse_duration_ms)]
    retention_ms: i64,
    /// Length of the blocks the heads are cut into (2h-aligned by default, as Thanos'
    /// --tsdb.min-block-duration); shorter values are for tests.
    #[arg(long = "tsdb.block-duration", default_value = "2h", value_parser = crate::flags::parse_positive_duration_ms)]
    block_duration_ms: i64,
    /// How often heads are checked for complete blocks to cut, upload and expire.
    #[arg(long = "tsdb.cut-interval", default_value = "30s", value_parser = crate::flags::parse_positive_duration_ms, hide = true)]
    cut_interval_ms: i64,
    /// When the WAL is fsynced: `always` (before every acknowledgement) or a duration (in the
    /// background at most that often). Acknowledged samples survive a process crash either way.
    #[arg(long = "tsdb.wal-fsync", default_value = "1s", value_parser = parse_sync_policy)]
    wal_fsync: SyncPolicy,
    /// Thanos hashrings JSON: which receivers own which tenants' series. With it, writes are
    /// routed by hashmod and replicated to --receive.replication-factor receivers over gRPC
    /// (/thanos.WriteableStore/RemoteWrite). Re-read when it changes.
    #[arg(long = "receive.hashrings-file", env = "STRATA_RECEIVE_HASHRINGS_FILE")]
    hashrings_file: Option<PathBuf>,
    /// This receiver's endpoint as the hashrings file lists it (default: --grpc-address).
    #[arg(long = "receive.local-endpoint")]
    local_endpoint: Option<String>,
    /// How many receivers store each series; a write succeeds once floor(RF/2)+1 of them
    /// acknowledged it (1 for RF=2, as Thanos).
    #[arg(long = "receive.replication-factor", default_value_t = 1)]
    replication_factor: usize,
    /// Timeout of one request forwarded to another receiver.
    #[arg(long = "receive-forward-timeout", default_value = "5s", value_parser = crate::flags::parse_positive_duration_ms)]
    forward_timeout_ms: i64,
    /// How often the hashrings file is checked for changes.
    #[arg(long = "receive.hashrings-file-refresh-interval", default_value = "5s", value_parser = crate::flags::parse_positive_duration_ms)]
    hashrings_refresh_ms: i64,
}

/// `always` or a positive duration.
fn parse_sync_policy(s: &str) -> Result<SyncPolicy, String> {
    if s.eq_ignore_ascii_case("always") {
        return Ok(SyncPolicy::Always);
    }
    match parse_duration_ms(s) {
        Ok(0) => Ok(SyncPolicy::Always),
        Ok(ms) => Ok(SyncPolicy::Interval(Duration::from_millis(ms as u64))),
        Err(_) => Err(format!(
            "{s:?} is neither `always` nor a duration such as 1s"
        )),
    }
}

pub(crate) async fn run_receive(a: ReceiveArgs) -> Result<()> {
    let bucket = if a.objstore.config_file.is_some() || a.objstore.config.is_some() {
        Some(a.objstore.build()?)
    } else {
        tracing::warn!("no --objstore.config(-file): blocks are cut but stay in --tsdb.path");
        None
    };
    let tenants = TenantOptions {
        dir: a.tsdb_path.clone(),
        head: HeadOptions {
            sync: a.wal_fsync,
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
        grpc_address: a.grpc_address.clone(),
        http_address: a.http_address,
        bucket,
        block_duration_ms: a.block_duration_ms,
        retention_ms: a.retention_ms,
        cut_interval: std::time::Duration::from_millis(a.cut_interval_ms as u64),
        distributor: DistributorOptions {
            hashrings_file: a.hashrings_file,
            local_endpoint: a.local_endpoint.unwrap_or_else(|| a.grpc_address.clone()),
            replication_factor: a.replication_factor,
            forward_timeout: Duration::from_millis(a.forward_timeout_ms as u64),
            ..DistributorOptions::default()
        },
        hashrings_refresh: Duration::from_millis(a.hashrings_refresh_ms as u64),
    };
    run(cfg, strata_runtime::shutdown_signal(), |r| {
        eprintln!(
            "strata receive: remote write on http://{}/api/v1/receive, StoreAPI on {} (gRPC), metrics on http://{}/metrics, data in {}",
            r.remote_write_addr,
            r.grpc_addr,
            r.http_addr,
            a.tsdb_path.display()
        );
    })
    .await
    .context("receive")
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
