//! What every pool is given (a list of [`Task`]s) and what it returns (one
//! [`ItemReport`] per task, in input order, inside a [`RunSummary`]).
//!
//! All three ways of running the tasks — [`crate::process_pool`],
//! [`crate::thread_pool`] and [`crate::by_hand`] — share these types, so
//! programs, tests and `cargo xtask run-all` can swap them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::factor::{Algorithm, Factorization};

/// A fault to inject into one task, to see what a pool does when a worker
/// misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The task panics (in a worker process: the worker dies with it).
    Panic,
    /// The worker process aborts (SIGABRT), like a crash in native code.
    Crash,
    /// The task never ends (only a `--timeout` gets the item back).
    Hang,
}

impl Fault {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Panic => "panic",
            Fault::Crash => "crash",
            Fault::Hang => "hang",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "panic" => Ok(Fault::Panic),
            "crash" => Ok(Fault::Crash),
            "hang" => Ok(Fault::Hang),
            o => Err(format!(
                "unknown fault {o:?} (expected panic, crash or hang)"
            )),
        }
    }
}

/// One item of work: a number to factor, maybe with a fault injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Task {
    /// The number to factor.
    pub number: u64,
    /// The fault to inject, if any.
    pub fault: Option<Fault>,
}

impl Task {
    /// Tasks for `numbers`, with no faults.
    pub fn list(numbers: &[u64]) -> Vec<Task> {
        numbers
            .iter()
            .map(|&number| Task {
                number,
                fault: None,
            })
            .collect()
    }

    /// Runs the task here, in this thread (what a worker does).
    ///
    /// # Panics
    /// With [`Fault::Panic`], on purpose. [`Fault::Crash`] aborts the
    /// process and [`Fault::Hang`] never returns.
    pub fn execute(&self, algorithm: Algorithm) -> Factorization {
        match self.fault {
            Some(Fault::Panic) => panic!("injected panic while factoring {}", self.number),
            Some(Fault::Crash) => std::process::abort(),
            Some(Fault::Hang) => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            None => crate::factor::factorize(algorithm, self.number),
        }
    }
}

/// In which order a pool hands out the tasks (results always come back in
/// input order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// The order of the input, like the book's `executor.map`.
    #[default]
    Input,
    /// The most expensive first, by [`crate::factor::predicted_iterations`]
    /// (the classic "longest processing time first" rule).
    LongestFirst,
}

impl FromStr for Order {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "input" => Ok(Order::Input),
            "longest-first" => Ok(Order::LongestFirst),
            o => Err(format!(
                "unknown order {o:?} (expected input or longest-first)"
            )),
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Order::Input => "input",
            Order::LongestFirst => "longest-first",
        })
    }
}

impl Order {
    /// The indices of `tasks` in the order they are handed out.
    pub fn arrange(self, tasks: &[Task]) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..tasks.len()).collect();
        if self == Order::LongestFirst {
            let cost: Vec<u64> = tasks
                .iter()
                .map(|t| crate::factor::predicted_iterations(t.number))
                .collect();
            idx.sort_by_key(|&i| std::cmp::Reverse(cost[i]));
        }
        idx
    }
}

/// How one item went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemReport {
    /// Position in the input.
    pub index: usize,
    /// The number.
    pub number: u64,
    /// The factors and iterations, or why the item failed.
    pub outcome: Result<Factorization, String>,
    /// The worker slot (0-based) that ran it.
    pub worker: usize,
    /// The process id that ran it.
    pub pid: u32,
    /// When the task was handed out, since the run started.
    pub start: Duration,
    /// When its result (or failure) was known, since the run started.
    pub end: Duration,
    /// Time spent factoring, as measured by the worker itself.
    pub compute: Duration,
}

impl ItemReport {
    /// The factors, or `None` when the item failed.
    pub fn factors(&self) -> Option<&[u64]> {
        self.outcome.as_ref().ok().map(|f| f.factors.as_slice())
    }

    /// The book's result line: `  number: [f1, f2]` (or the error).
    pub fn result_line(&self) -> String {
        match &self.outcome {
            Ok(f) => format!("{:16}: {:?}", self.number, f.factors),
            Err(e) => format!("{:16}: FAILED: {e}", self.number),
        }
    }

    /// The book's progress line, printed when the item finishes: the
    /// number and how long it took.
    pub fn progress_line(&self) -> String {
        match &self.outcome {
            Ok(_) => format!(
                "{:16}: {:7.2}s  (worker {}, pid {})",
                self.number,
                self.compute.as_secs_f64(),
                self.worker,
                self.pid
            ),
            Err(e) => format!(
                "{:16}: failed after {:.2}s (worker {}, pid {}): {e}",
                self.number,
                (self.end.saturating_sub(self.start)).as_secs_f64(),
                self.worker,
                self.pid
            ),
        }
    }
}

/// The outcome of one run of a list of tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// `processes`, `threads` or `by-hand`.
    pub kind: &'static str,
    /// The algorithm used.
    pub algorithm: Algorithm,
    /// How many workers ran at once.
    pub workers: usize,
    /// The items, in input order.
    pub items: Vec<ItemReport>,
    /// From handing out the first task to the last result.
    pub wall: Duration,
    /// Time to start the workers before the first task (0 for threads).
    pub startup: Duration,
    /// Worker processes started (including replacements).
    pub spawned: usize,
}

impl RunSummary {
    /// Items that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ItemReport> {
        self.items.iter().filter(|i| i.outcome.is_err())
    }

    /// True when every item succeeded.
    pub fn all_ok(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The longest single item (from hand-out to result).
    pub fn slowest_item(&self) -> Duration {
        self.items
            .iter()
            .map(|i| i.end.saturating_sub(i.start))
            .max()
            .unwrap_or_default()
    }

    /// Iterations of the naive loop summed over the items.
    pub fn total_iterations(&self) -> u64 {
        self.items
            .iter()
            .filter_map(|i| i.outcome.as_ref().ok())
            .map(|f| f.iterations)
            .sum()
    }

    /// Compute time summed over the items (what one worker would need).
    pub fn total_compute(&self) -> Duration {
        self.items.iter().map(|i| i.compute).sum()
    }

    /// Mean time per item spent outside the computation: sending the task,
    /// waking the worker, sending the result back (from hand-out to result,
    /// minus the worker's own compute time).
    pub fn overhead_per_item(&self) -> Duration {
        let ok: Vec<&ItemReport> = self.items.iter().filter(|i| i.outcome.is_ok()).collect();
        if ok.is_empty() {
            return Duration::ZERO;
        }
        let total: Duration = ok
            .iter()
            .map(|i| i.end.saturating_sub(i.start).saturating_sub(i.compute))
            .sum();
        total / ok.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_first_sorts_by_predicted_cost() {
        let tasks = Task::list(&crate::input::QUICK_INPUTS);
        let order = Order::LongestFirst.arrange(&tasks);
        assert_eq!(&order[..2], &[0, 3], "the slow item, then the medium one");
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..tasks.len()).collect::<Vec<_>>());
        assert_eq!(
            Order::Input.arrange(&tasks),
            (0..tasks.len()).collect::<Vec<_>>()
        );
        assert_eq!("longest-first".parse::<Order>(), Ok(Order::LongestFirst));
        assert_eq!(Order::LongestFirst.to_string(), "longest-first");
        assert!("fastest".parse::<Order>().is_err());
        assert_eq!("hang".parse::<Fault>(), Ok(Fault::Hang));
    }
}
