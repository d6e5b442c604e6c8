//! The Thanos `http_config` block (thanos-io/objstore `exthttp.HTTPConfig`) mapped onto
//! object_store's `ClientOptions` (durations are Prometheus-style, parsed by strata-units).
//!
//! What object_store can express is mapped; the rest is accepted and logged at debug level:
//! - `idle_conn_timeout` -> pool idle timeout
//! - `response_header_timeout` -> read timeout (a server that never answers is cut off)
//! - `tls_handshake_timeout` -> connect timeout
//! - `max_idle_conns_per_host` -> pool max idle per host
//! - `insecure_skip_verify` (top level or in `tls_config`) -> accept invalid certificates
//! - `tls_config.ca_file` -> extra root certificates (PEM bundle)
//! - ignored: `expect_continue_timeout`, `max_idle_conns`, `max_conns_per_host`,
//!   `force_attempt_http2`, `disable_compression`, `tls_config.{trust_root_ca, cert_file,
//!   key_file, server_name}`.

use std::path::PathBuf;
use std::time::Duration;

use object_store::{Certificate, ClientOptions};
use serde::Deserialize;

use crate::{Error, Result};

/// Total time allowed for one request, body included. Thanos has no such limit; object_store
/// defaults to 30s, which is too short for large segment transfers, so strata uses 5 minutes.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

pub use strata_units::PromDuration;

/// `http_config.tls_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub ca_file: Option<PathBuf>,
    pub trust_root_ca: bool,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
}

/// `http_config` of the S3, COS, GCS and Azure providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub idle_conn_timeout: Option<PromDuration>,
    pub response_header_timeout: Option<PromDuration>,
    pub insecure_skip_verify: bool,
    pub tls_handshake_timeout: Option<PromDuration>,
    pub expect_continue_timeout: Option<PromDuration>,
    pub max_idle_conns: Option<u64>,
    pub max_idle_conns_per_host: Option<u64>,
    pub max_conns_per_host: Option<u64>,
    pub tls_config: TlsConfig,
    pub force_attempt_http2: bool,
    pub disable_compression: bool,
}

/// Defaults of Thanos' `exthttp.DefaultHTTPConfig` that have an object_store equivalent.
const DEFAULT_IDLE_CONN_TIMEOUT: Duration = Duration::from_secs(90);
const DEFAULT_RESPONSE_HEADER_TIMEOUT: Duration = Duration::from_secs(120);
const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_IDLE_CONNS_PER_HOST: u64 = 100;

fn ignored(provider: &str, key: &str) {
    tracing::debug!(
        provider,
        key,
        "objstore http_config key has no object_store equivalent; ignored"
    );
}

impl HttpConfig {
    /// Build object_store client options (reads `tls_config.ca_file` if set).
    pub fn client_options(&self, provider: &str) -> Result<ClientOptions> {
        let dur = |v: Option<PromDuration>, default: Duration| match v {
            Some(PromDuration(d)) if !d.is_zero() => d,
            _ => default,
        };
        let mut o = ClientOptions::new()
            .with_timeout(DEFAULT_REQUEST_TIMEOUT)
            .with_pool_idle_timeout(dur(self.idle_conn_timeout, DEFAULT_IDLE_CONN_TIMEOUT))
            .with_read_timeout(dur(
                self.response_header_timeout,
                DEFAULT_RESPONSE_HEADER_TIMEOUT,
            ))
            .with_connect_timeout(dur(
                self.tls_handshake_timeout,
                DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            ));
        let per_host = match self.max_idle_conns_per_host {
            Some(n) if n > 0 => n,
            _ => DEFAULT_MAX_IDLE_CONNS_PER_HOST,
        };
        o = o.with_pool_max_idle_per_host(usize::try_from(per_host).unwrap_or(usize::MAX));
        if self.insecure_skip_verify || self.tls_config.insecure_skip_verify {
            o = o.with_allow_invalid_certificates(true);
        }
        if let Some(ca) = &self.tls_config.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                Error::config(format!(
                    "{provider} config: reading http_config.tls_config.ca_file {}: {e}",
                    ca.display()
                ))
            })?;
            let certs = Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::config(format!(
                    "{provider} config: http_config.tls_config.ca_file {}: {e}",
                    ca.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(Error::config(format!(
                    "{provider} config: http_config.tls_config.ca_file {} holds no certificate",
                    ca.display()
                )));
            }
            for c in certs {
                o = o.with_root_certificate(c);
            }
        }
        if self.expect_continue_timeout.is_some() {
            ignored(provider, "expect_continue_timeout");
        }
        if self.max_idle_conns.is_some() {
            ignored(provider, "max_idle_conns");
        }
        if self.max_conns_per_host.is_some() {
            ignored(provider, "max_conns_per_host");
        }
        if self.force_attempt_http2 {
            ignored(provider, "force_attempt_http2");
        }
        if self.disable_compression {
            ignored(provider, "disable_compression");
        }
        if self.tls_config.trust_root_ca {
            ignored(provider, "tls_config.trust_root_ca");
        }
        if self.tls_config.server_name.is_some() {
            ignored(provider, "tls_config.server_name");
        }
        if self.tls_config.cert_file.is_some() || self.tls_config.key_file.is_some() {
            tracing::warn!(
                provider,
                "http_config.tls_config client certificates are not supported; connecting without one"
            );
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_options_map_what_they_can() {
        let c = HttpConfig {
            insecure_skip_verify: true,
            idle_conn_timeout: Some(PromDuration(Duration::from_secs(5))),
            max_idle_conns: Some(3),
            ..Default::default()
        };
        assert!(c.client_options("S3").is_ok());
        let missing = HttpConfig {
            tls_config: TlsConfig {
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = missing.client_options("S3").unwrap_err().to_string();
        assert!(
            e.starts_with("S3 config: reading http_config.tls_config.ca_file"),
            "{e}"
        );
    }
}
