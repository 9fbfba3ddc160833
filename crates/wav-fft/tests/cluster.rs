//! `cluster-02-fft` under `mpirun` (feature `mpi`): the spectrum of the
//! exact FFT over 1, 2 and 3 ranks equals the single-machine
//! [`parallel::exact`] bin for bin (within 1e-5), with the same peaks and
//! bin width, for every kind of length (smooth, odd, prime, 2 × prime,
//! N = 1, 2, 3) and a stereo 24-bit file; bad input gives one error line and
//! a non-zero exit.
//!
//! MPI can be initialised once per process and never inside libtest's
//! threads, so every test starts `mpirun` as a child (in its own process
//! group, with a deadline; `mpirun --timeout` ends the ranks first) and
//! reads what it printed and the spectrum it dumped (`--dump-mags`). The
//! tests run one at a time (a lock): each run starts several processes on a
//! small machine.
//!
//! Run with `cargo build -p wav-fft --features mpi --example cluster-02-fft
//! && cargo test -p wav-fft --features mpi --test cluster` (the test refuses
//! a program older than the sources); they need Open MPI's `mpirun` (and
//! fail, naming it, without it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::Record;
use proptest::prelude::*;
use wav_fft::parallel::{self, ExactPlan};
use wav_fft::spectrum::{FREQ_MAX, FREQ_MIN};
use wav_fft::{Spectrum, book::generate, wav};

/// The longest any one `mpirun` may take here before it is killed.
const DEADLINE: Duration = Duration::from_secs(90);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

struct Out {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

const BUILD: &str = "cargo build -p wav-fft --features mpi --example cluster-02-fft";

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> std::time::SystemTime {
    let mut t = std::time::UNIX_EPOCH;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        let this = if m.is_dir() {
            newest(&e.path())
        } else {
            m.modified().unwrap()
        };
        t = t.max(this);
    }
    t
}

/// The example next to this test binary (`target/<profile>/examples/`).
/// `cargo test --test cluster` does not build it (an example is built as
/// a program only by a plain `cargo test` or `cargo build --example`), so
/// this refuses a missing one and one older than the sources.
fn program() -> String {
    let test_exe = std::env::current_exe().expect("test binary path");
    let path = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .join("examples")
        .join("cluster-02-fft");
    assert!(
        path.is_file(),
        "{} is not built: run `{BUILD}`",
        path.display()
    );
    let built = path.metadata().unwrap().modified().unwrap();
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = newest(&crate_dir.join("src")).max(newest(&crate_dir.join("examples")));
    assert!(
        built >= sources,
        "{} is older than the crate's sources: run `{BUILD}`",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

fn mpirun_path() -> PathBuf {
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

/// `mpirun -n RANKS cluster-02-fft ARGS…` with a deadline.
fn mpirun(ranks: usize, args: &[&str]) -> Out {
    mpirun_limited(ranks, 80, args)
}

/// As [`mpirun`], with `mpirun --timeout SECONDS`.
fn mpirun_limited(ranks: usize, seconds: u32, args: &[&str]) -> Out {
    let mut cmd = Command::new(mpirun_path());
    cmd.args(["-n", &ranks.to_string(), "--bind-to", "none"]);
    if ranks > 2 {
        cmd.arg("--oversubscribe");
    }
    cmd.args(["--timeout", &seconds.to_string(), &program()])
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .env("RUST_BACKTRACE", "0");
    let run = common::testing::run_in_group(cmd, DEADLINE, &format!("mpirun {args:?}"));
    Out {
        stdout: run.stdout,
        stderr: run.stderr,
        code: run.code,
    }
}

fn record(out: &Out) -> Record {
    Record::parse_last_line(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", out.stdout, out.stderr))
}

fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error:")).collect()
}

/// The single-machine exact spectrum of `path` (what fft-05 computes).
fn exact_spectrum(path: &Path) -> Spectrum {
    let signal = wav::load_mono(path).unwrap();
    let plan = ExactPlan::new(signal.samples.len()).unwrap();
    parallel::exact(signal.samples, signal.sample_rate, &plan).unwrap()
}

/// Runs the program on `path` over `ranks` ranks and checks it against
/// the single-machine exact FFT: every bin within 1e-5 (relative to the
/// largest), the bin width, the peaks (same bins, magnitudes within 1e-5).
fn check_file(path: &Path, ranks: usize) -> Record {
    let dump = path.with_extension(format!("mags{ranks}"));
    let out = mpirun(
        ranks,
        &[
            path.to_str().unwrap(),
            "--json",
            "-q",
            "--peaks",
            "10",
            "--dump-mags",
            dump.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.code,
        Some(0),
        "{}: {}\n{}",
        path.display(),
        out.stdout,
        out.stderr
    );
    let rec = record(&out);
    let reference = exact_spectrum(path);
    let bytes = std::fs::read(&dump).unwrap();
    let got: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let n = rec.metric_u64("fft_len").unwrap() as usize;
    assert_eq!(got.len(), reference.mags.len(), "{n}: bins");
    assert_eq!(got.len(), n / 2 + 1);
    let got = Spectrum::new(rec.metric_f64("bin_hz").unwrap(), got);
    // (JSON numbers come back within an ulp: serde_json's parser.)
    assert!(
        (got.bin_hz / reference.bin_hz - 1.0).abs() < 1e-12,
        "{n}: bin width {} vs {}",
        got.bin_hz,
        reference.bin_hz
    );
    let err = got.max_relative_error(&reference);
    assert!(err < 1e-5, "N = {n}, {ranks} ranks: relative error {err}");
    let want = reference.peaks(10, FREQ_MIN, FREQ_MAX);
    let peaks: Vec<(f64, f64)> = rec.metrics["peaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    assert_eq!(peaks.len(), want.len(), "N = {n}: {peaks:?} vs {want:?}");
    let top = want.first().map_or(1.0, |p| f64::from(p.magnitude));
    for (p, w) in peaks.iter().zip(&want) {
        let bin = |f: f64| (f / reference.bin_hz).round() as u64;
        assert_eq!(bin(p.0), bin(w.freq_hz), "N = {n}: {peaks:?} vs {want:?}");
        assert!((p.0 - w.freq_hz).abs() < 1e-9 * w.freq_hz);
        assert!(
            (p.1 - f64::from(w.magnitude)).abs() <= 1e-5 * top,
            "N = {n}: {peaks:?} vs {want:?}"
        );
    }
    assert_eq!(rec.metric_u64("ranks"), Some(ranks as u64));
    std::fs::remove_file(&dump).unwrap();
    rec
}

fn tones(dir: &Path, frames: u64, bits: u16) -> PathBuf {
    let path = dir.join(format!("tones-{frames}-{bits}.wav"));
    generate::write_recording(&path, frames, 44_100, bits, &mut |_, _| {}).unwrap();
    path
}

#[test]
fn every_kind_of_length_equals_the_single_machine_exact_fft() {
    let _l = lock();
    let dir = tempfile::tempdir().unwrap();
    // (frames, what it exercises)
    let cases = [
        (1u64, "N = 1"),
        (2, "N = 2"),
        (3, "N = 3"),
        (88_200, "smooth even: packed six-step, 210 × 210"),
        (44_101, "odd: complex six-step"),
        (131_071, "prime ≤ 2^17: one row"),
        (2 * 65_537, "2 × prime: packed with n1 = 1"),
        (2 * 131_101, "2 × prime > 2^17: Bluestein"),
        (131_111, "prime > 2^17: Bluestein"),
    ];
    for (frames, what) in cases {
        let path = tones(dir.path(), frames, 16);
        for ranks in [2, 3] {
            let rec = check_file(&path, ranks);
            let bluestein = rec.metrics["bluestein"].as_bool().unwrap();
            assert_eq!(bluestein, what.contains("Bluestein"), "{what}");
        }
    }
}

/// 60 s of tones off the bin grid: beyond the 7 tones, the next peaks are
/// side lobes, where the order in which `Spectrum::peaks` visits the bins
/// decides which survive; the ranks must visit them the same way.
#[test]
fn side_lobe_peaks_come_out_as_on_one_machine() {
    let _l = lock();
    let dir = tempfile::tempdir().unwrap();
    let path = tones(dir.path(), 2_646_000, 16);
    for ranks in [2, 3] {
        let rec = check_file(&path, ranks);
        assert_eq!(rec.metrics["peaks"].as_array().unwrap().len(), 10);
    }
}

#[test]
fn one_rank_and_a_stereo_24_bit_file_of_awkward_length() {
    let _l = lock();
    let dir = tempfile::tempdir().unwrap();
    let path = tones(dir.path(), 2 * 22_027, 24);
    for ranks in [1, 2, 3] {
        check_file(&path, ranks);
    }
    let info = wav::probe(&path).unwrap();
    assert_eq!((info.channels, info.bits), (2, 24));
}

#[test]
fn the_plot_is_drawn_by_rank_0_from_the_ranks_envelopes() {
    let _l = lock();
    let dir = tempfile::tempdir().unwrap();
    let path = tones(dir.path(), 44_100, 16);
    let png = dir.path().join("ranks.png");
    let out = mpirun(
        2,
        &[
            path.to_str().unwrap(),
            "--plot",
            png.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rec = record(&out);
    assert_eq!(rec.metric_str("plot"), png.to_str());
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000);
    // Printed once, by rank 0: one line per peak, one "done".
    assert_eq!(out.stdout.matches("peak  1:").count(), 1, "{}", out.stdout);
    assert_eq!(out.stdout.matches(" done\n").count(), 1, "{}", out.stdout);
    let share = rec.metric_f64("alltoall_share").unwrap();
    assert!((0.0..1.0).contains(&share), "{share}");
    assert_eq!(rec.metrics["rss_mb_per_rank"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_input_is_one_error_line_and_a_non_zero_exit() {
    let _l = lock();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wav");
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, b"these are not samples, just text\n").unwrap();
    for (path, says) in [
        (&missing, "No such file"),
        (&text, "not a readable WAV file"),
    ] {
        let out = mpirun(3, &[path.to_str().unwrap()]);
        assert!(!matches!(out.code, Some(0) | None), "{:?}", out.code);
        let errors = error_lines(&out.stderr);
        assert_eq!(
            errors.len(),
            1,
            "one message, not one per rank: {}",
            out.stderr
        );
        assert!(
            errors[0].contains(path.to_str().unwrap()) && errors[0].contains(says),
            "{}",
            errors[0]
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    // A bad flag: clap's message, once.
    let out = mpirun(2, &["--peaks", "many"]);
    assert_eq!(out.code, Some(2));
    assert_eq!(error_lines(&out.stderr).len(), 1, "{}", out.stderr);
    // --help, once.
    let out = mpirun(2, &["--help"]);
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stdout.matches("Usage:").count(), 1, "{}", out.stdout);
}

/// Processes still running the program (by executable path), after
/// giving the system up to 10 s to reap them.
fn still_running() -> Vec<u32> {
    let program = PathBuf::from(program());
    let scan = || -> Vec<u32> {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let exe = std::fs::read_link(e.path().join("exe")).ok()?;
                (exe == program).then_some(pid)
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

#[test]
fn a_rank_that_dies_or_stalls_ends_the_job_instead_of_hanging() {
    let _l = lock();
    let dir = tempfile::tempdir().unwrap();
    let path = tones(dir.path(), 88_200, 16);
    let file = path.to_str().unwrap();
    // A crash: mpirun ends the other ranks, which wait in the all-to-all.
    let start = Instant::now();
    let out = mpirun(3, &[file, "--fault", "1=crash"]);
    let took = start.elapsed();
    assert!(!matches!(out.code, Some(0) | None), "{:?}", out.code);
    let errors = error_lines(&out.stderr);
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(errors[0].contains("rank 1 crashed"), "{}", errors[0]);
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(
        !out.stdout.contains("peak  1:"),
        "no result from a broken job"
    );
    assert_eq!(still_running(), Vec::<u32>::new());
    // A stall: only mpirun's --timeout ends it, and it does.
    let start = Instant::now();
    let out = mpirun_limited(2, 5, &[file, "--fault", "0=stall"]);
    let took = start.elapsed();
    assert!(!matches!(out.code, Some(0) | None), "{:?}", out.code);
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(out.stderr.contains("time limit"), "{}", out.stderr);
    assert_eq!(still_running(), Vec::<u32>::new());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Any length and 1–4 ranks: the same spectrum as one machine.
    #[test]
    fn any_length_any_ranks(frames in 1u64..40_000, ranks in 1usize..=4) {
        let _l = lock();
        let dir = tempfile::tempdir().unwrap();
        let path = tones(dir.path(), frames, 16);
        check_file(&path, ranks);
    }
}
