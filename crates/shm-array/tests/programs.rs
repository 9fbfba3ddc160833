//! The lesson programs (this crate's examples, built by `cargo test`): each
//! prints the book's result for the book's 12-element inputs, works on real
//! sizes, and leaves no segment behind.

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/<name>` next to this test's `deps/` folder.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join("examples").join(name)
}

fn run(name: &str, args: &[&str]) -> (String, String) {
    let path = example(name);
    assert!(path.is_file(), "{} not built", path.display());
    let out = Command::new(&path).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{name} {args:?} failed: {stderr}");
    let last = stdout.lines().last().unwrap_or("").to_string();
    (stdout, last)
}

#[test]
fn the_wrong_program_leaves_the_parents_list_untouched() {
    let (out, rec) = run("shm-01-wrong-private-copy", &["--json"]);
    assert!(
        out.contains("partial result: [Some(4), Some(4), Some(4), Some(4)]"),
        "{out}"
    );
    assert!(out.contains("final result: [None, None, None"), "{out}");
    assert!(rec.contains("\"parent_untouched\":true"), "{rec}");
}

#[test]
fn the_shared_programs_print_the_books_result() {
    for name in [
        "shm-02-named-list",
        "shm-03-anonymous-array",
        "shm-04-one-segment-offsets",
    ] {
        let prefix = format!("shmtest-{}-prog-", std::process::id());
        // The anonymous program has no names, hence no --prefix.
        let named: &[&str] = if name.contains("anonymous") {
            &[]
        } else {
            &["--prefix", &prefix]
        };
        let args = |more: &[&'static str]| -> Vec<&str> {
            let mut v = vec!["--json"];
            v.extend_from_slice(named);
            v.extend_from_slice(more);
            v
        };
        let (out, rec) = run(name, &args(&[]));
        assert!(
            out.contains("final result: [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]"),
            "{name}: {out}"
        );
        assert!(rec.contains("\"correct\":true"), "{name}: {rec}");
        let (_, rec) = run(name, &args(&["--len", "100001", "--workers", "2"]));
        assert!(rec.contains("\"correct\":true"), "{name}: {rec}");
        let left: Vec<String> = std::fs::read_dir(shm_array::SHM_DIR)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert!(left.is_empty(), "{name} left {left:?}");
    }
}

#[test]
fn sigterm_unlinks_the_named_segments() {
    use std::io::{BufRead, BufReader};
    let prefix = format!("shmtest-{}-sigterm-", std::process::id());
    let left = || -> Vec<String> {
        std::fs::read_dir(shm_array::SHM_DIR)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(&prefix))
            .collect()
    };
    // Big enough that the work takes a while after the segments exist.
    let mut child = Command::new(example("shm-02-named-list"))
        .args(["--len", "20000000", "--prefix", &prefix])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains("created named segments") {
            break;
        }
    }
    assert!(seen.contains("created named segments"), "{seen}");
    assert_eq!(left().len(), 3, "{:?}", left());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let st = child.wait().unwrap();
    let leftovers = left();
    for n in &leftovers {
        let _ = std::fs::remove_file(std::path::Path::new(shm_array::SHM_DIR).join(n));
    }
    assert_eq!(st.code(), Some(128 + libc::SIGTERM), "{st:?}");
    assert!(leftovers.is_empty(), "left after SIGTERM: {leftovers:?}");
}

#[test]
fn huge_lengths_are_one_line_errors_not_panics() {
    // 2^61 (overflows 8 × len) and 2^60 (8 × len > isize::MAX, used to reach
    // ftruncate with a negative size): each a clear error, nothing left.
    let prefix = format!("shmtest-{}-huge-", std::process::id());
    for len in ["2305843009213693952", "1152921504606846976"] {
        let out = Command::new(example("shm-02-named-list"))
            .args(["--len", len, "--prefix", &prefix])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "--len {len}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("isize::MAX bytes"),
            "--len {len}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "--len {len}: {stderr}");
    }
    let left = std::fs::read_dir(shm_array::SHM_DIR)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .count();
    assert_eq!(left, 0);
}

/// A running `shm-06-numpy --hold`: its stdout lines through a channel, so
/// every wait is bounded; killed and reaped if the test fails.
struct Holder {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: String,
}

impl Holder {
    fn start(args: &[&str]) -> Holder {
        let mut child = Command::new(example("shm-06-numpy"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        Holder {
            child,
            lines: rx,
            seen: String::new(),
        }
    }

    /// Reads lines until one contains `word` (60 s at most).
    fn until(&mut self, word: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.seen.lines().any(|l| l.contains(word)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push_str(&l);
                    self.seen.push('\n');
                }
                Err(e) => panic!("no line with {word:?} ({e:?}); it said: {}", self.seen),
            }
        }
    }

    /// Waits (60 s at most) for the exit status.
    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                while let Ok(l) = self
                    .lines
                    .recv_timeout(std::time::Duration::from_millis(200))
                {
                    self.seen.push_str(&l);
                    self.seen.push('\n');
                }
                return st;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "shm-06-numpy did not exit: {}",
                self.seen
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn shm06_holds_until_stdin_closes_and_reads_any_segment() {
    let name = format!("shmtest-{}-shm06-hold", std::process::id());
    let mut h = Holder::start(&["--name", &name, "--len", "7", "--hold", "--json", "-q"]);
    h.until("ready");
    assert!(h.seen.contains(&name), "{}", h.seen);
    let (out, rec) = run("shm-06-numpy", &["--read", &name, "--json"]);
    assert!(
        out.contains("a        <f8") && out.contains("first: [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]"),
        "{out}"
    );
    assert!(
        out.contains("m        <f4") && out.contains("shape [3, 4]"),
        "{out}"
    );
    let rec = common::Record::parse_last_line(&rec).unwrap();
    let arrays = &rec.metrics["arrays"];
    assert_eq!(arrays["b"]["dtype"], "<i4");
    assert_eq!(arrays["b"]["shape"], serde_json::json!([7]));
    assert_eq!(arrays["b"]["first"], serde_json::json!([0, 1, 2, 3, 4, 5]));
    assert_eq!(arrays["m"]["shape"], serde_json::json!([3, 4]));
    // Still there while held; closing stdin ends the hold and unlinks.
    assert!(
        std::path::Path::new(shm_array::SHM_DIR)
            .join(&name)
            .exists()
    );
    drop(h.child.stdin.take());
    let st = h.wait();
    assert!(st.success(), "{st:?}: {}", h.seen);
    let rec = common::Record::parse_last_line(&h.seen).unwrap();
    assert_eq!(rec.metric_u64("segments_left"), Some(0));
    assert!(
        !std::path::Path::new(shm_array::SHM_DIR)
            .join(&name)
            .exists()
    );
    // Reading what is not there is one line of error.
    let out = Command::new(example("shm-06-numpy"))
        .args(["--read", &name])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!("error: shared memory segment {name:?} not found")
    );
}

#[test]
fn shm06_sigterm_and_sigint_unlink_the_held_segment() {
    for sig in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let name = format!("shmtest-{}-shm06-{sig:?}", std::process::id());
        let mut h = Holder::start(&["--name", &name, "--hold"]);
        h.until("ready");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(h.child.id() as i32), sig).unwrap();
        let st = h.wait();
        let path = std::path::Path::new(shm_array::SHM_DIR).join(&name);
        let left = path.exists();
        let _ = std::fs::remove_file(&path);
        assert_eq!(st.code(), Some(128 + sig as i32), "{sig:?}: {st:?}");
        assert!(!left, "{sig:?} left {name}");
    }
}
