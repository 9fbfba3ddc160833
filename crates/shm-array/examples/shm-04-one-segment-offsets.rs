//! Book 1.4.2, the numpy example: one named `SharedMemory` segment holding
//! the two inputs and the result at offsets; closed and unlinked at the end.
//!
//! `cargo run -p shm-array --example shm-04-one-segment-offsets`

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use shm_array::{ForkPool, Layout, Segment};

#[path = "shm-support/mod.rs"]
mod support;

/// One named segment, three int8 arrays at offsets (the header records
/// each array's name, type, offset and shape).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Elements in each array (the book uses 12).
    #[arg(long, default_value_t = 12)]
    len: usize,
    /// Worker processes.
    #[arg(long, default_value_t = 3, value_parser = common::cli::at_least_one)]
    workers: usize,
    /// Prefix of the segment name in /dev/shm.
    #[arg(long, default_value = "shm-04-")]
    prefix: String,
    #[command(flatten)]
    out: OutputArgs,
}

fn try_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    support::sweep_at_start(&cli.prefix)?;
    let layout = Layout::new()
        .array::<i8>("input_a", cli.len)?
        .array::<i8>("input_b", cli.len)?
        .array::<i8>("results", cli.len)?;
    let name = shm_array::unique_name(&cli.prefix);
    let mut seg = Segment::create(&name, &layout)?;
    support::unlink_on_signal(std::slice::from_ref(&name));
    for a in seg.arrays() {
        println!(
            "array {:8} {} × {} at offset {}",
            a.name, a.len, a.type_name, a.offset
        );
    }
    let mut input_a = seg.take::<i8>("input_a")?;
    let mut input_b = seg.take::<i8>("input_b")?;
    let mut results = seg.take::<i8>("results")?;
    input_a.fill(1);
    input_b.fill(3);
    log.stage(format!("segment {name} of {} bytes", seg.bytes()));
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
    // close + unlink: after this the name is gone; the views die with `seg`.
    seg.unlink()?;
    drop((input_a, input_b, results, seg));
    let left = support::still_in_dev_shm(&name);
    println!("segment left in /dev/shm: {left}");
    log.stage("unlinked");
    let mut rec = Record::new("shm-04-one-segment-offsets")
        .metric("len", cli.len)
        .metric("workers", pool.workers())
        .metric("correct", correct)
        .metric("segments_left", usize::from(left))
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
