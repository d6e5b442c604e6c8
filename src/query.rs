//! `strata query`: the querier process. Flags keep Thanos' names and defaults, except the
//! listen addresses, which default to the strata ports on 127.0.0.1 (DESIGN.md).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use strata_querier::QuerierConfig;
use strata_querier::endpoints::{EndpointOptions, EndpointSet};
use strata_querier::service::{ServiceConfig, run};

use crate::flags::{parse_duration_ms, parse_positive_duration_ms};

/// Flags of `strata query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// A StoreAPI endpoint to query: `host:port`, or `dns+host:port` to use every address the
    /// name resolves to (re-resolved on every poll). Repeatable.
    #[arg(long = "endpoint", value_name = "ADDRESS")]
    endpoints: Vec<String>,
    /// Listen address for the querier's own StoreAPI (gRPC), for layered queriers.
    #[arg(long = "grpc-address", default_value = "127.0.0.1:10903")]
    grpc_address: String,
    /// Listen address for the Prometheus HTTP API, the web page, /metrics and probes.
    #[arg(long = "http-address", default_value = "127.0.0.1:10904")]
    http_address: String,
    /// Label that tells HA replicas apart; deduplicated away by default (`dedup=false`
    /// keeps the replicas). Repeatable.
    #[arg(long = "query.replica-label", value_name = "LABEL")]
    replica_labels: Vec<String>,
    /// Maximum time a query may run.
    #[arg(long = "query.timeout", default_value = "2m", value_parser = parse_positive_duration_ms)]
    timeout_ms: i64,
    /// Maximum number of queries evaluated at once; the others wait.
    #[arg(long = "query.max-concurrent", default_value_t = 20)]
    max_concurrent: usize,
    /// How far back an instant selector looks for a sample.
    #[arg(long = "query.lookback-delta", default_value = "5m", value_parser = parse_positive_duration_ms)]
    lookback_delta_ms: i64,
    /// Answer with the data that is available (plus a warning) when a store fails, unless the
    /// request says `partial_response=false`.
    #[arg(long = "query.partial-response")]
    partial_response: bool,
    /// Let queries use downsampled data by default (`max_source_resolution=auto`, step/5).
    #[arg(long = "query.auto-downsampling")]
    auto_downsampling: bool,
    /// HTTP header naming the tenant; forwarded to the stores as gRPC metadata
    /// `thanos-tenant`.
    #[arg(long = "query.tenant-header", default_value = "THANOS-TENANT")]
    tenant_header: String,
    /// Give up on a store's response after this long (0 = wait as long as the query may).
    #[arg(long = "store.response-timeout", default_value = "0ms", value_parser = parse_duration_ms)]
    store_response_timeout_ms: i64,
    /// How often every endpoint is asked for its Info (health, labels, time range).
    #[arg(long = "endpoint.poll-interval", default_value = "5s", value_parser = parse_positive_duration_ms, hide = true)]
    poll_interval_ms: i64,
}

fn ms(v: i64) -> Duration {
    Duration::from_millis(v.max(0) as u64)
}

pub(crate) async fn run_query(a: QueryArgs) -> Result<()> {
    if a.endpoints.is_empty() {
        anyhow::bail!(
            "no --endpoint given: name at least one StoreAPI (e.g. --endpoint=127.0.0.1:10905)"
        );
    }
    let opts = EndpointOptions {
        response_timeout: (a.store_response_timeout_ms > 0)
            .then(|| ms(a.store_response_timeout_ms)),
        ..EndpointOptions::default()
    };
    let endpoints = Arc::new(EndpointSet::new(a.endpoints.clone(), opts).context("--endpoint")?);
    let config = QuerierConfig {
        replica_labels: a.replica_labels,
        timeout: ms(a.timeout_ms),
        max_concurrent: a.max_concurrent,
        lookback_delta: ms(a.lookback_delta_ms),
        partial_response: a.partial_response,
        auto_downsampling: a.auto_downsampling,
        tenant_header: a.tenant_header,
    };
    let service = ServiceConfig {
        grpc_address: a.grpc_address,
        http_address: a.http_address,
        poll_interval: ms(a.poll_interval_ms),
    };
    run(endpoints, config, service, strata_runtime::shutdown_signal(), |r| {
        eprintln!(
            "strata query: Prometheus HTTP API and web page on http://{}, StoreAPI on {} (gRPC), endpoints: {}",
            r.http_addr,
            r.grpc_addr,
            a.endpoints.join(", ")
        );
    })
    .await
    .context("querier")
}
