//! Runs `seq-01-download` as a student would, against the embedded server.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_seq-01-download"))
        .args(["--delay-ms", "5", "--jitter-ms", "2"])
        .args(args)
        .output()
        .expect("program runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn on_disk() -> u64 {
    let dir = common::data::downloads_dir().unwrap();
    common::data::downloads_total_bytes(&dir).unwrap()
}

#[test]
fn prints_the_total_of_the_files_on_disk() {
    let (code, out, _) = run(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&format!("Done: {}", on_disk())), "{out}");
    // One timestamped stage line per file, in order.
    let lines: Vec<_> = out.lines().filter(|l| l.contains("downloaded")).collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[0].contains("integracion.txt") && lines[4].contains("parciales.txt"));
}

#[test]
fn json_record_carries_the_total() {
    let (code, out, _) = run(&["--json", "--quiet"]);
    assert_eq!(code, Some(0));
    let rec = common::Record::parse_last_line(&out).unwrap();
    assert_eq!(rec.program, "seq-01-download");
    assert!(rec.ok);
    assert_eq!(rec.metric_u64("total_bytes"), Some(on_disk()));
    assert_eq!(rec.metric_u64("requests"), Some(5));
}

#[test]
fn each_fault_names_the_url_and_the_total_is_labelled_partial() {
    let cases = [
        ("intro.txt=404", "intro.txt: server answered HTTP 404"),
        ("intro.txt=500", "intro.txt: server answered HTTP 500"),
        (
            "intro.txt=reset",
            "intro.txt: connection broken while reading the body",
        ),
        (
            "intro.txt=hang",
            "intro.txt: no answer within 0.5 s (timeout)",
        ),
    ];
    let intro = std::fs::metadata(common::data::downloads_dir().unwrap().join("intro.txt"))
        .unwrap()
        .len();
    for (fault, message) in cases {
        let (code, out, err) = run(&["--fault", fault, "--timeout", "0.5"]);
        assert_eq!(code, Some(1), "{fault}: {out}{err}");
        assert!(err.contains(message), "{fault}: stderr was {err}");
        assert!(
            !out.contains("Done:"),
            "{fault}: a partial total is never printed as done"
        );
        assert!(
            out.contains(&format!(
                "PARTIAL total: {} bytes from 4 of 5 files",
                on_disk() - intro
            )),
            "{fault}: {out}"
        );
    }
}

#[test]
fn unreachable_server_and_bad_urls_are_clear() {
    // Bind then drop a socket: nothing listens on that port afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let (code, _, err) = run(&["--base-url", &base]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!("{base}/intro.txt: cannot connect")),
        "{err}"
    );
    let (code, _, err) = run(&["--base-url", "ftp://example.invalid"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("not an http:// or https:// URL"), "{err}");
}

#[test]
fn help_explains_the_program() {
    let out = Command::new(env!("CARGO_BIN_EXE_seq-01-download"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("one after another"), "{text}");
    assert!(text.contains("--base-url") && text.contains("--delay-ms") && text.contains("--json"));
}

/// Runs the program against a raw server announcing and sending `n` zero
/// bytes; the test's own bound is the program's `--timeout`.
fn against_zeros(
    announce: Option<u64>,
    send: u64,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let liar = common::testing::ZeroServer::start(announce, send).unwrap();
    let base = liar.base_url();
    let mut args = vec![
        "--base-url",
        &base,
        "--file",
        "big.bin",
        "--json",
        "--quiet",
        "--timeout",
        "30",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn a_large_body_is_counted_not_kept() {
    // 64 MiB: kept (twice, as the old fetch did) it would be > 128 MiB.
    let n = 64u64 << 20;
    let (code, out, err) = against_zeros(Some(n), n, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    let rec = common::Record::parse_last_line(&out).unwrap();
    assert_eq!(rec.metric_u64("total_bytes"), Some(n));
    let peak = rec.peak_rss_bytes.expect("peak RSS on Linux");
    assert!(peak < 48 << 20, "peak RSS {peak} bytes for a {n}-byte body");
}

#[test]
fn a_server_announcing_three_gigabytes_is_refused_with_bounded_memory() {
    let (code, out, err) = against_zeros(Some(3_000_000_000), 3_000_000_000, &[]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("big.bin: the server announced a body of 3000000000 bytes, over the limit"),
        "{err}"
    );
    let rec = common::Record::parse_last_line(&out).unwrap();
    let peak = rec.peak_rss_bytes.expect("peak RSS on Linux");
    assert!(peak < 48 << 20, "peak RSS {peak}");
    // An endless unannounced body stops at --max-body-bytes.
    let (code, out, err) = against_zeros(None, 3_000_000_000, &["--max-body-bytes", "8000000"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("longer than the limit of 8000000 bytes"),
        "{err}"
    );
    let (code, _, err) = run(&["--max-body-bytes", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("at least 1 byte"), "{err}");
}
