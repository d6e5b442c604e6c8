//! `FaultyStore`: an `ObjectStore` decorator that fails chosen operations on chosen paths, for
//! tests of what a component does when the bucket misbehaves (partial uploads, retries,
//! partial-response warnings). Rules can change while the store is in use.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

/// The kind of request a rule can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A put or the start of a multipart upload.
    Put,
    /// A get (whole or ranged).
    Get,
    /// A head.
    Head,
    /// A list (the prefix is the path; empty for the root).
    List,
    /// A delete.
    Delete,
    /// A copy or rename (the source is the path).
    Copy,
}

type Rule = Box<dyn Fn(Op, &Path) -> bool + Send + Sync>;

/// Fails every request for which the current rule returns true.
#[derive(Clone)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    rule: Arc<Mutex<Option<Rule>>>,
}

impl fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyStore")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty({})", self.inner)
    }
}

impl FaultyStore {
    /// Wrap `inner`; no request fails until a rule is set.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            rule: Arc::new(Mutex::new(None)),
        }
    }

    /// Fail every request matching `rule` from now on (replaces the previous rule).
    pub fn fail_when(&self, rule: impl Fn(Op, &Path) -> bool + Send + Sync + 'static) {
        if let Ok(mut r) = self.rule.lock() {
            *r = Some(Box::new(rule));
        }
    }

    /// Stop failing.
    pub fn heal(&self) {
        if let Ok(mut r) = self.rule.lock() {
            *r = None;
        }
    }

    fn check(&self, op: Op, path: &Path) -> object_store::Result<()> {
        let fail = self
            .rule
            .lock()
            .map(|r| r.as_ref().is_some_and(|rule| rule(op, path)))
            .unwrap_or(false);
        if fail {
            return Err(object_store::Error::Generic {
                store: "faulty",
                source: format!("injected {op:?} failure on {path}").into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check(Op::Put, location)?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check(Op::Put, location)?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.check(if options.head { Op::Head } else { Op::Get }, location)?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.check(Op::Get, location)?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let this = self.clone();
        let checked = locations
            .map(move |r| r.and_then(|p| this.check(Op::Delete, &p).map(|()| p)))
            .boxed();
        self.inner.delete_stream(checked)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.check(Op::List, prefix.unwrap_or(&Path::default())) {
            Ok(()) => self.inner.list(prefix),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.check(Op::List, prefix.unwrap_or(&Path::default()))?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.check(Op::Copy, from)?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.check(Op::Copy, from)?;
        self.inner.rename_opts(from, to, options).await
    }
}
