//! The book's contiguous and strided splits, as rayon tasks.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;
use realfft::RealFftPlanner;

use crate::error::{PartFailure, WorkerFailure};
use crate::{Error, Spectrum};

/// Runs `tasks` tasks as rayon tasks (in the current pool) and returns
/// their results in task order — or every error and panic, each naming its
/// task.
fn run_parts<T: Send>(
    tasks: usize,
    work: impl Fn(usize) -> Result<T, Error> + Sync,
) -> Result<Vec<T>, Error> {
    let results: Vec<Result<T, WorkerFailure>> = (0..tasks)
        .into_par_iter()
        .map(|i| match catch_unwind(AssertUnwindSafe(|| work(i))) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(WorkerFailure {
                part: i,
                failure: PartFailure::Failed(Box::new(e)),
            }),
            Err(p) => Err(WorkerFailure {
                part: i,
                failure: PartFailure::Panicked(panic_text(&p)),
            }),
        })
        .collect();
    let mut ok = Vec::with_capacity(tasks);
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(f) => failures.push(f),
        }
    }
    if failures.is_empty() {
        Ok(ok)
    } else {
        Err(Error::Workers(failures))
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
/// with zeros to the same length), one FFT each as a rayon task, magnitudes
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
    let mags = run_parts(parts, |p| {
        let start = (p * len).min(n);
        let end = (start + len).min(n);
        let mut piece = signal[start..end].to_vec();
        piece.resize(len, 0.0);
        Ok(part_magnitudes(piece))
    })?;
    Ok(Spectrum::new(
        f64::from(sample_rate) / n as f64,
        add_all(mags),
    ))
}

/// The result of [`strided`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
/// — the signal sampled at fs / P. One FFT per part (each a rayon task that
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
    let mags = run_parts(p_count, |p| {
        let mut sub: Vec<f32> = signal[p..].iter().step_by(p_count).copied().collect();
        sub.resize(len, 0.0);
        Ok(part_magnitudes(sub))
    })?;
    let fs_part = f64::from(sample_rate) / p_count as f64;
    Ok(Strided {
        spectrum: Spectrum::new(fs_part / len as f64, add_all(mags)),
        nyquist_hz: fs_part / 2.0,
        padded: len * p_count - n,
    })
}

/// Where a tone at `freq_hz` shows in a spectrum of a signal sampled at
/// `sample_rate` (folding around multiples of it).
///
/// ```
/// // 15001.7 Hz with every 2nd sample of 44.1 kHz (22050 Hz, cut at 11025):
/// let f = wav_fft::book::alias_hz(15_001.7, 22_050.0);
/// assert!((f - 7_048.3).abs() < 1e-6);
/// ```
pub fn alias_hz(freq_hz: f64, sample_rate: f64) -> f64 {
    let f = freq_hz.rem_euclid(sample_rate);
    f.min(sample_rate - f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::tests::test_signal;

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
    fn parts_report_every_failure_and_panic() {
        let r: Result<Vec<usize>, _> = run_parts(6, |i| match i % 3 {
            1 => Err(Error::TooShort {
                samples: i,
                needed: 10,
            }),
            2 => panic!("part {i} broke"),
            _ => Ok(i),
        });
        match r {
            Err(Error::Workers(f)) => {
                assert_eq!(f.len(), 4, "{f:?}");
                assert_eq!(f[0].part, 1);
                assert!(matches!(f[0].failure, PartFailure::Failed(_)));
                assert!(matches!(&f[1].failure, PartFailure::Panicked(m) if m == "part 2 broke"));
                let e = Error::Workers(f).to_string();
                assert!(
                    e.starts_with("4 worker(s) failed: part 1: the signal has 1 samples"),
                    "{e}"
                );
                assert!(e.contains("part 5 panicked: part 5 broke"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(run_parts(3, |i| Ok(i * 2)).unwrap(), vec![0, 2, 4]);
    }

    #[test]
    fn parts_run_in_the_callers_pool() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .thread_name(|i| format!("caller-{i}"))
            .build()
            .unwrap();
        let names = pool
            .install(|| {
                run_parts(5, |_| {
                    Ok(std::thread::current().name().unwrap_or("").to_string())
                })
            })
            .unwrap();
        assert!(names.iter().all(|n| n.starts_with("caller-")), "{names:?}");
    }
}
