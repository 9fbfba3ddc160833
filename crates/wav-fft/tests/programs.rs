//! The programs, run as a student would: peaks, JSON records, clear errors.
//!
//! The programs are this crate's examples (so the library needs none of
//! their dependencies); `cargo test` builds them before running this file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Record;

/// The path of an example program built next to this test binary
/// (`target/<profile>/examples/<name>`).
fn exe(name: &str) -> String {
    let test_exe = std::env::current_exe().expect("test binary path");
    let profile_dir: PathBuf = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo test -p wav-fft` (it builds the examples), \
         or `cargo build -p wav-fft --examples` first",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .expect("program starts")
}

fn record(out: &Output) -> Record {
    let stdout = String::from_utf8_lossy(&out.stdout);
    Record::parse_last_line(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn make_wav(dir: &Path) -> String {
    let path = dir.join("t.wav");
    let p = path.to_str().unwrap().to_string();
    let out = run(
        &exe("fft-00-gen-wav"),
        &["--seconds", "1", "--out", &p, "--json"],
    );
    assert!(out.status.success(), "{out:?}");
    p
}

fn peak_freqs(r: &Record) -> Vec<f64> {
    r.metrics["peaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_f64().unwrap())
        .collect()
}

#[test]
fn every_program_has_help() {
    for bin in [
        &exe("fft-00-gen-wav"),
        &exe("fft-01-simple"),
        &exe("fft-02-plot-envelope"),
        &exe("fft-03-parallel-wrong"),
        &exe("fft-04-parallel-strided"),
        &exe("fft-05-parallel-exact"),
        &exe("fft-06-mix-while-reading"),
    ] {
        let out = run(bin, &["--help"]);
        assert!(out.status.success(), "{bin}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("--json"));
    }
}

#[test]
fn simple_and_fused_print_the_same_peaks_and_write_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let wav = make_wav(dir.path());
    let png = dir.path().join("s.png");
    let png = png.to_str().unwrap();
    let a = run(
        &exe("fft-01-simple"),
        &[&wav, "--peaks", "3", "--plot", png, "--json"],
    );
    assert!(a.status.success(), "{a:?}");
    let stdout = String::from_utf8_lossy(&a.stdout);
    assert!(stdout.contains("audible points selected"), "{stdout}");
    assert!(stdout.contains("peak  1:"), "{stdout}");
    let ra = record(&a);
    assert!(ra.ok);
    let peaks = peak_freqs(&ra);
    assert_eq!(peaks[..2], [55.0, 220.0]);
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let b = run(
        &exe("fft-06-mix-while-reading"),
        &[&wav, "--peaks", "3", "--json", "-q"],
    );
    assert!(b.status.success(), "{b:?}");
    assert_eq!(peak_freqs(&record(&b)), peaks);
}

#[test]
fn exact_compare_reports_a_tiny_error() {
    let dir = tempfile::tempdir().unwrap();
    let wav = make_wav(dir.path());
    let out = run(
        &exe("fft-05-parallel-exact"),
        &[&wav, "--compare", "--json", "-q"],
    );
    assert!(out.status.success(), "{out:?}");
    let err = record(&out).metric_f64("max_rel_error").unwrap();
    assert!(err < 1e-5, "{err}");
}

#[test]
fn strided_reports_nyquist() {
    let dir = tempfile::tempdir().unwrap();
    let wav = make_wav(dir.path());
    let pair = dir.path().join("pair.png");
    let out = run(
        &exe("fft-04-parallel-strided"),
        &[
            &wav,
            "--parts",
            "3",
            "--plot-with-exact",
            pair.to_str().unwrap(),
            "--json",
            "-q",
        ],
    );
    assert_eq!(&std::fs::read(&pair).unwrap()[1..4], b"PNG");
    assert!(out.status.success(), "{out:?}");
    let r = record(&out);
    assert_eq!(r.metric_f64("nyquist_hz"), Some(44_100.0 / 6.0));
    assert!(r.metric_f64("max_freq_hz").unwrap() <= 44_100.0 / 6.0);
}

#[test]
fn a_bad_file_is_one_line_naming_it_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("song.wav");
    std::fs::write(&bad, b"RIFF....not really").unwrap();
    let bad = bad.to_str().unwrap();
    for bin in [
        &exe("fft-01-simple"),
        &exe("fft-05-parallel-exact"),
        &exe("fft-06-mix-while-reading"),
    ] {
        let out = run(bin, &[bad]);
        assert_eq!(out.status.code(), Some(1), "{bin}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(bad), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
