//! The flags of `strata query`, also read by `querier-lambda` from its environment (every
//! flag has a `STRATA_*` variable), so the process and the function take the same settings.
//! Flags keep Thanos' names and defaults, except the listen addresses, which default to the
//! strata ports on 127.0.0.1.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use clap::builder::BoolishValueParser;
use strata_runtime::cli::{ListenDefaults, ListenFlags, duration, positive_duration};

use crate::QuerierConfig;
use crate::endpoints::{EndpointError, EndpointOptions, EndpointSet};
use crate::service::{Running, ServiceConfig, ServiceError};
use crate::tenancy::Tenancy;

/// The querier's listen addresses.
#[derive(Debug, Clone)]
pub struct QueryListen;

impl ListenDefaults for QueryListen {
    const HTTP: &'static str = "127.0.0.1:10904";
    const HTTP_HELP: &'static str =
        "Listen address for the Prometheus HTTP API, the web page, /metrics and probes";
    const GRPC: &'static str = "127.0.0.1:10903";
    const GRPC_HELP: &'static str =
        "Listen address for the querier's own StoreAPI (gRPC), for layered queriers";
}

/// Flags of `strata query` (and the settings of `querier-lambda`).
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// A StoreAPI endpoint to query: `host:port`, or `dns+host:port` to use every address the
    /// name resolves to (re-resolved on every poll). Repeatable; comma-separated in
    /// STRATA_ENDPOINT.
    #[arg(
        long = "endpoint",
        env = "STRATA_ENDPOINT",
        value_name = "ADDRESS",
        value_delimiter = ','
    )]
    pub endpoints: Vec<String>,
    #[command(flatten)]
    pub listen: ListenFlags<QueryListen>,
    /// Label that tells HA replicas apart; deduplicated away by default (`dedup=false`
    /// keeps the replicas). Repeatable; comma-separated in STRATA_QUERY_REPLICA_LABEL.
    #[arg(
        long = "query.replica-label",
        env = "STRATA_QUERY_REPLICA_LABEL",
        value_name = "LABEL",
        value_delimiter = ','
    )]
    pub replica_labels: Vec<String>,
    /// Maximum time a query may run.
    #[arg(long = "query.timeout", env = "STRATA_QUERY_TIMEOUT", default_value = "2m", value_parser = positive_duration)]
    pub timeout: Duration,
    /// Maximum number of queries evaluated at once; the others wait.
    #[arg(
        long = "query.max-concurrent",
        env = "STRATA_QUERY_MAX_CONCURRENT",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_concurrent: u32,
    /// How far back an instant selector looks for a sample.
    #[arg(long = "query.lookback-delta", env = "STRATA_QUERY_LOOKBACK_DELTA", default_value = "5m", value_parser = positive_duration)]
    pub lookback_delta: Duration,
    /// Answer with the data that is available (plus a warning) when a store fails, unless the
    /// request says `partial_response=false`.
    #[arg(
        long = "query.partial-response",
        env = "STRATA_QUERY_PARTIAL_RESPONSE",
        value_parser = BoolishValueParser::new()
    )]
    pub partial_response: bool,
    /// Let queries use downsampled data by default (`max_source_resolution=auto`, step/5).
    #[arg(
        long = "query.auto-downsampling",
        env = "STRATA_QUERY_AUTO_DOWNSAMPLING",
        value_parser = BoolishValueParser::new()
    )]
    pub auto_downsampling: bool,
    /// HTTP header naming the tenant; forwarded to the stores as gRPC metadata
    /// `thanos-tenant`.
    #[arg(
        long = "query.tenant-header",
        env = "STRATA_QUERY_TENANT_HEADER",
        default_value = "THANOS-TENANT"
    )]
    pub tenant_header: String,
    /// Confine every query, series and label request (and the querier's own StoreAPI) to the
    /// tenant's series: a `<--query.tenant-label-name>="<tenant>"` matcher is added to every
    /// selector, the tenant being the tenant header's value or `--query.default-tenant-id`.
    #[arg(
        long = "query.enforce-tenancy",
        env = "STRATA_QUERY_ENFORCE_TENANCY",
        value_parser = BoolishValueParser::new()
    )]
    pub enforce_tenancy: bool,
    /// Label naming a series' tenant, for `--query.enforce-tenancy` (receive's
    /// `--receive.tenant-label-name`).
    #[arg(
        long = "query.tenant-label-name",
        env = "STRATA_QUERY_TENANT_LABEL_NAME",
        default_value = "tenant_id"
    )]
    pub tenant_label: String,
    /// Tenant of requests without a tenant header, for `--query.enforce-tenancy`.
    #[arg(
        long = "query.default-tenant-id",
        env = "STRATA_QUERY_DEFAULT_TENANT_ID",
        default_value = "default-tenant"
    )]
    pub default_tenant: String,
    /// Give up on a store's response after this long (0 = wait as long as the query may).
    #[arg(long = "store.response-timeout", env = "STRATA_STORE_RESPONSE_TIMEOUT", default_value = "0ms", value_parser = duration)]
    pub store_response_timeout: Duration,
    /// How often every endpoint is asked for its Info (health, labels, time range).
    #[arg(long = "endpoint.poll-interval", env = "STRATA_ENDPOINT_POLL_INTERVAL", default_value = "5s", value_parser = positive_duration, hide = true)]
    pub poll_interval: Duration,
    /// How long one Info call may take (also bounds a Lambda cold start's first poll).
    #[arg(long = "endpoint.info-timeout", env = "STRATA_ENDPOINT_INFO_TIMEOUT", default_value = "5s", value_parser = positive_duration)]
    pub info_timeout: Duration,
}

impl QueryArgs {
    /// The querier settings; `flags` is what `/api/v1/status/flags` shows.
    pub fn querier_config(&self, flags: BTreeMap<String, String>) -> QuerierConfig {
        QuerierConfig {
            replica_labels: self.replica_labels.clone(),
            timeout: self.timeout,
            max_concurrent: self.max_concurrent as usize,
            lookback_delta: self.lookback_delta,
            partial_response: self.partial_response,
            auto_downsampling: self.auto_downsampling,
            tenant_header: self.tenant_header.clone(),
            tenancy: self.enforce_tenancy.then(|| Tenancy {
                label: self.tenant_label.clone(),
                default_tenant: self.default_tenant.clone(),
            }),
            flags,
        }
    }

    /// The endpoint set (not polled yet); an error when no endpoint is given or one is not
    /// a usable address.
    pub fn endpoint_set(&self) -> Result<EndpointSet, EndpointError> {
        if self.endpoints.is_empty() {
            return Err(EndpointError::NoEndpoints);
        }
        let options = EndpointOptions {
            info_timeout: self.info_timeout,
            response_timeout: (!self.store_response_timeout.is_zero())
                .then_some(self.store_response_timeout),
            ..EndpointOptions::default()
        };
        EndpointSet::new(self.endpoints.clone(), options)
    }

    /// Where the service listens.
    pub fn service_config(&self) -> ServiceConfig {
        ServiceConfig {
            grpc_address: self.listen.grpc_address.clone(),
            http_address: self.listen.http_address.clone(),
            poll_interval: self.poll_interval,
        }
    }
}

/// `strata query`: runs the querier until `shutdown` resolves.
pub async fn run(
    args: QueryArgs,
    flags: BTreeMap<String, String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let endpoints = Arc::new(args.endpoint_set()?);
    let config = args.querier_config(flags);
    crate::service::run(endpoints, config, args.service_config(), shutdown, |r: &Running| {
        eprintln!(
            "strata query: Prometheus HTTP API and web page on http://{}, StoreAPI on {} (gRPC), endpoints: {}",
            r.http_addr,
            r.grpc_addr,
            args.endpoints.join(", ")
        );
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Instant;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        query: QueryArgs,
    }

    fn parse(args: &[&str]) -> Result<QueryArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("strata-query").chain(args.iter().copied()))
            .map(|c| c.query)
    }

    #[test]
    fn defaults_are_thanos_defaults() {
        let a = parse(&["--endpoint", "store:10901"]).unwrap();
        assert_eq!(a.endpoints, vec!["store:10901"]);
        assert_eq!(a.poll_interval, Duration::from_secs(5));
        let c = a.querier_config(BTreeMap::new());
        let d = QuerierConfig::default();
        assert_eq!(c.timeout, d.timeout);
        assert_eq!(c.lookback_delta, d.lookback_delta);
        assert_eq!(c.partial_response, d.partial_response);
        assert_eq!(c.max_concurrent, d.max_concurrent);
        assert_eq!(c.tenant_header, "THANOS-TENANT");
        assert!(c.tenancy.is_none());
        assert!(c.replica_labels.is_empty());
        let set = a.endpoint_set().unwrap();
        assert_eq!(
            set.options().info_timeout,
            EndpointOptions::default().info_timeout
        );
        assert_eq!(set.options().response_timeout, None);
    }

    #[test]
    fn reads_every_setting() {
        let a = parse(&[
            "--endpoint=store-a:10901,store-b:10901",
            "--query.replica-label=replica",
            "--query.replica-label=prometheus_replica",
            "--query.timeout=30s",
            "--query.lookback-delta=1m30s",
            "--query.partial-response",
            "--query.auto-downsampling",
            "--query.max-concurrent=4",
            "--query.tenant-header=X-Scope-OrgID",
            "--query.enforce-tenancy",
            "--query.tenant-label-name=org",
            "--query.default-tenant-id=anonymous",
            "--store.response-timeout=10s",
            "--endpoint.info-timeout=500ms",
            "--endpoint.poll-interval=1m",
        ])
        .unwrap();
        assert_eq!(a.endpoints, vec!["store-a:10901", "store-b:10901"]);
        let c = a.querier_config(BTreeMap::new());
        assert_eq!(c.replica_labels, vec!["replica", "prometheus_replica"]);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.lookback_delta, Duration::from_secs(90));
        assert!(c.partial_response);
        assert!(c.auto_downsampling);
        assert_eq!(c.max_concurrent, 4);
        assert_eq!(c.tenant_header, "X-Scope-OrgID");
        let t = c.tenancy.unwrap();
        assert_eq!(
            (t.label.as_str(), t.default_tenant.as_str()),
            ("org", "anonymous")
        );
        let set = a.endpoint_set().unwrap();
        assert_eq!(
            set.options().response_timeout,
            Some(Duration::from_secs(10))
        );
        assert_eq!(set.options().info_timeout, Duration::from_millis(500));
        assert_eq!(a.poll_interval, Duration::from_secs(60));
    }

    #[test]
    fn tenancy_defaults_are_thanos_defaults() {
        let a = parse(&["--query.enforce-tenancy"]).unwrap();
        let t = a.querier_config(BTreeMap::new()).tenancy.unwrap();
        assert_eq!(t.label, "tenant_id");
        assert_eq!(t.default_tenant, "default-tenant");
    }

    #[test]
    fn rejects_bad_values_naming_the_flag() {
        let e = parse(&[]).unwrap().endpoint_set().unwrap_err();
        assert!(matches!(e, EndpointError::NoEndpoints), "{e}");
        let e = parse(&["--query.timeout=soon"]).unwrap_err().to_string();
        assert!(e.contains("'soon'") && e.contains("--query.timeout"), "{e}");
        let e = parse(&["--query.max-concurrent=0"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--query.max-concurrent"), "{e}");
        let e = parse(&["--endpoint=http://store:10901/path"])
            .unwrap()
            .endpoint_set()
            .unwrap_err();
        assert!(e.to_string().starts_with("invalid endpoint address"), "{e}");
    }

    #[tokio::test]
    async fn first_poll_is_bounded_by_the_info_timeout() {
        // A listener that accepts and never answers: the poll gives up after the info timeout
        // and the set is ready (the endpoint shows up as failing), as a Lambda cold start needs.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap().to_string();
        let a = parse(&["--endpoint", &addr, "--endpoint.info-timeout=200ms"]).unwrap();
        let set = a.endpoint_set().unwrap();
        let started = Instant::now();
        set.poll_once().await;
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(set.ready());
        let status = set.status();
        assert_eq!(status.len(), 1);
        assert_eq!(status[0].name, addr);
        assert!(status[0].last_error.is_some(), "{status:?}");
        drop(silent);
    }
}
