//! [`MemStore`]: an in-memory [`Store`] for tests and for composing (the server contract of Thanos'
//! `pkg/store/storepb/rpc.proto`): float series XOR-encoded into chunks of at most 120 samples,
//! external labels that override series labels and filter by matchers, time ranges, `skip_chunks`,
//! `limit`, `without_replica_labels`, and the label APIs with matchers and time ranges.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use strata_tsdb::chunkenc::XorAppender;
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;

use crate::convert::{
    chunk_hash, labels_to_pb, match_external_labels, matchers_from_pb, matches_all,
};
use crate::error::StoreError;
use crate::pb::thanos::info::{InfoResponse, StoreInfo};
use crate::pb::thanos::{
    AggrChunk, Chunk, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest,
    LabelValuesResponse, SeriesRequest, ZLabelSet, chunk,
};
use crate::serve::{SeriesSet, label_names_response, label_values_response, label_values_wanted};
use crate::store::{RequestContext, SeriesStream, Store};

/// Samples per chunk, as Prometheus cuts them.
pub const SAMPLES_PER_CHUNK: usize = 120;

#[derive(Debug, Default)]
struct MemSeries {
    samples: Vec<(i64, f64)>,
    chunks: Vec<AggrChunk>,
}

impl MemSeries {
    fn rebuild_chunks(&mut self) {
        self.chunks = self
            .samples
            .chunks(SAMPLES_PER_CHUNK)
            .filter_map(|part| {
                let (first, last) = (part.first()?, part.last()?);
                let mut app = XorAppender::new();
                for &(t, v) in part {
                    app.append(t, v);
                }
                let data = Bytes::from(app.into_bytes());
                Some(AggrChunk {
                    min_time: first.0,
                    max_time: last.0,
                    raw: Some(Chunk {
                        r#type: chunk::Encoding::Xor as i32,
                        hash: chunk_hash(&data),
                        data,
                    }),
                    ..Default::default()
                })
            })
            .collect();
    }

    fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.samples.iter().any(|&(t, _)| t >= mint && t <= maxt)
    }
}

/// An in-memory store. Cheap to share (`Arc`); series can be added at any time.
#[derive(Debug)]
pub struct MemStore {
    ext: Labels,
    component_type: String,
    supports_without_replica_labels: bool,
    series: RwLock<BTreeMap<Labels, MemSeries>>,
}

impl MemStore {
    /// An empty store with these external labels.
    pub fn new(ext_labels: Labels) -> Self {
        Self {
            ext: ext_labels,
            component_type: "debug".to_string(),
            supports_without_replica_labels: true,
            series: RwLock::new(BTreeMap::new()),
        }
    }

    /// A store holding `series` (labels, samples).
    pub fn from_series(
        ext_labels: Labels,
        series: impl IntoIterator<Item = (Labels, Vec<(i64, f64)>)>,
    ) -> Self {
        let s = Self::new(ext_labels);
        for (l, samples) in series {
            s.add_series(l, &samples);
        }
        s
    }

    /// The component type reported by `info` (default `debug`).
    pub fn with_component_type(mut self, t: impl Into<String>) -> Self {
        self.component_type = t.into();
        self
    }

    /// Whether this store honours `without_replica_labels` itself (default true). When false it
    /// ignores the field and says so in `info`, as old stores do, so the proxy strips instead.
    pub fn with_without_replica_labels_support(mut self, yes: bool) -> Self {
        self.supports_without_replica_labels = yes;
        self
    }

    /// Wrap in an `Arc<dyn Store>`.
    pub fn into_store(self) -> Arc<dyn Store> {
        Arc::new(self)
    }

    /// The external labels.
    pub fn external_labels(&self) -> &Labels {
        &self.ext
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Labels, MemSeries>> {
        self.series.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<Labels, MemSeries>> {
        self.series.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Add samples to the series `labels` (created if new). Samples are kept sorted by
    /// timestamp; on a duplicate timestamp the sample added last wins.
    pub fn add_series(&self, labels: Labels, samples: &[(i64, f64)]) {
        let mut map = self.write();
        let s = map.entry(labels).or_default();
        s.samples.extend_from_slice(samples);
        // Stable sort, then keep the last of equal timestamps.
        s.samples.sort_by_key(|&(t, _)| t);
        let mut dedup: Vec<(i64, f64)> = Vec::with_capacity(s.samples.len());
        for &(t, v) in &s.samples {
            match dedup.last_mut() {
                Some(last) if last.0 == t => *last = (t, v),
                _ => dedup.push((t, v)),
            }
        }
        s.samples = dedup;
        s.rebuild_chunks();
    }

    /// Number of series held.
    pub fn num_series(&self) -> usize {
        self.read().len()
    }

    /// Parse matchers and split off the external-label ones; `None`: nothing can match.
    fn series_matchers(
        &self,
        ms: &[crate::pb::thanos::LabelMatcher],
    ) -> Result<Option<Vec<Matcher>>, StoreError> {
        let matchers = matchers_from_pb(ms)?;
        Ok(match_external_labels(&matchers, &self.ext))
    }

    /// Labels of the series matching `matchers` with data in `[mint, maxt]`.
    fn matching(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.read()
            .iter()
            .filter(|(l, s)| matches_all(matchers, l) && s.overlaps(mint, maxt))
            .map(|(l, _)| l.clone())
            .collect()
    }
}

#[async_trait::async_trait]
impl Store for MemStore {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        let map = self.read();
        let mint = map
            .values()
            .filter_map(|s| s.samples.first())
            .map(|s| s.0)
            .min();
        let maxt = map
            .values()
            .filter_map(|s| s.samples.last())
            .map(|s| s.0)
            .max();
        // An empty store claims all time, so a proxy that cached its info keeps asking it.
        let (min_time, max_time) = match (mint, maxt) {
            (Some(a), Some(b)) => (a, b),
            _ => (i64::MIN, i64::MAX),
        };
        let label_sets = if self.ext.is_empty() {
            Vec::new()
        } else {
            vec![ZLabelSet {
                labels: labels_to_pb(&self.ext),
            }]
        };
        Ok(InfoResponse {
            label_sets,
            component_type: self.component_type.clone(),
            store: Some(StoreInfo {
                min_time,
                max_time,
                supports_without_replica_labels: self.supports_without_replica_labels,
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
        let Some(matchers) = self.series_matchers(&req.matchers)? else {
            return Ok(Box::pin(futures::stream::empty()));
        };
        if matchers.is_empty() {
            return Err(StoreError::InvalidArgument(
                "no matchers specified (excluding external labels)".to_string(),
            ));
        }
        let strip: &[String] = if self.supports_without_replica_labels {
            &req.without_replica_labels
        } else {
            &[]
        };
        let mut out = SeriesSet::new();
        for (l, s) in self.read().iter() {
            if !matches_all(&matchers, l) || !s.overlaps(req.min_time, req.max_time) {
                continue;
            }
            let chunks = s
                .chunks
                .iter()
                .filter(|c| {
                    !req.skip_chunks && c.max_time >= req.min_time && c.min_time <= req.max_time
                })
                .cloned();
            out.add(l, &self.ext, strip, chunks);
        }
        Ok(out.into_stream(req.limit, ctx, "MemStore"))
    }

    async fn label_names(
        &self,
        _ctx: &RequestContext,
        req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        let Some(matchers) = self.series_matchers(&req.matchers)? else {
            return Ok(LabelNamesResponse::default());
        };
        let series = self.matching(&matchers, req.start, req.end);
        let mut names: BTreeSet<String> = BTreeSet::new();
        for l in &series {
            names.extend(l.iter().map(|l| l.name.clone()));
        }
        if !series.is_empty() {
            names.extend(self.ext.iter().map(|l| l.name.clone()));
        }
        Ok(label_names_response(names, &req))
    }

    async fn label_values(
        &self,
        _ctx: &RequestContext,
        req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        if !label_values_wanted(&req)? {
            return Ok(LabelValuesResponse::default());
        }
        let Some(matchers) = self.series_matchers(&req.matchers)? else {
            return Ok(LabelValuesResponse::default());
        };
        if let Some(v) = self.ext.get(&req.label) {
            // An external label has one value, present whenever anything could match.
            let any =
                matchers.is_empty() || !self.matching(&matchers, req.start, req.end).is_empty();
            return Ok(LabelValuesResponse {
                values: if any { vec![v.to_string()] } else { Vec::new() },
                ..Default::default()
            });
        }
        let values: BTreeSet<String> = self
            .matching(&matchers, req.start, req.end)
            .iter()
            .filter_map(|l| l.get(&req.label).map(str::to_string))
            .collect();
        Ok(label_values_response(values, req.limit))
    }
}
