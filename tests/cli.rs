//! The `strata` binary as users meet it: unbuilt components say so and exit 2, `local` serves
//! its bucket until SIGTERM, and the backfill rejects bad input with a line number while uploading nothing.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use strata_testkit::http;

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

#[test]
fn unbuilt_components_say_so_and_exit_2() {
    for c in ["sidecar", "rule", "compact", "downsample", "query-frontend"] {
        let out = strata().args([c, "--some.flag=1"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{c}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not built yet"), "{c}: {err}");
    }
}

#[test]
fn query_without_endpoints_is_a_clear_error() {
    let out = strata()
        .args([
            "query",
            "--http-address=127.0.0.1:0",
            "--grpc-address=127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no --endpoint given"), "{err}");
}

#[test]
fn local_serves_its_bucket_until_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Seed the bucket first, through the objstore YAML the user would write.
    let yaml = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        data.join("bucket").display().to_string()
    );
    let om = tmp.path().join("in.om");
    std::fs::write(
        &om,
        "# TYPE up gauge\nup{job=\"a\"} 1 1700000000.5\nup{job=\"a\"} 0 1700000015.5\n# EOF\n",
    )
    .unwrap();
    let out = strata()
        .args([
            "tools",
            "bucket",
            "backfill",
            "--label",
            "cluster=local",
            "--objstore.config",
            &yaml,
        ])
        .arg(&om)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = strata()
        .args([
            "tools",
            "bucket",
            "ls",
            "-o",
            "json",
            "--objstore.config",
            &yaml,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    let meta: serde_json::Value = serde_json::from_str(listing.lines().next().unwrap()).unwrap();
    assert_eq!(meta["minTime"], 1_700_000_000_500i64);
    assert_eq!(meta["maxTime"], 1_700_000_015_501i64);
    assert_eq!(meta["thanos"]["labels"]["cluster"], "local");

    let (mut child, http_addr, query_http, _rw) = start_local(&data);
    assert!(data.join("bucket.yml").exists());
    let get_from = |addr, path: &str| http::blocking::get(addr, path).unwrap();
    let get = |path: &str| get_from(http_addr, path);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while get("/-/ready").status != 200 {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let blocks = get("/api/v1/blocks").text();
    assert!(blocks.contains("\"cluster\":\"local\""), "{blocks}");
    assert!(blocks.contains("\"numSamples\":2"), "{blocks}");

    // The querier answers from the bucket through the gateway.
    while get_from(query_http, "/-/ready").status != 200 {
        assert!(std::time::Instant::now() < deadline, "querier never ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let answer = loop {
        let a = get_from(query_http, "/api/v1/query?query=up&time=1700000016").text();
        if a.contains("\"value\"") || std::time::Instant::now() > deadline {
            break a;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        answer.contains(
            r#"{"metric":{"__name__":"up","cluster":"local","job":"a"},"value":[1700000016,"0"]}"#
        ),
        "{answer}"
    );

    // SIGTERM stops it cleanly.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap();
    assert!(code.success(), "exit status {code}");
}

/// Starts `strata local` on free ports with a 1 s self-scrape; returns the process and the
/// store's HTTP, the querier's HTTP and receive's remote write addresses, in whatever order
/// the components print them.
fn start_local(
    data: &std::path::Path,
) -> (
    std::process::Child,
    std::net::SocketAddr,
    std::net::SocketAddr,
    std::net::SocketAddr,
) {
    use std::io::{BufRead, BufReader};
    let mut child = strata()
        .args(["local", "--data-dir"])
        .arg(data)
        .args([
            "--store.grpc-address=127.0.0.1:0",
            "--store.http-address=127.0.0.1:0",
            "--query.http-address=127.0.0.1:0",
            "--query.grpc-address=127.0.0.1:0",
            "--receive.remote-write-address=127.0.0.1:0",
            "--receive.grpc-address=127.0.0.1:0",
            "--receive.http-address=127.0.0.1:0",
            "--self-scrape-interval=1s",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut store, mut query, mut rw) = (None, None, None);
    while store.is_none() || query.is_none() || rw.is_none() {
        let line = lines.next().expect("strata local exited early").unwrap();
        if let Some(rest) = line.strip_prefix("strata store: StoreAPI on ") {
            store = rest.rsplit("http://").next().unwrap().trim().parse().ok();
        }
        if let Some(rest) =
            line.strip_prefix("strata query: web page and Prometheus HTTP API on http://")
        {
            query = rest.split_whitespace().next().unwrap().parse().ok();
        }
        if let Some(rest) =
            line.strip_prefix("strata receive: point Prometheus' remote_write at http://")
        {
            rw = rest.split('/').next().unwrap().parse().ok();
        }
    }
    // Keep draining stderr so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, store.unwrap(), query.unwrap(), rw.unwrap())
}

/// Polls `path` on the querier until the body contains `want` (or 20 s pass).
fn query_until(addr: std::net::SocketAddr, path: &str, want: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let a = http::blocking::get(addr, path).unwrap().text();
        if a.contains(want) || std::time::Instant::now() > deadline {
            return a;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The issue's smoke test: `strata local` in an empty directory ingests its own metrics,
/// accepts a remote write, answers it on the querier, stops on SIGINT, and after a restart
/// still has the sample.
#[test]
fn local_receives_queries_and_keeps_data_across_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (mut child, _, query, rw) = start_local(&data);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let labels =
        strata_tsdb::labels::Labels::from_pairs([("__name__", "smoke_test"), ("job", "cli")]);
    let body = strata_receive::remote_write::encode(&[(labels, vec![(now, 42.0)])]).unwrap();
    let resp = http::blocking::send("POST", rw, "/api/v1/receive", &[], body).unwrap();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let t = format!("{:.3}", now as f64 / 1000.0);
    let q = format!("/api/v1/query?query=smoke_test&time={t}");
    let answer = query_until(query, &q, "\"42\"");
    assert!(answer.contains("\"42\""), "{answer}");
    // Its own metrics are there too (self-scrape every second).
    let up = query_until(
        query,
        "/api/v1/query?query=up%7Bjob%3D%22strata%22%7D",
        "\"1\"",
    );
    assert!(up.contains("\"job\":\"strata\""), "{up}");

    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());

    let (mut child, _, query, _) = start_local(&data);
    let answer = query_until(query, &q, "\"42\"");
    assert!(answer.contains("\"42\""), "after restart: {answer}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_backfill_input_is_reported_and_nothing_is_uploaded() {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    let cfg = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        bucket.display().to_string()
    );
    let om = tmp.path().join("bad.om");
    std::fs::write(
        &om,
        "up{job=\"a\"} 1 1700000000\nup{job=\"a\" 1 1700000015\n",
    )
    .unwrap();
    let out = strata()
        .args([
            "tools",
            "bucket",
            "backfill",
            "--label",
            "a=b",
            "--objstore.config",
            &cfg,
        ])
        .arg(&om)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
    let uploaded = std::fs::read_dir(&bucket).map(|d| d.count()).unwrap_or(0);
    assert_eq!(uploaded, 0, "nothing uploaded");

    // No external labels: refused with the reason.
    let out = strata()
        .args(["tools", "bucket", "backfill", "--objstore.config", &cfg])
        .arg(&om)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--label"));

    // An unknown objstore type names the supported ones.
    let out = strata()
        .args([
            "tools",
            "bucket",
            "ls",
            "--objstore.config",
            "type: FTP\nconfig: {}\n",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FTP") && err.contains("S3"), "{err}");
}

/// `strata query` takes every setting from its `STRATA_*` variable, the same variables
/// `querier-lambda` reads (functions/querier/tests/lambda.rs sets them for the function): the
/// flags page shows each, and partial response, switched on by the environment alone, turns a
/// down store into a warning instead of an error.
#[test]
fn query_takes_its_settings_from_the_environment() {
    use std::io::{BufRead, BufReader};
    // An endpoint nobody listens on: the store is down.
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = strata()
        .arg("query")
        .env("STRATA_ENDPOINT", down.to_string())
        .env("STRATA_HTTP_ADDRESS", "127.0.0.1:0")
        .env("STRATA_GRPC_ADDRESS", "127.0.0.1:0")
        .env("STRATA_QUERY_REPLICA_LABEL", "replica")
        .env("STRATA_QUERY_TIMEOUT", "30s")
        .env("STRATA_QUERY_MAX_CONCURRENT", "4")
        .env("STRATA_QUERY_TENANT_HEADER", "X-Scope-OrgID")
        .env("STRATA_QUERY_PARTIAL_RESPONSE", "true")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr: std::net::SocketAddr = loop {
        let line = lines.next().expect("strata query exited early").unwrap();
        if let Some(rest) =
            line.strip_prefix("strata query: Prometheus HTTP API and web page on http://")
        {
            break rest.split(',').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let flags = http::blocking::get(addr, "/api/v1/status/flags")
        .unwrap()
        .json();
    for (flag, want) in [
        ("endpoint", down.to_string()),
        ("query.replica-label", "replica".to_string()),
        ("query.timeout", "30s".to_string()),
        ("query.max-concurrent", "4".to_string()),
        ("query.tenant-header", "X-Scope-OrgID".to_string()),
        ("query.partial-response", "true".to_string()),
        ("query.lookback-delta", "5m".to_string()),
    ] {
        assert_eq!(flags["data"][flag], want.as_str(), "{flag}: {flags}");
    }
    let partial = http::blocking::get(addr, "/api/v1/query?query=up").unwrap();
    assert_eq!(partial.status, 200, "{}", partial.text());
    assert!(partial.text().contains("warnings"), "{}", partial.text());
    let strict =
        http::blocking::get(addr, "/api/v1/query?query=up&partial_response=false").unwrap();
    assert_ne!(strict.status, 200, "{}", strict.text());
    child.kill().unwrap();
    child.wait().unwrap();
}
