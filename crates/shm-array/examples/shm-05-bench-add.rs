//! Beyond the book: c = a + b on big f64 arrays, one thread, rayon, forked
//! workers on shared memory (one-shot and steady), against the memory
//! bandwidth measured the same way in the same run (a STREAM-style add).
//!
//! `cargo run --release -p shm-array --example shm-05-bench-add -- --len 134217728`

use std::time::Instant;

use clap::Parser;
use common::Record;
use common::cli::OutputArgs;
use rayon::prelude::*;
use shm_array::{ForkPool, Layout, Segment, ShmArray};

/// Benchmark c = a + b (3 arrays of --len f64) and report GB/s (24 bytes
/// moved per element) and the ratio to the STREAM-style add bandwidth.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Elements per array (16 Mi = 128 MiB each; 134217728 = 1 GiB each).
    #[arg(long, default_value_t = 16 << 20)]
    len: usize,
    /// Worker processes and threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Timed passes per method (the best warm pass is reported).
    #[arg(long, default_value_t = 5)]
    passes: usize,
    #[command(flatten)]
    out: OutputArgs,
}

fn add(_c: shm_array::Chunk, ins: &[&[f64]], out: &mut [f64]) {
    for ((o, a), b) in out.iter_mut().zip(ins[0]).zip(ins[1]) {
        *o = a + b;
    }
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn timed(passes: usize, mut f: impl FnMut()) -> Vec<f64> {
    (0..passes)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect()
}

fn check(c: &ShmArray<f64>, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(c.iter().all(|&x| x == 4.0), "{what}: c != a + b");
    Ok(())
}

fn try_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let log = cli.out.stage_log();
    let (n, w, passes) = (cli.len, cli.workers.max(1), cli.passes.max(2));
    let gb = 24.0 * n as f64 / 1e9;
    let layout = Layout::new()
        .array::<f64>("a", n)
        .array::<f64>("b", n)
        .array::<f64>("c", n);
    let t = Instant::now();
    let mut seg = Segment::anonymous(&layout)?;
    let create_s = t.elapsed().as_secs_f64();
    let mut a = seg.take::<f64>("a")?;
    let mut b = seg.take::<f64>("b")?;
    let mut c = seg.take::<f64>("c")?;
    a.fill(1.0);
    b.fill(3.0);
    log.stage(format!(
        "3 × {} allocated (posix_fallocate) in {create_s:.3} s, a and b filled",
        common::mem::human_bytes((n * 8) as u64)
    ));
    // Forked workers first, while this process has a single thread.
    let pool = ForkPool::new(w);
    let first = pool.for_each_chunk(&[&a[..], &b[..]], &mut c, add)?;
    check(&c, "fork, first pass")?;
    log.stage(format!(
        "fork one-shot, first ever pass: {:.3} s",
        first.total_s
    ));
    let again = pool.for_each_chunk(&[&a[..], &b[..]], &mut c, add)?;
    let pre_pool = ForkPool::new(w).prefault(true);
    let pre = pre_pool.for_each_chunk(&[&a[..], &b[..]], &mut c, add)?;
    for (what, st) in [("first", &first), ("again", &again), ("prefault", &pre)] {
        log.stage(format!(
            "fork one-shot {what}: {:.3} s = start-up (fork{}) {:.3} + pass {:.3} + exit and wait {:.3}",
            st.total_s,
            if what == "prefault" { " + populate" } else { "" },
            st.startup_s,
            st.pass_s[0],
            st.total_s - st.startup_s - st.pass_s[0]
        ));
    }
    c.fill(0.0);
    let steady = pool.for_each_chunk_passes(passes, &[&a[..], &b[..]], &mut c, add)?;
    check(&c, "fork, steady passes")?;
    let steady_s = best(&steady.pass_s[1..]);
    log.stage(format!(
        "fork steady passes: {:?}",
        steady
            .pass_s
            .iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
    ));
    // One thread.
    c.fill(0.0);
    let one = timed(passes, || {
        for ((o, x), y) in c.iter_mut().zip(a.iter()).zip(b.iter()) {
            *o = x + y;
        }
    });
    check(&c, "one thread")?;
    // rayon.
    let rpool = rayon::ThreadPoolBuilder::new().num_threads(w).build()?;
    c.fill(0.0);
    let ray = timed(passes, || {
        rpool.install(|| {
            c.par_iter_mut()
                .zip(a.par_iter())
                .zip(b.par_iter())
                .for_each(|((o, x), y)| *o = x + y)
        })
    });
    check(&c, "rayon")?;
    // STREAM-style add: w scoped threads, one contiguous block each, best pass.
    c.fill(0.0);
    let stream = timed(passes, || {
        let chunk = n.div_ceil(w).max(1);
        std::thread::scope(|s| {
            for ((o, x), y) in c
                .chunks_mut(chunk)
                .zip(a.chunks(chunk))
                .zip(b.chunks(chunk))
            {
                s.spawn(move || {
                    for ((o, x), y) in o.iter_mut().zip(x).zip(y) {
                        *o = x + y;
                    }
                });
            }
        });
    });
    check(&c, "stream add")?;
    log.stage("threads done");
    let bw = gb / best(&stream);
    let rows = [
        ("one thread (warm)", best(&one[1..])),
        ("rayon (warm)", best(&ray[1..])),
        ("fork one-shot, first pass", first.total_s),
        ("fork one-shot, again", again.total_s),
        ("fork one-shot + MADV_POPULATE", pre.total_s),
        ("fork steady pass", steady_s),
        ("STREAM add (best)", best(&stream)),
    ];
    println!("c = a + b, 3 × {} f64, {w} workers", n);
    println!(
        "{:32} {:>9} {:>8} {:>9}",
        "method", "seconds", "GB/s", "÷ STREAM"
    );
    for (name, s) in rows {
        println!(
            "{name:32} {s:9.4} {:8.2} {:8.0}%",
            gb / s,
            100.0 * gb / s / bw
        );
    }
    let one_shot_best = again.total_s.min(pre.total_s);
    println!(
        "one-shot (fork + pass + exit) ÷ steady pass: {:.2} (first ever {:.2})",
        one_shot_best / steady_s,
        first.total_s / steady_s
    );
    let mut rec = Record::new("shm-05-bench-add")
        .metric("len", n)
        .metric("workers", w)
        .metric("bytes_per_pass", 24 * n as u64)
        .metric("create_s", create_s)
        .metric("one_thread_s", best(&one[1..]))
        .metric("rayon_s", best(&ray[1..]))
        .metric("fork_first_s", first.total_s)
        .metric("fork_first_startup_s", first.startup_s)
        .metric("fork_oneshot_s", again.total_s)
        .metric("fork_oneshot_prefault_s", pre.total_s)
        .metric("fork_steady_s", steady_s)
        .metric("stream_s", best(&stream))
        .metric("stream_gbs", bw)
        .metric("correct", true)
        .with_stages(&log);
    rec.set("segment_bytes", seg.bytes() as u64);
    drop((a, b, c));
    seg.unlink()?;
    rec.emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::exit_on_error(try_main());
}
