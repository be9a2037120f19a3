//! The demo routes: `GET /hello`, `GET /hello/{name}`, `POST /echo`, `POST /hash`,
//! `GET|POST /counter`, and `/notes` in a database. Delete this directory (and the lines marked `[examples]`, which
//! `npm run examples:remove` does) and the template still builds and serves `/health`.

mod counter;
mod echo;
mod hash;
mod hello;
mod notes;
pub mod notes_db;

use crate::api::prelude::*;

/// The demo's routes, each call a fresh set (a fresh counter).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hello", get(hello::hello_get))
        .route("/hello/{name}", get(hello::hello_name_get))
        .route("/echo", post(echo::echo_post))
        .route("/hash", post(hash::hash_post))
        .merge(counter::routes())
        .merge(notes::routes())
}

#[cfg(test)]
mod notes_tests;
#[cfg(test)]
mod tests;
