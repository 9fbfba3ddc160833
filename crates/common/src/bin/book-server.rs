//! The embedded file server as a program of its own: start it in one
//! terminal, point the downloaders at it with `--base-url` from another.
//!
//! `cargo run -p common --features server --bin book-server -- --port 8000`

use clap::Parser;
use common::server::{Fault, Server, ServerConfig, parse_fault};
use std::path::PathBuf;
use std::time::Duration;

/// Serve a folder over HTTP/1.1 on 127.0.0.1, with latency, jitter,
/// bandwidth limit and fault injection.
///
/// Per request, a query string injects a fault: ?fault=404|500|slow|reset|hang,
/// or overrides the latency: ?delay_ms=N.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Folder to serve (default: the workspace's data/downloads).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Latency added to every response, milliseconds.
    #[arg(long, default_value_t = 150)]
    delay_ms: u64,
    /// Each latency is delay ± jitter, milliseconds.
    #[arg(long, default_value_t = 50)]
    jitter_ms: u64,
    /// Seed of the jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bytes per second per response (no limit if absent).
    #[arg(long)]
    bandwidth: Option<u64>,
    /// Inject a fault for one file: NAME=KIND, KIND one of 404, 500, slow,
    /// reset, hang (repeatable).
    #[arg(long, value_name = "NAME=KIND", value_parser = parse_fault)]
    fault: Vec<(String, Fault)>,
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let dir = match cli.dir {
        Some(d) => d,
        None => common::data::downloads_dir()?,
    };
    let mut cfg = ServerConfig::new(&dir).latency(
        Duration::from_millis(cli.delay_ms),
        Duration::from_millis(cli.jitter_ms),
    );
    cfg.port = cli.port;
    cfg.seed = cli.seed;
    cfg.bandwidth = cli.bandwidth;
    cfg.faults = cli.fault;
    let server = Server::start(cfg)?;
    println!(
        "serving {} at {}/ (latency {} ± {} ms); press Ctrl-C to stop",
        dir.display(),
        server.base_url(),
        cli.delay_ms,
        cli.jitter_ms
    );
    server.run_until_ctrl_c();
    println!("stopped");
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
