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
use strata_receive::head::HeadOptions;
use strata_receive::service::{ServiceConfig as ReceiveConfig, run as run_receive};
use strata_receive::tenants::{MultiTsdb, TenantOptions};
use strata_store_gateway::GatewayConfig;
use strata_store_gateway::service::{ServiceConfig, run as run_gateway};
/// The tenant strata local writes its own metrics to (receive's default tenant).
const DEFAULT_TENANT: &str = "default-tenant";
use strata_tsdb::labels::Labels;

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
    /// Remote write address of receive (`POST /api/v1/receive`).
    #[arg(
        long = "receive.remote-write-address",
        default_value = "127.0.0.1:10908"
    )]
    receive_remote_write_address: String,
    /// StoreAPI (gRPC) address of receive.
    #[arg(long = "receive.grpc-address", default_value = "127.0.0.1:10907")]
    receive_grpc_address: String,
    /// HTTP address of receive (/metrics, probes).
    #[arg(long = "receive.http-address", default_value = "127.0.0.1:10909")]
    receive_http_address: String,
    /// How often strata ingests its own /metrics (so there is something to query at once; 0s
    /// turns it off).
    #[arg(long = "self-scrape-interval", default_value = "15s", value_parser = crate::flags::parse_duration_ms)]
    self_scrape_ms: i64,
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

    // The querier reads the gateway and receive over their StoreAPIs, once both are bound.
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<std::net::SocketAddr>();
    let (rcv_tx, rcv_rx) = tokio::sync::oneshot::channel::<std::net::SocketAddr>();
    let query_service = QueryService {
        grpc_address: args.query_grpc_address,
        http_address: args.query_http_address,
        poll_interval: Duration::from_secs(5),
    };
    let query_stopped = stopped();
    let querier = async move {
        let (Ok(gateway), Ok(receive)) = (addr_rx.await, rcv_rx.await) else {
            return Ok(()); // a component did not start; its error is reported
        };
        let addresses = [gateway, receive]
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
             Ctrl-C stops (the WAL is flushed; nothing written is lost across a restart).",
            bucket = bucket.display(),
            grpc = r.grpc_addr,
            http = r.http_addr,
        );
    });
    let mut receive_cfg = ReceiveConfig::new(TenantOptions {
        dir: args.data_dir.join("receive"),
        head: HeadOptions::default(),
        tenant_label: "tenant_id".to_string(),
        external_labels: Labels::from_pairs([("receive", "local")]),
        max_series_per_tenant: 0,
    });
    receive_cfg.remote_write_address = args.receive_remote_write_address;
    receive_cfg.grpc_address = args.receive_grpc_address;
    receive_cfg.http_address = args.receive_http_address;
    receive_cfg.bucket = Some(upload_bucket);
    let (tsdb_tx, tsdb_rx) = tokio::sync::oneshot::channel::<(Arc<MultiTsdb>, Vec<String>)>();
    let receive = run_receive(receive_cfg, stopped(), |r| {
        let _ = rcv_tx.send(r.grpc_addr);
        let _ = tsdb_tx.send((Arc::clone(&r.tsdb), vec![r.http_addr.to_string()]));
        eprintln!(
            "strata receive: point Prometheus' remote_write at http://{rw}/api/v1/receive \
             (StoreAPI on {grpc}, metrics on http://{http}/metrics); data in {dir}",
            rw = r.remote_write_addr,
            grpc = r.grpc_addr,
            http = r.http_addr,
            dir = r.tsdb.options().dir.display(),
        );
    });
    let every = Duration::from_millis(args.self_scrape_ms.max(0) as u64);
    let scrape_stopped = stopped();
    let scraper = async move {
        if every.is_zero() {
            return;
        }
        if let Ok((tsdb, targets)) = tsdb_rx.await {
            tokio::select! {
                () = self_scrape(tsdb, targets, every) => {}
                () = scrape_stopped => {}
            }
        }
    };
    let (g, q, r, ()) = tokio::join!(gateway, querier, receive, scraper);
    g.context("store gateway")?;
    r.context("receive")?;
    q
}

/// Ingests strata's own `/metrics` (receive's) into the default tenant every `every`, plus an
/// `up` sample, so a newcomer has data to query at once.
async fn self_scrape(tsdb: Arc<MultiTsdb>, targets: Vec<String>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut batch: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
        for target in &targets {
            let body = scrape(target).await;
            let up = if body.is_some() { 1.0 } else { 0.0 };
            let instance = [("job", "strata"), ("instance", target.as_str())];
            batch.push((
                Labels::from_pairs(instance.iter().copied().chain([("__name__", "up")])),
                vec![(now, up)],
            ));
            let Some(body) = body else { continue };
            let stamp = format!(" {}", now as f64 / 1000.0);
            for line in body.lines() {
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
                        .chain(instance.iter().map(|(k, v)| (k.to_string(), v.to_string())));
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

/// GET `http://<target>/metrics`; `None` if it cannot be read.
async fn scrape(target: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(target).await.ok()?;
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.ok()?;
    let text = String::from_utf8(out).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}
