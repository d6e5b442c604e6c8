//! Where the engine's data comes from: the [`Queryable`] trait (matchers + time range + hints
//! in, decoded series out) and its StoreAPI implementation, [`StoreQueryable`], which streams
//! `Series` responses, decodes each XOR chunk once, and merges series split across stores.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use strata_storeapi::convert::{labels_from_pb, matcher_to_pb};
use strata_storeapi::pb::thanos::{
    self, AggrChunk, Func, Grouping, PartialResponseStrategy, QueryHints, Range, SeriesRequest,
    chunk, series_response,
};
use strata_storeapi::{RequestContext, Store};
use strata_tsdb::chunkenc::{STALE_NAN_BITS, decode_xor_into};
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;

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

    /// Deduplicates HA replicas: the stores drop `replica_labels` (Thanos
    /// `without_replica_labels`) and the replicas' samples are merged with Thanos' penalty
    /// algorithm. Empty: no deduplication.
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
            without_replica_labels: self.replica_labels.clone(),
            max_resolution_window: self.max_resolution,
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
        Ok((out, warnings))
    }
}

/// Adds one series: its chunks are kept compressed when they are in order and do not
/// overlap (the usual case); otherwise (the same series from several blocks or stores) they
/// are decoded and merged by timestamp, the first sample winning.
fn push_series(
    out: &mut Vec<RawSeries>,
    labels: &[thanos::Label],
    mut chunks: Vec<AggrChunk>,
    req: &SelectRequest,
) -> Result<()> {
    chunks.retain(|c| c.max_time >= req.start && c.min_time <= req.end);
    chunks.sort_by_key(|c| (c.min_time, c.max_time));
    let mut data = Vec::with_capacity(chunks.len());
    for c in &chunks {
        let Some(raw) = &c.raw else {
            return Err(Error::NotSupported(
                "reading downsampled chunks without raw data".into(),
            ));
        };
        if raw.r#type != chunk::Encoding::Xor as i32 {
            return Err(Error::NotSupported(
                "PromQL on native histogram chunks".into(),
            ));
        }
        data.push(raw.data.clone());
    }
    if data.is_empty() {
        return Ok(());
    }
    let labels = labels_from_pb(labels);
    let disjoint = chunks.windows(2).all(|w| w[1].min_time > w[0].max_time);
    let same_as_last = out.last().is_some_and(|l| l.labels == labels);
    if disjoint && !same_as_last {
        out.push(RawSeries::from_xor_chunks(labels, data));
        return Ok(());
    }
    // Overlapping data: decode everything (including a previous run of the same series,
    // which two stores can send when merged without deduplication) and merge.
    let mut pairs: Vec<(i64, f64)> = Vec::new();
    if same_as_last && let Some(last) = out.pop() {
        let (ts, vs) = last.to_samples()?;
        pairs.extend(ts.into_iter().zip(vs));
    }
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for d in &data {
        decode_xor_into(d, &mut ts, &mut vs)
            .map_err(|e| Error::Storage(format!("corrupted chunk in series {labels}: {e}")))?;
    }
    pairs.extend(ts.into_iter().zip(vs));
    pairs.sort_by_key(|p| p.0); // stable: the earlier sample for a timestamp wins
    pairs.dedup_by_key(|p| p.0);
    let (ts, vs) = pairs.into_iter().unzip();
    out.push(RawSeries::new(labels, ts, vs));
    Ok(())
}
