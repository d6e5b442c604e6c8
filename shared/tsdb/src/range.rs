//! Byte-range sources: the one I/O seam of the block readers. An index or chunk segment is read
//! through [`RangeSource`], so the same reader works over a local file, a buffer in memory, or
//! ranged GETs against object storage (implemented in the objstore crate).

use std::future::Future;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::{Error, Result};

/// Something that can return arbitrary byte ranges of one immutable object.
pub trait RangeSource: Send + Sync {
    /// Total size of the object in bytes.
    fn size(&self) -> u64;

    /// The bytes in `range` (clamped to the object size is NOT done: out-of-bounds is an error).
    fn read(&self, range: Range<u64>) -> impl Future<Output = Result<Bytes>> + Send;
}

fn check_bounds(range: &Range<u64>, size: u64, what: &str) -> Result<()> {
    if range.start > range.end || range.end > size {
        return Err(Error::Corrupted {
            what: "range request",
            reason: format!(
                "range {}..{} is outside {what} of {size} bytes",
                range.start, range.end
            ),
        });
    }
    Ok(())
}

impl RangeSource for Bytes {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        check_bounds(&range, self.size(), "buffer")?;
        Ok(self.slice(range.start as usize..range.end as usize))
    }
}

impl<T: RangeSource> RangeSource for Arc<T> {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read(&self, range: Range<u64>) -> impl Future<Output = Result<Bytes>> + Send {
        (**self).read(range)
    }
}

/// A local file read with positional reads (no seek state, shareable between tasks).
#[derive(Debug)]
pub struct LocalFile {
    path: PathBuf,
    file: std::fs::File,
    size: u64,
}

impl LocalFile {
    /// Open `path` for ranged reads.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        Ok(Self { path, file, size })
    }
}

impl RangeSource for LocalFile {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        use std::os::unix::fs::FileExt;
        check_bounds(&range, self.size, "file")?;
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        self.file
            .read_exact_at(&mut buf, range.start)
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(Bytes::from(buf))
    }
}
