//! Regression tests for defects found in review: each failed before its fix.
//! - a client-chosen `response_batch_size` aborted the process (allocation up front);
//! - postings cache keys were ambiguous when a label name contains ':';
//! - cache keys shared Thanos' names while framing values differently (shared memcached);
//! - labels-only requests (`skip_chunks`) counted against the samples limit.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use strata_cache::Cache;
use strata_store_gateway::{BucketStore, GatewayConfig, testing};
use strata_storeapi::pb::thanos::{
    LabelMatcher, SeriesRequest, label_matcher::Type, series_response,
};
use strata_storeapi::{RequestContext, Store, StoreError};
use strata_tsdb::labels::Labels;

type L = Vec<(String, String)>;

async fn collect(store: &dyn Store, req: SeriesRequest) -> Result<Vec<L>, StoreError> {
    let mut s = store.series(&RequestContext::default(), req).await?;
    let conv = |s: &strata_storeapi::pb::thanos::Series| -> L {
        s.labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    };
    let mut out = vec![];
    while let Some(f) = s.next().await {
        match f?.result {
            Some(series_response::Result::Series(s)) => out.push(conv(&s)),
            Some(series_response::Result::Batch(b)) => out.extend(b.series.iter().map(conv)),
            _ => {}
        }
    }
    Ok(out)
}

fn req(n: &str, v: &str) -> SeriesRequest {
    SeriesRequest {
        min_time: 0,
        max_time: 10_000,
        matchers: vec![LabelMatcher {
            r#type: Type::Eq as i32,
            name: n.into(),
            value: v.into(),
        }],
        ..Default::default()
    }
}

fn ext() -> Labels {
    Labels::from_pairs([("region", "eu")])
}

async fn store_with(
    dir: &std::path::Path,
    series: &[(Labels, Vec<(i64, f64)>)],
    cache: Option<Arc<dyn Cache>>,
    samples_limit: u64,
) -> (BucketStore, ulid::Ulid) {
    let bucket_dir = dir.join("bucket");
    let meta = testing::write_block(&bucket_dir, &ext(), series)
        .unwrap()
        .unwrap();
    let mut cfg = GatewayConfig::new(dir.join("data"));
    cfg.index_cache = cache;
    cfg.samples_limit = samples_limit;
    let store = BucketStore::new(testing::filesystem_bucket(&bucket_dir).unwrap(), cfg);
    store.sync().await.unwrap();
    (store, meta.ulid)
}

fn in_memory_cache() -> Arc<dyn Cache> {
    strata_cache::CacheConfig::in_memory(64 << 20)
        .build()
        .unwrap()
}

#[tokio::test]
async fn huge_response_batch_sizes_are_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let series = vec![(Labels::from_pairs([("__name__", "x")]), vec![(1000, 1.0)])];
    let (store, _) = store_with(dir.path(), &series, None, 0).await;
    // i64::MAX overflowed a capacity computation; 1 << 40 made the allocator abort the process.
    for size in [i64::MAX, 1 << 40] {
        let mut r = req("__name__", "x");
        r.response_batch_size = size;
        assert_eq!(
            collect(&store, r).await.unwrap().len(),
            1,
            "batch size {size}"
        );
    }

    // And through the gRPC server, which batches on its own.
    let mem = strata_storeapi::MemStore::from_series(Labels::empty(), series).into_store();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(strata_storeapi::serve(
        listener,
        mem,
        std::future::pending(),
    ));
    let client = strata_storeapi::GrpcStore::connect(&addr.to_string())
        .await
        .unwrap();
    for size in [i64::MAX, 1 << 40] {
        let mut r = req("__name__", "x");
        r.response_batch_size = size;
        assert_eq!(
            collect(&client, r).await.unwrap().len(),
            1,
            "gRPC batch size {size}"
        );
    }
}

#[tokio::test]
async fn postings_cache_keys_are_unambiguous() {
    let series = vec![
        (
            Labels::from_pairs([("__name__", "x"), ("a", "b:c")]),
            vec![(1000, 1.0)],
        ),
        (
            Labels::from_pairs([("__name__", "y"), ("a:b", "c")]),
            vec![(1000, 2.0)],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (cached, _) = store_with(dir.path(), &series, Some(in_memory_cache()), 0).await;
    let first = collect(&cached, req("a", "b:c")).await.unwrap();
    let second = collect(&cached, req("a:b", "c")).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1);
    assert!(
        first[0].contains(&("__name__".into(), "x".into())),
        "{first:?}"
    );
    assert!(
        second[0].contains(&("__name__".into(), "y".into())),
        "{second:?}"
    );
}

#[tokio::test]
async fn thanos_entries_in_a_shared_cache_are_never_read() {
    let series = vec![(
        Labels::from_pairs([("__name__", "x"), ("a", "1")]),
        vec![(1000, 1.0)],
    )];
    let dir = tempfile::tempdir().unwrap();
    let cache = in_memory_cache();
    let (store, id) = store_with(dir.path(), &series, Some(Arc::clone(&cache)), 0).await;
    // What a Thanos gateway sharing the memcached would write under its own key names (its
    // values are framed differently): garbage to strata.
    let mut items: Vec<(String, bytes::Bytes)> = (0..4096u32)
        .map(|r| {
            (
                format!("S:{id}:{r}"),
                bytes::Bytes::from_static(b"\x05thanos"),
            )
        })
        .collect();
    items.push((format!("P:{id}:a:1"), bytes::Bytes::from_static(b"thanos")));
    cache.set_multi(items, Duration::from_secs(60)).await;
    for _ in 0..2 {
        let got = collect(&store, req("a", "1")).await.unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
    }
}

#[tokio::test]
async fn labels_only_requests_do_not_count_samples() {
    let series: Vec<(Labels, Vec<(i64, f64)>)> = (0..10)
        .map(|i| {
            (
                Labels::from_pairs([("__name__", "x".to_string()), ("i", i.to_string())]),
                vec![(1000, 1.0)],
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // 10 chunks count as 1,200 samples: over a limit of 500.
    let (store, _) = store_with(dir.path(), &series, None, 500).await;
    let err = collect(&store, req("__name__", "x")).await.unwrap_err();
    assert!(matches!(err, StoreError::ResourceExhausted(_)), "{err:?}");
    let mut r = req("__name__", "x");
    r.skip_chunks = true;
    assert_eq!(collect(&store, r).await.unwrap().len(), 10);
}

#[tokio::test]
async fn a_forged_toc_cannot_make_the_header_build_read_the_whole_index() {
    use object_store::ObjectStore;
    use strata_tsdb::index::{Toc, parse_toc};

    // A block whose series section is far larger than its symbols and postings table
    // (8,000 series from a 60-value vocabulary), and than the 64 KiB speculative read.
    let series: Vec<(Labels, Vec<(i64, f64)>)> = (0..8000)
        .map(|i| {
            (
                Labels::from_pairs([
                    ("__name__", "m".to_string()),
                    ("a", (i % 20).to_string()),
                    ("b", (i / 20 % 20).to_string()),
                    ("c", (i / 400).to_string()),
                ]),
                vec![(1000, 1.0)],
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let bucket_dir = dir.path().join("bucket");
    let meta = testing::write_block(&bucket_dir, &ext(), &series)
        .unwrap()
        .unwrap();
    let index_path = bucket_dir.join(meta.ulid.to_string()).join("index");
    let mut index = std::fs::read(&index_path).unwrap();
    assert!(index.len() > 256 * 1024, "index of {} bytes", index.len());
    let series_section = {
        let toc = parse_toc(&index[index.len() - Toc::LEN..]).unwrap();
        toc.label_indices - toc.series
    };
    assert!(
        series_section > 128 * 1024,
        "series section of {series_section} bytes"
    );

    // Forge the TOC: the series section "starts" where it really ends, so a reader trusting
    // it would read header + symbols + every series entry in one GET. The CRC is recomputed.
    let toc_at = index.len() - Toc::LEN;
    let mut toc = parse_toc(&index[toc_at..]).unwrap();
    toc.series = toc.label_indices;
    index[toc_at..].copy_from_slice(&toc.encode());
    std::fs::write(&index_path, &index).unwrap();

    let inner = testing::filesystem_bucket(&bucket_dir).unwrap();
    let counted = strata_objstore::InstrumentedStore::new(inner);
    let stats = Arc::clone(counted.stats());
    let bucket: Arc<dyn ObjectStore> = Arc::new(counted);
    let store = BucketStore::new(bucket, GatewayConfig::new(dir.path().join("data")));
    let _ = store.sync().await; // the block may load or be rejected; either way, bounded reads
    let read = stats.snapshot().bytes_read;
    assert!(
        read < 100 * 1024,
        "loading the block read {read} bytes of a {} byte index",
        index.len()
    );
}

/// The gateway strips `without_replica_labels` itself (so a querier need not buffer and
/// re-sort its whole answer): from external labels (replicas are usually block external
/// labels), and from index labels, where stripping can reorder series.
#[tokio::test]
async fn replica_labels_are_stripped_by_the_gateway() {
    use strata_storeapi::pb::thanos::LabelNamesRequest;

    let dir = tempfile::tempdir().unwrap();
    let bucket_dir = dir.path().join("bucket");
    // Two replicas of the same series, as two blocks with replica external labels.
    for (replica, v) in [("a", 1.0), ("b", 2.0)] {
        let ext = Labels::from_pairs([("cluster", "c"), ("replica", replica)]);
        let series = vec![(
            Labels::from_pairs([("__name__", "up"), ("job", "api")]),
            vec![(1000, v)],
        )];
        testing::write_block(&bucket_dir, &ext, &series)
            .unwrap()
            .unwrap();
    }
    // A block whose *index* holds the replica label, in the order that stripping flips:
    // {a=1,b=1,replica=x} sorts before {a=1,replica=x}; without replica, {a=1} comes first.
    let series = vec![
        (
            Labels::from_pairs([("__name__", "m"), ("a", "1"), ("b", "1"), ("replica", "x")]),
            vec![(1000, 3.0)],
        ),
        (
            Labels::from_pairs([("__name__", "m"), ("a", "1"), ("replica", "x")]),
            vec![(1000, 4.0)],
        ),
    ];
    // Its external label `a0` sorts between `a` and `b`, so the stripped sets compare as
    // {a=1,a0=d} < {a=1,a0=d,b=1}: the reverse of the index order.
    testing::write_block(&bucket_dir, &Labels::from_pairs([("a0", "d")]), &series)
        .unwrap()
        .unwrap();
    let store = BucketStore::new(
        testing::filesystem_bucket(&bucket_dir).unwrap(),
        GatewayConfig::new(dir.path().join("data")),
    );
    store.sync().await.unwrap();
    let info = store.info().await.unwrap();
    assert!(info.store.unwrap().supports_without_replica_labels);

    let mut r = req("__name__", "up");
    r.without_replica_labels = vec!["replica".into()];
    let got = collect(&store, r).await.unwrap();
    let l = |p: &[(&str, &str)]| -> L {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        got,
        vec![l(&[("__name__", "up"), ("cluster", "c"), ("job", "api")])],
        "replicas merge into one series"
    );

    let mut r = req("__name__", "m");
    r.without_replica_labels = vec!["replica".into()];
    let got = collect(&store, r).await.unwrap();
    assert_eq!(
        got,
        vec![
            l(&[("__name__", "m"), ("a", "1"), ("a0", "d")]),
            l(&[("__name__", "m"), ("a", "1"), ("a0", "d"), ("b", "1")]),
        ],
        "sorted after stripping"
    );

    let names = store
        .label_names(
            &RequestContext::default(),
            LabelNamesRequest {
                start: 0,
                end: 10_000,
                without_replica_labels: vec!["replica".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .names;
    assert!(!names.contains(&"replica".to_string()), "{names:?}");
    assert!(names.contains(&"cluster".to_string()), "{names:?}");
}
