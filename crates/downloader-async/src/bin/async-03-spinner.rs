//! Book 1.3.1, `ej_async_blocking.py`: a spinner turns while `main` works
//! (mode 1), freezes when `main` blocks the runtime (mode 2), and turns again
//! when the blocking work moves to `spawn_blocking` (mode 3).
//!
//! `cargo run -p downloader-async --bin async-03-spinner -- --mode 2`

use std::io::IsTerminal;
use std::time::Duration;

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use downloader_async::spinner::{Work, run};

/// A spinner task shows whether the runtime can run tasks while main works:
/// 1 async sleep (turns), 2 blocking sleep on the runtime's only thread
/// (freezes), 3 blocking sleep moved to spawn_blocking (turns). The number of
/// spinner ticks during the work is printed at the end.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// 1, 2 or 3.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    mode: u8,
    /// How long the work takes, seconds (the book's is 3).
    #[arg(long, default_value_t = 3.0)]
    work: f64,
    /// Time between two spinner frames, milliseconds (the book's is 200).
    #[arg(long, default_value_t = 200)]
    interval_ms: u64,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let how = Work::from_number(cli.mode).ok_or("--mode must be 1, 2 or 3")?;
    let log = cli.out.stage_log();
    let work = Duration::try_from_secs_f64(cli.work)?;
    let interval = Duration::from_millis(cli.interval_ms.max(1));
    // One thread, like asyncio: a blocking call there stops every task.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    log.stage("start");
    log.stage(how.describe());
    let draw = std::io::stderr().is_terminal();
    let rep = rt.block_on(run(how, work, interval, draw));
    log.stage(format!("end; result {}", rep.result));
    println!(
        "the spinner ticked {} times during the work (a free runtime: about {})",
        rep.ticks_during_work, rep.expected_ticks
    );
    Record::new("async-03-spinner")
        .metric("mode", cli.mode)
        .metric("result", rep.result)
        .metric("ticks_during_work", rep.ticks_during_work)
        .metric("expected_ticks", rep.expected_ticks)
        .with_stages(&log)
        .emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
