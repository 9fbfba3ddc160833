//! Book 1.4.1, `ej_paralelo_compartida.py` (`ShareableList`): the inputs and
//! the results live in named shared segments; closed and unlinked at the end.
//!
//! `cargo run -p shm-array --example shm-02-named-list`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use shm_array::{ForkPool, ShmArray};

#[path = "shm-support/mod.rs"]
mod support;

/// Three named shared arrays (two inputs, one result); forked workers add
/// their chunk; the parent prints the result and unlinks the segments.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Elements in each list (the book uses 12).
    #[arg(long, default_value_t = 12)]
    len: usize,
    /// Worker processes.
    #[arg(long, default_value_t = 3, value_parser = common::cli::at_least_one)]
    workers: usize,
    /// Prefix of the segment names in /dev/shm.
    #[arg(long, default_value = "shm-02-")]
    prefix: String,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    support::sweep_at_start(&cli.prefix)?;
    let mut input_a = ShmArray::<i64>::create(&shm_array::unique_name(&cli.prefix), cli.len)?;
    let mut input_b = ShmArray::<i64>::create(&shm_array::unique_name(&cli.prefix), cli.len)?;
    let mut results = ShmArray::<i64>::create(&shm_array::unique_name(&cli.prefix), cli.len)?;
    input_a.fill(1);
    input_b.fill(3);
    let names: Vec<String> = [&input_a, &input_b, &results]
        .iter()
        .filter_map(|a| a.segment_name().map(str::to_string))
        .collect();
    support::unlink_on_signal(&names);
    log.stage(format!("created named segments {names:?}"));
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
    println!(
        "final result: {} (segment {:?})",
        support::show(&results),
        results.segment_name().unwrap_or("?")
    );
    let correct = results.iter().all(|&x| x == 4);
    // Python's close() + unlink(): remove the names now; dropping the handles
    // unmaps the memory.
    for a in [&input_a, &input_b, &results] {
        a.unlink()?;
    }
    drop((input_a, input_b, results));
    let left: Vec<&String> = names
        .iter()
        .filter(|n| support::still_in_dev_shm(n))
        .collect();
    println!("segments left in /dev/shm: {}", left.len());
    log.stage("unlinked");
    let mut rec = Record::new("shm-02-named-list")
        .metric("len", cli.len)
        .metric("workers", pool.workers())
        .metric("correct", correct)
        .metric("segments_left", left.len())
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
