//! The long-running `strata store` service around [`BucketStore`]: initial sync then ready,
//! periodic re-sync, the StoreAPI on the gRPC address, and on the HTTP address `/metrics`
//! (Thanos metric names where Thanos has one, so existing dashboards keep working),
//! `/-/healthy`, `/-/ready` and `/api/v1/blocks`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use object_store::ObjectStore;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use strata_runtime::{Health, Listener, Runner};
use strata_storeapi::Store;

use crate::metrics::Metrics;
use crate::{BucketStore, GatewayConfig, GatewayError};

/// Addresses and the gateway configuration of one `strata store` process.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// gRPC listen address (StoreAPI).
    pub grpc_address: String,
    /// HTTP listen address (metrics, probes, blocks API).
    pub http_address: String,
    /// The gateway itself.
    pub gateway: GatewayConfig,
}

/// A started service: its bound addresses and the store (for tests and `strata local`).
#[derive(Debug)]
pub struct Running {
    /// Bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// Bound HTTP address.
    pub http_addr: SocketAddr,
    /// The store being served.
    pub store: Arc<BucketStore>,
    /// Probes and metrics.
    pub health: Health,
}

/// Binds both listeners and adds the gateway's servers and its sync loop (first sync, then
/// ready, then every sync interval) to `runner`.
pub async fn start(
    runner: &mut Runner,
    bucket: Arc<dyn ObjectStore>,
    cfg: ServiceConfig,
) -> Result<Running, GatewayError> {
    let http = Listener::bind(&cfg.http_address).await?;
    let grpc = Listener::bind(&cfg.grpc_address).await?;
    let store = Arc::new(BucketStore::new(bucket, cfg.gateway.clone()));
    let health = Health::new("store");
    let metrics = store.metrics_handle();
    health.register(|r| r.register_collector(Box::new(GatewayCollector { metrics })));
    let running = Running {
        grpc_addr: grpc.addr(),
        http_addr: http.addr(),
        store: Arc::clone(&store),
        health: health.clone(),
    };
    tracing::info!(grpc_addr = %running.grpc_addr, http_addr = %running.http_addr, "store gateway listening");

    let router = health.router().merge(
        axum::Router::new()
            .route("/api/v1/blocks", get(blocks))
            .with_state(Arc::clone(&store)),
    );
    runner.serve_http("blocks and metrics", http, router, &health);
    let dyn_store: Arc<dyn Store> = store.clone();
    runner.serve_grpc(
        "store StoreAPI",
        grpc,
        strata_storeapi::server::StoreServer::new(dyn_store).routes(),
    );
    runner.spawn(async move {
        match store.sync().await {
            Ok(report) => tracing::info!(
                loaded = report.loaded.len(),
                failed = report.failed.len(),
                partial = report.partial.len(),
                serving = report.serving,
                "initial bucket sync done"
            ),
            Err(e) => {
                tracing::error!(error = %e, "initial bucket sync failed; serving what loaded")
            }
        }
        health.set_ready(true);
        store.sync_loop().await;
    });
    Ok(running)
}

/// Serves the gateway until `shutdown` resolves. `on_started` is called once the listeners
/// are bound (before the first sync finishes).
pub async fn run(
    bucket: Arc<dyn ObjectStore>,
    cfg: ServiceConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_started: impl FnOnce(&Running),
) -> Result<(), GatewayError> {
    let mut runner = Runner::new();
    let running = match start(&mut runner, bucket, cfg).await {
        Ok(r) => r,
        Err(e) => return Err(runner.abort(e).await),
    };
    on_started(&running);
    Ok(runner.run(shutdown).await?)
}

async fn blocks(State(store): State<Arc<BucketStore>>) -> Json<serde_json::Value> {
    let blocks: Vec<serde_json::Value> = store
        .blocks()
        .into_iter()
        .map(|b| {
            let mut v = serde_json::to_value(&b.meta).unwrap_or(serde_json::Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("indexHeaderBytes".into(), b.index_header_bytes.into());
                o.insert("residentBytes".into(), b.resident_bytes.into());
            }
            v
        })
        .collect();
    Json(serde_json::json!({"status": "success", "data": {"blocks": blocks}}))
}

/// Exports [`Metrics`] at scrape time.
#[derive(Debug)]
struct GatewayCollector {
    metrics: Arc<Metrics>,
}

fn counter(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    labels: &[(&str, &str, u64)],
) -> Result<(), std::fmt::Error> {
    let proto = ConstCounter::new(0u64);
    let mut family = enc.encode_descriptor(name, help, None, proto.metric_type())?;
    for (k, v, value) in labels {
        let label = [(*k, *v)];
        let m = family.encode_family(&label)?;
        ConstCounter::new(*value).encode(m)?;
    }
    Ok(())
}

fn plain_counter(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value);
    let m = enc.encode_descriptor(name, help, None, c.metric_type())?;
    c.encode(m)
}

impl Collector for GatewayCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = self.metrics.snapshot();
        let g = ConstGauge::new(s.blocks_loaded as i64);
        g.encode(enc.encode_descriptor(
            "thanos_bucket_store_blocks_loaded",
            "Number of currently loaded blocks.",
            None,
            g.metric_type(),
        )?)?;
        plain_counter(
            &mut enc,
            "thanos_bucket_store_block_loads",
            "Total number of remote block loading attempts.",
            s.block_loads,
        )?;
        plain_counter(
            &mut enc,
            "thanos_bucket_store_block_load_failures",
            "Total number of failed remote block loading attempts.",
            s.block_load_failures,
        )?;
        plain_counter(
            &mut enc,
            "thanos_bucket_store_block_drops",
            "Total number of local blocks that were dropped.",
            s.block_drops,
        )?;
        plain_counter(
            &mut enc,
            "strata_store_corrupted_blocks",
            "Blocks skipped because they could not be read.",
            s.corrupted_blocks,
        )?;
        plain_counter(&mut enc, "strata_store_syncs", "Bucket syncs.", s.syncs)?;
        plain_counter(
            &mut enc,
            "strata_store_sync_failures",
            "Failed bucket syncs.",
            s.sync_failures,
        )?;
        plain_counter(
            &mut enc,
            "strata_store_series_requests",
            "Series requests served.",
            s.series_requests,
        )?;
        plain_counter(
            &mut enc,
            "strata_store_limit_rejections",
            "Series requests rejected by a series or sample limit.",
            s.limit_rejections,
        )?;
        counter(
            &mut enc,
            "strata_store_data_touched",
            "Postings lists, series and chunks touched by Series requests.",
            &[
                ("data_type", "postings", s.postings_touched),
                ("data_type", "series", s.series_touched),
                ("data_type", "chunks", s.chunks_touched),
            ],
        )?;
        counter(
            &mut enc,
            "strata_store_bucket_bytes_fetched",
            "Bytes fetched from the bucket by Series requests.",
            &[
                ("data_type", "postings", s.postings_bytes_fetched),
                ("data_type", "series", s.series_bytes_fetched),
                ("data_type", "chunks", s.chunk_bytes_fetched),
            ],
        )?;
        counter(
            &mut enc,
            "strata_store_bucket_gets",
            "Ranged GET requests issued by Series requests.",
            &[
                ("data_type", "postings", s.postings_gets),
                ("data_type", "series", s.series_gets),
                ("data_type", "chunks", s.chunk_gets),
            ],
        )?;
        counter(
            &mut enc,
            "thanos_store_index_cache_requests",
            "Total number of items requested from the cache.",
            &[
                (
                    "item_type",
                    "Postings",
                    s.postings_cache_hits + s.postings_cache_misses,
                ),
                (
                    "item_type",
                    "Series",
                    s.series_cache_hits + s.series_cache_misses,
                ),
                (
                    "item_type",
                    "Chunks",
                    s.chunk_cache_hits + s.chunk_cache_misses,
                ),
            ],
        )?;
        counter(
            &mut enc,
            "thanos_store_index_cache_hits",
            "Total number of items requested from the cache that were found.",
            &[
                ("item_type", "Postings", s.postings_cache_hits),
                ("item_type", "Series", s.series_cache_hits),
                ("item_type", "Chunks", s.chunk_cache_hits),
            ],
        )?;
        Ok(())
    }
}
