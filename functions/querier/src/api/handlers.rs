//! The endpoint handlers: `query`, `query_range`, `series`, `labels`, `label/<name>/values`,
//! the fixed status endpoints, and Thanos' request options (`dedup`, `replicaLabels[]`,
//! `partial_response`, `max_source_resolution`, `storeMatch[]`, tenant header).
//!
//! Parameters are checked in Prometheus' order with its messages; the Thanos parameters
//! follow the Prometheus ones, with Thanos' messages.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use strata_promql::{Engine, QueryResult, QueryValue};
use strata_storeapi::convert::{labels_from_pb, matcher_to_pb};
use strata_storeapi::pb::thanos::{
    LabelNamesRequest, LabelValuesRequest, PartialResponseStrategy, SeriesRequest, series_response,
};
use strata_storeapi::{RequestContext, Store};
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;

use super::error::{ApiError, ErrorType};
use super::json;
use super::params::{
    Form, MAX_TIME_NS, MIN_TIME_NS, Nanos, go_quote, now, parse_bool, parse_duration, parse_limit,
    parse_time, parse_time_param, positive, sub_saturating, to_ms, unescape_label_name,
};
use super::selector::parse_selectors;
use crate::{Querier, RequestOptions};

/// Most points per series a range query may return.
const MAX_POINTS: i64 = 11_000;
/// Thanos' `--query.default-step` (s): the smallest default step of a range query without
/// `step`.
const DEFAULT_STEP_S: i64 = 1;
const NS_PER_S: i64 = 1_000_000_000;
const TRUNCATED: &str = "results truncated due to limit";

/// A successful answer: the envelope up to and including the data, plus annotations.
#[derive(Debug)]
pub(crate) struct Success {
    body: String,
    warnings: Vec<String>,
    infos: Vec<String>,
}

impl Success {
    /// An answer whose `body` is [`json::SUCCESS_PREFIX`] followed by the data.
    fn with_body(body: String, warnings: Vec<String>) -> Self {
        Success {
            body,
            warnings,
            infos: Vec::new(),
        }
    }

    /// An answer with small, already-rendered data.
    fn data(data: impl AsRef<str>) -> Self {
        Self::with_body(
            format!("{}{}", json::SUCCESS_PREFIX, data.as_ref()),
            Vec::new(),
        )
    }
}

impl IntoResponse for Success {
    fn into_response(self) -> Response {
        let body = json::finish_success(self.body, &self.warnings, &self.infos);
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

type ApiResult = Result<Success, ApiError>;

async fn read_form(req: Request<Body>) -> Result<(HeaderMap, Form), ApiError> {
    let headers = req.headers().clone();
    let form = Form::from_request(req)
        .await
        .map_err(|e| ApiError::bad_data(format!("error parsing form values: {e}")))?;
    Ok((headers, form))
}

/// The tenant named by the configured header (case-insensitive), if any.
fn tenant(q: &Querier, headers: &HeaderMap) -> Option<String> {
    let name = q.config.tenant_header.as_str();
    headers
        .iter()
        .find(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn bool_param(form: &Form, name: &str, default: bool) -> Result<bool, ApiError> {
    match form.value(name) {
        "" => Ok(default),
        v => parse_bool(v).map_err(|e| ApiError::bad_data(format!("'{name}' parameter: {e}"))),
    }
}

/// Thanos' per-request options; `auto_resolution_ns` is what `max_source_resolution=auto`
/// means for this request (step/5 for range queries, 0 otherwise).
fn request_options(
    q: &Querier,
    form: &Form,
    headers: &HeaderMap,
    auto_resolution_ns: i64,
) -> Result<RequestOptions, ApiError> {
    let dedup = bool_param(form, "dedup", true)?;
    let given = form.values("replicaLabels[]");
    let replica_labels = if given.is_empty() {
        q.config.replica_labels.clone()
    } else {
        given.into_iter().filter(|l| !l.is_empty()).collect()
    };
    let store_matchers =
        parse_selectors(&form.values("storeMatch[]")).map_err(ApiError::bad_data)?;
    let partial_response = bool_param(form, "partial_response", q.config.partial_response)?;
    let val = form.value("max_source_resolution");
    let mut resolution_ns = if q.config.auto_downsampling || val == "auto" {
        auto_resolution_ns
    } else {
        0
    };
    if !val.is_empty() && val != "auto" {
        resolution_ns = parse_duration(val)
            .map_err(|e| ApiError::bad_data(format!("'max_source_resolution' parameter: {e}")))?;
    }
    if resolution_ns < 0 {
        return Err(ApiError::bad_data(
            "negative 'max_source_resolution' is not accepted. Try a positive integer",
        ));
    }
    Ok(RequestOptions {
        tenant: tenant(q, headers),
        dedup,
        replica_labels,
        partial_response,
        max_source_resolution_ms: resolution_ns / 1_000_000,
        store_matchers,
    })
}

/// `timeout` (Prometheus' message) as a duration, if given.
fn timeout_param(form: &Form) -> Result<Option<Duration>, ApiError> {
    match form.value("timeout") {
        "" => Ok(None),
        v => {
            let ns = parse_duration(v).map_err(|e| ApiError::invalid_param("timeout", e))?;
            Ok(Some(positive(ns).unwrap_or(Duration::ZERO)))
        }
    }
}

/// `lookback_delta`, if given and positive.
fn lookback_param(form: &Form) -> Result<Option<Duration>, ApiError> {
    match form.value("lookback_delta") {
        "" => Ok(None),
        v => parse_duration(v)
            .map(positive)
            .map_err(|e| ApiError::bad_data(format!("error parsing lookback delta duration: {e}"))),
    }
}

/// The engine for one query: the querier's, with the request's timeout and lookback.
fn engine_for(q: &Querier, timeout: Option<Duration>, lookback: Option<Duration>) -> Engine {
    let mut opts = q.engine.options().clone();
    if let Some(t) = timeout {
        opts.timeout = opts.timeout.min(t);
    }
    if let Some(l) = lookback {
        opts.lookback_delta = l;
    }
    Engine::new(opts)
}

/// Prometheus' "no expression" error for an empty `query`.
fn check_query_present(query: &str) -> Result<(), ApiError> {
    if !query.trim().is_empty() {
        return Ok(());
    }
    let pos = if query.is_empty() {
        "unknown position"
    } else {
        "1:1"
    };
    Err(ApiError::invalid_param(
        "query",
        format!("{pos}: parse error: no expression found in input"),
    ))
}

/// What to evaluate.
#[derive(Debug, Clone, Copy)]
enum Eval {
    /// At one time (ms).
    Instant(i64),
    /// From, to, step (ms).
    Range(i64, i64, i64),
}

/// Runs a query under the concurrency limit and renders its result.
async fn run_query(
    q: &Querier,
    engine: &Engine,
    opts: &RequestOptions,
    query: &str,
    eval: Eval,
    limit: usize,
) -> ApiResult {
    let wait = engine.options().timeout;
    let _permit = match tokio::time::timeout(wait, q.concurrency.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => return Err(ApiError::new(ErrorType::Internal, "query gate closed")),
        Err(_) => {
            return Err(ApiError::new(
                ErrorType::Timeout,
                "query timed out in query queue",
            ));
        }
    };
    let source = q.queryable(opts);
    let res = match eval {
        Eval::Instant(t) => engine.instant_query(&source, query, t).await,
        Eval::Range(start, end, step) => engine.range_query(&source, query, start, end, step).await,
    };
    let QueryResult {
        mut value,
        annotations,
    } = res.map_err(|e| match &e {
        strata_promql::Error::Parse(m) => {
            ApiError::invalid_param("query", format!("parse error: {m}"))
        }
        _ => ApiError::from_engine(&e),
    })?;
    let mut warnings = annotations.warnings;
    if limit > 0 && truncate(&mut value, limit) {
        warnings.push(TRUNCATED.to_string());
    }
    let mut body = String::from(json::SUCCESS_PREFIX);
    json::write_query_data(&mut body, &value);
    Ok(Success {
        body,
        warnings,
        infos: annotations.infos,
    })
}

/// Keeps the first `limit` samples or series; true if any were dropped.
fn truncate(value: &mut QueryValue, limit: usize) -> bool {
    match value {
        QueryValue::Vector(v) if v.len() > limit => {
            v.truncate(limit);
            true
        }
        QueryValue::Matrix(m) if m.len() > limit => {
            m.truncate(limit);
            true
        }
        _ => false,
    }
}

/// `GET|POST /api/v1/query`.
pub(crate) async fn query(State(q): State<Arc<Querier>>, req: Request<Body>) -> ApiResult {
    let (headers, form) = read_form(req).await?;
    let limit =
        parse_limit(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
    let ts =
        parse_time_param(&form, "time", now()).map_err(|e| ApiError::invalid_param("time", e))?;
    let timeout = timeout_param(&form)?;
    let lookback = lookback_param(&form)?;
    let opts = request_options(&q, &form, &headers, 0)?;
    let query = form.value("query");
    check_query_present(query)?;
    let engine = engine_for(&q, timeout, lookback);
    run_query(&q, &engine, &opts, query, Eval::Instant(to_ms(ts)), limit).await
}

/// `GET|POST /api/v1/query_range`.
pub(crate) async fn query_range(State(q): State<Arc<Querier>>, req: Request<Body>) -> ApiResult {
    let (headers, form) = read_form(req).await?;
    let limit =
        parse_limit(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
    let start = parse_time(form.value("start")).map_err(|e| ApiError::invalid_param("start", e))?;
    let end = parse_time(form.value("end")).map_err(|e| ApiError::invalid_param("end", e))?;
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let range_ns = sub_saturating(end, start);
    let step = match form.value("step") {
        // Thanos' default: one point per 250th of the range, at least --query.default-step.
        "" => (range_ns / NS_PER_S / 250).max(DEFAULT_STEP_S) * NS_PER_S,
        v => parse_duration(v).map_err(|e| ApiError::invalid_param("step", e))?,
    };
    if step <= 0 {
        return Err(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if range_ns / step > MAX_POINTS {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let timeout = timeout_param(&form)?;
    let lookback = lookback_param(&form)?;
    // Without max_source_resolution, fit at least five samples into a step.
    let opts = request_options(&q, &form, &headers, step / 5)?;
    let query = form.value("query");
    check_query_present(query)?;
    let engine = engine_for(&q, timeout, lookback);
    let step_ms = (step / 1_000_000).max(1);
    let eval = Eval::Range(to_ms(start), to_ms(end), step_ms);
    run_query(&q, &engine, &opts, query, eval, limit).await
}

/// `start` and `end` of series and label requests (default: all time).
fn time_range(form: &Form) -> Result<(i64, i64), ApiError> {
    let start = parse_time_param(form, "start", MIN_TIME_NS)
        .map_err(|e| ApiError::invalid_param("start", e))?;
    let end = parse_time_param(form, "end", MAX_TIME_NS)
        .map_err(|e| ApiError::invalid_param("end", e))?;
    Ok((to_ms(start), to_ms(end)))
}

/// Partial-response fields of a StoreAPI request: (disabled, strategy).
fn strategy(opts: &RequestOptions) -> (bool, i32) {
    let s = if opts.partial_response {
        PartialResponseStrategy::Warn
    } else {
        PartialResponseStrategy::Abort
    };
    (!opts.partial_response, s as i32)
}

/// Replica labels the stores should drop (deduplication on).
fn without_replicas(opts: &RequestOptions) -> Vec<String> {
    if opts.dedup {
        opts.replica_labels.clone()
    } else {
        Vec::new()
    }
}

fn push_unique(warnings: &mut Vec<String>, more: impl IntoIterator<Item = String>) {
    for w in more {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
}

/// The store and request context of a series or label request.
fn store_for(q: &Querier, opts: &RequestOptions) -> (Arc<dyn Store>, RequestContext) {
    (q.store(opts), q.request_context(opts))
}

/// `GET|POST /api/v1/series`.
pub(crate) async fn series(State(q): State<Arc<Querier>>, req: Request<Body>) -> ApiResult {
    let (headers, form) = read_form(req).await?;
    let selectors = form.values("match[]");
    if selectors.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let limit =
        parse_limit(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
    let (start, end) = time_range(&form)?;
    let sets = parse_selectors(&selectors).map_err(|e| ApiError::invalid_param("match[]", e))?;
    let opts = request_options(&q, &form, &headers, 0)?;
    let (store, ctx) = store_for(&q, &opts);
    let (disabled, strategy) = strategy(&opts);
    let mut all: BTreeSet<Labels> = BTreeSet::new();
    let mut warnings = Vec::new();
    for set in &sets {
        let req = SeriesRequest {
            min_time: start,
            max_time: end,
            matchers: set.iter().map(matcher_to_pb).collect(),
            skip_chunks: true,
            partial_response_disabled: disabled,
            partial_response_strategy: strategy,
            without_replica_labels: without_replicas(&opts),
            max_resolution_window: opts.max_source_resolution_ms,
            ..Default::default()
        };
        let mut stream = store
            .series(&ctx, req)
            .await
            .map_err(|e| ApiError::from_store(&e))?;
        while let Some(frame) = stream.next().await {
            match frame.map_err(|e| ApiError::from_store(&e))?.result {
                Some(series_response::Result::Series(s)) => {
                    all.insert(labels_from_pb(&s.labels));
                }
                Some(series_response::Result::Warning(w)) => push_unique(&mut warnings, [w]),
                _ => {}
            }
        }
    }
    let mut data = String::from(json::SUCCESS_PREFIX);
    data.push('[');
    for (i, l) in all.iter().enumerate() {
        if limit > 0 && i >= limit {
            warnings.push(TRUNCATED.to_string());
            break;
        }
        if i > 0 {
            data.push(',');
        }
        json::write_labels(&mut data, l);
    }
    data.push(']');
    Ok(Success::with_body(data, warnings))
}

/// The parsed `match[]` sets of a label request (`bad_data` with the parser's message).
fn label_matchers(form: &Form) -> Result<Vec<Vec<Matcher>>, ApiError> {
    parse_selectors(&form.values("match[]")).map_err(ApiError::bad_data)
}

/// Renders a sorted name or value list, truncated to `limit`.
fn string_list(values: BTreeSet<String>, limit: usize, mut warnings: Vec<String>) -> Success {
    let mut values: Vec<String> = values.into_iter().collect();
    if limit > 0 && values.len() > limit {
        values.truncate(limit);
        warnings.push(TRUNCATED.to_string());
    }
    let mut data = String::from(json::SUCCESS_PREFIX);
    json::write_str_array(&mut data, &values);
    Success::with_body(data, warnings)
}

/// The matcher sets to ask for: one request without matchers when none were given.
fn request_sets(sets: Vec<Vec<Matcher>>) -> Vec<Vec<Matcher>> {
    if sets.is_empty() {
        vec![Vec::new()]
    } else {
        sets
    }
}

/// `GET|POST /api/v1/labels`.
pub(crate) async fn labels(State(q): State<Arc<Querier>>, req: Request<Body>) -> ApiResult {
    let (headers, form) = read_form(req).await?;
    let limit =
        parse_limit(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
    let (start, end) = time_range(&form)?;
    let sets = label_matchers(&form)?;
    let opts = request_options(&q, &form, &headers, 0)?;
    let (store, ctx) = store_for(&q, &opts);
    let (disabled, strategy) = strategy(&opts);
    let mut names = BTreeSet::new();
    let mut warnings = Vec::new();
    for set in request_sets(sets) {
        let req = LabelNamesRequest {
            partial_response_disabled: disabled,
            partial_response_strategy: strategy,
            start,
            end,
            matchers: set.iter().map(matcher_to_pb).collect(),
            without_replica_labels: without_replicas(&opts),
            ..Default::default()
        };
        let resp = store
            .label_names(&ctx, req)
            .await
            .map_err(|e| ApiError::from_store(&e))?;
        names.extend(resp.names);
        push_unique(&mut warnings, resp.warnings);
    }
    Ok(string_list(names, limit, warnings))
}

/// `GET /api/v1/label/<name>/values`.
pub(crate) async fn label_values(
    State(q): State<Arc<Querier>>,
    Path(name): Path<String>,
    req: Request<Body>,
) -> ApiResult {
    let name = unescape_label_name(&name);
    if name.is_empty() {
        return Err(ApiError::bad_data(format!(
            "invalid label name: {}",
            go_quote(&name)
        )));
    }
    let (headers, form) = read_form(req).await?;
    let limit =
        parse_limit(form.value("limit")).map_err(|e| ApiError::invalid_param("limit", e))?;
    let (start, end) = time_range(&form)?;
    let sets = label_matchers(&form)?;
    let opts = request_options(&q, &form, &headers, 0)?;
    let (store, ctx) = store_for(&q, &opts);
    let (disabled, strategy) = strategy(&opts);
    let mut values = BTreeSet::new();
    let mut warnings = Vec::new();
    for set in request_sets(sets) {
        let req = LabelValuesRequest {
            label: name.clone(),
            partial_response_disabled: disabled,
            partial_response_strategy: strategy,
            start,
            end,
            matchers: set.iter().map(matcher_to_pb).collect(),
            without_replica_labels: without_replicas(&opts),
            ..Default::default()
        };
        let resp = store
            .label_values(&ctx, req)
            .await
            .map_err(|e| ApiError::from_store(&e))?;
        values.extend(resp.values);
        push_unique(&mut warnings, resp.warnings);
    }
    Ok(string_list(values, limit, warnings))
}

/// `GET|POST /api/v1/query_exemplars`: no exemplars are stored, so always `[]` once the
/// parameters are valid.
pub(crate) async fn query_exemplars(req: Request<Body>) -> ApiResult {
    let (_, form) = read_form(req).await?;
    let start: Nanos = parse_time_param(&form, "start", MIN_TIME_NS)
        .map_err(|e| ApiError::invalid_param("start", e))?;
    let end: Nanos = parse_time_param(&form, "end", MAX_TIME_NS)
        .map_err(|e| ApiError::invalid_param("end", e))?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
        ));
    }
    if form.value("query").trim().is_empty() {
        return Err(ApiError::bad_data(
            "unknown position: parse error: no expression found in input",
        ));
    }
    Ok(Success::data("[]"))
}

/// `GET /api/v1/metadata`: no metadata is known.
pub(crate) async fn metadata() -> ApiResult {
    Ok(Success::data("{}"))
}

/// `GET /api/v1/status/buildinfo`.
pub(crate) async fn buildinfo() -> ApiResult {
    let fields = [
        ("version", env!("CARGO_PKG_VERSION")),
        ("revision", option_env!("STRATA_REVISION").unwrap_or("")),
        ("branch", option_env!("STRATA_BRANCH").unwrap_or("")),
        ("buildUser", ""),
        ("buildDate", option_env!("STRATA_BUILD_DATE").unwrap_or("")),
        ("goVersion", ""),
    ];
    Ok(Success::data(string_map(fields)))
}

/// A JSON object of string values, in the order given.
fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut data = String::from("{");
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        json::write_str(&mut data, k, json::Escape::Html);
        data.push(':');
        json::write_str(&mut data, v, json::Escape::Html);
    }
    data.push('}');
    data
}

/// `GET /api/v1/status/config`: the querier has no Prometheus configuration.
pub(crate) async fn status_config() -> ApiResult {
    Ok(Success::data("{\"yaml\":\"\"}"))
}

/// `GET /api/v1/status/flags`: every flag's effective value (after defaults and `STRATA_*`
/// environment variables), by flag name, as Prometheus and Thanos show theirs.
pub(crate) async fn status_flags(State(q): State<Arc<Querier>>) -> ApiResult {
    let flags = q.config.flags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    Ok(Success::data(string_map(flags)))
}

/// `GET /api/v1/stores` (Thanos): the endpoints grouped by component type, each as
/// `{name, lastCheck, lastError, labelSets, minTime, maxTime}`.
pub(crate) async fn stores(State(q): State<Arc<Querier>>) -> ApiResult {
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for s in q.endpoints.status() {
        let mut o = String::from("{\"name\":");
        json::write_str(&mut o, &s.name, json::Escape::Html);
        o.push_str(",\"lastCheck\":");
        let checked = s
            .last_check
            .map_or_else(|| "0001-01-01T00:00:00Z".to_string(), json::rfc3339_nano);
        json::write_str(&mut o, &checked, json::Escape::Html);
        o.push_str(",\"lastError\":");
        match &s.last_error {
            Some(e) => json::write_str(&mut o, e, json::Escape::GoStd),
            None => o.push_str("null"),
        }
        o.push_str(",\"labelSets\":[");
        for (i, set) in s.label_sets.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push('{');
            for (j, l) in set.iter().enumerate() {
                if j > 0 {
                    o.push(',');
                }
                json::write_str(&mut o, &l.name, json::Escape::Plain);
                o.push(':');
                json::write_str(&mut o, &l.value, json::Escape::Plain);
            }
            o.push('}');
        }
        o.push_str(&format!(
            "],\"minTime\":{},\"maxTime\":{}}}",
            s.min_time, s.max_time
        ));
        groups.entry(s.component_type.clone()).or_default().push(o);
    }
    let mut data = String::from("{");
    for (i, (kind, list)) in groups.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        json::write_str(&mut data, kind, json::Escape::Html);
        data.push_str(":[");
        data.push_str(&list.join(","));
        data.push(']');
    }
    data.push('}');
    Ok(Success::data(data))
}
