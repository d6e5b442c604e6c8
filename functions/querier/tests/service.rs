//! The `strata query` service as other components meet it: ready only after the endpoints
//! were polled, the HTTP API on its HTTP address, and the querier itself served as a StoreAPI
//! on its gRPC address (so queriers can be layered: a global querier over per-tenant ones).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use strata_querier::service::{Running, ServiceConfig, run};
use strata_querier::{EndpointSet, QuerierConfig};
use strata_storeapi::convert::{labels_from_pb, pb_matcher};
use strata_storeapi::pb::thanos::{SeriesRequest, label_matcher, series_response};
use strata_storeapi::{GrpcStore, MemStore, RequestContext, Store, StoreMeta};
use strata_testkit::http;
use strata_tsdb::labels::Labels;

#[tokio::test]
async fn serves_http_and_is_itself_a_store_api() {
    let mem = MemStore::new(Labels::from_pairs([("cluster", "c1")]));
    let samples: Vec<(i64, f64)> = (0..40).map(|i| (i * 15_000, i as f64)).collect();
    mem.add_series(
        Labels::from_pairs([("__name__", "up"), ("job", "a")]),
        &samples,
    );
    let endpoints = Arc::new(EndpointSet::from_stores(vec![(
        mem.into_store(),
        StoreMeta::unknown("mem"),
    )]));
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let service = ServiceConfig {
        grpc_address: "127.0.0.1:0".into(),
        http_address: "127.0.0.1:0".into(),
        poll_interval: Duration::from_secs(5),
    };
    let task = tokio::spawn(run(
        endpoints,
        QuerierConfig::default(),
        service,
        async {
            let _ = stop_rx.await;
        },
        move |r: &Running| {
            let _ = started_tx.send((r.grpc_addr, r.http_addr));
        },
    ));
    let (grpc, http_addr) = started_rx.await.unwrap();

    // HTTP: ready (the fixed endpoint set counts as polled), then a query answers.
    let get =
        |path: &'static str| async move { http::Client::new().get(http_addr, path).await.unwrap() };
    let mut ready = get("/-/ready").await;
    for _ in 0..100 {
        if ready.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        ready = get("/-/ready").await;
    }
    assert_eq!(ready.status, 200, "{}", ready.text());
    let answer = get("/api/v1/query?query=up&time=60").await.text();
    assert!(
        answer.contains(r#""metric":{"__name__":"up","cluster":"c1","job":"a"},"value":[60,"4"]"#),
        "{answer}"
    );

    // gRPC: the querier answers Series like any store, external labels included.
    let client = GrpcStore::connect(&grpc.to_string()).await.unwrap();
    let req = SeriesRequest {
        min_time: 0,
        max_time: 600_000,
        matchers: vec![pb_matcher(label_matcher::Type::Eq, "__name__", "up")],
        ..Default::default()
    };
    let mut stream = client
        .series(&RequestContext::default(), req)
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(frame) = stream.next().await {
        if let Some(series_response::Result::Series(s)) = frame.unwrap().result {
            got.push((labels_from_pb(&s.labels).to_string(), s.chunks.len()));
        }
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, r#"{__name__="up", cluster="c1", job="a"}"#);
    assert!(got[0].1 >= 1);

    stop_tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}
