//! Book 1.3.1, `ej_async_blocking.py`: a spinner task shows whether the
//! runtime is free to run tasks while `main` does some work.
//!
//! The spinner counts its ticks, so the freeze is a number, not an
//! impression:
//!
//! | mode | `main`'s work | spinner during the work |
//! |---|---|---|
//! | 1 [`Work::Async`] | `tokio::time::sleep`: hands control back to the runtime | turns (≈ work ÷ interval ticks) |
//! | 2 [`Work::Blocking`] | `std::thread::sleep` on the runtime's thread | **frozen: 0 ticks** |
//! | 3 [`Work::SpawnBlocking`] | the same blocking call moved to `spawn_blocking` | turns |
//!
//! Run it on a **current-thread** runtime (one thread, like asyncio's loop):
//! then the blocked thread is the only one, and the spinner cannot tick at
//! all in mode 2. On tokio's multi-thread runtime the spinner task might sit
//! on another worker and keep turning, which hides the bug without fixing
//! it: every task queued behind the blocked worker still waits.
//!
//! Real programs draw spinners and progress bars with `indicatif`; its
//! `enable_steady_tick` turns the spinner from a thread of its own, so it
//! keeps turning even when the runtime is blocked: it is no probe of the
//! runtime, which is why this lesson draws its own.
//!
//! ```
//! use std::time::Duration;
//! use downloader_async::spinner::{Work, run};
//! let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
//! let work = Duration::from_millis(100);
//! let frozen = rt.block_on(run(Work::Blocking, work, Duration::from_millis(10), false));
//! assert_eq!(frozen.ticks_during_work, 0);
//! assert_eq!(frozen.result, 7);
//! ```

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The frames the spinner cycles through.
pub const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

/// How `main` does its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Mode 1: an async sleep (the right way).
    Async,
    /// Mode 2: a blocking sleep on the runtime thread (the bug).
    Blocking,
    /// Mode 3: the blocking sleep on a thread of the blocking pool.
    SpawnBlocking,
}

impl Work {
    /// The mode numbered as in the book (1 to 3).
    pub fn from_number(n: u8) -> Option<Work> {
        match n {
            1 => Some(Work::Async),
            2 => Some(Work::Blocking),
            3 => Some(Work::SpawnBlocking),
            _ => None,
        }
    }

    /// What the program says before working.
    pub fn describe(self) -> &'static str {
        match self {
            Work::Async => "sleeping the async way: the spinner should turn",
            Work::Blocking => "blocking the runtime's only thread: the spinner freezes (the bug)",
            Work::SpawnBlocking => {
                "blocking, but on a thread of the blocking pool: the spinner turns"
            }
        }
    }
}

/// What happened while `main` worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpinnerReport {
    /// What the work returned (5 async, 7 blocking, as in the book).
    pub result: u32,
    /// Spinner ticks counted between the start and the end of the work.
    pub ticks_during_work: u64,
    /// Ticks a free runtime would have counted: work ÷ interval.
    pub expected_ticks: u64,
}

/// The spinner: ticks (and draws a frame on stderr if `draw`) every
/// `interval`, forever, yielding to the runtime in between.
pub async fn spinner(ticks: Arc<AtomicU64>, interval: Duration, draw: bool) {
    loop {
        let n = ticks.fetch_add(1, Ordering::Relaxed);
        if draw {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{}\r", FRAMES[(n % 4) as usize]);
            let _ = err.flush();
        }
        tokio::time::sleep(interval).await;
    }
}

/// Some work done the async way; returns 5.
pub async fn generic_work_async(work: Duration) -> u32 {
    tokio::time::sleep(work).await;
    5
}

/// The same work done by a blocking call; returns 7.
pub fn generic_work_blocking(work: Duration) -> u32 {
    std::thread::sleep(work);
    7
}

/// Starts the spinner, waits for its first tick, does `work` the `how` way,
/// stops the spinner and reports how many times it ticked meanwhile.
///
/// # Panics
/// Only if the blocking work itself panics (mode 3 re-raises it).
pub async fn run(how: Work, work: Duration, interval: Duration, draw: bool) -> SpinnerReport {
    let ticks = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(spinner(ticks.clone(), interval, draw));
    // Wait on the thing, not on a clock: until the spinner is turning.
    while ticks.load(Ordering::Relaxed) == 0 {
        tokio::task::yield_now().await;
    }
    let before = ticks.load(Ordering::Relaxed);
    let result = match how {
        Work::Async => generic_work_async(work).await,
        Work::Blocking => generic_work_blocking(work),
        Work::SpawnBlocking => {
            match tokio::task::spawn_blocking(move || generic_work_blocking(work)).await {
                Ok(r) => r,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    };
    let after = ticks.load(Ordering::Relaxed);
    task.abort();
    if draw {
        eprint!(" \r");
    }
    SpinnerReport {
        result,
        ticks_during_work: after - before,
        expected_ticks: (work.as_secs_f64() / interval.as_secs_f64()) as u64,
    }
}
