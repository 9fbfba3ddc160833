//! Book 1.4.3, `wav-fft-paralelo-ok.py`: P strided sub-signals `x[p::P]` on threads sharing one buffer, FFT each, add magnitudes.
//!
//! `cargo run --release -p wav-fft --example fft-04-parallel-strided -- --parts 8 --plot strided.png`

use clap::Parser;
use common::Record;
use support::cli::{self, BoxError, SpectrumArgs, s};
use support::plot::{PlotOptions, plot_stacked};
use wav_fft::parallel::{self, ExactPlan};
use wav_fft::{book, wav};

#[path = "fft-support/mod.rs"]
mod support;

/// Sub-signal p takes every P-th sample from p: it is the signal sampled at
/// fs/P, so its spectrum ends at fs/(2P) (Nyquist), and tones above that
/// fold back below it as false peaks (aliasing). The threads borrow the one
/// mono buffer (the Rust equivalent of the book's shared memory).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: SpectrumArgs,
    /// Number of strided parts (the book uses 8).
    #[arg(long, default_value_t = 8, value_parser = common::cli::at_least_one)]
    parts: usize,
    /// Also compute the exact full-band spectrum and draw it above the
    /// strided one in this PNG (same frequency axis).
    #[arg(long, value_name = "PATH")]
    plot_with_exact: Option<std::path::PathBuf>,
}

fn try_main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let log = cli.args.out.stage_log();
    let path = cli.args.input()?;
    log.stage(format!("loading {}", path.display()));
    let signal = wav::load_mono_with(&path, &cli.args.read_options())?;
    cli::log_info(&log, &signal.info);
    let fs = signal.sample_rate;
    let t = log.elapsed();
    let r = book::strided(&signal.samples, fs, cli.parts).map_err(cli::about(&path))?;
    let fft = log.elapsed() - t;
    log.stage(format!(
        "FFT of {} strided parts done ({} zero(s) padded)",
        cli.parts, r.padded
    ));
    let fs_part = f64::from(fs) / cli.parts as f64;
    println!(
        "Nyquist: each part is sampled at {fs_part} Hz, so nothing above {:.1} Hz is seen; \
         a tone at f above it shows as a false peak at |f - m·{fs_part}| (e.g. 15001.7 Hz -> {:.1} Hz)",
        r.nyquist_hz,
        book::alias_hz(15_001.7, fs_part)
    );
    let mut rec = Record::new("fft-04-parallel-strided");
    cli::record_info(&mut rec, &path, &signal.info);
    rec.set("parts", cli.parts);
    rec.set("nyquist_hz", r.nyquist_hz);
    rec.set("padded", r.padded);
    rec.set("fft_s", s(fft));
    let mut plot = PlotOptions::new(format!(
        "{} strided parts: cut at fs/(2P); tones above it fold back below it",
        cli.parts
    ));
    plot.marker = Some((r.nyquist_hz, format!("Nyquist {:.1} Hz", r.nyquist_hz)));
    if let Some(pair) = &cli.plot_with_exact {
        let plan = ExactPlan::new(signal.samples.len()).map_err(cli::about(&path))?;
        let full = parallel::exact(signal.samples.clone(), fs, &plan).map_err(cli::about(&path))?;
        let top = PlotOptions::new("Exact FFT of the whole signal: full band");
        plot_stacked(pair, &[(&full, &top), (&r.spectrum, &plot)])?;
        log.stage(format!(
            "full band vs strided plot written: {}",
            pair.display()
        ));
    }
    cli::finish(&log, &cli.args, &r.spectrum, plot, rec)
}

fn main() {
    common::cli::run(try_main);
}
