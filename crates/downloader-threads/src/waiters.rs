//! `ej_hilos_simple.py` and its `Waiter` class: threads that each sleep a
//! random time and then record it in one shared list.
//!
//! In Python every thread can reach the global list. In Rust a thread started
//! with [`std::thread::spawn`] may outlive the function that started it, so it
//! can only take things it *owns*: the list must be shared by reference
//! counting ([`Arc`]) and guarded for writes ([`Mutex`]) — an
//! `Arc<Mutex<Vec<u64>>>`. Alternatively, [`std::thread::scope`] guarantees
//! the threads end before the scope does, so they may simply borrow a local
//! `Mutex<Vec<u64>>` ([`run_scoped`]).
//!
//! Skip the joins ([`run_spawned`] with `join: false`) and main reads the
//! list before the threads wrote to it: it comes back empty (or partial, if
//! a wait of 0 ms won the race). A scope cannot skip the joins.
//!
//! ```
//! use downloader_threads::waiters::{run_spawned, run_scoped};
//! let waits = vec![30, 0, 20];
//! let mut seen = run_spawned(&waits, true); // in the order the threads finished
//! seen.sort();
//! assert_eq!(seen, vec![0, 20, 30]);
//! let seen = run_scoped(&waits);
//! assert_eq!(seen.len(), 3);
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::SplitMix;

/// `n` random waits in `0..=max_ms` milliseconds (the book's `randint(0, 100)`).
pub fn random_waits(n: usize, max_ms: u64, rng: &mut SplitMix) -> Vec<u64> {
    (0..n).map(|_| rng.up_to(max_ms)).collect()
}

/// Starts one thread per wait with [`std::thread::spawn`]; each sleeps its
/// wait and pushes it onto a shared `Arc<Mutex<Vec<u64>>>`. With `join`,
/// waits for all of them; without, returns right away (the threads keep
/// running, detached) and shows whatever the list holds at that moment.
///
/// Returns the list as main sees it: waits in the order the threads finished.
pub fn run_spawned(waits_ms: &[u64], join: bool) -> Vec<u64> {
    let waits: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let mut all_threads = Vec::new();
    for &wait in waits_ms {
        let waits = Arc::clone(&waits); // each thread owns one handle to the list
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(wait));
            waits
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(wait);
        });
        all_threads.push(th);
    }
    if join {
        for th in all_threads {
            // A waiter cannot panic (sleep and push), but if one did, the
            // others' waits are still in the list.
            let _ = th.join();
        }
    }
    waits.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// The same with scoped threads: they borrow a local `Mutex<Vec<u64>>` (no
/// `Arc`), and the scope joins them all before returning.
pub fn run_scoped(waits_ms: &[u64]) -> Vec<u64> {
    let waits = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for &wait in waits_ms {
            let waits = &waits;
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(wait));
                waits
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(wait);
            });
        }
    }); // every thread has ended here
    waits.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// The book's `Waiter(threading.Thread)`: a worker type that owns its state
/// and has a `run` method; [`Waiter::start`] runs it in a new thread.
///
/// ```
/// use downloader_threads::waiters::Waiter;
/// use std::sync::{Arc, Mutex};
/// let waits = Arc::new(Mutex::new(Vec::new()));
/// let all: Vec<_> = [10, 0].into_iter().map(|w| Waiter::new(w, waits.clone()).start()).collect();
/// for th in all {
///     let waiter = th.join().unwrap(); // join gives the Waiter back
///     assert!(waiter.wait_ms <= 10);
/// }
/// let mut seen = waits.lock().unwrap().clone();
/// seen.sort();
/// assert_eq!(seen, vec![0, 10]);
/// ```
#[derive(Debug, Clone)]
pub struct Waiter {
    /// How long this waiter sleeps, milliseconds.
    pub wait_ms: u64,
    /// The list every waiter appends to (the book's class attribute `waits`).
    pub waits: Arc<Mutex<Vec<u64>>>,
}

impl Waiter {
    /// A waiter that will sleep `wait_ms` and then record it in `waits`.
    pub fn new(wait_ms: u64, waits: Arc<Mutex<Vec<u64>>>) -> Self {
        Waiter { wait_ms, waits }
    }

    /// The thread's body (the book's `run`): sleep, then record the wait.
    pub fn run(&self) {
        std::thread::sleep(Duration::from_millis(self.wait_ms));
        self.waits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(self.wait_ms);
    }

    /// Moves the waiter into a new thread that calls [`Waiter::run`]; joining
    /// the handle gives the waiter back.
    pub fn start(self) -> JoinHandle<Waiter> {
        std::thread::spawn(move || {
            self.run();
            self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_threads_all_report_in_finishing_order() {
        let waits = [40, 5, 25, 0, 60];
        let seen = run_spawned(&waits, true);
        let mut sorted = waits.to_vec();
        sorted.sort();
        // All there; the exact order is not asserted (ties, busy machines).
        let mut got = seen.clone();
        got.sort();
        assert_eq!(got, sorted);
        assert_eq!(run_scoped(&waits).len(), 5);
    }

    #[test]
    fn without_joins_the_list_is_never_complete() {
        // The longest waits cannot have finished when main looks.
        let seen = run_spawned(&[200, 300, 400], false);
        assert!(seen.len() < 3, "{seen:?}");
    }

    #[test]
    fn random_waits_are_bounded() {
        let mut rng = SplitMix::new(3);
        let w = random_waits(50, 100, &mut rng);
        assert_eq!(w.len(), 50);
        assert!(w.iter().all(|&x| x <= 100));
    }
}
