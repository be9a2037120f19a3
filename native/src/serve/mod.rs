//! Serving: binds a listener, runs the API on its own bounded runtime, and shuts down
//! gracefully. Only this module touches sockets.

mod lingering;
pub mod listener;
pub mod log;
mod no_continue;
pub mod runtime;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tower::ServiceExt;

use lingering::Lingering;
pub use listener::{bind, BindTarget, Bound};
use listener::{Listener, Stream};
use log::{log_line, PeerAddr};
use no_continue::NoContinue;

/// Pause after a failed `accept` (for example EMFILE) before trying again, so a full
/// descriptor table does not spin a core.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Largest request head (request line and headers), in bytes; the fallback uses the same.
pub const MAX_HEADER_BYTES: usize = 64 * 1024; // 64 KiB

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Where a server is in its life.
enum Phase {
    /// Serving; these run once it has finished.
    Running(Vec<Callback>),
    /// Finished: no socket, no connection left.
    Finished,
}

struct Shared {
    shutdown: Mutex<Option<oneshot::Sender<Duration>>>,
    phase: Mutex<Phase>,
}

/// A running server: its address, its runtime, and the handle to stop it.
pub struct Server {
    shared: Arc<Shared>,
    runtime: Mutex<Option<Runtime>>,
    /// Where it listens (a path, `host:port`, or a descriptor).
    pub address: String,
    /// The TCP port, if any.
    pub port: Option<u16>,
}

impl Server {
    /// Starts serving `app` on an already bound socket with `threads` worker threads;
    /// `behind_passenger` drops interim `100 Continue` answers (see [`no_continue`]). Returns
    /// once the server accepts connections; nothing here waits on the network.
    pub fn start(
        bound: Bound,
        app: Router,
        threads: usize,
        behind_passenger: bool,
    ) -> io::Result<Self> {
        Self::start_on(runtime::build(threads)?, bound, app, behind_passenger)
    }

    /// Like [`Server::start`], on a runtime built beforehand with [`runtime::build`] (so that a
    /// failure to start threads is known before anything is bound).
    pub fn start_on(
        runtime: Runtime,
        bound: Bound,
        app: Router,
        behind_passenger: bool,
    ) -> io::Result<Self> {
        let address = bound.address.clone();
        let port = bound.port;
        let listener = {
            let _context = runtime.enter();
            Listener::from_bound(bound)?
        };
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            shutdown: Mutex::new(Some(shutdown_tx)),
            phase: Mutex::new(Phase::Running(Vec::new())),
        });
        let finished = Arc::clone(&shared);
        runtime.spawn(async move {
            serve(listener, app, shutdown_rx, behind_passenger).await;
            finished.finish();
        });
        Ok(Self {
            shared,
            runtime: Mutex::new(Some(runtime)),
            address,
            port,
        })
    }

    /// Stops accepting at once and lets in-flight requests finish for up to `grace`; then
    /// drops what is left. Calling it again does nothing.
    pub fn shutdown(&self, grace: Duration) {
        let sender = lock(&self.shared.shutdown).take();
        if let Some(sender) = sender {
            // The server may already have stopped by itself; nothing to do then.
            let _ = sender.send(grace);
        }
    }

    /// Runs `callback` once the server has finished (at once if it already has).
    pub fn on_finished(&self, callback: impl FnOnce() + Send + 'static) {
        let mut phase = lock(&self.shared.phase);
        match &mut *phase {
            Phase::Running(callbacks) => callbacks.push(Box::new(callback)),
            Phase::Finished => {
                drop(phase);
                callback();
            }
        }
    }

    /// Stops the worker threads. Call it once finished, from outside the runtime.
    pub fn release_runtime(&self) {
        if let Some(runtime) = lock(&self.runtime).take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown(Duration::ZERO);
        self.release_runtime();
    }
}

impl Shared {
    fn finish(&self) {
        let callbacks = match std::mem::replace(&mut *lock(&self.phase), Phase::Finished) {
            Phase::Running(callbacks) => callbacks,
            Phase::Finished => Vec::new(),
        };
        for callback in callbacks {
            callback();
        }
    }
}

/// A poisoned lock only means another thread panicked while holding it; the data (an
/// `Option` or a list of callbacks) is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The accept loop, then the graceful drain.
async fn serve(
    listener: Listener,
    app: Router,
    mut shutdown: oneshot::Receiver<Duration>,
    behind_passenger: bool,
) {
    let graceful = GracefulShutdown::new();
    let grace = loop {
        tokio::select! {
            grace = &mut shutdown => break grace.unwrap_or(Duration::ZERO),
            accepted = listener.accept() => match accepted {
                Ok(Stream::Tcp(stream, peer)) => {
                    serve_connection(Lingering::new(stream), PeerAddr(Some(peer)), app.clone(), &graceful);
                }
                Ok(Stream::Unix(stream)) if behind_passenger => {
                    let stream = NoContinue::new(Lingering::new(stream));
                    serve_connection(stream, PeerAddr(None), app.clone(), &graceful);
                }
                Ok(Stream::Unix(stream)) => {
                    serve_connection(Lingering::new(stream), PeerAddr(None), app.clone(), &graceful);
                }
                Err(error) => {
                    log_line(&format!("accept failed: {error}"));
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
        }
    };
    // Closing the listener (and removing its socket file) before draining means new clients
    // are refused at once instead of queueing behind a server that is going away.
    drop(listener);
    let open = graceful.count();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            log_line(&format!(
                "shutdown grace of {} ms over; closing the connections still open (of {open} at the start)",
                grace.as_millis()
            ));
        }
    }
}

fn serve_connection<S>(stream: S, peer: PeerAddr, app: Router, graceful: &GracefulShutdown)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(peer);
        app.clone().oneshot(request.map(Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // The largest request head accepted (431 beyond), as Node's maxHeaderSize.
        .max_header_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        // A client that resets or sends garbage ends its own connection; nothing to report.
        let _ = connection.await;
    });
}
