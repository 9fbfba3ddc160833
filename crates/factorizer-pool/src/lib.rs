//! Book 1.4.1: the book's process pool factorizer, a pool that survives its
//! workers, and threads vs processes.
//!
//! The book factors seven numbers with a slow trial division inside
//! `ProcessPoolExecutor(max_workers=4).map(…)`: each item prints its time as
//! it finishes (fast ones first), the results come back in input order, and
//! the total time is about the slowest item. This crate ports that and goes
//! further:
//!
//! - [`factor`]: the book's algorithm (`naive`, same iteration count) and an
//!   exact fast one (`fast`: Miller–Rabin + Pollard's rho, microseconds),
//!   and [`factor128`], the same for `u128`;
//! - [`input`]: the book's list, a quick list of the same shape, a balanced
//!   list, and parsing with a clear message per bad number;
//! - [`task`]: what every pool is given and returns (one shape for all);
//! - [`process_pool`]: worker processes (this program re-executed, see
//!   [`worker`]) where a panic, a crash or a timeout fails only its item;
//! - [`thread_pool`]: the same on threads, for the comparison;
//! - [`by_hand`]: N children started and joined one by one;
//! - [`gantt`]: the timeline of a run, as PNG or SVG;
//! - [`cli`]: the flags and printing the programs share;
//! - `cluster` (feature `mpi`): the same pool as an MPI job, rank 0
//!   dealing the items to every rank (the `cluster-01-pool` program).
//!
//! ```
//! use factorizer_pool::{RunOptions, Task, thread_pool};
//! use factorizer_pool::factor::Algorithm;
//! let tasks = Task::list(&factorizer_pool::input::BOOK_INPUTS);
//! let opts = RunOptions { algorithm: Algorithm::Fast, ..Default::default() };
//! let run = thread_pool::run(&tasks, 4, &opts, &mut |_| {});
//! assert_eq!(run.items[0].factors(), Some(&[3, 2_973_124_181][..]));
//! ```

#![forbid(unsafe_code)]

use std::time::Duration;

pub mod by_hand;
pub mod cli;
#[cfg(feature = "mpi")]
pub mod cluster;
pub mod factor;
pub mod factor128;
pub mod gantt;
pub mod input;
pub mod process_pool;
pub mod task;
pub mod thread_pool;
pub mod worker;

pub use task::{Fault, ItemReport, Order, RunSummary, Task};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// How to run a list of tasks (the same for every pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunOptions {
    /// The factorisation algorithm.
    pub algorithm: factor::Algorithm,
    /// Longest time one task may take before its worker is killed
    /// (processes only: a thread cannot be killed).
    pub timeout: Option<Duration>,
    /// In which order the tasks are handed out.
    pub order: Order,
}
