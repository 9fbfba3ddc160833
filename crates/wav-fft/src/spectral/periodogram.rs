//! The periodogram of a whole signal: one DFT of exactly N samples (the
//! exact parallel FFT, or one realfft), detrended, windowed and scaled.

use rayon::prelude::*;
use realfft::RealFftPlanner;
use rustfft::num_complex::Complex;

use super::{Detrend, PowerSpectrum, SpectralOptions, doubled, scale};
use crate::Error;
use crate::parallel::{self, ExactPlan};
use crate::spectrum::realfft_spectrum;
use crate::wav::MonoSource;

/// Samples per parallel task when a whole source is read for its mean.
const BLOCK: usize = 1 << 16;

/// The mean of a source (f64 sums, in parallel blocks).
pub(super) fn source_mean<S: MonoSource + ?Sized>(source: &S) -> f64 {
    let n = source.len();
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map_init(
            || vec![0f32; BLOCK],
            |buf, b| {
                let start = b * BLOCK;
                let len = BLOCK.min(n - start);
                source.fill(start, &mut buf[..len]);
                buf[..len].iter().map(|&x| f64::from(x)).sum::<f64>()
            },
        )
        .sum();
    sum / n as f64
}

/// A source detrended and windowed on the fly (what the exact FFT reads).
struct Prepared<S> {
    source: S,
    opts: SpectralOptions,
    mean: f64,
    len: usize,
}

impl<S: MonoSource> Prepared<S> {
    fn new(source: S, opts: &SpectralOptions) -> Self {
        let mean = match opts.detrend {
            Detrend::None => 0.0,
            Detrend::Constant => source_mean(&source),
        };
        Prepared {
            len: source.len(),
            source,
            opts: *opts,
            mean,
        }
    }

    fn apply(&self, start: usize, out: &mut [f32]) {
        let mut w = [0f64; 1024];
        for (b, chunk) in out.chunks_mut(1024).enumerate() {
            let s = start + b * 1024;
            let have = self.len.saturating_sub(s).min(chunk.len());
            let w = &mut w[..have];
            self.opts.window.fill(s, self.len, w);
            for (x, &wv) in chunk[..have].iter_mut().zip(w.iter()) {
                *x = ((f64::from(*x) - self.mean) * wv) as f32;
            }
            chunk[have..].fill(0.0);
        }
    }
}

impl<S: MonoSource> MonoSource for Prepared<S> {
    fn len(&self) -> usize {
        self.len
    }

    fn fill(&self, start: usize, out: &mut [f32]) {
        self.source.fill(start, out);
        if out.len() > 4 * BLOCK {
            out.par_chunks_mut(BLOCK)
                .enumerate()
                .for_each(|(i, c)| self.apply(start + i * BLOCK, c));
        } else {
            self.apply(start, out);
        }
    }

    fn into_vec(self) -> Option<Vec<f32>> {
        self.source.into_vec()
    }
}

/// Turns magnitudes |X\[k\]| (in place) into the scaled one-sided power.
fn to_power(mags: &mut [f32], n: usize, factor: f64) {
    mags.par_iter_mut().enumerate().for_each(|(k, v)| {
        let m = f64::from(*v);
        let d = if doubled(k, n) { 2.0 } else { 1.0 };
        *v = (m * m * factor * d) as f32;
    });
}

fn empty() -> Error {
    Error::TooShort {
        samples: 0,
        needed: 1,
    }
}

/// The periodogram of the whole `source` — `scipy.signal.periodogram(x, fs,
/// window, detrend=…, scaling=…)` — through the exact parallel FFT
/// ([`parallel::exact`]): bins 0..=N/2 for every N, no padding. The source
/// is detrended and windowed while the FFT reads it, so a memory-mapped WAV
/// is never copied whole; a `Vec<f32>`'s memory is reused for the result.
///
/// # Errors
/// [`Error::TooShort`] for an empty source; [`Error::Memory`] when the
/// FFT's buffers cannot be had.
pub fn periodogram<S: MonoSource>(
    source: S,
    sample_rate: u32,
    opts: &SpectralOptions,
) -> Result<PowerSpectrum, Error> {
    let n = source.len();
    if n == 0 {
        return Err(empty());
    }
    let plan = ExactPlan::new(n)?;
    let prepared = Prepared::new(source, opts);
    let mut spec = parallel::exact(prepared, sample_rate, &plan)?;
    to_power(&mut spec.mags, n, scale(opts, n, sample_rate));
    Ok(PowerSpectrum {
        bin_hz: spec.bin_hz,
        sample_rate,
        segment_len: n,
        segments: 1,
        options: *opts,
        values: spec.mags,
    })
}

/// Detrends and windows a signal in place (f64 arithmetic).
fn prepare_in_place(signal: &mut [f32], opts: &SpectralOptions) {
    let n = signal.len();
    let mean = match opts.detrend {
        Detrend::None => 0.0,
        Detrend::Constant => source_mean(&SliceSource(signal)),
    };
    let window = opts.window;
    signal
        .par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, chunk)| {
            let mut w = vec![0f64; chunk.len()];
            window.fill(b * BLOCK, n, &mut w);
            for (x, wv) in chunk.iter_mut().zip(w) {
                *x = ((f64::from(*x) - mean) * wv) as f32;
            }
        });
}

/// A borrowed slice as a source (for the mean).
struct SliceSource<'a>(&'a [f32]);

impl MonoSource for SliceSource<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn fill(&self, start: usize, out: &mut [f32]) {
        let have = self.0.len().saturating_sub(start).min(out.len());
        if have > 0 {
            out[..have].copy_from_slice(&self.0[start..start + have]);
        }
        out[have..].fill(0.0);
    }
}

/// [`periodogram`] with one realfft of the whole signal on one thread (the
/// simple program's way; same values within f32 rounding).
///
/// # Errors
/// [`Error::TooShort`] for an empty signal;
/// [`Error::RealfftMemory`] when the FFT would not fit in the memory
/// available ([`check_realfft_memory`](crate::spectrum::check_realfft_memory)).
pub fn periodogram_serial(
    mut signal: Vec<f32>,
    sample_rate: u32,
    opts: &SpectralOptions,
) -> Result<PowerSpectrum, Error> {
    let n = signal.len();
    if n == 0 {
        return Err(empty());
    }
    crate::spectrum::check_realfft_memory(n)?;
    prepare_in_place(&mut signal, opts);
    let mut spec = realfft_spectrum(signal, sample_rate);
    to_power(&mut spec.mags, n, scale(opts, n, sample_rate));
    Ok(PowerSpectrum {
        bin_hz: spec.bin_hz,
        sample_rate,
        segment_len: n,
        segments: 1,
        options: *opts,
        values: spec.mags,
    })
}

/// A scaled complex one-sided spectrum ([`periodogram_complex`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ComplexSpectrum {
    /// Hz between two bins (fs / N).
    pub bin_hz: f64,
    /// Samples per second.
    pub sample_rate: u32,
    /// The DFT length N.
    pub segment_len: usize,
    /// What produced it.
    pub options: SpectralOptions,
    /// X\[k\] · √scale for k = 0..=N/2 (not doubled: the power of the
    /// `spectrum`/`density` periodogram is |value|², doubled off the edges).
    pub values: Vec<Complex<f32>>,
}

/// The complex spectrum of the whole signal, detrended, windowed and
/// scaled by √scale — `scipy.signal.spectrogram(x, fs, window, nperseg=N,
/// noverlap=0, detrend=…, scaling=…, mode='complex')[2][:, 0]`. One realfft
/// on one thread (memory: the signal's copy plus N/2 + 1 complex numbers).
///
/// # Errors
/// [`Error::TooShort`] for an empty signal.
pub fn periodogram_complex(
    signal: &[f32],
    sample_rate: u32,
    opts: &SpectralOptions,
) -> Result<ComplexSpectrum, Error> {
    let n = signal.len();
    if n == 0 {
        return Err(empty());
    }
    let mut x = signal.to_vec();
    prepare_in_place(&mut x, opts);
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
    let mut out = fft.make_output_vec();
    fft.process(&mut x, &mut out)
        .expect("buffers sized by the plan");
    let s = scale(opts, n, sample_rate).sqrt() as f32;
    out.iter_mut().for_each(|c| *c *= s);
    Ok(ComplexSpectrum {
        bin_hz: f64::from(sample_rate) / n as f64,
        sample_rate,
        segment_len: n,
        options: *opts,
        values: out,
    })
}
