//! The worker side of the process pool, and the line protocol between a
//! pool and its workers.
//!
//! # Why re-execute the program instead of `fork`
//!
//! Python's `ProcessPoolExecutor` (on Linux, before 3.14) forks: the child
//! is a copy of the parent and simply calls the function. In Rust, `fork`
//! in a program that has threads is `unsafe` and hard to make sound (only
//! async-signal-safe calls are allowed in the child until it `exec`s, and
//! the allocator's lock may be held by a thread that no longer exists).
//! So a worker here is **the same program started again** with
//! `std::process::Command` and the environment variable [`WORKER_ENV`]:
//! every program of this crate calls [`run_if_requested`] first thing in
//! `main`, which turns that process into a worker. No `unsafe` anywhere,
//! and the pool works from any program, with threads or without.
//!
//! # The protocol (one line each way per task)
//!
//! ```text
//! pool → worker (stdin):   T <id> <naive|fast> <number> <-|panic|crash|hang>
//! worker → pool (stdout):  R <id> <start unix ns> <compute ns> <iterations> <factor>…
//!                          E <id> <message>          (a task it could not read)
//!                          P <message>               (it panicked; it dies next)
//! ```
//!
//! # Dying with the parent
//!
//! A worker asks the kernel for `SIGKILL` when the thread that started it
//! dies (`PR_SET_PDEATHSIG`), and checks that this parent is still the one
//! named in [`WORKER_ENV`] (it may have died before the request). It also
//! stops when its standard input closes. So killing the parent, even with
//! `SIGKILL`, leaves no worker computing on its own.

use std::io::{self, BufRead, Write};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::factor::{Algorithm, Factorization};
use crate::task::{Fault, Task};

/// The environment variable that makes a program a worker; its value is
/// the pid of the pool's process.
pub const WORKER_ENV: &str = "FACTORIZER_POOL_WORKER";

/// If this process was started as a pool worker, serves tasks until its
/// standard input closes, then exits; otherwise returns at once.
///
/// Call it first thing in `main` of every program that uses
/// [`crate::process_pool`] or [`crate::by_hand`] with
/// `WorkerCommand::current_exe()`.
pub fn run_if_requested() {
    let Some(parent) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let parent: i32 = parent.to_str().and_then(|s| s.parse().ok()).unwrap_or(0);
    // Die with the parent, even if it is killed with SIGKILL.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if nix::unistd::getppid().as_raw() != parent {
        std::process::exit(3); // the parent is already gone
    }
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "panic".to_string()
        };
        let msg = msg.replace('\n', " ");
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "P {msg}");
        let _ = out.flush();
    }));
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    let code = match serve(stdin, stdout) {
        Ok(()) => 0,
        Err(_) => 4, // the pool went away mid-answer
    };
    std::process::exit(code);
}

/// Reads task lines from `input` and writes one answer line per task to
/// `output`, until `input` ends.
///
/// # Errors
/// When reading or writing fails (the pool closed the pipes).
///
/// # Panics
/// When a task carries [`Fault::Panic`] (and see [`Task::execute`]).
///
/// ```
/// use factorizer_pool::worker::serve;
/// let mut out = Vec::new();
/// serve(&b"T 4 fast 12 -\n"[..], &mut out).unwrap();
/// let line = String::from_utf8(out).unwrap();
/// assert!(line.starts_with("R 4 ") && line.ends_with(" 0 2 2 3\n"), "{line}");
/// ```
pub fn serve(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match parse_task(&line) {
            Ok((id, algorithm, task)) => {
                let started = unix_ns();
                let t = Instant::now();
                let f = task.execute(algorithm);
                answer_line(id, started, t.elapsed().as_nanos(), &f)
            }
            Err((id, msg)) => format!("E {id} {msg}"),
        };
        writeln!(output, "{answer}")?;
        output.flush()?;
    }
    Ok(())
}

/// Nanoseconds since the Unix epoch (the clock parent and workers share).
pub fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// The line that hands task `id` to a worker.
pub fn task_line(id: usize, algorithm: Algorithm, task: &Task) -> String {
    let fault = task.fault.map_or("-", Fault::name);
    format!("T {id} {algorithm} {} {fault}", task.number)
}

fn parse_task(line: &str) -> Result<(String, Algorithm, Task), (String, String)> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let id = w.get(1).copied().unwrap_or("?").to_string();
    let bad = |what: &str| (id.clone(), format!("bad task line {line:?}: {what}"));
    if w.len() != 5 || w[0] != "T" {
        return Err(bad("expected `T <id> <algorithm> <number> <fault>`"));
    }
    let algorithm: Algorithm = w[2].parse().map_err(|e: String| bad(&e))?;
    let number: u64 = w[3].parse().map_err(|_| bad("not a number"))?;
    let fault = match w[4] {
        "-" => None,
        f => Some(f.parse::<Fault>().map_err(|e| bad(&e))?),
    };
    Ok((id, algorithm, Task { number, fault }))
}

fn answer_line(id: String, started: u128, compute_ns: u128, f: &Factorization) -> String {
    let mut s = format!("R {id} {started} {compute_ns} {}", f.iterations);
    for p in &f.factors {
        s.push(' ');
        s.push_str(&p.to_string());
    }
    s
}

/// A worker's answer, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `R`: the task's result.
    Result {
        /// Task id.
        id: usize,
        /// When the worker started it, Unix nanoseconds.
        started_unix_ns: u128,
        /// How long it computed, nanoseconds.
        compute_ns: u64,
        /// The factorisation.
        factorization: Factorization,
    },
    /// `E`: the worker could not read the task.
    Error {
        /// Task id.
        id: usize,
        /// Why.
        message: String,
    },
    /// `P`: the worker panicked and is about to die.
    Panic(String),
}

/// Parses one line a worker wrote.
///
/// # Errors
/// A message quoting the line when it is not an answer.
pub fn parse_answer(line: &str) -> Result<Answer, String> {
    let bad = || format!("a worker wrote {line:?}, which is not an answer");
    let mut w = line.split_whitespace();
    match w.next() {
        Some("P") => Ok(Answer::Panic(
            line.get(2..).unwrap_or("").trim().to_string(),
        )),
        Some("E") => {
            let id = w.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            Ok(Answer::Error {
                id,
                message: w.collect::<Vec<_>>().join(" "),
            })
        }
        Some("R") => {
            let mut num = || {
                w.next()
                    .and_then(|s| s.parse::<u128>().ok())
                    .ok_or_else(bad)
            };
            let id = num()? as usize;
            let started_unix_ns = num()?;
            let compute_ns = num()? as u64;
            let iterations = num()? as u64;
            let factors = w
                .map(|s| s.parse::<u64>().map_err(|_| bad()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Answer::Result {
                id,
                started_unix_ns,
                compute_ns,
                factorization: Factorization {
                    factors,
                    iterations,
                },
            })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let task = Task {
            number: 25_301_356,
            fault: None,
        };
        let line = task_line(3, Algorithm::Naive, &task);
        let mut out = Vec::new();
        serve(line.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        match parse_answer(text.trim()).unwrap() {
            Answer::Result {
                id, factorization, ..
            } => {
                assert_eq!(id, 3);
                assert_eq!(factorization.factors, vec![2, 2, 6_325_339]);
                assert_eq!(factorization.iterations, 3_162_670);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_lines_get_an_error_answer() {
        let mut out = Vec::new();
        serve(&b"T 9 slow 12 -\nT 10 fast x -\n"[..], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let answers: Vec<Answer> = text.lines().map(|l| parse_answer(l).unwrap()).collect();
        assert!(
            matches!(&answers[0], Answer::Error { id: 9, message } if message.contains("slow"))
        );
        assert!(matches!(&answers[1], Answer::Error { id: 10, .. }));
        assert!(parse_answer("hello").is_err());
        assert_eq!(
            parse_answer("P injected panic").unwrap(),
            Answer::Panic("injected panic".into())
        );
    }
}
