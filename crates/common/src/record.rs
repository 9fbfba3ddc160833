//! The result record: one JSON object a program prints as its last stdout
//! line when run with `--json`.
//!
//! It is the contract between the programs and `cargo xtask run-all`: the
//! program name, whether it succeeded, its wall time and peak memory, its
//! stages, and named metrics (`total_bytes`, `lost_bytes`, `speedup`, …).
//! Metrics are free-form JSON values so each lesson names what it measures.
//!
//! # Examples
//!
//! ```
//! use common::{Record, StageLog};
//! let log = StageLog::quiet();
//! log.stage("download done");
//! let rec = Record::new("seq-01-download")
//!     .metric("total_bytes", 288_998)
//!     .with_stages(&log);
//! let line = rec.to_json_line();
//! let back = common::Record::parse_last_line(&format!("Done: 288998\n{line}\n")).unwrap();
//! assert_eq!(back.program, "seq-01-download");
//! assert_eq!(back.metric_u64("total_bytes"), Some(288_998));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::stage::{Stage, StageLog};

/// A program's machine-readable result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The program's name (its binary name).
    pub program: String,
    /// True when the program did all it was asked without error.
    pub ok: bool,
    /// Wall time of the whole program, seconds.
    pub wall_s: f64,
    /// Peak resident memory of the process, bytes (where the OS tells).
    pub peak_rss_bytes: Option<u64>,
    /// The stages logged, in order.
    pub stages: Vec<Stage>,
    /// Named measurements.
    pub metrics: BTreeMap<String, Value>,
    /// One line per error, each naming the input that failed.
    pub errors: Vec<String>,
}

impl Record {
    /// A successful, empty record for `program`.
    pub fn new(program: impl Into<String>) -> Self {
        Record {
            program: program.into(),
            ok: true,
            wall_s: 0.0,
            peak_rss_bytes: None,
            stages: Vec::new(),
            metrics: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    /// Adds (or replaces) a metric.
    pub fn metric(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.metrics.insert(name.to_string(), value.into());
        self
    }

    /// Adds (or replaces) a metric in place.
    pub fn set(&mut self, name: &str, value: impl Into<Value>) {
        self.metrics.insert(name.to_string(), value.into());
    }

    /// Records an error (and marks the record failed).
    pub fn error(&mut self, message: impl Into<String>) {
        self.ok = false;
        self.errors.push(message.into());
    }

    /// Copies the stages of `log`, its elapsed time as the wall time, and the
    /// process's peak memory.
    pub fn with_stages(mut self, log: &StageLog) -> Self {
        self.stages = log.stages();
        self.wall_s = log.elapsed().as_secs_f64();
        self.peak_rss_bytes = crate::mem::peak_rss_bytes();
        self
    }

    /// The record as one line of JSON (no newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a Record always serialises")
    }

    /// Prints the record as the last line of stdout when `json` is true.
    pub fn emit(&self, json: bool) {
        if json {
            println!("{}", self.to_json_line());
        }
    }

    /// Parses the last non-empty line of a program's stdout as a record.
    ///
    /// # Errors
    /// Names what is wrong: no output, or a last line that is not a record.
    pub fn parse_last_line(stdout: &str) -> Result<Record, String> {
        let line = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .ok_or_else(|| "the program printed nothing".to_string())?;
        serde_json::from_str(line).map_err(|e| {
            let shown: String = line.chars().take(120).collect();
            format!("the last line of output is not a JSON record ({e}): {shown}")
        })
    }

    /// A metric as `f64`, if present and numeric.
    pub fn metric_f64(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).and_then(Value::as_f64)
    }

    /// A metric as `u64`, if present and a non-negative integer.
    pub fn metric_u64(&self, name: &str) -> Option<u64> {
        self.metrics.get(name).and_then(Value::as_u64)
    }

    /// A metric as text, if present and a string.
    pub fn metric_str(&self, name: &str) -> Option<&str> {
        self.metrics.get(name).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_marks_failed() {
        let mut r = Record::new("x");
        assert!(r.ok);
        r.error("http://127.0.0.1:1/a.txt: connection refused");
        assert!(!r.ok);
        assert_eq!(r.errors.len(), 1);
    }

    #[test]
    fn parse_rejects_prose() {
        let err = Record::parse_last_line("Done: 12\n").unwrap_err();
        assert!(err.contains("not a JSON record"), "{err}");
        assert!(Record::parse_last_line("\n\n").is_err());
    }
}
