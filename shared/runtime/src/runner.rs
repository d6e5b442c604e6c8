//! One start/stop sequence for every strata process: components bind their listeners (so a
//! busy port fails at start-up), hand the runner their HTTP routers, gRPC services and
//! background tasks, and the runner serves them until the shutdown signal (or until a server
//! fails), then stops in order: every component turns not-ready, the servers stop accepting and
//! finish the requests in flight, background tasks are aborted, stop hooks run (receive syncs
//! its WALs there), and a final "stopped" line is logged.
//!
//! Several components can share one runner: `strata local` starts each of them on the same
//! runner, so one Ctrl-C stops them all.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;

use crate::{Error, Handler, Health};

type StopHook = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// A bound TCP listener and its local address (the port when `:0` was asked for).
#[derive(Debug)]
pub struct Listener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Listener {
    /// Binds `addr` now, so a busy port is reported at start-up.
    pub async fn bind(addr: &str) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
        Ok(Self {
            listener,
            addr: local,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Serves one process' (or `strata local`'s several) servers and tasks; see the module docs.
#[derive(Debug)]
pub struct Runner {
    stop_tx: tokio::sync::watch::Sender<bool>,
    servers: JoinSet<(String, Result<(), Error>)>,
    tasks: Vec<JoinHandle<()>>,
    hooks: Vec<(String, StopHookDebug)>,
    healths: Vec<Health>,
}

/// A stop hook (opaque in Debug output).
struct StopHookDebug(StopHook);

impl std::fmt::Debug for StopHookDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopHook")
    }
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    /// An empty runner.
    pub fn new() -> Self {
        Self {
            stop_tx: tokio::sync::watch::channel(false).0,
            servers: JoinSet::new(),
            tasks: Vec::new(),
            hooks: Vec::new(),
            healths: Vec::new(),
        }
    }

    /// Resolves once the runner has begun to stop (for servers the runner does not own).
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop_tx.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Tracks `health`: it turns not-ready as soon as the runner stops.
    pub fn track(&mut self, health: &Health) {
        if !self.healths.iter().any(|h| h.same(health)) {
            self.healths.push(health.clone());
        }
    }

    /// Serves `router` on `listener` from now on, with `health`'s HTTP request metrics recorded
    /// for every route and a handler that panics answering 500 (`catch_panic.rs`). Merge
    /// `health.router()` into `router` for the probes and `/metrics`.
    pub fn serve_http(&mut self, name: &str, listener: Listener, router: Router, health: &Health) {
        self.serve_http_as(name, listener, router, health, Handler::Route);
    }

    /// [`Runner::serve_http`], with the requests labelled as `handler` says.
    pub fn serve_http_as(
        &mut self,
        name: &str,
        listener: Listener,
        router: Router,
        health: &Health,
        handler: Handler,
    ) {
        self.track(health);
        let router = router.layer(axum::middleware::from_fn(crate::catch_panic::catch_panic));
        let router = health.http_metrics().instrument_as(router, handler);
        let stopped = self.stopped();
        let addr = listener.addr;
        let name = format!("{} {name} HTTP server on {addr}", health.component());
        self.servers.spawn(async move {
            let res = axum::serve(listener.listener, router)
                .with_graceful_shutdown(stopped)
                .await
                .map_err(|source| Error::Serve {
                    addr: addr.to_string(),
                    source,
                });
            (name, res)
        });
    }

    /// Serves the gRPC services in `routes` on `listener` from now on (TCP_NODELAY on).
    pub fn serve_grpc(&mut self, name: &str, listener: Listener, routes: Routes) {
        let stopped = self.stopped();
        let addr = listener.addr;
        let name = format!("{name} gRPC server on {addr}");
        // Without TCP_NODELAY small responses wait ~40 ms for delayed ACKs.
        let incoming = TcpIncoming::from(listener.listener).with_nodelay(Some(true));
        self.servers.spawn(async move {
            let res = tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming_shutdown(incoming, stopped)
                .await
                .map_err(|e| Error::Grpc {
                    addr: addr.to_string(),
                    message: e.to_string(),
                });
            (name, res)
        });
    }

    /// Runs a background task (a sync or poll loop) until the runner stops; it is aborted then.
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }

    /// Runs `hook` once every server has drained (no request is in flight any more).
    pub fn on_stop(
        &mut self,
        name: &str,
        hook: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) {
        self.hooks
            .push((name.to_string(), StopHookDebug(Box::pin(hook))));
    }

    /// Stops everything started so far (after a start-up failure) and hands back `err`.
    pub async fn abort<E>(self, err: E) -> E {
        if let Err(e) = self.stop().await {
            tracing::warn!(error = %e, "stopping after a start-up failure");
        }
        err
    }

    /// Serves until `shutdown` resolves or a server fails, then stops (see the module docs).
    /// The first server or hook error is returned.
    pub async fn run(mut self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let failed = tokio::select! {
            () = shutdown => None,
            Some(done) = self.servers.join_next() => Some(done),
        };
        let early = match failed {
            None => Ok(()),
            Some(Ok((name, Ok(())))) => {
                tracing::error!(server = %name, "server stopped unexpectedly; shutting down");
                Ok(())
            }
            Some(Ok((name, Err(e)))) => {
                tracing::error!(server = %name, error = %e, "server failed; shutting down");
                Err(e)
            }
            Some(Err(e)) => Err(Error::Task(e.to_string())),
        };
        let stopped = self.stop().await;
        early.and(stopped)
    }

    async fn stop(mut self) -> Result<(), Error> {
        for h in &self.healths {
            h.set_ready(false);
        }
        let _ = self.stop_tx.send(true);
        for t in &self.tasks {
            t.abort();
        }
        let mut result = Ok(());
        while let Some(done) = self.servers.join_next().await {
            match done {
                Ok((_, Ok(()))) => {}
                Ok((name, Err(e))) => {
                    tracing::error!(server = %name, error = %e, "server failed while stopping");
                    result = result.and(Err(e));
                }
                Err(e) => result = result.and(Err(Error::Task(e.to_string()))),
            }
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        for (name, hook) in self.hooks.drain(..) {
            if let Err(e) = hook.0.await {
                tracing::error!(hook = %name, error = %e, "stop step failed");
                result = result.and(Err(e));
            }
        }
        let components: Vec<&str> = self.healths.iter().map(Health::component).collect();
        tracing::info!(components = %components.join(","), "stopped");
        result
    }
}
