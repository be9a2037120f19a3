//! Log lines on stderr, the same shape as the fallback's (`src/log.ts`).
//!
//! Request lines are batched: they collect in a buffer written out when the next line would
//! take it past [`BATCH_BYTES`], or [`FLUSH_DELAY`] after the first line went in, whichever
//! comes first; other lines, and the end of a server ([`flush`]), write what is buffered
//! first. So a busy server makes one `write` per batch rather than one per request, no line
//! is lost on a graceful shutdown, and lines keep their order.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::api::config::TrustProxy;

/// Largest batch of request lines written at once: `PIPE_BUF`, the most a write to a pipe
/// (Passenger's, a terminal's) is guaranteed to put in one piece, so lines from Node writing
/// to the same stderr never land inside a batch.
pub const BATCH_BYTES: usize = 4096;

/// How late a buffered request line may be written at most (on a quiet server).
pub const FLUSH_DELAY: Duration = Duration::from_millis(5);

/// Request lines not yet written, and whether a flush is already planned for them.
struct Pending {
    lines: Vec<u8>,
    planned: bool,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    lines: Vec::new(),
    planned: false,
});

fn pending() -> std::sync::MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `bytes` to stderr in a single write (whole lines, so lines from several threads and
/// from Node never interleave). Called with [`PENDING`] held, which keeps the order.
fn write_out(bytes: &[u8]) {
    // Nowhere to report a failed write to stderr; dropping the lines is the only option.
    let _ = std::io::stderr().lock().write_all(bytes);
}

/// Writes one `[native] <message>` line to stderr at once, after the request lines still
/// buffered (so the log keeps its order).
pub fn log_line(message: &str) {
    let line = format!("[native] {message}\n");
    let mut pending = pending();
    if !pending.lines.is_empty() {
        write_out(&pending.lines);
        pending.lines.clear();
    }
    write_out(line.as_bytes());
}

/// Buffers one `[native] <message>` request line (see the module's doc).
pub fn log_request_line(message: &str) {
    let line = format!("[native] {message}\n");
    let mut pending = pending();
    if pending.lines.len() + line.len() > BATCH_BYTES {
        write_out(&pending.lines);
        pending.lines.clear();
    }
    if line.len() > BATCH_BYTES {
        write_out(line.as_bytes());
        return;
    }
    pending.lines.extend_from_slice(line.as_bytes());
    if !pending.planned {
        // Outside a runtime nothing would run a timer: write at once.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            write_out(&pending.lines);
            pending.lines.clear();
            return;
        };
        pending.planned = true;
        drop(pending);
        runtime.spawn(async {
            tokio::time::sleep(FLUSH_DELAY).await;
            flush();
        });
    }
}

/// Writes the request lines still buffered. A server calls it once it has finished.
pub fn flush() {
    let mut pending = pending();
    pending.planned = false;
    if !pending.lines.is_empty() {
        write_out(&pending.lines);
        pending.lines.clear();
    }
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

/// Who may name the client in the request log.
#[derive(Debug, Clone, Default)]
pub struct ClientPolicy {
    /// Serving Passenger's socket: its `!~passenger-client-address` header names the client.
    pub passenger: bool,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (`HANDOFF_TRUST_PROXY`).
    pub proxy: Arc<TrustProxy>,
    /// Write a line per request (`HANDOFF_ACCESS_LOG`); off, a panic still names its request.
    pub access_log: bool,
}

/// Middleware logging one line per request once the response head is ready.
pub async fn log_requests(
    State(policy): State<ClientPolicy>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // `<method> <path>`, built once: named by the panic hook while the request runs, then logged.
    let route: Arc<str> = format!("{} {}", request.method(), request.uri().path()).into();
    if !policy.access_log {
        return ROUTE.scope(route, next.run(request)).await;
    }
    let client = client_address(&request, &policy);
    let response = ROUTE.scope(Arc::clone(&route), next.run(request)).await;
    log_request_line(&request_line(
        &client,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    ));
    response
}

/// Passenger's trusted client header when behind Passenger, else [`forwarded_client`].
fn client_address(request: &Request, policy: &ClientPolicy) -> String {
    if policy.passenger {
        if let Some(value) = request
            .headers()
            .get("!~passenger-client-address")
            .and_then(|v| v.to_str().ok())
        {
            return value.to_owned();
        }
    }
    let peer = match request.extensions().get::<PeerAddr>() {
        Some(PeerAddr(Some(addr))) => Some(addr.ip()),
        _ => None,
    };
    forwarded_client(peer, request.headers(), &policy.proxy)
}

/// The client as the request log names it (`src/backends/node-server.ts` does the same): the
/// peer's address (`-` on a Unix socket); when the peer is a trusted proxy, the address
/// `X-Forwarded-For` gives, read from the right, skipping trusted proxies (all of them when
/// every peer is trusted: the leftmost); `/<proto>` appended from a trusted `X-Forwarded-Proto`.
pub fn forwarded_client(peer: Option<IpAddr>, headers: &HeaderMap, trust: &TrustProxy) -> String {
    let peer_trusted = match peer {
        Some(ip) => trust.trusts(ip),
        None => trust.unix || trust.all,
    };
    let mut client = peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    if !peer_trusted {
        return client;
    }
    let hops = header_list(headers, "x-forwarded-for");
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client.clone_from(hop);
        if !trust.trusts(ip) {
            break;
        }
    }
    let proto = header_list(headers, "x-forwarded-proto")
        .into_iter()
        .next()
        .map(|p| p.to_ascii_lowercase());
    match proto {
        Some(p)
            if p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c)) =>
        {
            format!("{client}/{p}")
        }
        _ => client,
    }
}

/// The comma-separated items of every `name` header line, trimmed, empty ones left out.
fn header_list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Wraps `app` so each request is logged, naming the client as `policy` allows (a direct
/// client could forge Passenger's header, so it is trusted only on Passenger's socket).
pub fn with_request_log(app: axum::Router, policy: ClientPolicy) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(policy, log_requests))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, axum::http::HeaderValue::from_static(value));
        }
        map
    }

    fn trust(all: bool, unix: bool, addresses: &[&str]) -> TrustProxy {
        TrustProxy {
            all,
            unix,
            addresses: addresses.iter().map(|a| a.parse().expect("ip")).collect(),
        }
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_peers() {
        let lb: IpAddr = "10.0.0.1".parse().expect("ip");
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1, 203.0.113.7"),
            ("x-forwarded-for", "10.0.0.2"),
            ("x-forwarded-proto", "HTTPS, http"),
        ]);
        let off = TrustProxy::default();
        assert_eq!(forwarded_client(Some(lb), &h, &off), "10.0.0.1");
        assert_eq!(forwarded_client(None, &h, &off), "-");
        let listed = trust(false, false, &["10.0.0.1", "10.0.0.2"]);
        assert_eq!(forwarded_client(Some(lb), &h, &listed), "203.0.113.7/https");
        assert_eq!(forwarded_client(None, &h, &listed), "-");
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert_eq!(
            forwarded_client(Some(mapped), &h, &listed),
            "203.0.113.7/https"
        );
        assert_eq!(
            forwarded_client(None, &h, &trust(false, true, &[])),
            "10.0.0.2/https"
        );
        assert_eq!(
            forwarded_client(Some(lb), &h, &trust(true, true, &[])),
            "198.51.100.1/https"
        );
        let forged = headers(&[("x-forwarded-for", "1.2.3.4, not-an-ip")]);
        assert_eq!(forwarded_client(Some(lb), &forged, &listed), "10.0.0.1");
    }
}
