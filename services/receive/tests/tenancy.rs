//! Receive's StoreAPI honours the request's tenant (`thanos-tenant` metadata, as a querier
//! with `--query.enforce-tenancy` sends it): series, label names and label values of that
//! tenant only; a request without a tenant sees every tenant, as before.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use futures::StreamExt;
use strata_receive::head::HeadOptions;
use strata_receive::tenants::{MultiTsdb, TenantOptions};
use strata_storeapi::convert::{labels_from_pb, pb_matcher};
use strata_storeapi::pb::thanos::{
    LabelNamesRequest, LabelValuesRequest, SeriesRequest, label_matcher, series_response,
};
use strata_storeapi::{RequestContext, Store};
use strata_tsdb::labels::Labels;

const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000;

fn ctx(tenant: Option<&str>) -> RequestContext {
    RequestContext {
        tenant: tenant.map(str::to_string),
    }
}

/// The tenant label values of the series `store` serves to `tenant`.
async fn series_tenants(store: &dyn Store, tenant: Option<&str>) -> Vec<String> {
    let req = SeriesRequest {
        min_time: i64::MIN,
        max_time: i64::MAX,
        matchers: vec![pb_matcher(label_matcher::Type::Re, "__name__", ".+")],
        ..Default::default()
    };
    let mut stream = store.series(&ctx(tenant), req).await.unwrap();
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        if let Some(series_response::Result::Series(s)) = frame.unwrap().result {
            out.push(
                labels_from_pb(&s.labels)
                    .get("tenant_id")
                    .unwrap()
                    .to_string(),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_naming_a_tenant_sees_only_that_tenant() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(
        MultiTsdb::open(TenantOptions {
            dir: tmp.path().to_path_buf(),
            head: HeadOptions::default(),
            tenant_label: "tenant_id".to_string(),
            external_labels: Labels::empty(),
            max_series_per_tenant: 0,
        })
        .unwrap(),
    );
    let up = Labels::from_pairs([("__name__", "up")]);
    let secret = Labels::from_pairs([("__name__", "secret_b"), ("secret_label", "x")]);
    db.append("a", &[(up.clone(), vec![(T0, 1.0)])]).unwrap();
    db.append("b", &[(up, vec![(T0, 2.0)]), (secret, vec![(T0, 3.0)])])
        .unwrap();
    let store = db.store();

    assert_eq!(series_tenants(store.as_ref(), Some("a")).await, ["a"]);
    assert_eq!(series_tenants(store.as_ref(), Some("b")).await, ["b", "b"]);
    assert!(series_tenants(store.as_ref(), Some("c")).await.is_empty());
    assert_eq!(series_tenants(store.as_ref(), None).await, ["b", "a", "b"]);

    let names = |tenant| {
        let store = Arc::clone(&store);
        async move {
            let req = LabelNamesRequest {
                start: i64::MIN,
                end: i64::MAX,
                ..Default::default()
            };
            store.label_names(&ctx(tenant), req).await.unwrap().names
        }
    };
    assert_eq!(names(Some("a")).await, ["__name__", "tenant_id"]);
    assert_eq!(names(None).await, ["__name__", "secret_label", "tenant_id"]);

    let values = |tenant, label: &str| {
        let store = Arc::clone(&store);
        let req = LabelValuesRequest {
            label: label.to_string(),
            start: i64::MIN,
            end: i64::MAX,
            ..Default::default()
        };
        async move { store.label_values(&ctx(tenant), req).await.unwrap().values }
    };
    assert_eq!(values(Some("a"), "tenant_id").await, ["a"]);
    assert_eq!(values(Some("a"), "__name__").await, ["up"]);
    assert_eq!(values(None, "tenant_id").await, ["a", "b"]);
    assert_eq!(values(None, "__name__").await, ["secret_b", "up"]);
}
