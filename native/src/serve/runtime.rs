//! The tokio runtime, with a fixed number of worker threads and a bounded blocking pool.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use tokio::runtime::{Builder, Runtime};

/// Builds a runtime with `threads` workers and at most `blocking_threads` blocking threads
/// (`spawn_blocking`, file I/O, blocking database drivers; started when first needed). Never
/// one thread per visible core: a shared account limits threads per user (CloudLinux NPROC),
/// not per process.
///
/// Fails with an error, and leaves no thread behind, when the OS refuses a thread (EAGAIN under
/// a process limit).
pub fn build(threads: usize, blocking_threads: usize) -> io::Result<Runtime> {
    let threads = threads.max(1);
    let blocking_threads = blocking_threads.max(1);
    // tokio panics when a worker thread cannot be spawned, and unwinding then waits forever for
    // the workers it did start: the caller would hang. So first check, with threads that
    // report failure as an error, that the OS grants this many more (the blocking ones too,
    // which tokio starts later, when a task needs one).
    reserve_threads(threads + blocking_threads)
        .map_err(|error| cannot_start(threads, blocking_threads, &error.to_string()))?;
    // Only a process racing for the same slots in the meantime can make tokio panic now.
    let built = catch_unwind(AssertUnwindSafe(|| {
        Builder::new_multi_thread()
            .worker_threads(threads)
            .max_blocking_threads(blocking_threads)
            .thread_name("handoff-worker")
            .enable_io()
            .enable_time()
            .build()
    }));
    match built {
        Ok(result) => result,
        Err(panic) => Err(cannot_start(
            threads,
            blocking_threads,
            &super::log::panic_message(&*panic),
        )),
    }
}

/// Starts `count` threads that stay alive together until all were asked for, then lets them
/// end: an error if any one cannot be created. Every thread started is joined either way.
fn reserve_threads(count: usize) -> io::Result<()> {
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let mut started = Vec::with_capacity(count);
    let mut failure = None;
    for _ in 0..count {
        let gate = Arc::clone(&gate);
        let spawned = std::thread::Builder::new()
            .name("handoff-probe".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || {
                let (open, opened) = &*gate;
                let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
                while !*open {
                    open = opened.wait(open).unwrap_or_else(PoisonError::into_inner);
                }
            });
        match spawned {
            Ok(handle) => started.push(handle),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let (open, opened) = &*gate;
    *open.lock().unwrap_or_else(PoisonError::into_inner) = true;
    opened.notify_all();
    for handle in started {
        let _ = handle.join();
    }
    failure.map_or(Ok(()), Err)
}

fn cannot_start(threads: usize, blocking_threads: usize, why: &str) -> io::Error {
    io::Error::other(format!(
        "cannot start {threads} worker threads: {why} (with {blocking_threads} blocking)"
    ))
}
