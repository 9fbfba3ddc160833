//! The pools against each other and against misbehaving workers: same
//! results in input order everywhere; a panicking, crashing or hanging task
//! fails alone; no worker process is left behind, even when the pool's
//! program is killed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use factorizer_pool::factor::{Algorithm, fast};
use factorizer_pool::process_pool::{ProcessPool, WorkerCommand};
use factorizer_pool::{Fault, Order, RunOptions, RunSummary, Task, by_hand, thread_pool};

/// Small enough for a debug build: at most ~5·10^5 iterations each.
const NUMBERS: [u64; 9] = [
    3 * 1_000_003,
    2 * 2 * 3 * 999_983,
    97,
    1 << 40,
    600_851_475_143,
    7 * 11 * 13 * 17 * 19 * 23,
    65_521 * 65_519,
    999_983,
    2 * 3 * 5 * 7 * 100_003,
];

fn numbers() -> Vec<u64> {
    NUMBERS.to_vec()
}

fn worker() -> WorkerCommand {
    WorkerCommand::new(env!("CARGO_BIN_EXE_pool-01-process-pool"))
}

fn naive() -> RunOptions {
    RunOptions {
        algorithm: Algorithm::Naive,
        ..Default::default()
    }
}

fn factors(run: &RunSummary) -> Vec<Option<Vec<u64>>> {
    run.items
        .iter()
        .map(|i| i.factors().map(<[u64]>::to_vec))
        .collect()
}

/// True when `pid` is no longer a live child of this process (gone, or a
/// zombie someone else must reap, or a reused pid with another parent).
fn not_our_live_child(pid: u32) -> bool {
    stat_fields(pid).is_none_or(|(_, ppid)| ppid != std::process::id())
}

/// Every pid that ran an item (and `extra`) is gone: reaped, not a zombie
/// of ours, not still running.
fn assert_reaped(run: &RunSummary, extra: &[u32]) {
    for pid in run.items.iter().map(|i| i.pid).chain(extra.iter().copied()) {
        assert!(
            not_our_live_child(pid),
            "worker pid {pid} is still a child of this process"
        );
    }
}

#[test]
fn all_pools_agree_and_keep_input_order() {
    let nums = numbers();
    let tasks = Task::list(&nums);
    let want: Vec<Option<Vec<u64>>> = nums.iter().map(|&n| Some(fast(n))).collect();

    let procs =
        factorizer_pool::process_pool::run(&tasks, 3, worker(), &naive(), &mut |_| {}).unwrap();
    let threads = thread_pool::run(&tasks, 3, &naive(), &mut |_| {});
    let hand = by_hand::run(&tasks, 3, &worker(), Algorithm::Naive).unwrap();
    let fast_procs = factorizer_pool::process_pool::run(
        &tasks,
        2,
        worker(),
        &RunOptions {
            algorithm: Algorithm::Fast,
            order: Order::LongestFirst,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    for run in [&procs, &threads, &hand, &fast_procs] {
        assert!(
            run.all_ok(),
            "{}: {:?}",
            run.kind,
            run.failures().collect::<Vec<_>>()
        );
        assert_eq!(factors(run), want, "{}", run.kind);
        let order: Vec<u64> = run.items.iter().map(|i| i.number).collect();
        assert_eq!(order, nums, "{}: results in input order", run.kind);
    }
    // Same iteration counts for the naive runs, whoever ran them.
    let its = |r: &RunSummary| r.total_iterations();
    assert_eq!(its(&procs), its(&threads));
    assert_eq!(its(&procs), its(&hand));
    // Several workers really ran: more than one pid in the process runs.
    let mut pids: Vec<u32> = procs.items.iter().map(|i| i.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    assert!(pids.len() > 1, "{pids:?}");
    assert!(!pids.contains(&std::process::id()));
    assert_reaped(&procs, &[]);
    assert_reaped(&hand, &[]);
}

#[test]
fn streaming_sees_every_item_once_and_map_returns_in_order() {
    let nums = numbers();
    let tasks = Task::list(&nums);
    let mut pool = ProcessPool::start(2, worker()).unwrap();
    let mut seen = Vec::new();
    let run = pool
        .run(&tasks, &naive(), &mut |item| seen.push(item.index))
        .unwrap();
    seen.sort_unstable();
    assert_eq!(seen, (0..nums.len()).collect::<Vec<_>>());
    // The same pool serves a second run with the same workers.
    let pids = pool.pids();
    let again = pool.map(&tasks, &naive()).unwrap();
    assert_eq!(factors(&again), factors(&run));
    assert_eq!(pool.pids(), pids, "no worker was replaced");
    assert_eq!(again.spawned, 0);
    drop(pool);
    assert_reaped(&run, &pids);
}

#[test]
fn panic_crash_and_hang_each_fail_alone_and_workers_are_replaced() {
    let nums = numbers();
    let mut tasks = Task::list(&nums);
    tasks[1].fault = Some(Fault::Panic);
    tasks[2].fault = Some(Fault::Crash);
    tasks[4].fault = Some(Fault::Hang);
    let opts = RunOptions {
        timeout: Some(Duration::from_secs(3)),
        ..naive()
    };
    let mut pool = ProcessPool::start(2, worker()).unwrap();
    let run = pool.run(&tasks, &opts, &mut |_| {}).unwrap();
    let errors: Vec<(usize, String)> = run
        .items
        .iter()
        .filter_map(|i| i.outcome.as_ref().err().map(|e| (i.index, e.clone())))
        .collect();
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![1, 2, 4],
        "{errors:?}"
    );
    assert!(
        errors[0].1.contains("panicked: injected panic"),
        "{}",
        errors[0].1
    );
    assert!(errors[1].1.contains("SIGABRT"), "{}", errors[1].1);
    assert!(errors[2].1.contains("timed out"), "{}", errors[2].1);
    for item in run.items.iter().filter(|i| i.outcome.is_ok()) {
        assert_eq!(item.factors(), Some(&fast(item.number)[..]));
    }
    assert_eq!(run.spawned, 3, "three workers died and were replaced");
    assert_eq!(pool.size(), 2);
    // The replaced workers are reaped already; the live ones still serve.
    let live = pool.pids();
    let dead: Vec<u32> = errors.iter().map(|(i, _)| run.items[*i].pid).collect();
    for pid in &dead {
        assert!(!live.contains(pid));
        assert!(not_our_live_child(*pid), "dead worker {pid} not reaped");
    }
    let healthy = pool.map(&Task::list(&nums[..2]), &naive()).unwrap();
    assert!(healthy.all_ok());
    // A worker killed from outside between runs is replaced before the
    // next run, without failing anything.
    let victim = pool.pids()[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while running(victim) {
        assert!(Instant::now() < deadline, "SIGKILL did not kill {victim}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let after = pool.map(&Task::list(&nums[..3]), &naive()).unwrap();
    assert!(after.all_ok(), "{:?}", after.failures().collect::<Vec<_>>());
    assert_eq!(after.spawned, 1, "the killed worker was replaced");
    assert!(not_our_live_child(victim), "the killed worker was reaped");
    let mut all = live;
    all.extend(pool.pids());
    drop(pool);
    assert_reaped(&run, &all);
}

#[test]
fn threads_survive_a_panic_and_refuse_crash_and_hang() {
    let nums = numbers();
    let mut tasks = Task::list(&nums);
    tasks[0].fault = Some(Fault::Panic);
    tasks[1].fault = Some(Fault::Crash);
    tasks[2].fault = Some(Fault::Hang);
    let run = thread_pool::run(&tasks, 2, &naive(), &mut |_| {});
    let failed: Vec<usize> = run.failures().map(|i| i.index).collect();
    assert_eq!(failed, vec![0, 1, 2]);
    assert!(
        run.items[0]
            .outcome
            .as_ref()
            .unwrap_err()
            .contains("panicked")
    );
    assert!(
        run.items[1]
            .outcome
            .as_ref()
            .unwrap_err()
            .contains("not run")
    );
    assert!(run.items[3..].iter().all(|i| i.outcome.is_ok()));
}

#[test]
fn by_hand_a_crashing_child_loses_only_its_own_share() {
    let nums = numbers();
    let mut tasks = Task::list(&nums);
    // Two children: child 0 gets items 0, 2, 4, …; child 1 gets 1, 3, 5, ….
    tasks[2].fault = Some(Fault::Crash);
    let run = by_hand::run(&tasks, 2, &worker(), Algorithm::Naive).unwrap();
    for item in &run.items {
        let lost = item.index % 2 == 0 && item.index >= 2;
        assert_eq!(
            item.outcome.is_err(),
            lost,
            "item {}: {:?}",
            item.index,
            item.outcome
        );
    }
    assert!(
        run.items[2]
            .outcome
            .as_ref()
            .unwrap_err()
            .contains("SIGABRT")
    );
    assert_reaped(&run, &[]);
}

/// Kills the program running the pool with SIGKILL (no chance to clean
/// up): its workers must die too (they asked for PR_SET_PDEATHSIG).
#[test]
fn workers_die_with_a_killed_parent() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pool-01-process-pool"))
        .args([
            "--workers",
            "2",
            "--fault",
            "0=hang",
            "--fault",
            "1=hang",
            "--timeout",
            "600",
            "12",
            "35",
            "77",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let parent = child.id();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap(); // "Running all: …": the pool is starting
    assert!(line.contains("Running all"), "{line}");
    // Wait for the two workers to exist (they hang, so they stay).
    let deadline = Instant::now() + Duration::from_secs(30);
    let workers = loop {
        let w = children_of(parent);
        if w.len() >= 2 {
            break w;
        }
        assert!(Instant::now() < deadline, "workers never appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    for pid in workers {
        while running(pid) {
            assert!(
                Instant::now() < deadline,
                "worker {pid} outlived its parent"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Ctrl-C in a terminal sends SIGINT to the whole foreground process
/// group: the program and its workers all stop, and none is left.
#[test]
fn ctrl_c_leaves_no_worker() {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pool-01-process-pool"))
        .args([
            "--workers",
            "2",
            "--fault",
            "0=hang",
            "--fault",
            "1=hang",
            "--timeout",
            "600",
            "12",
            "35",
        ])
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let parent = child.id();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let workers = loop {
        let w = children_of(parent);
        if w.len() >= 2 {
            break w;
        }
        assert!(Instant::now() < deadline, "workers never appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    let group = nix::unistd::Pid::from_raw(parent as i32);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    for pid in workers {
        while running(pid) {
            assert!(Instant::now() < deadline, "worker {pid} survived Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn stat_fields(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let mut f = after.split_whitespace();
    let state = f.next()?.to_string();
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

fn children_of(parent: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
            if stat_fields(pid).is_some_and(|(_, pp)| pp == parent) {
                v.push(pid);
            }
        }
    }
    v
}

/// True while `pid` exists and is not a zombie.
fn running(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|(state, _)| state != "Z" && state != "X")
}

#[test]
fn by_hand_a_silent_child_is_killed_after_the_bound_and_named() {
    // Before the bound, a hanging child was never joined: by_hand had to
    // refuse to send it the hang. With a 1 s silence limit the child is
    // killed, its unanswered items fail naming it, the other child's are
    // answered, and the run ends in bounded time.
    let nums = numbers();
    let mut tasks = Task::list(&nums);
    tasks[2].fault = Some(Fault::Hang);
    let t0 = Instant::now();
    let run = by_hand::run_with_silence_limit(
        &tasks,
        2,
        &worker(),
        Algorithm::Naive,
        Duration::from_secs(1),
    )
    .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    for item in &run.items {
        let lost = item.index % 2 == 0 && item.index >= 2;
        assert_eq!(
            item.outcome.is_err(),
            lost,
            "item {}: {:?}",
            item.index,
            item.outcome
        );
    }
    let why = run.items[2].outcome.as_ref().unwrap_err();
    assert!(
        why.contains("sent no answer for 1.0 s and was killed"),
        "{why}"
    );
    assert_reaped(&run, &[]);
}
