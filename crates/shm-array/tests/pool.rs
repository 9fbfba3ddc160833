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

#[test]
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

#[test]
fn lengths_must_match() {
    let mut c = ShmArray::<u32>::anonymous(4).unwrap();
    let err = ForkPool::new(2)
        .for_each_chunk(&[&[1u32, 2, 3][..]], &mut c, |_, _, _| {})
        .unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. }), "{err:?}");
}

#[test]
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

#[test]
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
        let err = ForkPool::new(workers)
            .for_each_chunk(&[&a[..]], &mut c, die)
            .unwrap_err();
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
#[test]
fn orphan_entry() {
    if std::env::var(ROLE).as_deref() != Ok("orphan") {
        return;
    }
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

#[test]
fn workers_die_with_their_parent() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["orphan_entry", "--exact", "--nocapture", "--test-threads=1"])
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

#[test]
fn a_child_dropping_the_creators_handle_does_not_unlink() {
    let g = ShmGuard::new("nounlink");
    let name = g.name();
    let seg =
        shm_array::Segment::create(&name, &shm_array::Layout::new().array::<u8>("x", 8)).unwrap();
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

#[test]
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
    // Dropping without finish reaps the workers too.
    let live = ForkPool::new(2)
        .start(&inputs, &mut c, |_, _, _| {})
        .unwrap();
    drop(live);
}
