//! strata's querier: the Prometheus HTTP API v1 (plus Thanos' parameters and
//! `/api/v1/stores`) as an axum [`Router`] over the PromQL engine and a StoreAPI proxy of the
//! configured endpoints. `strata query` serves it long-lived; the Lambda binary serves the same
//! router through `lambda_http`.

pub mod api;
pub mod cli;
pub mod endpoints;
pub mod service;
pub mod tenancy;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use strata_promql::{Engine, EngineOptions, StoreQueryable};
use strata_storeapi::{RequestContext, Store};
use strata_tsdb::matchers::Matcher;

pub use endpoints::{EndpointSet, EndpointStatus};

/// Querier settings (Thanos flag names in the docs).
#[derive(Debug, Clone)]
pub struct QuerierConfig {
    /// `--query.replica-label`: labels that tell HA replicas apart (deduplicated away).
    pub replica_labels: Vec<String>,
    /// `--query.timeout`.
    pub timeout: Duration,
    /// `--query.max-concurrent`.
    pub max_concurrent: usize,
    /// `--query.lookback-delta`.
    pub lookback_delta: Duration,
    /// `--query.partial-response`: the default of the `partial_response` parameter.
    pub partial_response: bool,
    /// `--query.auto-downsampling`: `max_source_resolution` defaults to `auto` (step/5).
    pub auto_downsampling: bool,
    /// `--query.tenant-header`: the HTTP header naming the tenant (forwarded to the stores as
    /// gRPC metadata `thanos-tenant`).
    pub tenant_header: String,
    /// `--query.enforce-tenancy`, `--query.tenant-label-name` and `--query.default-tenant-id`:
    /// when set, every request sees only its tenant's series.
    pub tenancy: Option<tenancy::Tenancy>,
    /// The effective flag values, shown by `/api/v1/status/flags`.
    pub flags: std::collections::BTreeMap<String, String>,
}

impl Default for QuerierConfig {
    fn default() -> Self {
        QuerierConfig {
            replica_labels: Vec::new(),
            timeout: Duration::from_secs(120),
            max_concurrent: 20,
            lookback_delta: Duration::from_secs(300),
            partial_response: false,
            auto_downsampling: false,
            tenant_header: "THANOS-TENANT".to_string(),
            tenancy: None,
            flags: std::collections::BTreeMap::new(),
        }
    }
}

/// Per-request data options (from the Thanos query parameters and headers).
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Tenant from the tenant header.
    pub tenant: Option<String>,
    /// `dedup` (default true): deduplicate replicas by `replica_labels`.
    pub dedup: bool,
    /// `replicaLabels[]`, or the configured ones.
    pub replica_labels: Vec<String>,
    /// `partial_response`.
    pub partial_response: bool,
    /// `max_source_resolution` in ms (0 = raw only).
    pub max_source_resolution_ms: i64,
    /// `storeMatch[]`: only stores whose external labels match one of these sets.
    pub store_matchers: Vec<Vec<Matcher>>,
}

/// The querier's shared state: settings, the engine and the endpoints.
#[derive(Debug)]
pub struct Querier {
    /// Settings.
    pub config: QuerierConfig,
    /// The PromQL engine (lookback and timeout from the settings).
    pub engine: Engine,
    /// The StoreAPI endpoints and their health.
    pub endpoints: Arc<EndpointSet>,
    /// Bounds concurrent queries (`--query.max-concurrent`).
    pub concurrency: Arc<tokio::sync::Semaphore>,
}

impl Querier {
    /// A querier over `endpoints`.
    pub fn new(config: QuerierConfig, endpoints: Arc<EndpointSet>) -> Self {
        let engine = Engine::new(EngineOptions {
            lookback_delta: config.lookback_delta,
            timeout: config.timeout,
            ..EngineOptions::default()
        });
        let concurrency = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent.max(1)));
        Querier {
            config,
            engine,
            endpoints,
            concurrency,
        }
    }

    /// The store for one request: the endpoints allowed by `storeMatch[]`, confined to the
    /// request's tenant when tenancy is enforced.
    pub fn store(&self, opts: &RequestOptions) -> Arc<dyn Store> {
        self.confine(self.endpoints.proxy_for(&opts.store_matchers))
    }

    /// `store` confined to each request's tenant when tenancy is enforced, else `store`.
    pub fn confine(&self, store: Arc<dyn Store>) -> Arc<dyn Store> {
        match &self.config.tenancy {
            Some(t) => t.confine(store),
            None => store,
        }
    }

    /// The context the stores get: the request's tenant (`thanos-tenant` metadata), as
    /// Thanos' querier forwards it, with or without enforcement.
    pub fn request_context(&self, opts: &RequestOptions) -> RequestContext {
        RequestContext {
            tenant: opts.tenant.clone(),
        }
    }

    /// The data source for one request: the endpoints allowed by `storeMatch[]`, the tenant,
    /// partial-response strategy, deduplication and resolution.
    pub fn queryable(&self, opts: &RequestOptions) -> StoreQueryable {
        StoreQueryable::new(self.store(opts))
            .with_context(self.request_context(opts))
            .with_partial_response(opts.partial_response)
            .with_dedup(if opts.dedup {
                opts.replica_labels.clone()
            } else {
                Vec::new()
            })
            .with_max_resolution(opts.max_source_resolution_ms)
    }
}

/// The whole HTTP surface: the API under `/api/v1`, the web page at `/` (the service adds
/// the HTTP request metrics, probes and `/metrics`).
pub fn router(querier: Arc<Querier>) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(ui::routes())
        .with_state(querier)
}
