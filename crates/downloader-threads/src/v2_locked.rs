//! Version 2, `concur_hilos_explicito_3.py`: the same read / pause / add /
//! pause / write, all under one lock. Never loses an update.
//!
//! Changed from [`v1_racy`](crate::v1_racy): the total lives *inside* a
//! [`Mutex`], so the only way to reach it is through the guard `lock()`
//! returns, and the guard is held for the whole read-modify-write. A second
//! thread's `lock()` waits until the first guard is dropped. There is no
//! `release` to forget (the book's `try`/`finally`, or `with`): dropping the
//! guard releases the lock, on every path out of the block, panics included.
//!
//! ```
//! use downloader_threads::{SharedAdder, v2_locked::Adder};
//! use std::time::Duration;
//! let adder = Adder::new(Duration::from_millis(10));
//! std::thread::scope(|s| {
//!     for v in [2, 3] {
//!         let adder = &adder;
//!         s.spawn(move || adder.add(v));
//!     }
//! });
//! assert_eq!(adder.total(), 5); // every run
//! ```

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use common::StageLog;

use crate::SharedAdder;

/// An adder whose whole read-modify-write runs under one [`Mutex`].
#[derive(Debug, Default)]
pub struct Adder {
    total: Mutex<u64>, // CHANGED: the total can only be reached through the lock
    pause: Duration,
    log: Option<StageLog>,
}

impl Adder {
    /// A locked adder at zero pausing `pause` between the steps (inside the lock).
    pub fn new(pause: Duration) -> Self {
        Adder {
            total: Mutex::new(0),
            pause,
            log: None,
        }
    }

    /// Logs every read and write to `log` (when `Some`).
    pub fn with_log(mut self, log: Option<StageLog>) -> Self {
        self.log = log;
        self
    }

    fn lock(&self) -> MutexGuard<'_, u64> {
        // A thread that panicked while holding the lock cannot have left a
        // half-written u64 behind: the value is still a valid total.
        self.total.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SharedAdder for Adder {
    fn add(&self, value: u64) {
        let mut total = self.lock(); // CHANGED: take the lock (others wait here)
        let prev_total = *total; // read
        if let Some(log) = &self.log {
            log.stage(format!(
                "  read  total = {prev_total} (to add {value}, lock held)"
            ));
        }
        std::thread::sleep(self.pause);
        let new_total = prev_total + value; // add
        std::thread::sleep(self.pause);
        *total = new_total; // write
        if let Some(log) = &self.log {
            log.stage(format!(
                "  write total = {new_total} (= {prev_total} + {value})"
            ));
        }
    } // CHANGED: the guard is dropped here: the lock is released

    fn total(&self) -> u64 {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_threads_many_adds_never_lose() {
        let a = Adder::new(Duration::ZERO);
        let threads = 8;
        let adds = 20_000;
        std::thread::scope(|s| {
            for t in 0..threads {
                let a = &a;
                s.spawn(move || {
                    for i in 0..adds {
                        a.add(t + i % 3);
                    }
                });
            }
        });
        let expected: u64 = (0..threads)
            .map(|t| (0..adds).map(|i| t + i % 3).sum::<u64>())
            .sum();
        assert_eq!(a.total(), expected);
    }

    #[test]
    fn with_pauses_it_still_never_loses() {
        let a = Adder::new(Duration::from_millis(1));
        std::thread::scope(|s| {
            for v in 1..=10 {
                let a = &a;
                s.spawn(move || a.add(v));
            }
        });
        assert_eq!(a.total(), 55);
    }

    #[test]
    fn a_panic_under_the_lock_does_not_break_the_adder() {
        let a = Adder::new(Duration::ZERO);
        a.add(4);
        let r = std::thread::scope(|s| {
            s.spawn(|| {
                let _guard = a.lock();
                panic!("boom while holding the lock");
            })
            .join()
        });
        assert!(r.is_err());
        a.add(1);
        assert_eq!(a.total(), 5);
    }
}
