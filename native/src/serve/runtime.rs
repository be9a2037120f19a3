//! The tokio runtime, with a fixed number of worker threads.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tokio::runtime::{Builder, Runtime};

/// Builds a runtime with `threads` workers and one blocking thread (the API never blocks; tokio
/// may use it for its own bookkeeping). Never one thread per visible core: a shared account
/// limits threads per user (CloudLinux NPROC), not per process.
pub fn build(threads: usize) -> io::Result<Runtime> {
    let threads = threads.max(1);
    // tokio panics when the OS refuses a worker thread (EAGAIN under a process limit); that is
    // an error for the caller to report, not a reason to abort Node.
    let built = catch_unwind(AssertUnwindSafe(|| {
        Builder::new_multi_thread()
            .worker_threads(threads)
            .max_blocking_threads(1)
            .thread_name("handoff-worker")
            .enable_io()
            .enable_time()
            .build()
    }));
    match built {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "unknown reason".to_owned());
            Err(io::Error::other(format!(
                "cannot start {threads} worker threads: {what}"
            )))
        }
    }
}
