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
    /// The notes' database (`DATABASE_URL`, normalized by `src/config.ts`): `sqlite:<path>` or
    /// `mysql://user:password@host/db` (`?socket=/path` for a Unix socket); empty: none, the
    /// notes answer 503. @default ""
    pub database_url: String,
    // [examples] end
}

// Written out rather than derived, so each default sits here, as in src/config.ts.
#[allow(clippy::derivable_impls)]
impl Default for AppSettings {
    fn default() -> Self {
        Self {
            hash_limit: 64 * 1024 * 1024, // [examples]
            database_url: String::new(),  // [examples]
        }
    }
}

/// What your handlers share that [`setup`] creates once, before the server takes requests: a
/// database pool, an HTTP client, a cache. Handlers reach it as `state.resources`
/// (`State(state): State<AppState>`). The template needs none.
#[derive(Debug, Default)]
pub struct Resources {
    // [examples] begin
    /// The notes' database pool (none in `Resources::default()`: the notes answer 503).
    pub notes: Option<crate::examples::notes_db::NotesDb>,
    // [examples] end
}

/// Creates the [`Resources`], on the server's runtime, before it listens. An error stops the
/// start: `prepare` throws `setup failed: <error>` and the app exits (Passenger shows it).
/// A resource that may be down at start (a database) should connect lazily rather than fail.
pub async fn setup(settings: &AppSettings) -> Result<Resources, Box<dyn Error + Send + Sync>> {
    let _ = settings;
    // [examples] begin
    // Only a malformed DATABASE_URL stops the start; a database that is down does not. None
    // when empty: a server started without src/config.ts (the Rust tests) has no database.
    let notes = match settings.database_url.as_str() {
        "" => None,
        url => {
            let notes = crate::examples::notes_db::NotesDb::open(url)?;
            notes.start().await;
            Some(notes)
        }
    };
    // [examples] end
    Ok(Resources {
        notes, // [examples]
    })
}

/// Releases the [`Resources`] on graceful shutdown, once the requests in flight have finished
/// (or the grace period is over); the process exits after it returns.
pub async fn close(resources: &Resources) {
    let _ = resources;
    // [examples] begin
    if let Some(notes) = &resources.notes {
        notes.close().await;
    }
    // [examples] end
}

/// What `GET /health` reports under `checks`: a name and whether it is up, for each resource
/// the app depends on (`status` is `degraded` when one is down). Each check must answer within
/// about a second (a check that times out reports down). The template has none.
pub async fn checks(resources: &Resources) -> Vec<(&'static str, bool)> {
    let _ = resources;
    // [examples] begin
    if let Some(notes) = &resources.notes {
        return vec![("database", notes.is_up().await)];
    }
    // [examples] end
    Vec::new()
}
