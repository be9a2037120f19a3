//! The state every handler can read with `State<AppState>`: the settings, what your
//! `app::setup` made, and when the server started.

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
}

impl AppState {
    /// The state of a new server.
    pub fn new(config: Config, resources: Arc<Resources>) -> Self {
        Self {
            config: Arc::new(config),
            resources,
            started: Instant::now(),
        }
    }

    /// The state with `config` and empty resources (`Resources::default()`), for tests.
    pub fn for_tests(config: Config) -> Self {
        Self::new(config, Arc::new(Resources::default()))
    }
}
