//! The server over real sockets: a Unix path, TCP, an inherited listening descriptor, shutdown
//! (the drain and the close hook), and a server prepared from a config. Only the core and the
//! test routes, never the examples.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use handoff::api::Config;
use handoff::prepare::Prepared;
use handoff::serve::{bind, BindTarget, Server};

mod common;

fn app() -> axum::Router {
    common::app_with(Config {
        version: "1.2.3".to_owned(),
        body_limit: 1024,
        ..common::config()
    })
}

fn socket_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("handoff-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("app.sock")
}

/// Sends a raw HTTP/1.1 request (connection: close) and returns the whole answer.
fn exchange(mut stream: impl Read + Write, request: &str) -> String {
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[test]
fn serves_on_a_unix_path_and_removes_it_on_close() {
    let path = socket_path("path");
    let server = Server::start(
        bind(&BindTarget::Path(path.clone())).expect("bind"),
        app(),
        2,
        false,
    )
    .expect("start");
    assert_eq!(server.address, path.display().to_string());
    let answer = exchange(UnixStream::connect(&path).expect("connect"), HEALTH);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains(r#""backend":"native","version":"1.2.3""#),
        "{answer}"
    );
    server.shutdown(Duration::from_secs(1));
    common::wait_finished(&server);
    assert!(!path.exists(), "socket file removed");
}

#[test]
fn binding_a_path_that_exists_fails_without_touching_it() {
    let path = socket_path("exists");
    let _owner = UnixListener::bind(&path).expect("owner binds");
    let error = bind(&BindTarget::Path(path.clone())).expect_err("must not bind");
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
    assert!(
        UnixStream::connect(&path).is_ok(),
        "the owner still listens"
    );
}

#[test]
fn serves_on_tcp_with_a_chosen_port() {
    let bound = bind(&BindTarget::Tcp("127.0.0.1".to_owned(), 0)).expect("bind");
    let server = Server::start(bound, app(), 1, false).expect("start");
    let port = server.port.expect("tcp port");
    let answer = exchange(
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"),
        HEALTH,
    );
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    server.shutdown(Duration::ZERO);
    common::wait_finished(&server);
}

#[test]
fn serves_on_an_inherited_descriptor_and_leaves_the_original_open() {
    let path = socket_path("fd");
    let inherited = UnixListener::bind(&path).expect("bind");
    let bound = bind(&BindTarget::Fd(inherited.as_raw_fd())).expect("duplicate fd");
    let server = Server::start(bound, app(), 1, false).expect("start");
    assert!(
        server
            .address
            .contains(&format!("(fd {})", inherited.as_raw_fd())),
        "{}",
        server.address
    );
    let answer = exchange(UnixStream::connect(&path).expect("connect"), HEALTH);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    server.shutdown(Duration::ZERO);
    common::wait_finished(&server);
    assert!(
        path.exists(),
        "a descriptor we did not create is not unlinked"
    );
    inherited
        .set_nonblocking(true)
        .expect("the original descriptor is still open");
}

#[test]
fn refuses_a_descriptor_that_is_not_listening() {
    let (socket, _peer) = UnixStream::pair().expect("pair");
    let error = bind(&BindTarget::Fd(socket.as_raw_fd())).expect_err("not a listener");
    assert!(
        error.to_string().contains("not a listening socket"),
        "{error}"
    );
}

#[test]
fn shutdown_lets_an_upload_in_flight_finish() {
    let bound = bind(&BindTarget::Tcp("127.0.0.1".to_owned(), 0)).expect("bind");
    let server = Server::start(bound, app(), 1, false).expect("start");
    let port = server.port.expect("tcp port");
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    client
        .write_all(b"POST /__test/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhalf.")
        .expect("write the first half");
    // Let the server start reading the body, then shut down while it waits for the rest.
    std::thread::sleep(Duration::from_millis(200));
    server.shutdown(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(100));
    client.write_all(b"half!").expect("write the second half");
    let mut answer = String::new();
    client.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"bytes":10}"#), "{answer}");
    common::wait_finished(&server);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no longer listening"
    );
}

#[test]
fn the_close_hook_runs_after_the_drain_and_before_the_server_finishes() {
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = |what: &'static str| {
        let events = std::sync::Arc::clone(&events);
        move || events.lock().expect("events").push(what)
    };
    let bound = bind(&BindTarget::Tcp("127.0.0.1".to_owned(), 0)).expect("bind");
    let runtime = handoff::serve::runtime::build(1, 1).expect("runtime");
    let closed = log("close");
    let server = Server::start_with_close(
        runtime,
        bound,
        app(),
        handoff::serve::ServeOptions::default(),
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            closed();
        },
    )
    .expect("start");
    let finished = log("finished");
    server.on_finished(finished);
    assert!(events.lock().expect("events").is_empty());
    server.shutdown(Duration::from_secs(1));
    common::wait_finished(&server);
    assert_eq!(*events.lock().expect("events"), ["close", "finished"]);
}

#[test]
fn a_prepared_server_runs_its_hooks_and_serves_what_the_config_says() {
    let prepared = Prepared::new(Config {
        threads: 1,
        base_path: "/api".to_owned(),
        version: "4.5.6".to_owned(),
        ..common::config()
    })
    .expect("prepared");
    let bound = bind(&BindTarget::Tcp("127.0.0.1".to_owned(), 0)).expect("bind");
    let server = prepared.listen(bound, false).expect("listen");
    let port = server.port.expect("tcp port");
    let connect = || std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let answer = exchange(
        connect(),
        "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.contains(r#""version":"4.5.6""#), "{answer}");
    let answer = exchange(connect(), HEALTH);
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    server.shutdown(Duration::from_secs(1));
    common::wait_finished(&server);
}

#[test]
fn a_config_the_server_cannot_run_with_is_refused_before_any_thread_starts() {
    let refused = |config: Config| Prepared::new(config).err().expect("refused");
    let error = refused(Config {
        blocking_threads: 0,
        ..common::config()
    });
    assert!(error.contains("blockingThreads"), "{error}");
    let error = refused(Config {
        base_path: "api/".to_owned(),
        ..common::config()
    });
    assert!(error.contains("basePath"), "{error}");
}
