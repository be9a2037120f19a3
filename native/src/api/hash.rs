//! `POST /hash`: SHA-256 of the body, computed as it streams in.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::body::stream_limited;
use super::error::AppError;
use super::json::json_response;
use super::state::AppState;

/// Hashes the body chunk by chunk, never holding it whole; 413 past the hash limit.
pub async fn hash_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut body: Body,
) -> Result<Response, AppError> {
    let mut hasher = Sha256::new();
    let bytes = stream_limited(
        &headers,
        &mut body,
        state.config.limits(state.config.hash_limit),
        |chunk| {
            hasher.update(chunk);
        },
    )
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "sha256": hex::encode(hasher.finalize()), "bytes": bytes }),
    ))
}
