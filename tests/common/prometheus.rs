//! A real Prometheus server (Debian's 2.42) serving a TSDB directory of blocks, killed on drop;
//! GET requests to it; its query API results parsed into plain values; and loading the same
//! blocks into a `MemStore` for strata's PromQL engine.

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use strata_storeapi::MemStore;
use strata_testkit::http;
use strata_tsdb::block::LocalBlock;
use strata_tsdb::labels::Labels;

/// A label set as a sorted map (what both sides are compared on).
pub type LabelMap = BTreeMap<String, String>;

/// A query result, typed like the HTTP API's `resultType`.
#[derive(Debug, Clone, PartialEq)]
pub enum PromValue {
    /// `scalar`: timestamp (ms), value.
    Scalar(i64, f64),
    /// `string`: timestamp (ms), value.
    String(i64, String),
    /// `vector`: labels, timestamp (ms), value — in the order the server sent them.
    Vector(Vec<(LabelMap, i64, f64)>),
    /// `matrix`: labels and `(ms, value)` points.
    Matrix(Vec<(LabelMap, Vec<(i64, f64)>)>),
}

/// One answer of the query API: the parsed value (or the error message) and the raw JSON.
#[derive(Debug, Clone)]
pub struct PromResponse {
    /// The value, or `errorType: error` when the server refused the query.
    pub value: Result<PromValue, String>,
    /// The whole response body (holds `data.stats` when asked for).
    pub json: serde_json::Value,
}

/// A running `prometheus` process; killed (and its config directory removed) on drop.
pub struct Prometheus {
    child: Child,
    /// Its HTTP address.
    pub addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("addr", &self.addr)
            .field("pid", &self.child.id())
            .finish()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    l.local_addr().expect("local addr").port()
}

/// Path of the `prometheus` binary: `$PROMETHEUS`, else the Debian package's.
pub fn prometheus_binary() -> String {
    std::env::var("PROMETHEUS").unwrap_or_else(|_| super::require_tool("prometheus"))
}

impl Prometheus {
    /// Start Prometheus on a free 127.0.0.1 port over the TSDB directory `tsdb` (blocks in it
    /// are served as they are: nothing is scraped and, with 2h as both block durations, no
    /// block is compacted) and wait until `/-/ready` answers 200.
    pub fn start(tsdb: &Path) -> Prometheus {
        Self::start_with_args(
            tsdb,
            &[
                "--storage.tsdb.min-block-duration=2h",
                "--storage.tsdb.max-block-duration=2h",
            ],
        )
    }

    /// [`Prometheus::start`] with extra command-line flags.
    pub fn start_with_args(tsdb: &Path, extra: &[&str]) -> Prometheus {
        let bin = prometheus_binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global: {}\nscrape_configs: []\n").expect("config");
        let log = dir.path().join("prometheus.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let child = Command::new(&bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg(format!("--web.listen-address={addr}"))
            // Blocks are "old": keep them whatever their age.
            .arg("--storage.tsdb.retention.time=100y")
            .arg("--log.level=warn")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log fd"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {bin}: {e}"));
        let mut p = Prometheus {
            child,
            addr,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("prometheus exited with {status}:\n{}", p.log_tail());
            }
            if let Ok((200, _)) = http_get(p.addr, "/-/ready") {
                return p;
            }
            if Instant::now() > deadline {
                panic!("prometheus not ready after 90 s:\n{}", p.log_tail());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// GET `target` and parse the body as JSON.
    pub fn get_json(&self, target: &str) -> serde_json::Value {
        let (status, body) = http_get(self.addr, target)
            .unwrap_or_else(|e| panic!("GET {target}: {e}\n{}", self.log_tail()));
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "GET {target}: status {status}, body is not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        })
    }

    /// `/api/v1/query` at `t_ms`; `stats` adds `&stats=all`.
    pub fn query(&self, q: &str, t_ms: i64, stats: bool) -> PromResponse {
        let mut target = format!("/api/v1/query?query={}&time={}", url_encode(q), secs(t_ms));
        if stats {
            target.push_str("&stats=all");
        }
        parse_response(self.get_json(&target))
    }

    /// `/api/v1/query_range` over `start_ms..=end_ms` by `step_ms`; `stats` adds `&stats=all`.
    pub fn query_range(
        &self,
        q: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        stats: bool,
    ) -> PromResponse {
        let mut target = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step={}",
            url_encode(q),
            secs(start_ms),
            secs(end_ms),
            secs(step_ms)
        );
        if stats {
            target.push_str("&stats=all");
        }
        parse_response(self.get_json(&target))
    }

    /// The text of `/metrics`.
    pub fn metrics(&self) -> String {
        let (_, body) = http_get(self.addr, "/metrics").expect("GET /metrics");
        String::from_utf8_lossy(&body).into_owned()
    }
}

/// The value of an unlabelled metric in Prometheus text exposition.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix(' ')?;
        parse_f64(rest.split_whitespace().next()?)
    })
}

/// Milliseconds as the API's decimal seconds (`1700000000.137`).
pub fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// Percent-encode everything but RFC 3986's unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A one-shot GET (`Accept: application/json`); returns status and body.
pub fn http_get(addr: SocketAddr, target: &str) -> Result<(u16, Vec<u8>), http::Error> {
    let r = http::blocking::send("GET", addr, target, &[("accept", "application/json")], "")?;
    Ok((r.status, r.body.to_vec()))
}

/// Go's float formatting as the API writes it (`NaN`, `+Inf`, `-Inf`, decimals).
pub fn parse_f64(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn point(p: &serde_json::Value) -> (i64, f64) {
    let t = p[0].as_f64().expect("sample timestamp");
    let v = p[1].as_str().and_then(parse_f64).expect("sample value");
    ((t * 1000.0).round() as i64, v)
}

fn label_map(m: &serde_json::Value) -> LabelMap {
    m.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Parse a query API body.
pub fn parse_response(json: serde_json::Value) -> PromResponse {
    if json["status"] != "success" {
        let msg = format!(
            "{}: {}",
            json["errorType"].as_str().unwrap_or("?"),
            json["error"].as_str().unwrap_or("?")
        );
        return PromResponse {
            value: Err(msg),
            json,
        };
    }
    let data = &json["data"];
    let result = &data["result"];
    let value = match data["resultType"].as_str() {
        Some("scalar") => {
            let (t, v) = point(result);
            Ok(PromValue::Scalar(t, v))
        }
        Some("string") => {
            let t = result[0].as_f64().unwrap_or_default();
            Ok(PromValue::String(
                (t * 1000.0).round() as i64,
                result[1].as_str().unwrap_or_default().to_string(),
            ))
        }
        Some("vector") => Ok(PromValue::Vector(
            result
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            let (t, v) = point(&s["value"]);
                            (label_map(&s["metric"]), t, v)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )),
        Some("matrix") => Ok(PromValue::Matrix(
            result
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            let pts = s["values"]
                                .as_array()
                                .map(|ps| ps.iter().map(point).collect())
                                .unwrap_or_default();
                            (label_map(&s["metric"]), pts)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )),
        other => Err(format!("unknown resultType {other:?}")),
    };
    PromResponse { value, json }
}

/// Labels as a [`LabelMap`].
pub fn labels_to_map(l: &Labels) -> LabelMap {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// The block directories (those holding a `meta.json`) directly under `dir`, sorted.
pub fn block_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("reading the blocks directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    v.sort();
    v
}

/// Every series of every block under `dir`, merged across blocks, in a `MemStore` without
/// external labels. Returns the store and its (series, samples) counts.
pub async fn memstore_from_blocks(dir: &Path) -> (MemStore, usize, usize) {
    let mut all: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for d in block_dirs(dir) {
        let block = LocalBlock::open(&d)
            .await
            .unwrap_or_else(|e| panic!("opening block {}: {e}", d.display()));
        for (labels, samples) in block.read_all().await.expect("reading a block") {
            all.entry(labels).or_default().extend(samples);
        }
    }
    let store = MemStore::new(Labels::empty());
    let series = all.len();
    let mut samples = 0;
    for (labels, mut s) in all {
        s.sort_by_key(|p| p.0);
        samples += s.len();
        store.add_series(labels, &s);
    }
    (store, series, samples)
}

// ---------------------------------------------------------------------------------------------
// Comparing results.

/// Equal values: NaN equals NaN, else relative difference at most 1e-9 (or 1e-12 absolute).
pub fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let d = (a - b).abs();
    // Relative 1e-9; values this close to zero are differently-ordered sums of the same terms.
    d <= 1e-9 * a.abs().max(b.abs()) || d <= 1e-12
}

/// `{a="1", b="2"}`.
pub fn fmt_labels(l: &LabelMap) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// `None` when both point lists are equal (by [`close`]), else what differs.
pub fn points_diff(want: &[(i64, f64)], got: &[(i64, f64)]) -> Option<String> {
    if want.len() == got.len()
        && want
            .iter()
            .zip(got)
            .all(|(w, g)| w.0 == g.0 && close(w.1, g.1))
    {
        return None;
    }
    let gm: BTreeMap<i64, f64> = got.iter().copied().collect();
    let wm: BTreeMap<i64, f64> = want.iter().copied().collect();
    let mut out = vec![format!("{} points expected, {} got", want.len(), got.len())];
    for (t, w) in &wm {
        match gm.get(t) {
            None => out.push(format!("  t={t}: want {w}, missing")),
            Some(g) if !close(*w, *g) => out.push(format!("  t={t}: want {w}, got {g}")),
            _ => {}
        }
    }
    for (t, g) in &gm {
        if !wm.contains_key(t) {
            out.push(format!("  t={t}: unexpected {g}"));
        }
    }
    if out.len() == 1 {
        // Same points as sets: the order (or a duplicate timestamp) differs.
        if let Some(i) =
            (0..want.len()).find(|&i| want[i].0 != got[i].0 || !close(want[i].1, got[i].1))
        {
            out.push(format!(
                "  point #{i}: want {:?}, got {:?}",
                want[i], got[i]
            ));
        }
    }
    out.truncate(6);
    Some(out.join("\n"))
}

/// `None` when `got` equals `want` (vectors as sets, or in order when `ordered`; values by
/// [`close`]), else a description of the differences.
pub fn compare(want: &PromValue, got: &PromValue, ordered: bool) -> Option<String> {
    let mut diffs = Vec::new();
    match (want, got) {
        (PromValue::Scalar(wt, wv), PromValue::Scalar(gt, gv)) => {
            if wt != gt || !close(*wv, *gv) {
                diffs.push(format!("scalar: want {wv}@{wt}, got {gv}@{gt}"));
            }
        }
        (PromValue::String(wt, wv), PromValue::String(gt, gv)) => {
            if wt != gt || wv != gv {
                diffs.push(format!("string: want {wv:?}@{wt}, got {gv:?}@{gt}"));
            }
        }
        (PromValue::Vector(w), PromValue::Vector(g)) => {
            if ordered {
                let wl: Vec<&LabelMap> = w.iter().map(|s| &s.0).collect();
                let gl: Vec<&LabelMap> = g.iter().map(|s| &s.0).collect();
                if wl != gl {
                    diffs.push("order of the vector differs".to_string());
                }
            }
            let gm: HashMap<&LabelMap, (i64, f64)> = g.iter().map(|s| (&s.0, (s.1, s.2))).collect();
            if gm.len() != g.len() {
                diffs.push("duplicate label sets in the result".to_string());
            }
            let wm: HashMap<&LabelMap, (i64, f64)> = w.iter().map(|s| (&s.0, (s.1, s.2))).collect();
            for (l, (t, v)) in &wm {
                match gm.get(l) {
                    None => diffs.push(format!("missing {} {v}@{t}", fmt_labels(l))),
                    Some((gt, gv)) if gt != t || !close(*v, *gv) => {
                        diffs.push(format!("{}: want {v}@{t}, got {gv}@{gt}", fmt_labels(l)))
                    }
                    _ => {}
                }
            }
            for (l, (t, v)) in &gm {
                if !wm.contains_key(l) {
                    diffs.push(format!("unexpected {} {v}@{t}", fmt_labels(l)));
                }
            }
        }
        (PromValue::Matrix(w), PromValue::Matrix(g)) => {
            let gm: BTreeMap<&LabelMap, &Vec<(i64, f64)>> =
                g.iter().map(|s| (&s.0, &s.1)).collect();
            if gm.len() != g.len() {
                diffs.push("duplicate label sets in the result".to_string());
            }
            let wm: BTreeMap<&LabelMap, &Vec<(i64, f64)>> =
                w.iter().map(|s| (&s.0, &s.1)).collect();
            for (l, pts) in &wm {
                match gm.get(l) {
                    None => diffs.push(format!("missing {} ({} points)", fmt_labels(l), pts.len())),
                    Some(gp) => {
                        if let Some(d) = points_diff(pts, gp) {
                            diffs.push(format!("{}: {d}", fmt_labels(l)));
                        }
                    }
                }
            }
            for (l, pts) in &gm {
                if !wm.contains_key(l) {
                    diffs.push(format!(
                        "unexpected {} ({} points)",
                        fmt_labels(l),
                        pts.len()
                    ));
                }
            }
        }
        _ => diffs.push(format!(
            "result type: want {}, got {}",
            type_name(want),
            type_name(got)
        )),
    }
    if diffs.is_empty() {
        return None;
    }
    diffs.sort();
    let n = diffs.len();
    diffs.truncate(8);
    if n > 8 {
        diffs.push(format!("… {} more", n - 8));
    }
    Some(diffs.join("\n"))
}

/// The API's `resultType` of a value.
pub fn type_name(v: &PromValue) -> &'static str {
    match v {
        PromValue::Scalar(..) => "scalar",
        PromValue::String(..) => "string",
        PromValue::Vector(..) => "vector",
        PromValue::Matrix(..) => "matrix",
    }
}
