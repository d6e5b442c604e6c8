//! Chunk reads of a [`BucketBlock`]: chunk refs sorted by (segment, offset), one speculative
//! range per chunk bounded by the next known chunk, coalesced GETs per segment, CRC-checked
//! parsing, a second round for chunks longer than their range; chunk cache first.

use super::Fetch;
use std::ops::Range;

use bytes::Bytes;
use strata_tsdb::Result as TsdbResult;
use strata_tsdb::chunkenc::Encoding;
use strata_tsdb::chunks::{ParsedChunk, SEGMENT_HEADER_SIZE, parse_chunk, split_ref};

use super::{BucketBlock, FetchedChunk};
use crate::cache_keys;
use crate::error::GatewayError;
use crate::metrics::add;
use strata_objstore::ObjectRange;
use strata_tsdb::range::RangeSource;

impl BucketBlock {
    fn segment(&self, seg: usize) -> TsdbResult<&ObjectRange> {
        self.segments
            .get(seg)
            .ok_or_else(|| strata_tsdb::Error::Corrupted {
                what: "chunk reference",
                reason: format!(
                    "segment {seg} does not exist ({} segments)",
                    self.segments.len()
                ),
            })
    }

    /// The chunks of `refs` (sorted ascending, unique), in the same order, cache first.
    /// `bounds` are other chunk refs of the block known to exist (sorted): a chunk ends at or
    /// before the next one, which limits the speculative read.
    pub(crate) async fn chunks(
        &self,
        refs: &[u64],
        bounds: &[u64],
    ) -> Result<Vec<FetchedChunk>, GatewayError> {
        let mut raw: Vec<Option<FetchedChunk>> = vec![None; refs.len()];
        if let Some(cache) = &self.chunk_cache {
            let ckeys: Vec<String> = refs
                .iter()
                .map(|r| cache_keys::chunk(&self.id, *r))
                .collect();
            let mut hits = cache.get_multi(&ckeys).await;
            let mut n = 0;
            for (slot, ck) in raw.iter_mut().zip(&ckeys) {
                if let Some(b) = hits.remove(ck).filter(|b| !b.is_empty()) {
                    *slot = Some((Encoding::from_byte(b[0]), b.slice(1..)));
                    n += 1;
                }
            }
            add(&self.metrics.chunk_cache_hits, n);
            add(&self.metrics.chunk_cache_misses, (refs.len() as u64) - n);
        }
        let from_cache: Vec<bool> = raw.iter().map(Option::is_some).collect();
        // Speculative ranges per segment.
        let mut by_seg: std::collections::BTreeMap<usize, Vec<(usize, Range<u64>)>> =
            Default::default();
        for (i, r) in refs.iter().enumerate() {
            if raw[i].is_some() {
                continue;
            }
            let (seg, off) = split_ref(*r);
            let file = self.segment(seg).map_err(|e| self.err(e))?;
            if off < SEGMENT_HEADER_SIZE || off >= file.size() {
                return Err(self.err(strata_tsdb::Error::Corrupted {
                    what: "chunk reference",
                    reason: format!(
                        "offset {off} is outside segment {seg} of {} bytes",
                        file.size()
                    ),
                }));
            }
            let next = bounds
                .get(bounds.partition_point(|b| b <= r))
                .map(|b| split_ref(*b))
                .filter(|(s, _)| *s == seg)
                .map_or(u64::MAX, |(_, o)| o);
            let end = off
                .saturating_add(self.chunk_window)
                .min(file.size())
                .min(next);
            by_seg.entry(seg).or_default().push((i, off..end));
        }
        let mut to_cache = Vec::new();
        for (seg, items) in by_seg {
            let file = self.segment(seg).map_err(|e| self.err(e))?;
            let ranges: Vec<Range<u64>> = items.iter().map(|(_, r)| r.clone()).collect();
            let bodies = self.fetch_ranges(file, &ranges, Fetch::Chunks).await?;
            let mut short: Vec<(usize, Range<u64>)> = Vec::new();
            for ((i, r), body) in items.into_iter().zip(bodies) {
                match parse_chunk(&body).map_err(|e| self.err(e))? {
                    ParsedChunk::Done { encoding, data, .. } => {
                        raw[i] = Some((encoding, body.slice(data)));
                    }
                    ParsedChunk::NeedMore(n) => {
                        let end = r.start.saturating_add(n as u64);
                        if end > file.size() || n <= body.len() {
                            return Err(self.err(strata_tsdb::Error::Corrupted {
                                what: "chunk",
                                reason: format!(
                                    "chunk at {} in segment {seg} runs past the end",
                                    r.start
                                ),
                            }));
                        }
                        short.push((i, r.start..end));
                    }
                }
            }
            if !short.is_empty() {
                let ranges: Vec<Range<u64>> = short.iter().map(|(_, r)| r.clone()).collect();
                let bodies = self.fetch_ranges(file, &ranges, Fetch::Chunks).await?;
                for ((i, r), body) in short.into_iter().zip(bodies) {
                    match parse_chunk(&body).map_err(|e| self.err(e))? {
                        ParsedChunk::Done { encoding, data, .. } => {
                            raw[i] = Some((encoding, body.slice(data)));
                        }
                        ParsedChunk::NeedMore(_) => {
                            return Err(self.err(strata_tsdb::Error::Corrupted {
                                what: "chunk",
                                reason: format!(
                                    "chunk at {} in segment {seg} is truncated",
                                    r.start
                                ),
                            }));
                        }
                    }
                }
            }
        }
        if let Some(cache) = &self.chunk_cache {
            for (i, c) in raw.iter().enumerate() {
                if from_cache[i] {
                    continue;
                }
                if let Some((enc, data)) = c {
                    let mut v = Vec::with_capacity(data.len() + 1);
                    v.push(enc.to_byte());
                    v.extend_from_slice(data);
                    to_cache.push((cache_keys::chunk(&self.id, refs[i]), Bytes::from(v)));
                }
            }
            cache.set_multi(to_cache, self.cache_ttl).await;
        }
        raw.into_iter()
            .zip(refs)
            .map(|(c, r)| {
                c.ok_or_else(|| {
                    GatewayError::bad_block(self.id, format!("chunk {r} was not fetched"))
                })
            })
            .collect()
    }
}
