//! A minimal web page at `/`: type a query, see the result as a table and a graph.

use std::sync::Arc;

use axum::Router;

use crate::Querier;

/// The `/` route.
pub fn routes() -> Router<Arc<Querier>> {
    Router::new()
}
