//! Log lines on stderr, the same shape as the fallback's (`src/log.ts`).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Writes one `[native] <message>` line to stderr in a single write, so lines from several
/// threads (and from Node) never interleave.
pub fn log_line(message: &str) {
    let line = format!("[native] {message}\n");
    // Nowhere to report a failed write to stderr; dropping the line is the only option.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

tokio::task_local! {
    /// `<method> <path>` of the request a task is serving, for the panic log line.
    static ROUTE: Arc<str>;
}

/// Replaces Rust's default panic message (several lines, no component) with one `[native]`
/// line that names the request being served when there is one. Installed once; the addon is
/// the only Rust code in the process.
pub fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let what = panic_message(info.payload());
            let place = info
                .location()
                .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
            let route = ROUTE
                .try_with(|route| route.to_string())
                .unwrap_or_else(|_| "a connection".to_owned());
            log_line(&format!("panic while serving {route}: {what}{place}"));
        }));
    });
}

/// The text a panic was raised with (`panic!("...")` carries a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// Formats the request-log message: `<client> <method> <path> <status> <ms>ms` (`route` is
/// `<method> <path>`).
pub fn request_line(client: &str, route: &str, status: u16, took: Duration) -> String {
    let ms = took.as_secs_f64() * 1000.0;
    format!("{client} {route} {status} {ms:.2}ms")
}

/// The TCP peer of a connection (none on a Unix socket), put into each request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<SocketAddr>);

/// Middleware logging one line per request once the response head is ready.
pub async fn log_requests(
    State(trust_passenger): State<bool>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // `<method> <path>`, built once: named by the panic hook while the request runs, then logged.
    let route: Arc<str> = format!("{} {}", request.method(), request.uri().path()).into();
    let client = client_address(&request, trust_passenger);
    let response = ROUTE.scope(Arc::clone(&route), next.run(request)).await;
    log_line(&request_line(
        &client,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    ));
    response
}

/// Passenger's trusted client header when behind Passenger, else the TCP peer, else `-`.
fn client_address(request: &Request, trust_passenger: bool) -> String {
    if trust_passenger {
        if let Some(value) = request
            .headers()
            .get("!~passenger-client-address")
            .and_then(|v| v.to_str().ok())
        {
            return value.to_owned();
        }
    }
    match request.extensions().get::<PeerAddr>() {
        Some(PeerAddr(Some(addr))) => addr.ip().to_string(),
        _ => "-".to_owned(),
    }
}

/// Wraps `app` so each request is logged; with `trust_passenger`, Passenger's
/// `!~passenger-client-address` header names the client (a direct client could forge it, so
/// it is trusted only on Passenger's socket).
pub fn with_request_log(app: axum::Router, trust_passenger: bool) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(
        trust_passenger,
        log_requests,
    ))
}
