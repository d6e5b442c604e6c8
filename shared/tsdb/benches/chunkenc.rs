//! XOR chunk encode/decode throughput on realistic series (15s scrapes with jitter; a counter,
//! a gauge of random floats, and a constant). Run: `cargo bench -p strata-tsdb --bench chunkenc`.
//! Criterion reports elements (samples) per second on one core.
#![allow(clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use strata_tsdb::chunkenc::{XorAppender, decode_xor_into};

const CHUNKS: usize = 1000;
const PER_CHUNK: usize = 120;

fn series(kind: &str) -> Vec<Vec<(i64, f64)>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut t = 1_700_000_000_000i64;
    let mut c = 0.0;
    (0..CHUNKS)
        .map(|_| {
            (0..PER_CHUNK)
                .map(|_| {
                    t += 15_000 + (rnd() % 5) as i64 - 2;
                    let v = match kind {
                        "counter" => {
                            c += (rnd() % 100) as f64;
                            c
                        }
                        "gauge" => (rnd() >> 11) as f64 / (1u64 << 53) as f64 * 100.0,
                        _ => 1.0,
                    };
                    (t, v)
                })
                .collect()
        })
        .collect()
}

fn encode(s: &[(i64, f64)]) -> Vec<u8> {
    let mut a = XorAppender::new();
    for &(t, v) in s {
        a.append(t, v);
    }
    a.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("xor");
    g.throughput(Throughput::Elements((CHUNKS * PER_CHUNK) as u64));
    for kind in ["counter", "gauge", "constant"] {
        let data = series(kind);
        let chunks: Vec<Vec<u8>> = data.iter().map(|s| encode(s)).collect();
        let bytes: usize = chunks.iter().map(Vec::len).sum();
        eprintln!(
            "{kind}: {:.2} bytes/sample",
            bytes as f64 / (CHUNKS * PER_CHUNK) as f64
        );
        g.bench_with_input(BenchmarkId::new("encode", kind), &data, |b, data| {
            b.iter(|| {
                let mut n = 0;
                for s in data {
                    n += encode(s).len();
                }
                n
            })
        });
        g.bench_with_input(BenchmarkId::new("decode", kind), &chunks, |b, chunks| {
            let mut ts = Vec::with_capacity(PER_CHUNK);
            let mut vs = Vec::with_capacity(PER_CHUNK);
            b.iter(|| {
                let mut sum = 0i64;
                for c in chunks {
                    ts.clear();
                    vs.clear();
                    decode_xor_into(c, &mut ts, &mut vs).unwrap();
                    sum = sum.wrapping_add(ts[ts.len() - 1]);
                }
                sum
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
