//! Block marker files in the bucket (`deletion-mark.json`, `no-compact-mark.json`,
//! `no-downsample-mark.json`; Thanos' `pkg/block/metadata/markers.go`, version 1).

use std::time::{SystemTime, UNIX_EPOCH};

use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use strata_tsdb::meta::{DeletionMark, Marker, NoCompactMark};
use ulid::Ulid;

use super::block_path;
use crate::{Error, Result};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Read marker `M` of block `id`; `None` when the block has no such marker.
pub async fn read_marker<M: Marker>(store: &dyn ObjectStore, id: Ulid) -> Result<Option<M>> {
    let p = block_path(id, M::FILENAME);
    let got = match store.get(&p).await {
        Ok(r) => r.bytes().await,
        Err(e) => Err(e),
    };
    match got {
        Ok(b) => M::from_json(&b).map(Some).map_err(|e| Error::block(id, e)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Write (or overwrite) marker `M` of block `id`.
pub async fn write_marker<M: Marker>(store: &dyn ObjectStore, id: Ulid, marker: &M) -> Result<()> {
    let p = block_path(id, M::FILENAME);
    store.put(&p, PutPayload::from(marker.to_json())).await?;
    tracing::info!(block = %id, marker = M::FILENAME, "wrote marker");
    Ok(())
}

/// Write `marker` only if block `id` has none yet; returns the marker in effect (the existing
/// one when there was one). Uses a conditional create where the store supports it.
async fn create_marker<M: Marker>(store: &dyn ObjectStore, id: Ulid, marker: M) -> Result<M> {
    if let Some(existing) = read_marker::<M>(store, id).await? {
        tracing::info!(block = %id, marker = M::FILENAME, "marker already present; keeping it");
        return Ok(existing);
    }
    let p = block_path(id, M::FILENAME);
    let opts = PutOptions::from(PutMode::Create);
    match store
        .put_opts(&p, PutPayload::from(marker.to_json()), opts)
        .await
    {
        Ok(_) => {
            tracing::info!(block = %id, marker = M::FILENAME, "wrote marker");
            Ok(marker)
        }
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => {
            // Lost a race with another writer: theirs wins.
            Ok(read_marker::<M>(store, id).await?.unwrap_or(marker))
        }
        Err(
            object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. },
        ) => {
            write_marker(store, id, &marker).await?;
            Ok(marker)
        }
        Err(e) => Err(e.into()),
    }
}

/// Mark block `id` for deletion now (unix seconds). Idempotent: an existing mark is kept and
/// returned, so the delete delay counts from the first mark.
pub async fn mark_for_deletion(
    store: &dyn ObjectStore,
    id: Ulid,
    details: &str,
) -> Result<DeletionMark> {
    let mark = DeletionMark {
        id,
        version: 1,
        details: details.to_string(),
        deletion_time: unix_now(),
    };
    create_marker(store, id, mark).await
}

/// Mark block `id` as not to be compacted, with a Thanos reason (`manual`,
/// `index-size-exceeding`, ...). Idempotent like [`mark_for_deletion`].
pub async fn mark_no_compact(
    store: &dyn ObjectStore,
    id: Ulid,
    reason: &str,
    details: &str,
) -> Result<NoCompactMark> {
    let mark = NoCompactMark {
        id,
        version: 1,
        details: details.to_string(),
        no_compact_time: unix_now(),
        reason: reason.to_string(),
    };
    create_marker(store, id, mark).await
}
