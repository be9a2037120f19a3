//! `GET /health`: which backend answered, and since when.

use serde_json::json;

use super::prelude::*;

/// Reports `status`, `backend`, `version`, `pid` and `uptimeMs`.
pub async fn health_get(State(state): State<AppState>) -> Response {
    let uptime_ms = u64::try_from(state.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    json(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "backend": "native",
            "version": state.config.version,
            "pid": std::process::id(),
            "uptimeMs": uptime_ms,
        }),
    )
}
