//! What the lesson programs (`src/bin/fft-*.rs`) share: the common flags,
//! the stage lines about the input, the peaks, the plot and the record.

use std::path::{Path, PathBuf};

use common::cli::OutputArgs;
use common::{Record, StageLog};

use super::plot::{PlotOptions, plot_spectrum};
use wav_fft::spectrum::{FREQ_MAX, FREQ_MIN};
use wav_fft::{Spectrum, WavInfo};

/// The quick test file in `data/generated` (60 s), written by
/// `cargo xtask gen-data` or `fft-00-gen-wav`.
pub const QUICK_WAV: &str = "tones-60s.wav";
/// The book-size file in `data/generated` (6058.8 s, ≈1.07 GB).
pub const BOOK_WAV: &str = "tones-book.wav";

/// A boxed error for programs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Flags every fft program takes.
#[derive(Debug, Clone, clap::Args)]
pub struct SpectrumArgs {
    /// The WAV file (default: data/generated/tones-60s.wav; create it with
    /// `cargo xtask gen-data`).
    pub input: Option<PathBuf>,
    /// Print the N strongest spectral peaks (frequency and magnitude).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub peaks: usize,
    /// Write the spectrum as a PNG picture here.
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// Read a WAV file whose data chunk is cut short: use the whole frames
    /// present (and say so) instead of refusing it.
    #[arg(long)]
    pub allow_truncated: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub out: OutputArgs,
}

/// `--huge-pages auto|on|off` (fft-05, fft-06).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
#[allow(dead_code)] // not every program has the flag
pub enum HugePagesArg {
    /// When the kernel has them free (no compaction).
    Auto,
    /// Always ask.
    On,
    /// Never.
    Off,
}

#[allow(dead_code)]
impl HugePagesArg {
    /// The library's setting.
    pub fn mode(self) -> wav_fft::buffer::HugePages {
        use wav_fft::buffer::HugePages;
        match self {
            HugePagesArg::Auto => HugePages::Auto,
            HugePagesArg::On => HugePages::On,
            HugePagesArg::Off => HugePages::Off,
        }
    }

    /// A log line: the setting, and what auto sees.
    pub fn describe(self) -> String {
        match (self, wav_fft::buffer::free_in_huge_blocks()) {
            (HugePagesArg::Auto, Some(free)) => format!(
                "huge pages: auto ({:.1} GB free in 2 MiB blocks: used for buffers that fit)",
                free as f64 / 1e9
            ),
            (HugePagesArg::Auto, None) => "huge pages: auto (no /proc/buddyinfo: not used)".into(),
            (HugePagesArg::On, _) => "huge pages: on".into(),
            (HugePagesArg::Off, _) => "huge pages: off".into(),
        }
    }
}

impl SpectrumArgs {
    /// How to read the input (`--allow-truncated`).
    pub fn read_options(&self) -> wav_fft::wav::ReadOptions {
        wav_fft::wav::ReadOptions::default().allow_truncated(self.allow_truncated)
    }

    /// Refuses, from the header alone and before anything is loaded, a file
    /// whose one-thread realfft would not fit in the memory available
    /// (rustfft's plan for a prime length of the book's size takes ≈ 25 GB).
    ///
    /// # Errors
    /// When the header cannot be read or the FFT would not fit.
    #[allow(dead_code)] // not every program runs realfft on the whole file
    pub fn check_realfft_fits(&self, path: &Path) -> Result<(), BoxError> {
        let info = wav_fft::wav::probe_with(path, &self.read_options())?;
        let n = usize::try_from(info.frames).unwrap_or(usize::MAX);
        wav_fft::spectrum::check_realfft_memory(n).map_err(about(path))
    }

    /// The input file: the one given, or the quick generated file.
    ///
    /// # Errors
    /// When no file was given and the data folder cannot be found.
    pub fn input(&self) -> Result<PathBuf, BoxError> {
        match &self.input {
            Some(p) => Ok(p.clone()),
            None => Ok(common::data::generated_dir()?.join(QUICK_WAV)),
        }
    }
}

/// Logs what the header says (the book's first lines).
pub fn log_info(log: &StageLog, info: &WavInfo) {
    log.stage(format!("sample rate: {} Hz", info.sample_rate));
    log.stage(format!(
        "channels: {} ({:?}, {} bits)",
        info.channels, info.kind, info.bits
    ));
    log.stage(format!("duration: {:.1} s", info.duration_s()));
    if info.is_truncated() {
        log.stage(format!(
            "truncated file: the header announces {} bytes of audio, {} are read ({} whole frames)",
            info.announced_len, info.data_len, info.frames
        ));
    }
}

/// Adds the input's description to the record.
pub fn record_info(rec: &mut Record, path: &Path, info: &WavInfo) {
    rec.set("input", path.display().to_string());
    rec.set("sample_rate", info.sample_rate);
    rec.set("channels", info.channels);
    rec.set("frames", info.frames);
    rec.set("duration_s", info.duration_s());
}

/// The common ending: select the audible band, print the peaks, draw the
/// plot (if asked), fill and print the record.
///
/// # Errors
/// When the plot cannot be written.
pub fn finish(
    log: &StageLog,
    args: &SpectrumArgs,
    spec: &Spectrum,
    plot: PlotOptions,
    mut rec: Record,
) -> Result<(), BoxError> {
    let band = spec.audible();
    log.stage(format!(
        "audible points selected: {} (bins of {:.6} Hz)",
        band.len(),
        spec.bin_hz
    ));
    let peaks = spec.peaks(args.peaks, FREQ_MIN, FREQ_MAX);
    log.stage(format!("{} strongest peaks found", peaks.len()));
    for (i, p) in peaks.iter().enumerate() {
        println!(
            "peak {:>2}: {:>10.3} Hz  magnitude {:.4e}",
            i + 1,
            p.freq_hz,
            p.magnitude
        );
    }
    rec.set("audible_points", band.len());
    rec.set("bin_hz", spec.bin_hz);
    rec.set("max_freq_hz", spec.max_freq());
    rec.set(
        "peaks",
        peaks
            .iter()
            .map(|p| vec![p.freq_hz, f64::from(p.magnitude)])
            .collect::<Vec<_>>(),
    );
    if let Some(path) = &args.plot {
        plot_spectrum(path, spec, &plot)?;
        log.stage(format!("plot written: {}", path.display()));
        rec.set("plot", path.display().to_string());
    }
    log.stage("done");
    let rec = rec.with_stages(log);
    rec.emit(args.out.json);
    Ok(())
}

/// A library error about the signal (too short for the split, no memory),
/// prefixed with the input file it came from.
pub fn about(path: &Path) -> impl Fn(wav_fft::Error) -> BoxError + '_ {
    move |e| format!("{}: {e}", path.display()).into()
}

/// Seconds, for records.
pub fn s(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// `--window`, `--scaling`, `--detrend`, `--view` and `--csv`: a scaled
/// spectrum (scipy's definitions) instead of plain magnitudes.
#[derive(Debug, Clone, clap::Args)]
pub struct SpectralArgs {
    /// Window the signal (boxcar/rectangular, hann, hamming, blackman,
    /// blackmanharris, flattop; scipy's periodic form) and print a scaled
    /// spectrum instead of magnitudes |X|.
    #[arg(long, value_name = "W")]
    pub window: Option<wav_fft::spectral::Window>,
    /// Scale the spectrum as scipy's `density` (V²/Hz) or `spectrum` (V²);
    /// implies a scaled spectrum (window default: hann).
    #[arg(long, value_name = "density|spectrum")]
    pub scaling: Option<wav_fft::spectral::Scaling>,
    /// Remove each segment's mean first (constant, scipy's default) or not (none).
    #[arg(long, value_name = "none|constant", default_value = "constant")]
    pub detrend: wav_fft::spectral::Detrend,
    /// What --csv writes: the power in the scaling, the peak amplitude (V),
    /// or the power in dB.
    #[arg(long, value_name = "power|amplitude|db", default_value = "power")]
    pub view: wav_fft::spectral::View,
    /// Write every bin (full resolution) as CSV: a header line, then
    /// `frequency_hz,value` per bin.
    #[arg(long, value_name = "OUT")]
    pub csv: Option<PathBuf>,
}

impl SpectralArgs {
    /// The spectral options when a scaled spectrum was asked for
    /// (`--window` or `--scaling`).
    pub fn options(&self) -> Option<wav_fft::spectral::SpectralOptions> {
        (self.window.is_some() || self.scaling.is_some()).then(|| self.options_or_default())
    }

    /// The spectral options, defaults filled in.
    pub fn options_or_default(&self) -> wav_fft::spectral::SpectralOptions {
        wav_fft::spectral::SpectralOptions::default()
            .window(self.window.unwrap_or_default())
            .scaling(self.scaling.unwrap_or_default())
            .detrend(self.detrend)
    }
}

/// Writes a scaled spectrum as CSV (`--csv`) and logs it.
///
/// # Errors
/// When the file cannot be written (named).
pub fn write_csv(
    log: &StageLog,
    path: &Path,
    spec: &wav_fft::spectral::PowerSpectrum,
    view: wav_fft::spectral::View,
) -> Result<(), BoxError> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    spec.write_csv(file, view)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    log.stage(format!(
        "CSV written: {} ({} bins)",
        path.display(),
        spec.values.len()
    ));
    Ok(())
}

/// Writes plain magnitudes |X| as CSV (`--csv` without a scaling).
///
/// # Errors
/// When the file cannot be written (named).
pub fn write_magnitudes_csv(log: &StageLog, path: &Path, spec: &Spectrum) -> Result<(), BoxError> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    wav_fft::spectral::write_csv(file, spec.bin_hz, &spec.mags, "frequency_hz,magnitude")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    log.stage(format!(
        "CSV written: {} ({} bins)",
        path.display(),
        spec.mags.len()
    ));
    Ok(())
}

/// The plot of a scaled spectrum: dB of the power (or the amplitude,
/// linear, for `--view amplitude`), min–max envelope, log frequency.
pub fn scaled_plot(title: &str, spec: &wav_fft::spectral::PowerSpectrum) -> PlotOptions {
    let mut p = PlotOptions::new(format!(
        "{title} ({} window, {})",
        spec.options.window, spec.options.scaling
    ));
    p.db = true;
    p.y_desc = match spec.options.scaling {
        wav_fft::spectral::Scaling::Density => "PSD (dB re 1 V²/Hz)".into(),
        _ => "power (dB re 1 V²)".into(),
    };
    p
}

/// The median of the values with `lo < f < hi`: the noise floor of a
/// spectrum whose tones occupy few bins.
pub fn median_level(spec: &Spectrum, lo: f64, hi: f64) -> f64 {
    let mut v: Vec<f32> = spec.mags[spec.band(lo, hi)].to_vec();
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    f64::from(*m)
}
