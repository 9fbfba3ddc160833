//! The programs as a user runs them: `--help`, `--json` records, the
//! book's results with `--algorithm fast --book`, bad input named, and the
//! timeline picture written.

use std::process::{Command, Output};

use common::Record;

const PROGRAMS: [&str; 4] = [
    env!("CARGO_BIN_EXE_pool-01-process-pool"),
    env!("CARGO_BIN_EXE_pool-02-thread-pool"),
    env!("CARGO_BIN_EXE_pool-03-by-hand"),
    env!("CARGO_BIN_EXE_pool-04-schedule"),
];

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap()
}

fn record(out: &Output) -> Record {
    Record::parse_last_line(&String::from_utf8_lossy(&out.stdout)).unwrap()
}

fn results(rec: &Record) -> Vec<(u64, Vec<u64>)> {
    rec.metrics["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let factors = r["factors"]
                .as_array()
                .map(|f| f.iter().map(|x| x.as_u64().unwrap()).collect())
                .unwrap_or_default();
            (r["number"].as_u64().unwrap(), factors)
        })
        .collect()
}

#[test]
fn every_program_has_help() {
    for p in PROGRAMS {
        let out = run(p, &["--help"]);
        assert!(out.status.success(), "{p}");
        let text = String::from_utf8_lossy(&out.stdout);
        for flag in ["--algorithm", "--workers", "--json", "--book"] {
            assert!(text.contains(flag), "{p} --help lacks {flag}");
        }
    }
}

#[test]
fn the_book_list_with_fast_gives_the_books_results_in_order() {
    let want: Vec<(u64, Vec<u64>)> = factorizer_pool::input::BOOK_RESULTS
        .iter()
        .map(|(n, f)| (*n, f.to_vec()))
        .collect();
    for p in &PROGRAMS[..3] {
        let out = run(
            p,
            &["--book", "--algorithm", "fast", "--workers", "4", "--json"],
        );
        assert!(
            out.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rec = record(&out);
        assert!(rec.ok, "{p}");
        assert_eq!(results(&rec), want, "{p}");
        assert_eq!(rec.metric_u64("workers"), Some(4));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Results:") && text.contains("Total time:"),
            "{text}"
        );
        assert!(text.contains("8919372543: [3, 2973124181]"), "{text}");
    }
}

#[test]
fn bad_numbers_are_named_and_fail() {
    for (arg, words) in [
        ("0", "no prime factorisation"),
        ("-5", "negative"),
        ("12x", "not a whole number"),
        ("99999999999999999999", "too large"),
    ] {
        let out = run(PROGRAMS[0], &[arg]);
        assert_eq!(out.status.code(), Some(2), "{arg}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(arg) && err.contains(words), "{arg}: {err}");
    }
    let out = run(PROGRAMS[0], &["--fault", "9=panic", "12"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(PROGRAMS[0], &["--fault", "0=hang", "12"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a hang without --timeout is refused"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--timeout"));
    let out = run(PROGRAMS[0], &["--workers", "0", "12"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses 0 workers");
}

#[test]
fn a_failed_item_is_reported_and_the_rest_complete() {
    let out = run(
        PROGRAMS[0],
        &[
            "--workers",
            "2",
            "--fault",
            "1=crash",
            "12",
            "35",
            "77",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let rec = record(&out);
    assert!(!rec.ok);
    assert_eq!(rec.errors.len(), 1);
    assert!(rec.errors[0].starts_with("35: "), "{:?}", rec.errors);
    let r = results(&rec);
    assert_eq!(r[0], (12, vec![2, 2, 3]));
    assert_eq!(r[2], (77, vec![7, 11]));
}

#[test]
fn timelines_are_drawn() {
    let dir = std::env::temp_dir().join(format!("factorizer-pool-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("t.png");
    let svg = dir.join("s.svg");
    let out = run(
        PROGRAMS[3],
        &[
            "-q",
            "--workers",
            "2",
            "--gantt",
            png.to_str().unwrap(),
            "1000006",
            "35",
            "77",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(record(&out).metrics["same_results"], true);
    let out = run(
        PROGRAMS[1],
        &["-q", "--gantt", svg.to_str().unwrap(), "1000006", "35"],
    );
    assert!(out.status.success());
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<svg") && text.contains("worker 0"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn by_hand_with_a_share_far_larger_than_a_pipe_finishes() {
    // 2,000 × the book list to one child: its input and its answers are each
    // several times a pipe's 64 KiB. Writing the whole share before reading
    // any answer deadlocked (both pipes full). Bounded: killed after 60 s.
    use std::time::{Duration, Instant};
    let mut child = Command::new(PROGRAMS[2])
        .args([
            "--repeat",
            "2000",
            "--algorithm",
            "fast",
            "--workers",
            "1",
            "--json",
            "--quiet",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read stdout on a thread so the program can never block on it.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pool-03-by-hand did not finish within 60 s (deadlock on full pipes?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap().unwrap();
    assert!(status.success(), "{status}");
    let rec = Record::parse_last_line(&out).unwrap();
    let items = rec.metrics["results"].as_array().unwrap();
    let book = factorizer_pool::input::BOOK_INPUTS.len();
    assert_eq!(items.len(), 2000 * book);
    assert!(
        items.iter().all(|r| r["error"].is_null()),
        "every item answered"
    );
    assert!(out.len() > 8 * 64 * 1024, "answers far larger than a pipe");
}
