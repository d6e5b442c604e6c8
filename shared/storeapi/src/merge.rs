//! The proxy's merge of per-store series streams (Thanos' `pkg/store/proxy.go`): a k-way merge by
//! labels (`labels.Compare`) over a binary heap, equal-label series from any inputs folded into
//! one series with identical chunks dropped (same min/max time and per-aggregate hash, the
//! xxhash64 of the data when `hash` is 0), and the partial-response strategy applied to input
//! failures (WARN: a `warning` frame naming the store, the others go on; ABORT: the call fails).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashSet, VecDeque};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::convert::{chunk_hash, compare_labels, series_frame, warning_frame};
use crate::error::StoreError;
use crate::pb::thanos::{AggrChunk, Chunk, Series, SeriesResponse, series_response};
use crate::store::SeriesStream;

/// One input of the merge: a store's frames (series sorted by labels, warnings) as produced by
/// its fan-out task; an `Err` item ends the input.
pub(crate) struct MergeInput {
    pub(crate) name: String,
    pub(crate) rx: mpsc::Receiver<Result<SeriesResponse, StoreError>>,
}

/// Aborts tasks when dropped: keep it in the state of a stream fed by spawned tasks, so that
/// dropping the stream (client gone, limit reached) stops the work behind it.
#[derive(Debug, Default)]
pub struct AbortOnDrop(pub Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// The head series of one input, ordered by labels then input index (stable across inputs).
struct HeapEntry {
    series: Series,
    idx: usize,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_labels(&self.series.labels, &other.series.labels).then(self.idx.cmp(&other.idx))
    }
}

struct Merge {
    inputs: Vec<MergeInput>,
    heap: BinaryHeap<Reverse<HeapEntry>>,
    out: VecDeque<SeriesResponse>,
    abort: bool,
    limit: usize,
    emitted: usize,
    last: Option<Vec<crate::pb::thanos::Label>>,
    started: bool,
    done: bool,
    _tasks: AbortOnDrop,
}

/// `StoreError` with the store's name prefixed to its message.
pub(crate) fn annotate(e: StoreError, store: &str) -> StoreError {
    let f = |m: String| format!("store {store}: {m}");
    match e {
        StoreError::InvalidArgument(m) => StoreError::InvalidArgument(f(m)),
        StoreError::ResourceExhausted(m) => StoreError::ResourceExhausted(f(m)),
        StoreError::Unavailable(m) => StoreError::Unavailable(f(m)),
        StoreError::DeadlineExceeded(m) => StoreError::DeadlineExceeded(f(m)),
        StoreError::Cancelled => StoreError::Cancelled,
        StoreError::Unimplemented(m) => StoreError::Unimplemented(f(m)),
        StoreError::Internal(m) => StoreError::Internal(f(m)),
    }
}

impl Merge {
    /// Pull from input `idx` until it yields a series (pushed on the heap) or ends.
    async fn fill(&mut self, idx: usize) -> Result<(), StoreError> {
        loop {
            let Some(input) = self.inputs.get_mut(idx) else {
                return Ok(());
            };
            let Some(item) = input.rx.recv().await else {
                return Ok(());
            };
            match item {
                Ok(SeriesResponse {
                    result: Some(series_response::Result::Series(series)),
                }) => {
                    self.heap.push(Reverse(HeapEntry { series, idx }));
                    return Ok(());
                }
                Ok(SeriesResponse {
                    result: Some(series_response::Result::Warning(w)),
                }) => {
                    if self.abort {
                        return Err(StoreError::Internal(format!(
                            "store {} returned a warning under ABORT: {w}",
                            input.name
                        )));
                    }
                    self.out.push_back(warning_frame(w));
                }
                Ok(SeriesResponse {
                    result: Some(series_response::Result::Batch(b)),
                }) => {
                    // Inputs are unbatched before the merge; a multi-series batch here is a
                    // bug, and failing beats silently dropping the series after the first.
                    if b.series.len() > 1 {
                        return Err(StoreError::Internal(format!(
                            "store {}: batch frame of {} series reached the merge",
                            input.name,
                            b.series.len()
                        )));
                    }
                    if let Some(first) = b.series.into_iter().next() {
                        self.heap.push(Reverse(HeapEntry { series: first, idx }));
                        return Ok(());
                    }
                }
                Ok(_) => {} // hints and empty frames carry nothing to merge
                Err(e) => {
                    let name = input.name.clone();
                    // This input is finished either way.
                    input.rx.close();
                    if self.abort {
                        tracing::debug!(store = %name, error = %e, "store failed; aborting Series");
                        return Err(annotate(e, &name));
                    }
                    tracing::warn!(store = %name, error = %e, "store failed; partial response");
                    self.out
                        .push_back(warning_frame(format!("store {name}: {e}")));
                    return Ok(());
                }
            }
        }
    }

    async fn next_frame(&mut self) -> Option<Result<SeriesResponse, StoreError>> {
        loop {
            if let Some(f) = self.out.pop_front() {
                return Some(Ok(f));
            }
            if self.done {
                return None;
            }
            if !self.started {
                self.started = true;
                for i in 0..self.inputs.len() {
                    if let Err(e) = self.fill(i).await {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            if self.emitted >= self.limit {
                self.done = true;
                continue;
            }
            let Some(Reverse(first)) = self.heap.pop() else {
                self.done = true;
                continue;
            };
            let mut group = vec![first.series];
            let mut refill = vec![first.idx];
            loop {
                for i in refill.drain(..) {
                    if let Err(e) = self.fill(i).await {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                let same = self.heap.peek().is_some_and(|Reverse(h)| {
                    compare_labels(&h.series.labels, &group[0].labels) == Ordering::Equal
                });
                if !same {
                    break;
                }
                if let Some(Reverse(h)) = self.heap.pop() {
                    group.push(h.series);
                    refill.push(h.idx);
                }
            }
            let merged = merge_series(group);
            if let Some(last) = &self.last
                && compare_labels(last, &merged.labels) != Ordering::Less
            {
                tracing::warn!(labels = ?merged.labels, "a store sent series out of order; merged output is unsorted");
            }
            self.last = Some(merged.labels.clone());
            self.emitted += 1;
            self.out.push_back(series_frame(merged));
        }
    }
}

/// Merge the inputs into one label-sorted stream. `limit` 0 means no limit; `abort` selects the
/// ABORT partial-response strategy. The tasks are aborted when the stream is dropped.
pub(crate) fn merge_inputs(
    inputs: Vec<MergeInput>,
    tasks: Vec<JoinHandle<()>>,
    limit: i64,
    abort: bool,
) -> SeriesStream {
    let merge = Merge {
        heap: BinaryHeap::with_capacity(inputs.len()),
        inputs,
        out: VecDeque::new(),
        abort,
        limit: if limit > 0 {
            usize::try_from(limit).unwrap_or(usize::MAX)
        } else {
            usize::MAX
        },
        emitted: 0,
        last: None,
        started: false,
        done: false,
        _tasks: AbortOnDrop(tasks),
    };
    Box::pin(futures::stream::unfold(merge, |mut m| async move {
        m.next_frame().await.map(|f| (f, m))
    }))
}

/// Identity of a chunk for dropping duplicates: time range plus the hash of every aggregate.
type ChunkKey = (i64, i64, [Option<u64>; 6]);

fn field_hash(c: &Option<Chunk>) -> Option<u64> {
    c.as_ref().map(|c| {
        if c.hash != 0 {
            c.hash
        } else {
            chunk_hash(&c.data)
        }
    })
}

fn chunk_key(c: &AggrChunk) -> ChunkKey {
    (
        c.min_time,
        c.max_time,
        [
            field_hash(&c.raw),
            field_hash(&c.count),
            field_hash(&c.sum),
            field_hash(&c.min),
            field_hash(&c.max),
            field_hash(&c.counter),
        ],
    )
}

/// Fold series with equal labels into one: all chunks, identical ones once, sorted by
/// (min_time, max_time).
pub fn merge_series(mut group: Vec<Series>) -> Series {
    if group.len() <= 1 {
        return group.pop().unwrap_or_default();
    }
    let labels = std::mem::take(&mut group[0].labels);
    let total = group.iter().map(|s| s.chunks.len()).sum();
    let mut seen: HashSet<ChunkKey> = HashSet::with_capacity(total);
    let mut chunks = Vec::with_capacity(total);
    for s in group {
        for c in s.chunks {
            if seen.insert(chunk_key(&c)) {
                chunks.push(c);
            }
        }
    }
    chunks.sort_by_key(|c| (c.min_time, c.max_time));
    Series { labels, chunks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn chunk(min: i64, max: i64, data: &'static [u8], hash: u64) -> AggrChunk {
        AggrChunk {
            min_time: min,
            max_time: max,
            raw: Some(Chunk {
                r#type: 0,
                data: Bytes::from_static(data),
                hash,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn merge_drops_identical_chunks_only() {
        let a = Series {
            labels: vec![],
            chunks: vec![chunk(10, 20, b"x", 0), chunk(0, 9, b"y", 0)],
        };
        let b = Series {
            labels: vec![],
            // same as a's first, with its hash filled in: still identical
            chunks: vec![
                chunk(10, 20, b"x", chunk_hash(b"x")),
                chunk(10, 20, b"z", 0),
                chunk(0, 8, b"y", 0),
            ],
        };
        let m = merge_series(vec![a, b]);
        let got: Vec<_> = m.chunks.iter().map(|c| (c.min_time, c.max_time)).collect();
        assert_eq!(got, vec![(0, 8), (0, 9), (10, 20), (10, 20)]);
    }
}
