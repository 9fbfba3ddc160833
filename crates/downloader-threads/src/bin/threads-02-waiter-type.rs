//! Book 1.2, the `Waiter(threading.Thread)` class: a worker type that owns
//! its state and has a `run` method, started and joined.
//!
//! `cargo run -p downloader-threads --bin threads-02-waiter-type`

use std::sync::{Arc, Mutex};

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use downloader_threads::SplitMix;
use downloader_threads::waiters::{self, Waiter};

/// Start Waiter values in threads (Waiter::start runs Waiter::run), join
/// them (the join hands each Waiter back) and print the shared list.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Number of waiters.
    #[arg(long, default_value_t = 5)]
    threads: usize,
    /// Each waiter sleeps a random 0..=MAX milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MAX")]
    max_ms: u64,
    /// Seed of the random waits (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    out: OutputArgs,
}

fn main() {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let mut rng = cli.seed.map_or_else(SplitMix::from_clock, SplitMix::new);
    let shared = Arc::new(Mutex::new(Vec::new()));
    let mut all_threads = Vec::new();
    for wait in waiters::random_waits(cli.threads, cli.max_ms, &mut rng) {
        let th = Waiter::new(wait, Arc::clone(&shared)).start();
        log.stage(format!("started a Waiter of {wait} ms"));
        all_threads.push(th);
    }
    let mut started = Vec::new();
    for th in all_threads {
        match th.join() {
            Ok(waiter) => started.push(waiter.wait_ms),
            Err(_) => eprintln!("a waiter panicked"),
        }
    }
    log.stage("joined every Waiter");
    let seen = shared.lock().unwrap_or_else(|e| e.into_inner()).clone();
    println!("{seen:?}");
    let mut rec = Record::new("threads-02-waiter-type")
        .with_stages(&log)
        .metric("threads", cli.threads)
        .metric("waits_started_ms", started)
        .metric("waits_seen_ms", seen.clone())
        .metric("seen", seen.len());
    if seen.len() != cli.threads {
        rec.error(format!(
            "{} of {} waiters reported",
            seen.len(),
            cli.threads
        ));
    }
    rec.emit(cli.out.json);
}
