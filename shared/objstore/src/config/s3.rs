//! S3 and the S3-compatible providers (Tencent COS, Aliyun OSS): their Thanos objstore `config`
//! blocks (key names as in thanos-io/objstore `providers/{s3,cos,oss}`) and how each becomes an
//! object_store `AmazonS3`.
//!
//! Keys accepted but ignored (no object_store equivalent, logged at debug level): S3
//! `disable_dualstack`, `signature_version2`, `put_user_metadata`, `trace`,
//! `list_objects_version`, `send_content_md5`, `disable_multipart`, `sts_endpoint`,
//! `sse_config.kms_encryption_context`. `aws_sdk_auth: true` means "use the AWS default
//! credential chain", which is what happens whenever no static keys are given.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{ObjectStore, RetryConfig};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::http::HttpConfig;
use super::{Secret, ignored, missing, require};
use crate::{Error, Result};

/// Thanos' default multipart part size (64 MiB).
pub const DEFAULT_PART_SIZE: u64 = 64 * 1024 * 1024;

/// How the bucket appears in request URLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BucketLookupType {
    /// Virtual-hosted for AWS and Aliyun endpoints, path style elsewhere (as minio-go does).
    #[default]
    Auto,
    /// `https://<bucket>.<endpoint>/<key>`.
    VirtualHosted,
    /// `https://<endpoint>/<bucket>/<key>` (MinIO and most self-hosted servers).
    Path,
}

/// `sse_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SseConfig {
    /// `SSE-S3`, `SSE-KMS` or `SSE-C` (empty: none).
    #[serde(rename = "type")]
    pub kind: String,
    pub kms_key_id: String,
    pub kms_encryption_context: BTreeMap<String, String>,
    /// For SSE-C: path of a file holding the raw 32-byte key.
    pub encryption_key: String,
}

/// `type: S3` config block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    pub bucket: String,
    /// `host[:port]`, no scheme (`insecure: true` selects http).
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: Secret,
    pub session_token: Secret,
    pub insecure: bool,
    pub bucket_lookup_type: BucketLookupType,
    pub max_retries: Option<usize>,
    pub part_size: Option<u64>,
    pub sse_config: SseConfig,
    pub http_config: HttpConfig,
    pub aws_sdk_auth: bool,
    pub disable_dualstack: bool,
    pub signature_version2: bool,
    pub put_user_metadata: BTreeMap<String, String>,
    pub trace: Option<IgnoredAny>,
    pub list_objects_version: String,
    pub send_content_md5: Option<bool>,
    pub disable_multipart: bool,
    pub sts_endpoint: String,
}

/// `type: COS` (Tencent Cloud Object Storage) config block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CosConfig {
    pub bucket: String,
    pub region: String,
    pub app_id: String,
    /// A bucket URL (`https://<bucket>-<app_id>.cos.<region>.myqcloud.com`); derived when empty.
    pub endpoint: String,
    pub secret_id: String,
    pub secret_key: Secret,
    pub max_retries: Option<usize>,
    pub http_config: HttpConfig,
}

/// `type: ALIYUNOSS` config block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OssConfig {
    /// `oss-<region>.aliyuncs.com`, optionally with a scheme (https when absent).
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub access_key_secret: Secret,
}

/// The provider-neutral description of an S3 endpoint that every S3-like type reduces to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct S3Target {
    pub(crate) provider: &'static str,
    pub(crate) bucket: String,
    /// Full URL incl. scheme; for virtual-hosted style it already contains the bucket.
    pub(crate) endpoint_url: String,
    pub(crate) virtual_hosted: bool,
    pub(crate) region: String,
    pub(crate) access_key: String,
    pub(crate) secret_key: Secret,
    pub(crate) session_token: Secret,
    pub(crate) max_retries: Option<usize>,
    pub(crate) sse: SseConfig,
}

fn is_aws_host(host: &str) -> bool {
    let h = host.split(':').next().unwrap_or(host);
    h.ends_with(".amazonaws.com") || h.ends_with(".amazonaws.com.cn") || h == "amazonaws.com"
}

/// `s3.<region>.amazonaws.com`, `s3-<region>.amazonaws.com`, `s3.dualstack.<region>...`.
fn aws_region_from_host(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.split(':').next()?.split('.').collect();
    let first = *labels.first()?;
    if let Some(r) = first.strip_prefix("s3-") {
        return Some(r.to_string()).filter(|r| r != "external-1");
    }
    if first != "s3" {
        return None;
    }
    let candidate = match labels.get(1) {
        Some(&"dualstack") => labels.get(2),
        other => other,
    }?;
    (*candidate != "amazonaws").then(|| candidate.to_string())
}

impl S3Config {
    pub(crate) fn target(&self) -> Result<S3Target> {
        const P: &str = "S3";
        require(P, "bucket", &self.bucket)?;
        require(P, "endpoint", &self.endpoint)?;
        if self.endpoint.contains("://") {
            return Err(Error::config(format!(
                "S3 config: `endpoint` must be host[:port] without a scheme, got {:?} (set `insecure: true` for http)",
                self.endpoint
            )));
        }
        if self.endpoint.contains('/') {
            return Err(Error::config(format!(
                "S3 config: `endpoint` must be host[:port] without a path, got {:?}",
                self.endpoint
            )));
        }
        if self.aws_sdk_auth && !self.access_key.is_empty() {
            return Err(Error::config(
                "S3 config: `aws_sdk_auth` and `access_key` are mutually exclusive",
            ));
        }
        if self.access_key.is_empty() != self.secret_key.is_empty() {
            let (set, unset) = if self.access_key.is_empty() {
                ("secret_key", "access_key")
            } else {
                ("access_key", "secret_key")
            };
            return Err(Error::config(format!(
                "S3 config: missing required key `{unset}` (`{set}` is set; set both, or neither to use env/IAM credentials)"
            )));
        }
        self.log_ignored();
        let aws = is_aws_host(&self.endpoint);
        let virtual_hosted = match self.bucket_lookup_type {
            BucketLookupType::Auto => aws,
            BucketLookupType::VirtualHosted => true,
            BucketLookupType::Path => false,
        };
        let scheme = if self.insecure { "http" } else { "https" };
        let endpoint_url = if virtual_hosted {
            format!("{scheme}://{}.{}", self.bucket, self.endpoint)
        } else {
            format!("{scheme}://{}", self.endpoint)
        };
        let region = if !self.region.is_empty() {
            self.region.clone()
        } else if aws {
            aws_region_from_host(&self.endpoint).unwrap_or_else(|| "us-east-1".into())
        } else {
            "us-east-1".into()
        };
        Ok(S3Target {
            provider: P,
            bucket: self.bucket.clone(),
            endpoint_url,
            virtual_hosted,
            region,
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            session_token: self.session_token.clone(),
            max_retries: self.max_retries,
            sse: self.sse_config.clone(),
        })
    }

    fn log_ignored(&self) {
        const P: &str = "S3";
        let flags = [
            ("disable_dualstack", self.disable_dualstack),
            ("signature_version2", self.signature_version2),
            ("put_user_metadata", !self.put_user_metadata.is_empty()),
            ("trace", self.trace.is_some()),
            (
                "list_objects_version",
                !self.list_objects_version.is_empty(),
            ),
            ("send_content_md5", self.send_content_md5.is_some()),
            ("disable_multipart", self.disable_multipart),
            ("sts_endpoint", !self.sts_endpoint.is_empty()),
            (
                "sse_config.kms_encryption_context",
                !self.sse_config.kms_encryption_context.is_empty(),
            ),
        ];
        for (key, set) in flags {
            if set {
                ignored(P, key);
            }
        }
    }

    /// Multipart part size for uploads (Thanos default 64 MiB).
    pub fn part_size(&self) -> u64 {
        self.part_size
            .filter(|p| *p > 0)
            .unwrap_or(DEFAULT_PART_SIZE)
    }
}

impl CosConfig {
    pub(crate) fn target(&self) -> Result<S3Target> {
        const P: &str = "COS";
        require(P, "secret_id", &self.secret_id)?;
        require(P, "secret_key", self.secret_key.expose())?;
        let (bucket, endpoint_url, region) = if self.endpoint.is_empty() {
            require(P, "bucket", &self.bucket)?;
            require(P, "app_id", &self.app_id)?;
            require(P, "region", &self.region)?;
            let suffix = format!("-{}", self.app_id);
            let bucket = if self.bucket.ends_with(&suffix) {
                self.bucket.clone()
            } else {
                format!("{}{suffix}", self.bucket)
            };
            let url = format!("https://{bucket}.cos.{}.myqcloud.com", self.region);
            (bucket, url, self.region.clone())
        } else {
            // A bucket URL: https://<bucket>-<appid>.cos.<region>.myqcloud.com
            let (scheme, host) = split_scheme(&self.endpoint, "https");
            let host = host.trim_end_matches('/');
            let mut labels = host.split('.');
            let first = labels.next().unwrap_or_default().to_string();
            let bucket = if self.bucket.is_empty() {
                first
            } else if !self.app_id.is_empty() && !self.bucket.ends_with(&self.app_id) {
                format!("{}-{}", self.bucket, self.app_id)
            } else {
                self.bucket.clone()
            };
            let region = if !self.region.is_empty() {
                self.region.clone()
            } else {
                // cos.<region>.myqcloud.com
                match (labels.next(), labels.next()) {
                    (Some("cos"), Some(r)) => r.to_string(),
                    _ => return Err(missing(P, "region")),
                }
            };
            (bucket, format!("{scheme}://{host}"), region)
        };
        Ok(S3Target {
            provider: P,
            bucket,
            endpoint_url,
            virtual_hosted: true,
            region,
            access_key: self.secret_id.clone(),
            secret_key: self.secret_key.clone(),
            session_token: Secret::default(),
            max_retries: self.max_retries,
            sse: SseConfig::default(),
        })
    }
}

fn split_scheme<'a>(endpoint: &'a str, default: &'a str) -> (&'a str, &'a str) {
    match endpoint.split_once("://") {
        Some((s, rest)) => (s, rest),
        None => (default, endpoint),
    }
}

impl OssConfig {
    pub(crate) fn target(&self) -> Result<S3Target> {
        const P: &str = "ALIYUNOSS";
        require(P, "endpoint", &self.endpoint)?;
        require(P, "bucket", &self.bucket)?;
        require(P, "access_key_id", &self.access_key_id)?;
        require(P, "access_key_secret", self.access_key_secret.expose())?;
        let (scheme, host) = split_scheme(&self.endpoint, "https");
        let host = host.trim_end_matches('/');
        // oss-<region>[-internal].aliyuncs.com -> S3 API at s3.oss-<region>[-internal]...,
        // signed for <region>.
        let (s3_host, region) = match host.split_once('.') {
            Some((first, rest)) if first.starts_with("oss-") && rest.starts_with("aliyuncs.") => {
                let region = first
                    .trim_start_matches("oss-")
                    .trim_end_matches("-internal")
                    .to_string();
                (format!("s3.{host}"), region)
            }
            _ => (host.to_string(), "us-east-1".to_string()),
        };
        Ok(S3Target {
            provider: P,
            bucket: self.bucket.clone(),
            endpoint_url: format!("{scheme}://{}.{s3_host}", self.bucket),
            virtual_hosted: true,
            region,
            access_key: self.access_key_id.clone(),
            secret_key: self.access_key_secret.clone(),
            session_token: Secret::default(),
            max_retries: None,
            sse: SseConfig::default(),
        })
    }
}

/// Minimal standard base64 (for the SSE-C key header value).
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl S3Target {
    /// Build the object_store client; no network I/O happens here.
    pub(crate) fn build(&self, http: &HttpConfig) -> Result<Arc<dyn ObjectStore>> {
        let p = self.provider;
        let mut b = if self.access_key.is_empty() {
            // No static keys: env vars, web identity, ECS/EKS container or instance credentials.
            AmazonS3Builder::from_env()
        } else {
            let b = AmazonS3Builder::new()
                .with_access_key_id(&self.access_key)
                .with_secret_access_key(self.secret_key.expose());
            if self.session_token.is_empty() {
                b
            } else {
                b.with_token(self.session_token.expose())
            }
        };
        b = b
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_endpoint(&self.endpoint_url)
            .with_virtual_hosted_style_request(self.virtual_hosted)
            .with_client_options(http.client_options(p)?)
            .with_allow_http(self.endpoint_url.starts_with("http://"));
        if let Some(n) = self.max_retries.filter(|n| *n > 0) {
            b = b.with_retry(RetryConfig {
                max_retries: n,
                ..RetryConfig::default()
            });
        }
        b = match self.sse.kind.as_str() {
            "" => b,
            "SSE-S3" => {
                let key: AmazonS3ConfigKey = "aws_server_side_encryption"
                    .parse()
                    .map_err(|e| Error::config(format!("{p} config: sse_config: {e}")))?;
                b.with_config(key, "AES256")
            }
            "SSE-KMS" => {
                require(p, "sse_config.kms_key_id", &self.sse.kms_key_id)?;
                b.with_sse_kms_encryption(&self.sse.kms_key_id)
            }
            "SSE-C" => {
                require(p, "sse_config.encryption_key", &self.sse.encryption_key)?;
                let key = std::fs::read(&self.sse.encryption_key).map_err(|e| {
                    Error::config(format!(
                        "{p} config: reading sse_config.encryption_key {}: {e}",
                        self.sse.encryption_key
                    ))
                })?;
                if key.len() != 32 {
                    return Err(Error::config(format!(
                        "{p} config: sse_config.encryption_key {} must hold 32 bytes, got {}",
                        self.sse.encryption_key,
                        key.len()
                    )));
                }
                b.with_ssec_encryption(base64(&key))
            }
            other => {
                return Err(Error::config(format!(
                    "{p} config: unsupported sse_config.type {other:?} (supported: SSE-S3, SSE-KMS, SSE-C)"
                )));
            }
        };
        let store = b
            .build()
            .map_err(|e| Error::config(format!("{p} config: {e}")))?;
        tracing::debug!(
            provider = p,
            bucket = %self.bucket,
            endpoint = %self.endpoint_url,
            region = %self.region,
            virtual_hosted = self.virtual_hosted,
            "built s3 client"
        );
        Ok(Arc::new(store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn aws_regions_come_from_the_host() {
        assert_eq!(
            aws_region_from_host("s3.eu-west-1.amazonaws.com").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            aws_region_from_host("s3.dualstack.us-west-2.amazonaws.com").as_deref(),
            Some("us-west-2")
        );
        assert_eq!(
            aws_region_from_host("s3-ap-south-1.amazonaws.com").as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(aws_region_from_host("s3.amazonaws.com"), None);
        assert_eq!(aws_region_from_host("minio:9000"), None);
    }
}
