//! Book 1.2, `concur_hilos_explicito_3.py`: the same read / pause / add /
//! pause / write under one lock — the total is right every run; or the
//! one-instruction `fetch_add`. Then what one add costs either way.
//!
//! `cargo run -p downloader-threads --bin threads-05-locked [-- --variant atomic]`

use std::time::Duration;

use clap::{Parser, ValueEnum};
use common::cli::OutputArgs;
use common::server::ServerArgs;
use downloader_threads::{AdderKind, Options, cost, file_urls, lost_bytes, per_thread};

#[derive(Clone, Copy, ValueEnum)]
enum Variant {
    /// v2_locked: the whole read-modify-write under a Mutex (with the pauses).
    Mutex,
    /// v3_atomic: one fetch_add (no steps to pause between).
    Atomic,
}

/// One thread per file sharing a correct adder; prints the total and the
/// bytes lost (always 0), then measures the cost of one add with a Mutex
/// and with fetch_add, from several threads at once.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Which correct adder.
    #[arg(long, value_enum, default_value = "mutex")]
    variant: Variant,
    /// Pause between read, add and write inside the lock, ms (mutex only).
    #[arg(long, default_value_t = 10)]
    pause_ms: u64,
    /// Cost measurement: threads adding at once.
    #[arg(long, default_value_t = 4)]
    cost_threads: usize,
    /// Cost measurement: adds per thread (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    cost_adds: u64,
    /// Timeout of each request, seconds.
    #[arg(long, default_value = "10", value_parser = downloader_threads::parse_timeout)]
    timeout: Duration,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<bool, Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let (base, _server) = cli
        .server
        .base_url_or_start(common::data::downloads_dir()?)?;
    let adder = match cli.variant {
        Variant::Mutex => AdderKind::Locked {
            pause: Duration::from_millis(cli.pause_ms),
        },
        Variant::Atomic => AdderKind::Atomic,
    };
    let opts = Options {
        timeout: cli.timeout,
        log: Some(log.clone()),
        adder,
        ..Options::default()
    };
    let summary = per_thread::download_all(&file_urls(&base, &[], 1), &opts)?;
    downloader_threads::print_summary(&summary);
    println!(
        "lost: {} bytes ({} adder)",
        lost_bytes(&summary),
        adder.name()
    );
    let mut rec = downloader_threads::summary_record("threads-05-locked", &summary, &log);
    rec.set("variant", adder.name());
    if cli.cost_adds > 0 {
        let c = cost::measure(cli.cost_threads, cli.cost_adds);
        println!(
            "cost per add, {} threads × {} adds: Mutex {:.1} ns, fetch_add {:.1} ns ({:.1}× cheaper); \
             racy load+store {:.1} ns and it lost {} of {} adds",
            c.threads,
            c.adds_per_thread,
            c.mutex_ns_per_add(),
            c.atomic_ns_per_add(),
            c.mutex_ns_per_add() / c.atomic_ns_per_add(),
            c.racy_ns_per_add(),
            c.racy_lost(),
            c.expected()
        );
        rec.set("cost_threads", c.threads as u64);
        rec.set("cost_adds", c.expected());
        rec.set("mutex_ns_per_add", c.mutex_ns_per_add());
        rec.set("atomic_ns_per_add", c.atomic_ns_per_add());
        rec.set("racy_ns_per_add", c.racy_ns_per_add());
        rec.set(
            "cost_totals_exact",
            c.mutex_total == c.expected() && c.atomic_total == c.expected(),
        );
        rec.set("racy_lost_adds", c.racy_lost());
    }
    rec.emit(cli.out.json);
    Ok(summary.is_complete())
}

fn main() {
    downloader_threads::exit_with(try_main());
}
