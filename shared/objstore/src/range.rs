//! `ObjectRange`: strata-tsdb's `RangeSource` over one object in a bucket, served by ranged GETs,
//! so the index and chunk readers run directly against object storage (tsdb `range.rs` contract:
//! out-of-bounds ranges are errors, never clamped).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use strata_tsdb::range::RangeSource;

use crate::Result;

/// One immutable object read by ranges. Wrap the store in an
/// [`InstrumentedStore`](crate::InstrumentedStore) to count its GETs and bytes.
#[derive(Debug, Clone)]
pub struct ObjectRange {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

impl ObjectRange {
    /// A source over `path` whose size is already known (e.g. from meta.json `files`).
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> Self {
        Self { store, path, size }
    }

    /// A source over `path`, learning the size with one HEAD request.
    pub async fn open(store: Arc<dyn ObjectStore>, path: Path) -> Result<Self> {
        let meta = store.head(&path).await?;
        Ok(Self::new(store, path, meta.size))
    }

    /// The object's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read several ranges at once; nearby ranges are coalesced into fewer GETs.
    pub async fn read_many(&self, ranges: &[Range<u64>]) -> strata_tsdb::Result<Vec<Bytes>> {
        for r in ranges {
            self.check(r)?;
        }
        let (empty, fetch): (Vec<_>, Vec<_>) = ranges.iter().partition(|r| r.start == r.end);
        if fetch.is_empty() {
            return Ok(vec![Bytes::new(); empty.len()]);
        }
        let fetch: Vec<Range<u64>> = fetch.into_iter().cloned().collect();
        let got = self
            .store
            .get_ranges(&self.path, &fetch)
            .await
            .map_err(|e| self.source_error(e))?;
        let mut got = got.into_iter();
        let mut out = Vec::with_capacity(ranges.len());
        for r in ranges {
            if r.start == r.end {
                out.push(Bytes::new());
                continue;
            }
            let b = got.next().unwrap_or_default();
            self.check_len(r, &b)?;
            out.push(b);
        }
        Ok(out)
    }

    fn check(&self, range: &Range<u64>) -> strata_tsdb::Result<()> {
        if range.start > range.end || range.end > self.size {
            return Err(strata_tsdb::Error::Corrupted {
                what: "range request",
                reason: format!(
                    "range {}..{} is outside object {} of {} bytes",
                    range.start, range.end, self.path, self.size
                ),
            });
        }
        Ok(())
    }

    fn check_len(&self, range: &Range<u64>, b: &Bytes) -> strata_tsdb::Result<()> {
        let want = range.end - range.start;
        if b.len() as u64 != want {
            return Err(strata_tsdb::Error::Corrupted {
                what: "range request",
                reason: format!(
                    "object {} returned {} bytes for range {}..{} ({want} expected)",
                    self.path,
                    b.len(),
                    range.start,
                    range.end
                ),
            });
        }
        Ok(())
    }

    fn source_error(&self, e: object_store::Error) -> strata_tsdb::Error {
        strata_tsdb::Error::Source {
            what: format!("object {}", self.path),
            source: Box::new(e),
        }
    }
}

impl RangeSource for ObjectRange {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read(&self, range: Range<u64>) -> strata_tsdb::Result<Bytes> {
        self.check(&range)?;
        if range.start == range.end {
            return Ok(Bytes::new());
        }
        tracing::trace!(path = %self.path, start = range.start, end = range.end, "ranged get");
        let b = self
            .store
            .get_range(&self.path, range.clone())
            .await
            .map_err(|e| self.source_error(e))?;
        self.check_len(&range, &b)?;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InstrumentedStore;
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn reads_ranges_and_rejects_out_of_bounds() {
        let mem: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let p = Path::from("blk/index");
        mem.put(&p, PutPayload::from_static(b"hello world"))
            .await
            .unwrap();
        let inst = InstrumentedStore::new(mem);
        let stats = Arc::clone(inst.stats());
        let src = ObjectRange::open(Arc::new(inst), p).await.unwrap();
        assert_eq!(src.size(), 11);
        assert_eq!(&src.read(6..11).await.unwrap()[..], b"world");
        assert!(src.read(5..5).await.unwrap().is_empty());
        let e = src.read(6..12).await.unwrap_err().to_string();
        assert!(e.contains("outside object blk/index of 11 bytes"), "{e}");
        let many = src.read_many(&[0..5, 3..3, 6..11]).await.unwrap();
        assert_eq!(&many[0][..], b"hello");
        assert!(many[1].is_empty());
        assert_eq!(&many[2][..], b"world");
        let snap = stats.snapshot();
        assert_eq!(snap.head, 1);
        assert_eq!(snap.get_range, 2);
        assert_eq!(snap.bytes_read, 5 + 11);

        let gone = ObjectRange::new(Arc::new(InMemory::new()), Path::from("nope"), 10);
        let e = gone.read(0..4).await.unwrap_err();
        assert!(crate::Error::from(e).is_not_found());
    }
}
