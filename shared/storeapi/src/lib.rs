//! The Thanos StoreAPI on the wire: prost messages and tonic gRPC services generated from the
//! workspace's `proto/` files, which strata writes itself to be wire-compatible with Thanos
//! (packages `thanos`, `thanos.info`, `hintspb`, `prometheus_copy`) and with Prometheus remote
//! write 1.0 / remote read (package `prometheus`).
//!
//! Every `bytes` field of these packages (chunk data above all) is a [`bytes::Bytes`], so decoded
//! chunks can share the received buffer; `google.protobuf.Any` comes from `prost_types`, whose
//! `value` stays a `Vec<u8>`.
//!
//! The gRPC paths are the Thanos ones: `/thanos.Store/{Series,LabelNames,LabelValues,Info}`,
//! `/thanos.info.Info/Info` and `/thanos.WriteableStore/RemoteWrite`.

#[cfg(feature = "testing")]
pub mod acceptance;
pub mod client;
pub mod convert;
pub mod error;
pub mod memstore;
mod merge;
pub mod pb;
pub mod proxy;
pub mod serve;
pub mod server;
pub mod store;

pub use client::GrpcStore;
pub use error::StoreError;
pub use memstore::MemStore;
pub use merge::{AbortOnDrop, merge_series};
pub use proxy::{ProxyOptions, ProxyStore, StoreMeta};
pub use server::{StoreServer, serve};
pub use store::{DEFAULT_TENANT, RequestContext, SeriesStream, Store, TENANT_METADATA_KEY};

/// The `google.protobuf.Any` type URL prefix Thanos uses for hints (`hintspb.*`).
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";
