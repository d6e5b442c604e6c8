//! Turns a panic in an HTTP request handler into a 500 answer to that request (logged), so one
//! bad request never takes its connection down with it. (A stack overflow is not a panic and
//! cannot be caught: it must be prevented where the recursion is, as the PromQL engine does.)

use std::any::Any;
use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;

/// The body of the 500: Prometheus' API error shape (`errorType` `internal`), which every
/// strata HTTP API either uses or tolerates.
const BODY: &str = concat!(
    r#"{"status":"error","errorType":"internal","#,
    r#""error":"internal error: the request handler panicked"}"#
);

/// `axum::middleware::from_fn` middleware: runs the request, answering 500 if it panics.
pub(crate) async fn catch_panic(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(resp) => resp,
        Err(panic) => {
            tracing::error!(%method, path, panic = panic_message(&*panic), "request handler panicked");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/json")],
                BODY,
            )
                .into_response()
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use axum::routing::get;

    use crate::{Health, Listener, Runner};

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_and_the_server_keeps_serving() {
        let h = Health::new("test");
        let mut runner = Runner::new();
        let l = Listener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.addr();
        let boom = move || async move {
            if addr.port() != 0 {
                panic!("boom");
            }
            "never"
        };
        let app = h
            .router()
            .route("/boom", get(boom))
            .route("/hello", get(|| async { "hi" }));
        runner.serve_http("main", l, app, &h);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(runner.run(async {
            let _ = stop_rx.await;
        }));
        let client = strata_testkit::http::Client::new();
        for _ in 0..2 {
            let r = client.get(addr, "/boom").await.unwrap();
            assert_eq!(r.status, 500);
            assert_eq!(r.json()["errorType"], "internal");
            assert_eq!(client.get(addr, "/hello").await.unwrap().text(), "hi");
        }
        let m = client.get(addr, "/metrics").await.unwrap().text();
        assert!(
            m.contains(r#"http_requests_total{handler="/boom",code="500",method="GET"} 2"#),
            "{m}"
        );
        let _ = stop_tx.send(());
        task.await.unwrap().unwrap();
    }
}
