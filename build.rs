//! Compiles the gRPC contract in `proto/` with protox (pure Rust: no system protoc) and writes
//! the file descriptor set that the reflection service serves.

use std::path::PathBuf;

use prost::Message;

const PROTOS: [&str; 3] = [
    "proto/triage/v1/inquiry.proto",
    "proto/triage/v1/triage.proto",
    "proto/triage/v1/specialist.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("triage_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .codec_path("crate::proto::codec::Codec")
        .compile_fds(descriptors)?;
    Ok(())
}
