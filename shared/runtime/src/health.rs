//! A component's probes and metrics: the `/-/healthy` and `/-/ready` probes (503 until ready,
//! as Thanos) and a prometheus-client registry served on `/metrics`, with the HTTP request
//! metrics every strata HTTP server records ([`crate::HttpMetrics`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;

use crate::http_metrics::HttpMetrics;

/// The shared state behind the probes and `/metrics` of one component.
#[derive(Debug, Clone)]
pub struct Health {
    ready: Arc<AtomicBool>,
    registry: Arc<Mutex<Registry>>,
    http: HttpMetrics,
    component: &'static str,
}

impl Health {
    /// Probes and a fresh registry for `component` (e.g. "store"), with the HTTP request
    /// metrics already registered.
    pub fn new(component: &'static str) -> Self {
        let http = HttpMetrics::default();
        let mut registry = Registry::default();
        http.register(&mut registry);
        Self {
            ready: Arc::new(AtomicBool::new(false)),
            registry: Arc::new(Mutex::new(registry)),
            http,
            component,
        }
    }

    /// The component's name, as given to [`Health::new`].
    pub fn component(&self) -> &'static str {
        self.component
    }

    /// True when both are handles of the same probes.
    pub(crate) fn same(&self, other: &Health) -> bool {
        Arc::ptr_eq(&self.ready, &other.ready)
    }

    /// Mark the component ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// True once `set_ready(true)` was called.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Register metrics: `f` gets the registry (call once per metric family at start-up).
    pub fn register(&self, f: impl FnOnce(&mut Registry)) {
        if let Ok(mut r) = self.registry.lock() {
            f(&mut r);
        }
    }

    /// The OpenMetrics text of every registered metric.
    pub fn encode_metrics(&self) -> String {
        let mut out = String::new();
        if let Ok(r) = self.registry.lock()
            && let Err(e) = prometheus_client::encoding::text::encode(&mut out, &r)
        {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        out
    }

    /// The HTTP request metrics of this component's servers.
    pub fn http_metrics(&self) -> &HttpMetrics {
        &self.http
    }

    /// `/metrics`, `/-/healthy` and `/-/ready`; merge component routes into it.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .route("/-/healthy", get(healthy))
            .route("/-/ready", get(ready))
            .with_state(self.clone())
    }
}

async fn metrics(State(h): State<Health>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        h.encode_metrics(),
    )
}

async fn healthy(State(h): State<Health>) -> impl IntoResponse {
    (
        StatusCode::OK,
        format!("strata {} is healthy.\n", h.component),
    )
}

async fn ready(State(h): State<Health>) -> impl IntoResponse {
    if h.is_ready() {
        (
            StatusCode::OK,
            format!("strata {} is ready.\n", h.component),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("strata {} is not ready.\n", h.component),
        )
    }
}
