//! GrpcStore <-> StoreServer specifics: tenant forwarding, `response_batch_size` batching on the
//! wire and unbatching in the client, errors as gRPC statuses, `Info` and the legacy fallback.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use strata_storeapi::convert::pb_matcher;
use strata_storeapi::pb::thanos::info::InfoResponse;
use strata_storeapi::pb::thanos::store_client::StoreClient;
use strata_storeapi::pb::thanos::{
    LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse, SeriesRequest,
    label_matcher, series_response,
};
use strata_storeapi::{
    GrpcStore, MemStore, RequestContext, SeriesStream, Store, StoreError, StoreServer,
    TENANT_METADATA_KEY,
};
use strata_tsdb::labels::Labels;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

/// Records the tenant of every call.
#[derive(Debug)]
struct Recording {
    inner: MemStore,
    tenants: Mutex<Vec<Option<String>>>,
}

impl Recording {
    fn record(&self, ctx: &RequestContext) {
        self.tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ctx.tenant.clone());
    }
}

#[async_trait::async_trait]
impl Store for Recording {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        self.inner.info().await
    }
    async fn series(
        &self,
        ctx: &RequestContext,
        r: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        self.record(ctx);
        self.inner.series(ctx, r).await
    }
    async fn label_names(
        &self,
        ctx: &RequestContext,
        r: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        self.record(ctx);
        self.inner.label_names(ctx, r).await
    }
    async fn label_values(
        &self,
        ctx: &RequestContext,
        r: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        self.record(ctx);
        self.inner.label_values(ctx, r).await
    }
}

fn data() -> MemStore {
    let s = MemStore::new(Labels::from_pairs([("region", "eu")])).with_component_type("store");
    for i in 0..7 {
        s.add_series(
            Labels::from_pairs([("a", format!("{i}"))]),
            &[(1000, i as f64), (2000, 1.0)],
        );
    }
    s
}

async fn start(store: Arc<dyn Store>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(strata_storeapi::serve(
        listener,
        store,
        std::future::pending::<()>(),
    ));
    addr
}

fn all() -> SeriesRequest {
    SeriesRequest {
        min_time: 0,
        max_time: 10_000,
        matchers: vec![pb_matcher(label_matcher::Type::Re, "a", ".+")],
        ..Default::default()
    }
}

#[tokio::test]
async fn tenant_travels_as_metadata() {
    let rec = Arc::new(Recording {
        inner: data(),
        tenants: Mutex::new(Vec::new()),
    });
    let addr = start(rec.clone()).await;
    let client = GrpcStore::connect(&addr).await.expect("connect");
    let ctx = RequestContext {
        tenant: Some("team-a".into()),
    };
    let mut s = client.series(&ctx, all()).await.expect("series");
    while s.next().await.is_some() {}
    client
        .label_names(
            &RequestContext::default(),
            LabelNamesRequest {
                start: 0,
                end: 10_000,
                ..Default::default()
            },
        )
        .await
        .expect("names");
    let got = rec
        .tenants
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    assert_eq!(got, [Some("team-a".to_string()), None]);
    assert_eq!(TENANT_METADATA_KEY, "thanos-tenant");
}

#[tokio::test]
async fn batches_on_the_wire_and_unbatches_in_the_client() {
    let addr = start(data().into_store()).await;
    let mut raw = StoreClient::connect(format!("http://{addr}"))
        .await
        .expect("raw connect");
    let mut r = all();
    r.response_batch_size = 3;
    let mut stream = raw.series(r.clone()).await.expect("series").into_inner();
    let mut sizes = Vec::new();
    while let Some(f) = stream.next().await {
        match f.expect("frame").result {
            Some(series_response::Result::Batch(b)) => sizes.push(b.series.len()),
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert_eq!(sizes, [3, 3, 1]);

    let client = GrpcStore::connect(&addr).await.expect("connect");
    let frames: Vec<_> = client
        .series(&RequestContext::default(), r)
        .await
        .expect("series")
        .collect()
        .await;
    assert_eq!(frames.len(), 7);
    assert!(frames.iter().all(
        |f| matches!(f, Ok(x) if matches!(x.result, Some(series_response::Result::Series(_))))
    ));
}

#[tokio::test]
async fn errors_keep_their_code_and_info_round_trips() {
    let addr = start(data().into_store()).await;
    let client = GrpcStore::lazy(&addr).expect("lazy");
    let mut r = all();
    r.matchers = vec![pb_matcher(label_matcher::Type::Re, "a", "(")];
    assert!(matches!(
        client.series(&RequestContext::default(), r).await,
        Err(StoreError::InvalidArgument(_))
    ));
    let vr = LabelValuesRequest::default();
    assert!(matches!(
        client.label_values(&RequestContext::default(), vr).await,
        Err(StoreError::InvalidArgument(_))
    ));

    let info = client.info().await.expect("info");
    assert_eq!(info.component_type, "store");
    assert_eq!(
        info.store.as_ref().map(|s| (s.min_time, s.max_time)),
        Some((1000, 2000))
    );
    assert_eq!(info.label_sets.len(), 1);
}

#[tokio::test]
async fn info_falls_back_to_legacy_store_info() {
    // A server with only /thanos.Store/* (as an old Thanos): no thanos.info.Info service.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = StoreServer::new(data().into_store());
    tokio::spawn(
        Server::builder()
            .add_service(server.store_service())
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let client = GrpcStore::connect(&addr.to_string())
        .await
        .expect("connect");
    let info = client.info().await.expect("legacy info");
    assert_eq!(info.component_type, "store");
    assert_eq!(
        info.store.as_ref().map(|s| (s.min_time, s.max_time)),
        Some((1000, 2000))
    );
    assert_eq!(info.label_sets.len(), 1);
    assert_eq!(info.label_sets[0].labels[0].value, "eu");
}

#[tokio::test]
async fn serve_stops_on_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = tokio::spawn(strata_storeapi::serve(
        listener,
        data().into_store(),
        async {
            let _ = rx.await;
        },
    ));
    let _ = tx.send(());
    let res = tokio::time::timeout(std::time::Duration::from_secs(5), h).await;
    assert!(matches!(res, Ok(Ok(Ok(())))), "{res:?}");
}
