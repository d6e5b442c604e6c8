//! Where the engine's data comes from: the [`Queryable`] trait (matchers + time range + hints
//! in, decoded series out) and its StoreAPI implementation, [`StoreQueryable`], which streams
//! `Series` responses, decodes each XOR chunk once, and merges series split across stores —
//! with Thanos' penalty deduplication of HA replicas ([`crate::dedup`]) when asked, and
//! reading downsampled chunks through the aggregate the enclosing function needs.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use strata_storeapi::convert::{labels_from_pb, matcher_to_pb};
use strata_storeapi::pb::thanos::{
    self, Aggr, AggrChunk, Chunk, Func, Grouping, PartialResponseStrategy, QueryHints, Range,
    SeriesRequest, chunk, series_response,
};
use strata_storeapi::{RequestContext, Store};
use strata_tsdb::chunkenc::{STALE_NAN_BITS, decode_xor_into};
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;

use crate::dedup::{self, Decoded};
use crate::error::{Error, Result};

/// Hints for the store about how the data will be used (Thanos `QueryHints`): downsampled
/// data or aggregates may be chosen from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectHints {
    /// Query step (ms); 0 for instant queries.
    pub step_ms: i64,
    /// The function the selector feeds, if any (`rate`, `max_over_time`, …).
    pub func: Option<String>,
    /// The range of a range selector (ms), 0 otherwise.
    pub range_ms: i64,
    /// Grouping labels of an enclosing aggregation.
    pub grouping: Vec<String>,
    /// True for `by`, false for `without`.
    pub by: bool,
}

/// One selection: all series matching `matchers` with samples in `[start, end]` (ms, inclusive).
#[derive(Debug, Clone)]
pub struct SelectRequest {
    /// Label matchers (all must match).
    pub matchers: Vec<Matcher>,
    /// First timestamp needed (inclusive, ms).
    pub start: i64,
    /// Last timestamp needed (inclusive, ms).
    pub end: i64,
    /// Hints for the store.
    pub hints: SelectHints,
}

/// One selected series: labels and its samples in time order (stale markers included),
/// either as XOR chunks decoded only when the evaluator reaches the series (so a query holds
/// compressed data, not decoded samples) or as already-decoded columns.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSeries {
    /// The series' labels.
    pub labels: Labels,
    samples: Samples,
}

#[derive(Debug, Clone, PartialEq)]
enum Samples {
    Decoded {
        ts: Vec<i64>,
        vs: Vec<f64>,
    },
    /// XOR chunks in time order, not overlapping.
    Xor(Vec<Bytes>),
}

/// Reusable buffers for decoding one series at a time.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    ts: Vec<i64>,
    vs: Vec<f64>,
    fts: Vec<i64>,
    fvs: Vec<f64>,
}

impl RawSeries {
    /// A series from decoded samples (`ts` strictly ascending, same length as `vs`).
    pub fn new(labels: Labels, ts: Vec<i64>, vs: Vec<f64>) -> Self {
        RawSeries {
            labels,
            samples: Samples::Decoded { ts, vs },
        }
    }

    /// A series from XOR chunks that are in time order and do not overlap.
    pub fn from_xor_chunks(labels: Labels, chunks: Vec<Bytes>) -> Self {
        RawSeries {
            labels,
            samples: Samples::Xor(chunks),
        }
    }

    /// Number of samples (from the chunk headers; nothing is decoded).
    pub fn num_samples(&self) -> usize {
        match &self.samples {
            Samples::Decoded { ts, .. } => ts.len(),
            Samples::Xor(chunks) => chunks
                .iter()
                .map(|c| match c.get(..2) {
                    Some(h) => usize::from(u16::from_be_bytes([h[0], h[1]])),
                    None => 0,
                })
                .sum(),
        }
    }

    /// All samples, decoded (for callers outside the evaluator).
    pub fn to_samples(&self) -> Result<(Vec<i64>, Vec<f64>)> {
        let mut scratch = Scratch::default();
        let (ts, vs) = self.samples(&mut scratch, false)?;
        Ok((ts.to_vec(), vs.to_vec()))
    }

    /// The samples, decoded into `scratch` if needed; with `drop_stale`, without stale
    /// markers (as range windows need them).
    pub(crate) fn samples<'s>(
        &'s self,
        scratch: &'s mut Scratch,
        drop_stale: bool,
    ) -> Result<(&'s [i64], &'s [f64])> {
        let (ts, vs): (&[i64], &[f64]) = match &self.samples {
            Samples::Decoded { ts, vs } => (ts, vs),
            Samples::Xor(chunks) => {
                scratch.ts.clear();
                scratch.vs.clear();
                for c in chunks {
                    decode_xor_into(c, &mut scratch.ts, &mut scratch.vs).map_err(|e| {
                        Error::Storage(format!("corrupted chunk in series {}: {e}", self.labels))
                    })?;
                }
                (&scratch.ts, &scratch.vs)
            }
        };
        if !drop_stale || !vs.iter().any(|v| v.to_bits() == STALE_NAN_BITS) {
            return Ok((ts, vs));
        }
        scratch.fts.clear();
        scratch.fvs.clear();
        for (t, v) in ts.iter().zip(vs) {
            if v.to_bits() != STALE_NAN_BITS {
                scratch.fts.push(*t);
                scratch.fvs.push(*v);
            }
        }
        Ok((&scratch.fts, &scratch.fvs))
    }
}

/// A source of series for the engine.
#[async_trait]
pub trait Queryable: Send + Sync {
    /// Returns the matching series sorted by labels, plus warnings (partial responses).
    async fn select(&self, req: SelectRequest) -> Result<(Vec<RawSeries>, Vec<String>)>;
}

/// A [`Queryable`] over a StoreAPI [`Store`].
#[derive(Clone)]
pub struct StoreQueryable {
    store: Arc<dyn Store>,
    ctx: RequestContext,
    partial_response: bool,
    /// Replica labels to deduplicate by (empty: no deduplication).
    replica_labels: Vec<String>,
    /// Thanos `max_resolution_window` (ms): 0 reads raw data only.
    max_resolution: i64,
}

impl std::fmt::Debug for StoreQueryable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreQueryable")
            .field("partial_response", &self.partial_response)
            .finish_non_exhaustive()
    }
}

impl StoreQueryable {
    /// Reads from `store` with a default request context and partial responses disabled.
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreQueryable {
            store,
            ctx: RequestContext::default(),
            partial_response: false,
            replica_labels: Vec::new(),
            max_resolution: 0,
        }
    }

    /// Deduplicates HA replicas: series equal but for `replica_labels` are merged with
    /// Thanos' penalty algorithm (one whole replica at a time) and lose those labels. Empty: no
    /// deduplication.
    pub fn with_dedup(mut self, replica_labels: Vec<String>) -> Self {
        self.replica_labels = replica_labels;
        self
    }

    /// Allows downsampled data up to this resolution (ms; Thanos `max_source_resolution`).
    pub fn with_max_resolution(mut self, ms: i64) -> Self {
        self.max_resolution = ms;
        self
    }

    /// Sends requests with this context (tenant).
    pub fn with_context(mut self, ctx: RequestContext) -> Self {
        self.ctx = ctx;
        self
    }

    /// With `true`, stores that fail turn into warnings instead of errors (Thanos'
    /// `partial_response`).
    pub fn with_partial_response(mut self, yes: bool) -> Self {
        self.partial_response = yes;
        self
    }

    fn request(&self, req: &SelectRequest) -> SeriesRequest {
        let strategy = if self.partial_response {
            PartialResponseStrategy::Warn
        } else {
            PartialResponseStrategy::Abort
        };
        let h = &req.hints;
        SeriesRequest {
            min_time: req.start,
            max_time: req.end,
            matchers: req.matchers.iter().map(matcher_to_pb).collect(),
            partial_response_disabled: !self.partial_response,
            partial_response_strategy: strategy as i32,
            max_resolution_window: max_resolution_for(
                self.max_resolution,
                h.range_ms,
                h.func.as_deref(),
            ),
            aggregates: Pick::from_func(h.func.as_deref()).aggregates(),
            step: h.step_ms,
            range: h.range_ms,
            query_hints: Some(QueryHints {
                step_millis: h.step_ms,
                func: h.func.as_ref().map(|name| Func { name: name.clone() }),
                grouping: (!h.grouping.is_empty()).then(|| Grouping {
                    by: h.by,
                    labels: h.grouping.clone(),
                }),
                range: (h.range_ms > 0).then_some(Range { millis: h.range_ms }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

#[async_trait]
impl Queryable for StoreQueryable {
    async fn select(&self, req: SelectRequest) -> Result<(Vec<RawSeries>, Vec<String>)> {
        let mut stream = self
            .store
            .series(&self.ctx, self.request(&req))
            .await
            .map_err(|e| Error::Storage(e.to_string()))?;
        // Replicas are read as separate series (replica labels kept) and merged afterwards,
        // one whole replica at a time, so the penalty algorithm never mixes chunks of
        // different replicas by their time ranges (Thanos strips the labels in the stores and
        // splits the merged chunks by overlap instead, which can switch replicas at block
        // boundaries and drop a sample there).
        let mut out: Vec<RawSeries> = Vec::new();
        let mut warnings = Vec::new();
        // Chunks of the series being assembled (a series may span several frames).
        let mut pending: Option<(Vec<thanos::Label>, Vec<AggrChunk>)> = None;
        while let Some(frame) = stream.next().await {
            let frame = frame.map_err(|e| Error::Storage(e.to_string()))?;
            match frame.result {
                Some(series_response::Result::Series(s)) => match &mut pending {
                    Some((labels, chunks)) if *labels == s.labels => chunks.extend(s.chunks),
                    _ => {
                        if let Some((labels, chunks)) = pending.take() {
                            push_series(&mut out, &labels, chunks, &req)?;
                        }
                        pending = Some((s.labels, s.chunks));
                    }
                },
                Some(series_response::Result::Warning(w)) => warnings.push(w),
                _ => {}
            }
        }
        if let Some((labels, chunks)) = pending.take() {
            push_series(&mut out, &labels, chunks, &req)?;
        }
        if !self.replica_labels.is_empty() {
            let counter = dedup::is_counter_func(req.hints.func.as_deref());
            out = dedup_replicas(out, &self.replica_labels, counter)?;
        }
        Ok((out, warnings))
    }
}

/// Deduplicates HA replicas: series equal but for `replica_labels` are merged with Thanos'
/// penalty algorithm, replicas taken in label order; the result is sorted by the remaining
/// labels.
fn dedup_replicas(
    series: Vec<RawSeries>,
    replica_labels: &[String],
    counter: bool,
) -> Result<Vec<RawSeries>> {
    let mut groups: BTreeMap<Labels, Vec<RawSeries>> = BTreeMap::new();
    for s in series {
        let mut key = s.labels.clone();
        for l in replica_labels {
            key.remove(l);
        }
        groups.entry(key).or_default().push(s);
    }
    let mut out = Vec::with_capacity(groups.len());
    for (key, mut members) in groups {
        if members.len() == 1
            && let Some(only) = members.pop()
        {
            out.push(RawSeries {
                labels: key,
                samples: only.samples,
            });
            continue;
        }
        let replicas = members
            .iter()
            .map(RawSeries::to_samples)
            .collect::<Result<Vec<Decoded>>>()?;
        let (ts, vs) = dedup::penalty_merge(replicas, counter);
        out.push(RawSeries::new(key, ts, vs));
    }
    Ok(out)
}

/// Functions the querier never reads coarser data for than half their range, so each window
/// holds at least two samples (Thanos `promqlFuncRequiresTwoSamples`).
const TWO_SAMPLE_FUNCS: [&str; 9] = [
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "holt_winters",
    "double_exponential_smoothing",
];

/// The `max_resolution_window` to ask for (Thanos `maxResolutionFromSelectHints`).
fn max_resolution_for(max: i64, range_ms: i64, func: Option<&str>) -> i64 {
    match func {
        Some(f) if range_ms > 0 && TWO_SAMPLE_FUNCS.contains(&f) => max.min(range_ms / 2),
        _ => max,
    }
}

/// Which samples of a downsampled chunk a selection reads, from the function it feeds
/// (Thanos `aggrsFromFunc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    Count,
    Sum,
    Min,
    Max,
    /// The counter aggregate, with counter resets applied across chunks.
    Counter,
    /// sum / count: what any other function (or a plain selector) reads.
    Average,
}

impl Pick {
    fn from_func(func: Option<&str>) -> Self {
        let f = func.unwrap_or("");
        if f == "min" || f.starts_with("min_") {
            Pick::Min
        } else if f == "max" || f.starts_with("max_") {
            Pick::Max
        } else if f == "count" || f.starts_with("count_") {
            Pick::Count
        } else if f.starts_with("sum_") {
            // `sum` itself reads the samples (averages), not their window sums.
            Pick::Sum
        } else if matches!(
            f,
            "increase" | "rate" | "irate" | "resets" | "xincrease" | "xrate"
        ) {
            Pick::Counter
        } else {
            Pick::Average
        }
    }

    /// The `aggregates` of the Series request.
    fn aggregates(self) -> Vec<i32> {
        let a = match self {
            Pick::Count => Aggr::Count,
            Pick::Sum => Aggr::Sum,
            Pick::Min => Aggr::Min,
            Pick::Max => Aggr::Max,
            Pick::Counter => Aggr::Counter,
            Pick::Average => return vec![Aggr::Count as i32, Aggr::Sum as i32],
        };
        vec![a as i32]
    }

    fn name(self) -> &'static str {
        match self {
            Pick::Count => "count",
            Pick::Sum => "sum",
            Pick::Min => "min",
            Pick::Max => "max",
            Pick::Counter => "counter",
            Pick::Average => "sum and count",
        }
    }
}

/// The bytes of an XOR chunk (native histograms are not supported by the engine).
fn xor_data(c: &Chunk) -> Result<&Bytes> {
    if c.r#type != chunk::Encoding::Xor as i32 {
        return Err(Error::NotSupported(
            "PromQL on native histogram chunks".into(),
        ));
    }
    Ok(&c.data)
}

fn decode(c: &Chunk, labels: &Labels) -> Result<Decoded> {
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    decode_xor_into(xor_data(c)?, &mut ts, &mut vs)
        .map_err(|e| Error::Storage(format!("corrupted chunk in series {labels}: {e}")))?;
    Ok((ts, vs))
}

/// The samples one chunk contributes, and whether they are a downsampled counter (Thanos
/// `chunkSeries.Iterator`: a single aggregate is read from its slot, falling back to `raw`;
/// an average prefers `raw`, else divides sum by count).
fn chunk_samples(c: &AggrChunk, pick: Pick, labels: &Labels) -> Result<(Decoded, bool)> {
    let missing = || {
        Error::Storage(format!(
            "aggregate {} missing in downsampled chunk [{}, {}] of series {labels}",
            pick.name(),
            c.min_time,
            c.max_time
        ))
    };
    let slot = match pick {
        Pick::Count => &c.count,
        Pick::Sum => &c.sum,
        Pick::Min => &c.min,
        Pick::Max => &c.max,
        Pick::Counter => &c.counter,
        Pick::Average => {
            if let Some(raw) = &c.raw {
                return Ok((decode(raw, labels)?, false));
            }
            let (Some(count), Some(sum)) = (&c.count, &c.sum) else {
                return Err(missing());
            };
            let (cts, cvs) = decode(count, labels)?;
            let (sts, svs) = decode(sum, labels)?;
            if cts != sts {
                return Err(Error::Storage(format!(
                    "sum and count of downsampled chunk [{}, {}] of series {labels} are not aligned",
                    c.min_time, c.max_time
                )));
            }
            let avg = svs.iter().zip(&cvs).map(|(s, n)| s / n).collect();
            return Ok(((cts, avg), false));
        }
    };
    match (slot, &c.raw) {
        (Some(a), _) => Ok((decode(a, labels)?, pick == Pick::Counter)),
        (None, Some(raw)) => Ok((decode(raw, labels)?, false)),
        (None, None) => Err(missing()),
    }
}

/// Decodes a min-time-sorted chunk list into one series (Thanos `chunkSeriesIterator`, or
/// `ApplyCounterResetsSeriesIterator` when downsampled counters are read), keeping the
/// samples in `[mint, maxt]`. Decoded not after the previous one are skipped.
fn decode_list(
    chunks: &[AggrChunk],
    pick: Pick,
    mint: i64,
    maxt: i64,
    labels: &Labels,
) -> Result<Decoded> {
    let mut parts = Vec::with_capacity(chunks.len());
    let mut counter = false;
    for c in chunks {
        let (samples, is_counter) = chunk_samples(c, pick, labels)?;
        counter |= is_counter;
        parts.push(samples);
    }
    let (ts, vs) = if counter {
        dedup::apply_counter_resets(&parts)
    } else {
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        for (pts, pvs) in parts {
            for (t, v) in pts.into_iter().zip(pvs) {
                if ts.last().is_none_or(|&last| t > last) {
                    ts.push(t);
                    vs.push(v);
                }
            }
        }
        (ts, vs)
    };
    Ok(ts
        .into_iter()
        .zip(vs)
        .filter(|&(t, _)| t >= mint && t <= maxt)
        .unzip())
}

/// Adds one series. Raw chunks that are in order and do not overlap (the usual case) are kept
/// compressed. Otherwise (the same series from several blocks or stores) the samples are
/// decoded and merged by timestamp, the first sample winning.
/// Downsampled chunks are read through the aggregate the selection's function needs.
fn push_series(
    out: &mut Vec<RawSeries>,
    labels: &[thanos::Label],
    mut chunks: Vec<AggrChunk>,
    req: &SelectRequest,
) -> Result<()> {
    chunks.retain(|c| c.max_time >= req.start && c.min_time <= req.end);
    if chunks.is_empty() {
        return Ok(());
    }
    chunks.sort_by_key(|c| (c.min_time, c.max_time));
    let labels = labels_from_pb(labels);
    let func = req.hints.func.as_deref();
    let pick = Pick::from_func(func);
    let all_raw = chunks.iter().all(|c| c.raw.is_some());
    let disjoint = chunks.windows(2).all(|w| w[1].min_time > w[0].max_time);
    let same_as_last = out.last().is_some_and(|l| l.labels == labels);
    if all_raw && disjoint && !same_as_last {
        let data = chunks
            .iter()
            .filter_map(|c| c.raw.as_ref())
            .map(|raw| xor_data(raw).cloned())
            .collect::<Result<Vec<_>>>()?;
        out.push(RawSeries::from_xor_chunks(labels, data));
        return Ok(());
    }
    // A previous run of the same series (two stores can send one when merged without
    // deduplication) is merged in too.
    let previous = match same_as_last {
        true => out.pop().map(|p| p.to_samples()).transpose()?,
        false => None,
    };
    let (ts, vs) = if all_raw {
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        for c in chunks.iter().filter_map(|c| c.raw.as_ref()) {
            decode_xor_into(xor_data(c)?, &mut ts, &mut vs)
                .map_err(|e| Error::Storage(format!("corrupted chunk in series {labels}: {e}")))?;
        }
        (ts, vs)
    } else {
        decode_list(&chunks, pick, req.start, req.end, &labels)?
    };
    let mut pairs: Vec<(i64, f64)> = match previous {
        Some((pts, pvs)) => pts.into_iter().zip(pvs).collect(),
        None => Vec::new(),
    };
    pairs.extend(ts.into_iter().zip(vs));
    pairs.sort_by_key(|p| p.0); // stable: the earlier sample for a timestamp wins
    pairs.dedup_by_key(|p| p.0);
    let (ts, vs) = pairs.into_iter().unzip();
    out.push(RawSeries::new(labels, ts, vs));
    Ok(())
}
