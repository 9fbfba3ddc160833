//! What the `pool-…` programs share: the flags that choose the numbers,
//! the algorithm and the workers ([`PoolArgs`]), the book's printing
//! ([`print_results`]) and the JSON record ([`record_metrics`]).
//!
//! ```
//! use clap::Parser;
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     pool: factorizer_pool::cli::PoolArgs,
//! }
//! let cli = Cli::parse_from(["prog", "--workers", "2", "--fault", "1=panic", "12", "35"]);
//! let tasks = cli.pool.tasks().unwrap();
//! assert_eq!(tasks.len(), 2);
//! assert_eq!(tasks[1].fault, Some(factorizer_pool::Fault::Panic));
//! assert_eq!(cli.pool.workers(), 2);
//! ```

use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;
use serde_json::{Value, json};

use crate::factor::Algorithm;
use crate::input;
use crate::task::{Fault, ItemReport, Order, RunSummary, Task};

/// `INDEX=KIND`: inject a fault into the item at INDEX (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    /// The item.
    pub index: usize,
    /// The fault.
    pub fault: Fault,
}

impl FromStr for FaultSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (i, k) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected INDEX=KIND, e.g. 2=panic"))?;
        Ok(FaultSpec {
            index: i
                .trim()
                .parse()
                .map_err(|_| format!("{s:?}: {i:?} is not an item index"))?,
            fault: k.trim().parse()?,
        })
    }
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{s:?}: the number of workers must be a whole number ≥ 1"
        )),
    }
}

/// The numbers, algorithm and workers of a run.
#[derive(Debug, Clone, Args)]
pub struct PoolArgs {
    /// Numbers to factor (default: the quick list, shaped like the book's).
    #[arg(value_name = "NUMBER", allow_negative_numbers = true)]
    pub numbers: Vec<String>,
    /// Factor the book's seven numbers (the slowest takes seconds with
    /// `naive`).
    #[arg(long, conflicts_with_all = ["balanced", "file"])]
    pub book: bool,
    /// Factor eight numbers of equal cost (to measure speedup).
    #[arg(long, conflicts_with = "file")]
    pub balanced: bool,
    /// Read the numbers from a file (blanks, commas or lines; `#` comments).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Repeat the list this many times (many small tasks show the
    /// per-task cost of a pool).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: usize,
    /// `naive` (the book's trial division) or `fast` (Miller–Rabin +
    /// Pollard's rho).
    #[arg(long, default_value = "naive", value_name = "ALGORITHM")]
    pub algorithm: Algorithm,
    /// How many workers (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub workers: Option<usize>,
    /// `input` (the book's) or `longest-first` (by the predicted cost).
    #[arg(long, default_value = "input", value_name = "ORDER")]
    pub order: Order,
    /// Inject a fault into one item: INDEX=panic|crash|hang (repeatable).
    #[arg(long = "fault", value_name = "INDEX=KIND")]
    pub faults: Vec<FaultSpec>,
    /// Draw the run's timeline (Gantt chart) into this .png or .svg file.
    #[arg(long, value_name = "FILE")]
    pub gantt: Option<PathBuf>,
}

impl PoolArgs {
    /// The list's name for messages and records.
    pub fn list_name(&self) -> &'static str {
        if self.book {
            "book"
        } else if self.balanced {
            "balanced"
        } else if self.file.is_some() || !self.numbers.is_empty() {
            "given"
        } else {
            "quick"
        }
    }

    /// The numbers chosen, as tasks with their faults.
    ///
    /// # Errors
    /// A message naming the bad number, the unreadable file, or a fault
    /// index past the list.
    pub fn tasks(&self) -> Result<Vec<Task>, String> {
        let mut numbers: Vec<u64> = if self.book {
            input::BOOK_INPUTS.to_vec()
        } else if self.balanced {
            input::BALANCED_INPUTS.to_vec()
        } else {
            Vec::new()
        };
        if let Some(f) = &self.file {
            let text =
                std::fs::read_to_string(f).map_err(|e| format!("reading {}: {e}", f.display()))?;
            numbers
                .extend(input::parse_list(&text).map_err(|e| format!("in {}: {e}", f.display()))?);
        }
        for n in &self.numbers {
            numbers.push(input::parse_number(n).map_err(|e| e.to_string())?);
        }
        if numbers.is_empty() {
            numbers = input::QUICK_INPUTS.to_vec();
        }
        let mut tasks = Task::list(&numbers).repeat(self.repeat.max(1));
        for spec in &self.faults {
            let len = tasks.len();
            let t = tasks
                .get_mut(spec.index)
                .ok_or_else(|| format!("--fault {}: there are only {len} items", spec.index))?;
            t.fault = Some(spec.fault);
        }
        Ok(tasks)
    }

    /// The run options: algorithm, order, and `timeout` in seconds.
    ///
    /// # Errors
    /// A timeout that is negative or not a number, or (when `processes`)
    /// a `hang` fault without a timeout, which would never end.
    pub fn run_options(
        &self,
        timeout: Option<f64>,
        processes: bool,
    ) -> Result<crate::RunOptions, String> {
        let timeout = timeout
            .map(std::time::Duration::try_from_secs_f64)
            .transpose()
            .map_err(|e| format!("--timeout: {e}"))?;
        let hangs = self.faults.iter().any(|f| f.fault == Fault::Hang);
        if processes && hangs && timeout.is_none() {
            return Err("a hang fault never ends: give a --timeout".into());
        }
        Ok(crate::RunOptions {
            algorithm: self.algorithm,
            timeout,
            order: self.order,
        })
    }

    /// The number of workers: `--workers`, or the number of cores.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

/// Prints what the book prints after the pool: the total time, then every
/// result in input order (and a line per failure).
pub fn print_results(run: &RunSummary) {
    println!("Total time: {:.2}s", run.wall.as_secs_f64());
    println!("Results:");
    for item in &run.items {
        println!("{}", item.result_line());
    }
    let failed = run.failures().count();
    if failed > 0 {
        println!(
            "{failed} of {} items failed; the others completed",
            run.items.len()
        );
    }
}

/// One item as JSON (for records).
pub fn item_json(item: &ItemReport) -> Value {
    json!({
        "number": item.number,
        "factors": item.factors(),
        "error": item.outcome.as_ref().err(),
        "iterations": item.outcome.as_ref().map(|f| f.iterations).unwrap_or(0),
        "worker": item.worker,
        "pid": item.pid,
        "start_s": item.start.as_secs_f64(),
        "end_s": item.end.as_secs_f64(),
        "compute_s": item.compute.as_secs_f64(),
    })
}

/// The metrics every program records about a run: wall time, the slowest
/// item and its share of the wall time, iterations per second per core
/// (naive), overhead per item, failures, and every item.
pub fn record_metrics(rec: &mut common::Record, run: &RunSummary) {
    let wall = run.wall.as_secs_f64();
    let compute = run.total_compute().as_secs_f64();
    let slowest = run.slowest_item().as_secs_f64();
    rec.set("kind", run.kind);
    rec.set("algorithm", run.algorithm.name());
    rec.set("workers", run.workers);
    rec.set("items", run.items.len());
    rec.set("failed", run.failures().count());
    rec.set("pool_wall_s", wall);
    rec.set("startup_s", run.startup.as_secs_f64());
    rec.set("spawned", run.spawned);
    rec.set("compute_s", compute);
    rec.set("slowest_item_s", slowest);
    rec.set(
        "slowest_share",
        if wall > 0.0 { slowest / wall } else { 0.0 },
    );
    rec.set("iterations", run.total_iterations());
    if run.algorithm == Algorithm::Naive && compute > 0.0 {
        // Each item runs on one core: iterations over compute time is the
        // speed of one core.
        rec.set(
            "iterations_per_s_per_core",
            run.total_iterations() as f64 / compute,
        );
    }
    rec.set(
        "overhead_per_item_us",
        run.overhead_per_item().as_secs_f64() * 1e6,
    );
    rec.set(
        "results",
        Value::Array(run.items.iter().map(item_json).collect()),
    );
    for f in run.failures() {
        rec.error(format!(
            "{}: {}",
            f.number,
            f.outcome.as_ref().err().cloned().unwrap_or_default()
        ));
    }
}

/// A program's `main`: turns the process into a pool worker if it was
/// started as one, else runs `try_main` and exits with 0 (all items
/// succeeded), 1 (some items failed) or 2 (an error, printed on stderr).
pub fn main(try_main: fn() -> Result<bool, Box<dyn std::error::Error>>) {
    crate::worker::run_if_requested();
    match try_main() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
