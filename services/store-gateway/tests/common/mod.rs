//! Shared helpers of the store-gateway integration tests: a FILESYSTEM bucket wrapped in an
//! `InstrumentedStore`, blocks written with `BlockWriter`, a model of the written data to
//! check results against, and a tiny in-memory `Cache`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use object_store::ObjectStore;
use strata_cache::Cache;
use strata_objstore::{InstrumentedStore, Stats};
use strata_store_gateway::testing::filesystem_bucket;
use strata_store_gateway::{BucketStore, GatewayConfig};
use strata_storeapi::pb::thanos::{
    LabelMatcher, Series, SeriesRequest, label_matcher, series_response,
};
use strata_storeapi::{RequestContext, Store, StoreError};
use strata_tsdb::Labels;
use strata_tsdb::block::BlockWriter;
use strata_tsdb::chunkenc::decode_xor;
use strata_tsdb::matchers::{MatchType, Matcher};
use strata_tsdb::meta::{BlockMeta, ThanosMeta};

pub type Samples = Vec<(i64, f64)>;

/// A bucket directory, its instrumented store and the GET counters.
pub struct Bucket {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub store: Arc<dyn ObjectStore>,
    pub stats: Arc<Stats>,
}

impl Bucket {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("bucket");
        let inner = filesystem_bucket(&dir).unwrap();
        let inst = InstrumentedStore::new(inner);
        let stats = Arc::clone(inst.stats());
        Self {
            dir,
            store: Arc::new(inst),
            stats,
            tmp,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    pub fn config(&self) -> GatewayConfig {
        GatewayConfig::new(self.data_dir())
    }

    /// Write a block straight into the bucket directory (no `thanos.files`).
    pub fn write_block(
        &self,
        min_t: i64,
        max_t: i64,
        ext: &[(&str, &str)],
        series: &[(Labels, Samples)],
    ) -> BlockMeta {
        write_block_in(&self.dir, min_t, max_t, ext, series, 0)
    }

    /// Write a block locally, then upload it with `upload_block` (fills `thanos.files`).
    pub async fn upload_block(
        &self,
        min_t: i64,
        max_t: i64,
        ext: &[(&str, &str)],
        series: &[(Labels, Samples)],
    ) -> BlockMeta {
        let staging = self.tmp.path().join("staging");
        let meta = write_block_in(&staging, min_t, max_t, ext, series, 0);
        strata_objstore::upload_block(self.store.as_ref(), &staging.join(meta.ulid.to_string()))
            .await
            .unwrap()
    }

    pub async fn synced_store(&self, cfg: GatewayConfig) -> BucketStore {
        let s = BucketStore::new(Arc::clone(&self.store), cfg);
        s.sync().await.unwrap();
        s
    }

    pub fn block_file(&self, id: &ulid::Ulid, rel: &str) -> PathBuf {
        self.dir.join(id.to_string()).join(rel)
    }
}

pub fn write_block_in(
    dir: &Path,
    min_t: i64,
    max_t: i64,
    ext: &[(&str, &str)],
    series: &[(Labels, Samples)],
    resolution: i64,
) -> BlockMeta {
    std::fs::create_dir_all(dir).unwrap();
    let mut w = BlockWriter::create(dir, min_t, max_t).unwrap();
    let mut sorted: Vec<&(Labels, Samples)> = series.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (l, s) in sorted {
        w.add_series(l.clone(), s).unwrap();
    }
    let mut t = ThanosMeta {
        version: Some(1),
        labels: ext
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        source: "test".into(),
        ..Default::default()
    };
    t.downsample.resolution = resolution;
    w.finish(Some(t)).unwrap()
}

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
}

/// Samples every `step` ms in `[from, to)`, value derived from `seed`.
pub fn samples(from: i64, to: i64, step: i64, seed: u64) -> Samples {
    (0..)
        .map(|i| from + i * step)
        .take_while(|t| *t < to)
        .map(|t| {
            (
                t,
                ((t / step) as f64 * 0.5 + seed as f64).sin() * 100.0 + seed as f64,
            )
        })
        .collect()
}

pub fn matcher(kind: label_matcher::Type, name: &str, value: &str) -> LabelMatcher {
    LabelMatcher {
        r#type: kind as i32,
        name: name.into(),
        value: value.into(),
    }
}

pub fn eq(name: &str, value: &str) -> LabelMatcher {
    matcher(label_matcher::Type::Eq, name, value)
}

pub fn req(mint: i64, maxt: i64, ms: Vec<LabelMatcher>) -> SeriesRequest {
    SeriesRequest {
        min_time: mint,
        max_time: maxt,
        matchers: ms,
        ..Default::default()
    }
}

pub async fn collect(store: &BucketStore, r: SeriesRequest) -> Result<Vec<Series>, StoreError> {
    let mut s = store.series(&RequestContext::default(), r).await?;
    let mut out = Vec::new();
    while let Some(f) = s.next().await {
        match f?.result {
            Some(series_response::Result::Series(x)) => out.push(x),
            Some(series_response::Result::Batch(b)) => out.extend(b.series),
            _ => {}
        }
    }
    Ok(out)
}

pub fn pb_labels(s: &Series) -> Labels {
    Labels::from_pairs(s.labels.iter().map(|l| (l.name.clone(), l.value.clone())))
}

/// Decode every raw chunk of a series into samples (in order), checking the chunk hash.
pub fn decode_series(s: &Series) -> Samples {
    let mut out = Vec::new();
    for c in &s.chunks {
        let raw = c.raw.as_ref().expect("raw chunk");
        assert_eq!(raw.r#type, 0, "XOR");
        assert_eq!(raw.hash, xxhash_rust::xxh64::xxh64(&raw.data, 0));
        let got = decode_xor(&raw.data).unwrap();
        assert_eq!(got.first().map(|s| s.0), Some(c.min_time));
        assert_eq!(got.last().map(|s| s.0), Some(c.max_time));
        out.extend(got);
    }
    out
}

/// The written data: final labels (external applied) -> samples.
#[derive(Default, Debug, Clone)]
pub struct Model(pub BTreeMap<Labels, Samples>);

impl Model {
    pub fn add(&mut self, ext: &[(&str, &str)], series: &[(Labels, Samples)]) {
        for (l, s) in series {
            let mut v = l.clone().into_vec();
            v.extend(ext.iter().map(|(a, b)| strata_tsdb::Label::new(*a, *b)));
            let l = Labels::from_vec(v);
            let e = self.0.entry(l).or_default();
            e.extend(s.iter().copied());
            e.sort_by_key(|x| x.0);
            e.dedup_by_key(|x| x.0);
        }
    }

    /// Series matching `ms` with samples in `[mint, maxt]`.
    pub fn select(&self, mint: i64, maxt: i64, ms: &[LabelMatcher]) -> BTreeMap<Labels, Samples> {
        let ms: Vec<Matcher> = ms
            .iter()
            .map(|m| {
                let k = match label_matcher::Type::try_from(m.r#type).unwrap() {
                    label_matcher::Type::Eq => MatchType::Equal,
                    label_matcher::Type::Neq => MatchType::NotEqual,
                    label_matcher::Type::Re => MatchType::Regex,
                    label_matcher::Type::Nre => MatchType::NotRegex,
                };
                Matcher::new(k, m.name.clone(), m.value.clone()).unwrap()
            })
            .collect();
        self.0
            .iter()
            .filter(|(l, _)| ms.iter().all(|m| m.matches(l.get(m.name()).unwrap_or(""))))
            .map(|(l, s)| {
                let s: Samples = s
                    .iter()
                    .copied()
                    .filter(|x| x.0 >= mint && x.0 <= maxt)
                    .collect();
                (l.clone(), s)
            })
            .filter(|(_, s)| !s.is_empty())
            .collect()
    }
}

/// Check a Series result against the model: same series in order, every returned chunk
/// overlaps the range, and the samples inside the range are exactly the model's.
pub fn check(model: &Model, got: &[Series], mint: i64, maxt: i64, ms: &[LabelMatcher]) {
    let want = model.select(mint, maxt, ms);
    let got_labels: Vec<Labels> = got.iter().map(pb_labels).collect();
    let want_labels: Vec<Labels> = want.keys().cloned().collect();
    assert_eq!(
        got_labels, want_labels,
        "series for {ms:?} in [{mint}, {maxt}]"
    );
    for s in got {
        for c in &s.chunks {
            assert!(
                c.max_time >= mint && c.min_time <= maxt,
                "chunk outside range"
            );
        }
        let inside: Samples = decode_series(s)
            .into_iter()
            .filter(|x| x.0 >= mint && x.0 <= maxt)
            .collect();
        let w = &want[&pb_labels(s)];
        assert_eq!(inside.len(), w.len(), "{}", pb_labels(s));
        for (a, b) in inside.iter().zip(w) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits());
        }
    }
}

/// An in-memory cache for tests: a map plus counters.
#[derive(Debug, Default)]
pub struct MapCache {
    pub map: Mutex<HashMap<String, Bytes>>,
    pub hits: AtomicU64,
    pub lookups: AtomicU64,
}

#[async_trait::async_trait]
impl Cache for MapCache {
    async fn get_multi(&self, keys: &[String]) -> HashMap<String, Bytes> {
        let m = self.map.lock().unwrap();
        self.lookups.fetch_add(keys.len() as u64, Ordering::Relaxed);
        let out: HashMap<String, Bytes> = keys
            .iter()
            .filter_map(|k| m.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        self.hits.fetch_add(out.len() as u64, Ordering::Relaxed);
        out
    }

    async fn set_multi(&self, items: Vec<(String, Bytes)>, _ttl: Duration) {
        self.map.lock().unwrap().extend(items);
    }

    fn name(&self) -> &'static str {
        "test-map"
    }
}
