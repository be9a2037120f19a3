//! `POST /echo`: parses a JSON body and sends the same value back.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::body::{is_json_content_type, read_limited};
use super::error::AppError;
use super::json::{json_bytes_response, to_js_json};
use super::state::AppState;

/// Echoes a JSON body: 415 unless declared JSON, 413 over the body limit, 400 unless valid.
pub async fn echo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    if !is_json_content_type(&headers) {
        return Err(AppError::UnsupportedMediaType);
    }
    let bytes = read_limited(&headers, body, state.config.limits(state.config.body_limit)).await?;
    // serde_json refuses invalid UTF-8, a byte-order mark and nesting deeper than 127; the
    // fallback applies the same rules so both backends agree on what is valid.
    let value: Value = serde_json::from_slice(&bytes)?;
    Ok(json_bytes_response(StatusCode::OK, to_js_json(&value)))
}
