//! `strata store` as users run it: a real process over a FILESYSTEM bucket seeded by
//! `strata tools bucket backfill`.
//! - A raw gRPC client sends a hand-encoded Thanos `SeriesRequest` (no generated types) and
//!   decodes the streamed `SeriesResponse` frames by Thanos' field numbers.
//! - With a real memcached as index cache and chunk cache, a repeated query returns identical
//!   series and `/metrics` shows the cache hits for postings, series and chunks.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut};
use strata_testkit::http;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;

/// Label pairs and samples of one series as decoded from the wire.
type DecodedSeries = (Vec<(String, String)>, Vec<(i64, f64)>);

/// A running `strata store`; killed on drop.
struct Gateway {
    child: Child,
    grpc: SocketAddr,
    http: SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gateway(objstore_yaml: &str, data_dir: &std::path::Path, extra: &[&str]) -> Gateway {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["store", "--objstore.config", objstore_yaml, "--data-dir"])
        .arg(data_dir)
        .args([
            "--grpc-address",
            "127.0.0.1:0",
            "--http-address",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The process prints its bound addresses on stderr.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[strata store] {line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let (grpc, http) = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("strata store did not print its addresses");
        if let Some(rest) = line.strip_prefix("strata store: StoreAPI on ") {
            let grpc = rest.split(' ').next().unwrap().parse().unwrap();
            let http = rest
                .rsplit("http://")
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            break (grpc, http);
        }
    };
    let gw = Gateway { child, grpc, http };
    // Ready after the first sync.
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(gw.http, "/-/ready").0 != 200 {
        assert!(Instant::now() < deadline, "strata store never became ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    gw
}

/// GET `path`: status (0 when the request failed) and body.
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http::blocking::get(addr, path).map_or((0, String::new()), |r| (r.status, r.text()))
}

/// Seed a FILESYSTEM bucket with the backfill tool; returns (objstore YAML, expected series).
fn seed_bucket(dir: &std::path::Path) -> (String, Vec<common::GenSeries>) {
    let series = common::gen_series(3, 30, 1_700_000_000_000, 5);
    let om = dir.join("in.om");
    std::fs::write(&om, common::to_openmetrics(&series)).unwrap();
    let yaml = format!(
        "type: FILESYSTEM\nconfig:\n  directory: {:?}\n",
        dir.join("bucket").display().to_string()
    );
    common::run_ok(
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "tools",
                "bucket",
                "backfill",
                "--label",
                "cluster=e2e",
                "--objstore.config",
                &yaml,
            ])
            .arg(&om),
    );
    (yaml, series)
}

// ---------- a raw gRPC client: bytes in, bytes out ----------

#[derive(Debug, Clone, Default)]
struct RawCodec;
#[derive(Debug)]
struct RawEncoder;
#[derive(Debug)]
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut v = vec![0; src.remaining()];
        src.copy_to_slice(&mut v);
        Ok(Some(v))
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_varint(out: &mut Vec<u8>, field: u64, v: u64) {
    varint(out, field << 3);
    varint(out, v);
}

fn field_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A protobuf message as (field number, wire value) pairs; length-delimited values as bytes.
fn fields(mut b: &[u8]) -> Vec<(u64, Result<u64, Vec<u8>>)> {
    let mut out = Vec::new();
    let read_varint = |b: &mut &[u8]| -> u64 {
        let mut x = 0u64;
        let mut s = 0;
        loop {
            let byte = b[0];
            *b = &b[1..];
            x |= u64::from(byte & 0x7f) << s;
            if byte < 0x80 {
                return x;
            }
            s += 7;
        }
    };
    while !b.is_empty() {
        let tag = read_varint(&mut b);
        match tag & 7 {
            0 => out.push((tag >> 3, Ok(read_varint(&mut b)))),
            2 => {
                let n = read_varint(&mut b) as usize;
                out.push((tag >> 3, Err(b[..n].to_vec())));
                b = &b[n..];
            }
            w => panic!("unexpected wire type {w}"),
        }
    }
    out
}

fn bytes_of(v: &Result<u64, Vec<u8>>) -> &[u8] {
    v.as_ref().err().map(Vec::as_slice).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_thanos_series_request_gets_thanos_encoded_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let (yaml, series) = seed_bucket(tmp.path());
    let gw = start_gateway(&yaml, &tmp.path().join("data"), &[]);

    // thanos.SeriesRequest, by hand: min_time=1 (i64 varint), max_time=2, matchers=3
    // (LabelMatcher{type=1 EQ=0 omitted, name=2, value=3}), partial_response_strategy=7 ABORT=1.
    let (t0, t1) = (1_700_000_000_000u64, 1_700_010_000_000u64);
    let mut m1 = Vec::new();
    field_bytes(&mut m1, 2, b"__name__");
    field_bytes(&mut m1, 3, b"queue_depth");
    let mut m2 = Vec::new();
    field_varint(&mut m2, 1, 2); // RE
    field_bytes(&mut m2, 2, b"job");
    field_bytes(&mut m2, 3, b"web|db");
    let mut req = Vec::new();
    field_varint(&mut req, 1, t0);
    field_varint(&mut req, 2, t1);
    field_bytes(&mut req, 3, &m1);
    field_bytes(&mut req, 3, &m2);
    field_varint(&mut req, 7, 1);

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", gw.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut stream = grpc
        .server_streaming(
            tonic::Request::new(req),
            PathAndQuery::from_static("/thanos.Store/Series"),
            RawCodec,
        )
        .await
        .unwrap()
        .into_inner();

    let mut got: Vec<DecodedSeries> = Vec::new();
    while let Some(frame) = stream.message().await.unwrap() {
        // SeriesResponse{oneof: series=1, warning=2, hints=3, batch=4}
        for (f, v) in fields(&frame) {
            assert_eq!(f, 1, "only series frames expected, got field {f}");
            let mut labels = Vec::new();
            let mut samples = Vec::new();
            for (sf, sv) in fields(bytes_of(&v)) {
                match sf {
                    1 => {
                        let l = fields(bytes_of(&sv));
                        let get = |n| {
                            l.iter()
                                .find(|x| x.0 == n)
                                .map(|x| String::from_utf8(bytes_of(&x.1).to_vec()).unwrap())
                        };
                        labels.push((get(1).unwrap(), get(2).unwrap()));
                    }
                    2 => {
                        // AggrChunk{min_time=1, max_time=2, raw=3: Chunk{type=1 (XOR=0), data=2, hash=3}}
                        let ac = fields(bytes_of(&sv));
                        let raw = ac.iter().find(|x| x.0 == 3).expect("raw chunk");
                        let chunk = fields(bytes_of(&raw.1));
                        assert!(
                            chunk.iter().all(|x| x.0 != 1 || x.1 == Ok(0)),
                            "XOR encoding"
                        );
                        let data = bytes_of(&chunk.iter().find(|x| x.0 == 2).unwrap().1).to_vec();
                        if let Some(h) = chunk.iter().find(|x| x.0 == 3) {
                            assert_eq!(h.1, Ok(xxhash_rust::xxh64::xxh64(&data, 0)), "chunk hash");
                        }
                        samples.extend(strata_tsdb::chunkenc::decode_xor(&data).unwrap());
                    }
                    other => panic!("unexpected Series field {other}"),
                }
            }
            got.push((labels, samples));
        }
    }

    let mut want: Vec<DecodedSeries> = series
        .iter()
        .filter(|s| {
            let l = |n: &str| s.labels.iter().find(|x| x.0 == n).map(|x| x.1.as_str());
            l("__name__") == Some("queue_depth") && matches!(l("job"), Some("web" | "db"))
        })
        .map(|s| {
            let mut labels = s.labels.clone();
            labels.push(("cluster".into(), "e2e".into()));
            labels.sort();
            let in_range = s
                .samples
                .iter()
                .filter(|x| x.0 >= t0 as i64 && x.0 <= t1 as i64)
                .count();
            (labels, s.samples[..in_range].to_vec())
        })
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got.len(), want.len(), "series count");
    for ((gl, gs), (wl, ws)) in got.iter().zip(&want) {
        assert_eq!(gl, wl);
        // Chunks may extend past the requested range; every sample inside it must be there.
        let inside: Vec<_> = gs
            .iter()
            .filter(|x| x.0 >= t0 as i64 && x.0 <= t1 as i64)
            .collect();
        assert_eq!(inside.len(), ws.len(), "samples of {gl:?}");
        for (a, b) in inside.iter().zip(ws) {
            assert_eq!(a.0, b.0);
            assert!(common::same_value(a.1, b.1));
        }
    }
    assert!(!got.is_empty());

    // The HTTP side: blocks API and metrics.
    let (code, blocks) = http_get(gw.http, "/api/v1/blocks");
    assert_eq!(code, 200);
    assert!(blocks.contains("\"cluster\":\"e2e\""), "{blocks}");
    let (code, metrics) = http_get(gw.http, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("thanos_bucket_store_blocks_loaded 3"),
        "{metrics}"
    );
}

/// memcached on a free port, killed on drop.
struct Memcached(Child, u16);

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_memcached() -> Memcached {
    let bin = common::require_tool("memcached");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args([
            "-u",
            "root",
            "-l",
            "127.0.0.1",
            "-U",
            "0",
            "-p",
            &port.to_string(),
        ])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "memcached did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Memcached(child, port)
}

fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("metric {name_and_labels} not found in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn memcached_index_cache_serves_repeated_queries() {
    use futures::StreamExt;
    use strata_storeapi::Store;

    let tmp = tempfile::tempdir().unwrap();
    let (yaml, _) = seed_bucket(tmp.path());
    let mc = start_memcached();
    let cache_yaml = format!(
        "type: MEMCACHED\nconfig:\n  addresses: [\"127.0.0.1:{}\"]\n",
        mc.1
    );
    let gw = start_gateway(
        &yaml,
        &tmp.path().join("data"),
        &[
            "--index-cache.config",
            &cache_yaml,
            "--store.caching-bucket.config",
            &cache_yaml,
        ],
    );

    let client = strata_storeapi::GrpcStore::connect(&gw.grpc.to_string())
        .await
        .unwrap();
    let req = strata_storeapi::pb::thanos::SeriesRequest {
        min_time: i64::MIN,
        max_time: i64::MAX,
        matchers: vec![strata_storeapi::convert::pb_matcher(
            strata_storeapi::pb::thanos::label_matcher::Type::Re,
            "job",
            "api|web",
        )],
        ..Default::default()
    };
    let run = || async {
        let s = client
            .series(&Default::default(), req.clone())
            .await
            .unwrap();
        s.map(|f| f.unwrap()).collect::<Vec<_>>().await
    };
    let hits = |m: &str| {
        metric(
            m,
            "thanos_store_index_cache_hits_total{item_type=\"Postings\"}",
        ) + metric(
            m,
            "thanos_store_index_cache_hits_total{item_type=\"Series\"}",
        )
    };

    let chunk_hits = |m: &str| {
        metric(
            m,
            "thanos_store_index_cache_hits_total{item_type=\"Chunks\"}",
        )
    };

    let first = run().await;
    let m1 = http_get(gw.http, "/metrics").1;
    let second = run().await;
    let m2 = http_get(gw.http, "/metrics").1;
    let (after_first, after_second) = (hits(&m1), hits(&m2));
    assert!(
        chunk_hits(&m2) > chunk_hits(&m1),
        "chunk reads hit memcached too: {} -> {}",
        chunk_hits(&m1),
        chunk_hits(&m2)
    );
    assert!(!first.is_empty());
    assert_eq!(first, second, "the cached answer is identical");
    assert!(
        after_second > after_first,
        "second query hit memcached: {after_first} -> {after_second}"
    );
}
