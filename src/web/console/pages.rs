//! What every console page shares (the frame: title, who is signed in, the live-update
//! stream) and the pages of no role: home, sign-in, sign-out, and the page of a refusal.

use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::session::{SignedIn, random_hex, same_token};
use super::{CSRF_FIELD, Posted, SESSION_COOKIE, SIGN_IN_COOKIE, Session, cookie, set_cookie};
use crate::helpdesk::Role;
use crate::web::{Peer, WebState};

/// The frame of a page.
pub struct Chrome {
    pub title: String,
    pub user: Option<User>,
    /// The live-update stream the page listens to.
    pub events: Option<String>,
}

/// Who is signed in, as the frame shows it.
pub struct User {
    pub name: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub csrf: String,
}

impl Chrome {
    /// The frame of a page of session `signed_in`, listening to `events` when given.
    pub fn signed_in(
        title: impl Into<String>,
        signed_in: &SignedIn,
        events: Option<String>,
    ) -> Self {
        let role = match signed_in.caller.role {
            Role::Admin => "lead",
            Role::Specialist => "specialist",
            Role::Submitter => "submitter",
        };
        Self {
            title: title.into(),
            user: Some(User {
                name: signed_in.caller.name.clone(),
                role,
                is_admin: signed_in.caller.role == Role::Admin,
                csrf: signed_in.csrf.clone(),
            }),
            events,
        }
    }

    /// The CSRF token the page's forms post back.
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map_or("", |user| user.csrf.as_str())
    }

    fn anonymous(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            user: None,
            events: None,
        }
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    chrome: Chrome,
    text: &'a str,
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    chrome: Chrome,
    csrf: &'a str,
    problem: Option<&'a str>,
}

/// `template` rendered with `status`.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a console page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page did not render").into_response()
        }
    }
}

/// The page saying why a request was refused.
pub fn refused(status: StatusCode, text: &str) -> Response {
    let page = MessagePage {
        chrome: Chrome::anonymous("Not done"),
        text,
    };
    render(status, &page)
}

/// `/console`: the signed-in caller's start page (the lead's dashboard for an admin, else the
/// queues), or the sign-in form.
pub async fn home(session: Option<Session>) -> Redirect {
    match session {
        Some(Session(signed_in)) if signed_in.caller.role == Role::Admin => {
            Redirect::to("/console/lead")
        }
        Some(_) => Redirect::to("/console/queues"),
        None => Redirect::to("/console/sign-in"),
    }
}

/// The sign-in form, with a fresh double-submitted CSRF token in a cookie and the form.
pub async fn sign_in_form(State(state): State<Arc<WebState>>) -> Response {
    sign_in_page(&state, StatusCode::OK, None)
}

fn sign_in_page(state: &WebState, status: StatusCode, problem: Option<&str>) -> Response {
    let Ok(csrf) = random_hex() else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Signing in is not possible now.",
        );
    };
    let page = SignInPage {
        chrome: Chrome::anonymous("Sign in"),
        csrf: &csrf,
        problem,
    };
    let mut response = render(status, &page);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &csrf, 3600, state.tls),
    );
    response
}

/// Signs in with the posted token: a new session in a cookie, then the start page.
pub async fn sign_in(
    State(state): State<Arc<WebState>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut token = String::new();
    let mut csrf = String::new();
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "token" => token = value.trim().to_owned(),
            CSRF_FIELD => csrf = value.into_owned(),
            _ => {}
        }
    }
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_token(&csrf, expected) {
        return refused(
            StatusCode::FORBIDDEN,
            "This sign-in form was refused: it did not carry its security token. Open the \
             sign-in page again.",
        );
    }
    let caller = match state.auth.authenticate_token(&token, Some(peer)) {
        Ok(who) => who.caller,
        Err(_) => {
            return sign_in_page(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("That token is not valid."),
            );
        }
    };
    if caller.role == Role::Submitter {
        return sign_in_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("This token submits inquiries; the console is for specialists and leads."),
        );
    }
    let Ok(signed_in) = state.console.open(caller, Instant::now()) else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Signing in is not possible now.",
        );
    };
    tracing::info!(caller = %signed_in.caller.name, "signed in to the console");
    let mut response = Redirect::to("/console").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &signed_in.id,
            state.console.lifetime().as_secs(),
            state.tls,
        ),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, "", 0, state.tls),
    );
    response
}

/// Ends the session and removes its cookie.
pub async fn sign_out(State(state): State<Arc<WebState>>, posted: Posted) -> Response {
    state.console.close(&posted.session.id);
    tracing::info!(caller = %posted.session.caller.name, "signed out of the console");
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.tls),
    );
    response
}
