//! The long-running `strata query` service: polls the endpoints (ready once each was polled),
//! serves the HTTP API, web page, `/metrics` and probes on the HTTP address, and the querier
//! itself as a StoreAPI on the gRPC address (so queriers can be layered).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use strata_runtime::Health;
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
}

/// Errors of the service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A listener could not be bound or a server failed.
    #[error("{0}")]
    Serve(String),
}

/// Runs the querier over `endpoints` until `shutdown` resolves.
pub async fn run(
    endpoints: Arc<EndpointSet>,
    config: QuerierConfig,
    service: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_started: impl FnOnce(&Running),
) -> Result<(), ServiceError> {
    let health = Health::new("query");
    health.register(|r| endpoints.register_metrics(r));
    let querier = Arc::new(Querier::new(config, Arc::clone(&endpoints)));
    health.register(|r| querier.metrics.register(r));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    let app = health.router().merge(router(Arc::clone(&querier)));
    let (http_addr, http) = strata_runtime::bind_http(&service.http_address, app, stopped())
        .await
        .map_err(|e| ServiceError::Serve(e.to_string()))?;
    let grpc_listener = tokio::net::TcpListener::bind(&service.grpc_address)
        .await
        .map_err(|e| {
            ServiceError::Serve(format!("cannot listen on {}: {e}", service.grpc_address))
        })?;
    let grpc_addr = grpc_listener
        .local_addr()
        .map_err(|e| ServiceError::Serve(e.to_string()))?;
    let running = Running {
        grpc_addr,
        http_addr,
        querier: Arc::clone(&querier),
    };
    on_started(&running);
    tracing::info!(%grpc_addr, %http_addr, "querier listening");

    let as_store: Arc<dyn Store> = endpoints.proxy_for(&[]);
    let grpc = strata_storeapi::server::serve(grpc_listener, as_store, stopped());
    let http_task = tokio::spawn(http);
    let grpc_task = tokio::spawn(grpc);

    // Poll every endpoint once, then ready; then keep polling until shutdown.
    let poll_endpoints = Arc::clone(&endpoints);
    let poll_health = health.clone();
    let interval = service.poll_interval;
    let poll_task = tokio::spawn(async move {
        poll_endpoints.poll_once().await;
        poll_health.set_ready(true);
        loop {
            tokio::time::sleep(interval).await;
            poll_endpoints.poll_once().await;
        }
    });

    shutdown.await;
    tracing::info!("querier shutting down");
    health.set_ready(false);
    let _ = stop_tx.send(true);
    poll_task.abort();
    let grpc_res = grpc_task.await;
    let http_res = http_task.await;
    if let Ok(Err(e)) = grpc_res {
        return Err(ServiceError::Serve(format!("gRPC server: {e}")));
    }
    if let Ok(Err(e)) = http_res {
        return Err(ServiceError::Serve(format!("HTTP server: {e}")));
    }
    Ok(())
}
