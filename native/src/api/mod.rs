//! The API: routes, shared state and the error catalogue. To add a route, write a handler in
//! its own file here and add one `.route(...)` line in [`router`].

pub mod body;
mod counter;
mod echo;
pub mod error;
mod framing;
mod hash;
mod health;
mod hello;
mod json;
pub mod state;
mod test_routes;

use std::any::Any;

use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

pub use error::AppError;
pub use state::{ApiConfig, AppState};

/// Builds the whole API, every route under `state.config.base_path`; no socket involved.
pub fn router(state: AppState) -> Router {
    let base = state.config.base_path.clone();
    let at = |path: &str| format!("{base}{path}");
    let mut routes = Router::new()
        .route(&at("/health"), get(health::health_get))
        .route(&at("/hello"), get(hello::hello_get))
        .route(&at("/echo"), post(echo::echo_post))
        .route(&at("/hash"), post(hash::hash_post))
        .route(
            &at("/counter"),
            get(counter::counter_get).post(counter::counter_post),
        );
    if state.config.test_routes {
        routes = routes
            .route(&at("/__test/panic"), get(test_routes::panic_get))
            .route(
                &at("/__test/panic-in-body"),
                get(test_routes::panic_in_body_get),
            );
    }
    let routes = routes
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(framing::reject_hostless))
        .with_state(state);
    catch_panics(routes)
}

/// Answers a panic in any handler of `routes` with a 500 (and a log line) instead of dropping
/// the connection; [`router`] applies it to the whole API.
pub fn catch_panics(routes: Router) -> Router {
    routes.layer(CatchPanicLayer::custom(panic_to_500))
}

/// Turns a panic in a handler into a 500 (the panic hook has logged it with its route).
fn panic_to_500(_panic: Box<dyn Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    AppError::Internal.into_response()
}

#[cfg(test)]
mod tests;
