//! `GET /counter` and `POST /counter`: a counter per server (each time the routes are built),
//! atomic across threads. It shows state a route keeps without a static: an `Extension`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::api::prelude::*;

/// The counter's value, shared by the worker threads.
#[derive(Debug, Clone, Default)]
struct Counter(Arc<AtomicU64>);

/// `/counter` with a counter of its own, starting at 0.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/counter",
        get(counter_get)
            .post(counter_post)
            .layer(Extension(Counter::default())),
    )
}

/// Reads the counter.
async fn counter_get(Extension(counter): Extension<Counter>) -> Response {
    let value = counter.0.load(Ordering::SeqCst);
    json(StatusCode::OK, &json!({ "value": value }))
}

/// Adds one and returns the new value.
async fn counter_post(Extension(counter): Extension<Counter>) -> Response {
    let value = counter.0.fetch_add(1, Ordering::SeqCst) + 1;
    json(StatusCode::OK, &json!({ "value": value }))
}
