//! Generated protobuf modules, one per proto package, nested as prost expects (a package
//! `a.b` is module `a::b`, and cross-package references go through `super::`).

/// Package `thanos`: labels, chunks, series, matchers, the `Store` and `WriteableStore`
/// services (`/thanos.Store/*`, `/thanos.WriteableStore/RemoteWrite`).
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    rustdoc::all
)]
pub mod thanos {
    tonic::include_proto!("thanos");

    /// Package `thanos.info`: the `Info` service (`/thanos.info.Info/Info`).
    #[allow(
        missing_docs,
        missing_debug_implementations,
        unreachable_pub,
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        rustdoc::all
    )]
    pub mod info {
        tonic::include_proto!("thanos.info");
    }
}

/// Package `hintspb`: the store-gateway hints Thanos carries in `google.protobuf.Any`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    rustdoc::all
)]
pub mod hintspb {
    tonic::include_proto!("hintspb");
}

/// Package `prometheus_copy`: Thanos' copy of the Prometheus remote read/write messages, with
/// `thanos.Label` labels; used by `WriteableStore/RemoteWrite`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    rustdoc::all
)]
pub mod prometheus_copy {
    tonic::include_proto!("prometheus_copy");
}

/// Package `prometheus`: Prometheus remote write 1.0 and remote read, as a real Prometheus
/// sends them (`/api/v1/receive`, `/api/v1/read`).
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    rustdoc::all
)]
pub mod prometheus {
    tonic::include_proto!("prometheus");
}

/// Package `io.prometheus.write.v2`: the Prometheus remote write 2.0 request (symbols table,
/// series with label references), as a Prometheus 3 sender configured with
/// `protobuf_message: io.prometheus.write.v2.Request` sends it to `/api/v1/receive`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    rustdoc::all
)]
pub mod write_v2 {
    tonic::include_proto!("io.prometheus.write.v2");
}
