//! `strata local`: everything in one process over a FILESYSTEM bucket in `<data-dir>/bucket`,
//! until Ctrl-C. Components join as they land; today it serves the store gateway (StoreAPI on
//! 10905, metrics and blocks on 10906) over the bucket and shows how to fill it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
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
        grpc_address: args.store_grpc_address,
        http_address: args.store_http_address,
        gateway,
    };
    let cfg_path = config_path.display().to_string();
    run_gateway(store, cfg, strata_runtime::shutdown_signal(), |r| {
        eprintln!(
            "\nstrata local: bucket at {bucket}\n  objstore config: {cfg_path}\n\
             strata store: StoreAPI on {grpc} (gRPC), metrics and probes on http://{http}\n  \
             blocks: http://{http}/api/v1/blocks\n\n\
             Import history into the bucket (picked up within the sync interval):\n  \
             strata tools bucket backfill --objstore.config-file {cfg_path} --label cluster=local metrics.om\n\n\
             Receive (remote write) and the querier join this command as they land. Ctrl-C stops.",
            bucket = bucket.display(),
            grpc = r.grpc_addr,
            http = r.http_addr,
        );
    })
    .await
    .context("store gateway")
}
