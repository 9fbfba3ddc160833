//! Spectral analysis with scipy's definitions: scaled one-sided spectra
//! (periodogram), Welch's averaged periodogram and a spectrogram, streaming
//! over any [`MonoSource`](crate::wav::MonoSource) — a loaded `Vec<f32>` or a memory-mapped WAV
//! larger than memory.
//!
//! | function | scipy | memory |
//! |---|---|---|
//! | [`periodogram`] | `scipy.signal.periodogram(x, fs, window, detrend=…, scaling=…)` | the exact parallel FFT's (≈ the f32 signal) |
//! | [`periodogram_serial`] | the same, one realfft on one thread | the signal + N/2 complex |
//! | [`periodogram_complex`] | `scipy.signal.spectrogram(x, fs, window, nperseg=N, noverlap=0, mode='complex')` | the signal + N/2 complex |
//! | [`welch`] | `scipy.signal.welch(x, fs, window, nperseg, noverlap, detrend=…, scaling=…, average=…)` | O(nperseg × threads) for `mean` |
//! | [`spectrogram`] | `scipy.signal.spectrogram(…, mode='psd')`, then reduced to a picture's grid | O(nperseg × threads + picture) |
//!
//! The definitions (scipy's): a window w of length M (periodic form,
//! [`Window`]); the segment detrended (`constant`: its mean removed) and
//! multiplied by w; X\[k\] its DFT, k = 0..=M/2 (bins k·fs/M). Then
//!
//! - `density` (V²/Hz): P\[k\] = |X\[k\]|² / (fs · Σw²),
//! - `spectrum` (V²): P\[k\] = |X\[k\]|² / (Σw)²,
//!
//! each doubled for 0 < k < M/2 (and for k = M/2 when M is odd) — the
//! one-sided spectrum holds the power of the negative frequencies too. The
//! [`View`]s derive from these: the peak amplitude (V: a tone A·cos reads A
//! at its bin, exactly with the flat-top window) and decibels
//! (10·log10 of the power).
//!
//! # Examples
//!
//! ```
//! use wav_fft::spectral::{self, Scaling, SpectralOptions, View, Window};
//! // 1 s at 1 kHz of a tone of amplitude 0.5 at 123.4 Hz (between bins).
//! let x: Vec<f32> = (0..1000)
//!     .map(|i| 0.5 * (std::f64::consts::TAU * 123.4 * i as f64 / 1000.0).cos() as f32)
//!     .collect();
//! let opts = SpectralOptions::default()
//!     .window(Window::FlatTop)
//!     .scaling(Scaling::Spectrum);
//! let p = spectral::periodogram(x, 1000, &opts).unwrap();
//! let amp = p.view(View::Amplitude);
//! let top = amp.iter().copied().fold(0.0f32, f32::max);
//! assert!((top - 0.5).abs() < 0.5 * 1e-3, "{top}"); // flat top: the amplitude
//! ```

mod periodogram;
mod welch;
mod window;

use std::fmt;
use std::io::Write;
use std::str::FromStr;

pub use periodogram::{ComplexSpectrum, periodogram, periodogram_complex, periodogram_serial};
pub use welch::{
    Average, Spectrogram, SpectrogramOptions, WelchOptions, median_bias, spectrogram, welch,
};
pub use window::Window;

use crate::spectrum::{Magnitudes, Spectrum};

/// What a segment loses before it is windowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Detrend {
    /// Nothing (scipy's `detrend=False`).
    None,
    /// Its mean (scipy's `detrend='constant'`, the default there and here).
    #[default]
    Constant,
}

impl FromStr for Detrend {
    type Err = String;
    fn from_str(s: &str) -> Result<Detrend, String> {
        match s {
            "none" | "false" => Ok(Detrend::None),
            "constant" | "mean" => Ok(Detrend::Constant),
            _ => Err(format!("unknown detrend {s:?} (known: none, constant)")),
        }
    }
}

/// How |X|² becomes a physical quantity (scipy's `scaling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Scaling {
    /// Power spectral density, V²/Hz: |X|² / (fs · Σw²).
    #[default]
    Density,
    /// Power spectrum, V²: |X|² / (Σw)² (a tone's peak bin reads its mean
    /// power A²/2, exactly with the flat-top window).
    Spectrum,
}

impl Scaling {
    /// scipy's name.
    pub fn name(self) -> &'static str {
        match self {
            Scaling::Density => "density",
            Scaling::Spectrum => "spectrum",
        }
    }

    /// The unit of the power values.
    pub fn unit(self) -> &'static str {
        match self {
            Scaling::Density => "V²/Hz",
            Scaling::Spectrum => "V²",
        }
    }
}

impl fmt::Display for Scaling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scaling {
    type Err = String;
    fn from_str(s: &str) -> Result<Scaling, String> {
        match s {
            "density" | "psd" => Ok(Scaling::Density),
            "spectrum" | "power" => Ok(Scaling::Spectrum),
            _ => Err(format!("unknown scaling {s:?} (known: density, spectrum)")),
        }
    }
}

/// What a [`PowerSpectrum`] is shown as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum View {
    /// The power in the spectrum's [`Scaling`] (V²/Hz or V²).
    #[default]
    Power,
    /// Peak amplitude, V: √(2·P) from the `spectrum` scaling (√P at 0 Hz
    /// and at an even length's Nyquist bin, which are not doubled).
    Amplitude,
    /// 10·log10 of the power (dB re 1 V²/Hz or 1 V²); −∞ for zero power.
    Db,
}

impl View {
    /// The name the programs use.
    pub fn name(self) -> &'static str {
        match self {
            View::Power => "power",
            View::Amplitude => "amplitude",
            View::Db => "db",
        }
    }
}

impl FromStr for View {
    type Err = String;
    fn from_str(s: &str) -> Result<View, String> {
        match s {
            "power" => Ok(View::Power),
            "amplitude" => Ok(View::Amplitude),
            "db" | "dB" => Ok(View::Db),
            _ => Err(format!("unknown view {s:?} (known: power, amplitude, db)")),
        }
    }
}

/// Window, detrending and scaling of a spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SpectralOptions {
    /// The window (default Hann).
    pub window: Window,
    /// Detrending (default `Constant`, as scipy).
    pub detrend: Detrend,
    /// Scaling (default `Density`, as scipy).
    pub scaling: Scaling,
}

impl SpectralOptions {
    /// Sets the window.
    pub fn window(mut self, w: Window) -> Self {
        self.window = w;
        self
    }
    /// Sets the detrending.
    pub fn detrend(mut self, d: Detrend) -> Self {
        self.detrend = d;
        self
    }
    /// Sets the scaling.
    pub fn scaling(mut self, s: Scaling) -> Self {
        self.scaling = s;
        self
    }
}

/// A scaled one-sided power spectrum: bins 0..=M/2 of a segment length M
/// (the whole signal for a periodogram), `values[k]` at `k · bin_hz` Hz.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PowerSpectrum {
    /// Hz between two bins (fs / M).
    pub bin_hz: f64,
    /// Samples per second of the signal.
    pub sample_rate: u32,
    /// The segment length M (the DFT length).
    pub segment_len: usize,
    /// Segments averaged (1 for a periodogram).
    pub segments: usize,
    /// What produced it.
    pub options: SpectralOptions,
    /// The power per bin, in `options.scaling`.
    pub values: Magnitudes,
}

impl PowerSpectrum {
    /// Frequency of bin `k`, Hz.
    pub fn freq(&self, k: usize) -> f64 {
        k as f64 * self.bin_hz
    }

    /// Every bin's frequency, Hz (scipy's `f`).
    pub fn frequencies(&self) -> Vec<f64> {
        (0..self.values.len()).map(|k| self.freq(k)).collect()
    }

    /// Whether bin `k` was doubled (all but 0 Hz and an even length's
    /// Nyquist bin).
    pub fn is_doubled(&self, k: usize) -> bool {
        doubled(k, self.segment_len)
    }

    /// The factor from this spectrum's scaling to `to`.
    pub fn factor_to(&self, to: Scaling) -> f64 {
        let (s1, s2) = self.options.window.sums(self.segment_len);
        let fs = f64::from(self.sample_rate);
        match (self.options.scaling, to) {
            (Scaling::Density, Scaling::Spectrum) => fs * s2 / (s1 * s1),
            (Scaling::Spectrum, Scaling::Density) => s1 * s1 / (fs * s2),
            _ => 1.0,
        }
    }

    /// The same spectrum in another scaling (a copy, rescaled).
    pub fn to_scaling(&self, to: Scaling) -> PowerSpectrum {
        let f = self.factor_to(to);
        let mut p = self.clone();
        p.values
            .iter_mut()
            .for_each(|v| *v = (f64::from(*v) * f) as f32);
        p.options.scaling = to;
        p
    }

    /// The values shown as `view`.
    pub fn view(&self, view: View) -> Vec<f32> {
        match view {
            View::Power => self.values.to_vec(),
            View::Db => self
                .values
                .iter()
                .map(|&v| (10.0 * f64::from(v).log10()) as f32)
                .collect(),
            View::Amplitude => {
                let f = self.factor_to(Scaling::Spectrum);
                self.values
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| {
                        let p = f64::from(v) * f;
                        let p = if self.is_doubled(k) { 2.0 * p } else { p };
                        p.sqrt() as f32
                    })
                    .collect()
            }
        }
    }

    /// The values as a [`Spectrum`] (for its peaks, bands and plot
    /// envelopes): `mags` holds the power.
    pub fn into_spectrum(self) -> Spectrum {
        Spectrum {
            bin_hz: self.bin_hz,
            mags: self.values,
        }
    }

    /// Σ P\[k\] · bin_hz of a `density` spectrum: the signal's mean power
    /// (after detrending), V² — Parseval's theorem for the periodogram with a
    /// rectangular window.
    pub fn total_power(&self) -> f64 {
        let f = self.factor_to(Scaling::Density);
        self.values.iter().map(|&v| f64::from(v) * f).sum::<f64>() * self.bin_hz
    }

    /// Writes the spectrum as CSV, [`write_csv`]'s format.
    ///
    /// # Errors
    /// The writer's.
    pub fn write_csv(&self, out: impl Write, view: View) -> std::io::Result<()> {
        let header = csv_header(self.options.scaling, view);
        write_csv(out, self.bin_hz, &self.view(view), &header)
    }
}

/// The CSV header for a scaling and view: `frequency_hz,density_v2_per_hz`,
/// `frequency_hz,spectrum_v2`, `frequency_hz,amplitude_v`,
/// `frequency_hz,density_db` or `frequency_hz,spectrum_db`.
pub fn csv_header(scaling: Scaling, view: View) -> String {
    let col = match (view, scaling) {
        (View::Power, Scaling::Density) => "density_v2_per_hz",
        (View::Power, Scaling::Spectrum) => "spectrum_v2",
        (View::Amplitude, _) => "amplitude_v",
        (View::Db, Scaling::Density) => "density_db",
        (View::Db, Scaling::Spectrum) => "spectrum_db",
    };
    format!("frequency_hz,{col}")
}

/// Writes `header`, then one line `frequency_hz,value` per bin (bin k at
/// k·bin_hz), every bin (no decimation). Numbers are written in Rust's
/// shortest round-trip form, so reading them back gives the same `f32`.
///
/// ```
/// let mut out = Vec::new();
/// wav_fft::spectral::write_csv(&mut out, 0.5, &[1.0, 0.25], "frequency_hz,spectrum_v2").unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "frequency_hz,spectrum_v2\n0,1\n0.5,0.25\n");
/// ```
///
/// # Errors
/// The writer's.
pub fn write_csv(
    out: impl Write,
    bin_hz: f64,
    values: &[f32],
    header: &str,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    writeln!(w, "{header}")?;
    for (k, v) in values.iter().enumerate() {
        writeln!(w, "{},{}", k as f64 * bin_hz, v)?;
    }
    w.flush()
}

/// Whether one-sided bin `k` of a length-`m` DFT is doubled.
fn doubled(k: usize, m: usize) -> bool {
    k > 0 && !(m % 2 == 0 && k == m / 2)
}

/// The factor |X|² is multiplied by (before doubling).
fn scale(opts: &SpectralOptions, len: usize, sample_rate: u32) -> f64 {
    let (s1, s2) = opts.window.sums(len);
    match opts.scaling {
        Scaling::Density => 1.0 / (f64::from(sample_rate) * s2),
        Scaling::Spectrum => 1.0 / (s1 * s1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_headers_name_the_unit() {
        assert_eq!(
            csv_header(Scaling::Density, View::Power),
            "frequency_hz,density_v2_per_hz"
        );
        assert_eq!(
            csv_header(Scaling::Spectrum, View::Db),
            "frequency_hz,spectrum_db"
        );
    }

    #[test]
    fn doubling_skips_dc_and_even_nyquist() {
        assert!(!doubled(0, 8) && doubled(1, 8) && doubled(3, 8) && !doubled(4, 8));
        assert!(doubled(3, 7) && !doubled(0, 7));
    }
}
