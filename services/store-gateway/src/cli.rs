//! The flags of `strata store`. They keep Thanos' names and defaults, except the listen
//! addresses, which default to the strata ports on 127.0.0.1; every flag also reads its
//! `STRATA_*` environment variable.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use strata_cache::{Cache, CacheConfig};
use strata_runtime::cli::{
    ListenDefaults, ListenFlags, ObjstoreFlags, config_text, duration, positive_duration,
    time_or_duration_ms,
};

use crate::service::{Running, ServiceConfig};
use crate::{GatewayConfig, GatewayError};

/// The store gateway's listen addresses.
#[derive(Debug, Clone)]
pub struct StoreListen;

impl ListenDefaults for StoreListen {
    const HTTP: &'static str = "127.0.0.1:10906";
    const HTTP_HELP: &'static str =
        "Listen address for /metrics, /-/healthy, /-/ready and /api/v1/blocks";
    const GRPC: &'static str = "127.0.0.1:10905";
    const GRPC_HELP: &'static str =
        "Listen address for the StoreAPI (gRPC). Use 0.0.0.0:10905 to serve other hosts";
}

/// Flags of `strata store`.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub objstore: ObjstoreFlags,
    /// Local directory for index-headers (small per-block files: symbols and postings offsets).
    #[arg(long = "data-dir", env = "STRATA_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub listen: ListenFlags<StoreListen>,
    /// How often the bucket is re-listed for new and deleted blocks.
    #[arg(long = "sync-block-duration", env = "STRATA_SYNC_BLOCK_DURATION", default_value = "15m", value_parser = positive_duration)]
    pub sync_block_duration: Duration,
    /// Size of the in-memory index cache (postings and series), e.g. 250MB. Ignored when
    /// --index-cache.config(-file) is given.
    #[arg(long = "index-cache-size", env = "STRATA_INDEX_CACHE_SIZE", default_value = "250MB", value_parser = strata_runtime::cli::bytes)]
    pub index_cache_size: u64,
    /// YAML file with the index cache configuration (`type: IN-MEMORY|MEMCACHED`, `config`).
    #[arg(
        long = "index-cache.config-file",
        env = "STRATA_INDEX_CACHE_CONFIG_FILE"
    )]
    pub index_cache_config_file: Option<PathBuf>,
    /// The index cache configuration as inline YAML.
    #[arg(
        long = "index-cache.config",
        env = "STRATA_INDEX_CACHE_CONFIG",
        conflicts_with = "index_cache_config_file"
    )]
    pub index_cache_config: Option<String>,
    /// YAML file with a cache configuration for chunk reads (`type: IN-MEMORY|MEMCACHED`,
    /// `config`). Thanos' caching-bucket tuning keys (chunk_subrange_size...) are not read yet.
    #[arg(
        long = "store.caching-bucket.config-file",
        env = "STRATA_STORE_CACHING_BUCKET_CONFIG_FILE"
    )]
    pub caching_bucket_config_file: Option<PathBuf>,
    /// The chunk cache configuration as inline YAML.
    #[arg(
        long = "store.caching-bucket.config",
        env = "STRATA_STORE_CACHING_BUCKET_CONFIG",
        conflicts_with = "caching_bucket_config_file"
    )]
    pub caching_bucket_config: Option<String>,
    /// Serve only blocks ending after this time: RFC 3339 or relative to now (e.g. -2w).
    #[arg(long = "min-time", env = "STRATA_MIN_TIME", default_value = "0000-01-01T00:00:00Z", value_parser = time_or_duration_ms)]
    pub min_time: i64,
    /// Serve only blocks starting before this time: RFC 3339 or relative to now (e.g. -1d).
    #[arg(long = "max-time", env = "STRATA_MAX_TIME", default_value = "9999-12-31T23:59:59Z", value_parser = time_or_duration_ms)]
    pub max_time: i64,
    /// Maximum series one Series request may touch (0 = unlimited).
    #[arg(
        long = "store.limits.request-series",
        env = "STRATA_STORE_LIMITS_REQUEST_SERIES",
        default_value_t = 0
    )]
    pub request_series: u64,
    /// Maximum samples one Series request may touch, counted as chunks x 120 (0 = unlimited).
    #[arg(
        long = "store.limits.request-samples",
        env = "STRATA_STORE_LIMITS_REQUEST_SAMPLES",
        default_value_t = 0
    )]
    pub request_samples: u64,
    /// Blocks whose deletion mark is older than this are no longer served (half the compactor's
    /// --delete-delay is the usual choice).
    #[arg(long = "ignore-deletion-marks-delay", env = "STRATA_IGNORE_DELETION_MARKS_DELAY", default_value = "24h", value_parser = duration)]
    pub ignore_deletion_marks_delay: Duration,
}

/// A cache from a `--<flag>-file` / `--<flag>` pair, if either is set.
fn cache(
    file: Option<&std::path::Path>,
    inline: Option<&str>,
    flag: &'static str,
) -> Result<Option<Arc<dyn Cache>>, GatewayError> {
    let Some(yaml) = config_text(file, inline, flag)? else {
        return Ok(None);
    };
    let built = CacheConfig::from_yaml(&yaml).and_then(|c| c.build());
    built
        .map(Some)
        .map_err(|source| GatewayError::Cache { what: flag, source })
}

impl StoreArgs {
    /// The service configuration (builds the caches; no network I/O).
    pub fn service_config(&self) -> Result<ServiceConfig, GatewayError> {
        if self.min_time > self.max_time {
            return Err(GatewayError::InvalidArgument(
                "--min-time must not be after --max-time".into(),
            ));
        }
        let index_cache = match cache(
            self.index_cache_config_file.as_deref(),
            self.index_cache_config.as_deref(),
            "index-cache.config",
        )? {
            Some(c) => c,
            None => CacheConfig::in_memory(self.index_cache_size)
                .build()
                .map_err(|source| GatewayError::Cache {
                    what: "index-cache-size",
                    source,
                })?,
        };
        let mut gateway = GatewayConfig::new(&self.data_dir);
        gateway.sync_interval = self.sync_block_duration;
        gateway.ignore_deletion_marks_delay = self.ignore_deletion_marks_delay;
        gateway.min_time = self.min_time;
        gateway.max_time = self.max_time;
        gateway.series_limit = self.request_series;
        gateway.samples_limit = self.request_samples;
        gateway.index_cache = Some(index_cache);
        gateway.chunk_cache = cache(
            self.caching_bucket_config_file.as_deref(),
            self.caching_bucket_config.as_deref(),
            "store.caching-bucket.config",
        )?;
        Ok(ServiceConfig {
            grpc_address: self.listen.grpc_address.clone(),
            http_address: self.listen.http_address.clone(),
            gateway,
        })
    }
}

/// `strata store`: serves the bucket until `shutdown` resolves.
pub async fn run(
    args: StoreArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let cfg = args.service_config()?;
    let bucket = args.objstore.required_bucket()?;
    crate::service::run(bucket, cfg, shutdown, |r: &Running| {
        eprintln!(
            "strata store: StoreAPI on {} (gRPC), metrics and probes on http://{}",
            r.grpc_addr, r.http_addr
        );
    })
    .await
}
