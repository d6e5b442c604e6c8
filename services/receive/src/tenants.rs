//! Multi-tenancy (Thanos receive's MultiTSDB): one [`Head`] (with its WAL) per tenant under
//! `<tsdb.path>/<tenant>/`, created on first write and reopened (WAL replayed) at start; each
//! tenant's series carry the external labels `<tenant-label-name>=<tenant>` plus `--label`s;
//! the StoreAPI over all heads; block cutting, upload and local retention.

use std::path::PathBuf;

use strata_tsdb::labels::Labels;

use crate::head::{AppendError, AppendStats, HeadOptions};

/// Settings of the tenant set.
#[derive(Debug, Clone)]
pub struct TenantOptions {
    /// `--tsdb.path`: one directory per tenant below it.
    pub dir: PathBuf,
    /// Head and WAL settings for every tenant.
    pub head: HeadOptions,
    /// `--receive.tenant-label-name` (default `tenant_id`).
    pub tenant_label: String,
    /// `--label`s added to every tenant's external labels.
    pub external_labels: Labels,
    /// `--receive.max-series-per-tenant` (0 = unlimited).
    pub max_series_per_tenant: usize,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The head refused the samples (out of order: HTTP 409; out of bounds: 409).
    #[error(transparent)]
    Append(#[from] AppendError),
    /// The tenant would exceed `max_series_per_tenant` (HTTP 429).
    #[error("tenant {tenant} would exceed the limit of {limit} active series")]
    SeriesLimit {
        /// The tenant.
        tenant: String,
        /// The limit.
        limit: usize,
    },
    /// Storage failed (HTTP 500; nothing acknowledged).
    #[error("{0}")]
    Storage(String),
}

/// All tenants' heads.
#[derive(Debug)]
pub struct MultiTsdb {
    opts: TenantOptions,
}

impl MultiTsdb {
    /// Opens every tenant directory under `opts.dir` (replaying its WAL).
    pub fn open(opts: TenantOptions) -> Result<Self, TenantError> {
        Ok(MultiTsdb { opts })
    }

    /// Appends one request's samples for `tenant`, all or nothing; returns once they are in
    /// the tenant's WAL.
    pub fn append(
        &self,
        tenant: &str,
        batch: &[(Labels, Vec<(i64, f64)>)],
    ) -> Result<AppendStats, TenantError> {
        let _ = (tenant, batch, &self.opts);
        Err(TenantError::Storage("not built yet".into()))
    }
}
