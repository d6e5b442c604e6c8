//! Compiles the workspace's `proto/` tree (wire-compatible with Thanos and Prometheus) into
//! prost messages and tonic clients and servers. `protox` parses the files in-process, so no
//! `protoc` is needed; it also supplies `google/protobuf/{any,duration}.proto`.

use std::path::PathBuf;

/// The files to compile, relative to the proto root. Imports between them resolve from there.
const PROTOS: &[&str] = &[
    "thanos/types.proto",
    "thanos/rpc.proto",
    "thanos/info.proto",
    "thanos/hints.proto",
    "thanos/prompb.proto",
    "prometheus/types.proto",
    "prometheus/remote.proto",
    "prometheus/write_v2.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in PROTOS {
        println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    }

    let fds = protox::compile(PROTOS, [&proto_root])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Chunk data and other `bytes` fields share the frame buffer instead of copying.
        .bytes(".")
        .compile_fds(fds)?;
    Ok(())
}
