//! `GET /ready`: whether this server takes new work, for load balancers and deploy scripts
//! (`src/api/ready.ts` is the fallback's). 200 while serving; 503 `draining` once the shutdown
//! has started, while the listener may still accept (`HANDOFF_DRAIN_DELAY_MS`); 503 `not_ready`
//! while one of [`crate::app::checks`] (what `/health` reports) is down.

use serde_json::json;

use super::prelude::*;

/// 200 `{"status":"ready"}`, 503 `draining`, or 503 `not_ready` naming the checks down.
pub async fn ready_get(State(state): State<AppState>) -> Response {
    if state.is_draining() {
        return AppError::new(ErrorCode::Draining).into_response();
    }
    let down: Vec<&str> = crate::app::checks(&state.resources)
        .await
        .into_iter()
        .filter(|&(_, up)| !up)
        .map(|(name, _)| name)
        .collect();
    if !down.is_empty() {
        return AppError::new(ErrorCode::NotReady)
            .with("down", down.join(", "))
            .into_response();
    }
    json(StatusCode::OK, &json!({ "status": "ready" }))
}
