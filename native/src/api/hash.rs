//! `POST /hash`: SHA-256 of the body, computed as it streams in.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::body::check_declared_length;
use super::error::AppError;
use super::json::json_response;
use super::state::AppState;

/// Hashes the body chunk by chunk, never holding it whole; 413 past the hash limit.
pub async fn hash_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut body: Body,
) -> Result<Response, AppError> {
    let limit = state.config.hash_limit;
    check_declared_length(&headers, limit)?;
    let mut hasher = Sha256::new();
    let mut bytes: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| AppError::BodyReadFailed)?;
        if let Ok(chunk) = frame.into_data() {
            bytes += chunk.len() as u64;
            if bytes > limit {
                return Err(AppError::PayloadTooLarge(limit));
            }
            hasher.update(&chunk);
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "sha256": hex::encode(hasher.finalize()), "bytes": bytes }),
    ))
}
