//! The generated gRPC contract (`proto/triage/v1`, package `triage.v1`), the codec its services
//! use, and its file descriptor set for the reflection service.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

pub mod v1 {
    tonic::include_proto!("triage.v1");
}

/// The encoded file descriptor set of the contract, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/triage_descriptor.bin"));

/// The protobuf codec of the generated services and clients: prost's, except that a message
/// that does not decode (invalid UTF-8 in a string field, a truncated or malformed field) is
/// INVALID_ARGUMENT, the sender's error, instead of prost's INTERNAL.
pub mod codec {
    use std::marker::PhantomData;

    use prost::Message;
    use tonic::Status;
    use tonic::codec::{BufferSettings, DecodeBuf};
    use tonic_prost::{ProstDecoder, ProstEncoder};

    /// Encodes `T` and decodes `U` as prost does; see the module.
    #[derive(Debug, Clone)]
    pub struct Codec<T, U>(PhantomData<(T, U)>);

    impl<T, U> Default for Codec<T, U> {
        fn default() -> Self {
            Self(PhantomData)
        }
    }

    impl<T, U> tonic::codec::Codec for Codec<T, U>
    where
        T: Message + Send + 'static,
        U: Message + Default + Send + 'static,
    {
        type Encode = T;
        type Decode = U;
        type Encoder = ProstEncoder<T>;
        type Decoder = Decoder<U>;

        fn encoder(&mut self) -> Self::Encoder {
            ProstEncoder::default()
        }

        fn decoder(&mut self) -> Self::Decoder {
            Decoder(ProstDecoder::default())
        }
    }

    /// prost's decoder with the error code of the module's rule.
    #[derive(Debug, Clone, Default)]
    pub struct Decoder<U>(ProstDecoder<U>);

    impl<U: Message + Default> tonic::codec::Decoder for Decoder<U> {
        type Item = U;
        type Error = Status;

        fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
            self.0.decode(buf).map_err(|status| {
                Status::invalid_argument(format!(
                    "the message does not decode: {}",
                    status.message()
                ))
            })
        }

        fn buffer_settings(&self) -> BufferSettings {
            self.0.buffer_settings()
        }
    }
}
