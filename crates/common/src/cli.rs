//! Flags every program shares. Flatten [`OutputArgs`] into a clap parser:
//!
//! ```
//! use clap::Parser;
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     out: common::cli::OutputArgs,
//! }
//! let cli = Cli::parse_from(["prog", "--json"]);
//! assert!(cli.out.json);
//! assert!(!cli.out.quiet);
//! ```

use clap::Args;

use crate::StageLog;

/// `--json` and `--quiet`.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Print a machine-readable JSON record as the last line of stdout
    /// (what `cargo xtask run-all` reads).
    #[arg(long)]
    pub json: bool,
    /// Do not print the timestamped stage lines.
    #[arg(long, short)]
    pub quiet: bool,
}

impl OutputArgs {
    /// A stage logger that prints unless `--quiet`.
    pub fn stage_log(&self) -> StageLog {
        StageLog::with_printing(!self.quiet)
    }
}

/// Runs a program's `try_main`, printing an error chain as one line on
/// stderr (`error: what failed: why`) and exiting non-zero, instead of a
/// panic or a debug dump.
pub fn exit_on_error<E: std::fmt::Display>(result: Result<(), E>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// A clap value parser for counts that must be at least 1 (workers, parts):
/// `#[arg(long, value_parser = common::cli::at_least_one)]`.
///
/// ```
/// assert_eq!(common::cli::at_least_one("4"), Ok(4));
/// assert!(common::cli::at_least_one("0").unwrap_err().contains("at least 1"));
/// assert!(common::cli::at_least_one("x").is_err());
/// ```
///
/// # Errors
/// Names the value and what is expected.
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number (expected at least 1)")),
    }
}

/// Parses a timeout in seconds (`--timeout 0.5`): a positive, finite number.
///
/// ```
/// use common::cli::parse_timeout;
/// assert_eq!(parse_timeout("0.5").unwrap(), std::time::Duration::from_millis(500));
/// assert!(parse_timeout("-1").unwrap_err().contains("positive"));
/// assert!(parse_timeout("soon").is_err());
/// ```
///
/// # Errors
/// A message saying what is expected.
pub fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs < 1e9 {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err(format!(
            "'{s}': the timeout must be a positive number of seconds"
        ))
    }
}
