//! `cargo xtask`: builds, runs and compares the lessons.
//!
//! `cargo xtask run-all` runs every lesson; `cargo xtask lessons` lists them.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

/// Build, run and compare the lessons of "Procesamiento en paralelo".
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build (release) and run every lesson, or those named with --lesson;
    /// check each lesson's phenomenon, print one table per lesson and write a
    /// report with charts under target/report/.
    RunAll(xtask::RunOptions),
    /// List the lessons: id, book section, crates and programs.
    Lessons,
    /// Generate the data files lessons need (e.g. WAV files for `fft`).
    GenData(xtask::GenDataOptions),
    /// Run the benchmarks (cargo bench) of the named lessons' crates.
    Bench(xtask::BenchOptions),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::RunAll(opts) => xtask::run_all(&opts).and_then(|outcome| {
            if outcome.all_passed() {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "{} check(s) failed; see the tables above and {}",
                    outcome.failed_checks(),
                    outcome.report_path.display()
                ))
            }
        }),
        Cmd::Lessons => {
            xtask::print_lessons();
            Ok(())
        }
        Cmd::GenData(opts) => xtask::gen_data(&opts),
        Cmd::Bench(opts) => xtask::bench(&opts),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
