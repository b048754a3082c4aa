//! The HTTP pages triage serves on `http_listen`, apart from gRPC: the feedback page a client
//! rates an answer on through a signed link (`feedback.rs`) and the helpdesk console for
//! specialists and team leads ([`console`]), on one [`router`]. Every value from a client or a
//! record is escaped ([`escape`], or the console templates' auto-escaping); a request body over
//! [`MAX_BODY_BYTES`] is refused (413). With `[tls]` the listener serves the same certificates
//! as gRPC, and the console's cookies are marked Secure.

pub mod console;
mod feedback;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::connect_info::Connected;
use axum::http::StatusCode;
use axum::serve::IncomingStream;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::Authenticator;
use crate::helpdesk::{ErrorKind, Helpdesk};
use crate::telemetry::Metrics;
use crate::tls::{Protocol, ServerTls};

/// The largest request body accepted: a specialist's reply at the largest size an inquiry may
/// have (`max_text_bytes`' default) with its note fits.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the pages work with.
pub struct WebState {
    pub helpdesk: Arc<Helpdesk>,
    pub metrics: Arc<Metrics>,
    /// The gRPC tokens, which the console's sign-in takes.
    pub auth: Arc<Authenticator>,
    /// The console's signed-in sessions.
    pub console: Arc<console::Sessions>,
    /// Whether the listener serves TLS (the console's cookies are then Secure).
    pub tls: bool,
}

impl WebState {
    /// The pages over `helpdesk`, signing in with `auth`'s tokens.
    pub fn new(
        helpdesk: Arc<Helpdesk>,
        metrics: Arc<Metrics>,
        auth: Arc<Authenticator>,
        tls: bool,
    ) -> Self {
        Self {
            helpdesk,
            metrics,
            auth,
            console: Arc::default(),
            tls,
        }
    }

    /// The same, with the console's sessions lasting `lengths` (the defaults otherwise).
    pub fn with_session_lengths(self, lengths: console::SessionLengths) -> Self {
        Self {
            console: Arc::new(console::Sessions::new(lengths)),
            ..self
        }
    }
}

/// Every page, over `state`.
pub fn router(state: WebState) -> Router {
    Router::new()
        .merge(feedback::routes())
        .merge(console::routes())
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
        // The peer's address is known to the pages (the console counts failed sign-ins by it).
        None => {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<Peer>(),
            )
            .await
        }
        Some(tls) => {
            let local = listener.local_addr()?;
            let incoming = tls.incoming(listener, Protocol::Http1);
            axum::serve(
                TlsListener { incoming, local },
                router.into_make_service_with_connect_info::<Peer>(),
            )
            .await
        }
    }
}

/// The address a request came from (the console counts failed sign-ins by it).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Self(*stream.remote_addr())
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

/// The HTTP status of a refusal of `kind`.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::FailedPrecondition => StatusCode::CONFLICT,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
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
