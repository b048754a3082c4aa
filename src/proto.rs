//! The generated gRPC contract (`proto/triage/v1`, package `triage.v1`), the codecs its services
//! use, and its file descriptor set for the reflection service.

pub mod codec;

#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("triage.v1");
}

/// The encoded file descriptor set of the contract, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/triage_descriptor.bin"));
