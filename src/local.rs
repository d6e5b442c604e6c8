//! `strata local`: everything in one process over a FILESYSTEM bucket in `<data-dir>/bucket`.
//! The components join as they land; today it prepares the bucket and its objstore YAML,
//! lists the blocks in it and shows how to fill it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

/// Flags of `strata local`.
#[derive(Debug, Args)]
pub(crate) struct LocalArgs {
    /// Directory for all local state; the bucket lives in `<data-dir>/bucket`.
    #[arg(long = "data-dir", env = "STRATA_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
}

pub(crate) async fn run(args: LocalArgs) -> Result<()> {
    let bucket = args.data_dir.join("bucket");
    std::fs::create_dir_all(&bucket)
        .with_context(|| format!("creating bucket directory {}", bucket.display()))?;
    let bucket = bucket
        .canonicalize()
        .with_context(|| format!("resolving {}", bucket.display()))?;
    let config_path = args.data_dir.join("bucket.yml");
    let yaml = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        bucket.display().to_string()
    );
    std::fs::write(&config_path, &yaml)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let store = strata_objstore::config::from_yaml(&yaml).context("opening the local bucket")?;
    let metas = strata_objstore::block::list_block_metas(store.as_ref())
        .await
        .context("listing blocks")?;
    let samples: u64 = metas.metas.values().map(|m| m.stats.num_samples).sum();
    tracing::info!(
        bucket = %bucket.display(),
        blocks = metas.metas.len(),
        partial = metas.partial.len(),
        corrupted = metas.corrupted.len(),
        samples,
        "local bucket ready"
    );
    for m in metas.metas.values() {
        tracing::info!(
            block = %m.ulid,
            from = %crate::fmt_ms(m.min_time),
            to = %crate::fmt_ms(m.max_time),
            series = m.stats.num_series,
            samples = m.stats.num_samples,
            "block"
        );
    }
    eprintln!(
        "\nstrata local: bucket at {bucket}\n  objstore config: {cfg}\n\n\
         Import history into it:\n  strata tools bucket backfill --objstore.config-file {cfg} \
         --label cluster=local metrics.om\n\
         List it:\n  strata tools bucket ls --objstore.config-file {cfg}\n\n\
         The querier, receive and store gateway join this command as they land (issues 3, 5, 6).",
        bucket = bucket.display(),
        cfg = config_path.display()
    );
    Ok(())
}
