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
pub mod prelude;
mod ready;
pub mod state;
mod test_routes;

use std::any::Any;

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

pub use config::Config;
pub use error::{AppError, ErrorCode};
pub use state::AppState;

/// Builds the whole API: the core routes and [`crate::app::routes`], under
/// `state.config.base_path`, with catalogue answers for unknown paths (404) and methods (405),
/// a 500 for a panicking handler, a 400 for an HTTP/1.1 request without `Host`, and
/// `Cache-Control: no-store` on every answer that does not set its own. No socket
/// involved; each call is a fresh set of routes (a fresh counter, say).
pub fn router(state: AppState) -> Router {
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
    let routes = routes
        .fallback(|| async { AppError::new(ErrorCode::NotFound) })
        .layer(axum::middleware::from_fn(framing::reject_hostless))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ready::close_when_draining,
        ))
        .with_state(state);
    catch_panics(routes).layer(axum::middleware::map_response(no_store))
}

/// `Cache-Control: no-store` on every answer whose route did not set its own: hosts' caches
/// (LiteSpeed's LSCache among them) would otherwise keep API answers.
async fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    response
        .headers_mut()
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    response
}

/// 405 `method_not_allowed`. axum adds the `Allow` header (the route's methods, `HEAD` with
/// `GET`) to what this answers.
async fn method_not_allowed() -> AppError {
    AppError::new(ErrorCode::MethodNotAllowed)
}

/// Answers a panic in any handler of `routes` with a 500 (and a log line) instead of dropping
/// the connection; [`router`] applies it to the whole API.
pub fn catch_panics(routes: Router) -> Router {
    routes.layer(CatchPanicLayer::custom(panic_to_500))
}

/// Turns a panic in a handler into a 500 (the panic hook has logged it with its route).
fn panic_to_500(_panic: Box<dyn Any + Send + 'static>) -> axum::response::Response {
    AppError::new(ErrorCode::InternalError).into_response()
}

#[cfg(test)]
pub(crate) mod tests;
