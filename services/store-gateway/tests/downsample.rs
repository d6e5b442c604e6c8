//! Downsampled blocks: the coarsest resolution not above `max_resolution_window` is used, gaps
//! are filled from finer resolutions, and only the requested aggregates are returned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use strata_storeapi::pb::thanos::{Aggr, Series};
use strata_tsdb::aggr::{AggrSlot, encode_aggr_chunk};
use strata_tsdb::block::{BlockWriter, EncodedChunk};
use strata_tsdb::chunkenc::{Encoding, XorAppender, decode_xor};
use strata_tsdb::meta::ThanosMeta;

const H: i64 = 3_600_000;
const RES_5M: i64 = 300_000;

fn xor(points: &[(i64, f64)]) -> Vec<u8> {
    let mut a = XorAppender::new();
    for (t, v) in points {
        a.append(*t, *v);
    }
    a.into_bytes()
}

/// A 5m block over [0, 40h) with one aggregate chunk per 10h for series {__name__="m"}.
fn write_5m_block(dir: &std::path::Path) {
    let mut w = BlockWriter::create(dir, 0, 40 * H).unwrap();
    let mut chunks: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    for part in 0..4 {
        let ts: Vec<i64> = (0..120)
            .map(|i| part * 10 * H + i * RES_5M + RES_5M - 1)
            .collect();
        let pts = |f: &dyn Fn(usize) -> f64| -> Vec<(i64, f64)> {
            ts.iter().enumerate().map(|(i, t)| (*t, f(i))).collect()
        };
        let count = xor(&pts(&|_| 10.0));
        let sum = xor(&pts(&|i| i as f64 * 10.0));
        let min = xor(&pts(&|i| i as f64 - 1.0));
        let max = xor(&pts(&|i| i as f64 + 1.0));
        let counter = xor(&pts(&|i| (part as usize * 120 + i) as f64));
        let data = encode_aggr_chunk([
            slot(&count),
            slot(&sum),
            slot(&min),
            slot(&max),
            slot(&counter),
        ]);
        chunks.push((ts[0], ts[119], data));
    }
    let refs: Vec<EncodedChunk<'_>> = chunks
        .iter()
        .map(|(a, b, d)| EncodedChunk {
            min_time: *a,
            max_time: *b,
            encoding: Encoding::Aggr,
            data: d.as_slice(),
            samples: 120,
        })
        .collect();
    w.add_series_chunks(labels(&[("__name__", "m")]), &refs)
        .unwrap();
    let mut t = ThanosMeta {
        version: Some(1),
        labels: [("cluster".to_string(), "c".to_string())].into(),
        source: "test".into(),
        ..Default::default()
    };
    t.downsample.resolution = RES_5M;
    w.finish(Some(t)).unwrap();
}

fn slot(d: &[u8]) -> Option<AggrSlot<'_>> {
    Some(AggrSlot {
        encoding: Encoding::Xor,
        data: d,
    })
}

fn slots(s: &Series) -> Vec<(bool, bool, bool, bool, bool, bool)> {
    s.chunks
        .iter()
        .map(|c| {
            (
                c.raw.is_some(),
                c.count.is_some(),
                c.sum.is_some(),
                c.min.is_some(),
                c.max.is_some(),
                c.counter.is_some(),
            )
        })
        .collect()
}

#[tokio::test]
async fn resolution_selection_and_aggregates() {
    let b = Bucket::new();
    write_5m_block(&b.dir);
    // Raw data for [38h, 48h): overlaps the end of the 5m block and covers what it lacks.
    let raw = vec![(
        labels(&[("__name__", "m")]),
        samples(38 * H, 48 * H, 60_000, 1),
    )];
    write_block_in(&b.dir, 38 * H, 48 * H, &[("cluster", "c")], &raw, 0);
    let store = b.synced_store(b.config()).await;
    let ms = vec![eq("__name__", "m")];

    // Raw only: just the raw block's chunks.
    let got = collect(&store, req(0, 48 * H, ms.clone())).await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(slots(&got[0]).iter().all(|s| s.0 && !s.1));
    assert!(got[0].chunks.iter().all(|c| c.min_time >= 38 * H));

    // 5m allowed: aggregates for [0, 40h), raw chunks fill [40h, 48h).
    let mut r = req(0, 48 * H, ms.clone());
    r.max_resolution_window = 3_600_000;
    r.aggregates = vec![Aggr::Count as i32, Aggr::Sum as i32];
    let got = collect(&store, r).await.unwrap();
    assert_eq!(got.len(), 1);
    let s = slots(&got[0]);
    let aggr: Vec<_> = s.iter().filter(|s| !s.0).collect();
    assert_eq!(aggr.len(), 4);
    assert!(aggr.iter().all(|s| s.1 && s.2 && !s.3 && !s.4 && !s.5));
    assert!(s.iter().any(|s| s.0), "raw chunks fill the gap after 40h");
    assert!(
        got[0]
            .chunks
            .windows(2)
            .all(|w| w[0].min_time <= w[1].min_time)
    );
    let first = &got[0].chunks[0];
    let count = decode_xor(&first.count.as_ref().unwrap().data).unwrap();
    assert_eq!(count.len(), 120);
    assert!(count.iter().all(|(_, v)| *v == 10.0));
    let sum = decode_xor(&first.sum.as_ref().unwrap().data).unwrap();
    assert_eq!(sum[5], (5 * RES_5M + RES_5M - 1, 50.0));

    // Only MAX, over a range inside the 5m block: no raw chunk.
    let mut r = req(0, 20 * H, ms.clone());
    r.max_resolution_window = RES_5M;
    r.aggregates = vec![Aggr::Max as i32];
    let got = collect(&store, r).await.unwrap();
    let s = slots(&got[0]);
    assert_eq!(
        s.len(),
        2,
        "chunks of [0,10h) and [10h,20h); the next starts after 20h"
    );
    assert!(
        s.iter()
            .all(|s| *s == (false, false, false, false, true, false))
    );
    let max = decode_xor(&got[0].chunks[1].max.as_ref().unwrap().data).unwrap();
    assert_eq!(max[0].1, 1.0);
}
