//! End-to-end tests of `strata query` as users run it: real `strata store` processes over
//! FILESYSTEM buckets, real `strata query` processes, Debian's Prometheus 2.42 and promtool.
//!
//! 1. promtool parity: `promtool query instant|range|series|labels` print the same against
//!    Prometheus and against `strata query` serving the very same promtool-made blocks.
//!    External labels: the bucket's blocks carry the external label `cluster="c1"` (which
//!    `strata store` adds to every series), and the data itself carries the same label
//!    `cluster="c1"`, so Prometheus (which knows no external labels) and strata answer with
//!    identical label sets and no stripping is needed; `label/cluster/values` is checked too.
//! 2. Dedup: two replicas (`replica="a"`, `replica="b"` with a 10-minute gap) deduplicate into
//!    the single-replica answer; `dedup=false` shows both.
//! 3. Partial response: a StoreAPI server whose Info answers but whose Series fails gives a
//!    warning (and the other store's data) with `partial_response=true`, a 5xx otherwise; an
//!    endpoint where nothing listens is never healthy and, as in Thanos, never queried.
//! 4. Malformed requests get Prometheus' status codes, error types and messages.
//! 5. Hostile queries (too deep or too long to parse safely, times out of range) get a fast
//!    400 `bad_data` and the process keeps answering.
//!
//! Sample timestamps are never on a whole second nor on `.137`; evaluation times end in
//! `.137`, so Prometheus 2.x's left-closed and 3.x's left-open windows select the same samples.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;

use common::prometheus::{LabelMap, PromValue, close, compare, parse_response, secs, url_encode};
use common::strata::{
    FailingStore, INJECTED, StrataProc, bucket_with, off_eval_edges, out_diff, parity_setup,
    promtool, start_query, start_store, with_label,
};
use common::{GenSeries, Rng, gen_series};
use strata_storeapi::MemStore;
use strata_tsdb::labels::Labels;

/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;

// ---------------------------------------------------------------------------------------------
// 1. promtool parity.

/// Instant queries are evaluated 4h into the data; range queries run from 30m into the data
/// until 10m after its end, by 1m.
const EVAL: i64 = T0 + 240 * MIN + 137;
const RANGE_START: i64 = T0 + 30 * MIN + 137;
const RANGE_END: i64 = T0 + 310 * MIN + 137;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Instant (lines compared as a set) and range.
    Both,
    /// Instant only, lines compared as a set.
    Instant,
    /// Instant only, lines compared in order.
    Ordered,
}

const PARITY_QUERIES: &[(Mode, &str)] = &[
    (Mode::Both, "queue_depth"),
    (Mode::Both, "http_requests_total{job=\"api\"}"),
    (Mode::Both, "node_temperature{series=~\"1.*\"}"),
    (Mode::Both, "{cluster=\"c1\", job=\"db\"}"),
    (Mode::Both, "rate(http_requests_total[5m])"),
    (Mode::Both, "sum by (job) (rate(http_requests_total[5m]))"),
    (Mode::Both, "increase(http_requests_total[1h])"),
    (Mode::Both, "avg_over_time(node_temperature[10m])"),
    (Mode::Both, "max by (instance) (node_temperature)"),
    (Mode::Both, "count by (job, cluster) (queue_depth)"),
    (Mode::Both, "topk(3, node_temperature)"),
    (Mode::Both, "queue_depth offset 10m"),
    (Mode::Both, "node_temperature @ 1700007200.137"),
    (Mode::Both, "scalar(sum(node_temperature))"),
    (
        Mode::Both,
        "sum(node_temperature) / count(node_temperature)",
    ),
    (
        Mode::Both,
        "label_replace(node_temperature, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
    ),
    (Mode::Both, "deriv(node_temperature[15m])"),
    (Mode::Both, "changes(queue_depth[30m])"),
    (Mode::Both, "quantile(0.9, node_temperature)"),
    (Mode::Both, "absent(nonexistent_metric)"),
    (Mode::Both, "nonexistent_metric"),
    (Mode::Both, "time()"),
    (Mode::Instant, "node_temperature{job=\"db\"}[5m]"),
    (Mode::Ordered, "sort_desc(node_temperature)"),
    (Mode::Ordered, "sort(sum by (instance) (node_temperature))"),
];

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn promtool_answers_match_prometheus() {
    let mut series = gen_series(11, 30, T0, 5);
    off_eval_edges(&mut series);
    // Counters start high, so that the zero point of a series starting inside a window is far:
    // Prometheus >= 2.51 limits extrapolation towards it differently from 2.42.
    for s in &mut series {
        if s.labels.iter().any(|l| l.1 == "http_requests_total") {
            s.samples.iter_mut().for_each(|p| p.1 += 10_000.0);
        }
    }
    with_label(&mut series, "cluster", "c1");
    let p = parity_setup(&series);
    let prom_url = format!("http://{}", p.prom.addr);
    let strata_url = format!("http://{}", p.query.http);

    let mut runs: Vec<(String, bool, Vec<String>)> = Vec::new();
    for &(mode, q) in PARITY_QUERIES {
        runs.push((
            format!("instant {q}"),
            mode == Mode::Ordered,
            vec![
                s("query"),
                s("instant"),
                format!("--time={}", secs(EVAL)),
                s("URL"),
                s(q),
            ],
        ));
        if mode == Mode::Both {
            runs.push((
                format!("range {q}"),
                true,
                vec![
                    s("query"),
                    s("range"),
                    format!("--start={}", secs(RANGE_START)),
                    format!("--end={}", secs(RANGE_END)),
                    s("--step=1m"),
                    s("URL"),
                    s(q),
                ],
            ));
        }
    }
    let window = [
        format!("--start={}", secs(T0 + 60 * MIN)),
        format!("--end={}", secs(T0 + 120 * MIN)),
    ];
    for (matches, ranged) in [
        (vec!["queue_depth"], true),
        (vec!["{job=\"api\"}"], true),
        (vec!["node_temperature", "queue_depth{job=\"db\"}"], false),
        (vec!["{cluster=\"c1\",series=~\"2.*\"}"], false),
    ] {
        let mut args = vec![s("query"), s("series")];
        args.extend(matches.iter().map(|m| format!("--match={m}")));
        if ranged {
            args.extend(window.iter().cloned());
        }
        args.push(s("URL"));
        runs.push((format!("series {matches:?} ranged={ranged}"), true, args));
    }
    for name in [
        "job",
        "instance",
        "__name__",
        "cluster",
        "path",
        "nonexistent",
    ] {
        runs.push((
            format!("labels {name}"),
            true,
            vec![s("query"), s("labels"), s("URL"), s(name)],
        ));
    }
    runs.push((
        s("labels job in a window"),
        true,
        vec![
            s("query"),
            s("labels"),
            window[0].clone(),
            window[1].clone(),
            s("--match=queue_depth"),
            s("URL"),
            s("job"),
        ],
    ));

    let mut failures = Vec::new();
    let mut nonempty = 0;
    for (name, ordered, args) in &runs {
        let with = |url: &str| -> Vec<String> {
            args.iter()
                .map(|a| {
                    if a == "URL" {
                        url.to_string()
                    } else {
                        a.clone()
                    }
                })
                .collect()
        };
        let want = promtool(&with(&prom_url));
        let got = promtool(&with(&strata_url));
        if !want.1.trim().is_empty() {
            nonempty += 1;
        }
        if let Some(d) = out_diff(&want, &got, *ordered) {
            failures.push(format!("promtool {name}: {d}"));
        }
    }
    // Label names (promtool 2.42 has no command for them).
    let names = |v: serde_json::Value| v["data"].clone();
    let want = names(p.prom.get_json("/api/v1/labels"));
    let got = names(p.query.get("/api/v1/labels").json());
    if want != got {
        failures.push(format!("/api/v1/labels: prometheus {want}, strata {got}"));
    }
    println!(
        "{} promtool runs, {nonempty} with output, {} differences",
        runs.len(),
        failures.len()
    );
    assert!(nonempty > runs.len() / 2, "too few answers with data");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 2. Dedup.

/// Regular 15s scrapes (jittered within the second, never on `.000` nor `.137`) over 3h for
/// 3 instances × (a counter, a gauge, a queue depth).
fn regular_series(seed: u64) -> Vec<GenSeries> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for inst in 0..3 {
        for (kind, name) in ["http_requests_total", "node_temperature", "queue_depth"]
            .iter()
            .enumerate()
        {
            let mut labels = vec![
                (s("__name__"), s(name)),
                (s("instance"), format!("host-{inst}:9100")),
                (s("job"), s("node")),
            ];
            labels.sort();
            let mut v = 0.0;
            let samples = (0..720)
                .map(|k| {
                    let mut t = T0 + k * 15_000 + 1 + rng.below(900) as i64;
                    if t % 1000 == 137 {
                        t += 1;
                    }
                    v = match kind {
                        0 => v + rng.below(100) as f64,
                        1 => 20.0 + rng.f64() * 10.0,
                        _ => rng.below(100) as f64,
                    };
                    (t, v)
                })
                .collect();
            out.push(GenSeries { labels, samples });
        }
    }
    out
}

/// Replica b misses every sample in `[GAP_START, GAP_END)`.
const GAP_START: i64 = T0 + 90 * MIN;
const GAP_END: i64 = T0 + 100 * MIN;
const DD_START: i64 = T0 + 10 * MIN + 137;
const DD_END: i64 = T0 + 170 * MIN + 137;
const DD_STEP: i64 = 30_000;
const DD_POINTS: usize = ((DD_END - DD_START) / DD_STEP) as usize + 1;

fn query_range(q: &StrataProc, query: &str, extra: &str) -> PromValue {
    let target = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step={}{extra}",
        url_encode(query),
        secs(DD_START),
        secs(DD_END),
        secs(DD_STEP)
    );
    let r = q.get(&target);
    assert_eq!(r.status, 200, "{target}: {}", r.text());
    parse_response(r.json())
        .value
        .unwrap_or_else(|e| panic!("{target}: {e}"))
}

fn matrix(v: PromValue) -> Vec<(LabelMap, Vec<(i64, f64)>)> {
    match v {
        PromValue::Matrix(m) => m,
        other => panic!("expected a matrix, got {other:?}"),
    }
}

/// For a failure report: at the first step where the deduplicated answer differs, the raw
/// samples of the last 2 minutes as the deduplicating querier (with and without dedup) and the
/// replica-a querier see them.
fn explain_dedup(
    both: &StrataProc,
    only_a: &StrataProc,
    metric: &str,
    single: &PromValue,
    deduped: &PromValue,
) -> String {
    let (PromValue::Matrix(w), PromValue::Matrix(g)) = (single, deduped) else {
        return String::new();
    };
    let Some((labels, t)) = w.iter().find_map(|(l, wp)| {
        let gp = &g.iter().find(|x| &x.0 == l)?.1;
        let t = wp
            .iter()
            .find(|p| !gp.iter().any(|q| q.0 == p.0 && close(q.1, p.1)))?
            .0;
        Some((l.clone(), t))
    }) else {
        return String::new();
    };
    let sel = format!(
        "{metric}{{instance=\"{}\"}}[2m]",
        labels.get("instance").map_or("", String::as_str)
    );
    let mut out = format!("samples of {sel} at {}:", secs(t));
    for (name, q, extra) in [
        ("dedup", both, ""),
        ("dedup=false", both, "&dedup=false"),
        ("replica a alone", only_a, ""),
    ] {
        let r = q.get(&format!(
            "/api/v1/query?query={}&time={}{extra}",
            url_encode(&sel),
            secs(t)
        ));
        let body = r.json();
        for series in body["data"]["result"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "\n  {name} {}: {}",
                series["metric"]["replica"], series["values"]
            ));
        }
    }
    out
}

#[test]
fn dedup_fills_a_replica_gap_and_dedup_false_shows_both() {
    let tmp = tempfile::tempdir().unwrap();
    let a = regular_series(5);
    let mut b = a.clone();
    for s in &mut b {
        s.samples.retain(|p| p.0 < GAP_START || p.0 >= GAP_END);
    }
    let ya = bucket_with(&tmp.path().join("a"), &a, &["cluster=c1", "replica=a"]);
    let yb = bucket_with(&tmp.path().join("b"), &b, &["cluster=c1", "replica=b"]);
    let sa = start_store(&ya, &tmp.path().join("a/store"));
    let sb = start_store(&yb, &tmp.path().join("b/store"));
    let flags = ["--query.replica-label", "replica"];
    let both = start_query(
        &[sa.grpc.to_string(), sb.grpc.to_string()],
        &flags,
        tmp.path(),
    );
    let only_a = start_query(&[sa.grpc.to_string()], &flags, tmp.path());

    let mut failures = Vec::new();
    for q in [
        "node_temperature",
        "queue_depth",
        "rate(http_requests_total[5m])",
        "sum by (job) (rate(http_requests_total[5m]))",
    ] {
        let deduped = query_range(&both, q, "");
        let single = query_range(&only_a, q, "");
        assert!(
            matches!(&single, PromValue::Matrix(m) if !m.is_empty()),
            "{q}: single replica answered nothing"
        );
        if let Some(d) = compare(&single, &deduped, false) {
            let explain = if q.contains('(') {
                String::new()
            } else {
                explain_dedup(&both, &only_a, q, &single, &deduped)
            };
            failures.push(format!(
                "{q}: deduplicated answer differs from replica a's:\n{d}\n{explain}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // No gap: every step has a point after dedup; replica b alone has holes.
    let deduped = matrix(query_range(&both, "node_temperature", ""));
    assert_eq!(deduped.len(), 3);
    for (l, pts) in &deduped {
        assert!(!l.contains_key("replica"), "replica label kept: {l:?}");
        assert_eq!(pts.len(), DD_POINTS, "points of {l:?}");
    }
    let raw = matrix(query_range(&both, "node_temperature", "&dedup=false"));
    assert_eq!(raw.len(), 6, "dedup=false: both replicas of 3 series");
    for replica in ["a", "b"] {
        let of: Vec<_> = raw
            .iter()
            .filter(|(l, _)| l.get("replica").map(String::as_str) == Some(replica))
            .collect();
        assert_eq!(of.len(), 3, "series of replica {replica}");
        for (l, pts) in of {
            assert_eq!(l.get("cluster").map(String::as_str), Some("c1"));
            if replica == "a" {
                assert_eq!(pts.len(), DD_POINTS, "points of {l:?}");
            } else {
                assert!(pts.len() < DD_POINTS - 5, "replica b has its gap: {l:?}");
                assert!(
                    pts.iter()
                        .all(|p| p.0 < GAP_START + 5 * MIN || p.0 >= GAP_END),
                    "replica b has no point inside its gap"
                );
            }
        }
    }

    // An instant query inside the gap: deduplicated = replica a; dedup=false = only replica a.
    let t = secs(GAP_START + 7 * MIN + 137);
    let inst = |q: &StrataProc, extra: &str| {
        let r = q.get(&format!(
            "/api/v1/query?query=node_temperature&time={t}{extra}"
        ));
        assert_eq!(r.status, 200, "{}", r.text());
        parse_response(r.json()).value.unwrap()
    };
    let (d, single, raw) = (
        inst(&both, ""),
        inst(&only_a, ""),
        inst(&both, "&dedup=false"),
    );
    assert!(compare(&single, &d, false).is_none(), "{d:?} != {single:?}");
    match raw {
        PromValue::Vector(v) => {
            assert_eq!(v.len(), 3, "{v:?}");
            assert!(
                v.iter()
                    .all(|s| s.0.get("replica").map(String::as_str) == Some("a"))
            );
        }
        other => panic!("expected a vector, got {other:?}"),
    }
    // replicaLabels[] overrides the flag: with an unrelated replica label nothing is merged.
    let r = matrix(query_range(
        &both,
        "node_temperature",
        "&replicaLabels%5B%5D=instance",
    ));
    assert_eq!(
        r.len(),
        2,
        "deduplicated by instance: one series per replica, {r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Partial response.

/// The `queue_depth` series of an answer, checked to come from the healthy store only.
fn good_series(body: &serde_json::Value) -> usize {
    let v = parse_response(body.clone()).value.unwrap();
    let PromValue::Vector(v) = v else {
        panic!("expected a vector: {body}")
    };
    for (l, _, _) in &v {
        assert_eq!(l.get("cluster").map(String::as_str), Some("up"), "{l:?}");
    }
    v.len()
}

fn warnings(body: &serde_json::Value) -> Vec<String> {
    body["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| w.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn partial_response_warns_or_fails_and_the_process_stays_up() {
    let tmp = tempfile::tempdir().unwrap();
    let data = regular_series(9);
    let yaml = bucket_with(&tmp.path().join("up"), &data, &["cluster=up"]);
    let store = start_store(&yaml, &tmp.path().join("up/store"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let failing_addr = listener.local_addr().unwrap();
    let failing = Arc::new(FailingStore(MemStore::new(Labels::from_pairs([(
        "cluster", "down",
    )]))));
    rt.spawn(strata_storeapi::serve(
        listener,
        failing,
        std::future::pending::<()>(),
    ));

    let endpoints = [store.grpc.to_string(), failing_addr.to_string()];
    let mut q = start_query(&endpoints, &[], tmp.path());
    let t = secs(T0 + 60 * MIN + 137);
    let target = |extra: &str| format!("/api/v1/query?query=queue_depth&time={t}{extra}");

    // partial_response=true: 200, a warning naming the failure, the healthy store's data.
    let r = q.get(&target("&partial_response=true"));
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(good_series(&body), 3, "{body}");
    let w = warnings(&body);
    assert!(w.iter().any(|w| w.contains(INJECTED)), "warnings: {w:?}");

    // partial_response=false, and the flag's default (false): a 5xx with a clear message.
    for extra in ["&partial_response=false", ""] {
        let r = q.get(&target(extra));
        let body = r.json();
        assert!(
            (500..600).contains(&r.status),
            "partial_response off ({extra:?}): status {}: {body}",
            r.status
        );
        assert_eq!(body["status"], "error", "{body}");
        assert!(body["errorType"].is_string(), "{body}");
        let msg = body["error"].as_str().unwrap_or_default();
        assert!(msg.contains(INJECTED), "error message: {msg:?}");
    }
    q.assert_running();
    let r = q.get("/api/v1/query?query=1%2B1&time=1700000000");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["result"][1], "2");

    // Range, series and label values with partial_response=true also warn and answer.
    for (what, target) in [
        (
            "query_range",
            format!(
                "/api/v1/query_range?query=queue_depth&start={}&end={}&step=60&partial_response=true",
                secs(T0 + 60 * MIN + 137),
                secs(T0 + 90 * MIN + 137)
            ),
        ),
        (
            "series",
            s("/api/v1/series?match%5B%5D=queue_depth&partial_response=true"),
        ),
        (
            "label values",
            s("/api/v1/label/instance/values?partial_response=true"),
        ),
    ] {
        let r = q.get(&target);
        let body = r.json();
        assert_eq!(r.status, 200, "{what}: {body}");
        let n = body["data"]
            .as_array()
            .or_else(|| body["data"]["result"].as_array())
            .map_or(0, Vec::len);
        assert_eq!(n, 3, "{what}: {body}");
        assert!(
            warnings(&body).iter().any(|w| w.contains(INJECTED)),
            "{what}: {body}"
        );
    }
    drop(q);

    // --query.partial-response makes it the default.
    let q2 = start_query(&endpoints, &["--query.partial-response"], tmp.path());
    let r = q2.get(&target(""));
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    assert_eq!(good_series(&body), 3, "{body}");
    assert!(!warnings(&body).is_empty(), "{body}");
    drop(q2);

    // An endpoint where nothing listens (the "a store that is down"): the querier
    // still gets ready, and the dead store counts as a failed store: a warning naming it with
    // partial response, a 5xx naming it without. (Thanos never queries a non-strict endpoint
    // whose Info never answered; strata queries every configured endpoint.)
    let dead = format!("127.0.0.1:{}", common::strata::free_port());
    let mut q3 = start_query(&[store.grpc.to_string(), dead.clone()], &[], tmp.path());
    let r = q3.get(&target("&partial_response=true"));
    let body = r.json();
    assert_eq!(r.status, 200, "dead endpoint, partial response: {body}");
    assert_eq!(good_series(&body), 3, "{body}");
    assert!(
        warnings(&body).iter().any(|w| w.contains(&dead)),
        "a warning names {dead}: {body}"
    );
    let r = q3.get(&target("&partial_response=false"));
    let body = r.json();
    assert!(
        (500..600).contains(&r.status),
        "dead endpoint, no partial response: {body}"
    );
    assert!(
        body["error"].as_str().unwrap_or_default().contains(&dead),
        "the error names {dead}: {body}"
    );
    q3.assert_running();
    assert_eq!(q3.get(&target("&partial_response=true")).status, 200);
}

// ---------------------------------------------------------------------------------------------
// 4. Malformed requests.

/// Name, request (`GET target` or `POST path form-body`; `{t}`, `{s}`, `{e}` stand for times;
/// parameter values are percent-encoded before sending), and what Prometheus 2.42 answers:
/// `status errorType`, with a trailing `*` when the error text is not compared (a regexp
/// engine's own wording, or a non-JSON 404).
#[rustfmt::skip]
/// Rows where strata deliberately answers differently from Prometheus 2.42: (row, strata's
/// status, why).
const KNOWN_DIFFERENCES: &[(&str, u16, &str)] = &[
    (
        "range: missing step",
        200,
        "Thanos' querier defaults the step to max(range/250, 1s) (--query.default-step)",
    ),
    (
        "label values: bad name",
        200,
        "Prometheus 3.x accepts any UTF-8 label name (1bad is valid)",
    ),
];

const MALFORMED: &[(&str, &str, &str)] = &[
    (
        "missing query",
        "GET /api/v1/query?time={t}",
        "400 bad_data",
    ),
    (
        "empty query",
        "GET /api/v1/query?query=&time={t}",
        "400 bad_data",
    ),
    (
        "unclosed paren",
        "GET /api/v1/query?query=sum(rate(a[5m])",
        "400 bad_data",
    ),
    (
        "unclosed brace",
        "GET /api/v1/query?query=a{x=\"1\"",
        "400 bad_data",
    ),
    (
        "bad duration",
        "GET /api/v1/query?query=rate(a[5x])",
        "400 bad_data",
    ),
    (
        "unknown function",
        "GET /api/v1/query?query=nosuchfn(a)",
        "400 bad_data",
    ),
    (
        "type error",
        "GET /api/v1/query?query=rate(a)",
        "400 bad_data",
    ),
    (
        "bad time",
        "GET /api/v1/query?query=a&time=abc",
        "400 bad_data",
    ),
    (
        "bad timeout",
        "GET /api/v1/query?query=a&timeout=abc",
        "400 bad_data",
    ),
    (
        "range: missing query",
        "GET /api/v1/query_range?start={s}&end={e}&step=60",
        "400 bad_data",
    ),
    (
        "range: bad start",
        "GET /api/v1/query_range?query=a&start=abc&end={e}&step=60",
        "400 bad_data",
    ),
    (
        "range: bad end",
        "GET /api/v1/query_range?query=a&start={s}&end=x1&step=60",
        "400 bad_data",
    ),
    (
        "range: missing step",
        "GET /api/v1/query_range?query=a&start={s}&end={e}",
        "400 bad_data",
    ),
    (
        "range: bad step",
        "GET /api/v1/query_range?query=a&start={s}&end={e}&step=abc",
        "400 bad_data",
    ),
    (
        "range: step 0",
        "GET /api/v1/query_range?query=a&start={s}&end={e}&step=0",
        "400 bad_data!",
    ),
    (
        "range: negative step",
        "GET /api/v1/query_range?query=a&start={s}&end={e}&step=-60",
        "400 bad_data!",
    ),
    (
        "range: end before start",
        "GET /api/v1/query_range?query=a&start={e}&end={s}&step=60",
        "400 bad_data!",
    ),
    (
        "range: 11,001 points",
        "GET /api/v1/query_range?query=1&start=0&end=11001&step=1",
        "400 bad_data!",
    ),
    (
        "range: 11,000 steps",
        "GET /api/v1/query_range?query=1&start=0&end=11000&step=1",
        "200 ",
    ),
    (
        "range: bad PromQL",
        "GET /api/v1/query_range?query=a +&start={s}&end={e}&step=60",
        "400 bad_data",
    ),
    (
        "duplicate labelsets",
        "GET /api/v1/query?query=-{__name__=~\"a|b\"}&time={t}",
        "422 execution",
    ),
    (
        "unknown params",
        "GET /api/v1/query?query=a&time={t}&foo=bar&x[]=1",
        "200 ",
    ),
    (
        "range: unknown params",
        "GET /api/v1/query_range?query=a&start={s}&end={e}&step=60&no=1",
        "200 ",
    ),
    (
        "RFC 3339 time",
        "GET /api/v1/query?query=a&time=2023-11-14T22:43:20.137Z",
        "200 ",
    ),
    (
        "step as a duration",
        "GET /api/v1/query_range?query=a&start={s}&end={e}&step=1m",
        "200 ",
    ),
    ("series: no match[]", "GET /api/v1/series", "400 bad_data!"),
    (
        "series: bad matcher",
        "GET /api/v1/series?match[]=a{",
        "400 bad_data",
    ),
    (
        "series: bad start",
        "GET /api/v1/series?match[]=a&start=abc",
        "400 bad_data",
    ),
    (
        "labels: bad end",
        "GET /api/v1/labels?end=abc",
        "400 bad_data",
    ),
    (
        "label values: bad name",
        "GET /api/v1/label/1bad/values",
        "400 bad_data",
    ),
    (
        "label values: bad regexp",
        "GET /api/v1/label/x/values?match[]={x=~\"(\"}",
        "400 bad_data*",
    ),
    (
        "POST: bad PromQL",
        "POST /api/v1/query query=sum(",
        "400 bad_data",
    ),
    (
        "POST: form query",
        "POST /api/v1/query query=a&time={t}&foo=1",
        "200 ",
    ),
    (
        "POST: range step 0",
        "POST /api/v1/query_range query=a&start={s}&end={e}&step=0",
        "400 bad_data!",
    ),
    ("unknown API path", "GET /api/v1/nonexistent", "404 *"),
];

/// `k=v&k=v` with times substituted and every value percent-encoded (keys are sent as written,
/// so `match[]` goes with raw brackets as curl and many clients send it).
fn encode_params(params: &str) -> String {
    let (t, start, end) = (
        secs(T0 + 30 * MIN + 137),
        secs(T0 + 10 * MIN + 137),
        secs(T0 + 50 * MIN + 137),
    );
    params
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = v
                .replace("{t}", &t)
                .replace("{s}", &start)
                .replace("{e}", &end);
            format!("{k}={}", url_encode(&v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A table request as (method, target, form body).
fn build_request(req: &str) -> (&str, String, Option<String>) {
    let (method, rest) = req.split_once(' ').unwrap();
    if method == "POST" {
        let (path, form) = rest.split_once(' ').unwrap();
        return (method, path.to_string(), Some(encode_params(form)));
    }
    match rest.split_once('?') {
        Some((path, params)) => (method, format!("{path}?{}", encode_params(params)), None),
        None => (method, rest.to_string(), None),
    }
}

fn small_series() -> Vec<GenSeries> {
    let mut rng = Rng::new(77);
    ["a", "b", "c"]
        .iter()
        .map(|name| {
            let mut labels = vec![
                (s("__name__"), s(name)),
                (s("x"), s("1")),
                (s("cluster"), s("c1")),
            ];
            labels.sort();
            let samples = (0..480)
                .map(|k| {
                    let mut t = T0 + k * 15_000 + 1 + rng.below(900) as i64;
                    if t % 1000 == 137 {
                        t += 1;
                    }
                    (t, rng.below(100) as f64)
                })
                .collect();
            GenSeries { labels, samples }
        })
        .collect()
}

/// status, errorType, error of an answer (empty strings when absent).
fn outcome(r: &common::strata::Response) -> (u16, String, String) {
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    let str_of = |k: &str| json[k].as_str().unwrap_or_default().to_string();
    (r.status, str_of("errorType"), str_of("error"))
}

#[test]
fn malformed_requests_get_prometheus_errors_and_the_process_stays_up() {
    let mut p = parity_setup(&small_series());
    let mut failures = Vec::new();
    for &(name, req, expected) in MALFORMED {
        let (method, target, form) = build_request(req);
        let send = |addr| {
            common::strata::request(addr, method, &target, form.as_deref())
                .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
        };
        let (want, got) = (outcome(&send(p.prom.addr)), outcome(&send(p.query.http)));
        let what = format!(
            "{name} ({method} {target}{})",
            form.as_deref()
                .map_or(String::new(), |f| format!(" form {f}"))
        );
        // The table is what Prometheus 2.42 does; check it first. Messages are compared only
        // for rows marked `!`: PromQL parse errors come from promql-parser (no `line:col:`
        // position, different wording) and some texts changed in Prometheus 3.x, which strata
        // follows (lowercase "invalid time value", the `invalid parameter "query"` prefix on
        // query_range).
        let compare_text = expected.ends_with('!');
        assert_eq!(
            format!("{} {}", want.0, want.1),
            expected.trim_end_matches(['*', '!']),
            "prometheus 2.42 answered {what} with {want:?}"
        );
        let mut diffs = Vec::new();
        let want_status = match KNOWN_DIFFERENCES.iter().find(|k| k.0 == name) {
            Some(&(_, status, _)) => (status, if status == 200 { "" } else { want.1.as_str() }),
            None => (want.0, want.1.as_str()),
        };
        if got.0 != want_status.0 {
            diffs.push(format!("status {} (want {})", got.0, want_status.0));
        }
        if got.1 != want_status.1 {
            diffs.push(format!("errorType {:?} (want {:?})", got.1, want_status.1));
        }
        if compare_text && got.2 != want.2 {
            diffs.push(format!("error {:?}\n      want {:?}", got.2, want.2));
        }
        if !diffs.is_empty() {
            failures.push(format!("{what}: {}", diffs.join("; ")));
        }
        p.query.assert_running();
    }
    // Still serving.
    let r = p
        .query
        .get("/api/v1/query?query=count(a)&time=1700001800.137");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["result"][0]["value"][1], "1");
    p.query.assert_running();
    assert!(
        failures.is_empty(),
        "{} of the malformed requests differ from Prometheus 2.42:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Hostile queries.

/// Each of these used to overflow a stack (aborting the process) or parse for minutes; now
/// each is a 400 `bad_data` (rejected before parsing), as are times and `@` timestamps out of
/// range, and the process keeps answering.
#[test]
fn deep_queries_and_bad_times_are_bad_data_and_the_process_stays_up() {
    let tmp = tempfile::tempdir().unwrap();
    // No data is needed: an endpoint where nothing listens.
    let dead = format!("127.0.0.1:{}", common::strata::free_port());
    let mut q = start_query(&[dead], &[], tmp.path());
    let nest = |open: &str, inner: &str, close: &str, k: usize| {
        format!("{}{inner}{}", open.repeat(k), close.repeat(k))
    };
    let queries = [
        vec!["1"; 3000].join("+"),
        vec!["1"; 100_000].join("+"),
        nest("abs(", "vector(1)", ")", 2500),
        nest("sum(", "vector(1)", ")", 3000),
        vec!["vector(1)"; 3000].join(" and "),
        nest("max_over_time(", "vector(1)", "[1m:])", 1000),
        nest("(", "1", ")", 100_000),
        "vector(1) @ 1e300".to_string(),
        "a @ 1e300".to_string(),
    ];
    let mut requests: Vec<(&str, String, Option<String>)> = Vec::new();
    for query in &queries {
        let form = format!("query={}", url_encode(query));
        requests.push(("POST", "/api/v1/query".into(), Some(form.clone())));
        let range = format!("{form}&start=1&end=100&step=10");
        requests.push(("POST", "/api/v1/query_range".into(), Some(range)));
    }
    let deep_match = format!("match[]={}", url_encode(&nest("(", "a", ")", 100_000)));
    requests.push(("POST", "/api/v1/series".into(), Some(deep_match.clone())));
    requests.push(("POST", "/api/v1/labels".into(), Some(deep_match)));
    for t in ["1e400", "-1e400", "NaN", "Inf"] {
        requests.push(("GET", format!("/api/v1/query?query=1&time={t}"), None));
        let range = format!("/api/v1/query_range?query=1&start={t}&end=1&step=1");
        requests.push(("GET", range, None));
    }
    for (method, target, form) in &requests {
        let r = common::strata::request(q.http, method, target, form.as_deref())
            .unwrap_or_else(|e| panic!("{method} {target}: {e}\n{}", q.log_tail()));
        let (status, kind, error) = outcome(&r);
        let what = format!(
            "{method} {target} {:.80}",
            form.as_deref().unwrap_or_default()
        );
        assert_eq!(
            (status, kind.as_str()),
            (400, "bad_data"),
            "{what}: {error}"
        );
        q.assert_running();
    }
    let r = q.get("/api/v1/query?query=1%2B1&time=1");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["result"][1], "2");
    q.assert_running();
}
