//! Book 1.4.1, the `multiprocessing.Process` listing: N child processes
//! started by hand, each given its share, joined one by one, each sending
//! its results back through a pipe.
//!
//! `cargo run --release -p factorizer-pool --bin pool-03-by-hand -- --workers 4`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use factorizer_pool::cli::{PoolArgs, print_results, record_metrics};
use factorizer_pool::process_pool::WorkerCommand;
use factorizer_pool::{by_hand, gantt};

/// Start N children (this program again), deal the numbers out to them
/// round-robin before anything runs, then join them one by one. Nobody
/// rebalances: the child with the slow item finishes last.
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
    let children = cli.pool.workers();
    log.stage(format!(
        "starting {children} children for {} numbers ({} list, {})",
        tasks.len(),
        cli.pool.list_name(),
        cli.pool.algorithm
    ));
    let command = WorkerCommand::current_exe()?;
    let run = by_hand::run(&tasks, children, &command, cli.pool.algorithm)?;
    for child in 0..run.workers {
        let mine = run.items.iter().filter(|i| i.worker == child);
        let end = mine.map(|i| i.end.as_secs_f64()).fold(0.0, f64::max);
        log.stage(format!(
            "child {child} joined (its last item ended at {end:.2}s)"
        ));
    }
    print_results(&run);
    if let Some(path) = &cli.pool.gantt {
        let title = format!("{} child(ren) started by hand", run.workers);
        gantt::draw(path, &[(title, &run)])?;
        log.stage(format!("timeline drawn in {}", path.display()));
    }
    let mut rec = Record::new("pool-03-by-hand").with_stages(&log);
    record_metrics(&mut rec, &run);
    rec.emit(cli.out.json);
    Ok(run.all_ok())
}

fn main() {
    factorizer_pool::cli::main(try_main);
}
