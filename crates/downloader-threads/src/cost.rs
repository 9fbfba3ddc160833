//! What one add costs: a `Mutex` lock-add-unlock versus one atomic
//! `fetch_add`, both from several threads at once (contended), and the racy
//! load-then-store at full speed, to show it loses updates even without any
//! pause.
//!
//! Measured, not asserted: the numbers depend on the machine and its load.
//! Only the totals are checked (the mutex and atomic ones are always exact).
//!
//! ```
//! let cost = downloader_threads::cost::measure(2, 1_000);
//! assert_eq!(cost.mutex_total, cost.expected());
//! assert_eq!(cost.atomic_total, cost.expected());
//! assert!(cost.racy_total <= cost.expected());
//! ```

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

/// The result of [`measure`].
#[derive(Debug, Clone, PartialEq)]
pub struct AddCost {
    /// Threads adding at once.
    pub threads: usize,
    /// Adds per thread.
    pub adds_per_thread: u64,
    /// Wall time of all the `Mutex` adds.
    pub mutex: Duration,
    /// Wall time of all the `fetch_add` adds.
    pub atomic: Duration,
    /// Wall time of all the racy load/store adds.
    pub racy: Duration,
    /// The `Mutex` total (always [`AddCost::expected`]).
    pub mutex_total: u64,
    /// The `fetch_add` total (always [`AddCost::expected`]).
    pub atomic_total: u64,
    /// The racy total (at most [`AddCost::expected`], usually less).
    pub racy_total: u64,
}

impl AddCost {
    /// Adds done in each variant: the correct total.
    pub fn expected(&self) -> u64 {
        self.threads as u64 * self.adds_per_thread
    }

    fn per_add(&self, d: Duration) -> f64 {
        d.as_secs_f64() * 1e9 / self.expected().max(1) as f64
    }

    /// Nanoseconds of wall time per `Mutex` add (all threads together).
    pub fn mutex_ns_per_add(&self) -> f64 {
        self.per_add(self.mutex)
    }

    /// Nanoseconds of wall time per `fetch_add` (all threads together).
    pub fn atomic_ns_per_add(&self) -> f64 {
        self.per_add(self.atomic)
    }

    /// Nanoseconds of wall time per racy load/store add.
    pub fn racy_ns_per_add(&self) -> f64 {
        self.per_add(self.racy)
    }

    /// Adds the racy variant lost.
    pub fn racy_lost(&self) -> u64 {
        self.expected().saturating_sub(self.racy_total)
    }
}

/// Runs `adds_per_thread` adds of 1 on `threads` threads at once, three ways.
pub fn measure(threads: usize, adds_per_thread: u64) -> AddCost {
    let threads = threads.max(1);
    let mutex = Mutex::new(0u64);
    let mutex_time = timed(threads, || {
        for _ in 0..adds_per_thread {
            *black_box(&mutex).lock().unwrap_or_else(|e| e.into_inner()) += 1;
        }
    });
    let atomic = AtomicU64::new(0);
    let atomic_time = timed(threads, || {
        for _ in 0..adds_per_thread {
            black_box(&atomic).fetch_add(1, Ordering::Relaxed);
        }
    });
    let racy = AtomicU64::new(0);
    let racy_time = timed(threads, || {
        for _ in 0..adds_per_thread {
            // black_box: without it the optimiser may keep the counter in a
            // register for the whole loop, and there would be nothing to race.
            let prev = black_box(&racy).load(Ordering::Relaxed);
            black_box(&racy).store(prev + 1, Ordering::Relaxed);
        }
    });
    AddCost {
        threads,
        adds_per_thread,
        mutex: mutex_time,
        atomic: atomic_time,
        racy: racy_time,
        mutex_total: mutex.into_inner().unwrap_or_else(|e| e.into_inner()),
        atomic_total: atomic.into_inner(),
        racy_total: racy.into_inner(),
    }
}

/// Runs `work` on `threads` scoped threads at once; the wall time of all.
/// A barrier lines the threads up first, so they really contend (otherwise
/// the first thread may finish before the last one has even started).
fn timed(threads: usize, work: impl Fn() + Sync) -> Duration {
    let ready = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                ready.wait();
                work();
            });
        }
        ready.wait();
        Instant::now()
    })
    .elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutex_and_atomic_are_exact_racy_never_exceeds() {
        let c = measure(8, 20_000);
        assert_eq!(c.expected(), 160_000);
        assert_eq!(c.mutex_total, 160_000);
        assert_eq!(c.atomic_total, 160_000);
        assert!(c.racy_total <= 160_000);
        assert_eq!(c.racy_lost(), 160_000 - c.racy_total);
        assert!(c.mutex_ns_per_add() > 0.0 && c.atomic_ns_per_add() > 0.0);
    }
}
