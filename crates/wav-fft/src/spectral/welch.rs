//! Welch's averaged periodogram and a spectrogram, streaming over a
//! [`MonoSource`] segment by segment, the segments in parallel (rayon: the
//! pool of a caller's `ThreadPool::install`, else the global one).

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;

use super::{Detrend, PowerSpectrum, Scaling, SpectralOptions, Window, doubled, scale};
use crate::Error;
use crate::wav::MonoSource;

/// How Welch's segments are combined (scipy's `average`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Average {
    /// The mean of the segments' periodograms.
    #[default]
    Mean,
    /// Their median, divided by [`median_bias`] of the number of segments
    /// (the median of χ²₂-distributed values is below their mean).
    Median,
}

impl std::str::FromStr for Average {
    type Err = String;
    fn from_str(s: &str) -> Result<Average, String> {
        match s {
            "mean" => Ok(Average::Mean),
            "median" => Ok(Average::Median),
            _ => Err(format!("unknown average {s:?} (known: mean, median)")),
        }
    }
}

/// scipy's `_median_bias(n)`: 1 + Σ_{i=1}^{(n−1)/2} (1/(2i+1) − 1/(2i)),
/// the ratio of the median of n periodogram values of noise to their mean
/// (1 for n ≤ 2, → ln 2 for large n).
///
/// ```
/// use wav_fft::spectral::median_bias;
/// assert_eq!(median_bias(1), 1.0);
/// assert!((median_bias(3) - (1.0 + 1.0 / 3.0 - 0.5)).abs() < 1e-15);
/// assert!((median_bias(1_000_001) - std::f64::consts::LN_2).abs() < 1e-6);
/// ```
pub fn median_bias(n: usize) -> f64 {
    let m = (n.saturating_sub(1)) / 2;
    1.0 + (1..=m)
        .map(|i| {
            let ii = 2.0 * i as f64;
            1.0 / (ii + 1.0) - 1.0 / ii
        })
        .sum::<f64>()
}

/// The parameters of [`welch`] (scipy.signal.welch's).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WelchOptions {
    /// Samples per segment (the DFT length).
    pub nperseg: usize,
    /// Samples shared by consecutive segments (default nperseg / 2).
    pub noverlap: Option<usize>,
    /// Window, detrending, scaling.
    pub spectral: SpectralOptions,
    /// Mean or median.
    pub average: Average,
    /// Bytes the median may keep of per-segment powers at once (default
    /// 512 MiB). The median needs every segment's value of a bin; when
    /// segments × bins × 4 bytes is more, the bins are done in several
    /// passes over the source, each recomputing the segments' FFTs.
    pub median_memory: usize,
}

impl WelchOptions {
    /// Segments of `nperseg` samples, half overlapping, Hann, constant
    /// detrend, density, mean: scipy's defaults for that `nperseg`.
    pub fn new(nperseg: usize) -> Self {
        WelchOptions {
            nperseg,
            noverlap: None,
            spectral: SpectralOptions::default(),
            average: Average::Mean,
            median_memory: 512 << 20,
        }
    }
    /// Sets the overlap.
    pub fn noverlap(mut self, n: usize) -> Self {
        self.noverlap = Some(n);
        self
    }
    /// Sets the window.
    pub fn window(mut self, w: Window) -> Self {
        self.spectral.window = w;
        self
    }
    /// Sets the detrending.
    pub fn detrend(mut self, d: Detrend) -> Self {
        self.spectral.detrend = d;
        self
    }
    /// Sets the scaling.
    pub fn scaling(mut self, s: Scaling) -> Self {
        self.spectral.scaling = s;
        self
    }
    /// Sets the average.
    pub fn average(mut self, a: Average) -> Self {
        self.average = a;
        self
    }
    /// Sets the median's memory budget, bytes.
    pub fn median_memory(mut self, bytes: usize) -> Self {
        self.median_memory = bytes;
        self
    }

    fn overlap(&self) -> usize {
        self.noverlap.unwrap_or(self.nperseg / 2)
    }

    /// Checks against a signal of `samples`; the number of segments.
    fn segments(&self, samples: usize) -> Result<usize, Error> {
        check_segments(self.nperseg, self.overlap(), samples)
    }
}

fn check_segments(nperseg: usize, noverlap: usize, samples: usize) -> Result<usize, Error> {
    if nperseg == 0 || nperseg > samples {
        return Err(Error::SegmentLength { nperseg, samples });
    }
    if noverlap >= nperseg {
        return Err(Error::Overlap { noverlap, nperseg });
    }
    let step = nperseg - noverlap;
    Ok((samples - noverlap) / step)
}

/// One worker's FFT state: a segment → |X\[k\]|² (f64 throughout).
struct Segments<'a, S: ?Sized> {
    source: &'a S,
    window: &'a [f64],
    detrend: Detrend,
    fft: Arc<dyn RealToComplex<f64>>,
    raw: Vec<f32>,
    input: Vec<f64>,
    output: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl<'a, S: MonoSource + ?Sized> Segments<'a, S> {
    fn new(
        source: &'a S,
        window: &'a [f64],
        detrend: Detrend,
        fft: &Arc<dyn RealToComplex<f64>>,
    ) -> Self {
        Segments {
            source,
            window,
            detrend,
            raw: vec![0.0; window.len()],
            input: fft.make_input_vec(),
            output: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft: Arc::clone(fft),
        }
    }

    /// |X\[k\]|² of the segment starting at `start`, k = 0..=nperseg/2.
    fn power(&mut self, start: usize) -> impl Iterator<Item = f64> + '_ {
        self.source.fill(start, &mut self.raw);
        let mean = match self.detrend {
            Detrend::None => 0.0,
            Detrend::Constant => {
                self.raw.iter().map(|&x| f64::from(x)).sum::<f64>() / self.raw.len() as f64
            }
        };
        for ((i, &x), &w) in self.input.iter_mut().zip(&self.raw).zip(self.window) {
            *i = (f64::from(x) - mean) * w;
        }
        self.fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .expect("buffers sized by the plan");
        self.output.iter().map(|c| c.norm_sqr())
    }
}

/// Welch's power spectral density estimate — `scipy.signal.welch(x, fs,
/// window, nperseg, noverlap, detrend=…, scaling=…, average=…)` with its
/// other arguments at their defaults (nfft = nperseg, one-sided, no
/// padding: the samples after the last whole segment are not used).
///
/// Segment i covers samples i·step .. i·step + nperseg (step = nperseg −
/// noverlap) for i < (N − noverlap) / step; each is read from `source`
/// (a memory-mapped WAV is decoded and mixed segment by segment), detrended,
/// windowed, transformed (realfft, f64) and its |X|² added up. The segments
/// are split into one contiguous run per thread of the current rayon pool,
/// so the memory is O(nperseg × threads) for [`Average::Mean`]; the median
/// keeps up to [`WelchOptions::median_memory`] bytes.
///
/// # Errors
/// [`Error::SegmentLength`] when nperseg is 0 or longer than the signal
/// (scipy shortens it with a warning; here it is an error);
/// [`Error::Overlap`] when noverlap ≥ nperseg.
pub fn welch<S: MonoSource + ?Sized>(
    source: &S,
    sample_rate: u32,
    opts: &WelchOptions,
) -> Result<PowerSpectrum, Error> {
    let n = source.len();
    let segments = opts.segments(n)?;
    let m = opts.nperseg;
    let step = m - opts.overlap();
    let bins = m / 2 + 1;
    let window = opts.spectral.window.values(m);
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(m);
    let factor = scale(&opts.spectral, m, sample_rate);
    let finish = |k: usize, p: f64| {
        let d = if doubled(k, m) { 2.0 } else { 1.0 };
        (p * factor * d) as f32
    };
    let threads = rayon::current_num_threads().max(1);
    let runs = threads.min(segments);
    let run = |r: usize| (r * segments / runs)..((r + 1) * segments / runs);
    let values: Vec<f32> = match opts.average {
        Average::Mean => {
            let total = (0..runs)
                .into_par_iter()
                .map(|r| {
                    let mut seg = Segments::new(source, &window, opts.spectral.detrend, &fft);
                    let mut acc = vec![0f64; bins];
                    for i in run(r) {
                        for (a, p) in acc.iter_mut().zip(seg.power(i * step)) {
                            *a += p;
                        }
                    }
                    acc
                })
                .reduce_with(|mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                })
                .unwrap_or_else(|| vec![0.0; bins]);
            total
                .iter()
                .enumerate()
                .map(|(k, &p)| finish(k, p / segments as f64))
                .collect()
        }
        Average::Median => {
            let bias = if segments > 1 {
                median_bias(segments)
            } else {
                1.0
            };
            let width = (opts.median_memory / 4 / segments).clamp(1, bins);
            let mut out = Vec::with_capacity(bins);
            for b0 in (0..bins).step_by(width) {
                let b1 = (b0 + width).min(bins);
                let w = b1 - b0;
                // Row i: segment i's |X|² for bins b0..b1.
                let mut rows = vec![0f32; segments * w];
                let mut parts = Vec::with_capacity(runs);
                let mut rest = rows.as_mut_slice();
                for r in 0..runs {
                    let len = run(r).len() * w;
                    let (a, b) = rest.split_at_mut(len);
                    parts.push((r, a));
                    rest = b;
                }
                parts.into_par_iter().for_each(|(r, part)| {
                    let mut seg = Segments::new(source, &window, opts.spectral.detrend, &fft);
                    for (i, row) in run(r).zip(part.chunks_mut(w)) {
                        for (o, p) in row.iter_mut().zip(seg.power(i * step).skip(b0)) {
                            *o = p as f32;
                        }
                    }
                });
                let med: Vec<f32> = (0..w)
                    .into_par_iter()
                    .map_init(
                        || Vec::with_capacity(segments),
                        |col, j| {
                            col.clear();
                            col.extend((0..segments).map(|i| f64::from(rows[i * w + j])));
                            finish(b0 + j, median(col) / bias)
                        },
                    )
                    .collect();
                out.extend(med);
            }
            out
        }
    };
    Ok(PowerSpectrum {
        bin_hz: f64::from(sample_rate) / m as f64,
        sample_rate,
        segment_len: m,
        segments,
        options: opts.spectral,
        values: values.into(),
    })
}

/// numpy's median: the middle value, or the mean of the two middle ones.
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (lo, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let m = *m;
    if n % 2 == 1 {
        m
    } else {
        let below = lo.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (below + m)
    }
}

/// The parameters of [`spectrogram`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpectrogramOptions {
    /// Samples per segment.
    pub nperseg: usize,
    /// Samples shared by consecutive segments (default nperseg / 2).
    pub noverlap: Option<usize>,
    /// Window, detrending, scaling.
    pub spectral: SpectralOptions,
    /// Time columns of the picture at most (consecutive segments are
    /// averaged into one column).
    pub columns: usize,
    /// Frequency rows of the picture: log-spaced from `f_lo` to `f_hi`.
    pub rows: usize,
    /// Lowest frequency, Hz.
    pub f_lo: f64,
    /// Highest frequency, Hz.
    pub f_hi: f64,
}

impl SpectrogramOptions {
    /// Segments of `nperseg`, half overlapping, Hann, density; 800 columns,
    /// 300 rows from 20 Hz to 20 kHz.
    pub fn new(nperseg: usize) -> Self {
        SpectrogramOptions {
            nperseg,
            noverlap: None,
            spectral: SpectralOptions::default(),
            columns: 800,
            rows: 300,
            f_lo: 20.0,
            f_hi: 20_000.0,
        }
    }
    /// Sets the overlap.
    pub fn noverlap(mut self, n: usize) -> Self {
        self.noverlap = Some(n);
        self
    }
    /// Sets window, detrending and scaling.
    pub fn spectral(mut self, s: SpectralOptions) -> Self {
        self.spectral = s;
        self
    }
    /// Sets the picture's grid: columns × rows between `f_lo` and `f_hi` Hz.
    pub fn grid(mut self, columns: usize, rows: usize, f_lo: f64, f_hi: f64) -> Self {
        self.columns = columns;
        self.rows = rows;
        self.f_lo = f_lo;
        self.f_hi = f_hi;
        self
    }
}

/// A spectrogram reduced to a picture's grid ([`spectrogram`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Spectrogram {
    /// Time columns.
    pub columns: usize,
    /// Frequency rows.
    pub rows: usize,
    /// Each column's time span, seconds (start, end of its segments).
    pub times_s: Vec<(f64, f64)>,
    /// Row r covers row_edges_hz\[r\] .. row_edges_hz\[r + 1\] (log-spaced).
    pub row_edges_hz: Vec<f64>,
    /// Power (in the options' scaling) at column c, row r:
    /// `values[c * rows + r]` — the mean over the column's segments, then
    /// the maximum over the row's bins (a row narrower than a bin takes the
    /// bin it falls in), so no narrow tone is lost.
    pub values: Vec<f32>,
    /// Segments in all.
    pub segments: usize,
    /// Hz between two bins of a segment.
    pub bin_hz: f64,
}

impl Spectrogram {
    /// The value at column `c`, row `r`.
    pub fn at(&self, c: usize, r: usize) -> f32 {
        self.values[c * self.rows + r]
    }
}

/// An STFT power spectrogram (`scipy.signal.spectrogram(x, fs, window,
/// nperseg, noverlap, detrend=…, scaling=…, mode='psd')`'s segments and
/// scaling, one-sided), streamed like [`welch`] and reduced to a picture:
/// at most `columns` time columns (the mean of consecutive segments) ×
/// `rows` log-spaced frequency rows (the maximum of their bins). Columns
/// are computed in parallel; memory O(nperseg × threads + columns × rows).
///
/// # Errors
/// As [`welch`]; [`Error::SegmentLength`] also for an empty grid or a
/// frequency range that is not 0 < f_lo < f_hi.
pub fn spectrogram<S: MonoSource + ?Sized>(
    source: &S,
    sample_rate: u32,
    opts: &SpectrogramOptions,
) -> Result<Spectrogram, Error> {
    let n = source.len();
    let m = opts.nperseg;
    let noverlap = opts.noverlap.unwrap_or(m / 2);
    let segments = check_segments(m, noverlap, n)?;
    if opts.columns == 0 || opts.rows == 0 || !(opts.f_lo > 0.0 && opts.f_hi > opts.f_lo) {
        return Err(Error::Grid {
            columns: opts.columns,
            rows: opts.rows,
            f_lo: opts.f_lo,
            f_hi: opts.f_hi,
        });
    }
    let step = m - noverlap;
    let bins = m / 2 + 1;
    let fs = f64::from(sample_rate);
    let bin_hz = fs / m as f64;
    let columns = opts.columns.min(segments);
    let rows = opts.rows;
    let span = (opts.f_hi / opts.f_lo).ln();
    let row_edges_hz: Vec<f64> = (0..=rows)
        .map(|r| opts.f_lo * (span * r as f64 / rows as f64).exp())
        .collect();
    // Bins of each row: those with lo ≤ f < hi, else the one lo falls in.
    let row_bins: Vec<(usize, usize)> = row_edges_hz
        .windows(2)
        .map(|e| {
            let a = ((e[0] / bin_hz).ceil() as usize).min(bins - 1);
            let b = ((e[1] / bin_hz).ceil() as usize).min(bins);
            if a < b {
                (a, b)
            } else {
                let k = ((e[0] / bin_hz).round() as usize).min(bins - 1);
                (k, k + 1)
            }
        })
        .collect();
    let window = opts.spectral.window.values(m);
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(m);
    let factor = scale(&opts.spectral, m, sample_rate);
    let col_segs = |c: usize| (c * segments / columns)..((c + 1) * segments / columns);
    let per_col: Vec<Vec<f32>> = (0..columns)
        .into_par_iter()
        .map(|c| {
            let mut seg = Segments::new(source, &window, opts.spectral.detrend, &fft);
            let mut acc = vec![0f64; bins];
            let segs = col_segs(c);
            let count = segs.len().max(1) as f64;
            for i in segs {
                for (a, p) in acc.iter_mut().zip(seg.power(i * step)) {
                    *a += p;
                }
            }
            row_bins
                .iter()
                .map(|&(a, b)| {
                    (a..b)
                        .map(|k| {
                            let d = if doubled(k, m) { 2.0 } else { 1.0 };
                            acc[k] / count * factor * d
                        })
                        .fold(0.0, f64::max) as f32
                })
                .collect()
        })
        .collect();
    let times_s = (0..columns)
        .map(|c| {
            let s = col_segs(c);
            (
                (s.start * step) as f64 / fs,
                ((s.end.max(s.start + 1) - 1) * step + m) as f64 / fs,
            )
        })
        .collect();
    Ok(Spectrogram {
        columns,
        rows,
        times_s,
        row_edges_hz,
        values: per_col.concat(),
        segments,
        bin_hz,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_numpys() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [5.0]), 5.0);
    }

    #[test]
    fn segment_count_is_scipys() {
        // scipy: (N - noverlap) // step.
        assert_eq!(check_segments(256, 128, 1000).unwrap(), 6);
        assert_eq!(check_segments(1000, 0, 1000).unwrap(), 1);
        assert_eq!(check_segments(7, 3, 23).unwrap(), 5);
        assert!(matches!(
            check_segments(1001, 0, 1000),
            Err(Error::SegmentLength { .. })
        ));
        assert!(matches!(
            check_segments(8, 8, 1000),
            Err(Error::Overlap { .. })
        ));
    }
}
