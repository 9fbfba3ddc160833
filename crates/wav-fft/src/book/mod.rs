//! What only the book's lesson needs: its test recording (tones at known
//! frequencies, [`generate`]), the A-note ticks of its plots, and its two
//! parallel attempts — contiguous parts (wrong) and strided parts
//! (Nyquist-cut) — kept to show why they fail. Everything else in the crate
//! is general-purpose.
//!
//! - [`contiguous_wrong`] — the book's `paralelo-mal`: cut the signal into P
//!   contiguous parts, FFT each, add. Each part is a shorter signal, so its
//!   bins are P times wider; plotted on the whole signal's frequency axis
//!   (the book's mistake) every tone shows at 1/P of its frequency.
//! - [`strided`] — the book's `paralelo-ok`: P sub-signals `x[p::P]`, FFT
//!   each, add magnitudes. Each sub-signal is sampled at fs / P, so the
//!   spectrum stops at the Nyquist limit fs / (2P), and tones above it fold
//!   back below it (aliasing: nothing low-pass filters the sub-signals).
//!
//! The exact FFT the book leaves open is [`parallel::exact`](fn@crate::parallel::exact).
//!
//! # Threads instead of shared-memory segments
//! The book copies the signal into a `SharedMemory` segment so that worker
//! *processes* can see it. Threads share their process's memory already: the
//! parts here borrow one `&[f32]` as rayon tasks (the pool of a caller's
//! `ThreadPool::install`, else the global one), the borrow checker proves
//! nobody writes it meanwhile, and nothing is copied or cleaned up. Every
//! part's result, error or panic is collected, so a failing part is
//! reported instead of silently dropped — the book's program never reads
//! its pool's results.

pub mod generate;
mod split;

pub use split::{Strided, alias_hz, contiguous_wrong, strided};

/// Where the book's plots put their x ticks: the note A in every octave, Hz.
pub const A_TICKS: [f64; 10] = [
    27.5, 55.0, 110.0, 220.0, 440.0, 880.0, 1760.0, 3520.0, 7040.0, 14080.0,
];
