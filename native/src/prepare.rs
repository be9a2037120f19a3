//! From a [`Config`] to a running server, in the two steps the addon exposes: [`Prepared::new`]
//! starts the threads and runs your `app::setup` (so a host that refuses threads, or a setup
//! that fails, is known before anything is bound), then [`Prepared::listen`] serves on a bound
//! socket and runs your `app::close` after the graceful drain. `handoff-limit` uses the same.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::Router;
use tokio::runtime::Runtime;

use crate::api::{self, AppState, Config};
use crate::app::{self, Resources};
use crate::serve::{self, Bound, ServeOptions, Server};

/// Runs a setup hook to completion on `runtime` (from outside it, on the calling thread): its
/// error, or its panic, becomes `setup failed: <message>`.
pub fn run_setup<R, E: std::fmt::Display>(
    runtime: &Runtime,
    setup: impl std::future::Future<Output = Result<R, E>>,
) -> Result<R, String> {
    match catch_unwind(AssertUnwindSafe(|| runtime.block_on(setup))) {
        Ok(Ok(resources)) => Ok(resources),
        Ok(Err(error)) => Err(format!("setup failed: {error}")),
        Err(panic) => Err(format!(
            "setup failed: {}",
            serve::log::panic_message(&*panic)
        )),
    }
}

/// A server with its threads started, `app::setup` done and its routes built; not listening.
pub struct Prepared {
    runtime: Runtime,
    /// [`api::endpoints`]: the middleware goes around them at [`Prepared::listen`].
    router: Router,
    resources: Arc<Resources>,
    options: ServeOptions,
    trust_proxy: Arc<crate::api::config::TrustProxy>,
    access_log: bool,
    draining: Arc<AtomicBool>,
}

impl Prepared {
    /// Checks `config`, builds the runtime (`threads` workers, `blocking_threads` blocking),
    /// runs `app::setup(&config.app)` on it and builds the routes. Errors are one line:
    /// `cannot start N worker threads: …`, `setup failed: …`, or the config field at fault.
    pub fn new(config: Config) -> Result<Self, String> {
        config.check()?;
        serve::log::install_panic_hook();
        let runtime = serve::runtime::build(config.threads, config.blocking_threads)
            .map_err(|e| e.to_string())?;
        let resources = Arc::new(run_setup(&runtime, app::setup(&config.app))?);
        let options = config.serve_options();
        let trust_proxy = Arc::new(config.trust_proxy.clone());
        let access_log = config.access_log;
        let state = AppState::new(config, Arc::clone(&resources));
        let draining = Arc::clone(&state.draining);
        let router = api::endpoints(state);
        Ok(Self {
            runtime,
            router,
            resources,
            options,
            trust_proxy,
            access_log,
            draining,
        })
    }

    /// The flag that starts the drain (`GET /ready` answers 503 once it is set).
    pub fn draining(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.draining)
    }

    /// Serves on `bound` (with the request log); `behind_passenger` when it is Passenger's
    /// socket. Once shut down and drained, `app::close` runs, then the server finishes.
    pub fn listen(self, bound: Bound, behind_passenger: bool) -> std::io::Result<Server> {
        let policy = serve::log::ClientPolicy {
            passenger: behind_passenger,
            proxy: self.trust_proxy,
            access_log: self.access_log,
        };
        // The routes' middleware and the request log, in one layer around the whole router
        // (`Router::layer` would wrap each route: two boxed services cloned per request).
        let around = api::middleware::Around::new(Arc::clone(&self.draining), Some(policy));
        let app = tower::Layer::layer(&around, self.router);
        let options = ServeOptions {
            behind_passenger,
            ..self.options
        };
        let resources = self.resources;
        let close = async move { app::close(&resources).await };
        Server::start_with_close(self.runtime, bound, app, options, close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_that_fails_or_panics_says_setup_failed() {
        let runtime = serve::runtime::build(1, 1).expect("runtime");
        let ok = run_setup(&runtime, async {
            // The runtime's timers and I/O are there, as a pool or a client needs.
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            Ok::<_, String>(7)
        });
        assert_eq!(ok, Ok(7));
        let failed = run_setup(&runtime, async {
            Err::<(), _>("cannot reach the database at db:5432")
        });
        assert_eq!(
            failed,
            Err("setup failed: cannot reach the database at db:5432".to_owned())
        );
        let panicked = run_setup(&runtime, async {
            if std::hint::black_box(true) {
                panic!("no DATABASE_URL");
            }
            Ok::<(), String>(())
        });
        assert_eq!(panicked, Err("setup failed: no DATABASE_URL".to_owned()));
    }
}
