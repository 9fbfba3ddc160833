//! Book 1.4.2, `ej_paralelo_array.py` (`RawArray('B', …)`): anonymous shared
//! arrays inherited by the forked workers, freed automatically.
//!
//! `cargo run -p shm-array --example shm-03-anonymous-array`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use shm_array::{ForkPool, ShmArray};

#[path = "shm-support/mod.rs"]
mod support;

/// Three anonymous shared arrays of bytes: no name, nothing to unlink; the
/// memory goes away with the last process that maps it.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Elements in each array (the book uses 12).
    #[arg(long, default_value_t = 12)]
    len: usize,
    /// Worker processes.
    #[arg(long, default_value_t = 3, value_parser = common::cli::at_least_one)]
    workers: usize,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Segments leaked by crashed runs of any shm lesson (dead holders only).
    support::sweep_at_start("shm-0")?;
    let log = cli.out.stage_log();
    let input_a = ShmArray::<u8>::anonymous_from(&vec![1; cli.len])?;
    let input_b = ShmArray::<u8>::anonymous_from(&vec![3; cli.len])?;
    let mut results = ShmArray::<u8>::anonymous(cli.len)?;
    let pool = ForkPool::new(cli.workers);
    pool.for_each_chunk(
        &[&input_a[..], &input_b[..]],
        &mut results,
        |c, ins, out| {
            println!("working on {} to {}", c.range.start, c.range.end);
            for ((o, a), b) in out.iter_mut().zip(ins[0]).zip(ins[1]) {
                *o = a + b;
            }
        },
    )?;
    println!("final result: {}", support::show(&results));
    let correct = results.iter().all(|&x| x == 4);
    println!("nothing to unlink: anonymous memory is freed with its last mapping");
    log.stage("workers done");
    let mut rec = Record::new("shm-03-anonymous-array")
        .metric("len", cli.len)
        .metric("workers", pool.workers())
        .metric("correct", correct)
        .with_stages(&log);
    if !correct {
        rec.error("some result is not 1 + 3");
    }
    rec.emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
