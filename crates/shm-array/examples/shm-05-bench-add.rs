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
    #[arg(long, default_value_t = 2, value_parser = common::cli::at_least_one)]
    workers: usize,
    /// Rounds: one timed pass of every method per round; the best counts.
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

/// The best of several one-shot runs.
struct FirstPass {
    total_s: f64,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
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
    // Segments leaked by crashed runs of any shm lesson (dead holders only).
    let sweep = shm_array::sweep_leaked("shm-0")?;
    for name in &sweep.removed {
        eprintln!("removed leaked segment {name:?} (its creator died)");
    }
    let log = cli.out.stage_log();
    let (n, w, passes) = (cli.len, cli.workers.max(1), cli.passes.max(2));
    let gb = 24.0 * n as f64 / 1e9;
    let layout = Layout::new()
        .array::<f64>("a", n)?
        .array::<f64>("b", n)?
        .array::<f64>("c", n)?;
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
    // The first pass ever: fresh workers on memory no process has mapped
    // for writing yet.
    let pool = ForkPool::new(w);
    let pre_pool = ForkPool::new(w).prefault(true);
    let first = pool.for_each_chunk(&[&a[..], &b[..]], &mut c, add)?;
    check(&c, "fork, first pass")?;
    log.stage(format!(
        "fork one-shot, first pass ever: {:.3} s = start-up {:.3} + pass {:.3} + exit and wait {:.3}",
        first.total_s,
        first.startup_s,
        first.pass_s[0],
        first.total_s - first.startup_s - first.pass_s[0]
    ));
    // Then rounds: one pass of every method per round, so a burst of load
    // from other processes hits all methods alike; the best pass counts.
    // The pool refuses to fork while other threads exist (a lock they hold
    // would stay locked in the children), so each round builds its rayon
    // pool, drops it and waits for its threads to exit before forking.
    let (mut one, mut ray, mut stream) = (Vec::new(), Vec::new(), Vec::new());
    let (mut again, mut pre, mut steady) = (Vec::new(), Vec::new(), Vec::new());
    let (mut live_pass, mut live_start) = (Vec::new(), Vec::new());
    let mut last_pre = None;
    for _ in 0..passes {
        c.fill(0.0);
        one.extend(timed(1, || {
            for ((o, x), y) in c.iter_mut().zip(a.iter()).zip(b.iter()) {
                *o = x + y;
            }
        }));
        check(&c, "one thread")?;
        c.fill(0.0);
        let rpool = rayon::ThreadPoolBuilder::new().num_threads(w).build()?;
        ray.extend(timed(1, || {
            rpool.install(|| {
                c.par_iter_mut()
                    .zip(a.par_iter())
                    .zip(b.par_iter())
                    .for_each(|((o, x), y)| *o = x + y)
            })
        }));
        check(&c, "rayon")?;
        // STREAM-style add: w scoped threads, one contiguous block each.
        c.fill(0.0);
        stream.extend(timed(1, || {
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
        }));
        check(&c, "stream add")?;
        drop(rpool);
        shm_array::wait_single_threaded(std::time::Duration::from_secs(10))?;
        c.fill(0.0);
        again.push(pool.for_each_chunk(&[&a[..], &b[..]], &mut c, add)?.total_s);
        check(&c, "fork one-shot")?;
        c.fill(0.0);
        let p = pre_pool.for_each_chunk(&[&a[..], &b[..]], &mut c, add)?;
        pre.push(p.total_s);
        last_pre = Some(p);
        check(&c, "fork one-shot, pre-faulted")?;
        // Live workers: the second pass of the same workers is the steady one.
        c.fill(0.0);
        let st = pool.for_each_chunk_passes(2, &[&a[..], &b[..]], &mut c, add)?;
        steady.push(st.pass_s[1]);
        check(&c, "fork steady pass")?;
        // Persistent workers: forked and pre-faulted once, then each pass()
        // call wakes them, waits for them, and returns.
        c.fill(0.0);
        let inputs = [&a[..], &b[..]];
        let mut live = pre_pool.start(&inputs, &mut c, add)?;
        for _ in 0..2 {
            live_pass.push(live.pass()?);
        }
        let ls = live.finish()?;
        live_start.push(ls.startup_s);
        check(&c, "live workers")?;
    }
    if let Some(p) = last_pre {
        log.stage(format!(
            "fork one-shot with MADV_POPULATE: {:.3} s = start-up and populate {:.3} + pass {:.3} + exit and wait {:.3}",
            p.total_s,
            p.startup_s,
            p.pass_s[0],
            p.total_s - p.startup_s - p.pass_s[0]
        ));
    }
    log.stage(format!("{passes} rounds of every method done"));
    let medians = [
        ("one_thread", median(&one)),
        ("rayon", median(&ray)),
        ("fork_oneshot", median(&again)),
        ("fork_oneshot_prefault", median(&pre)),
        ("fork_steady", median(&steady)),
        ("live_pass", median(&live_pass)),
        ("stream", median(&stream)),
    ];
    let again = FirstPass {
        total_s: best(&again),
    };
    let pre = FirstPass {
        total_s: best(&pre),
    };
    let steady_s = best(&steady);
    // The bandwidth: the best STREAM-style add, with one thread or with w
    // (STREAM is run at several thread counts; the machine's figure is the
    // best of them).
    let bandwidth_s = best(&stream).min(best(&one));
    let bw = gb / bandwidth_s;
    let rows = [
        ("one thread", best(&one)),
        ("rayon", best(&ray)),
        ("fork one-shot, first pass", first.total_s),
        ("fork one-shot, again", again.total_s),
        ("fork one-shot + MADV_POPULATE", pre.total_s),
        ("fork steady pass", steady_s),
        ("live workers, one pass() call", best(&live_pass)),
        ("STREAM add, w threads", best(&stream)),
        ("bandwidth (best STREAM add)", bandwidth_s),
    ];
    println!("c = a + b, 3 × {} f64, {w} workers", n);
    println!(
        "{:32} {:>9} {:>8} {:>9}",
        "method", "seconds", "GB/s", "÷ bandwidth"
    );
    for (name, s) in rows {
        println!(
            "{name:32} {s:9.4} {:8.2} {:8.0}%",
            gb / s,
            100.0 * gb / s / bw
        );
    }
    println!(
        "(best of {passes} rounds; medians: {})",
        medians
            .iter()
            .map(|(k, v)| format!("{k} {v:.4} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let one_shot_best = again.total_s.min(pre.total_s);
    println!(
        "one-shot (fork + pass + exit) ÷ steady pass: {:.2} (first ever {:.2})",
        one_shot_best / steady_s,
        first.total_s / steady_s
    );
    println!(
        "live workers: start-up (fork + populate) {:.4} s once, then a pass() call ÷ steady pass: {:.2}",
        best(&live_start),
        best(&live_pass) / steady_s
    );
    let mut rec = Record::new("shm-05-bench-add")
        .metric("len", n)
        .metric("workers", w)
        .metric("bytes_per_pass", 24 * n as u64)
        .metric("create_s", create_s)
        .metric("one_thread_s", best(&one))
        .metric("rayon_s", best(&ray))
        .metric("fork_first_s", first.total_s)
        .metric("fork_first_startup_s", first.startup_s)
        .metric("fork_oneshot_s", again.total_s)
        .metric("fork_oneshot_prefault_s", pre.total_s)
        .metric("fork_steady_s", steady_s)
        .metric("live_pass_s", best(&live_pass))
        .metric("live_startup_s", best(&live_start))
        .metric("stream_s", best(&stream))
        .metric("bandwidth_s", bandwidth_s)
        .metric("bandwidth_gbs", bw)
        .metric("correct", true)
        .with_stages(&log);
    rec.set("segment_bytes", seg.bytes() as u64);
    for (k, v) in medians {
        rec.set(&format!("{k}_median_s"), v);
    }
    drop((a, b, c));
    seg.unlink()?;
    rec.emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
