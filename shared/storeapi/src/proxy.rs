//! [`ProxyStore`]: one [`Store`] over many (Thanos' `pkg/store/proxy.go`). Stores
//! whose cached time range misses the request or whose external label sets cannot match its
//! matchers are skipped; the rest are asked concurrently; their label-sorted streams are k-way
//! merged (see `merge`), equal-label series folded and identical chunks dropped.
//! `without_replica_labels` is passed down to stores that support it and applied here (strip,
//! then re-sort that store's whole answer) for those that do not. Failures follow the
//! partial-response strategy (WARN -> warnings, ABORT -> error), with an optional per-store
//! response timeout.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;
use tokio::sync::mpsc;

use crate::client::unbatch;
use crate::convert::{
    compare_labels, label_sets_match, labels_from_pb, labels_to_pb, matchers_from_pb, strip_labels,
};
use crate::error::StoreError;
use crate::merge::{MergeInput, annotate, merge_inputs};
use crate::pb::thanos::info::{InfoResponse, StoreInfo};
use crate::pb::thanos::{
    LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse,
    PartialResponseStrategy, Series, SeriesRequest, SeriesResponse, ZLabelSet, series_response,
};
use crate::serve::{label_names_response, label_values_response, label_values_wanted};
use crate::store::{RequestContext, SeriesStream, Store};

/// What the proxy knows about a store between `info` polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreMeta {
    /// Name in logs and warnings (usually the address).
    pub name: String,
    /// External label sets; empty means "unknown / none" and never filters the store out.
    pub label_sets: Vec<Labels>,
    /// Earliest timestamp held (ms, inclusive).
    pub min_time: i64,
    /// Latest timestamp held (ms, inclusive).
    pub max_time: i64,
    /// Whether the store applies `without_replica_labels` itself.
    pub supports_without_replica_labels: bool,
}

impl StoreMeta {
    /// A store about which nothing is known: all time, no label sets, no replica-label support.
    pub fn unknown(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            label_sets: Vec::new(),
            min_time: i64::MIN,
            max_time: i64::MAX,
            supports_without_replica_labels: false,
        }
    }

    /// From an `Info` answer. A store without a `store` section is treated as holding all time.
    pub fn from_info(name: impl Into<String>, info: &InfoResponse) -> Self {
        let mut m = Self::unknown(name);
        m.label_sets = info
            .label_sets
            .iter()
            .map(|s| labels_from_pb(&s.labels))
            .collect();
        if let Some(s) = &info.store {
            m.min_time = s.min_time;
            m.max_time = s.max_time;
            m.supports_without_replica_labels = s.supports_without_replica_labels;
        }
        m
    }
}

/// Proxy settings.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// Longest wait for a store's answer and, in Series, for each next frame (Thanos
    /// `--store.response-timeout`); `None`: wait forever.
    pub response_timeout: Option<Duration>,
    /// Component type the proxy reports in `info` (default `query`).
    pub component_type: String,
    /// Frames buffered per store ahead of the merge.
    pub per_store_buffer: usize,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        Self {
            response_timeout: None,
            component_type: "query".to_string(),
            per_store_buffer: 64,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    store: Arc<dyn Store>,
    meta: StoreMeta,
}

/// A [`Store`] over many stores.
#[derive(Debug)]
pub struct ProxyStore {
    entries: RwLock<Vec<Entry>>,
    opts: ProxyOptions,
}

fn is_abort(disabled: bool, strategy: i32) -> bool {
    disabled || strategy == PartialResponseStrategy::Abort as i32
}

/// Run `f`, failing with `DeadlineExceeded` after `timeout` (if any).
async fn within<T>(
    timeout: Option<Duration>,
    what: &str,
    f: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match timeout {
        None => f.await,
        Some(d) => tokio::time::timeout(d, f).await.unwrap_or_else(|_| {
            Err(StoreError::DeadlineExceeded(format!(
                "no {what} within {d:?}"
            )))
        }),
    }
}

impl ProxyStore {
    /// A proxy with no stores yet.
    pub fn new(opts: ProxyOptions) -> Self {
        Self {
            entries: RwLock::new(Vec::new()),
            opts,
        }
    }

    /// A proxy over stores whose metadata is already known.
    pub fn with_stores(stores: Vec<(Arc<dyn Store>, StoreMeta)>, opts: ProxyOptions) -> Self {
        let p = Self::new(opts);
        for (s, m) in stores {
            p.add_store(s, m);
        }
        p
    }

    /// A proxy over named stores, asking each for its info now (a store that fails to answer
    /// is kept with [`StoreMeta::unknown`] and logged).
    pub async fn discover(stores: Vec<(String, Arc<dyn Store>)>, opts: ProxyOptions) -> Self {
        let p = Self::new(opts);
        for (name, s) in stores {
            p.add_store(s, StoreMeta::unknown(name));
        }
        for (name, e) in p.refresh().await {
            tracing::warn!(store = %name, error = %e, "store info unavailable; assuming all time");
        }
        p
    }

    /// Add a store.
    pub fn add_store(&self, store: Arc<dyn Store>, meta: StoreMeta) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Entry { store, meta });
    }

    /// Replace the whole store list at once (endpoint discovery / health changes). Requests
    /// already running keep the list they started with.
    pub fn set_stores(&self, stores: Vec<(Arc<dyn Store>, StoreMeta)>) {
        let entries = stores
            .into_iter()
            .map(|(store, meta)| Entry { store, meta })
            .collect();
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = entries;
    }

    /// The stores and their cached metadata.
    pub fn stores(&self) -> Vec<(Arc<dyn Store>, StoreMeta)> {
        self.snapshot()
            .into_iter()
            .map(|e| (e.store, e.meta))
            .collect()
    }

    fn snapshot(&self) -> Vec<Entry> {
        self.entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-poll every store's info concurrently and update the cached metadata; stores that
    /// fail keep their previous metadata and are returned with their error.
    pub async fn refresh(&self) -> Vec<(String, StoreError)> {
        let entries = self.snapshot();
        let infos = futures::future::join_all(
            entries
                .iter()
                .map(|e| within(self.opts.response_timeout, "info", e.store.info())),
        )
        .await;
        let mut failed = Vec::new();
        let mut guard = self.entries.write().unwrap_or_else(|p| p.into_inner());
        for (e, info) in entries.iter().zip(infos) {
            match info {
                Ok(info) => {
                    let meta = StoreMeta::from_info(e.meta.name.clone(), &info);
                    if let Some(slot) = guard.iter_mut().find(|x| Arc::ptr_eq(&x.store, &e.store)) {
                        slot.meta = meta;
                    }
                }
                Err(err) => failed.push((e.meta.name.clone(), err)),
            }
        }
        failed
    }

    /// Stores that may hold data for `[mint, maxt]` matching `matchers`.
    /// Ask every selected store (concurrently, each within the response timeout) for a list
    /// of strings, and union them. A failing store aborts the call under ABORT and becomes a
    /// warning under WARN. Returns the union and the warnings.
    async fn union_strings<'a, F, Fut>(
        &self,
        selected: &'a [Entry],
        abort: bool,
        what: &'static str,
        call: F,
    ) -> Result<(BTreeSet<String>, Vec<String>), StoreError>
    where
        F: Fn(&'a Entry) -> Fut,
        Fut: Future<Output = Result<(Vec<String>, Vec<String>), StoreError>>,
    {
        let answers = futures::future::join_all(
            selected
                .iter()
                .map(|e| within(self.opts.response_timeout, what, call(e))),
        )
        .await;
        let mut union = BTreeSet::new();
        let mut warnings = Vec::new();
        for (e, a) in selected.iter().zip(answers) {
            match a {
                Ok((strings, w)) => {
                    union.extend(strings);
                    warnings.extend(w);
                }
                Err(err) if abort => return Err(annotate(err, &e.meta.name)),
                Err(err) => {
                    tracing::warn!(store = %e.meta.name, error = %err, call = what, "store failed; partial response");
                    warnings.push(format!("store {}: {err}", e.meta.name));
                }
            }
        }
        Ok((union, warnings))
    }

    fn select(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Vec<Entry> {
        self.snapshot()
            .into_iter()
            .filter(|e| {
                if mint > e.meta.max_time || maxt < e.meta.min_time {
                    tracing::debug!(store = %e.meta.name, min_time = e.meta.min_time, max_time = e.meta.max_time, "skipping store: no data in the time range");
                    return false;
                }
                if !label_sets_match(matchers, &e.meta.label_sets) {
                    tracing::debug!(store = %e.meta.name, "skipping store: external labels do not match");
                    return false;
                }
                true
            })
            .collect()
    }
}

/// One store's part of a Series fan-out: frames go to `tx` (series unbatched; hints dropped);
/// when `strip` is non-empty the store's series are buffered, stripped and re-sorted first.
async fn fan_out_one(
    entry: Entry,
    ctx: RequestContext,
    req: SeriesRequest,
    strip: Vec<String>,
    timeout: Option<Duration>,
    tx: mpsc::Sender<Result<SeriesResponse, StoreError>>,
) {
    let name = entry.meta.name.clone();
    let mut stream = match within(timeout, "Series response", entry.store.series(&ctx, req)).await {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    let mut buffered: Vec<Series> = Vec::new();
    loop {
        let next = match timeout {
            None => stream.next().await,
            Some(d) => match tokio::time::timeout(d, stream.next()).await {
                Ok(n) => n,
                Err(_) => Some(Err(StoreError::DeadlineExceeded(format!(
                    "no Series frame within {d:?}"
                )))),
            },
        };
        let frame = match next {
            None => break,
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        for f in unbatch(frame) {
            match f.result {
                Some(series_response::Result::Series(mut s)) if !strip.is_empty() => {
                    strip_labels(&mut s.labels, &strip);
                    buffered.push(s);
                    continue;
                }
                Some(series_response::Result::Series(_) | series_response::Result::Warning(_)) => {}
                // Hints (and empty frames): the merge has no use for per-store hints.
                _ => continue,
            }
            if tx.send(Ok(f)).await.is_err() {
                return; // the merge is gone
            }
        }
    }
    if !strip.is_empty() {
        // Stripping breaks the store's order (labels compare pairwise, so removing one shifts
        // the rest); a stable sort restores it and keeps equal series adjacent for the merge.
        buffered.sort_by(|a, b| compare_labels(&a.labels, &b.labels));
        tracing::debug!(store = %name, series = buffered.len(), "re-sorted series after stripping replica labels");
        for s in buffered {
            if tx.send(Ok(crate::convert::series_frame(s))).await.is_err() {
                return;
            }
        }
    }
}

#[async_trait::async_trait]
impl Store for ProxyStore {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        let entries = self.snapshot();
        let mut sets: BTreeSet<Labels> = BTreeSet::new();
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        for e in &entries {
            sets.extend(e.meta.label_sets.iter().cloned());
            mint = mint.min(e.meta.min_time);
            maxt = maxt.max(e.meta.max_time);
        }
        Ok(InfoResponse {
            label_sets: sets
                .iter()
                .map(|l| ZLabelSet {
                    labels: labels_to_pb(l),
                })
                .collect(),
            component_type: self.opts.component_type.clone(),
            store: Some(StoreInfo {
                min_time: mint,
                max_time: maxt,
                supports_without_replica_labels: true,
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    async fn series(
        &self,
        ctx: &RequestContext,
        req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        let matchers = matchers_from_pb(&req.matchers)?;
        if matchers.is_empty() {
            return Err(StoreError::InvalidArgument(
                "no matchers specified (excluding selector labels)".to_string(),
            ));
        }
        let abort = is_abort(req.partial_response_disabled, req.partial_response_strategy);
        if abort && self.snapshot().is_empty() {
            return Err(StoreError::Unavailable(
                "no StoreAPIs available".to_string(),
            ));
        }
        let selected = self.select(req.min_time, req.max_time, &matchers);
        tracing::debug!(
            tenant = ctx.tenant_or_default(),
            stores = selected.len(),
            min_time = req.min_time,
            max_time = req.max_time,
            "proxy Series fan-out"
        );
        let mut inputs = Vec::with_capacity(selected.len());
        let mut tasks = Vec::with_capacity(selected.len());
        for entry in selected {
            let (tx, rx) = mpsc::channel(self.opts.per_store_buffer.max(1));
            let strip = if entry.meta.supports_without_replica_labels {
                Vec::new()
            } else {
                req.without_replica_labels.clone()
            };
            inputs.push(MergeInput {
                name: entry.meta.name.clone(),
                rx,
            });
            let mut sub = req.clone();
            // Batching is the server's business at the edge; inputs come back unbatched.
            sub.response_batch_size = 0;
            tasks.push(tokio::spawn(fan_out_one(
                entry,
                ctx.clone(),
                sub,
                strip,
                self.opts.response_timeout,
                tx,
            )));
        }
        Ok(merge_inputs(inputs, tasks, req.limit, abort))
    }

    async fn label_names(
        &self,
        ctx: &RequestContext,
        req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        let matchers = matchers_from_pb(&req.matchers)?;
        let abort = is_abort(req.partial_response_disabled, req.partial_response_strategy);
        let selected = self.select(req.start, req.end, &matchers);
        let (names, warnings) = self
            .union_strings(&selected, abort, "LabelNames", |e| {
                let req = req.clone();
                async move {
                    let r = e.store.label_names(ctx, req).await?;
                    Ok((r.names, r.warnings))
                }
            })
            .await?;
        Ok(LabelNamesResponse {
            warnings,
            ..label_names_response(names, &req)
        })
    }

    async fn label_values(
        &self,
        ctx: &RequestContext,
        req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        if !label_values_wanted(&req)? {
            return Ok(LabelValuesResponse::default());
        }
        let matchers = matchers_from_pb(&req.matchers)?;
        let abort = is_abort(req.partial_response_disabled, req.partial_response_strategy);
        let selected = self.select(req.start, req.end, &matchers);
        let (values, warnings) = self
            .union_strings(&selected, abort, "LabelValues", |e| {
                let req = req.clone();
                async move {
                    let r = e.store.label_values(ctx, req).await?;
                    Ok((r.values, r.warnings))
                }
            })
            .await?;
        Ok(LabelValuesResponse {
            warnings,
            ..label_values_response(values, req.limit)
        })
    }
}
