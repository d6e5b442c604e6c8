//! The HTTP helpers against an in-process axum server: method, headers and body arrive, a
//! chunked answer comes back whole, and the blocking calls work inside a tokio runtime.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method};
use axum::routing::{any, get};
use strata_testkit::http;

async fn serve() -> SocketAddr {
    let echo = |method: Method, headers: HeaderMap, body: Bytes| async move {
        let ct = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        format!("{method} {ct:?} {}", String::from_utf8_lossy(&body))
    };
    let chunked = || async {
        let parts = ["one ", "two ", "three"].map(Ok::<_, Infallible>);
        Body::from_stream(futures::stream::iter(parts))
    };
    let app = axum::Router::new()
        .route("/echo", any(echo))
        .route("/chunked", get(chunked));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_arrive_and_answers_come_back_whole() {
    let addr = serve().await;
    let client = http::Client::new();
    let r = client
        .send("POST", addr, "/echo", &[("content-type", "text/x")], "body")
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.text()),
        (200, r#"POST Some("text/x") body"#.to_string())
    );
    let r = client.get(addr, "/chunked").await.unwrap();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "one two three");
    assert_eq!(client.get(addr, "/nowhere").await.unwrap().status, 404);

    // Blocking, from inside this runtime.
    let r = http::blocking::send("PUT", addr, "/echo", &[], "x").unwrap();
    assert_eq!(r.text(), "PUT None x");
    assert_eq!(
        http::blocking::get(addr, "/chunked").unwrap().text(),
        "one two three"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(http::blocking::get(closed, "/").is_err());
}
