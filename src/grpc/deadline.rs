//! Callers' deadlines (`grpc-timeout`), enforced in front of every RPC: a call whose deadline
//! passes before its response is ready ends with DEADLINE_EXCEEDED, and one whose deadline is
//! already spent when it arrives is refused with it before any work starts. A streaming
//! response is ready as soon as its headers are; the handler reads the deadline from the
//! request's [`CallDeadline`] extension and ends its stream with DEADLINE_EXCEEDED when it
//! passes.
//!
//! tonic's transport also reads `grpc-timeout` and ends an expired call with CANCELLED. This
//! layer runs inside it and starts its clock first, so its deadline is never later than
//! tonic's; and it reads the clock whenever the call is polled rather than trusting its timer
//! alone, because tonic's timer for the same instant may be the one that wakes the call (timers
//! that fire together are woken in no set order). tonic polls this layer before its own timer,
//! so the caller sees the code gRPC prescribes every time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::Instant;
use tonic::codegen::http::{HeaderMap, Request, Response};
use tonic::{Code, Status};

use crate::telemetry::Metrics;
use crate::text::quoted;

/// A timeout shorter than this is spent by the time the call is read.
const SPENT: Duration = Duration::from_micros(10);

/// When the caller's deadline passes: an extension of each request that has one.
#[derive(Debug, Clone, Copy)]
pub struct CallDeadline(pub Instant);

/// The tower layer that puts `Deadlines` in front of the services.
#[derive(Clone)]
pub struct DeadlineLayer {
    metrics: Arc<Metrics>,
}

impl DeadlineLayer {
    /// Counts the calls it ends in `metrics`, as the services count theirs.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadlines<S>;

    fn layer(&self, inner: S) -> Deadlines<S> {
        Deadlines {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// Runs each call of `S` under its caller's deadline.
#[derive(Clone)]
pub struct Deadlines<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, RequestBody, ResponseBody> tower::Service<Request<RequestBody>> for Deadlines<S>
where
    S: tower::Service<Request<RequestBody>, Response = Response<ResponseBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResponseBody: Default + Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<RequestBody>) -> Self::Future {
        let started = Instant::now();
        let timeout = match caller_timeout(request.headers()) {
            Ok(None) => return Box::pin(self.inner.call(request)),
            Ok(Some(timeout)) => timeout,
            Err(status) => return Box::pin(std::future::ready(Ok(status.into_http()))),
        };
        let rpc = request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let metrics = Arc::clone(&self.metrics);
        let exceeded = move || {
            metrics.observe_request(&rpc, Code::DeadlineExceeded, started.elapsed());
            Ok(Status::deadline_exceeded(format!(
                "the caller's deadline of {timeout:?} passed before the response"
            ))
            .into_http())
        };
        if timeout < SPENT {
            return Box::pin(std::future::ready(exceeded()));
        }
        let deadline = started + timeout;
        request.extensions_mut().insert(CallDeadline(deadline));
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = std::pin::pin!(response);
            let mut timer = std::pin::pin!(tokio::time::sleep_until(deadline));
            std::future::poll_fn(|cx| {
                if let Poll::Ready(response) = response.as_mut().poll(cx) {
                    return Poll::Ready(response);
                }
                // The clock first: see the module.
                if Instant::now() < deadline {
                    ready!(timer.as_mut().poll(cx));
                }
                Poll::Ready(exceeded())
            })
            .await
        })
    }
}

/// The caller's timeout from the `grpc-timeout` header (`<digits><unit>`, unit one of
/// `H M S m u n`), or INVALID_ARGUMENT naming the header.
fn caller_timeout(headers: &HeaderMap) -> Result<Option<Duration>, Status> {
    let Some(value) = headers.get("grpc-timeout") else {
        return Ok(None);
    };
    let invalid = || {
        Status::invalid_argument(format!(
            "grpc-timeout: {} is not a valid timeout (digits, then one of H M S m u n)",
            quoted(&String::from_utf8_lossy(value.as_bytes()))
        ))
    };
    let text = value.to_str().map_err(|_| invalid())?;
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    if digits.is_empty() || digits.len() > 8 {
        return Err(invalid());
    }
    let amount: u64 = digits.parse().map_err(|_| invalid())?;
    let timeout = match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return Err(invalid()),
    };
    Ok(Some(timeout))
}

#[cfg(test)]
mod tests {
    use tonic::codegen::http::HeaderValue;

    use super::*;

    fn timeout_of(value: &str) -> Result<Option<Duration>, Code> {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", value.parse().unwrap());
        caller_timeout(&headers).map_err(|status| status.code())
    }

    /// A long or binary header is quoted cut short and escaped in the message.
    #[test]
    fn a_bad_header_is_quoted_cut_short() {
        let mut headers = HeaderMap::new();
        let long = format!("{}S", "9".repeat(20_000));
        headers.insert("grpc-timeout", long.parse().unwrap());
        let message = caller_timeout(&headers).unwrap_err().message().to_owned();
        assert!(message.len() < 400, "{} bytes", message.len());
        assert!(message.starts_with("grpc-timeout: \"999"), "{message}");
        headers.insert("grpc-timeout", HeaderValue::from_bytes(b"5\xffS").unwrap());
        let message = caller_timeout(&headers).unwrap_err().message().to_owned();
        assert!(message.contains('\u{fffd}'), "{message}");
    }

    /// Every unit of the gRPC spec reads; anything else is INVALID_ARGUMENT.
    #[test]
    fn reads_the_grpc_timeout_header() {
        assert_eq!(
            caller_timeout(&HeaderMap::new()).map_err(|status| status.code()),
            Ok(None)
        );
        assert_eq!(timeout_of("2H"), Ok(Some(Duration::from_secs(7200))));
        assert_eq!(timeout_of("3M"), Ok(Some(Duration::from_secs(180))));
        assert_eq!(timeout_of("5S"), Ok(Some(Duration::from_secs(5))));
        assert_eq!(timeout_of("250m"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(timeout_of("7u"), Ok(Some(Duration::from_micros(7))));
        assert_eq!(timeout_of("1n"), Ok(Some(Duration::from_nanos(1))));
        for bad in ["", "S", "5", "5s", "-5S", "1.5S", "123456789S"] {
            assert_eq!(timeout_of(bad), Err(Code::InvalidArgument), "{bad:?}");
        }
    }
}
