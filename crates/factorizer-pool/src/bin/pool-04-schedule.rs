//! Beyond the book: why the total equals the slowest item, and what
//! handing out the longest tasks first changes — one process pool run in
//! input order and one longest-first, drawn on one timeline.
//!
//! `cargo run --release -p factorizer-pool --bin pool-04-schedule -- --workers 2 --gantt schedule.png`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use factorizer_pool::cli::{PoolArgs, record_metrics};
use factorizer_pool::process_pool::{ProcessPool, WorkerCommand};
use factorizer_pool::{Order, RunOptions, gantt};

/// Run the same list twice on one process pool: in input order (the
/// book's), then longest first (costs predicted by the fast algorithm).
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
    let mut pool = ProcessPool::start(cli.pool.workers(), WorkerCommand::current_exe()?)?;
    let mut runs = Vec::new();
    for order in [Order::Input, Order::LongestFirst] {
        let opts = RunOptions {
            order,
            ..cli.pool.run_options(None, true)?
        };
        let run = pool.map(&tasks, &opts)?;
        log.stage(format!(
            "{order} order: total {:.2}s, slowest item {:.2}s",
            run.wall.as_secs_f64(),
            run.slowest_item().as_secs_f64()
        ));
        runs.push((order, run));
    }
    drop(pool);
    let (input, longest) = (&runs[0].1, &runs[1].1);
    if let Some(path) = &cli.pool.gantt {
        let panels: Vec<(String, _)> = runs
            .iter()
            .map(|(o, r)| (format!("{} worker(s), {o} order", r.workers), r))
            .collect();
        gantt::draw(path, &panels)?;
        log.stage(format!("timeline drawn in {}", path.display()));
    }
    let mut rec = Record::new("pool-04-schedule").with_stages(&log);
    record_metrics(&mut rec, input);
    rec.set("longest_first_wall_s", longest.wall.as_secs_f64());
    rec.set("input_order_wall_s", input.wall.as_secs_f64());
    // The busiest worker's compute time in each order: what the order
    // changes, and less sensitive than the wall time to a loaded machine.
    let busiest = |run: &factorizer_pool::RunSummary| {
        let mut per = std::collections::BTreeMap::<usize, f64>::new();
        for item in &run.items {
            *per.entry(item.worker).or_default() += item.compute.as_secs_f64();
        }
        per.values().copied().fold(0.0, f64::max)
    };
    rec.set("input_order_busiest_worker_s", busiest(input));
    rec.set("longest_first_busiest_worker_s", busiest(longest));
    let same = input
        .items
        .iter()
        .zip(&longest.items)
        .all(|(a, b)| a.outcome == b.outcome);
    rec.set("same_results", same);
    rec.emit(cli.out.json);
    Ok(input.all_ok() && longest.all_ok() && same)
}

fn main() {
    factorizer_pool::cli::main(try_main);
}
