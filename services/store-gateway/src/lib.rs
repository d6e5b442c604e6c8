//! `strata store`: the Thanos store gateway as a library. It serves the StoreAPI
//! ([`strata_storeapi::Store`]) over every block of a bucket, keeping only a small index-header
//! per block (symbols + postings offset table) resident and fetching postings, series entries and
//! chunks with coalesced ranged GETs (Thanos' `pkg/store/bucket.go`).
//!
//! - [`index_header`]: the per-block local index-header file, built from three ranged GETs.
//! - [`bucket_block`]: one loaded block: postings, series entries and chunks by range.
//! - [`bucket_store`]: [`BucketStore`], the `Store` over a bucket, with its periodic sync.
//! - [`metrics`]: plain atomic counters with a [`MetricsSnapshot`].
//! - [`service`]: the `strata store` process: gRPC + HTTP + sync loop.
//! - `testing` (feature `testing`): build a store from in-memory series (for tests and the
//!   acceptance suite).

pub mod bucket_block;
pub mod bucket_store;
mod cache_keys;
pub mod cli;
mod config;
mod downsample;
mod error;
mod fetch;
pub mod index_header;
mod merge;
pub mod metrics;
mod postings;
mod series;
pub mod service;
#[cfg(feature = "testing")]
pub mod testing;

pub use bucket_block::BucketBlock;
pub use bucket_store::{BlockInfo, BucketStore, SyncReport};
pub use config::{FetchConfig, GatewayConfig};
pub use error::GatewayError;
pub use index_header::IndexHeader;
pub use metrics::{Metrics, MetricsSnapshot};
