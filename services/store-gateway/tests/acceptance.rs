//! The StoreAPI acceptance suite (`strata_storeapi::acceptance`) against the store gateway:
//! over a FILESYSTEM bucket and over an in-process S3 server (s3s-fs), with blocks written by
//! strata's BlockWriter, by `promtool tsdb create-blocks-from openmetrics` and by
//! `strata tools bucket backfill`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use object_store::ObjectStore;
use strata_objstore::testing::S3Server;
use strata_store_gateway::testing::{filesystem_bucket, write_block};
use strata_store_gateway::{BucketStore, GatewayConfig};
use strata_storeapi::Store;
use strata_storeapi::acceptance::{Feature, StoreFactory, run_acceptance};
use strata_tsdb::labels::Labels;
use strata_tsdb::meta::{BlockMeta, ThanosMeta};

type Series = Vec<(Labels, Vec<(i64, f64)>)>;

/// Where blocks come from.
#[derive(Debug, Clone, Copy)]
enum Source {
    BlockWriter,
    Promtool,
    Backfill,
}

/// Which bucket serves them.
#[derive(Debug, Clone, Copy)]
enum Bucket {
    Filesystem,
    S3,
}

/// Keeps every temp dir and S3 server alive for the whole suite run.
struct Factory {
    source: Source,
    bucket: Bucket,
    keep: Mutex<Vec<Box<dyn std::any::Any + Send>>>,
}

impl Factory {
    fn new(source: Source, bucket: Bucket) -> Self {
        Self {
            source,
            bucket,
            keep: Mutex::new(Vec::new()),
        }
    }
}

fn om_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v:?}")
    }
}

fn om_timestamp(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
    }
}

/// OpenMetrics text for `series` (every series must have a metric name).
fn to_openmetrics(series: &Series) -> String {
    let mut out = String::new();
    for (labels, samples) in series {
        let name = labels
            .metric_name()
            .expect("OpenMetrics series need a metric name");
        let pairs: Vec<String> = labels
            .iter()
            .filter(|l| l.name != "__name__")
            .map(|l| {
                let v = l
                    .value
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                format!("{}=\"{v}\"", l.name)
            })
            .collect();
        for &(t, v) in samples {
            writeln!(
                out,
                "{name}{{{}}} {} {}",
                pairs.join(","),
                om_value(v),
                om_timestamp(t)
            )
            .unwrap();
        }
    }
    out.push_str("# EOF\n");
    out
}

fn thanos_meta(ext: &Labels, source: &str) -> ThanosMeta {
    ThanosMeta {
        labels: ext
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect::<BTreeMap<_, _>>(),
        source: source.to_string(),
        ..Default::default()
    }
}

/// Blocks for `series` in local directories under `dir`, per the source.
async fn local_blocks(
    source: Source,
    dir: &Path,
    ext: &Labels,
    series: &Series,
) -> Vec<std::path::PathBuf> {
    let out = dir.join("blocks");
    std::fs::create_dir_all(&out).unwrap();
    match source {
        Source::BlockWriter => {
            write_block(&out, ext, series).unwrap();
        }
        Source::Promtool => {
            if series.iter().any(|(_, s)| !s.is_empty()) {
                let om = dir.join("in.om");
                std::fs::write(&om, to_openmetrics(series)).unwrap();
                let res = std::process::Command::new("promtool")
                    .args(["tsdb", "create-blocks-from", "openmetrics"])
                    .arg(&om)
                    .arg(&out)
                    .output()
                    .unwrap_or_else(|e| panic!("promtool cannot run ({e}); tests/run installs it"));
                assert!(
                    res.status.success(),
                    "promtool: {}",
                    String::from_utf8_lossy(&res.stderr)
                );
                // promtool writes plain Prometheus blocks: add the Thanos section.
                for d in std::fs::read_dir(&out).unwrap() {
                    let d = d.unwrap().path();
                    let mut meta = BlockMeta::read_from_dir(&d).unwrap();
                    meta.thanos = Some(thanos_meta(ext, "test"));
                    meta.write_to_dir(&d).unwrap();
                }
            }
        }
        Source::Backfill => unreachable!("backfill uploads directly"),
    }
    std::fs::read_dir(&out)
        .unwrap()
        .map(|d| d.unwrap().path())
        .collect()
}

#[async_trait::async_trait]
impl StoreFactory for Factory {
    async fn make(&self, ext: Labels, series: Series) -> Arc<dyn Store> {
        let tmp = tempfile::tempdir().unwrap();
        let (bucket, server): (Arc<dyn ObjectStore>, Option<S3Server>) = match self.bucket {
            Bucket::Filesystem => (filesystem_bucket(&tmp.path().join("bucket")).unwrap(), None),
            Bucket::S3 => {
                let s = S3Server::start().await.unwrap();
                (
                    strata_objstore::config::from_yaml(&s.objstore_yaml()).unwrap(),
                    Some(s),
                )
            }
        };
        match self.source {
            Source::Backfill => {
                if series.iter().any(|(_, s)| !s.is_empty()) {
                    let om = tmp.path().join("in.om");
                    std::fs::write(&om, to_openmetrics(&series)).unwrap();
                    let opts = strata_tools::backfill::BackfillOptions {
                        external_labels: thanos_meta(&ext, "").labels,
                        ..Default::default()
                    };
                    strata_tools::backfill::backfill(Arc::clone(&bucket), &om, opts)
                        .await
                        .unwrap();
                }
            }
            source => {
                for dir in local_blocks(source, tmp.path(), &ext, &series).await {
                    strata_objstore::upload_block(bucket.as_ref(), &dir)
                        .await
                        .unwrap();
                }
            }
        }
        let store = BucketStore::new(bucket, GatewayConfig::new(tmp.path().join("data")));
        store.sync().await.unwrap();
        let mut keep = self.keep.lock().unwrap();
        keep.push(Box::new(tmp));
        if let Some(s) = server {
            keep.push(Box::new(s));
        }
        Arc::new(store)
    }

    fn supports(&self, feature: Feature) -> bool {
        match feature {
            // OpenMetrics text cannot express a series without a metric name.
            Feature::SeriesWithoutMetricName => matches!(self.source, Source::BlockWriter),
            // External labels come from blocks; an empty bucket has none.
            Feature::ExternalLabelValuesWithoutSeries => false,
            _ => true,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn strata_blocks_on_filesystem() {
    run_acceptance(&Factory::new(Source::BlockWriter, Bucket::Filesystem)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn strata_blocks_on_s3() {
    run_acceptance(&Factory::new(Source::BlockWriter, Bucket::S3)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn promtool_blocks_on_filesystem() {
    run_acceptance(&Factory::new(Source::Promtool, Bucket::Filesystem)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_blocks_on_s3() {
    run_acceptance(&Factory::new(Source::Backfill, Bucket::S3)).await;
}
