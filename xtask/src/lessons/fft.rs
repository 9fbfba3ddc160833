//! Lesson `fft` (book 1.4.3): the spectrum of a long WAV, the book's two
//! parallel attempts (contiguous: wrong; strided: Nyquist-cut), and the exact
//! parallel FFT and mix-while-reading the book leaves open.

use anyhow::{Context, Result, bail};
use common::Record;

use super::Lesson;
use crate::report::LessonReport;
use crate::table::{Table, ratio, secs};
use crate::{Ctx, GenDataOptions, ctx};

/// The registry entry.
pub const LESSON: Lesson = Lesson {
    id: "fft",
    section: "1.4.3",
    title: "the spectrum of a long WAV, serial and parallel",
    crates: &["wav-fft"],
    build_args: &["-p", "wav-fft", "--examples"],
    programs: &[
        "fft-00-gen-wav",
        "fft-01-simple",
        "fft-02-plot-envelope",
        "fft-03-parallel-wrong",
        "fft-04-parallel-strided",
        "fft-05-parallel-exact",
        "fft-06-mix-while-reading",
        "fft-07-welch",
    ],
    run,
};

/// The tones of the generated WAV (`wav_fft::book::generate::TONES`), Hz.
const TONES_HZ: [f64; 7] = [55.0, 220.0, 440.0, 1760.0, 3521.37, 7040.0, 15001.7];
/// Peak amplitude of the generated file's uniform noise per channel
/// (`wav_fft::book::generate::NOISE`): the mono mix has variance NOISE²/3/2, so a
/// one-sided density of 2σ²/fs.
const NOISE: f64 = 0.02;
/// Welch's segment length in the lesson.
const WELCH_NPERSEG: &str = "65536";
/// Strided parts, as in the book.
const STRIDED_PARTS: usize = 8;
/// Contiguous parts of the wrong version.
const WRONG_PARTS: usize = 2;
/// Frames of the "recording": 2 × the prime 1,323,001 (60.00005 s), so N/2
/// has no split and the exact FFT goes through Bluestein; 24-bit stereo.
const RECORDING_FRAMES: &str = "2646002";

/// Peaks (frequency, magnitude) of a record.
fn peak_pairs(r: &Record) -> Vec<(f64, f64)> {
    r.metrics
        .get("peaks")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `other` has the same bin width, the same peak frequencies and
/// magnitudes within `tol` (relative) as `reference`; the reason if not.
pub(super) fn same_spectrum(
    reference: &Record,
    other: &Record,
    tol: f64,
) -> Result<String, String> {
    let (a, b) = (peak_pairs(reference), peak_pairs(other));
    let (ba, bb) = (
        reference.metric_f64("bin_hz").unwrap_or(f64::NAN),
        other.metric_f64("bin_hz").unwrap_or(f64::NAN),
    );
    if (ba - bb).abs() > 1e-12 * ba || ba.is_nan() {
        return Err(format!("bins of {bb:.7} Hz vs {ba:.7} Hz"));
    }
    if a.is_empty() || a.len() != b.len() {
        return Err(format!("{} peaks vs {}", b.len(), a.len()));
    }
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(&b) {
        if x.0 != y.0 {
            return Err(format!("a peak at {:.4} Hz instead of {:.4} Hz", y.0, x.0));
        }
        worst = worst.max((x.1 - y.1).abs() / x.1);
    }
    if worst > tol {
        return Err(format!(
            "magnitudes differ by up to {worst:.2e} (bound {tol:.0e})"
        ));
    }
    Ok(format!(
        "bins of {ba:.7} Hz, {} peaks at the same frequencies, magnitudes within {worst:.1e}",
        a.len()
    ))
}

fn peaks(r: &Record) -> Vec<f64> {
    r.metrics
        .get("peaks")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get(0).and_then(|f| f.as_f64()))
                .collect()
        })
        .unwrap_or_default()
}

/// True when every expected frequency has a peak within `tol` Hz.
fn has_all(found: &[f64], expected: &[f64], tol: f64) -> bool {
    expected
        .iter()
        .all(|e| found.iter().any(|f| (f - e).abs() <= tol))
}

fn fmt_peaks(found: &[f64]) -> String {
    let mut v = found.to_vec();
    v.sort_by(f64::total_cmp);
    v.iter()
        .map(|f| format!("{f:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a tone shows when sampled at `fs` (folded around multiples of it).
fn alias(f: f64, fs: f64) -> f64 {
    let r = f.rem_euclid(fs);
    r.min(fs - r)
}

fn stage_dt(r: &Record, prefix: &str) -> f64 {
    r.stages
        .iter()
        .find(|s| s.message.starts_with(prefix))
        .map_or(0.0, |s| s.dt_s)
}

fn rss(r: &Record) -> String {
    r.peak_rss_bytes
        .map(common::mem::human_bytes)
        .unwrap_or_default()
}

fn run(ctx: &Ctx) -> Result<LessonReport> {
    let mut rep = LessonReport::new(&LESSON);
    let gen_args: &[&str] = if ctx.full {
        &["--book-size"]
    } else {
        &["--seconds", "60"]
    };
    let made = ctx.run("fft-00-gen-wav", gen_args)?;
    if !made.record.ok || made.code != Some(0) {
        bail!("fft-00-gen-wav failed: {}", made.stderr.trim());
    }
    let wav = made
        .record
        .metric_str("path")
        .context("fft-00-gen-wav printed no path")?
        .to_string();
    let png = |name: &str| ctx.report_path(name).display().to_string();
    let (p_simple, p_env, p_dec) = (
        png("fft-01-simple.png"),
        png("fft-02-envelope.png"),
        png("fft-02-decimated.png"),
    );
    let p_pair = png("fft-04-full-vs-strided.png");
    let (p_wrong, p_strided, p_exact, p_fused) = (
        png("fft-03-wrong.png"),
        png("fft-04-strided.png"),
        png("fft-05-exact.png"),
        png("fft-06-fused.png"),
    );
    let peaks_n = "7";
    let wrong_parts = WRONG_PARTS.to_string();
    let strided_parts = STRIDED_PARTS.to_string();
    // The simple program plots every bin, as the book does: skip that
    // picture at book size (10⁸ points).
    let simple_args: Vec<&str> = if ctx.full {
        vec![&wav, "--peaks", peaks_n]
    } else {
        vec![&wav, "--peaks", peaks_n, "--plot", &p_simple]
    };
    let runs = [
        ctx.run("fft-01-simple", &simple_args)?,
        ctx.run(
            "fft-02-plot-envelope",
            &[
                &wav,
                "--peaks",
                peaks_n,
                "--plot",
                &p_env,
                "--plot-decimated",
                &p_dec,
            ],
        )?,
        ctx.run(
            "fft-03-parallel-wrong",
            &[
                &wav,
                "--peaks",
                peaks_n,
                "--parts",
                &wrong_parts,
                "--plot",
                &p_wrong,
            ],
        )?,
        ctx.run(
            "fft-04-parallel-strided",
            &[
                &wav,
                "--peaks",
                peaks_n,
                "--parts",
                &strided_parts,
                "--plot",
                &p_strided,
                "--plot-with-exact",
                &p_pair,
            ],
        )?,
        ctx.run(
            "fft-05-parallel-exact",
            &[&wav, "--peaks", peaks_n, "--compare", "--plot", &p_exact],
        )?,
        ctx.run(
            "fft-06-mix-while-reading",
            &[&wav, "--peaks", peaks_n, "--plot", &p_fused],
        )?,
    ];
    for run in &runs {
        rep.check(
            run.record.ok && run.code == Some(0),
            format!("{} succeeded", run.record.program),
            format!(
                "exit code {}, errors: {} {}",
                run.code
                    .map_or("none (killed)".to_string(), |c| c.to_string()),
                run.record.errors.join("; "),
                run.stderr.lines().last().unwrap_or("")
            ),
        );
    }
    let [simple, envelope, wrong, strided, exact, fused] = runs.map(|r| r.record);

    // A "recording" of awkward length: 24-bit stereo, 2 × a prime frames.
    let rec_made = ctx.run(
        "fft-00-gen-wav",
        &["--frames", RECORDING_FRAMES, "--bits", "24"],
    )?;
    if !rec_made.record.ok || rec_made.code != Some(0) {
        bail!("fft-00-gen-wav --frames failed: {}", rec_made.stderr.trim());
    }
    let recording = rec_made
        .record
        .metric_str("path")
        .context("fft-00-gen-wav printed no path")?
        .to_string();
    let rec_runs = [
        ctx.run("fft-01-simple", &[&recording, "--peaks", peaks_n])?,
        ctx.run("fft-05-parallel-exact", &[&recording, "--peaks", peaks_n])?,
        ctx.run(
            "fft-06-mix-while-reading",
            &[&recording, "--peaks", peaks_n],
        )?,
    ];
    for run in &rec_runs {
        rep.check(
            run.record.ok && run.code == Some(0),
            format!("{} succeeded on the recording", run.record.program),
            format!(
                "exit code {}, {}",
                run.code
                    .map_or("none (killed)".to_string(), |c| c.to_string()),
                run.stderr.lines().last().unwrap_or("")
            ),
        );
    }
    let [rec_simple, rec_exact, rec_fused] = rec_runs.map(|r| r.record);
    for (other, what) in [(&rec_exact, "fft-05"), (&rec_fused, "fft-06")] {
        let verdict = same_spectrum(&rec_simple, other, 1e-4);
        rep.check(
            verdict.is_ok(),
            format!(
                "on a 24-bit recording of 2 × a prime frames, {what} gives fft-01's spectrum \
                 (no padding: same bins, same peaks, magnitudes within 1e-4)"
            ),
            verdict.unwrap_or_else(|e| e),
        );
    }
    let frames = simple.metric_u64("frames").unwrap_or(0);
    let bin_hz = simple.metric_f64("bin_hz").unwrap_or(1.0);
    let tol = (3.0 * bin_hz).max(0.05);

    // Stage times of every variant.
    let mut t = Table::new(
        &format!(
            "fft: {:.1} s of 44.1 kHz stereo ({frames} frames), stage times in seconds",
            simple.metric_f64("duration_s").unwrap_or(0.0)
        ),
        &[
            "program",
            "load+mix",
            "plan",
            "FFT",
            "select+peaks",
            "plot",
            "wall",
            "peak RSS",
        ],
    );
    let plot_s = |r: &Record| stage_dt(r, "plot written");
    let select_s = |r: &Record| {
        stage_dt(r, "audible points")
            + r.stages
                .iter()
                .find(|s| s.message.ends_with("peaks found"))
                .map_or(0.0, |s| s.dt_s)
    };
    t.row(vec![
        simple.program.clone(),
        secs(
            simple.metric_f64("load_s").unwrap_or(0.0) + simple.metric_f64("mix_s").unwrap_or(0.0),
        ),
        secs(simple.metric_f64("plan_s").unwrap_or(0.0)),
        secs(simple.metric_f64("fft_s").unwrap_or(0.0)),
        secs(select_s(&simple)),
        if ctx.full {
            "-".into()
        } else {
            secs(plot_s(&simple))
        },
        secs(simple.wall_s),
        rss(&simple),
    ]);
    t.row(vec![
        envelope.program.clone(),
        String::new(),
        String::new(),
        String::new(),
        secs(select_s(&envelope)),
        format!(
            "{} (1 in 100: {})",
            secs(plot_s(&envelope)),
            secs(envelope.metric_f64("plot_decimated_s").unwrap_or(0.0))
        ),
        secs(envelope.wall_s),
        rss(&envelope),
    ]);
    for r in [&wrong, &strided] {
        t.row(vec![
            r.program.clone(),
            secs(stage_dt(r, "loading") + stage_dt(r, "sample rate")),
            String::new(),
            secs(stage_dt(r, "FFT of")),
            secs(select_s(r)),
            secs(plot_s(r)),
            secs(r.wall_s),
            rss(r),
        ]);
    }
    t.row(vec![
        format!("{} (+ realfft to compare)", exact.program),
        secs(stage_dt(&exact, "loading") + stage_dt(&exact, "sample rate")),
        secs(exact.metric_f64("exact_plan_s").unwrap_or(0.0)),
        secs(exact.metric_f64("exact_fft_s").unwrap_or(0.0)),
        secs(select_s(&exact)),
        secs(plot_s(&exact)),
        secs(exact.wall_s),
        rss(&exact),
    ]);
    t.row(vec![
        fused.program.clone(),
        format!(
            "{} (fused)",
            secs(fused.metric_f64("read_mix_s").unwrap_or(0.0))
        ),
        secs(fused.metric_f64("exact_plan_s").unwrap_or(0.0)),
        secs(fused.metric_f64("exact_fft_s").unwrap_or(0.0)),
        secs(select_s(&fused)),
        secs(plot_s(&fused)),
        secs(fused.wall_s),
        rss(&fused),
    ]);
    rep.tables.push(t);

    // Exact parallel vs single-thread realfft.
    let rf_plan = exact.metric_f64("realfft_plan_s").unwrap_or(f64::NAN);
    let rf_fft = exact.metric_f64("realfft_fft_s").unwrap_or(f64::NAN);
    let ex_plan = exact.metric_f64("exact_plan_s").unwrap_or(f64::NAN);
    let ex_fft = exact.metric_f64("exact_fft_s").unwrap_or(f64::NAN);
    let err = exact.metric_f64("max_rel_error").unwrap_or(f64::NAN);
    let mut t = Table::new(
        "fft: exact parallel (six-step, all cores) vs single-thread realfft, same signal",
        &[
            "variant",
            "plan s",
            "FFT + |X| s",
            "plan+FFT s",
            "speed-up (with plan)",
            "speed-up (no planning)",
            "max rel. error",
        ],
    );
    t.row(vec![
        "realfft, 1 thread".into(),
        secs(rf_plan),
        secs(rf_fft),
        secs(rf_plan + rf_fft),
        ratio(1.0),
        ratio(1.0),
        String::new(),
    ]);
    t.row(vec![
        format!(
            "exact, {} threads",
            exact.metric_u64("threads").unwrap_or(0)
        ),
        secs(ex_plan),
        secs(ex_fft),
        secs(ex_plan + ex_fft),
        ratio((rf_plan + rf_fft) / (ex_plan + ex_fft)),
        ratio(rf_fft / ex_fft),
        format!("{err:.2e}"),
    ]);
    rep.tables.push(t);

    // The phenomena.
    let found = peaks(&simple);
    rep.check(
        has_all(&found, &TONES_HZ, tol),
        "the spectrum peaks at the generated tones",
        format!("peaks at {} Hz", fmt_peaks(&found)),
    );
    let worst = envelope
        .metric_f64("decimated_worst_peak_fraction")
        .unwrap_or(1.0);
    rep.check(
        worst < 0.5 && has_all(&peaks(&envelope), &TONES_HZ, tol),
        "one bin in 100 (the book's plot) loses a narrow peak; the min–max envelope keeps all",
        format!(
            "the worst-kept peak keeps {:.1} % of its height in the 1-in-100 picture",
            100.0 * worst
        ),
    );
    let half: Vec<f64> = TONES_HZ.iter().map(|f| f / WRONG_PARTS as f64).collect();
    let wrong_found = peaks(&wrong);
    rep.check(
        has_all(&wrong_found, &half[..6], 2.0 * tol * WRONG_PARTS as f64),
        format!("contiguous parts are wrong: every tone shows at 1/{WRONG_PARTS} of its frequency"),
        format!("peaks at {} Hz", fmt_peaks(&wrong_found)),
    );
    let nyq = strided.metric_f64("nyquist_hz").unwrap_or(0.0);
    let fs_part = 44_100.0 / STRIDED_PARTS as f64;
    let aliased: Vec<f64> = TONES_HZ.iter().map(|&f| alias(f, fs_part)).collect();
    let strided_found = peaks(&strided);
    // The strided spectrum's last bin is its Nyquist frequency (bins
    // 0..=len/2 of sub-signals sampled at fs/P): neither beyond nor short.
    let strided_top = strided.metric_f64("max_freq_hz").unwrap_or(f64::NAN);
    let strided_bin = strided.metric_f64("bin_hz").unwrap_or(f64::NAN);
    rep.check(
        (nyq - fs_part / 2.0).abs() < 1e-9
            && (strided_top - nyq).abs() <= strided_bin
            && has_all(&strided_found, &aliased, tol)
            && !strided_found.iter().any(|&f| (f - 15_001.7).abs() <= tol),
        format!("strided parts stop at fs/(2P) = {nyq:.1} Hz; tones above fold back (aliasing)"),
        format!(
            "last bin at {strided_top:.2} Hz; peaks at {} Hz; expected {} Hz (e.g. 3521.37 → {:.2}, 15001.7 → {:.1})",
            fmt_peaks(&strided_found),
            fmt_peaks(&aliased),
            alias(3521.37, fs_part),
            alias(15_001.7, fs_part)
        ),
    );
    let exact_top = exact.metric_f64("max_freq_hz").unwrap_or(f64::NAN);
    let fs = exact.metric_f64("sample_rate").unwrap_or(f64::NAN);
    let full_band = (exact_top - fs / 2.0).abs() <= exact.metric_f64("bin_hz").unwrap_or(0.0);
    let same = same_spectrum(&simple, &exact, 1e-4);
    rep.check(
        err < 1e-5 && full_band && same.is_ok(),
        "the exact parallel FFT equals the sequential one, full band (up to fs/2)",
        format!(
            "max |Δ| / max |X| = {err:.2e} (bound 1e-5); last bin {exact_top:.2} Hz; vs fft-01: {}",
            same.unwrap_or_else(|e| e)
        ),
    );
    let fused_same = same_spectrum(&exact, &fused, 1e-4);
    rep.check(
        fused_same.is_ok() && has_all(&peaks(&fused), &TONES_HZ, tol),
        "mixing while reading (memory map) gives fft-05's spectrum on the same file",
        fused_same.unwrap_or_else(|e| e),
    );
    let signal_bytes = 4 * frames;
    let fused_rss = fused.peak_rss_bytes.unwrap_or(0);
    let mem_ratio = fused_rss as f64 / signal_bytes.max(1) as f64;
    if ctx.full {
        rep.check(
            mem_ratio <= 2.1,
            "fused pipeline: peak memory ≤ 2.1 × the mono f32 signal",
            format!(
                "{} = {mem_ratio:.2} × {}",
                common::mem::human_bytes(fused_rss),
                common::mem::human_bytes(signal_bytes)
            ),
        );
        rep.check(
            rf_fft / ex_fft >= 1.6,
            "exact parallel FFT + magnitudes ≥ 1.6× single-thread realfft with its plan made",
            format!(
                "{:.2}× with planning, {:.2}× without (FFT + magnitudes)",
                (rf_plan + rf_fft) / (ex_plan + ex_fft),
                rf_fft / ex_fft
            ),
        );
        rep.check(
            fused.wall_s <= 2.0,
            "end to end (map, mix, FFT, select, plot) ≤ 2 s at book size",
            format!("{:.2} s (the book's Python: 27–60 s)", fused.wall_s),
        );
    } else {
        rep.notes.push(format!(
            "peak memory of the fused program: {} = {mem_ratio:.1} × the mono f32 signal \
             (quick input: fixed costs dominate; the 2.1× target applies to --full)",
            common::mem::human_bytes(fused_rss)
        ));
    }
    rep.notes.push(
        "an FFT bin depends on the whole signal: contiguous parts give spectra of shorter \
         signals (coarser bins), which the book plots on the whole signal's axis"
            .into(),
    );
    rep.notes.push(format!(
        "x[p::{STRIDED_PARTS}] is the signal sampled at {fs_part} Hz: nothing above \
         {:.1} Hz survives, and tones above it fold back as false peaks",
        fs_part / 2.0
    ));
    rep.notes.push(
        "the exact variant recombines the strided sub-FFTs with twiddle factors (six-step), \
         so it needs no plan for the full length; fft-06 also mixes the memory-mapped \
         samples straight into its first matrix"
            .into(),
    );
    // Welch (scipy's definitions), streaming over the mapped file, and a spectrogram.
    let (p_welch, p_sg, p_csv) = (
        png("fft-07-welch.png"),
        png("fft-07-spectrogram.png"),
        png("fft-07-welch.csv"),
    );
    let welch_run = ctx.run(
        "fft-07-welch",
        &[
            &wav,
            "--nperseg",
            WELCH_NPERSEG,
            "--window",
            "hann",
            "--scaling",
            "density",
            "--peaks",
            peaks_n,
            "--csv",
            &p_csv,
            "--plot",
            &p_welch,
            "--spectrogram",
            &p_sg,
        ],
    )?;
    rep.check(
        welch_run.record.ok && welch_run.code == Some(0),
        "fft-07-welch succeeded",
        format!(
            "exit code {}, {}",
            welch_run
                .code
                .map_or("none (killed)".to_string(), |c| c.to_string()),
            welch_run.stderr.lines().last().unwrap_or("")
        ),
    );
    let welch = welch_run.record;
    let welch_bin = welch.metric_f64("bin_hz").unwrap_or(f64::NAN);
    let welch_found = peaks(&welch);
    rep.check(
        has_all(&welch_found, &TONES_HZ, 2.0 * welch_bin),
        "Welch (nperseg 65536, hann, 50 % overlap) peaks at every generated tone",
        format!(
            "{} segments; peaks at {} Hz (bins of {welch_bin:.3} Hz)",
            welch.metric_u64("segments").unwrap_or(0),
            fmt_peaks(&welch_found)
        ),
    );
    let fs_welch = welch.metric_f64("sample_rate").unwrap_or(f64::NAN);
    let noise_density = 2.0 * (NOISE * NOISE / 3.0 / 2.0) / fs_welch;
    let level = welch.metric_f64("median_level").unwrap_or(f64::NAN);
    rep.check(
        (level / noise_density - 1.0).abs() < 0.1,
        "Welch's noise floor is the generated noise's density 2σ²/fs (within 10 %)",
        format!(
            "median density 20 Hz–20 kHz {level:.4e} V²/Hz; 2σ²/fs = {noise_density:.4e} V²/Hz (σ² = {NOISE}²/3/2 after mixing)"
        ),
    );
    rep.notes.push(format!(
        "fft-07 (Welch) ran in {:.2} s with peak memory {} on a {} input: the file is mapped and read segment by segment",
        welch.wall_s,
        rss(&welch),
        common::mem::human_bytes(4 * frames),
    ));

    let mut images = vec![];
    if !ctx.full {
        images.push((p_simple, "fft-01: every bin drawn (the book's simple plot)"));
    }
    images.extend([
        (
            p_dec,
            "fft-02: one bin in 100 (the book's optimised plot) — narrow peaks lost",
        ),
        (
            p_env,
            "fft-02: min–max envelope per pixel column — every peak kept",
        ),
        (
            p_wrong,
            "fft-03: contiguous parts, WRONG (tones at half frequency)",
        ),
        (
            p_pair,
            "fft-04: full band (exact FFT, top) vs 8 strided parts (bottom): cut at fs/(2P), aliased tones below it",
        ),
        (p_exact, "fft-05: exact parallel FFT, full band"),
        (
            p_fused,
            "fft-06: memory-mapped, mixed while reading, exact FFT",
        ),
        (
            p_welch,
            "fft-07: Welch PSD (dB re 1 V²/Hz), nperseg 65536, hann, 50 % overlap",
        ),
        (p_sg, "fft-07: spectrogram (time × log frequency, dB)"),
    ]);
    for (p, caption) in images {
        rep.images.push((p.into(), caption.into()));
    }
    Ok(rep)
}

/// `cargo xtask gen-data`: writes `data/generated/tones-60s.wav` (and, with
/// `--book-size`, the 1.07 GB `tones-book.wav`) by running `fft-00-gen-wav`.
///
/// # Errors
/// When cargo or the generator fails.
pub fn gen_data(opts: &GenDataOptions) -> Result<()> {
    let root = ctx::workspace_root()?;
    let mut sets: Vec<&[&str]> = vec![&["--seconds", "60"]];
    if opts.book_size {
        sets.push(&["--book-size"]);
    }
    for args in sets {
        let status = std::process::Command::new(ctx::cargo())
            .current_dir(&root)
            .args(["run", "--release", "-p", "wav-fft"])
            .args(["--example", "fft-00-gen-wav", "--"])
            .args(args)
            .status()
            .context("running cargo run --example fft-00-gen-wav")?;
        if !status.success() {
            bail!("fft-00-gen-wav {} failed ({status})", args.join(" "));
        }
    }
    Ok(())
}

/// Median time of one criterion benchmark, seconds (`None` if it did not run).
fn criterion_median(root: &std::path::Path, group: &str, id: &str) -> Option<f64> {
    // cargo bench puts criterion's output in the workspace's target; a
    // bench binary run by hand from the crate folder puts it in the crate's.
    let text = ["target/criterion", "crates/wav-fft/target/criterion"]
        .iter()
        .map(|d| root.join(d).join(group).join(id).join("new/estimates.json"))
        .find_map(|p| std::fs::read_to_string(p).ok())?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(v["median"]["point_estimate"].as_f64()? * 1e-9)
}

/// After `cargo bench -p wav-fft`: the ratios, from criterion's medians.
/// Each set (a smooth length, 2 × a prime near it, and a prime near it) ran
/// in one run; the book-size set only with `book` (it ran in this run: an
/// earlier run's figures would be mixed in otherwise). "-" where a
/// benchmark did not run (one thread of realfft of the book-size prime does
/// not fit in memory).
pub fn bench_ratios(root: &std::path::Path, book: bool) -> Table {
    let mut t = Table::new(
        "fft bench (criterion medians): exact parallel vs one thread of realfft",
        &[
            "N",
            "realfft planned s",
            "exact s",
            "planned ÷ exact",
            "realfft with plan s",
            "with plan ÷ exact",
            "fused mapped s",
            "exact ÷ exact(smooth N)",
            "first use ÷ exact(smooth N)",
        ],
    );
    let sets: [(u64, [u64; 2]); 2] = [
        (2_646_000, [2 * 1_323_001, 2_646_001]),
        (267_193_080, [2 * 133_596_563, 267_193_079]),
    ];
    let sets = if book { &sets[..] } else { &sets[..1] };
    for &(smooth, awkward) in sets {
        let smooth_exact = criterion_median(root, &format!("fft-{smooth}"), "exact");
        for n in std::iter::once(smooth).chain(awkward) {
            let g = format!("fft-{n}");
            let Some(exact) = criterion_median(root, &g, "exact") else {
                continue;
            };
            let planned = criterion_median(root, &g, "realfft-planned");
            let unplanned = criterion_median(root, &g, "realfft-unplanned");
            let fused = criterion_median(root, &g, "fused-mapped");
            let first = criterion_median(root, &g, "exact-fresh-plan");
            let vs_smooth = |x: Option<f64>| match (x, smooth_exact) {
                (Some(x), Some(s)) => ratio(x / s),
                _ => "-".into(),
            };
            let vs_exact = |x: Option<f64>| x.map_or("-".into(), |x| ratio(x / exact));
            t.row(vec![
                n.to_string(),
                planned.map_or("-".into(), secs),
                secs(exact),
                vs_exact(planned),
                unplanned.map_or("-".into(), secs),
                vs_exact(unplanned),
                fused.map_or("-".into(), secs),
                vs_smooth(Some(exact)),
                vs_smooth(first),
            ]);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A criterion median of `secs` for `group/id` under `root`.
    fn estimate(root: &std::path::Path, group: &str, id: &str, secs: f64) {
        let dir = root
            .join("target/criterion")
            .join(group)
            .join(id)
            .join("new");
        std::fs::create_dir_all(&dir).unwrap();
        let json = format!(r#"{{"median": {{"point_estimate": {}}}}}"#, secs * 1e9);
        std::fs::write(dir.join("estimates.json"), json).unwrap();
    }

    #[test]
    fn bench_ratios_show_what_ran_and_a_dash_for_what_did_not() {
        let root = std::env::temp_dir().join(format!("xtask-bench-ratios-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        estimate(&root, "fft-2646000", "exact", 0.008);
        estimate(&root, "fft-2646000", "realfft-planned", 0.012);
        estimate(&root, "fft-2646001", "exact", 0.024);
        estimate(&root, "fft-267193080", "exact", 1.2);
        estimate(&root, "fft-267193079", "exact", 3.6);

        let small = bench_ratios(&root, false);
        assert_eq!(
            small.rows.len(),
            2,
            "the book-size set only with --book-size"
        );
        assert_eq!(small.rows[0][0], "2646000");
        assert_eq!(small.rows[0][3], "1.50×", "planned ÷ exact");
        assert_eq!(small.rows[0][5], "-", "realfft with its plan did not run");
        assert_eq!(small.rows[1][0], "2646001");
        assert_eq!(small.rows[1][1], "-", "no planned realfft for the prime");
        assert_eq!(small.rows[1][7], "3.00×", "exact ÷ exact of the smooth N");

        let book = bench_ratios(&root, true);
        assert_eq!(book.rows.len(), 4);
        assert_eq!(book.rows[3][0], "267193079");
        assert_eq!(book.rows[3][7], "3.00×");
        assert!(!book.to_text().contains("NaN"), "{}", book.to_text());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
