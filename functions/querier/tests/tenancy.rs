//! Tenancy enforcement (`--query.enforce-tenancy`) through the running `strata query` service:
//! a tenant reads only its own series (by the tenant label) through every API — instant and
//! range queries, series, label names, label values and the querier's own StoreAPI — a request
//! without a tenant header is the default tenant, and without enforcement nothing changes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use strata_querier::service::{Running, ServiceConfig, run};
use strata_querier::tenancy::Tenancy;
use strata_querier::{EndpointSet, QuerierConfig};
use strata_storeapi::convert::{labels_from_pb, pb_matcher};
use strata_storeapi::pb::thanos::{SeriesRequest, label_matcher, series_response};
use strata_storeapi::{GrpcStore, MemStore, RequestContext, Store, StoreMeta};
use strata_testkit::http;
use strata_tsdb::labels::Labels;

/// `up` of three tenants (value 1, 2, 3) and a metric and label only tenant `team-b` has.
fn store() -> Arc<dyn Store> {
    let every_15s = |v: f64| (0..=40).map(|i| (i * 15_000, v)).collect::<Vec<_>>();
    let series = [
        (vec![("__name__", "up"), ("tenant_id", "team-a")], 1.0),
        (vec![("__name__", "up"), ("tenant_id", "team-b")], 2.0),
        (
            vec![("__name__", "up"), ("tenant_id", "default-tenant")],
            3.0,
        ),
        (
            vec![
                ("__name__", "secret_b"),
                ("secret_label", "x"),
                ("tenant_id", "team-b"),
            ],
            4.0,
        ),
    ];
    MemStore::from_series(
        Labels::empty(),
        series
            .into_iter()
            .map(|(l, v)| (Labels::from_pairs(l), every_15s(v))),
    )
    .into_store()
}

/// Starts the service over [`store`]; returns its gRPC and HTTP addresses and the stopper.
async fn start(
    config: QuerierConfig,
) -> (
    SocketAddr,
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), strata_querier::service::ServiceError>>,
) {
    let endpoints = Arc::new(EndpointSet::from_stores(vec![(
        store(),
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
        config,
        service,
        async {
            let _ = stop_rx.await;
        },
        move |r: &Running| {
            let _ = started_tx.send((r.grpc_addr, r.http_addr));
        },
    ));
    let (grpc, http_addr) = started_rx.await.expect("service started");
    for _ in 0..100 {
        let ready = http::Client::new().get(http_addr, "/-/ready").await;
        if ready.is_ok_and(|r| r.status == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (grpc, http_addr, stop_tx, task)
}

/// Percent-encodes a query parameter value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The body of a successful `GET target`, as `tenant` (no tenant header when `None`).
async fn get(addr: SocketAddr, tenant: Option<&str>, target: &str) -> String {
    let headers: Vec<(&str, &str)> = tenant.map(|t| ("THANOS-TENANT", t)).into_iter().collect();
    let resp = http::Client::new()
        .send("GET", addr, target, &headers, Vec::<u8>::new())
        .await
        .expect("HTTP request");
    let body = resp.text();
    assert_eq!(resp.status, 200, "{target}: {body}");
    body
}

/// Every API's answer for `tenant`, concatenated (what that tenant can learn).
async fn everything(addr: SocketAddr, tenant: Option<&str>) -> Vec<String> {
    let all = enc(r#"{__name__=~".+"}"#);
    let targets = [
        format!("/api/v1/query?time=60&query={all}"),
        format!(
            "/api/v1/query?time=60&query={}",
            enc(r#"up{tenant_id="team-b"}"#)
        ),
        format!("/api/v1/query?time=60&query={}", enc("sum(secret_b)")),
        format!("/api/v1/query_range?start=0&end=600&step=60&query={all}"),
        format!("/api/v1/series?start=0&end=600&match[]={all}"),
        "/api/v1/series?start=0&end=600&match[]=secret_b".to_string(),
        "/api/v1/labels?start=0&end=600".to_string(),
        format!("/api/v1/labels?start=0&end=600&match[]={all}"),
        "/api/v1/label/tenant_id/values?start=0&end=600".to_string(),
        "/api/v1/label/__name__/values?start=0&end=600".to_string(),
        "/api/v1/label/secret_label/values?start=0&end=600".to_string(),
    ];
    let mut out = Vec::new();
    for t in &targets {
        out.push(get(addr, tenant, t).await);
    }
    out
}

/// Tenant label values of the series the querier's StoreAPI serves to `ctx`.
async fn grpc_tenants(grpc: SocketAddr, ctx: &RequestContext) -> Vec<String> {
    let client = GrpcStore::connect(&grpc.to_string())
        .await
        .expect("connect");
    let req = SeriesRequest {
        min_time: 0,
        max_time: 600_000,
        matchers: vec![pb_matcher(label_matcher::Type::Re, "__name__", ".+")],
        ..Default::default()
    };
    let mut stream = client.series(ctx, req).await.expect("series");
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        if let Some(series_response::Result::Series(s)) = frame.expect("frame").result {
            let l = labels_from_pb(&s.labels);
            out.push(l.get("tenant_id").unwrap_or_default().to_string());
        }
    }
    out
}

fn enforcing() -> QuerierConfig {
    QuerierConfig {
        tenancy: Some(Tenancy {
            label: "tenant_id".to_string(),
            default_tenant: "default-tenant".to_string(),
        }),
        ..QuerierConfig::default()
    }
}

#[tokio::test]
async fn a_tenant_reads_only_its_own_series_through_every_api() {
    let (grpc, addr, stop, task) = start(enforcing()).await;

    let a = everything(addr, Some("team-a")).await;
    for body in &a {
        for other in ["team-b", "default-tenant", "secret"] {
            assert!(!body.contains(other), "team-a sees {other}: {body}");
        }
    }
    assert!(a[0].contains(r#""tenant_id":"team-a""#), "{}", a[0]);
    // A matcher on the tenant label is replaced by the tenant's, as prom-label-proxy does.
    assert!(a[1].contains(r#""tenant_id":"team-a""#), "{}", a[1]);
    assert!(a[8].contains(r#""data":["team-a"]"#), "{}", a[8]);

    // Without a tenant header the default tenant applies.
    let default = everything(addr, None).await;
    for body in &default {
        for other in ["team-a", "team-b", "secret"] {
            assert!(!body.contains(other), "no header sees {other}: {body}");
        }
    }
    assert!(
        default[8].contains(r#""data":["default-tenant"]"#),
        "{}",
        default[8]
    );

    // team-b sees its own series, its secret included.
    let b = everything(addr, Some("team-b")).await;
    assert!(b[2].contains(r#""value":[60,"4"]"#), "{}", b[2]);
    assert!(b[6].contains("secret_label"), "{}", b[6]);

    // The querier's own StoreAPI is confined the same way (tenant from `thanos-tenant`).
    let ctx_a = RequestContext {
        tenant: Some("team-a".to_string()),
    };
    assert_eq!(grpc_tenants(grpc, &ctx_a).await, ["team-a"]);
    assert_eq!(
        grpc_tenants(grpc, &RequestContext::default()).await,
        ["default-tenant"]
    );

    let _ = stop.send(());
    task.await.expect("join").expect("service");
}

#[tokio::test]
async fn without_enforcement_every_tenant_sees_every_series() {
    let (grpc, addr, stop, task) = start(QuerierConfig::default()).await;
    let a = everything(addr, Some("team-a")).await;
    for tenant in ["team-a", "team-b", "default-tenant"] {
        assert!(a[0].contains(tenant), "{tenant}: {}", a[0]);
    }
    assert!(a[2].contains(r#""value":[60,"4"]"#), "{}", a[2]);
    let ctx_a = RequestContext {
        tenant: Some("team-a".to_string()),
    };
    let mut got = grpc_tenants(grpc, &ctx_a).await;
    got.sort();
    assert_eq!(got, ["default-tenant", "team-a", "team-b", "team-b"]);
    let _ = stop.send(());
    task.await.expect("join").expect("service");
}
