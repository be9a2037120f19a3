//! `GET /counter` and `POST /counter`: one counter per process, atomic across threads.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::json::json_response;
use super::state::AppState;

/// Reads the counter.
pub async fn counter_get(State(state): State<AppState>) -> Response {
    let value = state.counter.load(Ordering::SeqCst);
    json_response(StatusCode::OK, &json!({ "value": value }))
}

/// Adds one and returns the new value.
pub async fn counter_post(State(state): State<AppState>) -> Response {
    let value = state.counter.fetch_add(1, Ordering::SeqCst) + 1;
    json_response(StatusCode::OK, &json!({ "value": value }))
}
