//! The state every handler can read with `State<AppState>`: the settings, what your
//! `app::setup` made, and when the server started.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::config::Config;
use crate::app::Resources;

/// Shared state of one server: cheap to clone, the same for every worker thread.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The server's settings, yours under `config.app`.
    pub config: Arc<Config>,
    /// What `app::setup` created (a database pool, a client, …).
    pub resources: Arc<Resources>,
    /// When this server was prepared, for `uptimeMs`.
    pub started: Instant,
    /// Set when the shutdown starts: `GET /ready` answers 503 `draining` from then on.
    pub draining: Arc<AtomicBool>,
}

impl AppState {
    /// The state of a new server.
    pub fn new(config: Config, resources: Arc<Resources>) -> Self {
        Self {
            config: Arc::new(config),
            resources,
            started: Instant::now(),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the drain has started.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// The state with `config` and empty resources (`Resources::default()`), for tests.
    pub fn for_tests(config: Config) -> Self {
        Self::new(config, Arc::new(Resources::default()))
    }
}
