//! What every strata process shares: the flag blocks and value parsers ([`cli`]), structured
//! logging, a component's probes and `/metrics` ([`Health`]), the HTTP request metrics layer
//! ([`HttpMetrics`]), one start/stop sequence for servers and background tasks ([`Runner`]),
//! and SIGINT/SIGTERM handling.

mod catch_panic;
pub mod cli;
mod health;
mod http_metrics;
mod runner;

use std::path::PathBuf;

pub use health::Health;
pub use http_metrics::{Handler, HttpMetrics};
pub use runner::{Listener, Runner};

/// Errors of the runtime helpers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// An HTTP server failed while serving.
    #[error("HTTP server on {addr}: {source}")]
    Serve {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// A gRPC server failed while serving.
    #[error("gRPC server on {addr}: {message}")]
    Grpc { addr: String, message: String },
    /// A server or background task panicked or was cancelled.
    #[error("task failed: {0}")]
    Task(String),
    /// A component's own step failed (start-up or a stop hook).
    #[error(transparent)]
    Component(Box<dyn std::error::Error + Send + Sync>),
    /// A configuration file named by a flag cannot be read.
    #[error("reading {flag} {}: {source}", path.display())]
    ConfigFile {
        flag: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A required flag is missing.
    #[error("{0}")]
    MissingFlag(&'static str),
    /// The flags (or their environment variables) do not parse.
    #[error("{0}")]
    Flags(String),
    /// The object store configuration is invalid.
    #[error(transparent)]
    Objstore(#[from] strata_objstore::Error),
}

impl Error {
    /// Wraps a component's own error.
    pub fn component(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Component(Box::new(e))
    }
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::routing::get;
    use prometheus_client::metrics::counter::Counter;

    async fn get_text(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        let r = strata_testkit::http::Client::new()
            .get(addr, path)
            .await
            .unwrap();
        (r.status, r.text())
    }

    #[tokio::test]
    async fn runner_serves_probes_metrics_and_stops_in_order() {
        let h = Health::new("test");
        let c: Counter = Counter::default();
        h.register(|r| r.register("strata_test_things", "Things counted", c.clone()));
        c.inc_by(3);
        let mut runner = Runner::new();
        let l = Listener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.addr();
        let app = h.router().route("/hello", get(|| async { "hi" }));
        runner.serve_http("main", l, app, &h);
        let (hook_tx, hook_rx) = tokio::sync::oneshot::channel::<()>();
        runner.on_stop("hook", async move {
            let _ = hook_tx.send(());
            Ok(())
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(runner.run(async {
            let _ = stop_rx.await;
        }));
        assert_eq!(get_text(addr, "/-/healthy").await.0, 200);
        assert_eq!(get_text(addr, "/-/ready").await.0, 503);
        h.set_ready(true);
        assert_eq!(get_text(addr, "/-/ready").await.0, 200);
        assert_eq!(get_text(addr, "/hello").await.1, "hi");
        let (_, m) = get_text(addr, "/metrics").await;
        assert!(m.contains("strata_test_things_total 3"), "{m}");
        assert!(
            m.contains(r#"http_requests_total{handler="/hello",code="200",method="GET"} 1"#),
            "{m}"
        );
        let _ = stop_tx.send(());
        task.await.unwrap().unwrap();
        assert!(!h.is_ready());
        hook_rx.await.unwrap();
        assert!(
            strata_testkit::http::Client::new()
                .get(addr, "/-/healthy")
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_busy_port_is_an_error_naming_it() {
        let l = Listener::bind("127.0.0.1:0").await.unwrap();
        let taken = l.addr().to_string();
        let e = Listener::bind(&taken).await.unwrap_err().to_string();
        assert!(e.starts_with(&format!("cannot listen on {taken}")), "{e}");
    }
}
