//! Remote write ingestion: `strata receive` vs a real Prometheus (Debian's 2.42, started with
//! `--web.enable-remote-write-receiver`), same load, one run, one after the other.
//!
//! Load (the same bytes for both): `SERIES` active series (default 100,000) in requests of
//! `BATCH` series with one sample each (default 1,000 samples per request, the size of a
//! Prometheus remote write shard's batch), snappy + protobuf remote write 1.0, built before
//! anything is timed. A "round" gives every series its next sample (15 s apart, as scrapes);
//! round 0 creates the series. Then, per concurrency level (1, 2, 4, 8 senders, each its own
//! keep-alive HTTP connection and its own share of the series, so every series' samples
//! arrive in order), `ROUNDS` rounds are sent as fast as the server answers. Per level:
//! accepted samples/s and the p50/p99 request latency. Saturation = the best level.
//!
//! Memory: `VmRSS` of the server once ready (idle), after round 0 and after all levels; "per
//! active series" = (after all levels − idle) / series. Prometheus and strata both write a WAL
//! (strata: `--tsdb.wal-fsync=1s`, its default; Prometheus fsyncs its WAL on segment cuts).
//!
//! Environment: `STRATA_BENCH_SERIES` (default 100000), `STRATA_BENCH_BATCH` (1000),
//! `STRATA_BENCH_ROUNDS` (rounds per level, default 10), `STRATA_BENCH_LEVELS` (default
//! `1,2,4,8`), `PROMETHEUS=/path/to/prometheus`.
//! Run: `cargo bench -p strata --bench receive_vs_prometheus`. Under `cargo test --benches` (no
//! `--bench` argument) it only prints that it was skipped.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::bench_data::{env_usize, machine, mb, rss};
use common::prometheus::Prometheus;
use common::receive::{REMOTE_WRITE_HEADERS, Receiver, now_ms};
use strata_receive::remote_write;
use strata_testkit::http;
use strata_tsdb::labels::Labels;

const STEP_MS: i64 = 15_000;

/// The request bodies: `bodies[round][chunk]`.
struct Load {
    series: usize,
    batch: usize,
    bodies: Vec<Vec<Bytes>>,
}

impl Load {
    fn chunks(&self) -> usize {
        self.bodies[0].len()
    }

    fn build(series: usize, batch: usize, rounds: usize, t0: i64) -> Load {
        let labels: Vec<Labels> = (0..series)
            .map(|i| {
                Labels::from_pairs([
                    ("__name__", format!("bench_metric_{}", i % 50).as_str()),
                    ("instance", format!("host-{:05}:9100", i / 50).as_str()),
                    ("job", "node"),
                    ("mode", ["idle", "user", "system", "iowait"][i % 4]),
                ])
            })
            .collect();
        let chunks = series.div_ceil(batch);
        let bodies = (0..rounds)
            .map(|r| {
                (0..chunks)
                    .map(|c| {
                        let lo = c * batch;
                        let hi = (lo + batch).min(series);
                        let req: Vec<(Labels, Vec<(i64, f64)>)> = (lo..hi)
                            .map(|i| {
                                let v = (r * 10 + i % 7) as f64;
                                (labels[i].clone(), vec![(t0 + r as i64 * STEP_MS, v)])
                            })
                            .collect();
                        Bytes::from(remote_write::encode(&req).unwrap())
                    })
                    .collect()
            })
            .collect();
        Load {
            series,
            batch,
            bodies,
        }
    }
}

/// One sender: a keep-alive connection that POSTs remote write bodies.
struct Conn {
    rt: tokio::runtime::Runtime,
    client: http::Client,
    addr: SocketAddr,
    path: &'static str,
}

impl Conn {
    fn open(addr: SocketAddr, path: &'static str) -> Conn {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Conn {
            rt,
            client: http::Client::new(),
            addr,
            path,
        }
    }

    /// POSTs `body`; returns the status code.
    fn post(&mut self, body: &Bytes) -> u16 {
        let send = self.client.send(
            "POST",
            self.addr,
            self.path,
            &REMOTE_WRITE_HEADERS,
            body.clone(),
        );
        let resp = self.rt.block_on(send).unwrap();
        if !(200..300).contains(&resp.status) {
            eprintln!("  {}: {}", resp.status, resp.text().trim());
        }
        resp.status
    }
}

struct Level {
    senders: usize,
    samples_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    rejected: usize,
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Sends rounds `rounds` of `load` with `senders` connections; chunk `c` goes through sender
/// `c % senders`, round by round, so each series' samples are in order.
fn send(
    addr: SocketAddr,
    path: &'static str,
    load: &Arc<Load>,
    rounds: std::ops::Range<usize>,
    senders: usize,
) -> Level {
    let start = Instant::now();
    let workers: Vec<_> = (0..senders)
        .map(|w| {
            let load = Arc::clone(load);
            let rounds = rounds.clone();
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr, path);
                let mut lat = Vec::new();
                let (mut ok, mut bad) = (0usize, 0usize);
                for r in rounds {
                    for c in (w..load.chunks()).step_by(senders) {
                        let t = Instant::now();
                        let status = conn.post(&load.bodies[r][c]);
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                        let n = load.batch.min(load.series - c * load.batch);
                        if (200..300).contains(&status) {
                            ok += n;
                        } else {
                            bad += n;
                        }
                    }
                }
                (lat, ok, bad)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let (mut ok, mut bad) = (0, 0);
    for w in workers {
        let (l, o, b) = w.join().unwrap();
        lat.extend(l);
        ok += o;
        bad += b;
    }
    let secs = start.elapsed().as_secs_f64();
    Level {
        senders,
        samples_per_s: ok as f64 / secs,
        p50_ms: percentile(&mut lat, 0.50),
        p99_ms: percentile(&mut lat, 0.99),
        rejected: bad,
    }
}

struct Run {
    create_s: f64,
    levels: Vec<Level>,
    rss_idle: f64,
    rss_created: f64,
    rss_end: f64,
    hwm_end: f64,
}

fn run_one(
    name: &'static str,
    addr: SocketAddr,
    path: &'static str,
    pid: u32,
    load: &Arc<Load>,
    levels: &[usize],
    per_level: usize,
) -> Run {
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = rss(pid).1;
    let t = Instant::now();
    let created = send(addr, path, load, 0..1, 4);
    assert_eq!(
        created.rejected, 0,
        "{name}: series creation rejected samples"
    );
    let create_s = t.elapsed().as_secs_f64();
    let rss_created = rss(pid).1;
    let mut out = Vec::new();
    let mut next = 1;
    for &senders in levels {
        let l = send(addr, path, load, next..next + per_level, senders);
        next += per_level;
        println!(
            "  {name:<16} {senders:>2} senders: {:>10.0} samples/s, p50 {:>7.2} ms, p99 {:>7.2} ms{}",
            l.samples_per_s,
            l.p50_ms,
            l.p99_ms,
            if l.rejected > 0 {
                format!(", {} samples rejected", l.rejected)
            } else {
                String::new()
            }
        );
        out.push(l);
    }
    let (hwm_end, rss_end) = rss(pid);
    Run {
        create_s,
        levels: out,
        rss_idle,
        rss_created,
        rss_end,
        hwm_end,
    }
}

fn run() {
    let series = env_usize("STRATA_BENCH_SERIES", 100_000);
    let batch = env_usize("STRATA_BENCH_BATCH", 1000);
    let per_level = env_usize("STRATA_BENCH_ROUNDS", 10);
    let levels: Vec<usize> = std::env::var("STRATA_BENCH_LEVELS")
        .unwrap_or_else(|_| "1,2,4,8".to_string())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let rounds = 1 + per_level * levels.len();
    // Samples end well before now; every round is inside both heads' appendable window.
    let t0 = now_ms() - (rounds as i64 + 4) * STEP_MS;
    println!(
        "receive_vs_prometheus: {series} series, {batch} samples per request, {per_level} rounds per level, levels {levels:?}; {}",
        machine()
    );
    let t = Instant::now();
    let load = Arc::new(Load::build(series, batch, rounds, t0));
    let bytes: usize = load.bodies.iter().flatten().map(|b| b.len()).sum();
    println!(
        "  built {} requests ({} MB compressed) in {:.1} s",
        rounds * load.chunks(),
        mb(bytes as f64),
        t.elapsed().as_secs_f64()
    );

    let tmp = tempfile::tempdir().unwrap();
    let strata = {
        let r = Receiver::start(
            &tmp.path().join("receive"),
            &tmp.path().join("receive.log"),
            &["--log.level=warn"],
        );
        let run = run_one(
            "strata receive",
            r.rw,
            "/api/v1/receive",
            r.child.id(),
            &load,
            &levels,
            per_level,
        );
        drop(r);
        run
    };
    let prom = {
        let data = tmp.path().join("prometheus");
        std::fs::create_dir_all(&data).unwrap();
        let p = Prometheus::start_with_args(&data, &["--web.enable-remote-write-receiver"]);
        let run = run_one(
            "prometheus 2.42",
            p.addr,
            "/api/v1/write",
            p.pid(),
            &load,
            &levels,
            per_level,
        );
        drop(p);
        run
    };

    println!();
    println!(
        "| senders | strata samples/s | strata p99 ms | Prometheus samples/s | Prometheus p99 ms | throughput ratio |"
    );
    println!("|---|---|---|---|---|---|");
    for (s, p) in strata.levels.iter().zip(&prom.levels) {
        println!(
            "| {} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2}x |",
            s.senders,
            s.samples_per_s,
            s.p99_ms,
            p.samples_per_s,
            p.p99_ms,
            s.samples_per_s / p.samples_per_s
        );
    }
    let best = |r: &Run| {
        r.levels
            .iter()
            .max_by(|a, b| a.samples_per_s.total_cmp(&b.samples_per_s))
            .map(|l| (l.samples_per_s, l.p99_ms, l.senders))
            .unwrap()
    };
    let (ss, sp, sn) = best(&strata);
    let (ps, pp, pn) = best(&prom);
    println!();
    println!("| | strata receive | Prometheus 2.42 | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| saturation samples/s | {ss:.0} ({sn} senders) | {ps:.0} ({pn} senders) | {:.2}x |",
        ss / ps
    );
    println!(
        "| p99 at saturation | {sp:.2} ms | {pp:.2} ms | {:.2}x |",
        sp / pp
    );
    println!(
        "| creating {series} series (round 0) | {:.2} s | {:.2} s | |",
        strata.create_s, prom.create_s
    );
    let per = |r: &Run| (r.rss_end - r.rss_idle) / series as f64;
    println!(
        "| RSS idle / after round 0 / at end | {} / {} / {} MB | {} / {} / {} MB | |",
        mb(strata.rss_idle),
        mb(strata.rss_created),
        mb(strata.rss_end),
        mb(prom.rss_idle),
        mb(prom.rss_created),
        mb(prom.rss_end)
    );
    println!(
        "| peak RSS (VmHWM) | {} MB | {} MB | |",
        mb(strata.hwm_end),
        mb(prom.hwm_end)
    );
    println!(
        "| RSS per active series | {:.0} B | {:.0} B | {:.2}x |",
        per(&strata),
        per(&prom),
        per(&strata) / per(&prom)
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "receive_vs_prometheus: skipped (run `cargo bench -p strata --bench receive_vs_prometheus`)"
        );
        return;
    }
    run();
}
