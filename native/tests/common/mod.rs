//! What the integration tests share: the API built from a config, a runtime to drive it without
//! a socket, and waiting for a server to finish. (Each test binary uses part of it.)
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use axum::Router;
use handoff::api::{router, AppState, Config};
use handoff::serve::Server;

/// The config every test starts from: the defaults, with the test routes on.
pub fn config() -> Config {
    Config {
        test_routes: true,
        ..Config::default()
    }
}

/// The whole API (test routes on) for `config`, with empty resources.
pub fn app_with(config: Config) -> Router {
    router(AppState::for_tests(config))
}

/// The whole API under `base_path`, with this body limit, test routes on.
pub fn test_app(base_path: &str, body_limit: u64) -> Router {
    app_with(Config {
        base_path: base_path.to_owned(),
        body_limit,
        ..config()
    })
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
