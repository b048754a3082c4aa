//! The console's script and style sheet, compiled into the binary: the only script and style
//! the Content-Security-Policy lets a console page load.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The script: live regions, SLA countdowns, the change banner, keyboard shortcuts.
const SCRIPT: &str = include_str!("static/console.js");

/// The style sheet.
const STYLE: &str = include_str!("static/console.css");

/// `GET /console/static/{file}`.
pub async fn file(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "console.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "console.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
