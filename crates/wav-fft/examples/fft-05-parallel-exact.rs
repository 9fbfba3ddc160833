//! Beyond book 1.4.3 (its open question): the exact FFT of the whole signal, in parallel — full band, no Nyquist cut.
//!
//! `cargo run --release -p wav-fft --example fft-05-parallel-exact -- --compare --plot exact.png`

use std::time::Instant;

use clap::Parser;
use common::Record;
use support::cli::{self, BoxError, HugePagesArg, SpectralArgs, SpectrumArgs, s};
use support::plot::PlotOptions;
use wav_fft::parallel::{self, ExactPlan};
use wav_fft::{spectrum, wav};

#[path = "fft-support/mod.rs"]
mod support;

/// The strided sub-FFTs of the book, recombined with twiddle factors
/// (six-step FFT; Bluestein's chirp-z when N has no usable split): the DFT
/// of exactly N samples, rows of small FFTs on every core, so the plan takes
/// milliseconds. --compare also runs the single-thread realfft and reports
/// the largest difference (floating-point rounding only) and the speed-up.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: SpectrumArgs,
    /// Also compute the single-thread realfft spectrum and compare.
    #[arg(long)]
    compare: bool,
    /// 2 MiB pages for the FFT's work buffers (Linux advice): auto asks
    /// only when the kernel has them free, so that they cost no compaction
    /// (see the crate README for what each choice measured).
    #[arg(long, value_enum, default_value_t = HugePagesArg::Auto, value_name = "WHEN")]
    huge_pages: HugePagesArg,
    #[command(flatten)]
    spectral: SpectralArgs,
    /// Analyse channel K alone (0-based) instead of the mono mix.
    #[arg(long, value_name = "K")]
    channel: Option<usize>,
}

fn try_main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let log = cli.args.out.stage_log();
    let path = cli.args.input()?;
    if cli.compare {
        cli.args.check_realfft_fits(&path).map_err(|e| {
            format!("{e} (so --compare cannot run here: drop it to run the exact FFT alone)")
        })?;
    }
    log.stage(format!("loading {}", path.display()));
    let signal = match cli.channel {
        Some(k) => wav::load_channel_with(&path, k, &cli.args.read_options())?,
        None => wav::load_mono_with(&path, &cli.args.read_options())?,
    };
    cli::log_info(&log, &signal.info);
    if let Some(k) = cli.channel {
        log.stage(format!("channel {k} alone (not mixed)"));
    }
    if let Some(opts) = cli.spectral.options() {
        return scaled(&cli, &log, &path, signal, opts);
    }
    let (fs, n) = (signal.sample_rate, signal.samples.len());
    let mut rec = Record::new("fft-05-parallel-exact");
    cli::record_info(&mut rec, &path, &signal.info);
    let t = Instant::now();
    let plan = ExactPlan::new(n)
        .map_err(cli::about(&path))?
        .huge_pages(cli.huge_pages.mode())
        // One run: nothing to keep the work matrix for (the plot is next).
        .reuse_buffers(false);
    let plan_s = s(t.elapsed());
    log.stage(format!("planned {} in {plan_s:.3} s", plan.describe()));
    log.stage(cli.huge_pages.describe());
    let reference = cli
        .compare
        .then(|| spectrum::realfft_spectrum_timed(signal.samples.clone(), fs));
    if let Some((_, times)) = &reference {
        log.stage(format!(
            "single-thread realfft: plan {:.3} s, execute {:.3} s, magnitudes {:.3} s",
            s(times.plan),
            s(times.execute),
            s(times.post)
        ));
        rec.set("realfft_plan_s", s(times.plan));
        // Transform + magnitudes: the same work as the exact variant's passes.
        rec.set("realfft_fft_s", s(times.execute + times.post));
    }
    let t = Instant::now();
    let (spec, steps) =
        parallel::exact_timed(signal.samples, fs, &plan).map_err(cli::about(&path))?;
    let exact_s = s(t.elapsed());
    for (name, d) in &steps {
        println!("  {name}: {:.3} s", s(*d));
    }
    log.stage(format!(
        "exact parallel FFT done ({} threads)",
        rayon::current_num_threads()
    ));
    rec.set("fft_len", n);
    rec.set("bluestein", plan.is_bluestein());
    rec.set("exact_plan_s", plan_s);
    rec.set("exact_fft_s", exact_s);
    rec.set("threads", rayon::current_num_threads());
    if let Some((r, times)) = &reference {
        let err = spec.max_relative_error(r);
        let ref_exec = s(times.execute + times.post);
        let ref_all = s(times.plan) + ref_exec;
        println!(
            "max relative error vs realfft: {err:.2e}; speed-up {:.2}× with planning, {:.2}× without",
            ref_all / (plan_s + exact_s),
            ref_exec / exact_s
        );
        rec.set("max_rel_error", err);
    }
    if let Some(csv) = &cli.spectral.csv {
        cli::write_magnitudes_csv(&log, csv, &spec)?;
    }
    let plot = PlotOptions::new("Exact parallel FFT (six-step): full band");
    cli::finish(&log, &cli.args, &spec, plot, rec)
}

/// `--window`/`--scaling`: the scaled periodogram through the exact FFT
/// (with `--compare`, against the single-thread one).
fn scaled(
    cli: &Cli,
    log: &common::StageLog,
    path: &std::path::Path,
    signal: wav::MonoSignal,
    opts: wav_fft::spectral::SpectralOptions,
) -> Result<(), BoxError> {
    let fs = signal.sample_rate;
    let mut rec = Record::new("fft-05-parallel-exact");
    cli::record_info(&mut rec, path, &signal.info);
    rec.set("window", opts.window.name());
    rec.set("scaling", opts.scaling.name());
    let reference = cli
        .compare
        .then(|| wav_fft::spectral::periodogram_serial(signal.samples.clone(), fs, &opts))
        .transpose()
        .map_err(cli::about(path))?;
    let t = Instant::now();
    let psd =
        wav_fft::spectral::periodogram(signal.samples, fs, &opts).map_err(cli::about(path))?;
    rec.set("exact_fft_s", s(t.elapsed()));
    log.stage(format!(
        "periodogram done ({} window, {}, exact parallel FFT)",
        opts.window, opts.scaling
    ));
    if let Some(r) = reference {
        let err = psd
            .clone()
            .into_spectrum()
            .max_relative_error(&r.into_spectrum());
        println!("max relative difference vs the single-thread periodogram: {err:.2e}");
        rec.set("max_rel_error", err);
    }
    if let Some(csv) = &cli.spectral.csv {
        cli::write_csv(log, csv, &psd, cli.spectral.view)?;
    }
    let plot = cli::scaled_plot("Periodogram, exact parallel FFT", &psd);
    cli::finish(log, &cli.args, &psd.into_spectrum(), plot, rec)
}

fn main() {
    common::cli::run(try_main);
}
