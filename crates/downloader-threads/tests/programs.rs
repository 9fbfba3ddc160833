//! Runs the lesson's programs as a student would, against a loopback server
//! the test starts itself (small latency, so the suite stays quick).

use std::process::Command;
use std::time::Duration;

use common::Record;
use common::server::{Server, ServerConfig};

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn record(&self) -> Record {
        Record::parse_last_line(&self.stdout).unwrap_or_else(|e| panic!("{e}\n{}", self.stderr))
    }
}

fn run(program: &str, args: &[&str]) -> Out {
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("the program runs");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const WAITERS: &str = env!("CARGO_BIN_EXE_threads-01-waiters");
const WAITER_TYPE: &str = env!("CARGO_BIN_EXE_threads-02-waiter-type");
const DOWNLOAD: &str = env!("CARGO_BIN_EXE_threads-03-download");
const LOST: &str = env!("CARGO_BIN_EXE_threads-04-lost-update");
const LOCKED: &str = env!("CARGO_BIN_EXE_threads-05-locked");
const POOL: &str = env!("CARGO_BIN_EXE_threads-06-pool");

fn server() -> Server {
    let dir = common::data::downloads_dir().unwrap();
    Server::start(
        ServerConfig::new(dir).latency(Duration::from_millis(15), Duration::from_millis(10)),
    )
    .unwrap()
}

fn on_disk() -> u64 {
    common::data::downloads_total_bytes(&common::data::downloads_dir().unwrap()).unwrap()
}

fn size(name: &str) -> u64 {
    std::fs::metadata(common::data::downloads_dir().unwrap().join(name))
        .unwrap()
        .len()
}

fn u64s(rec: &Record, name: &str) -> Vec<u64> {
    rec.metrics[name]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is not an array"))
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

#[test]
fn every_program_explains_itself() {
    for p in [WAITERS, WAITER_TYPE, DOWNLOAD, LOST, LOCKED, POOL] {
        let out = run(p, &["--help"]);
        assert_eq!(out.code, Some(0), "{p}");
        assert!(out.stdout.contains("--json"), "{p}: {}", out.stdout);
    }
    assert!(run(DOWNLOAD, &["--help"]).stdout.contains("--repeat"));
    assert!(run(LOST, &["--help"]).stdout.contains("--pause-ms"));
    assert!(run(LOCKED, &["--help"]).stdout.contains("--variant"));
    assert!(run(POOL, &["--help"]).stdout.contains("--workers"));
}

#[test]
fn waiters_joined_report_every_wait_and_unjoined_do_not() {
    let out = run(WAITERS, &["--seed", "3", "--max-ms", "60", "--json", "-q"]);
    assert_eq!(out.code, Some(0));
    let rec = out.record();
    let mut started = u64s(&rec, "waits_started_ms");
    let mut seen = u64s(&rec, "waits_seen_ms");
    started.sort();
    seen.sort();
    assert_eq!(started.len(), 5);
    assert_eq!(seen, started);

    let scoped = run(WAITERS, &["--scoped", "--max-ms", "30", "--json", "-q"]).record();
    assert_eq!(scoped.metric_u64("seen"), Some(5));

    // Seed 1 draws waits of 240..733 ms: main looks long before any ends.
    let out = run(WAITERS, &["--seed", "1", "--no-join", "--json", "-q"]);
    let rec = out.record();
    let started = u64s(&rec, "waits_started_ms");
    assert!(started.iter().all(|&w| w >= 200), "{started:?}");
    let seen = u64s(&rec, "waits_seen_ms");
    assert!(seen.len() < 5, "{seen:?}");
    assert!(seen.iter().all(|w| started.contains(w)));

    let out = run(WAITER_TYPE, &["--max-ms", "40", "--json", "-q"]);
    assert_eq!(out.code, Some(0));
    let rec = out.record();
    assert!(rec.ok);
    assert_eq!(rec.metric_u64("seen"), Some(5));
}

#[test]
fn threads_print_the_same_total_as_the_files_on_disk() {
    let server = server();
    let base = server.base_url();
    let out = run(DOWNLOAD, &["--base-url", &base]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("Done: {}", on_disk())),
        "{}",
        out.stdout
    );
    let downloaded = out
        .stdout
        .lines()
        .filter(|l| l.contains("downloaded"))
        .count();
    assert_eq!(downloaded, 5, "one stage line per file");

    let out = run(
        DOWNLOAD,
        &["--base-url", &base, "--repeat", "40", "--json", "-q"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rec = out.record();
    assert_eq!(rec.metric_u64("total_bytes"), Some(40 * on_disk()));
    assert_eq!(rec.metric_u64("requests"), Some(200));
    assert_eq!(rec.metric_u64("threads"), Some(200));
    assert_eq!(rec.metric_u64("lost_bytes"), Some(0));
}

#[test]
fn the_racy_adder_never_adds_more_than_arrived_and_says_what_it_lost() {
    let server = server();
    let out = run(
        LOST,
        &["--base-url", &server.base_url(), "--runs", "3", "--json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rec = out.record();
    let totals = u64s(&rec, "totals_runs");
    let truths = u64s(&rec, "true_totals_runs");
    let lost = u64s(&rec, "lost_bytes_runs");
    assert_eq!(totals.len(), 3);
    for i in 0..3 {
        assert_eq!(truths[i], on_disk(), "every body arrived");
        assert!(totals[i] <= truths[i], "run {i}: {totals:?}");
        assert_eq!(lost[i], truths[i] - totals[i]);
    }
    assert_eq!(rec.metric_u64("lost_bytes"), Some(lost[0]));
    assert_eq!(rec.metric_u64("total_bytes"), Some(totals[0]));
    assert_eq!(out.stdout.contains("LOST "), lost[0] > 0, "{}", out.stdout);
    assert!(out.stdout.contains(&format!("Done: {}", totals[0])));
}

#[test]
fn locked_and_atomic_never_lose() {
    let server = server();
    for variant in ["mutex", "atomic"] {
        let out = run(
            LOCKED,
            &[
                "--base-url",
                &server.base_url(),
                "--variant",
                variant,
                "--cost-adds",
                "20000",
                "--json",
            ],
        );
        assert_eq!(out.code, Some(0), "{variant}: {}", out.stderr);
        assert!(out.stdout.contains(&format!("Done: {}", on_disk())));
        assert!(out.stdout.contains("lost: 0 bytes"));
        let rec = out.record();
        assert_eq!(rec.metric_u64("lost_bytes"), Some(0));
        assert_eq!(rec.metric_str("variant"), Some(variant));
        assert_eq!(
            rec.metrics["cost_totals_exact"],
            serde_json::Value::Bool(true)
        );
        assert!(rec.metric_f64("mutex_ns_per_add").unwrap() > 0.0);
        assert!(rec.metric_f64("atomic_ns_per_add").unwrap() > 0.0);
    }
}

#[test]
fn the_pool_lists_results_in_input_order() {
    let server = server();
    let out = run(
        POOL,
        &[
            "--base-url",
            &server.base_url(),
            "--workers",
            "3",
            "--repeat",
            "6",
            "--list",
            "--json",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let listed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains(" bytes ") && l.contains("http://"))
        .collect();
    assert_eq!(listed.len(), 30);
    for (i, line) in listed.iter().enumerate() {
        let name = common::data::DOWNLOAD_NAMES[i % 5];
        assert!(line.trim_start().starts_with(&i.to_string()), "{line}");
        assert!(line.ends_with(name), "{line}");
    }
    let rec = out.record();
    assert_eq!(rec.metric_u64("total_bytes"), Some(6 * on_disk()));
    assert_eq!(rec.metric_u64("workers"), Some(3));
    assert_eq!(rec.metrics["in_input_order"], serde_json::Value::Bool(true));
}

#[test]
fn failures_are_named_the_rest_is_kept_and_labelled_partial() {
    let faults = [
        "--fault",
        "intro.txt=reset",
        "--fault",
        "numpy.txt=404",
        "--fault",
        "parciales.txt=hang",
    ];
    let good = size("integracion.txt") + size("ordinarias.txt");
    for program in [DOWNLOAD, POOL] {
        let mut args = vec![
            "--delay-ms",
            "5",
            "--jitter-ms",
            "2",
            "--timeout",
            "1",
            "--json",
        ];
        args.extend(faults);
        let out = run(program, &args);
        assert_eq!(out.code, Some(1), "{program}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("intro.txt: connection broken"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("numpy.txt: server answered HTTP 404"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("parciales.txt: no answer within 1.0 s"),
            "{}",
            out.stderr
        );
        assert!(!out.stdout.contains("Done:"), "{}", out.stdout);
        assert!(
            out.stdout
                .contains(&format!("PARTIAL total: {good} bytes from 2 of 5 files")),
            "{}",
            out.stdout
        );
        let rec = out.record();
        assert!(!rec.ok);
        assert_eq!(rec.errors.len(), 3);
        assert_eq!(rec.metric_u64("total_bytes"), Some(good));
        assert_eq!(rec.metric_u64("succeeded"), Some(2));
    }
}

#[test]
fn an_unreachable_server_is_an_error_per_url_not_a_hang() {
    // Port 1 on loopback: nothing listens there.
    let out = run(
        DOWNLOAD,
        &["--base-url", "http://127.0.0.1:1", "--timeout", "2", "-q"],
    );
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stderr.matches("cannot connect").count(),
        5,
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("PARTIAL total: 0 bytes from 0 of 5 files")
    );
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    let out = run(DOWNLOAD, &["--timeout=-1"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("positive number of seconds"),
        "{}",
        out.stderr
    );
    let out = run(LOCKED, &["--variant", "spinlock"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("mutex") && out.stderr.contains("atomic"),
        "{}",
        out.stderr
    );
    let out = run(POOL, &["--fault", "intro.txt"]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("NAME=KIND"), "{}", out.stderr);
    // A URL scheme the client cannot fetch: an error per URL, not a crash.
    let out = run(DOWNLOAD, &["--base-url", "ftp://127.0.0.1:1", "-q"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("not an http:// or https:// URL").count(),
        5,
        "{}",
        out.stderr
    );
}

#[test]
fn large_bodies_are_counted_not_kept_by_threads_and_pool() {
    // Three 32 MiB bodies at once: kept (twice, as the old fetch did) they
    // would take > 192 MiB.
    let n = 32u64 << 20;
    let liar = common::testing::ZeroServer::start(Some(n), n).unwrap();
    let base = liar.base_url();
    let files = ["--file", "a.bin", "--file", "b.bin", "--file", "c.bin"];
    for (p, extra) in [(DOWNLOAD, &[][..]), (POOL, &["--workers", "3"][..])] {
        let mut args = vec!["--base-url", &base, "--json", "--quiet", "--timeout", "30"];
        args.extend_from_slice(&files);
        args.extend_from_slice(extra);
        let out = run(p, &args);
        assert_eq!(out.code, Some(0), "{p}: {}", out.stderr);
        let rec = out.record();
        assert_eq!(rec.metric_u64("bytes_received"), Some(3 * n), "{p}");
        let peak = rec.peak_rss_bytes.expect("peak RSS on Linux");
        assert!(peak < 64 << 20, "{p}: peak RSS {peak} bytes");
    }
}

#[test]
fn a_server_announcing_three_gigabytes_is_refused_by_threads_and_pool() {
    let liar = common::testing::ZeroServer::start(Some(3_000_000_000), 3_000_000_000).unwrap();
    let base = liar.base_url();
    for p in [DOWNLOAD, POOL] {
        let out = run(
            p,
            &[
                "--base-url",
                &base,
                "--file",
                "huge.bin",
                "--file",
                "huge.bin",
                "--json",
                "--quiet",
            ],
        );
        assert_eq!(out.code, Some(1), "{p}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("huge.bin: the server announced a body of 3000000000 bytes"),
            "{p}: {}",
            out.stderr
        );
        let peak = out.record().peak_rss_bytes.expect("peak RSS on Linux");
        assert!(peak < 64 << 20, "{p}: peak RSS {peak}");
    }
}
