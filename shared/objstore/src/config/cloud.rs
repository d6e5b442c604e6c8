//! The FILESYSTEM, GCS and AZURE objstore `config` blocks (key names as in thanos-io/objstore
//! `providers/{filesystem,gcs,azure}`) and how each becomes an object_store client.
//!
//! Keys accepted but ignored (logged at debug level): GCS `use_grpc`, `grpc_conn_pool_size`,
//! `chunk_size_bytes`; AZURE `storage_create_container`, `reader_config`, `pipeline_config`,
//! `msi_resource`.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, RetryConfig};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::http::HttpConfig;
use super::{Secret, ignored, require};
use crate::{Error, Result};

/// `type: FILESYSTEM` config block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesystemConfig {
    /// Root directory of the bucket; created when missing.
    pub directory: PathBuf,
}

impl FilesystemConfig {
    pub(crate) fn build(&self) -> Result<Arc<dyn ObjectStore>> {
        if self.directory.as_os_str().is_empty() {
            return Err(super::missing("FILESYSTEM", "directory"));
        }
        std::fs::create_dir_all(&self.directory).map_err(|e| {
            Error::config(format!(
                "FILESYSTEM config: creating directory {}: {e}",
                self.directory.display()
            ))
        })?;
        let fs = LocalFileSystem::new_with_prefix(&self.directory)
            .map_err(|e| Error::config(format!("FILESYSTEM config: {e}")))?
            .with_automatic_cleanup(true);
        tracing::debug!(directory = %self.directory.display(), "built filesystem bucket");
        Ok(Arc::new(fs))
    }
}

/// `type: GCS` config block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcsConfig {
    pub bucket: String,
    /// Service account key JSON content (not a path). Empty: application default credentials.
    pub service_account: Secret,
    pub max_retries: Option<usize>,
    pub http_config: HttpConfig,
    pub use_grpc: bool,
    pub grpc_conn_pool_size: Option<u64>,
    pub chunk_size_bytes: Option<u64>,
}

impl GcsConfig {
    pub(crate) fn build(&self) -> Result<Arc<dyn ObjectStore>> {
        const P: &str = "GCS";
        require(P, "bucket", &self.bucket)?;
        if self.use_grpc {
            ignored(P, "use_grpc");
        }
        if self.grpc_conn_pool_size.is_some() {
            ignored(P, "grpc_conn_pool_size");
        }
        if self.chunk_size_bytes.is_some() {
            ignored(P, "chunk_size_bytes");
        }
        let mut b = if self.service_account.expose().trim().is_empty() {
            GoogleCloudStorageBuilder::from_env()
        } else {
            GoogleCloudStorageBuilder::new().with_service_account_key(self.service_account.expose())
        };
        b = b
            .with_bucket_name(&self.bucket)
            .with_client_options(self.http_config.client_options(P)?);
        if let Some(n) = self.max_retries.filter(|n| *n > 0) {
            b = b.with_retry(RetryConfig {
                max_retries: n,
                ..RetryConfig::default()
            });
        }
        let store = b
            .build()
            .map_err(|e| Error::config(format!("GCS config: {e}")))?;
        tracing::debug!(bucket = %self.bucket, "built gcs client");
        Ok(Arc::new(store))
    }
}

/// `type: AZURE` config block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureConfig {
    pub storage_account: String,
    pub storage_account_key: Secret,
    pub storage_connection_string: Secret,
    pub container: String,
    /// Blob endpoint suffix (default `blob.core.windows.net`).
    pub endpoint: String,
    pub az_tenant_id: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Client id of a user-assigned managed identity.
    pub user_assigned_id: String,
    pub max_retries: Option<usize>,
    pub http_config: HttpConfig,
    pub storage_create_container: bool,
    pub reader_config: Option<IgnoredAny>,
    pub pipeline_config: Option<IgnoredAny>,
    pub msi_resource: String,
}

/// The parts of an Azure storage connection string this crate uses.
#[derive(Debug, Default, PartialEq, Eq)]
struct ConnectionString {
    account: Option<String>,
    key: Option<String>,
    blob_endpoint: Option<String>,
    protocol: Option<String>,
    suffix: Option<String>,
}

fn parse_connection_string(s: &str) -> Result<ConnectionString> {
    let mut c = ConnectionString::default();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            Error::config(format!(
                "AZURE config: storage_connection_string: expected key=value, got {part:?}"
            ))
        })?;
        let v = Some(v.to_string());
        match k {
            "AccountName" => c.account = v,
            "AccountKey" => c.key = v,
            "BlobEndpoint" => c.blob_endpoint = v,
            "DefaultEndpointsProtocol" => c.protocol = v,
            "EndpointSuffix" => c.suffix = v,
            other => tracing::debug!(key = other, "azure connection string key ignored"),
        }
    }
    Ok(c)
}

impl AzureConfig {
    pub(crate) fn build(&self) -> Result<Arc<dyn ObjectStore>> {
        const P: &str = "AZURE";
        let cs = if self.storage_connection_string.is_empty() {
            ConnectionString::default()
        } else {
            parse_connection_string(self.storage_connection_string.expose())?
        };
        let account = if self.storage_account.is_empty() {
            cs.account.clone().unwrap_or_default()
        } else {
            self.storage_account.clone()
        };
        require(P, "storage_account", &account)?;
        require(P, "container", &self.container)?;
        for (key, set) in [
            ("storage_create_container", self.storage_create_container),
            ("reader_config", self.reader_config.is_some()),
            ("pipeline_config", self.pipeline_config.is_some()),
            ("msi_resource", !self.msi_resource.is_empty()),
        ] {
            if set {
                ignored(P, key);
            }
        }
        let url = if let Some(e) = &cs.blob_endpoint {
            e.clone()
        } else {
            let protocol = cs.protocol.as_deref().unwrap_or("https");
            let suffix = match (&cs.suffix, self.endpoint.is_empty()) {
                (_, false) => self.endpoint.clone(),
                (Some(s), true) => format!("blob.{s}"),
                (None, true) => "blob.core.windows.net".into(),
            };
            format!("{protocol}://{account}.{suffix}")
        };
        let mut b = MicrosoftAzureBuilder::new()
            .with_account(&account)
            .with_container_name(&self.container)
            .with_endpoint(url.clone())
            .with_client_options(self.http_config.client_options(P)?)
            .with_allow_http(url.starts_with("http://"));
        let key = if self.storage_account_key.is_empty() {
            cs.key.clone()
        } else {
            Some(self.storage_account_key.expose().to_string())
        };
        if let Some(k) = key {
            b = b.with_access_key(k);
        } else if !self.client_secret.is_empty() {
            require(P, "client_id", &self.client_id)?;
            require(P, "az_tenant_id", &self.az_tenant_id)?;
            b = b.with_client_secret_authorization(
                &self.client_id,
                self.client_secret.expose(),
                &self.az_tenant_id,
            );
        } else if !self.user_assigned_id.is_empty() {
            b = b.with_client_id(&self.user_assigned_id);
        } else if !self.client_id.is_empty() {
            b = b.with_client_id(&self.client_id);
            if !self.az_tenant_id.is_empty() {
                b = b.with_tenant_id(&self.az_tenant_id);
            }
        }
        if let Some(n) = self.max_retries.filter(|n| *n > 0) {
            b = b.with_retry(RetryConfig {
                max_retries: n,
                ..RetryConfig::default()
            });
        }
        let store = b
            .build()
            .map_err(|e| Error::config(format!("AZURE config: {e}")))?;
        tracing::debug!(account = %account, container = %self.container, endpoint = %url, "built azure client");
        Ok(Arc::new(store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_parse() {
        let c = parse_connection_string(
            "DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=a2V5==;EndpointSuffix=core.windows.net",
        )
        .unwrap();
        assert_eq!(c.account.as_deref(), Some("acc"));
        assert_eq!(c.key.as_deref(), Some("a2V5=="));
        assert_eq!(c.suffix.as_deref(), Some("core.windows.net"));
        let e = parse_connection_string("AccountName")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("AZURE config: storage_connection_string"),
            "{e}"
        );
    }
}
