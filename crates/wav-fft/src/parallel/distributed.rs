//! The exact FFT over the ranks of an MPI job (feature `mpi`): the same
//! spectrum as [`exact`](super::exact), bin for bin, with the work and the
//! memory split over processes that may run on different machines.
//!
//! # The algorithm
//!
//! The single-machine six-step ([`exact`](super::exact)) sees the M complex
//! points of the transform (M = N/2 packed pairs for even N, M = N for odd
//! N) as a matrix of n1 × n2 and makes two passes: **pass 1** takes every
//! column r (the samples n2·c + r, c < n1), FFTs it (length n1) and
//! multiplies by the twiddle W_M^(r·k1); **pass 2** takes every row k1 (all
//! r), FFTs it (length n2) and finds Z\[k1 + n1·k2\]. Between the passes
//! the matrix is transposed. Over P ranks:
//!
//! 1. each rank maps the WAV file (every rank reads the same file: a
//!    shared filesystem is assumed) and computes pass 1 for **its columns**
//!    r ∈ R_p, a contiguous share of 0..n2, mixing the channels on the fly;
//! 2. one `MPI_Alltoallv` is the transpose: rank p sends rank q the block
//!    (r ∈ R_p) × (k1 ∈ K_q), so that afterwards every rank holds all r of
//!    **its rows** k1 ∈ K_q;
//! 3. pass 2 runs on each rank's rows: FFT n2, then the magnitudes. For
//!    the packed real path the rows are dealt in mirror pairs (k1 with
//!    n1 − k1): untangling the real spectrum X\[k\] needs Z\[k\] and
//!    Z\[M − k\], and M − k lies in row n1 − k1, so the pair on one rank keeps
//!    the untangle local.
//!
//! ```text
//!  pass 1: columns r            all-to-all            pass 2: rows k1
//!  (rank 0 | rank 1)            (the transpose)       (rank 0 / rank 1, mirror pairs)
//!
//!        r →  R_0   │  R_1                                  r → all n2
//!  k1 0   [ rank 0  │ rank 1 ]   ──► block (R_p × K_q)   k1 0     [ rank 0 ]
//!  ↓  1   [    .    │    .   ]       goes p → q          1     [ rank 0 ]
//!     2   [    .    │    .   ]                               2     [ rank 1 ]
//!     …   [    .    │    .   ]                               …     [   …    ]
//!  n1−2   [    .    │    .   ]                            n1−2     [ rank 1 ]
//!  n1−1   [    .    │    .   ]                            n1−1     [ rank 0 ]
//!    each rank: all k1 of its r              each rank: all r of its k1
//!                                            (k1 and n1 − k1 on the same rank)
//! ```
//!
//! Lengths with a large prime factor (N prime, 2 × prime, …) have no such
//! split; there the ranks run Bluestein's chirp-z transform as
//! [`exact`](super::exact) does, over a smooth length L ≥ N + N/2, on the
//! N complex points x\[n\] + 0i (no packing: the untangle would need a
//! third exchange). Its convolution needs the transpose **and back**:
//! pass 1 on columns, all-to-all, rows (FFT n2 × the chirp's spectrum,
//! inverse FFT n2), all-to-all back, columns (inverse FFT n1). The chirp's
//! spectrum costs one more pass 1 and all-to-all, once.
//!
//! # What rank 0 collects
//!
//! Never the spectrum. Each rank keeps the magnitudes of its own rows
//! ([`LocalSpectrum`]); rank 0 gathers only what the program prints or
//! draws. [`LocalSpectrum::peaks`] finds exactly what
//! [`Spectrum::peaks`](crate::Spectrum::peaks) finds: that scan visits the
//! band in chunks of consecutive bins (≥ 2^16) and which side lobe survives
//! depends on that order, so one more all-to-all (f32, the band only) puts
//! whole chunks in natural order on each rank, each rank lists its chunks'
//! K best, and rank 0 merges the lists in chunk order.
//! [`LocalSpectrum::column_envelope`] needs no order: per plot column, the
//! min and max over each rank's bins, combined with `MPI_Reduce` and
//! `MPI_MIN`/`MPI_MAX`.
//!
//! The arithmetic of every bin is the same as on one machine whatever P is;
//! only the place where it happens changes. Each rank uses threads (rayon)
//! inside its passes. A rank that dies ends the job (MPI semantics), and the
//! collectives have no timeout of their own: run under `mpirun --timeout`.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::traits::*;
use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::exact::{
    ColumnChirp, KernelWalk, Packing, Split, Twiddles, bins, bluestein_split, direct_split,
    fill_packed, magnitude, to_f32, twiddle_row,
};
use crate::Error;
use crate::buffer::Buffer;
use crate::error::ClusterProblem;
use crate::spectrum::{Peak, band_of, chunk_peaks, merge_peaks, peak_chunk, peak_separation};
use crate::wav::MonoSource;

type C32 = Complex<f32>;

/// Columns of pass 1 per task: 64 columns of n1 ≈ 11,000 complex numbers
/// (≈ 6 MB at the book's size) stay in the last-level cache for their FFTs
/// (the size [`exact`](super::exact) measured best; 256 spilled to RAM).
const ROWS: usize = 64;
/// Rows of pass 2 per task.
const BLOCK: usize = 16;

enum Method {
    /// N even: the packed N/2-point six-step, rows in mirror pairs.
    Packed(Split),
    /// N odd: the N-point six-step of x\[n\] + 0i.
    Odd(Split),
    /// Bluestein for the N-point DFT of x\[n\] + 0i over L = split.len().
    Bluestein {
        split: Split,
        inv1: Arc<dyn Fft<f32>>,
        inv2: Arc<dyn Fft<f32>>,
        /// e^(−2πi·e/(2N)): the chirp e^(−iπn²/N) is `chirp.get64(n² mod 2N)`.
        chirp: Twiddles,
        /// Outputs needed: the bins, N/2 + 1.
        needed: usize,
    },
}

/// How a signal of `signal_len` samples is split over the ranks of a job:
/// the method (see the module docs), each rank's pass-1 columns and
/// pass-2 rows. Every rank makes the same plan from the same N and P.
pub struct DistributedPlan {
    /// Samples in the signal: the DFT length (no padding).
    pub signal_len: usize,
    ranks: usize,
    method: Method,
    /// e^(−2πi·e/N), for untangling the packed spectrum.
    tw_n: Twiddles,
    /// Pass-1 columns r of each rank.
    cols: Vec<Range<usize>>,
    /// Pass-2 rows k1 of each rank, in the order they travel.
    rows: Vec<Vec<usize>>,
    /// Packed path: how many of each rank's rows are lower rows
    /// (k1 ≤ n1/2); the rest are their partners n1 − k1, in the same order.
    lowers: Vec<usize>,
}

impl std::fmt::Debug for DistributedPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedPlan")
            .field("signal_len", &self.signal_len)
            .field("method", &self.describe())
            .finish()
    }
}

/// Share `p` of `parts` of 0..n.
fn share(n: usize, parts: usize, p: usize) -> Range<usize> {
    n * p / parts..n * (p + 1) / parts
}

impl DistributedPlan {
    /// Plans the exact FFT of `signal_len` samples over `ranks` ranks.
    ///
    /// ```
    /// use wav_fft::parallel::distributed::DistributedPlan;
    /// let plan = DistributedPlan::new(267_193_080, 2).unwrap();
    /// assert!(plan.describe().contains("11340 × 11781"));
    /// assert_eq!(plan.rows_of(0).len() + plan.rows_of(1).len(), 11340);
    /// assert!(DistributedPlan::new(1_000_003, 3).unwrap().is_bluestein());
    /// ```
    ///
    /// # Errors
    /// [`Error::TooShort`] for an empty signal; [`Error::Cluster`] for no
    /// ranks, or when one rank's transfer would exceed MPI's 32-bit counts.
    pub fn new(signal_len: usize, ranks: usize) -> Result<DistributedPlan, Error> {
        if signal_len == 0 {
            return Err(Error::TooShort {
                samples: 0,
                needed: 1,
            });
        }
        if ranks == 0 {
            return Err(Error::Cluster {
                problem: ClusterProblem::NoRanks,
            });
        }
        let mut planner = FftPlanner::<f32>::new();
        let even = signal_len % 2 == 0;
        let method = match (
            even,
            direct_split(if even { signal_len / 2 } else { signal_len }),
        ) {
            (true, Some((n1, n2))) => Method::Packed(Split::new(n1, n2, &mut planner)),
            (false, Some((n1, n2))) => Method::Odd(Split::new(n1, n2, &mut planner)),
            (_, None) => {
                let needed = bins(signal_len);
                let (n1, n2) = bluestein_split(signal_len + needed - 1);
                Method::Bluestein {
                    split: Split::new(n1, n2, &mut planner),
                    inv1: planner.plan_fft_inverse(n1),
                    inv2: planner.plan_fft_inverse(n2),
                    chirp: Twiddles::new(2 * signal_len),
                    needed,
                }
            }
        };
        let (n1, n2) = {
            let s = split_of(&method);
            (s.n1, s.n2)
        };
        let cols: Vec<Range<usize>> = (0..ranks).map(|p| share(n2, ranks, p)).collect();
        let (rows, lowers) = match method {
            Method::Packed(_) => {
                let half = n1 / 2;
                (0..ranks)
                    .map(|q| {
                        let lower: Vec<usize> = share(half + 1, ranks, q).collect();
                        let nl = lower.len();
                        let mut all = lower.clone();
                        all.extend(
                            lower
                                .iter()
                                .filter(|&&k1| k1 >= 1 && n1 - k1 > half)
                                .map(|&k1| n1 - k1),
                        );
                        (all, nl)
                    })
                    .unzip()
            }
            _ => (0..ranks)
                .map(|q| {
                    let r: Vec<usize> = share(n1, ranks, q).collect();
                    let n = r.len();
                    (r, n)
                })
                .unzip(),
        };
        let plan = DistributedPlan {
            signal_len,
            ranks,
            method,
            tw_n: Twiddles::new(signal_len),
            cols,
            rows,
            lowers,
        };
        for p in 0..ranks {
            let biggest = plan.buffer_len(p);
            if 2 * biggest > i32::MAX as usize {
                return Err(Error::Cluster {
                    problem: ClusterProblem::RankExchange {
                        rank: p,
                        complex: biggest,
                    },
                });
            }
        }
        Ok(plan)
    }

    fn split(&self) -> &Split {
        split_of(&self.method)
    }

    /// Complex numbers of the exchange buffers of rank `p`.
    fn buffer_len(&self, p: usize) -> usize {
        let s = self.split();
        (self.cols[p].len() * s.n1).max(self.rows[p].len() * s.n2)
    }

    /// The number of ranks the plan is for.
    pub fn ranks(&self) -> usize {
        self.ranks
    }

    /// The number of magnitudes of the spectrum: N/2 + 1.
    pub fn bins(&self) -> usize {
        bins(self.signal_len)
    }

    /// True when the plan goes through Bluestein's algorithm.
    pub fn is_bluestein(&self) -> bool {
        matches!(self.method, Method::Bluestein { .. })
    }

    /// The pass-1 columns r of rank `p` (a contiguous share of 0..n2).
    pub fn columns_of(&self, p: usize) -> Range<usize> {
        self.cols[p].clone()
    }

    /// The pass-2 rows k1 of rank `p`, in the order they travel (for the
    /// packed path: its lower rows, then their partners n1 − k1).
    pub fn rows_of(&self, p: usize) -> &[usize] {
        &self.rows[p]
    }

    /// How N is split, in words (for the program's stage lines).
    pub fn describe(&self) -> String {
        let n = self.signal_len;
        let s = self.split();
        let p = self.ranks;
        match &self.method {
            Method::Packed(_) => format!(
                "six-step N = {n} = 2 × {} × {} over {p} rank(s) (real input packed into {} \
                 complex points; one all-to-all)",
                s.n1,
                s.n2,
                n / 2
            ),
            Method::Odd(_) => format!(
                "six-step N = {n} = {} × {} over {p} rank(s) (odd length: {n} complex points; \
                 one all-to-all)",
                s.n1, s.n2
            ),
            Method::Bluestein { .. } => format!(
                "Bluestein (chirp-z) N = {n} over {p} rank(s): no split with rows ≤ {}; \
                 convolution over L = {} = {} × {} ({n} complex points; three all-to-alls, \
                 one of them for the chirp's spectrum)",
                super::exact::MAX_ROW,
                s.len(),
                s.n1,
                s.n2
            ),
        }
    }
}

fn split_of(method: &Method) -> &Split {
    match method {
        Method::Packed(s) | Method::Odd(s) | Method::Bluestein { split: s, .. } => s,
    }
}

/// Where the time of [`spectrum`] went on one rank.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Each step and its wall time, in order (the all-to-alls included).
    pub steps: Vec<(&'static str, Duration)>,
    /// The all-to-alls together (the communication).
    pub all_to_all: Duration,
    /// Time spent at the barrier before each all-to-all, waiting for the
    /// slowest rank to finish its part.
    pub waiting: Duration,
}

impl Timings {
    fn lap(&mut self, t: &mut Instant, name: &'static str) {
        self.steps.push((name, t.elapsed()));
        *t = Instant::now();
    }

    /// A barrier before an all-to-all, timed on its own: the time this
    /// rank waits for the slowest one is not communication.
    fn wait<W: Communicator>(&mut self, world: &W, t: &mut Instant) {
        world.barrier();
        let d = t.elapsed();
        self.waiting += d;
        self.steps.push(("waiting for the other ranks", d));
        *t = Instant::now();
    }

    fn exchange(&mut self, t: &mut Instant, name: &'static str) {
        let d = t.elapsed();
        self.all_to_all += d;
        self.steps.push((name, d));
        *t = Instant::now();
    }

    /// Everything.
    pub fn total(&self) -> Duration {
        self.steps.iter().map(|s| s.1).sum()
    }
}

/// One rank's part of the spectrum: the magnitudes of its rows. Bin k
/// lives in row k mod `stride` at position k / `stride`.
pub struct LocalSpectrum {
    /// Hz between two bins (sample rate / N).
    pub bin_hz: f64,
    bins: usize,
    stride: usize,
    row_len: usize,
    /// This rank's row ids, in the order of `mags`.
    ids: Vec<usize>,
    /// `ids.len() × row_len` magnitudes, in the memory of pass 1's buffer
    /// (already paged in: no fresh-page faults).
    mags_buf: Buffer,
    mags_len: usize,
    /// The other exchange buffer, kept (paged in) for the exchange of
    /// [`LocalSpectrum::peaks`].
    scratch: Option<Buffer>,
    /// Every rank's row ids, ascending.
    owners: Vec<Vec<usize>>,
    /// This rank.
    me: usize,
    /// The Nyquist bin of the packed path (bin M, outside the rows), known
    /// to every rank; `true` on the rank that computed it.
    nyquist: Option<(usize, f32, bool)>,
}

impl std::fmt::Debug for LocalSpectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSpectrum")
            .field("bins", &self.bins)
            .field("rows", &self.ids.len())
            .finish()
    }
}

impl LocalSpectrum {
    /// Bins in the whole spectrum: N/2 + 1.
    pub fn bins(&self) -> usize {
        self.bins
    }

    /// The bins with `lo < f < hi`, as [`Spectrum::band`](crate::Spectrum::band).
    pub fn band(&self, lo: f64, hi: f64) -> Range<usize> {
        band_of(self.bin_hz, self.bins, lo, hi)
    }

    /// The bins this rank computed.
    pub fn local_bins(&self) -> usize {
        self.owned_bins().count()
    }

    fn mags(&self) -> &[f32] {
        &self.mags_buf.floats()[..self.mags_len]
    }

    /// |X\[k\]| if this rank computed bin k.
    pub fn get(&self, k: usize) -> Option<f32> {
        if k >= self.bins {
            return None;
        }
        let (row, j) = (k % self.stride, k / self.stride);
        if j >= self.row_len {
            return self.nyquist.filter(|n| n.0 == k && n.2).map(|n| n.1);
        }
        let i = self.ids.iter().position(|&id| id == row)?;
        Some(self.mags()[i * self.row_len + j])
    }

    /// The bins this rank computed, (k, |X\[k\]|), row by row.
    fn owned_bins(&self) -> impl Iterator<Item = (usize, f32)> + '_ {
        let rows = self.ids.iter().enumerate().flat_map(move |(i, &id)| {
            let row = &self.mags()[i * self.row_len..(i + 1) * self.row_len];
            row.iter()
                .enumerate()
                .map(move |(j, &v)| (id + self.stride * j, v))
                .take_while(|&(k, _)| k < self.bins)
        });
        rows.chain(self.nyquist.filter(|n| n.2).map(|n| (n.0, n.1)))
    }

    /// The rows of this rank, in parallel, each as (row id, magnitudes).
    fn par_rows(&self) -> impl IndexedParallelIterator<Item = (usize, &[f32])> + '_ {
        self.ids
            .par_iter()
            .copied()
            .zip(self.mags().par_chunks(self.row_len.max(1)))
    }

    /// Collective: the `n` strongest local maxima with `lo < f < hi` of
    /// the whole spectrum, exactly as [`Spectrum::peaks`](crate::Spectrum::peaks)
    /// finds them (the same chunks, the same order): one all-to-all of the
    /// band's magnitudes puts each chunk of bins, in natural order, on
    /// one rank; each rank lists its chunks' best and rank 0 merges the
    /// lists in chunk order. The list on rank 0; empty on the others.
    ///
    /// # Errors
    /// [`Error::Cluster`] when a transfer exceeds MPI's 32-bit counts.
    pub fn peaks<W: Communicator>(
        &mut self,
        world: &W,
        n: usize,
        lo: f64,
        hi: f64,
    ) -> Result<Vec<Peak>, Error> {
        let band = band_of(self.bin_hz, self.bins, lo, hi);
        let first = band.start.max(1);
        let end = band.end.max(first);
        let sep = peak_separation(self.bin_hz);
        let ranks = self.owners.len();
        let chunk = peak_chunk(n, sep);
        let chunks = (end - first).div_ceil(chunk);
        // Rank q lists chunks `share(chunks, ranks, q)`: it needs their bins
        // and one neighbour on each side, rows j of `js[q]`.
        let mine_of = |q: usize| {
            let c = share(chunks, ranks, q);
            (first + chunk * c.start)..(first + chunk * c.end).min(end)
        };
        let need = |q: usize| {
            let r = mine_of(q);
            if r.is_empty() {
                0..0
            } else {
                r.start - 1..(r.end + 1).min(self.bins)
            }
        };
        let js: Vec<Range<usize>> = (0..ranks)
            .map(|q| {
                let r = need(q);
                if r.is_empty() {
                    0..0
                } else {
                    r.start / self.stride..((r.end - 1) / self.stride + 1).min(self.row_len)
                }
            })
            .collect();
        // Send: for each rank q, its rows j × my rows (ascending ids).
        let mut sorted: Vec<(usize, usize)> = self
            .ids
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i))
            .collect();
        sorted.sort_unstable();
        let kown = sorted.len();
        let send_counts: Vec<usize> = js.iter().map(|j| j.len() * kown).collect();
        let me = self.me;
        let recv_counts: Vec<usize> = self.owners.iter().map(|o| js[me].len() * o.len()).collect();
        let (send_len, recv_len): (usize, usize) =
            (send_counts.iter().sum(), recv_counts.iter().sum());
        // Both in the kept exchange buffer when they fit (no page faults).
        let mut scratch = self.scratch.take();
        let mut fresh = Vec::new();
        let region: &mut [f32] = match &mut scratch {
            Some(b) if b.floats().len() >= send_len + recv_len => {
                &mut b.floats_mut()[..send_len + recv_len]
            }
            _ => {
                fresh = vec![0f32; send_len + recv_len];
                &mut fresh[..]
            }
        };
        let (send, recv) = region.split_at_mut(send_len);
        // My magnitudes, and the free rest of their buffer (for `nat`).
        let (mags, tail) = self.mags_buf.floats_mut().split_at_mut(self.mags_len);
        let mags = &*mags;
        let mut rest = &mut send[..];
        const J: usize = 64;
        for (j, &count) in js.iter().zip(&send_counts) {
            let (region, tail) = std::mem::take(&mut rest).split_at_mut(count);
            rest = tail;
            region
                .par_chunks_mut((J * kown).max(1))
                .enumerate()
                .for_each(|(b, out)| {
                    let j0 = j.start + b * J;
                    let cnt = out.len() / kown.max(1);
                    for (i, &(_, li)) in sorted.iter().enumerate() {
                        let src = &mags[li * self.row_len + j0..li * self.row_len + j0 + cnt];
                        for (t, &v) in src.iter().enumerate() {
                            out[t * kown + i] = v;
                        }
                    }
                });
        }
        exchange_f32(world, send, &send_counts, recv, &recv_counts)?;
        // Natural order for my rows j: nat[(j − j0)·stride + row], and the
        // Nyquist bin after them.
        let (mut owner, mut index) = (vec![0u32; self.stride], vec![0u32; self.stride]);
        for (q, rows) in self.owners.iter().enumerate() {
            for (i, &id) in rows.iter().enumerate() {
                owner[id] = q as u32;
                index[id] = i as u32;
            }
        }
        let offsets: Vec<usize> = recv_counts
            .iter()
            .scan(0, |acc, &c| {
                let o = *acc;
                *acc += c;
                Some(o)
            })
            .collect();
        let jr = js[me].clone();
        // In the free rest of the magnitudes' buffer when it fits.
        let nat_len = jr.len() * self.stride + 1;
        let mut nat_fresh = Vec::new();
        let nat: &mut [f32] = if nat_len <= tail.len() {
            &mut tail[..nat_len]
        } else {
            nat_fresh = vec![0f32; nat_len];
            &mut nat_fresh[..]
        };
        nat[nat_len - 1] = 0.0;
        nat[..jr.len() * self.stride]
            .par_chunks_mut(self.stride)
            .enumerate()
            .for_each(|(jj, out)| {
                for (row, o) in out.iter_mut().enumerate() {
                    let q = owner[row] as usize;
                    let width = self.owners[q].len();
                    *o = recv[offsets[q] + jj * width + index[row] as usize];
                }
            });
        if let Some((k, v, _)) = self.nyquist {
            if k == jr.end * self.stride {
                nat[jr.len() * self.stride] = v;
            }
        }
        let base = jr.start * self.stride;
        let mine = mine_of(me);
        let lists: Vec<Vec<(usize, f32)>> = mine
            .clone()
            .step_by(chunk)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let range = start..(start + chunk).min(mine.end);
                chunk_peaks(nat, base, self.bins, range, n, sep)
            })
            .collect();
        drop((fresh, nat_fresh));
        self.scratch = scratch;
        let flat: Vec<(usize, f32)> = lists.into_iter().flatten().collect();
        let ks: Vec<u64> = flat.iter().map(|c| c.0 as u64).collect();
        let vs: Vec<f32> = flat.iter().map(|c| c.1).collect();
        let Some((all_k, all_v)) = gather_to_root(world, &ks, &vs) else {
            return Ok(Vec::new());
        };
        // Ranks hold ascending chunks: rank order is chunk order.
        let best = merge_peaks(all_k.into_iter().map(|k| k as usize).zip(all_v), n, sep);
        Ok(best
            .into_iter()
            .map(|(k, v)| Peak {
                freq_hz: k as f64 * self.bin_hz,
                magnitude: v,
            })
            .collect())
    }

    /// Collective: what [`Spectrum::column_envelope`](crate::Spectrum::column_envelope)
    /// returns for the whole spectrum (per pixel column on a log axis from
    /// `lo` to `hi` Hz, the min and max magnitude of its bins), from each
    /// rank's min/max per column combined by `MPI_Reduce`. `Some` on rank 0.
    pub fn column_envelope<W: Communicator>(
        &self,
        world: &W,
        lo: f64,
        hi: f64,
        columns: usize,
    ) -> Option<Vec<Option<(f32, f32)>>> {
        let span = (hi / lo).ln();
        let edge = |c: usize| lo * (span * c as f64 / columns as f64).exp();
        // Column c holds bins max(b[c], 1) .. min(b[c + 1], bins), the
        // single-machine formula.
        let b: Vec<usize> = (0..=columns)
            .map(|c| (edge(c) / self.bin_hz).ceil() as usize)
            .collect();
        let empty = || {
            (
                vec![f32::INFINITY; columns],
                vec![f32::NEG_INFINITY; columns],
            )
        };
        let add = |env: &mut (Vec<f32>, Vec<f32>), c: &mut usize, k: usize, v: f32| {
            while *c < columns && b[*c + 1] <= k {
                *c += 1;
            }
            if *c < columns && k >= b[*c].max(1) {
                env.0[*c] = env.0[*c].min(v);
                env.1[*c] = env.1[*c].max(v);
            }
        };
        let mut env = self
            .par_rows()
            .fold(empty, |mut env, (id, row)| {
                let mut c = 0;
                for (j, &v) in row.iter().enumerate() {
                    let k = id + self.stride * j;
                    if k >= self.bins || c >= columns {
                        break;
                    }
                    add(&mut env, &mut c, k, v);
                }
                env
            })
            .reduce(empty, |mut a, b| {
                for (x, y) in a.0.iter_mut().zip(b.0) {
                    *x = x.min(y);
                }
                for (x, y) in a.1.iter_mut().zip(b.1) {
                    *x = x.max(y);
                }
                a
            });
        if let Some((k, v, true)) = self.nyquist {
            add(&mut env, &mut 0, k, v);
        }
        let root = world.process_at_rank(0);
        if world.rank() == 0 {
            let (mut mins, mut maxs) = empty();
            root.reduce_into_root(&env.0[..], &mut mins[..], SystemOperation::min());
            root.reduce_into_root(&env.1[..], &mut maxs[..], SystemOperation::max());
            Some(
                mins.into_iter()
                    .zip(maxs)
                    .map(|(a, b)| (b > f32::NEG_INFINITY).then_some((a, b)))
                    .collect(),
            )
        } else {
            root.reduce_into(&env.0[..], SystemOperation::min());
            root.reduce_into(&env.1[..], SystemOperation::max());
            None
        }
    }

    /// Collective: the largest magnitude with `lo < f < hi` (the top of a
    /// plot's y axis). `Some` on rank 0.
    pub fn band_max<W: Communicator>(&self, world: &W, lo: f64, hi: f64) -> Option<f32> {
        let band = band_of(self.bin_hz, self.bins, lo, hi);
        let mut mine = self
            .par_rows()
            .map(|(id, row)| {
                row.iter()
                    .enumerate()
                    .filter(|&(j, _)| band.contains(&(id + self.stride * j)))
                    .map(|(_, &v)| v)
                    .fold(0.0f32, f32::max)
            })
            .reduce(|| 0.0, f32::max);
        if let Some((k, v, true)) = self.nyquist {
            if band.contains(&k) {
                mine = mine.max(v);
            }
        }
        let root = world.process_at_rank(0);
        if world.rank() == 0 {
            let mut top = 0.0f32;
            root.reduce_into_root(&mine, &mut top, SystemOperation::max());
            Some(top)
        } else {
            root.reduce_into(&mine, SystemOperation::max());
            None
        }
    }

    /// Collective, for tests: every rank writes its bins into `path` as
    /// little-endian f32 at offset 4k (rank 0 creates the file; a shared
    /// filesystem is assumed), so the whole spectrum can be compared with
    /// the single-machine one. Slow for big spectra (one write per run of
    /// consecutive bins).
    ///
    /// # Errors
    /// [`Error::Io`] when this rank cannot create or write the file (the
    /// other ranks may then wait: call `MPI_Abort`).
    pub fn write_bins<W: Communicator>(&self, world: &W, path: &Path) -> Result<(), Error> {
        use std::os::unix::fs::FileExt;
        if world.rank() == 0 {
            let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
            f.set_len(self.bins as u64 * 4)
                .map_err(|e| Error::io(path, e))?;
        }
        world.barrier();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let mut mine: Vec<(usize, f32)> = self.owned_bins().collect();
        mine.sort_by_key(|b| b.0);
        let mut i = 0;
        while i < mine.len() {
            let mut j = i + 1;
            while j < mine.len() && mine[j].0 == mine[j - 1].0 + 1 {
                j += 1;
            }
            let bytes: Vec<u8> = mine[i..j].iter().flat_map(|b| b.1.to_le_bytes()).collect();
            f.write_all_at(&bytes, mine[i].0 as u64 * 4)
                .map_err(|e| Error::io(path, e))?;
            i = j;
        }
        f.sync_data().map_err(|e| Error::io(path, e))?;
        world.barrier();
        Ok(())
    }
}

/// Gathers `ks` and `vs` (same length) of every rank on rank 0.
fn gather_to_root<W: Communicator>(
    world: &W,
    ks: &[u64],
    vs: &[f32],
) -> Option<(Vec<u64>, Vec<f32>)> {
    let root = world.process_at_rank(0);
    let n = ks.len() as i32;
    if world.rank() != 0 {
        root.gather_into(&n);
        root.gather_varcount_into(ks);
        root.gather_varcount_into(vs);
        return None;
    }
    let mut counts = vec![0i32; world.size() as usize];
    root.gather_into_root(&n, &mut counts[..]);
    let displs: Vec<i32> = displacements(&counts);
    let total = counts.iter().map(|&c| c as usize).sum();
    let mut all_k = vec![0u64; total];
    let mut all_v = vec![0f32; total];
    root.gather_varcount_into_root(
        ks,
        &mut PartitionMut::new(&mut all_k[..], &counts[..], &displs[..]),
    );
    root.gather_varcount_into_root(
        vs,
        &mut PartitionMut::new(&mut all_v[..], &counts[..], &displs[..]),
    );
    Some((all_k, all_v))
}

fn displacements(counts: &[i32]) -> Vec<i32> {
    counts
        .iter()
        .scan(0i32, |acc, &c| {
            let d = *acc;
            *acc += c;
            Some(d)
        })
        .collect()
}

fn complex_buffer(len: usize) -> Result<Buffer, Error> {
    let bytes = len.max(1) * 8;
    Buffer::zeroed(bytes, false).map_err(|source| Error::Memory { bytes, source })
}

/// MPI counts and displacements (in f32 values).
fn counts(elems: &[usize]) -> Result<(Vec<i32>, Vec<i32>), Error> {
    let too_big = |n: usize| Error::Cluster {
        problem: ClusterProblem::Transfer { values: n },
    };
    let c: Vec<i32> = elems
        .iter()
        .map(|&e| i32::try_from(e).map_err(|_| too_big(e)))
        .collect::<Result<_, _>>()?;
    let total: usize = elems.iter().sum();
    i32::try_from(total).map_err(|_| too_big(total))?;
    let d = displacements(&c);
    Ok((c, d))
}

/// One `MPI_Alltoallv` of complex numbers: `send_counts[q]` go to rank q
/// (consecutive in `send`), `recv_counts[q]` come from it.
fn exchange<W: Communicator>(
    world: &W,
    send: &[C32],
    send_counts: &[usize],
    recv: &mut [C32],
    recv_counts: &[usize],
) -> Result<(), Error> {
    let twice = |c: &[usize]| c.iter().map(|&x| 2 * x).collect::<Vec<_>>();
    exchange_f32(
        world,
        bytemuck::cast_slice(send),
        &twice(send_counts),
        bytemuck::cast_slice_mut(recv),
        &twice(recv_counts),
    )
}

/// One `MPI_Alltoallv` of f32 values.
fn exchange_f32<W: Communicator>(
    world: &W,
    send: &[f32],
    send_counts: &[usize],
    recv: &mut [f32],
    recv_counts: &[usize],
) -> Result<(), Error> {
    let (sc, sd) = counts(send_counts)?;
    let (rc, rd) = counts(recv_counts)?;
    let s_len: usize = send_counts.iter().sum();
    let r_len: usize = recv_counts.iter().sum();
    world.all_to_all_varcount_into(
        &Partition::new(&send[..s_len], &sc[..], &sd[..]),
        &mut PartitionMut::new(&mut recv[..r_len], &rc[..], &rd[..]),
    );
    Ok(())
}

/// Splits `buf` into consecutive regions of the given lengths, and each
/// region into chunks of the given size: task t gets chunk t of every
/// region (empty when the region has fewer). Disjoint `&mut` slices, so
/// the tasks can fill their parts in parallel without `unsafe`.
fn deal<'a, T>(
    mut buf: &'a mut [T],
    regions: &[(usize, usize)],
    tasks: usize,
) -> Vec<Vec<&'a mut [T]>> {
    let mut out: Vec<Vec<&'a mut [T]>> = (0..tasks)
        .map(|_| Vec::with_capacity(regions.len()))
        .collect();
    for &(len, chunk) in regions {
        let (mut region, rest) = std::mem::take(&mut buf).split_at_mut(len);
        buf = rest;
        for slot in &mut out {
            let take = chunk.min(region.len());
            let (c, r) = std::mem::take(&mut region).split_at_mut(take);
            region = r;
            slot.push(c);
        }
    }
    out
}

/// Pass 1 on this rank's columns `cols`: gather a\[n2·c + r\] with `fill`,
/// FFT n1, × W_L^(r·k1), and write into `send` the block for each rank q:
/// region q, r-major, `dest[q]` rows per r.
fn pass1<T, I, F>(
    split: &Split,
    cols: Range<usize>,
    dest: &[Vec<usize>],
    send: &mut [C32],
    init: I,
    fill: F,
) where
    I: Fn(usize) -> T + Sync,
    F: Fn(&mut T, usize, &mut [C32], &mut Vec<f32>) + Sync,
{
    let (n1, n2) = (split.n1, split.n2);
    let w = cols.len();
    if w == 0 {
        return;
    }
    let tasks = w.div_ceil(ROWS);
    let regions: Vec<(usize, usize)> = dest.iter().map(|d| (w * d.len(), ROWS * d.len())).collect();
    let parts = deal(send, &regions, tasks);
    let (fft1, tw) = (&split.fft1, &split.tw);
    parts.into_par_iter().enumerate().for_each_init(
        || {
            (
                vec![C32::default(); ROWS * n1],
                vec![C32::default(); fft1.get_inplace_scratch_len()],
                vec![C32::default(); ROWS],
                vec![0f32; 2 * ROWS],
            )
        },
        |(rows, scratch, run, tmp), (t, mut outs)| {
            let r0 = cols.start + t * ROWS;
            let cnt = ROWS.min(cols.end - r0);
            let mut state = init(r0);
            for c in 0..n1 {
                fill(&mut state, n2 * c + r0, &mut run[..cnt], tmp);
                for (j, v) in run[..cnt].iter().enumerate() {
                    rows[j * n1 + c] = *v;
                }
            }
            let rows = &mut rows[..cnt * n1];
            fft1.process_with_scratch(rows, scratch);
            for (j, row) in rows.chunks_exact_mut(n1).enumerate() {
                twiddle_row(row, r0 + j, tw, false);
            }
            for (out, ks) in outs.iter_mut().zip(dest) {
                let kq = ks.len();
                for (j, o) in out.chunks_exact_mut(kq.max(1)).take(cnt).enumerate() {
                    let src = &rows[j * n1..(j + 1) * n1];
                    for (o, &k1) in o.iter_mut().zip(ks) {
                        *o = src[k1];
                    }
                }
            }
        },
    );
}

/// Copies rows `pos` (positions among this rank's rows) out of the
/// r-major matrix `recv` (n2 × `width`) into `out`, one row of n2 each.
fn gather_rows(recv: &[C32], width: usize, n2: usize, pos: &[usize], out: &mut [C32]) {
    for r in 0..n2 {
        let src = &recv[r * width..(r + 1) * width];
        for (s, &i) in pos.iter().enumerate() {
            out[s * n2 + r] = src[i];
        }
    }
}

/// Computes this rank's part of the exact spectrum of `source` (see the
/// module docs). Collective: every rank of `world` calls it with the same
/// plan and a source of the same signal.
///
/// # Errors
/// [`Error::TooShort`] when `source` does not have the plan's length;
/// [`Error::Cluster`] when `world` does not have the plan's ranks.
pub fn spectrum<S: MonoSource, W: Communicator>(
    world: &W,
    source: &S,
    sample_rate: u32,
    plan: &DistributedPlan,
) -> Result<(LocalSpectrum, Timings), Error> {
    if source.len() != plan.signal_len {
        return Err(Error::TooShort {
            samples: source.len(),
            needed: plan.signal_len,
        });
    }
    if world.size() as usize != plan.ranks {
        return Err(Error::Cluster {
            problem: ClusterProblem::Ranks {
                planned: plan.ranks,
                job: world.size() as usize,
            },
        });
    }
    let me = world.rank() as usize;
    let mut times = Timings::default();
    let mut t = Instant::now();
    let split = plan.split();
    let (n1, n2) = (split.n1, split.n2);
    let cols = plan.cols[me].clone();
    let mine = &plan.rows[me];
    let (w, kme) = (cols.len(), mine.len());
    // Counts of the forward transpose: w_me·|K_q| to q, w_q·|K_me| from q.
    let fwd_send: Vec<usize> = plan.rows.iter().map(|k| w * k.len()).collect();
    let fwd_recv: Vec<usize> = plan.cols.iter().map(|c| c.len() * kme).collect();
    let buf_len = plan.buffer_len(me);
    // Fresh zero pages from the kernel (no pass to zero them): they are
    // touched first where they are written.
    let mut a_buf = complex_buffer(buf_len)?;
    let mut b_buf = complex_buffer(buf_len)?;
    let a = &mut a_buf.complex_mut()[..buf_len];
    let b = &mut b_buf.complex_mut()[..buf_len];
    times.lap(&mut t, "allocate");
    let bins = plan.bins();
    let local = match &plan.method {
        Method::Packed(_) | Method::Odd(_) => {
            let packing = if matches!(plan.method, Method::Packed(_)) {
                Packing::Pairs
            } else {
                Packing::Real
            };
            pass1(
                split,
                cols,
                &plan.rows,
                a,
                |_| (),
                |_, n, run, tmp| {
                    fill_packed(source, packing, n, run, tmp);
                },
            );
            times.lap(&mut t, "read + mix + FFT n1 + twiddle (my columns)");
            times.wait(world, &mut t);
            exchange(world, a, &fwd_send, b, &fwd_recv)?;
            times.exchange(&mut t, "all-to-all (columns → rows)");
            // The magnitudes go where pass 1's output was (every one
            // written before it is read).
            let mags = &mut a_buf.floats_mut()[..kme * n2];
            let nyquist = if packing == Packing::Pairs {
                packed_rows(b, split, &plan.tw_n, mine, plan.lowers[me], mags)
            } else {
                odd_rows(b, split, mine, bins, mags);
                None
            };
            times.lap(&mut t, "FFT n2 + untangle + magnitudes (my rows)");
            (n1, n2, mine.clone(), kme * n2, nyquist)
        }
        Method::Bluestein {
            inv1,
            inv2,
            chirp,
            needed,
            ..
        } => {
            let (m, l) = (plan.signal_len, split.len());
            // The chirp's spectrum for my rows.
            pass1(
                split,
                cols.clone(),
                &plan.rows,
                a,
                |r0| KernelWalk::new(chirp, split.n2, r0, m, *needed, l),
                |walk, start, run, _| walk.fill(start, run),
            );
            times.lap(&mut t, "Bluestein: pass 1 of the chirp");
            times.wait(world, &mut t);
            exchange(world, a, &fwd_send, b, &fwd_recv)?;
            times.exchange(&mut t, "all-to-all (the chirp, columns → rows)");
            let mut kernel_buf = complex_buffer(kme * n2)?;
            let kernel = &mut kernel_buf.complex_mut()[..kme * n2];
            let fft2 = &split.fft2;
            kernel.par_chunks_mut(BLOCK * n2).enumerate().for_each_init(
                || vec![C32::default(); fft2.get_inplace_scratch_len()],
                |scratch, (q, out)| {
                    let pos: Vec<usize> = (q * BLOCK..q * BLOCK + out.len() / n2).collect();
                    gather_rows(b, kme, n2, &pos, out);
                    fft2.process_with_scratch(out, scratch);
                },
            );
            times.lap(&mut t, "Bluestein: the chirp's spectrum (my rows)");
            // 1. a[n] = x[n]·e^(−iπn²/M) for n < M, 0 up to L.
            pass1(
                split,
                cols.clone(),
                &plan.rows,
                a,
                |r0| ColumnChirp::new(chirp, split.n2, r0, None),
                |walk, start, run, tmp| {
                    let have = m.saturating_sub(start).min(run.len());
                    fill_packed(source, Packing::Real, start, &mut run[..have], tmp);
                    run[have..].fill(C32::default());
                    walk.mul_run(&mut run[..have]);
                },
            );
            times.lap(&mut t, "read + mix + chirp + FFT n1 + twiddle (my columns)");
            times.wait(world, &mut t);
            exchange(world, a, &fwd_send, b, &fwd_recv)?;
            times.exchange(&mut t, "all-to-all (columns → rows)");
            // 2. My rows: FFT n2, × kernel, inverse FFT n2; back into `a`
            //    as the blocks for each rank p: my rows × its columns.
            let regions: Vec<(usize, usize)> = plan
                .cols
                .iter()
                .map(|c| (kme * c.len(), BLOCK * c.len()))
                .collect();
            let blocks = kme.div_ceil(BLOCK);
            let kernel = &*kernel;
            let parts = deal(&mut a[..], &regions, blocks);
            parts.into_par_iter().enumerate().for_each_init(
                || {
                    let s = fft2
                        .get_inplace_scratch_len()
                        .max(inv2.get_inplace_scratch_len());
                    (vec![C32::default(); BLOCK * n2], vec![C32::default(); s])
                },
                |(rows, scratch), (q, outs)| {
                    let pos: Vec<usize> = (q * BLOCK..kme.min((q + 1) * BLOCK)).collect();
                    let rows = &mut rows[..pos.len() * n2];
                    gather_rows(b, kme, n2, &pos, rows);
                    fft2.process_with_scratch(rows, scratch);
                    let k = &kernel[pos[0] * n2..(pos[0] + pos.len()) * n2];
                    rows.iter_mut().zip(k).for_each(|(r, k)| *r *= k);
                    inv2.process_with_scratch(rows, scratch);
                    for (out, c) in outs.into_iter().zip(&plan.cols) {
                        for (s, o) in out.chunks_exact_mut(c.len().max(1)).enumerate() {
                            o.copy_from_slice(&rows[s * n2 + c.start..s * n2 + c.end]);
                        }
                    }
                },
            );
            drop(kernel_buf);
            times.lap(&mut t, "FFT n2 × chirp spectrum, inverse FFT n2 (my rows)");
            times.wait(world, &mut t);
            let back_send: Vec<usize> = plan.cols.iter().map(|c| kme * c.len()).collect();
            let back_recv: Vec<usize> = plan.rows.iter().map(|k| k.len() * w).collect();
            exchange(world, a, &back_send, b, &back_recv)?;
            times.exchange(&mut t, "all-to-all (rows → columns)");
            // 3. My columns r: b[k1·w + j] for all k1, × W_L^(−r·k1),
            //    inverse FFT n1: y[n2·c + r]; |Z[n]| = |y[n]| (|chirp| = 1).
            let mags = &mut a_buf.floats_mut()[..w * n1];
            let tw = &split.tw;
            mags.par_chunks_mut(ROWS * n1).enumerate().for_each_init(
                || {
                    (
                        vec![C32::default(); ROWS * n1],
                        vec![C32::default(); inv1.get_inplace_scratch_len()],
                    )
                },
                |(rows, scratch), (q, out)| {
                    let j0 = q * ROWS;
                    let cnt = out.len() / n1;
                    for k1 in 0..n1 {
                        let src = &b[k1 * w + j0..k1 * w + j0 + cnt];
                        for (jj, v) in src.iter().enumerate() {
                            rows[jj * n1 + k1] = *v;
                        }
                    }
                    let rows = &mut rows[..cnt * n1];
                    for (jj, row) in rows.chunks_exact_mut(n1).enumerate() {
                        twiddle_row(row, cols.start + j0 + jj, tw, true);
                    }
                    inv1.process_with_scratch(rows, scratch);
                    for (jj, (row, o)) in rows
                        .chunks_exact(n1)
                        .zip(out.chunks_exact_mut(n1))
                        .enumerate()
                    {
                        let r = cols.start + j0 + jj;
                        for (c, (y, o)) in row.iter().zip(o.iter_mut()).enumerate() {
                            if n2 * c + r < bins {
                                *o = magnitude(*y);
                            }
                        }
                    }
                },
            );
            times.lap(&mut t, "columns: inverse FFT n1 + magnitudes");
            (n2, n1, cols.collect::<Vec<_>>(), w * n1, None)
        }
    };
    let (stride, row_len, ids, mags_len, nyquist) = local;
    let mags = (a_buf, mags_len, b_buf);
    let local = local_spectrum(
        world,
        sample_rate,
        plan,
        stride,
        row_len,
        ids,
        mags,
        nyquist,
    );
    Ok((local, times))
}

/// Pass 2 of the packed path on this rank's rows (lower rows, then their
/// partners): FFT n2, untangle, |X\[k1 + n1·k2\]| into `mags` (row by row,
/// in `mine`'s order). Returns the Nyquist bin |X\[M\]| if row 0 is here.
fn packed_rows(
    recv: &[C32],
    split: &Split,
    tw_n: &Twiddles,
    mine: &[usize],
    nl: usize,
    mags: &mut [f32],
) -> Option<f32> {
    let (n1, n2) = (split.n1, split.n2);
    let kme = mine.len();
    let half = n1 / 2;
    let has_partner = |k1: usize| k1 >= 1 && n1 - k1 > half;
    // Blocks of lower rows, each with the positions of its partners.
    let mut blocks = Vec::new();
    let mut next_partner = nl;
    for i0 in (0..nl).step_by(BLOCK) {
        let i1 = (i0 + BLOCK).min(nl);
        let np = mine[i0..i1].iter().filter(|&&k| has_partner(k)).count();
        blocks.push((i0..i1, next_partner..next_partner + np));
        next_partner += np;
    }
    debug_assert_eq!(next_partner, kme);
    let (lower, upper) = mags.split_at_mut(nl * n2);
    let lower_parts = deal(lower, &[(nl * n2, BLOCK * n2)], blocks.len());
    let mut upper = upper;
    let mut work = Vec::with_capacity(blocks.len());
    for (blk, mut lp) in blocks.into_iter().zip(lower_parts) {
        let (u, rest) = std::mem::take(&mut upper).split_at_mut(blk.1.len() * n2);
        upper = rest;
        work.push((blk, lp.pop().unwrap_or_default(), u));
    }
    let fft2 = &split.fft2;
    let step = tw_n.get64(n1);
    work.into_par_iter()
        .map_init(
            || {
                (
                    vec![C32::default(); 2 * BLOCK * n2],
                    vec![C32::default(); fft2.get_inplace_scratch_len()],
                )
            },
            |(buf, scratch), ((lo, hi), out_lo, out_hi)| {
                let pos: Vec<usize> = lo.clone().chain(hi.clone()).collect();
                let set: Vec<usize> = pos.iter().map(|&i| mine[i]).collect();
                let rows = &mut buf[..pos.len() * n2];
                gather_rows(recv, kme, n2, &pos, rows);
                fft2.process_with_scratch(rows, scratch);
                let nyquist = (set[0] == 0).then(|| (rows[0].re - rows[0].im).abs());
                let slot = |k1: usize| set.iter().position(|&x| x == k1).expect("closed set");
                let nlo = lo.len();
                for (s, &k1) in set.iter().enumerate() {
                    let row = &rows[s * n2..(s + 1) * n2];
                    let p = slot((n1 - k1) % n1);
                    let prow = &rows[p * n2..(p + 1) * n2];
                    let out = if s < nlo {
                        &mut out_lo[s * n2..(s + 1) * n2]
                    } else {
                        &mut out_hi[(s - nlo) * n2..(s - nlo + 1) * n2]
                    };
                    let mut w = Complex::new(1.0, 0.0);
                    for (k2, o) in out.iter_mut().enumerate() {
                        if k2 % 1024 == 0 {
                            w = tw_n.get64(k1 + n1 * k2);
                        }
                        let z = row[k2];
                        let zp = if k1 == 0 {
                            row[(n2 - k2) % n2]
                        } else {
                            prow[n2 - 1 - k2]
                        }
                        .conj();
                        let sum = z + zp;
                        let wd = to_f32(w) * (z - zp);
                        w *= step;
                        *o = 0.5 * magnitude(Complex::new(sum.re + wd.im, sum.im - wd.re));
                    }
                }
                nyquist
            },
        )
        .reduce(|| None, Option::or)
}

/// Pass 2 of the odd path on this rank's rows: FFT n2, |Z\[k1 + n1·k2\]|
/// for the bins k < `bins` (0 beyond).
fn odd_rows(recv: &[C32], split: &Split, mine: &[usize], bins: usize, mags: &mut [f32]) {
    let (n1, n2) = (split.n1, split.n2);
    let kme = mine.len();
    let fft2 = &split.fft2;
    mags.par_chunks_mut(BLOCK * n2).enumerate().for_each_init(
        || {
            (
                vec![C32::default(); BLOCK * n2],
                vec![C32::default(); fft2.get_inplace_scratch_len()],
            )
        },
        |(buf, scratch), (q, out)| {
            let pos: Vec<usize> = (q * BLOCK..q * BLOCK + out.len() / n2).collect();
            let rows = &mut buf[..pos.len() * n2];
            gather_rows(recv, kme, n2, &pos, rows);
            fft2.process_with_scratch(rows, scratch);
            for ((row, o), &i) in rows
                .chunks_exact(n2)
                .zip(out.chunks_exact_mut(n2))
                .zip(&pos)
            {
                let k1 = mine[i];
                for (k2, (z, o)) in row.iter().zip(o.iter_mut()).enumerate() {
                    if k1 + n1 * k2 < bins {
                        *o = magnitude(*z);
                    }
                }
            }
        },
    );
}

/// The local spectrum, with the Nyquist bin made known to every rank
/// (one all-reduce).
#[allow(clippy::too_many_arguments)]
fn local_spectrum<W: Communicator>(
    world: &W,
    sample_rate: u32,
    plan: &DistributedPlan,
    stride: usize,
    row_len: usize,
    ids: Vec<usize>,
    (mags_buf, mags_len, scratch): (Buffer, usize, Buffer),
    nyquist: Option<f32>,
) -> LocalSpectrum {
    let nyquist = if matches!(plan.method, Method::Packed(_)) {
        let mine = nyquist.unwrap_or(f32::NEG_INFINITY);
        let mut top = f32::NEG_INFINITY;
        world.all_reduce_into(&mine, &mut top, SystemOperation::max());
        Some((plan.signal_len / 2, top, nyquist.is_some()))
    } else {
        None
    };
    let owners = (0..plan.ranks)
        .map(|q| {
            let mut rows = if plan.is_bluestein() {
                plan.cols[q].clone().collect()
            } else {
                plan.rows[q].clone()
            };
            rows.sort_unstable();
            rows
        })
        .collect();
    LocalSpectrum {
        bin_hz: f64::from(sample_rate) / plan.signal_len as f64,
        bins: plan.bins(),
        stride,
        row_len,
        ids,
        mags_buf,
        mags_len,
        scratch: Some(scratch),
        owners,
        me: world.rank() as usize,
        nyquist,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_and_column_has_exactly_one_rank() {
        for n in [
            1usize,
            2,
            3,
            4,
            17,
            44_100,
            44_101,
            2 * 131_101,
            267_193_080,
        ] {
            for ranks in 1..=5 {
                let plan = DistributedPlan::new(n, ranks).unwrap();
                let s = plan.split();
                let mut rows: Vec<usize> = (0..ranks).flat_map(|p| plan.rows[p].clone()).collect();
                rows.sort_unstable();
                assert_eq!(rows, (0..s.n1).collect::<Vec<_>>(), "n = {n}, P = {ranks}");
                let cols: usize = (0..ranks).map(|p| plan.cols[p].len()).sum();
                assert_eq!(cols, s.n2);
                if matches!(plan.method, Method::Packed(_)) {
                    // Mirror pairs stay together.
                    for p in 0..ranks {
                        for &k1 in &plan.rows[p] {
                            assert!(plan.rows[p].contains(&((s.n1 - k1) % s.n1)), "{n} {p} {k1}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn methods_follow_the_factorisation() {
        assert!(matches!(
            DistributedPlan::new(44_100, 2).unwrap().method,
            Method::Packed(_)
        ));
        assert!(matches!(
            DistributedPlan::new(44_101, 2).unwrap().method,
            Method::Odd(_)
        ));
        assert!(DistributedPlan::new(2 * 131_101, 2).unwrap().is_bluestein());
        assert!(DistributedPlan::new(131_111, 2).unwrap().is_bluestein());
        assert!(DistributedPlan::new(0, 2).is_err());
        assert!(DistributedPlan::new(10, 0).is_err());
    }

    #[test]
    fn deal_hands_out_disjoint_chunks() {
        let mut v: Vec<usize> = (0..10).collect();
        let parts = deal(&mut v, &[(4, 3), (6, 2)], 3);
        let got: Vec<Vec<Vec<usize>>> = parts
            .into_iter()
            .map(|t| t.into_iter().map(|s| s.to_vec()).collect())
            .collect();
        assert_eq!(
            got,
            vec![
                vec![vec![0, 1, 2], vec![4, 5]],
                vec![vec![3], vec![6, 7]],
                vec![vec![], vec![8, 9]],
            ]
        );
    }
}
