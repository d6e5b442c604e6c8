//! Object-store cost of queries: a selective query over a multi-block bucket must read far less
//! than the index and chunk files (GETs and bytes counted by `InstrumentedStore`), and a repeated
//! query with an index + chunk cache must skip the GETs and return identical series.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use strata_store_gateway::FetchConfig;

const H: i64 = 7_200_000;
const BLOCKS: i64 = 4;

async fn big_bucket() -> (Bucket, Model, u64) {
    let b = Bucket::new();
    let mut model = Model::default();
    let mut total = 0;
    for blk in 0..BLOCKS {
        let mut series = Vec::new();
        for job in 0..10 {
            for inst in 0..100 {
                let (j, i) = (format!("job-{job}"), format!("i-{inst}"));
                series.push((
                    labels(&[
                        ("__name__", "requests_total"),
                        ("job", &j),
                        ("instance", &i),
                    ]),
                    samples(blk * H, (blk + 1) * H, 30_000, (job * 100 + inst) as u64),
                ));
            }
        }
        let ext = [("cluster", "c1")];
        let meta = b.upload_block(blk * H, (blk + 1) * H, &ext, &series).await;
        model.add(&ext, &series);
        total += meta
            .thanos
            .as_ref()
            .unwrap()
            .files
            .iter()
            .filter_map(|f| f.size_bytes)
            .sum::<u64>();
    }
    (b, model, total)
}

#[tokio::test]
async fn selective_query_reads_a_small_fraction_of_the_bucket() {
    let (b, model, total) = big_bucket().await;
    let store = b.synced_store(b.config()).await;
    for blk in store.blocks() {
        eprintln!(
            "block {}: index-header file {} B, resident ~{} B",
            blk.meta.ulid, blk.index_header_bytes, blk.resident_bytes
        );
        assert!(blk.index_header_bytes < total / BLOCKS as u64 / 20);
    }
    let cases = [
        (
            vec![eq("job", "job-3"), eq("instance", "i-7")],
            0.01,
            // Per block: the two postings lists (one GET, or two when far apart: bytes are
            // bounded before requests), one series entry, one chunk range.
            4 * BLOCKS as u64,
        ),
        // One series in ten, interleaved with the others (instance sorts before job): chunks
        // are fetched one GET per series rather than reading the whole segment.
        (vec![eq("job", "job-3")], 0.2, 110 * BLOCKS as u64),
    ];
    for (ms, max_ratio, max_gets) in cases {
        let before = b.stats.snapshot();
        let m0 = store.metrics();
        let got = collect(&store, req(0, BLOCKS * H, ms.clone()))
            .await
            .unwrap();
        let used = b.stats.snapshot().since(&before);
        let m = store.metrics().since(&m0);
        check(&model, &got, 0, BLOCKS * H, &ms);
        let ratio = used.bytes_read as f64 / total as f64;
        eprintln!(
            "query {ms:?}: {} series, {} GETs ({} postings, {} series, {} chunks), {} of {} bytes \
             ({:.3}%): postings {} B, series {} B, chunks {} B",
            got.len(),
            used.gets(),
            m.postings_gets,
            m.series_gets,
            m.chunk_gets,
            used.bytes_read,
            total,
            ratio * 100.0,
            m.postings_bytes_fetched,
            m.series_bytes_fetched,
            m.chunk_bytes_fetched,
        );
        assert_eq!(
            used.head + used.get + used.list,
            0,
            "only ranged GETs: {used:?}"
        );
        assert!(ratio < max_ratio, "read {ratio} of the bucket for {ms:?}");
        assert!(used.gets() <= max_gets, "{} GETs for {ms:?}", used.gets());
    }
}

#[tokio::test]
async fn repeated_query_hits_the_cache() {
    let (b, _model, _) = big_bucket().await;
    let cache = Arc::new(MapCache::default());
    let mut cfg = b.config();
    cfg.index_cache = Some(cache.clone());
    cfg.chunk_cache = Some(cache.clone());
    let store = b.synced_store(cfg).await;
    let ms = vec![
        eq("job", "job-3"),
        matcher(
            strata_storeapi::pb::thanos::label_matcher::Type::Re,
            "instance",
            "i-1.",
        ),
    ];
    let before = b.stats.snapshot();
    let first = collect(&store, req(0, BLOCKS * H, ms.clone()))
        .await
        .unwrap();
    let cold = b.stats.snapshot().since(&before);
    let m1 = store.metrics();
    let before = b.stats.snapshot();
    let second = collect(&store, req(0, BLOCKS * H, ms.clone()))
        .await
        .unwrap();
    let warm = b.stats.snapshot().since(&before);
    let m2 = store.metrics().since(&m1);
    eprintln!("cold: {cold:?}\nwarm: {warm:?}\nwarm metrics: {m2:?}");
    assert_eq!(first.len(), 10);
    assert_eq!(first, second, "identical series from the cache");
    assert!(cold.gets() > 0);
    assert_eq!(warm.gets(), 0, "everything came from the cache");
    assert!(m2.postings_cache_hits > 0 && m2.series_cache_hits > 0 && m2.chunk_cache_hits > 0);
    assert_eq!(
        m2.postings_cache_misses + m2.series_cache_misses + m2.chunk_cache_misses,
        0
    );
}

/// Prints GETs and bytes per gap for a medium query (run with `--ignored --nocapture`).
#[tokio::test]
#[ignore]
async fn measure_gaps() {
    let (b, _model, total) = big_bucket().await;
    for (gap, ratio) in [
        (0u64, 1.0),
        (0, 1.5),
        (0, 3.0),
        (512, 1.5),
        (4096, 1.5),
        (16 * 1024, 1.5),
        (512 * 1024, 1000.0),
    ] {
        let mut cfg = b.config();
        cfg.fetch = FetchConfig {
            chunks_min_gap: gap,
            max_overfetch: ratio,
            ..FetchConfig::default()
        };
        let store = b.synced_store(cfg).await;
        for ms in [
            vec![eq("job", "job-3")],
            vec![matcher(
                strata_storeapi::pb::thanos::label_matcher::Type::Re,
                "instance",
                "i-(1|5)0",
            )],
            vec![eq("__name__", "requests_total")],
        ] {
            let before = b.stats.snapshot();
            let got = collect(&store, req(0, BLOCKS * H, ms.clone()))
                .await
                .unwrap();
            let used = b.stats.snapshot().since(&before);
            eprintln!(
                "min gap {gap:>7} overfetch {ratio:>6}: {:>4} series {:>4} GETs {:>9} bytes ({:.2}% of {total}) for {ms:?}",
                got.len(),
                used.gets(),
                used.bytes_read,
                used.bytes_read as f64 * 100.0 / total as f64
            );
        }
    }
}
