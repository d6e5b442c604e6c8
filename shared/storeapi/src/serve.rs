//! What every [`Store`](crate::Store) does the same way when it answers a request (Thanos'
//! `pkg/store` servers): the LabelValues preamble, `without_replica_labels` and `limit` on label
//! answers, and series gathered by output labels then sent sorted, at most `limit` of them.

use std::collections::{BTreeMap, BTreeSet};

use strata_tsdb::labels::Labels;

use crate::convert::{labels_to_pb, limit_of, series_frame, with_external_labels};
use crate::error::StoreError;
use crate::pb::thanos::{
    AggrChunk, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse,
    Series,
};
use crate::store::{RequestContext, SeriesStream};

/// The checks LabelValues starts with: an empty label name is `InvalidArgument`; `Ok(false)`
/// when `without_replica_labels` removes the label, so it has no values in this request.
pub fn label_values_wanted(req: &LabelValuesRequest) -> Result<bool, StoreError> {
    if req.label.is_empty() {
        return Err(StoreError::InvalidArgument(
            "label name parameter cannot be empty".to_string(),
        ));
    }
    Ok(!req.without_replica_labels.contains(&req.label))
}

/// A LabelNames answer: `names` without the request's `without_replica_labels`, at most
/// `limit` of them.
pub fn label_names_response(
    mut names: BTreeSet<String>,
    req: &LabelNamesRequest,
) -> LabelNamesResponse {
    for r in &req.without_replica_labels {
        names.remove(r);
    }
    LabelNamesResponse {
        names: names.into_iter().take(limit_of(req.limit)).collect(),
        ..Default::default()
    }
}

/// A LabelValues answer: `values`, at most `limit` of them.
pub fn label_values_response(values: BTreeSet<String>, limit: i64) -> LabelValuesResponse {
    LabelValuesResponse {
        values: values.into_iter().take(limit_of(limit)).collect(),
        ..Default::default()
    }
}

/// Series gathered by output labels (external labels applied, replica labels removed): series
/// whose labels become equal once replica labels are dropped are merged, and the answer comes
/// out sorted by labels.
#[derive(Debug, Default)]
pub struct SeriesSet(BTreeMap<Labels, Vec<AggrChunk>>);

impl SeriesSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add the series `labels` of a store with external labels `ext`, without the labels named
    /// in `strip`, with these chunks (none when the request skips chunks).
    pub fn add(
        &mut self,
        labels: &Labels,
        ext: &Labels,
        strip: &[String],
        chunks: impl IntoIterator<Item = AggrChunk>,
    ) {
        let mut full = with_external_labels(labels, ext);
        for r in strip {
            full.remove(r);
        }
        self.0.entry(full).or_default().extend(chunks);
    }

    /// The first `limit` series (0 or negative: all) as `series` frames, each series' chunks
    /// sorted by time.
    pub fn into_stream(self, limit: i64, ctx: &RequestContext, store: &str) -> SeriesStream {
        let frames: Vec<_> = self
            .0
            .into_iter()
            .take(limit_of(limit))
            .map(|(l, mut chunks)| {
                chunks.sort_by_key(|c| (c.min_time, c.max_time));
                Ok(series_frame(Series {
                    labels: labels_to_pb(&l),
                    chunks,
                }))
            })
            .collect();
        tracing::debug!(
            store,
            tenant = ctx.tenant_or_default(),
            series = frames.len(),
            "Series"
        );
        Box::pin(futures::stream::iter(frames))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_preamble() {
        let mut req = LabelValuesRequest::default();
        assert!(matches!(
            label_values_wanted(&req),
            Err(StoreError::InvalidArgument(_))
        ));
        req.label = "replica".into();
        assert!(label_values_wanted(&req).expect("valid"));
        req.without_replica_labels = vec!["replica".into()];
        assert!(!label_values_wanted(&req).expect("valid"));
    }

    #[test]
    fn label_answers_strip_and_limit() {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let req = LabelNamesRequest {
            without_replica_labels: vec!["b".into()],
            limit: 2,
            ..Default::default()
        };
        assert_eq!(
            label_names_response(set(&["c", "b", "a", "d"]), &req).names,
            ["a", "c"]
        );
        assert_eq!(
            label_values_response(set(&["y", "x"]), 0).values,
            ["x", "y"]
        );
        assert_eq!(label_values_response(set(&["y", "x"]), 1).values, ["x"]);
    }
}
