//! Beyond book 1.4.3: Welch's averaged periodogram (scipy.signal.welch) and a spectrogram, streaming over a memory-mapped WAV larger than memory.
//!
//! `cargo run --release -p wav-fft --example fft-07-welch -- data/generated/tones-60s.wav --nperseg 65536 --plot welch.png --csv welch.csv`

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use common::Record;
use support::cli::{self, BoxError, median_level, s};
use support::plot::plot_spectrogram;
use wav_fft::spectral::{
    self, Average, Detrend, PowerSpectrum, Scaling, SpectrogramOptions, View, WelchOptions, Window,
};
use wav_fft::spectrum::{FREQ_MAX, FREQ_MIN};
use wav_fft::wav::{self, MappedWav, MonoSource};

#[path = "fft-support/mod.rs"]
mod support;

/// Welch's power spectral density: the signal cut into segments of
/// --nperseg samples overlapping by --noverlap, each detrended, windowed and
/// transformed, their periodograms averaged (mean, or median with scipy's
/// bias correction) — scipy.signal.welch's definitions and numbers. The WAV
/// is memory-mapped and decoded segment by segment, segments on every core:
/// the memory is a few segments per thread, whatever the file's size.
///
/// The input must not be written to or truncated while the program runs
/// (it is read through a memory map).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The WAV file (default: data/generated/tones-60s.wav).
    input: Option<PathBuf>,
    /// Samples per segment (the DFT length; bins of fs / nperseg Hz).
    #[arg(long, value_name = "N", default_value_t = 65_536, value_parser = common::cli::at_least_one)]
    nperseg: usize,
    /// Samples shared by consecutive segments (default: nperseg / 2).
    #[arg(long, value_name = "M")]
    noverlap: Option<usize>,
    /// boxcar/rectangular, hann, hamming, blackman, blackmanharris, flattop.
    #[arg(long, value_name = "W", default_value = "hann")]
    window: Window,
    /// density (V²/Hz) or spectrum (V²).
    #[arg(long, value_name = "density|spectrum", default_value = "density")]
    scaling: Scaling,
    /// Remove each segment's mean (constant) or not (none).
    #[arg(long, value_name = "none|constant", default_value = "constant")]
    detrend: Detrend,
    /// How segments are combined.
    #[arg(long, value_name = "mean|median", default_value = "mean")]
    average: Average,
    /// What --csv writes: power, amplitude (V) or db.
    #[arg(long, value_name = "power|amplitude|db", default_value = "power")]
    view: View,
    /// Write every bin as CSV (header, then frequency_hz,value); with
    /// --channels each, one file per channel (OUT with .chK before the extension).
    #[arg(long, value_name = "OUT")]
    csv: Option<PathBuf>,
    /// Draw the PSD (dB, log frequency, min–max envelope) to this PNG
    /// (with --channels each: channel 0's).
    #[arg(long, value_name = "F.png")]
    plot: Option<PathBuf>,
    /// Draw a spectrogram (time × log frequency, dB) to this PNG (of
    /// --channel K if given, else of the mono mix).
    #[arg(long, value_name = "F.png")]
    spectrogram: Option<PathBuf>,
    /// Analyse channel K alone (0-based) instead of the mono mix.
    #[arg(long, value_name = "K", conflicts_with = "channels")]
    channel: Option<usize>,
    /// `each`: analyse every channel separately (instead of the mono mix).
    #[arg(long, value_name = "each", value_parser = ["each"])]
    channels: Option<String>,
    /// Print the N strongest peaks (20 Hz–20 kHz).
    #[arg(long, value_name = "N", default_value_t = 7)]
    peaks: usize,
    /// Threads (a rayon pool of this size; default: all cores).
    #[arg(long, value_name = "T", value_parser = common::cli::at_least_one)]
    threads: Option<usize>,
    /// Read a WAV file whose data chunk is cut short (the whole frames present).
    #[arg(long)]
    allow_truncated: bool,
    #[command(flatten)]
    out: common::cli::OutputArgs,
}

/// One analysed signal: the mix, or a channel.
struct Analysis {
    label: String,
    psd: PowerSpectrum,
}

fn analyse<S: MonoSource + ?Sized>(
    source: &S,
    fs: u32,
    opts: &WelchOptions,
    label: String,
) -> Result<Analysis, wav_fft::Error> {
    Ok(Analysis {
        label,
        psd: spectral::welch(source, fs, opts)?,
    })
}

fn csv_path(base: &std::path::Path, channel: Option<usize>) -> PathBuf {
    match channel {
        None => base.to_path_buf(),
        Some(k) => {
            let stem = base
                .file_stem()
                .map_or("welch".into(), |s| s.to_string_lossy());
            let name = match base.extension() {
                Some(e) => format!("{stem}.ch{k}.{}", e.to_string_lossy()),
                None => format!("{stem}.ch{k}"),
            };
            base.with_file_name(name)
        }
    }
}

fn try_main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    match cli.threads {
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()?
            .install(|| run(&cli)),
        None => run(&cli),
    }
}

fn run(cli: &Cli) -> Result<(), BoxError> {
    let log = cli.out.stage_log();
    let path = match &cli.input {
        Some(p) => p.clone(),
        None => common::data::generated_dir()?.join(cli::QUICK_WAV),
    };
    log.stage(format!("mapping {}", path.display()));
    let read = wav::ReadOptions::default().allow_truncated(cli.allow_truncated);
    // SAFETY: the program's contract (its --help): the input is a recording
    // nobody writes to or truncates while the program runs.
    let mapped = unsafe { MappedWav::open_with(&path, &read) }?;
    let info = mapped.info.clone();
    cli::log_info(&log, &info);
    let fs = info.sample_rate;
    let mut opts = WelchOptions::new(cli.nperseg)
        .window(cli.window)
        .scaling(cli.scaling)
        .detrend(cli.detrend)
        .average(cli.average);
    if let Some(m) = cli.noverlap {
        opts = opts.noverlap(m);
    }
    let noverlap = cli.noverlap.unwrap_or(cli.nperseg / 2);
    let about = cli::about(&path);
    let t = Instant::now();
    let mut results = Vec::new();
    match (cli.channel, cli.channels.is_some()) {
        (Some(k), _) => {
            let src = mapped.channel(k)?;
            results.push((
                Some(k),
                analyse(&src, fs, &opts, format!("channel {k}")).map_err(&about)?,
            ));
        }
        (None, true) => {
            for k in 0..usize::from(info.channels) {
                let src = mapped.channel(k)?;
                results.push((
                    Some(k),
                    analyse(&src, fs, &opts, format!("channel {k}")).map_err(&about)?,
                ));
            }
        }
        (None, false) => {
            results.push((
                None,
                analyse(&mapped, fs, &opts, "mono mix".into()).map_err(&about)?,
            ));
        }
    }
    let welch_s = s(t.elapsed());
    let first = &results[0].1.psd;
    log.stage(format!(
        "Welch done: {} segments of {} samples ({} overlapping), {} window, {}, {:?}, {} threads",
        first.segments,
        cli.nperseg,
        noverlap,
        cli.window,
        cli.scaling,
        cli.average,
        rayon::current_num_threads()
    ));
    let mut rec = Record::new("fft-07-welch");
    cli::record_info(&mut rec, &path, &info);
    rec.set("nperseg", cli.nperseg);
    rec.set("noverlap", noverlap);
    rec.set("window", cli.window.name());
    rec.set("scaling", cli.scaling.name());
    rec.set("average", format!("{:?}", cli.average).to_lowercase());
    rec.set("segments", first.segments);
    rec.set("bin_hz", first.bin_hz);
    rec.set("welch_s", welch_s);
    rec.set("threads", rayon::current_num_threads());
    let mut per_channel = Vec::new();
    for (ch, a) in &results {
        let spec = a.psd.clone().into_spectrum();
        let peaks = spec.peaks(cli.peaks, FREQ_MIN, FREQ_MAX);
        let level = median_level(&spec, FREQ_MIN, FREQ_MAX);
        println!(
            "{}: median level 20 Hz–20 kHz {level:.4e} {}",
            a.label,
            cli.scaling.unit()
        );
        for (i, p) in peaks.iter().enumerate() {
            println!(
                "{}: peak {:>2}: {:>10.3} Hz  {:.4e} {}",
                a.label,
                i + 1,
                p.freq_hz,
                p.magnitude,
                cli.scaling.unit()
            );
        }
        let pairs: Vec<Vec<f64>> = peaks
            .iter()
            .map(|p| vec![p.freq_hz, f64::from(p.magnitude)])
            .collect();
        if let Some(base) = &cli.csv {
            let out = csv_path(base, if cli.channels.is_some() { *ch } else { None });
            cli::write_csv(&log, &out, &a.psd, cli.view)?;
        }
        if ch.is_none() || cli.channel.is_some() {
            rec.set("peaks", pairs.clone());
            rec.set("median_level", level);
        }
        per_channel.push((pairs, level));
    }
    if cli.channels.is_some() {
        let (peaks, levels): (Vec<_>, Vec<_>) = per_channel.into_iter().unzip();
        rec.set("channel_peaks", peaks);
        rec.set("channel_levels", levels);
    }
    if let Some(png) = &cli.plot {
        let a = &results[0].1;
        let opts = cli::scaled_plot(
            &format!(
                "Welch, {} × {} samples, {}",
                a.psd.segments, cli.nperseg, a.label
            ),
            &a.psd,
        );
        let spec = a.psd.clone().into_spectrum();
        support::plot::plot_spectrum(png, &spec, &opts)?;
        log.stage(format!("plot written: {}", png.display()));
        rec.set("plot", png.display().to_string());
    }
    if let Some(png) = &cli.spectrogram {
        let t = Instant::now();
        let sopts = SpectrogramOptions::new(cli.nperseg)
            .noverlap(noverlap)
            .spectral(opts.spectral);
        let sg = match cli.channel {
            Some(k) => spectral::spectrogram(&mapped.channel(k)?, fs, &sopts),
            None => spectral::spectrogram(&mapped, fs, &sopts),
        }
        .map_err(&about)?;
        log.stage(format!(
            "spectrogram: {} segments in {} columns × {} rows ({:.3} s)",
            sg.segments,
            sg.columns,
            sg.rows,
            s(t.elapsed())
        ));
        plot_spectrogram(png, &sg, "Spectrogram", cli.scaling.unit())?;
        log.stage(format!("spectrogram written: {}", png.display()));
        rec.set("spectrogram", png.display().to_string());
    }
    log.stage("done");
    rec.with_stages(&log).emit(cli.out.json);
    Ok(())
}

fn main() {
    common::cli::run(try_main);
}
