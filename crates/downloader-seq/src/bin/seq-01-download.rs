//! Book 1.1, `concur_no.py`: five downloads one after another, `Done: <total>`.
//!
//! `cargo run -p downloader-seq --bin seq-01-download`

use std::time::Duration;

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use common::server::ServerArgs;

/// Download the lesson's five files one after another and print the total
/// of their lengths. Without --base-url an embedded server is started on
/// data/downloads, with a realistic latency per request.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Timeout of each request, seconds.
    #[arg(long, default_value = "10", value_parser = common::cli::parse_timeout)]
    timeout: Duration,
    /// The longest body accepted, bytes: a longer one is an error naming
    /// the URL (bodies are counted through a fixed buffer, never kept).
    #[arg(long, value_name = "BYTES", default_value_t = common::download::DEFAULT_MAX_BODY, value_parser = common::download::parse_max_body)]
    max_body_bytes: u64,
    /// Fetch these file names instead of the five lesson files.
    #[arg(long = "file", value_name = "NAME")]
    files: Vec<String>,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<bool, Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let (base, _server) = cli
        .server
        .base_url_or_start(common::data::downloads_dir()?)?;
    log.stage(format!("fetching from {base}, one file after another"));
    let urls = if cli.files.is_empty() {
        downloader_seq::book_urls(&base)
    } else {
        cli.files
            .iter()
            .map(|f| common::http::join_url(&base, f))
            .collect()
    };
    let opts = downloader_seq::Options {
        timeout: cli.timeout,
        log: Some(log.clone()),
        max_body: cli.max_body_bytes,
    };
    let summary = downloader_seq::download_all(&urls, &opts)?;
    log.stage("all downloads finished");
    summary.print();
    let mut rec = Record::new("seq-01-download").with_stages(&log);
    summary.fill_record(&mut rec);
    rec.set("delay_ms", cli.server.delay_ms);
    rec.emit(cli.out.json);
    Ok(summary.is_complete())
}

fn main() {
    match try_main() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
