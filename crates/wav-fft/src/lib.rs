//! Spectra of WAV files larger than memory: a WAV reader, an exact parallel
//! FFT of any length, and scipy-compatible spectral analysis (periodogram,
//! Welch, spectrogram) streaming over memory-mapped files.
//!
//! The book loads a 1.07 GB recording, mixes it to mono, takes the FFT of the
//! whole signal and plots the audible band on a log axis with ticks at the A
//! notes. Then it tries to parallelise the FFT: cutting the signal into
//! contiguous parts is wrong, taking every P-th sample works but stops the
//! spectrum at the Nyquist limit fs / (2P). This crate ports those steps and
//! adds two the book leaves open:
//!
//! | module | what |
//! |---|---|
//! | [`wav`] | reading WAV files (RIFF, RIFX, RF64/BW64; PCM 1–64 bits, float 32/64) with one chunk walker, a memory map for the data, mixing to mono |
//! | [`spectrum`] | the [`Spectrum`] type, the simple real-input FFT (realfft), peaks, band selection, plot envelopes |
//! | [`parallel`] | the exact parallel FFT: the DFT of exactly N samples for every N (six-step, or Bluestein's chirp-z where N has no usable split; costs in the README) |
//! | [`spectral`] | scipy's spectral analysis: windows, scaled periodograms (density / spectrum, amplitude, dB), Welch (mean / median) and a spectrogram streaming over files larger than memory, CSV |
//! | [`book`] | the book's lesson only: its test recording ([`book::generate`]: tones at known frequencies), plot ticks, and its contiguous (wrong) and strided (Nyquist-cut) parallel attempts |
//! | `examples/fft-support/plot.rs` (programs only) | PNG spectra on a log-x axis with ticks at the A notes |
//! | `examples/fft-support/cli.rs` (programs only) | what the lesson programs share |
//!
//! # Examples
//!
//! ```
//! use wav_fft::{book::generate, spectrum, wav};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("tones.wav");
//! generate::write_test_wav(&path, 1.0, 44_100, &mut |_, _| {}).unwrap();
//! let signal = wav::load_mono(&path).unwrap();
//! let spec = spectrum::realfft_spectrum(signal.samples, signal.sample_rate);
//! let peaks = spec.peaks(1, spectrum::FREQ_MIN, spectrum::FREQ_MAX);
//! assert!((peaks[0].freq_hz - 55.0).abs() < 2.0); // the strongest tone
//! ```

pub mod book;
pub mod buffer;
pub mod error;
pub mod parallel;
pub mod spectral;
pub mod spectrum;
pub mod wav;

pub use error::Error;
pub use spectrum::{Peak, Spectrum};
pub use wav::{MonoSignal, WavInfo};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
