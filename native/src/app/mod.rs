//! Your app: the routes, settings and resources of the API you build on this template.
//!
//! Add a route: write the handler in its own file here (`items.rs`, starting with
//! `use crate::api::prelude::*;`), add `mod items;` below and one `.route(...)` line in
//! [`routes`]. Add a setting: one field in [`AppSettings`] (and the line that reads its
//! environment variable in `src/config.ts`).

use std::error::Error;

use serde::Deserialize;

use crate::api::prelude::*;

// Your handler files, one `mod` line each (e.g. `mod items;` for items.rs):

/// Your routes, relative to the base path, next to the template's `/health`.
pub fn routes() -> Router<AppState> {
    Router::new()
        // Your routes, one line each: .route("/items/{id}", get(items::item_get))
        .merge(crate::examples::routes()) // [examples]
}

/// Your settings, read from the environment by `src/config.ts` ("Your settings") and handed
/// over as the `app` object of the config; handlers read them as `state.config.app`. The JSON
/// is camelCase; a field left out takes its default below.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AppSettings {
    // [examples] begin
    /// Largest `POST /hash` body, in bytes (`HANDOFF_HASH_LIMIT`). @default 67108864
    pub hash_limit: u64,
    // [examples] end
}

// Written out rather than derived, so each default sits here, as in src/config.ts.
#[allow(clippy::derivable_impls)]
impl Default for AppSettings {
    fn default() -> Self {
        Self {
            hash_limit: 64 * 1024 * 1024, // [examples]
        }
    }
}

/// What your handlers share that [`setup`] creates once, before the server takes requests: a
/// database pool, an HTTP client, a cache. Handlers reach it as `state.resources`
/// (`State(state): State<AppState>`). The template needs none.
#[derive(Debug, Default)]
pub struct Resources {}

/// Creates the [`Resources`], on the server's runtime, before it listens. An error stops the
/// start: `prepare` throws `setup failed: <error>` and the app exits (Passenger shows it).
pub async fn setup(settings: &AppSettings) -> Result<Resources, Box<dyn Error + Send + Sync>> {
    let _ = settings;
    Ok(Resources {})
}

/// Releases the [`Resources`] on graceful shutdown, once the requests in flight have finished
/// (or the grace period is over); the process exits after it returns.
pub async fn close(resources: &Resources) {
    let _ = resources;
}
