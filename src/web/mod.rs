//! The HTTP pages triage serves on `http_listen`, apart from gRPC: today the feedback page a
//! client rates an answer on through a signed link (`feedback.rs`); the console to come joins
//! the same [`router`]. Pages are plain HTML forms (no script), every value from a client or a
//! record escaped ([`escape`]); a request body over [`MAX_BODY_BYTES`] is refused (413). With
//! `[tls]` the listener serves the same certificates as gRPC.

mod feedback;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::helpdesk::Helpdesk;
use crate::telemetry::Metrics;
use crate::tls::{Protocol, ServerTls};

/// The largest request body accepted: a rating form with a full comment fits many times.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// What the pages work with.
pub struct WebState {
    pub helpdesk: Arc<Helpdesk>,
    pub metrics: Arc<Metrics>,
}

/// Every page, over `state`.
pub fn router(state: WebState) -> Router {
    Router::new()
        .merge(feedback::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(state))
}

/// Serves `router` on `listener` (over `tls` when given) until the process ends.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    router: Router,
) -> io::Result<()> {
    match tls {
        None => axum::serve(listener, router).await,
        Some(tls) => {
            let local = listener.local_addr()?;
            let incoming = tls.incoming(listener, Protocol::Http1);
            axum::serve(TlsListener { incoming, local }, router).await
        }
    }
}

/// The TLS connections of a listener, once their handshakes are done.
struct TlsListener {
    incoming: ReceiverStream<io::Result<TlsStream<TcpStream>>>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.incoming.next().await {
                Some(Ok(stream)) => {
                    let peer = stream.get_ref().0.peer_addr().unwrap_or(self.local);
                    return (stream, peer);
                }
                Some(Err(error)) => tracing::debug!(%error, "connection not accepted"),
                // The acceptor stopped: no connection will come.
                None => std::future::pending::<()>().await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// `text` safe inside HTML text and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markup and quotes in a value come out as text.
    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
