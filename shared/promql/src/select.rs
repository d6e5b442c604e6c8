//! Where the engine's data comes from: the [`Queryable`] trait (matchers + time range + hints
//! in, decoded series out) and its StoreAPI implementation, [`StoreQueryable`], which streams
//! `Series` responses, decodes each XOR chunk once, and merges series split across stores.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use strata_storeapi::convert::{labels_from_pb, matcher_to_pb};
use strata_storeapi::pb::thanos::{
    self, AggrChunk, Func, Grouping, PartialResponseStrategy, QueryHints, Range, SeriesRequest,
    chunk, series_response,
};
use strata_storeapi::{RequestContext, Store};
use strata_tsdb::chunkenc::decode_xor_into;
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

/// A decoded series: labels and its samples in time order (stale markers included).
#[derive(Debug, Clone, PartialEq)]
pub struct RawSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Timestamps (ms), strictly ascending.
    pub ts: Vec<i64>,
    /// Values, same length as `ts`.
    pub vs: Vec<f64>,
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
        }
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

/// Decodes one series' chunks (each once), keeps the samples in `[req.start, req.end]`, and
/// merges overlapping chunks (the same series from several blocks or stores) by timestamp.
fn push_series(
    out: &mut Vec<RawSeries>,
    labels: &[thanos::Label],
    mut chunks: Vec<AggrChunk>,
    req: &SelectRequest,
) -> Result<()> {
    chunks.sort_by_key(|c| (c.min_time, c.max_time));
    let mut ts = Vec::new();
    let mut vs = Vec::new();
    let mut sorted = true;
    for c in &chunks {
        if c.max_time < req.start || c.min_time > req.end {
            continue;
        }
        let Some(raw) = &c.raw else {
            return Err(Error::NotSupported(
                "reading downsampled chunks without raw data".into(),
            ));
        };
        if raw.r#type != chunk::Encoding::Xor as i32 {
            return Err(Error::NotSupported("native histograms".into()));
        }
        let before = ts.len();
        decode_xor_into(&raw.data, &mut ts, &mut vs)
            .map_err(|e| Error::Storage(format!("corrupted chunk: {e}")))?;
        if before > 0 && ts.len() > before && ts[before] <= ts[before - 1] {
            sorted = false;
        }
    }
    if !sorted {
        let mut pairs: Vec<(i64, f64)> = ts.iter().copied().zip(vs.iter().copied()).collect();
        pairs.sort_by_key(|p| p.0); // stable: the earlier chunk's sample wins below
        pairs.dedup_by_key(|p| p.0);
        (ts, vs) = pairs.into_iter().unzip();
    }
    let lo = ts.partition_point(|&t| t < req.start);
    let hi = ts.partition_point(|&t| t <= req.end);
    if lo >= hi {
        return Ok(());
    }
    let (ts, vs) = if lo == 0 && hi == ts.len() {
        (ts, vs)
    } else {
        (ts[lo..hi].to_vec(), vs[lo..hi].to_vec())
    };
    let labels = labels_from_pb(labels);
    // Two stores may send the same series in separate runs when merged without dedup.
    if let Some(last) = out.last_mut()
        && last.labels == labels
    {
        let mut pairs: Vec<(i64, f64)> = last
            .ts
            .iter()
            .copied()
            .zip(last.vs.iter().copied())
            .collect();
        pairs.extend(ts.into_iter().zip(vs));
        pairs.sort_by_key(|p| p.0);
        pairs.dedup_by_key(|p| p.0);
        (last.ts, last.vs) = pairs.into_iter().unzip();
        return Ok(());
    }
    out.push(RawSeries { labels, ts, vs });
    Ok(())
}
