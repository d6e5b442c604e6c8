//! Block cutting, upload and local retention of the receive tenants (Thanos receive: the
//! TSDB head compaction of `pkg/receive/multitsdb.go` plus `pkg/shipper`).
//!
//! [`MultiTsdb::cut_and_upload`], for every tenant:
//!
//! 1. **Cut.** With `D` the block duration and `W` the too-far-in-future window
//!    ([`HeadOptions::too_far_in_future`](crate::head::HeadOptions), 0 when off),
//!    `cutoff = max(min(newest head sample, now + W), now) - D/2`; every complete `D`-aligned
//!    range `[k·D, (k+1)·D)` with `(k+1)·D <= cutoff`, starting with the one holding the head's
//!    oldest sample, is written with [`Head::cut_block`] into `<tenant>/blocks/<ULID>/` and
//!    truncated from the head. This keeps at least `D/2` of data in the head as Prometheus does
//!    (it compacts once the head spans 1.5·D, `compactable()` in `tsdb/head.go`); `now` (the
//!    wall clock) lets an idle tenant's head be cut too. Samples older than a cut range's end
//!    are refused from then on (409), so that end never passes `now + W - D/2`: a sample dated
//!    2300 (accepted when `W` is 0, as in Thanos) stays in the head without driving cuts,
//!    where Prometheus' rule alone (`MaxTime - chunkRange/2`, `appendableMinValidTime` in
//!    `tsdb/head_append.go`) would refuse every current sample of the tenant.
//!    Leftover `<ULID>.tmp-for-creation` directories of failed cuts (or of a crash during one)
//!    are removed before every cut and when the tenant is opened.
//!    The block's meta.json gets the Thanos section at once: `labels` = the tenant's external
//!    labels (tenant label + `--label`s), `source: "receive"`, resolution 0.
//! 2. **Upload** (when a bucket is given): every local block not listed in
//!    `<tenant>/thanos.shipper.json` (Thanos' shipper file, `{"version":1,"uploaded":[…]}`) is
//!    uploaded with [`strata_objstore::block::upload_block`] (meta.json last) and then listed
//!    there, so blocks cut while the bucket was unreachable are uploaded by a later call.
//!
//! Local blocks stay served by the StoreAPI ([`crate::store`]) until
//! [`MultiTsdb::delete_expired`] removes those whose max time is at least `retention` before
//! `now` — once any upload was attempted, only blocks already uploaded.
//!
//! Must be called within a Tokio runtime (cutting runs on the blocking pool). Failures of one
//! tenant do not stop the others; the first error is returned after all
//! tenants were processed, and everything left undone is retried by the next call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use object_store::ObjectStore;
use serde::{Deserialize, Serialize};
use strata_tsdb::block::{LocalBlock, TMP_FOR_CREATION};
use strata_tsdb::labels::Labels;
use strata_tsdb::meta::{BlockMeta, Downsample, META_FILENAME, RESOLUTION_RAW, ThanosMeta};
use ulid::Ulid;

use crate::Error;
use crate::tenants::{BLOCKS_DIR, MultiTsdb, Tenant, read, write};

/// The shipper state file in a tenant directory.
pub const SHIPPER_FILE: &str = "thanos.shipper.json";
/// `thanos.source` of the blocks receive writes.
pub const SOURCE: &str = "receive";

/// A block cut or uploaded by [`MultiTsdb::cut_and_upload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedBlock {
    /// The tenant.
    pub tenant: String,
    /// The block's ULID.
    pub id: Ulid,
    /// Its local directory.
    pub dir: PathBuf,
    /// Its time range `[min_time, max_time)` as in meta.json.
    pub min_time: i64,
    /// See `min_time`.
    pub max_time: i64,
    /// Whether this call cut it from the head (false: an earlier cut, uploaded now).
    pub cut: bool,
    /// Whether it is in the bucket now.
    pub uploaded: bool,
}

/// A local block served by the StoreAPI.
#[derive(Debug)]
pub struct ServedBlock {
    /// Its directory.
    pub dir: PathBuf,
    /// Its meta.json (with the Thanos section).
    pub meta: BlockMeta,
    /// The opened block.
    pub block: LocalBlock,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ShipperState {
    #[serde(default)]
    version: u32,
    #[serde(default)]
    uploaded: BTreeSet<Ulid>,
}

fn read_state(tenant_dir: &Path) -> Result<ShipperState, Error> {
    let path = tenant_dir.join(SHIPPER_FILE);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|source| Error::ShipperFile { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ShipperState {
            version: 1,
            uploaded: BTreeSet::new(),
        }),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn write_state(tenant_dir: &Path, state: &ShipperState) -> Result<(), Error> {
    let path = tenant_dir.join(SHIPPER_FILE);
    let json = match serde_json::to_vec_pretty(state) {
        Ok(j) => j,
        Err(source) => return Err(Error::ShipperFile { path, source }),
    };
    strata_tsdb::meta::write_atomic(&path, &json)
        .map_err(|source| Error::WriteShipperFile { path, source })
}

/// The Thanos section of a tenant's blocks.
pub fn thanos_meta(ext: &Labels) -> ThanosMeta {
    ThanosMeta {
        version: Some(1),
        labels: ext
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
        downsample: Downsample {
            resolution: RESOLUTION_RAW,
        },
        source: SOURCE.to_string(),
        ..Default::default()
    }
}

/// Open the block in `dir`, giving its meta.json the Thanos section if it lacks one.
fn open_block(dir: &Path, ext: &Labels) -> Result<ServedBlock, Error> {
    let err = |source| Error::Block {
        dir: dir.to_path_buf(),
        source,
    };
    let mut meta = BlockMeta::read_from_dir(dir).map_err(err)?;
    if meta.thanos.is_none() {
        meta.thanos = Some(thanos_meta(ext));
        meta.write_to_dir(dir).map_err(err)?;
    }
    // LocalBlock reads with positional std::fs reads: its futures never wait.
    let block = futures::executor::block_on(LocalBlock::open(dir)).map_err(err)?;
    Ok(ServedBlock {
        dir: dir.to_path_buf(),
        meta,
        block,
    })
}

/// Every block directory (named by a ULID, with meta.json) under `blocks_dir`, opened and
/// sorted by min time. A missing directory is no blocks.
pub(crate) fn load_blocks(blocks_dir: &Path, ext: &Labels) -> Result<Vec<Arc<ServedBlock>>, Error> {
    let entries = match std::fs::read_dir(blocks_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(blocks_dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(blocks_dir, e))?.path();
        if is_tmp_block(&path) {
            remove_tmp_block(&path);
            continue;
        }
        let is_block = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.parse::<Ulid>().is_ok())
            && path.join(META_FILENAME).is_file();
        if !is_block {
            tracing::warn!(path = %path.display(), "ignoring non-block entry in blocks directory");
            continue;
        }
        out.push(Arc::new(open_block(&path, ext)?));
    }
    out.sort_by_key(|b| (b.meta.min_time, b.meta.ulid));
    Ok(out)
}

/// A block directory being written (`<ULID>.tmp-for-creation`, Prometheus' `tmpForCreation`).
fn is_tmp_block(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(TMP_FOR_CREATION))
}

/// Remove the leftover of a failed or interrupted cut (only ever written by a cut, which
/// holds the tenant's block list; nothing reads it). Failing is logged: the next cut retries.
fn remove_tmp_block(path: &Path) {
    match std::fs::remove_dir_all(path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "removed the leftover of an unfinished block cut")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e,
            "cannot remove the leftover of an unfinished block cut; retrying at the next cut"),
    }
}

/// Remove every `*.tmp-for-creation` directory under `blocks_dir` (a missing one is fine).
fn remove_tmp_blocks(blocks_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(blocks_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if is_tmp_block(&path) {
            remove_tmp_block(&path);
        }
    }
}

/// Cut every complete range of the tenant's head (rule in the module docs); returns the new
/// blocks. Blocking I/O.
fn cut_tenant(
    t: &Tenant,
    now_ms: i64,
    d: i64,
    window_ms: i64,
    limit: usize,
) -> Result<Vec<Arc<ServedBlock>>, Error> {
    let blocks_dir = t.dir.join(BLOCKS_DIR);
    let mut cut = Vec::new();
    {
        // The block list's lock also serializes this tenant's cuts: none is writing now.
        let _served = write(&t.blocks);
        remove_tmp_blocks(&blocks_dir);
    }
    let horizon = now_ms.saturating_add(window_ms);
    loop {
        // Held from before the head is truncated until the block is served.
        let mut served = write(&t.blocks);
        let (Some(min), Some(max)) = (t.head.min_time(), t.head.max_time()) else {
            break;
        };
        // Samples beyond now + W never move the cut (see the module docs).
        let cutoff = max.min(horizon).max(now_ms).saturating_sub(d / 2);
        let start = min.div_euclid(d).saturating_mul(d);
        let end = start.saturating_add(d);
        if end > cutoff {
            break;
        }
        std::fs::create_dir_all(&blocks_dir).map_err(|e| Error::io(&blocks_dir, e))?;
        let dir = t
            .head
            .cut_block(&blocks_dir, start, end)
            .map_err(|source| Error::CutHead {
                tenant: t.name.clone(),
                source: Box::new(source),
            })?;
        let Some(dir) = dir else { break };
        let block = Arc::new(open_block(&dir, &t.ext)?);
        tracing::info!(tenant = t.name, block = %block.meta.ulid, start, end,
            series = block.meta.stats.num_series, "cut block from head");
        served.push(Arc::clone(&block));
        served.sort_by_key(|b| (b.meta.min_time, b.meta.ulid));
        cut.push(block);
    }
    if !cut.is_empty() && limit > 0 {
        t.rebuild_series_set();
    }
    Ok(cut)
}

fn shipped(t: &Tenant, b: &ServedBlock, cut: bool, uploaded: bool) -> ShippedBlock {
    ShippedBlock {
        tenant: t.name.clone(),
        id: b.meta.ulid,
        dir: b.dir.clone(),
        min_time: b.meta.min_time,
        max_time: b.meta.max_time,
        cut,
        uploaded,
    }
}

impl MultiTsdb {
    /// Cut every tenant's complete block ranges and upload every local block not uploaded
    /// yet to `bucket` (none: cut only). See the module docs for the rule; `now_ms` is the wall
    /// clock (tests pass the time their data ends). Returns the blocks
    /// cut or uploaded by this call; on failures, the first error after trying every tenant.
    pub async fn cut_and_upload(
        &self,
        bucket: Option<&dyn ObjectStore>,
        now_ms: i64,
        block_duration_ms: i64,
    ) -> Result<Vec<ShippedBlock>, Error> {
        if block_duration_ms <= 0 {
            return Err(Error::InvalidBlockDuration(block_duration_ms));
        }
        if bucket.is_some() {
            self.shipping.store(true, Ordering::Relaxed);
        }
        let limit = self.opts.max_series_per_tenant;
        let window_ms = crate::head::duration_ms(self.opts.head.too_far_in_future);
        let mut out = Vec::new();
        let mut first_err = None;
        for t in self.tenant_list() {
            let t2 = Arc::clone(&t);
            let cut = tokio::task::spawn_blocking(move || {
                cut_tenant(&t2, now_ms, block_duration_ms, window_ms, limit)
            })
            .await
            .unwrap_or_else(|e| Err(Error::TaskFailed(e)));
            let cut_ids: BTreeSet<Ulid> = match cut {
                Ok(c) => c.iter().map(|b| b.meta.ulid).collect(),
                Err(e) => {
                    tracing::error!(tenant = t.name, error = %e, "cutting blocks failed");
                    first_err.get_or_insert(e);
                    BTreeSet::new()
                }
            };
            let uploaded = match bucket {
                Some(bucket) => match upload_tenant(&t, bucket).await {
                    Ok(u) => u,
                    Err((u, e)) => {
                        tracing::error!(tenant = t.name, error = %e, "uploading blocks failed");
                        first_err.get_or_insert(e);
                        u
                    }
                },
                None => BTreeSet::new(),
            };
            for b in read(&t.blocks).iter() {
                let (c, u) = (
                    cut_ids.contains(&b.meta.ulid),
                    uploaded.contains(&b.meta.ulid),
                );
                if c || u {
                    out.push(shipped(&t, b, c, u));
                }
            }
        }
        first_err.map_or(Ok(out), Err)
    }

    /// Delete local blocks whose max time is at least `retention_ms` before `now_ms` (once
    /// blocks are shipped, only uploaded ones); they stop being served first. Returns the
    /// deleted blocks' ULIDs.
    pub fn delete_expired(&self, retention_ms: i64, now_ms: i64) -> Result<Vec<Ulid>, Error> {
        let shipping = self.shipping.load(Ordering::Relaxed);
        let cutoff = now_ms.saturating_sub(retention_ms);
        let mut deleted = Vec::new();
        let mut first_err = None;
        for t in self.tenant_list() {
            if let Err(e) = delete_tenant(&t, cutoff, shipping, &mut deleted) {
                tracing::error!(tenant = t.name, error = %e, "deleting expired blocks failed");
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(deleted), Err)
    }

    /// The metas of a tenant's local blocks, sorted by min time (empty for an unknown tenant).
    pub fn local_blocks(&self, tenant: &str) -> Vec<BlockMeta> {
        let Some(t) = read(&self.tenants).get(tenant).cloned() else {
            return Vec::new();
        };
        read(&t.blocks).iter().map(|b| b.meta.clone()).collect()
    }
}

fn delete_tenant(
    t: &Tenant,
    cutoff: i64,
    shipping: bool,
    deleted: &mut Vec<Ulid>,
) -> Result<(), Error> {
    let mut state = read_state(&t.dir)?;
    let gone: Vec<Arc<ServedBlock>> = {
        let mut served = write(&t.blocks);
        let (gone, keep) = std::mem::take(&mut *served).into_iter().partition(|b| {
            b.meta.max_time <= cutoff && (!shipping || state.uploaded.contains(&b.meta.ulid))
        });
        *served = keep;
        gone
    };
    if gone.is_empty() {
        return Ok(());
    }
    for b in &gone {
        std::fs::remove_dir_all(&b.dir).map_err(|e| Error::io(&b.dir, e))?;
        state.uploaded.remove(&b.meta.ulid);
        deleted.push(b.meta.ulid);
        tracing::info!(tenant = t.name, block = %b.meta.ulid, "deleted expired local block");
    }
    write_state(&t.dir, &state)
}

/// Upload the tenant's blocks missing from its shipper file; returns the uploaded ULIDs (with
/// the error, those uploaded before it).
async fn upload_tenant(
    t: &Tenant,
    bucket: &dyn ObjectStore,
) -> Result<BTreeSet<Ulid>, (BTreeSet<Ulid>, Error)> {
    let mut done = BTreeSet::new();
    let mut state = read_state(&t.dir).map_err(|e| (BTreeSet::new(), e))?;
    state.version = 1;
    let pending: Vec<Arc<ServedBlock>> = read(&t.blocks)
        .iter()
        .filter(|b| !state.uploaded.contains(&b.meta.ulid))
        .cloned()
        .collect();
    for b in pending {
        if let Err(source) = strata_objstore::block::upload_block(bucket, &b.dir).await {
            let e = Error::Upload {
                dir: b.dir.clone(),
                source,
            };
            return Err((done, e));
        }
        tracing::info!(tenant = t.name, block = %b.meta.ulid, "uploaded block");
        state.uploaded.insert(b.meta.ulid);
        done.insert(b.meta.ulid);
        if let Err(e) = write_state(&t.dir, &state) {
            return Err((done, e));
        }
    }
    Ok(done)
}
