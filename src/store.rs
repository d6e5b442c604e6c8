//! `strata store`: the store gateway process. Flags keep Thanos' names and defaults, except
//! the listen addresses, which default to the strata ports on 127.0.0.1 (DESIGN.md).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use strata_store_gateway::GatewayConfig;
use strata_store_gateway::service::{ServiceConfig, run};

use crate::ObjstoreFlags;
use crate::flags::{parse_duration_ms, parse_positive_duration_ms, parse_time_or_duration_ms};

/// Flags of `strata store`.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    #[command(flatten)]
    objstore: ObjstoreFlags,
    /// Local directory for index-headers (small per-block files: symbols and postings offsets).
    #[arg(long = "data-dir", env = "STRATA_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Listen address for the StoreAPI (gRPC). Use 0.0.0.0:10905 to serve other hosts.
    #[arg(long = "grpc-address", default_value = "127.0.0.1:10905")]
    grpc_address: String,
    /// Listen address for /metrics, /-/healthy, /-/ready and /api/v1/blocks.
    #[arg(long = "http-address", default_value = "127.0.0.1:10906")]
    http_address: String,
    /// How often the bucket is re-listed for new and deleted blocks.
    #[arg(long = "sync-block-duration", default_value = "15m", value_parser = parse_positive_duration_ms)]
    sync_block_duration_ms: i64,
    /// Size of the in-memory index cache (postings and series), e.g. 250MB. Ignored when
    /// --index-cache.config(-file) is given.
    #[arg(long = "index-cache-size", default_value = "250MB")]
    index_cache_size: String,
    /// YAML file with the index cache configuration (`type: IN-MEMORY|MEMCACHED`, `config`).
    #[arg(long = "index-cache.config-file")]
    index_cache_config_file: Option<PathBuf>,
    /// The index cache configuration as inline YAML.
    #[arg(
        long = "index-cache.config",
        conflicts_with = "index_cache_config_file"
    )]
    index_cache_config: Option<String>,
    /// YAML file with a cache configuration for chunk reads (`type: IN-MEMORY|MEMCACHED`,
    /// `config`). Thanos' caching-bucket tuning keys (chunk_subrange_size...) are not read yet.
    #[arg(long = "store.caching-bucket.config-file")]
    caching_bucket_config_file: Option<PathBuf>,
    /// The chunk cache configuration as inline YAML.
    #[arg(
        long = "store.caching-bucket.config",
        conflicts_with = "caching_bucket_config_file"
    )]
    caching_bucket_config: Option<String>,
    /// Serve only blocks ending after this time: RFC 3339 or relative to now (e.g. -2w).
    #[arg(long = "min-time", default_value = "0000-01-01T00:00:00Z", value_parser = parse_time_or_duration_ms)]
    min_time: i64,
    /// Serve only blocks starting before this time: RFC 3339 or relative to now (e.g. -1d).
    #[arg(long = "max-time", default_value = "9999-12-31T23:59:59Z", value_parser = parse_time_or_duration_ms)]
    max_time: i64,
    /// Maximum series one Series request may touch (0 = unlimited).
    #[arg(long = "store.limits.request-series", default_value_t = 0)]
    request_series: u64,
    /// Maximum samples one Series request may touch, counted as chunks x 120 (0 = unlimited).
    #[arg(long = "store.limits.request-samples", default_value_t = 0)]
    request_samples: u64,
    /// Blocks whose deletion mark is older than this are no longer served (half the compactor's
    /// --delete-delay is the usual choice).
    #[arg(long = "ignore-deletion-marks-delay", default_value = "24h", value_parser = parse_duration_ms)]
    ignore_deletion_marks_delay_ms: i64,
}

/// A cache configuration from a file flag or an inline flag, if either is set.
fn yaml_flag(
    file: Option<&PathBuf>,
    inline: Option<&String>,
    flag: &str,
) -> Result<Option<String>> {
    match (file, inline) {
        (Some(p), _) => {
            Ok(Some(std::fs::read_to_string(p).with_context(|| {
                format!("reading --{flag}-file {}", p.display())
            })?))
        }
        (None, Some(y)) => Ok(Some(y.clone())),
        (None, None) => Ok(None),
    }
}

fn index_cache_config(a: &StoreArgs) -> Result<strata_cache::CacheConfig> {
    let yaml = yaml_flag(
        a.index_cache_config_file.as_ref(),
        a.index_cache_config.as_ref(),
        "index-cache.config",
    )?;
    match yaml {
        Some(y) => strata_cache::CacheConfig::from_yaml(&y)
            .context("parsing the index cache configuration"),
        None => {
            let size = strata_units::parse_bytes(&a.index_cache_size)
                .map_err(|e| anyhow::anyhow!("--index-cache-size: {e}"))?;
            Ok(strata_cache::CacheConfig::in_memory(size))
        }
    }
}

pub(crate) async fn run_store(a: StoreArgs) -> Result<()> {
    if a.min_time > a.max_time {
        anyhow::bail!("--min-time must not be after --max-time");
    }
    let bucket = a.objstore.build()?;
    let index_cache = index_cache_config(&a)?
        .build()
        .context("building the index cache")?;
    let chunk_cache = match yaml_flag(
        a.caching_bucket_config_file.as_ref(),
        a.caching_bucket_config.as_ref(),
        "store.caching-bucket.config",
    )? {
        Some(y) => Some(
            strata_cache::CacheConfig::from_yaml(&y)
                .context("parsing the caching bucket configuration")?
                .build()
                .context("building the chunk cache")?,
        ),
        None => None,
    };
    let mut gateway = GatewayConfig::new(&a.data_dir);
    gateway.sync_interval = Duration::from_millis(a.sync_block_duration_ms as u64);
    gateway.ignore_deletion_marks_delay =
        Duration::from_millis(a.ignore_deletion_marks_delay_ms.max(0) as u64);
    gateway.min_time = a.min_time;
    gateway.max_time = a.max_time;
    gateway.series_limit = a.request_series;
    gateway.samples_limit = a.request_samples;
    gateway.index_cache = Some(index_cache);
    gateway.chunk_cache = chunk_cache;
    let cfg = ServiceConfig {
        grpc_address: a.grpc_address,
        http_address: a.http_address,
        gateway,
    };
    run(bucket, cfg, strata_runtime::shutdown_signal(), |r| {
        eprintln!(
            "strata store: StoreAPI on {} (gRPC), metrics and probes on http://{}",
            r.grpc_addr, r.http_addr
        );
    })
    .await
    .context("store gateway")
}
