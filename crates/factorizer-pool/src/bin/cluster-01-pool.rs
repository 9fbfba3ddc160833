//! Beyond the book: `pool-01-process-pool` on a cluster — an MPI job whose
//! rank 0 deals the items to every rank, itself included.
//!
//! `cargo build --release -p factorizer-pool --features mpi --bin cluster-01-pool &&
//!  mpirun -n 2 --bind-to none target/release/cluster-01-pool --balanced`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use factorizer_pool::cli::{PoolArgs, print_results, record_metrics};
use factorizer_pool::cluster::{self, ClusterRun, DEALER_SILENCE_LIMIT};
use factorizer_pool::{RunOptions, Task, gantt};
use mpi::Threading;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// Factor numbers on the ranks of an MPI job (start it with `mpirun -n N`):
/// rank 0 hands one item at a time to each rank that asks, computes on a
/// second thread too, and prints every result in input order. A rank that
/// crashes ends the whole job, unlike the process pool.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,
    /// End the job (MPI_Abort) when a rank has not answered an item after
    /// this many seconds (default: a minute plus the item's predicted
    /// naive cost at the book's speed).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Rank 0 only deals (by default it also factors, on a second thread);
    /// needs at least 2 ranks.
    #[arg(long)]
    dealer_only: bool,
    #[command(flatten)]
    out: OutputArgs,
}

/// The tasks and options, or pool-01's message for bad input.
fn prepare(cli: &Cli, ranks: i32) -> Result<(Vec<Task>, RunOptions), String> {
    if cli.pool.workers.is_some() {
        return Err("--workers: the workers of an MPI job are its ranks (mpirun -n N)".into());
    }
    if cli.dealer_only && ranks < 2 {
        return Err("--dealer-only: with 1 rank nobody would factor (mpirun -n 2 or more)".into());
    }
    Ok((cli.pool.tasks()?, cli.pool.run_options(cli.timeout, true)?))
}

/// Rank 0: deal, print, draw, record. Returns the exit code.
fn rank0(world: &SimpleCommunicator, cli: &Cli) -> Result<i32, Box<dyn std::error::Error>> {
    let log = cli.out.stage_log();
    let (tasks, opts) = match prepare(cli, world.size()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            // Tell every rank to stop, so none waits for work in vain.
            stop_or_abort(
                world,
                cluster::deal(world, &[], &RunOptions::default(), true, &mut |_, _| {}),
            );
            return Ok(2);
        }
    };
    log.stage(format!(
        "Running all: {} numbers ({} list, {}), {} ranks (rank 0 deals{})",
        tasks.len(),
        cli.pool.list_name(),
        opts.algorithm,
        world.size(),
        if cli.dealer_only {
            " only"
        } else {
            " and computes"
        }
    ));
    let run = stop_or_abort(
        world,
        cluster::deal(world, &tasks, &opts, !cli.dealer_only, &mut |item, rank| {
            println!("{}", ClusterRun::progress_line(item, rank));
        }),
    );
    log.stage("every rank has been told to stop");
    print_results(&run.summary);
    if let Some(path) = &cli.pool.gantt {
        let title = format!("{} MPI rank(s), {} order", run.ranks.len(), cli.pool.order);
        gantt::draw_labelled(path, &[(title, &run.summary)], Some(&run.row_labels()))?;
        log.stage(format!("timeline drawn in {}", path.display()));
    }
    let mut rec = Record::new("cluster-01-pool").with_stages(&log);
    record_metrics(&mut rec, &run.summary);
    run.record_metrics(&mut rec);
    rec.emit(cli.out.json);
    Ok(if run.summary.all_ok() { 0 } else { 1 })
}

/// The value, or the error printed and every rank ended with MPI_Abort.
fn stop_or_abort<T>(world: &SimpleCommunicator, r: Result<T, cluster::ClusterError>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("error: {e}; calling MPI_Abort, which ends every rank");
        world.abort(3)
    })
}

fn main() {
    let Some((universe, _threading)) = mpi::initialize_with_threading(Threading::Funneled) else {
        eprintln!("error: MPI could not be initialised");
        std::process::exit(2);
    };
    let world = universe.world();
    let rank = world.rank();
    // A panic (the `panic` fault, caught: its item fails) is one line.
    std::panic::set_hook(Box::new(move |info| {
        let msg = factorizer_pool::thread_pool::panic_message(info.payload());
        let at = info
            .location()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        eprintln!("rank {rank} panicked{at}: {msg}");
    }));
    let code = match Cli::try_parse() {
        // Every rank parses the same arguments; only rank 0 speaks.
        Err(e) => {
            if rank == 0 {
                let _ = e.print();
            }
            e.exit_code()
        }
        Ok(cli) if rank == 0 => rank0(&world, &cli).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            2
        }),
        Ok(_) => {
            stop_or_abort(&world, cluster::serve(&world, DEALER_SILENCE_LIMIT));
            0
        }
    };
    drop(universe); // MPI_Finalize
    std::process::exit(code);
}
