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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use common::prometheus::{Prometheus, http_get, metric_value, secs, url_encode};
use peak_alloc::PeakAlloc;
use strata_promql::{Engine, EngineOptions, QueryValue, StoreQueryable};
use strata_storeapi::MemStore;
use strata_tsdb::block::BlockWriter;
use strata_tsdb::labels::Labels;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// 2023-11-15T00:00:00Z, a multiple of 2h.
const T0: i64 = 1_700_006_400_000;
const SCRAPE: i64 = 15_000;
const BLOCK: i64 = 2 * 3_600_000;
const JOBS: usize = 10;
const LE: [(f64, &str); 6] = [
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.5, "2.5"),
    (f64::INFINITY, "+Inf"),
];

const QUERIES: [&str; 7] = [
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "topk(5, node_temperature_celsius)",
    "rate(http_requests_total[5m]) * on(job, instance) group_left machine_cpu_cores",
    "max_over_time(rate(http_requests_total[5m])[1h:1m])",
    "sum by (job, le) (rate(request_duration_seconds_bucket[5m]))",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().map(|&(k, v)| (k, v.to_string())))
}

/// Every series of the bench, by labels.
fn generate(targets: usize, hours: i64) -> BTreeMap<Labels, Vec<(i64, f64)>> {
    let mut rng = common::Rng::new(2024);
    let n = (hours * 3_600_000 / SCRAPE) as usize;
    let mut out = BTreeMap::new();
    for i in 0..targets {
        let job = format!("job-{}", i % JOBS);
        let instance = format!("host-{i:04}:9100");
        let base = [("job", job.as_str()), ("instance", instance.as_str())];
        let mut offset = 1 + rng.below(SCRAPE as u64 - 2) as i64;
        if offset % 1000 == 0 {
            offset += 1;
        }
        let times: Vec<i64> = (0..n as i64).map(|k| T0 + offset + k * SCRAPE).collect();
        // Counters: a restart every ~12h on average.
        let mut ok = (rng.below(1000) as f64, rng.below(10) as f64);
        let mut ok_s = Vec::with_capacity(n);
        let mut err_s = Vec::with_capacity(n);
        let mut temp_s = Vec::with_capacity(n);
        let mut cores_s = Vec::with_capacity(n);
        let mut bucket_s: Vec<Vec<(i64, f64)>> = LE.iter().map(|_| Vec::with_capacity(n)).collect();
        let mut bucket_v = [0f64; LE.len()];
        let mut temp = 40.0 + rng.f64() * 10.0;
        let cores = [2.0, 4.0, 8.0, 16.0][i % 4];
        for &t in &times {
            if rng.below(2880) == 0 {
                ok = (0.0, 0.0);
                bucket_v = [0.0; LE.len()];
            }
            ok.0 += rng.below(300) as f64;
            ok.1 += rng.below(3) as f64;
            ok_s.push((t, ok.0));
            err_s.push((t, ok.1));
            temp = (temp + rng.f64() - 0.5 + (45.0 - temp) * 0.02).clamp(20.0, 90.0);
            temp_s.push((t, (temp * 100.0).round() / 100.0));
            cores_s.push((t, cores));
            for _ in 0..rng.below(20) {
                let d = -0.4 * (1.0 - rng.f64()).ln();
                for (b, (le, _)) in LE.iter().enumerate() {
                    if d <= *le {
                        bucket_v[b] += 1.0;
                    }
                }
            }
            for (b, s) in bucket_s.iter_mut().enumerate() {
                s.push((t, bucket_v[b]));
            }
        }
        let with = |name: &str, extra: &[(&str, &str)]| {
            let mut p = vec![("__name__", name)];
            p.extend_from_slice(&base);
            p.extend_from_slice(extra);
            labels(&p)
        };
        out.insert(with("http_requests_total", &[("code", "200")]), ok_s);
        out.insert(with("http_requests_total", &[("code", "500")]), err_s);
        out.insert(with("node_temperature_celsius", &[]), temp_s);
        out.insert(with("machine_cpu_cores", &[]), cores_s);
        for ((_, le), s) in LE.iter().zip(bucket_s) {
            out.insert(with("request_duration_seconds_bucket", &[("le", le)]), s);
        }
    }
    out
}

/// Write 2h blocks of `series` under `dir`.
fn write_blocks(dir: &std::path::Path, series: &BTreeMap<Labels, Vec<(i64, f64)>>, hours: i64) {
    let blocks = (hours * 3_600_000 + BLOCK - 1) / BLOCK;
    for b in 0..blocks {
        let (min, max) = (T0 + b * BLOCK, T0 + (b + 1) * BLOCK);
        let mut w = BlockWriter::create(dir, min, max).unwrap();
        for (l, s) in series {
            let from = s.partition_point(|p| p.0 < min);
            let to = s.partition_point(|p| p.0 < max);
            w.add_series(l.clone(), &s[from..to]).unwrap();
        }
        w.finish(None).unwrap();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mb(bytes: f64) -> String {
    format!("{:.1}", bytes / 1e6)
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|x| x.1.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    format!("{cpus} CPUs (nproc), {model}")
}

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
    write_blocks(tmp.path(), &data, hours);
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
