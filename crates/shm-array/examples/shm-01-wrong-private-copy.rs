//! Book 1.4.1, `ej_paralelo_equivocado.py`: forked workers write their results
//! into a plain `Vec`, and the parent's `Vec` stays untouched.
//!
//! `cargo run -p shm-array --example shm-01-wrong-private-copy`

use std::cell::RefCell;

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use shm_array::ForkPool;

#[path = "shm-support/mod.rs"]
mod support;

/// The WRONG way: workers in forked processes fill an ordinary Vec. Each
/// worker writes into its own private copy of the parent's memory (fork
/// copies it, page by page, on write), so the parent's results stay None.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Elements in each list (the book uses 12).
    #[arg(long, default_value_t = 12)]
    len: usize,
    /// Worker processes (the book's ranges are 3 chunks of 4).
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
    let input_a = vec![1i64; cli.len];
    let input_b = vec![3i64; cli.len];
    let results: RefCell<Vec<Option<i64>>> = RefCell::new(vec![None; cli.len]);
    let pool = ForkPool::new(cli.workers);
    // SAFETY: the closure writes only `results`, ordinary (not shared)
    // memory: each worker changes its own copy, which is exactly the
    // mistake this program shows. It writes no shared memory at all.
    unsafe {
        pool.run(cli.len, |chunk| {
            let r = chunk.range;
            println!("working on {} to {}", r.start, r.end);
            let mut res = results.borrow_mut();
            for i in r.clone() {
                res[i] = Some(input_a[i] + input_b[i]);
            }
            println!("partial result: {}", support::show(&res[r]));
        })?;
    }
    let results = results.into_inner();
    println!("final result: {}", support::show(&results));
    let untouched = results.iter().all(Option::is_none);
    if untouched {
        println!(
            "the parent's list is untouched: each worker wrote into its own copy of it \
             (after fork, parent and children share no ordinary memory)"
        );
    }
    log.stage("workers done");
    let mut rec = Record::new("shm-01-wrong-private-copy")
        .metric("len", cli.len)
        .metric("workers", pool.workers())
        .metric("parent_untouched", untouched)
        .with_stages(&log);
    if !untouched {
        rec.error("the parent's results changed: fork did not copy them?");
    }
    rec.emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
