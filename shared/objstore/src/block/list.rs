//! Listing the blocks of a bucket (Thanos' meta fetcher semantics, `pkg/block/fetcher.go`):
//! top-level ULID directories, meta.json fetched concurrently, sorted into good metas, partial
//! uploads (no meta.json) and corrupted metas. Non-ULID top-level entries (debug/, thanos/, ...)
//! are ignored.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};
use strata_tsdb::meta::{BlockMeta, META_FILENAME};
use ulid::Ulid;

use super::block_path;
use crate::{Error, Result};

/// How many meta.json GETs run at once.
const META_FETCH_CONCURRENCY: usize = 32;

/// The blocks found in a bucket.
#[derive(Debug, Default)]
pub struct BlockMetas {
    /// Blocks with a valid meta.json, by ULID.
    pub metas: BTreeMap<Ulid, BlockMeta>,
    /// Block directories without meta.json: uploads in progress, failed, or deletions midway.
    pub partial: Vec<Ulid>,
    /// Block directories whose meta.json did not parse or does not match the directory.
    pub corrupted: Vec<(Ulid, Error)>,
}

/// The ULIDs of the top-level block directories, sorted; other entries are skipped.
pub async fn list_block_ids(store: &dyn ObjectStore) -> Result<Vec<Ulid>> {
    let listing = store.list_with_delimiter(None).await?;
    let mut ids: Vec<Ulid> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| {
            let name = p.filename()?;
            match Ulid::from_string(name) {
                Ok(id) => Some(id),
                Err(_) => {
                    tracing::debug!(entry = name, "ignoring non-block top-level entry");
                    None
                }
            }
        })
        .collect();
    ids.sort();
    Ok(ids)
}

enum Fetched {
    Good(Box<BlockMeta>),
    Partial,
    Corrupted(Error),
}

async fn fetch_meta(store: &dyn ObjectStore, id: Ulid) -> Result<(Ulid, Fetched)> {
    let got = match store.get(&block_path(id, META_FILENAME)).await {
        Ok(r) => r.bytes().await,
        Err(e) => Err(e),
    };
    let bytes = match got {
        Ok(b) => b,
        Err(object_store::Error::NotFound { .. }) => return Ok((id, Fetched::Partial)),
        Err(e) => return Err(e.into()),
    };
    let fetched = match BlockMeta::from_json(&bytes) {
        Ok(m) if m.ulid == id => Fetched::Good(Box::new(m)),
        Ok(m) => Fetched::Corrupted(Error::block(
            id,
            strata_tsdb::Error::Corrupted {
                what: "meta.json",
                reason: format!("ulid {} does not match its directory", m.ulid),
            },
        )),
        Err(e) => Fetched::Corrupted(Error::block(id, e)),
    };
    Ok((id, fetched))
}

/// List every block of the bucket with its meta.json. Object-store failures other than
/// "meta.json not found" fail the whole listing (a half-seen bucket must not drive deletions).
pub async fn list_block_metas(store: &dyn ObjectStore) -> Result<BlockMetas> {
    let ids = list_block_ids(store).await?;
    let results: Vec<(Ulid, Fetched)> = futures::stream::iter(ids)
        .map(|id| fetch_meta(store, id))
        .buffer_unordered(META_FETCH_CONCURRENCY)
        .try_collect()
        .await?;
    let mut out = BlockMetas::default();
    for (id, f) in results {
        match f {
            Fetched::Good(m) => {
                out.metas.insert(id, *m);
            }
            Fetched::Partial => out.partial.push(id),
            Fetched::Corrupted(e) => {
                tracing::warn!(block = %id, error = %e, "corrupted meta.json");
                out.corrupted.push((id, e));
            }
        }
    }
    out.partial.sort();
    out.corrupted.sort_by_key(|(id, _)| *id);
    tracing::debug!(
        blocks = out.metas.len(),
        partial = out.partial.len(),
        corrupted = out.corrupted.len(),
        "listed block metas"
    );
    Ok(out)
}
