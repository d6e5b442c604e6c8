//! The store reader's Thanos behaviours through the real engine: penalty deduplication of HA
//! replicas served by two `MemStore`s behind a `ProxyStore`, and downsampled (aggregate)
//! chunks read through the aggregate the query's function needs.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use strata_promql::{
    Engine, ErrorKind, QueryValue, Queryable, RangeSeries, SelectHints, SelectRequest,
    StoreQueryable,
};
use strata_storeapi::pb::thanos::info::InfoResponse;
use strata_storeapi::pb::thanos::{
    Aggr, AggrChunk, Chunk, Label, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest,
    LabelValuesResponse, Series, SeriesRequest, chunk,
};
use strata_storeapi::{
    MemStore, ProxyOptions, ProxyStore, RequestContext, SeriesStream, Store, StoreError, StoreMeta,
};
use strata_tsdb::aggr::{AggrChunk as StoredAggr, AggrSlot, AggrType, encode_aggr_chunk};
use strata_tsdb::chunkenc::{Encoding, XorAppender};
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const SCRAPE: i64 = 15 * SEC;

fn matrix(v: &QueryValue) -> &[RangeSeries] {
    match v {
        QueryValue::Matrix(m) => m,
        other => panic!("matrix expected, got {other:?}"),
    }
}

/// Samples every 15s from `first` to `last` (inclusive, ms) at `offset`, without the samples
/// strictly inside the `gaps`.
fn scrape(
    first: i64,
    last: i64,
    offset: i64,
    gaps: &[(i64, i64)],
    f: impl Fn(i64) -> f64,
) -> Vec<(i64, f64)> {
    (first / SCRAPE..=last / SCRAPE)
        .map(|i| i * SCRAPE + offset)
        .filter(|t| !gaps.iter().any(|&(a, b)| *t > a && *t < b))
        .map(|t| (t, f(t)))
        .collect()
}

/// A proxy over two replica stores (external label `replica`) holding `a` and `b` as the
/// series `labels`.
fn replicas(labels: &Labels, a: &[(i64, f64)], b: &[(i64, f64)]) -> Arc<dyn Store> {
    let mut stores = Vec::new();
    for (name, samples) in [("a", a), ("b", b)] {
        let s = MemStore::new(Labels::from_pairs([("replica", name)]));
        s.add_series(labels.clone(), samples);
        stores.push((s.into_store(), StoreMeta::unknown(name)));
    }
    Arc::new(ProxyStore::with_stores(stores, ProxyOptions::default()))
}

fn single(labels: &Labels, samples: &[(i64, f64)]) -> Arc<dyn Store> {
    let s = MemStore::new(Labels::empty());
    s.add_series(labels.clone(), samples);
    s.into_store()
}

fn gauge(t: i64) -> f64 {
    let x = t as f64 / SCRAPE as f64;
    (x * 0.37).sin() * 100.0 + x
}

/// Each replica has a 10-minute gap (at different times, so whichever replica the penalty
/// algorithm starts on, it must switch); replica b also starts 45s earlier so the replicas'
/// chunks differ. The gaps start at whole minutes: a switch skips the new replica's samples
/// within the penalty (two scrape intervals, as in Thanos), which a 1m step does not see.
#[tokio::test]
async fn gauge_replicas_with_gaps_dedup_to_the_single_replica_answer() {
    let labels = Labels::from_pairs([("__name__", "g"), ("job", "x")]);
    let end = 120 * MIN;
    let full = scrape(0, end, 0, &[], gauge);
    let a = scrape(0, end, 0, &[(40 * MIN, 50 * MIN)], gauge);
    let b = scrape(-3 * SCRAPE, end, 0, &[(70 * MIN, 80 * MIN)], gauge);
    let proxy = replicas(&labels, &a, &b);
    let engine = Engine::default();
    let (start, stop, step) = (10 * MIN, 115 * MIN, MIN);

    let want = engine
        .range_query(
            &StoreQueryable::new(single(&labels, &full)),
            "g",
            start,
            stop,
            step,
        )
        .await
        .unwrap();
    assert_eq!(matrix(&want.value)[0].points.len(), 106);

    let deduped = engine
        .range_query(
            &StoreQueryable::new(proxy.clone()).with_dedup(vec!["replica".into()]),
            "g",
            start,
            stop,
            step,
        )
        .await
        .unwrap();
    assert_eq!(deduped.value, want.value, "no gap, same values");

    let both = engine
        .range_query(&StoreQueryable::new(proxy), "g", start, stop, step)
        .await
        .unwrap();
    let m = matrix(&both.value);
    assert_eq!(m.len(), 2, "without dedup both replicas appear");
    for (s, name) in m.iter().zip(["a", "b"]) {
        assert_eq!(s.labels.get("replica"), Some(name));
        // Each replica alone misses the steps more than 5m (the lookback) into its gap.
        assert_eq!(s.points.len(), 106 - 5, "replica {name}");
    }
}

/// A counter scraped by two replicas 1.2s apart, each with a 10-minute gap: `rate` over the
/// deduplicated series equals the single-replica answer at every step. (A replica switch
/// skips the new replica's samples within the penalty, two scrape intervals, as Thanos does;
/// the gaps start 15s past a minute so that hole never spans a window boundary, where it
/// would shorten rate's extrapolation.)
#[tokio::test]
async fn counter_replicas_scraped_at_different_times_rate_like_one_replica() {
    let labels = Labels::from_pairs([("__name__", "c"), ("job", "x")]);
    let counter = |t: i64| 1000.0 + 2.5 * t as f64 / SEC as f64;
    let end = 120 * MIN;
    let full = scrape(0, end, 0, &[], counter);
    let off = 15 * SEC;
    let a = scrape(0, end, 0, &[(40 * MIN + off, 50 * MIN + off)], counter);
    let b = scrape(0, end, 1200, &[(70 * MIN + off, 80 * MIN + off)], counter);
    let proxy = replicas(&labels, &a, &b);
    let engine = Engine::default();
    let (start, stop, step) = (10 * MIN, 115 * MIN, MIN);
    let q = "rate(c[5m])";

    let want = engine
        .range_query(
            &StoreQueryable::new(single(&labels, &full)),
            q,
            start,
            stop,
            step,
        )
        .await
        .unwrap();
    let deduped = engine
        .range_query(
            &StoreQueryable::new(proxy.clone()).with_dedup(vec!["replica".into()]),
            q,
            start,
            stop,
            step,
        )
        .await
        .unwrap();
    let (want, got) = (matrix(&want.value), matrix(&deduped.value));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].labels, want[0].labels);
    assert_eq!(got[0].points.len(), 106, "no gap");
    for (g, w) in got[0].points.iter().zip(&want[0].points) {
        assert_eq!(g.0, w.0);
        assert!(
            (g.1 - w.1).abs() < 1e-9 * w.1,
            "at {}: {} vs {}",
            g.0,
            g.1,
            w.1
        );
    }

    // The deduplicated samples come from one replica at a time (a plain union would
    // interleave the replicas 1.2s apart), and from both.
    let (series, _) = StoreQueryable::new(proxy.clone())
        .with_dedup(vec!["replica".into()])
        .select(SelectRequest {
            matchers: vec![Matcher::equal("__name__", "c")],
            start: 0,
            end,
            hints: SelectHints {
                func: Some("rate".into()),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    let (ts, _) = series[0].to_samples().unwrap();
    assert!(ts.windows(2).all(|w| w[1] - w[0] >= SCRAPE - 1200));
    assert!(ts.windows(2).any(|w| (w[1] - w[0]) % SCRAPE != 0));

    let both = engine
        .range_query(&StoreQueryable::new(proxy), q, start, stop, step)
        .await
        .unwrap();
    let m = matrix(&both.value);
    assert_eq!(m.len(), 2);
    // Windows entirely inside a replica's gap have no rate.
    assert!(m.iter().all(|s| s.points.len() < 106));
}

/// (min time, max time, aggregate chunk data) of a stored downsampled chunk.
type StoredChunk = (i64, i64, Vec<u8>);

/// Samples of a series: (timestamp ms, value).
type Points = Vec<(i64, f64)>;

/// A Store serving fixed series of (possibly downsampled) chunks and recording requests. Like
/// the store gateway it returns only the requested aggregate slots (count and sum when none
/// is requested), unless `only` fixes the slots it has.
#[derive(Debug, Default)]
struct AggrStore {
    series: Vec<(String, Vec<StoredChunk>)>,
    only: Option<Vec<AggrType>>,
    seen: Mutex<Vec<SeriesRequest>>,
}

fn slot_chunk(stored: &StoredAggr<'_>, t: AggrType) -> Option<Chunk> {
    let s = stored.get(t)?;
    Some(Chunk {
        r#type: chunk::Encoding::Xor as i32,
        data: s.data.to_vec().into(),
        hash: 0,
    })
}

#[async_trait]
impl Store for AggrStore {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        Ok(InfoResponse::default())
    }

    async fn series(
        &self,
        _ctx: &RequestContext,
        req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        self.seen.lock().expect("lock").push(req.clone());
        let name = req
            .matchers
            .iter()
            .find(|m| m.name == "__name__")
            .map(|m| m.value.clone())
            .unwrap_or_default();
        let mut wanted: Vec<AggrType> = req
            .aggregates
            .iter()
            .filter_map(|a| match Aggr::try_from(*a).ok()? {
                Aggr::Count => Some(AggrType::Count),
                Aggr::Sum => Some(AggrType::Sum),
                Aggr::Min => Some(AggrType::Min),
                Aggr::Max => Some(AggrType::Max),
                Aggr::Counter => Some(AggrType::Counter),
                Aggr::Raw => None,
            })
            .collect();
        if wanted.is_empty() {
            wanted = vec![AggrType::Count, AggrType::Sum];
        }
        if let Some(only) = &self.only {
            wanted = only.clone();
        }
        let mut frames = Vec::new();
        for (n, chunks) in &self.series {
            if *n != name {
                continue;
            }
            let mut out = Vec::new();
            for (min, max, data) in chunks {
                let stored = StoredAggr::parse(data).expect("aggregate chunk");
                let mut c = AggrChunk {
                    min_time: *min,
                    max_time: *max,
                    ..Default::default()
                };
                for t in &wanted {
                    let slot = slot_chunk(&stored, *t);
                    match t {
                        AggrType::Count => c.count = slot,
                        AggrType::Sum => c.sum = slot,
                        AggrType::Min => c.min = slot,
                        AggrType::Max => c.max = slot,
                        AggrType::Counter => c.counter = slot,
                    }
                }
                out.push(c);
            }
            frames.push(Ok(strata_storeapi::convert::series_frame(Series {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: n.clone(),
                }],
                chunks: out,
            })));
        }
        Ok(Box::pin(futures::stream::iter(frames)))
    }

    async fn label_names(
        &self,
        _ctx: &RequestContext,
        _req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        Ok(LabelNamesResponse::default())
    }

    async fn label_values(
        &self,
        _ctx: &RequestContext,
        _req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        Ok(LabelValuesResponse::default())
    }
}

const RES: i64 = 5 * MIN;

fn xor(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut app = XorAppender::new();
    for &(t, v) in samples {
        app.append(t, v);
    }
    app.into_bytes()
}

/// Thanos' raw → 5m downsampling of one batch (`pkg/compact/downsample/downsample.go`): per window
/// (stamped with its end, capped at the batch's last sample) count, sum, min and max; the counter
/// cumulative over the batch, preceded by the first raw sample and followed by the last timestamp
/// repeated with the last raw value. Returns (min time, max time, aggregate chunk data).
fn downsample(batch: &[(i64, f64)]) -> StoredChunk {
    let last_t = batch.last().expect("non-empty batch").0;
    let (mut count, mut sum, mut min, mut max) = (vec![], vec![], vec![], vec![]);
    let mut counter = vec![batch[0]];
    let (mut total, mut last_v) = (batch[0].1, batch[0].1);
    let mut i = 0;
    while i < batch.len() {
        let end = (batch[i].0 - batch[i].0.rem_euclid(RES) + RES - 1).min(last_t);
        let window: Vec<f64> = batch[i..]
            .iter()
            .take_while(|s| s.0 <= end)
            .map(|s| s.1)
            .collect();
        for &v in &window {
            total += if v < last_v { v } else { v - last_v };
            last_v = v;
        }
        i += window.len();
        count.push((end, window.len() as f64));
        sum.push((end, window.iter().sum()));
        min.push((end, window.iter().copied().fold(f64::INFINITY, f64::min)));
        max.push((
            end,
            window.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ));
        counter.push((end, total));
    }
    counter.push((last_t, last_v));
    let chunks = [count, sum, min, max, counter].map(|s| xor(&s));
    let [c0, c1, c2, c3, c4] = chunks.each_ref().map(|d| {
        Some(AggrSlot {
            encoding: Encoding::Xor,
            data: d.as_slice(),
        })
    });
    let data = encode_aggr_chunk([c0, c1, c2, c3, c4]);
    (batch[0].0, last_t, data)
}

/// Raw samples every 15s at +7s over 2h, downsampled in two 1h batches (two chunks).
fn downsampled_store(
    raw_g: &[(i64, f64)],
    raw_c: &[(i64, f64)],
    only: Option<Vec<AggrType>>,
) -> Arc<AggrStore> {
    let batches = |raw: &[(i64, f64)]| {
        let (h1, h2): (Vec<_>, Vec<_>) = raw.iter().partition(|s| s.0 < 60 * MIN);
        vec![downsample(&h1), downsample(&h2)]
    };
    Arc::new(AggrStore {
        series: vec![("g".into(), batches(raw_g)), ("c".into(), batches(raw_c))],
        only,
        seen: Mutex::new(Vec::new()),
    })
}

fn raw_data() -> (Points, Points) {
    let g = scrape(0, 120 * MIN - SCRAPE, 7 * SEC, &[], gauge);
    // +5 per scrape, with a reset inside each batch: the first batch's counter aggregate
    // ends far above the raw value the second batch starts from.
    let c = scrape(0, 120 * MIN - SCRAPE, 7 * SEC, &[], |t| {
        let i = (t - 7 * SEC) / SCRAPE;
        match i {
            0..100 => 5.0 * i as f64,
            100..300 => 3.0 + 5.0 * (i - 100) as f64,
            _ => 2.0 + 5.0 * (i - 300) as f64,
        }
    });
    (g, c)
}

async fn range(store: &Arc<AggrStore>, q: &str) -> strata_promql::Result<Vec<RangeSeries>> {
    let src = StoreQueryable::new(store.clone()).with_max_resolution(RES);
    let r = Engine::default()
        .range_query(&src, q, 70 * MIN, 120 * MIN, RES)
        .await?;
    Ok(matrix(&r.value).to_vec())
}

fn last_request(store: &AggrStore) -> SeriesRequest {
    store
        .seen
        .lock()
        .expect("lock")
        .last()
        .cloned()
        .expect("a request")
}

/// Raw samples in the left-open window `(t - w, t]`.
fn window(raw: &[(i64, f64)], t: i64, w: i64) -> Vec<f64> {
    raw.iter()
        .filter(|s| s.0 > t - w && s.0 <= t)
        .map(|s| s.1)
        .collect()
}

#[tokio::test]
async fn downsampled_sum_and_max_over_time_read_their_aggregates() {
    let (g, c) = raw_data();
    let store = downsampled_store(&g, &c, None);

    let sums = range(&store, "sum_over_time(g[1h])").await.unwrap();
    assert_eq!(last_request(&store).aggregates, vec![Aggr::Sum as i32]);
    assert_eq!(last_request(&store).max_resolution_window, RES);
    assert_eq!(sums.len(), 1);
    assert_eq!(sums[0].points.len(), 11);
    for &(t, v) in &sums[0].points {
        // Windows end at 5m boundaries and no raw sample falls on one: the 12 window sums
        // are exactly the raw samples of the hour.
        let want: f64 = window(&g, t, 60 * MIN).iter().sum();
        assert!(
            (v - want).abs() < 1e-9 * want.abs(),
            "at {t}: {v} vs {want}"
        );
    }

    let maxes = range(&store, "max_over_time(g[1h])").await.unwrap();
    assert_eq!(last_request(&store).aggregates, vec![Aggr::Max as i32]);
    for &(t, v) in &maxes[0].points {
        let want = window(&g, t, 60 * MIN)
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(v, want, "at {t}");
    }
}

#[tokio::test]
async fn downsampled_plain_selector_reads_the_window_average() {
    let (g, c) = raw_data();
    let store = downsampled_store(&g, &c, None);
    let avg = range(&store, "g").await.unwrap();
    assert_eq!(
        last_request(&store).aggregates,
        vec![Aggr::Count as i32, Aggr::Sum as i32]
    );
    assert_eq!(avg[0].points.len(), 11);
    for &(t, v) in &avg[0].points {
        // The latest point at or before t is the window just ended: its average.
        let w = window(&g, t, RES);
        let want = w.iter().sum::<f64>() / w.len() as f64;
        assert!(
            (v - want).abs() < 1e-9 * want.abs(),
            "at {t}: {v} vs {want}"
        );
    }
}

/// The counter aggregate restarts at every chunk and hides resets inside a chunk; reading it
/// with counter resets applied across chunks (the repeated last raw value tells a reset at
/// the boundary) gives the raw counter's rate: +5 per 15s.
#[tokio::test]
async fn downsampled_rate_and_increase_read_the_counter_aggregate() {
    let (g, c) = raw_data();
    let store = downsampled_store(&g, &c, None);
    let rates = range(&store, "rate(c[1h])").await.unwrap();
    let req = last_request(&store);
    assert_eq!(req.aggregates, vec![Aggr::Counter as i32]);
    // rate reads no coarser than half its range: min(5m, 30m).
    assert_eq!(req.max_resolution_window, RES);
    assert_eq!(rates[0].points.len(), 11);
    for &(t, v) in &rates[0].points {
        assert!((v - 1.0 / 3.0).abs() < 0.01 / 3.0, "rate at {t}: {v}");
    }
    let inc = range(&store, "increase(c[1h])").await.unwrap();
    for &(t, v) in &inc[0].points {
        assert!((v - 1200.0).abs() < 12.0, "increase at {t}: {v}");
    }
}

#[tokio::test]
async fn rate_asks_for_at_most_half_its_range_as_resolution() {
    let (g, c) = raw_data();
    let store = downsampled_store(&g, &c, None);
    let src = StoreQueryable::new(store.clone()).with_max_resolution(60 * MIN);
    Engine::default()
        .instant_query(&src, "rate(c[10m])", 100 * MIN)
        .await
        .unwrap();
    assert_eq!(last_request(&store).max_resolution_window, 5 * MIN);
    Engine::default()
        .instant_query(&src, "max_over_time(g[10m])", 100 * MIN)
        .await
        .unwrap();
    assert_eq!(last_request(&store).max_resolution_window, 60 * MIN);
}

#[tokio::test]
async fn missing_aggregate_is_a_clear_error() {
    let (g, c) = raw_data();
    let store = downsampled_store(&g, &c, Some(vec![AggrType::Count, AggrType::Sum]));
    let err = range(&store, "max_over_time(g[1h])").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    let msg = err.to_string();
    assert!(
        msg.contains("aggregate max missing in downsampled chunk"),
        "{msg}"
    );
    assert!(msg.contains("g"), "{msg}");
}
