//! A pool of worker **processes** that survives its workers.
//!
//! Like the book's `ProcessPoolExecutor(max_workers=N).map(f, inputs)`:
//! N workers, each task handed to the first idle worker, results returned
//! in input order (and streamed to a callback as they complete). Beyond
//! Python's pool, which raises `BrokenProcessPool` and loses every pending
//! result when one worker dies, here a worker that panics, is killed, or
//! runs past the per-task timeout fails **only its own item** (with the
//! reason), is reaped and replaced, and the other items complete.
//!
//! Workers are this same program started again (see [`crate::worker`] for
//! why not `fork`); tasks and results travel as text lines over pipes. The
//! pool reads each worker's answers on a small thread that forwards them
//! to one channel, so the pool's loop waits on one thing — the next answer
//! or the nearest deadline — with no polling.
//!
//! No zombies: every worker that ends is `wait`ed for, and dropping the
//! pool (normally, on error or on panic) kills and reaps the rest. No
//! orphans: workers die with the pool (see [`crate::worker`]).
//!
//! ```no_run
//! use factorizer_pool::process_pool::{ProcessPool, WorkerCommand};
//! use factorizer_pool::{RunOptions, Task};
//! # fn main() -> std::io::Result<()> {
//! factorizer_pool::worker::run_if_requested(); // first line of main
//! let mut pool = ProcessPool::start(4, WorkerCommand::current_exe()?)?;
//! let tasks = Task::list(&factorizer_pool::input::QUICK_INPUTS);
//! let summary = pool.run(&tasks, &RunOptions::default(), &mut |item| {
//!     println!("{}", item.progress_line()); // as each one finishes
//! })?;
//! for item in &summary.items {
//!     println!("{}", item.result_line()); // in input order
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::RunOptions;
use crate::task::{ItemReport, RunSummary, Task};
use crate::worker::{self, Answer, WORKER_ENV};

/// How to start a worker: a program that calls
/// [`worker::run_if_requested`] first thing in `main`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments (ignored by a worker, but shown by `ps`).
    pub args: Vec<OsString>,
}

impl WorkerCommand {
    /// This very program, re-executed as a worker.
    ///
    /// # Errors
    /// When the OS cannot tell the path of the running program.
    pub fn current_exe() -> io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?))
    }

    /// Another program (tests use the crate's binaries).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        WorkerCommand {
            program: program.into(),
            args: vec!["(pool worker)".into()],
        }
    }

    /// Starts one worker with piped stdin and stdout.
    ///
    /// # Errors
    /// When the program cannot be started.
    pub fn spawn(&self) -> io::Result<Child> {
        Command::new(&self.program)
            .args(&self.args)
            .env(WORKER_ENV, std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("starting worker {}: {e}", self.program.display()),
                )
            })
    }
}

enum Event {
    Line(u64, String),
    Eof(u64),
}

struct Busy {
    index: usize,
    started: Instant,
}

struct Worker {
    uid: u64,
    child: Child,
    stdin: Option<ChildStdin>,
    reader: Option<JoinHandle<()>>,
    busy: Option<Busy>,
    panic: Option<String>,
}

impl Worker {
    /// Kills (if needed), reaps, and joins the reader thread.
    fn finish(mut self) -> io::Result<ExitStatus> {
        self.stdin = None;
        let _ = self.child.kill(); // harmless if it already exited
        let status = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        status
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// A fixed number of worker processes, kept alive across runs.
pub struct ProcessPool {
    command: WorkerCommand,
    slots: Vec<Option<Worker>>,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    next_uid: u64,
    spawned: usize,
    startup: Duration,
}

impl std::fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessPool")
            .field("command", &self.command)
            .field("pids", &self.pids())
            .finish()
    }
}

impl ProcessPool {
    /// Starts `workers` worker processes (at least one).
    ///
    /// The workers die with the **thread** that starts them (that is how
    /// `PR_SET_PDEATHSIG` works), so start and use the pool on one thread.
    ///
    /// # Errors
    /// When a worker cannot be started (the others are killed and reaped).
    pub fn start(workers: usize, command: WorkerCommand) -> io::Result<Self> {
        let t = Instant::now();
        let (tx, rx) = mpsc::channel();
        let mut pool = ProcessPool {
            command,
            slots: Vec::new(),
            tx,
            rx,
            next_uid: 0,
            spawned: 0,
            startup: Duration::ZERO,
        };
        for _ in 0..workers.max(1) {
            let w = pool.spawn()?;
            pool.slots.push(Some(w));
        }
        pool.startup = t.elapsed();
        Ok(pool)
    }

    /// How many workers the pool keeps running.
    pub fn size(&self) -> usize {
        self.slots.len()
    }

    /// The process ids of the current workers.
    pub fn pids(&self) -> Vec<u32> {
        self.slots.iter().flatten().map(|w| w.child.id()).collect()
    }

    /// Worker processes started so far, replacements included.
    pub fn spawned(&self) -> usize {
        self.spawned
    }

    fn spawn(&mut self) -> io::Result<Worker> {
        let mut child = self.command.spawn()?;
        let uid = self.next_uid;
        self.next_uid += 1;
        self.spawned += 1;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let tx = self.tx.clone();
        let reader = std::thread::Builder::new()
            .name(format!("pool-reader-{uid}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(Event::Line(uid, line)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Event::Eof(uid));
            })?;
        Ok(Worker {
            uid,
            child,
            stdin,
            reader: Some(reader),
            busy: None,
            panic: None,
        })
    }

    fn slot_of(&self, uid: u64) -> Option<usize> {
        self.slots
            .iter()
            .position(|w| w.as_ref().is_some_and(|w| w.uid == uid))
    }

    /// Runs `tasks`, calling `on_done` for each item as it completes, and
    /// returns every item in input order.
    ///
    /// A task whose worker panics, crashes, is killed, or runs past
    /// `opts.timeout` fails alone: its item holds the reason, the worker is
    /// reaped and replaced, and the run goes on.
    ///
    /// # Errors
    /// Only when a replacement worker cannot be started.
    pub fn run(
        &mut self,
        tasks: &[Task],
        opts: &RunOptions,
        on_done: &mut dyn FnMut(&ItemReport),
    ) -> io::Result<RunSummary> {
        let spawned_before = self.spawned;
        self.replace_dead_idle_workers()?;
        let t0 = Instant::now();
        let mut queue: VecDeque<usize> = opts.order.arrange(tasks).into();
        let mut results: Vec<Option<ItemReport>> = vec![None; tasks.len()];
        let mut done = 0;
        let mut run = Run {
            tasks,
            t0,
            results: &mut results,
            done: &mut done,
            on_done,
        };
        self.refill()?;
        self.dispatch(&mut queue, tasks, opts);
        while *run.done < tasks.len() {
            let deadline = opts.timeout.and_then(|limit| {
                self.slots
                    .iter()
                    .flatten()
                    .filter_map(|w| w.busy.as_ref().map(|b| b.started + limit))
                    .min()
            });
            let event = match deadline {
                Some(d) => self
                    .rx
                    .recv_timeout(d.saturating_duration_since(Instant::now())),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match event {
                Ok(Event::Line(uid, line)) => {
                    if let Some(slot) = self.slot_of(uid) {
                        self.on_line(slot, &line, &mut run);
                    }
                }
                Ok(Event::Eof(uid)) => {
                    if let Some(slot) = self.slot_of(uid) {
                        self.on_death(slot, &mut run)?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let limit = opts.timeout.unwrap_or_default();
                    self.on_timeouts(limit, &mut run)?;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    unreachable!("the pool holds a sender")
                }
            }
            self.dispatch(&mut queue, tasks, opts);
        }
        Ok(RunSummary {
            kind: "processes",
            algorithm: opts.algorithm,
            workers: self.size(),
            items: results.into_iter().map(|r| r.expect("all done")).collect(),
            wall: t0.elapsed(),
            startup: self.startup,
            spawned: self.spawned - spawned_before,
        })
    }

    /// [`ProcessPool::run`] without streaming: the book's `executor.map`.
    ///
    /// # Errors
    /// As [`ProcessPool::run`].
    pub fn map(&mut self, tasks: &[Task], opts: &RunOptions) -> io::Result<RunSummary> {
        self.run(tasks, opts, &mut |_| {})
    }

    /// Between runs a worker may have died (killed from outside): reap and
    /// replace it now rather than fail the next task handed to it.
    fn replace_dead_idle_workers(&mut self) -> io::Result<()> {
        // Stale answers and end-of-output notices from the last run.
        while self.rx.try_recv().is_ok() {}
        for slot in 0..self.slots.len() {
            let dead = match self.slots[slot].as_mut() {
                Some(w) => !matches!(w.child.try_wait(), Ok(None)),
                None => true,
            };
            if dead {
                if let Some(w) = self.slots[slot].take() {
                    let _ = w.finish();
                }
                let fresh = self.spawn()?;
                self.slots[slot] = Some(fresh);
            }
        }
        Ok(())
    }

    /// Starts a worker in every empty slot.
    fn refill(&mut self) -> io::Result<()> {
        for i in 0..self.slots.len() {
            if self.slots[i].is_none() {
                let w = self.spawn()?;
                self.slots[i] = Some(w);
            }
        }
        Ok(())
    }

    /// Hands the next tasks to idle workers.
    fn dispatch(&mut self, queue: &mut VecDeque<usize>, tasks: &[Task], opts: &RunOptions) {
        for w in self.slots.iter_mut().flatten() {
            if w.busy.is_some() {
                continue;
            }
            let Some(index) = queue.pop_front() else {
                return;
            };
            let line = worker::task_line(index, opts.algorithm, &tasks[index]);
            if let Some(stdin) = w.stdin.as_mut() {
                // A write fails only if the worker already died: its end of
                // the pipe then reports EOF, and `on_death` fails this item
                // with the worker's exit status.
                let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
            }
            w.busy = Some(Busy {
                index,
                started: Instant::now(),
            });
        }
    }

    fn on_line(&mut self, slot: usize, line: &str, run: &mut Run<'_, '_>) {
        let w = self.slots[slot].as_mut().expect("live worker");
        let pid = w.child.id();
        let outcome = match worker::parse_answer(line) {
            Ok(Answer::Panic(msg)) => {
                w.panic = Some(msg);
                return; // its death comes next
            }
            Ok(Answer::Result {
                id,
                compute_ns,
                factorization,
                ..
            }) if w.busy.as_ref().is_some_and(|b| b.index == id) => {
                (Ok(factorization), Duration::from_nanos(compute_ns))
            }
            Ok(Answer::Result { id, .. }) => (
                Err(format!(
                    "worker pid {pid} answered task {id}, not the one it was given"
                )),
                Duration::ZERO,
            ),
            Ok(Answer::Error { message, .. }) => (Err(message), Duration::ZERO),
            Err(e) => (Err(e), Duration::ZERO),
        };
        if let Some(b) = w.busy.take() {
            run.complete(b, slot, pid, outcome.0, outcome.1);
        }
    }

    fn on_death(&mut self, slot: usize, run: &mut Run<'_, '_>) -> io::Result<()> {
        let w = self.slots[slot].take().expect("live worker");
        let pid = w.child.id();
        let mut w = w;
        let busy = w.busy.take();
        let panic = w.panic.take();
        let status = w.finish();
        if let Some(b) = busy {
            let reason = match panic {
                Some(msg) => format!("worker pid {pid} panicked: {msg}"),
                None => describe_exit(pid, status),
            };
            run.complete(b, slot, pid, Err(reason), Duration::ZERO);
        }
        let fresh = self.spawn()?;
        self.slots[slot] = Some(fresh);
        Ok(())
    }

    fn on_timeouts(&mut self, limit: Duration, run: &mut Run<'_, '_>) -> io::Result<()> {
        let now = Instant::now();
        for slot in 0..self.slots.len() {
            let late = self.slots[slot]
                .as_ref()
                .and_then(|w| w.busy.as_ref())
                .is_some_and(|b| now >= b.started + limit);
            if !late {
                continue;
            }
            let mut w = self.slots[slot].take().expect("live worker");
            let pid = w.child.id();
            let b = w.busy.take().expect("busy");
            let _ = w.finish();
            let reason = format!(
                "timed out after {:.2}s; worker pid {pid} was killed and replaced",
                limit.as_secs_f64()
            );
            run.complete(b, slot, pid, Err(reason), Duration::ZERO);
            let fresh = self.spawn()?;
            self.slots[slot] = Some(fresh);
        }
        Ok(())
    }
}

impl Drop for ProcessPool {
    /// Closes every worker's input, then kills and reaps them all.
    fn drop(&mut self) {
        for w in self.slots.iter_mut().flatten() {
            w.stdin = None;
        }
        for w in self.slots.drain(..).flatten() {
            let _ = w.finish();
        }
    }
}

/// The state of one run, shared by the event handlers.
struct Run<'a, 'b> {
    tasks: &'a [Task],
    t0: Instant,
    results: &'a mut Vec<Option<ItemReport>>,
    done: &'a mut usize,
    on_done: &'b mut dyn FnMut(&ItemReport),
}

impl Run<'_, '_> {
    fn complete(
        &mut self,
        b: Busy,
        slot: usize,
        pid: u32,
        outcome: Result<crate::factor::Factorization, String>,
        compute: Duration,
    ) {
        let item = ItemReport {
            index: b.index,
            number: self.tasks[b.index].number,
            outcome,
            worker: slot,
            pid,
            start: b.started.saturating_duration_since(self.t0),
            end: self.t0.elapsed(),
            compute,
        };
        (self.on_done)(&item);
        if self.results[b.index].replace(item).is_none() {
            *self.done += 1;
        }
    }
}

/// Words for how a worker ended.
pub fn describe_exit(pid: u32, status: io::Result<ExitStatus>) -> String {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (_, Some(sig)) => {
                let name = nix::sys::signal::Signal::try_from(sig)
                    .map(|s| s.as_str())
                    .unwrap_or("?");
                format!("worker pid {pid} was killed by signal {sig} ({name})")
            }
            (Some(code), _) => {
                format!("worker pid {pid} exited with code {code} before answering")
            }
            _ => format!("worker pid {pid} ended ({s}) before answering"),
        },
        Err(e) => format!("worker pid {pid} ended, and waiting for it failed: {e}"),
    }
}

/// Starts a pool of `workers`, runs `tasks`, and shuts the pool down: the
/// book's `with ProcessPoolExecutor(max_workers=…) as executor:` block.
/// The summary's `startup` is the time to start the workers.
///
/// # Errors
/// When workers cannot be started.
pub fn run(
    tasks: &[Task],
    workers: usize,
    command: WorkerCommand,
    opts: &RunOptions,
    on_done: &mut dyn FnMut(&ItemReport),
) -> io::Result<RunSummary> {
    let mut pool = ProcessPool::start(workers.min(tasks.len()).max(1), command)?;
    let summary = pool.run(tasks, opts, on_done)?;
    drop(pool);
    Ok(summary)
}
