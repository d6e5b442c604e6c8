//! Hashring distribution between in-process receivers (`service::run`, real gRPC and HTTP on
//! loopback): hashmod routing, replication to every replica, quorum errors, conflicts, and a
//! hashrings file changed while running.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use strata_receive::distributor::DistributorOptions;
use strata_receive::hashring::{Hashrings, series_hash};
use strata_receive::remote_write;
use strata_receive::service::{ServiceConfig, run};
use strata_receive::tenants::{MultiTsdb, TenantOptions};
use strata_storeapi::RequestContext;
use strata_storeapi::convert::pb_matcher;
use strata_storeapi::pb::thanos::{SeriesRequest, label_matcher, series_response};
use strata_testkit::http;
use strata_tsdb::labels::Labels;

const TENANT: &str = "default-tenant";

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// A receiver's configuration: data in `dir`, gRPC on `grpc`, other listeners on free ports.
fn config(dir: &Path, grpc: &str) -> ServiceConfig {
    let mut cfg = ServiceConfig::new(TenantOptions::new(dir));
    cfg.remote_write_address = "127.0.0.1:0".to_string();
    cfg.http_address = "127.0.0.1:0".to_string();
    cfg.grpc_address = grpc.to_string();
    cfg
}

/// A receiver running in this process; stopped on drop.
struct Node {
    rw: SocketAddr,
    tsdb: Arc<MultiTsdb>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Node {
    async fn start(grpc: &str, ring: Option<&Path>, rf: usize) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), grpc);
        cfg.distributor = DistributorOptions {
            hashrings_file: ring.map(Path::to_path_buf),
            local_endpoint: grpc.to_string(),
            replication_factor: rf,
            forward_timeout: Duration::from_secs(2),
            ..DistributorOptions::default()
        };
        cfg.hashrings_refresh = Duration::from_millis(50);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            run(
                cfg,
                async {
                    let _ = stop_rx.await;
                },
                move |r| {
                    let _ = tx.send((r.remote_write_addr, Arc::clone(&r.tsdb), r.health.clone()));
                },
            )
            .await
            .unwrap();
        });
        let (rw, tsdb, health) = rx.await.unwrap();
        while !health.is_ready() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Node {
            rw,
            tsdb,
            stop: Some(stop_tx),
            task: Some(task),
            _dir: dir,
        }
    }

    async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    /// The `i` labels of the series named `name` this node holds.
    async fn held(&self, name: &str) -> BTreeSet<String> {
        let store = self.tsdb.store();
        let req = SeriesRequest {
            min_time: i64::MIN,
            max_time: i64::MAX,
            matchers: vec![pb_matcher(label_matcher::Type::Eq, "__name__", name)],
            ..Default::default()
        };
        let mut s = store.series(&RequestContext::default(), req).await.unwrap();
        let mut out = BTreeSet::new();
        while let Some(f) = s.next().await {
            if let Some(series_response::Result::Series(s)) = f.unwrap().result {
                let i = s.labels.iter().find(|l| l.name == "i").unwrap();
                out.insert(i.value.clone());
            }
        }
        out
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn series(name: &str, n: usize, t: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    (0..n)
        .map(|i| {
            (
                Labels::from_pairs([("__name__", name), ("i", &i.to_string())]),
                vec![(t, i as f64)],
            )
        })
        .collect()
}

async fn post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let r = http::Client::new()
        .send("POST", addr, "/api/v1/receive", &[], body.to_vec())
        .await
        .unwrap();
    (r.status, r.text())
}

fn ring_file(dir: &Path, endpoints: &[&str]) -> std::path::PathBuf {
    let p = dir.join("hashrings.json");
    std::fs::write(
        &p,
        serde_json::json!([{ "endpoints": endpoints }]).to_string(),
    )
    .unwrap();
    p
}

const T: i64 = 1_800_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rf1_routes_each_series_to_its_hashmod_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (free_addr(), free_addr());
    let ring = ring_file(tmp.path(), &[&a, &b]);
    let na = Node::start(&a, Some(&ring), 1).await;
    let nb = Node::start(&b, Some(&ring), 1).await;
    let batch = series("routed", 40, T);
    let (code, text) = post(na.rw, &remote_write::encode(&batch).unwrap()).await;
    assert_eq!(code, 200, "{text}");
    let rings = Hashrings::parse(&std::fs::read_to_string(&ring).unwrap(), 1).unwrap();
    let r = rings.for_tenant(TENANT).unwrap();
    let (mut want_a, mut want_b) = (BTreeSet::new(), BTreeSet::new());
    for (labels, _) in &batch {
        let owner = r.get_n(series_hash(TENANT, labels), 0);
        let i = labels.get("i").unwrap().to_string();
        if owner == a {
            want_a.insert(i)
        } else {
            want_b.insert(i)
        };
    }
    assert!(
        !want_a.is_empty() && !want_b.is_empty(),
        "40 series spread over both"
    );
    assert_eq!(na.held("routed").await, want_a);
    assert_eq!(nb.held("routed").await, want_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rf2_stores_every_series_on_both_and_conflicts_are_409() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (free_addr(), free_addr());
    let ring = ring_file(tmp.path(), &[&a, &b]);
    let na = Node::start(&a, Some(&ring), 2).await;
    let mut nb = Node::start(&b, Some(&ring), 2).await;
    let (code, text) = post(
        nb.rw,
        &remote_write::encode(&series("both", 10, T)).unwrap(),
    )
    .await;
    assert_eq!(code, 200, "{text}");
    let all: BTreeSet<String> = (0..10).map(|i| i.to_string()).collect();
    assert_eq!(na.held("both").await, all);
    assert_eq!(nb.held("both").await, all);
    // The same samples again: exact duplicates, accepted.
    let again = post(
        na.rw,
        &remote_write::encode(&series("both", 10, T)).unwrap(),
    )
    .await;
    assert_eq!(again.0, 200, "{}", again.1);
    // Older samples: both replicas refuse them as out of order, a permanent 409.
    let (code, text) = post(
        na.rw,
        &remote_write::encode(&series("both", 10, T - 1000)).unwrap(),
    )
    .await;
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("quorum not reached"), "{text}");
    // RF=2 needs one acknowledgement (Thanos' exception): b down, writes to a still succeed.
    nb.stop().await;
    let (code, text) = post(
        na.rw,
        &remote_write::encode(&series("both", 10, T + 1000)).unwrap(),
    )
    .await;
    assert_eq!(code, 200, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rf3_without_quorum_is_a_retryable_503_naming_the_peers() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (free_addr(), free_addr(), free_addr());
    let ring = ring_file(tmp.path(), &[&a, &b, &c]);
    // Only a runs: one acknowledgement of the two needed.
    let na = Node::start(&a, Some(&ring), 3).await;
    let (code, text) = post(
        na.rw,
        &remote_write::encode(&series("lonely", 5, T)).unwrap(),
    )
    .await;
    assert_eq!(code, 503, "{text}");
    assert!(
        text.contains("quorum not reached for 5 of 5 series"),
        "{text}"
    );
    assert!(text.contains(&b) && text.contains(&c), "{text}");
    // The local replica was written; a retry once the peers are up succeeds (duplicates).
    let nb = Node::start(&b, Some(&ring), 3).await;
    let (code, text) = post(
        na.rw,
        &remote_write::encode(&series("lonely", 5, T)).unwrap(),
    )
    .await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(nb.held("lonely").await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_hashrings_file_is_picked_up_and_a_broken_one_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (free_addr(), free_addr());
    let ring = ring_file(tmp.path(), &[&a, &b]);
    let na = Node::start(&a, Some(&ring), 1).await;
    let nb = Node::start(&b, Some(&ring), 1).await;
    let (code, _) = post(
        na.rw,
        &remote_write::encode(&series("before", 30, T)).unwrap(),
    )
    .await;
    assert_eq!(code, 200);
    assert!(!nb.held("before").await.is_empty());
    // A broken file keeps the rings in use.
    std::fs::write(&ring, "[{").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, _) = post(
        na.rw,
        &remote_write::encode(&series("broken", 30, T)).unwrap(),
    )
    .await;
    assert_eq!(code, 200);
    assert!(!nb.held("broken").await.is_empty(), "old rings still used");
    // b leaves the ring: everything stays on a.
    ring_file(tmp.path(), &[&a]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, text) = post(
        na.rw,
        &remote_write::encode(&series("after", 30, T)).unwrap(),
    )
    .await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(na.held("after").await.len(), 30);
    assert!(nb.held("after").await.is_empty());
}

#[tokio::test]
async fn bad_distribution_flags_fail_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "127.0.0.1:0");
    cfg.distributor.replication_factor = 3;
    let err = run(cfg.clone(), std::future::pending(), |_| panic!("started"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs a --receive.hashrings-file"), "{err}");
    let ring = ring_file(dir.path(), &["x:1", "y:1"]);
    cfg.distributor.hashrings_file = Some(ring);
    cfg.distributor.local_endpoint = "x:1".to_string();
    let err = run(cfg, std::future::pending(), |_| panic!("started"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot hold --receive.replication-factor=3"),
        "{err}"
    );
}
