//! Byte-by-byte WAV builders and an independent reference decoder, shared by the WAV tests.

#![allow(dead_code)]

/// Which container to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Box64 {
    /// RIFF (little-endian).
    Riff,
    /// RIFX (big-endian).
    Rifx,
    /// RF64 with a ds64 chunk.
    Rf64,
    /// BW64 with a ds64 chunk.
    Bw64,
}

/// A WAV file's description for [`build`].
#[derive(Debug, Clone)]
pub struct Spec {
    pub container: Box64,
    pub tag: u16,
    /// Some(valid bits, sub-format tag) writes an EXTENSIBLE fmt chunk.
    pub ext: Option<(u16, u16)>,
    pub channels: u16,
    pub rate: u32,
    /// Container bytes per sample.
    pub bytes: u16,
    /// wBitsPerSample.
    pub bits: u16,
    /// Chunks written before fmt, between fmt and data, and after data.
    pub before: Vec<([u8; 4], Vec<u8>)>,
    pub between: Vec<([u8; 4], Vec<u8>)>,
    pub after: Vec<([u8; 4], Vec<u8>)>,
}

impl Spec {
    pub fn pcm(container: Box64, channels: u16, bytes: u16) -> Spec {
        Spec {
            container,
            tag: 1,
            ext: None,
            channels,
            rate: 8000,
            bytes,
            bits: bytes * 8,
            before: vec![],
            between: vec![],
            after: vec![],
        }
    }

    pub fn big(&self) -> bool {
        self.container == Box64::Rifx
    }
}

fn u16b(big: bool, v: u16) -> [u8; 2] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn u32b(big: bool, v: u32) -> [u8; 4] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn chunk(out: &mut Vec<u8>, big: bool, id: &[u8; 4], body: &[u8], size: u32) {
    out.extend_from_slice(id);
    out.extend_from_slice(&u32b(big, size));
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
}

/// The fmt chunk's body.
pub fn fmt_body(s: &Spec) -> Vec<u8> {
    let big = s.big();
    let block = s.channels * s.bytes;
    let mut f = Vec::new();
    f.extend_from_slice(&u16b(big, if s.ext.is_some() { 0xFFFE } else { s.tag }));
    f.extend_from_slice(&u16b(big, s.channels));
    f.extend_from_slice(&u32b(big, s.rate));
    f.extend_from_slice(&u32b(big, s.rate.wrapping_mul(u32::from(block))));
    f.extend_from_slice(&u16b(big, block));
    f.extend_from_slice(&u16b(big, s.bits));
    if let Some((valid, sub)) = s.ext {
        f.extend_from_slice(&u16b(big, 22));
        f.extend_from_slice(&u16b(big, valid));
        f.extend_from_slice(&u32b(big, 0));
        f.extend_from_slice(&u32b(big, u32::from(sub)));
        f.extend_from_slice(&[
            0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    f
}

/// A whole file: header chunks and `data` (already encoded samples).
pub fn build(s: &Spec, data: &[u8]) -> Vec<u8> {
    let big = s.big();
    let is64 = matches!(s.container, Box64::Rf64 | Box64::Bw64);
    let mut body = Vec::new();
    if is64 {
        let mut ds = Vec::new();
        ds.extend_from_slice(&0u64.to_le_bytes()); // RIFF size: patched below
        ds.extend_from_slice(&(data.len() as u64).to_le_bytes());
        let block = u64::from(s.channels * s.bytes).max(1);
        ds.extend_from_slice(&(data.len() as u64 / block).to_le_bytes());
        ds.extend_from_slice(&0u32.to_le_bytes());
        chunk(&mut body, big, b"ds64", &ds, ds.len() as u32);
    }
    for (id, b) in &s.before {
        chunk(&mut body, big, id, b, b.len() as u32);
    }
    let f = fmt_body(s);
    chunk(&mut body, big, b"fmt ", &f, f.len() as u32);
    for (id, b) in &s.between {
        chunk(&mut body, big, id, b, b.len() as u32);
    }
    let size = if is64 { u32::MAX } else { data.len() as u32 };
    chunk(&mut body, big, b"data", data, size);
    for (id, b) in &s.after {
        chunk(&mut body, big, id, b, b.len() as u32);
    }
    let mut out = Vec::new();
    out.extend_from_slice(match s.container {
        Box64::Riff => b"RIFF",
        Box64::Rifx => b"RIFX",
        Box64::Rf64 => b"RF64",
        Box64::Bw64 => b"BW64",
    });
    let riff = 4 + body.len() as u64;
    out.extend_from_slice(&u32b(big, if is64 { u32::MAX } else { riff as u32 }));
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(&body);
    if is64 {
        out[20..28].copy_from_slice(&riff.to_le_bytes());
    }
    out
}

/// Encodes integer samples `v` (each within `valid` bits, signed) left-justified
/// in `bytes`-byte containers; 1-byte containers are unsigned (offset 128).
pub fn encode_int(v: &[i64], valid: u16, bytes: u16, big: bool) -> Vec<u8> {
    let shift = u32::from(bytes) * 8 - u32::from(valid);
    let mut out = Vec::new();
    for &x in v {
        let mut w = (i128::from(x) << shift) as i64;
        if bytes == 1 {
            w += 128;
        }
        let le = w.to_le_bytes();
        let mut s = le[..usize::from(bytes)].to_vec();
        if big {
            s.reverse();
        }
        out.extend_from_slice(&s);
    }
    out
}

/// Quantises `x` in [-1, 1) to a signed integer of `valid` bits.
pub fn quantise(x: f64, valid: u16) -> i64 {
    let full = 2f64.powi(i32::from(valid) - 1);
    (x * full).round().clamp(-full, full - 1.0) as i64
}

/// The reference decoder: written independently of the crate (i128 and f64),
/// from the WAV rules: integers scaled by 2^(8·bytes−1), 1-byte unsigned,
/// floats as stored, channels averaged.
pub fn reference_mono(
    data: &[u8],
    channels: usize,
    bytes: usize,
    float: bool,
    big: bool,
) -> Vec<f64> {
    let block = channels * bytes;
    data.chunks_exact(block)
        .map(|f| {
            let sum: f64 = f
                .chunks_exact(bytes)
                .map(|s| {
                    let mut le: Vec<u8> = s.to_vec();
                    if big {
                        le.reverse();
                    }
                    if float {
                        if bytes == 4 {
                            f64::from(f32::from_le_bytes(le.try_into().unwrap()))
                        } else {
                            f64::from_le_bytes(le.try_into().unwrap())
                        }
                    } else if bytes == 1 {
                        (f64::from(le[0]) - 128.0) / 128.0
                    } else {
                        let mut u: i128 = 0;
                        for (i, b) in le.iter().enumerate() {
                            u |= i128::from(*b) << (8 * i);
                        }
                        let bits = 8 * bytes as u32;
                        if u >> (bits - 1) & 1 == 1 {
                            u -= 1i128 << bits;
                        }
                        u as f64 / 2f64.powi(bits as i32 - 1)
                    }
                })
                .sum();
            sum / channels as f64
        })
        .collect()
}
