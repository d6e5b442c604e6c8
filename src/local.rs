//! `strata local`: everything in one process over a FILESYSTEM bucket in `<data-dir>/bucket`,
//! until Ctrl-C. Components join as they land; today it starts, on one runner, the store
//! gateway (StoreAPI on 10905, metrics and blocks on 10906) over the bucket, receive (remote
//! write on 10908, StoreAPI on 10907, metrics on 10909) uploading to it, and the querier
//! (Prometheus HTTP API and web page on 10904, StoreAPI on 10903) over both; it ingests the
//! components' own metrics and shows how to fill the bucket.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use strata_querier::QuerierConfig;
use strata_querier::endpoints::{EndpointOptions, EndpointSet};
use strata_querier::service::{Running as QueryRunning, ServiceConfig as QueryService};
use strata_receive::service::{Running as ReceiveRunning, ServiceConfig as ReceiveConfig};
use strata_receive::tenants::{MultiTsdb, TenantOptions};
use strata_runtime::{Health, Runner};
use strata_store_gateway::GatewayConfig;
use strata_store_gateway::service::{Running as GatewayRunning, ServiceConfig as GatewayService};
use strata_tsdb::labels::Labels;

/// The tenant strata local writes its own metrics to (receive's default tenant).
const DEFAULT_TENANT: &str = "default-tenant";

/// Flags of `strata local`.
#[derive(Debug, Args)]
pub(crate) struct LocalArgs {
    /// Directory for all local state; the bucket lives in `<data-dir>/bucket`.
    #[arg(long = "data-dir", env = "STRATA_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// StoreAPI (gRPC) address of the store gateway.
    #[arg(
        long = "store.grpc-address",
        env = "STRATA_STORE_GRPC_ADDRESS",
        default_value = "127.0.0.1:10905"
    )]
    store_grpc_address: String,
    /// HTTP address of the store gateway (/metrics, /-/ready, /api/v1/blocks).
    #[arg(
        long = "store.http-address",
        env = "STRATA_STORE_HTTP_ADDRESS",
        default_value = "127.0.0.1:10906"
    )]
    store_http_address: String,
    /// HTTP address of the querier (Prometheus HTTP API, web page, /metrics).
    #[arg(
        long = "query.http-address",
        env = "STRATA_QUERY_HTTP_ADDRESS",
        default_value = "127.0.0.1:10904"
    )]
    query_http_address: String,
    /// StoreAPI (gRPC) address of the querier.
    #[arg(
        long = "query.grpc-address",
        env = "STRATA_QUERY_GRPC_ADDRESS",
        default_value = "127.0.0.1:10903"
    )]
    query_grpc_address: String,
    /// Remote write address of receive (`POST /api/v1/receive`).
    #[arg(
        long = "receive.remote-write-address",
        env = "STRATA_RECEIVE_REMOTE_WRITE_ADDRESS",
        default_value = "127.0.0.1:10908"
    )]
    receive_remote_write_address: String,
    /// StoreAPI (gRPC) address of receive.
    #[arg(
        long = "receive.grpc-address",
        env = "STRATA_RECEIVE_GRPC_ADDRESS",
        default_value = "127.0.0.1:10907"
    )]
    receive_grpc_address: String,
    /// HTTP address of receive (/metrics, probes).
    #[arg(
        long = "receive.http-address",
        env = "STRATA_RECEIVE_HTTP_ADDRESS",
        default_value = "127.0.0.1:10909"
    )]
    receive_http_address: String,
    /// How often strata ingests its own /metrics (so there is something to query at once; 0s
    /// turns it off).
    #[arg(long = "self-scrape-interval", env = "STRATA_SELF_SCRAPE_INTERVAL", default_value = "15s", value_parser = strata_runtime::cli::duration)]
    self_scrape_interval: Duration,
    /// How often the bucket is re-listed for new blocks.
    #[arg(long = "sync-block-duration", env = "STRATA_SYNC_BLOCK_DURATION", default_value = "30s", value_parser = strata_runtime::cli::positive_duration)]
    sync_block_duration: Duration,
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
    let upload_bucket = Arc::clone(&store);
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

    let cfg_path = config_path.display().to_string();

    // One runner: one Ctrl-C stops every component, and a restart loses nothing (receive
    // syncs its WALs once its servers have drained).
    let mut runner = Runner::new();
    let started = start_all(&mut runner, &args, store, upload_bucket).await;
    let (gateway, receive, query) = match started {
        Ok(s) => s,
        Err(e) => return Err(runner.abort(e).await),
    };
    eprintln!(
        "\nstrata local: bucket at {bucket}\n  objstore config: {cfg_path}\n\
         strata store: StoreAPI on {sgrpc} (gRPC), metrics and probes on http://{shttp}\n  \
         blocks: http://{shttp}/api/v1/blocks\n\
         strata receive: point Prometheus' remote_write at http://{rw}/api/v1/receive \
         (StoreAPI on {rgrpc}, metrics on http://{rhttp}/metrics); data in {rdir}\n\
         strata query: web page and Prometheus HTTP API on http://{qhttp} \
         (Grafana: a Prometheus data source with this URL), StoreAPI on {qgrpc} (gRPC)\n\n\
         Import history into the bucket (picked up within the sync interval):\n  \
         strata tools bucket backfill --objstore.config-file {cfg_path} --label cluster=local metrics.om\n\n\
         Ctrl-C stops (the WAL is flushed; nothing written is lost across a restart).",
        bucket = bucket.display(),
        sgrpc = gateway.grpc_addr,
        shttp = gateway.http_addr,
        rw = receive.remote_write_addr,
        rgrpc = receive.grpc_addr,
        rhttp = receive.http_addr,
        rdir = receive.tsdb.options().dir.display(),
        qhttp = query.http_addr,
        qgrpc = query.grpc_addr,
    );
    if !args.self_scrape_interval.is_zero() {
        let targets = vec![
            (gateway.http_addr.to_string(), gateway.health),
            (receive.http_addr.to_string(), receive.health),
            (query.http_addr.to_string(), query.health),
        ];
        runner.spawn(self_scrape(
            receive.tsdb,
            targets,
            args.self_scrape_interval,
        ));
    }
    runner.run(strata_runtime::shutdown_signal()).await?;
    Ok(())
}

/// Starts the store gateway, receive and the querier (over the other two) on `runner`.
async fn start_all(
    runner: &mut Runner,
    args: &LocalArgs,
    store: Arc<dyn object_store::ObjectStore>,
    upload_bucket: Arc<dyn object_store::ObjectStore>,
) -> Result<(GatewayRunning, ReceiveRunning, QueryRunning)> {
    let mut gateway = GatewayConfig::new(args.data_dir.join("store"));
    gateway.sync_interval = args.sync_block_duration;
    let gateway_cfg = GatewayService {
        grpc_address: args.store_grpc_address.clone(),
        http_address: args.store_http_address.clone(),
        gateway,
    };
    let gateway = strata_store_gateway::service::start(runner, store, gateway_cfg)
        .await
        .context("store gateway")?;

    let mut receive_tenants = TenantOptions {
        external_labels: Labels::from_pairs([("receive", "local")]),
        ..TenantOptions::new(args.data_dir.join("receive"))
    };
    // --tsdb.too-far-in-future.time-window: 10m, Mimir's create grace period for clock skew.
    receive_tenants.head.too_far_in_future = Duration::from_secs(600);
    let mut receive_cfg = ReceiveConfig::new(receive_tenants);
    receive_cfg.remote_write_address = args.receive_remote_write_address.clone();
    receive_cfg.grpc_address = args.receive_grpc_address.clone();
    receive_cfg.http_address = args.receive_http_address.clone();
    receive_cfg.bucket = Some(upload_bucket);
    let receive = strata_receive::service::start(runner, receive_cfg)
        .await
        .context("receive")?;

    // The querier reads the gateway and receive over their StoreAPIs.
    let addresses = [gateway.grpc_addr, receive.grpc_addr]
        .into_iter()
        .map(|mut a| {
            if a.ip().is_unspecified() {
                a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            a.to_string()
        })
        .collect();
    let endpoints = Arc::new(
        EndpointSet::new(addresses, EndpointOptions::default()).context("querier endpoints")?,
    );
    let query_cfg = QueryService {
        grpc_address: args.query_grpc_address.clone(),
        http_address: args.query_http_address.clone(),
        poll_interval: Duration::from_secs(5),
    };
    let query =
        strata_querier::service::start(runner, endpoints, QuerierConfig::default(), query_cfg)
            .await
            .context("querier")?;
    Ok((gateway, receive, query))
}

/// Ingests every component's own metrics (their registries, encoded in process) into the
/// default tenant every `every`, plus an `up` sample each, so a newcomer has data to query at
/// once. `instance` is the component's HTTP address, as a scrape of its `/metrics` would say.
async fn self_scrape(tsdb: Arc<MultiTsdb>, targets: Vec<(String, Health)>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut batch: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
        for (instance, health) in &targets {
            let target = [("job", "strata"), ("instance", instance.as_str())];
            batch.push((
                Labels::from_pairs(target.iter().copied().chain([("__name__", "up")])),
                vec![(now, 1.0)],
            ));
            let stamp = format!(" {}", now as f64 / 1000.0);
            for line in health.encode_metrics().lines() {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let with_ts = format!("{line}{stamp}");
                if let Ok(strata_tools::openmetrics::Line::Sample { labels, value, .. }) =
                    strata_tools::openmetrics::parse_line(&with_ts)
                {
                    let pairs = labels
                        .into_iter()
                        .map(|l| (l.name, l.value))
                        .chain(target.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                    batch.push((Labels::from_pairs(pairs), vec![(now, value)]));
                }
            }
        }
        let tsdb = Arc::clone(&tsdb);
        let appended =
            tokio::task::spawn_blocking(move || tsdb.append(DEFAULT_TENANT, &batch)).await;
        match appended {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "self-scrape append failed"),
            Err(e) => tracing::warn!(error = %e, "self-scrape task failed"),
        }
    }
}
