//! Corrupted and half-uploaded blocks are skipped (logged and counted) while the rest is served;
//! deletion marks older than the delay drop blocks; limits refuse requests with
//! ResourceExhausted; time sharding; index-headers are reused from local disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use strata_storeapi::StoreError;
use strata_tsdb::meta::DeletionMark;

const H: i64 = 7_200_000;

fn some_series(job: &str, n: usize) -> Vec<(strata_tsdb::Labels, Samples)> {
    (0..n)
        .map(|i| {
            let inst = format!("i-{i}");
            (
                labels(&[("__name__", "m"), ("job", job), ("instance", &inst)]),
                samples(0, H, 15_000, i as u64),
            )
        })
        .collect()
}

#[tokio::test]
async fn corrupted_blocks_are_skipped_and_the_rest_served() {
    let b = Bucket::new();
    let good = some_series("good", 3);
    b.write_block(0, H, &[("b", "good")], &good);
    let truncated = b.write_block(0, H, &[("b", "trunc")], &some_series("trunc", 3));
    let garbage = b.write_block(0, H, &[("b", "garbage")], &some_series("garbage", 3));
    let nochunks = b.write_block(0, H, &[("b", "nochunks")], &some_series("nochunks", 3));
    let partial = b.write_block(0, H, &[("b", "partial")], &some_series("partial", 3));

    let index = b.block_file(&truncated.ulid, "index");
    let len = std::fs::metadata(&index).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&index)
        .unwrap();
    f.set_len(len / 2).unwrap();
    std::fs::write(b.block_file(&garbage.ulid, "meta.json"), b"{not json").unwrap();
    std::fs::remove_file(b.block_file(&nochunks.ulid, "chunks/000001")).unwrap();
    std::fs::remove_file(b.block_file(&partial.ulid, "meta.json")).unwrap();

    let store = strata_store_gateway::BucketStore::new(std::sync::Arc::clone(&b.store), b.config());
    let report = store.sync().await.unwrap();
    let mut failed: Vec<_> = report.failed.iter().map(|(id, _)| *id).collect();
    failed.sort();
    let mut want = vec![truncated.ulid, garbage.ulid, nochunks.ulid];
    want.sort();
    assert_eq!(failed, want, "{report:?}");
    assert_eq!(report.partial, vec![partial.ulid]);
    assert_eq!(report.serving, 1);
    assert!(store.is_ready());
    let m = store.metrics();
    assert_eq!(m.corrupted_blocks, 3);
    assert_eq!(m.blocks_loaded, 1);
    // A second sync retries but does not count the same corrupted blocks again.
    let again = store.sync().await.unwrap();
    assert_eq!(again.failed.len(), 3);
    assert_eq!(store.metrics().corrupted_blocks, 3);

    let mut model = Model::default();
    model.add(&[("b", "good")], &good);
    let ms = vec![eq("__name__", "m")];
    let got = collect(&store, req(0, H, ms.clone())).await.unwrap();
    check(&model, &got, 0, H, &ms);
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn mark(b: &Bucket, id: ulid::Ulid, age_secs: i64) {
    let m = DeletionMark {
        id,
        version: 1,
        details: String::new(),
        deletion_time: unix_now() - age_secs,
    };
    strata_objstore::write_marker(b.store.as_ref(), id, &m)
        .await
        .unwrap();
}

#[tokio::test]
async fn deletion_marks_and_deleted_blocks() {
    let b = Bucket::new();
    let old = b.write_block(0, H, &[("b", "old")], &some_series("a", 2));
    let fresh = b.write_block(0, H, &[("b", "fresh")], &some_series("a", 2));
    let later = b.write_block(0, H, &[("b", "later")], &some_series("a", 2));
    let gone = b.write_block(0, H, &[("b", "gone")], &some_series("a", 2));
    mark(&b, old.ulid, 2 * 24 * 3600).await;
    mark(&b, fresh.ulid, 60).await;
    let mut cfg = b.config();
    cfg.ignore_deletion_marks_delay = Duration::from_secs(24 * 3600);
    let store = strata_store_gateway::BucketStore::new(std::sync::Arc::clone(&b.store), cfg);
    let r = store.sync().await.unwrap();
    assert_eq!(r.marked, vec![old.ulid]);
    assert_eq!(r.serving, 3);
    let data_dir = b.data_dir();
    assert!(
        data_dir
            .join(gone.ulid.to_string())
            .join("index-header")
            .exists()
    );

    mark(&b, later.ulid, 25 * 3600).await;
    strata_objstore::delete_block(b.store.as_ref(), gone.ulid)
        .await
        .unwrap();
    let r = store.sync().await.unwrap();
    let mut dropped = r.dropped.clone();
    dropped.sort();
    let mut want = vec![later.ulid, gone.ulid];
    want.sort();
    assert_eq!(dropped, want);
    assert_eq!(r.serving, 1);
    assert!(
        !data_dir.join(gone.ulid.to_string()).exists(),
        "local files removed"
    );
    let got = collect(&store, req(0, H, vec![eq("job", "a")]))
        .await
        .unwrap();
    assert!(
        got.iter()
            .all(|s| s.labels.iter().any(|l| l.value == "fresh"))
    );
    assert_eq!(got.len(), 2);
    assert_eq!(store.metrics().block_drops, 2);
}

#[tokio::test]
async fn limits_refuse_with_resource_exhausted() {
    let b = Bucket::new();
    b.write_block(0, H, &[("b", "1")], &some_series("a", 10));
    b.write_block(H, 2 * H, &[("b", "1")], &some_series_at("a", 10, H));
    let mut cfg = b.config();
    cfg.series_limit = 15;
    let store = b.synced_store(cfg.clone()).await;
    let ms = vec![eq("job", "a")];
    // 10 series in each of two blocks: 20 touched > 15.
    let err = collect(&store, req(0, 2 * H, ms.clone()))
        .await
        .unwrap_err();
    match err {
        StoreError::ResourceExhausted(m) => assert!(m.contains("series limit"), "{m}"),
        e => panic!("unexpected {e:?}"),
    }
    // One block only: 10 series pass.
    assert_eq!(
        collect(&store, req(0, H - 1, ms.clone()))
            .await
            .unwrap()
            .len(),
        10
    );

    // The limit is exactly the first block's chunks x 120: one block passes, two do not.
    let unlimited = b.synced_store(b.config()).await;
    let chunks: usize = collect(&unlimited, req(0, H - 1, ms.clone()))
        .await
        .unwrap()
        .iter()
        .map(|s| s.chunks.len())
        .sum();
    let mut cfg = b.config();
    cfg.samples_limit = chunks as u64 * 120;
    let store = b.synced_store(cfg).await;
    let err = collect(&store, req(0, 2 * H, ms.clone()))
        .await
        .unwrap_err();
    match err {
        StoreError::ResourceExhausted(m) => assert!(m.contains("samples limit"), "{m}"),
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(
        collect(&store, req(0, H - 1, ms.clone()))
            .await
            .unwrap()
            .len(),
        10
    );
    assert!(store.metrics().limit_rejections >= 1);
}

fn some_series_at(job: &str, n: usize, from: i64) -> Vec<(strata_tsdb::Labels, Samples)> {
    (0..n)
        .map(|i| {
            let inst = format!("i-{i}");
            (
                labels(&[("__name__", "m"), ("job", job), ("instance", &inst)]),
                samples(from, from + H, 15_000, i as u64),
            )
        })
        .collect()
}

#[tokio::test]
async fn time_sharding_and_index_header_reuse() {
    let b = Bucket::new();
    b.write_block(0, H, &[("b", "1")], &some_series("a", 3));
    b.write_block(H, 2 * H, &[("b", "1")], &some_series_at("a", 3, H));
    let mut cfg = b.config();
    cfg.min_time = H + 1;
    let store = b.synced_store(cfg).await;
    assert_eq!(store.blocks().len(), 1);
    let got = collect(&store, req(0, 2 * H, vec![eq("job", "a")]))
        .await
        .unwrap();
    assert!(got.iter().all(|s| s.chunks.iter().all(|c| c.min_time >= H)));
    let info = strata_storeapi::Store::info(&store).await.unwrap();
    assert_eq!(info.store.unwrap().min_time, H + 1);

    // Same data dir: the second store reads index-headers from disk, not from the bucket.
    let first = b.synced_store(b.config()).await;
    assert_eq!(first.metrics().index_headers_loaded, 1);
    assert_eq!(first.metrics().index_headers_built, 1);
    let before = b.stats.snapshot();
    let second = b.synced_store(b.config()).await;
    let used = b.stats.snapshot().since(&before);
    assert_eq!(second.metrics().index_headers_loaded, 2);
    assert_eq!(second.metrics().index_headers_built, 0);
    assert_eq!(used.get_range, 0, "no index reads at startup: {used:?}");
}
