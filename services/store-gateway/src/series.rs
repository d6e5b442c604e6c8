//! Series of one block for one request: series entries resolved in batches (default 256 refs),
//! chunks overlapping the request fetched per batch with coalesced GETs, and each batch sent to
//! the merge as soon as it is complete, so memory is bounded by the batches in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use strata_storeapi::pb::thanos::AggrChunk;
use strata_tsdb::aggr::AggrType;
use strata_tsdb::index::ChunkMeta;
use strata_tsdb::{Label, Labels};
use tokio::sync::mpsc;

use crate::bucket_block::BucketBlock;
use crate::downsample::to_aggr_chunk;
use crate::error::GatewayError;
use crate::metrics::{Metrics, add, inc};

/// One series ready for the merge: final labels (external labels applied) and its chunks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesOut {
    pub(crate) labels: Labels,
    pub(crate) chunks: Vec<AggrChunk>,
}

/// What one Series request asks of every block.
#[derive(Debug, Clone)]
pub(crate) struct BlockRequest {
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
    pub(crate) skip_chunks: bool,
    pub(crate) aggrs: Vec<AggrType>,
    pub(crate) batch_size: usize,
    /// `without_replica_labels`: label names dropped from every series (and external labels).
    pub(crate) without: Vec<String>,
}

impl BlockRequest {
    /// `labels` without the request's replica labels.
    fn strip(&self, labels: Labels) -> Labels {
        if self.without.is_empty() || !labels.iter().any(|l| self.without.contains(&l.name)) {
            return labels;
        }
        let mut v = labels.into_vec();
        v.retain(|l| !self.without.contains(&l.name));
        Labels::from_sorted(v)
    }
}

/// The samples limit of one request, shared by its blocks (samples counted as chunks × 120).
#[derive(Debug)]
pub(crate) struct Limiter {
    samples_limit: u64,
    samples: AtomicU64,
    metrics: Arc<Metrics>,
}

/// Samples assumed per chunk when applying the samples limit (as Thanos).
pub(crate) const SAMPLES_PER_CHUNK: u64 = 120;

impl Limiter {
    pub(crate) fn new(samples_limit: u64, metrics: Arc<Metrics>) -> Self {
        Self {
            samples_limit,
            samples: AtomicU64::new(0),
            metrics,
        }
    }

    /// Account `chunks` more chunks; an error once the samples limit is exceeded.
    fn reserve_chunks(&self, chunks: u64) -> Result<(), GatewayError> {
        if self.samples_limit == 0 {
            return Ok(());
        }
        let n = chunks.saturating_mul(SAMPLES_PER_CHUNK);
        let total = self
            .samples
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        if total > self.samples_limit {
            inc(&self.metrics.limit_rejections);
            return Err(GatewayError::Limit(format!(
                "exceeded samples limit: the query would fetch at least {total} samples \
                 (chunks x {SAMPLES_PER_CHUNK}), limit is {} (--store.limits.request-samples)",
                self.samples_limit
            )));
        }
        Ok(())
    }
}

/// `labels` with the block's external labels added; external labels win on the same name.
pub(crate) fn with_external(labels: Labels, ext: &Labels) -> Labels {
    if ext.is_empty() {
        return labels;
    }
    let mut v: Vec<Label> = labels.into_vec();
    v.extend(ext.iter().cloned());
    Labels::from_vec(v)
}

/// Resolve one batch of refs (sorted) into series overlapping the request, in index order
/// (final label order may differ when the block has external labels).
pub(crate) async fn resolve_batch(
    block: &BucketBlock,
    refs: &[u32],
    req: &BlockRequest,
    limiter: Option<&Limiter>,
    metrics: &Metrics,
) -> Result<Vec<SeriesOut>, GatewayError> {
    let (out, _) = resolve_batch_indexed(block, refs, req, limiter, metrics).await?;
    Ok(out)
}

/// [`resolve_batch`] in index order, also returning each series' index labels (without
/// external labels) when the block has external labels (empty otherwise).
async fn resolve_batch_indexed(
    block: &BucketBlock,
    refs: &[u32],
    req: &BlockRequest,
    limiter: Option<&Limiter>,
    metrics: &Metrics,
) -> Result<(Vec<SeriesOut>, Vec<Labels>), GatewayError> {
    let entries = block.series_entries(refs).await?;
    let mut bounds: Vec<u64> = Vec::new();
    let mut selected: Vec<(Labels, Vec<ChunkMeta>)> = Vec::with_capacity(entries.len());
    let mut index_labels: Vec<Labels> = Vec::new();
    // Replica labels dropped from the external labels are simply never added, which keeps the
    // index order intact (the `Reorder` below restores it when other external labels remain).
    let ext = req.strip(block.ext_labels().clone());
    let keep_index = !ext.is_empty();
    for e in entries {
        bounds.extend(e.chunks.iter().map(|c| c.chunk_ref));
        let chunks: Vec<ChunkMeta> = e
            .chunks
            .into_iter()
            .filter(|c| c.max_time >= req.mint && c.min_time <= req.maxt)
            .collect();
        if chunks.is_empty() {
            continue;
        }
        let labels = req.strip(e.labels);
        if keep_index {
            index_labels.push(labels.clone());
        }
        selected.push((with_external(labels, &ext), chunks));
    }
    let nchunks: u64 = selected.iter().map(|(_, c)| c.len() as u64).sum();
    add(&metrics.chunks_touched, nchunks);
    // Labels-only requests (skip_chunks) fetch no chunk, so they do not count against the
    // samples limit (as in Thanos).
    if let Some(l) = limiter
        && !req.skip_chunks
    {
        l.reserve_chunks(nchunks)?;
    }
    if req.skip_chunks {
        let out: Vec<SeriesOut> = selected
            .into_iter()
            .map(|(labels, _)| SeriesOut {
                labels,
                chunks: Vec::new(),
            })
            .collect();
        return Ok((out, index_labels));
    }
    bounds.sort_unstable();
    bounds.dedup();
    let mut want: Vec<u64> = selected
        .iter()
        .flat_map(|(_, cs)| cs.iter().map(|c| c.chunk_ref))
        .collect();
    want.sort_unstable();
    want.dedup();
    let fetched = block.chunks(&want, &bounds).await?;
    let mut out = Vec::with_capacity(selected.len());
    for (labels, metas) in selected {
        let mut chunks = Vec::with_capacity(metas.len());
        for m in &metas {
            let i = want
                .binary_search(&m.chunk_ref)
                .map_err(|_| GatewayError::bad_block(block.id(), "chunk missing from batch"))?;
            let (enc, data) = fetched[i].clone();
            let c = to_aggr_chunk(m, enc, data, &req.aggrs)
                .map_err(|e| GatewayError::bad_block(block.id(), e))?;
            chunks.push(c);
        }
        out.push(SeriesOut { labels, chunks });
    }
    Ok((out, index_labels))
}

fn is_strict_prefix(a: &Labels, b: &Labels) -> bool {
    a.len() < b.len() && a.as_slice() == &b.as_slice()[..a.len()]
}

/// Restores label order after external labels are added. Adding the same labels to every series
/// of a block keeps the index order except between a series and the series that extend it (it
/// is a strict prefix of them); those follow it contiguously in index order. So a series is held
/// back only while the next series in index order extends it, and emitted in final order.
#[derive(Debug, Default)]
struct Reorder {
    held: std::collections::VecDeque<(Labels, SeriesOut)>,
}

impl Reorder {
    fn push(&mut self, index_labels: Labels, s: SeriesOut, out: &mut Vec<SeriesOut>) {
        while let Some((front, _)) = self.held.front() {
            if is_strict_prefix(front, &index_labels) {
                break;
            }
            if let Some((_, s)) = self.held.pop_front() {
                out.push(s);
            }
        }
        let pos = self.held.partition_point(|(_, x)| x.labels <= s.labels);
        self.held.insert(pos, (index_labels, s));
    }

    fn finish(&mut self, out: &mut Vec<SeriesOut>) {
        out.extend(self.held.drain(..).map(|(_, s)| s));
    }
}

/// Resolve all `refs` of `block` batch by batch, sending each batch down `tx` in final label
/// order. Stops early when the receiver is gone. When an external label overrides an index
/// label of the block, any order is possible, so its series are collected and sorted before
/// sending (rare; memory not bounded then).
pub(crate) async fn produce(
    block: Arc<BucketBlock>,
    refs: Vec<u32>,
    req: Arc<BlockRequest>,
    limiter: Arc<Limiter>,
    metrics: Arc<Metrics>,
    tx: mpsc::Sender<Result<Vec<SeriesOut>, GatewayError>>,
) {
    let batch = req.batch_size.max(1);
    // Stripping a label the index itself holds can reorder series (a series with the label
    // may sort before one without it): collect and sort those blocks, as for collisions.
    let collides = block.ext_collides()
        || req
            .without
            .iter()
            .any(|name| !block.header().table.label_values(name).is_empty());
    let mut all: Vec<SeriesOut> = Vec::new();
    let mut reorder = Reorder::default();
    for part in refs.chunks(batch) {
        if tx.is_closed() {
            return;
        }
        match resolve_batch_indexed(&block, part, &req, Some(&limiter), &metrics).await {
            Ok((b, _)) if collides => all.extend(b),
            Ok((b, index_labels)) => {
                let b = if index_labels.len() == b.len() && !b.is_empty() {
                    let mut out = Vec::with_capacity(b.len());
                    for (il, s) in index_labels.into_iter().zip(b) {
                        reorder.push(il, s, &mut out);
                    }
                    out
                } else {
                    b
                };
                if !b.is_empty() && tx.send(Ok(b)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(block = %block.id(), error = %e, "series of block failed");
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    }
    let mut rest = Vec::new();
    reorder.finish(&mut rest);
    all.extend(rest);
    if collides {
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
    let mut it = all.into_iter().peekable();
    while it.peek().is_some() {
        let b: Vec<SeriesOut> = it.by_ref().take(batch).collect();
        if tx.send(Ok(b)).await.is_err() {
            return;
        }
    }
}
