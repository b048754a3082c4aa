//! The protobuf codecs of the services. [`Codec`], the generated services' and clients': prost's,
//! except that a message that does not decode (invalid UTF-8 in a string field, a truncated or
//! malformed field) is INVALID_ARGUMENT, the sender's error, instead of prost's INTERNAL.
//! [`StreamItemCodec`], SubmitStream's: each item decodes on its own, so that a bad one is that
//! item's error ([`UndecodedItem`]) and the items after it still arrive.

use std::marker::PhantomData;

use prost::Message;
use prost::bytes::{Buf, Bytes};
use tonic::Status;
use tonic::codec::{BufferSettings, DecodeBuf};
use tonic_prost::{ProstDecoder, ProstEncoder};

use super::v1::{SubmitRequest, SubmitStreamResponse};

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
            Status::invalid_argument(format!("the message does not decode: {}", status.message()))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// Why an item of a stream is not a request.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("the message does not decode: {0}")]
    Undecodable(prost::DecodeError),
    #[error("the message is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
}

/// A stream item that is not a request, with the inquiry id read from it (empty when even that
/// cannot be read).
#[derive(Debug)]
pub struct UndecodedItem {
    pub inquiry_id: String,
    pub error: ItemError,
}

/// One item of a SubmitStream as it arrived.
pub type StreamItem = Result<SubmitRequest, UndecodedItem>;

/// SubmitStream's codec: encodes responses as prost does and decodes each item into a
/// [`StreamItem`], never failing the stream for one item.
///
/// Items up to the transport's limit (`tonic::server::Grpc::max_decoding_message_size`) are
/// read whole; those over `max_message_bytes` are not decoded but answered as too large.
#[derive(Debug, Clone)]
pub struct StreamItemCodec {
    max_message_bytes: usize,
}

impl StreamItemCodec {
    /// Items over `max_message_bytes` are [`ItemError::TooLarge`].
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl tonic::codec::Codec for StreamItemCodec {
    type Encode = SubmitStreamResponse;
    type Decode = StreamItem;
    type Encoder = ProstEncoder<SubmitStreamResponse>;
    type Decoder = StreamItemDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        StreamItemDecoder {
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// The decoder of [`StreamItemCodec`].
#[derive(Debug, Clone)]
pub struct StreamItemDecoder {
    max_message_bytes: usize,
}

impl tonic::codec::Decoder for StreamItemDecoder {
    type Item = StreamItem;
    type Error = Status;

    /// Takes the whole item off the buffer whatever it holds, so that the next item starts
    /// where the transport expects it.
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<StreamItem>, Status> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        let size = bytes.len();
        if size > self.max_message_bytes {
            return Ok(Some(Err(UndecodedItem {
                inquiry_id: readable_inquiry_id(bytes),
                error: ItemError::TooLarge {
                    size,
                    limit: self.max_message_bytes,
                },
            })));
        }
        Ok(Some(SubmitRequest::decode(bytes.clone()).map_err(
            |error| UndecodedItem {
                inquiry_id: readable_inquiry_id(bytes),
                error: ItemError::Undecodable(error),
            },
        )))
    }
}

/// A SubmitRequest reduced to its inquiry id, read as bytes: what can be read of an item that
/// does not decode as a whole.
#[derive(Clone, PartialEq, Message)]
struct InquiryIdOf {
    #[prost(message, optional, tag = "1")]
    inquiry: Option<InquiryId>,
}

#[derive(Clone, PartialEq, Message)]
struct InquiryId {
    #[prost(bytes = "vec", tag = "1")]
    inquiry_id: Vec<u8>,
}

/// The item's inquiry id when its encoding and the id itself are readable, else empty.
fn readable_inquiry_id(item: Bytes) -> String {
    InquiryIdOf::decode(item)
        .ok()
        .and_then(|item| item.inquiry)
        .and_then(|inquiry| String::from_utf8(inquiry.inquiry_id).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::Inquiry;

    fn request(id: &str) -> SubmitRequest {
        SubmitRequest {
            inquiry: Some(Inquiry {
                inquiry_id: id.to_owned(),
                body: "is invoice 1042 paid?".to_owned(),
                ..Default::default()
            }),
        }
    }

    /// The id is read from an item whose other fields are broken, and never guessed.
    #[test]
    fn reads_the_inquiry_id_of_an_item_that_does_not_decode() {
        let mut bad_body = request("q-1").encode_to_vec();
        let at = bad_body.len() - 3;
        bad_body[at] = 0xff;
        assert!(SubmitRequest::decode(bad_body.as_slice()).is_err());
        assert_eq!(readable_inquiry_id(Bytes::from(bad_body)), "q-1");
        let mut bad_id = request("q-2").encode_to_vec();
        let at = bad_id.iter().position(|b| *b == b'2').unwrap();
        bad_id[at] = 0xfe;
        assert_eq!(readable_inquiry_id(Bytes::from(bad_id)), "");
        assert_eq!(readable_inquiry_id(Bytes::from_static(&[0x08, 0x07])), "");
        assert_eq!(readable_inquiry_id(Bytes::from_static(&[0x0a, 0x30])), "");
    }
}
