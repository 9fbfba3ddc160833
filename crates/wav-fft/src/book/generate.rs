//! Deterministic test WAVs: tones at known frequencies plus a little noise,
//! 16- or 24-bit stereo, so a spectrum's peaks can be checked without music.
//!
//! The same duration always gives the same bytes (the noise is seeded per
//! block, so the parallel generation does not change it).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rayon::prelude::*;

use crate::Error;
use crate::error::Unsupported;

/// Which channels a tone is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Channel {
    /// Both channels (full amplitude after mixing).
    Both,
    /// Left only (half amplitude after mixing).
    Left,
    /// Right only (half amplitude after mixing).
    Right,
}

/// One sine tone of the test signal.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Tone {
    /// Frequency, Hz.
    pub freq_hz: f64,
    /// Amplitude in its channel(s), full scale = 1.
    pub amplitude: f64,
    /// Where it is.
    pub channel: Channel,
}

impl Tone {
    /// Amplitude after mixing to mono.
    pub fn mono_amplitude(&self) -> f64 {
        match self.channel {
            Channel::Both => self.amplitude,
            Channel::Left | Channel::Right => self.amplitude / 2.0,
        }
    }
}

/// The tones of every generated file: A notes (where the plot has ticks),
/// one off-bin tone (3521.37 Hz: a one-bin spike would hide it from "one
/// point in 100" plots) and one above 11025 Hz (15001.7 Hz) that strided
/// parallel FFTs alias below their Nyquist cut.
pub const TONES: [Tone; 7] = [
    tone(55.0, 0.10, Channel::Both),
    tone(220.0, 0.08, Channel::Both),
    tone(440.0, 0.12, Channel::Left),
    tone(1760.0, 0.06, Channel::Right),
    tone(3521.37, 0.07, Channel::Both),
    tone(7040.0, 0.05, Channel::Both),
    tone(15001.7, 0.045, Channel::Both),
];

const fn tone(freq_hz: f64, amplitude: f64, channel: Channel) -> Tone {
    Tone {
        freq_hz,
        amplitude,
        channel,
    }
}

/// Peak amplitude of the uniform white noise added to each channel.
pub const NOISE: f64 = 0.02;

/// The book's recording: 6058.8 s at 44.1 kHz (267,193,080 frames, ≈1.07 GB).
pub const BOOK_SECONDS: f64 = 6058.8;

/// Frames generated per block (one parallel task).
const BLOCK: usize = 1 << 18;

/// Writes `seconds` of the test signal ([`TONES`] + [`NOISE`]) at
/// `sample_rate` as a 16-bit stereo PCM WAV. `progress(done, total)` is
/// called with bytes written.
///
/// # Errors
/// [`Error::Io`] naming `path`; [`Error::TooShort`] for a length that does not
/// fit a WAV file (over 4 GiB) or is zero.
pub fn write_test_wav(
    path: impl AsRef<Path>,
    seconds: f64,
    sample_rate: u32,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), Error> {
    let frames = (seconds * f64::from(sample_rate)).round() as u64;
    write_recording(path, frames, sample_rate, 16, progress)
}

/// Like [`write_test_wav`], but exactly `frames` frames of `bits`-bit
/// (16 or 24) stereo PCM — e.g. an awkward length such as 2 × a prime, as
/// real recordings have.
///
/// # Errors
/// As [`write_test_wav`]; [`Error::Unsupported`] for other depths.
pub fn write_recording(
    path: impl AsRef<Path>,
    frames: u64,
    sample_rate: u32,
    bits: u16,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), Error> {
    let path = path.as_ref();
    if bits != 16 && bits != 24 {
        return Err(Error::Unsupported {
            path: path.into(),
            what: Unsupported::WriteBits { bits },
        });
    }
    let bytes = u64::from(bits / 8);
    let data_len = frames * 2 * bytes;
    if frames == 0 || data_len > u64::from(u32::MAX) - 36 {
        return Err(Error::TooShort {
            samples: frames as usize,
            needed: 1,
        });
    }
    let io = |e| Error::io(path, e);
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io)?);
    w.write_all(&header(sample_rate, data_len as u32, bits))
        .map_err(io)?;
    let blocks = frames.div_ceil(BLOCK as u64) as usize;
    // Generate a few blocks in parallel, write them in order.
    let batch = rayon::current_num_threads() * 4;
    let mut done = 0u64;
    for first in (0..blocks).step_by(batch) {
        let last = (first + batch).min(blocks);
        let bufs: Vec<Vec<u8>> = (first..last)
            .into_par_iter()
            .map(|b| {
                let start = b as u64 * BLOCK as u64;
                let n = (frames - start).min(BLOCK as u64) as usize;
                block(start, n, sample_rate, b as u64, bits)
            })
            .collect();
        for buf in bufs {
            w.write_all(&buf).map_err(io)?;
            done += buf.len() as u64;
            progress(done, data_len);
        }
    }
    w.flush().map_err(io)?;
    Ok(())
}

fn header(sample_rate: u32, data_len: u32, bits: u16) -> [u8; 44] {
    let align = 2 * (bits / 8);
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_len).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&2u16.to_le_bytes()); // stereo
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(sample_rate * u32::from(align)).to_le_bytes());
    h[32..34].copy_from_slice(&align.to_le_bytes());
    h[34..36].copy_from_slice(&bits.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// `n` stereo frames of `bits` (16 or 24) starting at frame `start`.
fn block(start: u64, n: usize, sample_rate: u32, seed: u64, bits: u16) -> Vec<u8> {
    let fs = f64::from(sample_rate);
    let mut left = vec![0f64; n];
    let mut right = vec![0f64; n];
    for t in &TONES {
        // Exact phase at the block start, then a rotation per sample.
        let cycles = (t.freq_hz * start as f64 / fs).fract();
        let (mut s, mut c) = (std::f64::consts::TAU * cycles).sin_cos();
        let (ds, dc) = (std::f64::consts::TAU * t.freq_hz / fs).sin_cos();
        for i in 0..n {
            let v = t.amplitude * s;
            match t.channel {
                Channel::Both => {
                    left[i] += v;
                    right[i] += v;
                }
                Channel::Left => left[i] += v,
                Channel::Right => right[i] += v,
            }
            (s, c) = (s * dc + c * ds, c * dc - s * ds);
        }
    }
    let mut rng = XorShift((0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0xD1B5_4A32_D192_ED03)) | 1);
    let bytes = usize::from(bits / 8);
    let full = f64::from((1u32 << (bits - 1)) - 1);
    let mut out = Vec::with_capacity(n * 2 * bytes);
    for i in 0..n {
        for v in [left[i], right[i]] {
            let x = (v + NOISE * rng.uniform()) * full;
            let q = x.round().clamp(-full - 1.0, full) as i32;
            out.extend_from_slice(&q.to_le_bytes()[..bytes]);
        }
    }
    out
}

/// A tiny deterministic generator (xorshift64*), enough for test noise.
struct XorShift(u64);

impl XorShift {
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_deterministic_and_continuous() {
        let a = block(0, 1000, 44_100, 0, 16);
        let b = block(0, 1000, 44_100, 0, 16);
        assert_eq!(a, b);
        // A block starting at frame 500 continues the tones (noise differs).
        let c = block(500, 10, 44_100, 7, 16);
        let sample = |buf: &[u8], i: usize| i16::from_le_bytes([buf[4 * i], buf[4 * i + 1]]);
        let diff = (i32::from(sample(&a, 500)) - i32::from(sample(&c, 0))).abs();
        assert!(diff <= (2.0 * NOISE * 32767.0) as i32 + 2, "{diff}");
    }

    #[test]
    fn a_24_bit_recording_reads_back_as_the_16_bit_one() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.wav"), dir.path().join("b.wav"));
        write_recording(&a, 2 * 1009, 44_100, 16, &mut |_, _| {}).unwrap();
        write_recording(&b, 2 * 1009, 44_100, 24, &mut |_, _| {}).unwrap();
        let (x, y) = (
            crate::wav::load_mono(&a).unwrap(),
            crate::wav::load_mono(&b).unwrap(),
        );
        assert_eq!(y.info.bits, 24);
        assert_eq!(x.samples.len(), 2018);
        assert_eq!(y.samples.len(), 2018);
        for (u, v) in x.samples.iter().zip(&y.samples) {
            assert!((u - v).abs() < 1e-4, "{u} {v}");
        }
        assert!(write_recording(&a, 10, 44_100, 12, &mut |_, _| {}).is_err());
    }

    #[test]
    fn noise_is_in_range() {
        let mut r = XorShift(1);
        for _ in 0..10_000 {
            let u = r.uniform();
            assert!((-1.0..1.0).contains(&u));
        }
    }
}
