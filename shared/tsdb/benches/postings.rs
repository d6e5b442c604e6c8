//! Postings set operations (intersection, k-way union) on sorted `u32` series refs, in elements
//! per second of input.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata_tsdb::postings::{intersect, intersect_many, merge};

/// `n` distinct sorted refs spread over `0..n*spread` by a deterministic generator.
fn list(n: usize, spread: u32, seed: u64) -> Vec<u32> {
    let mut s = seed | 1;
    let mut out = Vec::with_capacity(n);
    let mut cur = 0u32;
    for _ in 0..n {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        cur += 1 + (s % u64::from(2 * spread - 1)) as u32;
        out.push(cur);
    }
    out
}

fn bench(c: &mut Criterion) {
    let big_a = list(1_000_000, 2, 1);
    let big_b = list(1_000_000, 2, 2);
    let small = list(10_000, 200, 3);
    let mut g = c.benchmark_group("intersect");
    g.sample_size(20);
    for (name, a, b) in [("1M_x_10k", &big_a, &small), ("1M_x_1M", &big_a, &big_b)] {
        g.throughput(Throughput::Elements((a.len() + b.len()) as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &(a, b), |bn, (a, b)| {
            bn.iter(|| black_box(intersect(a, b)))
        });
    }
    let lists = [&big_a[..], &big_b[..], &small[..]];
    g.throughput(Throughput::Elements(
        lists.iter().map(|l| l.len() as u64).sum(),
    ));
    g.bench_function("1M_x_1M_x_10k", |bn| {
        bn.iter(|| black_box(intersect_many(&lists)))
    });
    g.finish();

    let ten: Vec<Vec<u32>> = (0..10).map(|i| list(100_000, 10, 10 + i)).collect();
    let mut g = c.benchmark_group("union");
    g.sample_size(20);
    g.throughput(Throughput::Elements(
        ten.iter().map(|l| l.len() as u64).sum(),
    ));
    g.bench_function("10_x_100k_dense", |bn| bn.iter(|| black_box(merge(&ten))));
    // Sparse lists take the k-way heap merge instead of the bitmap.
    let sparse: Vec<Vec<u32>> = (0..10).map(|i| list(10_000, 20_000, 30 + i)).collect();
    g.throughput(Throughput::Elements(
        sparse.iter().map(|l| l.len() as u64).sum(),
    ));
    g.bench_function("10_x_10k_sparse", |bn| {
        bn.iter(|| black_box(merge(&sparse)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
