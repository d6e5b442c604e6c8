//! Shared helpers for the end-to-end tests: deterministic OpenMetrics data and real tools.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

pub mod bench_data;
pub mod prometheus;
pub mod receive;
pub mod strata;

/// A tiny deterministic PRNG (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One generated series: sorted label pairs (with __name__) and samples (ms, value).
#[derive(Debug, Clone)]
pub struct GenSeries {
    pub labels: Vec<(String, String)>,
    pub samples: Vec<(i64, f64)>,
}

/// Series with 15s-ish scrapes whose timestamps are not on whole seconds, over `hours` hours
/// starting at `start_ms`, mixing counters, gauges and special values (NaN, ±Inf).
pub fn gen_series(seed: u64, n: usize, start_ms: i64, hours: i64) -> Vec<GenSeries> {
    let mut rng = Rng::new(seed);
    let end = start_ms + hours * 3_600_000;
    (0..n)
        .map(|i| {
            let kind = i % 3;
            let name = ["http_requests_total", "node_temperature", "queue_depth"][kind];
            let mut labels = vec![
                ("__name__".to_string(), name.to_string()),
                ("instance".to_string(), format!("host-{}:9100", i % 7)),
                ("job".to_string(), ["api", "db", "web"][i % 3].to_string()),
                ("series".to_string(), i.to_string()),
            ];
            if i % 5 == 0 {
                labels.push(("path".to_string(), format!("/v1/items/{i} \"q\"")));
            }
            labels.sort();
            let mut t = start_ms + rng.below(15_000) as i64 + 1; // never a whole second
            let mut v = 0.0f64;
            let mut samples = Vec::new();
            while t < end {
                v = match kind {
                    0 => v + rng.below(100) as f64,
                    1 => 20.0 + rng.f64() * 10.0,
                    _ => match rng.below(50) {
                        0 => f64::NAN,
                        1 => f64::INFINITY,
                        2 => f64::NEG_INFINITY,
                        _ => rng.below(1000) as f64 - 500.0,
                    },
                };
                samples.push((t, v));
                // Mostly 15s with jitter, sometimes a gap.
                t += 15_000 + rng.below(40) as i64 - 20
                    + if rng.below(100) == 0 { 600_000 } else { 0 };
                if t % 1000 == 0 {
                    t += 1;
                }
            }
            GenSeries { labels, samples }
        })
        .collect()
}

fn om_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn om_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:?}")
    }
}

/// Render series as OpenMetrics text (grouped by metric family, ending with `# EOF`).
pub fn to_openmetrics(series: &[GenSeries]) -> String {
    let mut out = String::new();
    let mut by_name: std::collections::BTreeMap<&str, Vec<&GenSeries>> = Default::default();
    for s in series {
        by_name
            .entry(&s.labels.iter().find(|l| l.0 == "__name__").unwrap().1)
            .or_default()
            .push(s);
    }
    for (name, group) in by_name {
        let ty = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let family = name.strip_suffix("_total").unwrap_or(name);
        writeln!(out, "# TYPE {family} {ty}").unwrap();
        writeln!(out, "# HELP {family} generated for strata tests").unwrap();
        for s in group {
            let labels: Vec<String> = s
                .labels
                .iter()
                .filter(|l| l.0 != "__name__")
                .map(|(k, v)| format!("{k}=\"{}\"", om_escape(v)))
                .collect();
            for &(t, v) in &s.samples {
                writeln!(
                    out,
                    "{name}{{{}}} {} {}.{:03}",
                    labels.join(","),
                    om_value(v),
                    t.div_euclid(1000),
                    t.rem_euclid(1000)
                )
                .unwrap();
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Path of a tool the test command installs; panics with instructions when missing.
pub fn require_tool(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!(
        "{name} is not installed: run tests/run (it installs Debian's prometheus package), \
         or `apt-get install -y prometheus`"
    );
}

/// Run a command, panic with its output on failure, return stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).unwrap()
}

/// Parse `promtool tsdb dump` output (`{labels} value timestamp` per line) into
/// (labels string, timestamp, value) triples.
pub fn parse_dump(text: &str) -> Vec<(String, i64, f64)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (rest, ts) = line.rsplit_once(' ').unwrap();
            let (labels, v) = rest.rsplit_once(' ').unwrap();
            (
                labels.to_string(),
                ts.parse().unwrap(),
                v.parse::<f64>().unwrap(),
            )
        })
        .collect()
}

/// Same-value check that treats every NaN as equal and compares others bit for bit.
pub fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}
