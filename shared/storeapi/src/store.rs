//! The `Store` trait: the one abstraction every data source implements (sidecar, receive, store
//! gateway, ruler, the proxy, remote endpoints). It speaks the StoreAPI messages themselves
//! (Thanos' `pkg/store/storepb/rpc.proto`), so an in-process store and a remote one are
//! interchangeable without conversion.
//!
//! Contract (the Thanos server contract): `series` yields series sorted by labels (labels
//! sorted by name) with external labels already applied; a series may span consecutive frames
//! only; chunks ideally sorted by time. Warnings are frames too. Errors abort the stream.

use std::fmt::Debug;
use std::pin::Pin;

use futures::Stream;

use crate::error::StoreError;
use crate::pb::thanos::info::InfoResponse;
use crate::pb::thanos::{
    LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse, SeriesRequest,
    SeriesResponse,
};

/// gRPC metadata key carrying the tenant (Thanos `thanos-tenant`).
pub const TENANT_METADATA_KEY: &str = "thanos-tenant";
/// Tenant used when a request names none.
pub const DEFAULT_TENANT: &str = "default-tenant";

/// A stream of `Series` frames (series, warnings, hints).
pub type SeriesStream = Pin<Box<dyn Stream<Item = Result<SeriesResponse, StoreError>> + Send>>;

/// Per-request context that travels outside the StoreAPI messages (gRPC metadata on the wire).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The tenant, when the caller named one.
    pub tenant: Option<String>,
}

impl RequestContext {
    /// The tenant, or [`DEFAULT_TENANT`].
    pub fn tenant_or_default(&self) -> &str {
        self.tenant.as_deref().unwrap_or(DEFAULT_TENANT)
    }
}

/// A source of series: the StoreAPI as a Rust trait.
#[async_trait::async_trait]
pub trait Store: Send + Sync + Debug {
    /// What this store holds: external label sets, time range, capabilities (`store` section)
    /// and its component type. Cheap: the proxy polls it.
    async fn info(&self) -> Result<InfoResponse, StoreError>;

    /// Series matching the request, as a stream of frames sorted by labels.
    async fn series(
        &self,
        ctx: &RequestContext,
        req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError>;

    /// Label names of the series matching the request, sorted and unique.
    async fn label_names(
        &self,
        ctx: &RequestContext,
        req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError>;

    /// Values of one label of the series matching the request, sorted and unique.
    async fn label_values(
        &self,
        ctx: &RequestContext,
        req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError>;
}
