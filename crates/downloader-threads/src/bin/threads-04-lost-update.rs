//! Book 1.2, `concur_hilos_explicito_2.py`: the adder's `+=` split into read
//! / pause / add / pause / write with no lock: the printed total is smaller
//! than the bytes that arrived, and the program says how many were lost.
//!
//! `cargo run -p downloader-threads --bin threads-04-lost-update [-- --pause-ms 1 --runs 10]`

use std::time::Duration;

use clap::Parser;
use common::cli::OutputArgs;
use common::server::ServerArgs;
use downloader_threads::{AdderKind, Options, file_urls, lost_bytes, per_thread};

/// One thread per file sharing the racy adder (v1_racy). Compare the
/// printed total with the true one; try --pause-ms 1, where the race hides
/// most runs although the bug is still there. The server's jitter
/// (--jitter-ms) spreads the arrivals as a real network does.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Pause between read, add and write, milliseconds (the book: 10).
    #[arg(long, default_value_t = 10)]
    pause_ms: u64,
    /// Repeat the whole download this many times (same server).
    #[arg(long, default_value_t = 1)]
    runs: usize,
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
    let urls = file_urls(&base, &[], 1);
    let opts = Options {
        timeout: cli.timeout,
        // The read/write lines show the interleaving; one run's worth is enough.
        log: (cli.runs == 1).then(|| log.clone()),
        adder: AdderKind::Racy {
            pause: Duration::from_millis(cli.pause_ms),
        },
        ..Options::default()
    };
    let mut runs = Vec::new();
    for run in 1..=cli.runs.max(1) {
        let s = per_thread::download_all(&urls, &opts)?;
        let lost = lost_bytes(&s);
        log.stage(format!(
            "run {run}: adder total {}, bodies received {}, lost {lost}",
            s.total,
            s.bytes_received()
        ));
        runs.push(s);
    }
    let first = &runs[0];
    downloader_threads::print_summary(first);
    let lost: Vec<u64> = runs.iter().map(lost_bytes).collect();
    let with_loss = lost.iter().filter(|&&l| l > 0).count();
    if runs.len() > 1 {
        println!("{with_loss} of {} runs lost bytes: {lost:?}", runs.len());
    }
    let mut rec = downloader_threads::summary_record("threads-04-lost-update", first, &log);
    rec.set("pause_ms", cli.pause_ms);
    rec.set("runs", runs.len() as u64);
    rec.set("runs_with_loss", with_loss as u64);
    rec.set("lost_bytes_runs", lost);
    rec.set(
        "totals_runs",
        runs.iter().map(|s| s.total).collect::<Vec<_>>(),
    );
    rec.set(
        "true_totals_runs",
        runs.iter().map(|s| s.bytes_received()).collect::<Vec<_>>(),
    );
    for s in &runs[1..] {
        for e in s.failures() {
            rec.error(e.to_string());
        }
    }
    rec.emit(cli.out.json);
    Ok(runs.iter().all(|s| s.is_complete()))
}

fn main() {
    downloader_threads::exit_with(try_main());
}
