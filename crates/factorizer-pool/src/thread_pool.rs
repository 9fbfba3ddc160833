//! The same tasks on a pool of **threads** (the book's
//! `ThreadPoolExecutor`), for the threads-vs-processes comparison.
//!
//! In Python, threads cannot run Python code in parallel (the GIL), so the
//! book reaches for processes to use several cores. Rust threads have no
//! such lock: for a pure computation like this one they reach the same
//! speedup as processes, with no program to start and no pipes.
//!
//! What threads cannot do is be killed from outside: a hung task keeps its
//! thread forever and a crash (an `abort`) takes the whole program down. So
//! this pool catches panics (the item fails alone) but refuses to run the
//! `crash` and `hang` faults, and has no timeout — that is the processes'
//! advantage, shown by [`crate::process_pool`].
//!
//! ```
//! use factorizer_pool::{RunOptions, Task, thread_pool};
//! let tasks = Task::list(&[12, 35, 1_000_003 * 3]);
//! let summary = thread_pool::run(&tasks, 2, &RunOptions::default(), &mut |_| {});
//! assert_eq!(summary.items[2].factors(), Some(&[3, 1_000_003][..]));
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::RunOptions;
use crate::task::{Fault, ItemReport, RunSummary, Task};

/// Runs `tasks` on `workers` threads (scoped: all joined before it
/// returns), calling `on_done` as items complete (on the calling thread),
/// and returns the items in input order.
pub fn run(
    tasks: &[Task],
    workers: usize,
    opts: &RunOptions,
    on_done: &mut dyn FnMut(&ItemReport),
) -> RunSummary {
    let workers = workers.min(tasks.len()).max(1);
    let order = opts.order.arrange(tasks);
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    let pid = std::process::id();
    let mut results: Vec<Option<ItemReport>> = vec![None; tasks.len()];
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        for worker in 0..workers {
            let tx = tx.clone();
            let (order, next) = (&order, &next);
            s.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&index) = order.get(k) else { break };
                    let task = tasks[index];
                    let start = t0.elapsed();
                    let t = Instant::now();
                    let outcome = match task.fault {
                        Some(f @ (Fault::Crash | Fault::Hang)) => Err(format!(
                            "not run: a thread cannot survive a {f} (use processes for that)"
                        )),
                        _ => catch_unwind(AssertUnwindSafe(|| task.execute(opts.algorithm)))
                            .map_err(|p| format!("panicked: {}", panic_message(p.as_ref()))),
                    };
                    let compute = if outcome.is_ok() {
                        t.elapsed()
                    } else {
                        Duration::ZERO
                    };
                    let item = ItemReport {
                        index,
                        number: task.number,
                        outcome,
                        worker,
                        pid,
                        start,
                        end: t0.elapsed(),
                        compute,
                    };
                    if tx.send(item).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for item in rx {
            on_done(&item);
            let i = item.index;
            results[i] = Some(item);
        }
    });
    RunSummary {
        kind: "threads",
        algorithm: opts.algorithm,
        workers,
        items: results.into_iter().map(|r| r.expect("all done")).collect(),
        wall: t0.elapsed(),
        startup: Duration::ZERO,
        spawned: 0,
    }
}

/// The text of a panic payload.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}
