//! The web pages, embedded in the binary: the demo store page, the widget script, the agent
//! console and the admin page. Plain HTML/CSS/JS from `web/`; no build step, no CDN.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

const INDEX: &str = include_str!("../../web/index.html");
const WIDGET: &str = include_str!("../../web/widget.js");
const AGENT: &str = include_str!("../../web/agent.html");
const ADMIN: &str = include_str!("../../web/admin.html");

/// Pages run only their own inline code and talk only to this origin; consoles are never framed.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

fn page(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the demo store with the widget on it.
pub async fn index() -> Response {
    page(INDEX)
}

/// `GET /agent`: the agent console.
pub async fn agent() -> Response {
    page(AGENT)
}

/// `GET /admin`: the admin page.
pub async fn admin() -> Response {
    page(ADMIN)
}

/// `GET /widget.js`: the embeddable widget (any site may load it).
pub async fn widget() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        WIDGET,
    )
        .into_response()
}
