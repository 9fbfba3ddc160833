//! The exact parallel FFT: the DFT of exactly N samples (any N), split
//! over threads (six-step / decimation in time: FFTs of rows, a twiddle
//! factor per element, FFTs of columns; Bluestein's chirp-z where N has no
//! usable split), equal to [`realfft_spectrum`] within floating-point
//! error, full band. The book's own parallel attempts (contiguous parts,
//! strided parts) are in [`book`](crate::book).
//!
//! [`realfft_spectrum`]: crate::spectrum::realfft_spectrum

mod exact;
mod simd;
pub use exact::{ExactPlan, Steps};
#[cfg(feature = "mpi")]
pub mod distributed;

use crate::Error;
use crate::spectrum::Spectrum;
use crate::wav::MonoSource;

/// The exact DFT of `source` — bins 0..=N/2, magnitudes |X\[k\]| — in
/// parallel on the current rayon pool; see [`exact_timed`] for the
/// algorithm, and for the time of each pass.
///
/// # Errors
/// As [`exact_timed`].
pub fn exact<S: MonoSource>(
    source: S,
    sample_rate: u32,
    plan: &ExactPlan,
) -> Result<Spectrum, Error> {
    exact::exact(source, sample_rate, plan).map(|(spectrum, _)| spectrum)
}

pub use exact::exact as exact_timed;

#[cfg(test)]
pub(crate) mod tests {
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
}
