//! Thanos objstore YAML (`type`, `config`, `prefix`; thanos.md §12) parsed with serde-saphyr into
//! a typed config per provider, and built into one `Arc<dyn ObjectStore>`.
//!
//! Parsing is two-pass so that errors point at the right place: the envelope is read first to
//! learn `type`, then the whole document again with the provider's typed `config` (unknown keys
//! are rejected by name). Supported types: FILESYSTEM, MEMORY, S3, COS, ALIYUNOSS, GCS, AZURE.
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
use serde::de::{DeserializeOwned, IgnoredAny};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    config: Option<IgnoredAny>,
    #[serde(default)]
    prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Typed<C> {
    #[serde(rename = "type")]
    #[allow(dead_code)]
    kind: IgnoredAny,
    #[serde(default = "Option::default")]
    config: Option<C>,
    #[serde(default)]
    #[allow(dead_code)]
    prefix: Option<IgnoredAny>,
}

fn yaml_error(what: &str, e: &serde_saphyr::Error) -> Error {
    Error::config(format!("{what}: {}", e.without_snippet()))
}

fn typed<C: DeserializeOwned + Default>(yaml: &str, kind: &str) -> Result<C> {
    let t: Typed<C> =
        serde_saphyr::from_str(yaml).map_err(|e| yaml_error(&format!("{kind} config"), &e))?;
    Ok(t.config.unwrap_or_default())
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
        if yaml.trim().is_empty() {
            return Err(Error::config("objstore config: empty document"));
        }
        let env: Envelope =
            serde_saphyr::from_str(yaml).map_err(|e| yaml_error("objstore config", &e))?;
        let kind = env.kind.unwrap_or_default();
        if kind.trim().is_empty() {
            return Err(Error::config(format!(
                "objstore config: missing required key `type` (one of {})",
                SUPPORTED_TYPES.join(", ")
            )));
        }
        let upper = kind.trim().to_ascii_uppercase();
        let provider = match upper.as_str() {
            "FILESYSTEM" => ProviderConfig::Filesystem(typed(yaml, "FILESYSTEM")?),
            "MEMORY" => {
                typed::<IgnoredMemory>(yaml, "MEMORY")?;
                ProviderConfig::Memory
            }
            "S3" => ProviderConfig::S3(typed(yaml, "S3")?),
            "COS" => ProviderConfig::Cos(typed(yaml, "COS")?),
            "ALIYUNOSS" => ProviderConfig::AliyunOss(typed(yaml, "ALIYUNOSS")?),
            "GCS" => ProviderConfig::Gcs(typed(yaml, "GCS")?),
            "AZURE" => ProviderConfig::Azure(typed(yaml, "AZURE")?),
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
            prefix: env.prefix.unwrap_or_default(),
        })
    }

    /// Read and parse an objstore YAML file (`--objstore.config-file`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("objstore config: reading {}: {e}", path.display()))
        })?;
        Self::from_yaml(&text)
    }

    /// Resolve the Thanos flag pair `--objstore.config-file` / `--objstore.config`: at most one
    /// may be set; `None` when neither is.
    pub fn from_flags(file: Option<&Path>, inline: Option<&str>) -> Result<Option<Self>> {
        let inline = inline.filter(|s| !s.trim().is_empty());
        let file = file.filter(|p| !p.as_os_str().is_empty());
        match (file, inline) {
            (Some(_), Some(_)) => Err(Error::config(
                "objstore config: both --objstore.config-file and --objstore.config are set; use one",
            )),
            (Some(p), None) => Self::from_file(p).map(Some),
            (None, Some(s)) => Self::from_yaml(s).map(Some),
            (None, None) => Ok(None),
        }
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
