//! Multi-tenancy (Thanos receive's MultiTSDB, `pkg/receive/multitsdb.go`): one
//! [`Head`] (with its WAL) per tenant, created on first write and reopened (WAL replayed) at
//! start; the StoreAPI over all tenants ([`crate::store`]); block cutting, upload and local
//! retention ([`crate::shipper`]).
//!
//! On-disk layout under `--tsdb.path` (`TenantOptions::dir`):
//!
//! ```text
//! <dir>/<tenant>/wal/                  the head's write-ahead log (crate::wal)
//! <dir>/<tenant>/blocks/<ULID>/        blocks cut from the head (meta.json with a thanos section)
//! <dir>/<tenant>/thanos.shipper.json   blocks already uploaded ({"version":1,"uploaded":[…]})
//! ```
//!
//! Every tenant's series carry the external labels `<tenant-label-name>=<tenant>` plus the
//! `--label`s (the tenant label wins over a `--label` of the same name); they are applied on
//! read (StoreAPI) and written into uploaded blocks' `thanos.labels`, never stored in the head.
//!
//! Writes: [`MultiTsdb::append`] is all-or-nothing per request and per tenant; tenants never
//! see each other's series (separate heads). `max_series_per_tenant` counts the head's series
//! (as Thanos' head-series limiter): a request that would create more is refused as a whole
//! with [`Error::SeriesLimit`] before anything is logged.
//!
//! Tenant names become directory names: empty names, `.`, `..`, names with `/`, `\` or NUL,
//! and names longer than 255 bytes are refused ([`Error::InvalidTenant`]).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use strata_tsdb::labels::Labels;

use crate::Error;
use crate::head::{AppendStats, Head, HeadOptions};
use crate::shipper::{self, ServedBlock};

/// Directory of a tenant's WAL inside its tenant directory.
pub const WAL_DIR: &str = "wal";
/// Directory of a tenant's cut blocks inside its tenant directory.
pub const BLOCKS_DIR: &str = "blocks";

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

impl TenantOptions {
    /// Tenants under `dir` with the defaults of `strata receive`: default head settings,
    /// tenant label `tenant_id`, no external labels, no series limit.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            head: HeadOptions::default(),
            tenant_label: "tenant_id".to_string(),
            external_labels: Labels::empty(),
            max_series_per_tenant: 0,
        }
    }
}

/// Checks that `tenant` can be used as a directory name (see the module docs).
pub fn validate_tenant(tenant: &str) -> Result<(), Error> {
    let reason = if tenant.is_empty() {
        "empty"
    } else if tenant == "." || tenant == ".." {
        "a relative directory name"
    } else if tenant.contains(['/', '\\', '\0']) {
        "contains '/', '\\' or NUL"
    } else if tenant.len() > 255 {
        "longer than 255 bytes"
    } else {
        return Ok(());
    };
    Err(Error::InvalidTenant {
        tenant: tenant.to_string(),
        reason,
    })
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

/// Hashes of the head's series, kept only when a series limit is set. The mutex also
/// serializes a tenant's appends so that the limit check and the append are atomic.
#[derive(Debug, Default)]
pub(crate) struct SeriesSet {
    hashes: Option<HashSet<u64>>,
}

/// One tenant: its head, its cut blocks and its external labels.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    /// Tenant label + `--label`s.
    pub(crate) ext: Labels,
    pub(crate) head: Head,
    /// Local blocks served by the StoreAPI, sorted by min time. Readers take the read lock
    /// while they snapshot this list *and* read the head; a cut holds the write lock from
    /// before the head is truncated until its block is in this list, so a query never sees
    /// the data in neither place.
    pub(crate) blocks: RwLock<Vec<Arc<ServedBlock>>>,
    pub(crate) series: Mutex<SeriesSet>,
    hasher: RandomState,
}

impl Tenant {
    fn open(opts: &TenantOptions, name: &str) -> Result<Tenant, Error> {
        let dir = opts.dir.join(name);
        let head = Head::open(dir.join(WAL_DIR), opts.head)?;
        let mut ext = opts.external_labels.clone();
        ext.set(&opts.tenant_label, name);
        let blocks =
            shipper::load_blocks(&dir.join(BLOCKS_DIR), &ext).map_err(|e| Error::Tenant {
                tenant: name.to_string(),
                source: Box::new(e),
            })?;
        // A crash between writing a block and logging the head truncation leaves its samples
        // in the WAL too: drop them again.
        if let Some(end) = blocks.iter().map(|b| b.meta.max_time).max()
            && head.min_time().is_some_and(|t| t < end)
        {
            head.truncate(end)?;
        }
        let t = Tenant {
            name: name.to_string(),
            dir,
            ext,
            head,
            blocks: RwLock::new(blocks),
            series: Mutex::new(SeriesSet::default()),
            hasher: RandomState::new(),
        };
        if opts.max_series_per_tenant > 0 {
            t.rebuild_series_set();
        }
        Ok(t)
    }

    /// Recompute the series-limit hashes from the head (after open and after truncation).
    pub(crate) fn rebuild_series_set(&self) {
        let mut set = lock(&self.series);
        let hashes: HashSet<u64> = self
            .head
            .series(&[], i64::MIN, i64::MAX)
            .iter()
            .map(|s| self.hasher.hash_one(&s.labels))
            .collect();
        set.hashes = Some(hashes);
    }

    fn append(
        &self,
        batch: &[(Labels, Vec<(i64, f64)>)],
        limit: usize,
    ) -> Result<AppendStats, Error> {
        let mut set = lock(&self.series);
        if limit == 0 {
            return self.head.append(batch);
        }
        let hashes = set.hashes.get_or_insert_with(HashSet::new);
        let batch_hashes: HashSet<u64> = batch
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(l, _)| self.hasher.hash_one(l))
            .collect();
        let new = batch_hashes.iter().filter(|h| !hashes.contains(h)).count();
        if new > 0 && hashes.len() + new > limit {
            return Err(Error::SeriesLimit {
                tenant: self.name.clone(),
                limit,
            });
        }
        let stats = self.head.append(batch)?;
        hashes.extend(batch_hashes);
        Ok(stats)
    }
}

/// All tenants' heads and blocks (see the module docs).
#[derive(Debug)]
pub struct MultiTsdb {
    pub(crate) opts: TenantOptions,
    pub(crate) tenants: RwLock<HashMap<String, Arc<Tenant>>>,
    /// Set once blocks were shipped to a bucket (now or, per the shipper files, before a
    /// restart): from then on local retention keeps blocks that are not uploaded yet.
    pub(crate) shipping: AtomicBool,
}

impl MultiTsdb {
    /// Opens every tenant directory under `opts.dir` (replaying its WAL, loading its blocks);
    /// creates `opts.dir` if missing.
    pub fn open(opts: TenantOptions) -> Result<Self, Error> {
        std::fs::create_dir_all(&opts.dir).map_err(|e| Error::io(&opts.dir, e))?;
        let mut tenants = HashMap::new();
        let mut shipping = false;
        let entries = std::fs::read_dir(&opts.dir).map_err(|e| Error::io(&opts.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&opts.dir, e))?;
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                tracing::warn!(path = %entry.path().display(), "skipping non-UTF-8 tenant directory");
                continue;
            };
            if validate_tenant(&name).is_err() {
                tracing::warn!(tenant = name, "skipping invalid tenant directory");
                continue;
            }
            shipping |= entry.path().join(shipper::SHIPPER_FILE).exists();
            let t = Tenant::open(&opts, &name)?;
            tracing::info!(tenant = name, series = t.head.num_series(), "tenant opened");
            tenants.insert(name, Arc::new(t));
        }
        Ok(MultiTsdb {
            opts,
            tenants: RwLock::new(tenants),
            shipping: AtomicBool::new(shipping),
        })
    }

    /// The options it was opened with.
    pub fn options(&self) -> &TenantOptions {
        &self.opts
    }

    /// Appends one request's samples for `tenant`, all or nothing; returns once they are in
    /// the tenant's WAL. Creates the tenant on its first non-empty batch.
    pub fn append(
        &self,
        tenant: &str,
        batch: &[(Labels, Vec<(i64, f64)>)],
    ) -> Result<AppendStats, Error> {
        validate_tenant(tenant)?;
        if batch.iter().all(|(_, s)| s.is_empty()) {
            return Ok(AppendStats::default());
        }
        let t = self.tenant_or_create(tenant)?;
        t.append(batch, self.opts.max_series_per_tenant)
    }

    fn tenant_or_create(&self, name: &str) -> Result<Arc<Tenant>, Error> {
        if let Some(t) = read(&self.tenants).get(name) {
            return Ok(Arc::clone(t));
        }
        let mut map = write(&self.tenants);
        if let Some(t) = map.get(name) {
            return Ok(Arc::clone(t));
        }
        let t = Arc::new(Tenant::open(&self.opts, name)?);
        tracing::info!(tenant = name, "tenant created");
        map.insert(name.to_string(), Arc::clone(&t));
        Ok(t)
    }

    /// Snapshot of every tenant, sorted by name.
    pub(crate) fn tenant_list(&self) -> Vec<Arc<Tenant>> {
        let mut v: Vec<Arc<Tenant>> = read(&self.tenants).values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Names of the known tenants, sorted.
    pub fn tenants(&self) -> Vec<String> {
        self.tenant_list().iter().map(|t| t.name.clone()).collect()
    }

    /// A tenant's external labels (tenant label + `--label`s), `None` for an unknown tenant.
    pub fn tenant_labels(&self, tenant: &str) -> Option<Labels> {
        read(&self.tenants).get(tenant).map(|t| t.ext.clone())
    }

    /// Number of series in a tenant's head (0 for an unknown tenant).
    pub fn num_series(&self, tenant: &str) -> usize {
        read(&self.tenants)
            .get(tenant)
            .map_or(0, |t| t.head.num_series())
    }

    /// The directory of a tenant (whether or not it exists yet).
    pub fn tenant_dir(&self, tenant: &str) -> PathBuf {
        self.opts.dir.join(tenant)
    }

    /// `fsync` every tenant's WAL (at shutdown). Tries all tenants; reports the first error.
    pub fn sync(&self) -> Result<(), Error> {
        let mut first = None;
        for t in self.tenant_list() {
            if let Err(e) = t.head.sync() {
                tracing::error!(tenant = t.name, error = %e, "WAL sync failed");
                first.get_or_insert(Error::Tenant {
                    tenant: t.name.clone(),
                    source: Box::new(e),
                });
            }
        }
        first.map_or(Ok(()), Err)
    }
}
