//! Version 1, `concur_hilos_explicito_2.py`: the adder's `+=` split into
//! read / pause / add / pause / write, with no lock. Updates get lost.
//!
//! Safe Rust lets us write this: the total is an [`AtomicU64`], so each read
//! and each write is indivisible and there is no undefined behaviour. But the
//! read and the write are two separate steps. A thread that reads the total
//! while another one is between its own read and write computes from a stale
//! value, and whichever writes last wipes out the other's update:
//!
//! ```text
//! thread A: read 10 ........ add 2 ........ write 12
//! thread B:        read 10 ........ add 3 ........ write 13   ← A's 2 is lost
//! ```
//!
//! The pauses (the book sleeps 10 ms, twice) widen the window so the loss
//! shows nearly every run. With 1 ms the window is narrow, responses rarely
//! arrive that close together and the total usually comes out right — the
//! bug is still there, just harder to see.
//!
//! ```
//! use downloader_threads::{SharedAdder, v1_racy::Adder};
//! use std::time::Duration;
//! let adder = Adder::new(Duration::from_millis(10));
//! std::thread::scope(|s| {
//!     for v in [2, 3] {
//!         let adder = &adder;
//!         s.spawn(move || adder.add(v));
//!     }
//! });
//! // Usually both read 0 before either wrote, and one update is lost:
//! // the total is 2 or 3. Never more than 5.
//! assert!(adder.total() <= 5);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::StageLog;

use crate::SharedAdder;

/// An adder whose `add` is a read, a pause, an add, a pause and a write, with
/// nothing holding the other threads off in between.
#[derive(Debug, Default)]
pub struct Adder {
    total: AtomicU64,
    pause: Duration,
    log: Option<StageLog>,
}

impl Adder {
    /// A racy adder at zero pausing `pause` between the steps.
    pub fn new(pause: Duration) -> Self {
        Adder {
            total: AtomicU64::new(0),
            pause,
            log: None,
        }
    }

    /// Logs every read and write to `log` (when `Some`).
    pub fn with_log(mut self, log: Option<StageLog>) -> Self {
        self.log = log;
        self
    }
}

impl SharedAdder for Adder {
    fn add(&self, value: u64) {
        let prev_total = self.total.load(Ordering::SeqCst); // read
        if let Some(log) = &self.log {
            log.stage(format!("  read  total = {prev_total} (to add {value})"));
        }
        std::thread::sleep(self.pause);
        let new_total = prev_total + value; // add
        std::thread::sleep(self.pause);
        self.total.store(new_total, Ordering::SeqCst); // write
        if let Some(log) = &self.log {
            log.stage(format!(
                "  write total = {new_total} (= {prev_total} + {value})"
            ));
        }
    }

    fn total(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alone_it_adds_correctly() {
        let a = Adder::new(Duration::ZERO);
        a.add(10);
        a.add(5);
        assert_eq!(a.total(), 15);
    }

    #[test]
    fn from_many_threads_it_never_adds_more_than_the_truth() {
        let a = Adder::new(Duration::ZERO);
        let threads = 8;
        let adds = 20_000;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..adds {
                        a.add(1);
                    }
                });
            }
        });
        // Usually far less; never more, never an exact interleaving assumed.
        assert!(a.total() <= threads * adds);
        assert!(a.total() > 0);
    }
}
