//! The long-running `strata receive` service (Thanos receive, `docs/components/receive.md`: an
//! ingestor, and with `--receive.hashrings-file` also a router that replicates writes to the
//! hashring's receivers; [`crate::distributor`]).
//!
//! [`run`] binds every listener first (so a busy port fails at once), serves the probes and
//! `/metrics` on the HTTP address straight away (`/-/ready` answers 503 meanwhile), opens the
//! [`MultiTsdb`] on the blocking pool (replaying every tenant's WAL), calls `on_started`,
//! serves the StoreAPI over every tenant ([`MultiTsdb::store`]) and
//! `/thanos.WriteableStore/RemoteWrite` ([`WriteService`]) on the gRPC address and
//! remote write ([`crate::http`]) on the remote write address, and only then turns ready.
//! Until then new connections wait in the backlog.
//!
//! On shutdown: not ready (new writes get 503), the servers stop accepting and finish the
//! requests in flight (an acknowledged write is always complete), then every tenant's WAL is
//! `fsync`ed ([`MultiTsdb::sync`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use strata_runtime::{Handler, Health, Listener, Runner};
use strata_storeapi::server::StoreServer;

use crate::Error;
use crate::distributor::{Distributor, DistributorOptions};
use crate::grpc_write::WriteService;
use crate::http::{HttpOptions, ReceiveHttp};
use crate::tenants::{MultiTsdb, TenantOptions};

/// Default `--remote-write.address` (Thanos: `0.0.0.0:19291`; strata ports on loopback).
pub const DEFAULT_REMOTE_WRITE_ADDRESS: &str = "127.0.0.1:10908";
/// Default `--grpc-address` (the StoreAPI).
pub const DEFAULT_GRPC_ADDRESS: &str = "127.0.0.1:10907";
/// Default `--http-address` (`/metrics` and probes).
pub const DEFAULT_HTTP_ADDRESS: &str = "127.0.0.1:10909";

/// Everything `strata receive` is configured with.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Tenant storage (`--tsdb.path`, labels, limits, WAL policy).
    pub tenants: TenantOptions,
    /// The remote write endpoint (tenancy, body limit).
    pub http: HttpOptions,
    /// `--remote-write.address`: where `POST /api/v1/receive` is served.
    pub remote_write_address: String,
    /// `--grpc-address`: the StoreAPI.
    pub grpc_address: String,
    /// `--http-address`: `/metrics`, `/-/healthy`, `/-/ready`.
    pub http_address: String,
    /// Where cut blocks are uploaded (`--objstore.config-file`); `None` keeps them local.
    pub bucket: Option<Arc<dyn object_store::ObjectStore>>,
    /// Heads are cut into blocks of this aligned length (Thanos `--tsdb.min-block-duration`,
    /// 2h).
    pub block_duration: Duration,
    /// Local blocks older than this are deleted once uploaded (`--tsdb.retention`; 0 keeps
    /// them forever).
    pub retention: Duration,
    /// How often heads are checked for complete blocks to cut, upload and expire.
    pub cut_interval: Duration,
    /// Hashring distribution and replication (`--receive.hashrings-file` and friends).
    pub distributor: DistributorOptions,
    /// How often the hashrings file is re-read (`--receive.hashrings-file-refresh-interval`).
    pub hashrings_refresh: Duration,
}

impl ServiceConfig {
    /// Defaults for everything but the storage.
    pub fn new(tenants: TenantOptions) -> Self {
        Self {
            tenants,
            http: HttpOptions::default(),
            remote_write_address: DEFAULT_REMOTE_WRITE_ADDRESS.to_string(),
            grpc_address: DEFAULT_GRPC_ADDRESS.to_string(),
            http_address: DEFAULT_HTTP_ADDRESS.to_string(),
            bucket: None,
            block_duration: Duration::from_secs(2 * 3600),
            retention: Duration::from_secs(15 * 24 * 3600),
            cut_interval: Duration::from_secs(30),
            distributor: DistributorOptions::default(),
            hashrings_refresh: crate::distributor::DEFAULT_REFRESH_INTERVAL,
        }
    }
}

/// What is running, for the caller's start-up message and for in-process users (`strata
/// local`) that query the tenants directly.
#[derive(Debug)]
pub struct Running {
    /// Bound remote write address.
    pub remote_write_addr: SocketAddr,
    /// Bound StoreAPI (gRPC) address.
    pub grpc_addr: SocketAddr,
    /// Bound HTTP address (metrics, probes).
    pub http_addr: SocketAddr,
    /// The tenants' storage.
    pub tsdb: Arc<MultiTsdb>,
    /// The probes' state.
    pub health: Health,
}

/// Milliseconds of a duration, saturating (block times are ms since the epoch).
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Binds every listener, serves the probes at once, opens the tenants (replaying their WALs),
/// then adds the StoreAPI, remote write, the hashring watch and the block shipper to `runner`
/// and turns ready; the WALs are synced once the servers have drained (see the module docs).
pub async fn start(runner: &mut Runner, cfg: ServiceConfig) -> Result<Running, Error> {
    let rw = Listener::bind(&cfg.remote_write_address).await?;
    let grpc = Listener::bind(&cfg.grpc_address).await?;
    let http = Listener::bind(&cfg.http_address).await?;
    let health = Health::new("receive");
    let (remote_write_addr, grpc_addr, http_addr) = (rw.addr(), grpc.addr(), http.addr());
    runner.serve_http("probes and metrics", http, health.router(), &health);

    let opts = cfg.tenants.clone();
    let tsdb = match tokio::task::spawn_blocking(move || MultiTsdb::open(opts)).await {
        Ok(Ok(t)) => Arc::new(t),
        Ok(Err(e)) => return Err(Error::OpenTsdb(Box::new(e))),
        Err(e) => return Err(Error::serve("opening the TSDBs", e)),
    };
    let dist = Distributor::new(Arc::clone(&tsdb), cfg.distributor.clone())?;
    let receive = ReceiveHttp::new(Arc::clone(&dist), health.clone(), cfg.http.clone())?;
    health.register(|r| {
        receive.register_metrics(r);
        dist.register_metrics(r);
    });
    runner.spawn(Arc::clone(&dist).watch(cfg.hashrings_refresh));
    tracing::info!(%remote_write_addr, %grpc_addr, %http_addr, "receive listening");

    let writer = WriteService::new(
        Arc::clone(&dist),
        health.clone(),
        cfg.http.default_tenant.clone(),
        cfg.http.decode.name_validation,
    );
    let routes = StoreServer::new(tsdb.store())
        .routes()
        .add_service(writer.into_server());
    runner.serve_grpc("receive StoreAPI and replication", grpc, routes);
    runner.serve_http_as(
        "remote write",
        rw,
        receive.router(),
        &health,
        Handler::Named("receive"),
    );
    health.set_ready(true);

    // Cut complete blocks, upload them, expire old local ones; a failure is logged and
    // retried on the next round (un-uploaded blocks stay listed for upload).
    let ship_tsdb = Arc::clone(&tsdb);
    let (bucket, block_ms, retention_ms, every) = (
        cfg.bucket.clone(),
        millis(cfg.block_duration),
        millis(cfg.retention),
        cfg.cut_interval,
    );
    runner.spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            match ship_tsdb
                .cut_and_upload(bucket.as_deref(), now, block_ms)
                .await
            {
                Ok(blocks) if !blocks.is_empty() => {
                    tracing::info!(blocks = blocks.len(), "cut and shipped blocks")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cutting or uploading blocks failed; retrying")
                }
            }
            if retention_ms > 0
                && let Err(e) = ship_tsdb.delete_expired(retention_ms, now)
            {
                tracing::warn!(error = %e, "deleting expired local blocks failed");
            }
        }
    });

    // The servers are done: no append is in flight.
    let sync_tsdb = Arc::clone(&tsdb);
    runner.on_stop("syncing the WALs", async move {
        match tokio::task::spawn_blocking(move || sync_tsdb.sync()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(strata_runtime::Error::component(Error::OpenTsdb(Box::new(
                e,
            )))),
            Err(e) => Err(strata_runtime::Error::Task(e.to_string())),
        }
    });
    Ok(Running {
        remote_write_addr,
        grpc_addr,
        http_addr,
        tsdb,
        health,
    })
}

/// Runs the receiver until `shutdown` resolves (see the module docs).
pub async fn run(
    cfg: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_started: impl FnOnce(&Running),
) -> Result<(), Error> {
    let mut runner = Runner::new();
    let running = match start(&mut runner, cfg).await {
        Ok(r) => r,
        Err(e) => return Err(runner.abort(e).await),
    };
    on_started(&running);
    drop(running);
    Ok(runner.run(shutdown).await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let r = strata_testkit::http::Client::new()
            .send(method, addr, path, &[], body.to_vec())
            .await
            .unwrap();
        (r.status, r.text())
    }

    fn config(dir: &std::path::Path) -> ServiceConfig {
        let mut cfg = ServiceConfig::new(TenantOptions::new(dir));
        cfg.remote_write_address = "127.0.0.1:0".to_string();
        cfg.grpc_address = "127.0.0.1:0".to_string();
        cfg.http_address = "127.0.0.1:0".to_string();
        cfg
    }

    #[tokio::test]
    async fn serves_probes_metrics_and_remote_write_then_stops() {
        let dir = tempfile::tempdir().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(run(
            config(dir.path()),
            async {
                let _ = stop_rx.await;
            },
            move |r| {
                let _ = addr_tx.send((r.remote_write_addr, r.http_addr));
            },
        ));
        let (rw, http_addr) = addr_rx.await.unwrap();
        // Ready shortly after start.
        let mut ready = false;
        for _ in 0..100 {
            if http(http_addr, "GET", "/-/ready", b"").await.0 == 200 {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(ready);
        assert_eq!(http(http_addr, "GET", "/-/healthy", b"").await.0, 200);
        // A metadata-only write is accepted; garbage is refused with the reason.
        let empty = crate::remote_write::encode(&[]).unwrap();
        assert_eq!(http(rw, "POST", "/api/v1/receive", &empty).await.0, 200);
        let (code, text) = http(rw, "POST", "/api/v1/receive", b"garbage").await;
        assert_eq!(code, 400, "{text}");
        assert!(text.contains("snappy decode error"), "{text}");
        let (_, metrics) = http(http_addr, "GET", "/metrics", b"").await;
        assert!(
            metrics
                .contains(r#"http_requests_total{handler="receive",code="400",method="post"} 1"#),
            "{metrics}"
        );
        stop_tx.send(()).unwrap();
        task.await.unwrap().unwrap();
        assert!(tokio::net::TcpStream::connect(rw).await.is_err());
    }

    #[tokio::test]
    async fn a_busy_port_fails_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut cfg = config(dir.path());
        cfg.remote_write_address = taken.local_addr().unwrap().to_string();
        let res = run(cfg, std::future::pending(), |_| panic!("not started")).await;
        assert!(
            matches!(&res, Err(e @ Error::Runtime(_)) if e.to_string().contains("cannot listen")),
            "{res:?}"
        );
    }
}
