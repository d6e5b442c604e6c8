//! The querier's endpoint set against real StoreAPI gRPC servers on 127.0.0.1: Info polling
//! into `status`, readiness, `storeMatch[]` selection, a server that goes away (dropped from
//! queries, kept in `status` with its error, dropped from `status` after the unhealthy timeout,
//! back when it answers again), strict endpoints, `dns+` resolution, the connections gauge and
//! the polling loop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use prometheus_client::registry::Registry;
use strata_querier::endpoints::{EndpointOptions, EndpointSet, EndpointStatus, UNKNOWN_COMPONENT};
use strata_storeapi::convert::{labels_from_pb, pb_matcher};
use strata_storeapi::pb::thanos::{
    PartialResponseStrategy, SeriesRequest, label_matcher, series_response,
};
use strata_storeapi::{MemStore, RequestContext, Store, StoreError, StoreMeta};
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::{MatchType, Matcher};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// A StoreAPI server over a MemStore with external label `cluster=<cluster>` holding
/// `up{job=<cluster>}` from t=1000 to t=61000.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), StoreError>>,
}

impl Server {
    async fn start(cluster: &str, component: &str) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, cluster, component)
    }

    fn start_on(listener: TcpListener, cluster: &str, component: &str) -> Server {
        let addr = listener.local_addr().unwrap();
        let store = MemStore::from_series(
            ls(&[("cluster", cluster)]),
            [(
                ls(&[("__name__", "up"), ("job", cluster)]),
                vec![(1_000, 1.0), (61_000, 1.0)],
            )],
        )
        .with_component_type(component)
        .into_store();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(strata_storeapi::serve(listener, store, async move {
            let _ = rx.await;
        }));
        Server {
            addr,
            stop: Some(tx),
            task,
        }
    }

    fn name(&self) -> String {
        self.addr.to_string()
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops")
            .unwrap()
            .unwrap();
    }
}

/// An address nothing listens on.
async fn dead_address() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a.to_string()
}

fn opts() -> EndpointOptions {
    EndpointOptions {
        info_timeout: Duration::from_secs(3),
        ..EndpointOptions::default()
    }
}

/// `up` series (as label strings) and warnings of a Series call on `store`.
async fn query(store: &dyn Store, abort: bool) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let req = SeriesRequest {
        min_time: 0,
        max_time: 100_000,
        matchers: vec![pb_matcher(label_matcher::Type::Eq, "__name__", "up")],
        partial_response_disabled: abort,
        partial_response_strategy: if abort {
            PartialResponseStrategy::Abort as i32
        } else {
            PartialResponseStrategy::Warn as i32
        },
        ..Default::default()
    };
    let mut stream = store.series(&RequestContext::default(), req).await?;
    let (mut series, mut warnings) = (Vec::new(), Vec::new());
    while let Some(frame) = stream.next().await {
        match frame?.result {
            Some(series_response::Result::Series(s)) => {
                series.push(labels_from_pb(&s.labels).to_string())
            }
            Some(series_response::Result::Warning(w)) => warnings.push(w),
            _ => {}
        }
    }
    Ok((series, warnings))
}

fn find<'a>(status: &'a [EndpointStatus], name: &str) -> &'a EndpointStatus {
    status
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} not in {status:#?}"))
}

fn metrics(set: &EndpointSet) -> String {
    let mut registry = Registry::default();
    set.register_metrics(&mut registry);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    out
}

const JOB_A: &str = r#"{__name__="up", cluster="a", job="a"}"#;
const JOB_B: &str = r#"{__name__="up", cluster="b", job="b"}"#;

#[tokio::test]
async fn poll_status_store_match_and_a_failing_endpoint() {
    let a = Server::start("a", "store").await;
    let b = Server::start("b", "sidecar").await;
    let dead = dead_address().await;
    let set = EndpointSet::new(vec![a.name(), b.name(), dead.clone()], opts()).unwrap();
    assert!(!set.ready());
    assert!(set.status().is_empty());

    let before = SystemTime::now();
    set.poll_once().await;
    assert!(set.ready());
    let status = set.status();
    assert_eq!(status.len(), 3, "{status:#?}");
    let mut names: Vec<&str> = status.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        status.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "sorted by name"
    );

    let sa = find(&status, &a.name());
    assert_eq!(sa.component_type, "store");
    assert_eq!(sa.label_sets, vec![ls(&[("cluster", "a")])]);
    assert_eq!((sa.min_time, sa.max_time), (1_000, 61_000));
    assert_eq!(sa.last_error, None);
    assert!(sa.last_check.unwrap() >= before);
    assert_eq!(sa.last_poll, sa.last_check);
    assert!(sa.active);
    let sb = find(&status, &b.name());
    assert_eq!(sb.component_type, "sidecar");
    assert_eq!(sb.label_sets, vec![ls(&[("cluster", "b")])]);

    let sd = find(&status, &dead);
    assert!(sd.last_error.is_some(), "{sd:?}");
    assert_eq!(sd.last_check, None);
    assert!(sd.last_poll.unwrap() >= before);
    assert_eq!(sd.component_type, UNKNOWN_COMPONENT);
    assert!(sd.label_sets.is_empty());
    assert!(sd.active, "still queried until unhealthy for the timeout");

    // The dead endpoint is still asked (it has not been unhealthy for 5m): under WARN the
    // answer has the healthy stores' data and a warning naming it; under ABORT it fails.
    let (series, warnings) = query(set.proxy_for(&[]).as_ref(), false).await.unwrap();
    assert_eq!(series, vec![JOB_A, JOB_B]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(&dead), "{warnings:?}");
    let err = query(set.proxy_for(&[]).as_ref(), true).await.unwrap_err();
    assert!(err.to_string().contains(&dead), "{err}");

    // storeMatch[] by external labels, by address, ORed lists (the dead endpoint has no
    // known labels, so label matchers do not exclude it: WARN keeps these answers whole).
    let only_a = set.proxy_for(&[vec![Matcher::equal("cluster", "a")]]);
    assert_eq!(query(only_a.as_ref(), false).await.unwrap().0, vec![JOB_A]);
    let by_addr = set.proxy_for(&[vec![Matcher::equal("__address__", b.name())]]);
    assert_eq!(query(by_addr.as_ref(), false).await.unwrap().0, vec![JOB_B]);
    let either = set.proxy_for(&[
        vec![Matcher::equal("cluster", "nope")],
        vec![Matcher::new(MatchType::Regex, "cluster", "a|b").unwrap()],
    ]);
    assert_eq!(
        query(either.as_ref(), false).await.unwrap().0,
        vec![JOB_A, JOB_B]
    );
    let none = set.proxy_for(&[vec![Matcher::equal("cluster", "c")]]);
    assert!(query(none.as_ref(), false).await.unwrap().0.is_empty());

    let text = metrics(&set);
    assert!(
        text.contains(
            r#"thanos_store_nodes_grpc_connections{external_labels="{cluster=\"a\"}",store_type="store"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"thanos_store_nodes_grpc_connections{external_labels="{cluster=\"b\"}",store_type="sidecar"} 1"#
        ),
        "{text}"
    );

    // b goes away: after the next poll it shows its error and keeps its last known labels;
    // it is still queried (not yet unhealthy for 5m), so WARN answers from a with a warning
    // naming b and ABORT fails, also through the proxy handed out earlier (the querier's own
    // gRPC StoreAPI holds one for its lifetime).
    let b_name = b.name();
    let unfiltered = set.proxy_for(&[]);
    b.stop().await;
    set.poll_once().await;
    let status = set.status();
    let sb = find(&status, &b_name);
    assert!(sb.last_error.is_some(), "{sb:?}");
    assert!(sb.last_check.is_some() && sb.last_poll > sb.last_check);
    assert_eq!(sb.label_sets, vec![ls(&[("cluster", "b")])]);
    assert_eq!(sb.component_type, "sidecar");
    assert!(sb.active);
    assert_eq!(find(&status, &a.name()).last_error, None);
    let only_a = set.proxy_for(&[vec![Matcher::equal("cluster", "a")]]);
    let (series, warnings) = query(only_a.as_ref(), false).await.unwrap();
    assert_eq!(series, vec![JOB_A], "storeMatch leaves b out");
    assert!(
        !warnings.iter().any(|w| w.contains(&b_name)),
        "{warnings:?}"
    );
    let (series, warnings) = query(unfiltered.as_ref(), false).await.unwrap();
    assert_eq!(series, vec![JOB_A]);
    assert!(warnings.iter().any(|w| w.contains(&b_name)), "{warnings:?}");
    assert!(query(unfiltered.as_ref(), true).await.is_err());

    a.stop().await;
}

#[tokio::test]
async fn unhealthy_endpoints_leave_status_after_the_timeout_and_come_back() {
    let a = Server::start("a", "store").await;
    let b = Server::start("b", "receive").await;
    let (a_name, b_addr) = (a.name(), b.addr);
    let dead = dead_address().await;
    let set = EndpointSet::new(
        vec![a.name(), b.name(), dead.clone()],
        EndpointOptions {
            unhealthy_timeout: Duration::from_millis(500),
            ..opts()
        },
    )
    .unwrap();
    set.poll_once().await;
    b.stop().await;
    set.poll_once().await;
    assert_eq!(set.status().len(), 3);

    tokio::time::sleep(Duration::from_millis(600)).await;
    set.poll_once().await;
    let status = set.status();
    assert_eq!(
        status.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        vec![a_name.as_str()],
        "only the healthy endpoint is left"
    );

    // b comes back on the same address: healthy, listed and queried again.
    let listener = TcpListener::bind(b_addr).await.unwrap();
    let b = Server::start_on(listener, "b", "receive");
    set.poll_once().await;
    let status = set.status();
    let sb = find(&status, &b.name());
    assert_eq!(sb.last_error, None);
    assert_eq!(sb.component_type, "receive");
    assert!(sb.active);
    assert_eq!(
        query(set.proxy_for(&[]).as_ref(), true).await.unwrap().0,
        vec![JOB_A, JOB_B]
    );
    assert!(status.iter().all(|s| s.name != dead));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn strict_endpoints_are_always_queried() {
    let a = Server::start("a", "store").await;
    let dead = dead_address().await;
    let set = EndpointSet::new(
        vec![a.name()],
        EndpointOptions {
            strict: vec![dead.clone()],
            unhealthy_timeout: Duration::from_millis(1),
            ..opts()
        },
    )
    .unwrap();
    set.poll_once().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let status = set.status();
    let sd = find(&status, &dead);
    assert!(sd.last_error.is_some() && sd.active, "{sd:?}");

    let proxy = set.proxy_for(&[]);
    let err = query(proxy.as_ref(), true).await.unwrap_err();
    assert!(err.to_string().contains(&dead), "{err}");
    let (series, warnings) = query(proxy.as_ref(), false).await.unwrap();
    assert_eq!(series, vec![JOB_A]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(&dead), "{warnings:?}");
    a.stop().await;
}

#[tokio::test]
async fn dns_names_resolve_to_one_endpoint_per_address() {
    let a = Server::start("a", "store").await;
    let port = a.addr.port();
    let set = EndpointSet::new(vec![format!("dns+localhost:{port}")], opts()).unwrap();
    set.poll_once().await;
    let status = set.status();
    assert!(!status.is_empty());
    for s in &status {
        let addr: SocketAddr = s.name.parse().unwrap_or_else(|_| panic!("{s:?}"));
        assert!(addr.ip().is_loopback() && addr.port() == port, "{s:?}");
    }
    let v4 = find(&status, &format!("127.0.0.1:{port}"));
    assert_eq!(v4.last_error, None);
    assert_eq!(v4.label_sets, vec![ls(&[("cluster", "a")])]);
    assert_eq!(
        query(set.proxy_for(&[]).as_ref(), true).await.unwrap().0,
        vec![JOB_A]
    );

    // storeMatch[] on __address__ uses the resolved name.
    let m = Matcher::equal("__address__", format!("127.0.0.1:{port}"));
    assert_eq!(
        query(set.proxy_for(&[vec![m]]).as_ref(), true)
            .await
            .unwrap()
            .0,
        vec![JOB_A]
    );
    a.stop().await;

    assert!(EndpointSet::new(vec!["dns+localhost".into()], opts()).is_err());
}

#[tokio::test]
async fn run_polls_until_shutdown() {
    let a = Server::start("a", "store").await;
    let set = Arc::new(EndpointSet::new(vec![a.name()], opts()).unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(Arc::clone(&set).run(Duration::from_millis(50), async move {
        let _ = rx.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !set.ready() {
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let first = find(&set.status(), &a.name()).last_check.unwrap();
    // Later polls move last_check.
    loop {
        assert!(tokio::time::Instant::now() < deadline, "not polled again");
        tokio::time::sleep(Duration::from_millis(20)).await;
        if find(&set.status(), &a.name()).last_check.unwrap() > first {
            break;
        }
    }
    let _ = tx.send(());
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("run returns on shutdown")
        .unwrap();
    a.stop().await;
}

#[tokio::test]
async fn fixed_stores_stay_queried() {
    let a = MemStore::from_series(
        ls(&[("cluster", "a")]),
        [(ls(&[("__name__", "up"), ("job", "a")]), vec![(1_000, 1.0)])],
    )
    .with_component_type("store")
    .into_store();
    let set = EndpointSet::from_stores(vec![(a, StoreMeta::unknown("mem-a"))]);
    assert!(set.ready());
    assert_eq!(set.status()[0].name, "mem-a");
    assert_eq!(set.status()[0].component_type, UNKNOWN_COMPONENT);
    set.poll_once().await;
    let status = set.status();
    assert_eq!(status[0].component_type, "store");
    assert_eq!(status[0].label_sets, vec![ls(&[("cluster", "a")])]);
    assert_eq!(
        query(set.proxy_for(&[]).as_ref(), true).await.unwrap().0,
        vec![JOB_A]
    );
}
