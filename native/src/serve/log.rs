//! Log lines on stderr, the same shape as the fallback's (`src/log.ts`).
//!
//! Request lines are batched: they collect in a buffer written out when the next line would
//! take it past [`BATCH_BYTES`], or [`FLUSH_DELAY`] after the first line went in, whichever
//! comes first; other lines, and the end of a server ([`flush`]), write what is buffered
//! first. So a busy server makes one `write` per batch rather than one per request, no line
//! is lost on a graceful shutdown, and lines keep their order.

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};

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
    log_as("native", message);
}

/// Writes one `[<component>] <message>` line, as [`log_line`] does. A line feed in the message
/// (with the white space around it) becomes one space, as in src/log.ts: what a client sent
/// (an SCGI variable's name, a panic message) can never start a line of its own.
pub fn log_as(component: &str, message: &str) {
    let line = format!("[{component}] {}\n", one_line(message));
    let mut pending = pending();
    if !pending.lines.is_empty() {
        write_out(&pending.lines);
        pending.lines.clear();
    }
    write_out(line.as_bytes());
}

/// `message` with every run of white space that holds a line feed replaced by one space
/// (JavaScript's `message.replace(/\s*\n\s*/g, ' ')`).
fn one_line(message: &str) -> std::borrow::Cow<'_, str> {
    if !message.contains('\n') {
        return message.into();
    }
    let mut out = String::with_capacity(message.len());
    let mut run = String::new();
    for c in message.chars() {
        if c.is_whitespace() {
            run.push(c);
            continue;
        }
        out.push_str(if run.contains('\n') { " " } else { &run });
        run.clear();
        out.push(c);
    }
    out.push_str(if run.contains('\n') { " " } else { &run });
    out.into()
}

/// Buffers the request line `[native] <client> <method> <path> <status> <ms>ms` (see the
/// module's doc), written straight into the buffer.
pub fn log_request(client: &Client, name: &RequestName, status: u16, took: Duration) {
    let mut pending = pending();
    let start = pending.lines.len();
    write_request_line(&mut pending.lines, client, name, status, took);
    let line = pending.lines.len() - start;
    if start > 0 && pending.lines.len() > BATCH_BYTES {
        // The new line would take the batch past the limit: the batch goes out without it.
        write_out(&pending.lines[..start]);
        pending.lines.drain(..start);
    }
    if line > BATCH_BYTES {
        write_out(&pending.lines);
        pending.lines.clear();
        return;
    }
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

/// Appends `[native] <client> <method> <path> <status> <ms>ms` and a line feed to `out`, the
/// milliseconds with two decimals rounded half up. Byte by byte rather than through
/// `core::fmt` (which cost as much as the rest of the log line's work per request); the same
/// bytes as `format!("[native] {client} {name} {status} {ms}.{fraction:02}ms\n")`.
fn write_request_line(
    out: &mut Vec<u8>,
    client: &Client,
    name: &RequestName,
    status: u16,
    took: Duration,
) {
    let hundredths = (took.as_nanos() + 5_000) / 10_000;
    out.extend_from_slice(b"[native] ");
    match client {
        Client::Unix => out.push(b'-'),
        // An address is rare enough (TCP without a front server) to go through `Display`.
        Client::Peer(ip) => {
            let _ = write!(out, "{ip}");
        }
        Client::Passenger(value) => out.extend_from_slice(value.to_str().unwrap_or("-").as_bytes()),
        Client::Forwarded(client) => out.extend_from_slice(client.as_bytes()),
    }
    out.push(b' ');
    out.extend_from_slice(name.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(name.uri.path().as_bytes());
    out.push(b' ');
    push_decimal(out, u128::from(status));
    out.push(b' ');
    push_decimal(out, hundredths / 100);
    let fraction = (hundredths % 100) as u8; // below 100
    out.extend_from_slice(&[b'.', b'0' + fraction / 10, b'0' + fraction % 10]);
    out.extend_from_slice(b"ms\n");
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u128) {
    let mut digits = [0u8; 39];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
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

/// `<method> <path>` of a request, for its log line and for a panic while it is served. Taken
/// from the request without copying (both are reference-counted or inline).
#[derive(Debug, Clone)]
pub struct RequestName {
    method: Method,
    uri: Uri,
}

impl RequestName {
    /// The name of `request`.
    pub fn of<B>(request: &axum::http::Request<B>) -> Self {
        Self {
            method: request.method().clone(),
            uri: request.uri().clone(),
        }
    }
}

impl fmt::Display for RequestName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.uri.path())
    }
}

thread_local! {
    /// The request this thread is serving right now, for the panic log line.
    static SERVING: RefCell<Option<RequestName>> = const { RefCell::new(None) };
}

/// Runs `poll` (one poll of a request's future) with `name` as the request this thread serves,
/// so that a panic in it names the request; `name` is given back afterwards (also when `poll`
/// unwinds). What a task-local does, without its pinning.
pub fn serving<R>(name: &mut Option<RequestName>, poll: impl FnOnce() -> R) -> R {
    struct Restore<'a> {
        name: &'a mut Option<RequestName>,
        previous: Option<RequestName>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let previous = self.previous.take();
            let _ = SERVING.try_with(|serving| {
                if let Ok(mut serving) = serving.try_borrow_mut() {
                    *self.name = std::mem::replace(&mut *serving, previous);
                }
            });
        }
    }
    let previous = SERVING
        .try_with(|serving| {
            serving
                .try_borrow_mut()
                .ok()
                .and_then(|mut serving| std::mem::replace(&mut *serving, name.take()))
        })
        .ok()
        .flatten();
    let _restore = Restore { name, previous };
    poll()
}

/// `<method> <path>` of the request this thread is serving now ([`serving`]), if any.
pub fn serving_now() -> Option<String> {
    SERVING
        .try_with(|serving| {
            serving
                .try_borrow()
                .ok()
                .and_then(|name| name.as_ref().map(ToString::to_string))
        })
        .ok()
        .flatten()
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
            let route = serving_now().unwrap_or_else(|| "a connection".to_owned());
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

/// The TCP peer of a connection, put into each request's extensions (none on a Unix socket).
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

/// Who a request line names as the client (see [`client_of`]); written without allocating in
/// the common cases.
#[derive(Debug)]
pub enum Client {
    /// A peer on a Unix socket, with no proxy trusted: `-`.
    Unix,
    /// The TCP peer, not a trusted proxy.
    Peer(IpAddr),
    /// Passenger's `!~passenger-client-address` header (checked to be text).
    Passenger(HeaderValue),
    /// What [`forwarded_client`] found.
    Forwarded(String),
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix => f.write_str("-"),
            Self::Peer(ip) => ip.fmt(f),
            Self::Passenger(value) => f.write_str(value.to_str().unwrap_or("-")),
            Self::Forwarded(client) => f.write_str(client),
        }
    }
}

/// Passenger's trusted client header when behind Passenger, else [`forwarded_client`] (a
/// direct client could forge Passenger's header, so it is trusted only on Passenger's socket).
pub fn client_of(request: &Request, policy: &ClientPolicy) -> Client {
    if policy.passenger {
        if let Some(value) = request
            .headers()
            .get("!~passenger-client-address")
            .filter(|v| v.to_str().is_ok())
        {
            return Client::Passenger(value.clone());
        }
    }
    let peer = match request.extensions().get::<PeerAddr>() {
        Some(PeerAddr(Some(addr))) => Some(addr.ip()),
        _ => None,
    };
    let trusted = match peer {
        Some(ip) => policy.proxy.trusts(ip),
        None => policy.proxy.unix || policy.proxy.all,
    };
    match peer {
        _ if trusted => Client::Forwarded(forwarded_client(peer, request.headers(), &policy.proxy)),
        Some(ip) => Client::Peer(ip),
        None => Client::Unix,
    }
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

    #[test]
    fn the_request_line_is_what_format_would_write() {
        let request = |method: &str, uri: &str| {
            axum::http::Request::builder()
                .method(method)
                .uri(uri)
                .body(())
                .expect("request")
        };
        let clients = [
            Client::Unix,
            Client::Peer("203.0.113.7".parse().expect("ip")),
            Client::Peer("::1".parse().expect("ip")),
            Client::Passenger(HeaderValue::from_static("198.51.100.2")),
            Client::Passenger(HeaderValue::from_bytes(b"caf\xc3\xa9").expect("value")),
            Client::Forwarded("203.0.113.7/https".to_owned()),
        ];
        let names = [
            RequestName::of(&request("GET", "/hello?name=x")),
            RequestName::of(&request("PATCH", "/notes/7")),
            RequestName::of(&request("BREW", "/%20a")),
        ];
        let times = [
            0,
            4_999,
            5_000,
            1_234_567,
            99_995_000,
            3_600_000_000_000,
            u64::MAX,
        ];
        for client in &clients {
            for name in &names {
                for (status, nanos) in [200u16, 404, 500, 999]
                    .into_iter()
                    .flat_map(|status| times.iter().map(move |nanos| (status, nanos)))
                {
                    let took = Duration::from_nanos(*nanos);
                    let hundredths = (took.as_nanos() + 5_000) / 10_000;
                    let (ms, fraction) = (hundredths / 100, hundredths % 100);
                    let expected =
                        format!("[native] {client} {name} {status} {ms}.{fraction:02}ms\n");
                    let mut out = b"before\n".to_vec();
                    write_request_line(&mut out, client, name, status, took);
                    assert_eq!(String::from_utf8_lossy(&out[7..]), expected);
                }
            }
        }
    }

    #[test]
    fn a_line_feed_in_a_message_becomes_one_space_as_in_javascript() {
        assert_eq!(one_line("no line feed  here"), "no line feed  here");
        assert_eq!(one_line("HTTP_X\n[main] forged"), "HTTP_X [main] forged");
        assert_eq!(one_line("a \r\n\t b\n\nc"), "a b c");
        assert_eq!(one_line("\nlead and trail \n"), " lead and trail ");
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
