//! Serving: binds a listener, runs the API on its own bounded runtime, and shuts down
//! gracefully. Only this module touches sockets.

mod lingering;
pub mod listener;
pub mod log;
mod no_continue;
pub mod runtime;
pub mod scgi;
pub mod scgi_parse;

use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use std::convert::Infallible;

use axum::response::Response;
use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::runtime::Runtime;
use tokio::sync::{oneshot, Notify};
use tower::{Service, ServiceExt};

pub use crate::api::config::Protocol;
use lingering::Lingering;
pub use listener::{bind, BindTarget, Bound};
use listener::{Listener, Stream};
use log::{log_line, PeerAddr};
use no_continue::NoContinue;

/// Pause after a failed `accept` (for example EMFILE) before trying again, so a full
/// descriptor table does not spin a core.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Drop interim `100 Continue` answers (see [`no_continue`]).
    pub behind_passenger: bool,
    /// How long a client may take to send the request head; the connection is closed after.
    pub header_timeout: Duration,
    /// Connections served at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// HTTP/1.1, or SCGI from a front server ([`scgi`]).
    pub protocol: Protocol,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            behind_passenger: false,
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            protocol: Protocol::Http,
        }
    }
}

/// Largest request head (request line and headers), in bytes; the fallback uses the same.
pub const MAX_HEADER_BYTES: usize = 64 * 1024; // 64 KiB

/// What a server serves: the whole API as one cloneable service, cloned for each request (a
/// [`axum::Router`], or the router inside [`crate::api::middleware::Around`]).
pub trait App:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> App for T where
    T: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

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
        app: impl App,
        threads: usize,
        behind_passenger: bool,
    ) -> io::Result<Self> {
        let options = ServeOptions {
            behind_passenger,
            ..ServeOptions::default()
        };
        let runtime = runtime::build(threads, 1)?;
        Self::start_with_close(runtime, bound, app, options, std::future::ready(()))
    }

    /// Like [`Server::start`], on a runtime built beforehand with [`runtime::build`] (so that a
    /// failure to start threads is known before anything is bound) and with every connection
    /// setting given; `close` runs on the runtime once the server has drained
    /// (or its grace is over), before the server counts as finished ([`Server::on_finished`]).
    /// A panic in `close` is logged by the panic hook and does not keep the server from
    /// finishing.
    pub fn start_with_close(
        runtime: Runtime,
        bound: Bound,
        app: impl App,
        options: ServeOptions,
        close: impl Future<Output = ()> + Send + 'static,
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
            serve(listener, app, shutdown_rx, options).await;
            let _ = AssertUnwindSafe(close).catch_unwind().await;
            // Every request line out before anyone hears the server has finished.
            log::flush();
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
        log::flush();
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
    app: impl App,
    mut shutdown: oneshot::Receiver<Duration>,
    options: ServeOptions,
) {
    let drain = Arc::new(Drain::default());
    let mut refusing = false;
    let grace = loop {
        tokio::select! {
            grace = &mut shutdown => break grace.unwrap_or(Duration::ZERO),
            accepted = listener.accept() => match accepted {
                Ok(stream) if drain.open.load(Ordering::Acquire) >= options.max_connections => {
                    // Over the cap: close it at once (as Node's maxConnections does), and say so
                    // once per stretch of refusals rather than once per connection.
                    drop(stream);
                    if !refusing {
                        refusing = true;
                        log_line(&format!("{} connections open: refusing new ones", options.max_connections));
                    }
                }
                Ok(stream) => {
                    refusing = false;
                    let slot = ConnectionSlot::take(&drain);
                    if options.protocol == Protocol::Scgi {
                        serve_scgi(stream, app.clone(), options, slot);
                        continue;
                    }
                    match stream {
                        Stream::Tcp(stream, peer) => {
                            serve_connection(Lingering::new(stream), PeerAddr(Some(peer)), app.clone(), options, slot);
                        }
                        Stream::Unix(stream) if options.behind_passenger => {
                            let stream = NoContinue::new(Lingering::new(stream));
                            serve_connection(stream, PeerAddr(None), app.clone(), options, slot);
                        }
                        Stream::Unix(stream) => {
                            serve_connection(Lingering::new(stream), PeerAddr(None), app.clone(), options, slot);
                        }
                    }
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
    let open = drain.open.load(Ordering::Acquire);
    drain.start();
    tokio::select! {
        () = drain.all_closed() => {}
        () = tokio::time::sleep(grace) => {
            log_line(&format!(
                "shutdown grace of {} ms over; closing the connections still open (of {open} at the start)",
                grace.as_millis()
            ));
        }
    }
}

/// The open connections and the shutdown signal they watch. A connection checks [`Drain::draining`]
/// (one atomic load) each time it is polled and hears [`Drain::signal`] once, registered at its
/// first poll: nothing is locked per request (a `watch` channel's `changed()` takes a lock at
/// every poll of every connection).
#[derive(Default)]
struct Drain {
    /// Connections open now.
    open: AtomicUsize,
    /// Set once the server is shutting down.
    draining: AtomicBool,
    /// Wakes every connection when `draining` is set.
    signal: Arc<Notify>,
    /// Notified when the last connection closes during the drain.
    idle: Notify,
}

impl Drain {
    /// Tells every connection the server is shutting down.
    fn start(&self) {
        self.draining.store(true, Ordering::Release);
        self.signal.notify_waiters();
    }

    /// Resolves once no connection is open (after [`Drain::start`]).
    async fn all_closed(&self) {
        loop {
            let idle = self.idle.notified();
            if self.open.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// One open connection, counted until it ends.
struct ConnectionSlot(Arc<Drain>);

impl ConnectionSlot {
    fn take(drain: &Arc<Drain>) -> Self {
        drain.open.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(drain))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        // The last one out lets a drain finish (a stored permit if the server is not waiting
        // yet; `all_closed` checks the count again, so a permit left from before a drain is
        // harmless). Whether a drain has started is not asked: reading `draining` here could
        // miss a drain that read the count just before this drop lowered it.
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_one();
        }
    }
}

/// Serves one SCGI connection ([`scgi::serve`]), counted and waited for by the drain like an
/// HTTP one; it ends after its one request.
fn serve_scgi(stream: Stream, app: impl App, options: ServeOptions, slot: ConnectionSlot) {
    let timeout = options.header_timeout;
    tokio::spawn(async move {
        match stream {
            Stream::Tcp(stream, peer) => {
                scgi::serve(Lingering::new(stream), Some(peer), app, timeout).await;
            }
            Stream::Unix(stream) => scgi::serve(Lingering::new(stream), None, app, timeout).await,
        }
        drop(slot);
    });
}

fn serve_connection<S>(
    stream: S,
    peer: PeerAddr,
    app: impl App,
    options: ServeOptions,
    slot: ConnectionSlot,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Set at each request; read by the connection task once the server is shutting down.
    let requested = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&requested);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        seen.store(true, Ordering::Relaxed);
        // Only a TCP peer is worth an entry (the request log reads none as a Unix socket).
        if peer.0.is_some() {
            request.extensions_mut().insert(peer);
        }
        app.clone().oneshot(request.map(Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // The largest request head accepted (431 beyond), as Node's maxHeaderSize.
        .max_header_size(MAX_HEADER_BYTES)
        // A client trickling its head (slowloris) is cut off, as Node's headersTimeout does.
        .header_read_timeout(options.header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    // Made here, in the accept loop, so a shutdown signalled from now on is heard.
    let signal = Arc::clone(&slot.0.signal).notified_owned();
    tokio::spawn(async move {
        let mut connection = std::pin::pin!(connection);
        let mut signal = std::pin::pin!(signal);
        let mut registered = false;
        let mut closing = false;
        // Once the server is shutting down, a connection that has had a request is closed after
        // the one under way (at once when idle). One accepted whose first request has not been
        // read yet waits for it: closing it now would reset a request the client may have sent
        // already (queued on the socket before the shutdown); it is answered, then closed. One
        // that never sends is closed by the header timeout or the grace. A client that resets or
        // sends garbage ends its own connection; nothing to report.
        std::future::poll_fn(|cx| {
            if !registered {
                // Registers this task's waker (the same for the task's whole life) with the
                // shutdown signal, once: from then on the flag, one atomic load per poll, says
                // whether the server is shutting down (a `watch` receiver took a lock per poll).
                registered = true;
                let _ = signal.as_mut().poll(cx);
            }
            loop {
                let asked = !closing
                    && requested.load(Ordering::Relaxed)
                    && slot.0.draining.load(Ordering::Acquire);
                if asked {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                if connection.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                // Polling may have read the first request of a connection already told to shut
                // down: ask hyper now rather than at the next wake-up.
                if closing
                    || !requested.load(Ordering::Relaxed)
                    || !slot.0.draining.load(Ordering::Acquire)
                {
                    return Poll::Pending;
                }
            }
        })
        .await;
        drop(slot);
    });
}
