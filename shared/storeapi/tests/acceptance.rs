//! The acceptance suite against every `Store` this crate ships: `MemStore`, `ProxyStore` over
//! MemStores (data split by series and by time; overlapping replicas, with and without
//! replica-label support), and `GrpcStore` -> `StoreServer` -> `MemStore` over real TCP.

use std::sync::Arc;

use strata_storeapi::acceptance::{StoreFactory, run_acceptance};
use strata_storeapi::{GrpcStore, MemStore, ProxyOptions, ProxyStore, Store};
use strata_tsdb::labels::Labels;

type Input = Vec<(Labels, Vec<(i64, f64)>)>;

struct Mem;

#[async_trait::async_trait]
impl StoreFactory for Mem {
    async fn make(&self, ext: Labels, series: Input) -> Arc<dyn Store> {
        Arc::new(MemStore::from_series(ext, series))
    }
}

#[tokio::test]
async fn memstore_passes_acceptance() {
    run_acceptance(&Mem).await;
}

/// Two MemStores with the same external labels: even series go to one, odd to the other, and
/// every third series is split in time between both (so the proxy must merge it).
struct Split;

#[async_trait::async_trait]
impl StoreFactory for Split {
    async fn make(&self, ext: Labels, series: Input) -> Arc<dyn Store> {
        let a = MemStore::new(ext.clone());
        let b = MemStore::new(ext);
        for (i, (l, s)) in series.into_iter().enumerate() {
            if i % 3 == 2 {
                let mid = s.len() / 2;
                a.add_series(l.clone(), &s[..mid]);
                b.add_series(l, &s[mid..]);
            } else if i % 2 == 0 {
                a.add_series(l, &s);
            } else {
                b.add_series(l, &s);
            }
        }
        Arc::new(
            ProxyStore::discover(
                vec![("a".into(), a.into_store()), ("b".into(), b.into_store())],
                ProxyOptions::default(),
            )
            .await,
        )
    }
}

#[tokio::test]
async fn proxy_over_split_data_passes_acceptance() {
    run_acceptance(&Split).await;
}

/// Three replicas of all the data, told apart by a `replica` external label; one of them does
/// not support `without_replica_labels`, so the proxy strips and re-sorts its answer.
struct Replicas;

#[async_trait::async_trait]
impl StoreFactory for Replicas {
    async fn make(&self, ext: Labels, series: Input) -> Arc<dyn Store> {
        let mut stores = Vec::new();
        for (i, supports) in [(0, true), (1, false), (2, true)] {
            let mut e = ext.clone();
            e.set("replica", &format!("r{i}"));
            let s = MemStore::from_series(e, series.clone())
                .with_without_replica_labels_support(supports);
            stores.push((format!("replica-{i}"), s.into_store()));
        }
        Arc::new(ProxyStore::discover(stores, ProxyOptions::default()).await)
    }
}

#[tokio::test]
async fn proxy_over_replicas_passes_acceptance() {
    run_acceptance(&Replicas).await;
}

/// Same data twice with identical external labels (e.g. a sidecar and a store gateway over the
/// same Prometheus): identical chunks must collapse.
struct Duplicates;

#[async_trait::async_trait]
impl StoreFactory for Duplicates {
    async fn make(&self, ext: Labels, series: Input) -> Arc<dyn Store> {
        let a = MemStore::from_series(ext.clone(), series.clone());
        let b = MemStore::from_series(ext, series);
        Arc::new(
            ProxyStore::discover(
                vec![("a".into(), a.into_store()), ("b".into(), b.into_store())],
                ProxyOptions::default(),
            )
            .await,
        )
    }
}

#[tokio::test]
async fn proxy_over_duplicates_passes_acceptance() {
    run_acceptance(&Duplicates).await;
}

/// `GrpcStore` -> tonic -> `StoreServer` -> `MemStore`, over 127.0.0.1:0.
struct OverGrpc;

#[async_trait::async_trait]
impl StoreFactory for OverGrpc {
    async fn make(&self, ext: Labels, series: Input) -> Arc<dyn Store> {
        let store = MemStore::from_series(ext, series).into_store();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(strata_storeapi::serve(
            listener,
            store,
            std::future::pending::<()>(),
        ));
        Arc::new(
            GrpcStore::connect(&addr.to_string())
                .await
                .expect("connect"),
        )
    }
}

#[tokio::test]
async fn grpc_round_trip_passes_acceptance() {
    run_acceptance(&OverGrpc).await;
}

/// A proxy over two gRPC endpoints, the full querier path.
struct ProxyOverGrpc;

#[async_trait::async_trait]
impl StoreFactory for ProxyOverGrpc {
    async fn make(&self, ext: Labels, series: Input) -> Arc<dyn Store> {
        let mut stores = Vec::new();
        let half = series.len() / 2;
        for part in [series[..half].to_vec(), series[half..].to_vec()] {
            let g = OverGrpc.make(ext.clone(), part).await;
            stores.push(("grpc".to_string(), g));
        }
        Arc::new(ProxyStore::discover(stores, ProxyOptions::default()).await)
    }
}

#[tokio::test]
async fn proxy_over_grpc_passes_acceptance() {
    run_acceptance(&ProxyOverGrpc).await;
}

/// The suite must catch broken stores: one that loses the first sample of every series, one
/// that ignores its external labels, and one that sends series in reverse order.
#[derive(Debug)]
struct Reversed(MemStore);

#[async_trait::async_trait]
impl Store for Reversed {
    async fn info(
        &self,
    ) -> Result<strata_storeapi::pb::thanos::info::InfoResponse, strata_storeapi::StoreError> {
        self.0.info().await
    }
    async fn series(
        &self,
        ctx: &strata_storeapi::RequestContext,
        req: strata_storeapi::pb::thanos::SeriesRequest,
    ) -> Result<strata_storeapi::SeriesStream, strata_storeapi::StoreError> {
        use futures::StreamExt;
        let mut frames: Vec<_> = self.0.series(ctx, req).await?.collect().await;
        frames.reverse();
        Ok(Box::pin(futures::stream::iter(frames)))
    }
    async fn label_names(
        &self,
        ctx: &strata_storeapi::RequestContext,
        req: strata_storeapi::pb::thanos::LabelNamesRequest,
    ) -> Result<strata_storeapi::pb::thanos::LabelNamesResponse, strata_storeapi::StoreError> {
        self.0.label_names(ctx, req).await
    }
    async fn label_values(
        &self,
        ctx: &strata_storeapi::RequestContext,
        req: strata_storeapi::pb::thanos::LabelValuesRequest,
    ) -> Result<strata_storeapi::pb::thanos::LabelValuesResponse, strata_storeapi::StoreError> {
        self.0.label_values(ctx, req).await
    }
}

enum Broken {
    LosesFirstSample,
    IgnoresExternalLabels,
    Unsorted,
}

#[async_trait::async_trait]
impl StoreFactory for Broken {
    async fn make(&self, ext: Labels, series: Input) -> Arc<dyn Store> {
        match self {
            Broken::LosesFirstSample => Arc::new(MemStore::from_series(
                ext,
                series.into_iter().map(|(l, s)| (l, s[1..].to_vec())),
            )),
            Broken::IgnoresExternalLabels => {
                Arc::new(MemStore::from_series(Labels::empty(), series))
            }
            Broken::Unsorted => Arc::new(Reversed(MemStore::from_series(ext, series))),
        }
    }
}

#[tokio::test]
async fn acceptance_catches_broken_stores() {
    use strata_storeapi::acceptance::check_acceptance;
    for (broken, needle) in [
        (Broken::LosesFirstSample, "missing"),
        (Broken::IgnoresExternalLabels, "series labels differ"),
        (Broken::Unsorted, "not strictly sorted"),
    ] {
        let failures = check_acceptance(&broken).await;
        assert!(
            failures.iter().any(|f| f.detail.contains(needle)),
            "expected a failure mentioning {needle:?}, got {failures:#?}"
        );
        let first = &failures[0];
        eprintln!("example failure: {}\n{}", first.case, first.detail);
    }
}
