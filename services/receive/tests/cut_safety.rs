//! Block cuts that must not hurt a tenant: a far-future sample never moves the cut (with or
//! without `--tsdb.too-far-in-future.time-window`), and failed or interrupted cuts leave no
//! `*.tmp-for-creation` directory behind.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns

use std::path::Path;
use std::time::Duration;

use strata_receive::Error;
use strata_receive::tenants::{BLOCKS_DIR, MultiTsdb, TenantOptions};
use strata_tsdb::labels::Labels;

/// 10 minute blocks.
const D: i64 = 10 * 60_000;
/// 2300-01-01T00:00:00Z in ms.
const YEAR_2300: i64 = 10_413_792_000_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn m(i: &str) -> Labels {
    Labels::from_pairs([("__name__", "m"), ("i", i)])
}

/// 15 s samples ending exactly at `end`.
fn samples_until(end: i64, n: i64) -> Vec<(i64, f64)> {
    (0..n)
        .map(|k| (end - (n - 1 - k) * 15_000, k as f64))
        .collect()
}

fn tmp_dirs(blocks: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(blocks) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp-for-creation"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_far_future_sample_never_blocks_current_samples_across_cuts_and_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    // No window (the default, as Thanos): the far-future sample is accepted and kept.
    let db = MultiTsdb::open(TenantOptions::new(tmp.path())).unwrap();
    let now = now_ms();
    db.append("a", &[(m("1"), samples_until(now, 160))])
        .unwrap();
    db.append("a", &[(m("future"), vec![(YEAR_2300, 1.0)])])
        .unwrap();
    let cut = db.cut_and_upload(None, now, D).await.unwrap();
    assert!(!cut.is_empty(), "the complete past ranges are cut");
    assert!(
        cut.iter().all(|b| b.max_time <= now - D / 2),
        "no cut reaches past now - D/2: {cut:?}"
    );
    // Before the fix the cut followed the 2300 sample and covered `now`: 409 from here on.
    db.append("a", &[(m("1"), vec![(now + 1, 1.0)])]).unwrap();
    db.append("a", &[(m("2"), vec![(now + 1, 1.0)])]).unwrap();

    drop(db);
    let db = MultiTsdb::open(TenantOptions::new(tmp.path())).unwrap();
    let now2 = now_ms().max(now + 1);
    db.cut_and_upload(None, now2, D).await.unwrap();
    db.append("a", &[(m("1"), vec![(now2 + 2, 2.0)])]).unwrap();
    assert_eq!(
        db.num_series("a"),
        3,
        "m1, m2 and the 2300 series stay in the head"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_window_far_future_samples_get_400_and_nearby_ones_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = TenantOptions::new(tmp.path());
    opts.head.too_far_in_future = Duration::from_secs(300);
    let db = MultiTsdb::open(opts).unwrap();
    let now = now_ms();
    let err = db
        .append(
            "a",
            &[
                (m("1"), vec![(now, 1.0)]),
                (m("future"), vec![(YEAR_2300, 1.0)]),
            ],
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::TooFarInFuture { t: YEAR_2300, .. }),
        "{err:?}"
    );
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("too far in the future"), "{err}");
    assert_eq!(
        db.num_series("a"),
        0,
        "all-or-nothing: nothing of the request stored"
    );
    // Within the window (clock skew) is fine, and does not move the cut past now either.
    db.append("a", &[(m("1"), samples_until(now, 160))])
        .unwrap();
    db.append("a", &[(m("soon"), vec![(now + 60_000, 1.0)])])
        .unwrap();
    let cut = db.cut_and_upload(None, now, D).await.unwrap();
    assert!(
        cut.iter().all(|b| b.max_time <= now + 300_000 - D / 2),
        "{cut:?}"
    );
    db.append("a", &[(m("1"), vec![(now + 1, 1.0)])]).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_cut_leaves_no_tmp_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let db = MultiTsdb::open(TenantOptions::new(tmp.path())).unwrap();
    let now = now_ms();
    // The head takes a label with an empty name (remote write refuses it before, with 400);
    // the index writer refuses it once the chunks are written: the cut fails midway.
    let bad = Labels::from_pairs([("", "x"), ("__name__", "m")]);
    db.append("a", &[(bad, samples_until(now, 160))]).unwrap();
    let blocks = tmp.path().join("a").join(BLOCKS_DIR);
    for round in 0..3 {
        let err = db.cut_and_upload(None, now, D).await.unwrap_err();
        assert!(err.to_string().contains("empty label name"), "{err}");
        assert!(blocks.is_dir());
        assert_eq!(tmp_dirs(&blocks), Vec::<String>::new(), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leftover_tmp_dir_is_removed_at_start_up_and_before_a_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let now = now_ms();
    let db = MultiTsdb::open(TenantOptions::new(tmp.path())).unwrap();
    db.append("a", &[(m("1"), samples_until(now, 160))])
        .unwrap();
    drop(db);
    // What a kill -9 during a cut leaves.
    let blocks = tmp.path().join("a").join(BLOCKS_DIR);
    let leftover = |name: &str| {
        let d = blocks.join(format!("{}.tmp-for-creation", ulid::Ulid::generate()));
        std::fs::create_dir_all(d.join("chunks")).unwrap();
        std::fs::write(d.join("chunks").join("000001"), name).unwrap();
    };
    leftover("crash");
    let db = MultiTsdb::open(TenantOptions::new(tmp.path())).unwrap();
    assert_eq!(tmp_dirs(&blocks), Vec::<String>::new());
    // One that appears while running (e.g. a removal that failed) goes at the next cut.
    leftover("later");
    let cut = db.cut_and_upload(None, now, D).await.unwrap();
    assert!(!cut.is_empty());
    assert_eq!(tmp_dirs(&blocks), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_write_answers_400_with_the_reason_for_a_sample_beyond_the_window() {
    use strata_receive::service::{ServiceConfig, run};
    let tmp = tempfile::tempdir().unwrap();
    let mut tenants = TenantOptions::new(tmp.path());
    tenants.head.too_far_in_future = Duration::from_secs(300);
    let mut cfg = ServiceConfig::new(tenants);
    cfg.remote_write_address = "127.0.0.1:0".to_string();
    cfg.grpc_address = "127.0.0.1:0".to_string();
    cfg.http_address = "127.0.0.1:0".to_string();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run(
        cfg,
        async {
            let _ = stop_rx.await;
        },
        move |r| {
            let _ = addr_tx.send(r.remote_write_addr);
        },
    ));
    let rw = addr_rx.await.unwrap();
    let post = |t: i64| async move {
        let body = strata_receive::remote_write::encode(&[(m("1"), vec![(t, 1.0)])]).unwrap();
        strata_testkit::http::Client::new()
            .send("POST", rw, "/api/v1/receive", &[], body)
            .await
            .unwrap()
    };
    let r = post(YEAR_2300).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("too far in the future"), "{}", r.text());
    let r = post(now_ms()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    stop_tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}
