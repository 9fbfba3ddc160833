//! Book 1.3.1, the aiohttp downloader with `gather`: all files at once, one
//! shared client (or one per request, as the book does), `--repeat` to scale.
//!
//! `cargo run --release -p downloader-async --bin async-04-download -- --repeat 2000`

use std::time::Duration;

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use common::server::ServerArgs;
use downloader_async::download::{self, ClientMode, DEFAULT_MAX_IN_FLIGHT, Options};
use downloader_async::limits::fit_in_flight;

/// Download the lesson's five files concurrently with one shared HTTP client
/// and print the total of their lengths; --repeat N fetches them N times
/// (5 × N requests) with at most --max-in-flight at once. Without --base-url
/// an embedded server is started on data/downloads. Ctrl-C cancels.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Fetch the five files this many times.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Requests in flight at most (0: no limit).
    #[arg(long, default_value_t = DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: usize,
    /// Build a new client for every request, like the book's per-call session.
    #[arg(long)]
    client_per_request: bool,
    /// Use a lean hyper client whose connections each read through a fixed
    /// 16 KB buffer (reqwest's grow up to ~400 KB): far less memory with
    /// 1,000 connections; http:// only.
    #[arg(long, conflicts_with = "client_per_request")]
    small_buffers: bool,
    /// Run everything on this one thread (a current-thread runtime, like
    /// asyncio's loop) instead of one worker thread per core.
    #[arg(long)]
    one_thread: bool,
    /// Timeout of each request, seconds.
    #[arg(long, default_value = "10", value_parser = common::cli::parse_timeout)]
    timeout: Duration,
    /// The longest body accepted, bytes: a longer one is an error naming
    /// the URL (bodies are counted as they arrive, never kept).
    #[arg(long, value_name = "BYTES", default_value_t = common::download::DEFAULT_MAX_BODY, value_parser = common::download::parse_max_body)]
    max_body_bytes: u64,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<bool, Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let (base, server) = cli
        .server
        .base_url_or_start(common::data::downloads_dir()?)?;
    let urls = download::repeat_urls(&base, cli.repeat);
    let client = match (cli.client_per_request, cli.small_buffers) {
        (true, _) => ClientMode::PerRequest,
        (false, true) => ClientMode::BoundedBuffers,
        (false, false) => ClientMode::Shared,
    };
    let timeout = cli.timeout;
    let (n, bar) = (
        urls.len(),
        download::progress_bar(urls.len() as u64, !cli.out.json),
    );
    let mut opts = Options {
        timeout,
        client,
        max_in_flight: cli.max_in_flight,
        log: (n <= 20).then(|| log.clone()),
        progress: Some(bar.clone()),
        max_body: cli.max_body_bytes,
    };
    let (fits, warning) = fit_in_flight(opts.concurrency(n), server.is_some());
    if let Some(warning) = warning {
        eprintln!("warning: {warning}");
        opts.max_in_flight = fits;
    }
    log.stage(format!(
        "fetching {n} URLs from {base}, at most {} at once, client: {client:?}",
        opts.concurrency(n)
    ));
    let mut rt = match cli.one_thread {
        true => tokio::runtime::Builder::new_current_thread(),
        false => tokio::runtime::Builder::new_multi_thread(),
    };
    let rt = rt.enable_all().build()?;
    let Some(result) = rt.block_on(download::download_all_or_ctrl_c(&urls, &opts)) else {
        bar.abandon();
        eprintln!("interrupted: the requests in flight were cancelled");
        std::process::exit(130);
    };
    let (summary, stats) = result?;
    bar.finish_and_clear();
    log.stage("all downloads finished");
    summary.print();
    println!(
        "{}",
        download::scale_line(&summary, common::mem::peak_rss_bytes())
    );
    let mut rec = Record::new("async-04-download").with_stages(&log);
    download::fill_record(&mut rec, &summary, &stats, &opts);
    rec.set("delay_ms", cli.server.delay_ms);
    rec.set("one_thread", cli.one_thread);
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
