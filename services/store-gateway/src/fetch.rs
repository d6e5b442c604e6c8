//! Ranged reads of one object ([`ObjectRange`]) where nearby ranges are coalesced: byte ranges closer than a gap
//! are merged into one GET, the merged GETs run concurrently, and every requested range is
//! handed back as a zero-copy slice of its GET's body.

use std::ops::Range;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use strata_objstore::ObjectRange;
use strata_tsdb::range::RangeSource;

/// GETs issued and bytes received by one coalesced read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FetchStats {
    pub(crate) gets: u64,
    pub(crate) bytes: u64,
}

/// How nearby ranges are merged into one GET.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Coalesce {
    /// Always bridge a gap up to this size (a GET costs more than reading that much).
    pub(crate) min_gap: u64,
    /// Never bridge a gap larger than this.
    pub(crate) max_gap: u64,
    /// Bridge a gap only while the merged GET stays within this multiple of the bytes needed.
    pub(crate) max_overfetch: f64,
}

/// Merge ranges (in any order): overlapping ones always, and two ranges `gap` bytes apart when
/// `gap <= max_gap` and the merged GET stays within `max_overfetch` × the bytes actually
/// wanted in it; gaps up to `min_gap` are always bridged. Returns the merged ranges sorted.
pub(crate) fn coalesce(ranges: &[Range<u64>], c: Coalesce) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.iter().filter(|r| r.start < r.end).cloned().collect();
    sorted.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    let mut useful = 0u64;
    for r in sorted {
        let len = r.end - r.start;
        if let Some(last) = out.last_mut() {
            if r.start <= last.end {
                useful += r.end.saturating_sub(last.end);
                last.end = last.end.max(r.end);
                continue;
            }
            let gap = r.start - last.end;
            let merged = r.end - last.start;
            let ok = gap <= c.max_gap
                && (gap <= c.min_gap || merged as f64 <= c.max_overfetch * (useful + len) as f64);
            if ok {
                useful += len;
                last.end = r.end;
                continue;
            }
        }
        useful = len;
        out.push(r);
    }
    out
}

/// Read every range of `file` (ends clamped to the object size), merging nearby ranges into one
/// GET as `how` says, `concurrency` GETs at a time. Returns one slice per input range.
pub(crate) async fn read_coalesced(
    file: &ObjectRange,
    ranges: &[Range<u64>],
    how: Coalesce,
    concurrency: usize,
) -> strata_tsdb::Result<(Vec<Bytes>, FetchStats)> {
    let size = file.size();
    let clamped: Vec<Range<u64>> = ranges
        .iter()
        .map(|r| r.start.min(size)..r.end.min(size))
        .collect();
    if let Some(r) = ranges.iter().find(|r| r.start > size) {
        return Err(strata_tsdb::Error::Corrupted {
            what: "range request",
            reason: format!(
                "range {}..{} starts past object {} of {} bytes",
                r.start,
                r.end,
                file.path(),
                size
            ),
        });
    }
    let merged = coalesce(&clamped, how);
    let bodies: Vec<Bytes> = futures::stream::iter(merged.iter().cloned())
        .map(|r| file.read(r))
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let stats = FetchStats {
        gets: merged.len() as u64,
        bytes: bodies.iter().map(|b| b.len() as u64).sum(),
    };
    let mut out = Vec::with_capacity(clamped.len());
    for r in &clamped {
        if r.start >= r.end {
            out.push(Bytes::new());
            continue;
        }
        // The merged range containing r: the last one starting at or before r.start.
        let i = merged.partition_point(|m| m.start <= r.start);
        let body = i
            .checked_sub(1)
            .and_then(|i| merged.get(i).zip(bodies.get(i)))
            .filter(|(m, _)| m.end >= r.end);
        let Some((m, body)) = body else {
            return Err(strata_tsdb::Error::Corrupted {
                what: "range request",
                reason: format!("range {}..{} was not fetched", r.start, r.end),
            });
        };
        let s = (r.start - m.start) as usize;
        let e = (r.end - m.start) as usize;
        out.push(body.slice(s..e));
    }
    Ok((out, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::path::Path;
    use object_store::{ObjectStore, ObjectStoreExt};
    use std::sync::Arc;

    #[test]
    fn coalesces_by_gap() {
        let c = |max_gap, max_overfetch| Coalesce {
            min_gap: 64,
            max_gap,
            max_overfetch,
        };
        let got = coalesce(&[10..20, 0..5, 22..30, 100..110, 25..26, 7..7], c(2, 10.0));
        assert_eq!(got, vec![0..5, 10..30, 100..110]);
        assert_eq!(coalesce(&[0..5, 10..20], c(5, 10.0)), vec![0..20]);
        assert_eq!(coalesce(&[0..5, 11..20], c(5, 10.0)), vec![0..5, 11..20]);
        // 1000 useful bytes, 400 gap: 1.4x is within 1.5x, 1.3x is not.
        let big = [0..500, 900..1400];
        assert_eq!(coalesce(&big, c(1 << 20, 1.5)), vec![0..1400]);
        assert_eq!(coalesce(&big, c(1 << 20, 1.3)), vec![0..500, 900..1400]);
        // Padding-sized gaps are always bridged.
        assert_eq!(coalesce(&[0..10, 50..60], c(1 << 20, 1.0)), vec![0..60]);
    }

    #[tokio::test]
    async fn slices_back_per_range() {
        let mem: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let p = Path::from("x");
        let data: Vec<u8> = (0..=255u8).collect();
        mem.put(&p, object_store::PutPayload::from(data.clone()))
            .await
            .expect("put");
        let f = ObjectRange::new(mem, p, 256);
        let (got, st) = read_coalesced(
            &f,
            &[200..300, 0..4, 8..12, 100..101],
            Coalesce {
                min_gap: 0,
                max_gap: 4,
                max_overfetch: 10.0,
            },
            2,
        )
        .await
        .expect("read");
        assert_eq!(&got[0][..], &data[200..256]);
        assert_eq!(&got[1][..], &data[0..4]);
        assert_eq!(&got[2][..], &data[8..12]);
        assert_eq!(&got[3][..], &data[100..101]);
        assert_eq!(st.gets, 3);
        assert_eq!(st.bytes, 12 + 1 + 56);
    }
}
