//! The querier's HTTP metrics with the names Thanos' querier exports, so existing dashboards
//! work: `http_requests_total{handler,code,method}` and
//! `http_request_duration_seconds{handler}` (by route, e.g. `/api/v1/query_range`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    handler: String,
    code: String,
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabel {
    handler: String,
}

/// Request counts and latencies per route.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<HandlerLabel, Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 4.0, 10))
            }),
        }
    }
}

impl HttpMetrics {
    /// Registers the metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "http_requests",
            "Requests to the querier's HTTP API, by route, status code and method.",
            self.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Latency of the querier's HTTP API, by route.",
            self.duration.clone(),
        );
    }

    fn observe(&self, handler: &str, method: &str, code: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                handler: handler.to_string(),
                code: code.to_string(),
                method: method.to_string(),
            })
            .inc();
        self.duration
            .get_or_create(&HandlerLabel {
                handler: handler.to_string(),
            })
            .observe(seconds);
    }
}

/// Middleware recording every request under its matched route.
pub(crate) async fn track(
    State(metrics): State<Arc<HttpMetrics>>,
    req: Request,
    next: Next,
) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.observe(
        &handler,
        &method,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}
