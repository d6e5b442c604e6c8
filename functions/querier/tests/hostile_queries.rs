//! Queries a hostile user sends: too deep or too long to parse safely (they used to overflow a
//! tokio worker's stack and abort the process), times and `@` timestamps out of range. Each is
//! a fast 400 `bad_data`, and the next request is answered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use strata_querier::{EndpointSet, Querier, QuerierConfig, router};
use strata_storeapi::{MemStore, StoreMeta};
use strata_tsdb::labels::Labels;
use tower::ServiceExt;

fn app() -> Router {
    let store = MemStore::new(Labels::empty()).into_store();
    let endpoints = Arc::new(EndpointSet::from_stores(vec![(
        store,
        StoreMeta::unknown("mem"),
    )]));
    router(Arc::new(Querier::new(QuerierConfig::default(), endpoints)))
}

/// Status and JSON body of `method path` with a form body.
async fn send(
    app: &Router,
    method: &str,
    path: &str,
    form: String,
) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn nest(open: &str, inner: &str, close: &str, k: usize) -> String {
    format!("{}{inner}{}", open.repeat(k), close.repeat(k))
}

#[tokio::test]
async fn deep_and_long_queries_and_bad_times_are_bad_data() {
    let app = app();
    let queries = [
        vec!["1"; 3000].join("+"),
        vec!["1"; 100_000].join("+"),
        nest("abs(", "vector(1)", ")", 2500),
        nest("sum(", "vector(1)", ")", 3000),
        vec!["vector(1)"; 3000].join(" and "),
        nest("max_over_time(", "vector(1)", "[1m:])", 1000),
        nest("(", "1", ")", 100_000),
        "x @ 1e300".into(),
    ];
    let mut requests = Vec::new();
    for q in &queries {
        let form = format!("query={}", encode(q));
        requests.push(("/api/v1/query", form.clone()));
        requests.push((
            "/api/v1/query_range",
            format!("{form}&start=1&end=100&step=10"),
        ));
    }
    let deep_match = format!("match[]={}", encode(&nest("(", "x", ")", 100_000)));
    requests.push(("/api/v1/series", deep_match.clone()));
    requests.push(("/api/v1/labels", deep_match));
    for t in ["1e400", "-1e400", "NaN", "Inf"] {
        requests.push(("/api/v1/query", format!("query=1&time={t}")));
        requests.push((
            "/api/v1/query_range",
            format!("query=1&start={t}&end=1&step=1"),
        ));
    }
    for (path, form) in requests {
        let started = Instant::now();
        let (status, body) = send(&app, "POST", path, form.clone()).await;
        let what = format!("{path} {:.60}: {body}", form);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(body["errorType"], "bad_data", "{what}");
        assert!(started.elapsed() < Duration::from_secs(2), "{what}");
    }
    let (status, body) = send(&app, "POST", "/api/v1/query", "query=1%2B1&time=1".into()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"][1], "2");
}
