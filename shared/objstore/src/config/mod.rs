//! Thanos objstore YAML (`type`, `config`, `prefix`; thanos-io/objstore `client/factory.go`) parsed
//! with serde-saphyr into a typed config per provider, and built into one `Arc<dyn ObjectStore>`.
//!
//! Parsing is two-pass ([`TypedDocument`], shared with the cache YAML) so that errors point at
//! the right place: the envelope is read first to learn `type`, then the provider's typed
//! `config` (unknown keys are rejected by name). Supported types: FILESYSTEM, MEMORY, S3, COS, ALIYUNOSS, GCS, AZURE.
//! The `type` is matched case-insensitively, as Thanos does.

mod cloud;
mod http;
mod s3;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use strata_units::yaml::TypedDocument;

pub use cloud::{AzureConfig, FilesystemConfig, GcsConfig};
pub use http::{DEFAULT_REQUEST_TIMEOUT, HttpConfig, PromDuration, TlsConfig};
pub use s3::{BucketLookupType, CosConfig, DEFAULT_PART_SIZE, OssConfig, S3Config, SseConfig};

use crate::{Error, Result};

/// The `type` values this crate builds.
pub const SUPPORTED_TYPES: &[&str] = &[
    "FILESYSTEM",
    "MEMORY",
    "S3",
    "COS",
    "ALIYUNOSS",
    "GCS",
    "AZURE",
];

/// Thanos types that exist but are not implemented here.
const KNOWN_UNSUPPORTED: &[&str] = &["SWIFT", "BOS", "OCI", "OBS"];

/// One provider's typed `config` block.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderConfig {
    Filesystem(FilesystemConfig),
    Memory,
    S3(S3Config),
    Cos(CosConfig),
    AliyunOss(OssConfig),
    Gcs(GcsConfig),
    Azure(AzureConfig),
}

impl ProviderConfig {
    /// The Thanos `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            ProviderConfig::Filesystem(_) => "FILESYSTEM",
            ProviderConfig::Memory => "MEMORY",
            ProviderConfig::S3(_) => "S3",
            ProviderConfig::Cos(_) => "COS",
            ProviderConfig::AliyunOss(_) => "ALIYUNOSS",
            ProviderConfig::Gcs(_) => "GCS",
            ProviderConfig::Azure(_) => "AZURE",
        }
    }
}

/// A parsed objstore YAML document.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketConfig {
    pub provider: ProviderConfig,
    /// Path prefix applied to every object (empty: none).
    pub prefix: String,
}

/// The keys of an objstore document beside `type` and `config`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Extra {
    prefix: Option<String>,
}

/// The document's `config` typed for `kind`.
fn typed<C: DeserializeOwned + Default>(doc: &TypedDocument<'_, Extra>, kind: &str) -> Result<C> {
    doc.config(kind).map_err(Error::config)
}

/// "`<TYPE>` config: missing required key `<key>`".
pub(crate) fn missing(provider: &str, key: &str) -> Error {
    Error::config(format!("{provider} config: missing required key `{key}`"))
}

/// Fail with [`missing`] when `value` is empty.
pub(crate) fn require(provider: &str, key: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(missing(provider, key))
    } else {
        Ok(())
    }
}

/// Log a Thanos key that is accepted but has no effect here.
pub(crate) fn ignored(provider: &str, key: &str) {
    tracing::debug!(
        provider,
        key,
        "objstore config key has no effect in strata; ignored"
    );
}

impl BucketConfig {
    /// Parse an objstore YAML document.
    pub fn from_yaml(yaml: &str) -> Result<Self> {
        let doc: TypedDocument<'_, Extra> =
            TypedDocument::parse(yaml, "objstore config", SUPPORTED_TYPES, &["prefix"])
                .map_err(Error::config)?;
        let (kind, upper) = (doc.kind(), doc.kind_upper());
        let provider = match upper.as_str() {
            "FILESYSTEM" => ProviderConfig::Filesystem(typed(&doc, "FILESYSTEM")?),
            "MEMORY" => {
                typed::<IgnoredMemory>(&doc, "MEMORY")?;
                ProviderConfig::Memory
            }
            "S3" => ProviderConfig::S3(typed(&doc, "S3")?),
            "COS" => ProviderConfig::Cos(typed(&doc, "COS")?),
            "ALIYUNOSS" => ProviderConfig::AliyunOss(typed(&doc, "ALIYUNOSS")?),
            "GCS" => ProviderConfig::Gcs(typed(&doc, "GCS")?),
            "AZURE" => ProviderConfig::Azure(typed(&doc, "AZURE")?),
            other => {
                let why = if KNOWN_UNSUPPORTED.contains(&other) {
                    "is not supported by strata"
                } else {
                    "is unknown"
                };
                return Err(Error::config(format!(
                    "objstore config: bucket type {kind:?} {why}; supported types: {}",
                    SUPPORTED_TYPES.join(", ")
                )));
            }
        };
        Ok(BucketConfig {
            provider,
            prefix: doc.extra.prefix.unwrap_or_default(),
        })
    }

    /// Read and parse an objstore YAML file (`--objstore.config-file`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("objstore config: reading {}: {e}", path.display()))
        })?;
        Self::from_yaml(&text)
    }

    /// Multipart part size for uploads: S3 `part_size`, else 64 MiB.
    pub fn part_size(&self) -> u64 {
        match &self.provider {
            ProviderConfig::S3(c) => c.part_size(),
            _ => DEFAULT_PART_SIZE,
        }
    }

    /// Build the client (wrapped in a prefix store when `prefix` is set). No network I/O.
    pub fn build(&self) -> Result<Arc<dyn ObjectStore>> {
        let store: Arc<dyn ObjectStore> = match &self.provider {
            ProviderConfig::Filesystem(c) => c.build()?,
            ProviderConfig::Memory => Arc::new(InMemory::new()),
            ProviderConfig::S3(c) => c.target()?.build(&c.http_config)?,
            ProviderConfig::Cos(c) => c.target()?.build(&c.http_config)?,
            ProviderConfig::AliyunOss(c) => c.target()?.build(&HttpConfig::default())?,
            ProviderConfig::Gcs(c) => c.build()?,
            ProviderConfig::Azure(c) => c.build()?,
        };
        let prefix = self.prefix.trim_matches('/');
        tracing::info!(
            r#type = self.provider.type_name(),
            prefix = prefix,
            "bucket client ready"
        );
        if prefix.is_empty() {
            return Ok(store);
        }
        let path = object_store::path::Path::parse(prefix).map_err(|e| {
            Error::config(format!("objstore config: invalid prefix {prefix:?}: {e}"))
        })?;
        Ok(Arc::new(PrefixStore::new(store, path)))
    }
}

/// A credential from the config: deserialized like a string, never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret value, for handing to a client builder.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when unset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(\"\")")
        } else {
            f.write_str("Secret(<redacted>)")
        }
    }
}

/// MEMORY takes no keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoredMemory {}

/// Parse an objstore YAML document and build its client.
pub fn from_yaml(yaml: &str) -> Result<Arc<dyn ObjectStore>> {
    BucketConfig::from_yaml(yaml)?.build()
}

/// Read an objstore YAML file and build its client.
pub fn from_file(path: &Path) -> Result<Arc<dyn ObjectStore>> {
    BucketConfig::from_file(path)?.build()
}
