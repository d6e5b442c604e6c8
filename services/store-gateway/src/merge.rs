//! K-way merge of the per-block series streams (each sorted by labels) into one sorted stream;
//! series with equal label sets (same series in several blocks) are merged: chunks concatenated,
//! sorted by time, identical chunks dropped.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use strata_storeapi::pb::thanos::{AggrChunk, Chunk};
use tokio::sync::mpsc;

use crate::error::GatewayError;
use crate::series::SeriesOut;

type Batch = Result<Vec<SeriesOut>, GatewayError>;

struct Source {
    rx: mpsc::Receiver<Batch>,
    buf: VecDeque<SeriesOut>,
}

/// A heap entry: the head series of one source. Ordered so the heap pops the smallest labels.
struct HeapEntry {
    series: SeriesOut,
    src: usize,
}

impl PartialEq for HeapEntry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        o.series
            .labels
            .cmp(&self.series.labels)
            .then_with(|| o.src.cmp(&self.src))
    }
}

/// Merges sorted batches from many block producers.
pub(crate) struct Merger {
    sources: Vec<Source>,
    heap: BinaryHeap<HeapEntry>,
    started: bool,
    done: bool,
}

impl std::fmt::Debug for Merger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merger")
            .field("sources", &self.sources.len())
            .field("heads", &self.heap.len())
            .finish()
    }
}

fn chunk_key(c: &Option<Chunk>) -> u64 {
    c.as_ref().map_or(0, |c| c.hash)
}

fn aggr_key(c: &AggrChunk) -> (i64, i64, [u64; 6]) {
    (
        c.min_time,
        c.max_time,
        [
            chunk_key(&c.raw),
            chunk_key(&c.count),
            chunk_key(&c.sum),
            chunk_key(&c.min),
            chunk_key(&c.max),
            chunk_key(&c.counter),
        ],
    )
}

/// Sort chunks by time and drop identical ones.
pub(crate) fn normalize_chunks(chunks: &mut Vec<AggrChunk>) {
    chunks.sort_by_key(aggr_key);
    chunks.dedup();
}

impl Merger {
    pub(crate) fn new(receivers: Vec<mpsc::Receiver<Batch>>) -> Self {
        Self {
            sources: receivers
                .into_iter()
                .map(|rx| Source {
                    rx,
                    buf: VecDeque::new(),
                })
                .collect(),
            heap: BinaryHeap::new(),
            started: false,
            done: false,
        }
    }

    /// The next series of source `i`, waiting for its next batch when needed.
    async fn pull(&mut self, i: usize) -> Result<Option<SeriesOut>, GatewayError> {
        let Some(src) = self.sources.get_mut(i) else {
            return Ok(None);
        };
        loop {
            if let Some(s) = src.buf.pop_front() {
                return Ok(Some(s));
            }
            match src.rx.recv().await {
                Some(Ok(batch)) => src.buf.extend(batch),
                Some(Err(e)) => return Err(e),
                None => return Ok(None),
            }
        }
    }

    async fn refill(&mut self, i: usize) -> Result<(), GatewayError> {
        if let Some(series) = self.pull(i).await? {
            self.heap.push(HeapEntry { series, src: i });
        }
        Ok(())
    }

    /// The next merged series; `None` at the end (and after an error was returned).
    pub(crate) async fn next(&mut self) -> Option<Result<SeriesOut, GatewayError>> {
        if self.done {
            return None;
        }
        let r = self.next_inner().await;
        match r {
            Ok(Some(s)) => Some(Ok(s)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    async fn next_inner(&mut self) -> Result<Option<SeriesOut>, GatewayError> {
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                self.refill(i).await?;
            }
        }
        let Some(first) = self.heap.pop() else {
            return Ok(None);
        };
        self.refill(first.src).await?;
        let mut out = first.series;
        let mut merged = false;
        while self
            .heap
            .peek()
            .is_some_and(|h| h.series.labels == out.labels)
        {
            let Some(h) = self.heap.pop() else { break };
            self.refill(h.src).await?;
            out.chunks.extend(h.series.chunks);
            merged = true;
        }
        if merged {
            normalize_chunks(&mut out.chunks);
        }
        Ok(Some(out))
    }
}
