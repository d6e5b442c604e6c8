//! Engine behaviour beyond the PromQL test files: what is pushed down to the store (time
//! ranges, matchers, hints), query limits, timeouts and error classes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use strata_promql::{
    Engine, EngineOptions, Error, ErrorKind, QueryValue, Queryable, RawSeries, SelectRequest,
    StoreQueryable,
};
use strata_storeapi::MemStore;
use strata_tsdb::labels::Labels;

const MIN: i64 = 60_000;

/// Records every request, then answers from a MemStore.
struct Recording {
    inner: StoreQueryable,
    seen: Mutex<Vec<SelectRequest>>,
    delay: Duration,
}

#[async_trait]
impl Queryable for Recording {
    async fn select(
        &self,
        req: SelectRequest,
    ) -> strata_promql::Result<(Vec<RawSeries>, Vec<String>)> {
        self.seen.lock().expect("lock").push(req.clone());
        tokio::time::sleep(self.delay).await;
        self.inner.select(req).await
    }
}

fn source(delay: Duration) -> Recording {
    let mem = MemStore::new(Labels::empty());
    for (job, n) in [("a", 1.0), ("b", 2.0)] {
        let samples: Vec<(i64, f64)> = (0..240).map(|i| (i * 15_000 + 7, n * i as f64)).collect();
        mem.add_series(
            Labels::from_pairs([("__name__", "x"), ("job", job)]),
            &samples,
        );
    }
    Recording {
        inner: StoreQueryable::new(mem.into_store()),
        seen: Mutex::new(Vec::new()),
        delay,
    }
}

#[tokio::test]
async fn pushes_down_time_range_matchers_and_hints() {
    let src = source(Duration::ZERO);
    let engine = Engine::default();
    engine
        .range_query(
            &src,
            "sum by (job) (rate(x{job=~\"a|b\"}[5m] offset 1m))",
            30 * MIN,
            50 * MIN,
            MIN,
        )
        .await
        .unwrap();
    let seen = src.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(
        r.start,
        30 * MIN - MIN - 5 * MIN + 1,
        "left-open window: first ms needed"
    );
    assert_eq!(r.end, 50 * MIN - MIN);
    assert_eq!(r.hints.func.as_deref(), Some("rate"));
    assert_eq!(r.hints.range_ms, 5 * MIN);
    assert_eq!(r.hints.step_ms, MIN);
    assert_eq!(r.hints.grouping, vec!["job".to_string()]);
    assert!(r.hints.by);
    let m: Vec<String> = r
        .matchers
        .iter()
        .map(|m| format!("{}{}{:?}", m.name(), m.kind().as_str(), m.value()))
        .collect();
    assert_eq!(m, ["__name__=\"x\"", "job=~\"a|b\""]);
}

#[tokio::test]
async fn subquery_and_at_ranges() {
    let src = source(Duration::ZERO);
    let engine = Engine::default();
    engine
        .instant_query(
            &src,
            "max_over_time(rate(x[5m])[30m:1m] offset 2m) + x @ 600",
            50 * MIN,
        )
        .await
        .unwrap();
    let seen = src.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    // The subquery's inner steps lie in (50m-2m-30m, 50m-2m]; each reads 5m back.
    assert_eq!(seen[0].start, 50 * MIN - 2 * MIN - 30 * MIN - 5 * MIN + 1);
    assert_eq!(seen[0].end, 48 * MIN);
    // `@ 600` pins the instant selector to 10m whatever the evaluation time; 5m lookback.
    assert_eq!(seen[1].start, 10 * MIN - 5 * MIN + 1);
    assert_eq!(seen[1].end, 10 * MIN);
}

#[tokio::test]
async fn sample_and_series_limits() {
    let src = source(Duration::ZERO);
    let engine = Engine::new(EngineOptions {
        max_samples: 100,
        ..EngineOptions::default()
    });
    let err = engine
        .range_query(&src, "x", 0, 59 * MIN, 15_000)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooManySamples(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Execution);
    assert!(err.to_string().contains("too many samples"), "{err}");

    let engine = Engine::new(EngineOptions {
        max_series: 1,
        ..EngineOptions::default()
    });
    let err = engine.instant_query(&src, "x", 10 * MIN).await.unwrap_err();
    assert!(matches!(err, Error::TooManySeries(1)), "{err}");
    let ok = engine
        .instant_query(&src, "x{job=\"a\"}", 10 * MIN)
        .await
        .unwrap();
    assert!(matches!(ok.value, QueryValue::Vector(v) if v.len() == 1));
}

#[tokio::test]
async fn timeout_while_fetching() {
    let src = source(Duration::from_secs(5));
    let engine = Engine::new(EngineOptions {
        timeout: Duration::from_millis(50),
        ..EngineOptions::default()
    });
    let err = engine.instant_query(&src, "x", 10 * MIN).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn error_classes() {
    let src = source(Duration::ZERO);
    let engine = Engine::default();
    let e = engine.instant_query(&src, "sum(x", 0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadData, "{e}");
    let e = engine
        .range_query(&src, "x[5m]", 0, MIN, MIN)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadData);
    assert_eq!(
        e.to_string(),
        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"
    );
    let e = engine.range_query(&src, "x", 0, MIN, 0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadData);
}

#[tokio::test]
async fn range_query_output_is_sorted_and_scalar_becomes_a_series() {
    let src = source(Duration::ZERO);
    let engine = Engine::default();
    let r = engine
        .range_query(&src, "x", 10 * MIN, 12 * MIN, MIN)
        .await
        .unwrap();
    let QueryValue::Matrix(m) = r.value else {
        panic!("matrix expected")
    };
    assert_eq!(m.len(), 2);
    assert!(m[0].labels < m[1].labels);
    // Samples at 7 ms past each 15 s: the newest sample at or before 10m is 9m45.007s = i 39.
    assert_eq!(m[0].points[0], (10 * MIN, 39.0));
    let r = engine
        .range_query(&src, "1 + 2", 0, 2 * MIN, MIN)
        .await
        .unwrap();
    let QueryValue::Matrix(m) = r.value else {
        panic!("matrix expected")
    };
    assert_eq!(m.len(), 1);
    assert!(m[0].labels.is_empty());
    assert_eq!(m[0].points, vec![(0, 3.0), (MIN, 3.0), (2 * MIN, 3.0)]);
}

/// Two stores holding overlapping parts of the same series (as two blocks or two stores
/// without deduplication would): the engine merges them by timestamp, and the answer equals
/// the one from a single store holding the whole series.
#[tokio::test]
async fn overlapping_copies_of_a_series_are_merged() {
    use strata_storeapi::{ProxyOptions, ProxyStore, StoreMeta};
    let labels = Labels::from_pairs([("__name__", "c"), ("job", "a")]);
    let all: Vec<(i64, f64)> = (0..480).map(|i| (i * 15_000 + 3, i as f64)).collect();
    let whole = MemStore::new(Labels::empty());
    whole.add_series(labels.clone(), &all);
    let (first, second) = (
        MemStore::new(Labels::empty()),
        MemStore::new(Labels::empty()),
    );
    first.add_series(labels.clone(), &all[..300]);
    second.add_series(labels.clone(), &all[200..]);
    let proxy = ProxyStore::with_stores(
        vec![
            (first.into_store(), StoreMeta::unknown("first")),
            (second.into_store(), StoreMeta::unknown("second")),
        ],
        ProxyOptions::default(),
    );
    let engine = Engine::default();
    let q = "rate(c[5m]) + c";
    let merged = engine
        .range_query(
            &StoreQueryable::new(Arc::new(proxy)),
            q,
            10 * MIN,
            110 * MIN,
            MIN,
        )
        .await
        .unwrap();
    let single = engine
        .range_query(
            &StoreQueryable::new(whole.into_store()),
            q,
            10 * MIN,
            110 * MIN,
            MIN,
        )
        .await
        .unwrap();
    let QueryValue::Matrix(m) = &single.value else {
        panic!("matrix expected")
    };
    assert_eq!(m[0].points.len(), 101);
    assert_eq!(merged.value, single.value);
}

/// A store whose only series holds a native-histogram chunk.
#[derive(Debug)]
struct HistogramStore;

#[async_trait]
impl strata_storeapi::Store for HistogramStore {
    async fn info(
        &self,
    ) -> Result<strata_storeapi::pb::thanos::info::InfoResponse, strata_storeapi::StoreError> {
        Ok(Default::default())
    }

    async fn series(
        &self,
        _ctx: &strata_storeapi::RequestContext,
        _req: strata_storeapi::pb::thanos::SeriesRequest,
    ) -> Result<strata_storeapi::SeriesStream, strata_storeapi::StoreError> {
        use strata_storeapi::pb::thanos::{AggrChunk, Chunk, Label, Series, chunk};
        let series = Series {
            labels: vec![Label {
                name: "__name__".into(),
                value: "h".into(),
            }],
            chunks: vec![AggrChunk {
                min_time: 0,
                max_time: 60_000,
                raw: Some(Chunk {
                    r#type: chunk::Encoding::Histogram as i32,
                    data: vec![0, 1, 2].into(),
                    hash: 0,
                }),
                ..Default::default()
            }],
        };
        let frame = strata_storeapi::convert::series_frame(series);
        Ok(Box::pin(futures::stream::iter([Ok(frame)])))
    }

    async fn label_names(
        &self,
        _ctx: &strata_storeapi::RequestContext,
        _req: strata_storeapi::pb::thanos::LabelNamesRequest,
    ) -> Result<strata_storeapi::pb::thanos::LabelNamesResponse, strata_storeapi::StoreError> {
        Ok(Default::default())
    }

    async fn label_values(
        &self,
        _ctx: &strata_storeapi::RequestContext,
        _req: strata_storeapi::pb::thanos::LabelValuesRequest,
    ) -> Result<strata_storeapi::pb::thanos::LabelValuesResponse, strata_storeapi::StoreError> {
        Ok(Default::default())
    }
}

/// Native histograms are not evaluated yet: a clear error, never a wrong answer.
#[tokio::test]
async fn native_histograms_give_a_clear_error() {
    let engine = Engine::default();
    let src = StoreQueryable::new(Arc::new(HistogramStore));
    let err = engine
        .instant_query(&src, "rate(h[5m])", 60_000)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PromQL on native histogram chunks is not supported yet"
    );
    assert_eq!(err.kind(), ErrorKind::Execution);
}

/// Runs `query` on a 2 MiB thread (a tokio worker's stack), as the querier does.
fn on_small_stack(query: String) -> Result<(), Error> {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let src = StoreQueryable::new(MemStore::new(Labels::empty()).into_store());
                Engine::default()
                    .instant_query(&src, &query, 0)
                    .await
                    .map(drop)
            })
        })
        .expect("thread")
        .join()
        .expect("no panic")
}

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

/// Queries deeper or longer than the limits are a fast `bad_data` (they used to overflow the
/// stack and abort the process, or parse for minutes); the deepest queries within the limits
/// evaluate on a tokio-sized stack.
#[test]
fn deep_and_long_queries_are_rejected_and_the_limits_evaluate() {
    use strata_promql::{MAX_NESTING, MAX_OPERATORS};
    let rejected = [
        vec!["1"; 3000].join("+"),
        vec!["1"; 100_000].join("+"),
        nested("abs(", "vector(1)", ")", 2500),
        nested("sum(", "vector(1)", ")", 3000),
        vec!["vector(1)"; 3000].join(" and "),
        nested("max_over_time(", "vector(1)", "[1m:])", 1000),
        nested("(", "1", ")", 100_000),
        format!("{}1", "-".repeat(3000)),
    ];
    for q in rejected {
        let t = std::time::Instant::now();
        let e = on_small_stack(q).expect_err("over the limits");
        assert_eq!(e.kind(), ErrorKind::BadData, "{e}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    let n = MAX_NESTING - 1;
    let admitted = [
        vec!["1"; MAX_OPERATORS + 1].join("+"),
        vec!["vector(1)"; MAX_OPERATORS + 1].join(" and "),
        nested("abs(", "vector(1)", ")", n),
        nested("sum(", "vector(1)", ")", n),
        nested("(", "1", ")", MAX_NESTING),
        nested(
            "max_over_time(",
            "vector(1)",
            "[1m:])",
            MAX_OPERATORS.min(n),
        ),
        nested(
            "sum(",
            &vec!["vector(1)"; MAX_OPERATORS - n].join("*"),
            ")",
            n,
        ),
        // Just within the shallow path (ordinary threads).
        nested("sum(", "vector(1)", ")", 63),
        nested("max_over_time(", "vector(1)", "[1m:])", 31),
        vec!["1"; 65].join("+"),
    ];
    for q in admitted {
        on_small_stack(q.clone()).unwrap_or_else(|e| panic!("{e}: {}", &q[..40]));
    }
}

#[tokio::test]
async fn at_timestamps_out_of_range_are_bad_data() {
    let src = source(Duration::ZERO);
    let engine = Engine::default();
    for q in ["x @ 1e300", "x @ -1e300", "rate(x[5m] @ 1e18)"] {
        let e = engine.instant_query(&src, q, 0).await.expect_err(q);
        assert_eq!(e.kind(), ErrorKind::BadData, "{e}");
        assert!(
            e.to_string()
                .contains("timestamp out of bounds for @ modifier"),
            "{e}"
        );
    }
    assert!(engine.instant_query(&src, "x @ 3600", 0).await.is_ok());
}
