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
        &exe("fft-07-welch"),
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
    // Every huge-pages setting gives the same spectrum; a wrong one is
    // refused by name.
    for mode in ["auto", "on", "off"] {
        let b = run(
            &exe("fft-06-mix-while-reading"),
            &[&wav, "--peaks", "3", "--json", "-q", "--huge-pages", mode],
        );
        assert!(b.status.success(), "{mode}: {b:?}");
        assert_eq!(peak_freqs(&record(&b)), peaks, "--huge-pages {mode}");
    }
    let bad = run(
        &exe("fft-06-mix-while-reading"),
        &[&wav, "--huge-pages", "always"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--huge-pages"));
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
        &exe("fft-07-welch"),
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

/// A stereo 16-bit WAV of `frames` frames (a tone in the left channel).
fn tiny_wav(dir: &Path, frames: usize) -> String {
    let path = dir.join(format!("tiny-{frames}.wav"));
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..frames {
        w.write_sample((10_000.0 * (i as f64 * 0.9).sin()) as i16)
            .unwrap();
        w.write_sample(((i * 7919) % 20_000) as i16 - 10_000)
            .unwrap();
    }
    w.finalize().unwrap();
    path.to_str().unwrap().to_string()
}

/// What a program did with a file: its record, or its one-line error.
fn outcome(bin: &str, args: &[&str], file: &str) -> Result<Record, String> {
    let out = run(bin, args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{bin} {args:?}: {err}");
    match out.status.code() {
        Some(0) => Ok(record(&out)),
        Some(1) => {
            assert!(err.starts_with("error: "), "{bin} {args:?}: {err}");
            assert!(err.contains(file), "{bin} {args:?}: names the file: {err}");
            assert_eq!(err.lines().count(), 1, "{bin} {args:?}: {err}");
            Err(err)
        }
        other => panic!("{bin} {args:?}: exit {other:?}: {err}"),
    }
}

#[test]
fn tiny_files_give_a_result_or_a_clear_error_in_every_program() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("tiny.png");
    let png = png.to_str().unwrap();
    for frames in [0usize, 1, 2, 3, 5] {
        let wav = tiny_wav(dir.path(), frames);
        let mut bins = Vec::new();
        for name in [
            "fft-01-simple",
            "fft-02-plot-envelope",
            "fft-05-parallel-exact",
            "fft-06-mix-while-reading",
        ] {
            let args = [wav.as_str(), "--plot", png, "--json", "-q"];
            let extra = if name == "fft-05-parallel-exact" {
                vec!["--compare"]
            } else {
                vec![]
            };
            let all: Vec<&str> = args.iter().copied().chain(extra).collect();
            match outcome(&exe(name), &all, &wav) {
                Ok(r) => {
                    assert!(frames > 0, "{name}: a spectrum of nothing");
                    assert!(r.ok, "{name}");
                    assert_eq!(r.metric_u64("frames"), Some(frames as u64), "{name}");
                    // Bins of fs/N, k = 0..=N/2; the audible ones strictly
                    // inside 20 Hz–20 kHz.
                    let bin = 44_100.0 / frames as f64;
                    let got = r.metric_f64("bin_hz").unwrap();
                    assert!((got - bin).abs() <= 1e-12 * bin, "{name}: {got}");
                    let audible = (1..=frames / 2)
                        .filter(|&k| (20.0..20_000.0).contains(&(k as f64 * bin)))
                        .count();
                    assert_eq!(
                        r.metric_u64("audible_points"),
                        Some(audible as u64),
                        "{name}"
                    );
                    bins.push((name, r.metric_f64("max_freq_hz").unwrap()));
                }
                Err(e) => assert_eq!(frames, 0, "{name} on {frames} frames: {e}"),
            }
        }
        if frames > 0 {
            // Bins 0..=N/2 in every program: the last one at fs·⌊N/2⌋/N.
            let top = 44_100.0 * (frames / 2) as f64 / frames as f64;
            for (name, f) in &bins {
                assert!((f - top).abs() < 1e-6, "{name}: {f} vs {top}");
            }
        }
        // Fewer frames than parts: a clear error naming the file, or a
        // correct result when there are enough.
        for (name, parts) in [
            ("fft-03-parallel-wrong", "2"),
            ("fft-04-parallel-strided", "8"),
        ] {
            let r = outcome(&exe(name), &[&wav, "--parts", parts, "--json", "-q"], &wav);
            let enough = if name == "fft-03-parallel-wrong" {
                frames >= 3
            } else {
                frames >= 32
            };
            assert_eq!(
                r.is_ok(),
                enough,
                "{name} --parts {parts} on {frames} frames: {r:?}"
            );
        }
    }
}

#[test]
fn odd_and_awkward_lengths_agree_in_fft01_fft05_fft06() {
    let dir = tempfile::tempdir().unwrap();
    // 2 × a prime frames (Bluestein) and an odd length, 16-bit stereo.
    for frames in [2 * 10_007, 44_101] {
        let wav = tiny_wav(dir.path(), frames);
        let runs: Vec<Record> = [
            "fft-01-simple",
            "fft-05-parallel-exact",
            "fft-06-mix-while-reading",
        ]
        .iter()
        .map(|name| {
            let out = run(&exe(name), &[&wav, "--peaks", "4", "--json", "-q"]);
            assert!(out.status.success(), "{name}: {out:?}");
            record(&out)
        })
        .collect();
        let bin = runs[0].metric_f64("bin_hz").unwrap();
        assert!((bin - 44_100.0 / frames as f64).abs() < 1e-12, "{bin}");
        let peaks = |r: &Record| -> Vec<(f64, f64)> {
            r.metrics["peaks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                .collect()
        };
        let reference = peaks(&runs[0]);
        assert_eq!(reference.len(), 4);
        for r in &runs[1..] {
            assert_eq!(r.metric_f64("bin_hz"), Some(bin), "{}", r.program);
            let p = peaks(r);
            assert_eq!(p.len(), reference.len(), "{}", r.program);
            for (a, b) in p.iter().zip(&reference) {
                assert_eq!(a.0, b.0, "{}: peak frequencies", r.program);
                assert!(
                    (a.1 - b.1).abs() <= 1e-4 * b.1,
                    "{}: {a:?} vs {b:?}",
                    r.program
                );
            }
        }
    }
}

/// Reads a CSV written by --csv: (header, rows).
fn read_csv(path: &Path) -> (String, Vec<(f64, f64)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|l| {
            let (f, v) = l.split_once(',').unwrap_or_else(|| panic!("{l}"));
            (f.parse().unwrap(), v.parse().unwrap())
        })
        .collect();
    (header, rows)
}

#[test]
fn welch_program_finds_the_tones_writes_csv_and_each_channel() {
    let dir = tempfile::tempdir().unwrap();
    let wav = make_wav(dir.path());
    let csv = dir.path().join("w.csv");
    let png = dir.path().join("w.png");
    let sg = dir.path().join("sg.png");
    let out = run(
        &exe("fft-07-welch"),
        &[
            &wav,
            "--nperseg",
            "4410",
            "--noverlap",
            "1000",
            "--window",
            "flattop",
            "--scaling",
            "spectrum",
            "--csv",
            csv.to_str().unwrap(),
            "--plot",
            png.to_str().unwrap(),
            "--spectrogram",
            sg.to_str().unwrap(),
            "--json",
            "-q",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let r = record(&out);
    assert_eq!(r.metric_u64("segments"), Some((44_100 - 1000) / 3410));
    let peaks = r.metrics["peaks"].as_array().unwrap().clone();
    // The flat top reads the mean power A²/2 of each tone (7040 Hz: A = 0.05).
    let p7040 = peaks
        .iter()
        .find(|p| (p[0].as_f64().unwrap() - 7040.0).abs() < 11.0)
        .expect("a peak at 7040 Hz");
    let want = 0.05f64 * 0.05 / 2.0;
    assert!(
        (p7040[1].as_f64().unwrap() / want - 1.0).abs() < 0.01,
        "{p7040:?}"
    );
    let (header, rows) = read_csv(&csv);
    assert_eq!(header, "frequency_hz,spectrum_v2");
    assert_eq!(rows.len(), 4410 / 2 + 1);
    assert_eq!(rows[1].0, 10.0);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    assert_eq!(&std::fs::read(&sg).unwrap()[1..4], b"PNG");

    // Every channel separately: 440 Hz is in the left one only.
    let out = run(
        &exe("fft-07-welch"),
        &[
            &wav,
            "--nperseg",
            "4410",
            "--channels",
            "each",
            "--csv",
            csv.to_str().unwrap(),
            "--json",
            "-q",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let r = record(&out);
    let per = r.metrics["channel_peaks"].as_array().unwrap();
    assert_eq!(per.len(), 2);
    let has = |ch: usize, f: f64| {
        per[ch]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| (p[0].as_f64().unwrap() - f).abs() < 11.0)
    };
    assert!(has(0, 440.0) && !has(1, 440.0));
    assert!(has(1, 1760.0) && !has(0, 1760.0));
    assert!(dir.path().join("w.ch0.csv").is_file() && dir.path().join("w.ch1.csv").is_file());
}

#[test]
fn welch_program_refuses_bad_parameters_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let wav = make_wav(dir.path());
    for (args, says) in [
        (
            vec!["--nperseg", "100000"],
            "nperseg 100000 is longer than the signal (44100 samples)",
        ),
        (
            vec!["--nperseg", "100", "--noverlap", "100"],
            "noverlap 100 must be less than nperseg 100",
        ),
        (vec!["--channel", "2"], "no channel 2: the file has 2"),
        (vec!["--window", "kaiser"], "unknown window"),
        (vec!["--scaling", "loud"], "unknown scaling"),
    ] {
        let mut all = vec![wav.as_str()];
        all.extend(&args);
        let out = run(&exe("fft-07-welch"), &all);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn scaled_periodograms_of_fft01_and_fft05_agree_and_write_csv() {
    let dir = tempfile::tempdir().unwrap();
    let wav = make_wav(dir.path());
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    for (bin, csv) in [("fft-01-simple", &a), ("fft-05-parallel-exact", &b)] {
        let out = run(
            &exe(bin),
            &[
                &wav,
                "--window",
                "hann",
                "--scaling",
                "density",
                "--csv",
                csv.to_str().unwrap(),
                "--json",
                "-q",
            ],
        );
        assert!(out.status.success(), "{bin}: {out:?}");
    }
    let ((ha, ra), (hb, rb)) = (read_csv(&a), read_csv(&b));
    assert_eq!(ha, "frequency_hz,density_v2_per_hz");
    assert_eq!(ha, hb);
    assert_eq!(ra.len(), 44_100 / 2 + 1);
    assert_eq!(ra.len(), rb.len());
    let top = ra.iter().map(|r| r.1).fold(0.0, f64::max);
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x.0, y.0);
        assert!((x.1 - y.1).abs() <= 1e-5 * top, "{x:?} {y:?}");
    }
    // Without a scaling, --csv writes the magnitudes |X|.
    let out = run(
        &exe("fft-05-parallel-exact"),
        &[&wav, "--csv", a.to_str().unwrap(), "-q"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(read_csv(&a).0, "frequency_hz,magnitude");
}

#[test]
fn one_channel_alone_in_fft01_and_fft05() {
    let dir = tempfile::tempdir().unwrap();
    // Left: a tone at 0.9 rad/sample = 6317.6 Hz; right: no such tone.
    let wav = tiny_wav(dir.path(), 44_100);
    let tone = 0.9 * 44_100.0 / std::f64::consts::TAU;
    let mut left = Vec::new();
    for bin in ["fft-01-simple", "fft-05-parallel-exact"] {
        let l = outcome(&exe(bin), &[&wav, "--channel", "0", "--json"], &wav).unwrap();
        let r = outcome(&exe(bin), &[&wav, "--channel", "1", "--json"], &wav).unwrap();
        let (pl, pr) = (peak_freqs(&l), peak_freqs(&r));
        assert!((pl[0] - tone).abs() < 1.5, "{bin} left: {pl:?}");
        assert!(
            pr.iter().all(|f| (f - tone).abs() > 10.0),
            "{bin} right: {pr:?}"
        );
        left.push(pl);
        let e = outcome(&exe(bin), &[&wav, "--channel", "2", "--json"], &wav).unwrap_err();
        assert!(e.contains("no channel 2: the file has 2"), "{bin}: {e}");
    }
    assert_eq!(left[0].len(), left[1].len());
    for (a, b) in left[0].iter().zip(&left[1]) {
        assert!(
            (a - b).abs() < 1e-6,
            "fft-01 {:?} vs fft-05 {:?}",
            left[0],
            left[1]
        );
    }
}

#[test]
fn a_closed_stdout_is_no_panic() {
    // `fft-01 FILE | head -1`: the reader goes away, the next print fails.
    let dir = tempfile::tempdir().unwrap();
    let wav = make_wav(dir.path());
    let mut child = Command::new(exe("fft-01-simple"))
        .arg(&wav)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("program starts");
    drop(child.stdout.take()); // the read end closed before any output
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fft-01 did not end within 60 s with its stdout closed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it could not print its result");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
