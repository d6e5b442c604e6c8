//! What every long-lived strata component shares: structured logging setup, a
//! prometheus-client registry served on `/metrics`, the `/-/healthy` and `/-/ready` probes
//! (503 until ready, as Thanos), an HTTP server with graceful shutdown, and SIGINT/SIGTERM
//! handling.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;

/// Errors of the runtime helpers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HTTP listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed while serving.
    #[error("http server on {addr}: {source}")]
    Serve {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Log output format (`--log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable key=value lines.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Install the global tracing subscriber (stderr). `level` is a level or a filter directive;
/// an invalid one falls back to `info`. Safe to call twice (the second call is ignored).
pub fn init_tracing(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Logfmt => builder.compact().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The shared state behind the probes and `/metrics`.
#[derive(Debug, Clone)]
pub struct Health {
    ready: Arc<AtomicBool>,
    registry: Arc<Mutex<Registry>>,
    component: &'static str,
}

impl Health {
    /// Probes and a fresh registry for `component` (e.g. "store").
    pub fn new(component: &'static str) -> Self {
        Self {
            ready: Arc::new(AtomicBool::new(false)),
            registry: Arc::new(Mutex::new(Registry::default())),
            component,
        }
    }

    /// Mark the component ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// True once `set_ready(true)` was called.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Register metrics: `f` gets the registry (call once per metric family at start-up).
    pub fn register(&self, f: impl FnOnce(&mut Registry)) {
        if let Ok(mut r) = self.registry.lock() {
            f(&mut r);
        }
    }

    /// The OpenMetrics text of every registered metric.
    pub fn encode_metrics(&self) -> String {
        let mut out = String::new();
        if let Ok(r) = self.registry.lock()
            && let Err(e) = prometheus_client::encoding::text::encode(&mut out, &r)
        {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        out
    }

    /// `/metrics`, `/-/healthy` and `/-/ready`; merge component routes into it.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .route("/-/healthy", get(healthy))
            .route("/-/ready", get(ready))
            .with_state(self.clone())
    }
}

async fn metrics(State(h): State<Health>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        h.encode_metrics(),
    )
}

async fn healthy(State(h): State<Health>) -> impl IntoResponse {
    (
        StatusCode::OK,
        format!("strata {} is healthy.\n", h.component),
    )
}

async fn ready(State(h): State<Health>) -> impl IntoResponse {
    if h.is_ready() {
        (
            StatusCode::OK,
            format!("strata {} is ready.\n", h.component),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("strata {} is not ready.\n", h.component),
        )
    }
}

/// Bind `addr` now (so errors surface at start-up) and return the bound address and a future
/// that serves `router` until `shutdown` resolves.
pub async fn bind_http<S>(
    addr: &str,
    router: Router,
    shutdown: S,
) -> Result<
    (
        SocketAddr,
        impl std::future::Future<Output = Result<(), Error>> + use<S>,
    ),
    Error,
>
where
    S: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| Error::Bind {
        addr: addr.to_string(),
        source,
    })?;
    let serve = async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| Error::Serve {
                addr: local.to_string(),
                source,
            })
    };
    Ok((local, serve))
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("received SIGINT, shutting down"),
        () = term => tracing::info!("received SIGTERM, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[tokio::test]
    async fn probes_and_metrics_over_http() {
        let h = Health::new("test");
        let c: Counter = Counter::default();
        h.register(|r| r.register("strata_test_things", "Things counted", c.clone()));
        c.inc_by(3);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, serve) = bind_http("127.0.0.1:0", h.router(), async {
            let _ = rx.await;
        })
        .await
        .unwrap();
        let server = tokio::spawn(serve);
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            s.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        assert!(get("/-/healthy").await.starts_with("HTTP/1.1 200"));
        assert!(get("/-/ready").await.starts_with("HTTP/1.1 503"));
        h.set_ready(true);
        assert!(get("/-/ready").await.starts_with("HTTP/1.1 200"));
        let m = get("/metrics").await;
        assert!(m.contains("strata_test_things_total 3"), "{m}");
        let _ = tx.send(());
        server.await.unwrap().unwrap();
    }
}
