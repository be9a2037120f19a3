//! The template's core API: `/health`, the test-only routes, and everything a handler needs
//! (errors from the catalogue, the JSON helper, extractors, settings, state). Your routes live
//! in [`crate::app`]; [`router`] puts both under the base path.

pub mod body;
pub mod config;
pub mod error;
pub mod extract;
mod framing;
mod health;
pub mod json;
pub mod middleware;
pub mod prelude;
mod ready;
pub mod state;
mod test_routes;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;

pub use config::Config;
pub use error::{AppError, ErrorCode};
pub use state::AppState;

/// Builds the whole API: the core routes and [`crate::app::routes`], under
/// `state.config.base_path`, with catalogue answers for unknown paths (404) and methods (405),
/// a 500 for a panicking handler, a 400 for an HTTP/1.1 request without `Host`, and
/// `Cache-Control: no-store` on every answer that does not set its own ([`middleware`]). No
/// socket involved; each call is a fresh set of routes (a fresh counter, say).
pub fn router(state: AppState) -> Router {
    let draining = Arc::clone(&state.draining);
    endpoints(state).layer(middleware::Around::new(draining, None))
}

/// The routes of [`router`] without [`middleware::Around`]: a server puts it around them itself,
/// with its request log ([`crate::prepare`]).
pub fn endpoints(state: AppState) -> Router {
    let mut routes = Router::new()
        .route("/health", get(health::health_get))
        .route("/ready", get(ready::ready_get));
    if state.config.test_routes {
        routes = routes.merge(test_routes::routes());
    }
    let routes = routes
        .merge(crate::app::routes())
        .method_not_allowed_fallback(method_not_allowed);
    let base = state.config.base_path.as_str();
    let routes = if base.is_empty() {
        routes
    } else {
        // Only `<base>/<route>` matches: `<base>` alone, `<route>` and `<base><route>` are 404.
        Router::new().nest(base, routes)
    };
    routes
        .fallback(|| async { AppError::new(ErrorCode::NotFound) })
        .with_state(state)
}

/// 405 `method_not_allowed`. axum adds the `Allow` header (the route's methods, `HEAD` with
/// `GET`) to what this answers.
async fn method_not_allowed() -> AppError {
    AppError::new(ErrorCode::MethodNotAllowed)
}

/// `routes` with [`middleware::Around`] (no request log, never draining): a panic in any handler
/// answers a 500 (and a log line) instead of dropping the connection.
pub fn catch_panics(routes: Router) -> Router {
    routes.layer(middleware::Around::new(
        Arc::new(AtomicBool::new(false)),
        None,
    ))
}

#[cfg(test)]
pub(crate) mod tests;
