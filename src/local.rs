//! `strata local`: everything in one process over a FILESYSTEM bucket in `<data-dir>/bucket`,
//! until Ctrl-C. Components join as they land; today it serves the store gateway (StoreAPI on
//! 10905, metrics and blocks on 10906) over the bucket and the querier (Prometheus HTTP API and
//! web page on 10904, StoreAPI on 10903) over the gateway, and shows how to fill the bucket.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use strata_querier::QuerierConfig;
use strata_querier::endpoints::{EndpointOptions, EndpointSet};
use strata_querier::service::{ServiceConfig as QueryService, run as run_querier};
use strata_store_gateway::GatewayConfig;
use strata_store_gateway::service::{ServiceConfig, run as run_gateway};

/// Flags of `strata local`.
#[derive(Debug, Args)]
pub(crate) struct LocalArgs {
    /// Directory for all local state; the bucket lives in `<data-dir>/bucket`.
    #[arg(long = "data-dir", env = "STRATA_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// StoreAPI (gRPC) address of the store gateway.
    #[arg(long = "store.grpc-address", default_value = "127.0.0.1:10905")]
    store_grpc_address: String,
    /// HTTP address of the store gateway (/metrics, /-/ready, /api/v1/blocks).
    #[arg(long = "store.http-address", default_value = "127.0.0.1:10906")]
    store_http_address: String,
    /// HTTP address of the querier (Prometheus HTTP API, web page, /metrics).
    #[arg(long = "query.http-address", default_value = "127.0.0.1:10904")]
    query_http_address: String,
    /// StoreAPI (gRPC) address of the querier.
    #[arg(long = "query.grpc-address", default_value = "127.0.0.1:10903")]
    query_grpc_address: String,
    /// How often the bucket is re-listed for new blocks.
    #[arg(long = "sync-block-duration", default_value = "30s", value_parser = crate::flags::parse_positive_duration_ms)]
    sync_block_duration_ms: i64,
}

pub(crate) async fn run(args: LocalArgs) -> Result<()> {
    let bucket = args.data_dir.join("bucket");
    std::fs::create_dir_all(&bucket)
        .with_context(|| format!("creating bucket directory {}", bucket.display()))?;
    let bucket = bucket
        .canonicalize()
        .with_context(|| format!("resolving {}", bucket.display()))?;
    let config_path = args.data_dir.join("bucket.yml");
    let yaml = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        bucket.display().to_string()
    );
    std::fs::write(&config_path, &yaml)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let store = strata_objstore::config::from_yaml(&yaml).context("opening the local bucket")?;
    let metas = strata_objstore::block::list_block_metas(store.as_ref())
        .await
        .context("listing blocks")?;
    let samples: u64 = metas.metas.values().map(|m| m.stats.num_samples).sum();
    tracing::info!(
        bucket = %bucket.display(),
        blocks = metas.metas.len(),
        partial = metas.partial.len(),
        corrupted = metas.corrupted.len(),
        samples,
        "local bucket ready"
    );

    let mut gateway = GatewayConfig::new(args.data_dir.join("store"));
    gateway.sync_interval = Duration::from_millis(args.sync_block_duration_ms as u64);
    let cfg = ServiceConfig {
        grpc_address: args.store_grpc_address.clone(),
        http_address: args.store_http_address,
        gateway,
    };
    let cfg_path = config_path.display().to_string();

    // One Ctrl-C stops both components.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        strata_runtime::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    // The querier reads the gateway over its StoreAPI, once the gateway has bound it.
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<std::net::SocketAddr>();
    let query_service = QueryService {
        grpc_address: args.query_grpc_address,
        http_address: args.query_http_address,
        poll_interval: Duration::from_secs(5),
    };
    let query_stopped = stopped();
    let querier = async move {
        let Ok(mut addr) = addr_rx.await else {
            return Ok(()); // the gateway did not start; its error is reported
        };
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let endpoints = Arc::new(
            EndpointSet::new(vec![addr.to_string()], EndpointOptions::default())
                .context("querier endpoint")?,
        );
        run_querier(
            endpoints,
            QuerierConfig::default(),
            query_service,
            query_stopped,
            |r| {
                eprintln!(
                    "strata query: web page and Prometheus HTTP API on http://{http} \
                     (Grafana: a Prometheus data source with this URL), StoreAPI on {grpc} (gRPC)",
                    http = r.http_addr,
                    grpc = r.grpc_addr,
                );
            },
        )
        .await
        .context("querier")
    };
    let gateway = run_gateway(store, cfg, stopped(), |r| {
        let _ = addr_tx.send(r.grpc_addr);
        eprintln!(
            "\nstrata local: bucket at {bucket}\n  objstore config: {cfg_path}\n\
             strata store: StoreAPI on {grpc} (gRPC), metrics and probes on http://{http}\n  \
             blocks: http://{http}/api/v1/blocks\n\n\
             Import history into the bucket (picked up within the sync interval):\n  \
             strata tools bucket backfill --objstore.config-file {cfg_path} --label cluster=local metrics.om\n\n\
             Receive (remote write) joins this command as it lands. Ctrl-C stops.",
            bucket = bucket.display(),
            grpc = r.grpc_addr,
            http = r.http_addr,
        );
    });
    let (g, q) = tokio::join!(gateway, querier);
    g.context("store gateway")?;
    q
}
