//! Three `strata receive` processes in one hashring with `--receive.replication-factor=3` on
//! loopback: a load generator writes numbered samples to them in turn; one is `kill -9`ed
//! by another thread mid-load; writes to the other two keep succeeding (quorum 2 of 3), and
//! `strata query` over the two survivors returns every acknowledged sample, with replica
//! deduplication (one series each) and without it (both replicas complete).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use common::prometheus::{PromValue, http_get, metric_value, parse_response, url_encode};
use common::receive::{Receiver, now_ms};
use common::strata::{free_port, start_query};
use strata_receive::remote_write;
use strata_tsdb::labels::Labels;

const SERIES: usize = 12;
const STEP_MS: i64 = 5_000;

/// One request: a sample at `base + k * STEP_MS` with value `k` for every series.
fn payload(base: i64, k: i64) -> Vec<u8> {
    let batch: Vec<(Labels, Vec<(i64, f64)>)> = (0..SERIES)
        .map(|i| {
            (
                Labels::from_pairs([("__name__", "e2e_repl"), ("series", &format!("s{i:02}"))]),
                vec![(base + k * STEP_MS, k as f64)],
            )
        })
        .collect();
    remote_write::encode(&batch).unwrap()
}

/// The samples of every series (by its `series` label) in a query answer.
fn by_series(v: &PromValue) -> BTreeMap<String, Vec<(i64, f64)>> {
    let PromValue::Matrix(m) = v else {
        panic!("not a matrix: {v:?}")
    };
    let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for (labels, points) in m {
        let key = format!(
            "{}/{}",
            labels.get("series").cloned().unwrap_or_default(),
            labels.get("receive_replica").cloned().unwrap_or_default()
        );
        out.entry(key).or_default().extend(points.iter().copied());
    }
    out
}

#[test]
fn rf3_survives_a_dead_receiver_without_losing_acknowledged_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let grpc: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let ring = tmp.path().join("hashrings.json");
    std::fs::write(
        &ring,
        serde_json::json!([{ "hashring": "default", "endpoints": grpc }]).to_string(),
    )
    .unwrap();
    let mut nodes: Vec<Receiver> = (0..3)
        .map(|i| {
            Receiver::start(
                &tmp.path().join(format!("r{i}")),
                &tmp.path().join(format!("r{i}.log")),
                &[
                    &format!("--grpc-address={}", grpc[i]),
                    &format!("--receive.hashrings-file={}", ring.display()),
                    "--receive.replication-factor=3",
                    &format!("--label=receive_replica=r{i}"),
                ],
            )
        })
        .collect();

    let base = now_ms() - 40 * 60_000;
    let mut acked: Vec<i64> = Vec::new();
    let mut k = 0i64;
    // Node 2 is `kill -9`ed by another thread while writes go to each receiver in turn; a
    // write to it that fails is not acknowledged (it may or may not be stored). The kill comes
    // after 120 acknowledged writes (not after a fixed time: on a loaded machine a fixed delay
    // left too few writes before it), so the load runs on both sides of it.
    let pid = nodes[2].child.id();
    let acked_so_far = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&acked_so_far);
    let killer = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while seen.load(std::sync::atomic::Ordering::Relaxed) < 120
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    });
    let mut dead = false;
    let mut after_kill = 0;
    while after_kill < 60 {
        let n = if dead { k as usize % 2 } else { k as usize % 3 };
        match nodes[n].write(&[], &payload(base, k)) {
            Ok((200, _)) => {
                acked.push(k);
                acked_so_far.store(acked.len(), std::sync::atomic::Ordering::Relaxed);
            }
            Ok((code, text)) if n == 2 => eprintln!("write {k} to the dying node: {code} {text}"),
            Err(e) if n == 2 => {
                eprintln!("write {k} to the dying node: {e}");
                dead = true;
            }
            Ok((code, text)) => panic!("write {k} to node {n}: {code} {text}"),
            Err(e) => panic!("write {k} to node {n}: {e}"),
        }
        if dead {
            after_kill += 1;
        }
        k += 1;
    }
    killer.join().unwrap();
    nodes[2].kill9();
    assert!(
        acked.len() > 100,
        "only {} writes acknowledged",
        acked.len()
    );
    // All samples lie in the query's window (the last hour).
    assert!(
        base + k * STEP_MS < now_ms(),
        "{k} writes: samples in the future"
    );
    // The dead peer shows in the survivors' forwarding metrics.
    let (_, metrics) = http_get(nodes[0].http, "/metrics").unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metric_value(
            &metrics,
            r#"thanos_receive_forward_requests_total{result="error"}"#
        )
        .unwrap_or(0.0)
            > 0.0,
        "no failed forward recorded:\n{metrics}"
    );

    let query = start_query(
        &[nodes[0].grpc.to_string(), nodes[1].grpc.to_string()],
        &["--query.replica-label=receive_replica"],
        tmp.path(),
    );
    let at = (now_ms() as f64) / 1000.0;
    let ask = |dedup: bool| {
        let target = format!(
            "/api/v1/query?query={}&time={at}&dedup={dedup}",
            url_encode("e2e_repl[1h]")
        );
        let (code, body) = http_get(query.http, &target).unwrap();
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        by_series(
            &parse_response(serde_json::from_slice(&body).unwrap())
                .value
                .unwrap(),
        )
    };

    let deduped = ask(true);
    assert_eq!(
        deduped.len(),
        SERIES,
        "one series per name after dedup: {:?}",
        deduped.keys()
    );
    let want: Vec<(i64, f64)> = acked
        .iter()
        .map(|&k| (base + k * STEP_MS, k as f64))
        .collect();
    for (key, got) in &deduped {
        let have: HashMap<i64, f64> = got.iter().copied().collect();
        let missing: Vec<_> = want
            .iter()
            .filter(|(t, v)| have.get(t) != Some(v))
            .collect();
        assert!(
            missing.is_empty(),
            "{key}: {} of {} acknowledged samples missing, first {:?}",
            missing.len(),
            want.len(),
            &missing[..missing.len().min(5)]
        );
        for (t, v) in got {
            assert_eq!(
                *t,
                base + (*v as i64) * STEP_MS,
                "{key}: sample {t} {v} was never sent"
            );
        }
    }
    // Without dedup both survivors' replicas are there, each complete.
    let raw = ask(false);
    assert_eq!(
        raw.len(),
        2 * SERIES,
        "two replicas per series: {:?}",
        raw.keys()
    );
    for (key, got) in &raw {
        let have: HashMap<i64, f64> = got.iter().copied().collect();
        let missing = want.iter().filter(|(t, v)| have.get(t) != Some(v)).count();
        assert_eq!(
            missing, 0,
            "{key}: replica misses {missing} acknowledged samples"
        );
    }
}
