//! passenger-handoff's native server: the API in Rust (axum on a bounded tokio runtime),
//! exposed to Node through napi-rs. This file is the whole JavaScript-facing surface. Your
//! routes, settings and resources live in [`app`]; the template's core API (errors, extractors,
//! `/health`) in [`api`]; the demo routes in `examples`; sockets and threads in [`serve`].

#![deny(clippy::unwrap_used)]

pub mod api;
pub mod app;
pub mod examples; // [examples]
pub mod prepare;
pub mod serve;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use napi::bindgen_prelude::Object;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use api::Config;
use prepare::Prepared;
use serve::{BindTarget, Server};

/// Where [`PreparedServer::listen`] listens: exactly one of `path`, `port`, `fd`.
#[napi(object)]
pub struct ListenTarget {
    /// A Unix socket path to bind; the file must not exist.
    pub path: Option<String>,
    /// The TCP host, with `port`. @default "127.0.0.1"
    pub host: Option<String>,
    /// A TCP port; 0 picks a free one.
    pub port: Option<u32>,
    /// An already listening socket to accept on (duplicated; the original stays open).
    pub fd: Option<i32>,
    /// Serving Passenger's socket: trust its `!~passenger-client-address` header for the
    /// request log, and never answer `Expect: 100-continue` with an interim response.
    pub behind_passenger: bool,
}

/// A server with its worker threads started, `app::setup` done and its API built, not yet
/// listening.
#[napi]
pub struct PreparedServer {
    prepared: Mutex<Option<Prepared>>,
}

/// Starts the worker threads, runs the app's `setup` hook and builds the API, before anything
/// is bound, so that a host that refuses threads (a process limit) or a failing setup is known
/// while a fallback can still take over. `configJson` is the JSON of the native config
/// (camelCase: `threads`, `blockingThreads`, `basePath`, `version`, `testRoutes`,
/// `headerTimeoutMs`, `requestTimeoutMs`, `maxConnections`, `bodyLimit`, `protocol`, `app`); a field left
/// out takes its default. Throws with the field at fault, `cannot start N worker threads: …`
/// or `setup failed: …`. A panic becomes a JavaScript exception, never an abort.
#[napi(catch_unwind)]
pub fn prepare(config_json: String) -> Result<PreparedServer> {
    let config = Config::from_json(&config_json).map_err(invalid)?;
    let prepared = Prepared::new(config).map_err(|e| Error::new(Status::GenericFailure, e))?;
    Ok(PreparedServer {
        prepared: Mutex::new(Some(prepared)),
    })
}

#[napi]
impl PreparedServer {
    /// Binds synchronously and starts serving; throws if the socket cannot be bound, or if
    /// this server already listened.
    #[napi(catch_unwind)]
    pub fn listen(&self, target: ListenTarget) -> Result<NativeServer> {
        let bind_target = bind_target(&target)?;
        let prepared = self
            .prepared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                Error::new(
                    Status::GenericFailure,
                    "this server is already listening".to_owned(),
                )
            })?;
        let bound = serve::bind(&bind_target).map_err(|e| io_error(&bind_target, e))?;
        let draining = prepared.draining();
        let server = prepared
            .listen(bound, target.behind_passenger)
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(NativeServer {
            server: Arc::new(server),
            draining,
        })
    }
}

/// A running native server.
#[napi]
pub struct NativeServer {
    server: Arc<Server>,
    draining: Arc<AtomicBool>,
}

/// The error catalogue as compiled in, in file order, as JSON:
/// `[{"code":"not_found","status":404,"message":"No route matches this path."},…]` (messages
/// with their `{placeholders}`).
#[napi]
pub fn error_catalogue() -> String {
    serde_json::to_string(&api::error::catalogue()).unwrap_or_else(|_| "[]".to_owned())
}

#[napi]
impl NativeServer {
    /// Where the server listens: a socket path, `host:port`, or a descriptor.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.server.address.clone()
    }

    /// The TCP port, or null on a Unix socket.
    #[napi(getter)]
    pub fn port(&self) -> Option<u32> {
        self.server.port.map(u32::from)
    }

    /// Starts the drain while still accepting: `GET /ready` answers 503 `draining`, and every
    /// response closes its connection.
    #[napi]
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Starts the drain if not yet, stops accepting, lets in-flight requests finish for up to `graceMs` milliseconds, runs
    /// the app's `close` hook, and resolves once it has returned.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env, grace_ms: u32) -> Result<Object<'env>> {
        self.drain();
        self.server
            .shutdown(Duration::from_millis(u64::from(grace_ms)));
        self.closed(env)
    }

    /// Resolves when the server has finished. While pending it keeps Node's event loop alive,
    /// which is what keeps a process whose only server is native from exiting.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn closed<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred()?;
        let server = Arc::clone(&self.server);
        self.server.on_finished(move || {
            deferred.resolve(move |_env| {
                // On the JavaScript thread, outside the runtime: the only place the worker
                // threads may be stopped from.
                server.release_runtime();
                Ok(())
            });
        });
        Ok(promise)
    }
}

fn bind_target(options: &ListenTarget) -> Result<BindTarget> {
    match (&options.path, options.port, options.fd) {
        (Some(path), None, None) => Ok(BindTarget::Path(PathBuf::from(path))),
        (None, Some(port), None) => {
            let port =
                u16::try_from(port).map_err(|_| invalid(format!("port {port} is not 0-65535")))?;
            let host = options
                .host
                .clone()
                .unwrap_or_else(|| "127.0.0.1".to_owned());
            Ok(BindTarget::Tcp(host, port))
        }
        (None, None, Some(fd)) if fd >= 0 => Ok(BindTarget::Fd(fd)),
        (None, None, Some(fd)) => Err(invalid(format!("fd {fd} is not a file descriptor"))),
        _ => Err(invalid("give exactly one of path, port or fd".to_owned())),
    }
}

fn invalid(message: String) -> Error {
    Error::new(Status::InvalidArg, message)
}

fn io_error(target: &BindTarget, error: std::io::Error) -> Error {
    let place = match target {
        BindTarget::Path(path) => format!("unix socket {}", path.display()),
        BindTarget::Tcp(host, port) => format!("{host}:{port}"),
        BindTarget::Fd(fd) => format!("descriptor {fd}"),
    };
    Error::new(
        Status::GenericFailure,
        format!("cannot listen on {place}: {error}"),
    )
}
