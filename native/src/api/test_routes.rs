//! Routes that fail on purpose, for the robustness tests; mounted only with
//! `HANDOFF_TEST_ROUTES=1` (never by default).

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::stream;

/// `GET /__test/panic`: panics in the handler; the client gets a 500.
pub async fn panic_get() -> Response {
    if std::hint::black_box(true) {
        panic!("a panic on purpose (HANDOFF_TEST_ROUTES)");
    }
    Response::new(Body::empty())
}

/// `GET /__test/panic-in-body`: answers 200, sends a first chunk, then panics while the body
/// streams; the client sees the connection end early.
pub async fn panic_in_body_get() -> Response {
    let chunks = stream::unfold(0u8, |sent| async move {
        if sent == 0 {
            Some((Ok::<_, Infallible>(Bytes::from_static(b"partial ")), 1))
        } else {
            // As a real stream would, let the first chunk go out before failing.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            panic!("a panic on purpose while the body streams (HANDOFF_TEST_ROUTES)");
        }
    });
    let mut response = Response::new(Body::from_stream(chunks));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
