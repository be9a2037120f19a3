//! The server over real sockets: a Unix path, TCP, an inherited listening descriptor, and
//! shutdown.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use handoff::api::Config;
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
