//! The remote write HTTP endpoint of `strata receive`: `POST /api/v1/receive`.
//!
//! Spec followed: the Prometheus remote write 1.0 and 2.0 specs for the body, and Thanos receive
//! (`pkg/receive/handler.go`) for tenancy, status codes
//! and metric names. One request goes through these steps; the first that fails answers:
//!
//! | step | failure | status |
//! |------|---------|--------|
//! | the receiver is ready ([`Health::is_ready`]) | not yet, or shutting down | 503 |
//! | tenant: the `--receive.tenant-header` (default `THANOS-TENANT`, case-insensitive), else `THANOS-TENANT`, else `--receive.default-tenant-id` | not a valid tenant name ([`crate::tenants::validate_tenant`]) | 400 |
//! | [`remote_write::negotiate`]: `Content-Type` (none, `application/x-protobuf` or `proto=prometheus.WriteRequest`: 1.0; `proto=io.prometheus.write.v2.Request`: 2.0) and `Content-Encoding` (none or `snappy`) | anything else | 415 |
//! | `Content-Length` at most `--receive.max-body-size` (compressed bytes, default 32 MiB) | over it | 413 |
//! | reading the body, still at most that many bytes (chunked bodies) | over it / broken body | 413 / 400 |
//! | [`remote_write::decode_proto`] (Snappy, protobuf, symbols, labels, per-series sample order) | see [`Error::status`] | 400 / 409 / 413 |
//! | [`Distributor::write`]: [`crate::tenants::MultiTsdb::append`] (all or nothing, returns once in the WAL), or the hashring's replicas | see [`Error::status`] | 409 / 429 / 400 / 500 / 503 |
//! | — | success | **200**, empty body |
//!
//! A success is 200 with an empty body, as Thanos receive answers (Prometheus' own receiver
//! answers 204; remote write senders accept any 2xx). Every rejection carries its reason as a
//! `text/plain` body. Remote write senders retry 5xx and 429 and drop 4xx, so only storage
//! failures and "not ready" are retryable. A request without series (Prometheus sends
//! metadata-only requests) is decoded and answered 200 without touching storage.
//!
//! Every answer to a 2.0 request (once negotiated) carries the spec's required
//! `X-Prometheus-Remote-Write-Samples-Written`, `-Histograms-Written` and `-Exemplars-Written`
//! headers: the request's samples on success, 0 on any failure (a write is all or nothing),
//! and always 0 histograms (refused) and 0 exemplars (not stored yet). 1.0 answers carry none,
//! as in Prometheus.
//!
//! Decoding and appending are CPU- and IO-bound: both run on tokio's blocking pool
//! ([`tokio::task::spawn_blocking`]), never on the async workers.
//!
//! Metrics ([`ReceiveHttp::register_metrics`]), with Thanos' names:
//! * `thanos_receive_write_timeseries{code,tenant}` and `thanos_receive_write_samples{code,tenant}`
//!   — histograms of the series and samples per decoded request, by response code;
//! * `thanos_receive_pending_write_requests` — requests being decoded or appended now;
//! * `http_requests_total{handler="receive",code,method="post"}` and
//!   `http_request_duration_seconds{handler="receive"}`, recorded by the runtime's HTTP
//!   metrics layer, which the service puts around [`ReceiveHttp::router`].
//!
//! [`ReceiveHttp::write`] is the single place a decoded request is handed to the
//! [`Distributor`] (local heads, or the hashring with replication).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use strata_runtime::Health;

use crate::Error;
use crate::distributor::Distributor;
use crate::head::AppendStats;
use crate::remote_write::{self, DecodeOptions, WriteProto};
use crate::tenants::validate_tenant;

/// The remote write path.
pub const RECEIVE_PATH: &str = "/api/v1/receive";
/// Default of `--receive.tenant-header` (Thanos' `tenancy.DefaultTenantHeader`).
pub const DEFAULT_TENANT_HEADER: &str = "THANOS-TENANT";
/// Default of `--receive.default-tenant-id` (Thanos' `tenancy.DefaultTenant`).
pub const DEFAULT_TENANT_ID: &str = "default-tenant";
/// Default of `--receive.max-body-size`: 32 MiB of compressed body. Prometheus sends at most
/// a few hundred KiB per request (2000 samples by default).
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;

/// Remote write 2.0 response header `X-Prometheus-Remote-Write-Samples-Written` (header names
/// are case-insensitive; lower case is their `HeaderName` form): samples written.
pub const SAMPLES_WRITTEN_HEADER: &str = "x-prometheus-remote-write-samples-written";
/// `X-Prometheus-Remote-Write-Histograms-Written`: native histogram samples written.
pub const HISTOGRAMS_WRITTEN_HEADER: &str = "x-prometheus-remote-write-histograms-written";
/// `X-Prometheus-Remote-Write-Exemplars-Written`: exemplars written.
pub const EXEMPLARS_WRITTEN_HEADER: &str = "x-prometheus-remote-write-exemplars-written";

/// Buckets of the per-request series/sample histograms (Thanos' values).
const WRITE_BUCKETS: [f64; 7] = [10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0];

/// Settings of the remote write endpoint.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// `--receive.tenant-header`: the header naming the tenant (matched case-insensitively).
    pub tenant_header: String,
    /// `--receive.default-tenant-id`: the tenant of requests without the header.
    pub default_tenant: String,
    /// `--receive.max-body-size`: largest accepted (compressed) body in bytes; 413 above.
    pub max_body_bytes: usize,
    /// Decompressed size limit and label name validation.
    pub decode: DecodeOptions,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            tenant_header: DEFAULT_TENANT_HEADER.to_string(),
            default_tenant: DEFAULT_TENANT_ID.to_string(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            decode: DecodeOptions::default(),
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeTenant {
    code: String,
    tenant: String,
}

/// The endpoint's metrics (see the module docs).
#[derive(Debug, Clone)]
struct WriteMetrics {
    timeseries: Family<CodeTenant, Histogram>,
    samples: Family<CodeTenant, Histogram>,
    pending: Gauge,
}

impl Default for WriteMetrics {
    fn default() -> Self {
        Self {
            timeseries: Family::new_with_constructor(|| Histogram::new(WRITE_BUCKETS)),
            samples: Family::new_with_constructor(|| Histogram::new(WRITE_BUCKETS)),
            pending: Gauge::default(),
        }
    }
}

/// What one write did, for metrics and the response.
#[derive(Debug)]
struct Outcome {
    status: StatusCode,
    message: String,
    /// `(series, samples)` of the decoded request, if it decoded.
    counts: Option<(usize, usize)>,
    /// The negotiated message, once known (2.0 answers carry the `*-Written` headers).
    proto: Option<WriteProto>,
}

impl Outcome {
    fn reject(e: &Error) -> Self {
        Self {
            status: e.status(),
            message: e.to_string(),
            counts: None,
            proto: None,
        }
    }
}

/// The remote write endpoint: tenancy, limits, decoding and appending (see the module docs).
#[derive(Debug)]
pub struct ReceiveHttp {
    dist: Arc<Distributor>,
    health: Health,
    opts: HttpOptions,
    header: HeaderName,
    metrics: WriteMetrics,
}

impl ReceiveHttp {
    /// The endpoint over `dist` (the local heads, or the hashring); it answers 503 while
    /// `health` is not ready.
    pub fn new(
        dist: Arc<Distributor>,
        health: Health,
        opts: HttpOptions,
    ) -> Result<Arc<Self>, Error> {
        let header = HeaderName::from_bytes(opts.tenant_header.as_bytes()).map_err(|source| {
            Error::InvalidTenantHeader {
                header: opts.tenant_header.clone(),
                source,
            }
        })?;
        validate_tenant(&opts.default_tenant).map_err(|e| Error::InvalidDefaultTenant {
            tenant: opts.default_tenant.clone(),
            source: Box::new(e),
        })?;
        Ok(Arc::new(Self {
            dist,
            health,
            opts,
            header,
            metrics: WriteMetrics::default(),
        }))
    }

    /// The options in use.
    pub fn options(&self) -> &HttpOptions {
        &self.opts
    }

    /// Registers the endpoint's metrics (call once).
    pub fn register_metrics(&self, r: &mut Registry) {
        let m = &self.metrics;
        r.register(
            "thanos_receive_write_timeseries",
            "The number of timeseries received in the incoming write requests.",
            m.timeseries.clone(),
        );
        r.register(
            "thanos_receive_write_samples",
            "The number of sampled received in the incoming write requests.",
            m.samples.clone(),
        );
        r.register(
            "thanos_receive_pending_write_requests",
            "The number of pending write requests.",
            m.pending.clone(),
        );
    }

    /// `POST /api/v1/receive`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(RECEIVE_PATH, post(receive))
            .with_state(Arc::clone(self))
    }

    /// The tenant of a request (see the module docs).
    pub fn tenant(&self, headers: &HeaderMap) -> Result<String, Error> {
        let from = |name: &str| {
            headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map(str::to_string)
                        .map_err(|_| Error::TenantHeaderNotText)
                })
                .transpose()
                .map(|t| t.filter(|t| !t.is_empty()))
        };
        let tenant = match from(self.header.as_str())? {
            Some(t) => t,
            None => match from(DEFAULT_TENANT_HEADER)? {
                Some(t) => t,
                None => self.opts.default_tenant.clone(),
            },
        };
        validate_tenant(&tenant)?;
        Ok(tenant)
    }

    /// Decodes `body` (remote write 1.0) and appends it for `tenant` on the blocking pool: the
    /// one place a request reaches storage. `Ok` means every sample is in the tenant's WAL.
    pub async fn write(&self, tenant: &str, body: Bytes) -> Result<AppendStats, Error> {
        self.write_inner(tenant, WriteProto::V1, body).await.1
    }

    async fn write_inner(
        &self,
        tenant: &str,
        proto: WriteProto,
        body: Bytes,
    ) -> (Outcome, Result<AppendStats, Error>) {
        let decode = self.opts.decode;
        self.metrics.pending.inc();
        let decoded =
            tokio::task::spawn_blocking(move || remote_write::decode_proto(proto, &body, &decode))
                .await;
        let (outcome, res) = match decoded {
            Err(e) => {
                tracing::error!(error = %e, "remote write task failed");
                let e = Error::TaskFailed(e);
                (Outcome::reject(&e), Err(e))
            }
            Ok(Err(e)) => (Outcome::reject(&e), Err(e)),
            Ok(Ok(req)) => {
                let counts = Some((req.series.len(), req.samples));
                let res = self.dist.write(tenant, req.series, false).await;
                let outcome = match &res {
                    Ok(_) => Outcome {
                        status: StatusCode::OK,
                        message: String::new(),
                        counts,
                        proto: None,
                    },
                    Err(e) => Outcome {
                        counts,
                        ..Outcome::reject(e)
                    },
                };
                (outcome, res)
            }
        };
        self.metrics.pending.dec();
        let outcome = Outcome {
            proto: Some(proto),
            ..outcome
        };
        if let Some((series, samples)) = outcome.counts {
            let labels = CodeTenant {
                code: outcome.status.as_u16().to_string(),
                tenant: tenant.to_string(),
            };
            let m = &self.metrics;
            m.timeseries.get_or_create(&labels).observe(series as f64);
            m.samples.get_or_create(&labels).observe(samples as f64);
        }
        (outcome, res)
    }

    async fn handle(&self, headers: &HeaderMap, body: Body) -> Outcome {
        if !self.health.is_ready() {
            return Outcome::reject(&Error::NotReady);
        }
        let tenant = match self.tenant(headers) {
            Ok(t) => t,
            Err(e) => return Outcome::reject(&e),
        };
        // A value that is not text is kept (lossily) so that it is refused, not ignored.
        let text = |name| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()))
        };
        let (content_type, encoding) = (text(header::CONTENT_TYPE), text(header::CONTENT_ENCODING));
        let proto = match remote_write::negotiate(content_type.as_deref(), encoding.as_deref()) {
            Ok(p) => p,
            Err(e) => return Outcome::reject(&e),
        };
        let reject = |e: &Error| Outcome {
            proto: Some(proto),
            ..Outcome::reject(e)
        };
        let limit = self.opts.max_body_bytes;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = declared
            && len > limit as u64
        {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            return reject(&Error::BodyTooLarge { len, limit });
        }
        let body = match read_body(body, limit, declared).await {
            Ok(b) => b,
            Err(e) => return reject(&e),
        };
        self.write_inner(&tenant, proto, body).await.0
    }
}

/// Reads at most `limit` bytes of `body`.
async fn read_body(body: Body, limit: usize, declared: Option<u64>) -> Result<Bytes, Error> {
    let capacity = declared.map_or(0, |l| usize::try_from(l).unwrap_or(0).min(limit));
    let mut buf = Vec::with_capacity(capacity);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Error::ReadBody)?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::BodyTooLarge {
                len: buf.len() + chunk.len(),
                limit,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

async fn receive(State(h): State<Arc<ReceiveHttp>>, headers: HeaderMap, body: Body) -> Response {
    let outcome = h.handle(&headers, body).await;
    let code = outcome.status;
    let mut resp = if code.is_success() {
        code.into_response()
    } else {
        let mut message = outcome.message;
        message.push('\n');
        (
            code,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message,
        )
            .into_response()
    };
    if outcome.proto == Some(WriteProto::V2) {
        let samples = match outcome.counts {
            Some((_, samples)) if code.is_success() => samples,
            _ => 0,
        };
        let h = resp.headers_mut();
        for (name, n) in [
            (SAMPLES_WRITTEN_HEADER, samples),
            (HISTOGRAMS_WRITTEN_HEADER, 0),
            (EXEMPLARS_WRITTEN_HEADER, 0),
        ] {
            h.insert(HeaderName::from_static(name), n.into());
        }
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tenants::{MultiTsdb, TenantOptions};
    use axum::http::Request;
    use strata_storeapi::pb::prometheus::{Label as PbLabel, Sample, TimeSeries, WriteRequest};
    use tower::ServiceExt;

    struct Fixture {
        http: Arc<ReceiveHttp>,
        health: Health,
        _dir: tempfile::TempDir,
    }

    fn fixture(opts: HttpOptions) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let tsdb = MultiTsdb::open(TenantOptions::new(dir.path())).unwrap();
        let health = Health::new("receive");
        health.set_ready(true);
        let http =
            ReceiveHttp::new(Distributor::local(Arc::new(tsdb)), health.clone(), opts).unwrap();
        Fixture {
            http,
            health,
            _dir: dir,
        }
    }

    async fn post(f: &Fixture, headers: &[(&str, &str)], body: Body) -> (u16, String) {
        let mut req = Request::post(RECEIVE_PATH);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        // As the service serves it: inside the runtime's HTTP metrics layer.
        let router = f
            .health
            .http_metrics()
            .instrument_as(f.http.router(), strata_runtime::Handler::Named("receive"));
        let resp = router.oneshot(req.body(body).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn pb_series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
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

    fn body_of(series: Vec<TimeSeries>) -> Body {
        let req = WriteRequest {
            timeseries: series,
            metadata: Vec::new(),
        };
        Body::from(remote_write::encode_request(&req).unwrap())
    }

    #[tokio::test]
    async fn tenant_from_header_case_insensitive_else_default() {
        let f = fixture(HttpOptions {
            tenant_header: "X-Scope-OrgID".to_string(),
            ..HttpOptions::default()
        });
        let mut h = HeaderMap::new();
        assert_eq!(f.http.tenant(&h).unwrap(), DEFAULT_TENANT_ID);
        h.insert("thanos-tenant", "fallback".parse().unwrap());
        assert_eq!(f.http.tenant(&h).unwrap(), "fallback");
        h.insert("x-scope-orgid", "team-a".parse().unwrap());
        assert_eq!(f.http.tenant(&h).unwrap(), "team-a");
        h.insert("X-SCOPE-ORGID", "..".parse().unwrap());
        assert!(f.http.tenant(&h).is_err());
        h.insert("X-SCOPE-ORGID", "".parse().unwrap());
        assert_eq!(f.http.tenant(&h).unwrap(), "fallback");
        let (code, msg) = post(&f, &[("X-Scope-OrgID", "a/b")], body_of(vec![])).await;
        assert_eq!(code, 400, "{msg}");
        assert!(msg.contains("invalid tenant name"), "{msg}");
    }

    #[test]
    fn bad_options_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let tsdb = Distributor::local(Arc::new(
            MultiTsdb::open(TenantOptions::new(dir.path())).unwrap(),
        ));
        let h = Health::new("receive");
        let bad_header = HttpOptions {
            tenant_header: "a b".to_string(),
            ..HttpOptions::default()
        };
        assert!(matches!(
            ReceiveHttp::new(Arc::clone(&tsdb), h.clone(), bad_header),
            Err(Error::InvalidTenantHeader { .. })
        ));
        let bad_tenant = HttpOptions {
            default_tenant: "..".to_string(),
            ..HttpOptions::default()
        };
        assert!(matches!(
            ReceiveHttp::new(tsdb, h, bad_tenant),
            Err(Error::InvalidDefaultTenant { .. })
        ));
    }

    #[tokio::test]
    async fn not_ready_is_503() {
        let f = fixture(HttpOptions::default());
        f.health.set_ready(false);
        let (code, msg) = post(&f, &[], body_of(vec![])).await;
        assert_eq!(code, 503);
        assert_eq!(msg, "receiver is not ready\n");
        f.health.set_ready(true);
        assert_eq!(post(&f, &[], body_of(vec![])).await.0, 200);
    }

    #[tokio::test]
    async fn bad_bodies_get_their_codes() {
        let f = fixture(HttpOptions {
            max_body_bytes: 1000,
            decode: DecodeOptions {
                max_decompressed: 10_000,
                ..DecodeOptions::default()
            },
            ..HttpOptions::default()
        });
        let ok_labels = [("__name__", "up"), ("job", "a")];
        let cases: Vec<(&str, Body, u16, &str)> = vec![
            (
                "garbage",
                Body::from(vec![0xffu8; 64]),
                400,
                "snappy decode error",
            ),
            (
                "snappy of garbage",
                Body::from(remote_write::compress(b"this is not protobuf \xff\xff").unwrap()),
                400,
                "protobuf decode error",
            ),
            (
                "unsorted labels",
                body_of(vec![pb_series(
                    &[("job", "a"), ("__name__", "up")],
                    &[(1, 1.0)],
                )]),
                400,
                "out of order labels",
            ),
            (
                "empty metric name",
                body_of(vec![pb_series(
                    &[("__name__", ""), ("job", "a")],
                    &[(1, 1.0)],
                )]),
                400,
                "empty metric name",
            ),
            (
                "samples out of order within the request",
                body_of(vec![pb_series(&ok_labels, &[(5, 1.0), (4, 1.0)])]),
                409,
                "out of order sample",
            ),
            (
                "decompressed size over the limit",
                Body::from(remote_write::compress(&[0u8; 20_000]).unwrap()),
                413,
                "decompressed size",
            ),
            (
                "body over the limit",
                Body::from(vec![0u8; 1001]),
                413,
                "exceeds the limit of 1000 bytes",
            ),
        ];
        for (name, body, want, msg_part) in cases {
            let (code, msg) = post(&f, &[], body).await;
            assert_eq!(code, want, "{name}: {msg}");
            assert!(msg.contains(msg_part), "{name}: {msg}");
        }
        // A chunked body (no Content-Length) over the limit is cut off while reading.
        let chunks = futures::stream::iter(
            (0..5).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 300]))),
        );
        let (code, msg) = post(&f, &[], Body::from_stream(chunks)).await;
        assert_eq!(code, 413, "{msg}");
        // A metadata-only request is fine and touches no storage.
        assert_eq!(post(&f, &[], body_of(vec![])).await, (200, String::new()));
    }

    /// Remote write 2.0 as Prometheus 3 sends it is stored and counted in the response
    /// headers; 1.0 keeps every `Content-Type` form; unknown messages are 415.
    #[tokio::test]
    async fn content_types_pick_the_message() {
        let f = fixture(HttpOptions::default());
        let router = f.http.router();
        let send = |ct: Option<&str>, body: Vec<u8>| {
            let mut req = Request::post(RECEIVE_PATH).header("content-encoding", "snappy");
            if let Some(ct) = ct {
                req = req.header("content-type", ct);
            }
            router.clone().oneshot(req.body(Body::from(body)).unwrap())
        };
        let v2_type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
        let series = vec![(
            strata_tsdb::labels::Labels::from_pairs([("__name__", "up"), ("job", "v2")]),
            vec![(1000, 1.0), (2000, 2.0)],
        )];
        let resp = send(Some(v2_type), remote_write::encode_v2(&series).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(h[SAMPLES_WRITTEN_HEADER], "2");
        assert_eq!(h[HISTOGRAMS_WRITTEN_HEADER], "0");
        assert_eq!(h[EXEMPLARS_WRITTEN_HEADER], "0");
        // Stored: the same samples again are now a conflict, and say none were written.
        let resp = send(Some(v2_type), remote_write::encode_v2(&series).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 409);
        assert_eq!(resp.headers()[SAMPLES_WRITTEN_HEADER], "0");

        let v1 = |job: &str| {
            remote_write::encode(&[(
                strata_tsdb::labels::Labels::from_pairs([("__name__", "up"), ("job", job)]),
                vec![(1000, 1.0)],
            )])
        };
        for (job, ct) in [
            ("none", None),
            ("bare", Some("application/x-protobuf")),
            (
                "v1",
                Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            ),
        ] {
            let resp = send(ct, v1(job).unwrap()).await.unwrap();
            assert_eq!(resp.status(), 200, "{ct:?}");
            assert!(!resp.headers().contains_key(SAMPLES_WRITTEN_HEADER));
        }
        let unknown = "application/x-protobuf;proto=io.prometheus.write.v3.Request";
        let resp = send(Some(unknown), v1("x").unwrap()).await.unwrap();
        assert_eq!(resp.status(), 415);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(
            String::from_utf8_lossy(&body).contains("unknown proto message"),
            "{body:?}"
        );
    }

    #[tokio::test]
    async fn writes_are_stored_and_conflicts_refused() {
        let f = fixture(HttpOptions::default());
        let labels = [("__name__", "up"), ("job", "a")];
        let (code, msg) = post(
            &f,
            &[("THANOS-TENANT", "t1")],
            body_of(vec![pb_series(&labels, &[(1000, 1.0), (2000, 2.0)])]),
        )
        .await;
        assert_eq!((code, msg.as_str()), (200, ""));
        // Older than what the head holds: 409, nothing stored.
        let (code, msg) = post(
            &f,
            &[("THANOS-TENANT", "t1")],
            body_of(vec![pb_series(&labels, &[(1500, 9.0)])]),
        )
        .await;
        assert_eq!(code, 409, "{msg}");
        // Another tenant has its own head: the same timestamps are fine there.
        let (code, msg) = post(
            &f,
            &[("thanos-tenant", "t2")],
            body_of(vec![pb_series(&labels, &[(1500, 9.0)])]),
        )
        .await;
        assert_eq!(code, 200, "{msg}");
        f.health.register(|r| f.http.register_metrics(r));
        let text = f.health.encode_metrics();
        assert!(
            text.contains(r#"thanos_receive_write_samples_sum{code="200",tenant="t1"} 2.0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"thanos_receive_write_samples_count{code="409",tenant="t1"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"http_requests_total{handler="receive",code="200",method="post"} 2"#),
            "{text}"
        );
    }
}
