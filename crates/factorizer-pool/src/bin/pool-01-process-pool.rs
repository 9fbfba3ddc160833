//! Book 1.4.1, `ej_paralelo_futures.py`: a pool of worker processes
//! factors the numbers; each prints its time as it finishes, then the
//! results come in input order and the total is about the slowest item.
//!
//! `cargo run --release -p factorizer-pool --bin pool-01-process-pool -- --book --workers 4`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use factorizer_pool::cli::{PoolArgs, print_results, record_metrics};
use factorizer_pool::gantt;
use factorizer_pool::process_pool::{self, WorkerCommand};

/// Factor numbers on a pool of worker processes (this program, started
/// again as workers). A worker that panics, crashes or passes --timeout
/// fails only its own item; it is replaced and the rest complete.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,
    /// Kill a worker whose task runs longer than this (seconds): the item
    /// fails, the worker is replaced.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> Result<bool, Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let tasks = cli.pool.tasks()?;
    let opts = cli.pool.run_options(cli.timeout, true)?;
    let workers = cli.pool.workers();
    log.stage(format!(
        "Running all: {} numbers ({} list, {}), {workers} worker processes",
        tasks.len(),
        cli.pool.list_name(),
        opts.algorithm
    ));
    let command = WorkerCommand::current_exe()?;
    let run = process_pool::run(&tasks, workers, command, &opts, &mut |item| {
        println!("{}", item.progress_line());
    })?;
    log.stage("the pool is closed: every worker has exited");
    print_results(&run);
    if let Some(path) = &cli.pool.gantt {
        let title = format!(
            "{} worker process(es), {} order",
            run.workers, cli.pool.order
        );
        gantt::draw(path, &[(title, &run)])?;
        log.stage(format!("timeline drawn in {}", path.display()));
    }
    let mut rec = Record::new("pool-01-process-pool").with_stages(&log);
    record_metrics(&mut rec, &run);
    rec.emit(cli.out.json);
    Ok(run.all_ok())
}

fn main() {
    factorizer_pool::cli::main(try_main);
}
