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

/// Runs a program's `try_main` as [`exit_on_error`] does, and makes a
/// closed stdout quiet: `prog | head` closes the pipe early, and Rust's
/// `println!` then panics with "failed printing to stdout: Broken pipe".
/// That panic still unwinds (every destructor runs: temporary files,
/// shared-memory segments, child processes are cleaned up) and the exit
/// status is non-zero, but no panic message is printed. Every other panic
/// is reported as before. (Restoring SIGPIPE's default action instead
/// would also kill a server writing to a closed socket.)
pub fn run<E: std::fmt::Display>(try_main: impl FnOnce() -> Result<(), E>) {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            report(info);
        }
    }));
    exit_on_error(try_main());
}

/// Whether a panic's payload is std's "failed printing to stdout: Broken
/// pipe (os error 32)".
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    text.starts_with("failed printing to stdout") && text.contains("Broken pipe")
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

#[cfg(test)]
mod pipe_tests {
    use super::is_broken_pipe;

    #[test]
    fn only_a_closed_stdout_is_quiet() {
        let epipe = String::from("failed printing to stdout: Broken pipe (os error 32)");
        assert!(is_broken_pipe(&epipe));
        assert!(!is_broken_pipe(&String::from("index out of bounds")));
        assert!(!is_broken_pipe(
            &"failed printing to stdout: No space left on device"
        ));
        assert!(!is_broken_pipe(&42u8));
    }
}
