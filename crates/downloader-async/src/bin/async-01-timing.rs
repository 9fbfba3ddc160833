//! Book 1.3, the first `asyncio.sleep(1)` example: two timestamps one second
//! apart around an async sleep.
//!
//! `cargo run -p downloader-async --bin async-01-timing`

use std::time::Duration;

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use downloader_async::timing::{timings, unix_seconds};

/// Print a timestamp, sleep asynchronously, print another: the sleep hands
/// the thread back to the runtime instead of blocking it.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// How long to sleep, seconds.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let pause = Duration::try_from_secs_f64(cli.seconds)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let t = rt.block_on(timings(pause, |label, at| {
        println!("{label}: {:.6}", unix_seconds(at));
    }));
    log.stage(format!(
        "the two timestamps are {:.3} s apart",
        t.gap().as_secs_f64()
    ));
    Record::new("async-01-timing")
        .metric("sleep_s", cli.seconds)
        .metric("gap_s", t.gap().as_secs_f64())
        .with_stages(&log)
        .emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
