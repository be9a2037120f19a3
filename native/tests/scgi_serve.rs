//! The SCGI server over real sockets (`protocol: scgi`): answers CGI style on TCP and on a Unix
//! path, keeps serving after broken and invalid requests, streams the body to the handler, and
//! applies the header and body timeouts, the connection cap and the graceful shutdown as the
//! HTTP server does. The byte-level cases are in `scgi_corpus.rs` and `properties_scgi.rs`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use axum::body::Body;
use axum::routing::post;
use handoff::api::config::Protocol;
use handoff::api::Config;
use handoff::prepare::Prepared;
use handoff::serve::scgi_parse::encode;
use handoff::serve::{bind, BindTarget, ServeOptions, Server};
use http_body_util::BodyExt;

mod common;

/// A request as nginx sends it: `CONTENT_LENGTH`, `SCGI`, method, target, then `extra`.
fn request(method: &str, uri: &str, body: &[u8], extra: &[(&str, &str)]) -> Vec<u8> {
    request_declaring(method, uri, body.len() as u64, body, extra)
}

fn request_declaring(
    method: &str,
    uri: &str,
    length: u64,
    body: &[u8],
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut pairs: Vec<(&[u8], &[u8])> = vec![
        (b"SCGI", b"1"),
        (b"REQUEST_METHOD", method.as_bytes()),
        (b"REQUEST_URI", uri.as_bytes()),
        (b"REMOTE_ADDR", b"203.0.113.9"),
        (b"HTTP_HOST", b"example.com"),
    ];
    pairs.extend(extra.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    let mut bytes = encode(length, &pairs);
    bytes.extend_from_slice(body);
    bytes
}

/// Writes `bytes`, then reads the whole answer (10 s at most: a hang fails the test).
fn exchange(mut stream: impl Read + Write, bytes: &[u8]) -> String {
    stream.write_all(bytes).expect("write");
    read_all(stream)
}

fn read_all(mut stream: impl Read) -> String {
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

fn tcp(port: u16) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// A prepared SCGI server (test routes on) on a free TCP port.
fn start(config: Config) -> Server {
    let prepared = Prepared::new(Config {
        threads: 1,
        protocol: Protocol::Scgi,
        body_limit: 1024,
        ..config
    })
    .expect("prepared");
    let bound = bind(&BindTarget::Tcp("127.0.0.1".to_owned(), 0)).expect("bind");
    prepared.listen(bound, false).expect("listen")
}

fn stop(server: &Server) {
    server.shutdown(Duration::from_secs(1));
    common::wait_finished(server);
}

#[test]
fn answers_cgi_style_on_tcp_and_keeps_serving_after_bad_requests() {
    let server = start(common::config());
    let port = server.port.expect("port");
    let answer = exchange(tcp(port), &request("GET", "/health?x=1", b"", &[]));
    assert!(answer.starts_with("Status: 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("\r\ncontent-type: application/json; charset=utf-8\r\n"),
        "{answer}"
    );
    assert!(answer.contains(r#""backend":"native""#), "{answer}");
    // Broken framing: closed without an answer; the next request is served.
    assert_eq!(exchange(tcp(port), b"+5:abcde,"), "");
    assert_eq!(exchange(tcp(port), &[b'9'; 9000]), "");
    // Well framed but invalid: 400.
    let answer = exchange(tcp(port), &encode(0, &[(b"REQUEST_METHOD", b"GET")]));
    assert!(
        answer.starts_with("Status: 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer
        .ends_with(r#"{"error":{"code":"bad_request","message":"The request is malformed."}}"#));
    let answer = exchange(tcp(port), &request("POST", "/__test/upload", b"12345", &[]));
    assert!(answer.starts_with("Status: 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"bytes":5}"#), "{answer}");
    let answer = exchange(tcp(port), &request("GET", "/nope", b"", &[]));
    assert!(answer.starts_with("Status: 404 Not Found\r\n"), "{answer}");
    let answer = exchange(tcp(port), &request("GET", "/__test/panic", b"", &[]));
    assert!(
        answer.starts_with("Status: 500 Internal Server Error\r\n"),
        "{answer}"
    );
    stop(&server);
}

#[test]
fn serves_on_a_unix_path() {
    let dir = std::env::temp_dir().join(format!("handoff-scgi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("scgi.sock");
    let runtime = handoff::serve::runtime::build(1, 1).expect("runtime");
    let options = ServeOptions {
        protocol: Protocol::Scgi,
        ..ServeOptions::default()
    };
    let bound = bind(&BindTarget::Path(path.clone())).expect("bind");
    let app = common::app_with(common::config());
    let server = Server::start_with_close(runtime, bound, app, options, async {}).expect("start");
    let answer = exchange(
        UnixStream::connect(&path).expect("connect"),
        &request("HEAD", "/health", b"", &[]),
    );
    assert!(answer.starts_with("Status: 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "HEAD: no body: {answer}");
    stop(&server);
    assert!(!path.exists(), "socket file removed");
}

#[test]
fn the_body_streams_to_the_handler_before_it_has_all_arrived() {
    // A handler that answers after its first piece of body: with 64 MiB declared and 1000
    // bytes sent, an answer comes only if the body is streamed, not collected first.
    let app = axum::Router::new().route(
        "/first",
        post(|body: Body| async move {
            let mut body = body;
            let first = body
                .frame()
                .await
                .and_then(|f| f.ok())
                .and_then(|f| f.into_data().ok());
            format!("first {}", first.map_or(0, |d| d.len()))
        }),
    );
    let runtime = handoff::serve::runtime::build(1, 1).expect("runtime");
    let options = ServeOptions {
        protocol: Protocol::Scgi,
        ..ServeOptions::default()
    };
    let bound = bind(&BindTarget::Tcp("127.0.0.1".to_owned(), 0)).expect("bind");
    let server = Server::start_with_close(runtime, bound, app, options, async {}).expect("start");
    let mut stream = tcp(server.port.expect("port"));
    let head = request_declaring("POST", "/first", 64 * 1024 * 1024, b"", &[]);
    stream.write_all(&head).expect("head");
    stream.write_all(&[7u8; 1000]).expect("some body");
    let answer = read_all(stream);
    assert!(answer.starts_with("Status: 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nfirst 1000"), "{answer}");
    stop(&server);
}

#[test]
fn header_timeout_body_timeout_and_connection_cap_apply() {
    let server = start(Config {
        header_timeout_ms: 200,
        request_timeout_ms: 200,
        max_connections: 1,
        ..common::config()
    });
    let port = server.port.expect("port");
    // A head that never completes: closed, unanswered, once the header timeout is over...
    let mut slow = tcp(port);
    slow.write_all(b"70:CONTENT_LENGTH\0")
        .expect("part of a head");
    // ...and meanwhile it is the one connection allowed: another is closed at once.
    assert_eq!(read_all(tcp(port)), "");
    assert_eq!(read_all(slow), "");
    stop(&server);
    // (Its own server: a connection being closed still counts for a while, lingering.)
    let server = start(Config {
        request_timeout_ms: 200,
        ..common::config()
    });
    let port = server.port.expect("port");
    // A body that stops coming: 408.
    let mut stalled = tcp(port);
    stalled
        .write_all(&request_declaring(
            "POST",
            "/__test/upload",
            10,
            b"abc",
            &[],
        ))
        .expect("write");
    let answer = read_all(stalled);
    assert!(
        answer.starts_with("Status: 408 Request Timeout\r\n"),
        "{answer}"
    );
    // A body cut short by the end of the connection: the handler's read fails (400).
    let mut cut = tcp(port);
    cut.write_all(&request_declaring(
        "POST",
        "/__test/upload",
        10,
        b"abc",
        &[],
    ))
    .expect("write");
    cut.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let answer = read_all(cut);
    assert!(
        answer.starts_with("Status: 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("body_read_failed"), "{answer}");
    let answer = exchange(tcp(port), &request("GET", "/health", b"", &[]));
    assert!(answer.starts_with("Status: 200 OK\r\n"), "{answer}");
    stop(&server);
}

#[test]
fn shutdown_lets_a_request_in_flight_finish() {
    let server = start(common::config());
    let port = server.port.expect("port");
    let mut client = tcp(port);
    client
        .write_all(&request_declaring(
            "POST",
            "/__test/upload",
            10,
            b"half.",
            &[],
        ))
        .expect("first half");
    // Shut down while the handler waits for the rest.
    std::thread::sleep(Duration::from_millis(200));
    server.shutdown(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(100));
    client.write_all(b"half!").expect("second half");
    let answer = read_all(client);
    assert!(answer.starts_with("Status: 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"bytes":10}"#), "{answer}");
    common::wait_finished(&server);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
