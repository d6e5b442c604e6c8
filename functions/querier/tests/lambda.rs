//! The querier Lambda end to end: a real StoreAPI gRPC server, the `querier-lambda` binary
//! behind `cargo lambda watch` (the Lambda emulator), function-URL requests and `cargo lambda
//! invoke` with the event fixtures; every answer must equal what the same router answers
//! in-process over the same endpoint. Also measures the cold start (process start until the
//! runtime asks for its first event).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use serde_json::Value;
use strata_querier::endpoints::EndpointOptions;
use strata_querier::{EndpointSet, Querier, QuerierConfig};
use strata_storeapi::{MemStore, Store};
use strata_tsdb::Labels;
use tokio::io::AsyncReadExt;
use tower::ServiceExt;

const BIN: &str = env!("CARGO_BIN_EXE_querier-lambda");
const FUNCTION: &str = "querier-lambda";
/// The evaluation time the fixtures use (ms).
const T0: i64 = 1_700_000_000_000;

/// A child process killed (and reaped) when dropped, with its output lines collected.
struct Proc {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn spawn(cmd: &mut Command, tag: &'static str) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {tag}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
        let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
        for output in [stdout, stderr] {
            let sink = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    eprintln!("[{tag}] {line}");
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Proc { child, lines }
    }

    /// Waits until an output line contains `needle`; returns that line.
    async fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("process exited ({status}) before printing {needle:?}");
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `cargo-lambda` executable: on `PATH`, or where `pip install --user` puts it.
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two replicas of a counter (deduplicated by `replica`), a second counter and `up`, every
/// 15s for the hour before [`T0`].
fn store() -> Arc<dyn Store> {
    let mem = MemStore::new(Labels::empty());
    let times = (0..=240).map(|i| (T0 - 3_600_000 + i * 15_000, i as f64));
    let series = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs.iter().copied());
    for replica in ["r1", "r2"] {
        let labels = [
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("instance", "a"),
            ("replica", replica),
        ];
        let samples: Vec<(i64, f64)> = times.clone().map(|(t, i)| (t, i * 10.0)).collect();
        mem.add_series(series(&labels), &samples);
    }
    let labels = [
        ("__name__", "http_requests_total"),
        ("job", "api"),
        ("instance", "b"),
        ("replica", "r1"),
    ];
    let samples: Vec<(i64, f64)> = times.clone().map(|(t, i)| (t, i * 4.0)).collect();
    mem.add_series(series(&labels), &samples);
    for instance in ["a", "b"] {
        let labels = [("__name__", "up"), ("job", "api"), ("instance", instance)];
        let samples: Vec<(i64, f64)> = times.clone().map(|(t, _)| (t, 1.0)).collect();
        mem.add_series(series(&labels), &samples);
    }
    mem.into_store()
}

/// Serves [`store`] over gRPC on 127.0.0.1:0 until the returned sender is dropped.
async fn start_store() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(strata_storeapi::serve(listener, store(), async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// The router `strata query` serves, over the same endpoint and settings as the Lambda (the
/// endpoint set polled once, as the Lambda does at cold start).
async fn in_process_router(store_addr: SocketAddr) -> axum::Router {
    let endpoints =
        EndpointSet::new(vec![store_addr.to_string()], EndpointOptions::default()).unwrap();
    endpoints.poll_once().await;
    let config = QuerierConfig {
        replica_labels: vec!["replica".to_string()],
        ..QuerierConfig::default()
    };
    strata_querier::router(Arc::new(Querier::new(config, Arc::new(endpoints))))
}

/// An answer reduced to what must match: status, content type and body bytes.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn in_process(
    router: &axum::Router,
    method: &str,
    path_and_query: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(path_and_query);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        content_type,
        body: body.to_vec(),
    }
}

/// One request over a fresh connection.
async fn http(
    port: u16,
    method: &str,
    path_and_query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Answer {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let headers: Vec<(&str, &str)> = content_type
        .map(|ct| ("content-type", ct))
        .into_iter()
        .collect();
    let client = strata_testkit::http::Client::new();
    let send = client.send(method, addr, path_and_query, &headers, body.to_vec());
    let resp = tokio::time::timeout(Duration::from_secs(60), send)
        .await
        .expect("no answer from the emulator within 60s")
        .unwrap();
    Answer {
        status: resp.status,
        content_type: resp.header("content-type").map(str::to_string),
        body: resp.body.to_vec(),
    }
}

/// The request a function-URL event describes, answered in-process.
async fn in_process_event(router: &axum::Router, event: &Value) -> Answer {
    let method = event["requestContext"]["http"]["method"].as_str().unwrap();
    let mut uri = event["rawPath"].as_str().unwrap().to_string();
    if let Some(q) = event["rawQueryString"].as_str().filter(|q| !q.is_empty()) {
        uri = format!("{uri}?{q}");
    }
    let body = match event["body"].as_str() {
        None => Vec::new(),
        Some(b) if event["isBase64Encoded"] == Value::Bool(true) => {
            base64::engine::general_purpose::STANDARD.decode(b).unwrap()
        }
        Some(b) => b.as_bytes().to_vec(),
    };
    let content_type = event["headers"]["content-type"].as_str();
    in_process(router, method, &uri, content_type, body).await
}

/// `cargo lambda invoke` with an event file; the function's response as an [`Answer`].
fn invoke(cargo_lambda: &Path, port: u16, fixture: &Path) -> Answer {
    let out = Command::new(cargo_lambda)
        .args([
            "lambda",
            "invoke",
            FUNCTION,
            "--invoke-address",
            "127.0.0.1",
        ])
        .args([
            "--invoke-port",
            &port.to_string(),
            "--output-format",
            "json",
        ])
        .arg("--data-file")
        .arg(fixture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo lambda invoke failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invoke output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let body = resp["body"].as_str().unwrap_or_default();
    let body = if resp["isBase64Encoded"] == Value::Bool(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    } else {
        body.as_bytes().to_vec()
    };
    let headers = &resp["headers"];
    let content_type = headers["content-type"]
        .as_str()
        .or(headers["Content-Type"].as_str())
        .map(str::to_string);
    Answer {
        status: u16::try_from(resp["statusCode"].as_u64().unwrap()).unwrap(),
        content_type,
        body,
    }
}

/// The binary's environment besides the Lambda runtime's own variables.
fn strata_env(cmd: &mut Command, store_addr: SocketAddr) -> &mut Command {
    // The same variables `strata query` reads (tests/cli.rs sets them for it too).
    cmd.env("STRATA_ENDPOINT", store_addr.to_string())
        .env("STRATA_QUERY_REPLICA_LABEL", "replica")
        .env("STRATA_QUERY_TIMEOUT", "30s")
        .env("STRATA_QUERY_MAX_CONCURRENT", "4")
        .env("STRATA_QUERY_TENANT_HEADER", "X-Scope-OrgID")
        .env("STRATA_LOG_LEVEL", "info")
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_answers_like_the_router_in_process() {
    let Some(cargo_lambda) = cargo_lambda() else {
        eprintln!("{}", "!".repeat(78));
        eprintln!("!!! SKIPPED: cargo-lambda is not installed (tests/run installs it from PyPI:");
        eprintln!("!!!          pip install --user cargo-lambda). The Lambda path is UNTESTED.");
        eprintln!("{}", "!".repeat(78));
        return;
    };
    let (store_addr, _stop_store) = start_store().await;
    let router = in_process_router(store_addr).await;

    // The emulator provides the Lambda runtime API and the function-URL / invoke front end; the
    // function is the binary cargo already built for this test (same target dir and features,
    // so nothing is rebuilt).
    let port = free_port();
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut emulator = Proc::spawn(
        Command::new(&cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .current_dir(manifest_dir),
        "emulator",
    );
    emulator
        .wait_for_line("starting Runtime server", Duration::from_secs(60))
        .await;
    let spawned = Instant::now();
    let mut function = Proc::spawn(
        strata_env(&mut Command::new(BIN), store_addr).env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt/{FUNCTION}"),
        ),
        "function",
    );
    let init_line = function
        .wait_for_line("querier Lambda initialised", Duration::from_secs(30))
        .await;
    let logged: Value = serde_json::from_str(&init_line).expect("JSON log line");
    eprintln!(
        "querier-lambda init: {:.2} ms inside main (logged init_ms), {:.1} ms from spawn until logged",
        logged["fields"]["init_ms"].as_f64().unwrap(),
        spawned.elapsed().as_secs_f64() * 1000.0
    );

    // The data answers through the API in-process (fails until the API handlers exist).
    let q = "/api/v1/query?query=sum%20by%20(instance)%20(rate(http_requests_total%5B5m%5D))&time=1700000000";
    let direct = in_process(&router, "GET", q, None, Vec::new()).await;
    assert_eq!(direct.status, 200, "{}", direct.text());
    let parsed: Value = serde_json::from_slice(&direct.body).unwrap();
    assert_eq!(parsed["status"], "success", "{}", direct.text());
    assert_eq!(
        parsed["data"]["result"].as_array().map(Vec::len),
        Some(2),
        "one series per instance once the replicas are deduplicated: {}",
        direct.text()
    );

    // Function-URL requests through the emulator.
    let form = "query=rate(http_requests_total%5B1m%5D)&start=1699999000&end=1700000000&step=60";
    let cases: [(&str, &str, Option<&str>, &[u8]); 6] = [
        ("GET", q, None, b""),
        ("GET", "/api/v1/query?query=up&time=1700000000", None, b""),
        (
            "GET",
            "/api/v1/query?query=http_requests_total%7Binstance%3D%22a%22%7D&time=1700000000&dedup=false",
            None,
            b"",
        ),
        (
            "POST",
            "/api/v1/query_range",
            Some("application/x-www-form-urlencoded"),
            form.as_bytes(),
        ),
        ("GET", "/api/v1/query?query=sum(up", None, b""),
        ("GET", "/", None, b""),
    ];
    for (method, path, content_type, body) in cases {
        let url = format!("/lambda-url/{FUNCTION}{path}");
        let started = Instant::now();
        let via_lambda = http(port, method, &url, content_type, body).await;
        eprintln!(
            "{method} {url}: {} in {:.1} ms via the emulator",
            via_lambda.status,
            started.elapsed().as_secs_f64() * 1000.0
        );
        let want = in_process(&router, method, path, content_type, body.to_vec()).await;
        assert_eq!(
            via_lambda,
            want,
            "{method} {path}: Lambda {:?} vs in-process {:?}",
            via_lambda.text(),
            want.text()
        );
    }

    // Every setting came from the environment, as `strata query --help` names them: the
    // replica label took effect above (deduplicated answers equal the in-process router's
    // with that label), and the flags page shows the rest.
    let flags = http(
        port,
        "GET",
        &format!("/lambda-url/{FUNCTION}/api/v1/status/flags"),
        None,
        b"",
    )
    .await;
    assert_eq!(flags.status, 200, "{}", flags.text());
    let flags: Value = serde_json::from_slice(&flags.body).unwrap();
    for (flag, want) in [
        ("endpoint", store_addr.to_string()),
        ("query.replica-label", "replica".to_string()),
        ("query.timeout", "30s".to_string()),
        ("query.max-concurrent", "4".to_string()),
        ("query.tenant-header", "X-Scope-OrgID".to_string()),
        ("query.lookback-delta", "5m".to_string()),
    ] {
        assert_eq!(flags["data"][flag], want.as_str(), "{flag}: {flags}");
    }

    // The event fixtures through `cargo lambda invoke`.
    for name in [
        "function-url-query.json",
        "function-url-query-range-post.json",
    ] {
        let fixture = manifest_dir.join("tests/fixtures").join(name);
        let event: Value = serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
        let started = Instant::now();
        let via_lambda = invoke(&cargo_lambda, port, &fixture);
        eprintln!(
            "cargo lambda invoke {name}: {} in {:.1} ms: {}",
            via_lambda.status,
            started.elapsed().as_secs_f64() * 1000.0,
            via_lambda.text()
        );
        let want = in_process_event(&router, &event).await;
        assert_eq!(want.status, 200, "{name}: {}", want.text());
        assert_eq!(
            via_lambda,
            want,
            "{name}: Lambda {:?} vs in-process {:?}",
            via_lambda.text(),
            want.text()
        );
    }
    drop(function);
    drop(emulator);
}

/// Cold start as Lambda reports it ("Init Duration"): from process start (configuration, the
/// Info poll of a live store, the querier) until the runtime asks the Runtime API for its
/// first event. A stand-in Runtime API records when that request
/// arrives. (`cargo lambda watch` itself prints no init duration.)
#[tokio::test]
async fn cold_start_until_the_first_next_event_call() {
    let (store_addr, _stop_store) = start_store().await;
    let runtime_api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_addr = runtime_api.local_addr().unwrap();
    let started = Instant::now();
    let _function = Proc::spawn(
        strata_env(&mut Command::new(BIN), store_addr)
            .env("AWS_LAMBDA_RUNTIME_API", api_addr.to_string()),
        "function",
    );
    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(30), runtime_api.accept())
        .await
        .expect("the function never called the Runtime API")
        .unwrap();
    let mut buf = vec![0; 4096];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before a full request");
        head.extend_from_slice(&buf[..n]);
    }
    let init = started.elapsed();
    let request_line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        request_line,
        "GET /2018-06-01/runtime/invocation/next HTTP/1.1"
    );
    eprintln!(
        "querier-lambda cold start ({} build): {:.1} ms from spawn to the first /runtime/invocation/next",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        init.as_secs_f64() * 1000.0
    );
    // Generous bound for a loaded CI machine and a debug build; the target (release) is 100 ms.
    assert!(init < Duration::from_secs(5), "cold start took {init:?}");
}
