//! `strata store` over a bucket of 1,000 series x 24h at 15s, made by promtool: Series() for
//! selective matchers and for every series, as a client sees it over gRPC, with the bucket
//! traffic and memory of the real gateway process (issue 3, "Performance").
//!
//! Steps:
//! 1. Generate OpenMetrics text (10 metric names x 100 instances, 5 jobs; counters and gauges;
//!    24h at 15s from a fixed 2h-aligned start), run `promtool tsdb create-blocks-from
//!    openmetrics` (12 blocks of 2h), add a `thanos` section (`cluster=bench`) to each meta.json
//!    and upload the blocks into a FILESYSTEM bucket. The bucket is cached under
//!    `<target>/bench-data/store-gateway-v1/` (`<target>` is the cargo target directory holding
//!    this bench binary; `STRATA_BENCH_DATA` overrides the whole path) and reused when its
//!    `COMPLETE` marker exists; delete that directory to regenerate.
//! 2. Start `strata store` (default in-memory index cache, no chunk cache) on that bucket, wait
//!    for `/-/ready`.
//! 3. Per query, `RUNS` Series() calls through `GrpcStore`: the first is cold, the rest warm.
//!    Every chunk is decoded to count samples (outside the timed part).
//! 4. Bytes fetched (cold) come from the gateway's `/metrics` deltas; bytes needed are computed
//!    independently from the block files: the postings lists the matchers need, the series
//!    entries of the selected series and the chunks overlapping the range, each to the byte.
//!    Items an earlier query already put in the index cache are not counted as needed again.
//! 5. Peak RSS (`VmHWM`) of the gateway after all queries.
//!
//! Targets: cold bytes fetched <= 1.5 x bytes needed; gateway peak RSS <= 100 MB.
//! Needs promtool (Debian `prometheus` package, or `PROMTOOL=/path/to/promtool`).
//! Run: `cargo bench -p strata --bench store_gateway`. Under `cargo test --benches` (no
//! `--bench` argument) it only prints that it was skipped.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use strata_storeapi::pb::thanos::{SeriesRequest, label_matcher, series_response};
use strata_storeapi::{GrpcStore, Store};
use strata_testkit::http;
use strata_tsdb::chunks::{ParsedChunk, parse_chunk, segment_name, split_ref};
use strata_tsdb::index::IndexReader;
use strata_tsdb::index::series_entry_size;
use strata_tsdb::matchers::{MatchType, Matcher};
use strata_tsdb::meta::{BlockMeta, ThanosMeta};
use strata_tsdb::range::LocalFile;

/// Bump when the generated data changes, so stale caches are not reused.
const DATA_DIR_NAME: &str = "store-gateway-v1";
/// First sample, in seconds: 2023-11-15T00:00:00Z, a multiple of 2h.
const T0_S: i64 = 1_700_006_400;
const STEP_S: i64 = 15;
const SAMPLES_PER_SERIES: i64 = 24 * 3600 / STEP_S;
const INSTANCES: usize = 100;
const JOBS: usize = 5;
/// Series() calls per query; the first is cold.
const RUNS: usize = 5;
const TARGET_RATIO: f64 = 1.5;
const TARGET_RSS_BYTES: u64 = 100 * 1000 * 1000;

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Integer increments per scrape of about this size per second.
    CounterInt(f64),
    /// Float increments (2 decimals) of about this size per second.
    CounterFloat(f64),
    /// Random walk around this level, integer values, step in units of `.1`.
    GaugeInt(f64, f64),
    /// Random walk around this level, 2 decimals.
    GaugeFloat(f64, f64),
    /// Almost always 1.
    Up,
}

/// The ten metric names (counters carry their `_total` sample name).
const METRICS: [(&str, Kind); 10] = [
    ("http_requests_total", Kind::CounterInt(20.0)),
    ("http_request_errors_total", Kind::CounterInt(0.05)),
    ("node_cpu_seconds_total", Kind::CounterFloat(0.6)),
    (
        "node_network_receive_bytes_total",
        Kind::CounterInt(120_000.0),
    ),
    ("process_cpu_seconds_total", Kind::CounterFloat(0.08)),
    ("node_load1", Kind::GaugeFloat(1.5, 0.1)),
    (
        "node_memory_available_bytes",
        Kind::GaugeInt(4.0e9, 4096.0 * 500.0),
    ),
    ("go_goroutines", Kind::GaugeInt(80.0, 2.0)),
    (
        "process_resident_memory_bytes",
        Kind::GaugeInt(2.0e8, 4096.0 * 50.0),
    ),
    ("up", Kind::Up),
];

fn instance(i: usize) -> String {
    format!("host-{i:03}:9100")
}

fn job(i: usize) -> String {
    format!("job-{}", i % JOBS)
}

/// splitmix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Write the OpenMetrics input; returns (series, samples).
fn write_openmetrics(path: &Path) -> (u64, u64) {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let (mut series, mut samples) = (0u64, 0u64);
    for (m, (name, kind)) in METRICS.iter().enumerate() {
        let (family, ty) = match kind {
            Kind::CounterInt(_) | Kind::CounterFloat(_) => {
                (name.strip_suffix("_total").unwrap(), "counter")
            }
            _ => (*name, "gauge"),
        };
        writeln!(
            w,
            "# HELP {family} Generated by the strata store-gateway bench."
        )
        .unwrap();
        writeln!(w, "# TYPE {family} {ty}").unwrap();
        for i in 0..INSTANCES {
            let mut rng = Rng((m as u64) << 32 | i as u64);
            let labels = format!("job=\"{}\",instance=\"{}\"", job(i), instance(i));
            // Per-instance scale so series differ.
            let scale = 0.5 + rng.unit();
            let mut v: f64 = match kind {
                Kind::CounterInt(_) | Kind::CounterFloat(_) => {
                    (rng.unit() * 1000.0 * scale).floor()
                }
                Kind::GaugeInt(level, _) => (level * scale).round(),
                Kind::GaugeFloat(level, _) => round2(level * scale),
                Kind::Up => 1.0,
            };
            // One counter reset (a restart) somewhere in the day for a tenth of the instances.
            let reset_at = if i % 10 == 3 {
                (rng.next_u64() % SAMPLES_PER_SERIES as u64) as i64
            } else {
                -1
            };
            for k in 0..SAMPLES_PER_SERIES {
                let t = T0_S + k * STEP_S;
                if k > 0 {
                    v = match *kind {
                        Kind::CounterInt(rate) => {
                            let inc = (rate * scale * STEP_S as f64 * (0.5 + rng.unit())).floor();
                            if k == reset_at { inc } else { v + inc }
                        }
                        Kind::CounterFloat(rate) => {
                            let inc = round2(rate * scale * STEP_S as f64 * (0.5 + rng.unit()));
                            round2(if k == reset_at { inc } else { v + inc })
                        }
                        Kind::GaugeInt(level, step) => {
                            let pull = (level * scale - v) * 0.01;
                            (v + pull + (rng.unit() - 0.5) * step * 10.0)
                                .round()
                                .max(0.0)
                        }
                        Kind::GaugeFloat(level, step) => {
                            let pull = (level * scale - v) * 0.02;
                            round2((v + pull + (rng.unit() - 0.5) * step).max(0.0))
                        }
                        Kind::Up => {
                            if rng.unit() < 0.0005 {
                                0.0
                            } else {
                                1.0
                            }
                        }
                    };
                }
                writeln!(w, "{name}{{{labels}}} {v} {t}").unwrap();
                samples += 1;
            }
            series += 1;
        }
    }
    writeln!(w, "# EOF").unwrap();
    w.flush().unwrap();
    (series, samples)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn data_root() -> PathBuf {
    if let Some(p) = std::env::var_os("STRATA_BENCH_DATA") {
        return PathBuf::from(p);
    }
    // <target>/<profile>/deps/store_gateway-<hash>
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data").join(DATA_DIR_NAME)
}

fn promtool() -> PathBuf {
    let p = std::env::var_os("PROMTOOL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("promtool"));
    let ok = Command::new(&p)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "store_gateway bench: promtool not found (tried {:?}). Install it (Debian/Ubuntu: \
             `apt-get install prometheus`, which ships /usr/bin/promtool) or set PROMTOOL=/path.",
            p
        );
        std::process::exit(2);
    }
    p
}

fn objstore_yaml(bucket: &Path) -> String {
    format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        bucket.display().to_string()
    )
}

/// Generate the bucket under `root` unless it is already complete.
async fn ensure_bucket(root: &Path, promtool: &Path) -> PathBuf {
    let bucket = root.join("bucket");
    let marker = root.join("COMPLETE");
    if marker.exists() {
        println!(
            "bucket: reusing {} ({})",
            bucket.display(),
            std::fs::read_to_string(&marker).unwrap_or_default().trim()
        );
        return bucket;
    }
    if root.exists() {
        std::fs::remove_dir_all(root).unwrap();
    }
    std::fs::create_dir_all(root).unwrap();
    println!("bucket: generating into {}", bucket.display());
    let total = Instant::now();
    let tmp = tempfile::tempdir().unwrap();

    let t = Instant::now();
    let om = tmp.path().join("in.om");
    let (series, samples) = write_openmetrics(&om);
    let om_bytes = std::fs::metadata(&om).unwrap().len();
    println!(
        "  openmetrics: {series} series, {samples} samples, {:.1} MB in {} ms",
        om_bytes as f64 / 1e6,
        ms(t.elapsed())
    );

    let t = Instant::now();
    let out = tmp.path().join("out");
    let res = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&out)
        .output()
        .unwrap();
    if !res.status.success() {
        eprintln!(
            "promtool failed: {}\n{}",
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr)
        );
        std::process::exit(1);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    dirs.sort();
    println!(
        "  promtool tsdb create-blocks-from openmetrics: {} blocks in {} ms",
        dirs.len(),
        ms(t.elapsed())
    );
    std::fs::remove_file(&om).unwrap();

    let t = Instant::now();
    for d in &dirs {
        let mut meta = BlockMeta::read_from_dir(d).unwrap();
        meta.thanos = Some(ThanosMeta {
            labels: BTreeMap::from([("cluster".to_string(), "bench".to_string())]),
            source: "test".to_string(),
            ..Default::default()
        });
        meta.write_to_dir(d).unwrap();
    }
    println!("  meta.json thanos sections: {} ms", ms(t.elapsed()));

    let t = Instant::now();
    let store = strata_objstore::from_yaml(&objstore_yaml(&bucket)).unwrap();
    for d in &dirs {
        strata_objstore::upload_block(store.as_ref(), d)
            .await
            .unwrap();
    }
    println!(
        "  upload into the FILESYSTEM bucket: {} ms",
        ms(t.elapsed())
    );
    std::fs::write(
        &marker,
        format!(
            "{series} series, {samples} samples, {} blocks\n",
            dirs.len()
        ),
    )
    .unwrap();
    println!("  generation total: {} ms", ms(total.elapsed()));
    bucket
}

// ---------------------------------------------------------------------------------------------
// The gateway process.

/// A running `strata store`; killed on drop.
struct Gateway {
    child: Child,
    grpc: SocketAddr,
    http: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    fn fail(&self, what: &str) -> ! {
        eprintln!("{what}; the gateway's last output:");
        for l in self.log.lock().unwrap().iter().rev().take(40).rev() {
            eprintln!("  {l}");
        }
        std::process::exit(1);
    }

    fn proc_status(&self, field: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

fn start_gateway(bucket: &Path, data_dir: &Path) -> Gateway {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["store", "--objstore.config", &objstore_yaml(bucket)])
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "--grpc-address",
            "127.0.0.1:0",
            "--http-address",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            let mut l = sink.lock().unwrap();
            if l.len() > 1000 {
                l.drain(..500);
            }
            l.push(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let addrs = loop {
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            break None;
        };
        if let Some(rest) = line.strip_prefix("strata store: StoreAPI on ") {
            let grpc = rest.split(' ').next().and_then(|a| a.parse().ok());
            let http = rest
                .rsplit("http://")
                .next()
                .and_then(|a| a.trim().parse().ok());
            break grpc.zip(http);
        }
    };
    let Some((grpc, http)) = addrs else {
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("strata store did not print its addresses:");
        for l in log.lock().unwrap().iter() {
            eprintln!("  {l}");
        }
        std::process::exit(1);
    };
    // Keep draining the channel so the reader thread never blocks.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    let gw = Gateway {
        child,
        grpc,
        http,
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while http_get(gw.http, "/-/ready").0 != 200 {
        if Instant::now() > deadline {
            gw.fail("strata store never became ready");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    gw
}

/// GET `path`: status (0 when the request failed) and body.
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http::blocking::get(addr, path).map_or((0, String::new()), |r| (r.status, r.text()))
}

/// `/metrics` as `name{labels}` -> value.
#[derive(Debug, Default, Clone)]
struct Scrape(HashMap<String, f64>);

impl Scrape {
    fn take(gw: &Gateway) -> Self {
        let (code, body) = http_get(gw.http, "/metrics");
        if code != 200 {
            gw.fail(&format!("/metrics answered {code}"));
        }
        let mut m = HashMap::new();
        for l in body.lines() {
            if l.starts_with('#') || l.is_empty() {
                continue;
            }
            if let Some((k, v)) = l.rsplit_once(' ')
                && let Ok(v) = v.parse::<f64>()
            {
                m.insert(k.to_string(), v);
            }
        }
        Scrape(m)
    }

    fn get(&self, name: &str, data_type: &str) -> u64 {
        let key = format!("{name}{{data_type=\"{data_type}\"}}");
        match self.0.get(&key) {
            Some(v) => *v as u64,
            None => {
                eprintln!("warning: /metrics has no {key}");
                0
            }
        }
    }

    fn get_item(&self, name: &str, item: &str) -> u64 {
        let key = format!("{name}{{item_type=\"{item}\"}}");
        self.0.get(&key).map_or(0, |v| *v as u64)
    }

    /// Bucket traffic of Series requests by data type.
    fn traffic(&self) -> Traffic {
        let b = "strata_store_bucket_bytes_fetched_total";
        let g = "strata_store_bucket_gets_total";
        let h = "thanos_store_index_cache_hits_total";
        Traffic {
            bytes: [
                self.get(b, "postings"),
                self.get(b, "series"),
                self.get(b, "chunks"),
            ],
            gets: [
                self.get(g, "postings"),
                self.get(g, "series"),
                self.get(g, "chunks"),
            ],
            cache_hits: [self.get_item(h, "Postings"), self.get_item(h, "Series")],
        }
    }
}

/// Postings, series, chunks.
#[derive(Debug, Default, Clone, Copy)]
struct Traffic {
    bytes: [u64; 3],
    gets: [u64; 3],
    /// Index cache hits: postings, series.
    cache_hits: [u64; 2],
}

impl Traffic {
    fn since(&self, e: &Traffic) -> Traffic {
        let d3 = |a: [u64; 3], b: [u64; 3]| std::array::from_fn(|i| a[i].saturating_sub(b[i]));
        Traffic {
            bytes: d3(self.bytes, e.bytes),
            gets: d3(self.gets, e.gets),
            cache_hits: [
                self.cache_hits[0].saturating_sub(e.cache_hits[0]),
                self.cache_hits[1].saturating_sub(e.cache_hits[1]),
            ],
        }
    }
    fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }
    fn total_gets(&self) -> u64 {
        self.gets.iter().sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes needed, from the block files.

struct LocalBlock {
    dir: PathBuf,
    meta: BlockMeta,
}

fn local_blocks(bucket: &Path) -> Vec<LocalBlock> {
    let mut out: Vec<LocalBlock> = std::fs::read_dir(bucket)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").exists() && p.join("index").exists())
        .map(|dir| LocalBlock {
            meta: BlockMeta::read_from_dir(&dir).unwrap(),
            dir,
        })
        .collect();
    out.sort_by_key(|b| b.meta.min_time);
    out
}

#[derive(Debug, Default, Clone, Copy)]
struct Needed {
    /// Postings, series, chunks.
    bytes: [u64; 3],
    /// Distinct series (label sets) over all blocks.
    series: u64,
    /// Series entries (one per series per block).
    entries: u64,
    chunks: u64,
}

impl Needed {
    fn total(&self) -> u64 {
        self.bytes.iter().sum()
    }
}

/// What the index cache already holds from earlier queries: (block, label name, value) postings
/// lists and (block, series ref) entries.
#[derive(Debug, Default)]
struct CacheModel {
    postings: HashSet<(String, String, String)>,
    series: HashSet<(String, u32)>,
}

/// Bytes of postings, series entries and chunks a Series() of `matchers` over `[mint, maxt]`
/// needs, with everything (`full`) and without what `cache` holds (`uncached`, which then
/// records this query's items).
async fn bytes_needed(
    blocks: &[LocalBlock],
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
    cache: &mut CacheModel,
) -> (Needed, Needed) {
    let (mut full, mut uncached) = (Needed::default(), Needed::default());
    let mut distinct = HashSet::new();
    for b in blocks {
        // meta max_time is exclusive.
        if b.meta.max_time <= mint || b.meta.min_time > maxt {
            continue;
        }
        let id = b.meta.ulid.to_string();
        let index_path = b.dir.join("index");
        let index = std::fs::read(&index_path).unwrap();
        let reader = IndexReader::open(LocalFile::open(&index_path).unwrap())
            .await
            .unwrap();
        for m in matchers {
            assert!(
                !m.matches(""),
                "bench queries use matchers that need no all-postings list"
            );
            for (value, range) in reader.postings_table().values_with_ranges(m.name()) {
                if !m.matches(value) {
                    continue;
                }
                let off = range.start as usize;
                let len = u32::from_be_bytes(index[off..off + 4].try_into().unwrap());
                let n = u64::from(len) + 8;
                full.bytes[0] += n;
                if cache
                    .postings
                    .insert((id.clone(), m.name().to_string(), value.to_string()))
                {
                    uncached.bytes[0] += n;
                }
            }
        }
        let refs = reader.postings_for_matchers(matchers).await.unwrap();
        let mut segments: HashMap<usize, Vec<u8>> = HashMap::new();
        for r in refs {
            let off = (u64::from(r) * 16) as usize;
            let size = series_entry_size(&index[off..]).unwrap().unwrap();
            let entry = reader.series(r).await.unwrap();
            let cached = !cache.series.insert((id.clone(), r));
            distinct.insert(format!("{:?}", entry.labels));
            full.entries += 1;
            full.bytes[1] += size;
            if !cached {
                uncached.entries += 1;
                uncached.bytes[1] += size;
            }
            for c in entry
                .chunks
                .iter()
                .filter(|c| c.max_time >= mint && c.min_time <= maxt)
            {
                let (seg, off) = split_ref(c.chunk_ref);
                let data = segments.entry(seg).or_insert_with(|| {
                    std::fs::read(b.dir.join("chunks").join(segment_name(seg))).unwrap()
                });
                let ParsedChunk::Done { total, .. } = parse_chunk(&data[off as usize..]).unwrap()
                else {
                    panic!("truncated chunk {} in block {id}", c.chunk_ref);
                };
                // No chunk cache: chunks are needed from the bucket every time.
                for n in [&mut full, &mut uncached] {
                    n.chunks += 1;
                    n.bytes[2] += total as u64;
                }
            }
        }
    }
    full.series = distinct.len() as u64;
    uncached.series = full.series;
    (full, uncached)
}

// ---------------------------------------------------------------------------------------------
// Queries.

struct Query {
    name: &'static str,
    matchers: Vec<(MatchType, &'static str, &'static str)>,
}

#[derive(Debug, Default, Clone, Copy)]
struct RunResult {
    elapsed: Duration,
    series: u64,
    chunks: u64,
    samples: u64,
}

async fn run_once(client: &GrpcStore, req: &SeriesRequest) -> RunResult {
    let start = Instant::now();
    let stream = client
        .series(&Default::default(), req.clone())
        .await
        .unwrap();
    let frames: Vec<_> = stream.map(|f| f.unwrap()).collect().await;
    let elapsed = start.elapsed();
    let mut r = RunResult {
        elapsed,
        ..Default::default()
    };
    for f in frames {
        match f.result {
            Some(series_response::Result::Series(s)) => {
                r.series += 1;
                for c in &s.chunks {
                    let raw = c.raw.as_ref().expect("raw chunk");
                    assert_eq!(raw.r#type, 0, "XOR chunk expected");
                    r.chunks += 1;
                    r.samples += strata_tsdb::chunkenc::decode_xor(&raw.data).unwrap().len() as u64;
                }
            }
            Some(series_response::Result::Warning(w)) => eprintln!("warning from gateway: {w}"),
            _ => {}
        }
    }
    r
}

struct Report {
    name: &'static str,
    cold: RunResult,
    warm_median: Duration,
    cold_traffic: Traffic,
    warm_traffic_per_run: Traffic,
    needed_full: Needed,
    needed: Needed,
}

fn pb_type(t: MatchType) -> label_matcher::Type {
    match t {
        MatchType::Equal => label_matcher::Type::Eq,
        MatchType::NotEqual => label_matcher::Type::Neq,
        MatchType::Regex => label_matcher::Type::Re,
        MatchType::NotRegex => label_matcher::Type::Nre,
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    format!("{cpus} CPUs (nproc), {model}")
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

async fn bench() {
    let promtool = promtool();
    let root = data_root();
    let bucket = ensure_bucket(&root, &promtool).await;
    let blocks = local_blocks(&bucket);
    let (mint, maxt) = (T0_S * 1000, (T0_S + 24 * 3600) * 1000 - 1);
    println!(
        "bucket: {} blocks, {} bytes of index + chunks",
        blocks.len(),
        blocks
            .iter()
            .map(|b| {
                let idx = std::fs::metadata(b.dir.join("index")).unwrap().len();
                let chunks: u64 = std::fs::read_dir(b.dir.join("chunks"))
                    .unwrap()
                    .map(|e| e.unwrap().metadata().unwrap().len())
                    .sum();
                idx + chunks
            })
            .sum::<u64>()
    );

    let data_dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let gw = start_gateway(&bucket, data_dir.path());
    let startup = t.elapsed();
    let rss_ready = gw.proc_status("VmRSS");
    let hwm_ready = gw.proc_status("VmHWM");
    println!(
        "gateway: ready in {} ms (pid {}, gRPC {}, HTTP {})",
        ms(startup),
        gw.child.id(),
        gw.grpc,
        gw.http
    );
    let (_, blocks_json) = http_get(gw.http, "/api/v1/blocks");
    let v: serde_json::Value = serde_json::from_str(&blocks_json).unwrap_or_default();
    let served = v["data"]["blocks"].as_array().cloned().unwrap_or_default();
    let header_bytes: u64 = served
        .iter()
        .filter_map(|b| b["indexHeaderBytes"].as_u64())
        .sum();
    let resident_bytes: u64 = served
        .iter()
        .filter_map(|b| b["residentBytes"].as_u64())
        .sum();
    if served.len() != blocks.len() {
        gw.fail(&format!(
            "gateway serves {} blocks, the bucket has {}",
            served.len(),
            blocks.len()
        ));
    }

    let client = GrpcStore::connect(&gw.grpc.to_string()).await.unwrap();
    let queries = [
        Query {
            name: "1 series (name+instance)",
            matchers: vec![
                (MatchType::Equal, "__name__", "http_requests_total"),
                (MatchType::Equal, "instance", "host-042:9100"),
            ],
        },
        Query {
            name: "20 series (name+job)",
            matchers: vec![
                (MatchType::Equal, "__name__", "node_load1"),
                (MatchType::Equal, "job", "job-2"),
            ],
        },
        Query {
            name: "all series (name=~.+)",
            matchers: vec![(MatchType::Regex, "__name__", ".+")],
        },
    ];
    let mut cache = CacheModel::default();
    let mut reports = Vec::new();
    for q in &queries {
        let matchers: Vec<Matcher> = q
            .matchers
            .iter()
            .map(|(t, n, v)| Matcher::new(*t, *n, *v).unwrap())
            .collect();
        let (needed_full, needed) = bytes_needed(&blocks, &matchers, mint, maxt, &mut cache).await;
        let req = SeriesRequest {
            min_time: mint,
            max_time: maxt,
            matchers: q
                .matchers
                .iter()
                .map(|(t, n, v)| strata_storeapi::convert::pb_matcher(pb_type(*t), n, v))
                .collect(),
            ..Default::default()
        };
        let before = Scrape::take(&gw).traffic();
        let cold = run_once(&client, &req).await;
        let after_cold = Scrape::take(&gw).traffic();
        let mut warm = Vec::new();
        for _ in 1..RUNS {
            let r = run_once(&client, &req).await;
            if (r.series, r.chunks, r.samples) != (cold.series, cold.chunks, cold.samples) {
                gw.fail(&format!("{}: warm run returned different data", q.name));
            }
            warm.push(r.elapsed);
        }
        let after_warm = Scrape::take(&gw).traffic();
        warm.sort();
        let warm_runs = warm.len().max(1) as u64;
        let w = after_warm.since(&after_cold);
        let warm_traffic_per_run = Traffic {
            bytes: w.bytes.map(|b| b / warm_runs),
            gets: w.gets.map(|g| g / warm_runs),
            cache_hits: w.cache_hits.map(|h| h / warm_runs),
        };
        if cold.series != needed_full.series || cold.chunks != needed_full.chunks {
            eprintln!(
                "warning: {}: gateway returned {} series / {} chunks, the blocks hold {} / {}",
                q.name, cold.series, cold.chunks, needed_full.series, needed_full.chunks
            );
        }
        reports.push(Report {
            name: q.name,
            cold,
            warm_median: warm.get(warm.len() / 2).copied().unwrap_or(cold.elapsed),
            cold_traffic: after_cold.since(&before),
            warm_traffic_per_run,
            needed_full,
            needed,
        });
    }
    let rss_end = gw.proc_status("VmRSS");
    let hwm_end = gw.proc_status("VmHWM");

    println!();
    println!(
        "Series() over {} blocks, {RUNS} runs per query (1 cold + {} warm), range = 24h",
        blocks.len(),
        RUNS - 1
    );
    println!(
        "{:<26} {:>6} {:>9} {:>9} {:>9} {:>10} {:>11} {:>5} {:>11} {:>11} {:>6}",
        "query",
        "series",
        "samples",
        "cold ms",
        "warm ms",
        "series/s",
        "samples/s",
        "GETs",
        "fetched B",
        "needed B",
        "ratio"
    );
    let mut ratio_ok = true;
    for r in &reports {
        let warm_s = r.warm_median.as_secs_f64();
        let ratio = r.cold_traffic.total_bytes() as f64 / r.needed.total().max(1) as f64;
        ratio_ok &= ratio <= TARGET_RATIO;
        println!(
            "{:<26} {:>6} {:>9} {:>9} {:>9} {:>10.0} {:>11.0} {:>5} {:>11} {:>11} {:>6.2}",
            r.name,
            r.cold.series,
            r.cold.samples,
            ms(r.cold.elapsed),
            ms(r.warm_median),
            r.cold.series as f64 / warm_s,
            r.cold.samples as f64 / warm_s,
            r.cold_traffic.total_gets(),
            r.cold_traffic.total_bytes(),
            r.needed.total(),
            ratio
        );
    }
    println!();
    println!(
        "cold bytes by type, fetched / needed (postings, series, chunks); GETs; index cache hits"
    );
    for r in &reports {
        let t = &r.cold_traffic;
        let n = &r.needed;
        println!(
            "  {:<26} postings {}/{}  series {}/{} ({} entries)  chunks {}/{} ({})  GETs {}/{}/{}  hits {}/{}",
            r.name,
            t.bytes[0],
            n.bytes[0],
            t.bytes[1],
            n.bytes[1],
            n.entries,
            t.bytes[2],
            n.bytes[2],
            n.chunks,
            t.gets[0],
            t.gets[1],
            t.gets[2],
            t.cache_hits[0],
            t.cache_hits[1]
        );
        if r.needed_full.total() != r.needed.total() {
            println!(
                "  {:<26} (needed without the index cache: {} B; already cached by earlier queries: {} B)",
                "",
                r.needed_full.total(),
                r.needed_full.total() - r.needed.total()
            );
        }
    }
    println!("warm bytes fetched per run (postings, series, chunks; no chunk cache configured)");
    for r in &reports {
        let t = &r.warm_traffic_per_run;
        println!(
            "  {:<26} {} B ({}/{}/{}), {} GETs, cold chunks {}",
            r.name,
            t.total_bytes(),
            t.bytes[0],
            t.bytes[1],
            t.bytes[2],
            t.total_gets(),
            r.cold.chunks
        );
    }
    println!();
    println!(
        "gateway RSS: after startup + first sync {} (VmRSS; VmHWM {}), after all queries {} (VmRSS)",
        mb(rss_ready),
        mb(hwm_ready),
        mb(rss_end)
    );
    println!(
        "gateway peak RSS (VmHWM): {}   target <= {}: {}",
        mb(hwm_end),
        mb(TARGET_RSS_BYTES),
        if hwm_end <= TARGET_RSS_BYTES {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "index-headers (/api/v1/blocks): {header_bytes} B over {} blocks; resident {resident_bytes} B",
        served.len()
    );
    println!(
        "bytes fetched / needed (cold) target <= {TARGET_RATIO}: {}",
        if ratio_ok { "met" } else { "NOT met" }
    );
    println!("machine: {}", machine());
    drop(gw);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: skip there.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "store_gateway bench: skipped (run it with `cargo bench -p strata --bench store_gateway`)"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench());
}
