//! Routes for the template's own tests, mounted only with `HANDOFF_TEST_ROUTES=1` (never by
//! default). The infrastructure tests (shutdown drain, lingering close, smuggling, panics,
//! timeouts) use these and never the examples, so removing the examples keeps them.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use futures_util::stream;
use serde_json::json;

use super::prelude::*;

/// The test routes, each a fresh set (the count starts at 0 for each server).
pub fn routes() -> Router<AppState> {
    let count = Count::default();
    Router::new()
        .route("/__test/panic", get(panic_get))
        .route("/__test/panic-in-body", get(panic_in_body_get))
        .route("/__test/upload", post(upload_post))
        .route(
            "/__test/count",
            get(count_get).post(count_post).layer(Extension(count)),
        )
        .route("/__test/params/{a}/{b}", get(params_get))
        .route("/__test/files/{*rest}", get(files_get))
        .route("/__test/cached", get(cached_get))
}

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

/// `POST /__test/upload`: reads the body as it streams in (any content type) within
/// `bodyLimit` and the request timeout, and answers how many bytes came: `{"bytes":N}`. A
/// declared length over the limit is refused before reading.
pub async fn upload_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut body: Body,
) -> Result<Response, AppError> {
    let limits = state.config.limits(state.config.body_limit);
    let bytes = stream_limited(&headers, &mut body, limits, |_| {}).await?;
    Ok(json(StatusCode::OK, &json!({ "bytes": bytes })))
}

/// The per-server counter of `/__test/count`.
#[derive(Debug, Clone, Default)]
struct Count(Arc<AtomicU64>);

/// `GET /__test/count`: `{"value":N}`.
async fn count_get(Extension(count): Extension<Count>) -> Response {
    let value = count.0.load(Ordering::SeqCst);
    json(StatusCode::OK, &json!({ "value": value }))
}

/// `POST /__test/count`: adds one, answers the new `{"value":N}`.
async fn count_post(Extension(count): Extension<Count>) -> Response {
    let value = count.0.fetch_add(1, Ordering::SeqCst) + 1;
    json(StatusCode::OK, &json!({ "value": value }))
}

/// `GET /__test/params/{a}/{b}`: the decoded parameters and the raw path relative to the base
/// path, to compare how each backend decodes.
async fn params_get(Path((a, b)): Path<(String, String)>, uri: Uri) -> Response {
    json(
        StatusCode::OK,
        &json!({ "a": a, "b": b, "path": uri.path() }),
    )
}

/// `GET /__test/files/{*rest}`: the decoded rest of the path and the raw relative path.
async fn files_get(Path(rest): Path<String>, uri: Uri) -> Response {
    json(StatusCode::OK, &json!({ "rest": rest, "path": uri.path() }))
}

/// `GET /__test/cached`: `{"cached":true}` with its own `Cache-Control: max-age=60`, which the
/// router's `no-store` default leaves alone.
async fn cached_get() -> Response {
    let mut response = json(StatusCode::OK, &json!({ "cached": true }));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60"),
    );
    response
}
