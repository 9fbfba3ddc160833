//! Book 1.3, the first example: two timestamps around an async sleep.
//!
//! `tokio::time::sleep` does not block the thread: it registers a timer with
//! the runtime and returns `Pending`; the task is woken when the timer fires
//! and continues after the `.await`, exactly where it stopped. A blocking
//! `std::thread::sleep` in its place would stall every other task of the
//! runtime thread (see [`crate::spinner`]).

use std::time::{Duration, SystemTime};

/// The two timestamps `timings` took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// Before the sleep.
    pub a: SystemTime,
    /// After the sleep.
    pub b: SystemTime,
}

impl Timings {
    /// `b - a` (zero if the clock went backwards).
    pub fn gap(&self) -> Duration {
        self.b.duration_since(self.a).unwrap_or_default()
    }
}

/// Seconds since the Unix epoch, as Python's `time.time()` prints them.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Takes a timestamp, sleeps `pause` asynchronously, takes another, calling
/// `show` with `("A", t)` and `("B", t)` as each is taken.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// let t = rt.block_on(downloader_async::timing::timings(Duration::from_millis(20), |_, _| {}));
/// assert!(t.gap() >= Duration::from_millis(20));
/// ```
pub async fn timings(pause: Duration, mut show: impl FnMut(&str, SystemTime)) -> Timings {
    let a = SystemTime::now();
    show("A", a);
    tokio::time::sleep(pause).await;
    let b = SystemTime::now();
    show("B", b);
    Timings { a, b }
}
