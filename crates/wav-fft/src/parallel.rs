//! Parallel spectra: the book's two attempts and the exact one it leaves open.
//!
//! - [`contiguous_wrong`] — the book's `paralelo-mal`: cut the signal into P
//!   contiguous parts, FFT each, add. Each part is a shorter signal, so its
//!   bins are P times wider; plotted on the whole signal's frequency axis
//!   (the book's mistake) every tone shows at 1/P of its frequency.
//! - [`strided`] — the book's `paralelo-ok`: P sub-signals `x[p::P]`, FFT
//!   each, add magnitudes. Each sub-signal is sampled at fs / P, so the
//!   spectrum stops at the Nyquist limit fs / (2P), and tones above it fold
//!   back below it (aliasing: nothing low-pass filters the sub-signals).
//! - [`exact`] — beyond the book: the whole FFT, split over threads
//!   (six-step / decimation in time: FFTs of rows, a twiddle factor per
//!   element, FFTs of columns), equal to [`realfft_spectrum`] within
//!   floating-point error, full band.
//!
//! # Threads instead of shared-memory segments
//! The book copies the signal into a `SharedMemory` segment so that worker
//! *processes* can see it. Threads share their process's memory already: the
//! workers here borrow one `&[f32]` (scoped threads), the borrow checker
//! proves nobody writes it meanwhile, and nothing is copied or cleaned up.
//! Every worker's result (or error, or panic) is collected when it is
//! joined, so a failing worker is reported instead of silently dropping its
//! part — the book's program never reads its pool's results.
//!
//! [`realfft_spectrum`]: crate::spectrum::realfft_spectrum

use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use realfft::RealFftPlanner;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::Error;
use crate::buffer::Buffer;
use crate::spectrum::{Magnitudes, Spectrum};
use crate::wav::MonoSource;

/// Runs `tasks` tasks on at most as many threads as the machine has cores
/// (task `i` on thread `i % threads`) and returns their results in task
/// order — or every error and panic, each naming its task.
fn run_workers<T: Send>(
    tasks: usize,
    work: impl Fn(usize) -> Result<T, Error> + Sync,
) -> Result<Vec<T>, Error> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(tasks)
        .max(1);
    let work = &work;
    let per_thread: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..tasks)
                        .step_by(threads)
                        .map(|i| (i, work(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(t, h)| h.join().map_err(|p| (t, panic_text(&p))))
            .collect()
    });
    let mut results: Vec<Option<T>> = (0..tasks).map(|_| None).collect();
    let mut errors = Vec::new();
    for r in per_thread {
        match r {
            Ok(list) => {
                for (i, res) in list {
                    match res {
                        Ok(v) => results[i] = Some(v),
                        Err(e) => errors.push(format!("part {i}: {e}")),
                    }
                }
            }
            Err((t, msg)) => errors.push(format!("thread {t} panicked: {msg}")),
        }
    }
    if errors.is_empty() {
        Ok(results.into_iter().flatten().collect())
    } else {
        Err(Error::Workers(errors))
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Magnitudes |X\[k\]|, k in 0..len/2, of a real signal (one realfft).
fn part_magnitudes(mut part: Vec<f32>) -> Vec<f32> {
    let n = part.len();
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
    let mut out = fft.make_output_vec();
    fft.process(&mut part, &mut out)
        .expect("buffers sized by the plan");
    out[..n / 2].iter().map(|c| c.norm()).collect()
}

/// Adds the parts' magnitudes element by element.
fn add_all(parts: Vec<Vec<f32>>) -> Vec<f32> {
    let mut iter = parts.into_iter();
    let mut sum = iter.next().unwrap_or_default();
    for p in iter {
        sum.iter_mut().zip(&p).for_each(|(s, v)| *s += v);
    }
    sum
}

/// The book's wrong attempt: `parts` contiguous pieces (the last one padded
/// with zeros to the same length), one FFT each on its own thread, magnitudes
/// added — and plotted, as the book does, on the WHOLE signal's frequency
/// axis (`bin_hz` = fs / N). So a tone at f shows at f / parts, and the
/// spectrum ends at fs / (2·parts).
///
/// # Errors
/// [`Error::TooShort`] when a part would have fewer than 2 samples;
/// [`Error::Workers`] listing every failed part.
pub fn contiguous_wrong(signal: &[f32], sample_rate: u32, parts: usize) -> Result<Spectrum, Error> {
    let n = signal.len();
    let parts = parts.max(1);
    let len = n.div_ceil(parts);
    if len < 2 {
        return Err(Error::TooShort {
            samples: n,
            needed: 2 * parts,
        });
    }
    let mags = run_workers(parts, |p| {
        let start = (p * len).min(n);
        let end = (start + len).min(n);
        let mut piece = signal[start..end].to_vec();
        piece.resize(len, 0.0);
        Ok(part_magnitudes(piece))
    })?;
    Ok(Spectrum {
        bin_hz: f64::from(sample_rate) / n as f64,
        mags: add_all(mags).into(),
    })
}

/// The result of [`strided`].
#[derive(Debug, Clone, PartialEq)]
pub struct Strided {
    /// The summed magnitudes (correct frequency axis, up to the Nyquist cut).
    pub spectrum: Spectrum,
    /// fs / (2P): nothing above it can be seen.
    pub nyquist_hz: f64,
    /// Zeros appended to sub-signals shorter than the longest one (N mod P
    /// of them get one), so all parts have the same bins.
    pub padded: usize,
}

/// The book's strided attempt: sub-signal `p` is `x[p], x[p+P], x[p+2P], …`
/// — the signal sampled at fs / P. One FFT per part (each on a thread that
/// borrows the shared signal), magnitudes added.
///
/// When N is not a multiple of P, the first N mod P sub-signals have one
/// sample more: the others get one zero so every part has the same bins
/// (the book's version then silently loses those parts' results).
///
/// Tones above fs / (2P) are not removed first, so they fold back: a tone at
/// f shows at |f − m·fs/P| for the m that lands it below the cut.
///
/// # Errors
/// [`Error::TooShort`] when N < 4P; [`Error::Workers`] listing every failure.
pub fn strided(signal: &[f32], sample_rate: u32, parts: usize) -> Result<Strided, Error> {
    let n = signal.len();
    let p_count = parts.max(1);
    if n < 4 * p_count {
        return Err(Error::TooShort {
            samples: n,
            needed: 4 * p_count,
        });
    }
    let len = n.div_ceil(p_count);
    let mags = run_workers(p_count, |p| {
        let mut sub: Vec<f32> = signal[p..].iter().step_by(p_count).copied().collect();
        sub.resize(len, 0.0);
        Ok(part_magnitudes(sub))
    })?;
    let fs_part = f64::from(sample_rate) / p_count as f64;
    Ok(Strided {
        spectrum: Spectrum {
            bin_hz: fs_part / len as f64,
            mags: add_all(mags).into(),
        },
        nyquist_hz: fs_part / 2.0,
        padded: len * p_count - n,
    })
}

/// Where a tone at `freq_hz` shows in a spectrum of a signal sampled at
/// `sample_rate` (folding around multiples of it).
///
/// ```
/// // 15001.7 Hz with every 2nd sample of 44.1 kHz (22050 Hz, cut at 11025):
/// let f = wav_fft::parallel::alias_hz(15_001.7, 22_050.0);
/// assert!((f - 7_048.3).abs() < 1e-6);
/// ```
pub fn alias_hz(freq_hz: f64, sample_rate: f64) -> f64 {
    let f = freq_hz.rem_euclid(sample_rate);
    f.min(sample_rate - f)
}

/// e^(−2πi·e/n) for any e < n from two small tables (hi × lo), exact to
/// f64 rounding — a full table of n entries would cost a pass over memory.
struct Twiddles {
    shift: u32,
    mask: usize,
    lo: Vec<Complex<f64>>,
    hi: Vec<Complex<f64>>,
}

impl Twiddles {
    fn new(n: usize) -> Self {
        let shift = (usize::BITS - n.leading_zeros()).div_ceil(2);
        let step = 1usize << shift;
        let w = |e: usize| {
            let a = -std::f64::consts::TAU * (e as f64 / n as f64);
            Complex::new(a.cos(), a.sin())
        };
        Twiddles {
            shift,
            mask: step - 1,
            lo: (0..step).map(w).collect(),
            hi: (0..=(n >> shift)).map(|h| w(h << shift)).collect(),
        }
    }

    #[inline]
    fn get64(&self, e: usize) -> Complex<f64> {
        self.hi[e >> self.shift] * self.lo[e & self.mask]
    }

    #[cfg(test)]
    fn get(&self, e: usize) -> Complex<f32> {
        let w = self.get64(e);
        Complex::new(w.re as f32, w.im as f32)
    }
}

/// A plan for [`exact`]: the FFT length (the signal zero-padded when its
/// length has an awkward factorisation), its split N = 2·n1·n2, the row
/// FFTs and the twiddle tables. Planning takes milliseconds, unlike one
/// plan for the whole length (seconds at the book's size).
pub struct ExactPlan {
    /// Samples in the signal.
    pub signal_len: usize,
    /// The FFT length: `signal_len` or more (zero padding).
    pub fft_len: usize,
    /// Rows of the first FFT pass' output (and length of the first row FFTs).
    pub n1: usize,
    /// Length of the second row FFTs.
    pub n2: usize,
    fft1: Arc<dyn Fft<f32>>,
    fft2: Arc<dyn Fft<f32>>,
    tw_m: Twiddles,
    tw_n: Twiddles,
}

impl std::fmt::Debug for ExactPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactPlan")
            .field("signal_len", &self.signal_len)
            .field("fft_len", &self.fft_len)
            .field("n1", &self.n1)
            .field("n2", &self.n2)
            .finish()
    }
}

fn largest_prime_factor(mut m: usize) -> usize {
    let mut largest = 1;
    let mut d = 2;
    while d * d <= m {
        while m % d == 0 {
            largest = d;
            m /= d;
        }
        d += 1;
    }
    largest.max(m)
}

/// The divisor of m closest to √m from below.
fn balanced_divisor(m: usize) -> usize {
    let mut d = (m as f64).sqrt() as usize;
    while d > 1 && m % d != 0 {
        d -= 1;
    }
    d.max(1)
}

fn is_good(m: usize) -> bool {
    let d = balanced_divisor(m);
    largest_prime_factor(m) <= 64 && m / d <= 64 * d
}

/// The FFT length for a signal of `n` samples: n itself (or n + 1 when odd)
/// if n/2 splits into two balanced factors without large primes, else the
/// next length 2·m with m made of 2, 3, 5 and 7 only. Padding with zeros
/// only interpolates the spectrum (finer bins, same shape).
pub fn exact_fft_len(n: usize) -> usize {
    let m0 = n.div_ceil(2).max(1);
    if is_good(m0) {
        return 2 * m0;
    }
    let mut m = m0;
    loop {
        let mut r = m;
        for p in [2, 3, 5, 7] {
            while r % p == 0 {
                r /= p;
            }
        }
        if r == 1 && is_good(m) {
            return 2 * m;
        }
        m += 1;
    }
}

impl ExactPlan {
    /// Plans the exact FFT of a signal of `signal_len` samples.
    ///
    /// # Errors
    /// [`Error::TooShort`] below 16 samples.
    pub fn new(signal_len: usize) -> Result<ExactPlan, Error> {
        if signal_len < 16 {
            return Err(Error::TooShort {
                samples: signal_len,
                needed: 16,
            });
        }
        let fft_len = exact_fft_len(signal_len);
        let m = fft_len / 2;
        let n1 = balanced_divisor(m);
        let n2 = m / n1;
        let mut planner = FftPlanner::<f32>::new();
        Ok(ExactPlan {
            signal_len,
            fft_len,
            n1,
            n2,
            fft1: planner.plan_fft_forward(n1),
            fft2: planner.plan_fft_forward(n2),
            tw_m: Twiddles::new(m),
            tw_n: Twiddles::new(fft_len),
        })
    }
}

/// Rows per task in the fused first pass: the source is read in runs of
/// 2·ROWS samples (2 KiB of 16-bit stereo: whole cache lines, prefetched),
/// and ROWS rows of n1 ≈ 11,000 complex numbers (≈ 23 MB at the book's
/// size) mostly stay in the last-level cache for their FFTs and the
/// transpose. 64, 128, 256 and 512 were measured (CPU time of fft-06 on
/// the book-size file): 256 was the cheapest, by ≈ 5–10 %.
const ROWS: usize = 256;
/// Rows k1 per task in the last pass (plus as many partner rows n1 − k1).
const BLOCK: usize = 16;
/// Columns k2 written together in the last pass.
const K2_CHUNK: usize = 512;

/// Time of each pass of [`exact`].
pub type Steps = Vec<(&'static str, Duration)>;

fn buffer(bytes: usize) -> Result<Buffer, Error> {
    Buffer::zeroed(bytes).map_err(|source| Error::Memory { bytes, source })
}

enum Store {
    Vec(Vec<f32>),
    Buffer(Buffer),
}

/// A pointer to a matrix that several tasks fill at disjoint positions.
struct Scatter<T>(*mut T, usize);

impl<T> Clone for Scatter<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Scatter<T> {}

// SAFETY: a `Scatter` is only used to write, each position by exactly one
// task (see `run`), while nothing else reads or writes the matrix.
unsafe impl<T: Send> Send for Scatter<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Scatter<T> {}

impl<T> Scatter<T> {
    /// The `len` positions from `start`, to write.
    ///
    /// # Safety
    /// No other live reference may overlap `start..start + len`, which must
    /// lie inside the matrix.
    #[allow(clippy::mut_from_ref)]
    unsafe fn run(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.1, "inside the matrix");
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }

    /// Writes `value` at position `i`.
    ///
    /// # Safety
    /// No other task may access position `i` meanwhile; it must lie inside
    /// the matrix.
    #[inline]
    unsafe fn write(&self, i: usize, value: T) {
        assert!(i < self.1, "inside the matrix");
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { self.0.add(i).write(value) }
    }
}

fn to_f32(w: Complex<f64>) -> Complex<f32> {
    Complex::new(w.re as f32, w.im as f32)
}

#[inline]
fn magnitude(c: Complex<f32>) -> f32 {
    (c.re * c.re + c.im * c.im).sqrt()
}

/// The exact spectrum of the whole signal, computed in parallel (rayon, all
/// cores), equal to [`realfft_spectrum`] of the same (padded) length within
/// floating-point error.
///
/// How (x real, N = 2M, M = n1·n2; the book's strided split is step 1):
/// 1. for each block of rows r: gather z\[n2·c + r\] (c < n1), where
///    z\[m\] = x\[2m\] + i·x\[2m+1\] — reading `source`, e.g. a
///    memory-mapped WAV mixed on the fly; FFT each row (length n1) while it
///    is in cache; multiply by the twiddle factor W_M^(r·k1) and write it
///    transposed into the big matrix c\[k1\]\[r\];
/// 2. for each block of rows k1 together with their partner rows n1 − k1:
///    copy them into cache, FFT them (length n2: now row k1, column k2 holds
///    Z\[k1 + n1·k2\], Z = FFT_M(z)), untangle the real FFT,
///    X\[k\] = ½(Z\[k\] + Z̄\[M−k\]) − ½i·W_N^k (Z\[k\] − Z̄\[M−k\]),
///    and write |X\[k\]| in natural order.
///
/// Two passes over memory, each split over the cores; one big complex
/// matrix (N/2 complex numbers: the size of the f32 signal) plus the
/// magnitudes (half that), written into the source's own memory when it is a
/// loaded `Vec<f32>` ([`MonoSource::into_vec`]). `source` is consumed after
/// step 1 (a memory map is unmapped then).
///
/// # Errors
/// [`Error::Memory`] when the buffers cannot be allocated.
///
/// [`realfft_spectrum`]: crate::spectrum::realfft_spectrum
pub fn exact<S: MonoSource>(
    source: S,
    sample_rate: u32,
    plan: &ExactPlan,
) -> Result<(Spectrum, Steps), Error> {
    let (n1, n2) = (plan.n1, plan.n2);
    let m = n1 * n2;
    let mut steps = Steps::new();
    let mut t = Instant::now();
    let mut lap = |name, steps: &mut Steps| {
        steps.push((name, t.elapsed()));
        t = Instant::now();
    };
    let mut c_buf = buffer(m * 8)?;

    // 1. Gather, FFT (n1), twiddle, transpose: c[k1][r] = W_M^(r·k1) · Σ_c z[n2·c + r]·W_n1^(c·k1).
    let c = c_buf.complex_mut();
    let out = Scatter(c.as_mut_ptr(), c.len());
    let (fft1, tw) = (&plan.fft1, &plan.tw_m);
    let rows_per_task = ROWS;
    (0..n2.div_ceil(rows_per_task))
        .into_par_iter()
        .for_each_init(
            || {
                (
                    vec![Complex::<f32>::default(); rows_per_task * n1],
                    vec![Complex::<f32>::default(); fft1.get_inplace_scratch_len()],
                )
            },
            |(rows, scratch), q| {
                let r0 = q * rows_per_task;
                let t = rows_per_task.min(n2 - r0);
                let mut pairs = vec![0f32; 2 * rows_per_task];
                for col in 0..n1 {
                    source.fill(2 * (n2 * col + r0), &mut pairs[..2 * t]);
                    for (j, p) in pairs[..2 * t].chunks_exact(2).enumerate() {
                        rows[j * n1 + col] = Complex::new(p[0], p[1]);
                    }
                }
                fft1.process_with_scratch(&mut rows[..t * n1], scratch);
                // Twiddles W_M^(r·k1) by recurrence along k1 (f64, re-seeded
                // from the table every 1024 steps): no table lookup per element.
                // Tiles of 8 values of k1 (one cache line of a row) × t rows:
                // each line of `rows` is read once, each row of c gets a run of t.
                // small[j][u] = W_M^((r0 + j)·u) for u < 8; the base
                // W_M^((r0 + j)·k0) advances by W_M^((r0 + j)·8) per tile (f64,
                // re-seeded every 1024 columns). Two f32 products per element.
                let small: Vec<[Complex<f32>; 8]> = (0..t)
                    .map(|j| std::array::from_fn(|u| to_f32(tw.get64((r0 + j) * u % m))))
                    .collect();
                let steps: Vec<Complex<f64>> = (0..t).map(|j| tw.get64((r0 + j) * 8 % m)).collect();
                let mut w = vec![Complex::<f64>::new(1.0, 0.0); t];
                for k0 in (0..n1).step_by(8) {
                    let width = 8.min(n1 - k0);
                    if k0 % 1024 == 0 {
                        for (j, wj) in w.iter_mut().enumerate() {
                            *wj = tw.get64((r0 + j) * k0);
                        }
                    }
                    // SAFETY: task q alone writes columns r0..r0 + t of every
                    // row of c; nothing reads c during this pass. The `width`
                    // runs are in different rows.
                    let dst: [&mut [Complex<f32>]; 8] = std::array::from_fn(|u| unsafe {
                        out.run(
                            (k0 + u.min(width - 1)) * n2 + r0,
                            if u < width { t } else { 0 },
                        )
                    });
                    for j in 0..t {
                        let src = &rows[j * n1 + k0..j * n1 + k0 + width];
                        let base = to_f32(w[j]);
                        for (u, v) in src.iter().enumerate() {
                            dst[u][j] = v * (base * small[j][u]);
                        }
                        w[j] *= steps[j];
                    }
                }
            },
        );
    // The magnitudes go into the source's memory when it has some (already
    // paged in: no fresh-page faults), else into a new buffer.
    let mut store = match source.into_vec() {
        Some(mut v) => {
            v.resize(m, 0.0);
            Store::Vec(v)
        }
        None => Store::Buffer(buffer(m * 4)?),
    };
    lap("read + mix + FFT n1 + twiddle + transpose", &mut steps);

    // 2 + 3. For each block of rows k1 and their partners n1 − k1 (a set
    //    closed under k1 ↦ (n1 − k1) mod n1): copy the rows (≤ 32 × n2
    //    complex numbers, in cache), FFT them (length n2: now
    //    row k1, column k2 = Z[k1 + n1·k2]), untangle the real FFT,
    //    X[k] = ½(Z[k] + Z̄[M−k]) − ½i·W_N^k (Z[k] − Z̄[M−k]), and write
    //    |X[k]| in natural order. One read of the matrix, one write of the
    //    magnitudes.
    let mags: &mut [f32] = match &mut store {
        Store::Vec(v) => v,
        Store::Buffer(b) => &mut b.floats_mut()[..m],
    };
    let out = Scatter(mags.as_mut_ptr(), m);
    let c = c_buf.complex();
    let (fft2, tw_n) = (&plan.fft2, &plan.tw_n);
    let half = n1 / 2;
    let step = tw_n.get64(n1);
    (0..=half)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .for_each_init(
            || {
                (
                    vec![Complex::<f32>::default(); 2 * BLOCK * n2],
                    vec![Complex::<f32>::default(); fft2.get_inplace_scratch_len()],
                )
            },
            |(rows, scratch), a| {
                let lower: Vec<usize> = (a..(a + BLOCK).min(half + 1)).collect();
                let mut set = lower.clone();
                for &k1 in &lower {
                    let p = (n1 - k1) % n1;
                    if p > half {
                        set.push(p);
                    }
                }
                for (i, &k1) in set.iter().enumerate() {
                    rows[i * n2..(i + 1) * n2].copy_from_slice(&c[k1 * n2..(k1 + 1) * n2]);
                }
                let used = &mut rows[..set.len() * n2];
                fft2.process_with_scratch(used, scratch);
                let slot = |k1: usize| set.iter().position(|&x| x == k1).expect("closed set");
                let partner: Vec<usize> = set.iter().map(|&k1| slot((n1 - k1) % n1)).collect();
                let mut w: Vec<Complex<f64>> = set.iter().map(|&k1| tw_n.get64(k1)).collect();
                // Columns in chunks, so the output lines being filled (one
                // per k2 for the lower rows, one for the partners) stay in cache.
                for k2_first in (0..n2).step_by(K2_CHUNK) {
                    let k2_end = (k2_first + K2_CHUNK).min(n2);
                    for (i, &k1) in set.iter().enumerate() {
                        let row = &used[i * n2..(i + 1) * n2];
                        let prow = &used[partner[i] * n2..(partner[i] + 1) * n2];
                        let mut wi = if k2_first % 1024 == 0 {
                            tw_n.get64(k1 + n1 * k2_first)
                        } else {
                            w[i]
                        };
                        for k2 in k2_first..k2_end {
                            let z = row[k2];
                            let zp = if k1 == 0 {
                                row[(n2 - k2) % n2]
                            } else {
                                prow[n2 - 1 - k2]
                            }
                            .conj();
                            let sum = z + zp;
                            let wd = to_f32(wi) * (z - zp);
                            wi *= step;
                            let x = 0.5 * magnitude(Complex::new(sum.re + wd.im, sum.im - wd.re));
                            // SAFETY: k1 belongs to this task's set only, so
                            // position k1 + n1·k2 is written by this task
                            // alone; nothing reads the magnitudes meanwhile.
                            unsafe { out.write(k1 + n1 * k2, x) };
                        }
                        w[i] = wi;
                    }
                }
            },
        );
    drop(c_buf);
    lap("FFT n2 + untangle + magnitudes", &mut steps);
    let spec = Spectrum {
        bin_hz: f64::from(sample_rate) / plan.fft_len as f64,
        mags: match store {
            Store::Vec(v) => v.into(),
            Store::Buffer(b) => Magnitudes::in_buffer(b, m),
        },
    };
    Ok((spec, steps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectrum::realfft_spectrum;

    fn test_signal(n: usize) -> Vec<f32> {
        let mut s = 1u64;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let noise = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                (i as f32 * 0.0123).sin() + 0.3 * (i as f32 * 1.7).cos() + 0.1 * noise
            })
            .collect()
    }

    #[test]
    fn fft_len_pads_only_awkward_lengths() {
        assert_eq!(exact_fft_len(2 * 11340 * 11781), 2 * 11340 * 11781);
        assert_eq!(exact_fft_len(2_646_000), 2_646_000);
        let prime = 1_000_003; // 2·(a prime-ish half) gets padded
        let len = exact_fft_len(prime);
        assert!(len >= prime && len < prime + prime / 50, "{len}");
        assert!(largest_prime_factor(len / 2) <= 7);
    }

    #[test]
    fn twiddles_match_direct_formula() {
        let tw = Twiddles::new(1_000_000);
        for e in [0usize, 1, 999, 123_456, 999_999] {
            let a = -std::f64::consts::TAU * e as f64 / 1e6;
            let w = tw.get(e);
            assert!((f64::from(w.re) - a.cos()).abs() < 1e-7);
            assert!((f64::from(w.im) - a.sin()).abs() < 1e-7);
        }
    }

    #[test]
    fn exact_equals_realfft_on_several_lengths() {
        for n in [16usize, 4096, 30_000, 44_100, 65_537, 1 << 18] {
            let x = test_signal(n);
            let plan = ExactPlan::new(n).unwrap();
            let mut padded = x.clone();
            padded.resize(plan.fft_len, 0.0);
            let (reference, _) = realfft_spectrum(padded, 1000);
            let (got, _) = exact(x, 1000, &plan).unwrap();
            assert_eq!(got.mags.len(), reference.mags.len(), "n = {n}");
            let err = got.max_relative_error(&reference);
            assert!(err < 2e-5, "n = {n}: relative error {err}");
        }
    }

    #[test]
    fn strided_pads_short_parts_and_reports_nyquist() {
        let x = test_signal(10_001);
        let s = strided(&x, 8000, 3).unwrap();
        assert_eq!(s.padded, 1); // 10,001 = 3 × 3334 − 1
        assert_eq!(s.nyquist_hz, 8000.0 / 6.0);
        assert_eq!(s.spectrum.mags.len(), 3334 / 2);
        assert!(matches!(
            strided(&x[..5], 8000, 3),
            Err(Error::TooShort { .. })
        ));
    }

    #[test]
    fn workers_report_every_failure() {
        let r: Result<Vec<usize>, _> = run_workers(5, |i| {
            if i % 2 == 1 {
                Err(Error::TooShort {
                    samples: i,
                    needed: 10,
                })
            } else {
                Ok(i)
            }
        });
        match r {
            Err(Error::Workers(errs)) => {
                assert_eq!(errs.len(), 2, "{errs:?}");
                assert!(errs[0].contains("part 1") || errs[1].contains("part 1"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(run_workers(3, |i| Ok(i * 2)).unwrap(), vec![0, 2, 4]);
    }
}
