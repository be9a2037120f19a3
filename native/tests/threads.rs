//! The worker threads are exactly `threads`, never one per core. Alone in its own test binary
//! (its own process), so no other test's server adds threads while it counts.

use std::time::Duration;

use handoff::serve::{bind, BindTarget, Server};

mod common;

#[test]
fn runs_exactly_the_requested_number_of_worker_threads() {
    let count_workers = || {
        std::fs::read_dir("/proc/self/task")
            .expect("proc")
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim() == "handoff-worker")
            .count()
    };
    let before = count_workers();
    let bound = bind(&BindTarget::Tcp("127.0.0.1".to_owned(), 0)).expect("bind");
    let app = common::app_with(common::config());
    let server = Server::start(bound, app, 3, false).expect("start");
    // Each thread names itself once it runs, a moment after the runtime is built.
    for _ in 0..100 {
        if count_workers() - before >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(count_workers() - before, 3);
    server.shutdown(Duration::ZERO);
    common::wait_finished(&server);
    server.release_runtime();
    // Released in the background: the threads end on their own shortly after.
    for _ in 0..250 {
        if count_workers() == before {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(count_workers(), before, "the threads stop with the server");
}
