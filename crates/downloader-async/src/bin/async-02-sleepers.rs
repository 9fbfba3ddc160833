//! Book 1.3.1, `seq_async_1.py` to `seq_async_4.py`: sleepers with random
//! delays, awaited, created lazily, spawned, and gathered.
//!
//! `cargo run -p downloader-async --bin async-02-sleepers -- --mode 2`

use std::time::Duration;

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use downloader_async::sleepers::{Mode, delays, run};

/// Run sleepers with random delays four ways: 1 await one; 2 create two
/// futures, then await them one by one (futures are lazy); 3 spawn two tasks
/// (they run concurrently); 4 spawn N tasks and gather them with join_all
/// (results in input order).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Which of the book's four programs, 1 to 4.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=4))]
    mode: u8,
    /// Seed of the random delays (the same seed, the same run).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Longest delay, seconds (the book's is 5).
    #[arg(long, default_value_t = 5.0)]
    max_delay: f64,
    /// Mode 4: how many sleepers.
    #[arg(long, default_value_t = 3)]
    count: usize,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let mode = Mode::from_number(cli.mode).ok_or("--mode must be 1, 2, 3 or 4")?;
    // Like asyncio's loop: one thread runs every task.
    let log = cli.out.stage_log();
    let max = Duration::try_from_secs_f64(cli.max_delay)?;
    let delays = delays(cli.seed, mode.sleepers(cli.count), max);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let slept = rt.block_on(run(mode, &delays, &log))?;
    let mut rec = Record::new("async-02-sleepers").with_stages(&log);
    rec.set("mode", cli.mode);
    rec.set("seed", cli.seed);
    let secs: Vec<f64> = slept.iter().map(Duration::as_secs_f64).collect();
    rec.set("slept_s", secs);
    rec.emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
