//! Criterion benchmark: c = a + b over shared arrays, one thread vs a fork
//! pool (one-shot pass), on 3 × 8 MiB.

use criterion::{Criterion, criterion_group, criterion_main};
use shm_array::{ForkPool, ShmArray};

fn add(_c: shm_array::Chunk, ins: &[&[f64]], out: &mut [f64]) {
    for ((o, a), b) in out.iter_mut().zip(ins[0]).zip(ins[1]) {
        *o = a + b;
    }
}

fn bench(cr: &mut Criterion) {
    let n = 1 << 20;
    let a = ShmArray::anonymous_from(&vec![1.0f64; n]).expect("shared memory");
    let b = ShmArray::anonymous_from(&vec![3.0f64; n]).expect("shared memory");
    let mut c = ShmArray::<f64>::anonymous(n).expect("shared memory");
    cr.bench_function("add one thread 3x8MiB", |bn| {
        bn.iter(|| {
            for ((o, x), y) in c.iter_mut().zip(a.iter()).zip(b.iter()) {
                *o = x + y;
            }
        })
    });
    let pool = ForkPool::new(2);
    cr.bench_function("add fork pool one-shot 3x8MiB", |bn| {
        bn.iter(|| {
            pool.for_each_chunk(&[&a[..], &b[..]], &mut c, add)
                .expect("pool")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
