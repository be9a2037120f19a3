//! `POST /hash`: SHA-256 of the body, computed as it streams in.

use axum::body::Body;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::prelude::*;

/// Hashes the body chunk by chunk, never holding it whole; 413 past the app setting
/// `hashLimit`.
pub async fn hash_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut body: Body,
) -> Result<Response, AppError> {
    let mut hasher = Sha256::new();
    let limits = state.config.limits(state.config.app.hash_limit);
    let bytes = stream_limited(&headers, &mut body, limits, |chunk| {
        hasher.update(chunk);
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "sha256": hex::encode(hasher.finalize()), "bytes": bytes }),
    ))
}
