//! MultiTsdb: tenant isolation, series limit, reopen, the StoreAPI acceptance suite (head only
//! and head + cut blocks), block cut + upload into a FILESYSTEM bucket, local retention.

#![allow(clippy::unwrap_used)] // helpers and the store factory outside #[test] fns

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use strata_receive::Error;
use strata_receive::head::HeadOptions;
use strata_receive::shipper::SOURCE;
use strata_receive::tenants::{MultiTsdb, TenantOptions};
use strata_storeapi::acceptance::{Feature, StoreFactory, run_acceptance};
use strata_storeapi::convert::{labels_from_pb, pb_matcher};
use strata_storeapi::pb::thanos::{
    LabelValuesRequest, SeriesRequest, label_matcher, series_response,
};
use strata_storeapi::{RequestContext, Store};
use strata_tsdb::chunkenc::decode_xor;
use strata_tsdb::labels::Labels;

type Batch = Vec<(Labels, Vec<(i64, f64)>)>;

const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000;

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn opts(dir: &Path, limit: usize) -> TenantOptions {
    TenantOptions {
        dir: dir.to_path_buf(),
        head: HeadOptions::default(),
        tenant_label: "tenant_id".to_string(),
        external_labels: ls(&[("replica", "r1")]),
        max_series_per_tenant: limit,
    }
}

fn eq(n: &str, v: &str) -> strata_storeapi::pb::thanos::LabelMatcher {
    pb_matcher(label_matcher::Type::Eq, n, v)
}

/// Series of `store` matching `matchers` over all time: full labels -> decoded samples.
async fn query(
    store: &dyn Store,
    matchers: Vec<strata_storeapi::pb::thanos::LabelMatcher>,
) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let req = SeriesRequest {
        min_time: i64::MIN,
        max_time: i64::MAX,
        matchers,
        ..Default::default()
    };
    let mut stream = store.series(&RequestContext::default(), req).await.unwrap();
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        if let Some(series_response::Result::Series(s)) = frame.unwrap().result {
            let mut samples = Vec::new();
            for c in &s.chunks {
                samples.extend(decode_xor(&c.raw.as_ref().unwrap().data).unwrap());
            }
            samples.sort_by_key(|s| s.0);
            out.push((labels_from_pb(&s.labels), samples));
        }
    }
    out
}

fn samples(start: i64, n: usize, step: i64, v0: f64) -> Vec<(i64, f64)> {
    (0..n)
        .map(|i| (start + i as i64 * step, v0 + i as f64))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_are_isolated_and_told_apart_by_the_tenant_label() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(MultiTsdb::open(opts(tmp.path(), 0)).unwrap());
    let up = ls(&[("__name__", "up"), ("job", "x")]);
    // The tenant label inside a series is overridden by the tenant's own.
    let spoof = ls(&[("__name__", "up"), ("job", "y"), ("tenant_id", "a")]);
    db.append("a", &[(up.clone(), samples(T0, 3, 1000, 1.0))])
        .unwrap();
    db.append(
        "b",
        &[
            (up.clone(), samples(T0, 3, 1000, 10.0)),
            (spoof, samples(T0, 1, 1000, 7.0)),
        ],
    )
    .unwrap();
    assert_eq!(db.tenants(), ["a", "b"]);
    assert_eq!(db.num_series("a"), 1);
    assert_eq!(db.num_series("b"), 2);
    let store = db.store();

    let a = query(
        store.as_ref(),
        vec![eq("__name__", "up"), eq("tenant_id", "a")],
    )
    .await;
    assert_eq!(
        a,
        vec![(
            ls(&[
                ("__name__", "up"),
                ("job", "x"),
                ("replica", "r1"),
                ("tenant_id", "a")
            ]),
            samples(T0, 3, 1000, 1.0)
        )]
    );
    let all = query(store.as_ref(), vec![eq("__name__", "up")]).await;
    let names: Vec<String> = all.iter().map(|(l, _)| l.to_string()).collect();
    assert_eq!(
        names,
        [
            r#"{__name__="up", job="x", replica="r1", tenant_id="a"}"#,
            r#"{__name__="up", job="x", replica="r1", tenant_id="b"}"#,
            r#"{__name__="up", job="y", replica="r1", tenant_id="b"}"#,
        ]
    );
    assert_eq!(all[1].1, samples(T0, 3, 1000, 10.0));

    let info = store.info().await.unwrap();
    assert_eq!(info.component_type, "receive");
    let sets: Vec<Labels> = info
        .label_sets
        .iter()
        .map(|s| labels_from_pb(&s.labels))
        .collect();
    assert_eq!(
        sets,
        [
            ls(&[("replica", "r1"), ("tenant_id", "a")]),
            ls(&[("replica", "r1"), ("tenant_id", "b")])
        ]
    );
    let st = info.store.unwrap();
    assert_eq!((st.min_time, st.max_time), (T0, T0 + 2000));

    let values = store
        .label_values(
            &RequestContext::default(),
            LabelValuesRequest {
                label: "job".into(),
                start: i64::MIN,
                end: i64::MAX,
                matchers: vec![eq("tenant_id", "a")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(values.values, ["x"]);

    for bad in ["", ".", "..", "a/b"] {
        assert!(matches!(
            db.append(bad, &[(up.clone(), vec![(T0, 1.0)])]),
            Err(Error::InvalidTenant { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn series_limit_refuses_the_whole_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(MultiTsdb::open(opts(tmp.path(), 2)).unwrap());
    let s = |i: &str| ls(&[("__name__", "m"), ("i", i)]);
    db.append("a", &[(s("1"), vec![(T0, 1.0)]), (s("2"), vec![(T0, 2.0)])])
        .unwrap();
    // One known series and one new: refused as a whole.
    let err = db
        .append(
            "a",
            &[(s("1"), vec![(T0 + 1, 1.5)]), (s("3"), vec![(T0 + 1, 3.0)])],
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::SeriesLimit { tenant, limit: 2 } if tenant == "a"),
        "{err:?}"
    );
    assert_eq!(db.num_series("a"), 2);
    let got = query(db.store().as_ref(), vec![eq("__name__", "m")]).await;
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].1,
        vec![(T0, 1.0)],
        "no sample of the refused batch applied"
    );
    // Known series only: fine. Another tenant has its own budget.
    db.append("a", &[(s("2"), vec![(T0 + 1, 2.5)])]).unwrap();
    db.append("b", &[(s("3"), vec![(T0, 3.0)]), (s("4"), vec![(T0, 4.0)])])
        .unwrap();
    // After reopening the limit still counts the replayed series.
    drop(db);
    let db = MultiTsdb::open(opts(tmp.path(), 2)).unwrap();
    assert!(matches!(
        db.append("a", &[(s("9"), vec![(T0 + 5, 9.0)])]),
        Err(Error::SeriesLimit { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn reopen_restores_every_tenant() {
    let tmp = tempfile::tempdir().unwrap();
    let m = ls(&[("__name__", "m")]);
    {
        let db = MultiTsdb::open(opts(tmp.path(), 0)).unwrap();
        db.append("a", &[(m.clone(), samples(T0, 5, 1000, 1.0))])
            .unwrap();
        db.append("b", &[(m.clone(), samples(T0, 7, 1000, 2.0))])
            .unwrap();
        db.sync().unwrap();
    }
    let db = Arc::new(MultiTsdb::open(opts(tmp.path(), 0)).unwrap());
    assert_eq!(db.tenants(), ["a", "b"]);
    let got = query(db.store().as_ref(), vec![eq("__name__", "m")]).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, samples(T0, 5, 1000, 1.0));
    assert_eq!(got[1].1, samples(T0, 7, 1000, 2.0));
    assert_eq!(
        db.tenant_labels("b").unwrap(),
        ls(&[("replica", "r1"), ("tenant_id", "b")])
    );
}

/// The acceptance suite's external labels (`region=eu-west`) become one tenant: tenant label
/// `region`, tenant `eu-west`, no `--label`s. `cut`: cut blocks of 20 minutes afterwards, so the data
/// is served from blocks and head together.
struct Factory {
    cut: bool,
    keep: Mutex<Vec<tempfile::TempDir>>,
    blocks_cut: std::sync::atomic::AtomicUsize,
}

impl Factory {
    fn new(cut: bool) -> Self {
        Self {
            cut,
            keep: Mutex::new(Vec::new()),
            blocks_cut: Default::default(),
        }
    }
}

#[async_trait::async_trait]
impl StoreFactory for Factory {
    async fn make(&self, ext: Labels, series: Batch) -> Arc<dyn Store> {
        let tmp = tempfile::tempdir().unwrap();
        let mut it = ext.iter();
        let tenant = it.next().expect("the suite sets one external label");
        assert!(it.next().is_none());
        let db = Arc::new(
            MultiTsdb::open(TenantOptions {
                dir: tmp.path().to_path_buf(),
                head: HeadOptions::default(),
                tenant_label: tenant.name.clone(),
                external_labels: Labels::empty(),
                max_series_per_tenant: 0,
            })
            .unwrap(),
        );
        db.append(&tenant.value, &series).unwrap();
        if self.cut {
            // "Now" is when the data ends, so the cut follows the data.
            let now = series.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)).max();
            let cut = db
                .cut_and_upload(None, now.unwrap_or(0), 20 * 60_000)
                .await
                .unwrap();
            assert!(cut.iter().all(|b| b.cut && !b.uploaded));
            self.blocks_cut
                .fetch_add(cut.len(), std::sync::atomic::Ordering::Relaxed);
        }
        self.keep.lock().unwrap().push(tmp);
        db.store()
    }

    fn supports(&self, feature: Feature) -> bool {
        // A tenant exists only once written to.
        !matches!(feature, Feature::ExternalLabelValuesWithoutSeries)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acceptance_head_only() {
    run_acceptance(&Factory::new(false)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn acceptance_head_and_cut_blocks() {
    let f = Factory::new(true);
    run_acceptance(&f).await;
    let n = f.blocks_cut.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        n >= 5,
        "only {n} blocks cut: the suite would not exercise block reads"
    );
}

fn promtool_analyze(db_dir: &Path, id: &str) {
    let out = match std::process::Command::new("promtool")
        .args(["tsdb", "analyze"])
        .arg(db_dir)
        .arg(id)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIPPING promtool check: promtool not runnable: {e}");
            return;
        }
    };
    assert!(
        out.status.success(),
        "promtool tsdb analyze {id} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_upload_serve_and_expire() {
    const D: i64 = 10 * 60_000; // 10 minute blocks
    let tmp = tempfile::tempdir().unwrap();
    let bucket_dir = tmp.path().join("bucket");
    let bucket = strata_objstore::config::from_yaml(&format!(
        "type: FILESYSTEM\nconfig:\n  directory: {}\n",
        bucket_dir.display()
    ))
    .unwrap();
    let data_dir = tmp.path().join("data");
    // Samples up to an hour after "now" count for cuts (--tsdb.too-far-in-future.time-window).
    let mut with_window = opts(&data_dir, 0);
    with_window.head.too_far_in_future = std::time::Duration::from_secs(3600);
    let db = Arc::new(MultiTsdb::open(with_window).unwrap());
    let m = |i: &str| ls(&[("__name__", "m"), ("i", i)]);
    // 35 minutes of 15 s samples from T0 (aligned): ranges [0,10) [10,20) [20,30) minutes are
    // complete before newest - D/2 = 29m45s only for the first two.
    let a1 = samples(T0, 140, 15_000, 0.0);
    let a2 = samples(T0 + 60_000, 40, 15_000, 100.0);
    db.append("a", &[(m("1"), a1.clone()), (m("2"), a2.clone())])
        .unwrap();
    db.append("b", &[(m("1"), samples(T0, 3, 15_000, 5.0))])
        .unwrap();
    // "Now" is 10 minutes into the data: tenant a's cut follows its data (within the window),
    // tenant b's head (30 s) is not cut yet.
    let now = T0 + D;

    let shipped = db
        .cut_and_upload(Some(bucket.as_ref()), now, D)
        .await
        .unwrap();
    let ranges: Vec<(String, i64, i64, bool, bool)> = shipped
        .iter()
        .map(|b| {
            (
                b.tenant.clone(),
                b.min_time - T0,
                b.max_time - T0,
                b.cut,
                b.uploaded,
            )
        })
        .collect();
    assert_eq!(
        ranges,
        [
            ("a".to_string(), 0, D, true, true),
            ("a".to_string(), D, 2 * D, true, true)
        ],
        "tenant b's head spans less than 1.5 blocks"
    );
    let head_min = T0 + 2 * D;
    assert!(matches!(
        db.append("a", &[(m("3"), vec![(head_min - 1, 1.0)])]),
        Err(Error::OutOfBounds { .. } | Error::OutOfOrder { .. })
    ));

    // In the bucket, with the Thanos section.
    let metas = strata_objstore::block::list_block_metas(bucket.as_ref())
        .await
        .unwrap();
    assert_eq!(metas.metas.len(), 2);
    for b in &shipped {
        let meta = &metas.metas[&b.id];
        let th = meta.thanos.as_ref().unwrap();
        let want: BTreeMap<String, String> = [("replica", "r1"), ("tenant_id", "a")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(th.labels, want);
        assert_eq!(th.source, SOURCE);
        assert_eq!(th.downsample.resolution, 0);
        promtool_analyze(&data_dir.join("a").join("blocks"), &b.id.to_string());
    }

    // Still queryable, from blocks and head together, without duplicates.
    let check = |got: Vec<(Labels, Vec<(i64, f64)>)>| {
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, a1);
        assert_eq!(got[1].1, a2);
    };
    check(
        query(
            db.store().as_ref(),
            vec![eq("__name__", "m"), eq("tenant_id", "a")],
        )
        .await,
    );

    // A second call uploads nothing new; after a restart the blocks are served again.
    let again = db
        .cut_and_upload(Some(bucket.as_ref()), now, D)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    drop(db);
    let db = Arc::new(MultiTsdb::open(opts(&data_dir, 0)).unwrap());
    assert_eq!(db.local_blocks("a").len(), 2);
    check(
        query(
            db.store().as_ref(),
            vec![eq("__name__", "m"), eq("tenant_id", "a")],
        )
        .await,
    );

    // Retention: blocks ending at least `retention` ago go; the newer one stays.
    let now = T0 + 2 * D + 60_000;
    let deleted = db.delete_expired(D + 60_000, now).unwrap();
    assert_eq!(deleted, vec![shipped[0].id]);
    assert!(!shipped[0].dir.exists());
    assert!(shipped[1].dir.exists());
    assert_eq!(db.local_blocks("a").len(), 1);
    let got = query(
        db.store().as_ref(),
        vec![eq("__name__", "m"), eq("tenant_id", "a")],
    )
    .await;
    let first_kept = T0 + D;
    assert_eq!(
        got[0].1,
        a1.iter()
            .copied()
            .filter(|s| s.0 >= first_kept)
            .collect::<Vec<_>>()
    );

    // An idle tenant's head is cut once `now` is far enough past its data.
    let shipped = db
        .cut_and_upload(Some(bucket.as_ref()), T0 + 10 * D, D)
        .await
        .unwrap();
    let cut: Vec<(&str, i64)> = shipped
        .iter()
        .map(|b| (b.tenant.as_str(), b.min_time - T0))
        .collect();
    assert_eq!(cut, [("a", 2 * D), ("a", 3 * D), ("b", 0)]);
    assert_eq!(db.num_series("a"), 0);
    check_b(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queries_during_a_cut_see_every_sample() {
    const D: i64 = 5 * 60_000;
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(MultiTsdb::open(opts(tmp.path(), 0)).unwrap());
    let batch: Batch = (0..50)
        .map(|i| {
            (
                ls(&[("__name__", "m"), ("i", &i.to_string())]),
                samples(T0, 240, 15_000, f64::from(i)),
            )
        })
        .collect();
    db.append("a", &batch).unwrap();
    let store = db.store();
    let reader = tokio::spawn(async move {
        let mut rounds = 0;
        loop {
            let got = query(store.as_ref(), vec![eq("__name__", "m")]).await;
            assert_eq!(got.len(), 50, "round {rounds}");
            assert!(got.iter().all(|(_, s)| s.len() == 240), "round {rounds}");
            rounds += 1;
            if rounds >= 40 {
                return rounds;
            }
        }
    });
    let cut = db.cut_and_upload(None, T0 + 100 * D, D).await.unwrap();
    assert_eq!(cut.len(), 12, "an hour in 5 minute blocks");
    assert_eq!(db.num_series("a"), 0);
    assert_eq!(reader.await.unwrap(), 40);
}

async fn check_b(db: &Arc<MultiTsdb>) {
    let got = query(
        db.store().as_ref(),
        vec![eq("__name__", "m"), eq("tenant_id", "b")],
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, samples(T0, 3, 15_000, 5.0));
}

mod model {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    /// One append: tenant index, series ids (with one sample each) at a step.
    fn op() -> impl Strategy<Value = (usize, Vec<u8>)> {
        (0..2usize, proptest::collection::vec(0..6u8, 0..4))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Against a model: an append is refused exactly when it would take its tenant past
        /// the limit, refused appends change nothing, tenants count separately, and a reopen
        /// restores every tenant's series.
        #[test]
        fn series_limit_matches_a_model(ops in proptest::collection::vec(op(), 1..12), limit in 1..5usize) {
            let tmp = tempfile::tempdir().unwrap();
            let db = MultiTsdb::open(opts(tmp.path(), limit)).unwrap();
            let names = ["a", "b"];
            let mut model: BTreeMap<&str, BTreeSet<u8>> = BTreeMap::new();
            for (step, (ti, ids)) in ops.iter().enumerate() {
                let tenant = names[*ti];
                let batch: Batch = ids
                    .iter()
                    .map(|i| (ls(&[("__name__", "m"), ("i", &i.to_string())]), vec![(T0 + step as i64, 1.0)]))
                    .collect();
                let known = model.entry(tenant).or_default();
                let mut after = known.clone();
                after.extend(ids.iter().copied());
                let res = db.append(tenant, &batch);
                if after.len() > limit && after.len() > known.len() {
                    prop_assert!(matches!(res, Err(Error::SeriesLimit { .. })), "{res:?}");
                } else {
                    prop_assert!(res.is_ok(), "{res:?}");
                    *known = after;
                }
                for t in names {
                    prop_assert_eq!(db.num_series(t), model.get(t).map_or(0, BTreeSet::len));
                }
            }
            drop(db);
            let db = MultiTsdb::open(opts(tmp.path(), limit)).unwrap();
            for t in names {
                prop_assert_eq!(db.num_series(t), model.get(t).map_or(0, BTreeSet::len));
            }
        }
    }
}
