//! Processes **by hand** (the book's `multiprocessing.Process` listing):
//! start N children, give each its share of the work, then wait for them
//! one by one, each sending its results back through a pipe.
//!
//! The shares are dealt out before anything runs (item 0 to child 0, item 1
//! to child 1, …), so unlike a pool nobody takes over the work of a child
//! that got the slow items: compare its wall time with the pool's on the
//! same list. And with nobody watching the children, one that crashes
//! loses every item it had not answered yet.
//!
//! ```no_run
//! use factorizer_pool::{by_hand, process_pool::WorkerCommand, Task};
//! use factorizer_pool::factor::Algorithm;
//! # fn main() -> std::io::Result<()> {
//! factorizer_pool::worker::run_if_requested(); // first line of main
//! let tasks = Task::list(&factorizer_pool::input::QUICK_INPUTS);
//! let s = by_hand::run(&tasks, 4, &WorkerCommand::current_exe()?, Algorithm::Naive)?;
//! assert!(s.all_ok());
//! # Ok(()) }
//! ```

use std::io::{self, BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use crate::factor::Algorithm;
use crate::process_pool::{WorkerCommand, describe_exit};
use crate::task::{Fault, ItemReport, RunSummary, Task};
use crate::worker::{self, Answer};

/// Starts `children` processes, deals the tasks out round-robin, waits for
/// each child in turn and collects its answers; items in input order.
///
/// A `hang` fault is not sent (nothing here could stop it): its item fails
/// as "not run".
///
/// # Errors
/// When a child cannot be started (those already started are killed and
/// reaped by `std::process::Child`'s owner here before returning).
pub fn run(
    tasks: &[Task],
    children: usize,
    command: &WorkerCommand,
    algorithm: Algorithm,
) -> io::Result<RunSummary> {
    run_inner(tasks, children, command, algorithm, DEFAULT_SILENCE, false)
}

/// How long [`run`] waits for a child's next answer before it kills the
/// child and fails the items it had not answered (naming it): no wait on a
/// child is unbounded.
pub const DEFAULT_SILENCE: Duration = Duration::from_secs(300);

/// As [`run`], but a child that sends no answer for `silence` is killed
/// and its unanswered items fail, naming it; a `hang` fault is sent too
/// (this bound stops it).
///
/// # Errors
/// As [`run`].
pub fn run_with_silence_limit(
    tasks: &[Task],
    children: usize,
    command: &WorkerCommand,
    algorithm: Algorithm,
    silence: Duration,
) -> io::Result<RunSummary> {
    run_inner(tasks, children, command, algorithm, silence, true)
}

fn run_inner(
    tasks: &[Task],
    children: usize,
    command: &WorkerCommand,
    algorithm: Algorithm,
    silence: Duration,
    send_hangs: bool,
) -> io::Result<RunSummary> {
    let children = children.min(tasks.len()).max(1);
    let t0 = Instant::now();
    let t0_unix = worker::unix_ns();
    let mut results: Vec<Option<ItemReport>> = vec![None; tasks.len()];
    // Start every child and hand it its share, then close its input. The
    // share is written by a thread of its own while this thread reads the
    // answers: written here first, a share larger than a pipe (64 KiB)
    // would block us on a full stdin while the child blocks on its full
    // stdout, for ever.
    let mut started = Vec::new();
    for c in 0..children {
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                for (mut ch, _, _) in started {
                    let _ = std::process::Child::kill(&mut ch);
                    let _ = std::process::Child::wait(&mut ch);
                }
                return Err(e);
            }
        };
        let mut share = Vec::new();
        let mut input = String::new();
        let stdin = child.stdin.take().expect("stdin is piped");
        for index in (c..tasks.len()).step_by(children) {
            let task = tasks[index];
            if task.fault == Some(Fault::Hang) && !send_hangs {
                results[index] = Some(failed(
                    index,
                    &task,
                    c,
                    child.id(),
                    t0,
                    "not run: a child that hangs would never be joined".into(),
                ));
                continue;
            }
            input.push_str(&worker::task_line(index, algorithm, &task));
            input.push('\n');
            share.push(index);
        }
        let writer = std::thread::Builder::new()
            .name(format!("by-hand-input-{c}"))
            .spawn(move || {
                let mut stdin = stdin;
                // A write error means the child died; its exit status names
                // the reason below.
                let _ = stdin.write_all(input.as_bytes());
                // Dropped here: EOF, the child exits after its last task.
            });
        started.push((child, share, writer));
    }
    let startup = t0.elapsed();
    // Join them one by one, in the order they were started.
    for (c, (mut child, share, writer)) in started.into_iter().enumerate() {
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut panic = None;
        // Lines are read on a thread of their own so that the wait for each
        // answer is bounded: a child silent for `silence` is killed, which
        // closes its stdout and ends the reader.
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::Builder::new()
            .name(format!("by-hand-answers-{c}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        let mut silent = false;
        loop {
            let line = match rx.recv_timeout(silence) {
                Ok(line) => line,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    silent = true;
                    let _ = child.kill();
                    break;
                }
            };
            match worker::parse_answer(&line) {
                Ok(Answer::Result {
                    id,
                    started_unix_ns,
                    compute_ns,
                    factorization,
                }) if id < tasks.len() => {
                    let start = Duration::from_nanos(
                        started_unix_ns
                            .saturating_sub(t0_unix)
                            .min(u64::MAX as u128) as u64,
                    );
                    let compute = Duration::from_nanos(compute_ns);
                    results[id] = Some(ItemReport {
                        index: id,
                        number: tasks[id].number,
                        outcome: Ok(factorization),
                        worker: c,
                        pid,
                        start,
                        end: start + compute,
                        compute,
                    });
                }
                Ok(Answer::Panic(msg)) => panic = Some(msg),
                _ => {}
            }
        }
        let status = child.wait();
        // The child is gone, so its stdout is closed: the reader ends.
        if let Ok(r) = reader {
            let _ = r.join();
        }
        // The child has exited, so its stdin is closed: the writer has
        // finished or fails at once.
        let wrote = match writer {
            Ok(w) => w.join().is_ok(),
            Err(_) => false,
        };
        let reason = match panic {
            Some(msg) => format!("child pid {pid} panicked: {msg}"),
            None if silent => format!(
                "child pid {pid} sent no answer for {:.1} s and was killed",
                silence.as_secs_f64()
            ),
            None if !wrote => format!("child pid {pid}: its input could not be written"),
            None => describe_exit(pid, status).replace("worker", "child"),
        };
        for index in share {
            if results[index].is_none() {
                let why = format!("{reason} (this item was never answered)");
                results[index] = Some(failed(index, &tasks[index], c, pid, t0, why));
            }
        }
    }
    Ok(RunSummary {
        kind: "by-hand",
        algorithm,
        workers: children,
        items: results.into_iter().map(|r| r.expect("all done")).collect(),
        wall: t0.elapsed(),
        startup,
        spawned: children,
    })
}

fn failed(
    index: usize,
    task: &Task,
    worker: usize,
    pid: u32,
    t0: Instant,
    why: String,
) -> ItemReport {
    let now = t0.elapsed();
    ItemReport {
        index,
        number: task.number,
        outcome: Err(why),
        worker,
        pid,
        start: now,
        end: now,
        compute: Duration::ZERO,
    }
}
