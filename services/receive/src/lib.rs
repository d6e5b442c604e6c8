//! strata receive (first pieces): decoding and validating Prometheus remote write 1.0
//! requests ([`remote_write`]), and a per-tenant in-memory head whose samples are
//! acknowledged only once they are in its write-ahead log ([`wal`], [`head`]). The HTTP
//! service, tenancy, block cutting/upload, the StoreAPI and replication build on these.

pub mod head;
pub mod http;
pub mod remote_write;
pub mod service;
pub mod shipper;
pub mod store;
pub mod tenants;
pub mod wal;
