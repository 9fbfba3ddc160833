//! Book 1.2, `concur_hilos.py`: one thread per file, one shared adder,
//! `Done: <total>` — same total as the sequential lesson, in about the time
//! of the slowest request.
//!
//! `cargo run -p downloader-threads --bin threads-03-download [-- --repeat 200]`

use std::time::Duration;

use clap::Parser;
use common::cli::OutputArgs;
use common::server::ServerArgs;
use downloader_threads::{Options, file_urls, per_thread};

/// Download the lesson's five files (times --repeat), each in its own
/// thread, adding their lengths in one shared adder (a Mutex). Without
/// --base-url an embedded server is started on data/downloads.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Fetch the file list N times: N×5 URLs, one thread each.
    #[arg(long, default_value_t = 1, value_name = "N")]
    repeat: usize,
    /// Fetch these file names instead of the five lesson files.
    #[arg(long = "file", value_name = "NAME")]
    files: Vec<String>,
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
    log.stage(format!(
        "fetching {} files from {base}, one thread each",
        urls.len()
    ));
    let opts = Options {
        timeout: cli.timeout,
        max_body: cli.max_body_bytes,
        // One line per file is readable for a few files, not for thousands.
        log: (urls.len() <= 50).then(|| log.clone()),
        ..Options::default()
    };
    let summary = per_thread::download_all(&urls, &opts)?;
    log.stage(format!("all {} threads joined", urls.len()));
    downloader_threads::print_summary(&summary);
    let mut rec = downloader_threads::summary_record("threads-03-download", &summary, &log);
    rec.set("threads", urls.len() as u64);
    rec.set("delay_ms", cli.server.delay_ms);
    rec.emit(cli.out.json);
    Ok(summary.is_complete())
}

fn main() {
    downloader_threads::exit_with(try_main());
}
