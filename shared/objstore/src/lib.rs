//! Object storage for strata: Thanos objstore YAML -> `Arc<dyn ObjectStore>` (thanos-io/objstore),
//! request/byte accounting, ranged reads for the tsdb block readers, Thanos block
//! upload/download/markers (`pkg/block`), and, with feature `testing`, test support: a
//! conformance suite any store can be run through, a fault-injecting decorator and an in-process
//! S3 server.
//!
//! `object_store` is the only data path; everything here takes `&dyn ObjectStore` or
//! `Arc<dyn ObjectStore>`, so decorators (instrumentation, prefixes) compose freely.

pub mod block;
pub mod config;
#[cfg(feature = "testing")]
pub mod conformance;
mod error;
#[cfg(feature = "testing")]
pub mod fault;
mod instrument;
mod range;
#[cfg(feature = "testing")]
pub mod testing;

pub use block::{
    BlockMetas, UploadOptions, block_path, block_prefix, delete_block, download_block,
    list_block_ids, list_block_metas, mark_for_deletion, mark_no_compact, read_marker,
    upload_block, upload_block_with, write_marker,
};
pub use config::{BucketConfig, ProviderConfig, SUPPORTED_TYPES, from_file, from_yaml};
pub use error::{Error, Result};
#[cfg(feature = "testing")]
pub use fault::FaultyStore;
pub use instrument::{InstrumentedStore, Stats, StatsSnapshot};
pub use range::ObjectRange;

/// Re-exported so dependents name the same `object_store` version.
pub use object_store;
