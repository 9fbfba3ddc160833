//! Book 1.4.1 (the `ThreadPoolExecutor` the book mentions): the same tasks
//! on a pool of threads, for the threads-vs-processes comparison.
//!
//! `cargo run --release -p factorizer-pool --bin pool-02-thread-pool -- --book --workers 4`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use factorizer_pool::cli::{PoolArgs, print_results, record_metrics};
use factorizer_pool::{gantt, thread_pool};

/// Factor numbers on a pool of threads. Rust threads run in parallel (no
/// GIL), so they scale like processes here. A panicking task fails alone;
/// crash and hang faults are refused (a thread cannot be killed).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<bool, Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let tasks = cli.pool.tasks()?;
    let opts = cli.pool.run_options(None, false)?;
    let workers = cli.pool.workers();
    log.stage(format!(
        "Running all: {} numbers ({} list, {}), {workers} threads",
        tasks.len(),
        cli.pool.list_name(),
        opts.algorithm
    ));
    let run = thread_pool::run(&tasks, workers, &opts, &mut |item| {
        println!("{}", item.progress_line());
    });
    log.stage("every thread has been joined");
    print_results(&run);
    if let Some(path) = &cli.pool.gantt {
        let title = format!("{} thread(s), {} order", run.workers, cli.pool.order);
        gantt::draw(path, &[(title, &run)])?;
        log.stage(format!("timeline drawn in {}", path.display()));
    }
    let mut rec = Record::new("pool-02-thread-pool").with_stages(&log);
    record_metrics(&mut rec, &run);
    rec.emit(cli.out.json);
    Ok(run.all_ok())
}

fn main() {
    factorizer_pool::cli::main(try_main);
}
