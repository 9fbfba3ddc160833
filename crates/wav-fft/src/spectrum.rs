//! The spectrum of a whole signal: magnitudes per frequency bin, the
//! audible band, the strongest peaks, and what a plot column shows.
//!
//! [`realfft_spectrum`] is the book's simple program: one FFT of the whole
//! signal. The signal is real, so a real-input FFT (realfft over rustfft)
//! does half the work and needs half the memory of the book's complex FFT.

use std::ops::{Deref, DerefMut, Range};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use realfft::RealFftPlanner;

use crate::buffer::Buffer;

/// Lowest frequency plotted, Hz (the audible band starts here).
pub const FREQ_MIN: f64 = 20.0;
/// Highest frequency plotted, Hz.
pub const FREQ_MAX: f64 = 20_000.0;

/// Magnitudes of a spectrum: `mags[k]` is |X\[k\]| at `k * bin_hz` Hz, for
/// `k` from 0 (0 Hz, DC) to N/2 included (the Nyquist frequency when N is
/// even): N/2 + 1 bins, what numpy's `rfft` returns. (The book keeps
/// `FFT[:N // 2]`; its plots only show the audible band, see [`Spectrum::band`].)
///
/// Made with [`Spectrum::new`] (or by the FFTs): the struct is
/// `#[non_exhaustive]`, so a literal does not compile outside this crate:
///
/// ```compile_fail,E0639
/// let s = wav_fft::Spectrum { bin_hz: 1.0, mags: vec![1.0f32].into() };
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Spectrum {
    /// Hz between two bins (sample rate / N, N the number of samples).
    pub bin_hz: f64,
    /// One magnitude per bin, starting at 0 Hz.
    pub mags: Magnitudes,
}

/// The magnitudes of a [`Spectrum`]: a slice of `f32` (`Deref`), kept in a
/// `Vec` or in the big buffer an FFT computed them in (no copy).
///
/// ```
/// let m: wav_fft::spectrum::Magnitudes = vec![1.0, 2.0].into();
/// assert_eq!(m[1], 2.0);
/// assert_eq!(m.len(), 2);
/// ```
pub struct Magnitudes(Storage);

enum Storage {
    Vec(Vec<f32>),
    Buffer(Buffer, usize),
}

impl Magnitudes {
    pub(crate) fn in_buffer(buffer: Buffer, len: usize) -> Self {
        assert!(len <= buffer.floats().len(), "magnitudes fit their buffer");
        Magnitudes(Storage::Buffer(buffer, len))
    }
}

impl From<Vec<f32>> for Magnitudes {
    fn from(v: Vec<f32>) -> Self {
        Magnitudes(Storage::Vec(v))
    }
}

impl Deref for Magnitudes {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match &self.0 {
            Storage::Vec(v) => v,
            Storage::Buffer(b, len) => &b.floats()[..*len],
        }
    }
}

impl DerefMut for Magnitudes {
    fn deref_mut(&mut self) -> &mut [f32] {
        match &mut self.0 {
            Storage::Vec(v) => v,
            Storage::Buffer(b, len) => &mut b.floats_mut()[..*len],
        }
    }
}

impl Clone for Magnitudes {
    fn clone(&self) -> Self {
        self.to_vec().into()
    }
}

impl PartialEq for Magnitudes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Magnitudes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Magnitudes({} bins)", self.len())
    }
}

/// One spectral peak.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Peak {
    /// Its frequency, Hz (the bin's centre).
    pub freq_hz: f64,
    /// |X\[k\]| at that bin.
    pub magnitude: f32,
}

/// Time spent in each step of an FFT ([`realfft_spectrum_timed`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct FftTimes {
    /// Planning (twiddle tables, choosing algorithms).
    pub plan: Duration,
    /// The transform itself.
    pub execute: Duration,
    /// Magnitudes (and any post-processing).
    pub post: Duration,
}

impl FftTimes {
    /// Everything.
    pub fn total(&self) -> Duration {
        self.plan + self.execute + self.post
    }
}

impl Spectrum {
    /// A spectrum of `mags` (bin k at k·`bin_hz` Hz).
    ///
    /// ```
    /// let s = wav_fft::Spectrum::new(0.5, vec![1.0, 2.0]);
    /// assert_eq!(s.max_freq(), 0.5);
    /// ```
    pub fn new(bin_hz: f64, mags: impl Into<Magnitudes>) -> Spectrum {
        Spectrum {
            bin_hz,
            mags: mags.into(),
        }
    }

    /// Frequency of bin `k`, Hz.
    pub fn freq(&self, k: usize) -> f64 {
        k as f64 * self.bin_hz
    }

    /// The highest frequency with a bin.
    pub fn max_freq(&self) -> f64 {
        self.freq(self.mags.len().saturating_sub(1))
    }

    /// The bins with `lo < f < hi` (strictly, as the book's mask), never
    /// including 0 Hz.
    pub fn band(&self, lo: f64, hi: f64) -> Range<usize> {
        band_of(self.bin_hz, self.mags.len(), lo, hi)
    }

    /// The audible band, 20 Hz–20 kHz (what the book plots).
    pub fn audible(&self) -> Range<usize> {
        self.band(FREQ_MIN, FREQ_MAX)
    }

    /// The `n` strongest local maxima with `lo < f < hi`, strongest first.
    /// Peaks closer than a few bins (or 2 Hz) to a stronger one are skipped:
    /// they are the side lobes of the same tone.
    pub fn peaks(&self, n: usize, lo: f64, hi: f64) -> Vec<Peak> {
        let r = self.band(lo, hi);
        let m: &[f32] = &self.mags;
        let sep = peak_separation(self.bin_hz);
        let first = r.start.max(1);
        // Each chunk keeps its n best separated local maxima; then the
        // chunks' lists are merged the same way. One pass, no sorting of
        // millions of candidates; most bins fail the first comparison.
        let end = r.end.max(first);
        let chunk = peak_chunk(n, sep);
        let lists: Vec<Vec<(usize, f32)>> = (first..end)
            .step_by(chunk)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| chunk_peaks(m, 0, m.len(), start..(start + chunk).min(end), n, sep))
            .collect();
        let best = merge_peaks(lists.into_iter().flatten(), n, sep);
        best.into_iter()
            .map(|(k, v)| Peak {
                freq_hz: self.freq(k),
                magnitude: v,
            })
            .collect()
    }

    /// What a plot with `columns` pixel columns on a log axis from `lo` to
    /// `hi` Hz must draw so that no peak is lost: for each column, the
    /// minimum and maximum magnitude of the bins that fall in it (`None` when
    /// no bin does). One pass over the bins, in parallel.
    ///
    /// # Examples
    /// ```
    /// let mut mags = vec![1.0f32; 100_000];
    /// mags[54_321] = 50.0; // a one-bin spike
    /// let s = wav_fft::Spectrum::new(0.2, mags);
    /// let env = s.column_envelope(20.0, 20_000.0, 800);
    /// let top = env.iter().flatten().map(|c| c.1).fold(0.0, f32::max);
    /// assert_eq!(top, 50.0); // the envelope keeps it
    /// ```
    pub fn column_envelope(&self, lo: f64, hi: f64, columns: usize) -> Vec<Option<(f32, f32)>> {
        let span = (hi / lo).ln();
        let edge = |c: usize| lo * (span * c as f64 / columns as f64).exp();
        (0..columns)
            .into_par_iter()
            .map(|c| {
                let (a, b) = (edge(c), edge(c + 1));
                let first = ((a / self.bin_hz).ceil() as usize).max(1);
                let last = ((b / self.bin_hz).ceil() as usize).min(self.mags.len());
                let bins = self.mags.get(first..last)?;
                let min = bins.iter().copied().fold(f32::INFINITY, f32::min);
                let max = bins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                (first < last).then_some((min, max))
            })
            .collect()
    }

    /// The book's optimised plot: every `step`-th bin of `range` (frequency,
    /// magnitude). A narrow peak between two kept bins disappears.
    pub fn decimated(&self, range: Range<usize>, step: usize) -> Vec<(f64, f32)> {
        let m: &[f32] = &self.mags;
        range
            .step_by(step.max(1))
            .map(|k| (self.freq(k), m[k]))
            .collect()
    }

    /// Largest magnitude relative difference from `reference`:
    /// `max |a - b| / max |b|` over the bins both have.
    pub fn max_relative_error(&self, reference: &Spectrum) -> f64 {
        let n = self.mags.len().min(reference.mags.len());
        let (diff, top) = self.mags[..n]
            .par_iter()
            .zip(&reference.mags[..n])
            .map(|(&a, &b)| ((f64::from(a) - f64::from(b)).abs(), f64::from(b).abs()))
            .reduce(|| (0.0, 0.0), |x, y| (x.0.max(y.0), x.1.max(y.1)));
        if top == 0.0 { diff } else { diff / top }
    }
}

/// The bins of a spectrum of `n` bins `bin_hz` apart with `lo < f < hi`
/// ([`Spectrum::band`]).
pub(crate) fn band_of(bin_hz: f64, n: usize, lo: f64, hi: f64) -> Range<usize> {
    if n == 0 {
        return 0..0;
    }
    let first = ((lo / bin_hz).floor() as usize)
        .saturating_add(1)
        .clamp(1, n);
    let mut last = ((hi / bin_hz).ceil() as usize).clamp(first, n);
    if last > first && (last - 1) as f64 * bin_hz >= hi {
        last -= 1;
    }
    first..last
}

/// How many bins apart two peaks must be ([`Spectrum::peaks`]).
pub(crate) fn peak_separation(bin_hz: f64) -> usize {
    ((2.0 / bin_hz).ceil() as usize).max(8)
}

/// Bins per chunk of [`Spectrum::peaks`]: long enough to hold many
/// separated peaks, so that each chunk finds its n best early and skips the
/// rest against their floor (until it has n, a chunk offers every local
/// maximum: with 8·n·sep bins that was an eighth of the book-size spectrum
/// and 0.28 s; with 64·n·sep, 0.10–0.17 s).
pub(crate) fn peak_chunk(n: usize, sep: usize) -> usize {
    (64 * n.max(1) * sep).max(1 << 16)
}

/// One chunk of [`Spectrum::peaks`]: the `n` best separated local maxima
/// of bins `range`, scanned in order. `m[i]` is bin `offset + i` and holds
/// every bin of `range` and its neighbours; `len` is the spectrum's bins.
pub(crate) fn chunk_peaks(
    m: &[f32],
    offset: usize,
    len: usize,
    range: Range<usize>,
    n: usize,
    sep: usize,
) -> Vec<(usize, f32)> {
    let at = |k: usize| m[k - offset];
    let mut best = Vec::with_capacity(n + 1);
    let mut floor = 0.0f32;
    for s0 in range.clone().step_by(256) {
        let s1 = (s0 + 256).min(range.end);
        // Skip a run of bins none of which beats the floor (a branch-free
        // maximum: most runs, once n peaks are known).
        let top = m[s0 - offset..s1 - offset]
            .iter()
            .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
        if top <= floor {
            continue;
        }
        for k in s0..s1 {
            let v = at(k);
            if v > floor && v >= at(k - 1) && (k + 1 >= len || v > at(k + 1)) {
                offer(&mut best, n, sep, k, v);
                if best.len() == n {
                    floor = best.iter().map(|b| b.1).fold(f32::INFINITY, f32::min);
                }
            }
        }
    }
    best
}

/// The chunks' lists of [`Spectrum::peaks`], in chunk order, merged the
/// same way: the `n` best, strongest first.
pub(crate) fn merge_peaks(
    lists: impl Iterator<Item = (usize, f32)>,
    n: usize,
    sep: usize,
) -> Vec<(usize, f32)> {
    let mut best = Vec::new();
    for (k, v) in lists {
        offer(&mut best, n, sep, k, v);
    }
    best.sort_by(|a, b| b.1.total_cmp(&a.1));
    best
}

/// Offers the local maximum (k, v) to `best` (at most `n` entries, none
/// closer than `sep` bins to a stronger one).
fn offer(best: &mut Vec<(usize, f32)>, n: usize, sep: usize, k: usize, v: f32) {
    if n == 0 {
        return;
    }
    if best.len() == n && best.iter().all(|&(_, b)| b >= v) {
        return;
    }
    if best.iter().any(|&(j, b)| j.abs_diff(k) <= sep && b >= v) {
        return;
    }
    best.retain(|&(j, _)| j.abs_diff(k) > sep);
    best.push((k, v));
    if best.len() > n {
        let weakest = (0..best.len())
            .min_by(|&a, &b| best[a].1.total_cmp(&best[b].1))
            .unwrap_or(0);
        best.swap_remove(weakest);
    }
}

/// Peak memory, in bytes and signal included, of [`realfft_spectrum`] on
/// `n` samples: an upper bound measured for realfft 3.5 over rustfft 6.4
/// (peak resident memory of the plan and the transform, 1 M to 64 M
/// samples). realfft transforms N/2 complex numbers for an even N and N
/// for an odd one; rustfft plans a length with a prime factor above 31
/// (its largest butterfly) with Bluestein's or Rader's algorithm, whose
/// buffers are several times the signal:
///
/// | N | largest prime factor of the complex length | measured | bound |
/// |---|---|---|---|
/// | even | ≤ 31 | 14 bytes per sample | 16 |
/// | even | > 31 (2 × prime, …) | 48 | 52 |
/// | odd | ≤ 31 | 32 | 34 |
/// | odd | > 31 (a prime, …) | 92 | 96 |
///
/// plus 4 MiB (the allocator's and the threads' fixed costs, measured up
/// to 3 MB over the per-sample figure at a million samples).
///
/// A prime N of the book's size (267 million samples) needs about 25 GB.
///
/// ```
/// use wav_fft::spectrum::realfft_peak_bytes;
/// // 16 bytes per sample and 4 MiB for a power of two:
/// assert_eq!(realfft_peak_bytes(1 << 20), 20 << 20);
/// // A prime a little longer: about 5 times as much.
/// assert!(realfft_peak_bytes(1_000_003) > 4 * realfft_peak_bytes(1 << 20));
/// ```
pub fn realfft_peak_bytes(n: usize) -> u64 {
    let complex = if n % 2 == 0 { n / 2 } else { n };
    let smooth = only_factors(complex.max(1), &[2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31]);
    let per_sample = match (n % 2 == 0, smooth) {
        (true, true) => 16,
        (true, false) => 52,
        (false, true) => 34,
        (false, false) => 96,
    };
    (n as u64).saturating_mul(per_sample) + (4 << 20)
}

/// Checks that [`realfft_spectrum`] of `n` samples fits in the memory the
/// operating system reports available (`MemAvailable` of `/proc/meminfo`;
/// where that cannot be read, nothing is checked), so that a program
/// refuses a length it cannot transform instead of being killed by the
/// kernel half-way.
///
/// # Errors
/// [`Error::RealfftMemory`](crate::Error::RealfftMemory) when
/// [`realfft_peak_bytes`] exceeds the memory available.
pub fn check_realfft_memory(n: usize) -> Result<(), crate::Error> {
    match available_memory() {
        Some(available) => check_realfft_memory_within(n, available),
        None => Ok(()),
    }
}

/// [`check_realfft_memory`] against `available` bytes.
///
/// # Errors
/// [`Error::RealfftMemory`](crate::Error::RealfftMemory) when
/// [`realfft_peak_bytes`] exceeds `available`.
///
/// ```
/// use wav_fft::spectrum::check_realfft_memory_within;
/// assert!(check_realfft_memory_within(1 << 20, 1 << 30).is_ok());
/// // A prime length of 10 million samples needs about 0.9 GB.
/// let e = check_realfft_memory_within(9_999_991, 500_000_000).unwrap_err();
/// assert!(e.to_string().contains("9999991 samples"), "{e}");
/// ```
pub fn check_realfft_memory_within(n: usize, available: u64) -> Result<(), crate::Error> {
    let needs = realfft_peak_bytes(n);
    if needs > available {
        return Err(crate::Error::RealfftMemory {
            samples: n,
            needs,
            available,
        });
    }
    Ok(())
}

/// Whether m (≥ 1) is a product of `primes` only.
pub(crate) fn only_factors(mut m: usize, primes: &[usize]) -> bool {
    for &p in primes {
        while m % p == 0 {
            m /= p;
        }
    }
    m == 1
}

/// `MemAvailable` of `/proc/meminfo`, bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The simple FFT: one real-input FFT (realfft) of the whole signal,
/// single-threaded, then magnitudes of bins 0..=N/2 (an empty signal gives
/// no bins). Takes the signal by value: realfft uses
/// it as scratch, and the magnitudes are written back into its memory, so
/// the peak is the signal plus the complex output.
///
/// # Examples
/// ```
/// // 1 s of a 100 Hz cosine at 1 kHz: one peak at 100 Hz.
/// let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.2 * std::f32::consts::PI).cos()).collect();
/// let s = wav_fft::spectrum::realfft_spectrum(x, 1000);
/// assert_eq!(s.peaks(1, 1.0, 499.0)[0].freq_hz, 100.0);
/// assert!((s.mags[100] - 500.0).abs() < 0.01); // N / 2 for amplitude 1
/// ```
pub fn realfft_spectrum(signal: Vec<f32>, sample_rate: u32) -> Spectrum {
    realfft_spectrum_timed(signal, sample_rate).0
}

/// [`realfft_spectrum`], and the time of each step (plan, transform,
/// magnitudes).
pub fn realfft_spectrum_timed(mut signal: Vec<f32>, sample_rate: u32) -> (Spectrum, FftTimes) {
    let n = signal.len();
    if n == 0 {
        let spec = Spectrum {
            bin_hz: f64::from(sample_rate),
            mags: Vec::new().into(),
        };
        return (spec, FftTimes::default());
    }
    let t = Instant::now();
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n);
    let mut out = fft.make_output_vec();
    let mut scratch = vec![realfft::num_complex::Complex::default(); fft.get_scratch_len()];
    let plan = t.elapsed();
    let t = Instant::now();
    fft.process_with_scratch(&mut signal, &mut out, &mut scratch)
        .expect("buffers sized by the plan");
    drop(scratch);
    let execute = t.elapsed();
    let t = Instant::now();
    let bins = n / 2 + 1;
    signal.truncate(bins);
    signal
        .par_iter_mut()
        .zip(&out[..bins])
        .for_each(|(m, c)| *m = (c.re * c.re + c.im * c.im).sqrt());
    drop(out);
    let spec = Spectrum {
        bin_hz: f64::from(sample_rate) / n as f64,
        mags: signal.into(),
    };
    (
        spec,
        FftTimes {
            plan,
            execute,
            post: t.elapsed(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `peaks` without chunks or skipped runs: every local maximum offered
    /// in order (what one chunk does, bin by bin).
    fn peaks_one_by_one(s: &Spectrum, n: usize, lo: f64, hi: f64) -> Vec<(usize, f32)> {
        let r = s.band(lo, hi);
        let m: &[f32] = &s.mags;
        let sep = ((2.0 / s.bin_hz).ceil() as usize).max(8);
        let mut best = Vec::new();
        for k in r.start.max(1)..r.end.max(r.start.max(1)) {
            let v = m[k];
            if v > 0.0 && v >= m[k - 1] && (k + 1 >= m.len() || v > m[k + 1]) {
                offer(&mut best, n, sep, k, v);
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        best
    }

    proptest! {
        /// Skipping runs below the floor changes nothing (one chunk: fewer
        /// bins than a chunk holds).
        #[test]
        fn skipped_runs_hold_no_peak(
            mags in proptest::collection::vec(0.0f32..1.0, 2..5000),
            spikes in proptest::collection::vec((0usize..5000, 0.9f32..1.5), 0..40),
            n in 0usize..10,
        ) {
            let mut mags = mags;
            for (k, v) in spikes {
                let len = mags.len();
                mags[k % len] = v;
            }
            let s = Spectrum { bin_hz: 1.0, mags: mags.into() };
            let got: Vec<(usize, f32)> = s
                .peaks(n, 0.0, 1e9)
                .iter()
                .map(|p| (p.freq_hz as usize, p.magnitude))
                .collect();
            prop_assert_eq!(got, peaks_one_by_one(&s, n, 0.0, 1e9));
        }
    }

    fn spec(n: usize, bin_hz: f64) -> Spectrum {
        Spectrum {
            bin_hz,
            mags: vec![1.0; n].into(),
        }
    }

    #[test]
    fn band_is_strict_and_skips_dc() {
        let s = spec(1000, 1.0);
        assert_eq!(s.band(20.0, 30.0), 21..30);
        assert_eq!(s.band(0.0, 5.0), 1..5);
        assert_eq!(s.band(20.5, 30.5), 21..31);
        assert_eq!(s.band(900.0, 5000.0), 901..1000);
        assert_eq!(spec(0, 1.0).band(20.0, 30.0), 0..0);
        assert_eq!(spec(1, 1.0).band(20.0, 30.0), 1..1);
    }

    #[test]
    fn realfft_spectrum_has_dc_and_nyquist() {
        let s = realfft_spectrum(vec![1.0, -1.0, 1.0, -1.0], 4);
        assert_eq!(s.mags.len(), 3);
        assert_eq!(&s.mags[..], &[0.0, 0.0, 4.0]);
        let s = realfft_spectrum(vec![0.5], 4);
        assert_eq!(&s.mags[..], &[0.5]);
        let s = realfft_spectrum(vec![], 4);
        assert!(s.mags.is_empty());
        assert!(s.peaks(3, 0.0, 10.0).is_empty());
    }

    #[test]
    fn peaks_skip_side_lobes() {
        let mut s = spec(10_000, 1.0);
        s.mags[1000] = 100.0;
        s.mags[1003] = 30.0; // a side lobe of the same tone
        s.mags[5000] = 50.0;
        let p = s.peaks(2, 20.0, 9000.0);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].freq_hz, 1000.0);
        assert_eq!(p[1].freq_hz, 5000.0);
    }

    #[test]
    fn decimation_can_drop_a_spike_the_envelope_keeps() {
        let mut s = spec(200_000, 0.1);
        s.mags[123_457] = 1e4;
        let kept = s.decimated(s.audible(), 100);
        assert!(kept.iter().all(|p| p.1 < 2.0));
        let env = s.column_envelope(20.0, 20_000.0, 1000);
        assert!(env.iter().flatten().any(|c| c.1 == 1e4));
    }
}
