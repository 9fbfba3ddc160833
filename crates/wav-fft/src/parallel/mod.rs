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
//! - [`exact`] — beyond the book: the DFT of exactly N samples (any N),
//!   split over threads (six-step / decimation in time: FFTs of rows, a
//!   twiddle factor per element, FFTs of columns; Bluestein's chirp-z where
//!   N has no usable split), equal to [`realfft_spectrum`] within
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

use realfft::RealFftPlanner;

use crate::Error;
use crate::spectrum::Spectrum;

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

/// Magnitudes |X\[k\]|, k in 0..=len/2, of a real signal (one realfft).
fn part_magnitudes(mut part: Vec<f32>) -> Vec<f32> {
    let n = part.len();
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
    let mut out = fft.make_output_vec();
    fft.process(&mut part, &mut out)
        .expect("buffers sized by the plan");
    out.iter().map(|c| c.norm()).collect()
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

mod exact;
pub use exact::{ExactPlan, Steps, exact};
#[cfg(feature = "mpi")]
pub mod distributed;

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic test signal: two tones and a little noise (also used by `exact`'s tests).
    pub(crate) fn test_signal(n: usize) -> Vec<f32> {
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
    fn strided_pads_short_parts_and_reports_nyquist() {
        let x = test_signal(10_001);
        let s = strided(&x, 8000, 3).unwrap();
        assert_eq!(s.padded, 1); // 10,001 = 3 × 3334 − 1
        assert_eq!(s.nyquist_hz, 8000.0 / 6.0);
        assert_eq!(s.spectrum.mags.len(), 3334 / 2 + 1);
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
