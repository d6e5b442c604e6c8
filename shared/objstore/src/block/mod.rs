//! Blocks in a bucket with Thanos semantics (`pkg/block/block.go`): upload (chunks, index,
//! tombstones, then meta.json LAST, with `thanos.files` filled), download, delete (meta.json first,
//! deletion-mark.json last), listing of metas, and marker files.

mod list;
mod marker;
mod transfer;

use std::path::Path as FsPath;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use ulid::Ulid;

pub use list::{BlockMetas, list_block_ids, list_block_metas};
pub use marker::{mark_for_deletion, mark_no_compact, read_marker, write_marker};
pub use strata_tsdb::meta::{
    BlockMeta, DeletionMark, META_FILENAME, Marker, NoCompactMark, NoDownsampleMark,
};
pub use transfer::{UploadOptions, download_block, upload_block, upload_block_with};

use crate::{Error, Result};
use strata_tsdb::meta::DELETION_MARK_FILENAME;

/// `<id>/<rel>`: the object path of a file of block `id`.
pub fn block_path(id: Ulid, rel: &str) -> Path {
    Path::from(format!("{id}/{rel}"))
}

/// `<id>/`: the object prefix of block `id`.
pub fn block_prefix(id: Ulid) -> Path {
    Path::from(id.to_string())
}

/// Delete block `id` the Thanos way: meta.json first (so readers see a partial block and skip
/// it), then every other file, then deletion-mark.json last (so a crash midway leaves the mark
/// and the compactor retries). Idempotent: files already gone are fine.
pub async fn delete_block(store: &dyn ObjectStore, id: Ulid) -> Result<()> {
    let meta = block_path(id, META_FILENAME);
    let mark = block_path(id, DELETION_MARK_FILENAME);
    delete_if_exists(store, &meta).await?;
    let rest: Vec<Path> = store
        .list(Some(&block_prefix(id)))
        .map_ok(|m| m.location)
        .try_filter(|p| futures::future::ready(*p != mark && *p != meta))
        .try_collect()
        .await?;
    let n = rest.len();
    let deleted = store
        .delete_stream(futures::stream::iter(rest.into_iter().map(Ok)).boxed())
        .filter_map(|r| async move {
            match r {
                Ok(_) => None,
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => Some(e),
            }
        })
        .boxed()
        .next()
        .await;
    if let Some(e) = deleted {
        return Err(e.into());
    }
    delete_if_exists(store, &mark).await?;
    tracing::info!(block = %id, files = n + 2, "deleted block");
    Ok(())
}

async fn delete_if_exists(store: &dyn ObjectStore, p: &Path) -> Result<()> {
    match store.delete(p).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The ULID of a local block directory (its base name).
fn dir_ulid(dir: &FsPath) -> Result<Ulid> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::InvalidBlockDir {
            dir: dir.to_path_buf(),
            reason: "directory has no name".into(),
        })?;
    Ulid::from_string(name).map_err(|e| Error::InvalidBlockDir {
        dir: dir.to_path_buf(),
        reason: format!("directory name {name:?} is not a ulid: {e}"),
    })
}
