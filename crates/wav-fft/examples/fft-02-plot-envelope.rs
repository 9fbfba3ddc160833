//! Book 1.4.3, `wav-fft-optimiz.py`: the same spectrum, plotted without drawing 10⁸ points.
//!
//! `cargo run --release -p wav-fft --example fft-02-plot-envelope -- --plot envelope.png --plot-decimated decimated.png`

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use common::Record;
use support::cli::{self, BoxError, SpectrumArgs, s};
use support::plot::{PlotMode, PlotOptions, plot_spectrum};
use wav_fft::{spectrum, wav};

#[path = "fft-support/mod.rs"]
mod support;

/// The book keeps one point in 100 for its plot; a one-bin peak between two
/// kept points disappears. --plot draws the per-pixel-column min–max
/// envelope instead (no peak lost, ~1500 columns); --plot-decimated draws the
/// book's version, to compare.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: SpectrumArgs,
    /// Also draw the book's picture (one bin in --step) here.
    #[arg(long, value_name = "PATH")]
    plot_decimated: Option<PathBuf>,
    /// Keep one bin in this many for --plot-decimated.
    #[arg(long, default_value_t = 100)]
    step: usize,
}

fn try_main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let log = cli.args.out.stage_log();
    let path = cli.args.input()?;
    cli.args.check_realfft_fits(&path)?;
    log.stage(format!("loading {}", path.display()));
    let (info, bytes) = wav::read_data_with(&path, &cli.args.read_options())?;
    cli::log_info(&log, &info);
    let signal = wav::mix_to_mono(&info, &bytes);
    drop(bytes);
    log.stage("mixed to mono");
    let spec = spectrum::realfft_spectrum(signal, info.sample_rate);
    log.stage("FFT done");
    let mut rec = Record::new("fft-02-plot-envelope");
    cli::record_info(&mut rec, &path, &info);
    // How much of each strong peak does the book's 1-in-step picture keep?
    let kept = spec.decimated(spec.audible(), cli.step);
    let peaks = spec.peaks(cli.args.peaks, spectrum::FREQ_MIN, spectrum::FREQ_MAX);
    let window = cli.step as f64 * spec.bin_hz;
    let worst = peaks
        .iter()
        .map(|p| {
            let near = kept
                .iter()
                .filter(|(f, _)| (f - p.freq_hz).abs() <= window)
                .map(|&(_, m)| m)
                .fold(0.0f32, f32::max);
            near / p.magnitude
        })
        .fold(1.0f32, f32::min);
    println!(
        "one bin in {}: the worst-kept of the {} strongest peaks keeps {:.1} % of its height",
        cli.step,
        peaks.len(),
        100.0 * worst
    );
    rec.set("decimated_worst_peak_fraction", f64::from(worst));
    if let Some(p) = &cli.plot_decimated {
        let t = Instant::now();
        let mut o = PlotOptions::new(format!("Spectrum, one bin in {} (the book)", cli.step));
        o.mode = PlotMode::Decimate(cli.step);
        plot_spectrum(p, &spec, &o)?;
        log.stage(format!("decimated plot written: {}", p.display()));
        rec.set("plot_decimated_s", s(t.elapsed()));
    }
    let plot = PlotOptions::new("Spectrum, min–max envelope per pixel column");
    cli::finish(&log, &cli.args, &spec, plot, rec)
}

fn main() {
    common::cli::run(try_main);
}
