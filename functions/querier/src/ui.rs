//! A minimal web page at `/`: type a query, see the result as a table and a graph.
//!
//! One self-contained HTML file (inline style and script, no external resources) that calls
//! `api/v1/query` / `api/v1/query_range` with relative URLs, so it also works under a path
//! prefix such as a Lambda function URL.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::Querier;

/// The page, embedded at build time.
pub const INDEX_HTML: &str = include_str!("ui/index.html");

/// The `/` route.
pub fn routes() -> Router<Arc<Querier>> {
    Router::new().route("/", get(index))
}

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EndpointSet, QuerierConfig};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn app() -> Router {
        let endpoints = Arc::new(EndpointSet::from_stores(Vec::new()));
        routes().with_state(Arc::new(Querier::new(QuerierConfig::default(), endpoints)))
    }

    #[tokio::test]
    async fn serves_the_page_as_html() {
        let resp = app()
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(&body[..], INDEX_HTML.as_bytes());
    }

    #[tokio::test]
    async fn other_paths_are_not_the_page() {
        let resp = app()
            .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn page_is_self_contained_and_uses_relative_api_urls() {
        // No scripts, styles or images from elsewhere: the only absolute URL is the SVG namespace.
        let absolute: Vec<&str> = INDEX_HTML
            .match_indices("http")
            .map(|(i, _)| {
                INDEX_HTML[i..]
                    .split(['"', ' ', '\'', ')'])
                    .next()
                    .unwrap_or("")
            })
            .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
            .collect();
        assert_eq!(absolute, vec!["http://www.w3.org/2000/svg"]);
        assert!(
            !INDEX_HTML.contains(" src="),
            "no external scripts or images"
        );
        assert!(INDEX_HTML.contains("\"api/v1/query_range\""));
        assert!(INDEX_HTML.contains("\"api/v1/query\""));
        assert!(
            !INDEX_HTML.contains("\"/api/v1"),
            "API URLs must be relative"
        );
        assert!(INDEX_HTML.lines().count() < 300);
    }
}
