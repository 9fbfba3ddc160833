//! Book 1.4.3, `wav-fft-simple.py`: load, mix to mono, one FFT of the whole signal, plot the audible band.
//!
//! `cargo run --release -p wav-fft --example fft-01-simple -- data/generated/tones-60s.wav --plot simple.png`

use clap::Parser;
use common::Record;
use support::cli::{self, BoxError, SpectralArgs, SpectrumArgs, s};
use support::plot::{PlotMode, PlotOptions};
use wav_fft::{spectrum, wav};

#[path = "fft-support/mod.rs"]
mod support;

/// The spectrum of a WAV file the simple way: read the samples, mix the
/// channels to mono in a second pass, one real-input FFT (realfft, one
/// thread), keep 20 Hz–20 kHz. Like the book, the plot draws every bin.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: SpectrumArgs,
    #[command(flatten)]
    spectral: SpectralArgs,
    /// Analyse channel K alone (0-based) instead of the mono mix: one read
    /// that keeps only that channel (no mixing stage).
    #[arg(long, value_name = "K")]
    channel: Option<usize>,
}

fn try_main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let log = cli.args.out.stage_log();
    let path = cli.args.input()?;
    cli.args.check_realfft_fits(&path)?;
    log.stage(format!("loading {}", path.display()));
    let (info, signal, load, mix) = if let Some(k) = cli.channel {
        let x = wav::load_channel_with(&path, k, &cli.args.read_options())?;
        cli::log_info(&log, &x.info);
        log.stage(format!("channel {k} alone (not mixed)"));
        (x.info, x.samples, log.elapsed(), std::time::Duration::ZERO)
    } else {
        let (info, bytes) = wav::read_data_with(&path, &cli.args.read_options())?;
        let load = log.elapsed();
        cli::log_info(&log, &info);
        let signal = wav::mix_to_mono(&info, &bytes);
        drop(bytes);
        let mix = log.elapsed() - load;
        log.stage(format!("mixed {} channels to mono", info.channels));
        (info, signal, load, mix)
    };
    if let Some(opts) = cli.spectral.options() {
        // A scaled periodogram (scipy's definitions), one realfft.
        let psd = wav_fft::spectral::periodogram_serial(signal, info.sample_rate, &opts)
            .map_err(cli::about(&path))?;
        log.stage(format!(
            "periodogram done ({} window, {})",
            opts.window, opts.scaling
        ));
        if let Some(csv) = &cli.spectral.csv {
            cli::write_csv(&log, csv, &psd, cli.spectral.view)?;
        }
        let mut rec = Record::new("fft-01-simple");
        cli::record_info(&mut rec, &path, &info);
        rec.set("window", opts.window.name());
        rec.set("scaling", opts.scaling.name());
        let plot = cli::scaled_plot("Periodogram: one FFT of the whole signal", &psd);
        return cli::finish(&log, &cli.args, &psd.into_spectrum(), plot, rec);
    }
    let (spec, times) = spectrum::realfft_spectrum_timed(signal, info.sample_rate);
    log.stage(format!(
        "FFT done (plan {:.3} s, execute {:.3} s, magnitudes {:.3} s)",
        s(times.plan),
        s(times.execute),
        s(times.post)
    ));
    let mut rec = Record::new("fft-01-simple");
    cli::record_info(&mut rec, &path, &info);
    rec.set("load_s", s(load));
    rec.set("mix_s", s(mix));
    rec.set("plan_s", s(times.plan));
    rec.set("fft_s", s(times.execute));
    rec.set("magnitude_s", s(times.post));
    if let Some(csv) = &cli.spectral.csv {
        cli::write_magnitudes_csv(&log, csv, &spec)?;
    }
    let mut plot = PlotOptions::new("Spectrum: one FFT of the whole signal (every bin drawn)");
    plot.mode = PlotMode::Decimate(1);
    cli::finish(&log, &cli.args, &spec, plot, rec)
}

fn main() {
    common::cli::run(try_main);
}
