//! `strata query` + `strata store` vs a real Prometheus (Debian's 2.42) end to end over HTTP on
//! the same blocks: the engine bench's range queries (1m step over 24h of 1,000 series), timed
//! from request to last byte, with response sizes, peak memory of every process, the stripped
//! size of the `strata` binary and the querier Lambda's cold start.
//!
//! Steps:
//! 1. Generate the engine bench's data (`tests/common/bench_data.rs`) and write 2h blocks with
//!    strata's `BlockWriter` into a Prometheus data directory, each meta.json carrying a Thanos
//!    section with the external labels `{cluster="bench"}`; upload the same blocks to a
//!    FILESYSTEM bucket with `strata_objstore::upload_block`. (Prometheus ignores the Thanos
//!    section; strata's answers carry `cluster="bench"` on every series whose labels are kept,
//!    which makes those responses a little larger.)
//! 2. Start `prometheus` on the directory (no compaction), `strata store` over the bucket and
//!    `strata query --endpoint <store>`; wait until each answers `/-/ready`.
//! 3. Per query: one warm-up request to each (checked for success, result series and points
//!    compared after dropping `cluster`), then `RUNS` timed requests to each, alternating.
//! 4. Memory: `VmHWM` (peak RSS) and `VmRSS` of the three processes from `/proc/<pid>/status`,
//!    once ready and after the queries.
//! 5. The `strata` binary this bench ran (cargo's `CARGO_BIN_EXE_strata`, built by `cargo bench`
//!    with the bench profile = release + `debug = 1`, `strip = false`), copied and `strip`ped:
//!    its size is what a release build ships.
//! 6. The querier Lambda's cold start, when `cargo-lambda` is installed (`pip install --user
//!    cargo-lambda`): `querier-lambda` is built in release (`cargo build --release -p
//!    strata-querier --bin querier-lambda`), then (a) Lambda's own definition of Init Duration,
//!    process start until the runtime asks the Runtime API for its first event, measured with
//!    a stand-in Runtime API (median of `RUNS`), and (b) `cargo lambda watch --release`, one
//!    cold and one warm function-URL invocation, with the init time the function logs and any
//!    init line the emulator prints (cargo-lambda 1.9 prints none of its own).
//!
//! Environment: `STRATA_BENCH_SERIES` (default 1000, a multiple of 10), `STRATA_BENCH_HOURS`
//! (default 24), `STRATA_BENCH_RUNS` (default 7), `STRATA_BENCH_LAMBDA=0` skips step 6,
//! `STRATA_BENCH_PAUSE=<s>` keeps the servers up that long after the table (to look around),
//! `PROMETHEUS=/path/to/prometheus`.
//! Run: `cargo bench -p strata --bench querier_vs_prometheus`. Under `cargo test --benches` (no
//! `--bench` argument) it only prints that it was skipped.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bench_data::{
    QUERIES, T0, env_usize, generate, machine, mb, median, rss, thanos_meta, write_blocks,
};
use common::prometheus::{Prometheus, http_get, secs, url_encode};
use common::strata::{free_port, fs_bucket_yaml, start_query, start_store};

/// The external label every uploaded block carries.
const EXT_LABEL: (&str, &str) = ("cluster", "bench");
const FUNCTION: &str = "querier-lambda";

/// One answer reduced to what is compared: series (labels without the external label, sorted)
/// with their values as the JSON strings.
type Series = BTreeMap<BTreeMap<String, String>, Vec<(f64, String)>>;

struct Answer {
    ok: bool,
    bytes: usize,
    series: Series,
    error: String,
}

impl Answer {
    fn points(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }
}

fn answer(status: u16, body: &[u8]) -> Answer {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let ok = status == 200 && json["status"] == "success";
    let mut series = Series::new();
    for s in json["data"]["result"].as_array().into_iter().flatten() {
        let labels: BTreeMap<String, String> = s["metric"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != EXT_LABEL.0)
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let values = s["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p[0].as_f64().unwrap_or(f64::NAN),
                    p[1].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        series.insert(labels, values);
    }
    let error = if ok {
        String::new()
    } else {
        format!("status {status}: {}", String::from_utf8_lossy(body))
    };
    Answer {
        ok,
        bytes: body.len(),
        series,
        error,
    }
}

/// How two answers differ: "same", "~N" (N values equal within 1e-9 relative, the rest
/// identical) or "N≠" (N points differ or are on one side only), with the first difference.
fn compare(prom: &Answer, strata: &Answer) -> (String, Option<String>) {
    if !prom.ok || !strata.ok {
        return ("error".to_string(), None);
    }
    let (mut close, mut differ, mut first) = (0usize, 0usize, None::<String>);
    let mut note = |count: &mut usize, detail: String| {
        *count += 1;
        first.get_or_insert(detail);
    };
    let empty = Vec::new();
    let labels: std::collections::BTreeSet<_> =
        prom.series.keys().chain(strata.series.keys()).collect();
    for l in labels {
        let pv = prom.series.get(l).unwrap_or(&empty);
        let sv = strata.series.get(l).unwrap_or(&empty);
        let (mut i, mut j) = (0, 0);
        while i < pv.len() || j < sv.len() {
            let pt = pv.get(i).map_or(f64::INFINITY, |p| p.0);
            let st = sv.get(j).map_or(f64::INFINITY, |s| s.0);
            if pt < st {
                note(
                    &mut differ,
                    format!("{l:?} at {pt}: only Prometheus has {}", pv[i].1),
                );
                i += 1;
            } else if st < pt {
                note(
                    &mut differ,
                    format!("{l:?} at {st}: only strata has {}", sv[j].1),
                );
                j += 1;
            } else {
                let (p, s) = (&pv[i].1, &sv[j].1);
                if p != s {
                    let (a, b): (f64, f64) = (p.parse().unwrap_or(0.0), s.parse().unwrap_or(0.0));
                    let detail = format!("{l:?} at {pt}: Prometheus {p}, strata {s}");
                    if (a - b).abs() > 1e-9 * a.abs().max(b.abs()).max(1e-300) {
                        note(&mut differ, detail);
                    } else {
                        note(&mut close, detail);
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    let tag = match (differ, close) {
        (0, 0) => "same".to_string(),
        (0, c) => format!("~{c}"),
        (d, _) => format!("{d}≠"),
    };
    (tag, first)
}

/// The id of this process' child started as `<exe> <subcommand> ...` whose arguments contain
/// `marker` (the `strata` test helpers do not expose their children's ids).
fn child_pid(subcommand: &str, marker: &str) -> Option<u32> {
    let me = std::process::id();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid != Some(me) {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.get(1).map(String::as_str) == Some(subcommand) && args.iter().any(|a| a == marker) {
            return Some(pid);
        }
    }
    None
}

fn print_memory(when: &str, procs: &[(&str, Option<u32>)]) {
    for (name, pid) in procs {
        match pid {
            Some(pid) => {
                let (hwm, now) = rss(*pid);
                println!(
                    "  {when:<14} {name:<13} VmHWM {:>7} MB   VmRSS {:>7} MB",
                    mb(hwm),
                    mb(now)
                );
            }
            None => println!("  {when:<14} {name:<13} (process id not found)"),
        }
    }
}

/// Size of the `strata` binary as built, and stripped (a copy run through `strip`).
fn binary_size() {
    let bin = Path::new(env!("CARGO_BIN_EXE_strata"));
    let built = std::fs::metadata(bin).map_or(0, |m| m.len());
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("strata");
    std::fs::copy(bin, &copy).unwrap();
    let stripped = match Command::new("strip").arg(&copy).status() {
        Ok(s) if s.success() => std::fs::metadata(&copy).map_or(0, |m| m.len()),
        Ok(s) => {
            println!("strip failed ({s})");
            0
        }
        Err(e) => {
            println!("strip not runnable: {e}");
            0
        }
    };
    println!(
        "\nbinary: {} as built {} MB; stripped {} MB ({:.1} MiB)",
        bin.display(),
        mb(built as f64),
        mb(stripped as f64),
        stripped as f64 / 1_048_576.0
    );
}

/// A child process with its output lines collected; its process group is killed on drop.
struct Watched {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watched {
    fn spawn(cmd: &mut Command) -> std::io::Result<Watched> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let outputs: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for output in outputs {
            let sink = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Ok(Watched { child, lines })
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.lines().into_iter().find(|l| l.contains(needle)) {
                return Ok(l);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited ({status}) before printing {needle:?}"));
            }
            if Instant::now() > deadline {
                return Err(format!("no {needle:?} within {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // The whole group: cargo-lambda runs the function as its own child.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// `cargo-lambda` on `PATH` or where `pip install --user` puts it.
fn cargo_lambda() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("cargo-lambda"))
        .find(|p| p.is_file())
}

/// Process start of `bin` until its first `GET .../runtime/invocation/next` on a stand-in
/// Runtime API: Lambda's Init Duration.
fn init_duration(bin: &Path, store: SocketAddr) -> Result<f64, String> {
    let api = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    api.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = api.local_addr().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("STRATA_ENDPOINT", store.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawning {}: {e}", bin.display()))?;
    let result = loop {
        match api.accept() {
            Ok((mut conn, _)) => {
                conn.set_nonblocking(false).map_err(|e| e.to_string())?;
                conn.set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|e| e.to_string())?;
                let mut buf = [0u8; 256];
                let n = conn.read(&mut buf).unwrap_or(0);
                let elapsed = started.elapsed().as_secs_f64();
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                break if head.contains("/runtime/invocation/next") {
                    Ok(elapsed)
                } else {
                    Err(format!(
                        "first call was not invocation/next: {:?}",
                        head.lines().next()
                    ))
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = child.try_wait() {
                    break Err(format!("the function exited ({status}) during init"));
                }
                if started.elapsed() > Duration::from_secs(30) {
                    break Err("no invocation/next within 30 s".to_string());
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => break Err(e.to_string()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Step 6: the querier Lambda's cold start (skipped with a message when it cannot run).
fn lambda_cold_start(store: SocketAddr, runs: usize) {
    println!("\nquerier Lambda cold start:");
    if std::env::var("STRATA_BENCH_LAMBDA").is_ok_and(|v| v == "0") {
        println!("  skipped (STRATA_BENCH_LAMBDA=0)");
        return;
    }
    let Some(cargo_lambda) = cargo_lambda() else {
        println!("  skipped: cargo-lambda is not installed (pip install --user cargo-lambda)");
        return;
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!("  building {FUNCTION} in release (cargo build --release -p strata-querier) ...");
    let t = Instant::now();
    let build = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-p",
            "strata-querier",
            "--bin",
            FUNCTION,
        ])
        .current_dir(workspace)
        .stdin(Stdio::null())
        .output();
    match build {
        Ok(out) if out.status.success() => {
            println!("  built in {:.0} s", t.elapsed().as_secs_f64());
        }
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(15).collect();
            println!("  skipped: {FUNCTION} does not build ({}):", out.status);
            for l in tail.into_iter().rev() {
                println!("    {l}");
            }
            return;
        }
        Err(e) => {
            println!("  skipped: cannot run {cargo}: {e}");
            return;
        }
    }
    // The release binary sits next to the bench's `strata` (target/release).
    let bin = Path::new(env!("CARGO_BIN_EXE_strata")).with_file_name(FUNCTION);

    // (a) Init Duration as Lambda defines it.
    let mut inits = Vec::new();
    for _ in 0..runs {
        match init_duration(&bin, store) {
            Ok(s) => inits.push(s),
            Err(e) => {
                println!("  init duration: failed: {e}");
                break;
            }
        }
    }
    if !inits.is_empty() {
        let n = inits.len();
        let (min, max) = (
            inits.iter().copied().fold(f64::INFINITY, f64::min),
            inits.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "  init duration (process start -> first invocation/next, stand-in Runtime API, \
             Info poll of the live store included): median {:.1} ms of {n} (min {:.1}, max {:.1})",
            median(inits) * 1e3,
            min * 1e3,
            max * 1e3
        );
    }

    // (b) Through the emulator.
    let port = free_port();
    let mut watch = match Watched::spawn(
        Command::new(&cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--release",
                "--ignore-changes",
                "--bin",
                FUNCTION,
            ])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .arg("--env-var")
            .arg(format!("STRATA_ENDPOINT={store}"))
            .current_dir(workspace.join("functions/querier")),
    ) {
        Ok(w) => w,
        Err(e) => {
            println!("  cargo lambda watch: cannot start: {e}");
            return;
        }
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while http_get(addr, "/").is_err() {
        if Instant::now() > deadline || watch.child.try_wait().ok().flatten().is_some() {
            println!("  cargo lambda watch: not listening on {addr}:");
            for l in watch.lines().iter().rev().take(20).rev() {
                println!("    {l}");
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let target = format!(
        "/lambda-url/{FUNCTION}/api/v1/query?query=up&time={}",
        secs(T0 + 3_600_000)
    );
    let mut times = Vec::new();
    for which in ["cold", "warm", "warm"] {
        let t = Instant::now();
        match http_get(addr, &target) {
            Ok((status, body)) => {
                let ms = t.elapsed().as_secs_f64() * 1e3;
                println!(
                    "  cargo lambda watch --release, {which} invocation: {status} in {ms:.1} ms \
                     ({} bytes)",
                    body.len()
                );
                times.push(ms);
            }
            Err(e) => {
                println!("  cargo lambda watch: {which} invocation failed: {e}");
                break;
            }
        }
    }
    let logged = watch
        .wait_for("querier Lambda initialised", Duration::from_secs(5))
        .ok();
    if let Some(line) = logged {
        let init_ms = serde_json::from_str::<serde_json::Value>(line.trim())
            .ok()
            .and_then(|v| v["fields"]["init_ms"].as_f64());
        match init_ms {
            Some(ms) => println!("  init inside main, as the function logs it: {ms:.2} ms"),
            None => println!("  the function logged: {line}"),
        }
    }
    let emulator_init: Vec<String> = watch
        .lines()
        .into_iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("init") && (l.contains("duration") || l.contains(" ms"))
        })
        .filter(|l| !l.contains("querier Lambda initialised"))
        .collect();
    if emulator_init.is_empty() {
        println!("  the emulator reported no init duration of its own");
    } else {
        for l in emulator_init {
            println!("  emulator: {l}");
        }
    }
    if times.len() == 3 {
        println!(
            "  cold - warm invocation: {:.1} ms (process start, init, first connection)",
            times[0] - times[1].min(times[2])
        );
    }
}

fn run() {
    let series_n = env_usize("STRATA_BENCH_SERIES", 1000).max(10);
    let hours = env_usize("STRATA_BENCH_HOURS", 24).max(1) as i64;
    let runs = env_usize("STRATA_BENCH_RUNS", 7).max(1);
    println!("machine: {}", machine());

    let t = Instant::now();
    let data = generate(series_n / 10, hours);
    let samples: usize = data.values().map(Vec::len).sum();
    println!(
        "data: {} series, {samples} samples ({hours}h at 15s) generated in {:.1}s",
        data.len(),
        t.elapsed().as_secs_f64()
    );
    let tmp = tempfile::tempdir().unwrap();
    let tsdb = tmp.path().join("prometheus");
    let bucket = tmp.path().join("bucket");
    std::fs::create_dir_all(&tsdb).unwrap();
    std::fs::create_dir_all(&bucket).unwrap();
    let t = Instant::now();
    let meta = thanos_meta(&[EXT_LABEL], "bench");
    let blocks = write_blocks(&tsdb, &data, hours, Some(&meta));
    drop(data);
    println!(
        "blocks: {} written in {:.1}s",
        blocks.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let yaml = fs_bucket_yaml(&bucket);
    let objstore = strata_objstore::from_yaml(&yaml).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for dir in &blocks {
        rt.block_on(strata_objstore::upload_block(objstore.as_ref(), dir))
            .unwrap();
    }
    println!(
        "bucket: {} blocks uploaded (external labels {{{}=\"{}\"}}) in {:.1}s",
        blocks.len(),
        EXT_LABEL.0,
        EXT_LABEL.1,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let prom = Prometheus::start(&tsdb);
    println!("prometheus: ready in {:.1}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let store_dir = tmp.path().join("store");
    let store = start_store(&yaml, &store_dir);
    println!("strata store: ready in {:.1}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let query = start_query(&[store.grpc.to_string()], &[], &tmp.path().join("query"));
    println!("strata query: ready in {:.1}s", t.elapsed().as_secs_f64());
    let procs = [
        ("prometheus", Some(prom.pid())),
        (
            "strata store",
            child_pid("store", &store_dir.join("data").display().to_string()),
        ),
        ("strata query", child_pid("query", &query.http.to_string())),
    ];

    println!("\nmemory:");
    print_memory("once ready", &procs);

    let start = T0 + 137;
    let end = T0 + hours * 3_600_000 - 60_000 + 137;
    let step = 60_000;
    let steps = (end - start) / step + 1;
    struct Row {
        query: &'static str,
        prom: f64,
        strata: f64,
        prom_bytes: usize,
        strata_bytes: usize,
        prom_series: usize,
        strata_series: usize,
        points: usize,
        same: String,
        diff: Option<String>,
    }
    let mut rows = Vec::new();
    for q in QUERIES {
        let target = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step={}",
            url_encode(q),
            secs(start),
            secs(end),
            secs(step)
        );
        let get = |addr: SocketAddr| {
            let t = Instant::now();
            let (status, body) = http_get(addr, &target).unwrap();
            (t.elapsed().as_secs_f64(), status, body)
        };
        // Warm-up, results and sizes.
        let (_, status, body) = get(prom.addr);
        let p = answer(status, &body);
        let (_, status, body) = get(query.http);
        let s = answer(status, &body);
        for (who, a) in [("prometheus", &p), ("strata", &s)] {
            if !a.ok {
                println!(
                    "{who} failed on {q}: {}",
                    a.error.chars().take(300).collect::<String>()
                );
            }
        }
        let (mut prom_t, mut strata_t) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            prom_t.push(get(prom.addr).0);
            strata_t.push(get(query.http).0);
        }
        let (same, diff) = compare(&p, &s);
        rows.push(Row {
            query: q,
            prom: median(prom_t),
            strata: median(strata_t),
            prom_bytes: p.bytes,
            strata_bytes: s.bytes,
            prom_series: p.series.len(),
            strata_series: s.series.len(),
            points: p.points(),
            same,
            diff,
        });
    }

    println!("\nmemory:");
    print_memory("after queries", &procs);

    println!(
        "\nrange queries over {hours}h, step 1m ({steps} steps), end to end over HTTP, median of \
         {runs} runs; times in ms, sizes in MB"
    );
    println!(
        "{:<82} {:>8} {:>8} {:>6} {:>7} {:>7} {:>10} {:>8} {:>6}",
        "query", "prom", "strata", "ratio", "prom MB", "str MB", "series p/s", "points", "same"
    );
    for r in &rows {
        println!(
            "{:<82} {:>8.1} {:>8.1} {:>6.2} {:>7} {:>7} {:>10} {:>8} {:>6}",
            r.query,
            r.prom * 1e3,
            r.strata * 1e3,
            r.strata / r.prom,
            mb(r.prom_bytes as f64),
            mb(r.strata_bytes as f64),
            format!("{}/{}", r.prom_series, r.strata_series),
            r.points,
            r.same
        );
    }
    let total = |f: fn(&Row) -> f64| rows.iter().map(f).sum::<f64>();
    println!(
        "{:<82} {:>8.1} {:>8.1} {:>6.2}",
        "total",
        total(|r| r.prom) * 1e3,
        total(|r| r.strata) * 1e3,
        total(|r| r.strata) / total(|r| r.prom)
    );
    for r in &rows {
        if let Some(d) = &r.diff {
            println!("{}: {}: {d}", r.query, r.same);
        }
    }
    println!(
        "\nprom: Prometheus 2.42 over its data directory; strata: `strata query` over `strata store`\n\
         over a FILESYSTEM bucket holding the same blocks (one gRPC hop). Both timed from the\n\
         request to the last byte of the JSON (one connection per request, no compression);\n\
         ratio = strata / prom. Sizes: the JSON bodies (strata's carry the external label\n\
         cluster=\"bench\" on non-aggregated series). series p/s: result series, Prometheus /\n\
         strata. points: Prometheus' result points. same: the results compared once cluster is\n\
         dropped: same = identical, ~N = N values equal within 1e-9 relative, N≠ = N points\n\
         differ or are on one side only (the first difference is printed above). Expected\n\
         differences: strata's engine follows Prometheus >= 2.51 in rate/increase extrapolation\n\
         (the counter zero-point limit applies after the threshold check; 2.42 applies it\n\
         before), which changes a few values where a counter's first sample in the window is\n\
         far from the window start (series starts, resets); topk may keep another of equal values."
    );

    if let Some(pause) = std::env::var("STRATA_BENCH_PAUSE")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        println!(
            "\npausing {pause}s: prometheus http://{}, strata query http://{}, strata store {}",
            prom.addr, query.http, store.grpc
        );
        std::thread::sleep(Duration::from_secs(pause));
    }
    binary_size();
    lambda_cold_start(store.grpc, runs);
    drop(query);
    drop(store);
    drop(prom);
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "querier_vs_prometheus: skipped (run `cargo bench -p strata --bench querier_vs_prometheus`)"
        );
        return;
    }
    run();
}
