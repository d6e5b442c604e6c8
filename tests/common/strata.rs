//! strata processes for end-to-end tests: `strata store` over a FILESYSTEM bucket and
//! `strata query` over StoreAPI endpoints (real processes, killed on drop); putting blocks in a
//! bucket (copying promtool-made blocks with Thanos external labels, or `strata tools bucket
//! backfill`); a fixture of Prometheus and `strata query` over the same blocks; comparing
//! promtool outputs; a StoreAPI server whose data path fails; and GET and form POST requests.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use strata_storeapi::pb::thanos::info::InfoResponse;
use strata_storeapi::pb::thanos::{
    LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse, SeriesRequest,
};
use strata_storeapi::{MemStore, RequestContext, SeriesStream, Store, StoreError};
use strata_testkit::http;

use super::prometheus::{Prometheus, close, parse_f64};
use super::{GenSeries, require_tool, run_ok, to_openmetrics};

/// A running strata process with its log file; killed on drop.
pub struct StrataProc {
    child: Child,
    /// `store` or `query`.
    pub name: &'static str,
    /// Its gRPC (StoreAPI) address.
    pub grpc: SocketAddr,
    /// Its HTTP address.
    pub http: SocketAddr,
    log: PathBuf,
}

impl std::fmt::Debug for StrataProc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrataProc")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("grpc", &self.grpc)
            .field("http", &self.http)
            .finish()
    }
}

impl Drop for StrataProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StrataProc {
    /// The last lines of the process' output (stdout and stderr).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `None` while the process runs, else how it ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Panic (with the log) unless the process is still running.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!(
                "strata {} exited with {status}:\n{}",
                self.name,
                self.log_tail()
            );
        }
    }

    /// Kill the process now (the drop does nothing more).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// GET `target` on the HTTP port.
    pub fn get(&self, target: &str) -> Response {
        request(self.http, "GET", target, None)
            .unwrap_or_else(|e| panic!("GET {target}: {e}\n{}", self.log_tail()))
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    l.local_addr().expect("local addr").port()
}

/// The objstore YAML of a FILESYSTEM bucket in `dir`.
pub fn fs_bucket_yaml(dir: &Path) -> String {
    format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        dir.display().to_string()
    )
}

fn spawn_logged(args: &[String], log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log fd"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning strata {args:?}: {e}"))
}

fn wait_ready(p: &mut StrataProc, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = p.exited() {
            let log = p.log_tail();
            if log.contains("not built yet") {
                panic!(
                    "`strata {}` is not built yet (exit {status}):\n{log}",
                    p.name
                );
            }
            panic!("strata {} exited with {status}:\n{log}", p.name);
        }
        if request(p.http, "GET", "/-/ready", None).is_ok_and(|r| r.status == 200) {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "strata {} not ready after {timeout:?}:\n{}",
                p.name,
                p.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Start `strata store` over the bucket `objstore_yaml` (cache in `work_dir/data`, log in
/// `work_dir/store.log`) on ports the process picks, and wait until it is ready.
pub fn start_store(objstore_yaml: &str, work_dir: &Path) -> StrataProc {
    std::fs::create_dir_all(work_dir).expect("store work dir");
    let log = work_dir.join("store.log");
    let args: Vec<String> = [
        "store",
        "--objstore.config",
        objstore_yaml,
        "--data-dir",
        &work_dir.join("data").display().to_string(),
        "--grpc-address",
        "127.0.0.1:0",
        "--http-address",
        "127.0.0.1:0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let child = spawn_logged(&args, &log);
    // It prints `strata store: StoreAPI on <grpc> (gRPC), metrics and probes on http://<http>`.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut p = StrataProc {
        child,
        name: "store",
        grpc: "0.0.0.0:0".parse().expect("addr"),
        http: "0.0.0.0:0".parse().expect("addr"),
        log,
    };
    loop {
        let text = std::fs::read_to_string(&p.log).unwrap_or_default();
        let found = text.lines().find_map(|l| {
            let rest = l.split("strata store: StoreAPI on ").nth(1)?;
            let grpc = rest.split(' ').next()?.parse().ok()?;
            let http = rest.rsplit("http://").next()?.trim().parse().ok()?;
            Some((grpc, http))
        });
        if let Some((grpc, http)) = found {
            p.grpc = grpc;
            p.http = http;
            break;
        }
        p.assert_running();
        assert!(
            Instant::now() < deadline,
            "strata store did not print its addresses:\n{}",
            p.log_tail()
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    wait_ready(&mut p, Duration::from_secs(30));
    p
}

/// Start `strata query --endpoint <e>...` with `extra` flags on free 127.0.0.1 ports (log in
/// `work_dir/query-<port>.log`) and wait until `/-/ready` answers 200.
pub fn start_query(endpoints: &[String], extra: &[&str], work_dir: &Path) -> StrataProc {
    std::fs::create_dir_all(work_dir).expect("query work dir");
    let (grpc_port, http_port) = (free_port(), free_port());
    let grpc: SocketAddr = format!("127.0.0.1:{grpc_port}").parse().expect("addr");
    let http: SocketAddr = format!("127.0.0.1:{http_port}").parse().expect("addr");
    let log = work_dir.join(format!("query-{http_port}.log"));
    let mut args = vec![
        "query".to_string(),
        "--grpc-address".to_string(),
        grpc.to_string(),
        "--http-address".to_string(),
        http.to_string(),
    ];
    for e in endpoints {
        args.push("--endpoint".to_string());
        args.push(e.clone());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = spawn_logged(&args, &log);
    let mut p = StrataProc {
        child,
        name: "query",
        grpc,
        http,
        log,
    };
    wait_ready(&mut p, Duration::from_secs(30));
    p
}

/// Copy the blocks (directories holding `meta.json`) of the TSDB directory `tsdb` into the
/// FILESYSTEM bucket directory `bucket`, adding the Thanos section to each `meta.json`
/// (`labels` = `ext_labels`, raw resolution, the files and their sizes), as
/// `thanos tools bucket upload-blocks` would. Returns the number of blocks copied.
pub fn upload_blocks(tsdb: &Path, bucket: &Path, ext_labels: &[(&str, &str)]) -> usize {
    let blocks = super::prometheus::block_dirs(tsdb);
    for src in &blocks {
        let dst = bucket.join(src.file_name().expect("block id"));
        copy_dir(src, &dst);
        let mut files = Vec::new();
        for rel in ["chunks", "index", "tombstones"] {
            let p = dst.join(rel);
            if p.is_dir() {
                let mut chunk_files: Vec<_> = std::fs::read_dir(&p)
                    .expect("chunks dir")
                    .map(|e| e.expect("entry").path())
                    .collect();
                chunk_files.sort();
                for f in chunk_files {
                    let name = f.file_name().expect("name").to_string_lossy().into_owned();
                    let size = std::fs::metadata(&f).expect("size").len();
                    files.push(serde_json::json!({
                        "rel_path": format!("chunks/{name}"),
                        "size_bytes": size,
                    }));
                }
            } else if p.is_file() {
                let size = std::fs::metadata(&p).expect("size").len();
                files.push(serde_json::json!({"rel_path": rel, "size_bytes": size}));
            }
        }
        files.push(serde_json::json!({"rel_path": "meta.json"}));
        let meta_path = dst.join("meta.json");
        let mut meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&meta_path).expect("meta.json"))
                .expect("meta.json is JSON");
        let labels: serde_json::Map<String, serde_json::Value> = ext_labels
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        meta["thanos"] = serde_json::json!({
            "version": 1,
            "labels": labels,
            "downsample": {"resolution": 0},
            "source": "sidecar",
            "files": files,
        });
        std::fs::write(
            &meta_path,
            serde_json::to_vec_pretty(&meta).expect("meta JSON"),
        )
        .expect("writing meta.json");
    }
    blocks.len()
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("creating a block dir");
    for e in std::fs::read_dir(src).expect("reading a block dir") {
        let e = e.expect("entry");
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).expect("copying a block file");
        }
    }
}

/// `strata tools bucket backfill` the OpenMetrics file `om` into the bucket with `labels`
/// (`name=value`) as external labels.
pub fn backfill(om: &Path, objstore_yaml: &str, labels: &[&str]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args([
        "tools",
        "bucket",
        "backfill",
        "--objstore.config",
        objstore_yaml,
    ]);
    for l in labels {
        cmd.args(["--label", l]);
    }
    cmd.arg(om);
    super::run_ok(&mut cmd);
}

pub use strata_testkit::http::Response;

/// One request; `form` is sent as `application/x-www-form-urlencoded`.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    form: Option<&str>,
) -> Result<Response, http::Error> {
    let mut headers = vec![("accept", "application/json")];
    if form.is_some() {
        headers.push(("content-type", "application/x-www-form-urlencoded"));
    }
    let body = form.unwrap_or_default().to_string();
    http::blocking::send(method, addr, target, &headers, body)
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

/// Shift samples off `.137` (the evaluation times' milliseconds).
pub fn off_eval_edges(series: &mut [GenSeries]) {
    for s in series {
        for p in &mut s.samples {
            if p.0 % 1000 == 137 {
                p.0 += 1;
            }
        }
    }
}

/// Add the label `name="value"` to every series.
pub fn with_label(series: &mut [GenSeries], name: &str, value: &str) {
    for s in series {
        s.labels.push((name.to_string(), value.to_string()));
        s.labels.sort();
    }
}

/// Prometheus and `strata query` (over `strata store`) serving the same promtool-made blocks.
pub struct Parity {
    /// Prometheus over the blocks.
    pub prom: Prometheus,
    /// `strata query` over `strata store` over the same blocks.
    pub query: StrataProc,
    _store: StrataProc,
    _tmp: tempfile::TempDir,
}

pub fn parity_setup(series: &[GenSeries]) -> Parity {
    let promtool = require_tool("promtool");
    let tmp = tempfile::tempdir().unwrap();
    let om = tmp.path().join("input.om");
    std::fs::write(&om, to_openmetrics(series)).unwrap();
    let tsdb = tmp.path().join("tsdb");
    run_ok(
        Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&tsdb),
    );
    // Copy before Prometheus opens the directory.
    let bucket = tmp.path().join("bucket");
    let blocks = upload_blocks(&tsdb, &bucket, &[("cluster", "c1")]);
    assert!(blocks >= 2, "promtool made {blocks} blocks");
    let prom = Prometheus::start(&tsdb);
    let store = start_store(&fs_bucket_yaml(&bucket), &tmp.path().join("store"));
    let query = start_query(&[store.grpc.to_string()], &[], tmp.path());
    Parity {
        prom,
        query,
        _store: store,
        _tmp: tmp,
    }
}

/// One promtool run: exit status, stdout, stderr.
pub type Out = (bool, String, String);

pub fn promtool(args: &[String]) -> Out {
    let out = Command::new(require_tool("promtool"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Lines equal token by token, numbers by [`close`] (relative 1e-9: sums in another order
/// differ in the last bits, as in the engine's differential test).
pub fn same_line(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (ta, tb): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    ta.len() == tb.len()
        && ta.iter().zip(&tb).all(|(x, y)| {
            x == y
                || match (parse_f64(x), parse_f64(y)) {
                    (Some(x), Some(y)) => close(x, y),
                    _ => false,
                }
        })
}

pub fn sorted(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

pub fn same_lines(a: &[&str], b: &[&str]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_line(x, y))
}

/// `None` when strata's output equals Prometheus' (as sorted lines unless `ordered`).
pub fn out_diff(want: &Out, got: &Out, ordered: bool) -> Option<String> {
    if !want.0 {
        return Some(format!("prometheus failed: {}", want.2.trim()));
    }
    if !got.0 {
        return Some(format!("strata failed: {}", got.2.trim()));
    }
    let (w, g): (Vec<&str>, Vec<&str>) = (want.1.lines().collect(), got.1.lines().collect());
    if same_lines(&w, &g) {
        return None;
    }
    let (ws, gs) = (sorted(&want.1), sorted(&got.1));
    let same_set = same_lines(&ws, &gs);
    if !ordered && same_set {
        return None;
    }
    let i = w
        .iter()
        .zip(&g)
        .position(|(a, b)| !same_line(a, b))
        .unwrap_or(w.len().min(g.len()));
    let order_note = if same_set {
        " (same lines, different order)"
    } else {
        ""
    };
    Some(format!(
        "{} lines expected, {} got{order_note}; first difference at line {}:\n      prometheus: {}\n      strata:     {}",
        w.len(),
        g.len(),
        i + 1,
        w.get(i).unwrap_or(&"<end>"),
        g.get(i).unwrap_or(&"<end>"),
    ))
}

/// A bucket (in `dir`) holding `series` with `labels` as external labels.
pub fn bucket_with(dir: &Path, series: &[GenSeries], labels: &[&str]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let om = dir.join("input.om");
    std::fs::write(&om, to_openmetrics(series)).unwrap();
    let yaml = fs_bucket_yaml(&dir.join("bucket"));
    backfill(&om, &yaml, labels);
    yaml
}

pub const INJECTED: &str = "injected failure: this store's data path is down";

/// A StoreAPI whose Info answers (so the querier sees it healthy) but whose data calls fail.
#[derive(Debug)]
pub struct FailingStore(pub MemStore);

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// `Store` is an `async_trait`; this is its expanded form (the root crate has no async-trait).
impl Store for FailingStore {
    fn info<'l0, 'at>(&'l0 self) -> BoxFut<'at, Result<InfoResponse, StoreError>>
    where
        'l0: 'at,
        Self: 'at,
    {
        self.0.info()
    }

    fn series<'l0, 'l1, 'at>(
        &'l0 self,
        _ctx: &'l1 RequestContext,
        _req: SeriesRequest,
    ) -> BoxFut<'at, Result<SeriesStream, StoreError>>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        Box::pin(async { Err(StoreError::Unavailable(INJECTED.to_string())) })
    }

    fn label_names<'l0, 'l1, 'at>(
        &'l0 self,
        _ctx: &'l1 RequestContext,
        _req: LabelNamesRequest,
    ) -> BoxFut<'at, Result<LabelNamesResponse, StoreError>>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        Box::pin(async { Err(StoreError::Unavailable(INJECTED.to_string())) })
    }

    fn label_values<'l0, 'l1, 'at>(
        &'l0 self,
        _ctx: &'l1 RequestContext,
        _req: LabelValuesRequest,
    ) -> BoxFut<'at, Result<LabelValuesResponse, StoreError>>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        Box::pin(async { Err(StoreError::Unavailable(INJECTED.to_string())) })
    }
}
