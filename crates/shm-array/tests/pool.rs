//! The fork pool: results visible to the parent, failures surfaced (panic,
//! signal), no hang when a worker dies between passes, workers die with
//! their parent.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use shm_array::{Error, ForkPool, ShmArray, WorkerFailure};
use support::ShmGuard;

const ROLE: &str = "SHM_ARRAY_POOL_ROLE";

fn add(_c: shm_array::Chunk, ins: &[&[u32]], out: &mut [u32]) {
    for ((o, a), b) in out.iter_mut().zip(ins[0]).zip(ins[1]) {
        *o = a + b;
    }
}

fn workers_results_are_visible_to_the_parent() {
    let g = ShmGuard::new("visible");
    let n = 100_003;
    let a: Vec<u32> = (0..n as u32).collect();
    let b = vec![7u32; n];
    for workers in [1, 3] {
        let mut c = ShmArray::<u32>::create(&g.name(), n).unwrap();
        let st = ForkPool::new(workers)
            .for_each_chunk(&[&a[..], &b[..]], &mut c, add)
            .unwrap();
        assert_eq!(st.workers, workers);
        assert!(c.iter().enumerate().all(|(i, &x)| x == i as u32 + 7));
    }
    // Passes, and pre-faulting, on an anonymous array.
    let mut c = ShmArray::<u32>::anonymous(n).unwrap();
    let st = ForkPool::new(2)
        .prefault(true)
        .for_each_chunk_passes(3, &[&a[..], &b[..]], &mut c, add)
        .unwrap();
    assert_eq!(st.pass_s.len(), 3);
    assert!(c.iter().enumerate().all(|(i, &x)| x == i as u32 + 7));
}

fn lengths_must_match() {
    let mut c = ShmArray::<u32>::anonymous(4).unwrap();
    let err = ForkPool::new(2)
        .for_each_chunk(&[&[1u32, 2, 3][..]], &mut c, |_, _, _| {})
        .unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. }), "{err:?}");
}

fn a_panicking_worker_is_an_error_not_a_hang() {
    let mut c = ShmArray::<u32>::anonymous(300).unwrap();
    let a = vec![1u32; 300];
    // Worker 1 panics in pass 1 while the others wait at the barrier.
    let err = ForkPool::new(3)
        .for_each_chunk_passes(3, &[&a[..]], &mut c, |c, _, out| {
            if c.worker == 1 && c.pass == 1 {
                panic!("boom in worker {}", c.worker);
            }
            out.fill(1);
        })
        .unwrap_err();
    match err {
        Error::Worker {
            worker: 1,
            range,
            failure: WorkerFailure::Panicked(msg),
        } => {
            assert_eq!(range, 100..200);
            assert!(msg.contains("boom in worker 1"), "{msg}");
        }
        e => panic!("expected worker 1 to have panicked, got {e:?}"),
    }
}

fn a_killed_worker_is_an_error_naming_the_signal() {
    let mut c = ShmArray::<u32>::anonymous(10).unwrap();
    let a = [1u32; 10];
    // The closure captures nothing: the signal is chosen by the chunk size
    // (5 with two workers: SIGKILL; 4 with three: SIGTERM). Neither dumps
    // a core file.
    let die = |c: shm_array::Chunk, _: &[&[u32]], _: &mut [u32]| {
        if c.worker == 0 {
            if c.range.len() == 5 {
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            } else {
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM);
            }
        }
    };
    for (workers, expected) in [(2, libc::SIGKILL), (3, libc::SIGTERM)] {
        let t = std::time::Instant::now();
        let err = ForkPool::new(workers)
            .for_each_chunk(&[&a[..]], &mut c, die)
            .unwrap_err();
        assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
        println!(
            "  (killed worker detected, others reaped, in {:?})",
            t.elapsed()
        );
        assert_eq!(children(), Vec::<i32>::new(), "the others were not reaped");
        match &err {
            Error::Worker {
                worker: 0,
                failure: WorkerFailure::Signaled(s),
                ..
            } => assert_eq!(*s, expected),
            e => panic!("expected a signal, got {e:?}"),
        }
        assert!(err.to_string().contains("killed by signal"), "{err}");
    }
}

/// Child side of `workers_die_with_their_parent`.
fn orphan_entry() {
    let mut c = ShmArray::<u32>::anonymous(2).unwrap();
    let _ = ForkPool::new(2).for_each_chunk(&[&[0u32, 0][..]], &mut c, |c, _, _| {
        use std::io::Write;
        println!("worker pid {}", std::process::id());
        let _ = std::io::stdout().flush();
        let _ = c;
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
}

fn workers_die_with_their_parent() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .env(ROLE, "orphan")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut pids = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while pids.len() < 2 {
        let line = lines.next().expect("worker lines").unwrap();
        // libtest may print "test orphan_entry ... " on the same line.
        if let Some(at) = line.find("worker pid ") {
            pids.push(line[at + 11..].trim().parse::<i32>().unwrap());
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Wait on the thing: each worker's /proc entry disappears (or turns
    // into a zombie) once the kernel delivered the parent-death signal.
    let gone = |pid: i32| match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z')),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pids.iter().all(|&p| gone(p)) {
        assert!(
            std::time::Instant::now() < deadline,
            "workers {pids:?} outlived their parent"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn a_child_dropping_the_creators_handle_does_not_unlink() {
    let g = ShmGuard::new("nounlink");
    let name = g.name();
    let seg = shm_array::Segment::create(
        &name,
        &shm_array::Layout::new().array::<u8>("x", 8).unwrap(),
    )
    .unwrap();
    let cell = std::cell::RefCell::new(Some(seg));
    // SAFETY: the worker writes no shared memory; it only drops its private
    // copy of the handle (which unmaps its own mapping).
    unsafe {
        ForkPool::new(1)
            .run(1, |_| drop(cell.borrow_mut().take()))
            .unwrap();
    }
    assert_eq!(g.left(), vec![name.clone()], "the child must not unlink");
    drop(cell); // the creator's drop unlinks
    assert!(g.left().is_empty());
}

fn live_workers_run_many_passes_and_surface_failures() {
    let a: Vec<u64> = (0..10_000).collect();
    let inputs = [&a[..]];
    let mut c = ShmArray::<u64>::anonymous(a.len()).unwrap();
    let mut live = ForkPool::new(3)
        .prefault(true)
        .start(&inputs, &mut c, |_, ins, out| {
            for (o, x) in out.iter_mut().zip(ins[0]) {
                *o += x;
            }
        })
        .unwrap();
    for k in 1..=4u64 {
        live.pass().unwrap();
        assert!(
            live.output()
                .iter()
                .enumerate()
                .all(|(i, &x)| x == k * i as u64)
        );
    }
    let st = live.finish().unwrap();
    assert_eq!(st.pass_s.len(), 4);
    assert_eq!(st.workers, 3);

    // A worker that panics in its second pass: that pass is an error naming
    // it, the others are stopped, and the next pass fails too.
    let mut live = ForkPool::new(2)
        .start(&inputs, &mut c, |ch, _, out| {
            if ch.worker == 1 && ch.pass == 1 {
                panic!("live boom");
            }
            out.fill(0);
        })
        .unwrap();
    live.pass().unwrap();
    match live.pass().unwrap_err() {
        Error::Worker {
            worker: 1,
            failure: WorkerFailure::Panicked(m),
            ..
        } => assert!(m.contains("live boom"), "{m}"),
        e => panic!("expected worker 1 to panic, got {e:?}"),
    }
    assert!(live.pass().is_err());
    assert!(live.finish().is_err());

    // A worker killed by a signal mid-pass.
    let mut live = ForkPool::new(2)
        .start(&inputs, &mut c, |ch, _, _| {
            if ch.worker == 0 {
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            }
        })
        .unwrap();
    match live.pass().unwrap_err() {
        Error::Worker {
            worker: 0,
            failure: WorkerFailure::Signaled(9),
            ..
        } => {}
        e => panic!("expected SIGKILL, got {e:?}"),
    }
    drop(live);
    assert_eq!(
        children(),
        Vec::<i32>::new(),
        "the other worker was not reaped"
    );
    // Dropping without finish reaps the workers too.
    let live = ForkPool::new(2)
        .start(&inputs, &mut c, |_, _, _| {})
        .unwrap();
    assert_eq!(children().len(), 2, "two live workers");
    drop(live);
    assert_eq!(children(), Vec::<i32>::new(), "drop must reap every worker");
}

/// This process's children (reaped ones are gone; zombies still count).
fn children() -> Vec<i32> {
    let pid = std::process::id();
    let s = std::fs::read_to_string(format!("/proc/self/task/{pid}/children"))
        .expect("/proc/self/task/PID/children (CONFIG_PROC_CHILDREN)");
    s.split_whitespace().map(|p| p.parse().unwrap()).collect()
}

fn an_early_exit_0_is_an_error_within_seconds() {
    let t = std::time::Instant::now();
    let mut c = ShmArray::<u32>::anonymous(100).unwrap();
    let err = ForkPool::new(3)
        .for_each_chunk(&[&[0u32; 100][..]], &mut c, |ch, _, _| {
            if ch.worker == 1 {
                std::process::exit(0);
            }
        })
        .unwrap_err();
    match &err {
        Error::Worker {
            worker: 1,
            failure: WorkerFailure::Exited(0),
            ..
        } => {}
        e => panic!("expected worker 1 exited 0, got {e:?}"),
    }
    assert!(err.to_string().contains("before finishing"), "{err}");
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
    println!(
        "  (early exit(0) detected, others reaped, in {:?})",
        t.elapsed()
    );
    assert_eq!(children(), Vec::<i32>::new(), "the others were not reaped");
    // The same over several passes (the others wait at a barrier).
    let err = ForkPool::new(2)
        .for_each_chunk_passes(3, &[&[0u32; 100][..]], &mut c, |ch, _, _| {
            if ch.worker == 0 && ch.pass == 1 {
                std::process::exit(0);
            }
        })
        .unwrap_err();
    assert!(matches!(err, Error::Worker { worker: 0, .. }), "{err:?}");
    assert_eq!(children(), Vec::<i32>::new());
}

fn a_hung_worker_times_out_and_is_killed() {
    let t = std::time::Instant::now();
    let mut c = ShmArray::<u32>::anonymous(10).unwrap();
    let err = ForkPool::new(2)
        .timeout(std::time::Duration::from_millis(500))
        .for_each_chunk(&[&[0u32; 10][..]], &mut c, |ch, _, _| {
            if ch.worker == 1 {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        })
        .unwrap_err();
    match &err {
        Error::Worker {
            worker: 1,
            failure: WorkerFailure::TimedOut { millis: 500 },
            ..
        } => {}
        e => panic!("expected worker 1 to time out, got {e:?}"),
    }
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
    assert_eq!(
        children(),
        Vec::<i32>::new(),
        "the hung worker was not reaped"
    );
    // Live workers too.
    let a = [0u64; 10];
    let inputs = [&a[..]];
    let mut c = ShmArray::<u64>::anonymous(10).unwrap();
    let mut live = ForkPool::new(2)
        .timeout(std::time::Duration::from_millis(500))
        .start(&inputs, &mut c, |ch, _, _| {
            if ch.worker == 0 {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        })
        .unwrap();
    match live.pass().unwrap_err() {
        Error::Worker {
            worker: 0,
            failure: WorkerFailure::TimedOut { millis: 500 },
            ..
        } => {}
        e => panic!("expected live worker 0 to be named as timed out, got {e:?}"),
    }
    drop(live);
    assert_eq!(children(), Vec::<i32>::new());
}

fn forking_with_another_thread_holding_stdout_is_refused() {
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _lock = std::io::stdout().lock();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(std::time::Duration::from_secs(30));
    });
    locked_rx.recv().unwrap();
    let mut c = ShmArray::<u32>::anonymous(4).unwrap();
    let r = ForkPool::new(2).for_each_chunk(&[&[0u32; 4][..]], &mut c, |_, _, out| {
        println!("would deadlock");
        out.fill(1);
    });
    let a = [0u32; 4];
    let inputs = [&a[..]];
    let r2 = ForkPool::new(2)
        .start(&inputs, &mut c, |_, _, _| {})
        .map(|_| ());
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    match r {
        Err(Error::Threads { count }) => assert!(count >= 2, "{count}"),
        other => panic!("expected Error::Threads, got {other:?}"),
    }
    assert!(matches!(r2, Err(Error::Threads { .. })), "{r2:?}");
    assert!(r.unwrap_err().to_string().contains("threads"));
    // Once the thread is gone, the pool works again.
    shm_array::wait_single_threaded(std::time::Duration::from_secs(10)).unwrap();
    ForkPool::new(2)
        .for_each_chunk(&[&[0u32; 4][..]], &mut c, |_, _, out| out.fill(1))
        .unwrap();
    assert_eq!(c.as_slice(), &[1; 4]);
}

thread_local! {
    static SNEAKY: std::cell::RefCell<Option<ShmArray<u64>>> = const { std::cell::RefCell::new(None) };
}

fn a_child_cannot_write_through_a_thread_local_copy_of_a_handle() {
    SNEAKY.with(|s| *s.borrow_mut() = Some(ShmArray::<u64>::anonymous(1).unwrap()));
    let mut c = ShmArray::<u32>::anonymous(2).unwrap();
    let err = ForkPool::new(2)
        .for_each_chunk(&[&[0u32; 2][..]], &mut c, |_, _, _| {
            SNEAKY.with(|s| s.borrow_mut().as_mut().unwrap()[0] += 1);
        })
        .unwrap_err();
    match &err {
        Error::Worker {
            failure: WorkerFailure::Panicked(m),
            ..
        } => assert!(m.contains("owned by process"), "{m}"),
        e => panic!("expected a refused borrow, got {e:?}"),
    }
    SNEAKY.with(|s| assert_eq!(s.borrow().as_ref().unwrap()[0], 0));
}

type Test = (&'static str, fn());

fn main() {
    // Pool tests fork, so they run on the main thread, one after another
    // (`harness = false`): libtest's worker threads would make every fork
    // refused with Error::Threads.
    if std::env::var(ROLE).as_deref() == Ok("orphan") {
        orphan_entry();
        return;
    }
    let tests: &[Test] = &[
        (
            "workers_results_are_visible_to_the_parent",
            workers_results_are_visible_to_the_parent,
        ),
        ("lengths_must_match", lengths_must_match),
        (
            "a_panicking_worker_is_an_error_not_a_hang",
            a_panicking_worker_is_an_error_not_a_hang,
        ),
        (
            "a_killed_worker_is_an_error_naming_the_signal",
            a_killed_worker_is_an_error_naming_the_signal,
        ),
        (
            "workers_die_with_their_parent",
            workers_die_with_their_parent,
        ),
        (
            "a_child_dropping_the_creators_handle_does_not_unlink",
            a_child_dropping_the_creators_handle_does_not_unlink,
        ),
        (
            "live_workers_run_many_passes_and_surface_failures",
            live_workers_run_many_passes_and_surface_failures,
        ),
        (
            "an_early_exit_0_is_an_error_within_seconds",
            an_early_exit_0_is_an_error_within_seconds,
        ),
        (
            "a_hung_worker_times_out_and_is_killed",
            a_hung_worker_times_out_and_is_killed,
        ),
        (
            "forking_with_another_thread_holding_stdout_is_refused",
            forking_with_another_thread_holding_stdout_is_refused,
        ),
        (
            "a_child_cannot_write_through_a_thread_local_copy_of_a_handle",
            a_child_cannot_write_through_a_thread_local_copy_of_a_handle,
        ),
    ];
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, f) in tests {
        if !filters.is_empty() && !filters.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        ran += 1;
        let ok = std::panic::catch_unwind(*f).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(*name);
        }
    }
    println!(
        "pool tests: {} passed, {} failed",
        ran - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        println!("failed: {failed:?}");
        std::process::exit(1);
    }
}
