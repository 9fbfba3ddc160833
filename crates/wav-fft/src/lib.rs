//! Book 1.4.3: the spectrum of a long WAV file, the book's parallel attempts, and an exact parallel FFT.
//!
//! Not built yet: this crate will hold the lesson described in the workspace's
//! ARCHITECTURE.md. It has no API until then.
