//! The querier's Prometheus HTTP API driven through `router()`: exact JSON bodies for every
//! result type and the number/timestamp formats, POST forms, every malformed request with its
//! status and `errorType`, Thanos' parameters reaching the stores (dedup, replica labels,
//! partial response, resolution, `storeMatch[]`, tenant), and a store that is down (a real
//! gRPC client to a closed port) with and without partial response.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use strata_querier::{EndpointSet, Querier, QuerierConfig, router};
use strata_storeapi::pb::thanos::info::InfoResponse;
use strata_storeapi::pb::thanos::{
    LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse, SeriesRequest,
};
use strata_storeapi::{
    GrpcStore, MemStore, RequestContext, SeriesStream, Store, StoreError, StoreMeta,
};
use strata_tsdb::labels::Labels;
use tower::ServiceExt;

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// `up` of two jobs every 15s over [0, 600s], plus `weird` with edge-case values at 100s.
fn main_store() -> MemStore {
    let every_15s = |v: f64| (0..=40).map(|i| (i * 15_000, v)).collect::<Vec<_>>();
    let weird = [
        ("nan", f64::NAN),
        ("pinf", f64::INFINITY),
        ("ninf", f64::NEG_INFINITY),
        ("tiny", 1e-7),
        ("huge", 1e21),
        ("sum", 0.1 + 0.2),
    ];
    let mut series = vec![
        (
            ls(&[("__name__", "up"), ("job", "api"), ("instance", "a")]),
            every_15s(1.0),
        ),
        (
            ls(&[("__name__", "up"), ("job", "web"), ("instance", "b")]),
            every_15s(0.0),
        ),
    ];
    for (kind, v) in weird {
        series.push((
            ls(&[("__name__", "weird"), ("kind", kind)]),
            vec![(100_000, v)],
        ));
    }
    MemStore::from_series(Labels::empty(), series)
}

fn app_with(stores: Vec<(Arc<dyn Store>, StoreMeta)>, config: QuerierConfig) -> Router {
    let endpoints = Arc::new(EndpointSet::from_stores(stores));
    router(Arc::new(Querier::new(config, endpoints)))
}

fn app() -> Router {
    app_with(
        vec![(main_store().into_store(), StoreMeta::unknown("mem"))],
        QuerierConfig::default(),
    )
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String, Option<String>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap(), ctype)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
    let req = Request::get(uri).body(Body::empty()).unwrap();
    let (s, b, ctype) = send(app, req).await;
    assert_eq!(ctype.as_deref(), Some("application/json"), "{uri}: {b}");
    (s, b)
}

async fn post(app: &Router, path: &str, form: &str) -> (StatusCode, String) {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap();
    let (s, b, _) = send(app, req).await;
    (s, b)
}

fn ok(data: &str) -> String {
    format!("{{\"status\":\"success\",\"data\":{data}}}")
}

fn err(kind: &str, msg: &str) -> String {
    format!("{{\"status\":\"error\",\"errorType\":\"{kind}\",\"error\":{msg:?}}}")
}

async fn expect(app: &Router, uri: &str, status: StatusCode, body: &str) {
    let (s, b) = get(app, uri).await;
    assert_eq!((s, b.as_str()), (status, body), "GET {uri}");
}

const UP_A: &str = r#"{"__name__":"up","instance":"a","job":"api"}"#;
const UP_B: &str = r#"{"__name__":"up","instance":"b","job":"web"}"#;

#[tokio::test]
async fn vector_and_matrix_bodies_are_exact() {
    let app = app();
    let vector = format!(
        r#"{{"resultType":"vector","result":[{{"metric":{UP_A},"value":[30,"1"]}},{{"metric":{UP_B},"value":[30,"0"]}}]}}"#
    );
    expect(
        &app,
        "/api/v1/query?query=up&time=30",
        StatusCode::OK,
        &ok(&vector),
    )
    .await;
    let matrix = format!(
        r#"{{"resultType":"matrix","result":[{{"metric":{UP_A},"values":[[0,"1"],[15,"1"],[30,"1"]]}},{{"metric":{UP_B},"values":[[0,"0"],[15,"0"],[30,"0"]]}}]}}"#
    );
    let uri = "/api/v1/query_range?query=up&start=0&end=30&step=15";
    expect(&app, uri, StatusCode::OK, &ok(&matrix)).await;
    // The step as a Prometheus duration, and RFC 3339 times, give the same answer.
    let uri = "/api/v1/query_range?query=up&start=1970-01-01T00:00:00Z&end=1970-01-01T00:00:30.000Z&step=15s";
    expect(&app, uri, StatusCode::OK, &ok(&matrix)).await;
    // A range vector in an instant query is a matrix too.
    let matrix = format!(
        r#"{{"resultType":"matrix","result":[{{"metric":{UP_A},"values":[[15,"1"],[30,"1"]]}}]}}"#
    );
    let uri = "/api/v1/query?query=up%7Bjob%3D%22api%22%7D%5B20s%5D&time=30";
    expect(&app, uri, StatusCode::OK, &ok(&matrix)).await;
    // Empty results are [] (not null), and labels of a computed series can be empty.
    let empty = r#"{"resultType":"vector","result":[]}"#;
    expect(
        &app,
        "/api/v1/query?query=nope&time=30",
        StatusCode::OK,
        &ok(empty),
    )
    .await;
    let summed = r#"{"resultType":"vector","result":[{"metric":{},"value":[30,"1"]}]}"#;
    expect(
        &app,
        "/api/v1/query?query=sum(up)&time=30",
        StatusCode::OK,
        &ok(summed),
    )
    .await;
}

#[tokio::test]
async fn sample_values_use_go_formatting() {
    let app = app();
    let (s, body) = get(&app, "/api/v1/query?query=weird&time=100").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for (kind, v) in [
        ("nan", "NaN"),
        ("pinf", "+Inf"),
        ("ninf", "-Inf"),
        ("tiny", "1e-07"),
        ("huge", "1e+21"),
        ("sum", "0.30000000000000004"),
    ] {
        let want =
            format!(r#"{{"metric":{{"__name__":"weird","kind":"{kind}"}},"value":[100,"{v}"]}}"#);
        assert!(body.contains(&want), "{want} not in {body}");
    }
}

#[tokio::test]
async fn scalar_and_string_bodies_are_exact() {
    let app = app();
    // Scalars and strings carry float seconds (Go encoding/json) and 'f'-formatted values.
    let cases = [
        ("1.5", "1.001", r#"[1.001,"1.5"]"#),
        ("1.5", "1.5", r#"[1.5,"1.5"]"#),
        ("1e21", "2", r#"[2,"1000000000000000000000"]"#),
        ("1e-7", "2", r#"[2,"0.0000001"]"#),
        ("NaN", "2", r#"[2,"NaN"]"#),
        ("Inf", "2", r#"[2,"+Inf"]"#),
        ("-Inf", "-1.5", r#"[-1.5,"-Inf"]"#),
        ("0.1%2B0.2", "0", r#"[0,"0.30000000000000004"]"#),
    ];
    for (q, t, result) in cases {
        let body = ok(&format!(r#"{{"resultType":"scalar","result":{result}}}"#));
        expect(
            &app,
            &format!("/api/v1/query?query={q}&time={t}"),
            StatusCode::OK,
            &body,
        )
        .await;
    }
    let body = ok(r#"{"resultType":"string","result":[2.25,"a\u003cb\"c"]}"#);
    let uri = "/api/v1/query?query=%22a%3Cb%5C%22c%22&time=2.25";
    expect(&app, uri, StatusCode::OK, &body).await;
}

#[tokio::test]
async fn timestamps_keep_milliseconds_and_sign() {
    let app = app();
    let cases = [
        ("-1.5", "-1.500"),
        ("1.0015", "1.002"),
        ("1.5", "1.500"),
        ("1.01", "1.010"),
        ("0.001", "0.001"),
        ("2015-07-01T20:10:51.781Z", "1435781451.781"),
    ];
    for (t, ts) in cases {
        let body = ok(&format!(
            r#"{{"resultType":"vector","result":[{{"metric":{{}},"value":[{ts},"1"]}}]}}"#
        ));
        let uri = format!("/api/v1/query?query=vector(1)&time={t}");
        expect(&app, &uri, StatusCode::OK, &body).await;
    }
    let body = ok(
        r#"{"resultType":"matrix","result":[{"metric":{},"values":[[-0.500,"1"],[0,"1"],[0.500,"1"]]}]}"#,
    );
    let uri = "/api/v1/query_range?query=vector(1)&start=-0.5&end=0.5&step=0.5";
    expect(&app, uri, StatusCode::OK, &body).await;
}

#[tokio::test]
async fn post_form_equals_get() {
    let app = app();
    for (path, params) in [
        ("/api/v1/query", "query=up&time=30"),
        (
            "/api/v1/query_range",
            "query=rate(up%5B1m%5D)&start=60&end=120&step=30",
        ),
        ("/api/v1/series", "match%5B%5D=up&start=0&end=600"),
        ("/api/v1/labels", "match%5B%5D=up"),
        ("/api/v1/query", "query=up%20%7B&time=30"),
    ] {
        let (gs, gb) = get(&app, &format!("{path}?{params}")).await;
        let (ps, pb) = post(&app, path, params).await;
        assert_eq!((gs, &gb), (ps, &pb), "{path}?{params}");
    }
    // The body wins over the URL for single values (Go's FormValue).
    let (s, b) = post(&app, "/api/v1/query?query=nope&time=30", "query=sum(up)").await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.contains(r#""value":[30,"1"]"#), "{b}");
}

#[tokio::test]
async fn malformed_requests_get_prometheus_errors() {
    let app = app();
    let bad = StatusCode::BAD_REQUEST;
    let cases: &[(&str, StatusCode, &str, &str)] = &[
        (
            "/api/v1/query?time=30",
            bad,
            "bad_data",
            r#"invalid parameter "query": unknown position: parse error: no expression found in input"#,
        ),
        (
            "/api/v1/query?query=up&time=abc",
            bad,
            "bad_data",
            r#"invalid parameter "time": invalid time value for 'time': cannot parse "abc" to a valid timestamp"#,
        ),
        (
            "/api/v1/query?query=up&timeout=soon",
            bad,
            "bad_data",
            r#"invalid parameter "timeout": cannot parse "soon" to a valid duration"#,
        ),
        (
            "/api/v1/query?query=up&limit=x",
            bad,
            "bad_data",
            r#"invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax"#,
        ),
        (
            "/api/v1/query?query=up&lookback_delta=x",
            bad,
            "bad_data",
            r#"error parsing lookback delta duration: cannot parse "x" to a valid duration"#,
        ),
        (
            "/api/v1/query_range?query=up&end=10&step=1",
            bad,
            "bad_data",
            r#"invalid parameter "start": cannot parse "" to a valid timestamp"#,
        ),
        (
            "/api/v1/query_range?query=up&start=10&end=5&step=1",
            bad,
            "bad_data",
            r#"invalid parameter "end": end timestamp must not be before start time"#,
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=5&step=0",
            bad,
            "bad_data",
            r#"invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer"#,
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=5&step=-1s",
            bad,
            "bad_data",
            r#"invalid parameter "step": cannot parse "-1s" to a valid duration"#,
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=5&step=-1",
            bad,
            "bad_data",
            r#"invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer"#,
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=11001&step=1",
            bad,
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "/api/v1/query?query=up&dedup=maybe",
            bad,
            "bad_data",
            r#"'dedup' parameter: strconv.ParseBool: parsing "maybe": invalid syntax"#,
        ),
        (
            "/api/v1/query?query=up&partial_response=2",
            bad,
            "bad_data",
            r#"'partial_response' parameter: strconv.ParseBool: parsing "2": invalid syntax"#,
        ),
        (
            "/api/v1/query?query=up&max_source_resolution=-5m",
            bad,
            "bad_data",
            r#"'max_source_resolution' parameter: cannot parse "-5m" to a valid duration"#,
        ),
        (
            "/api/v1/query?query=up&max_source_resolution=-300",
            bad,
            "bad_data",
            "negative 'max_source_resolution' is not accepted. Try a positive integer",
        ),
        (
            "/api/v1/series?start=0",
            bad,
            "bad_data",
            "no match[] parameter provided",
        ),
        (
            "/api/v1/series?match[]=up%7B",
            bad,
            "bad_data",
            r#"invalid parameter "match[]": parse error: unexpected end of input inside braces"#,
        ),
        (
            "/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D",
            bad,
            "bad_data",
            r#"invalid parameter "match[]": parse error: vector selector must contain at least one non-empty matcher"#,
        ),
        (
            "/api/v1/labels?match[]=up%7B",
            bad,
            "bad_data",
            "parse error: unexpected end of input inside braces",
        ),
        (
            "/api/v1/label/U__/values",
            bad,
            "bad_data",
            r#"invalid label name: """#,
        ),
        (
            "/api/v1/query_exemplars?query=up&start=10&end=5",
            bad,
            "bad_data",
            "end timestamp must not be before start timestamp",
        ),
    ];
    for (uri, status, kind, msg) in cases {
        expect(&app, uri, *status, &err(kind, msg)).await;
    }
}

#[tokio::test]
async fn bad_promql_and_runtime_errors() {
    let app = app();
    for q in ["up%7B", "sum(", "rate(up)", "1%20%2B"] {
        let (s, b) = get(&app, &format!("/api/v1/query?query={q}&time=30")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {b}");
        assert!(
            b.starts_with(
                r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": "#
            ),
            "{q}: {b}"
        );
    }
    // A range vector cannot be the result of a range query.
    let (s, b) = get(
        &app,
        "/api/v1/query_range?query=up%5B1m%5D&start=0&end=60&step=15",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b.contains(r#"invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"#), "{b}");
    // Many-to-many matching fails while running: 422 execution.
    let (s, b) = get(&app, "/api/v1/query?query=up%20%2B%20on()%20up&time=30").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b.starts_with(r#"{"status":"error","errorType":"execution","error":""#),
        "{b}"
    );
    // Unknown parameters are ignored.
    let (s, _) = get(&app, "/api/v1/query?query=up&time=30&foo=bar&engine=x").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn limits_truncate_with_a_warning() {
    let app = app();
    let w = r#","warnings":["results truncated due to limit"]}"#;
    let (s, b) = get(&app, "/api/v1/query?query=up&time=30&limit=1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        b.ends_with(w) && b.contains(UP_A) && !b.contains(UP_B),
        "{b}"
    );
    let (_, b) = get(&app, "/api/v1/series?match[]=up&limit=1").await;
    assert_eq!(b, format!(r#"{{"status":"success","data":[{UP_A}]{w}"#));
    let (_, b) = get(&app, "/api/v1/labels?limit=2").await;
    assert_eq!(
        b,
        format!(r#"{{"status":"success","data":["__name__","instance"]{w}"#)
    );
    let (_, b) = get(&app, "/api/v1/query?query=up&time=30&limit=2").await;
    assert!(!b.contains("warnings"), "{b}");
}

#[tokio::test]
async fn series_and_labels() {
    let app = app();
    let body = ok(&format!("[{UP_A},{UP_B}]"));
    expect(&app, "/api/v1/series?match[]=up", StatusCode::OK, &body).await;
    // Several selectors are merged and de-duplicated.
    let uri = "/api/v1/series?match[]=up%7Bjob%3D%22web%22%7D&match[]=up&start=0&end=600";
    expect(&app, uri, StatusCode::OK, &body).await;
    let uri = "/api/v1/series?match[]=up&start=1000&end=2000";
    expect(&app, uri, StatusCode::OK, &ok("[]")).await;
    let names = ok(r#"["__name__","instance","job","kind"]"#);
    expect(&app, "/api/v1/labels", StatusCode::OK, &names).await;
    let names = ok(r#"["__name__","instance","job"]"#);
    expect(&app, "/api/v1/labels?match[]=up", StatusCode::OK, &names).await;
    let jobs = ok(r#"["api","web"]"#);
    expect(&app, "/api/v1/label/job/values", StatusCode::OK, &jobs).await;
    let uri = "/api/v1/label/job/values?match[]=up%7Binstance%3D%22a%22%7D&match[]=nope";
    expect(&app, uri, StatusCode::OK, &ok(r#"["api"]"#)).await;
    let uri = "/api/v1/label/__name__/values";
    expect(&app, uri, StatusCode::OK, &ok(r#"["up","weird"]"#)).await;
    expect(
        &app,
        "/api/v1/label/U__j_6f_b/values",
        StatusCode::OK,
        &jobs,
    )
    .await;
    expect(&app, "/api/v1/label/nope/values", StatusCode::OK, &ok("[]")).await;
}

#[tokio::test]
async fn fixed_endpoints() {
    let app = app();
    expect(&app, "/api/v1/metadata", StatusCode::OK, &ok("{}")).await;
    expect(&app, "/api/v1/status/flags", StatusCode::OK, &ok("{}")).await;
    expect(
        &app,
        "/api/v1/status/config",
        StatusCode::OK,
        &ok(r#"{"yaml":""}"#),
    )
    .await;
    expect(
        &app,
        "/api/v1/query_exemplars?query=up",
        StatusCode::OK,
        &ok("[]"),
    )
    .await;
    let (s, b) = get(&app, "/api/v1/status/buildinfo").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["data"]["version"], env!("CARGO_PKG_VERSION"));
    for k in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(v["data"][k].is_string(), "{k} in {b}");
    }
}

#[tokio::test]
async fn stores_are_grouped_by_component_type() {
    let store = MemStore::from_series(
        ls(&[("cluster", "eu"), ("replica", "0")]),
        [(ls(&[("__name__", "up")]), vec![(1_000, 1.0), (61_000, 1.0)])],
    )
    .with_component_type("store");
    let (down, down_meta) = down_store().await;
    let endpoints = Arc::new(EndpointSet::from_stores(vec![
        (store.into_store(), StoreMeta::unknown("mem")),
        (down, down_meta),
    ]));
    endpoints.poll_once().await;
    let app = router(Arc::new(Querier::new(QuerierConfig::default(), endpoints)));
    let (s, b) = get(&app, "/api/v1/stores").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    let data = v["data"].as_object().unwrap();
    let mem = &data["store"][0];
    assert_eq!(mem["name"], "mem", "{b}");
    assert!(mem["lastError"].is_null(), "{b}");
    assert_eq!(
        mem["labelSets"],
        serde_json::json!([{"cluster": "eu", "replica": "0"}])
    );
    let checked = mem["lastCheck"].as_str().unwrap();
    assert!(checked.ends_with('Z') && checked.starts_with("20"), "{b}");
    assert!(mem["minTime"].is_i64() && mem["maxTime"].is_i64(), "{b}");
    assert!(
        b.contains(r#""labelSets":[{"cluster":"eu","replica":"0"}],"minTime":"#),
        "{b}"
    );
    let down: Vec<&serde_json::Value> = data
        .values()
        .flat_map(|l| l.as_array().unwrap())
        .filter(|e| e["name"] == "down-store")
        .collect();
    assert_eq!(down.len(), 1, "{b}");
    assert!(
        down[0]["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "{b}"
    );
}

/// A closed port: connections are refused, as with a store that is down.
async fn down_store() -> (Arc<dyn Store>, StoreMeta) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let store: Arc<dyn Store> = Arc::new(GrpcStore::lazy(&addr).unwrap());
    (store, StoreMeta::unknown("down-store"))
}

#[tokio::test]
async fn partial_response_turns_a_down_store_into_a_warning() {
    let down = down_store().await;
    let app = app_with(
        vec![(main_store().into_store(), StoreMeta::unknown("mem")), down],
        QuerierConfig::default(),
    );
    for (uri, data) in [
        ("/api/v1/query?query=up&time=30&partial_response=1", UP_A),
        (
            "/api/v1/query_range?query=up&start=0&end=30&step=15&partial_response=true",
            UP_A,
        ),
        ("/api/v1/series?match[]=up&partial_response=1", UP_A),
        ("/api/v1/labels?partial_response=1", "\"instance\""),
        ("/api/v1/label/job/values?partial_response=1", "\"api\""),
    ] {
        let (s, b) = get(&app, uri).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {b}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        let w = v["warnings"]
            .as_array()
            .unwrap_or_else(|| panic!("{uri}: {b}"));
        assert!(w[0].as_str().unwrap().contains("down-store"), "{uri}: {b}");
        assert!(b.contains(data), "{uri}: data missing in {b}");
    }
    for uri in [
        "/api/v1/query?query=up&time=30",
        "/api/v1/query_range?query=up&start=0&end=30&step=15&partial_response=0",
        "/api/v1/series?match[]=up",
        "/api/v1/labels",
        "/api/v1/label/job/values",
    ] {
        let (s, b) = get(&app, uri).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {b}");
        assert!(
            b.starts_with(r#"{"status":"error","errorType":"unavailable","error":""#),
            "{uri}: {b}"
        );
        assert!(b.contains("down-store"), "{uri}: {b}");
    }
    // With --query.partial-response the default flips.
    let config = QuerierConfig {
        partial_response: true,
        ..QuerierConfig::default()
    };
    let app = app_with(
        vec![
            (main_store().into_store(), StoreMeta::unknown("mem")),
            down_store().await,
        ],
        config,
    );
    let (s, b) = get(&app, "/api/v1/query?query=up&time=30").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.contains("\"warnings\":[") && b.contains(UP_A), "{b}");
}

/// Records the context and requests it receives, then answers from an inner store.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn Store>,
    tenants: Mutex<Vec<Option<String>>>,
    series: Mutex<Vec<SeriesRequest>>,
    names: Mutex<Vec<LabelNamesRequest>>,
}

impl Recording {
    fn new(inner: MemStore) -> Arc<Recording> {
        Arc::new(Recording {
            inner: inner.into_store(),
            tenants: Mutex::default(),
            series: Mutex::default(),
            names: Mutex::default(),
        })
    }
    fn last_series(&self) -> SeriesRequest {
        self.series.lock().unwrap().last().cloned().unwrap()
    }
}

#[async_trait::async_trait]
impl Store for Recording {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        self.inner.info().await
    }
    async fn series(
        &self,
        ctx: &RequestContext,
        req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        self.tenants.lock().unwrap().push(ctx.tenant.clone());
        self.series.lock().unwrap().push(req.clone());
        self.inner.series(ctx, req).await
    }
    async fn label_names(
        &self,
        ctx: &RequestContext,
        req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        self.tenants.lock().unwrap().push(ctx.tenant.clone());
        self.names.lock().unwrap().push(req.clone());
        self.inner.label_names(ctx, req).await
    }
    async fn label_values(
        &self,
        ctx: &RequestContext,
        req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        self.tenants.lock().unwrap().push(ctx.tenant.clone());
        self.inner.label_values(ctx, req).await
    }
}

#[tokio::test]
async fn thanos_parameters_reach_the_stores() {
    let rec = Recording::new(main_store());
    let config = QuerierConfig {
        replica_labels: vec!["replica".into()],
        ..QuerierConfig::default()
    };
    let app = app_with(
        vec![(rec.clone(), StoreMeta::unknown("rec"))],
        config.clone(),
    );
    let req = Request::get("/api/v1/query?query=up&time=30")
        .header("thanos-tenant", "team-a")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::OK);
    assert_eq!(
        rec.tenants.lock().unwrap().last().unwrap().as_deref(),
        Some("team-a")
    );
    let r = rec.last_series();
    assert!(r.partial_response_disabled);
    // Replicas are read whole (labels kept) and deduplicated in the querier.
    assert!(r.without_replica_labels.is_empty());
    assert_eq!(r.max_resolution_window, 0);

    // Range queries: auto resolution is step/5 when asked for; explicit values win.
    let base = "/api/v1/query_range?query=up&start=0&end=600&step=60";
    let cases = [
        ("&max_source_resolution=auto", 12_000),
        ("&max_source_resolution=5m", 300_000),
        ("&max_source_resolution=1h", 3_600_000),
        ("&max_source_resolution=0s", 0),
        ("", 0),
    ];
    for (extra, want) in cases {
        let (s, b) = get(&app, &format!("{base}{extra}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(rec.last_series().max_resolution_window, want, "{extra}");
    }
    let (s, _) = get(
        &app,
        &format!("{base}&dedup=false&partial_response=1&replicaLabels[]=x"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = rec.last_series();
    assert!(r.without_replica_labels.is_empty());
    assert!(!r.partial_response_disabled);
    let (s, _) = get(&app, &format!("{base}&replicaLabels[]=x&replicaLabels[]=y")).await;
    assert_eq!(s, StatusCode::OK);
    // (The replicas are merged in the querier; tests/querier_e2e.rs checks that
    // replicaLabels[] overrides the flag.)
    assert!(rec.last_series().without_replica_labels.is_empty());

    // Series requests skip chunks and cover the requested range.
    let (s, _) = get(&app, "/api/v1/series?match[]=up&start=10&end=20.5").await;
    assert_eq!(s, StatusCode::OK);
    let r = rec.last_series();
    assert!(r.skip_chunks);
    assert_eq!((r.min_time, r.max_time), (10_000, 20_500));
    let (s, _) = get(&app, "/api/v1/labels?match[]=up").await;
    assert_eq!(s, StatusCode::OK);
    let n = rec.names.lock().unwrap().last().cloned().unwrap();
    assert_eq!(n.matchers.len(), 1);
    assert!(n.start < -9_000_000_000_000_000_000 && n.end > 9_000_000_000_000_000_000);

    // auto-downsampling makes `auto` the default.
    let config = QuerierConfig {
        auto_downsampling: true,
        ..config
    };
    let app = app_with(vec![(rec.clone(), StoreMeta::unknown("rec"))], config);
    let (s, _) = get(&app, base).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rec.last_series().max_resolution_window, 12_000);
}

#[tokio::test]
async fn dedup_and_store_match() {
    let replica = |r: &str, cluster: &str| {
        let s = MemStore::from_series(
            ls(&[("cluster", cluster), ("replica", r)]),
            [(
                ls(&[("__name__", "up"), ("job", "api")]),
                vec![(0, 1.0), (15_000, 1.0), (30_000, 1.0)],
            )],
        );
        let meta = StoreMeta {
            label_sets: vec![ls(&[("cluster", cluster), ("replica", r)])],
            ..StoreMeta::unknown(format!("{cluster}-{r}"))
        };
        (s.into_store(), meta)
    };
    let config = QuerierConfig {
        replica_labels: vec!["replica".into()],
        ..QuerierConfig::default()
    };
    let app = app_with(
        vec![replica("0", "eu"), replica("1", "eu"), replica("0", "us")],
        config,
    );
    let one = |c: &str| {
        format!(r#"{{"metric":{{"__name__":"up","cluster":"{c}","job":"api"}},"value":[30,"1"]}}"#)
    };
    let body = ok(&format!(
        r#"{{"resultType":"vector","result":[{},{}]}}"#,
        one("eu"),
        one("us")
    ));
    expect(
        &app,
        "/api/v1/query?query=up&time=30",
        StatusCode::OK,
        &body,
    )
    .await;
    let (_, b) = get(&app, "/api/v1/query?query=up&time=30&dedup=false").await;
    assert_eq!(b.matches("\"replica\"").count(), 3, "{b}");
    let body = ok(&format!(
        r#"{{"resultType":"vector","result":[{}]}}"#,
        one("us")
    ));
    let uri = "/api/v1/query?query=up&time=30&storeMatch[]=%7Bcluster%3D%22us%22%7D";
    expect(&app, uri, StatusCode::OK, &body).await;
    let uri = "/api/v1/series?match[]=up&storeMatch[]=%7Bcluster%3D%22us%22%7D";
    let body = ok(r#"[{"__name__":"up","cluster":"us","job":"api"}]"#);
    expect(&app, uri, StatusCode::OK, &body).await;
    let (s, b) = get(&app, "/api/v1/query?query=up&storeMatch[]=%7B").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn range_without_step_uses_thanos_default() {
    let (s, b) = get(
        &app(),
        "/api/v1/query_range?query=vector(1)&start=0&end=1000",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // max(1000s / 250, 1s) = 4s: 251 points.
    assert_eq!(b.matches("\"1\"]").count(), 251, "{b}");
    assert!(b.contains(r#"[[0,"1"],[4,"1"],[8,"1"]"#), "{b}");
}

#[tokio::test]
async fn http_metrics_count_requests_by_route_and_code() {
    let endpoints = Arc::new(EndpointSet::from_stores(vec![(
        main_store().into_store(),
        StoreMeta::unknown("mem"),
    )]));
    let querier = Arc::new(Querier::new(QuerierConfig::default(), endpoints));
    // The layer every strata HTTP server gets from the runner.
    let health = strata_runtime::Health::new("query");
    let app = health
        .http_metrics()
        .instrument(router(Arc::clone(&querier)));
    assert_eq!(
        get(&app, "/api/v1/query?query=up&time=30").await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&app, "/api/v1/query?query=up&time=30").await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&app, "/api/v1/query?query=sum(").await.0,
        StatusCode::BAD_REQUEST
    );
    let text = health.encode_metrics();
    for want in [
        r#"http_requests_total{handler="/api/v1/query",code="200",method="GET"} 2"#,
        r#"http_requests_total{handler="/api/v1/query",code="400",method="GET"} 1"#,
        r#"http_request_duration_seconds_count{handler="/api/v1/query"} 3"#,
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
}
