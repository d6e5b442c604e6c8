//! HTTP request metrics with the names Thanos' HTTP servers export, so existing dashboards
//! work: `http_requests_total{handler,code,method}` and
//! `http_request_duration_seconds{handler}`. One layer, applied by [`crate::Runner`] to every
//! HTTP server: by matched route (`handler="/api/v1/query_range"`, method as sent, as
//! Prometheus' own API), or under one fixed handler name with the method in lower case, as
//! Thanos' promhttp instrumentation labels receive's `handler="receive",method="post"`.

use std::time::Instant;

use axum::Router;
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

/// Request counts and latencies per route (cheap to clone: the families are shared).
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
                Histogram::new(exponential_buckets(0.0005, 4.0, 10))
            }),
        }
    }
}

impl HttpMetrics {
    /// Registers both families (done by [`crate::Health::new`]).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "http_requests",
            "HTTP requests, by route (handler), status code and method.",
            self.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency, by route (handler).",
            self.duration.clone(),
        );
    }

    /// Records one request.
    pub fn observe(&self, handler: &str, method: &str, code: u16, seconds: f64) {
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

    /// `router` with every matched route's requests recorded under its route.
    pub fn instrument<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.instrument_as(router, Handler::Route)
    }

    /// `router` with every matched route's requests recorded as `handler`.
    pub fn instrument_as<S>(&self, router: Router<S>, handler: Handler) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        router.route_layer(axum::middleware::from_fn_with_state(
            (self.clone(), handler),
            track,
        ))
    }
}

/// How requests are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `handler` is the matched route, `method` as sent (`GET`).
    Route,
    /// `handler` is this name, `method` in lower case (`post`), as Thanos' promhttp middleware.
    Named(&'static str),
}

async fn track(
    State((metrics, labels)): State<(HttpMetrics, Handler)>,
    req: Request,
    next: Next,
) -> Response {
    let (handler, method) = match labels {
        Handler::Route => (
            req.extensions()
                .get::<MatchedPath>()
                .map_or_else(|| "other".to_string(), |p| p.as_str().to_string()),
            req.method().as_str().to_string(),
        ),
        Handler::Named(name) => (name.to_string(), req.method().as_str().to_lowercase()),
    };
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
