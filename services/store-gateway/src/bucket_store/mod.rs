//! [`BucketStore`]: the StoreAPI over every block of a bucket. A sync lists block metas, loads
//! new blocks (index-header built or read from disk), drops deleted ones and those marked for
//! deletion longer than the delay, and skips partial uploads and corrupted blocks (logged and
//! counted; the rest keeps being served). Requests pick blocks by time range, external labels and
//! resolution, resolve postings per block, then stream series through a k-way merge.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use strata_objstore::{list_block_metas, read_marker};
use strata_storeapi::pb::thanos::Label as PbLabel;
use strata_tsdb::Labels;
use strata_tsdb::matchers::Matcher;
use strata_tsdb::meta::{BlockMeta, DeletionMark};
use ulid::Ulid;

use crate::bucket_block::BucketBlock;
use crate::config::GatewayConfig;
use crate::downsample::{overlaps, select_blocks};
use crate::error::GatewayError;
use crate::metrics::{Metrics, MetricsSnapshot, inc};
use crate::series::{BlockRequest, resolve_batch};

mod api;

/// Deletion marks read at once during a sync.
const MARKER_CONCURRENCY: usize = 32;
/// Blocks whose postings are resolved at once for one request.
const POSTINGS_CONCURRENCY: usize = 8;

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Blocks newly loaded.
    pub loaded: Vec<Ulid>,
    /// Blocks dropped (gone, marked for deletion, outside the time shard).
    pub dropped: Vec<Ulid>,
    /// Blocks that could not be loaded, with the reason.
    pub failed: Vec<(Ulid, String)>,
    /// Partial uploads (no meta.json) skipped.
    pub partial: Vec<Ulid>,
    /// Blocks skipped because of a deletion mark older than the delay.
    pub marked: Vec<Ulid>,
    /// Blocks served after the sync.
    pub serving: usize,
}

/// A loaded block, for `/api/v1/blocks`.
#[derive(Debug, Clone)]
pub struct BlockInfo {
    /// Its meta.json.
    pub meta: BlockMeta,
    /// Size of its local index-header file.
    pub index_header_bytes: u64,
    /// Approximate resident memory of its index-header.
    pub resident_bytes: usize,
}

/// The store gateway: a [`Store`] over the blocks of a bucket.
pub struct BucketStore {
    bucket: Arc<dyn ObjectStore>,
    cfg: GatewayConfig,
    blocks: RwLock<BTreeMap<Ulid, Arc<BucketBlock>>>,
    bad: Mutex<HashSet<Ulid>>,
    sync_lock: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
    synced: AtomicBool,
}

impl std::fmt::Debug for BucketStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketStore")
            .field("bucket", &self.bucket.to_string())
            .field("blocks", &self.snapshot().len())
            .field("cfg", &self.cfg)
            .finish()
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn to_pb_labels(l: Labels) -> Vec<PbLabel> {
    l.into_vec()
        .into_iter()
        .map(|l| PbLabel {
            name: l.name,
            value: l.value,
        })
        .collect()
}

impl BucketStore {
    /// A store over `bucket`; serves nothing until [`BucketStore::sync`] ran.
    pub fn new(bucket: Arc<dyn ObjectStore>, cfg: GatewayConfig) -> Self {
        Self {
            bucket,
            cfg,
            blocks: RwLock::new(BTreeMap::new()),
            bad: Mutex::new(HashSet::new()),
            sync_lock: tokio::sync::Mutex::new(()),
            metrics: Arc::new(Metrics::default()),
            synced: AtomicBool::new(false),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    /// A copy of every counter.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// The live counters (for registering with a metrics registry).
    pub fn metrics_handle(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// True once a sync succeeded (`/-/ready`).
    pub fn is_ready(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    fn snapshot(&self) -> Vec<Arc<BucketBlock>> {
        let g = self.blocks.read().unwrap_or_else(|e| e.into_inner());
        g.values().cloned().collect()
    }

    /// The loaded blocks (`/api/v1/blocks`).
    pub fn blocks(&self) -> Vec<BlockInfo> {
        self.snapshot()
            .into_iter()
            .map(|b| BlockInfo {
                meta: b.meta().clone(),
                index_header_bytes: b.header().file_size,
                resident_bytes: b.header().resident_bytes(),
            })
            .collect()
    }

    /// Sync forever every `sync_interval` (the first sync is the caller's). Errors are logged.
    pub async fn sync_loop(&self) {
        let mut tick = tokio::time::interval(self.cfg.sync_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = self.sync().await {
                tracing::warn!(error = %e, "bucket sync failed; serving the blocks loaded before");
            }
        }
    }

    fn mark_bad(&self, id: Ulid) {
        let mut bad = self.bad.lock().unwrap_or_else(|e| e.into_inner());
        if bad.insert(id) {
            inc(&self.metrics.corrupted_blocks);
        }
    }

    fn in_shard(&self, m: &BlockMeta) -> bool {
        m.max_time >= self.cfg.min_time && m.min_time <= self.cfg.max_time
    }

    /// List the bucket and bring the loaded blocks in line with it.
    pub async fn sync(&self) -> Result<SyncReport, GatewayError> {
        let _guard = self.sync_lock.lock().await;
        inc(&self.metrics.syncs);
        let listed = match list_block_metas(self.bucket.as_ref()).await {
            Ok(l) => l,
            Err(e) => {
                inc(&self.metrics.sync_failures);
                tracing::warn!(error = %e, "listing block metas failed");
                return Err(e.into());
            }
        };
        let mut report = SyncReport {
            partial: listed.partial.clone(),
            ..Default::default()
        };
        for (id, e) in &listed.corrupted {
            tracing::warn!(block = %id, error = %e, "skipping block with corrupted meta.json");
            self.mark_bad(*id);
            report.failed.push((*id, e.to_string()));
        }
        let candidates: Vec<BlockMeta> = listed
            .metas
            .into_values()
            .filter(|m| self.in_shard(m))
            .collect();
        let delay =
            i64::try_from(self.cfg.ignore_deletion_marks_delay.as_secs()).unwrap_or(i64::MAX);
        let now = unix_now();
        let bucket = Arc::clone(&self.bucket);
        let marks: Vec<(BlockMeta, bool)> = futures::stream::iter(candidates)
            .map(|m| {
                let bucket = Arc::clone(&bucket);
                async move {
                    let marked = match read_marker::<DeletionMark>(bucket.as_ref(), m.ulid).await {
                        Ok(Some(mark)) => now.saturating_sub(mark.deletion_time) > delay,
                        Ok(None) => false,
                        Err(e) => {
                            tracing::warn!(block = %m.ulid, error = %e, "cannot read deletion mark; keeping block");
                            false
                        }
                    };
                    (m, marked)
                }
            })
            .buffer_unordered(MARKER_CONCURRENCY)
            .collect()
            .await;
        let mut wanted: BTreeMap<Ulid, BlockMeta> = BTreeMap::new();
        for (m, marked) in marks {
            if marked {
                report.marked.push(m.ulid);
            } else {
                wanted.insert(m.ulid, m);
            }
        }
        report.marked.sort();
        // Load what is new first, then drop what is gone: when a compactor replaces blocks
        // (with no delete delay), queries keep seeing the old blocks until the new one serves.
        let loaded: BTreeSet<Ulid> = self
            .blocks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        let new: Vec<BlockMeta> = wanted
            .values()
            .filter(|m| !loaded.contains(&m.ulid))
            .cloned()
            .collect();
        let results: Vec<(Ulid, Result<BucketBlock, GatewayError>)> = futures::stream::iter(new)
            .map(|m| {
                let bucket = Arc::clone(&self.bucket);
                let metrics = Arc::clone(&self.metrics);
                let id = m.ulid;
                async move { (id, BucketBlock::load(bucket, m, &self.cfg, metrics).await) }
            })
            .buffer_unordered(self.cfg.fetch.block_sync_concurrency.max(1))
            .collect()
            .await;
        for (id, r) in results {
            match r {
                Ok(b) => {
                    inc(&self.metrics.block_loads);
                    self.blocks
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(id, Arc::new(b));
                    report.loaded.push(id);
                }
                Err(e) => {
                    inc(&self.metrics.block_load_failures);
                    if !matches!(e, GatewayError::Bucket(_) | GatewayError::Io { .. }) {
                        self.mark_bad(id);
                    }
                    tracing::warn!(block = %id, error = %e, "skipping block that failed to load");
                    report.failed.push((id, e.to_string()));
                }
            }
        }
        report.loaded.sort();
        // Drop what is no longer wanted.
        {
            let mut g = self.blocks.write().unwrap_or_else(|e| e.into_inner());
            let gone: Vec<Ulid> = g
                .keys()
                .filter(|id| !wanted.contains_key(id))
                .copied()
                .collect();
            for id in gone {
                g.remove(&id);
                report.dropped.push(id);
            }
        }
        for id in &report.dropped {
            inc(&self.metrics.block_drops);
            tracing::info!(block = %id, "dropped block");
            let dir = self.cfg.data_dir.join(id.to_string());
            if let Err(e) = tokio::fs::remove_dir_all(&dir).await
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(block = %id, error = %e, "cannot remove local block directory");
            }
        }
        report.serving = self.blocks.read().unwrap_or_else(|e| e.into_inner()).len();
        self.metrics
            .blocks_loaded
            .store(report.serving as u64, Ordering::Relaxed);
        self.synced.store(true, Ordering::Release);
        tracing::info!(
            loaded = report.loaded.len(),
            dropped = report.dropped.len(),
            failed = report.failed.len(),
            partial = report.partial.len(),
            marked = report.marked.len(),
            serving = report.serving,
            "bucket sync done"
        );
        Ok(report)
    }

    /// Blocks that can hold series for `matchers` in `[mint, maxt]`, each with the matchers left
    /// after external-label matchers are checked against the block's external labels.
    /// `max_resolution_window = None` takes every resolution (label calls).
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        max_resolution_window: Option<i64>,
    ) -> Vec<(Arc<BucketBlock>, Vec<Matcher>)> {
        let mut groups: BTreeMap<Labels, Vec<Arc<BucketBlock>>> = BTreeMap::new();
        for b in self.snapshot() {
            if overlaps(&b, mint, maxt) {
                groups.entry(b.ext_labels().clone()).or_default().push(b);
            }
        }
        let mut out = Vec::new();
        for (ext, blocks) in groups {
            let mut rest = Vec::with_capacity(matchers.len());
            let mut ok = true;
            for m in matchers {
                match ext.get(m.name()) {
                    Some(v) if m.matches(v) => {}
                    Some(_) => ok = false,
                    None => rest.push(m.clone()),
                }
            }
            if !ok {
                continue;
            }
            let chosen = match max_resolution_window {
                Some(w) => select_blocks(&blocks, mint, maxt, w),
                None => blocks,
            };
            out.extend(chosen.into_iter().map(|b| (b, rest.clone())));
        }
        out
    }

    fn time_range(&self, mint: i64, maxt: i64) -> (i64, i64) {
        (mint.max(self.cfg.min_time), maxt.min(self.cfg.max_time))
    }

    async fn postings_all(
        selected: &[(Arc<BucketBlock>, Vec<Matcher>)],
    ) -> Result<Vec<Vec<u32>>, GatewayError> {
        let owned: Vec<(Arc<BucketBlock>, Vec<Matcher>)> = selected.to_vec();
        futures::stream::iter(owned)
            .map(|(b, ms)| async move { b.postings(&ms).await })
            .buffered(POSTINGS_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Labels of the series of `selected` that have chunks in `[mint, maxt]` (label calls with
    /// matchers), passed one by one to `f`.
    async fn for_each_series_labels(
        &self,
        selected: &[(Arc<BucketBlock>, Vec<Matcher>)],
        mint: i64,
        maxt: i64,
        mut f: impl FnMut(&Labels),
    ) -> Result<(), GatewayError> {
        let refs = Self::postings_all(selected).await?;
        let req = BlockRequest {
            mint,
            maxt,
            skip_chunks: true,
            aggrs: Vec::new(),
            batch_size: self.cfg.fetch.series_batch_size,
            without: Vec::new(),
        };
        for ((b, _), refs) in selected.iter().zip(refs) {
            for part in refs.chunks(req.batch_size.max(1)) {
                for s in resolve_batch(b, part, &req, None, &self.metrics).await? {
                    f(&s.labels);
                }
            }
        }
        Ok(())
    }
}
