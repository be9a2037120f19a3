//! `GET /health`: which backend answered, since when, and what the app's checks say.

use serde_json::{json, Map, Value};

use super::prelude::*;

/// Reports `status`, `backend`, `version`, `pid`, `uptimeMs`, and `checks` (`"up"`/`"down"` by
/// name) when [`crate::app::checks`] returns any; `status` is `degraded` when one is down. Always
/// 200: the process is alive either way.
pub async fn health_get(State(state): State<AppState>) -> Response {
    let checks = crate::app::checks(&state.resources).await;
    let uptime_ms = u64::try_from(state.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let degraded = checks.iter().any(|&(_, up)| !up);
    let mut body = json!({
        "status": if degraded { "degraded" } else { "ok" },
        "backend": "native",
        "version": state.config.version,
        "pid": std::process::id(),
        "uptimeMs": uptime_ms,
    });
    if !checks.is_empty() {
        let checks: Map<String, Value> = checks
            .into_iter()
            .map(|(name, up)| (name.to_owned(), json!(if up { "up" } else { "down" })))
            .collect();
        body["checks"] = Value::Object(checks);
    }
    json(StatusCode::OK, &body)
}
