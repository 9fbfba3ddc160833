//! Book 1.2, `ej_hilos_simple.py`: five threads sleep a random 0–1 s and
//! append their wait to one shared list; main joins them and prints it.
//!
//! `cargo run -p downloader-threads --bin threads-01-waiters [-- --no-join]`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use downloader_threads::{SplitMix, waiters};

/// Start threads that each sleep a random time and record it in a shared
/// `Arc<Mutex<Vec<u64>>>`; join them and print the list. With --no-join,
/// main prints the list without waiting: it comes back empty or partial.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Number of threads.
    #[arg(long, default_value_t = 5)]
    threads: usize,
    /// Each thread sleeps a random 0..=MAX milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MAX")]
    max_ms: u64,
    /// Seed of the random waits (default: from the clock, a new run each time).
    #[arg(long)]
    seed: Option<u64>,
    /// Do not join the threads before printing (the book's experiment).
    #[arg(long, conflicts_with = "scoped")]
    no_join: bool,
    /// Use scoped threads borrowing a local Mutex<Vec> (no Arc; always joined).
    #[arg(long)]
    scoped: bool,
    #[command(flatten)]
    out: OutputArgs,
}

fn main() {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let mut rng = cli.seed.map_or_else(SplitMix::from_clock, SplitMix::new);
    let waits = waiters::random_waits(cli.threads, cli.max_ms, &mut rng);
    log.stage(format!(
        "starting {} threads, waits (ms) {waits:?}",
        waits.len()
    ));
    let seen = if cli.scoped {
        waiters::run_scoped(&waits)
    } else {
        waiters::run_spawned(&waits, !cli.no_join)
    };
    let how = match (cli.scoped, cli.no_join) {
        (true, _) => "the scope joined every thread",
        (false, false) => "joined every thread",
        (false, true) => "did NOT join: the threads may still be sleeping",
    };
    log.stage(format!("{how}; the list main sees"));
    println!("{seen:?}");
    let rec = Record::new("threads-01-waiters")
        .with_stages(&log)
        .metric("threads", waits.len())
        .metric("joined", !cli.no_join)
        .metric("waits_started_ms", waits.clone())
        .metric("waits_seen_ms", seen.clone())
        .metric("seen", seen.len());
    rec.emit(cli.out.json);
}
