//! Series, LabelNames, LabelValues and Info of a `BucketStore` over several blocks (two with the
//! same external labels and continuing series, one with other external labels), checked
//! sample by sample against the written data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use strata_storeapi::pb::thanos::{LabelNamesRequest, LabelValuesRequest, label_matcher::Type};
use strata_storeapi::{RequestContext, Store};

const H: i64 = 7_200_000;

async fn fixture() -> (Bucket, Model, strata_store_gateway::BucketStore) {
    let b = Bucket::new();
    let mut model = Model::default();
    let mut eu: Vec<(strata_tsdb::Labels, Samples)> = Vec::new();
    let mut eu2 = Vec::new();
    let mut seed = 0;
    for job in ["api", "db", "web"] {
        for i in 0..5 {
            seed += 1;
            let inst = format!("i-{i}");
            let l = labels(&[
                ("__name__", "http_requests_total"),
                ("job", job),
                ("instance", &inst),
            ]);
            eu.push((l.clone(), samples(0, H, 15_000, seed)));
            eu2.push((l, samples(H, 2 * H, 15_000, seed)));
        }
    }
    // Prefix-related series: external labels reorder them relative to the index order.
    for (i, extra) in [None, Some(("le", "1")), Some(("zz", "1"))]
        .into_iter()
        .enumerate()
    {
        let mut p = vec![("__name__", "up"), ("job", "api")];
        p.extend(extra);
        eu.push((labels(&p), samples(0, H, 60_000, 100 + i as u64)));
    }
    let ext_eu = [("region", "eu")];
    b.write_block(0, H, &ext_eu, &eu);
    b.upload_block(H, 2 * H, &ext_eu, &eu2).await;
    model.add(&ext_eu, &eu);
    model.add(&ext_eu, &eu2);
    let us: Vec<_> = (0..3)
        .map(|i| {
            let inst = format!("i-{i}");
            (
                labels(&[
                    ("__name__", "http_requests_total"),
                    ("job", "api"),
                    ("instance", &inst),
                ]),
                samples(0, H, 30_000, 50 + i),
            )
        })
        .collect();
    let ext_us = [("region", "us")];
    b.write_block(0, H, &ext_us, &us);
    model.add(&ext_us, &us);
    let store = b.synced_store(b.config()).await;
    (b, model, store)
}

#[tokio::test]
async fn series_match_written_data() {
    let (_b, model, store) = fixture().await;
    let cases: Vec<Vec<_>> = vec![
        vec![matcher(Type::Re, "__name__", ".+")],
        vec![eq("job", "api")],
        vec![
            eq("__name__", "http_requests_total"),
            matcher(Type::Neq, "job", "api"),
        ],
        vec![matcher(Type::Re, "instance", "i-[12]"), eq("job", "db")],
        vec![eq("__name__", "up"), matcher(Type::Nre, "le", "1")],
        vec![eq("__name__", "up"), eq("le", "")],
        vec![eq("job", "api"), matcher(Type::Nre, "instance", "i-.*")],
        vec![eq("region", "us")],
        vec![matcher(Type::Neq, "region", "eu"), eq("instance", "i-1")],
        vec![eq("region", "nowhere")],
        vec![eq("job", "nope")],
        vec![
            matcher(Type::Re, "job", "api|web"),
            matcher(Type::Re, "instance", "i-(0|4)"),
        ],
        vec![eq("__name__", "up")],
    ];
    for ms in cases {
        let got = collect(&store, req(0, 2 * H, ms.clone())).await.unwrap();
        check(&model, &got, 0, 2 * H, &ms);
    }
    // Series spanning both eu blocks are merged into one with chunks in time order.
    let got = collect(
        &store,
        req(0, 2 * H, vec![eq("region", "eu"), eq("instance", "i-0")]),
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 3);
    for s in &got {
        assert!(s.chunks.windows(2).all(|w| w[0].max_time < w[1].min_time));
        assert!(s.chunks.first().unwrap().min_time < H && s.chunks.last().unwrap().max_time >= H);
    }
}

#[tokio::test]
async fn time_clipping_skip_chunks_limit_and_batches() {
    let (_b, model, store) = fixture().await;
    let ms = vec![eq("job", "api")];
    let (lo, hi) = (H - 600_000, H + 600_000);
    let got = collect(&store, req(lo, hi, ms.clone())).await.unwrap();
    check(&model, &got, lo, hi, &ms);
    // Only the us block and the first eu block hold data before H: a range after 2H is empty.
    assert!(
        collect(&store, req(2 * H, 3 * H, ms.clone()))
            .await
            .unwrap()
            .is_empty()
    );
    // A range inside the first block only returns chunks of that block.
    let got = collect(&store, req(0, 600_000, ms.clone())).await.unwrap();
    check(&model, &got, 0, 600_000, &ms);
    assert!(
        got.iter()
            .all(|s| s.chunks.iter().all(|c| c.min_time <= 600_000))
    );

    let mut r = req(0, 2 * H, ms.clone());
    r.skip_chunks = true;
    let skipped = collect(&store, r).await.unwrap();
    let full = collect(&store, req(0, 2 * H, ms.clone())).await.unwrap();
    assert_eq!(skipped.len(), full.len());
    assert!(skipped.iter().all(|s| s.chunks.is_empty()));
    assert_eq!(
        skipped.iter().map(pb_labels).collect::<Vec<_>>(),
        full.iter().map(pb_labels).collect::<Vec<_>>()
    );

    let mut r = req(0, 2 * H, ms.clone());
    r.limit = 4;
    let limited = collect(&store, r).await.unwrap();
    assert_eq!(limited, full[..4].to_vec());

    let mut r = req(0, 2 * H, ms.clone());
    r.response_batch_size = 5;
    assert_eq!(collect(&store, r).await.unwrap(), full);
}

#[tokio::test]
async fn label_names_values_and_info() {
    let (_b, _model, store) = fixture().await;
    let ctx = RequestContext::default();
    let names = store
        .label_names(
            &ctx,
            LabelNamesRequest {
                start: 0,
                end: 2 * H,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .names;
    assert_eq!(names, ["__name__", "instance", "job", "le", "region", "zz"]);
    let names = store
        .label_names(
            &ctx,
            LabelNamesRequest {
                start: 0,
                end: 2 * H,
                matchers: vec![eq("__name__", "up")],
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .names;
    assert_eq!(names, ["__name__", "job", "le", "region", "zz"]);
    let values = |label: &str, ms: Vec<_>| {
        let store = &store;
        let ctx = &ctx;
        let label = label.to_string();
        async move {
            store
                .label_values(
                    ctx,
                    LabelValuesRequest {
                        label,
                        start: 0,
                        end: 2 * H,
                        matchers: ms,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .values
        }
    };
    assert_eq!(values("job", vec![]).await, ["api", "db", "web"]);
    assert_eq!(values("region", vec![]).await, ["eu", "us"]);
    assert_eq!(values("job", vec![eq("region", "us")]).await, ["api"]);
    assert_eq!(values("region", vec![eq("job", "db")]).await, ["eu"]);
    assert_eq!(
        values("instance", vec![eq("region", "us")]).await,
        ["i-0", "i-1", "i-2"]
    );
    assert_eq!(values("le", vec![eq("__name__", "up")]).await, ["1"]);
    assert!(values("job", vec![eq("region", "mars")]).await.is_empty());
    assert!(values("nope", vec![]).await.is_empty());

    let info = store.info().await.unwrap();
    assert_eq!(info.component_type, "store");
    let sets: Vec<_> = info
        .label_sets
        .iter()
        .map(|s| (s.labels[0].name.clone(), s.labels[0].value.clone()))
        .collect();
    assert_eq!(
        sets,
        [
            ("region".into(), "eu".into()),
            ("region".into(), "us".into())
        ]
    );
    let si = info.store.unwrap();
    assert_eq!((si.min_time, si.max_time), (0, 2 * H));
    assert!(
        si.supports_without_replica_labels,
        "the gateway strips replica labels itself"
    );
}

#[tokio::test]
async fn helper_builds_a_store_from_series() {
    let tmp = tempfile::tempdir().unwrap();
    let series = vec![
        (
            labels(&[("__name__", "a"), ("x", "1")]),
            vec![(1000, 1.0), (2000, 2.0)],
        ),
        (labels(&[("__name__", "a")]), vec![(1500, 3.0)]),
    ];
    let store = strata_store_gateway::testing::store_from_series(
        tmp.path(),
        labels(&[("replica", "r1")]),
        series.clone(),
    )
    .await
    .unwrap();
    let got = collect(&store, req(0, 10_000, vec![eq("__name__", "a")]))
        .await
        .unwrap();
    let mut model = Model::default();
    model.add(&[("replica", "r1")], &series);
    check(&model, &got, 0, 10_000, &[eq("__name__", "a")]);
    // {__name__=a, replica=r1} sorts before {__name__=a, replica=r1, x=1}.
    assert_eq!(got[0].labels.len(), 2);

    let empty = strata_store_gateway::testing::store_from_series(
        &tmp.path().join("empty"),
        labels(&[]),
        vec![],
    )
    .await
    .unwrap();
    assert!(
        collect(&empty, req(0, 10_000, vec![eq("__name__", "a")]))
            .await
            .unwrap()
            .is_empty()
    );
}
