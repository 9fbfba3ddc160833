//! `cluster-01-pool` under `mpirun` (feature `mpi`): the same results as
//! the process pool, every rank named, a crashing rank ending the job with
//! one message and no process left, a silent rank named and the job
//! aborted, bad input refused with pool-01's messages.
//!
//! MPI can be initialised once per process and never inside libtest's
//! threads, so every test starts `mpirun` as a child (in its own process
//! group, with a deadline) and reads its output. The tests run one at a
//! time (a lock): each `mpirun` starts several processes on a small
//! machine, and the check for leftover processes must see only its own.
//!
//! Run with `cargo test -p factorizer-pool --features mpi --test cluster`;
//! they need Open MPI's `mpirun` (and fail, naming it, without it).

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::Record;

const CLUSTER: &str = env!("CARGO_BIN_EXE_cluster-01-pool");
const POOL: &str = env!("CARGO_BIN_EXE_pool-01-process-pool");
/// The longest any one `mpirun` may take here before it is killed.
const DEADLINE: Duration = Duration::from_secs(90);
/// The variable that marks the processes of one test, to find leftovers.
const MARK: &str = "CLUSTER_TEST_MARK";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Out {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    took: Duration,
}

fn mpirun_path() -> std::path::PathBuf {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("mpirun"))
            .find(|f| f.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "mpirun not found on PATH: these tests need Open MPI \
             (apt-get install openmpi-bin libopenmpi-dev; .ci/run installs it)"
        )
    })
}

/// `mpirun -n RANKS cluster-01-pool ARGS…` with a deadline; asserts that
/// no process of the run is left afterwards.
fn mpirun(ranks: usize, args: &[&str]) -> Out {
    let mark = format!(
        "{}-{}",
        std::process::id(),
        args.join("_").replace('/', ".")
    );
    let mut cmd = Command::new(mpirun_path());
    cmd.args(["-n", &ranks.to_string(), "--bind-to", "none"]);
    if ranks > 2 {
        cmd.arg("--oversubscribe");
    }
    cmd.args(["--timeout", "80", CLUSTER])
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .env("RUST_BACKTRACE", "0")
        .env(MARK, &mark);
    let run = common::testing::run_in_group(cmd, DEADLINE, &format!("mpirun {args:?}"));
    let out = Out {
        stdout: run.stdout,
        stderr: run.stderr,
        code: run.code,
        took: run.took,
    };
    let left = leftovers(&mark);
    assert!(
        left.is_empty(),
        "processes of `mpirun {args:?}` still running after it ended: {left:?}\nstderr: {}",
        out.stderr
    );
    out
}

/// The processes (pid, command line) still carrying `mark`, after giving
/// the system up to 10 s to reap them.
fn leftovers(mark: &str) -> Vec<(u32, String)> {
    let needle = format!("{MARK}={mark}\0");
    let scan = || -> Vec<(u32, String)> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.flatten()
            .filter_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let env = std::fs::read(e.path().join("environ")).ok()?;
                if !String::from_utf8_lossy(&env).contains(&needle) {
                    return None;
                }
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                Some((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")))
            })
            .collect()
    };
    let start = Instant::now();
    loop {
        let left = scan();
        if left.is_empty() || start.elapsed() > Duration::from_secs(10) {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The lines from `Results:` to the end of the list (before the record).
fn results_block(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| *l != "Results:")
        .take_while(|l| !l.starts_with('{'))
        .map(str::to_string)
        .collect()
}

fn record(out: &Out) -> Record {
    Record::parse_last_line(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", out.stdout, out.stderr))
}

fn first_error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in {stderr}"))
}

#[test]
fn two_ranks_give_the_process_pools_results_and_name_rank_and_host() {
    let _l = lock();
    let out = mpirun(2, &["--json"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let pool = Command::new(POOL)
        .args(["--workers", "2"])
        .output()
        .unwrap();
    let want = results_block(&String::from_utf8_lossy(&pool.stdout));
    assert_eq!(want.len(), 8, "Results: and the quick list's 7 lines");
    assert_eq!(results_block(&out.stdout), want);
    let rec = record(&out);
    assert_eq!(rec.program, "cluster-01-pool");
    assert_eq!(rec.metric_u64("ranks"), Some(2));
    assert_eq!(rec.metric_str("kind"), Some("mpi"));
    let host = rec.metrics["hosts"][0].as_str().unwrap().to_string();
    assert_eq!(
        rec.metrics["rank_labels"],
        serde_json::json!([format!("{host}:0"), format!("{host}:1")])
    );
    // One progress line per item, as it finishes, naming rank and host.
    let progress: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains(&format!(" on {host}, pid ")))
        .collect();
    assert_eq!(progress.len(), 7, "{}", out.stdout);
    assert!(
        progress
            .iter()
            .all(|l| l.contains("(rank 0 on") || l.contains("(rank 1 on"))
    );
    let per_rank = rec.metrics["items_per_rank"].as_array().unwrap();
    assert_eq!(per_rank.iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 7);
}

#[test]
fn three_oversubscribed_ranks_share_the_balanced_list_and_draw_one_row_each() {
    let _l = lock();
    let dir = std::env::temp_dir().join(format!("cluster-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("gantt.svg");
    let svg_s = svg.to_string_lossy().into_owned();
    let out = mpirun(3, &["--balanced", "--json", "-q", "--gantt", &svg_s]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let rec = record(&out);
    assert_eq!(rec.metric_u64("ranks"), Some(3));
    let items = rec.metrics["results"].as_array().unwrap();
    let numbers: Vec<u64> = items
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        factorizer_pool::input::BALANCED_INPUTS,
        "input order"
    );
    for i in items {
        let n = i["number"].as_u64().unwrap();
        let f: Vec<u64> = i["factors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(f, factorizer_pool::factor::fast(n), "{n}");
        assert!(i["worker"].as_u64().unwrap() < 3);
    }
    let used: std::collections::BTreeSet<u64> = items
        .iter()
        .map(|i| i["worker"].as_u64().unwrap())
        .collect();
    assert!(used.len() >= 2, "the items were shared: {used:?}");
    let host = rec.metrics["hosts"][0].as_str().unwrap().to_string();
    let picture = std::fs::read_to_string(&svg).unwrap();
    for r in 0..3 {
        assert!(picture.contains(&format!("{host}:{r}")), "row {host}:{r}");
    }
    assert!(!picture.contains("worker 0"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_dealer_only_rank_0_leaves_every_item_to_the_others() {
    let _l = lock();
    let out = mpirun(
        2,
        &[
            "--book",
            "--algorithm",
            "fast",
            "--dealer-only",
            "--json",
            "-q",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rec = record(&out);
    assert_eq!(rec.metrics["items_per_rank"], serde_json::json!([0, 7]));
    assert!(rec.metric_f64("overhead_remote_us").is_some());
    let pool = Command::new(POOL)
        .args(["--book", "--algorithm", "fast"])
        .output()
        .unwrap();
    assert_eq!(
        results_block(&out.stdout),
        results_block(&String::from_utf8_lossy(&pool.stdout))
    );
    let one = mpirun(1, &["--dealer-only", "12"]);
    assert_eq!(one.code, Some(2));
    assert!(first_error_line(&one.stderr).contains("--dealer-only"));
}

#[test]
fn a_crashing_rank_ends_the_job_with_one_message_naming_item_and_rank() {
    let _l = lock();
    // Item 0 keeps rank 0 busy for a while; item 1 crashes its rank.
    let out = mpirun(2, &["600000099", "35", "77", "--fault", "1=crash", "-q"]);
    assert!(
        !matches!(out.code, Some(0) | Some(1)),
        "exit {:?}",
        out.code
    );
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with("error: item 1 (35) crashed rank ")
            && errors[0].contains("ends the whole job"),
        "{}",
        errors[0]
    );
    assert!(!out.stdout.contains("Results:"), "the job did not finish");
    assert!(out.took < Duration::from_secs(30), "{:?}", out.took);
}

#[test]
fn rank_0_crashing_ends_the_job_too() {
    let _l = lock();
    // Rank 0's own thread always takes the first item.
    let out = mpirun(2, &["35", "77", "--fault", "0=crash", "-q"]);
    assert!(!matches!(out.code, Some(0) | Some(1)));
    let e = first_error_line(&out.stderr);
    assert!(e.starts_with("error: item 0 (35) crashed rank 0 "), "{e}");
}

#[test]
fn a_silent_rank_is_named_and_the_job_aborted_at_its_deadline() {
    let _l = lock();
    let out = mpirun(
        2,
        &[
            "3468000918",
            "35",
            "--fault",
            "1=hang",
            "--timeout",
            "3",
            "-q",
        ],
    );
    assert_eq!(out.code, Some(3), "MPI_Abort's code\n{}", out.stderr);
    let e = first_error_line(&out.stderr);
    assert!(e.starts_with("error: rank "), "{e}");
    assert!(
        e.contains(" did not answer item 1 (35) within 3.0") && e.contains("MPI_Abort"),
        "{e}"
    );
    assert!(out.took < Duration::from_secs(30), "{:?}", out.took);
}

#[test]
fn a_panic_fails_only_its_item() {
    let _l = lock();
    let out = mpirun(2, &["12", "35", "77", "--fault", "1=panic", "-q"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let block = results_block(&out.stdout);
    assert_eq!(block[1], "              12: [2, 2, 3]");
    assert!(
        block[2].starts_with("              35: FAILED: panicked on rank ")
            && block[2].ends_with("injected panic while factoring 35"),
        "{}",
        block[2]
    );
    assert_eq!(block[3], "              77: [7, 11]");
}

#[test]
fn bad_input_gets_the_process_pools_messages() {
    let _l = lock();
    let cases: [&[&str]; 4] = [
        &["0"],
        &["12", "-5"],
        &["--file", "/nonexistent/numbers.txt"],
        &["12", "--fault", "0=hang"],
    ];
    for args in cases {
        let out = mpirun(2, args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        let pool = Command::new(POOL).args(args).output().unwrap();
        let want = String::from_utf8_lossy(&pool.stderr);
        assert_eq!(
            first_error_line(&out.stderr),
            first_error_line(&want),
            "{args:?}"
        );
        assert!(!out.stdout.contains("Results:"));
    }
    let out = mpirun(2, &["--workers", "2"]);
    assert_eq!(out.code, Some(2));
    assert!(first_error_line(&out.stderr).contains("mpirun -n N"));
}

#[test]
fn help_is_printed_once() {
    let _l = lock();
    let out = mpirun(2, &["--help"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.matches("Usage:").count(), 1, "{}", out.stdout);
    for flag in [
        "--algorithm",
        "--balanced",
        "--timeout",
        "--gantt",
        "--json",
    ] {
        assert!(out.stdout.contains(flag), "--help lacks {flag}");
    }
    assert!(Path::new(CLUSTER).is_file());
}
