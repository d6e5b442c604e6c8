//! A `strata receive` process for the end-to-end tests, and remote write over plain HTTP.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use strata_receive::remote_write;
use strata_storeapi::Store;
use strata_storeapi::pb::prometheus::{Label as PbLabel, Sample, TimeSeries, WriteRequest};
use strata_storeapi::pb::thanos::{SeriesRequest, label_matcher, series_response};
use strata_testkit::http;

use super::prometheus::{LabelMap, http_get};

/// A running `strata receive`; killed on drop.
pub struct Receiver {
    pub child: Child,
    pub rw: SocketAddr,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub log: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    /// Start `strata receive --tsdb.path <tsdb>` with `extra` flags, logging to `log`, and
    /// wait until it is ready. Listen addresses default to free ports unless `extra` sets them
    /// (`--grpc-address=...`).
    pub fn start(tsdb: &Path, log: &Path, extra: &[&str]) -> Receiver {
        let file = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("receive")
            .arg("--tsdb.path")
            .arg(tsdb)
            .args(
                ["--remote-write.address", "--grpc-address", "--http-address"]
                    .into_iter()
                    .filter(|f| !extra.iter().any(|e| e.starts_with(&format!("{f}="))))
                    .map(|f| format!("{f}=127.0.0.1:0")),
            )
            .args(extra)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let unset: SocketAddr = "0.0.0.0:0".parse().unwrap();
        let mut r = Receiver {
            child,
            rw: unset,
            grpc: unset,
            http: unset,
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // `strata receive: remote write on http://A/api/v1/receive, StoreAPI on B (gRPC),
            // metrics on http://C/metrics, data in …`
            let text = std::fs::read_to_string(&r.log).unwrap_or_default();
            let between = |l: &str, a: &str, b: &str| -> Option<SocketAddr> {
                l.split(a).nth(1)?.split(b).next()?.parse().ok()
            };
            let found = text.lines().find_map(|l| {
                Some((
                    between(l, "remote write on http://", "/api/v1/receive")?,
                    between(l, "StoreAPI on ", " (gRPC)")?,
                    between(l, "metrics on http://", "/metrics")?,
                ))
            });
            if let Some((rw, grpc, http)) = found {
                (r.rw, r.grpc, r.http) = (rw, grpc, http);
                break;
            }
            r.assert_running();
            assert!(
                Instant::now() < deadline,
                "no start-up line:\n{}",
                r.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        loop {
            r.assert_running();
            if matches!(http_get(r.http, "/-/ready"), Ok((200, _))) {
                return r;
            }
            assert!(Instant::now() < deadline, "not ready:\n{}", r.log_tail());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("strata receive exited with {status}:\n{}", self.log_tail());
        }
    }

    /// `kill -9` (the drop reaps it).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn write(
        &self,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, String), http::Error> {
        post(self.rw, headers, body.to_vec())
    }
}

/// The headers Prometheus sends with a remote write 1.0 request.
pub const REMOTE_WRITE_HEADERS: [(&str, &str); 3] = [
    ("content-encoding", "snappy"),
    ("content-type", "application/x-protobuf"),
    ("x-prometheus-remote-write-version", "0.1.0"),
];

/// `POST /api/v1/receive` as Prometheus sends it, plus `headers`; returns status and body text.
pub fn post(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: impl Into<http::Body>,
) -> Result<(u16, String), http::Error> {
    let all: Vec<(&str, &str)> = REMOTE_WRITE_HEADERS
        .iter()
        .chain(headers)
        .copied()
        .collect();
    let r = http::blocking::send("POST", addr, "/api/v1/receive", &all, body)?;
    Ok((r.status, r.text()))
}

pub fn pb_series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| PbLabel {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

pub fn body(series: Vec<TimeSeries>) -> Vec<u8> {
    remote_write::encode_request(&WriteRequest {
        timeseries: series,
        metadata: Vec::new(),
    })
    .unwrap()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Every sample of the series matching `name` for `tenant`, read through the StoreAPI.
pub async fn read_store(grpc: SocketAddr, name: &str) -> Vec<(LabelMap, Vec<(i64, f64)>)> {
    let client = strata_storeapi::GrpcStore::connect(&grpc.to_string())
        .await
        .unwrap();
    let req = SeriesRequest {
        min_time: i64::MIN,
        max_time: i64::MAX,
        matchers: vec![strata_storeapi::convert::pb_matcher(
            label_matcher::Type::Eq,
            "__name__",
            name,
        )],
        ..Default::default()
    };
    let mut stream = client.series(&Default::default(), req).await.unwrap();
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        if let Some(series_response::Result::Series(s)) = frame.unwrap().result {
            let labels: LabelMap = s
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            let mut samples = Vec::new();
            for c in s.chunks {
                let raw = c.raw.unwrap();
                samples.extend(strata_tsdb::chunkenc::decode_xor(&raw.data).unwrap());
            }
            out.push((labels, samples));
        }
    }
    out
}
