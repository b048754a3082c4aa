//! The gRPC protocol's edges: callers' deadlines on unary and streaming calls, bad items inside
//! a SubmitStream, clients streaming as fast as they can, and shutdown with streams open.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{TestServer, agency_config, inquiry};
use prost::Message as _;
use prost::bytes::BufMut as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::codec::{EncodeBuf, Encoder};
use tonic::codegen::http;
use triage::proto::v1 as pb;
use triage::proto::v1::submit_stream_response::Result as Item;
use triage::proto::v1::triage_service_client::TriageServiceClient;

/// How long a test waits for what must happen before calling it a hang.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A gRPC transport that keeps no timer: tonic's own client also enforces `grpc-timeout`, and
/// its timer could answer before the server does. Over this one, every status is the server's.
#[derive(Clone)]
struct Untimed(hyper::client::conn::http2::SendRequest<tonic::body::Body>);

impl tower::Service<http::Request<tonic::body::Body>> for Untimed {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

/// A triage client over [`Untimed`].
async fn untimed_client(server: &TestServer) -> TriageServiceClient<Untimed> {
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let origin = format!("http://{}", server.addr).parse().expect("origin");
    TriageServiceClient::with_origin(Untimed(sender), origin)
}

/// `message` with the caller's deadline header set to `timeout` (as the wire spells it).
fn with_deadline<T>(timeout: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("grpc-timeout", timeout.parse().expect("ascii"));
    request
}

/// An expert inquiry: its ticket waits for a durable commit, so a 1 ms deadline passes while
/// the server works on it.
fn expert(id: &str) -> pb::SubmitRequest {
    inquiry(id, "acme", "what should the SEO report focus on?")
}

/// A spent or passing deadline is DEADLINE_EXCEEDED every time, never CANCELLED: on Submit
/// (spent on arrival, or passing mid-work) and on a SubmitStream that is still open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_end_calls_with_deadline_exceeded_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let mut client = untimed_client(&server).await;
    for attempt in 0..40 {
        let spent = client
            .submit(with_deadline("1u", expert(&format!("spent-{attempt}"))))
            .await
            .unwrap_err();
        assert_eq!(spent.code(), Code::DeadlineExceeded, "{spent:?}");

        let passing = client
            .submit(with_deadline("1m", expert(&format!("passing-{attempt}"))))
            .await;
        if let Err(status) = passing {
            assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        }

        let spent_stream = client
            .submit_stream(with_deadline("1u", tokio_stream::pending()))
            .await
            .unwrap_err();
        assert_eq!(
            spent_stream.code(),
            Code::DeadlineExceeded,
            "{spent_stream:?}"
        );
    }
    // The same, 40 at once: the deadline passes while the server is busy.
    let at_once: Vec<_> = (0..40)
        .map(|n| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .submit(with_deadline("1m", expert(&format!("busy-{n}"))))
                    .await
            })
        })
        .collect();
    for call in at_once {
        if let Err(status) = call.await.unwrap() {
            assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        }
    }
    // A stream the caller keeps open ends when its deadline passes, whatever it was doing.
    for attempt in 0..10 {
        let (requests, outbound) = mpsc::channel(1);
        requests
            .send(expert(&format!("streamed-{attempt}")))
            .await
            .unwrap();
        let opened = client
            .submit_stream(with_deadline("20m", ReceiverStream::new(outbound)))
            .await;
        let ended = match opened {
            Err(status) => status,
            Ok(response) => {
                let mut responses = response.into_inner();
                let end = async {
                    loop {
                        match responses.message().await {
                            Ok(Some(_)) => continue,
                            Ok(None) => panic!("the stream ended OK past its deadline"),
                            Err(status) => break status,
                        }
                    }
                };
                tokio::time::timeout(HANG_GUARD, end)
                    .await
                    .expect("the stream outlived its deadline")
            }
        };
        assert_eq!(ended.code(), Code::DeadlineExceeded, "{ended:?}");
        drop(requests);
    }
    server.stop().await;
}

/// Sends pre-encoded messages as they are, so that a test can send what no encoder would.
#[derive(Debug, Clone, Default)]
struct RawItems;

impl tonic::codec::Codec for RawItems {
    type Encode = Vec<u8>;
    type Decode = pb::SubmitStreamResponse;
    type Encoder = RawEncoder;
    type Decoder = tonic_prost::ProstDecoder<pb::SubmitStreamResponse>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

#[derive(Debug, Clone)]
struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

/// An inquiry as a broken encoder writes it: string fields as raw bytes, not always UTF-8.
#[derive(Clone, PartialEq, prost::Message)]
struct RawInquiry {
    #[prost(bytes = "vec", tag = "1")]
    inquiry_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    client_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    body: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawSubmitRequest {
    #[prost(message, optional, tag = "1")]
    inquiry: Option<RawInquiry>,
}

fn raw(id: &[u8], body: &[u8]) -> Vec<u8> {
    RawSubmitRequest {
        inquiry: Some(RawInquiry {
            inquiry_id: id.to_vec(),
            client_id: b"acme".to_vec(),
            body: body.to_vec(),
        }),
    }
    .encode_to_vec()
}

/// Field 1 as a number where SubmitRequest has a message: not a SubmitRequest at all.
#[derive(Clone, PartialEq, prost::Message)]
struct WrongWireType {
    #[prost(uint64, tag = "1")]
    inquiry: u64,
}

/// Opens a SubmitStream sending `items` as they are and returns every response and how the
/// stream ended.
async fn stream_raw(
    server: &TestServer,
    items: Vec<Vec<u8>>,
) -> (Vec<pb::SubmitStreamResponse>, Result<(), tonic::Status>) {
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let opened = grpc
        .streaming(
            tonic::Request::new(tokio_stream::iter(items)),
            http::uri::PathAndQuery::from_static("/triage.v1.TriageService/SubmitStream"),
            RawItems,
        )
        .await;
    let mut responses = match opened {
        Ok(response) => response.into_inner(),
        Err(status) => return (Vec::new(), Err(status)),
    };
    let mut received = Vec::new();
    let end = loop {
        match tokio::time::timeout(HANG_GUARD, responses.message())
            .await
            .expect("the stream hangs")
        {
            Ok(Some(response)) => received.push(response),
            Ok(None) => break Ok(()),
            Err(status) => break Err(status),
        }
    };
    (received, end)
}

/// The error a stream answered `inquiry_id` with.
fn error_of<'a>(
    responses: &'a [pb::SubmitStreamResponse],
    inquiry_id: &str,
) -> &'a pb::StreamError {
    let found: Vec<_> = responses
        .iter()
        .filter(|r| r.inquiry_id == inquiry_id)
        .collect();
    match found.as_slice() {
        [
            pb::SubmitStreamResponse {
                result: Some(Item::Error(error)),
                ..
            },
        ] => error,
        other => panic!("{inquiry_id:?}: expected one error, got {other:?}"),
    }
}

/// A bad item inside a SubmitStream (invalid UTF-8, undecodable, over the message limit) gets
/// its own INVALID_ARGUMENT or OUT_OF_RANGE error and the stream goes on with the next items;
/// an item too large even to be skipped ends the stream with OUT_OF_RANGE, never with OK.
#[tokio::test]
async fn a_bad_stream_item_gets_its_own_error_and_the_stream_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(dir.path());
    config.max_message_bytes = 4 * 1024;
    let server = TestServer::start(config).await;
    let good = |id: &str| inquiry(id, "acme", "is invoice 1042 paid?").encode_to_vec();
    let items = vec![
        good("g1"),
        raw(b"bad-body", b"is invoice \xff\xfe paid?"),
        good("g2"),
        raw(b"bad-\xffid", b"is invoice 1042 paid?"),
        good("g3"),
        WrongWireType { inquiry: 7 }.encode_to_vec(),
        good("g4"),
        raw(b"too-large", &[b'a'; 6 * 1024]),
        good("g5"),
    ];
    let (responses, end) = stream_raw(&server, items).await;
    assert!(end.is_ok(), "{end:?}");
    assert_eq!(responses.len(), 9, "{responses:#?}");
    for id in ["g1", "g2", "g3", "g4", "g5"] {
        assert!(
            responses
                .iter()
                .any(|r| r.inquiry_id == id && matches!(r.result, Some(Item::Response(_)))),
            "{id} was not decided: {responses:#?}"
        );
    }
    let bad_body = error_of(&responses, "bad-body");
    assert_eq!(bad_body.code, Code::InvalidArgument as i32, "{bad_body:?}");
    assert!(bad_body.message.contains("UTF-8"), "{bad_body:?}");
    // Neither item has a readable inquiry id: both are answered under the empty one.
    let unreadable: Vec<_> = responses
        .iter()
        .filter(|r| r.inquiry_id.is_empty())
        .collect();
    assert_eq!(unreadable.len(), 2, "{unreadable:#?}");
    for response in unreadable {
        let Some(Item::Error(error)) = &response.result else {
            panic!("{response:?}");
        };
        assert_eq!(error.code, Code::InvalidArgument as i32, "{error:?}");
        assert!(error.message.contains("does not decode"), "{error:?}");
    }
    let too_large = error_of(&responses, "too-large");
    assert_eq!(too_large.code, Code::OutOfRange as i32, "{too_large:?}");
    assert!(too_large.message.contains("4096"), "{too_large:?}");

    // Past what the stream can skip, it ends with OUT_OF_RANGE after what came before.
    let huge = raw(b"huge", &vec![b'a'; 64 * 1024]);
    let (responses, end) = stream_raw(&server, vec![good("h1"), huge, good("h2")]).await;
    let status = end.expect_err("the stream ended OK after an item it could not read");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        responses.iter().all(|r| r.inquiry_id != "h2"),
        "{responses:#?}"
    );
    server.stop().await;
}

/// Streams `count` direct inquiries over `channel` as fast as the client can send them, each
/// on its own as a producer hands it over, without waiting for answers; returns how many
/// decisions came back before the stream ended, or how it failed.
async fn stream_flat_out(
    channel: tonic::transport::Channel,
    prefix: String,
    count: usize,
) -> Result<usize, tonic::Status> {
    let (requests, outbound) = mpsc::channel(1);
    let producer = tokio::spawn(async move {
        for n in 0..count {
            let item = inquiry(&format!("{prefix}-{n}"), "acme", "is invoice 1042 paid?");
            if requests.send(item).await.is_err() {
                break;
            }
        }
    });
    let mut responses = TriageServiceClient::new(channel)
        .submit_stream(ReceiverStream::new(outbound))
        .await?
        .into_inner();
    let mut decided = 0;
    while let Some(response) = responses.message().await? {
        match response.result {
            Some(Item::Response(_)) => decided += 1,
            other => panic!("{}: {other:?}", response.inquiry_id),
        }
    }
    producer.abort();
    Ok(decided)
}

/// A client streaming as fast as it can is served: every item of a flat-out stream gets its
/// decision; the server holds the client back by flow control, never by closing the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_streaming_flat_out_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let decided = stream_flat_out(server.channel().await, "solo".into(), 10_000).await;
    assert_eq!(decided.map_err(|s| s.to_string()), Ok(10_000));
    server.stop().await;
}

/// 40 flat-out streams of 300 items at once on one connection: every item of every stream gets
/// its decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_flat_out_streams_on_one_connection_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(agency_config(dir.path())).await;
    let channel = server.channel().await;
    let streams: Vec<_> = (0..40)
        .map(|s| tokio::spawn(stream_flat_out(channel.clone(), format!("s{s}"), 300)))
        .collect();
    let mut failed = Vec::new();
    for (s, stream) in streams.into_iter().enumerate() {
        match tokio::time::timeout(HANG_GUARD, stream).await {
            Ok(Ok(Ok(300))) => {}
            Ok(Ok(other)) => failed.push(format!("stream {s}: {other:?}")),
            Ok(Err(panic)) => failed.push(format!("stream {s}: {panic}")),
            Err(_) => failed.push(format!("stream {s}: hangs")),
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 40 failed: {failed:#?}",
        failed.len()
    );
    server.stop().await;
}

/// On shutdown an open SubmitStream stops admitting: the items it admitted are answered, then
/// it ends with UNAVAILABLE although the caller keeps sending, and the server stops as soon as
/// nothing is in flight, long before its grace period (an hour here) ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_open_streams_after_answering_what_they_admitted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = agency_config(dir.path());
    config.shutdown_grace_seconds = 3600;
    let server = TestServer::start(config).await;
    let app = server.app.clone();
    let (requests, outbound) = mpsc::channel(16);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Bounded, and far more than the server decides before it is told to stop.
    let to_send = 200_000;
    let producer = {
        let sent = sent.clone();
        tokio::spawn(async move {
            for n in 0..to_send {
                if requests.send(expert(&format!("late-{n}"))).await.is_err() {
                    break;
                }
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    let mut responses = server
        .triage()
        .await
        .submit_stream(ReceiverStream::new(outbound))
        .await
        .unwrap()
        .into_inner();
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < 20 {
        let response = responses.message().await.unwrap().expect("a decision");
        assert!(
            matches!(response.result, Some(Item::Response(_))),
            "{response:?}"
        );
        answered.insert(response.inquiry_id);
    }

    let stopping = tokio::spawn(server.stop());
    let end = tokio::time::timeout(HANG_GUARD, async {
        loop {
            match responses.message().await {
                Ok(Some(response)) => {
                    assert!(
                        matches!(response.result, Some(Item::Response(_))),
                        "{response:?}"
                    );
                    assert!(answered.insert(response.inquiry_id.clone()), "{response:?}");
                }
                Ok(None) => break Ok(()),
                Err(status) => break Err(status),
            }
        }
    })
    .await
    .expect("the stream stays open after shutdown");
    let status = end.expect_err("the stream ended OK while the caller was still sending");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    tokio::time::timeout(HANG_GUARD, stopping)
        .await
        .expect("the server waits for its grace period with nothing in flight")
        .unwrap();
    producer.await.unwrap();
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        sent < to_send,
        "the caller ran out of items before the stream ended"
    );
    assert!(
        sent > answered.len(),
        "admission never stopped: {sent} sent, all answered"
    );
    // Every ticket the server made was answered: nothing was decided without its reply.
    let stats = app.helpdesk.all_queue_stats().await.unwrap();
    let tickets: u64 = stats.iter().map(|s| s.ready + s.leased).sum();
    assert_eq!(tickets, answered.len() as u64);
}
