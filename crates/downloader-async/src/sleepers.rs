//! Book 1.3.1, `seq_async_1..4.py`: sleepers with random delays, four ways
//! of running them.
//!
//! | mode | what `main` does | what the student sees |
//! |---|---|---|
//! | 1 | awaits one sleeper | it starts, ends, `slept` |
//! | 2 | creates two futures, says "created", awaits them one by one | "created" comes **first** (futures are lazy: creating one runs none of its code), then the sleepers run one after another |
//! | 3 | spawns two tasks, says "created", awaits them one by one | both start at once (tasks run without being awaited), but the `slept` lines keep the await order |
//! | 4 | spawns N tasks and gathers them with `join_all` | the sleepers end in the order of their delays; the results come back in input order |
//!
//! Run these on a **current-thread** runtime, as asyncio runs coroutines on
//! one thread: then a spawned task waits for `main` to reach an `.await`
//! before it starts, and "created" prints first in mode 3 too. On a
//! multi-thread runtime another worker thread may start a spawned task at
//! once, before `main` prints anything.
//!
//! `tokio::task::JoinSet` is the other way to gather tasks: it hands back
//! each result **as it finishes** (completion order), where `join_all` waits
//! for all and keeps the input order, like the book's `gather`.
//!
//! ```
//! use std::time::Duration;
//! use downloader_async::sleepers::{Mode, run};
//! let log = common::StageLog::quiet();
//! let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
//! let delays = [Duration::from_millis(30), Duration::from_millis(10)];
//! let slept = rt.block_on(run(Mode::Lazy, &delays, &log)).unwrap();
//! assert_eq!(slept, delays); // in the order awaited
//! let lines: Vec<String> = log.stages().into_iter().map(|s| s.message).collect();
//! assert_eq!(lines[0], "futures created"); // nothing ran before this line
//! ```

use std::time::Duration;

use common::StageLog;
use futures_util::future::join_all;
use rand::{Rng, SeedableRng};
use tokio::task::JoinError;

/// The four programs of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `seq_async_1.py`: await one sleeper.
    One,
    /// `seq_async_2.py`: create two futures, then await them one by one.
    Lazy,
    /// `seq_async_3.py`: spawn two tasks, then await them one by one.
    Tasks,
    /// `seq_async_4.py`: spawn N tasks and gather them with `join_all`.
    JoinAll,
}

impl Mode {
    /// The mode numbered as in the book (1 to 4).
    pub fn from_number(n: u8) -> Option<Mode> {
        match n {
            1 => Some(Mode::One),
            2 => Some(Mode::Lazy),
            3 => Some(Mode::Tasks),
            4 => Some(Mode::JoinAll),
            _ => None,
        }
    }

    /// How many sleepers the mode runs (`count` only matters for mode 4).
    pub fn sleepers(self, count: usize) -> usize {
        match self {
            Mode::One => 1,
            Mode::Lazy | Mode::Tasks => 2,
            Mode::JoinAll => count,
        }
    }
}

/// `n` random delays in `[0, max)`, the same for the same `seed` (so a class
/// sees the same run).
///
/// ```
/// use std::time::Duration;
/// use downloader_async::sleepers::delays;
/// let max = Duration::from_secs(5);
/// assert_eq!(delays(7, 3, max), delays(7, 3, max));
/// assert!(delays(7, 3, max).iter().all(|d| *d < max));
/// ```
pub fn delays(seed: u64, n: usize, max: Duration) -> Vec<Duration> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    (0..n).map(|_| max.mul_f64(rng.random::<f64>())).collect()
}

/// One sleeper: says when it starts, sleeps `delay` without blocking the
/// thread, says when it ends, and returns how long it slept.
pub async fn sleeper(id: usize, delay: Duration, log: StageLog) -> Duration {
    log.stage(format!("sleeper {id} starts"));
    tokio::time::sleep(delay).await;
    log.stage(format!("sleeper {id} ends"));
    delay
}

/// Runs the sleepers of `mode` with these delays (sleeper `i + 1` gets
/// `delays[i]`), logging every step, and returns what each slept, in the
/// order of `delays`.
///
/// # Errors
/// A spawned sleeper that panicked or was cancelled (modes 3 and 4).
///
/// # Panics
/// If `delays` has fewer entries than the mode needs (1, 2, or any for mode 4).
pub async fn run(
    mode: Mode,
    delays: &[Duration],
    log: &StageLog,
) -> Result<Vec<Duration>, JoinError> {
    match mode {
        Mode::One => {
            let slept = sleeper(1, delays[0], log.clone()).await;
            log.stage(format!("slept: {:.3} s", slept.as_secs_f64()));
            Ok(vec![slept])
        }
        Mode::Lazy => {
            // Creating a future runs none of its body: nothing prints here.
            let future1 = sleeper(1, delays[0], log.clone());
            let future2 = sleeper(2, delays[1], log.clone());
            log.stage("futures created");
            // Awaiting runs that future, and only that one, to the end.
            let slept1 = future1.await;
            log.stage(format!("slept 1: {:.3} s", slept1.as_secs_f64()));
            let slept2 = future2.await;
            log.stage(format!("slept 2: {:.3} s", slept2.as_secs_f64()));
            Ok(vec![slept1, slept2])
        }
        Mode::Tasks => {
            // A spawned task belongs to the runtime: it runs whether or not
            // anyone awaits it, as soon as the runtime gets control.
            let task1 = tokio::spawn(sleeper(1, delays[0], log.clone()));
            let task2 = tokio::spawn(sleeper(2, delays[1], log.clone()));
            log.stage("tasks created");
            let slept1 = task1.await?;
            log.stage(format!("slept 1: {:.3} s", slept1.as_secs_f64()));
            let slept2 = task2.await?;
            log.stage(format!("slept 2: {:.3} s", slept2.as_secs_f64()));
            Ok(vec![slept1, slept2])
        }
        Mode::JoinAll => {
            let tasks: Vec<_> = delays
                .iter()
                .enumerate()
                .map(|(i, d)| tokio::spawn(sleeper(i, *d, log.clone())))
                .collect();
            log.stage("tasks created");
            // join_all keeps the input order, whatever order they end in.
            let results = join_all(tasks).await;
            log.stage("slept:");
            let mut slept = Vec::with_capacity(results.len());
            for (i, r) in results.into_iter().enumerate() {
                let d = r?;
                log.stage(format!("{i:4}: {:.3} s", d.as_secs_f64()));
                slept.push(d);
            }
            Ok(slept)
        }
    }
}
