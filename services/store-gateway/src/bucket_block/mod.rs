//! One block of the bucket as the gateway holds it: its meta.json, its index-header (resident)
//! and readers for `index` and `chunks/*` that only issue coalesced ranged GETs. Postings lists,
//! series entries and chunks go through the index and chunk caches when configured; a cache hit
//! skips the GET.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use strata_cache::Cache;
use strata_objstore::{ObjectRange, block_path};
use strata_tsdb::Labels;
use strata_tsdb::chunkenc::Encoding;
use strata_tsdb::chunks::{SEGMENT_HEADER_SIZE, segment_name};
use strata_tsdb::index::{
    SERIES_ALIGN, SeriesEntry, decode_postings, decode_series_entry, series_entry_size,
};
use strata_tsdb::matchers::Matcher;
use strata_tsdb::meta::{BlockMeta, CHUNKS_DIRNAME, INDEX_FILENAME};
use strata_tsdb::range::RangeSource;
use ulid::Ulid;

use crate::cache_keys;
use crate::config::{FetchConfig, GatewayConfig};
use crate::error::GatewayError;
use crate::fetch::{Coalesce, read_coalesced};
use crate::index_header::IndexHeader;
use crate::metrics::{Metrics, add, inc};
use crate::postings::{self, Key};

mod chunks;

/// Smallest and largest speculative read for one series entry or chunk.
const MIN_WINDOW: u64 = 64;
const MAX_SERIES_WINDOW: u64 = 64 * 1024;
const MAX_CHUNK_WINDOW: u64 = 16_000;
/// Window when the block has no stats to estimate from.
const DEFAULT_WINDOW: u64 = 512;

/// What a ranged read fetches: picks the coalescing gap and the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetch {
    /// Postings lists.
    Postings,
    /// Series entries.
    Series,
    /// Chunks.
    Chunks,
}

/// A loaded block.
#[derive(Debug)]
pub struct BucketBlock {
    meta: BlockMeta,
    id: Ulid,
    ext: Labels,
    header: IndexHeader,
    index: ObjectRange,
    segments: Vec<ObjectRange>,
    fetch: FetchConfig,
    index_cache: Option<Arc<dyn Cache>>,
    chunk_cache: Option<Arc<dyn Cache>>,
    cache_ttl: Duration,
    metrics: Arc<Metrics>,
    series_window: u64,
    chunk_window: u64,
    /// True if an external label name is also a label name in the index (values get overridden,
    /// so the block's series order may change and series must be re-sorted).
    ext_collides: bool,
}

fn window(total: u64, count: u64) -> u64 {
    if count == 0 || total == 0 {
        return DEFAULT_WINDOW;
    }
    // Twice the average, 16-byte aligned: most entries fit in one read.
    (total / count).saturating_mul(2).div_ceil(16) * 16
}

/// One chunk as fetched: its encoding and data (without length, encoding byte and CRC).
pub(crate) type FetchedChunk = (Encoding, Bytes);

impl BucketBlock {
    /// Load block `meta` from `store`: sizes of the index (meta.json `thanos.files` or HEAD) and
    /// chunk segments (one LIST of `chunks/`, checked against meta.json), and the index-header
    /// from `<data_dir>/<ULID>/index-header` or built with ranged GETs.
    pub async fn load(
        store: Arc<dyn ObjectStore>,
        meta: BlockMeta,
        cfg: &GatewayConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, GatewayError> {
        let id = meta.ulid;
        let files = meta
            .thanos
            .as_ref()
            .map(|t| t.files.as_slice())
            .unwrap_or(&[]);
        let listed_size = |rel: &str| {
            files
                .iter()
                .find(|f| f.rel_path == rel)
                .and_then(|f| f.size_bytes)
        };
        let index_path = block_path(id, INDEX_FILENAME);
        let index_size = match listed_size(INDEX_FILENAME) {
            Some(s) => s,
            None => match store.head(&index_path).await {
                Ok(m) => m.size,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(GatewayError::bad_block(id, "index is missing"));
                }
                Err(e) => return Err(GatewayError::Bucket(e.into())),
            },
        };
        let chunks_prefix = block_path(id, CHUNKS_DIRNAME);
        let mut found: Vec<(String, u64)> = Vec::new();
        let mut listing = store.list(Some(&chunks_prefix));
        while let Some(m) = listing.next().await {
            let m = m.map_err(|e| GatewayError::Bucket(e.into()))?;
            if let Some(name) = m.location.filename() {
                found.push((name.to_string(), m.size));
            }
        }
        drop(listing);
        found.sort();
        for (i, (name, _)) in found.iter().enumerate() {
            if *name != segment_name(i) {
                return Err(GatewayError::bad_block(
                    id,
                    format!(
                        "chunk segment {} is missing (found {name} at position {i})",
                        segment_name(i)
                    ),
                ));
            }
        }
        for f in files {
            let Some(seg) = f.rel_path.strip_prefix(&format!("{CHUNKS_DIRNAME}/")) else {
                continue;
            };
            match found.iter().find(|(n, _)| n == seg) {
                None => {
                    return Err(GatewayError::bad_block(
                        id,
                        format!("{} is listed in meta.json but missing", f.rel_path),
                    ));
                }
                Some((_, size)) if f.size_bytes.is_some_and(|s| s != *size) => {
                    return Err(GatewayError::bad_block(
                        id,
                        format!(
                            "{} is {size} bytes, meta.json says {:?}",
                            f.rel_path, f.size_bytes
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        if found.is_empty() && meta.stats.num_chunks > 0 {
            return Err(GatewayError::bad_block(
                id,
                format!(
                    "no chunk segment files but meta.json counts {} chunks",
                    meta.stats.num_chunks
                ),
            ));
        }
        let segments: Vec<ObjectRange> = found
            .iter()
            .map(|(name, size)| {
                ObjectRange::new(
                    Arc::clone(&store),
                    block_path(id, &format!("{CHUNKS_DIRNAME}/{name}")),
                    *size,
                )
            })
            .collect();
        let index = ObjectRange::new(Arc::clone(&store), index_path, index_size);
        let dir = cfg.data_dir.join(id.to_string());
        let (header, built) = IndexHeader::load_or_build(&dir, &index)
            .await
            .map_err(|e| GatewayError::block(id, e))?;
        if built {
            inc(&metrics.index_headers_built);
        } else {
            inc(&metrics.index_headers_loaded);
        }
        let sr = header.series_range();
        let series_window =
            window(sr.end - sr.start, meta.stats.num_series).clamp(MIN_WINDOW, MAX_SERIES_WINDOW);
        let chunk_bytes: u64 = found
            .iter()
            .map(|(_, s)| s.saturating_sub(SEGMENT_HEADER_SIZE))
            .sum();
        let chunk_window =
            window(chunk_bytes, meta.stats.num_chunks).clamp(MIN_WINDOW, MAX_CHUNK_WINDOW);
        let ext = Labels::from_pairs(
            meta.thanos
                .as_ref()
                .map(|t| t.labels.clone())
                .unwrap_or_default(),
        );
        let ext_collides = ext
            .iter()
            .any(|l| !header.table.label_values(&l.name).is_empty());
        tracing::info!(
            block = %id,
            min_time = meta.min_time,
            max_time = meta.max_time,
            resolution = meta.resolution(),
            index_bytes = index_size,
            segments = segments.len(),
            index_header_bytes = header.file_size,
            resident_bytes = header.resident_bytes(),
            built,
            "loaded block"
        );
        Ok(Self {
            meta,
            id,
            ext,
            header,
            index,
            segments,
            fetch: cfg.fetch.clone(),
            index_cache: cfg.index_cache.clone(),
            chunk_cache: cfg.chunk_cache.clone(),
            cache_ttl: cfg.cache_ttl,
            metrics,
            series_window,
            chunk_window,
            ext_collides,
        })
    }

    /// The block's meta.json.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's ULID.
    pub fn id(&self) -> Ulid {
        self.id
    }

    /// External labels (meta.json `thanos.labels`), sorted.
    pub fn ext_labels(&self) -> &Labels {
        &self.ext
    }

    /// The resident index-header.
    pub fn header(&self) -> &IndexHeader {
        &self.header
    }

    /// Downsampling resolution in ms (0 = raw).
    pub fn resolution(&self) -> i64 {
        self.meta.resolution()
    }

    pub(crate) fn ext_collides(&self) -> bool {
        self.ext_collides
    }

    fn coalesce(&self, min_gap: u64) -> Coalesce {
        Coalesce {
            min_gap,
            max_gap: self.fetch.max_gap.max(min_gap),
            max_overfetch: self.fetch.max_overfetch,
        }
    }

    fn err(&self, e: strata_tsdb::Error) -> GatewayError {
        GatewayError::block(self.id, e)
    }

    /// Read `ranges` of `file` with coalesced ranged GETs tuned for `kind`, counting the GETs
    /// and bytes under that kind.
    pub(crate) async fn fetch_ranges(
        &self,
        file: &ObjectRange,
        ranges: &[Range<u64>],
        kind: Fetch,
    ) -> Result<Vec<Bytes>, GatewayError> {
        let (min_gap, gets, bytes) = match kind {
            Fetch::Postings => (
                self.fetch.postings_gap,
                &self.metrics.postings_gets,
                &self.metrics.postings_bytes_fetched,
            ),
            Fetch::Series => (
                self.fetch.series_min_gap,
                &self.metrics.series_gets,
                &self.metrics.series_bytes_fetched,
            ),
            Fetch::Chunks => (
                self.fetch.chunks_min_gap,
                &self.metrics.chunk_gets,
                &self.metrics.chunk_bytes_fetched,
            ),
        };
        let (bodies, stats) = read_coalesced(
            file,
            ranges,
            self.coalesce(min_gap),
            self.fetch.get_concurrency,
        )
        .await
        .map_err(|e| self.err(e))?;
        add(gets, stats.gets);
        add(bytes, stats.bytes);
        Ok(bodies)
    }

    /// The series refs selected by `matchers` (no matchers: every series), sorted.
    pub async fn postings(&self, matchers: &[Matcher]) -> Result<Vec<u32>, GatewayError> {
        let plan = postings::plan(&self.header.table, matchers);
        let keys = plan.keys();
        let lists = self.fetch_postings(&keys).await?;
        Ok(plan.combine(&lists))
    }

    fn postings_range(&self, k: &Key) -> Option<Range<u64>> {
        if k.0.is_empty() {
            self.header.table.all_postings_range()
        } else {
            self.header.table.postings_range(&k.0, &k.1)
        }
    }

    /// Fetch postings lists by key (absent keys are left out), cache first.
    async fn fetch_postings(&self, keys: &[Key]) -> Result<HashMap<Key, Vec<u32>>, GatewayError> {
        let mut out = HashMap::with_capacity(keys.len());
        let mut todo: Vec<(&Key, Range<u64>)> = keys
            .iter()
            .filter_map(|k| self.postings_range(k).map(|r| (k, r)))
            .collect();
        add(&self.metrics.postings_touched, todo.len() as u64);
        if let Some(cache) = &self.index_cache {
            let ckeys: Vec<String> = todo
                .iter()
                .map(|(k, _)| cache_keys::postings(&self.id, &k.0, &k.1))
                .collect();
            let hits = cache.get_multi(&ckeys).await;
            let mut rest = Vec::with_capacity(todo.len());
            for ((k, r), ck) in todo.into_iter().zip(&ckeys) {
                match hits.get(ck).map(|b| decode_postings(b)) {
                    Some(Ok(list)) => {
                        out.insert(k.clone(), list);
                    }
                    _ => rest.push((k, r)),
                }
            }
            add(&self.metrics.postings_cache_hits, out.len() as u64);
            add(&self.metrics.postings_cache_misses, rest.len() as u64);
            todo = rest;
        }
        if todo.is_empty() {
            return Ok(out);
        }
        let ranges: Vec<Range<u64>> = todo.iter().map(|(_, r)| r.clone()).collect();
        let bodies = self
            .fetch_ranges(&self.index, &ranges, Fetch::Postings)
            .await?;
        let mut to_cache = Vec::new();
        for ((k, r), body) in todo.into_iter().zip(bodies) {
            let body = self.complete_section(r.start, body).await?;
            let list = decode_postings(&body).map_err(|e| self.err(e))?;
            if self.index_cache.is_some() {
                to_cache.push((cache_keys::postings(&self.id, &k.0, &k.1), body));
            }
            out.insert(k.clone(), list);
        }
        if let Some(cache) = &self.index_cache {
            cache.set_multi(to_cache, self.cache_ttl).await;
        }
        Ok(out)
    }

    /// Trim `body` (read at `off`) to its `len | data | crc` section, reading the rest if the
    /// speculative range was too short.
    async fn complete_section(&self, off: u64, body: Bytes) -> Result<Bytes, GatewayError> {
        if body.len() < 4 {
            return Err(self.err(strata_tsdb::Error::Corrupted {
                what: "index postings list",
                reason: format!("{} bytes at offset {off}", body.len()),
            }));
        }
        let len = u64::from(u32::from_be_bytes([body[0], body[1], body[2], body[3]])) + 8;
        if len <= body.len() as u64 {
            return Ok(body.slice(..len as usize));
        }
        let end = off.saturating_add(len);
        if end > self.header.toc.postings_table {
            return Err(self.err(strata_tsdb::Error::Corrupted {
                what: "index postings list",
                reason: format!("list of {len} bytes at {off} runs past the postings section"),
            }));
        }
        let b = self.index.read(off..end).await.map_err(|e| self.err(e))?;
        add(&self.metrics.postings_gets, 1);
        add(&self.metrics.postings_bytes_fetched, len);
        Ok(b)
    }

    /// The series entries of `refs` (sorted ascending), in the same order, cache first.
    pub async fn series_entries(&self, refs: &[u32]) -> Result<Vec<SeriesEntry>, GatewayError> {
        add(&self.metrics.series_touched, refs.len() as u64);
        let mut raw: Vec<Option<Bytes>> = vec![None; refs.len()];
        if let Some(cache) = &self.index_cache {
            let ckeys: Vec<String> = refs
                .iter()
                .map(|r| cache_keys::series(&self.id, *r))
                .collect();
            let mut hits = cache.get_multi(&ckeys).await;
            let mut n = 0;
            for (slot, ck) in raw.iter_mut().zip(&ckeys) {
                if let Some(b) = hits.remove(ck) {
                    *slot = Some(b);
                    n += 1;
                }
            }
            add(&self.metrics.series_cache_hits, n);
            add(&self.metrics.series_cache_misses, (refs.len() as u64) - n);
        }
        let sr = self.header.series_range();
        let mut miss_idx = Vec::new();
        let mut windows = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            if raw[i].is_some() {
                continue;
            }
            let off = u64::from(*r) * SERIES_ALIGN;
            if off < sr.start || off >= sr.end {
                return Err(self.err(strata_tsdb::Error::Corrupted {
                    what: "index series",
                    reason: format!(
                        "series ref {r} (offset {off}) is outside the series section {sr:?}"
                    ),
                }));
            }
            let next = refs
                .get(i + 1)
                .map(|n| u64::from(*n) * SERIES_ALIGN)
                .filter(|n| *n > off)
                .unwrap_or(u64::MAX);
            let end = off.saturating_add(self.series_window).min(sr.end).min(next);
            miss_idx.push(i);
            windows.push(off..end);
        }
        if !windows.is_empty() {
            let bodies = self
                .fetch_ranges(&self.index, &windows, Fetch::Series)
                .await?;
            let mut ext_idx = Vec::new();
            let mut ext_ranges = Vec::new();
            for ((i, w), body) in miss_idx.iter().zip(&windows).zip(bodies) {
                match series_entry_size(&body).map_err(|e| self.err(e))? {
                    Some(size) if size <= body.len() as u64 => {
                        raw[*i] = Some(body.slice(..size as usize));
                    }
                    Some(size) => {
                        let end = w.start.saturating_add(size);
                        if end > sr.end {
                            return Err(self.err(strata_tsdb::Error::Corrupted {
                                what: "index series",
                                reason: format!(
                                    "entry of {size} bytes at {} exceeds the section",
                                    w.start
                                ),
                            }));
                        }
                        ext_idx.push(*i);
                        ext_ranges.push(w.start..end);
                    }
                    None => {
                        return Err(self.err(strata_tsdb::Error::Corrupted {
                            what: "index series",
                            reason: format!("truncated series entry at offset {}", w.start),
                        }));
                    }
                }
            }
            if !ext_ranges.is_empty() {
                let bodies = self
                    .fetch_ranges(&self.index, &ext_ranges, Fetch::Series)
                    .await?;
                for (i, body) in ext_idx.into_iter().zip(bodies) {
                    raw[i] = Some(body);
                }
            }
            if let Some(cache) = &self.index_cache {
                let items = miss_idx
                    .iter()
                    .filter_map(|&i| {
                        raw[i]
                            .clone()
                            .map(|b| (cache_keys::series(&self.id, refs[i]), b))
                    })
                    .collect();
                cache.set_multi(items, self.cache_ttl).await;
            }
        }
        let symbols = &self.header.symbols;
        raw.into_iter()
            .map(|b| {
                let b = b.unwrap_or_default();
                decode_series_entry(&b, |id| symbols.get(id))
                    .map(|(e, _)| e)
                    .map_err(|e| self.err(e))
            })
            .collect()
    }
}
