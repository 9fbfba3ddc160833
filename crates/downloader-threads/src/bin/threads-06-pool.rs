//! The exercise the book leaves to the reader (`ThreadPoolExecutor`): a pool
//! of N worker threads downloads many files; results and errors per file,
//! in input order.
//!
//! `cargo run -p downloader-threads --bin threads-06-pool [-- --workers 8 --repeat 200]`

use std::time::Duration;

use clap::Parser;
use common::cli::OutputArgs;
use common::server::ServerArgs;
use downloader_threads::{AdderKind, Options, file_urls, pool};

/// Download the five lesson files (times --repeat) with a fixed pool of
/// worker threads taking URLs from a shared queue; print each file's result
/// in input order (up to 20, or all with --list) and the total.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Worker threads, at least 1 (default: one per core).
    #[arg(long)]
    workers: Option<std::num::NonZeroUsize>,
    /// Fetch the file list N times (N×5 URLs).
    #[arg(long, default_value_t = 1, value_name = "N")]
    repeat: usize,
    /// Fetch these file names instead of the five lesson files.
    #[arg(long = "file", value_name = "NAME")]
    files: Vec<String>,
    /// Print every file's result, however many.
    #[arg(long)]
    list: bool,
    /// Timeout of each request, seconds.
    #[arg(long, default_value = "10", value_parser = downloader_threads::parse_timeout)]
    timeout: Duration,
    /// The longest body accepted, bytes: a longer one is an error naming
    /// the URL (bodies are counted through a fixed buffer, never kept).
    #[arg(long, value_name = "BYTES", default_value_t = common::download::DEFAULT_MAX_BODY, value_parser = common::download::parse_max_body)]
    max_body_bytes: u64,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<bool, Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let (base, _server) = cli
        .server
        .base_url_or_start(common::data::downloads_dir()?)?;
    let urls = file_urls(&base, &cli.files, cli.repeat);
    let opts = Options {
        timeout: cli.timeout,
        max_body: cli.max_body_bytes,
        log: (urls.len() <= 50).then(|| log.clone()),
        adder: AdderKind::Atomic,
        workers: cli.workers.map_or(0, std::num::NonZeroUsize::get),
    };
    let workers = opts.worker_count().min(urls.len().max(1));
    log.stage(format!(
        "fetching {} files from {base} with {workers} workers",
        urls.len()
    ));
    let summary = pool::download_all(&urls, &opts)?;
    log.stage("the pool finished");
    if cli.list || summary.files.len() <= 20 {
        for (i, f) in summary.files.iter().enumerate() {
            match &f.outcome {
                Ok(n) => println!(
                    "{i:>5}  {n:>8} bytes  {:.3} s  {}",
                    f.elapsed.as_secs_f64(),
                    f.url
                ),
                Err(e) => println!("{i:>5}  FAILED  {e}"),
            }
        }
    }
    downloader_threads::print_summary(&summary);
    let mut rec = downloader_threads::summary_record("threads-06-pool", &summary, &log);
    let in_order = summary.files.iter().zip(&urls).all(|(f, u)| &f.url == u);
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    rec.set("workers", workers as u64);
    rec.set("in_input_order", in_order);
    rec.set("requests_per_s", summary.files.len() as f64 / secs);
    rec.set("delay_ms", cli.server.delay_ms);
    rec.emit(cli.out.json);
    Ok(summary.is_complete())
}

fn main() {
    downloader_threads::exit_with(try_main());
}
