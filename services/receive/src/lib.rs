//! strata receive: decoding and validating Prometheus remote write 1.0 requests
//! ([`remote_write`]), per-tenant in-memory heads whose samples are acknowledged only once
//! they are in their write-ahead log ([`wal`], [`head`], [`tenants`]), hashring distribution
//! and replication ([`hashring`], [`distributor`], [`grpc_write`]), the HTTP endpoint
//! ([`http`]), block cutting and upload ([`shipper`]), the StoreAPI ([`store`]) and the
//! service ([`service`]). Every fallible function returns the one [`Error`], which maps itself
//! to an HTTP status and a gRPC status.

pub mod cli;
pub mod distributor;
mod error;
pub mod grpc_write;
pub mod hashring;
pub mod head;
pub mod http;
pub mod remote_write;
pub mod service;
pub mod shipper;
pub mod store;
pub mod tenants;
pub mod wal;

pub use error::{Error, LabelProblem};
