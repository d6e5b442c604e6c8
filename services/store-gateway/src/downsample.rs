//! Downsampled blocks (Thanos' `pkg/compact/downsample`, resolution choice of
//! `pkg/store/bucket.go`): which blocks serve a time range given `max_resolution_window` (the
//! coarsest resolution not above it, gaps filled from finer resolutions), and turning a stored
//! chunk into a StoreAPI `AggrChunk` (raw XOR chunks in `raw`, aggregate chunks (encoding 0xff)
//! split into the requested count/sum/min/max/counter slots).

use std::sync::Arc;

use bytes::Bytes;
use strata_storeapi::pb::thanos::{Aggr, AggrChunk, Chunk, chunk};
use strata_tsdb::aggr::{AggrChunk as StoredAggr, AggrType};
use strata_tsdb::chunkenc::Encoding;
use strata_tsdb::index::ChunkMeta;

use crate::bucket_block::BucketBlock;

/// The StoreAPI chunk type of a TSDB chunk encoding, if the StoreAPI can carry it.
fn wire_type(e: Encoding) -> Option<chunk::Encoding> {
    match e {
        Encoding::Xor => Some(chunk::Encoding::Xor),
        Encoding::Histogram => Some(chunk::Encoding::Histogram),
        Encoding::FloatHistogram => Some(chunk::Encoding::FloatHistogram),
        _ => None,
    }
}

fn wire_chunk(t: chunk::Encoding, data: Bytes) -> Chunk {
    let hash = xxhash_rust::xxh64::xxh64(&data, 0);
    Chunk {
        r#type: t as i32,
        data,
        hash,
    }
}

/// The requested aggregates as slot types (RAW and unknown values are ignored); COUNT and SUM
/// when none is requested (what an average needs).
pub(crate) fn requested_aggrs(aggregates: &[i32]) -> Vec<AggrType> {
    let mut out: Vec<AggrType> = aggregates
        .iter()
        .filter_map(|a| match Aggr::try_from(*a).ok()? {
            Aggr::Raw => None,
            Aggr::Count => Some(AggrType::Count),
            Aggr::Sum => Some(AggrType::Sum),
            Aggr::Min => Some(AggrType::Min),
            Aggr::Max => Some(AggrType::Max),
            Aggr::Counter => Some(AggrType::Counter),
        })
        .collect();
    if out.is_empty() {
        out = vec![AggrType::Count, AggrType::Sum];
    }
    out.dedup();
    out
}

/// Build the StoreAPI chunk for a stored chunk. Errors name what is wrong; the caller adds
/// the block.
pub(crate) fn to_aggr_chunk(
    meta: &ChunkMeta,
    encoding: Encoding,
    data: Bytes,
    aggrs: &[AggrType],
) -> Result<AggrChunk, String> {
    let mut out = AggrChunk {
        min_time: meta.min_time,
        max_time: meta.max_time,
        ..Default::default()
    };
    if encoding != Encoding::Aggr {
        let t = wire_type(encoding).ok_or_else(|| {
            format!(
                "chunk {} has unsupported encoding {}",
                meta.chunk_ref,
                encoding.to_byte()
            )
        })?;
        out.raw = Some(wire_chunk(t, data));
        return Ok(out);
    }
    let parsed = StoredAggr::parse(&data).map_err(|e| format!("chunk {}: {e}", meta.chunk_ref))?;
    for a in aggrs {
        let slot = parsed.get(*a).ok_or_else(|| {
            format!(
                "aggregate {a:?} does not exist in downsampled chunk {}",
                meta.chunk_ref
            )
        })?;
        let t = wire_type(slot.encoding).ok_or_else(|| {
            format!(
                "aggregate {a:?} of chunk {} has unsupported encoding {}",
                meta.chunk_ref,
                slot.encoding.to_byte()
            )
        })?;
        let c = Some(wire_chunk(t, data.slice_ref(slot.data)));
        match a {
            AggrType::Count => out.count = c,
            AggrType::Sum => out.sum = c,
            AggrType::Min => out.min = c,
            AggrType::Max => out.max = c,
            AggrType::Counter => out.counter = c,
        }
    }
    Ok(out)
}

/// True if block `[min, max)` overlaps the inclusive range `[mint, maxt]`.
pub(crate) fn overlaps(b: &BucketBlock, mint: i64, maxt: i64) -> bool {
    b.meta().min_time <= maxt && b.meta().max_time > mint
}

/// Choose the blocks (of one external label set) serving `[mint, maxt]`: the coarsest
/// resolution not above `max_resolution_window`, with uncovered parts of the range filled
/// recursively from finer resolutions. Sorted by min time within each resolution pass.
pub(crate) fn select_blocks(
    blocks: &[Arc<BucketBlock>],
    mint: i64,
    maxt: i64,
    max_resolution_window: i64,
) -> Vec<Arc<BucketBlock>> {
    let mut resolutions: Vec<i64> = blocks.iter().map(|b| b.resolution()).collect();
    resolutions.sort_unstable_by(|a, b| b.cmp(a));
    resolutions.dedup();
    let start = resolutions
        .iter()
        .position(|r| *r <= max_resolution_window.max(0))
        .unwrap_or(resolutions.len());
    let mut out = Vec::new();
    fill(blocks, &resolutions, start, mint, maxt, &mut out);
    out
}

fn fill(
    blocks: &[Arc<BucketBlock>],
    resolutions: &[i64],
    i: usize,
    mint: i64,
    maxt: i64,
    out: &mut Vec<Arc<BucketBlock>>,
) {
    if mint > maxt {
        return;
    }
    let Some(res) = resolutions.get(i) else {
        return;
    };
    let mut chosen: Vec<&Arc<BucketBlock>> = blocks
        .iter()
        .filter(|b| b.resolution() == *res && overlaps(b, mint, maxt))
        .collect();
    chosen.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    let mut gaps = Vec::new();
    let mut cursor = mint;
    for b in &chosen {
        if b.meta().min_time > cursor {
            gaps.push((cursor, b.meta().min_time - 1));
        }
        cursor = cursor.max(b.meta().max_time);
    }
    if cursor <= maxt {
        gaps.push((cursor, maxt));
    }
    out.extend(chosen.into_iter().cloned());
    for (lo, hi) in gaps {
        fill(blocks, resolutions, i + 1, lo, hi, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_tsdb::aggr::{AggrSlot, encode_aggr_chunk};

    #[test]
    fn raw_and_aggregate_chunks() {
        let meta = ChunkMeta {
            min_time: 1,
            max_time: 2,
            chunk_ref: 8,
        };
        let raw =
            to_aggr_chunk(&meta, Encoding::Xor, Bytes::from_static(b"abc"), &[]).expect("raw");
        let r = raw.raw.expect("raw slot");
        assert_eq!(r.r#type, 0);
        assert_eq!(r.hash, xxhash_rust::xxh64::xxh64(b"abc", 0));
        let data = encode_aggr_chunk([
            Some(AggrSlot {
                encoding: Encoding::Xor,
                data: b"cnt",
            }),
            Some(AggrSlot {
                encoding: Encoding::Xor,
                data: b"sum",
            }),
            None,
            None,
            None,
        ]);
        let a = to_aggr_chunk(
            &meta,
            Encoding::Aggr,
            Bytes::from(data.clone()),
            &[AggrType::Sum],
        )
        .expect("aggr");
        assert!(a.raw.is_none() && a.count.is_none());
        assert_eq!(&a.sum.expect("sum").data[..], b"sum");
        assert!(to_aggr_chunk(&meta, Encoding::Aggr, Bytes::from(data), &[AggrType::Max]).is_err());
        assert_eq!(
            requested_aggrs(&[Aggr::Max as i32, Aggr::Raw as i32]),
            vec![AggrType::Max]
        );
    }
}
