//! The state every handler shares: the API's settings and the per-process counter.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

/// Settings of the API, given by the TypeScript side (which alone reads the environment).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Prefix every route lives under, without a trailing slash; empty for none.
    pub base_path: String,
    /// Largest `POST /echo` body, in bytes.
    pub body_limit: u64,
    /// Largest `POST /hash` body, in bytes.
    pub hash_limit: u64,
    /// The package version reported by `GET /health`.
    pub version: String,
    /// How long a request body may take to arrive, from the moment a handler starts reading it.
    pub request_timeout: std::time::Duration,
    /// Mount the routes that fail on purpose (`HANDOFF_TEST_ROUTES=1`); never by default.
    pub test_routes: bool,
}

impl ApiConfig {
    /// The limits for a body of at most `bytes`.
    pub fn limits(&self, bytes: u64) -> super::body::BodyLimits {
        super::body::BodyLimits {
            bytes,
            time: self.request_timeout,
        }
    }
}

/// Shared state of one server: cheap to clone, the same for every worker thread.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The API's settings.
    pub config: Arc<ApiConfig>,
    /// `GET/POST /counter`: one counter per process, shared across threads.
    pub counter: Arc<AtomicU64>,
    /// When this server was prepared, for `uptimeMs`.
    pub started: Instant,
}

impl AppState {
    /// Builds the state for a new server.
    pub fn new(config: ApiConfig) -> Self {
        Self {
            config: Arc::new(config),
            counter: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
        }
    }
}
