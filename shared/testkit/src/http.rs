//! Plain-HTTP requests to the servers tests start (strata processes, Prometheus, the Lambda
//! emulator), on reqwest: an async [`Client`], and [`blocking`] one-shot requests for
//! synchronous tests.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;

pub use reqwest::{Body, Error};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take (a heavy PromQL query against a debug build included).
const TIMEOUT: Duration = Duration::from_secs(300);

/// An HTTP answer: status, headers and the whole (de-chunked) body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// The value of header `name` (case-insensitive), if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the status and body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}, body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
}

/// An async client; its connections are kept alive between requests.
#[derive(Debug, Clone)]
pub struct Client(reqwest::Client);

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client with a 5 s connect timeout and a 300 s request timeout.
    pub fn new() -> Client {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            .expect("building the reqwest client");
        Client(client)
    }

    /// `method target` on `http://addr` with `headers` and `body`; any status is an answer.
    pub async fn send(
        &self,
        method: &str,
        addr: SocketAddr,
        target: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Result<Response, Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|e| panic!("HTTP method {method:?}: {e}"));
        let mut req = self
            .0
            .request(method, format!("http://{addr}{target}"))
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// `GET target` on `http://addr`.
    pub async fn get(&self, addr: SocketAddr, target: &str) -> Result<Response, Error> {
        self.send("GET", addr, target, &[], Body::default()).await
    }
}

/// The same requests for synchronous code. They run on a runtime of their own (two threads,
/// started on first use), so they also work where a tokio runtime is running (where
/// `reqwest::blocking` panics).
pub mod blocking {
    use std::sync::OnceLock;

    use super::{Body, Client, Error, Response, SocketAddr};

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("testkit-http")
                .enable_all()
                .build()
                .expect("building the HTTP helpers' runtime")
        })
    }

    /// [`Client::send`] on a connection of its own, waited for.
    pub fn send(
        method: &str,
        addr: SocketAddr,
        target: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Result<Response, Error> {
        let (method, target) = (method.to_string(), target.to_string());
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = body.into();
        let (tx, rx) = std::sync::mpsc::channel();
        runtime().spawn(async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let answer = Client::new()
                .send(&method, addr, &target, &headers, body)
                .await;
            let _ = tx.send(answer);
        });
        rx.recv()
            .expect("the HTTP helpers' runtime dropped a request")
    }

    /// [`send`] of a GET.
    pub fn get(addr: SocketAddr, target: &str) -> Result<Response, Error> {
        send("GET", addr, target, &[], Body::default())
    }
}
