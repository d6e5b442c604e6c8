//! The data and small helpers the Prometheus comparison benches share: 10 series per target
//! over `hours` hours scraped every 15s (2 request counters with resets, a temperature gauge, a
//! 6-bucket classic histogram, a CPU-core count; 10 jobs; timestamps off whole seconds), the
//! range queries both benches time, writing the data as 2h blocks, medians and machine facts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_tsdb::block::BlockWriter;
use strata_tsdb::labels::Labels;
use strata_tsdb::meta::ThanosMeta;

/// 2023-11-15T00:00:00Z, a multiple of 2h.
pub const T0: i64 = 1_700_006_400_000;
/// The scrape interval (ms).
pub const SCRAPE: i64 = 15_000;
/// The block length (ms).
pub const BLOCK: i64 = 2 * 3_600_000;
/// Jobs the targets are spread over.
pub const JOBS: usize = 10;
/// The histogram's bucket bounds and their `le` label values.
pub const LE: [(f64, &str); 6] = [
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.5, "2.5"),
    (f64::INFINITY, "+Inf"),
];

/// The range queries the benches time (1m step over the whole data).
pub const QUERIES: [&str; 7] = [
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "topk(5, node_temperature_celsius)",
    "rate(http_requests_total[5m]) * on(job, instance) group_left machine_cpu_cores",
    "max_over_time(rate(http_requests_total[5m])[1h:1m])",
    "sum by (job, le) (rate(request_duration_seconds_bucket[5m]))",
];

/// The environment variable `name` as a number, else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().map(|&(k, v)| (k, v.to_string())))
}

/// Every series of the bench (10 per target), by labels.
pub fn generate(targets: usize, hours: i64) -> BTreeMap<Labels, Vec<(i64, f64)>> {
    let mut rng = super::Rng::new(2024);
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

/// Write 2h blocks of `series` (covering `hours` hours from [`T0`]) under `dir`, each with
/// `thanos` as its meta.json `thanos` section; returns the block directories.
pub fn write_blocks(
    dir: &Path,
    series: &BTreeMap<Labels, Vec<(i64, f64)>>,
    hours: i64,
    thanos: Option<&ThanosMeta>,
) -> Vec<PathBuf> {
    let blocks = (hours * 3_600_000 + BLOCK - 1) / BLOCK;
    let mut out = Vec::new();
    for b in 0..blocks {
        let (min, max) = (T0 + b * BLOCK, T0 + (b + 1) * BLOCK);
        let mut w = BlockWriter::create(dir, min, max).unwrap();
        for (l, s) in series {
            let from = s.partition_point(|p| p.0 < min);
            let to = s.partition_point(|p| p.0 < max);
            w.add_series(l.clone(), &s[from..to]).unwrap();
        }
        let meta = w.finish(thanos.cloned()).unwrap();
        out.push(dir.join(meta.ulid.to_string()));
    }
    out
}

/// A Thanos meta section for raw blocks with these external labels.
pub fn thanos_meta(ext_labels: &[(&str, &str)], source: &str) -> ThanosMeta {
    ThanosMeta {
        version: Some(1),
        labels: ext_labels
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        source: source.to_string(),
        ..ThanosMeta::default()
    }
}

/// The median (upper middle for an even count); NaN when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Bytes as decimal megabytes with one decimal.
pub fn mb(bytes: f64) -> String {
    format!("{:.1}", bytes / 1e6)
}

/// The CPU count and model of this machine.
pub fn machine() -> String {
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

/// `VmHWM` (peak resident set) and `VmRSS` of a process in bytes, from `/proc/<pid>/status`.
pub fn rss(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kb| kb * 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
