//! Version 3: the idiomatic fix, [`AtomicU64::fetch_add`]. Load, add and
//! store happen as one indivisible instruction; no lock, no lost update.
//!
//! Changed from [`v1_racy`](crate::v1_racy): `load` … `store` became one
//! `fetch_add`. There is no room for a pause between the steps any more,
//! because there are no separate steps. [`crate::cost`] measures what that
//! saves compared with a `Mutex`.
//!
//! ```
//! use downloader_threads::{SharedAdder, v3_atomic::Adder};
//! let adder = Adder::new();
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| for _ in 0..1000 { adder.add(1) });
//!     }
//! });
//! assert_eq!(adder.total(), 4000);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use crate::SharedAdder;

/// An adder that is one atomic counter.
#[derive(Debug, Default)]
pub struct Adder {
    total: AtomicU64,
}

impl Adder {
    /// An atomic adder at zero.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SharedAdder for Adder {
    fn add(&self, value: u64) {
        // CHANGED: read, add and write in one instruction.
        // `Relaxed` is enough: only the counter itself must be exact, and the
        // joins that end the threads make the final value visible to main.
        self.total.fetch_add(value, Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_threads_many_adds_never_lose() {
        let a = Adder::new();
        let threads = 16;
        let adds = 50_000;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..adds {
                        a.add(3);
                    }
                });
            }
        });
        assert_eq!(a.total(), 3 * threads * adds);
    }
}
