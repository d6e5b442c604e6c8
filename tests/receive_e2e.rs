//! `strata receive` as real processes (free ports, killed on drop):
//! - the bad input table over HTTP: each malformed request gets its documented status and the
//!   receiver keeps serving;
//! - crash safety: a load generator writes numbered samples while the receiver is `kill -9`ed
//!   and restarted on the same `--tsdb.path` six times; every acknowledged sample is read back
//!   through the StoreAPI;
//! - remote write 2.0 content negotiation: 2.0 bodies stored and counted in the response
//!   headers, 1.0 with each `Content-Type` form, 415 for unknown messages and encodings;
//! - real Prometheus (Debian's 2.42) remote-writing to it: `strata query` over receive's
//!   StoreAPI returns the same samples as Prometheus' own API.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::prometheus::{PromValue, compare, http_get, parse_response, url_encode};
use common::receive::{REMOTE_WRITE_HEADERS, Receiver, body, now_ms, pb_series, read_store};
use common::strata::{free_port, start_query};
use strata_receive::remote_write;
use strata_storeapi::pb::prometheus::{MetricMetadata, WriteRequest};
use strata_testkit::http;
use strata_tsdb::labels::Labels;

/// A body of `len` bytes with a matching `Content-Length`, written while the response is
/// read (the receiver answers before reading it all). Raw TCP on purpose: the answer comes
/// while the body is still being sent and the server then resets the connection, which an
/// HTTP client (hyper) reports as a failed body write instead of the answer.
fn post_huge(addr: SocketAddr, len: usize) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("POST /api/v1/receive HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in REMOTE_WRITE_HEADERS {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {len}\r\nConnection: close\r\n\r\n"
    ));
    s.write_all(head.as_bytes()).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let block = vec![0x42u8; 1 << 20];
        let mut left = len;
        while left > 0 {
            let n = left.min(block.len());
            if w.write_all(&block[..n]).is_err() {
                return;
            }
            left -= n;
        }
    });
    // Until EOF; a reset after the answer arrived is fine.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() => panic!("no answer: {e}"),
            Err(_) => break,
        }
    }
    drop(s);
    writer.join().unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok());
    let body = text.split_once("\r\n\r\n").map_or("", |p| p.1).to_string();
    (
        status.unwrap_or_else(|| panic!("no status line: {text}")),
        body,
    )
}

#[test]
fn bad_input_gets_documented_codes_and_the_receiver_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = Receiver::start(&tmp.path().join("tsdb"), &tmp.path().join("r.log"), &[]);
    let t = now_ms();
    let ok = [("__name__", "e2e_up"), ("job", "a")];
    let valid = body(vec![pb_series(&ok, &[(t, 1.0)])]);
    let mut truncated = valid.clone();
    truncated.truncate(valid.len() - 4);
    let metadata_only = remote_write::encode_request(&WriteRequest {
        timeseries: Vec::new(),
        metadata: vec![MetricMetadata {
            metric_family_name: "e2e_up".to_string(),
            help: "up".to_string(),
            ..Default::default()
        }],
    })
    .unwrap();
    // (case, headers, body, expected status, part of the expected message)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "garbage body",
            vec![],
            b"\x10this is not a remote write request".to_vec(),
            400,
            "snappy decode error",
        ),
        (
            "bad snappy (truncated)",
            vec![],
            truncated,
            400,
            "snappy decode error",
        ),
        (
            "valid snappy of garbage",
            vec![],
            remote_write::compress(b"\xff\xff\xff\xff not protobuf").unwrap(),
            400,
            "protobuf decode error",
        ),
        (
            "unsorted labels",
            vec![],
            body(vec![pb_series(
                &[("job", "a"), ("__name__", "x")],
                &[(t, 1.0)],
            )]),
            400,
            "out of order labels",
        ),
        (
            "duplicate label names",
            vec![],
            body(vec![pb_series(
                &[("__name__", "x"), ("job", "a"), ("job", "b")],
                &[(t, 1.0)],
            )]),
            400,
            "duplicate label names",
        ),
        (
            "empty metric name",
            vec![],
            body(vec![pb_series(
                &[("__name__", ""), ("job", "a")],
                &[(t, 1.0)],
            )]),
            400,
            "empty metric name",
        ),
        (
            "no metric name",
            vec![],
            body(vec![pb_series(&[("job", "a")], &[(t, 1.0)])]),
            400,
            "empty metric name",
        ),
        (
            "samples out of order within a series",
            vec![],
            body(vec![pb_series(&ok, &[(t, 1.0), (t - 1000, 1.0)])]),
            409,
            "out of order sample",
        ),
        (
            "tenant that is not a directory name",
            vec![("THANOS-TENANT", "..")],
            valid.clone(),
            400,
            "invalid tenant name",
        ),
        (
            "snappy header claiming 1 GiB",
            vec![],
            vec![0x80, 0x80, 0x80, 0x80, 0x04, 0, 0, 0],
            413,
            "write request too large",
        ),
        // Timestamps are integers on the wire (there is no NaN timestamp); NaN values,
        // the stale marker among them, are valid samples.
        (
            "NaN value",
            vec![],
            body(vec![pb_series(
                &[("__name__", "e2e_nan"), ("job", "a")],
                &[(t, f64::NAN)],
            )]),
            200,
            "",
        ),
        ("metadata only", vec![], metadata_only, 200, ""),
    ];
    for (name, headers, payload, want, msg) in cases {
        let (code, text) = r.write(&headers, &payload).unwrap();
        assert_eq!(code, want, "{name}: {text}");
        assert!(text.contains(msg), "{name}: {text:?} lacks {msg:?}");
        r.assert_running();
    }
    let (code, text) = post_huge(r.rw, 100 << 20);
    assert_eq!(code, 413, "100 MB body: {text}");
    assert!(text.contains("write request too large"), "{text}");
    r.assert_running();

    // Still serving: a valid write succeeds, a later-but-older one is a conflict.
    assert_eq!(r.write(&[], &valid).unwrap(), (200, String::new()));
    let older = body(vec![pb_series(&ok, &[(t - 5000, 2.0)])]);
    let (code, text) = r.write(&[], &older).unwrap();
    assert_eq!(code, 409, "{text}");
    assert_eq!(http_get(r.http, "/-/ready").unwrap().0, 200);
    let (_, metrics) = http_get(r.http, "/metrics").unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains(r#"http_requests_total{handler="receive",code="413",method="post"} 2"#),
        "{metrics}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt.block_on(read_store(r.grpc, "e2e_up"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, vec![(t, 1.0)]);
    assert_eq!(
        got[0].0.get("tenant_id").map(String::as_str),
        Some("default-tenant")
    );
}

/// Remote write 2.0 with the headers a Prometheus 3 sender uses (`protobuf_message:
/// io.prometheus.write.v2.Request`) is stored and answered with the spec's `*-Written`
/// headers; 1.0 keeps working with every `Content-Type` form the spec allows; a message or
/// encoding receive does not know is 415 (not 200 with nothing stored).
#[test]
fn remote_write_2_is_negotiated_stored_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = Receiver::start(&tmp.path().join("tsdb"), &tmp.path().join("r.log"), &[]);
    let t = now_ms();
    let send = |headers: &[(&str, &str)], body: Vec<u8>| {
        http::blocking::send("POST", r.rw, "/api/v1/receive", headers, body).unwrap()
    };
    let v2_headers = [
        ("Content-Encoding", "snappy"),
        (
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        ),
        ("X-Prometheus-Remote-Write-Version", "2.0.0"),
        ("User-Agent", "Prometheus/3.5.0"),
    ];
    let v2 = remote_write::encode_v2(&[
        (
            Labels::from_pairs([("__name__", "e2e_v2"), ("job", "a")]),
            vec![(t, 1.0), (t + 1000, 2.0)],
        ),
        (
            Labels::from_pairs([("__name__", "e2e_v2"), ("job", "b")]),
            vec![(t, 3.0)],
        ),
    ])
    .unwrap();
    let resp = send(&v2_headers, v2.clone());
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("3")
    );
    assert_eq!(
        resp.header("X-Prometheus-Remote-Write-Histograms-Written"),
        Some("0")
    );
    assert_eq!(
        resp.header("X-Prometheus-Remote-Write-Exemplars-Written"),
        Some("0")
    );
    // A 2.0 body refused (here: older than the head) writes nothing and says so.
    let resp = send(&v2_headers, v2);
    assert_eq!(resp.status, 409, "{}", resp.text());
    assert_eq!(
        resp.header("X-Prometheus-Remote-Write-Samples-Written"),
        Some("0")
    );

    // 1.0: no Content-Type, the bare media type, and proto=prometheus.WriteRequest.
    for (i, ct) in [
        None,
        Some("application/x-protobuf"),
        Some("application/x-protobuf;proto=prometheus.WriteRequest"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut headers = vec![("Content-Encoding", "snappy")];
        headers.extend(ct.map(|ct| ("Content-Type", ct)));
        let v1 = body(vec![pb_series(
            &[("__name__", "e2e_v1"), ("form", &i.to_string())],
            &[(t, i as f64)],
        )]);
        let resp = send(&headers, v1);
        assert_eq!(resp.status, 200, "{ct:?}: {}", resp.text());
        assert_eq!(
            resp.header("X-Prometheus-Remote-Write-Samples-Written"),
            None
        );
    }

    // Unknown messages and encodings: 415 with the reason, nothing stored.
    let v1 = body(vec![pb_series(&[("__name__", "e2e_415")], &[(t, 1.0)])]);
    for (headers, reason) in [
        (
            vec![(
                "Content-Type",
                "application/x-protobuf;proto=io.prometheus.write.v3.Request",
            )],
            "unknown proto message",
        ),
        (
            vec![("Content-Type", "application/json")],
            "media type must be application/x-protobuf",
        ),
        (
            vec![
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "zstd"),
            ],
            "only snappy",
        ),
    ] {
        let resp = send(&headers, v1.clone());
        assert_eq!(resp.status, 415, "{headers:?}: {}", resp.text());
        assert!(resp.text().contains(reason), "{headers:?}: {}", resp.text());
    }
    r.assert_running();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut got = rt.block_on(read_store(r.grpc, "e2e_v2"));
    got.sort_by(|a, b| a.0.get("job").cmp(&b.0.get("job")));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].1, vec![(t, 1.0), (t + 1000, 2.0)]);
    assert_eq!(got[1].1, vec![(t, 3.0)]);
    assert_eq!(rt.block_on(read_store(r.grpc, "e2e_v1")).len(), 3);
    assert!(rt.block_on(read_store(r.grpc, "e2e_415")).is_empty());
}

#[test]
fn no_acknowledged_sample_is_lost_across_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let tsdb = tmp.path().join("tsdb");
    let base = now_ms() - 3_600_000;
    let labels = Labels::from_pairs([("__name__", "e2e_crash"), ("run", "1")]);
    // Every acknowledged sample (timestamp, value) and every one ever sent.
    let mut acked: Vec<(i64, f64)> = Vec::new();
    let mut next = 0i64;
    let mut rng = common::Rng::new(7);
    const KILLS: usize = 6;
    const BATCH: i64 = 5;
    for round in 0..KILLS {
        let mut r = Receiver::start(&tsdb, &tmp.path().join(format!("r{round}.log")), &[]);
        let pid = r.child.id();
        let delay = Duration::from_millis(150 + rng.below(400));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        });
        let mut acked_this_round = 0;
        loop {
            let samples: Vec<(i64, f64)> = (next..next + BATCH)
                .map(|i| (base + i * 10, i as f64))
                .collect();
            next += BATCH;
            let payload = remote_write::encode(&[(labels.clone(), samples.clone())]).unwrap();
            match r.write(&[], &payload) {
                Ok((200, _)) => {
                    acked.extend(samples);
                    acked_this_round += 1;
                }
                Ok((code, text)) => panic!("round {round}: {code} {text}\n{}", r.log_tail()),
                Err(_) => break, // killed
            }
        }
        killer.join().unwrap();
        r.kill9();
        assert!(acked_this_round > 0, "round {round} acknowledged nothing");
    }
    let r = Receiver::start(&tsdb, &tmp.path().join("final.log"), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt.block_on(read_store(r.grpc, "e2e_crash"));
    assert_eq!(got.len(), 1, "one series: {got:?}");
    let stored: std::collections::HashMap<i64, f64> = got[0].1.iter().copied().collect();
    let missing: Vec<_> = acked
        .iter()
        .filter(|(t, v)| stored.get(t) != Some(v))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged samples lost, first {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    // Nothing invented: every stored sample was sent (value = its number).
    for (t, v) in &got[0].1 {
        assert_eq!(*t, base + (*v as i64) * 10, "sample {t} {v} was never sent");
    }
    assert!(
        acked.len() >= 100,
        "only {} samples acknowledged",
        acked.len()
    );
}

/// A `prometheus` process with a config of ours (scrapes itself every second and
/// remote-writes to `rw`); killed on drop.
struct Prom {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus(rw: SocketAddr) -> Prom {
    let bin = common::prometheus::prometheus_binary();
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['{addr}']\n\
             remote_write:\n  - url: http://{rw}/api/v1/receive\n    queue_config:\n      batch_send_deadline: 1s\n    metadata_config:\n      send_interval: 2s\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let child = Command::new(&bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {bin}: {e}"));
    let mut p = Prom {
        child,
        addr,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(http_get(p.addr, "/-/ready"), Ok((200, _))) {
        if let Ok(Some(s)) = p.child.try_wait() {
            panic!("prometheus exited with {s}");
        }
        assert!(Instant::now() < deadline, "prometheus not ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    p
}

fn strip_tenant(v: PromValue) -> PromValue {
    match v {
        PromValue::Matrix(m) => PromValue::Matrix(
            m.into_iter()
                .map(|(mut l, p)| {
                    assert_eq!(
                        l.remove("tenant_id").as_deref(),
                        Some("default-tenant"),
                        "{l:?}"
                    );
                    (l, p)
                })
                .collect(),
        ),
        other => other,
    }
}

#[test]
fn prometheus_remote_write_matches_prometheus_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let r = Receiver::start(&tmp.path().join("tsdb"), &tmp.path().join("r.log"), &[]);
    let prom = start_prometheus(r.rw);
    let started = now_ms();
    std::thread::sleep(Duration::from_secs(15));
    let query = start_query(&[r.grpc.to_string()], &[], tmp.path());
    // Raw samples of a few series over the last 10 s, up to a moment every sample of which
    // remote write has delivered (batches are sent within 1 s).
    let at = now_ms() - 4000;
    assert!(at - started > 8000);
    let q = "{__name__=~\"up|prometheus_build_info|prometheus_tsdb_head_series|prometheus_http_requests_total|prometheus_target_interval_length_seconds\"}[10s]";
    let target = format!(
        "/api/v1/query?query={}&time={}",
        url_encode(q),
        common::prometheus::secs(at)
    );
    let want = parse_response(prom.get_json(&target)).value.unwrap();
    let got = parse_response(query.get(&target).json()).value.unwrap();
    let got = strip_tenant(got);
    let PromValue::Matrix(w) = &want else {
        panic!("{want:?}")
    };
    let names: std::collections::BTreeSet<&str> =
        w.iter().map(|(l, _)| l["__name__"].as_str()).collect();
    assert!(names.contains("up") && names.len() >= 4, "{names:?}");
    // Prometheus applies discovered targets after up to 5 s, then scrapes every second.
    assert!(w.iter().all(|(_, p)| p.len() >= 4), "{w:?}");
    if let Some(d) = compare(&want, &got, false) {
        panic!("strata query over receive differs from Prometheus:\n{d}");
    }
}

impl Prom {
    fn get_json(&self, target: &str) -> serde_json::Value {
        let (code, body) = http_get(self.addr, target).unwrap();
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }
}

/// Head cut + upload: with 10-minute blocks and a 1 s cut interval, the receiver cuts the
/// complete ranges of an hour of samples into blocks, uploads them (`source: receive`, tenant
/// label), they pass `promtool tsdb analyze`, and `strata store` serves exactly their samples.
#[test]
fn cut_blocks_are_uploaded_valid_and_served_by_the_store_gateway() {
    let promtool = common::require_tool("promtool");
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let yaml = common::strata::fs_bucket_yaml(&bucket);
    let r = Receiver::start(
        &tmp.path().join("tsdb"),
        &tmp.path().join("receive.log"),
        &[
            "--objstore.config",
            &yaml,
            "--tsdb.block-duration=10m",
            "--tsdb.cut-interval=1s",
            "--label=cluster=e2e",
        ],
    );
    // One hour of samples ending 20 minutes ago, 15 s apart, off whole seconds.
    let end = now_ms() - 20 * 60_000;
    let samples: Vec<(i64, f64)> = (0..240)
        .map(|i| (end - 3_600_000 + i * 15_000 + 137, i as f64))
        .collect();
    let labels = Labels::from_pairs([("__name__", "e2e_cut"), ("job", "j")]);
    let payload = remote_write::encode(&[(labels, samples.clone())]).unwrap();
    assert_eq!(r.write(&[], &payload).unwrap().0, 200);

    // Blocks appear in the bucket (meta.json is uploaded last).
    let deadline = Instant::now() + Duration::from_secs(30);
    let metas = loop {
        let metas: Vec<PathBuf> = std::fs::read_dir(&bucket)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path().join("meta.json")))
            .filter(|p| p.exists())
            .collect();
        if metas.len() >= 5 || Instant::now() > deadline {
            break metas;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        metas.len() >= 5,
        "only {} blocks uploaded\n{}",
        metas.len(),
        r.log_tail()
    );
    for m in &metas {
        let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(m).unwrap()).unwrap();
        assert_eq!(meta["thanos"]["source"], "receive", "{meta}");
        assert_eq!(meta["thanos"]["labels"]["tenant_id"], "default-tenant");
        assert_eq!(meta["thanos"]["labels"]["cluster"], "e2e");
        let block = m.parent().unwrap();
        let out = Command::new(&promtool)
            .args(["tsdb", "analyze"])
            .arg(block.parent().unwrap())
            .arg(block.file_name().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool tsdb analyze {}: {}",
            block.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The store gateway serves the uploaded samples: each one sent, in order, none twice.
    let store = common::strata::start_store(&yaml, &tmp.path().join("store"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt.block_on(read_store(store.grpc, "e2e_cut"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].0.get("tenant_id").map(String::as_str),
        Some("default-tenant")
    );
    let served = &got[0].1;
    assert!(
        served.len() >= 150,
        "only {} samples in blocks",
        served.len()
    );
    assert!(served.windows(2).all(|w| w[0].0 < w[1].0));
    let sent: std::collections::HashMap<i64, f64> = samples.iter().copied().collect();
    for (t, v) in served {
        assert_eq!(sent.get(t), Some(v), "sample {t} was not sent");
    }
    // And the receiver itself still answers for everything (head + local blocks).
    let all = rt.block_on(read_store(r.grpc, "e2e_cut"));
    assert_eq!(all[0].1.len(), samples.len());
}
