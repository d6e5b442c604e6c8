//! [`GrpcStore`]: any remote StoreAPI endpoint (Thanos or strata) as a [`Store`], over a tonic
//! `Channel` (Thanos' `pkg/store/storepb/rpc.proto`). Message sizes are unlimited both ways, the
//! tenant travels as `thanos-tenant` metadata, `SeriesBatch` frames are unpacked into single-series
//! frames, and `Info` falls back to the legacy `/thanos.Store/Info` for servers without
//! `thanos.info.Info`.

use futures::StreamExt;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request};

use crate::error::StoreError;
use crate::pb::thanos::info::{self, info_client::InfoClient};
use crate::pb::thanos::store_client::StoreClient;
use crate::pb::thanos::{
    self, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse,
    SeriesRequest, SeriesResponse, series_response,
};
use crate::server::component_from_store_type;
use crate::store::{RequestContext, SeriesStream, Store, TENANT_METADATA_KEY};

/// A remote StoreAPI endpoint.
#[derive(Debug, Clone)]
pub struct GrpcStore {
    name: String,
    store: StoreClient<Channel>,
    info: InfoClient<Channel>,
}

/// `host:port` (or a full `http://…` URI) as a tonic endpoint.
pub fn endpoint(addr: &str) -> Result<Endpoint, StoreError> {
    let uri = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    Endpoint::from_shared(uri)
        .map_err(|e| StoreError::InvalidArgument(format!("bad StoreAPI address {addr:?}: {e}")))
}

impl GrpcStore {
    /// Connect now to `addr` (`host:port`); fails if the endpoint cannot be reached.
    pub async fn connect(addr: &str) -> Result<Self, StoreError> {
        let channel = endpoint(addr)?
            .connect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("connect to {addr}: {e}")))?;
        Ok(Self::from_channel(addr, channel))
    }

    /// A store that connects on first use (and reconnects as needed). Call it inside a tokio
    /// runtime: the channel's worker is spawned on it.
    pub fn lazy(addr: &str) -> Result<Self, StoreError> {
        Ok(Self::from_channel(addr, endpoint(addr)?.connect_lazy()))
    }

    /// Over an existing channel; `name` identifies the store in logs and warnings.
    pub fn from_channel(name: impl Into<String>, channel: Channel) -> Self {
        Self {
            name: name.into(),
            store: StoreClient::new(channel.clone())
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
            info: InfoClient::new(channel)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        }
    }

    /// The name (address) of this store.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn request<T>(&self, ctx: &RequestContext, msg: T) -> Request<T> {
        let mut req = Request::new(msg);
        if let Some(t) = &ctx.tenant {
            match t.parse() {
                Ok(v) => {
                    req.metadata_mut().insert(TENANT_METADATA_KEY, v);
                }
                Err(_) => {
                    tracing::warn!(store = %self.name, tenant = %t, "tenant is not valid gRPC metadata; not forwarded")
                }
            }
        }
        req
    }

    fn err(&self, call: &str, s: tonic::Status) -> StoreError {
        tracing::debug!(store = %self.name, call, code = ?s.code(), message = s.message(), "StoreAPI call failed");
        StoreError::from(s)
    }
}

/// The new-style info answer from a legacy `/thanos.Store/Info` one.
pub fn info_from_legacy(l: thanos::InfoResponse) -> info::InfoResponse {
    let mut label_sets: Vec<thanos::ZLabelSet> = l
        .label_sets
        .into_iter()
        .map(|s| thanos::ZLabelSet { labels: s.labels })
        .collect();
    if label_sets.is_empty() && !l.labels.is_empty() {
        label_sets.push(thanos::ZLabelSet { labels: l.labels });
    }
    info::InfoResponse {
        label_sets,
        component_type: component_from_store_type(l.store_type).to_string(),
        store: Some(info::StoreInfo {
            min_time: l.min_time,
            max_time: l.max_time,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Unpack a `SeriesBatch` frame into single-series frames; other frames pass unchanged.
pub fn unbatch(frame: SeriesResponse) -> Vec<SeriesResponse> {
    match frame.result {
        Some(series_response::Result::Batch(b)) => b
            .series
            .into_iter()
            .map(crate::convert::series_frame)
            .collect(),
        _ => vec![frame],
    }
}

#[async_trait::async_trait]
impl Store for GrpcStore {
    async fn info(&self) -> Result<info::InfoResponse, StoreError> {
        let mut client = self.info.clone();
        match client.info(Request::new(info::InfoRequest {})).await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) if s.code() == Code::Unimplemented => {
                tracing::debug!(store = %self.name, "no thanos.info.Info; using legacy Store/Info");
                let mut legacy = self.store.clone();
                let r = legacy
                    .info(Request::new(thanos::InfoRequest {}))
                    .await
                    .map_err(|s| self.err("Store/Info", s))?;
                Ok(info_from_legacy(r.into_inner()))
            }
            Err(s) => Err(self.err("Info", s)),
        }
    }

    async fn series(
        &self,
        ctx: &RequestContext,
        req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        let mut client = self.store.clone();
        let resp = client
            .series(self.request(ctx, req))
            .await
            .map_err(|s| self.err("Series", s))?;
        let name = self.name.clone();
        let stream = resp.into_inner().flat_map(move |item| {
            let out: Vec<Result<SeriesResponse, StoreError>> = match item {
                Ok(frame) => unbatch(frame).into_iter().map(Ok).collect(),
                Err(s) => {
                    tracing::debug!(store = %name, code = ?s.code(), message = s.message(), "Series stream failed");
                    vec![Err(StoreError::from(s))]
                }
            };
            futures::stream::iter(out)
        });
        Ok(Box::pin(stream))
    }

    async fn label_names(
        &self,
        ctx: &RequestContext,
        req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        let mut client = self.store.clone();
        client
            .label_names(self.request(ctx, req))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.err("LabelNames", s))
    }

    async fn label_values(
        &self,
        ctx: &RequestContext,
        req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        let mut client = self.store.clone();
        client
            .label_values(self.request(ctx, req))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| self.err("LabelValues", s))
    }
}
