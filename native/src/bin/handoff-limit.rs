//! The benchmark's limit: the native server exactly as the addon runs it (the same router,
//! request log, runtime and accept loop), in a plain Rust process with no Node around it.
//! Comparing it with the addon shows what hosting the server inside Node costs.
//!
//! ```text
//! handoff-limit <socket path> [--threads N]
//! ```
//!
//! It serves until its standard input closes (as Passenger tells an app to stop), then
//! finishes the requests in flight and exits 0. Used by `npm run bench` (bench/).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use handoff::api::{self, ApiConfig, AppState};
use handoff::serve::{self, BindTarget, Server};

/// The app's defaults (src/config.ts), so the limit serves what `node app.js` serves.
const BODY_LIMIT: u64 = 1024 * 1024; // 1 MiB
const HASH_LIMIT: u64 = 64 * 1024 * 1024; // 64 MiB
const THREADS: usize = 2;
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            serve::log::log_line(&message);
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let (path, threads) = parse_args(std::env::args().skip(1))?;
    let config = ApiConfig {
        base_path: String::new(),
        body_limit: BODY_LIMIT,
        hash_limit: HASH_LIMIT,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        request_timeout: std::time::Duration::from_secs(60),
        test_routes: false,
    };
    let app = serve::log::with_request_log(api::router(AppState::new(config)), false);
    let target = BindTarget::Path(path.clone());
    let bound =
        serve::bind(&target).map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    let server = Server::start(bound, app, threads, false).map_err(|e| e.to_string())?;
    serve::log::log_line(&format!(
        "limit serving on {} with {threads} threads",
        server.address
    ));

    // Standard input closing is the signal to stop: no signal handling needed.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);

    let (done_tx, done_rx) = mpsc::channel();
    server.on_finished(move || {
        let _ = done_tx.send(());
    });
    server.shutdown(SHUTDOWN_GRACE);
    let _ = done_rx.recv();
    server.release_runtime();
    serve::log::log_line("stopped");
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(PathBuf, usize), String> {
    const USAGE: &str = "usage: handoff-limit <socket path> [--threads N]";
    let mut path = None;
    let mut threads = THREADS;
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
