//! The Prometheus HTTP API v1 (byte-compatible JSON) plus Thanos' `/api/v1/stores` and query
//! parameters (`dedup`, `replicaLabels[]`, `partial_response`, `max_source_resolution`,
//! `storeMatch[]`).
//!
//! Behaviour follows Prometheus' `web/api/v1/api.go` (parameter order, error texts and
//! classes, JSON number and string formats) with these choices:
//! - `query_range` without `step` uses Thanos' default (`max(range/250, 1s)`) instead of
//!   failing as Prometheus does;
//! - a store failure that aborts a request is `unavailable` / 503 (see [`error`]);
//! - `stats` is accepted and ignored; exemplars and metadata are always empty.

mod error;
mod handlers;
mod json;
mod params;
mod selector;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

pub use error::{ApiError, ErrorType};

use crate::Querier;

/// The `/api/v1/...` routes.
pub fn routes() -> Router<Arc<Querier>> {
    Router::new()
        .route("/api/v1/query", get(handlers::query).post(handlers::query))
        .route(
            "/api/v1/query_range",
            get(handlers::query_range).post(handlers::query_range),
        )
        .route(
            "/api/v1/series",
            get(handlers::series).post(handlers::series),
        )
        .route(
            "/api/v1/labels",
            get(handlers::labels).post(handlers::labels),
        )
        .route("/api/v1/label/{name}/values", get(handlers::label_values))
        .route(
            "/api/v1/query_exemplars",
            get(handlers::query_exemplars).post(handlers::query_exemplars),
        )
        .route("/api/v1/metadata", get(handlers::metadata))
        .route("/api/v1/status/buildinfo", get(handlers::buildinfo))
        .route("/api/v1/status/config", get(handlers::status_config))
        .route("/api/v1/status/flags", get(handlers::status_flags))
        .route("/api/v1/stores", get(handlers::stores))
}
