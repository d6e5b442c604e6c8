//! `InstrumentedStore`: an `ObjectStore` decorator that counts requests per operation and bytes
//! moved, because object-store requests and bytes are what users pay for.
//!
//! Counting rules: every `get_opts` is one request, classified as `head`, `get_range` (a range
//! was asked for) or `get`; `get_ranges` is served by coalescing into `get_range` calls on this
//! decorator, so each real GET is counted; a `list`/`list_with_delimiter` call counts once
//! whatever its page count; `delete` counts per object; `put_multipart` counts the upload and
//! each part. Bytes read are counted as the response body streams (or, for a local file payload,
//! the returned range length).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    OBJECT_STORE_COALESCE_DEFAULT, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, RenameOptions, UploadPart,
};

/// Live counters, shared between the decorator and whoever reports them.
#[derive(Debug, Default)]
pub struct Stats {
    get: AtomicU64,
    get_range: AtomicU64,
    head: AtomicU64,
    put: AtomicU64,
    put_part: AtomicU64,
    list: AtomicU64,
    delete: AtomicU64,
    copy: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Whole-object GETs.
    pub get: u64,
    /// Ranged GETs.
    pub get_range: u64,
    /// HEAD requests.
    pub head: u64,
    /// Single PUTs and multipart uploads started.
    pub put: u64,
    /// Multipart parts uploaded.
    pub put_part: u64,
    /// List calls.
    pub list: u64,
    /// Objects deleted.
    pub delete: u64,
    /// Copies (and renames).
    pub copy: u64,
    /// Body bytes received from GETs.
    pub bytes_read: u64,
    /// Payload bytes sent by PUTs and parts.
    pub bytes_written: u64,
}

impl StatsSnapshot {
    /// All GET requests (whole and ranged).
    pub fn gets(&self) -> u64 {
        self.get + self.get_range
    }

    /// All requests of every kind.
    pub fn requests(&self) -> u64 {
        self.get
            + self.get_range
            + self.head
            + self.put
            + self.put_part
            + self.list
            + self.delete
            + self.copy
    }

    /// Counter deltas since `earlier`.
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            get: self.get.saturating_sub(earlier.get),
            get_range: self.get_range.saturating_sub(earlier.get_range),
            head: self.head.saturating_sub(earlier.head),
            put: self.put.saturating_sub(earlier.put),
            put_part: self.put_part.saturating_sub(earlier.put_part),
            list: self.list.saturating_sub(earlier.list),
            delete: self.delete.saturating_sub(earlier.delete),
            copy: self.copy.saturating_sub(earlier.copy),
            bytes_read: self.bytes_read.saturating_sub(earlier.bytes_read),
            bytes_written: self.bytes_written.saturating_sub(earlier.bytes_written),
        }
    }
}

fn inc(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Stats {
    /// Read every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            get: l(&self.get),
            get_range: l(&self.get_range),
            head: l(&self.head),
            put: l(&self.put),
            put_part: l(&self.put_part),
            list: l(&self.list),
            delete: l(&self.delete),
            copy: l(&self.copy),
            bytes_read: l(&self.bytes_read),
            bytes_written: l(&self.bytes_written),
        }
    }
}

/// Counts operations and bytes of the wrapped store.
#[derive(Debug, Clone)]
pub struct InstrumentedStore {
    inner: Arc<dyn ObjectStore>,
    stats: Arc<Stats>,
}

impl InstrumentedStore {
    /// Wrap `inner` with fresh counters.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self::with_stats(inner, Arc::new(Stats::default()))
    }

    /// Wrap `inner`, counting into existing `stats` (e.g. one set for several stores).
    pub fn with_stats(inner: Arc<dyn ObjectStore>, stats: Arc<Stats>) -> Self {
        Self { inner, stats }
    }

    /// The shared counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }
}

impl fmt::Display for InstrumentedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instrumented({})", self.inner)
    }
}

#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    stats: Arc<Stats>,
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        inc(&self.stats.put_part, 1);
        inc(&self.stats.bytes_written, data.content_length() as u64);
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for InstrumentedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        inc(&self.stats.put, 1);
        inc(&self.stats.bytes_written, payload.content_length() as u64);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        inc(&self.stats.put, 1);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountingUpload {
            inner,
            stats: Arc::clone(&self.stats),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let counter = if options.head {
            &self.stats.head
        } else if options.range.is_some() {
            &self.stats.get_range
        } else {
            &self.stats.get
        };
        inc(counter, 1);
        let head = options.head;
        let mut res = self.inner.get_opts(location, options).await?;
        if head {
            return Ok(res);
        }
        res.payload = match res.payload {
            GetResultPayload::Stream(s) => {
                let stats = Arc::clone(&self.stats);
                GetResultPayload::Stream(
                    s.inspect(move |r| {
                        if let Ok(b) = r {
                            inc(&stats.bytes_read, b.len() as u64);
                        }
                    })
                    .boxed(),
                )
            }
            file @ GetResultPayload::File(..) => {
                inc(
                    &self.stats.bytes_read,
                    res.range.end.saturating_sub(res.range.start),
                );
                file
            }
        };
        Ok(res)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        object_store::coalesce_ranges(
            ranges,
            |range| self.get_range(location, range),
            OBJECT_STORE_COALESCE_DEFAULT,
        )
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let stats = Arc::clone(&self.stats);
        let counted = locations
            .inspect(move |r| {
                if r.is_ok() {
                    inc(&stats.delete, 1);
                }
            })
            .boxed();
        self.inner.delete_stream(counted)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        inc(&self.stats.list, 1);
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        inc(&self.stats.list, 1);
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        inc(&self.stats.list, 1);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        inc(&self.stats.copy, 1);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        inc(&self.stats.copy, 1);
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn counts_requests_and_bytes() {
        let s = InstrumentedStore::new(Arc::new(InMemory::new()));
        let p = Path::from("a/b");
        s.put(&p, PutPayload::from_static(b"0123456789"))
            .await
            .unwrap();
        assert_eq!(s.get(&p).await.unwrap().bytes().await.unwrap().len(), 10);
        assert_eq!(&s.get_range(&p, 2..5).await.unwrap()[..], b"234");
        s.head(&p).await.unwrap();
        let parts = s.get_ranges(&p, &[0..1, 8..10]).await.unwrap();
        assert_eq!(parts.len(), 2);
        let _ = s.list_with_delimiter(None).await.unwrap();
        s.delete(&p).await.unwrap();
        let snap = s.stats().snapshot();
        assert_eq!(snap.put, 1);
        assert_eq!(snap.bytes_written, 10);
        assert_eq!(snap.get, 1);
        assert_eq!(snap.get_range, 2, "two close ranges coalesce into one GET");
        assert_eq!(snap.head, 1);
        assert_eq!(snap.list, 1);
        assert_eq!(snap.delete, 1);
        assert_eq!(snap.bytes_read, 10 + 3 + 10);
        assert_eq!(snap.gets(), 3);
        assert_eq!(snap.requests(), 7);
        assert_eq!(snap.since(&snap), StatsSnapshot::default());
    }
}
