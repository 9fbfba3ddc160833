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
//!   needed: L ≈ N for 2 × prime, ≈ 1.5 N for a prime N), forward, times
//!   the chirp's spectrum, and back. The forward and inverse row passes are
//!   fused around the product, and the matrix stays in the blocked layout
//!   throughout (see [`bluestein`]), so it costs four passes (three for an
//!   odd N) over 2–3× the memory of the packed path. The chirp's spectrum
//!   is computed on the plan's first use and kept.
//!
//! Every plan is made of small rustfft plans (rows of ≤ 2^17 points) and
//! planning takes milliseconds for every N.
//!
//! # Where the time goes
//! At the book's size the transform is memory-bound: each pass reads or
//! writes one side in short runs far apart (pass 1 reads a column of the
//! signal as n1 runs, one per page; pass 2 writes the magnitudes of a block
//! of rows as n2 runs), and every such run costs a TLB miss and a memory
//! latency. So the passes work on blocks that stay in cache (COLS columns,
//! BLOCK rows), prefetch the runs a few steps ahead, write pass 1's output
//! as one contiguous run per block (the blocked layout of [`Split::at`]),
//! and take the twiddle factors from small tables. The first version (256
//! columns per block: 23 MB, spilled to memory three times per pass; 64-bit
//! divisions per element in Bluestein; peaks offered bin by bin) spent
//! 5.4 s of user CPU on fft-06 where this one spends 3.2–3.3 s.
//!
//! # Buffers
//! The plan keeps its work matrix from one run to the next
//! ([`ExactPlan::reuse_buffers`], on by default): a fresh 1 GB map costs a
//! page fault and a zeroing per 4 KiB on first touch, which on the course's
//! virtual machines was the largest single cost of a repeated run.
//!
//! # The worst N
//! Bluestein is kept for large prime factors, over the L ≥ M + K − 1 and
//! the split n1 × n2 that [`bluestein_split`] picks by a model of
//! rustfft's cost per row length (the shortest 7-smooth L is not the
//! fastest). Rader's algorithm was considered and not tried: its
//! convolution of length p − 1 needs the input and output permuted by
//! powers of a primitive root — 8-byte random accesses over the whole
//! signal, where even the smooth path's 128-byte runs far apart are its
//! main cost — and p − 1 has a large prime factor itself for the worst
//! primes (the book-size prime: 267,193,078 = 2 × 229 × 583,391). The
//! worst N of a size is a prime (it cannot be packed, so L ≈ 1.5 N where
//! 2 × prime has L ≈ N): two FFTs of 1.5 N complex points against the
//! smooth path's one of N/2 is six times the arithmetic, and three passes
//! over three times the memory where it makes two. Plan made and buffers
//! kept (criterion, two runs in a quiet hour): at the book's size
//! 2 × 133,596,563 took 2.41–2.47× the smooth 267,193,080 and the prime
//! 267,193,079 2.76–2.80×; at 2.6 million samples, where the smooth
//! path's 21 MB stay in the 32 MB L3 cache and Bluestein's 64 MB (matrix
//! and chirp spectrum) do not, 2.55–2.62× and 3.03–3.07×. The prime was
//! 3.2× at the book's size with the shortest L, 3.7× before pass 1 took
//! its chirp from [`ColumnChirp`], 4.4–4.9× before the chirp came from
//! recurrences at all.
//! See the crate README for the figures.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::simd;
use crate::Error;
use crate::buffer::{Buffer, HugePages};
use crate::spectrum::{Magnitudes, Spectrum};
use crate::wav::MonoSource;

/// e^(−2πi·e/n) for any e < n from two small tables (hi × lo), exact to
/// f64 rounding — a full table of n entries would cost a pass over memory.
pub(crate) struct Twiddles {
    n: usize,
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
            n,
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

    /// Calls `f(i, W^(j² mod n))` (W = e^(−2πi/n), in f32) for
    /// j = start + i·stride, i in 0..len: Bluestein's chirp, with n = 2M,
    /// along a run of the signal (stride 1) or down a column of the matrix
    /// (stride n2). Two table lookups per element cost more than the FFTs
    /// around them (the tables are larger than L2 and j² jumps across
    /// them), so the values come from four interleaved f64 recurrences
    /// instead: with s the stride, j → j + 4s multiplies by
    /// W^(8sj + 16s²), and that factor by W^(32s²). They are seeded exactly
    /// from the tables every [`SQUARES_SEED`] elements, so the error stays
    /// at a few f64 roundings, far below f32's. Seeding costs a few
    /// 128-bit divisions: runs should be long.
    #[inline]
    pub(crate) fn for_squares(
        &self,
        start: usize,
        stride: usize,
        len: usize,
        mut f: impl FnMut(usize, Complex<f32>),
    ) {
        let n = self.n;
        let md = |x: u128| (x % n as u128) as usize;
        let s = stride as u128;
        let mut i0 = 0;
        while i0 < len {
            let j0 = (start + i0 * stride) as u128;
            let c: [Complex<f64>; 4] = std::array::from_fn(|k| {
                let j = j0 + k as u128 * s;
                self.get64(md(j * j))
            });
            // W^(8s(j0 + ks) + 16s²) = W^(8s·j0 + 16s²) · W^(8s²k).
            let base = self.get64(md(8 * s * j0 + 16 * s * s));
            let d: [Complex<f64>; 4] =
                std::array::from_fn(|k| base * self.get64(md(8 * s * s * k as u128)));
            let w = self.get64(md(32 * s * s));
            // Lanes as separate arrays of re and im, so that the products
            // are vector operations.
            let (mut cr, mut ci) = (c.map(|c| c.re), c.map(|c| c.im));
            let (mut dr, mut di) = (d.map(|d| d.re), d.map(|d| d.im));
            let end = (i0 + SQUARES_SEED).min(len);
            let mut i = i0;
            while i + 4 <= end {
                for k in 0..4 {
                    f(i + k, Complex::new(cr[k] as f32, ci[k] as f32));
                }
                let (pr, pi) = (cr, ci);
                for k in 0..4 {
                    cr[k] = pr[k] * dr[k] - pi[k] * di[k];
                    ci[k] = pr[k] * di[k] + pi[k] * dr[k];
                }
                let (qr, qi) = (dr, di);
                for k in 0..4 {
                    dr[k] = qr[k] * w.re - qi[k] * w.im;
                    di[k] = qr[k] * w.im + qi[k] * w.re;
                }
                i += 4;
            }
            for k in 0..end - i {
                f(i + k, Complex::new(cr[k] as f32, ci[k] as f32));
            }
            i0 = end;
        }
    }
}

/// Elements of [`Twiddles::for_squares`] (steps of [`ColumnChirp`])
/// between two exact seeds.
const SQUARES_SEED: usize = 512;

/// The most columns one task of pass 1 reads at once.
const LANES: usize = MAX_WIDTH * COLS;

/// Bluestein's chirp where pass 1 needs it: W^(j²) (W = e^(−2πi/n), n of
/// the [`Twiddles`]) for j = n2·c + r0 + i, i < t, one run of t per c =
/// 0, 1, 2, … in turn. Runs of 16–128 numbers are short for
/// [`Twiddles::for_squares`] (a seed, ten 128-bit divisions and table
/// lookups, per run: 0.1 s of the book-size prime's 1.6–1.7 s pass 1 in
/// alternating runs), so the values come from one recurrence per column,
/// vectorised across the columns: j → j + n2 multiplies W^(j²) by
/// D = W^(2·n2·j + n2²), and D by E = W^(2·n2²). Seeded exactly every
/// [`SQUARES_SEED`] steps (the error after k steps is ≈ k²/2 f64
/// roundings: 1.5e-11 for 512, far below f32's 6e-8).
pub(crate) struct ColumnChirp<'a> {
    tw: &'a Twiddles,
    n2: usize,
    r0: usize,
    /// `Some(l)`: the chirp at l − j instead of j (walking down).
    from: Option<usize>,
    c: usize,
    cr: [f64; LANES],
    ci: [f64; LANES],
    dr: [f64; LANES],
    di: [f64; LANES],
    e: Complex<f64>,
}

impl<'a> ColumnChirp<'a> {
    /// The walk from column r0 (`from`: `Some(l)` for W^((l − j)²), j < l;
    /// Bluestein's kernel near L).
    pub(crate) fn new(tw: &'a Twiddles, n2: usize, r0: usize, from: Option<usize>) -> Self {
        let e = tw.get64((2 * n2 as u128 * n2 as u128 % tw.n as u128) as usize);
        ColumnChirp {
            tw,
            n2,
            r0,
            from,
            c: 0,
            cr: [0.0; LANES],
            ci: [0.0; LANES],
            dr: [0.0; LANES],
            di: [0.0; LANES],
            e,
        }
    }

    /// Calls `f(i, W^(j²))` for j = n2·c + r0 + i (or l − that), i < t,
    /// with c this call's number (the calls before it), then moves on to
    /// c + 1. `t` may only shrink from one call to the next (at the
    /// signal's end, or to 0 where no more values are wanted), and is at
    /// most [`LANES`].
    pub(crate) fn step(&mut self, t: usize, mut f: impl FnMut(usize, Complex<f32>)) {
        self.seed(t);
        for i in 0..t {
            f(i, Complex::new(self.cr[i] as f32, self.ci[i] as f32));
        }
        let e = self.e;
        simd::chirp_advance(self.lanes(t), e);
        self.c += 1;
    }

    /// The lane arrays of columns 0..t, for [`simd`].
    fn lanes(&mut self, t: usize) -> simd::Lanes<'_> {
        [
            &mut self.cr[..t],
            &mut self.ci[..t],
            &mut self.dr[..t],
            &mut self.di[..t],
        ]
    }

    /// `step(run.len(), |i, w| run[i] *= w)`, four columns per vector
    /// instruction where the CPU has AVX2 ([`simd::chirp_step`]): pass 1's
    /// use, where the chirp took 2.1 ms of the 2.6-million prime's 10.4 ms
    /// pass (measured by leaving it out).
    pub(crate) fn mul_run(&mut self, run: &mut [Complex<f32>]) {
        self.seed(run.len());
        let e = self.e;
        simd::chirp_step(self.lanes(run.len()), e, run);
        self.c += 1;
    }

    /// Seeds lanes 0..t exactly from the tables on every [`SQUARES_SEED`]th
    /// call.
    fn seed(&mut self, t: usize) {
        assert!(t <= LANES, "at most {LANES} columns");
        if self.c % SQUARES_SEED == 0 {
            let n = self.tw.n as u128;
            let n2 = self.n2 as u128;
            for i in 0..t {
                let j = n2 * self.c as u128 + (self.r0 + i) as u128;
                // j → j + n2 moves the exponent e by +n2 (or −n2 from l):
                // (e ± n2)² − e² = ±2·n2·e + n2².
                let (e, d) = match self.from {
                    None => (j, 2 * n2 * j % n),
                    Some(l) => {
                        let e = l as u128 - j;
                        (e, n - 2 * n2 * e % n)
                    }
                };
                let w = self.tw.get64((e * e % n) as usize);
                let d = self.tw.get64(((d + n2 * n2) % n) as usize);
                (self.cr[i], self.ci[i], self.dr[i], self.di[i]) = (w.re, w.im, d.re, d.im);
            }
        }
    }
}

/// Columns r per block of the blocked layout and per FFT batch of a
/// column pass: each column c of the source is read as a run of COLS
/// consecutive complex numbers (128 bytes of a loaded signal), and pass 1
/// gathers [`MAX_WIDTH`] such blocks per task. Measured on the book-size
/// file, one block per task, alternating runs in a quiet minute: fft-06
/// 2.21–2.35 s with 16, 2.43–2.66 s with 32, 2.33–2.61 s with 64. The
/// first version's 256 (23 MB blocks, spilled to memory three times per
/// pass) cost ≈ 1.5× more.
const COLS: usize = 16;
/// Rows k1 per task in the last pass (plus as many partner rows n1 − k1).
const BLOCK: usize = 16;
/// Columns k2 ahead of the one written whose output lines are prefetched.
const OUT_AHEAD: usize = 4;
/// Blocks of columns ahead of the one read whose runs Bluestein's last
/// pass announces.
const PASS4_AHEAD: usize = 2;
/// Columns k2 written together in the last pass.
const K2_CHUNK: usize = 256;
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
    /// The matrix after pass 1 in blocks of COLS columns (see
    /// [`Split::at`]) instead of rows of n2.
    blocked: bool,
    pub(crate) fft1: Arc<dyn Fft<f32>>,
    pub(crate) fft2: Arc<dyn Fft<f32>>,
    pub(crate) tw: Twiddles,
}

impl Split {
    /// A split whose matrix after pass 1 is row-major (k1·n2 + r): the
    /// distributed FFT's (feature `mpi`).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn new(n1: usize, n2: usize, planner: &mut FftPlanner<f32>) -> Split {
        Self::with_layout(n1, n2, false, planner)
    }

    fn with_layout(n1: usize, n2: usize, blocked: bool, planner: &mut FftPlanner<f32>) -> Split {
        Split {
            n1,
            n2,
            blocked,
            fft1: planner.plan_fft_forward(n1),
            fft2: planner.plan_fft_forward(n2),
            tw: Twiddles::new(n1 * n2),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.n1 * self.n2
    }

    /// Complex numbers the matrix after pass 1 takes.
    fn matrix_len(&self) -> usize {
        if self.blocked {
            self.n2.div_ceil(COLS) * COLS * self.n1
        } else {
            self.len()
        }
    }

    /// Where element (k1, r) of the matrix after pass 1 is. Row-major
    /// (k1·n2 + r), or blocked: block q = r / COLS holds columns
    /// qCOLS..(q+1)COLS of every row, row after row, so pass 1 writes each
    /// block as one contiguous run (fresh pages filled at once, few TLB
    /// misses) and pass 2 reads BLOCK consecutive rows as runs of
    /// BLOCK·COLS numbers.
    #[inline]
    fn at(&self, k1: usize, r: usize) -> usize {
        if self.blocked {
            ((r / COLS) * self.n1 + k1) * COLS + r % COLS
        } else {
            k1 * self.n2 + r
        }
    }

    /// Copies row k1 of the matrix after pass 1 (n2 numbers) into `out`.
    fn read_row(&self, c: &[Complex<f32>], k1: usize, out: &mut [Complex<f32>]) {
        let n2 = self.n2;
        if self.blocked {
            for (q, o) in out[..n2].chunks_mut(COLS).enumerate() {
                let p = self.at(k1, q * COLS);
                o.copy_from_slice(&c[p..p + o.len()]);
            }
        } else {
            out[..n2].copy_from_slice(&c[k1 * n2..(k1 + 1) * n2]);
        }
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
    huge_pages: HugePages,
    reuse: bool,
    /// The work matrix of the last run, kept for the next one.
    spare: Mutex<Option<Buffer>>,
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

fn is_smooth(m: usize) -> bool {
    crate::spectrum::only_factors(m, &[2, 3, 5, 7])
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

/// How many times `p` divides `m` (m ≥ 1).
fn times(mut m: usize, p: usize) -> i32 {
    let mut k = 0;
    while m % p == 0 {
        m /= p;
        k += 1;
    }
    k
}

/// The modelled time per point of a rustfft row of `n` points (7-smooth),
/// in arbitrary units: a least-squares fit to rustfft 6's AVX timings of
/// every 7-smooth length from 1,000 to 36,000 on the course's AMD EPYC
/// (correlation 0.83–0.86). Powers of two are what its SIMD kernels want
/// (a length with fewer than 2^6 costs up to 1.6× one with more); each 5
/// or 7 costs a little, each 3 saves a little. At the book-size prime the
/// measured costs of the splits span 1.57–1.77 (×10^9) for the same L.
fn row_cost(n: usize) -> f64 {
    2.0 + 0.17 * f64::from((6 - times(n, 2)).max(0)) - 0.073 * f64::from(times(n, 3))
        + 0.09 * f64::from(times(n, 5))
        + 0.071 * f64::from(times(n, 7))
}

/// The most factors of 2 a row length of a split may have: 2^9 points
/// are 4 KiB, and the transposes between passes step through their block
/// of rows at the row length's stride, so with 2^9 | n every lane falls
/// in the same cache set (4 KiB aliasing). Measured at the book-size prime,
/// alternating runs: n1 = 16,384, 14,336 or 17,920 made passes 1 and 3
/// 1.4× slower than n1 = 19,440 or 15,552.
const MAX_TWOS: i32 = 8;

/// Bluestein's length and split for a convolution of at least `min`
/// points: among the 7-smooth L from `min` to 2 % above it and their
/// splits n1 × n2 (n1 ≤ n2 ≤ 4·n1, n2 ≤ [`MAX_ROW`], at most 2^[`MAX_TWOS`]
/// in each), the one with the least L·(`row_cost`(n1) + `row_cost`(n2)):
/// the arithmetic of the FFTs, which is most of Bluestein's time. The
/// smallest such L is not the fastest: at the book-size prime it is
/// 19,600 × 20,480 (2^12 in the rows), while 15,552 × 25,920, 0.4 % longer,
/// measured 3.59 s against 3.72 s (medians of 8, alternating runs).
/// Short lengths (and any `min` without a candidate) take the smallest
/// 7-smooth L and its balanced split.
pub(crate) fn bluestein_split(min: usize) -> (usize, usize) {
    let fallback =
        || direct_split(smooth_len(min)).expect("smooth_len returns a splittable length");
    if min <= MAX_DIRECT {
        return fallback();
    }
    let max = min + min / 50;
    let mut best: Option<(f64, usize, usize)> = None;
    let mut p2 = 1usize;
    while p2 <= max {
        let mut p3 = p2;
        while p3 <= max {
            let mut p5 = p3;
            while p5 <= max {
                let mut l = p5;
                while l <= max {
                    if l >= min {
                        consider_splits(l, &mut best);
                    }
                    l *= 7;
                }
                p5 *= 5;
            }
            p3 *= 3;
        }
        p2 *= 2;
    }
    best.map_or_else(fallback, |(_, n1, n2)| (n1, n2))
}

/// The splits n1 × n2 of the 7-smooth `l` allowed by [`bluestein_split`],
/// each kept in `best` if it is cheaper (ties: the shorter L).
fn consider_splits(l: usize, best: &mut Option<(f64, usize, usize)>) {
    let exps = [2, 3, 5, 7].map(|p| times(l, p));
    let mut divisor = |n1: usize| {
        let n2 = l / n1;
        let allowed = n1 <= n2
            && n2 <= MAX_ROW
            && n2 <= 4 * n1
            && times(n1, 2) <= MAX_TWOS
            && times(n2, 2) <= MAX_TWOS;
        if allowed {
            let cost = l as f64 * (row_cost(n1) + row_cost(n2));
            if best.is_none_or(|(c, b1, b2)| cost < c || (cost == c && l < b1 * b2)) {
                *best = Some((cost, n1, n2));
            }
        }
    };
    for a in 0..=exps[0] {
        for b in 0..=exps[1] {
            for c in 0..=exps[2] {
                for d in 0..=exps[3] {
                    divisor(
                        2usize.pow(a as u32)
                            * 3usize.pow(b as u32)
                            * 5usize.pow(c as u32)
                            * 7usize.pow(d as u32),
                    );
                }
            }
        }
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
            Some((n1, n2)) => Method::Direct(Split::with_layout(n1, n2, true, &mut planner)),
            None => {
                let needed = match packing {
                    Packing::Pairs => m,
                    Packing::Real => bins(signal_len),
                };
                let (n1, n2) = bluestein_split(m + needed - 1);
                Method::Bluestein {
                    split: Split::with_layout(n1, n2, true, &mut planner),
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
            huge_pages: HugePages::Auto,
            reuse: true,
            spare: Mutex::new(None),
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

    /// Whether the work buffers ask the kernel for 2 MiB pages
    /// (`MADV_HUGEPAGE`, Linux; advice only). [`HugePages::Auto`] by
    /// default: only when they are free, so that their allocation costs
    /// no compaction (see [`crate::buffer`] and the crate README for what
    /// each choice measured on this course's machines).
    #[must_use]
    pub fn huge_pages(mut self, mode: HugePages) -> Self {
        self.huge_pages = mode;
        self
    }

    /// Whether the plan keeps its work matrix (N/2 complex numbers: the
    /// size of the f32 signal; about N for Bluestein) after a run for the
    /// next run, as a planned rustfft reuses its scratch buffer. On by
    /// default: fresh memory costs a page fault and a zeroing per 4 KiB on
    /// first touch, which the crate README measured as the largest cost
    /// of a repeated run. The memory is freed with the plan, or by
    /// [`ExactPlan::release_buffers`]; off, every run maps and frees its
    /// own.
    #[must_use]
    pub fn reuse_buffers(mut self, on: bool) -> Self {
        self.reuse = on;
        self
    }

    /// Frees the work matrix kept from the last run (see
    /// [`ExactPlan::reuse_buffers`]); the next run maps a fresh one.
    pub fn release_buffers(&self) {
        self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
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

    /// A work buffer of `bytes`: the last run's when it is kept, else fresh.
    fn work(&self, bytes: usize) -> Result<Buffer, Error> {
        let kept = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        match kept {
            Some(b) if b.bytes().len() == bytes => Ok(b),
            _ => self.buffer(bytes),
        }
    }

    fn give_back(&self, b: Buffer) {
        if self.reuse {
            *self.spare.lock().unwrap_or_else(|e| e.into_inner()) = Some(b);
        }
    }

    fn buffer(&self, bytes: usize) -> Result<Buffer, Error> {
        Buffer::zeroed(bytes, self.huge_pages.wanted(bytes))
            .map_err(|source| Error::Memory { bytes, source })
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

    /// Asks for the cache line of position `i` in order to write it soon
    /// (x86-64 `prefetchw`; nothing elsewhere, or when `i` is outside).
    #[inline]
    fn prefetch_write(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if i < self.1 {
            use std::arch::x86_64::{_MM_HINT_ET0, _mm_prefetch};
            // SAFETY: SSE is part of the x86-64 baseline; a prefetch only
            // hints (reads and writes nothing, never faults), and the
            // address is inside the matrix.
            unsafe { _mm_prefetch::<_MM_HINT_ET0>(self.0.wrapping_add(i).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }
}

pub(crate) fn to_f32(w: Complex<f64>) -> Complex<f32> {
    Complex::new(w.re as f32, w.im as f32)
}

#[inline]
pub(crate) fn magnitude(c: Complex<f32>) -> f32 {
    (c.re * c.re + c.im * c.im).sqrt()
}

/// Writes z\[n\] for n in `start..start + out.len()` (all < M), read from
/// `source` as `packing` says.
fn fill_run<S: MonoSource>(source: &S, packing: Packing, start: usize, out: &mut [Complex<f32>]) {
    if out.is_empty() {
        return; // (and never ask the source for a start past its end)
    }
    match packing {
        // Complex<f32> is two f32s, re then im: the pairs land in place.
        Packing::Pairs => source.fill(2 * start, bytemuck::cast_slice_mut(out)),
        Packing::Real => {
            let mut tmp = [0f32; COLS];
            for (i, part) in out.chunks_mut(COLS).enumerate() {
                let t = part.len();
                source.fill(start + i * COLS, &mut tmp[..t]);
                for (o, &x) in part.iter_mut().zip(&tmp[..t]) {
                    *o = Complex::new(x, 0.0);
                }
            }
        }
    }
}

/// [`fill_run`] for callers with a scratch buffer of their own (the MPI
/// version's pass 1); `tmp` is not needed any more.
#[cfg(feature = "mpi")]
pub(crate) fn fill_packed<S: MonoSource>(
    source: &S,
    packing: Packing,
    start: usize,
    out: &mut [Complex<f32>],
    _tmp: &mut [f32],
) {
    fill_run(source, packing, start, out);
}

/// [`MonoSource::prefetch`] of what `fill_run(.., start, len)` reads.
fn prefetch_packed<S: MonoSource>(source: &S, packing: Packing, start: usize, len: usize) {
    match packing {
        Packing::Pairs => source.prefetch(2 * start, 2 * len),
        Packing::Real => source.prefetch(start, len),
    }
}

/// W^(r·k) for the row of column r, k = 64a + b: W^(64ra) · W^(rb), both
/// from the f64 tables (exponents by additions mod n, no divisions),
/// multiplied into `row` (conjugated with `conj`) by [`simd::scale_by`].
pub(crate) fn twiddle_row(row: &mut [Complex<f32>], r: usize, tw: &Twiddles, conj: bool) {
    let c = |w: Complex<f64>| if conj { to_f32(w.conj()) } else { to_f32(w) };
    let m = tw.n;
    let r = r % m;
    let mut e = 0;
    let lo: [Complex<f32>; 64] = std::array::from_fn(|_| {
        let w = c(tw.get64(e));
        e += r;
        if e >= m {
            e -= m;
        }
        w
    });
    let step = ((r as u128 * 64) % m as u128) as usize;
    let mut e = 0;
    for chunk in row.chunks_mut(64) {
        simd::scale_by(chunk, c(tw.get64(e)), &lo);
        e += step;
        if e >= m {
            e -= m;
        }
    }
}

/// The column pass of a six-step over `split`: for each `width` blocks of
/// COLS columns r0..r0 + t, `gather(r0, t, rows)` fills `rows[j·n1 + c]`
/// with column r0 + j, the t rows of n1 are transformed by `split.fft1` in
/// cache and multiplied by the twiddle factors W_L^(r·k1), and
/// `scatter(r0, t, rows)` writes them out. Tasks run in parallel; each
/// calls its closures for its own columns only.
fn column_pass<G, S>(split: &Split, width: usize, gather: G, scatter: S)
where
    G: Fn(usize, usize, &mut [Complex<f32>]) + Sync,
    S: Fn(usize, usize, &[Complex<f32>]) + Sync,
{
    let (n1, n2) = (split.n1, split.n2);
    let (fft, tw) = (&split.fft1, &split.tw);
    let cols = width * COLS;
    (0..n2.div_ceil(cols)).into_par_iter().for_each_init(
        || {
            (
                vec![Complex::<f32>::default(); cols * n1],
                vec![Complex::<f32>::default(); fft.get_inplace_scratch_len()],
            )
        },
        |(rows, scratch), q| {
            let r0 = q * cols;
            let t = cols.min(n2 - r0);
            let rows = &mut rows[..t * n1];
            gather(r0, t, rows);
            fft.process_with_scratch(rows, scratch);
            for (j, row) in rows.chunks_exact_mut(n1).enumerate() {
                twiddle_row(row, r0 + j, tw, false);
            }
            scatter(r0, t, rows);
        },
    );
}

/// Columns ahead of the one being read whose runs are prefetched.
const AHEAD: usize = 4;

/// The most blocks of COLS columns one task of pass 1 gathers. The
/// gather reads a run of every row of the source, each in another page:
/// each page visit costs a TLB miss (a two-level page walk in a virtual
/// machine), so a task reads as much of each page as it can use. With 8
/// blocks, 128 columns, a run is 1 KB of a packed f32 signal, 512 bytes of
/// a 16-bit stereo WAV (256 for an odd N's real samples); the task's rows
/// (8 × 1.45 MB at the book's size) stay in the 32 MB L3 cache. Measured
/// on fft-06, alternating runs of one binary: the book-size file's pass 1
/// 1.73 s with 1 block, 1.49 s with 4, 1.38 s with 8 (1.36 s with 16); an
/// odd smooth N of 263,671,875: 4.54 s with 2 blocks, 3.63 s with 8; the
/// prime 267,193,079 (Bluestein): 6.56 s with 2, 5.30 s with 8 (when
/// every run seeded its own chirp; Bluestein over a signal in memory now
/// reads one block per task, see [`bluestein`]).
const MAX_WIDTH: usize = 8;

/// Pages the second-level TLB holds (2,048 entries on the course's AMD
/// EPYC; 1,536–3,072 on recent x86-64 cores).
const TLB_PAGES: usize = 2048;

/// Blocks of COLS columns per task in pass 1 over `split`. A task's sweep
/// visits n1 pages of the source; while they fit the TLB (small N), one
/// block (two for an odd N, whose real samples would otherwise be read as
/// 64-byte runs where the packed path reads 128), measured best at 2.6
/// million samples: 2 × prime 35.1 ms with one block, 38.6 ms with six.
/// Beyond, [`MAX_WIDTH`], fewer when that would leave fewer than 16 tasks
/// to share out.
fn pass_width(split: &Split, packing: Packing) -> usize {
    if split.n1 <= TLB_PAGES {
        return match packing {
            Packing::Pairs => 1,
            Packing::Real => 2,
        };
    }
    (split.n2.div_ceil(COLS) / 16).clamp(1, MAX_WIDTH)
}

/// Copies `src` into `dst` (same length). On x86-64, a run of whole
/// 64-byte-aligned cache lines is written with non-temporal stores: the
/// lines go to memory without first being read into the cache (a plain
/// store reads each line before writing it: twice the traffic). The caller
/// ends its writes with [`fence`].
#[inline]
fn write_run(dst: &mut [Complex<f32>], src: &[Complex<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if dst.len() == src.len() && dst.len() % 8 == 0 && (dst.as_ptr() as usize) % 64 == 0 {
        use std::arch::x86_64::{_mm_set_ps, _mm_stream_ps};
        for (d, s) in dst.chunks_exact_mut(2).zip(src.chunks_exact(2)) {
            // SAFETY: SSE is part of the x86-64 baseline (always present).
            // `d` is two complex numbers (16 writable bytes of `dst`, which
            // we borrow mutably), 16-byte aligned: `dst` starts on a
            // 64-byte boundary and `d` a multiple of 16 bytes after it.
            unsafe {
                let v = _mm_set_ps(s[1].im, s[1].re, s[0].im, s[0].re);
                _mm_stream_ps(d.as_mut_ptr().cast(), v);
            }
        }
        return;
    }
    dst.copy_from_slice(src);
}

/// Orders the non-temporal stores of [`write_run`] before whatever follows
/// (they are weakly ordered); nothing on other targets.
fn fence() {
    // SAFETY: SSE is part of the x86-64 baseline; a fence has no operands.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_sfence();
    }
}

/// Pass 1 of the six-step over `split`: column r of the matrix is
/// a\[n2·c + r\] (c < n1), read in runs of consecutive n with
/// `fill(state, n, run)` — one call per c, in order, `state` made by
/// `init(r0)` for the task's first column r0 — and `prefetch(n, len)`
/// announcing a run a few columns ahead; the columns' FFTs (length n1)
/// times W_L^(r·k1) are written into `c` at `split.at(k1, r)`.
fn pass1<T, I, F, P>(
    c: &mut [Complex<f32>],
    split: &Split,
    width: usize,
    init: I,
    fill: F,
    prefetch: P,
) where
    I: Fn(usize) -> T + Sync,
    F: Fn(&mut T, usize, &mut [Complex<f32>]) + Sync,
    P: Fn(usize, usize) + Sync,
{
    let (n1, n2) = (split.n1, split.n2);
    assert!(c.len() >= split.matrix_len(), "the matrix fits");
    let out = Scatter(c.as_mut_ptr(), c.len());
    column_pass(
        split,
        width,
        |r0, t, rows| {
            let mut run = [Complex::<f32>::default(); LANES];
            let mut state = init(r0);
            for col in 0..AHEAD.min(n1) {
                prefetch(n2 * col + r0, t);
            }
            for col in 0..n1 {
                if col + AHEAD < n1 {
                    prefetch(n2 * (col + AHEAD) + r0, t);
                }
                fill(&mut state, n2 * col + r0, &mut run[..t]);
                for (j, v) in run[..t].iter().enumerate() {
                    rows[j * n1 + col] = *v;
                }
            }
        },
        |r0, t, rows| {
            if split.blocked {
                for b0 in (0..t).step_by(COLS) {
                    let tb = COLS.min(t - b0);
                    // SAFETY: blocks (r0 + b0) / COLS of the matrix are
                    // this task's alone, and nothing reads `c` during the
                    // pass.
                    let dst = unsafe { out.run(split.at(0, r0 + b0), n1 * COLS) };
                    for (k1, d) in dst.chunks_exact_mut(COLS).enumerate() {
                        for (j, v) in d[..tb].iter_mut().enumerate() {
                            *v = rows[(b0 + j) * n1 + k1];
                        }
                    }
                }
                return;
            }
            assert!(t <= COLS, "row-major output: one block of columns per task");
            let mut run = [Complex::<f32>::default(); COLS];
            for k1 in 0..n1 {
                for (j, v) in run[..t].iter_mut().enumerate() {
                    *v = rows[j * n1 + k1];
                }
                // SAFETY: the columns r0..r0 + t are this task's alone,
                // and nothing reads `c` during the pass.
                let dst = unsafe { out.run(split.at(k1, r0), t) };
                write_run(dst, &run[..t]);
            }
            fence();
        },
    );
}

/// The exact spectrum of the whole signal, |X\[k\]| for k in 0..=N/2
/// (DC and Nyquist included), computed in parallel (rayon, all cores):
/// the DFT of exactly `source.len()` samples, equal to
/// [`realfft_spectrum`] of the same signal within floating-point rounding.
///
/// The packed path (module docs), with N = 2M, M = n1·n2:
/// 1. for each block of COLS columns r: gather z\[n2·c + r\] (c < n1) —
///    reading `source`, e.g. a memory-mapped WAV mixed on the fly, one run
///    of COLS consecutive samples per c; FFT each column (length n1) in
///    cache; multiply by W_M^(r·k1) and write the block contiguously;
/// 2. for each block of rows k1 with their partner rows n1 − k1: copy them
///    into cache, FFT them (length n2: row k1, column k2 now holds
///    Z\[k1 + n1·k2\]), untangle the real FFT,
///    X\[k\] = ½(Z\[k\] + Z̄\[M−k\]) − ½i·W_N^k (Z\[k\] − Z̄\[M−k\]),
///    and write |X\[k\]| in natural order, a run of consecutive k1 per k2.
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
        None => {
            let mut b = plan.buffer(len * 4)?;
            // Pass 2 writes these pages in short runs far apart, and a page
            // fault in that loop stalls the whole run (measured: ≈ 0.1 s
            // less wall time at the book's size).
            prefault(&mut b);
            Store::Buffer(b)
        }
    })
}

/// Faults a fresh buffer's pages in now, in order and on every core, so
/// that a pass writing it in short runs far apart does not stop at each
/// new page.
fn prefault(b: &mut Buffer) {
    b.floats_mut()
        .par_chunks_mut(1 << 20)
        .for_each(|c| c.iter_mut().step_by(1024).for_each(|x| *x = 0.0));
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
    let mut c_buf = plan.work(split.matrix_len() * 8)?;
    pass1(
        c_buf.complex_mut(),
        split,
        pass_width(split, plan.packing),
        |_| (),
        |_, n, run| fill_run(&source, plan.packing, n, run),
        |n, len| prefetch_packed(&source, plan.packing, n, len),
    );
    let mut store = store(source, plan)?;
    laps.lap("read + mix + FFT n1 + twiddle + transpose");
    let len = plan.bins();
    let mags = mags_of(&mut store, len);
    match plan.packing {
        Packing::Pairs => untangle_rows(c_buf.complex(), split, &plan.tw_n, mags),
        Packing::Real => magnitude_rows(c_buf.complex(), split, mags),
    }
    plan.give_back(c_buf);
    laps.lap("FFT n2 + untangle + magnitudes");
    Ok((laps.steps, store))
}

/// Pass 2 of the packed path (see [`exact`]): rows k1 with their partners
/// n1 − k1, FFT n2, untangle, |X\[k\]| for k in 0..=M.
///
/// The rows are copied into a block buffer (≈ 3 MB, cache-resident) and
/// transformed there, so `c` is only read (an in-place FFT would write the
/// whole matrix back to memory); W_N^k = W_N^(k1) · W_N^(n1·k2) comes from
/// two small tables, and for each k2 the block's magnitudes are written
/// together (a run of consecutive k1).
fn untangle_rows(c: &[Complex<f32>], split: &Split, tw_n: &Twiddles, mags: &mut [f32]) {
    let (n1, n2) = (split.n1, split.n2);
    let m = n1 * n2;
    assert!(
        c.len() >= split.matrix_len() && mags.len() > m,
        "the matrices fit"
    );
    let out = Scatter(mags.as_mut_ptr(), mags.len());
    let fft2 = &split.fft2;
    let half = n1 / 2;
    let w1: Vec<Complex<f32>> = (0..n1).map(|k1| to_f32(tw_n.get64(k1))).collect();
    let w2: Vec<Complex<f32>> = (0..n2).map(|k2| to_f32(tw_n.get64(n1 * k2))).collect();
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
            |(buf, scratch), a| {
                // Rows a..b (lower) and their partners n1 − k1 > n1/2
                // (upper, in decreasing order: their outputs are
                // consecutive too). Rows 0 and n1/2 (n1 even) are their
                // own partners.
                let b = (a + BLOCK).min(half + 1);
                let upper: Vec<usize> = (a..b)
                    .map(|k1| n1 - k1)
                    .filter(|&p| p > half && p < n1)
                    .collect();
                let nl = b - a;
                let set: Vec<usize> = (a..b).chain(upper.iter().copied()).collect();
                for (i, &k1) in set.iter().enumerate() {
                    split.read_row(c, k1, &mut buf[i * n2..(i + 1) * n2]);
                }
                let rows = &mut buf[..set.len() * n2];
                fft2.process_with_scratch(rows, scratch);
                let rows = &*rows;
                let row = |i: usize| &rows[i * n2..(i + 1) * n2];
                if a == 0 {
                    // The Nyquist bin X[M] = Re Z[0] − Im Z[0].
                    let z0 = rows[0];
                    // SAFETY: position M is written by the task of k1 = 0 only.
                    unsafe { out.write(m, (z0.re - z0.im).abs()) };
                }
                // The slot of the partner of each row of `set`.
                let partner: Vec<usize> = set
                    .iter()
                    .map(|&k1| {
                        let p = (n1 - k1) % n1;
                        set.iter().position(|&x| x == p).expect("closed set")
                    })
                    .collect();
                let x_of = |i: usize, k2: usize, w: Complex<f32>| {
                    let k1 = set[i];
                    let z = row(i)[k2];
                    let zp = if k1 == 0 {
                        row(i)[(n2 - k2) % n2]
                    } else {
                        row(partner[i])[n2 - 1 - k2]
                    }
                    .conj();
                    let sum = z + zp;
                    let wd = w * (z - zp);
                    let x = Complex::new(sum.re + wd.im, sum.im - wd.re);
                    x.re * x.re + x.im * x.im
                };
                // A tile of K2_CHUNK columns: computed row by row (each row
                // read in order), written column by column.
                let nu = upper.len();
                let mut tile = [[0f32; 2 * BLOCK]; K2_CHUNK];
                for k2_first in (0..n2).step_by(K2_CHUNK) {
                    let k2_end = (k2_first + K2_CHUNK).min(n2);
                    for i in 0..nl + nu {
                        // Lower rows in columns 0..nl; upper rows (k1
                        // decreasing with i) in BLOCK.. in increasing k1.
                        let col = if i < nl { i } else { BLOCK + nl + nu - 1 - i };
                        let w = w1[set[i]];
                        for (t, k2) in tile.iter_mut().zip(k2_first..k2_end) {
                            t[col] = x_of(i, k2, w * w2[k2]);
                        }
                    }
                    // |X| from |2X|² apart: vector square roots.
                    for t in &mut tile[..k2_end - k2_first] {
                        for v in t.iter_mut() {
                            *v = 0.5 * v.sqrt();
                        }
                    }
                    for (t, k2) in tile.iter().zip(k2_first..k2_end) {
                        let base = n1 * k2;
                        // The lines of a few columns ahead: each run is in
                        // another page, so its miss is worth starting early.
                        let ahead = base + n1 * OUT_AHEAD;
                        out.prefetch_write(a + ahead);
                        out.prefetch_write(a + nl - 1 + ahead);
                        if let Some(&lo) = upper.last() {
                            out.prefetch_write(lo + ahead);
                            out.prefetch_write(lo + nu - 1 + ahead);
                        }
                        // SAFETY: rows k1 in a..b and upper[..] are this
                        // task's only, so positions k1 + n1·k2 for them are
                        // written by it alone; nothing reads the magnitudes
                        // meanwhile.
                        unsafe { out.run(a + base, nl) }.copy_from_slice(&t[..nl]);
                        if let Some(&lo) = upper.last() {
                            // SAFETY: as above (rows lo..lo + nu).
                            unsafe { out.run(lo + base, nu) }
                                .copy_from_slice(&t[BLOCK..BLOCK + nu]);
                        }
                    }
                }
            },
        );
}

/// Runs `f(a, nb, rows, scratch)` for each block of rows a..a + nb (nb ≤
/// BLOCK) of an n1 × n2 matrix, in parallel, each task with its own
/// buffer of BLOCK·n2 numbers and FFT scratch of `scratch_len`.
fn for_row_blocks<F>(n1: usize, n2: usize, scratch_len: usize, f: F)
where
    F: Fn(usize, usize, &mut [Complex<f32>], &mut [Complex<f32>]) + Sync,
{
    (0..n1)
        .step_by(BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .for_each_init(
            || {
                (
                    vec![Complex::<f32>::default(); BLOCK * n2],
                    vec![Complex::<f32>::default(); scratch_len],
                )
            },
            |(buf, scratch), a| {
                let nb = BLOCK.min(n1 - a);
                f(a, nb, &mut buf[..nb * n2], scratch);
            },
        );
}

/// Pass 2 of the odd-length path: rows k1, FFT n2 in place, |Z\[k\]| for
/// k ≤ N/2.
fn magnitude_rows(c: &[Complex<f32>], split: &Split, mags: &mut [f32]) {
    let (n1, n2) = (split.n1, split.n2);
    let len = mags.len();
    assert!(c.len() >= split.matrix_len(), "the matrix fits");
    let out = Scatter(mags.as_mut_ptr(), len);
    let fft2 = &split.fft2;
    for_row_blocks(
        n1,
        n2,
        fft2.get_inplace_scratch_len(),
        |a, nb, rows, scratch| {
            for (i, k1) in (a..a + nb).enumerate() {
                split.read_row(c, k1, &mut rows[i * n2..(i + 1) * n2]);
            }
            fft2.process_with_scratch(rows, scratch);
            let mut tile = [[0f32; BLOCK]; K2_CHUNK];
            for k2_first in (0..n2).step_by(K2_CHUNK) {
                let k2_end = (k2_first + K2_CHUNK).min(n2);
                for (i, row) in rows.chunks_exact(n2).enumerate() {
                    for (t, z) in tile.iter_mut().zip(&row[k2_first..k2_end]) {
                        t[i] = magnitude(*z);
                    }
                }
                for (t, k2) in tile.iter().zip(k2_first..k2_end) {
                    let k = a + n1 * k2;
                    out.prefetch_write(k + n1 * OUT_AHEAD);
                    out.prefetch_write(k + nb - 1 + n1 * OUT_AHEAD);
                    if k >= len {
                        return;
                    }
                    let w = nb.min(len - k);
                    // SAFETY: rows a..a + nb belong to this task alone, so
                    // positions k1 + n1·k2 for them are written only here.
                    unsafe { out.run(k, w) }.copy_from_slice(&t[..w]);
                }
            }
        },
    );
}

/// Rows of a blocked matrix ([`Split::at`]) in place, BLOCK at a time: each
/// task copies its rows a..a + nb into a buffer (row i at `i·n2`; one run
/// of nb·COLS numbers per block of columns), calls `f(a, rows, scratch)`
/// and writes them back where they came from.
fn rows_in_place<F>(c: &mut [Complex<f32>], split: &Split, scratch_len: usize, f: F)
where
    F: Fn(usize, &mut [Complex<f32>], &mut [Complex<f32>]) + Sync,
{
    let (n1, n2) = (split.n1, split.n2);
    assert!(
        split.blocked && c.len() >= split.matrix_len(),
        "a blocked matrix"
    );
    let all = Scatter(c.as_mut_ptr(), c.len());
    let blocks = n2.div_ceil(COLS);
    for_row_blocks(n1, n2, scratch_len, |a, nb, rows, scratch| {
        for q in 0..blocks {
            let (r0, t) = (q * COLS, COLS.min(n2 - q * COLS));
            if q + AHEAD < blocks {
                let ahead = split.at(a, (q + AHEAD) * COLS);
                // SAFETY: as below (a run of this task's rows, read only
                // by the prefetch hint).
                let run = unsafe { all.run(ahead, nb * COLS) };
                crate::wav::prefetch_bytes(bytemuck::cast_slice(run));
            }
            // SAFETY: in every block, rows a..a + nb (one run of
            // nb·COLS numbers) are this task's alone, and nothing
            // else touches the matrix during the pass.
            let run = unsafe { all.run(split.at(a, r0), nb * COLS) };
            for (i, src) in run.chunks_exact(COLS).enumerate() {
                rows[i * n2 + r0..i * n2 + r0 + t].copy_from_slice(&src[..t]);
            }
        }
        f(a, rows, scratch);
        for q in 0..blocks {
            let (r0, t) = (q * COLS, COLS.min(n2 - q * COLS));
            // SAFETY: as above.
            let run = unsafe { all.run(split.at(a, r0), nb * COLS) };
            for (i, dst) in run.chunks_exact_mut(COLS).enumerate() {
                dst[..t].copy_from_slice(&rows[i * n2 + r0..i * n2 + r0 + t]);
            }
        }
    });
}

/// Bluestein's kernel b\[j\] = e^(iπj²/M) / L over a smooth length L, run
/// after run as pass 1 reads it (one [`KernelWalk::fill`] per c, in order,
/// for the task whose first column is r0): the chirp for j < K (`needed`)
/// and for L − j < M, 0 between; `chirp` holds e^(−2πi·e/(2M)).
pub(crate) struct KernelWalk<'a> {
    lo: ColumnChirp<'a>,
    hi: ColumnChirp<'a>,
    m: usize,
    needed: usize,
    l: usize,
}

impl<'a> KernelWalk<'a> {
    pub(crate) fn new(
        chirp: &'a Twiddles,
        n2: usize,
        r0: usize,
        m: usize,
        needed: usize,
        l: usize,
    ) -> Self {
        KernelWalk {
            lo: ColumnChirp::new(chirp, n2, r0, None),
            hi: ColumnChirp::new(chirp, n2, r0, Some(l)),
            m,
            needed,
            l,
        }
    }

    /// b\[start..start + run.len()\] into `run`.
    pub(crate) fn fill(&mut self, start: usize, run: &mut [Complex<f32>]) {
        let scale = 1.0 / self.l as f32;
        run.fill(Complex::default());
        let t = run.len();
        self.lo
            .step(self.needed.saturating_sub(start).min(t), |i, w| {
                run[i] = w.conj() * scale;
            });
        // From L − M + 1 on: the chirp at L − j.
        let from = (self.l - (self.m - 1)).saturating_sub(start).min(t);
        self.hi.step(t, |i, w| {
            if i >= from {
                run[i] = w.conj() * scale;
            }
        });
    }
}

/// Bluestein: Z\[k\] = e^(−iπk²/M) Σ_n a\[n\] b\[k−n\] with
/// a\[n\] = z\[n\]·e^(−iπn²/M) and b\[j\] = e^(iπj²/M), the convolution
/// computed over the smooth length L of `split`, whose matrix is blocked
/// ([`Split::at`]: every pass reads and writes runs of at least COLS
/// numbers, never one line per 4 KiB page):
/// 1. pass 1 of the six-step on a (zero beyond M), blocks written whole;
/// 2. rows of n2: FFT, × the kernel (b's spectrum / L, same layout),
///    inverse FFT;
/// 3. each block of COLS columns r (one contiguous run): × W_L^(−r·k1),
///    inverse FFT n1; for an odd N, |Z\[n2·c + r\]| written straight into
///    the magnitudes (runs of COLS, one per c: the whole job ends here,
///    0.08–0.1 s sooner at the book-size prime than through the matrix
///    and a fourth pass); packed, × e^(−iπn²/M), written back into the
///    same block: Z\[n2·c + r\] at position (c, r);
/// 4. (packed) untangle, Z read through that map.
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
    let matrix = split.matrix_len();
    let fft2 = &split.fft2;
    let mut laps = Laps::new();
    let kernel = {
        let mut guard = kernel.lock().unwrap_or_else(|e| e.into_inner());
        match &*guard {
            Some(k) => Arc::clone(k),
            None => {
                let mut kb = plan.buffer(matrix * 8)?;
                pass1(
                    kb.complex_mut(),
                    split,
                    1,
                    |r0| KernelWalk::new(chirp, n2, r0, m, *needed, l),
                    |walk, start, run| walk.fill(start, run),
                    |_, _| {},
                );
                rows_in_place(
                    kb.complex_mut(),
                    split,
                    fft2.get_inplace_scratch_len(),
                    |_, rows, scratch| fft2.process_with_scratch(rows, scratch),
                );
                let k = Arc::new(kb);
                *guard = Some(Arc::clone(&k));
                laps.lap("Bluestein: the chirp's spectrum (first use of the plan)");
                k
            }
        }
    };
    let mut c_buf = plan.work(matrix * 8)?;
    // 1. a[n] = z[n]·e^(−iπn²/M), n < M; runs of consecutive n, the
    //    chirp from recurrences down the columns (ColumnChirp).
    pass1(
        c_buf.complex_mut(),
        split,
        // One block per task for a signal in memory: measured at the
        // book's size, plan made, alternating runs, pass 1 of the prime
        // 1.36–1.50 s against 1.61–1.66 s with 8, 2 × prime 0.96–0.97 s
        // against 1.02–1.03 s; a mapped WAV (decoded, 4 KiB file pages)
        // the other way round: 2.5–2.9 s against 1.90–1.97 s (prime).
        if source.in_memory() {
            1
        } else {
            pass_width(split, plan.packing)
        },
        |r0| ColumnChirp::new(chirp, n2, r0, None),
        |walk, start, run| {
            let have = m.saturating_sub(start).min(run.len());
            fill_run(&source, plan.packing, start, &mut run[..have]);
            run[have..].fill(Complex::default());
            walk.mul_run(&mut run[..have]);
        },
        |start, len| {
            let have = m.saturating_sub(start).min(len);
            prefetch_packed(&source, plan.packing, start, have);
        },
    );
    let mut store = store(source, plan)?;
    laps.lap("read + mix + chirp + FFT n1 + twiddle + transpose");

    // 2. Rows of n2: forward, × kernel (the same rows of its matrix), inverse.
    let kc = kernel.complex();
    let scratch_len = fft2
        .get_inplace_scratch_len()
        .max(inv2.get_inplace_scratch_len());
    rows_in_place(
        c_buf.complex_mut(),
        split,
        scratch_len,
        |a, rows, scratch| {
            fft2.process_with_scratch(rows, scratch);
            let nb = rows.len() / n2;
            for q in 0..n2.div_ceil(COLS) {
                let (r0, t) = (q * COLS, COLS.min(n2 - q * COLS));
                let p = split.at(a, r0);
                if q + AHEAD < n2.div_ceil(COLS) {
                    let ahead = split.at(a, r0 + AHEAD * COLS);
                    crate::wav::prefetch_bytes(bytemuck::cast_slice(&kc[ahead..ahead + nb * COLS]));
                }
                for (i, k) in kc[p..p + nb * COLS].chunks_exact(COLS).enumerate() {
                    simd::mul_each(&mut rows[i * n2 + r0..i * n2 + r0 + t], k);
                }
            }
            inv2.process_with_scratch(rows, scratch);
        },
    );
    laps.lap("FFT n2 × chirp spectrum, inverse FFT n2");

    // 3. Blocks of COLS columns r (each one contiguous run of the matrix):
    //    × W_L^(−r·k1), inverse FFT n1, then Z[n2·c + r] = y[n2·c + r] ×
    //    e^(−iπn²/M) at position (c, r) of the same block — or, for an
    //    odd N, |Z[n2·c + r]| straight into the magnitudes.
    let tw = &split.tw;
    let len = plan.bins();
    let mags = mags_of(&mut store, len);
    let mags_out = Scatter(mags.as_mut_ptr(), len);
    c_buf.complex_mut()[..matrix]
        .par_chunks_mut(n1 * COLS)
        .enumerate()
        .for_each_init(
            || {
                (
                    vec![Complex::<f32>::default(); COLS * n1],
                    vec![Complex::<f32>::default(); inv1.get_inplace_scratch_len()],
                )
            },
            |(rows, scratch), (q, block)| {
                let (r0, t) = (q * COLS, COLS.min(n2 - q * COLS));
                let rows = &mut rows[..t * n1];
                for (k1, src) in block.chunks_exact(COLS).enumerate() {
                    for (j, v) in src[..t].iter().enumerate() {
                        rows[j * n1 + k1] = *v;
                    }
                }
                for (j, row) in rows.chunks_exact_mut(n1).enumerate() {
                    twiddle_row(row, r0 + j, tw, true);
                }
                inv1.process_with_scratch(rows, scratch);
                // Columns c of the block with n2·c + r < K (Z is needed
                // below K only).
                let wanted = |r: usize| needed.saturating_sub(r).div_ceil(n2).min(n1);
                if plan.packing == Packing::Real {
                    // Only |Z| is wanted, and |e^(−iπn²/M)| = 1: the
                    // magnitudes of k = n2·c + r0.. (K = len of them).
                    let mut line = [0f32; COLS];
                    for col in 0..wanted(r0) {
                        let k = n2 * col + r0;
                        let w = t.min(len - k);
                        for (j, o) in line[..w].iter_mut().enumerate() {
                            *o = magnitude(rows[j * n1 + col]);
                        }
                        // SAFETY: k + w ≤ len (k < K = len, w ≤ len − k);
                        // the positions ≡ r0..r0 + t (mod n2) are this
                        // block's alone, and `mags` (borrowed from `store`,
                        // which this call owns) is not used during the pass.
                        unsafe { mags_out.run(k, w) }.copy_from_slice(&line[..w]);
                    }
                } else {
                    // Down each column r: one long run of the chirp.
                    for (j, row) in rows.chunks_exact(n1).enumerate() {
                        chirp.for_squares(r0 + j, n2, wanted(r0 + j), |col, w| {
                            block[col * COLS + j] = row[col] * w;
                        });
                    }
                }
            },
        );
    if plan.packing == Packing::Real {
        plan.give_back(c_buf);
        laps.lap("inverse FFT n1 + magnitudes");
        return Ok((laps.steps, store));
    }
    laps.lap("inverse FFT n1 × chirp (Z by columns)");

    // 4. (Packed only.) The spectrum from Z[0..M), Z[n2·c + r] at
    //    position (c, r). Each task takes BLOCK consecutive c (n2·BLOCK
    //    consecutive outputs),
    //    reading them block by block as runs of BLOCK·COLS numbers; the
    //    partners M − k of the packed case lie in BLOCK + 1 columns c' of
    //    the same or the neighbouring block of columns.
    let mags = mags_of(&mut store, len);
    let zc = c_buf.complex();
    let z = |col: usize, r: usize| zc[split.at(col, r)];
    let blocks = n2.div_ceil(COLS);
    let (cm, rm) = (m / n2, m % n2);
    let tw_n = &plan.tw_n;
    let step = tw_n.get64(1);
    mags[..m]
        .par_chunks_mut(n2 * BLOCK)
        .enumerate()
        .for_each(|(task, out)| {
            let c0 = task * BLOCK;
            // Columns lo..=hi of the block holding column r, announced
            // (each block of a task is a new page, far from the last).
            let announce = |lo: usize, hi: usize, r: usize| {
                let (a, b) = (
                    split.at(lo, r - r % COLS),
                    split.at(hi, r - r % COLS) + COLS,
                );
                if let Some(run) = zc.get(a..b.min(zc.len())) {
                    crate::wav::prefetch_bytes(bytemuck::cast_slice(run));
                }
            };
            for q in 0..blocks {
                let (r0, t) = (q * COLS, COLS.min(n2 - q * COLS));
                let ahead = r0 + PASS4_AHEAD * COLS;
                if ahead < n2 {
                    announce(c0, c0 + BLOCK - 1, ahead);
                    if c0 < cm {
                        // The partners of (c, ahead..ahead + COLS).
                        let lo = cm.saturating_sub(c0 + BLOCK);
                        for r in [ahead, (ahead + COLS - 1).min(n2 - 1)] {
                            if r <= rm {
                                announce(lo, cm - c0, rm - r);
                            } else {
                                announce(lo.saturating_sub(1), cm - c0 - 1, n2 + rm - r);
                            }
                        }
                    }
                }
                for i in 0..BLOCK {
                    let (col, o0) = (c0 + i, i * n2 + r0);
                    if o0 >= out.len() {
                        break;
                    }
                    let end = (o0 + t).min(out.len());
                    let run = &mut out[o0..end];
                    let k0 = n2 * col + r0;
                    let mut w = tw_n.get64(k0);
                    for (j, o) in run.iter_mut().enumerate() {
                        let r = r0 + j;
                        let zk = z(col, r);
                        let zp = if k0 + j == 0 {
                            zk
                        } else if r <= rm {
                            z(cm - col, rm - r)
                        } else {
                            z(cm - col - 1, n2 + rm - r)
                        }
                        .conj();
                        let sum = zk + zp;
                        let wd = to_f32(w) * (zk - zp);
                        w *= step;
                        let x = Complex::new(sum.re + wd.im, sum.im - wd.re);
                        *o = x.re * x.re + x.im * x.im;
                    }
                    // The square roots apart: one vector instruction for
                    // four of them.
                    for o in run.iter_mut() {
                        *o = 0.5 * o.sqrt();
                    }
                }
            }
        });
    let z0 = z(0, 0);
    mags[m] = (z0.re - z0.im).abs();
    plan.give_back(c_buf);
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

    /// n² mod `modulus`, exactly.
    fn square_mod(n: usize, modulus: usize) -> usize {
        ((n as u128 * n as u128) % modulus as u128) as usize
    }

    #[test]
    fn chirp_recurrences_match_the_tables() {
        // Moduli 2M of every size (the book's prime among them), runs that
        // start anywhere, along the signal (stride 1) or down a column
        // (stride n2), cross the reseeding point and end off the 4-lane
        // grid.
        for n in [2usize, 6, 14, 2_000_006, 534_386_158] {
            let tw = Twiddles::new(n);
            for stride in [1usize, 3, 20_480] {
                for start in [0usize, 1, 3, n / 2 - 1, n / 2, n / 3 + 7] {
                    let len = 2 * SQUARES_SEED + 7;
                    let mut seen = vec![false; len];
                    let mut worst = 0f64;
                    tw.for_squares(start, stride, len, |i, w| {
                        assert!(!seen[i], "{n} {start}: index {i} twice");
                        seen[i] = true;
                        let want = tw.get64(square_mod(start + i * stride, n));
                        worst = worst
                            .max((f64::from(w.re) - want.re).abs())
                            .max((f64::from(w.im) - want.im).abs());
                    });
                    assert!(seen.iter().all(|&s| s), "{n} {start}: an index missed");
                    assert!(worst < 2e-7, "{n} {stride} {start}: error {worst}");
                }
            }
        }
    }

    #[test]
    fn column_chirp_matches_the_tables() {
        // Down columns n2 apart, from any first column r0, across two
        // reseeds, with runs that get shorter at the end (as at the
        // signal's end) — against the exact value of every element.
        for (n, n2, r0) in [
            (14usize, 3usize, 0usize),
            (2_000_006, 1_411, 128),
            (534_386_158, 20_480, 20_352),
        ] {
            let tw = Twiddles::new(n);
            let steps = 2 * SQUARES_SEED + 9;
            let top = n2 * steps + r0 + LANES + 5;
            for from in [None, Some(top)] {
                let mut walk = ColumnChirp::new(&tw, n2, r0, from);
                let mut worst = 0f64;
                for c in 0..steps {
                    let t = if c < SQUARES_SEED + 3 { LANES } else { 37 };
                    let mut got = vec![None; t];
                    walk.step(t, |i, w| got[i] = Some(w));
                    for (i, v) in got.iter().enumerate() {
                        let v = v.expect("every lane");
                        let j = n2 * c + r0 + i;
                        let want = tw.get64(square_mod(from.map_or(j, |l| l - j), n));
                        worst = worst
                            .max((f64::from(v.re) - want.re).abs())
                            .max((f64::from(v.im) - want.im).abs());
                    }
                }
                assert!(worst < 2e-7, "{n} {n2} {r0} {from:?}: error {worst}");
            }
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
    fn bluestein_splits_are_smooth_short_and_alias_free() {
        // The book-size prime's convolution (N + (N + 1)/2 − 1 points).
        assert_eq!(bluestein_split(400_789_618), (15_552, 25_920));
        let mut min = 17usize;
        while min < 2_000_000_000 {
            let (n1, n2) = bluestein_split(min);
            let l = n1 * n2;
            assert!(is_smooth(l) && l >= min, "{min}: {n1} × {n2}");
            assert!(n2 <= MAX_ROW || l <= MAX_DIRECT, "{min}: {n1} × {n2}");
            if min > MAX_DIRECT {
                assert!(l <= min + min / 50, "{min}: {n1} × {n2}");
                assert!(n1 <= n2 && n2 <= 4 * n1, "{min}: {n1} × {n2}");
                assert!(
                    times(n1, 2) <= MAX_TWOS && times(n2, 2) <= MAX_TWOS,
                    "{min}: {n1} × {n2}"
                );
            }
            min = min * 13 / 10 + 1;
        }
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
            // Again, in the work matrix the first run left behind.
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
    fn kept_and_fresh_work_buffers_give_the_same_spectrum() {
        for n in [30_000usize, 44_101, 2 * 131_101] {
            let kept = ExactPlan::new(n).unwrap();
            let fresh = ExactPlan::new(n).unwrap().reuse_buffers(false);
            let x = test_signal(n);
            let a = exact(x.clone(), 1000, &kept).unwrap().0;
            assert!(kept.spare.lock().unwrap().is_some(), "{n}: kept");
            let b = exact(x.clone(), 1000, &kept).unwrap().0;
            let c = exact(x, 1000, &fresh).unwrap().0;
            assert!(fresh.spare.lock().unwrap().is_none(), "{n}: not kept");
            assert_eq!(a.mags, b.mags, "{n}");
            assert_eq!(a.mags, c.mags, "{n}");
            kept.release_buffers();
            assert!(kept.spare.lock().unwrap().is_none(), "{n}: released");
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
