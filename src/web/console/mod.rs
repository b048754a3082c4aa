//! The helpdesk console under `/console`: the page a specialist keeps open all day (my queues,
//! claim next, the ticket with its thread, client and decision; reply and resolve, release,
//! reroute, extend) and the one a team lead glances at (every queue live, dead letters with
//! redrive and discard, ratings by queue). Every action is a call of the domain API
//! ([`Helpdesk`](crate::helpdesk::Helpdesk)); the console only signs in, renders and maps errors.
//!
//! Design:
//! - **Server-side pages.** HTML from [askama](https://askama.rs) templates (`templates/console/`),
//!   compiled into the binary and checked at build time; every value is HTML-escaped unless a
//!   template says otherwise (none does), so client text is inert wherever it shows. Forms
//!   are plain HTML forms that work without script.
//! - **Live updates by Server-Sent Events.** `GET /console/events` streams a `change` event
//!   whenever the helpdesk changes a ticket ([`Helpdesk::changes`](crate::helpdesk::Helpdesk::changes))
//!   or someone opens or leaves a ticket page. The script (`static/console.js`, hand-written,
//!   compiled in with `include_str!`) then fetches the page again and swaps its `data-live`
//!   regions, so the server renders one way for both; it also ticks SLA countdowns, shows the
//!   banner when the ticket changes under its viewer, and binds the keyboard shortcuts.
//! - **A strict Content-Security-Policy.** No inline script or style: script and style come
//!   from `/console/static/` only (`default-src 'none'`), so markup that slipped through could
//!   still run nothing. Pages are never cached or framed and send no referrer outside.
//! - **Sessions on the server** ([`session`]): sign-in posts a bearer token (the same tokens and
//!   roles as gRPC, checked by the same [`Authenticator`](crate::auth::Authenticator)); the
//!   session id travels in an HttpOnly, SameSite=Strict cookie (Secure under TLS) and never in
//!   an address; every POST carries the session's CSRF token or is refused (403), the sign-in
//!   form a double-submitted one; lease tokens stay in the session.

mod assets;
mod charts;
mod format;
mod lead;
mod live;
mod pages;
pub mod session;
mod specialist;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::WebState;
use crate::helpdesk::HelpdeskError;
pub use session::{SessionLengths, Sessions};
use session::{SignedIn, same_token};

/// The cookie that names a session.
const SESSION_COOKIE: &str = "triage_console";

/// The cookie of the sign-in form's double-submitted CSRF token.
const SIGN_IN_COOKIE: &str = "triage_console_sign_in";

/// The form field every POST carries its CSRF token in.
const CSRF_FIELD: &str = "csrf";

/// The console's routes.
pub(super) fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/console", get(pages::home))
        .route(
            "/console/sign-in",
            get(pages::sign_in_form).post(pages::sign_in),
        )
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console/queues", get(specialist::queues))
        .route("/console/queues/{queue}/claim", post(specialist::claim))
        .route("/console/tickets/{ticket_id}", get(specialist::ticket))
        .route(
            "/console/tickets/{ticket_id}/{action}",
            post(specialist::act),
        )
        .route("/console/lead", get(lead::dashboard))
        .route(
            "/console/dead-letters/{ticket_id}/{action}",
            post(lead::dead_letter),
        )
        .route("/console/events", get(live::events))
        .route("/console/static/{file}", get(assets::file))
        .layer(axum::middleware::map_response(secured))
}

/// Every console response: never cached, framed or sniffed, no referrer sent outside, and no
/// script or style but the console's own files.
async fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The value of cookie `name` in a request's headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for the console's path: HttpOnly, SameSite=Strict, Secure under TLS;
/// `max_age` seconds (0 removes it).
fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    // Names and values are fixed words and hex.
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

/// The session a request belongs to; a page request without one is sent to sign in.
pub struct Session(pub SignedIn);

impl FromRequestParts<Arc<WebState>> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|id| state.console.get(id, Instant::now()))
            .map(Session)
            .ok_or_else(|| Redirect::to("/console/sign-in").into_response())
    }
}

impl axum::extract::OptionalFromRequestParts<Arc<WebState>> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<WebState>,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|id| state.console.get(id, Instant::now()))
            .map(Session))
    }
}

/// A form posted within a session, its CSRF token checked: a POST without the session's token
/// (or without a session) is refused with 403 before any handler runs.
pub struct Posted {
    pub session: SignedIn,
    fields: Vec<(String, String)>,
}

impl Posted {
    /// The value of field `name`, trimmed; empty when absent.
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.trim())
    }
}

impl FromRequest<Arc<WebState>> for Posted {
    type Rejection = Response;

    async fn from_request(
        request: Request,
        state: &Arc<WebState>,
    ) -> Result<Self, Self::Rejection> {
        let session = cookie(request.headers(), SESSION_COOKIE)
            .and_then(|id| state.console.get(id, Instant::now()));
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(session) = session else {
            return Err(pages::refused(
                StatusCode::FORBIDDEN,
                "Your session has ended. Please sign in again.",
            ));
        };
        let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let presented = fields
            .iter()
            .find(|(key, _)| key == CSRF_FIELD)
            .map_or("", |(_, value)| value.as_str());
        if !same_token(presented, &session.csrf) {
            tracing::warn!(caller = %session.caller.name, "console form without its CSRF token refused");
            return Err(pages::refused(
                StatusCode::FORBIDDEN,
                "This form was refused: it did not carry this session's security token. \
                 Reload the page and try again.",
            ));
        }
        Ok(Self { session, fields })
    }
}

/// The page of an action the helpdesk refused, with the status its kind maps to.
fn helpdesk_refused(error: &HelpdeskError) -> Response {
    let status = super::status_of(error.kind());
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(%error, "a console action failed");
        return pages::refused(
            status,
            "Something went wrong on the server. Please try again.",
        );
    }
    tracing::info!(%error, "console action refused");
    pages::refused(status, &error.to_string())
}
