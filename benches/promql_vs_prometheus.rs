//! strata's PromQL engine vs a real Prometheus (Debian's 2.42) on the same data: range queries
//! with a 1m step over 24h of 1,000 series scraped every 15s, timed (median of N runs) and with
//! their memory.
//!
//! Steps:
//! 1. Generate the data (10 series per target: 2 request counters with resets, a temperature
//!    gauge, a 6-bucket classic histogram `request_duration_seconds_bucket`, a CPU-core count;
//!    10 jobs; sample timestamps off whole seconds) and write 2h blocks with strata's
//!    `BlockWriter` into a temporary Prometheus data directory; the same series go into a
//!    `MemStore` for the engine.
//! 2. Start `prometheus` on that directory (block compaction disabled so it does not run
//!    during the measurements) and wait for `/-/ready`.
//! 3. Per query: one warm-up run each, then `RUNS` runs each. Prometheus is timed over HTTP
//!    (request to last byte of the JSON) and by its own `stats=all` `evalTotalTime`; strata is
//!    timed in process (`Engine::range_query` over the `MemStore`, no JSON encoding).
//! 4. Memory: strata's peak heap growth during the query (a counting global allocator, result
//!    included); Prometheus' `peakSamples` × 16 B (its own peak of samples held, the figure
//!    `--query.max-samples` limits) and the growth of `go_memstats_alloc_bytes_total` (bytes
//!    allocated in total while serving the query, including JSON encoding; not a peak).
//!
//! Environment: `STRATA_BENCH_SERIES` (default 1000, a multiple of 10), `STRATA_BENCH_HOURS`
//! (default 24), `STRATA_BENCH_RUNS` (default 7), `PROMETHEUS=/path/to/prometheus`.
//! Run: `cargo bench -p strata --bench promql_vs_prometheus`. Under `cargo test --benches` (no
//! `--bench` argument) it only prints that it was skipped.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use common::bench_data::{QUERIES, T0, env_usize, generate, machine, mb, median, write_blocks};
use common::prometheus::{Prometheus, http_get, metric_value, secs, url_encode};
use peak_alloc::PeakAlloc;
use strata_promql::{Engine, EngineOptions, QueryValue, StoreQueryable};
use strata_storeapi::MemStore;
use strata_tsdb::labels::Labels;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// Prometheus' `go_memstats_alloc_bytes_total` (bytes allocated since it started).
fn alloc_total(p: &Prometheus) -> f64 {
    metric_value(&p.metrics(), "go_memstats_alloc_bytes_total").unwrap_or(f64::NAN)
}

struct Row {
    query: &'static str,
    prom_wall: f64,
    prom_eval: f64,
    strata: f64,
    prom_peak: f64,
    prom_alloc: f64,
    strata_peak: f64,
    prom_series: usize,
    strata_series: usize,
}

async fn run() {
    let series_n = env_usize("STRATA_BENCH_SERIES", 1000).max(10);
    let hours = env_usize("STRATA_BENCH_HOURS", 24).max(1) as i64;
    let runs = env_usize("STRATA_BENCH_RUNS", 7).max(1);
    let targets = series_n / 10;
    println!("machine: {}", machine());

    let t = Instant::now();
    let data = generate(targets, hours);
    let samples: usize = data.values().map(Vec::len).sum();
    println!(
        "data: {} series, {samples} samples ({hours}h at 15s) generated in {:.1}s",
        data.len(),
        t.elapsed().as_secs_f64()
    );
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    write_blocks(tmp.path(), &data, hours, None);
    println!("blocks: written in {:.1}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let store = MemStore::new(Labels::empty());
    for (l, s) in data {
        store.add_series(l, &s);
    }
    let source = StoreQueryable::new(Arc::new(store) as Arc<dyn strata_storeapi::Store>);
    println!(
        "memstore: loaded in {:.1}s, heap {} MB",
        t.elapsed().as_secs_f64(),
        mb(ALLOC.current_usage() as f64)
    );
    let t = Instant::now();
    let prom = Prometheus::start(tmp.path());
    println!("prometheus: ready in {:.1}s", t.elapsed().as_secs_f64());
    let engine = Engine::new(EngineOptions::default());

    let start = T0 + 137;
    let end = T0 + hours * 3_600_000 - 60_000 + 137;
    let step = 60_000;
    let metrics_cost = {
        let a = alloc_total(&prom);
        let b = alloc_total(&prom);
        b - a
    };
    let mut rows = Vec::new();
    for query in QUERIES {
        let target = |stats: bool| {
            format!(
                "/api/v1/query_range?query={}&start={}&end={}&step={}{}",
                url_encode(query),
                secs(start),
                secs(end),
                secs(step),
                if stats { "&stats=all" } else { "" }
            )
        };
        // Warm-up (and result sizes).
        let (_, body) = http_get(prom.addr, &target(false)).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if json["status"] != "success" {
            println!("prometheus failed on {query}: {json}");
        }
        let prom_series = json["data"]["result"].as_array().map_or(0, Vec::len);
        let strata_series = match engine.range_query(&source, query, start, end, step).await {
            Ok(r) => match r.value {
                QueryValue::Matrix(m) => m.len(),
                _ => 0,
            },
            Err(e) => {
                println!("strata failed on {query}: {e}");
                0
            }
        };

        let (mut wall, mut eval, mut peak, mut alloc) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            let t = Instant::now();
            let (_, body) = http_get(prom.addr, &target(false)).unwrap();
            wall.push(t.elapsed().as_secs_f64());
            drop(body);
            let before = alloc_total(&prom);
            let (_, body) = http_get(prom.addr, &target(true)).unwrap();
            let after = alloc_total(&prom);
            alloc.push(after - before - metrics_cost);
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let stats = &json["data"]["stats"];
            if let Some(e) = stats["timings"]["evalTotalTime"].as_f64() {
                eval.push(e);
            }
            if let Some(p) = stats["samples"]["peakSamples"].as_f64() {
                peak.push(p * 16.0);
            }
        }
        let (mut st, mut st_peak) = (vec![], vec![]);
        for _ in 0..runs {
            let base = ALLOC.current_usage();
            ALLOC.reset_peak_usage();
            let t = Instant::now();
            let r = engine.range_query(&source, query, start, end, step).await;
            st.push(t.elapsed().as_secs_f64());
            st_peak.push(ALLOC.peak_usage().saturating_sub(base) as f64);
            drop(r);
        }
        rows.push(Row {
            query,
            prom_wall: median(wall),
            prom_eval: median(eval),
            strata: median(st),
            prom_peak: median(peak),
            prom_alloc: median(alloc),
            strata_peak: median(st_peak),
            prom_series,
            strata_series,
        });
    }

    let steps = (end - start) / step + 1;
    println!(
        "\nrange queries over {hours}h, step 1m ({steps} steps), median of {runs} runs; \
         times in ms, memory in MB"
    );
    println!(
        "{:<82} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9} {:>11}",
        "query",
        "prom",
        "prom eval",
        "strata",
        "ratio",
        "prom peak",
        "prom allc",
        "strata pk",
        "series p/s"
    );
    for r in &rows {
        println!(
            "{:<82} {:>9.1} {:>9.1} {:>9.1} {:>7.2} {:>9} {:>9} {:>9} {:>11}",
            r.query,
            r.prom_wall * 1e3,
            r.prom_eval * 1e3,
            r.strata * 1e3,
            r.strata / r.prom_wall,
            mb(r.prom_peak),
            mb(r.prom_alloc),
            mb(r.strata_peak),
            format!("{}/{}", r.prom_series, r.strata_series)
        );
    }
    println!(
        "\nprom: Prometheus over HTTP, request to the last byte of the JSON (includes encoding).\n\
         prom eval: Prometheus' own stats=all timings.evalTotalTime (evaluation only).\n\
         strata: Engine::range_query in process over a MemStore (no JSON); ratio = strata / prom.\n\
         prom peak: stats=all samples.peakSamples x 16 B (most samples held at once).\n\
         prom allc: growth of go_memstats_alloc_bytes_total over the request (total bytes\n\
         allocated, not a peak; the cost of reading /metrics subtracted).\n\
         strata pk: peak heap growth during the query (counting allocator; result included).\n\
         series p/s: series in the result, Prometheus / strata (a sanity check)."
    );
    let rss = std::fs::read_to_string(format!("/proc/{}/status", prom.pid())).unwrap_or_default();
    for field in ["VmHWM", "VmRSS"] {
        if let Some(l) = rss.lines().find(|l| l.starts_with(field)) {
            println!("prometheus {l}");
        }
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "promql_vs_prometheus: skipped (run `cargo bench -p strata --bench promql_vs_prometheus`)"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}
