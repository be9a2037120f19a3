//! What the integration tests share: the API with given limits, a runtime to drive it without a
//! socket, and waiting for a server to finish. (Each test binary uses part of it.)
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use axum::Router;
use handoff::api::{router, ApiConfig, AppState};
use handoff::serve::Server;

/// The whole API under `base_path`, with these body limits, test routes off.
pub fn test_app(base_path: &str, body_limit: u64, hash_limit: u64) -> Router {
    router(AppState::new(ApiConfig {
        base_path: base_path.to_owned(),
        body_limit,
        hash_limit,
        version: "0.0.0".to_owned(),
        request_timeout: Duration::from_secs(60),
        test_routes: false,
    }))
}

thread_local! {
    static RUNTIME: RefCell<tokio::runtime::Runtime> = RefCell::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime for the tests"),
    );
}

/// Runs `future` to completion on this thread's test runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.borrow().block_on(future))
}

/// Waits (10 s at most) until `server` has finished.
pub fn wait_finished(server: &Server) {
    let (done, finished) = mpsc::channel();
    server.on_finished(move || {
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("server finished");
}
