//! The long-running `strata query` service: polls the endpoints (ready once each was polled),
//! serves the HTTP API, web page, `/metrics` and probes on the HTTP address, and the querier
//! itself as a StoreAPI on the gRPC address (so queriers can be layered).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use strata_runtime::{Health, Listener, Runner};
use strata_storeapi::Store;

use crate::{EndpointSet, Querier, QuerierConfig, router};

/// Where `strata query` listens.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// StoreAPI (gRPC) listen address.
    pub grpc_address: String,
    /// HTTP listen address.
    pub http_address: String,
    /// How often endpoints are polled with Info.
    pub poll_interval: Duration,
}

/// What is running, for the caller's start-up message and tests.
#[derive(Debug)]
pub struct Running {
    /// Bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// Bound HTTP address.
    pub http_addr: SocketAddr,
    /// The querier state.
    pub querier: Arc<Querier>,
    /// Probes and metrics.
    pub health: Health,
}

/// Errors of the service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A listener could not be bound or a server failed.
    #[error(transparent)]
    Serve(#[from] strata_runtime::Error),
    /// The endpoint flags are unusable.
    #[error(transparent)]
    Endpoints(#[from] crate::endpoints::EndpointError),
}

/// Binds both listeners and adds the querier's servers and endpoint polling to `runner`.
pub async fn start(
    runner: &mut Runner,
    endpoints: Arc<EndpointSet>,
    config: QuerierConfig,
    service: ServiceConfig,
) -> Result<Running, ServiceError> {
    let http = Listener::bind(&service.http_address).await?;
    let grpc = Listener::bind(&service.grpc_address).await?;
    let health = Health::new("query");
    health.register(|r| endpoints.register_metrics(r));
    let querier = Arc::new(Querier::new(config, Arc::clone(&endpoints)));
    let running = Running {
        grpc_addr: grpc.addr(),
        http_addr: http.addr(),
        querier: Arc::clone(&querier),
        health: health.clone(),
    };
    tracing::info!(grpc_addr = %running.grpc_addr, http_addr = %running.http_addr, "querier listening");

    // The querier's own StoreAPI is confined to the caller's tenant like the HTTP API.
    let as_store: Arc<dyn Store> = querier.confine(endpoints.proxy_for(&[]));
    let app = health.router().merge(router(querier));
    runner.serve_http("API", http, app, &health);
    runner.serve_grpc(
        "query StoreAPI",
        grpc,
        strata_storeapi::server::StoreServer::new(as_store).routes(),
    );
    // Poll every endpoint once, then ready; then keep polling until shutdown.
    let poll_health = health.clone();
    let interval = service.poll_interval;
    runner.spawn(async move {
        endpoints.poll_once().await;
        poll_health.set_ready(true);
        loop {
            tokio::time::sleep(interval).await;
            endpoints.poll_once().await;
        }
    });
    Ok(running)
}

/// Runs the querier over `endpoints` until `shutdown` resolves.
pub async fn run(
    endpoints: Arc<EndpointSet>,
    config: QuerierConfig,
    service: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_started: impl FnOnce(&Running),
) -> Result<(), ServiceError> {
    let mut runner = Runner::new();
    let running = match start(&mut runner, endpoints, config, service).await {
        Ok(r) => r,
        Err(e) => return Err(runner.abort(e).await),
    };
    on_started(&running);
    Ok(runner.run(shutdown).await?)
}
