//! The querier as an AWS Lambda function: reads its settings from the environment at cold
//! start, builds the endpoint set and the querier once (polling every endpoint's Info once, so
//! the first request already knows each store's labels and time range), and serves the same
//! router as `strata query` through `lambda_http` (function URL, API Gateway and ALB events).
//! Endpoints are polled again every poll interval while the instance is awake.
//!
//! Environment (the `strata query` / Thanos flag in brackets):
//! - `STRATA_ENDPOINTS` (required): comma-separated StoreAPI `host:port` or `dns+host:port`
//!   (`--endpoint`)
//! - `STRATA_REPLICA_LABELS`: comma-separated (`--query.replica-label`)
//! - `STRATA_QUERY_TIMEOUT`: duration, default `2m` (`--query.timeout`)
//! - `STRATA_PARTIAL_RESPONSE`: bool, default false (`--query.partial-response`)
//! - `STRATA_QUERY_MAX_CONCURRENT`: default 20 (`--query.max-concurrent`)
//! - `STRATA_QUERY_LOOKBACK_DELTA`: duration, default `5m` (`--query.lookback-delta`)
//! - `STRATA_QUERY_AUTO_DOWNSAMPLING`: bool, default false (`--query.auto-downsampling`)
//! - `STRATA_QUERY_TENANT_HEADER`: default `THANOS-TENANT` (`--query.tenant-header`)
//! - `STRATA_STORE_RESPONSE_TIMEOUT`: duration, default `0` = none (`--store.response-timeout`)
//! - `STRATA_ENDPOINT_INFO_TIMEOUT`: duration, default `5s`; also bounds the cold-start poll
//!   (`--endpoint.info-timeout`)
//! - `STRATA_ENDPOINT_POLL_INTERVAL`: duration, default `5s` (`--endpoint.poll-interval`)
//! - `STRATA_LOG_LEVEL`: level or filter directive, default `info` (logs are JSON lines)
//!
//! Behind API Gateway with a named stage, set `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true` so
//! paths are not prefixed with the stage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_querier::endpoints::{EndpointError, EndpointOptions};
use strata_querier::{EndpointSet, Querier, QuerierConfig, router};
use strata_runtime::LogFormat;

/// A setting in the environment that cannot be used.
#[derive(Debug, thiserror::Error)]
enum ConfigError {
    /// The variable's value does not parse.
    #[error("invalid {var}={value:?}: {reason}")]
    Invalid {
        var: &'static str,
        value: String,
        reason: String,
    },
    /// No endpoint to query.
    #[error("STRATA_ENDPOINTS is empty: name at least one StoreAPI (e.g. store:10901)")]
    NoEndpoints,
    /// An endpoint address is not usable.
    #[error("STRATA_ENDPOINTS: {0}")]
    Endpoint(#[from] EndpointError),
}

/// Everything read from the environment.
#[derive(Debug)]
struct LambdaConfig {
    endpoints: Vec<String>,
    endpoint_options: EndpointOptions,
    poll_interval: Duration,
    querier: QuerierConfig,
}

/// Reads the settings through `get` (the process environment in production).
fn config_from(get: impl Fn(&str) -> Option<String>) -> Result<LambdaConfig, ConfigError> {
    let var = |name: &str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let invalid = |var: &'static str, value: &str, reason: String| ConfigError::Invalid {
        var,
        value: value.to_string(),
        reason,
    };
    let duration = |name: &'static str| -> Result<Option<Duration>, ConfigError> {
        var(name)
            .map(|v| strata_units::parse_duration(&v).map_err(|e| invalid(name, &v, e)))
            .transpose()
    };
    let boolean = |name: &'static str| -> Result<Option<bool>, ConfigError> {
        var(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(invalid(name, &v, "expected true or false".to_string())),
            })
            .transpose()
    };

    let max_concurrent = var("STRATA_QUERY_MAX_CONCURRENT")
        .map(|v| {
            v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                invalid(
                    "STRATA_QUERY_MAX_CONCURRENT",
                    &v,
                    "expected a positive integer".into(),
                )
            })
        })
        .transpose()?;
    let d = QuerierConfig::default();
    let querier = QuerierConfig {
        replica_labels: list(var("STRATA_REPLICA_LABELS")),
        timeout: duration("STRATA_QUERY_TIMEOUT")?.unwrap_or(d.timeout),
        max_concurrent: max_concurrent.unwrap_or(d.max_concurrent),
        lookback_delta: duration("STRATA_QUERY_LOOKBACK_DELTA")?.unwrap_or(d.lookback_delta),
        partial_response: boolean("STRATA_PARTIAL_RESPONSE")?.unwrap_or(d.partial_response),
        auto_downsampling: boolean("STRATA_QUERY_AUTO_DOWNSAMPLING")?
            .unwrap_or(d.auto_downsampling),
        tenant_header: var("STRATA_QUERY_TENANT_HEADER").unwrap_or(d.tenant_header),
    };
    let endpoints = list(var("STRATA_ENDPOINTS"));
    if endpoints.is_empty() {
        return Err(ConfigError::NoEndpoints);
    }
    let e = EndpointOptions::default();
    let endpoint_options = EndpointOptions {
        info_timeout: duration("STRATA_ENDPOINT_INFO_TIMEOUT")?.unwrap_or(e.info_timeout),
        response_timeout: duration("STRATA_STORE_RESPONSE_TIMEOUT")?.filter(|d| !d.is_zero()),
        ..e
    };
    Ok(LambdaConfig {
        endpoints,
        endpoint_options,
        poll_interval: duration("STRATA_ENDPOINT_POLL_INTERVAL")?
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(5)),
        querier,
    })
}

/// The non-empty items of a comma-separated list.
fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The endpoint set, polled once: the first request sees every store that answered Info
/// (within the info timeout), and the others as failing endpoints, as `strata query` does.
async fn init_endpoints(config: &LambdaConfig) -> Result<Arc<EndpointSet>, ConfigError> {
    let set = EndpointSet::new(config.endpoints.clone(), config.endpoint_options.clone())?;
    set.poll_once().await;
    Ok(Arc::new(set))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let started = Instant::now();
    let level = std::env::var("STRATA_LOG_LEVEL").unwrap_or_else(|_| "info".to_string());
    strata_runtime::init_tracing(&level, LogFormat::Json);
    let config = config_from(|name| std::env::var(name).ok())
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let endpoints = init_endpoints(&config).await?;
    // Later polls run while the instance is awake (Lambda freezes it between invocations).
    let poller = Arc::clone(&endpoints);
    let interval = config.poll_interval;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            poller.poll_once().await;
        }
    });
    let querier = Arc::new(Querier::new(config.querier, endpoints));
    tracing::info!(
        endpoints = ?config.endpoints,
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        "querier Lambda initialised"
    );
    lambda_http::run(router(querier)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<LambdaConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config_from(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_strata_query() {
        let c = config(&[("STRATA_ENDPOINTS", "store:10901")]).unwrap();
        assert_eq!(c.endpoints, vec!["store:10901"]);
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        let e = EndpointOptions::default();
        assert_eq!(c.endpoint_options.info_timeout, e.info_timeout);
        assert_eq!(c.endpoint_options.unhealthy_timeout, e.unhealthy_timeout);
        assert_eq!(c.endpoint_options.response_timeout, None);
        assert!(c.endpoint_options.strict.is_empty());
        let d = QuerierConfig::default();
        assert_eq!(c.querier.timeout, d.timeout);
        assert_eq!(c.querier.lookback_delta, d.lookback_delta);
        assert_eq!(c.querier.partial_response, d.partial_response);
        assert_eq!(c.querier.max_concurrent, d.max_concurrent);
        assert_eq!(c.querier.tenant_header, "THANOS-TENANT");
        assert!(c.querier.replica_labels.is_empty());
    }

    #[test]
    fn reads_every_setting() {
        let c = config(&[
            ("STRATA_ENDPOINTS", " store-a:10901, ,store-b:10901 "),
            ("STRATA_REPLICA_LABELS", "replica,prometheus_replica"),
            ("STRATA_QUERY_TIMEOUT", "30s"),
            ("STRATA_QUERY_LOOKBACK_DELTA", "1m30s"),
            ("STRATA_PARTIAL_RESPONSE", "TRUE"),
            ("STRATA_QUERY_AUTO_DOWNSAMPLING", "1"),
            ("STRATA_QUERY_MAX_CONCURRENT", "4"),
            ("STRATA_QUERY_TENANT_HEADER", "X-Scope-OrgID"),
            ("STRATA_STORE_RESPONSE_TIMEOUT", "10s"),
            ("STRATA_ENDPOINT_INFO_TIMEOUT", "500ms"),
            ("STRATA_ENDPOINT_POLL_INTERVAL", "1m"),
        ])
        .unwrap();
        assert_eq!(c.endpoints, vec!["store-a:10901", "store-b:10901"]);
        assert_eq!(
            c.querier.replica_labels,
            vec!["replica", "prometheus_replica"]
        );
        assert_eq!(c.querier.timeout, Duration::from_secs(30));
        assert_eq!(c.querier.lookback_delta, Duration::from_secs(90));
        assert!(c.querier.partial_response);
        assert!(c.querier.auto_downsampling);
        assert_eq!(c.querier.max_concurrent, 4);
        assert_eq!(c.querier.tenant_header, "X-Scope-OrgID");
        assert_eq!(
            c.endpoint_options.response_timeout,
            Some(Duration::from_secs(10))
        );
        assert_eq!(c.endpoint_options.info_timeout, Duration::from_millis(500));
        assert_eq!(c.poll_interval, Duration::from_secs(60));
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        let e = config(&[]).unwrap_err();
        assert!(matches!(e, ConfigError::NoEndpoints), "{e}");
        let e = config(&[("STRATA_ENDPOINTS", " , ")]).unwrap_err();
        assert!(matches!(e, ConfigError::NoEndpoints), "{e}");
        let e = config(&[("STRATA_QUERY_TIMEOUT", "soon")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid STRATA_QUERY_TIMEOUT=\"soon\""),
            "{e}"
        );
        let e = config(&[("STRATA_PARTIAL_RESPONSE", "maybe")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid STRATA_PARTIAL_RESPONSE=\"maybe\": expected true or false"
        );
        let e = config(&[("STRATA_QUERY_MAX_CONCURRENT", "0")]).unwrap_err();
        assert!(e.to_string().contains("positive integer"), "{e}");
    }

    #[tokio::test]
    async fn cold_start_poll_is_bounded_by_the_info_timeout() {
        // A listener that accepts and never answers: the poll gives up after the info timeout
        // and the set is ready (the endpoint shows up as failing).
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap().to_string();
        let c = config(&[
            ("STRATA_ENDPOINTS", addr.as_str()),
            ("STRATA_ENDPOINT_INFO_TIMEOUT", "200ms"),
        ])
        .unwrap();
        let started = Instant::now();
        let set = init_endpoints(&c).await.unwrap();
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

    #[tokio::test]
    async fn bad_endpoint_addresses_are_configuration_errors() {
        let c = config(&[("STRATA_ENDPOINTS", "http://store:10901/path")]).unwrap();
        let e = init_endpoints(&c).await.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("STRATA_ENDPOINTS: invalid endpoint address"),
            "{e}"
        );
    }
}
