//! Support for stores that cannot hold series without a metric name (blocks made from
//! OpenMetrics text, by promtool or `strata tools bucket backfill`): the suite gives such
//! series a placeholder `__name__` and this wrapper strips it from everything the store returns,
//! so the same cases and expectations apply.

use std::sync::Arc;

use futures::StreamExt;

use crate::error::StoreError;
use crate::pb::thanos::info::InfoResponse;
use crate::pb::thanos::{
    LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse, SeriesRequest,
    series_response,
};
use crate::store::{RequestContext, SeriesStream, Store};

/// The metric name given to nameless input series.
pub(super) const PLACEHOLDER: &str = "strata_acceptance_unnamed";

/// Strips `__name__="strata_acceptance_unnamed"` from what the inner store returns.
#[derive(Debug)]
pub(super) struct StripPlaceholder(pub(super) Arc<dyn Store>);

#[async_trait::async_trait]
impl Store for StripPlaceholder {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        self.0.info().await
    }

    async fn series(
        &self,
        ctx: &RequestContext,
        req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        let s = self.0.series(ctx, req).await?;
        Ok(Box::pin(s.map(|frame| {
            let mut frame = frame?;
            if let Some(series_response::Result::Series(s)) = frame.result.as_mut() {
                s.labels
                    .retain(|l| !(l.name == "__name__" && l.value == PLACEHOLDER));
            }
            Ok(frame)
        })))
    }

    async fn label_names(
        &self,
        ctx: &RequestContext,
        req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        // The placeholder may take one of `limit` places: ask for one more, cut after stripping.
        let limit = usize::try_from(req.limit).ok().filter(|l| *l > 0);
        let req = LabelNamesRequest {
            limit: if limit.is_some() {
                req.limit + 1
            } else {
                req.limit
            },
            ..req
        };
        let mut r = self.0.label_names(ctx, req).await?;
        r.names.retain(|n| n != "__name__");
        if let Some(l) = limit {
            r.names.truncate(l);
        }
        Ok(r)
    }

    async fn label_values(
        &self,
        ctx: &RequestContext,
        req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        let limit = usize::try_from(req.limit).ok().filter(|l| *l > 0);
        let req = LabelValuesRequest {
            limit: if limit.is_some() {
                req.limit + 1
            } else {
                req.limit
            },
            ..req
        };
        let mut r = self.0.label_values(ctx, req).await?;
        r.values.retain(|v| v != PLACEHOLDER);
        if let Some(l) = limit {
            r.values.truncate(l);
        }
        Ok(r)
    }
}
