//! Series entries of the index series section (Prometheus `tsdb/docs/format/index.md`, "Series"): a
//! uvarint length, a body of label symbol refs and delta-encoded chunk metas, and a CRC32 of the
//! body.

use crate::encoding::{Decbuf, Encbuf, crc32, read_uvarint};
use crate::index::{ChunkMeta, SeriesEntry};
use crate::{Error, Label, Labels, Result};

const WHAT: &str = "index series";

fn corrupted(reason: impl Into<String>) -> Error {
    Error::corrupted(WHAT, reason)
}

/// Append a series body (without its length prefix and CRC) to `e`: `labels` are pairs of (name,
/// value) symbol refs sorted by name; `chunks` must already be sorted by time and non-overlapping.
pub fn encode_series_body(e: &mut Encbuf, labels: &[(u32, u32)], chunks: &[ChunkMeta]) {
    e.put_uvarint(labels.len() as u64);
    for &(n, v) in labels {
        e.put_uvarint(u64::from(n));
        e.put_uvarint(u64::from(v));
    }
    e.put_uvarint(chunks.len() as u64);
    let Some(first) = chunks.first() else {
        return;
    };
    e.put_varint(first.min_time);
    e.put_uvarint(first.max_time.wrapping_sub(first.min_time) as u64);
    e.put_uvarint(first.chunk_ref);
    let (mut t0, mut ref0) = (first.max_time, first.chunk_ref);
    for c in &chunks[1..] {
        e.put_uvarint(c.min_time.wrapping_sub(t0) as u64);
        e.put_uvarint(c.max_time.wrapping_sub(c.min_time) as u64);
        e.put_varint((c.chunk_ref as i64).wrapping_sub(ref0 as i64));
        t0 = c.max_time;
        ref0 = c.chunk_ref;
    }
}

/// Total bytes of the series entry starting at `prefix[0]` (length prefix, body and CRC), or
/// `None` if `prefix` is too short to hold the length prefix.
pub fn series_entry_size(prefix: &[u8]) -> Result<Option<u64>> {
    match read_uvarint(prefix) {
        Some((len, n)) => Ok(Some(len.saturating_add(n as u64).saturating_add(4))),
        None if prefix.len() >= 10 => Err(corrupted("invalid entry length")),
        None => Ok(None),
    }
}

fn add_delta(base: i64, delta: u64, what: &str) -> Result<i64> {
    i64::try_from(delta)
        .ok()
        .and_then(|d| base.checked_add(d))
        .ok_or_else(|| corrupted(format!("{what} overflows")))
}

/// Decode the series entry starting at `b[0]` (`b` may extend past it), checking its CRC and
/// resolving symbol refs with `lookup`. Returns the entry and the bytes it occupies.
pub fn decode_series_entry<'s>(
    b: &[u8],
    lookup: impl Fn(u32) -> Result<&'s str>,
) -> Result<(SeriesEntry, usize)> {
    let mut d = Decbuf::new(b, WHAT);
    let len = d.uvarint()?;
    let len = usize::try_from(len).map_err(|_| corrupted("entry length too large"))?;
    let body = d.bytes(len)?;
    let expected = d.be32()?;
    let actual = crc32(body);
    if expected != actual {
        return Err(Error::Checksum {
            what: WHAT,
            expected,
            actual,
        });
    }
    let consumed = d.position();

    let mut d = Decbuf::new(body, WHAT);
    let nlabels = d.uvarint()?;
    if nlabels > (d.remaining() / 2) as u64 {
        return Err(corrupted(format!(
            "{nlabels} labels cannot fit in the entry"
        )));
    }
    let mut labels: Vec<Label> = Vec::with_capacity(nlabels as usize);
    for _ in 0..nlabels {
        let name = lookup(d.uvarint32()?)?;
        let value = lookup(d.uvarint32()?)?;
        if name.is_empty() {
            return Err(corrupted("empty label name"));
        }
        if let Some(prev) = labels.last()
            && prev.name.as_str() >= name
        {
            return Err(corrupted(format!(
                "label {name:?} is not sorted after {:?}",
                prev.name
            )));
        }
        labels.push(Label::new(name, value));
    }

    let nchunks = d.uvarint()?;
    if nchunks > (d.remaining() / 3) as u64 {
        return Err(corrupted(format!(
            "{nchunks} chunks cannot fit in the entry"
        )));
    }
    let mut chunks = Vec::with_capacity(nchunks as usize);
    if nchunks > 0 {
        let min_time = d.varint()?;
        let max_time = add_delta(min_time, d.uvarint()?, "chunk max time")?;
        let chunk_ref = d.uvarint()?;
        chunks.push(ChunkMeta {
            min_time,
            max_time,
            chunk_ref,
        });
        let (mut t0, mut ref0) = (max_time, chunk_ref);
        for _ in 1..nchunks {
            let min_time = add_delta(t0, d.uvarint()?, "chunk min time")?;
            let max_time = add_delta(min_time, d.uvarint()?, "chunk max time")?;
            let delta = d.varint()?;
            // Go adds the signed delta in int64 arithmetic; wrapping u64 addition is the same.
            let chunk_ref = ref0.wrapping_add(delta as u64);
            chunks.push(ChunkMeta {
                min_time,
                max_time,
                chunk_ref,
            });
            t0 = max_time;
            ref0 = chunk_ref;
        }
    }
    if d.remaining() != 0 {
        return Err(corrupted(format!("{} trailing bytes", d.remaining())));
    }
    Ok((
        SeriesEntry {
            labels: Labels::from_sorted(labels),
            chunks,
        },
        consumed,
    ))
}
