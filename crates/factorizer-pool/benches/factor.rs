//! Benchmarks: one naive iteration, the fast algorithm on the book's
//! inputs, and one task's round trip through the process pool.
//!
//! `cargo bench -p factorizer-pool`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use factorizer_pool::factor::{fast, naive};
use factorizer_pool::input::BOOK_INPUTS;
use factorizer_pool::process_pool::{ProcessPool, WorkerCommand};
use factorizer_pool::{RunOptions, Task};

fn algorithms(c: &mut Criterion) {
    // 3·10^6 iterations: divide the time by that for one iteration.
    c.bench_function("naive 25301356 (3162670 iterations)", |b| {
        b.iter(|| naive(black_box(25_301_356)))
    });
    c.bench_function("fast, the 7 book inputs", |b| {
        b.iter(|| {
            for n in BOOK_INPUTS {
                black_box(fast(black_box(n)));
            }
        })
    });
    c.bench_function("fast, 2^32-5 x 2^32-17 (the hardest kind of u64)", |b| {
        b.iter(|| fast(black_box(4_294_967_291 * 4_294_967_279)))
    });
    c.bench_function("fast_u128, 2^67-1 (Cole's number)", |b| {
        b.iter(|| factorizer_pool::factor128::fast_u128(black_box((1 << 67) - 1)))
    });
}

fn pool_round_trip(c: &mut Criterion) {
    let worker = WorkerCommand::new(env!("CARGO_BIN_EXE_pool-01-process-pool"));
    let mut pool = ProcessPool::start(1, worker).expect("starting a worker");
    let opts = RunOptions {
        algorithm: factorizer_pool::factor::Algorithm::Fast,
        ..Default::default()
    };
    let one = Task::list(&[12]);
    c.bench_function("process pool: one tiny task, round trip", |b| {
        b.iter(|| pool.map(&one, &opts).expect("pool run"))
    });
}

criterion_group!(benches, algorithms, pool_round_trip);
criterion_main!(benches);
