//! The Prometheus HTTP API v1 (byte-compatible JSON) plus Thanos' `/api/v1/stores` and query
//! parameters (`dedup`, `replicaLabels[]`, `partial_response`, `max_source_resolution`,
//! `storeMatch[]`).

use std::sync::Arc;

use axum::Router;

use crate::Querier;

/// The `/api/v1/...` routes.
pub fn routes() -> Router<Arc<Querier>> {
    Router::new()
}
