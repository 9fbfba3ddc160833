//! Decoding interleaved frames of any sample kind and byte order to mono `f32`.
//!
//! An integer in a `b`-byte container is placed in the top bytes of an `i64`
//! (low bytes zero) and scaled by 2^-63, which is the container's full scale
//! for every `b`: no branch per depth, and the common 16-bit little-endian
//! stereo and mono cases keep their own loops, which the compiler vectorises.

use rayon::prelude::*;

use super::{Endian, SampleKind, WavInfo};

/// Interleaved frames in memory.
pub(crate) struct Frames<'a> {
    bytes: &'a [u8],
    kind: SampleKind,
    endian: Endian,
    channels: usize,
    /// One channel instead of the mix of all.
    pick: Option<usize>,
}

/// Frames per parallel task.
const CHUNK: usize = 1 << 16;

impl<'a> Frames<'a> {
    pub(crate) fn new(bytes: &'a [u8], info: &WavInfo) -> Frames<'a> {
        Frames {
            bytes,
            kind: info.kind,
            endian: info.endian,
            channels: usize::from(info.channels).max(1),
            pick: None,
        }
    }

    /// The same frames, yielding channel `k` alone (`k` < channels,
    /// checked by the caller).
    pub(crate) fn channel(mut self, k: usize) -> Frames<'a> {
        debug_assert!(k < self.channels);
        self.pick = Some(k);
        self
    }

    fn block(&self) -> usize {
        self.kind.bytes() * self.channels
    }

    /// Whole frames in the bytes.
    pub(crate) fn frames(&self) -> usize {
        self.bytes.len() / self.block()
    }

    /// Mono samples `start..start + out.len()`; zero past the end, for any
    /// `start` (never slices past the bytes).
    pub(crate) fn fill(&self, start: usize, out: &mut [f32]) {
        let have = self.frames().saturating_sub(start).min(out.len());
        let (data, pad) = out.split_at_mut(have);
        pad.fill(0.0);
        if have == 0 {
            return;
        }
        let block = self.block();
        // start < frames here, so neither product overflows or passes the end.
        let src = &self.bytes[start * block..(start + have) * block];
        if have > 2 * CHUNK {
            data.par_chunks_mut(CHUNK)
                .zip(src.par_chunks(CHUNK * block))
                .for_each(|(o, s)| self.mix(s, o));
        } else {
            self.mix(src, data);
        }
    }

    /// Prefetches the bytes of frames `start..start + len` (clamped).
    pub(crate) fn prefetch(&self, start: usize, len: usize) {
        let frames = self.frames();
        let (a, b) = (start.min(frames), start.saturating_add(len).min(frames));
        let block = self.block();
        super::prefetch_bytes(&self.bytes[a * block..b * block]);
    }

    fn mix(&self, src: &[u8], out: &mut [f32]) {
        let c = self.channels;
        if let Some(k) = self.pick {
            return self.pick_into(src, out, k);
        }
        match (self.kind, self.endian, c) {
            // The common cases, written out so the compiler vectorises them.
            (SampleKind::I16, Endian::Little, 2) => {
                for (o, f) in out.iter_mut().zip(src.chunks_exact(4)) {
                    let l = i16::from_le_bytes([f[0], f[1]]);
                    let r = i16::from_le_bytes([f[2], f[3]]);
                    *o = (f32::from(l) + f32::from(r)) * (0.5 / 32768.0);
                }
            }
            (SampleKind::I16, Endian::Little, 1) => {
                for (o, f) in out.iter_mut().zip(src.chunks_exact(2)) {
                    *o = f32::from(i16::from_le_bytes([f[0], f[1]])) * (1.0 / 32768.0);
                }
            }
            (SampleKind::U8, _, _) => mix_with(src, out, 1, c, |s| {
                (f32::from(s[0]) - 128.0) * (1.0 / 128.0)
            }),
            (SampleKind::F32, Endian::Little, _) => mix_with(src, out, 4, c, |s| {
                f32::from_le_bytes([s[0], s[1], s[2], s[3]])
            }),
            (SampleKind::F32, Endian::Big, _) => mix_with(src, out, 4, c, |s| {
                f32::from_be_bytes([s[0], s[1], s[2], s[3]])
            }),
            (SampleKind::F64, Endian::Little, _) => mix_with(src, out, 8, c, |s| {
                f64::from_le_bytes(s.try_into().expect("8 bytes")) as f32
            }),
            (SampleKind::F64, Endian::Big, _) => mix_with(src, out, 8, c, |s| {
                f64::from_be_bytes(s.try_into().expect("8 bytes")) as f32
            }),
            (kind, Endian::Little, _) => {
                let b = kind.bytes();
                mix_with(src, out, b, c, |s| int_le(s, b))
            }
            (kind, Endian::Big, _) => {
                let b = kind.bytes();
                mix_with(src, out, b, c, |s| int_be(s, b))
            }
        }
    }
}

impl Frames<'_> {
    /// Channel `k` of each frame.
    fn pick_into(&self, src: &[u8], out: &mut [f32], k: usize) {
        let c = self.channels;
        let b = self.kind.bytes();
        let at = |f: &[u8]| -> [u8; 8] {
            let mut v = [0u8; 8];
            v[..b].copy_from_slice(&f[k * b..(k + 1) * b]);
            v
        };
        let frames = src.chunks_exact(b * c);
        match (self.kind, self.endian) {
            (SampleKind::U8, _) => out
                .iter_mut()
                .zip(frames)
                .for_each(|(o, f)| *o = (f32::from(f[k]) - 128.0) * (1.0 / 128.0)),
            (SampleKind::F32, e) => out.iter_mut().zip(frames).for_each(|(o, f)| {
                let v = at(f);
                let x = [v[0], v[1], v[2], v[3]];
                *o = match e {
                    Endian::Little => f32::from_le_bytes(x),
                    Endian::Big => f32::from_be_bytes(x),
                }
            }),
            (SampleKind::F64, e) => out.iter_mut().zip(frames).for_each(|(o, f)| {
                let v = at(f);
                *o = match e {
                    Endian::Little => f64::from_le_bytes(v),
                    Endian::Big => f64::from_be_bytes(v),
                } as f32
            }),
            (_, Endian::Little) => out
                .iter_mut()
                .zip(frames)
                .for_each(|(o, f)| *o = int_le(&f[k * b..], b)),
            (_, Endian::Big) => out
                .iter_mut()
                .zip(frames)
                .for_each(|(o, f)| *o = int_be(&f[k * b..], b)),
        }
    }
}

/// Mixes frames of `c` samples of `b` bytes each, decoded by `decode`.
#[inline(always)]
fn mix_with(src: &[u8], out: &mut [f32], b: usize, c: usize, decode: impl Fn(&[u8]) -> f32) {
    let scale = 1.0 / c as f32;
    for (o, f) in out.iter_mut().zip(src.chunks_exact(b * c)) {
        let sum: f32 = f.chunks_exact(b).map(&decode).sum();
        *o = sum * scale;
    }
}

/// 2^-63: the full scale of a signed integer in the top of an `i64`.
const FULL: f32 = 1.0 / 9_223_372_036_854_775_808.0;

/// A little-endian signed integer of `b` (1–8) bytes, scaled to its container.
#[inline(always)]
fn int_le(s: &[u8], b: usize) -> f32 {
    let mut v = [0u8; 8];
    v[8 - b..].copy_from_slice(&s[..b]);
    i64::from_le_bytes(v) as f32 * FULL
}

/// A big-endian signed integer of `b` (1–8) bytes, scaled to its container.
#[inline(always)]
fn int_be(s: &[u8], b: usize) -> f32 {
    let mut v = [0u8; 8];
    v[..b].copy_from_slice(&s[..b]);
    i64::from_be_bytes(v) as f32 * FULL
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8], kind: SampleKind, endian: Endian, channels: usize) -> Frames<'_> {
        Frames {
            bytes,
            kind,
            endian,
            channels,
            pick: None,
        }
    }

    #[test]
    fn picks_one_channel_of_every_kind() {
        // Three channels; channel k of frame i holds (i + 1) * (k + 1) / 8.
        for kind in [
            SampleKind::U8,
            SampleKind::I16,
            SampleKind::I24,
            SampleKind::I32,
            SampleKind::I64,
            SampleKind::F32,
            SampleKind::F64,
        ] {
            for endian in [Endian::Little, Endian::Big] {
                let b = kind.bytes();
                let mut bytes = Vec::new();
                for i in 0..4 {
                    for k in 0..3 {
                        let x = ((i + 1) * (k + 1)) as f64 / 16.0;
                        let mut v = match kind {
                            SampleKind::U8 => vec![(128.0 + x * 128.0) as u8],
                            SampleKind::F32 => (x as f32).to_be_bytes().to_vec(),
                            SampleKind::F64 => x.to_be_bytes().to_vec(),
                            _ => {
                                let q = (x * 2f64.powi(8 * b as i32 - 1)) as i64;
                                q.to_be_bytes()[8 - b..].to_vec()
                            }
                        };
                        if endian == Endian::Little {
                            v.reverse();
                        }
                        bytes.extend(v);
                    }
                }
                for k in 0..3 {
                    let mut f = frames(&bytes, kind, endian, 3);
                    f.pick = Some(k);
                    let mut out = [9.0f32; 5];
                    f.fill(0, &mut out);
                    for (i, &o) in out.iter().enumerate() {
                        let want = if i < 4 {
                            ((i + 1) * (k + 1)) as f32 / 16.0
                        } else {
                            0.0
                        };
                        assert_eq!(o, want, "{kind:?} {endian:?} channel {k} frame {i}");
                    }
                }
            }
        }
    }

    fn one(kind: SampleKind, endian: Endian, s: &[u8]) -> f32 {
        let mut out = [9.0f32];
        frames(s, kind, endian, 1).fill(0, &mut out);
        out[0]
    }

    #[test]
    fn decodes_every_kind_at_full_scale() {
        use Endian::{Big, Little};
        assert_eq!(one(SampleKind::U8, Little, &[128]), 0.0);
        assert_eq!(one(SampleKind::U8, Big, &[0]), -1.0);
        assert_eq!(
            one(SampleKind::I16, Little, &(-16384i16).to_le_bytes()),
            -0.5
        );
        assert_eq!(one(SampleKind::I16, Big, &(-16384i16).to_be_bytes()), -0.5);
        let v = (-4_194_304i32).to_le_bytes(); // -0.5 in 24 bits
        assert_eq!(one(SampleKind::I24, Little, &v[..3]), -0.5);
        let v = (-4_194_304i32).to_be_bytes();
        assert_eq!(one(SampleKind::I24, Big, &v[1..]), -0.5);
        assert_eq!(
            one(SampleKind::I32, Little, &(1i32 << 30).to_le_bytes()),
            0.5
        );
        assert_eq!(
            one(SampleKind::I64, Big, &(-1i64 << 62).to_be_bytes()),
            -0.5
        );
        let v = (1i64 << 38).to_le_bytes(); // 0.5 in 40 bits
        assert_eq!(one(SampleKind::I40, Little, &v[..5]), 0.5);
        assert_eq!(one(SampleKind::F32, Big, &0.25f32.to_be_bytes()), 0.25);
        assert_eq!(
            one(SampleKind::F64, Little, &(-0.75f64).to_le_bytes()),
            -0.75
        );
    }

    #[test]
    fn mixes_channels_to_their_mean() {
        let mut bytes = Vec::new();
        for (l, r) in [(16384i16, 0i16), (-32768, 32767)] {
            bytes.extend_from_slice(&l.to_le_bytes());
            bytes.extend_from_slice(&r.to_le_bytes());
        }
        let f = frames(&bytes, SampleKind::I16, Endian::Little, 2);
        let mut out = [0f32; 3];
        f.fill(0, &mut out);
        assert_eq!(out[0], 0.25);
        assert!((out[1] - (-0.5 / 32768.0)).abs() < 1e-9);
        assert_eq!(out[2], 0.0);
    }

    #[test]
    fn fill_past_the_end_is_zero_and_never_slices_out_of_range() {
        let bytes = [0x00u8, 0x40, 0x00, 0x40]; // two mono I16 frames of 0.5
        let f = frames(&bytes, SampleKind::I16, Endian::Little, 1);
        for start in [0, 1, 2, 3, 1000, usize::MAX / 2, usize::MAX] {
            for len in [0, 1, 2, 5] {
                let mut out = vec![7.0f32; len];
                f.fill(start, &mut out);
                let want: Vec<f32> = (0..len)
                    .map(|i| {
                        if start.checked_add(i).is_some_and(|k| k < 2) {
                            0.5
                        } else {
                            0.0
                        }
                    })
                    .collect();
                assert_eq!(out, want, "start {start} len {len}");
            }
        }
    }
}
