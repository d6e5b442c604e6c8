//! Where a decoded write goes: the local heads, or the receivers that own its series by the
//! hashring, replicated `--receive.replication-factor` times (Thanos receive's router and
//! ingestor in one process, `pkg/receive/handler.go`).
//!
//! Without `--receive.hashrings-file` every write is appended locally ([`MultiTsdb::append`]).
//! With one, [`Distributor::write`] does what Thanos' handler does:
//!
//! 1. the tenant's hashring is found ([`Hashrings::for_tenant`]); each series goes to the
//!    endpoints of its replicas `0..RF` ([`Hashring::get_n`]);
//! 2. the series are grouped per endpoint; the batch for `--receive.local-endpoint` is appended
//!    locally, every other batch is sent to its endpoint over gRPC
//!    `/thanos.WriteableStore/RemoteWrite` with `replica` set (so the receiver stores it and
//!    does not forward it again), each with `--receive-forward-timeout`; all run concurrently;
//! 3. the write succeeds when every series was acknowledged by a quorum of its replicas
//!    ([`write_quorum`]: ⌊RF/2⌋+1, 1 for RF=2). Unlike Thanos, the answer waits for every
//!    replica (each bounded by the forward timeout), not just the quorum: answering early lets
//!    the sender's next sample of a series overtake this one on a slow replica, which then
//!    refuses the older one as out of order and never holds it (the RF=3 end-to-end test lost
//!    a sample that way when one receiver died).
//! 4. otherwise it fails with [`Error::QuorumNotReached`]: a series whose failed replicas
//!    alone make quorum impossible fails with their dominant cause (409 conflict, 400 bad
//!    request, 429 limit), anything else (down, timed out, not ready, storage error) is
//!    retryable (503). The request answers 503 if any series failed retryably, else the
//!    permanent cause's status.
//!    Replicas that did store a failed write hold it; the sender's retry is then accepted
//!    there as an exact duplicate.
//!
//! A `RemoteWrite` call with `replica == 0` (from a client, not a receiver) is distributed
//! the same way. The hashrings file is re-read every `--receive.hashrings-file-refresh-interval`
//! and swapped in when its content changed and is valid; an invalid file keeps the old rings
//! (logged and counted).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::http::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use strata_storeapi::convert::labels_to_pb;
use strata_storeapi::pb::prometheus_copy;
use strata_storeapi::pb::thanos::WriteRequest;
use strata_storeapi::pb::thanos::writeable_store_client::WriteableStoreClient;
use strata_tsdb::labels::Labels;
use tonic::transport::Channel;

use crate::Error;
use crate::hashring::{Hashrings, series_hash, write_quorum};
use crate::head::AppendStats;
use crate::tenants::{MultiTsdb, lock, read, write};

/// One series of a write: labels and samples `(timestamp ms, value)`.
pub type Series = (Labels, Vec<(i64, f64)>);

/// Default `--receive-forward-timeout` (Thanos: 5s).
pub const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `--receive.hashrings-file-refresh-interval`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Settings of the distribution (the hashring flags).
#[derive(Debug, Clone)]
pub struct DistributorOptions {
    /// `--receive.hashrings-file`; `None`: every write is local.
    pub hashrings_file: Option<PathBuf>,
    /// `--receive.local-endpoint`: this receiver's address as the hashrings list it.
    pub local_endpoint: String,
    /// `--receive.replication-factor`.
    pub replication_factor: usize,
    /// `--receive-forward-timeout`: per forwarded request.
    pub forward_timeout: Duration,
    /// Largest forwarded request a peer accepts (the gRPC message limit of the server).
    pub max_message_bytes: usize,
}

impl Default for DistributorOptions {
    fn default() -> Self {
        Self {
            hashrings_file: None,
            local_endpoint: String::new(),
            replication_factor: 1,
            forward_timeout: DEFAULT_FORWARD_TIMEOUT,
            max_message_bytes: crate::remote_write::DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// Which failures count together for the quorum rule: index 0 to 2 are the permanent
/// refusals (409 conflict, 400 bad request, 429 limit), 3 everything a retry may fix.
fn failure_kind(e: &Error) -> usize {
    match e.status() {
        StatusCode::CONFLICT => 0,
        StatusCode::BAD_REQUEST => 1,
        StatusCode::TOO_MANY_REQUESTS => 2,
        _ => 3,
    }
}

/// Number of permanent failure kinds of [`failure_kind`].
const PERMANENT: usize = 3;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RingLabel {
    name: String,
}

#[derive(Debug, Default, Clone)]
struct Metrics {
    /// `thanos_receive_replications_total{result}`: replicated writes by outcome.
    replications: Family<ResultLabel, Counter>,
    /// `thanos_receive_forward_requests_total{result}`: requests sent to peers.
    forwards: Family<ResultLabel, Counter>,
    /// `thanos_receive_hashring_nodes{name}`.
    nodes: Family<RingLabel, Gauge>,
    /// `thanos_receive_hashrings_file_changes_total`.
    changes: Counter,
    /// `thanos_receive_hashrings_file_errors_total`.
    errors: Counter,
}

/// Routes writes to the local heads and to peers (see the module docs).
#[derive(Debug)]
pub struct Distributor {
    tsdb: Arc<MultiTsdb>,
    opts: DistributorOptions,
    rings: RwLock<Option<Arc<Hashrings>>>,
    /// The hashrings file's content when last read (valid or not): unchanged content is not
    /// parsed (or reported) again.
    last_read: Mutex<Option<String>>,
    peers: Mutex<HashMap<String, WriteableStoreClient<Channel>>>,
    metrics: Metrics,
}

impl Distributor {
    /// A distributor over `tsdb`; reads the hashrings file if one is configured.
    pub fn new(tsdb: Arc<MultiTsdb>, opts: DistributorOptions) -> Result<Arc<Self>, Error> {
        if opts.replication_factor == 0 {
            return Err(Error::InvalidFlags(
                "--receive.replication-factor must be at least 1".to_string(),
            ));
        }
        if opts.hashrings_file.is_none() && opts.replication_factor > 1 {
            return Err(Error::InvalidFlags(format!(
                "--receive.replication-factor={} needs a --receive.hashrings-file listing the replicas",
                opts.replication_factor
            )));
        }
        if opts.hashrings_file.is_some() && opts.local_endpoint.is_empty() {
            return Err(Error::InvalidFlags(
                "--receive.hashrings-file needs --receive.local-endpoint (this receiver's address in the hashrings, usually its --grpc-address)".to_string(),
            ));
        }
        let d = Self::build(tsdb, opts);
        d.reload()?;
        Ok(d)
    }

    /// A distributor that appends every write locally (no hashring).
    pub fn local(tsdb: Arc<MultiTsdb>) -> Arc<Self> {
        Self::build(tsdb, DistributorOptions::default())
    }

    fn build(tsdb: Arc<MultiTsdb>, opts: DistributorOptions) -> Arc<Self> {
        Arc::new(Self {
            tsdb,
            opts,
            rings: RwLock::new(None),
            last_read: Mutex::new(None),
            peers: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
        })
    }

    /// Whether writes are distributed (a hashrings file is configured).
    pub fn is_distributed(&self) -> bool {
        self.opts.hashrings_file.is_some()
    }

    /// The options in use.
    pub fn options(&self) -> &DistributorOptions {
        &self.opts
    }

    /// The hashrings in use, if any.
    pub fn hashrings(&self) -> Option<Arc<Hashrings>> {
        read(&self.rings).clone()
    }

    /// Re-reads the hashrings file; swaps the rings in when the content changed and is valid.
    /// `Ok(true)` when they changed. An error keeps the rings in use.
    pub fn reload(&self) -> Result<bool, Error> {
        let Some(path) = &self.opts.hashrings_file else {
            return Ok(false);
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| {
            self.metrics.errors.inc();
            Error::ReadHashrings {
                path: path.clone(),
                source,
            }
        })?;
        {
            let mut last = lock(&self.last_read);
            if last.as_deref() == Some(text.as_str()) {
                return Ok(false);
            }
            *last = Some(text.clone());
        }
        let rings = Hashrings::parse(&text, self.opts.replication_factor).map_err(|source| {
            self.metrics.errors.inc();
            Error::InvalidHashringsFile {
                path: path.clone(),
                source: Box::new(source),
            }
        })?;
        let nodes = rings.nodes();
        if !nodes.contains(&self.opts.local_endpoint) {
            tracing::warn!(
                local_endpoint = self.opts.local_endpoint,
                ?nodes,
                "--receive.local-endpoint is in no hashring: this receiver only routes"
            );
        }
        for r in rings.rings() {
            self.metrics
                .nodes
                .get_or_create(&RingLabel {
                    name: r.name().to_string(),
                })
                .set(r.endpoints().len() as i64);
        }
        lock(&self.peers).retain(|addr, _| nodes.contains(addr));
        *write(&self.rings) = Some(Arc::new(rings));
        self.metrics.changes.inc();
        tracing::info!(path = shown, nodes = nodes.len(), "hashrings loaded");
        Ok(true)
    }

    /// Re-reads the hashrings file every `every` until the task is dropped.
    pub async fn watch(self: Arc<Self>, every: Duration) {
        if !self.is_distributed() {
            return;
        }
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.reload() {
                tracing::error!(error = %e, "hashrings file not reloaded; keeping the rings in use");
            }
        }
    }

    /// Registers the distribution metrics (call once).
    pub fn register_metrics(&self, r: &mut Registry) {
        let m = &self.metrics;
        r.register(
            "thanos_receive_replications",
            "Replicated write requests, by result.",
            m.replications.clone(),
        );
        r.register(
            "thanos_receive_forward_requests",
            "Write requests forwarded to other receivers, by result.",
            m.forwards.clone(),
        );
        r.register(
            "thanos_receive_hashring_nodes",
            "Endpoints per hashring.",
            m.nodes.clone(),
        );
        r.register(
            "thanos_receive_hashrings_file_changes",
            "Times the hashrings file was (re)loaded with new content.",
            m.changes.clone(),
        );
        r.register(
            "thanos_receive_hashrings_file_errors",
            "Times the hashrings file could not be read or was invalid.",
            m.errors.clone(),
        );
    }

    /// Stores `series` for `tenant`: locally, or by the hashring with replication (see the
    /// module docs). `replicated`: the request came from a receiver that already
    /// replicated it, so it is stored here only.
    pub async fn write(
        &self,
        tenant: &str,
        series: Vec<Series>,
        replicated: bool,
    ) -> Result<AppendStats, Error> {
        if series.is_empty() {
            return Ok(AppendStats::default());
        }
        let rings = self.hashrings();
        let Some(rings) = rings.filter(|_| !replicated) else {
            return self.write_local(tenant, series).await;
        };
        let ring = rings.for_tenant(tenant)?;
        let rf = self.opts.replication_factor;
        let quorum = write_quorum(rf);

        // Endpoint of each (series, replica); the series of each endpoint.
        let mut endpoints: Vec<&str> = Vec::new();
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for (i, (labels, _)) in series.iter().enumerate() {
            let hash = series_hash(tenant, labels);
            for n in 0..rf {
                let ep = ring.get_n(hash, n);
                let e = match endpoints.iter().position(|x| *x == ep) {
                    Some(e) => e,
                    None => {
                        endpoints.push(ep);
                        batches.push(Vec::new());
                        endpoints.len() - 1
                    }
                };
                batches[e].push(i);
            }
        }

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(series);
        for (e, idx) in batches.iter().cloned().enumerate() {
            let tx = tx.clone();
            let endpoint = endpoints[e].to_string();
            let tenant = tenant.to_string();
            let shared = Arc::clone(&shared);
            if endpoint == self.opts.local_endpoint {
                let tsdb = Arc::clone(&self.tsdb);
                tokio::task::spawn_blocking(move || {
                    let batch: Vec<Series> = idx.iter().map(|&i| shared[i].clone()).collect();
                    let _ = tx.send((e, append_local(&tsdb, &tenant, &batch).map(Some)));
                });
            } else {
                let client = self.peer(&endpoint);
                let timeout = self.opts.forward_timeout;
                let forwards = self.metrics.forwards.clone();
                tokio::spawn(async move {
                    let req = WriteRequest {
                        timeseries: idx.iter().map(|&i| to_copy(&shared[i])).collect(),
                        tenant,
                        replica: 1,
                        timeseries_tenant_data: Vec::new(),
                    };
                    drop(shared);
                    let res = match client {
                        Err(f) => Err(f),
                        Ok(mut c) => match tokio::time::timeout(timeout, c.remote_write(req)).await
                        {
                            Ok(Ok(_)) => Ok(None),
                            Ok(Err(status)) => Err(Error::Forward {
                                endpoint: endpoint.clone(),
                                status,
                            }),
                            Err(_) => Err(Error::ForwardTimeout {
                                endpoint: endpoint.clone(),
                                timeout,
                            }),
                        },
                    };
                    let result = if res.is_ok() { "success" } else { "error" };
                    forwards
                        .get_or_create(&ResultLabel {
                            result: result.to_string(),
                        })
                        .inc();
                    let _ = tx.send((e, res));
                });
            }
        }
        drop(tx);

        // Per series: acknowledgements, and failures by kind. Every replica's answer is
        // awaited (each is bounded by the forward timeout), not only a quorum: acknowledging
        // early would let the sender's next request for a series reach a slow replica before
        // this one, which that replica then refuses as out of order and never holds.
        let n = shared.len();
        let mut acks = vec![0usize; n];
        let mut fails = vec![[0usize; PERMANENT + 1]; n];
        let mut stats = AppendStats::default();
        // Failure reasons, deduplicated; the first failure of each permanent kind.
        let mut reasons: Vec<String> = Vec::new();
        let mut first: [Option<Error>; PERMANENT] = Default::default();
        while let Some((e, res)) = rx.recv().await {
            // Replicas of one series are on distinct endpoints (hashmod, n < len).
            for &i in &batches[e] {
                match &res {
                    Ok(_) => acks[i] += 1,
                    Err(f) => fails[i][failure_kind(f)] += 1,
                }
            }
            match res {
                Ok(local) => stats = local.unwrap_or(stats),
                Err(f) => {
                    let reason = f.to_string();
                    if !reasons.contains(&reason) {
                        reasons.push(reason);
                    }
                    if let Some(slot) = first.get_mut(failure_kind(&f)) {
                        slot.get_or_insert(f);
                    }
                }
            }
        }
        let failed: Vec<usize> = (0..n).filter(|&i| acks[i] < quorum).collect();
        let outcome = if failed.is_empty() {
            "success"
        } else {
            "error"
        };
        self.metrics
            .replications
            .get_or_create(&ResultLabel {
                result: outcome.to_string(),
            })
            .inc();
        if failed.is_empty() {
            return Ok(stats);
        }

        // A permanent cause only when it alone rules quorum out for every failed series
        // (the first such cause decides the status); otherwise a retry may succeed.
        let fail_threshold = rf - quorum + 1;
        let permanent: Option<Vec<usize>> = failed
            .iter()
            .map(|&i| (0..PERMANENT).find(|&k| fails[i][k] >= fail_threshold))
            .collect();
        let cause = permanent
            .and_then(|k| k.first().copied())
            .and_then(|k| first[k].take())
            .map(Box::new);
        let err = Error::QuorumNotReached {
            failed: failed.len(),
            series: n,
            quorum,
            replicas: rf,
            reasons: reasons.join("; "),
            cause,
        };
        tracing::debug!(tenant, error = %err, "replicated write failed");
        Err(err)
    }

    /// Appends `series` to the local heads on the blocking pool.
    async fn write_local(&self, tenant: &str, series: Vec<Series>) -> Result<AppendStats, Error> {
        let tsdb = Arc::clone(&self.tsdb);
        let tenant = tenant.to_string();
        tokio::task::spawn_blocking(move || append_local(&tsdb, &tenant, &series))
            .await
            .unwrap_or_else(|e| Err(Error::TaskFailed(e)))
    }

    /// The (lazily connecting) client of a peer.
    fn peer(&self, endpoint: &str) -> Result<WriteableStoreClient<Channel>, Error> {
        let mut peers = lock(&self.peers);
        if let Some(c) = peers.get(endpoint) {
            return Ok(c.clone());
        }
        let channel = strata_storeapi::client::endpoint(endpoint)
            .map_err(Error::InvalidEndpoint)?
            .connect_timeout(self.opts.forward_timeout)
            .tcp_nodelay(true)
            .connect_lazy();
        let client = WriteableStoreClient::new(channel)
            .max_encoding_message_size(usize::MAX)
            .max_decoding_message_size(usize::MAX);
        peers.insert(endpoint.to_string(), client.clone());
        Ok(client)
    }
}

/// Appends `batch` to the local heads (blocking), logging refusals: the one place writes
/// reach local storage.
fn append_local(tsdb: &MultiTsdb, tenant: &str, batch: &[Series]) -> Result<AppendStats, Error> {
    tsdb.append(tenant, batch).inspect_err(|e| {
        if e.is_retryable() {
            tracing::error!(tenant, error = %e, "remote write append failed");
        } else {
            tracing::debug!(tenant, error = %e, "remote write refused");
        }
    })
}

/// A series as Thanos' `prometheus_copy.TimeSeries`.
fn to_copy((labels, samples): &Series) -> prometheus_copy::TimeSeries {
    prometheus_copy::TimeSeries {
        labels: labels_to_pb(labels),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| prometheus_copy::Sample { value, timestamp })
            .collect(),
        exemplars: Vec::new(),
        histograms: Vec::new(),
    }
}
