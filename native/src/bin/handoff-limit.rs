//! The benchmark's limit: the native server exactly as the addon runs it (the same router,
//! request log, runtime, app hooks and accept loop), in a plain Rust process with no Node
//! around it.
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

use handoff::api::Config;
use handoff::prepare::Prepared;
use handoff::serve::{self, BindTarget};

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
    // The app's defaults (src/config.ts, which `Config::default()` matches), so the limit
    // serves what `node app.js` serves.
    let config = Config {
        threads,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Config::default()
    };
    let prepared = Prepared::new(config)?;
    let target = BindTarget::Path(path.clone());
    let bound =
        serve::bind(&target).map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    let server = prepared.listen(bound, false).map_err(|e| e.to_string())?;
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
    let mut threads = Config::default().threads;
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
