//! Log lines on stderr, the same shape as the fallback's (`src/log.ts`).

use std::io::Write;
use std::net::SocketAddr;
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

/// Formats the request-log message: `<client> <method> <path> <status> <ms>ms`.
pub fn request_line(client: &str, method: &str, path: &str, status: u16, took: Duration) -> String {
    let ms = took.as_secs_f64() * 1000.0;
    format!("{client} {method} {path} {status} {ms:.2}ms")
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
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let client = client_address(&request, trust_passenger);
    let response = next.run(request).await;
    log_line(&request_line(
        &client,
        &method,
        &path,
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
