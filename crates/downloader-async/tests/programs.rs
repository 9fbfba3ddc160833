//! The programs, run as a student runs them: exit codes, output, records.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Record;

fn run(bin: &str, args: &[&str]) -> (Option<i32>, String, String, Record) {
    let out = Command::new(bin).args(args).arg("--json").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rec = Record::parse_last_line(&stdout).unwrap_or_else(|e| panic!("{e}\n{stderr}"));
    (out.status.code(), stdout, stderr, rec)
}

const DOWNLOAD: &str = env!("CARGO_BIN_EXE_async-04-download");

#[test]
fn timing_prints_two_timestamps() {
    let (code, stdout, _, rec) = run(
        env!("CARGO_BIN_EXE_async-01-timing"),
        &["--seconds", "0.05"],
    );
    assert_eq!(code, Some(0));
    assert!(
        stdout.starts_with("A: ") && stdout.contains("\nB: "),
        "{stdout}"
    );
    assert!(rec.metric_f64("gap_s").unwrap() >= 0.05);
}

#[test]
fn sleepers_mode_2_says_created_first() {
    let (code, _, _, rec) = run(
        env!("CARGO_BIN_EXE_async-02-sleepers"),
        &["--mode", "2", "--max-delay", "0.05", "-q"],
    );
    assert_eq!(code, Some(0));
    assert_eq!(rec.stages[0].message, "futures created");
}

#[test]
fn spinner_program_counts_ticks() {
    let bin = env!("CARGO_BIN_EXE_async-03-spinner");
    let args = ["--work", "0.2", "--interval-ms", "10", "-q", "--mode"];
    let ticks = |mode: &str| {
        let mut a = args.to_vec();
        a.push(mode);
        let (code, _, _, rec) = run(bin, &a);
        assert_eq!(code, Some(0));
        rec.metric_u64("ticks_during_work").unwrap()
    };
    assert_eq!(ticks("2"), 0);
    assert!(ticks("3") >= 3);
}

#[test]
fn download_prints_the_total_of_the_files_on_disk() {
    let dir = common::data::downloads_dir().unwrap();
    let on_disk = common::data::downloads_total_bytes(&dir).unwrap();
    for extra in [
        &[][..],
        &["--client-per-request"],
        &["--one-thread"],
        &["--small-buffers"],
    ] {
        let mut args = vec!["--delay-ms", "5", "--jitter-ms", "0", "-q"];
        args.extend(extra);
        let (code, stdout, _, rec) = run(DOWNLOAD, &args);
        assert_eq!(code, Some(0));
        assert!(stdout.contains(&format!("Done: {on_disk}\n")), "{stdout}");
        assert_eq!(rec.metric_u64("total_bytes"), Some(on_disk));
    }
}

#[test]
fn download_at_scale_stays_under_the_limit() {
    let args = [
        "--delay-ms",
        "5",
        "--repeat",
        "40",
        "--max-in-flight",
        "25",
        "-q",
    ];
    let (code, stdout, _, rec) = run(DOWNLOAD, &args);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(rec.metric_u64("requests"), Some(200));
    assert_eq!(rec.metric_u64("succeeded"), Some(200));
    assert!(rec.metric_u64("peak_in_flight").unwrap() <= 25);
    assert!(stdout.contains("200 requests in"), "{stdout}");
}

#[test]
fn download_failures_are_partial_and_exit_non_zero() {
    for extra in [&[][..], &["--small-buffers"]] {
        let mut args = vec![
            "--delay-ms",
            "5",
            "--fault",
            "intro.txt=reset",
            "--fault",
            "numpy.txt=404",
            "-q",
        ];
        args.extend(extra);
        let (code, stdout, stderr, rec) = run(DOWNLOAD, &args);
        assert_eq!(code, Some(1));
        assert!(stdout.contains("PARTIAL total"), "{stdout}");
        assert!(stderr.contains("intro.txt: connection broken"), "{stderr}");
        assert!(
            stderr.contains("numpy.txt: server answered HTTP 404"),
            "{stderr}"
        );
        assert!(!rec.ok);
        assert_eq!(rec.errors.len(), 2);
    }
}

#[test]
fn ctrl_c_cancels_promptly_without_a_panic() {
    let mut child = Command::new(DOWNLOAD)
        .args([
            "--delay-ms",
            "5",
            "--fault",
            "intro.txt=hang",
            "--timeout",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait on the thing: once a file has arrived, the download (and its
    // Ctrl-C handler) is running, and intro.txt hangs.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("the program ended early").unwrap();
        if line.contains("downloaded") {
            break;
        }
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running 10 s after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
