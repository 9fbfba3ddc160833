//! A stage logger: every line carries the wall-clock time and the time since
//! the program started, so the slow stage is obvious at a glance.
//!
//! The book pipes its programs through `ts` (from moreutils) to see when each
//! line was printed. [`StageLog`] does the same from inside the program and
//! also keeps every stage as a [`Stage`] record, which ends up in the
//! program's `--json` [`Record`](crate::Record).
//!
//! # Examples
//!
//! ```
//! use common::StageLog;
//! let log = StageLog::quiet(); // `StageLog::new()` prints to stdout
//! log.stage("loading");
//! log.stage("FFT done");
//! assert_eq!(log.stages().len(), 2);
//! assert!(log.stages()[1].t_s >= log.stages()[0].t_s);
//! ```

use std::fmt::Display;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One logged stage: what happened and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Seconds since the logger was created.
    pub t_s: f64,
    /// Seconds since the previous stage (or since start, for the first).
    pub dt_s: f64,
    /// What the program printed.
    pub message: String,
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    last: Duration,
    print: bool,
    stages: Vec<Stage>,
}

/// A cheap-to-clone, thread-safe stage logger (clones share one log).
#[derive(Debug, Clone)]
pub struct StageLog {
    inner: Arc<Mutex<Inner>>,
}

impl Default for StageLog {
    fn default() -> Self {
        Self::new()
    }
}

impl StageLog {
    /// A logger that prints each stage to stdout as it happens.
    pub fn new() -> Self {
        Self::with_printing(true)
    }

    /// A logger that only records (for tests and libraries).
    pub fn quiet() -> Self {
        Self::with_printing(false)
    }

    /// A logger that prints when `print` is true.
    pub fn with_printing(print: bool) -> Self {
        StageLog {
            inner: Arc::new(Mutex::new(Inner {
                start: Instant::now(),
                last: Duration::ZERO,
                print,
                stages: Vec::new(),
            })),
        }
    }

    /// Time elapsed since the logger was created.
    pub fn elapsed(&self) -> Duration {
        self.lock().start.elapsed()
    }

    /// Logs one stage: prints `HH:MM:SS.mmm  +T.TTTs  message` (UTC wall
    /// clock, then seconds since start) and records it.
    pub fn stage(&self, message: impl Display) {
        let message = message.to_string();
        let mut inner = self.lock();
        let now = inner.start.elapsed();
        let dt = now.saturating_sub(inner.last);
        inner.last = now;
        if inner.print {
            let line = format!(
                "{}  +{:8.3}s  {}\n",
                wall_clock_utc(SystemTime::now()),
                now.as_secs_f64(),
                message
            );
            // Printing under the lock keeps lines from several threads whole.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
        inner.stages.push(Stage {
            t_s: now.as_secs_f64(),
            dt_s: dt.as_secs_f64(),
            message,
        });
    }

    /// A copy of every stage logged so far, in order.
    pub fn stages(&self) -> Vec<Stage> {
        self.lock().stages.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the log itself consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Formats a time as `HH:MM:SS.mmm` UTC (what `ts "%H:%M:%.S"` would show).
pub fn wall_clock_utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_formats_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(((13 * 3600 + 5 * 60 + 9) * 1000) + 42);
        assert_eq!(wall_clock_utc(t), "13:05:09.042");
    }

    #[test]
    fn stages_are_ordered_and_shared_between_clones() {
        let log = StageLog::quiet();
        let other = log.clone();
        log.stage("one");
        std::thread::spawn(move || other.stage("two"))
            .join()
            .unwrap();
        let stages = log.stages();
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].message, "one");
        assert_eq!(stages[1].message, "two");
        assert!(stages[1].t_s >= stages[0].t_s);
        assert!((stages[1].dt_s - (stages[1].t_s - stages[0].t_s)).abs() < 1e-9);
    }
}
