//! The [`Store`] implementation of [`BucketStore`]: Info from the loaded blocks, Series as a
//! k-way merge of per-block producers, label names and values from the index-headers (no
//! matchers) or from the selected series (with matchers).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use strata_storeapi::convert::matchers_from_pb;
use strata_storeapi::pb::thanos::info::{InfoResponse, StoreInfo, TsdbInfo};
use strata_storeapi::pb::thanos::{
    LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse, Series,
    SeriesBatch, SeriesRequest, SeriesResponse, ZLabelSet, series_response,
};
use strata_storeapi::serve::{label_names_response, label_values_response, label_values_wanted};
use strata_storeapi::{RequestContext, SeriesStream, Store, StoreError};
use strata_tsdb::Labels;
use tokio::sync::mpsc;

use super::{BucketStore, to_pb_labels};
use crate::downsample::requested_aggrs;
use crate::error::GatewayError;
use crate::merge::Merger;
use crate::metrics::inc;
use crate::series::{BlockRequest, Limiter, SeriesOut, produce};

fn frame(s: SeriesOut) -> Series {
    Series {
        labels: to_pb_labels(s.labels),
        chunks: s.chunks,
    }
}

fn label_range(start: i64, end: i64) -> (i64, i64) {
    if start == 0 && end == 0 {
        (i64::MIN, i64::MAX)
    } else {
        (start, end)
    }
}

#[async_trait::async_trait]
impl Store for BucketStore {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        let blocks = self.snapshot();
        let mut sets: BTreeMap<Labels, (i64, i64)> = BTreeMap::new();
        for b in &blocks {
            let e = sets
                .entry(b.ext_labels().clone())
                .or_insert((i64::MAX, i64::MIN));
            e.0 = e.0.min(b.meta().min_time);
            e.1 = e.1.max(b.meta().max_time);
        }
        let mint = sets.values().map(|r| r.0).min().unwrap_or(i64::MAX);
        let maxt = sets.values().map(|r| r.1).max().unwrap_or(i64::MIN);
        let (mint, maxt) = if blocks.is_empty() {
            (mint, maxt)
        } else {
            self.time_range(mint, maxt)
        };
        let zset = |l: &Labels| ZLabelSet {
            labels: to_pb_labels(l.clone()),
        };
        Ok(InfoResponse {
            label_sets: sets.keys().map(zset).collect(),
            component_type: "store".to_string(),
            store: Some(StoreInfo {
                min_time: mint,
                max_time: maxt,
                supports_sharding: false,
                supports_without_replica_labels: true,
                tsdb_infos: sets
                    .iter()
                    .map(|(l, (lo, hi))| TsdbInfo {
                        labels: Some(zset(l)),
                        min_time: *lo,
                        max_time: *hi,
                    })
                    .collect(),
                supports_projections: false,
            }),
            ..Default::default()
        })
    }

    async fn series(
        &self,
        _ctx: &RequestContext,
        req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        if req.matchers.is_empty() {
            // As Thanos: selecting every series of a bucket needs at least one explicit matcher.
            return Err(StoreError::InvalidArgument(
                "no matchers specified".to_string(),
            ));
        }
        let matchers = matchers_from_pb(&req.matchers)?;
        inc(&self.metrics.series_requests);
        let (mint, maxt) = self.time_range(req.min_time, req.max_time);
        if mint > maxt {
            return Ok(Box::pin(futures::stream::empty()));
        }
        let selected = self.select(&matchers, mint, maxt, Some(req.max_resolution_window));
        let refs = Self::postings_all(&selected).await?;
        let touched: u64 = refs.iter().map(|r| r.len() as u64).sum();
        if self.cfg.series_limit > 0 && touched > self.cfg.series_limit {
            inc(&self.metrics.limit_rejections);
            return Err(GatewayError::Limit(format!(
                "exceeded series limit: the query would touch {touched} series, limit is {} \
                 (--store.limits.request-series)",
                self.cfg.series_limit
            ))
            .into());
        }
        let breq = Arc::new(BlockRequest {
            mint,
            maxt,
            skip_chunks: req.skip_chunks,
            aggrs: requested_aggrs(&req.aggregates),
            batch_size: self.cfg.fetch.series_batch_size,
            without: req.without_replica_labels.clone(),
        });
        let limiter = Arc::new(Limiter::new(
            self.cfg.samples_limit,
            Arc::clone(&self.metrics),
        ));
        let mut receivers = Vec::new();
        let mut producers = Vec::new();
        for ((block, _), refs) in selected.into_iter().zip(refs) {
            if refs.is_empty() {
                continue;
            }
            let (tx, rx) = mpsc::channel(self.cfg.fetch.block_channel_batches.max(1));
            producers.push(tokio::spawn(produce(
                block,
                refs,
                Arc::clone(&breq),
                Arc::clone(&limiter),
                Arc::clone(&self.metrics),
                tx,
            )));
            receivers.push(rx);
        }
        let merger = Merger::new(receivers);
        // The producers are aborted when the stream is dropped (client gone, limit reached),
        // instead of finishing their in-flight batches of GETs.
        let guard = strata_storeapi::AbortOnDrop(producers);
        let series = futures::stream::unfold((merger, guard), |(mut m, g)| async move {
            m.next().await.map(|r| (r, (m, g)))
        });
        let limit = usize::try_from(req.limit).ok().filter(|l| *l > 0);
        let series: futures::stream::BoxStream<'static, Result<SeriesOut, GatewayError>> =
            match limit {
                Some(l) => series.take(l).boxed(),
                None => series.boxed(),
            };
        // Clamped: the client chooses it, and each batch is allocated up front.
        let batch = usize::try_from(req.response_batch_size)
            .unwrap_or(0)
            .min(strata_storeapi::server::MAX_RESPONSE_BATCH_SIZE);
        let out: SeriesStream = if batch > 1 {
            Box::pin(series.chunks(batch).map(|v| {
                let v: Result<Vec<SeriesOut>, GatewayError> = v.into_iter().collect();
                v.map(|v| SeriesResponse {
                    result: Some(series_response::Result::Batch(SeriesBatch {
                        series: v.into_iter().map(frame).collect(),
                    })),
                })
                .map_err(StoreError::from)
            }))
        } else {
            Box::pin(series.map(|r| {
                r.map(|s| SeriesResponse {
                    result: Some(series_response::Result::Series(frame(s))),
                })
                .map_err(StoreError::from)
            }))
        };
        Ok(out)
    }

    async fn label_names(
        &self,
        _ctx: &RequestContext,
        req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        let matchers = matchers_from_pb(&req.matchers)?;
        let (start, end) = label_range(req.start, req.end);
        let (mint, maxt) = self.time_range(start, end);
        let selected = self.select(&matchers, mint, maxt, None);
        let mut names: BTreeSet<String> = BTreeSet::new();
        let (plain, filtered): (Vec<_>, Vec<_>) =
            selected.into_iter().partition(|(_, ms)| ms.is_empty());
        for (b, _) in &plain {
            if b.header().table.all_postings_range().is_none() && b.header().table.is_empty() {
                continue;
            }
            names.extend(
                b.header()
                    .table
                    .label_names()
                    .into_iter()
                    .map(str::to_string),
            );
            names.extend(b.ext_labels().iter().map(|l| l.name.clone()));
        }
        self.for_each_series_labels(&filtered, mint, maxt, |l| {
            for x in l.iter() {
                if !names.contains(&x.name) {
                    names.insert(x.name.clone());
                }
            }
        })
        .await?;
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
        let matchers = matchers_from_pb(&req.matchers)?;
        let (start, end) = label_range(req.start, req.end);
        let (mint, maxt) = self.time_range(start, end);
        let selected = self.select(&matchers, mint, maxt, None);
        let mut values: BTreeSet<String> = BTreeSet::new();
        let (plain, filtered): (Vec<_>, Vec<_>) =
            selected.into_iter().partition(|(_, ms)| ms.is_empty());
        for (b, _) in &plain {
            if let Some(v) = b.ext_labels().get(&req.label) {
                if !b.header().table.is_empty() {
                    values.insert(v.to_string());
                }
                continue;
            }
            values.extend(
                b.header()
                    .table
                    .label_values(&req.label)
                    .into_iter()
                    .map(str::to_string),
            );
        }
        let name = req.label.clone();
        self.for_each_series_labels(&filtered, mint, maxt, |l| {
            if let Some(v) = l.get(&name)
                && !values.contains(v)
            {
                values.insert(v.to_string());
            }
        })
        .await?;
        Ok(label_values_response(values, req.limit))
    }
}
