//! The feedback page: `GET /feedback/{token}` shows the rating form of the inquiry the signed
//! link names (CSAT 1–5, CES 1–7, a comment), `POST` records it (source `link`) and thanks the
//! client. A forged token gets 403, an expired one 410, each with a page saying so; a rating the
//! rules refuse (the inquiry not answered, the change window closed) gets a page saying why.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::{WebState, escape};
use crate::feedback::{LinkError, MAX_COMMENT_BYTES, Rating, Source};
use crate::helpdesk::{Helpdesk, HelpdeskError};

/// The feedback page's routes.
pub(super) fn routes() -> Router<Arc<WebState>> {
    Router::new().route("/feedback/{token}", get(show_form).post(record_rating))
}

/// The CSAT question and its answers, worst first.
const CSAT_QUESTION: &str = "How satisfied are you with the answer you received?";
const CSAT_LABELS: [&str; 5] = [
    "Very dissatisfied",
    "Dissatisfied",
    "Neither satisfied nor dissatisfied",
    "Satisfied",
    "Very satisfied",
];

/// The CES statement and its answers, from disagreement to agreement.
const CES_QUESTION: &str = "The helpdesk made it easy for me to handle my issue.";
const CES_LABELS: [&str; 7] = [
    "Strongly disagree",
    "Disagree",
    "Somewhat disagree",
    "Neither agree nor disagree",
    "Somewhat agree",
    "Agree",
    "Strongly agree",
];

async fn show_form(State(state): State<Arc<WebState>>, Path(token): Path<String>) -> Response {
    match state.helpdesk.feedback_link_target(&token) {
        Ok(target) => page(
            StatusCode::OK,
            "Rate our answer",
            &form(&target.inquiry_id, None),
        ),
        Err(error) => link_refused(error),
    }
}

async fn record_rating(
    State(state): State<Arc<WebState>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let target = match state.helpdesk.feedback_link_target(&token) {
        Ok(target) => target,
        Err(error) => return link_refused(error),
    };
    let rating = match rating_from_form(&body) {
        Ok(rating) => rating,
        Err(problem) => {
            let body = form(&target.inquiry_id, Some(&problem));
            return page(StatusCode::BAD_REQUEST, "Rate our answer", &body);
        }
    };
    let caller = Helpdesk::link_caller(&target);
    match state
        .helpdesk
        .rate(&caller, &target.inquiry_id, rating, Source::Link)
        .await
    {
        Ok(record) => {
            state.metrics.observe_rating(&record);
            let said = if record.changes > 0 {
                "Your rating was changed."
            } else {
                "Your rating was recorded."
            };
            page(
                StatusCode::OK,
                "Thank you",
                &format!("<p>{said} Thank you for telling us how we did.</p>"),
            )
        }
        Err(error) => rating_refused(&error),
    }
}

/// The page of a link that is not accepted.
fn link_refused(error: LinkError) -> Response {
    let (status, text) = match error {
        LinkError::Forged => (
            StatusCode::FORBIDDEN,
            "This feedback link is not valid. Please use the link from our reply as it was sent.",
        ),
        LinkError::Expired => (
            StatusCode::GONE,
            "This feedback link has expired: answers can be rated for a limited time only.",
        ),
    };
    page(status, "Link not accepted", &format!("<p>{text}</p>"))
}

/// The page of a rating the helpdesk refused, with the status its kind maps to.
fn rating_refused(error: &HelpdeskError) -> Response {
    let status = super::status_of(error.kind());
    let text = if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(%error, "recording a rating through the link failed");
        "Your rating could not be recorded. Please try again later.".to_owned()
    } else {
        tracing::info!(%error, "rating through the link refused");
        format!(
            "Your rating could not be recorded: {}",
            escape(&error.to_string())
        )
    };
    page(status, "Rating not recorded", &format!("<p>{text}</p>"))
}

/// The rating a submitted form holds, or what is wrong with it, in words for the client.
fn rating_from_form(body: &[u8]) -> Result<Rating, String> {
    let mut csat = None;
    let mut ces = None;
    let mut comment = None;
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "csat" => csat = Some(value.into_owned()),
            "ces" => ces = Some(value.into_owned()),
            "comment" => comment = Some(value.into_owned()),
            _ => {}
        }
    }
    let score = |value: Option<String>, max: u8| {
        value
            .filter(|value| !value.is_empty())
            .map(|value| {
                value
                    .parse::<u8>()
                    .ok()
                    .filter(|score| (1..=max).contains(score))
                    .ok_or(())
            })
            .transpose()
    };
    let csat = score(csat, 5)
        .ok()
        .flatten()
        .ok_or("Please choose how satisfied you are, from 1 to 5.")?;
    let ces = score(ces, 7).map_err(|()| "Please choose an answer from 1 to 7, or none.")?;
    if comment
        .as_ref()
        .is_some_and(|c| c.len() > MAX_COMMENT_BYTES)
    {
        return Err(format!(
            "Please shorten your comment to {MAX_COMMENT_BYTES} characters."
        ));
    }
    Ok(Rating { csat, ces, comment })
}

/// The rating form of `inquiry_id`, with `problem` above it when the last one was refused.
fn form(inquiry_id: &str, problem: Option<&str>) -> String {
    let mut html = String::new();
    if let Some(problem) = problem {
        html += &format!("<p role=\"alert\"><strong>{}</strong></p>", escape(problem));
    }
    html += &format!(
        "<p>Your inquiry <code>{}</code> was answered. Please tell us how we did.</p>\
         <form method=\"post\">",
        escape(inquiry_id)
    );
    html += &radio_group("csat", CSAT_QUESTION, &CSAT_LABELS, true);
    html += &radio_group("ces", CES_QUESTION, &CES_LABELS, false);
    html += &format!(
        "<p><label for=\"comment\">Anything you would like to add? (optional)</label><br>\
         <textarea id=\"comment\" name=\"comment\" rows=\"4\" cols=\"60\" maxlength=\"{MAX_COMMENT_BYTES}\"></textarea></p>\
         <p><button type=\"submit\">Send</button></p></form>"
    );
    html
}

/// A fieldset of radio buttons `name` = 1…n, each with its label.
fn radio_group(name: &str, question: &str, labels: &[&str], required: bool) -> String {
    let mut html = format!("<fieldset><legend>{}</legend>", escape(question));
    for (index, label) in labels.iter().enumerate() {
        let value = index + 1;
        let required = if required && index == 0 {
            " required"
        } else {
            ""
        };
        html += &format!(
            "<div><input type=\"radio\" id=\"{name}-{value}\" name=\"{name}\" value=\"{value}\"{required}>\
             <label for=\"{name}-{value}\">{value} – {}</label></div>",
            escape(label)
        );
    }
    html + "</fieldset>"
}

/// A whole page with `status`, `title` and the HTML `body`; never cached, never framed, and
/// sending no referrer (the link's token is in the address).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}\
         fieldset{{margin:1rem 0}}</style></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title)
    );
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            ),
        ],
        Html(html),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form's scores and comment are read; a missing or out-of-range score is refused.
    #[test]
    fn forms_are_read_into_ratings() {
        let rating = rating_from_form(b"csat=4&ces=6&comment=quick+%26+clear").unwrap();
        assert_eq!(
            rating,
            Rating {
                csat: 4,
                ces: Some(6),
                comment: Some("quick & clear".into())
            }
        );
        assert_eq!(rating_from_form(b"csat=5&ces=").unwrap().ces, None);
        assert!(rating_from_form(b"ces=3").is_err());
        assert!(rating_from_form(b"csat=6").is_err());
        assert!(rating_from_form(b"csat=3&ces=9").is_err());
    }

    /// The form labels every answer and escapes the inquiry id.
    #[test]
    fn the_form_is_labelled_and_escaped() {
        let html = form("<q1@mail.example>", None);
        assert!(html.contains("&lt;q1@mail.example&gt;"), "{html}");
        assert!(!html.contains("<q1@"), "{html}");
        assert_eq!(html.matches("<label for=\"csat-").count(), 5);
        assert_eq!(html.matches("<label for=\"ces-").count(), 7);
        assert!(html.contains("<label for=\"comment\">"));
    }
}
