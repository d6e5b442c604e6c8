//! ProxyStore behaviour beyond the acceptance suite: k-way merge order, identical-chunk
//! dropping, replica-label stripping with re-sorting, partial response (WARN vs ABORT) with
//! failing and hanging stores, store skipping by time and external labels, and `info`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use strata_storeapi::convert::{labels_from_pb, pb_matcher};
use strata_storeapi::pb::thanos::info::InfoResponse;
use strata_storeapi::pb::thanos::{
    LabelMatcher, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse,
    PartialResponseStrategy, Series, SeriesRequest, label_matcher, series_response,
};
use strata_storeapi::{
    MemStore, ProxyOptions, ProxyStore, RequestContext, SeriesStream, Store, StoreError, StoreMeta,
};
use strata_tsdb::labels::Labels;

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn samples(start: i64, n: usize) -> Vec<(i64, f64)> {
    (0..n)
        .map(|i| (start + i as i64 * 15_000, i as f64))
        .collect()
}

fn any() -> Vec<LabelMatcher> {
    vec![pb_matcher(label_matcher::Type::Re, "a", ".*")]
}

fn req(matchers: Vec<LabelMatcher>, abort: bool) -> SeriesRequest {
    SeriesRequest {
        min_time: 0,
        max_time: i64::MAX,
        matchers,
        partial_response_strategy: if abort {
            PartialResponseStrategy::Abort as i32
        } else {
            PartialResponseStrategy::Warn as i32
        },
        ..Default::default()
    }
}

/// All frames of a Series call: series and warnings.
async fn run(
    store: &dyn Store,
    r: SeriesRequest,
) -> Result<(Vec<Series>, Vec<String>), StoreError> {
    let mut s = store.series(&RequestContext::default(), r).await?;
    let (mut series, mut warnings) = (Vec::new(), Vec::new());
    while let Some(f) = s.next().await {
        match f?.result {
            Some(series_response::Result::Series(x)) => series.push(x),
            Some(series_response::Result::Warning(w)) => warnings.push(w),
            _ => {}
        }
    }
    Ok((series, warnings))
}

fn names(series: &[Series]) -> Vec<String> {
    series
        .iter()
        .map(|s| labels_from_pb(&s.labels).to_string())
        .collect()
}

async fn proxy(stores: Vec<(&str, Arc<dyn Store>)>, timeout: Option<Duration>) -> ProxyStore {
    ProxyStore::discover(
        stores
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect(),
        ProxyOptions {
            response_timeout: timeout,
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn k_way_merge_orders_and_merges_across_stores() {
    let a = MemStore::new(Labels::empty());
    let b = MemStore::new(Labels::empty());
    let c = MemStore::new(Labels::empty());
    for (store, sets) in [
        (
            &a,
            vec![
                vec![("a", "1")],
                vec![("a", "4")],
                vec![("a", "1"), ("b", "1")],
            ],
        ),
        (
            &b,
            vec![
                vec![("a", "2")],
                vec![("a", "5")],
                vec![("a", "1"), ("r", "x")],
            ],
        ),
        (
            &c,
            vec![
                vec![("a", "3")],
                vec![("a", "4")],
                vec![("a", "0"), ("z", "1")],
            ],
        ),
    ] {
        for s in sets {
            store.add_series(ls(&s), &samples(1000, 3));
        }
    }
    let p = proxy(
        vec![
            ("a", a.into_store()),
            ("b", b.into_store()),
            ("c", c.into_store()),
        ],
        None,
    )
    .await;
    let (series, warnings) = run(&p, req(any(), true)).await.expect("series");
    assert!(warnings.is_empty());
    assert_eq!(
        names(&series),
        [
            r#"{a="0", z="1"}"#,
            r#"{a="1"}"#,
            r#"{a="1", b="1"}"#,
            r#"{a="1", r="x"}"#,
            r#"{a="2"}"#,
            r#"{a="3"}"#,
            r#"{a="4"}"#,
            r#"{a="5"}"#,
        ]
    );
    // {a="4"} came from two stores with identical data: one chunk left.
    assert_eq!(series[6].chunks.len(), 1);
}

#[tokio::test]
async fn identical_chunks_are_dropped_and_others_kept() {
    let l = ls(&[("a", "x")]);
    let a = MemStore::from_series(Labels::empty(), [(l.clone(), samples(0, 240))]);
    // The same first 240 samples (two identical chunks) plus a third chunk.
    let b = MemStore::from_series(Labels::empty(), [(l.clone(), samples(0, 360))]);
    let p = proxy(vec![("a", a.into_store()), ("b", b.into_store())], None).await;
    let (series, _) = run(&p, req(any(), true)).await.expect("series");
    assert_eq!(series.len(), 1);
    let ranges: Vec<_> = series[0]
        .chunks
        .iter()
        .map(|c| (c.min_time, c.max_time))
        .collect();
    assert_eq!(
        ranges,
        [
            (0, 119 * 15_000),
            (120 * 15_000, 239 * 15_000),
            (240 * 15_000, 359 * 15_000)
        ]
    );
}

/// With `replica` as an external label, the full label order of a store is
/// `{a=1,b=1,replica}` < `{a=1,replica}`, but stripped it is `{a=1}` < `{a=1,b=1}`: the proxy
/// must re-sort a store that cannot strip by itself, or the merge would emit duplicates out of
/// order.
#[tokio::test]
async fn without_replica_labels_is_applied_and_resorted_for_old_stores() {
    let series = vec![
        (ls(&[("a", "1")]), samples(0, 10)),
        (ls(&[("a", "1"), ("b", "1")]), samples(0, 10)),
        (ls(&[("a", "2")]), samples(0, 10)),
    ];
    let mk = |r: &str, supports: bool| {
        MemStore::from_series(ls(&[("replica", r)]), series.clone())
            .with_without_replica_labels_support(supports)
            .into_store()
    };
    for supports in [[false, false], [false, true], [true, true]] {
        let p = proxy(
            vec![("r1", mk("r1", supports[0])), ("r2", mk("r2", supports[1]))],
            None,
        )
        .await;
        let mut r = req(any(), true);
        r.without_replica_labels = vec!["replica".into()];
        let (out, _) = run(&p, r).await.expect("series");
        assert_eq!(
            names(&out),
            [r#"{a="1"}"#, r#"{a="1", b="1"}"#, r#"{a="2"}"#],
            "support {supports:?}"
        );
        // Both replicas hold identical data: each merged series keeps one chunk.
        assert!(
            out.iter().all(|s| s.chunks.len() == 1),
            "support {supports:?}"
        );

        // Without the request field, replicas stay apart.
        let (out, _) = run(&p, req(any(), true)).await.expect("series");
        assert_eq!(out.len(), 6);
        let names_req = LabelNamesRequest {
            start: 0,
            end: i64::MAX,
            without_replica_labels: vec!["replica".into()],
            ..Default::default()
        };
        let n = p
            .label_names(&RequestContext::default(), names_req)
            .await
            .expect("names");
        assert_eq!(n.names, ["a", "b"]);
    }
}

/// A store that misbehaves in a chosen way, counting the calls it gets.
#[derive(Debug)]
struct Faulty {
    inner: MemStore,
    mode: Mode,
    calls: AtomicUsize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    FailAtOnce,
    FailMidStream,
    HangAtOnce,
    HangMidStream,
}

impl Faulty {
    fn new(mode: Mode, ext: Labels, series: Vec<(Labels, Vec<(i64, f64)>)>) -> Arc<Self> {
        Arc::new(Self {
            inner: MemStore::from_series(ext, series),
            mode,
            calls: AtomicUsize::new(0),
        })
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    async fn gate(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.mode {
            Mode::FailAtOnce => Err(StoreError::Unavailable("boom".into())),
            Mode::HangAtOnce => futures::future::pending().await,
            _ => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl Store for Faulty {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        self.inner.info().await
    }
    async fn series(
        &self,
        ctx: &RequestContext,
        r: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        self.gate().await?;
        let inner = self.inner.series(ctx, r).await?;
        Ok(match self.mode {
            Mode::FailMidStream => Box::pin(inner.take(1).chain(futures::stream::iter([Err(
                StoreError::Internal("mid-stream".into()),
            )]))),
            Mode::HangMidStream => Box::pin(inner.take(1).chain(futures::stream::pending())),
            _ => inner,
        })
    }
    async fn label_names(
        &self,
        ctx: &RequestContext,
        r: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        self.gate().await?;
        self.inner.label_names(ctx, r).await
    }
    async fn label_values(
        &self,
        ctx: &RequestContext,
        r: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        self.gate().await?;
        self.inner.label_values(ctx, r).await
    }
}

fn two_series(prefix: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    vec![
        (ls(&[("a", &format!("{prefix}1"))]), samples(0, 5)),
        (ls(&[("a", &format!("{prefix}2"))]), samples(0, 5)),
    ]
}

#[tokio::test]
async fn partial_response_warn_vs_abort() {
    for mode in [
        Mode::FailAtOnce,
        Mode::FailMidStream,
        Mode::HangAtOnce,
        Mode::HangMidStream,
    ] {
        let good = Faulty::new(Mode::Ok, Labels::empty(), two_series("g"));
        let bad = Faulty::new(mode, Labels::empty(), two_series("b"));
        let p = proxy(
            vec![
                ("good", good.clone() as Arc<dyn Store>),
                ("bad", bad.clone() as Arc<dyn Store>),
            ],
            Some(Duration::from_millis(300)),
        )
        .await;

        let t = Instant::now();
        let (series, warnings) = run(&p, req(any(), false)).await.expect("WARN keeps going");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{mode:?} took {:?}",
            t.elapsed()
        );
        let got = names(&series);
        assert!(
            got.contains(&r#"{a="g1"}"#.to_string()) && got.contains(&r#"{a="g2"}"#.to_string()),
            "{mode:?}: {got:?}"
        );
        assert!(
            !got.contains(&r#"{a="b2"}"#.to_string()),
            "{mode:?}: {got:?}"
        );
        assert_eq!(warnings.len(), 1, "{mode:?}: {warnings:?}");
        assert!(warnings[0].contains("store bad"), "{mode:?}: {warnings:?}");
        if matches!(mode, Mode::HangAtOnce | Mode::HangMidStream) {
            assert!(warnings[0].contains("deadline"), "{mode:?}: {warnings:?}");
        }

        let err = run(&p, req(any(), true)).await.expect_err("ABORT fails");
        assert!(err.to_string().contains("store bad"), "{mode:?}: {err}");
        if matches!(mode, Mode::HangAtOnce | Mode::HangMidStream) {
            assert!(
                matches!(err, StoreError::DeadlineExceeded(_)),
                "{mode:?}: {err:?}"
            );
        }

        if matches!(mode, Mode::FailAtOnce | Mode::HangAtOnce) {
            let mut nr = LabelNamesRequest {
                start: 0,
                end: i64::MAX,
                ..Default::default()
            };
            let n = p
                .label_names(&RequestContext::default(), nr.clone())
                .await
                .expect("WARN");
            assert_eq!(n.names, ["a"]);
            assert_eq!(n.warnings.len(), 1);
            nr.partial_response_strategy = PartialResponseStrategy::Abort as i32;
            assert!(p.label_names(&RequestContext::default(), nr).await.is_err());
            let mut vr = LabelValuesRequest {
                label: "a".into(),
                start: 0,
                end: i64::MAX,
                ..Default::default()
            };
            let v = p
                .label_values(&RequestContext::default(), vr.clone())
                .await
                .expect("WARN");
            assert_eq!(v.values, ["g1", "g2"]);
            assert_eq!(v.warnings.len(), 1);
            vr.partial_response_disabled = true;
            assert!(
                p.label_values(&RequestContext::default(), vr)
                    .await
                    .is_err()
            );
        }
    }
}

#[tokio::test]
async fn stores_are_skipped_by_time_and_external_labels() {
    let eu = Faulty::new(
        Mode::Ok,
        ls(&[("region", "eu")]),
        vec![(ls(&[("a", "1")]), samples(0, 5))],
    );
    let us = Faulty::new(
        Mode::Ok,
        ls(&[("region", "us")]),
        vec![(ls(&[("a", "1")]), samples(0, 5))],
    );
    let late = Faulty::new(
        Mode::Ok,
        ls(&[("region", "eu")]),
        vec![(ls(&[("a", "1")]), samples(1_000_000, 5))],
    );
    let p = proxy(
        vec![
            ("eu", eu.clone() as Arc<dyn Store>),
            ("us", us.clone() as Arc<dyn Store>),
            ("late", late.clone() as Arc<dyn Store>),
        ],
        None,
    )
    .await;
    let mut r = req(
        vec![
            pb_matcher(label_matcher::Type::Eq, "region", "eu"),
            pb_matcher(label_matcher::Type::Eq, "a", "1"),
        ],
        true,
    );
    r.min_time = 0;
    r.max_time = 100_000;
    let (series, _) = run(&p, r).await.expect("series");
    assert_eq!(names(&series), [r#"{a="1", region="eu"}"#]);
    assert_eq!((eu.calls(), us.calls(), late.calls()), (1, 0, 0));

    let vr = LabelValuesRequest {
        label: "a".into(),
        start: 900_000,
        end: 2_000_000,
        matchers: vec![pb_matcher(label_matcher::Type::Re, "region", "e.*")],
        ..Default::default()
    };
    let v = p
        .label_values(&RequestContext::default(), vr)
        .await
        .expect("values");
    assert_eq!(v.values, ["1"]);
    assert_eq!((eu.calls(), us.calls(), late.calls()), (1, 0, 1));
}

#[tokio::test]
async fn proxy_info_is_the_union() {
    let a = MemStore::from_series(ls(&[("r", "a")]), [(ls(&[("x", "1")]), samples(1000, 2))]);
    let b = MemStore::from_series(ls(&[("r", "b")]), [(ls(&[("x", "1")]), samples(5000, 2))]);
    let p = proxy(vec![("a", a.into_store()), ("b", b.into_store())], None).await;
    let info = p.info().await.expect("info");
    let store = info.store.expect("store section");
    assert_eq!((store.min_time, store.max_time), (1000, 20_000));
    assert!(store.supports_without_replica_labels);
    let sets: Vec<_> = info
        .label_sets
        .iter()
        .map(|s| labels_from_pb(&s.labels).to_string())
        .collect();
    assert_eq!(sets, [r#"{r="a"}"#, r#"{r="b"}"#]);
    let metas: Vec<StoreMeta> = p.stores().into_iter().map(|(_, m)| m).collect();
    assert_eq!(metas[0].min_time, 1000);
    assert_eq!(metas[1].label_sets, [ls(&[("r", "b")])]);
}

#[tokio::test]
async fn no_matchers_is_invalid_and_limit_applies_to_the_merge() {
    let a = MemStore::from_series(
        Labels::empty(),
        [
            (ls(&[("a", "1")]), samples(0, 2)),
            (ls(&[("a", "3")]), samples(0, 2)),
        ],
    );
    let b = MemStore::from_series(
        Labels::empty(),
        [
            (ls(&[("a", "2")]), samples(0, 2)),
            (ls(&[("a", "4")]), samples(0, 2)),
        ],
    );
    let p = proxy(vec![("a", a.into_store()), ("b", b.into_store())], None).await;
    assert!(matches!(
        run(&p, req(vec![], true)).await,
        Err(StoreError::InvalidArgument(_))
    ));
    let mut r = req(any(), true);
    r.limit = 3;
    let (series, _) = run(&p, r).await.expect("series");
    assert_eq!(names(&series), [r#"{a="1"}"#, r#"{a="2"}"#, r#"{a="3"}"#]);
}
