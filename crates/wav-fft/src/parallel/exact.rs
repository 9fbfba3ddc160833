//! The exact parallel FFT: the DFT of exactly N real samples, any N ≥ 1.
//!
//! Three ways, chosen by [`ExactPlan::new`] from the factorisation of N:
//!
//! - **N even, N/2 = n1·n2 with both factors small enough to be row FFTs**
//!   (every smooth N, and most others): the real signal is packed into N/2
//!   complex numbers z\[m\] = x\[2m\] + i·x\[2m+1\], transformed by a six-step
//!   FFT (rows of n1, a twiddle factor, rows of n2; rustfft plans and runs
//!   the rows, prime-sized ones included), and untangled into the real
//!   spectrum. Two passes over memory.
//! - **N odd, N = n1·n2 likewise**: the same six-step over N complex numbers
//!   (x\[n\] + 0i). Twice the work of the packed path, but no padding.
//! - **a prime factor too large for a row** (N prime, 2 × prime, …):
//!   Bluestein's chirp-z transform. The length-M DFT (M = N/2 packed, or N)
//!   is a convolution with the chirp e^(iπj²/M); it is computed with the same
//!   parallel six-step over a smooth length L ≥ M + K − 1 (K the outputs
//!   needed), forward, times the chirp's spectrum, and back. The forward
//!   and inverse passes are fused around the product (no transpose between
//!   them), so it costs four passes over ≈ 2× the memory of the packed path.
//!   The chirp's spectrum is computed on the plan's first use and kept.
//!
//! Every plan is made of small rustfft plans (rows of ≤ 2^17 points) and
//! planning takes milliseconds for every N. See the crate README for the
//! measured cost of the worst N against a smooth N of the same size.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::Error;
use crate::buffer::Buffer;
use crate::spectrum::{Magnitudes, Spectrum};
use crate::wav::MonoSource;

/// e^(−2πi·e/n) for any e < n from two small tables (hi × lo), exact to
/// f64 rounding — a full table of n entries would cost a pass over memory.
pub(crate) struct Twiddles {
    shift: u32,
    mask: usize,
    lo: Vec<Complex<f64>>,
    hi: Vec<Complex<f64>>,
}

impl Twiddles {
    pub(crate) fn new(n: usize) -> Self {
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
    pub(crate) fn get64(&self, e: usize) -> Complex<f64> {
        self.hi[e >> self.shift] * self.lo[e & self.mask]
    }
}

/// Rows of the first pass gathered per task. Each column c of a task reads
/// `ROWS` consecutive samples (a contiguous run of the source, prefetched),
/// and ROWS rows of n1 ≈ 11,000 complex numbers (≈ 23 MB at the book's
/// size) mostly stay in the last-level cache for their FFTs and the
/// transpose. 64, 128, 256 and 512 were measured (CPU time of fft-06 on
/// the book-size file): 256 was the cheapest, by ≈ 5–10 %.
const ROWS: usize = 256;
/// Rows k1 per task in the last pass (plus as many partner rows n1 − k1).
const BLOCK: usize = 16;
/// Columns k2 written together in the last pass.
const K2_CHUNK: usize = 512;
/// The longest row FFT a split may use; longer factors go to Bluestein.
pub(crate) const MAX_ROW: usize = 1 << 17;
/// Below this many complex points any split will do (even 1 × M: one
/// rustfft plan of a few milliseconds at most).
const MAX_DIRECT: usize = 1 << 17;

/// Time of each pass of [`exact`].
pub type Steps = Vec<(&'static str, Duration)>;

/// A six-step split of a complex length n1·n2 and its row plans.
pub(crate) struct Split {
    pub(crate) n1: usize,
    pub(crate) n2: usize,
    pub(crate) fft1: Arc<dyn Fft<f32>>,
    pub(crate) fft2: Arc<dyn Fft<f32>>,
    pub(crate) tw: Twiddles,
}

impl Split {
    pub(crate) fn new(n1: usize, n2: usize, planner: &mut FftPlanner<f32>) -> Split {
        Split {
            n1,
            n2,
            fft1: planner.plan_fft_forward(n1),
            fft2: planner.plan_fft_forward(n2),
            tw: Twiddles::new(n1 * n2),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.n1 * self.n2
    }
}

/// How the signal becomes complex numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Packing {
    /// z\[m\] = x\[2m\] + i·x\[2m+1\], M = N/2 (N even).
    Pairs,
    /// z\[n\] = x\[n\], M = N (N odd).
    Real,
}

enum Method {
    /// The six-step over M = n1·n2 directly.
    Direct(Split),
    /// Bluestein over a smooth L = split.len().
    Bluestein {
        split: Split,
        inv1: Arc<dyn Fft<f32>>,
        inv2: Arc<dyn Fft<f32>>,
        /// e^(−2πi·e/(2M)): the chirp e^(−iπn²/M) is `chirp.get64(n² mod 2M)`.
        chirp: Twiddles,
        /// Outputs of the length-M DFT needed (K).
        needed: usize,
        /// The chirp's spectrum in the six-step's output order, × 1/L.
        kernel: Mutex<Option<Arc<Buffer>>>,
    },
}

/// A plan for [`exact`]: how a signal of `signal_len` samples is split
/// (see the module docs). Planning takes milliseconds for every length,
/// unlike one plan for the whole length (seconds at the book's size).
pub struct ExactPlan {
    /// Samples in the signal: the DFT length (no padding).
    pub signal_len: usize,
    packing: Packing,
    /// Complex points of the packed transform (N/2 or N).
    m: usize,
    method: Method,
    /// e^(−2πi·e/N), for untangling the packed spectrum.
    tw_n: Twiddles,
    huge_pages: bool,
}

impl std::fmt::Debug for ExactPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactPlan")
            .field("signal_len", &self.signal_len)
            .field("method", &self.describe())
            .finish()
    }
}

/// The divisor of m closest to √m from below.
fn balanced_divisor(m: usize) -> usize {
    let mut d = (m as f64).sqrt() as usize;
    while d * d > m {
        d -= 1;
    }
    while d > 1 && m % d != 0 {
        d -= 1;
    }
    d.max(1)
}

/// A split n1 × n2 = m (n1 ≤ n2) usable as rows, if there is one.
pub(crate) fn direct_split(m: usize) -> Option<(usize, usize)> {
    let n1 = balanced_divisor(m);
    let n2 = m / n1;
    (n2 <= MAX_ROW || m <= MAX_DIRECT).then_some((n1, n2))
}

fn is_smooth(mut m: usize) -> bool {
    for p in [2, 3, 5, 7] {
        while m % p == 0 {
            m /= p;
        }
    }
    m == 1
}

/// The smallest length ≥ `min` made of 2, 3, 5 and 7 with a balanced split.
pub(crate) fn smooth_len(min: usize) -> usize {
    let mut l = min.max(1);
    loop {
        if is_smooth(l) && direct_split(l).is_some() {
            return l;
        }
        l += 1;
    }
}

/// The magnitudes' length for N samples: bins 0..=N/2.
pub(crate) fn bins(n: usize) -> usize {
    n / 2 + 1
}

impl ExactPlan {
    /// Plans the exact FFT of a signal of `signal_len` samples.
    ///
    /// ```
    /// let plan = wav_fft::parallel::ExactPlan::new(267_193_080).unwrap();
    /// assert!(plan.describe().contains("11340 × 11781"));
    /// let prime = wav_fft::parallel::ExactPlan::new(1_000_003).unwrap();
    /// assert!(prime.describe().starts_with("Bluestein"));
    /// ```
    ///
    /// # Errors
    /// [`Error::TooShort`] for an empty signal.
    pub fn new(signal_len: usize) -> Result<ExactPlan, Error> {
        Self::build(signal_len, false)
    }

    fn build(signal_len: usize, force_bluestein: bool) -> Result<ExactPlan, Error> {
        if signal_len == 0 {
            return Err(Error::TooShort {
                samples: 0,
                needed: 1,
            });
        }
        let packing = if signal_len % 2 == 0 {
            Packing::Pairs
        } else {
            Packing::Real
        };
        let m = match packing {
            Packing::Pairs => signal_len / 2,
            Packing::Real => signal_len,
        };
        let mut planner = FftPlanner::<f32>::new();
        let method = match direct_split(m).filter(|_| !force_bluestein) {
            Some((n1, n2)) => Method::Direct(Split::new(n1, n2, &mut planner)),
            None => {
                let needed = match packing {
                    Packing::Pairs => m,
                    Packing::Real => bins(signal_len),
                };
                let l = smooth_len(m + needed - 1);
                let (n1, n2) = direct_split(l).expect("smooth_len returns a splittable length");
                Method::Bluestein {
                    split: Split::new(n1, n2, &mut planner),
                    inv1: planner.plan_fft_inverse(n1),
                    inv2: planner.plan_fft_inverse(n2),
                    chirp: Twiddles::new(2 * m),
                    needed,
                    kernel: Mutex::new(None),
                }
            }
        };
        Ok(ExactPlan {
            signal_len,
            packing,
            m,
            method,
            tw_n: Twiddles::new(signal_len),
            huge_pages: false,
        })
    }

    /// The same plan, always through Bluestein's algorithm (to test it on
    /// small lengths, and to measure it).
    ///
    /// # Errors
    /// As [`ExactPlan::new`].
    #[doc(hidden)]
    pub fn new_bluestein(signal_len: usize) -> Result<ExactPlan, Error> {
        Self::build(signal_len, true)
    }

    /// Advises the kernel to back the work buffers with 2 MiB pages
    /// (`MADV_HUGEPAGE`, Linux; advice only). Off by default: see the crate
    /// README for what it measured on this course's machine.
    #[must_use]
    pub fn huge_pages(mut self, on: bool) -> Self {
        self.huge_pages = on;
        self
    }

    /// The number of magnitudes a spectrum of this plan has: N/2 + 1.
    pub fn bins(&self) -> usize {
        bins(self.signal_len)
    }

    /// True when the plan goes through Bluestein's algorithm.
    pub fn is_bluestein(&self) -> bool {
        matches!(self.method, Method::Bluestein { .. })
    }

    /// How N is split, in words (for the programs' stage lines).
    pub fn describe(&self) -> String {
        let n = self.signal_len;
        let packed = match self.packing {
            Packing::Pairs => format!("real input packed into {} complex points", self.m),
            Packing::Real => format!("odd length: {} complex points", self.m),
        };
        match &self.method {
            Method::Direct(s) => format!(
                "six-step N = {n} = {}{} × {} ({packed})",
                if self.packing == Packing::Pairs {
                    "2 × "
                } else {
                    ""
                },
                s.n1,
                s.n2
            ),
            Method::Bluestein { split, .. } => format!(
                "Bluestein (chirp-z) N = {n}: no split with rows ≤ {MAX_ROW}; \
                 convolution over L = {} = {} × {} ({packed})",
                split.len(),
                split.n1,
                split.n2
            ),
        }
    }

    fn buffer(&self, bytes: usize) -> Result<Buffer, Error> {
        Buffer::zeroed(bytes, self.huge_pages).map_err(|source| Error::Memory { bytes, source })
    }
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

// SAFETY: a `Scatter` is only used to access positions that belong to
// exactly one task (see `run`), while nothing else reads or writes the matrix.
unsafe impl<T: Send> Send for Scatter<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Scatter<T> {}

impl<T> Scatter<T> {
    /// The `len` positions from `start`, to read and write.
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

pub(crate) fn to_f32(w: Complex<f64>) -> Complex<f32> {
    Complex::new(w.re as f32, w.im as f32)
}

#[inline]
pub(crate) fn magnitude(c: Complex<f32>) -> f32 {
    (c.re * c.re + c.im * c.im).sqrt()
}

/// n² mod `modulus`, exactly.
pub(crate) fn square_mod(n: usize, modulus: usize) -> usize {
    ((n as u128 * n as u128) % modulus as u128) as usize
}

/// Writes z\[n\] for n in `start..start + out.len()` (all < M), read from
/// `source` as `packing` says. `tmp` holds at least 2 × out.len() floats.
pub(crate) fn fill_packed<S: MonoSource>(
    source: &S,
    packing: Packing,
    start: usize,
    out: &mut [Complex<f32>],
    tmp: &mut [f32],
) {
    let t = out.len();
    if t == 0 {
        return; // (and never ask the source for a start past its end)
    }
    match packing {
        Packing::Pairs => {
            source.fill(2 * start, &mut tmp[..2 * t]);
            for (o, p) in out.iter_mut().zip(tmp.chunks_exact(2)) {
                *o = Complex::new(p[0], p[1]);
            }
        }
        Packing::Real => {
            source.fill(start, &mut tmp[..t]);
            for (o, &x) in out.iter_mut().zip(&tmp[..t]) {
                *o = Complex::new(x, 0.0);
            }
        }
    }
}

/// Pass 1 of the six-step over `split`: for each block of rows r, gather
/// a\[n2·c + r\] (c < n1) with `fill(n, run)` (a run of consecutive n),
/// FFT each row (length n1) in cache, multiply by W_L^(r·k1) and write the
/// transpose into `c`: c\[k1·n2 + r\].
fn pass1<F>(c: &mut [Complex<f32>], split: &Split, fill: F)
where
    F: Fn(usize, &mut [Complex<f32>], &mut Vec<f32>) + Sync,
{
    let (n1, n2, m) = (split.n1, split.n2, split.len());
    let out = Scatter(c.as_mut_ptr(), c.len());
    let (fft1, tw) = (&split.fft1, &split.tw);
    (0..n2.div_ceil(ROWS)).into_par_iter().for_each_init(
        || {
            (
                vec![Complex::<f32>::default(); ROWS * n1],
                vec![Complex::<f32>::default(); fft1.get_inplace_scratch_len()],
                vec![Complex::<f32>::default(); ROWS],
                vec![0f32; 2 * ROWS],
            )
        },
        |(rows, scratch, run, tmp), q| {
            let r0 = q * ROWS;
            let t = ROWS.min(n2 - r0);
            for col in 0..n1 {
                fill(n2 * col + r0, &mut run[..t], tmp);
                for (j, v) in run[..t].iter().enumerate() {
                    rows[j * n1 + col] = *v;
                }
            }
            fft1.process_with_scratch(&mut rows[..t * n1], scratch);
            // Tiles of 8 values of k1 (one cache line of a row) × t rows:
            // each line of `rows` is read once, each row of c gets a run of t.
            // small[j][u] = W^((r0 + j)·u) for u < 8; the base W^((r0 + j)·k0)
            // advances by W^((r0 + j)·8) per tile (f64, re-seeded every 1024
            // columns). Two f32 products per element.
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
}

/// The exact spectrum of the whole signal, |X\[k\]| for k in 0..=N/2
/// (DC and Nyquist included), computed in parallel (rayon, all cores):
/// the DFT of exactly `source.len()` samples, equal to
/// [`realfft_spectrum`] of the same signal within floating-point rounding.
///
/// The packed path (module docs), with N = 2M, M = n1·n2:
/// 1. for each block of rows r: gather z\[n2·c + r\] (c < n1) — reading
///    `source`, e.g. a memory-mapped WAV mixed on the fly; FFT each row
///    (length n1) in cache; multiply by W_M^(r·k1) and write the transpose
///    c\[k1\]\[r\];
/// 2. for each block of rows k1 with their partner rows n1 − k1: copy them
///    into cache, FFT them (length n2: row k1, column k2 now holds
///    Z\[k1 + n1·k2\]), untangle the real FFT,
///    X\[k\] = ½(Z\[k\] + Z̄\[M−k\]) − ½i·W_N^k (Z\[k\] − Z̄\[M−k\]),
///    and write |X\[k\]| in natural order.
///
/// One big complex matrix (N/2 complex numbers: the size of the f32
/// signal) plus the magnitudes, written into the source's own memory when
/// it is a loaded `Vec<f32>` ([`MonoSource::into_vec`]).
///
/// # Errors
/// [`Error::TooShort`] when `source` does not have the plan's length;
/// [`Error::Memory`] when the buffers cannot be allocated.
///
/// [`realfft_spectrum`]: crate::spectrum::realfft_spectrum
pub fn exact<S: MonoSource>(
    source: S,
    sample_rate: u32,
    plan: &ExactPlan,
) -> Result<(Spectrum, Steps), Error> {
    if source.len() != plan.signal_len {
        return Err(Error::TooShort {
            samples: source.len(),
            needed: plan.signal_len,
        });
    }
    let (steps, store) = match &plan.method {
        Method::Direct(split) => direct(source, plan, split)?,
        Method::Bluestein { .. } => bluestein(source, plan)?,
    };
    let len = plan.bins();
    let spec = Spectrum {
        bin_hz: f64::from(sample_rate) / plan.signal_len as f64,
        mags: match store {
            Store::Vec(mut v) => {
                v.truncate(len);
                v.into()
            }
            Store::Buffer(b) => Magnitudes::in_buffer(b, len),
        },
    };
    Ok((spec, steps))
}

struct Laps {
    steps: Steps,
    t: Instant,
}

impl Laps {
    fn new() -> Self {
        Laps {
            steps: Steps::new(),
            t: Instant::now(),
        }
    }
    fn lap(&mut self, name: &'static str) {
        self.steps.push((name, self.t.elapsed()));
        self.t = Instant::now();
    }
}

/// The magnitudes' memory: the source's own when it has some (already
/// paged in: no fresh-page faults), else a new buffer.
fn store<S: MonoSource>(source: S, plan: &ExactPlan) -> Result<Store, Error> {
    let len = plan.bins();
    Ok(match source.into_vec() {
        Some(mut v) => {
            v.resize(len.max(v.len()), 0.0);
            Store::Vec(v)
        }
        None => Store::Buffer(plan.buffer(len * 4)?),
    })
}

fn mags_of(store: &mut Store, len: usize) -> &mut [f32] {
    match store {
        Store::Vec(v) => &mut v[..len],
        Store::Buffer(b) => &mut b.floats_mut()[..len],
    }
}

fn direct<S: MonoSource>(
    source: S,
    plan: &ExactPlan,
    split: &Split,
) -> Result<(Steps, Store), Error> {
    let mut laps = Laps::new();
    let m = plan.m;
    let mut c_buf = plan.buffer(m * 8)?;
    pass1(c_buf.complex_mut(), split, |n, run, tmp| {
        fill_packed(&source, plan.packing, n, run, tmp);
    });
    let mut store = store(source, plan)?;
    laps.lap("read + mix + FFT n1 + twiddle + transpose");
    let len = plan.bins();
    let mags = mags_of(&mut store, len);
    let c = &c_buf.complex()[..m];
    match plan.packing {
        Packing::Pairs => untangle_rows(c, split, &plan.tw_n, mags),
        Packing::Real => magnitude_rows(c, split, mags),
    }
    drop(c_buf);
    laps.lap("FFT n2 + untangle + magnitudes");
    Ok((laps.steps, store))
}

/// Pass 2 of the packed path (see [`exact`]): rows k1 with their partners,
/// FFT n2, untangle, |X\[k\]| for k in 0..=M.
fn untangle_rows(c: &[Complex<f32>], split: &Split, tw_n: &Twiddles, mags: &mut [f32]) {
    let (n1, n2) = (split.n1, split.n2);
    let m = n1 * n2;
    let out = Scatter(mags.as_mut_ptr(), mags.len());
    let fft2 = &split.fft2;
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
                if a == 0 {
                    // The Nyquist bin X[M] = Re Z[0] − Im Z[0].
                    let z0 = used[0];
                    // SAFETY: position M is written by the task of k1 = 0 only.
                    unsafe { out.write(m, (z0.re - z0.im).abs()) };
                }
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
}

/// Pass 2 of the odd-length path: rows k1, FFT n2, |Z\[k\]| for k ≤ N/2.
fn magnitude_rows(c: &[Complex<f32>], split: &Split, mags: &mut [f32]) {
    let (n1, n2) = (split.n1, split.n2);
    let len = mags.len();
    let out = Scatter(mags.as_mut_ptr(), len);
    let fft2 = &split.fft2;
    (0..n1)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .for_each_init(
            || {
                (
                    vec![Complex::<f32>::default(); BLOCK * n2],
                    vec![Complex::<f32>::default(); fft2.get_inplace_scratch_len()],
                )
            },
            |(rows, scratch), a| {
                let b = (a + BLOCK).min(n1);
                let used = &mut rows[..(b - a) * n2];
                used.copy_from_slice(&c[a * n2..b * n2]);
                fft2.process_with_scratch(used, scratch);
                for (i, row) in used.chunks_exact(n2).enumerate() {
                    let k1 = a + i;
                    for (k2, z) in row.iter().enumerate() {
                        let k = k1 + n1 * k2;
                        if k >= len {
                            break;
                        }
                        // SAFETY: rows a..b belong to this task alone, so
                        // position k1 + n1·k2 is written only here.
                        unsafe { out.write(k, magnitude(*z)) };
                    }
                }
            },
        );
}

/// Bluestein: Z\[k\] = e^(−iπk²/M) Σ_n a\[n\] b\[k−n\] with
/// a\[n\] = z\[n\]·e^(−iπn²/M) and b\[j\] = e^(iπj²/M), the convolution
/// computed over the smooth length L of `split`:
/// 1. pass 1 of the six-step on a (zero beyond M);
/// 2. rows of n2: FFT, × the kernel (b's spectrum / L, same order), inverse FFT;
/// 3. columns: × W_L^(−r·k1), inverse FFT n1, × e^(−iπn²/M): Z in natural
///    order, in place;
/// 4. untangle (packed) or magnitudes (odd N).
fn bluestein<S: MonoSource>(source: S, plan: &ExactPlan) -> Result<(Steps, Store), Error> {
    let Method::Bluestein {
        split,
        inv1,
        inv2,
        chirp,
        needed,
        kernel,
    } = &plan.method
    else {
        unreachable!("called for Bluestein plans only")
    };
    let (m, l, n1, n2) = (plan.m, split.len(), split.n1, split.n2);
    let two_m = 2 * m;
    let mut laps = Laps::new();
    let kernel = {
        let mut guard = kernel.lock().unwrap_or_else(|e| e.into_inner());
        match &*guard {
            Some(k) => Arc::clone(k),
            None => {
                let mut kb = plan.buffer(l * 8)?;
                let scale = 1.0 / l as f64;
                // b[j] = e^(iπj²/M) for j < K and for L − j < M; 0 between.
                let upper = l - (m - 1);
                pass1(kb.complex_mut(), split, |start, run, _| {
                    for (i, o) in run.iter_mut().enumerate() {
                        let j = start + i;
                        let e = if j < *needed {
                            Some(j)
                        } else if j >= upper {
                            Some(l - j)
                        } else {
                            None
                        };
                        *o = e.map_or(Complex::default(), |e| {
                            to_f32(chirp.get64(square_mod(e, two_m)).conj() * scale)
                        });
                    }
                });
                let fft2 = &split.fft2;
                kb.complex_mut().par_chunks_mut(BLOCK * n2).for_each_init(
                    || vec![Complex::default(); fft2.get_inplace_scratch_len()],
                    |scratch, rows| fft2.process_with_scratch(rows, scratch),
                );
                let k = Arc::new(kb);
                *guard = Some(Arc::clone(&k));
                laps.lap("Bluestein: the chirp's spectrum (first use of the plan)");
                k
            }
        }
    };
    let mut c_buf = plan.buffer(l * 8)?;
    // 1. a[n] = z[n]·e^(−iπn²/M), n < M; runs of consecutive n, the
    //    exponent n² mod 2M advanced exactly in integers.
    pass1(c_buf.complex_mut(), split, |start, run, tmp| {
        let have = m.saturating_sub(start).min(run.len());
        fill_packed(&source, plan.packing, start, &mut run[..have], tmp);
        let mut e = square_mod(start, two_m);
        for (i, v) in run[..have].iter_mut().enumerate() {
            *v *= to_f32(chirp.get64(e));
            e = (e + (2 * (start + i) + 1) % two_m) % two_m;
        }
        run[have..].fill(Complex::default());
    });
    let mut store = store(source, plan)?;
    laps.lap("read + mix + chirp + FFT n1 + twiddle + transpose");

    // 2. Rows of n2 in place: forward, × kernel, inverse.
    let (fft2, kc) = (&split.fft2, kernel.complex());
    c_buf.complex_mut()[..l]
        .par_chunks_mut(BLOCK * n2)
        .zip(kc[..l].par_chunks(BLOCK * n2))
        .for_each_init(
            || {
                let s = fft2
                    .get_inplace_scratch_len()
                    .max(inv2.get_inplace_scratch_len());
                vec![Complex::default(); s]
            },
            |scratch, (rows, k)| {
                fft2.process_with_scratch(rows, scratch);
                rows.iter_mut().zip(k).for_each(|(r, k)| *r *= k);
                inv2.process_with_scratch(rows, scratch);
            },
        );
    laps.lap("FFT n2 × chirp spectrum, inverse FFT n2");

    // 3. Columns r: gather T[k1][r], × W_L^(−r·k1), inverse FFT n1, then
    //    y[n2·c + r] × e^(−iπn²/M) back into the same positions.
    let c = c_buf.complex_mut();
    let all = Scatter(c.as_mut_ptr(), l);
    let tw = &split.tw;
    (0..n2.div_ceil(ROWS)).into_par_iter().for_each_init(
        || {
            (
                vec![Complex::<f32>::default(); ROWS * n1],
                vec![Complex::<f32>::default(); inv1.get_inplace_scratch_len()],
            )
        },
        |(rows, scratch), q| {
            let r0 = q * ROWS;
            let t = ROWS.min(n2 - r0);
            for k1 in 0..n1 {
                // SAFETY: task q alone reads and writes columns r0..r0 + t.
                let src = unsafe { all.run(k1 * n2 + r0, t) };
                for (j, v) in src.iter().enumerate() {
                    rows[j * n1 + k1] = *v;
                }
            }
            for (j, row) in rows[..t * n1].chunks_exact_mut(n1).enumerate() {
                let r = r0 + j;
                let step = tw.get64(r).conj();
                let mut w = Complex::new(1.0, 0.0);
                for (k1, v) in row.iter_mut().enumerate() {
                    if k1 % 1024 == 0 {
                        w = tw.get64(r * k1).conj();
                    }
                    *v *= to_f32(w);
                    w *= step;
                }
            }
            inv1.process_with_scratch(&mut rows[..t * n1], scratch);
            for col in 0..n1 {
                let start = n2 * col + r0;
                if start >= *needed {
                    break;
                }
                // SAFETY: as above, columns r0..r0 + t are this task's.
                let dst = unsafe { all.run(start, t) };
                let mut e = square_mod(start, two_m);
                for (j, d) in dst.iter_mut().enumerate() {
                    *d = rows[j * n1 + col] * to_f32(chirp.get64(e));
                    e = (e + (2 * (start + j) + 1) % two_m) % two_m;
                }
            }
        },
    );
    laps.lap("inverse FFT n1 × chirp (Z in natural order)");

    // 4. The spectrum from Z[0..M).
    let len = plan.bins();
    let mags = mags_of(&mut store, len);
    let z = &c_buf.complex()[..m];
    match plan.packing {
        Packing::Pairs => {
            let tw_n = &plan.tw_n;
            let step = tw_n.get64(1);
            mags[..m]
                .par_chunks_mut(1024)
                .enumerate()
                .for_each(|(q, out)| {
                    let k0 = q * 1024;
                    let mut w = tw_n.get64(k0);
                    for (i, o) in out.iter_mut().enumerate() {
                        let k = k0 + i;
                        let zk = z[k];
                        let zp = z[(m - k) % m].conj();
                        let sum = zk + zp;
                        let wd = to_f32(w) * (zk - zp);
                        w *= step;
                        *o = 0.5 * magnitude(Complex::new(sum.re + wd.im, sum.im - wd.re));
                    }
                });
            mags[m] = (z[0].re - z[0].im).abs();
        }
        Packing::Real => {
            mags.par_iter_mut()
                .zip(&z[..len])
                .for_each(|(o, v)| *o = magnitude(*v));
        }
    }
    drop(c_buf);
    laps.lap("untangle + magnitudes");
    Ok((laps.steps, store))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::tests::test_signal;
    use crate::spectrum::realfft_spectrum;

    fn check(plan: &ExactPlan) {
        let n = plan.signal_len;
        let x = test_signal(n);
        let reference = realfft_spectrum(x.clone(), 1000);
        let (got, _) = exact(x, 1000, plan).unwrap();
        assert_eq!(got.mags.len(), n / 2 + 1, "n = {n}");
        assert_eq!(got.mags.len(), reference.mags.len(), "n = {n}");
        assert_eq!(got.bin_hz, reference.bin_hz);
        let err = got.max_relative_error(&reference);
        assert!(err < 1e-5, "n = {n} ({plan:?}): relative error {err}");
    }

    #[test]
    fn twiddles_match_direct_formula() {
        let tw = Twiddles::new(1_000_000);
        for e in [0usize, 1, 999, 123_456, 999_999] {
            let a = -std::f64::consts::TAU * e as f64 / 1e6;
            let w = tw.get64(e);
            assert!((w.re - a.cos()).abs() < 1e-12);
            assert!((w.im - a.sin()).abs() < 1e-12);
        }
    }

    #[test]
    fn splits_choose_rows_or_bluestein() {
        assert_eq!(direct_split(11340 * 11781), Some((11340, 11781)));
        assert_eq!(direct_split(1_000_003), None); // prime
        assert_eq!(direct_split(131_071), Some((1, 131_071))); // small prime: one row
        let l = smooth_len(2_000_005);
        assert!((2_000_005..2_000_005 + 2_000_005 / 50).contains(&l) && is_smooth(l));
    }

    #[test]
    fn direct_paths_equal_realfft() {
        for n in [
            1usize,
            2,
            3,
            4,
            5,
            7,
            16,
            4096,
            30_000,
            44_099,
            44_100,
            65_537,
            1 << 18,
        ] {
            let plan = ExactPlan::new(n).unwrap();
            assert!(!plan.is_bluestein(), "{n}");
            check(&plan);
        }
    }

    #[test]
    fn bluestein_equals_realfft_on_every_kind_of_length() {
        for n in [1usize, 2, 3, 6, 17, 1000, 4099, 8198, 44_101, 262_147] {
            let plan = ExactPlan::new_bluestein(n).unwrap();
            assert!(plan.is_bluestein());
            check(&plan);
            // The kernel is kept: a second run gives the same.
            check(&plan);
        }
        // Lengths whose factorisation leaves a large prime.
        for n in [2 * 131_101, 131_111] {
            let plan = ExactPlan::new(n).unwrap();
            assert!(plan.is_bluestein(), "{n}: {plan:?}");
            check(&plan);
        }
    }

    #[test]
    fn a_source_of_another_length_is_refused() {
        let plan = ExactPlan::new(100).unwrap();
        assert!(matches!(
            exact(vec![0f32; 99], 1000, &plan),
            Err(Error::TooShort { .. })
        ));
        assert!(ExactPlan::new(0).is_err());
    }
}
