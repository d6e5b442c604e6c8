//! Helpers to build a [`BucketStore`] from plain series: a block is written with
//! [`BlockWriter`] straight into a FILESYSTEM bucket directory, the bucket is synced, and the
//! store is returned. Used by this crate's tests and by the StoreAPI acceptance suite.

use std::path::Path;
use std::sync::Arc;

use object_store::ObjectStore;
use strata_tsdb::Labels;
use strata_tsdb::block::BlockWriter;
use strata_tsdb::meta::{BlockMeta, ThanosMeta};

use crate::bucket_store::BucketStore;
use crate::config::GatewayConfig;
use crate::error::GatewayError;

fn invalid(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::InvalidArgument(e.to_string())
}

/// A FILESYSTEM bucket over `dir` (created if missing), built from Thanos objstore YAML.
pub fn filesystem_bucket(dir: &Path) -> Result<Arc<dyn ObjectStore>, GatewayError> {
    std::fs::create_dir_all(dir).map_err(|e| GatewayError::io(dir, e))?;
    let d = dir
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let yaml = format!("type: FILESYSTEM\nconfig:\n  directory: \"{d}\"\n");
    Ok(strata_objstore::config::from_yaml(&yaml)?)
}

/// Write one block with `series` (any order; empty series skipped) and external labels `ext`
/// into the FILESYSTEM bucket directory `bucket_dir`. Returns `None` when there is no sample.
pub fn write_block(
    bucket_dir: &Path,
    ext: &Labels,
    series: &[(Labels, Vec<(i64, f64)>)],
) -> Result<Option<BlockMeta>, GatewayError> {
    let mut sorted: Vec<&(Labels, Vec<(i64, f64)>)> =
        series.iter().filter(|(_, s)| !s.is_empty()).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mint = sorted
        .iter()
        .filter_map(|(_, s)| s.first())
        .map(|s| s.0)
        .min();
    let maxt = sorted
        .iter()
        .filter_map(|(_, s)| s.last())
        .map(|s| s.0)
        .max();
    let (Some(mint), Some(maxt)) = (mint, maxt) else {
        return Ok(None);
    };
    std::fs::create_dir_all(bucket_dir).map_err(|e| GatewayError::io(bucket_dir, e))?;
    let mut w = BlockWriter::create(bucket_dir, mint, maxt.saturating_add(1)).map_err(invalid)?;
    for (labels, samples) in sorted {
        w.add_series(labels.clone(), samples).map_err(invalid)?;
    }
    let thanos = ThanosMeta {
        version: Some(1),
        labels: ext
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
        source: "test".to_string(),
        ..Default::default()
    };
    w.finish(Some(thanos)).map(Some).map_err(invalid)
}

/// A synced [`BucketStore`] over a fresh FILESYSTEM bucket in `dir/bucket` (index-headers in
/// `dir/data`) holding one block made of `series` with external labels `ext`.
pub async fn store_from_series(
    dir: &Path,
    ext: Labels,
    series: Vec<(Labels, Vec<(i64, f64)>)>,
) -> Result<BucketStore, GatewayError> {
    let bucket_dir = dir.join("bucket");
    write_block(&bucket_dir, &ext, &series)?;
    let store = BucketStore::new(
        filesystem_bucket(&bucket_dir)?,
        GatewayConfig::new(dir.join("data")),
    );
    store.sync().await?;
    Ok(store)
}
