//! passenger-handoff's native server: the API in Rust (axum on a bounded tokio runtime),
//! exposed to Node through napi-rs. This file is the whole JavaScript-facing surface; the API
//! lives in [`api`], sockets and threads in [`serve`].

#![deny(clippy::unwrap_used)]

pub mod api;
pub mod serve;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use napi::bindgen_prelude::Object;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use tokio::runtime::Runtime;

use api::{ApiConfig, AppState};
use serve::{BindTarget, ServeOptions, Server};

/// Options of [`prepare`]: how to serve.
#[napi(object)]
pub struct PrepareOptions {
    /// Worker threads.
    pub threads: u32,
    /// Prefix of every route, without a trailing slash; empty for none.
    pub base_path: String,
    /// Largest `POST /echo` body, in bytes.
    pub body_limit: i64,
    /// Largest `POST /hash` body, in bytes.
    pub hash_limit: i64,
    /// Version reported by `GET /health`.
    pub version: String,
    /// Mount the routes that fail on purpose, for tests. @default false
    pub test_routes: Option<bool>,
    /// Milliseconds a client may take to send the request head. @default 10000
    pub header_timeout_ms: Option<u32>,
    /// Milliseconds a request body may take to arrive. @default 60000
    pub request_timeout_ms: Option<u32>,
    /// Connections served at once; more are closed at once. @default 1024
    pub max_connections: Option<u32>,
}

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

/// A server with its worker threads started and its API built, not yet listening.
#[napi]
pub struct PreparedServer {
    parts: Mutex<Option<(Runtime, Router)>>,
    options: ServeOptions,
}

/// Starts the worker threads and builds the API, before anything is bound, so that a host that
/// refuses threads (a process limit) is known while a fallback can still take over. Throws if
/// the threads cannot be started. A panic becomes a JavaScript exception, never an abort.
#[napi(catch_unwind)]
pub fn prepare(options: PrepareOptions) -> Result<PreparedServer> {
    let config = ApiConfig {
        base_path: options.base_path,
        body_limit: to_limit("bodyLimit", options.body_limit)?,
        hash_limit: to_limit("hashLimit", options.hash_limit)?,
        version: options.version,
        request_timeout: Duration::from_millis(u64::from(
            options.request_timeout_ms.unwrap_or(60_000),
        )),
        test_routes: options.test_routes.unwrap_or(false),
    };
    let defaults = ServeOptions::default();
    let serve_options = ServeOptions {
        behind_passenger: false,
        header_timeout: options
            .header_timeout_ms
            .map_or(defaults.header_timeout, |ms| {
                Duration::from_millis(u64::from(ms))
            }),
        max_connections: options
            .max_connections
            .map_or(defaults.max_connections, |n| n as usize),
    };
    serve::log::install_panic_hook();
    let app = api::router(AppState::new(config));
    let runtime = serve::runtime::build(options.threads as usize)
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    Ok(PreparedServer {
        parts: Mutex::new(Some((runtime, app))),
        options: serve_options,
    })
}

#[napi]
impl PreparedServer {
    /// Binds synchronously and starts serving; throws if the socket cannot be bound, or if
    /// this server already listened.
    #[napi(catch_unwind)]
    pub fn listen(&self, target: ListenTarget) -> Result<NativeServer> {
        let bind_target = bind_target(&target)?;
        let (runtime, app) = self
            .parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                Error::new(
                    Status::GenericFailure,
                    "this server is already listening".to_owned(),
                )
            })?;
        let app = serve::log::with_request_log(app, target.behind_passenger);
        let bound = serve::bind(&bind_target).map_err(|e| io_error(&bind_target, e))?;
        let options = ServeOptions {
            behind_passenger: target.behind_passenger,
            ..self.options
        };
        let server = Server::start_with(runtime, bound, app, options)
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
        Ok(NativeServer {
            server: Arc::new(server),
        })
    }
}

/// A running native server.
#[napi]
pub struct NativeServer {
    server: Arc<Server>,
}

/// Every error code with its HTTP status, as JSON: `[{"code":"not_found","status":404},…]`.
#[napi]
pub fn error_catalogue() -> String {
    let entries: Vec<_> = api::error::CATALOGUE
        .iter()
        .map(|e| serde_json::json!({ "code": e.code, "status": e.status }))
        .collect();
    serde_json::Value::Array(entries).to_string()
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

    /// Stops accepting, lets in-flight requests finish for up to `graceMs` milliseconds, and
    /// resolves once no connection is left.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env, grace_ms: u32) -> Result<Object<'env>> {
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

fn to_limit(name: &str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| {
        invalid(format!(
            "{name} must be a whole number of bytes, got {value}"
        ))
    })
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
