//! The benchmark's bare limit: a plain hyper server answering `GET /hello` with the same bytes
//! as the API (`{"message":"Hello, World!"}`, the same headers), and nothing else: no router, no
//! request log, no middleware, no Node. The floor for that work on this machine; `npm run bench`
//! reports the native figures against it as well as against `handoff-limit`.
//!
//! ```text
//! handoff-bare <socket path> [--threads N]
//! ```
//!
//! It serves until its standard input closes, then removes its socket file and exits 0. Every
//! other request is answered 404 with an empty body.

use std::convert::Infallible;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

const BODY: &[u8] = br#"{"message":"Hello, World!"}"#;
const USAGE: &str = "usage: handoff-bare <socket path> [--threads N]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("[bare] {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let (path, threads) = parse_args(std::env::args().skip(1))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_io()
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    let listener = {
        let _context = runtime.enter();
        UnixListener::bind(&path)
            .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?
    };
    eprintln!(
        "[bare] serving on {} with {threads} threads",
        path.display()
    );
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(answer);
                // A client that goes away ends its connection; nothing to report.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    // Standard input closing is the signal to stop.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    runtime.shutdown_background();
    let _ = std::fs::remove_file(&path);
    Ok(())
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::new()));
    if request.method() == Method::GET && request.uri().path() == "/hello" {
        *response.body_mut() = Full::new(Bytes::from_static(BODY));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    } else {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(response)
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(PathBuf, usize), String> {
    let mut path = None;
    let mut threads = 2;
    while let Some(arg) = args.next() {
        if arg == "--threads" {
            threads = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| format!("--threads needs a whole number from 1 to 64; {USAGE}"))?;
        } else if path.is_none() && !arg.starts_with('-') {
            path = Some(PathBuf::from(arg));
        } else {
            return Err(format!("unexpected argument {arg:?}; {USAGE}"));
        }
    }
    path.map(|p| (p, threads)).ok_or_else(|| USAGE.to_owned())
}
