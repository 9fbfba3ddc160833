//! Reading WAV files: hound validates the header and the sample format, then
//! the data chunk is read (or memory-mapped) and mixed to mono `f32`.
//!
//! Every error names the file ([`Error`]). Nothing is allocated from a size
//! the header announces before that size has been checked against the file's
//! real length, so a hostile header cannot make us allocate gigabytes.
//!
//! Samples are scaled to [-1, 1) (full scale of their integer type) and the
//! mono signal is the mean of all channels — the book's `sum(axis=1) / 2`
//! for stereo, generalised to any channel count.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use rayon::prelude::*;

use crate::Error;

/// How one sample is stored in the data chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// 8-bit unsigned integer (offset 128).
    U8,
    /// 16-bit signed little-endian.
    I16,
    /// 24-bit signed little-endian, packed in 3 bytes.
    I24,
    /// 32-bit signed little-endian (also 24 valid bits left-justified in 4 bytes).
    I32,
    /// 32-bit IEEE float.
    F32,
}

impl SampleKind {
    /// Bytes one sample occupies.
    pub fn bytes(self) -> usize {
        match self {
            SampleKind::U8 => 1,
            SampleKind::I16 => 2,
            SampleKind::I24 => 3,
            SampleKind::I32 | SampleKind::F32 => 4,
        }
    }
}

/// What the header of a WAV file says, checked against the file.
#[derive(Debug, Clone, PartialEq)]
pub struct WavInfo {
    /// The file.
    pub path: PathBuf,
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels per frame.
    pub channels: u16,
    /// Valid bits per sample.
    pub bits: u16,
    /// How samples are stored.
    pub kind: SampleKind,
    /// Frames in the data chunk.
    pub frames: u64,
    /// Where the data chunk's samples start in the file.
    pub data_offset: u64,
    /// Bytes of samples (frames × channels × bytes per sample).
    pub data_len: u64,
}

impl WavInfo {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }

    /// Bytes per frame.
    pub fn block_align(&self) -> usize {
        self.kind.bytes() * usize::from(self.channels)
    }
}

/// A mono signal and where it came from.
#[derive(Debug, Clone)]
pub struct MonoSignal {
    /// The header it was read from.
    pub info: WavInfo,
    /// Frames per second.
    pub sample_rate: u32,
    /// One `f32` per frame: the mean of the channels, in [-1, 1).
    pub samples: Vec<f32>,
}

/// Reads and checks the header of `path`: format, channels, rate, where the
/// samples are and how many there are.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] when it is
/// not a WAV file or its header is malformed; [`Error::Unsupported`] for
/// compressed or unusual sample formats; [`Error::Truncated`] when the data
/// chunk claims more bytes than the file has; [`Error::Empty`] with no frames.
pub fn probe(path: &Path) -> Result<WavInfo, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let reader = hound::WavReader::new(BufReader::new(&file)).map_err(|e| hound_error(path, e))?;
    let spec = reader.spec();
    let mut inner = reader.into_inner();
    let hound_offset = inner.stream_position().map_err(|e| Error::io(path, e))?;
    let layout = walk_chunks(&mut inner, path, file_len)?;
    if layout.data_offset != hound_offset {
        return Err(Error::format(
            path,
            format!(
                "inconsistent chunk layout (data at byte {} or {hound_offset})",
                layout.data_offset
            ),
        ));
    }
    if spec.channels == 0 || layout.block_align == 0 || layout.block_align % spec.channels != 0 {
        return Err(Error::format(
            path,
            "inconsistent block alignment in the fmt chunk",
        ));
    }
    let container = layout.block_align / spec.channels;
    let kind = match (spec.sample_format, spec.bits_per_sample, container) {
        (hound::SampleFormat::Int, 8, 1) => SampleKind::U8,
        (hound::SampleFormat::Int, 16, 2) => SampleKind::I16,
        (hound::SampleFormat::Int, 24, 3) => SampleKind::I24,
        (hound::SampleFormat::Int, 17..=32, 4) => SampleKind::I32,
        (hound::SampleFormat::Float, 32, 4) => SampleKind::F32,
        (fmt, bits, bytes) => {
            return Err(Error::Unsupported {
                path: path.into(),
                what: format!("{fmt:?} samples of {bits} bits in {bytes} bytes"),
            });
        }
    };
    if spec.sample_rate == 0 {
        return Err(Error::format(path, "sample rate is 0"));
    }
    let present = file_len.saturating_sub(layout.data_offset);
    if layout.data_len > present {
        return Err(Error::Truncated {
            path: path.into(),
            claimed: layout.data_len,
            present,
        });
    }
    let block = u64::from(layout.block_align);
    let frames = layout.data_len / block;
    if frames == 0 {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(WavInfo {
        path: path.into(),
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits: spec.bits_per_sample,
        kind,
        frames,
        data_offset: layout.data_offset,
        data_len: frames * block,
    })
}

fn hound_error(path: &Path, e: hound::Error) -> Error {
    match e {
        // hound reports a short header as a custom "Failed to read enough bytes".
        hound::Error::IoError(io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof
                || io.to_string().contains("read enough bytes") =>
        {
            Error::format(path, "the file ends inside the header")
        }
        hound::Error::IoError(io) => Error::io(path, io),
        hound::Error::FormatError(msg) => Error::format(path, msg),
        hound::Error::Unsupported => Error::Unsupported {
            path: path.into(),
            what: "a compressed or unknown format tag (only PCM and IEEE float are read)".into(),
        },
        hound::Error::TooWide => Error::Unsupported {
            path: path.into(),
            what: "samples wider than 32 bits".into(),
        },
        other => Error::format(path, other.to_string()),
    }
}

struct Layout {
    block_align: u16,
    data_offset: u64,
    data_len: u64,
}

/// Walks the RIFF chunks (hound already validated them) to find the block
/// alignment and where the data chunk starts. Reads only headers.
fn walk_chunks<R: Read + Seek>(r: &mut R, path: &Path, file_len: u64) -> Result<Layout, Error> {
    let eof = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::format(path, "the file ends inside the header")
        } else {
            Error::io(path, e)
        }
    };
    r.seek(SeekFrom::Start(12))
        .map_err(|e| Error::io(path, e))?;
    let mut pos = 12u64;
    let mut block_align = None;
    loop {
        let mut head = [0u8; 8];
        r.read_exact(&mut head).map_err(eof)?;
        let len = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
        let body = pos + 8;
        match &head[..4] {
            b"fmt " => {
                let mut fmt = [0u8; 16];
                r.read_exact(&mut fmt).map_err(eof)?;
                block_align = Some(u16::from_le_bytes([fmt[12], fmt[13]]));
            }
            b"data" => {
                let block_align =
                    block_align.ok_or_else(|| Error::format(path, "missing fmt chunk"))?;
                return Ok(Layout {
                    block_align,
                    data_offset: body,
                    data_len: len,
                });
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        pos = body + len + (len & 1);
        if pos >= file_len {
            return Err(Error::format(path, "no data chunk"));
        }
        r.seek(SeekFrom::Start(pos))
            .map_err(|e| Error::io(path, e))?;
    }
}

/// The book's first stage: reads the data chunk into memory as it is stored
/// (interleaved channels), without converting it.
///
/// # Errors
/// As [`probe`], plus read errors.
pub fn read_data(path: &Path) -> Result<(WavInfo, Vec<u8>), Error> {
    let info = probe(path)?;
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(info.data_offset))
        .map_err(|e| Error::io(path, e))?;
    // Safe to allocate: probe checked data_len against the file's length.
    let len = usize::try_from(info.data_len).map_err(|_| Error::format(path, "too large"))?;
    let mut bytes = vec![0u8; len];
    file.read_exact(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok((info, bytes))
}

/// The book's second stage: mixes interleaved frames (as read by
/// [`read_data`]) to one mono `f32` per frame, in parallel.
pub fn mix_to_mono(info: &WavInfo, bytes: &[u8]) -> Vec<f32> {
    let frames = bytes.len() / info.block_align();
    let mut out = vec![0f32; frames];
    let frames_src = Frames {
        bytes: &bytes[..frames * info.block_align()],
        kind: info.kind,
        channels: usize::from(info.channels),
    };
    frames_src.fill(0, &mut out);
    out
}

/// Reads a WAV file as a mono signal: maps the data chunk and mixes while
/// converting, in parallel — one pass over the file.
///
/// # Errors
/// As [`probe`].
pub fn load_mono(path: &Path) -> Result<MonoSignal, Error> {
    let mapped = MappedWav::open(path)?;
    let mut samples = vec![0f32; mapped.len()];
    mapped.fill(0, &mut samples);
    Ok(MonoSignal {
        sample_rate: mapped.info.sample_rate,
        info: mapped.info,
        samples,
    })
}

/// Anything that yields a mono signal in pieces: a loaded `Vec<f32>` or the
/// memory-mapped frames of a WAV file, mixed on the fly.
pub trait MonoSource: Sync + Send {
    /// Number of mono samples.
    fn len(&self) -> usize;

    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes samples `start..start + out.len()` into `out`; samples past the
    /// end are zero (zero padding). Large requests are split over threads.
    fn fill(&self, start: usize, out: &mut [f32]);

    /// The source's own memory, when it has some a computation may reuse
    /// once it has read everything (a loaded signal does; a map does not).
    fn into_vec(self) -> Option<Vec<f32>>
    where
        Self: Sized,
    {
        None
    }
}

impl MonoSource for Vec<f32> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn fill(&self, start: usize, out: &mut [f32]) {
        let have = self.as_slice().len().saturating_sub(start).min(out.len());
        if have > 0 {
            out[..have].copy_from_slice(&self[start..start + have]);
        }
        out[have..].fill(0.0);
    }

    fn into_vec(self) -> Option<Vec<f32>> {
        Some(self)
    }
}

/// A WAV file whose data chunk is memory-mapped: samples are decoded and
/// mixed only when asked for, straight from the page cache.
#[derive(Debug)]
pub struct MappedWav {
    /// The header.
    pub info: WavInfo,
    map: Mmap,
}

impl MappedWav {
    /// Maps the data chunk of `path`.
    ///
    /// # Errors
    /// As [`probe`], or when the file cannot be mapped.
    pub fn open(path: &Path) -> Result<MappedWav, Error> {
        let info = probe(path)?;
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is read-only and private to this process. Like every
        // file map, its contents could change if another process wrote to the
        // file meanwhile; we only read bytes (any value is a valid u8), and the
        // range used below was checked against the file's length.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(info.data_offset)
                .len(info.data_len as usize)
                .map(&file)
        }
        .map_err(|e| Error::io(path, e))?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(MappedWav { info, map })
    }

    fn frames(&self) -> Frames<'_> {
        Frames {
            bytes: &self.map,
            kind: self.info.kind,
            channels: usize::from(self.info.channels),
        }
    }
}

impl MonoSource for MappedWav {
    fn len(&self) -> usize {
        self.info.frames as usize
    }

    fn fill(&self, start: usize, out: &mut [f32]) {
        self.frames().fill(start, out);
    }
}

/// Interleaved frames in memory.
struct Frames<'a> {
    bytes: &'a [u8],
    kind: SampleKind,
    channels: usize,
}

/// Frames per parallel task.
const CHUNK: usize = 1 << 16;

impl Frames<'_> {
    fn frames(&self) -> usize {
        self.bytes.len() / (self.kind.bytes() * self.channels)
    }

    fn fill(&self, start: usize, out: &mut [f32]) {
        let have = self.frames().saturating_sub(start).min(out.len());
        let block = self.kind.bytes() * self.channels;
        let src = &self.bytes[start * block..(start + have) * block];
        let (data, pad) = out.split_at_mut(have);
        pad.fill(0.0);
        if have > 2 * CHUNK {
            data.par_chunks_mut(CHUNK)
                .zip(src.par_chunks(CHUNK * block))
                .for_each(|(o, s)| self.mix(s, o));
        } else {
            self.mix(src, data);
        }
    }

    fn mix(&self, src: &[u8], out: &mut [f32]) {
        let c = self.channels;
        match (self.kind, c) {
            // The common case, written out so the compiler vectorises it.
            (SampleKind::I16, 2) => {
                for (o, f) in out.iter_mut().zip(src.chunks_exact(4)) {
                    let l = i16::from_le_bytes([f[0], f[1]]);
                    let r = i16::from_le_bytes([f[2], f[3]]);
                    *o = (f32::from(l) + f32::from(r)) * (0.5 / 32768.0);
                }
            }
            (SampleKind::I16, 1) => {
                for (o, f) in out.iter_mut().zip(src.chunks_exact(2)) {
                    *o = f32::from(i16::from_le_bytes([f[0], f[1]])) * (1.0 / 32768.0);
                }
            }
            (kind, _) => {
                let b = kind.bytes();
                let scale = 1.0 / c as f32;
                for (o, f) in out.iter_mut().zip(src.chunks_exact(b * c)) {
                    let sum: f32 = f.chunks_exact(b).map(|s| decode(kind, s)).sum();
                    *o = sum * scale;
                }
            }
        }
    }
}

fn decode(kind: SampleKind, s: &[u8]) -> f32 {
    match kind {
        SampleKind::U8 => (f32::from(s[0]) - 128.0) / 128.0,
        SampleKind::I16 => f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0,
        SampleKind::I24 => (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0,
        SampleKind::I32 => i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f32 / 2_147_483_648.0,
        SampleKind::F32 => f32::from_le_bytes([s[0], s[1], s[2], s[3]]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_kind() {
        assert_eq!(decode(SampleKind::U8, &[128]), 0.0);
        assert_eq!(decode(SampleKind::U8, &[0]), -1.0);
        assert_eq!(decode(SampleKind::I16, &(-16384i16).to_le_bytes()), -0.5);
        let v = (-4_194_304i32).to_le_bytes(); // -0.5 in 24 bits
        assert_eq!(decode(SampleKind::I24, &v[..3]), -0.5);
        assert_eq!(decode(SampleKind::I32, &(1i32 << 30).to_le_bytes()), 0.5);
        assert_eq!(decode(SampleKind::F32, &0.25f32.to_le_bytes()), 0.25);
    }

    #[test]
    fn vec_source_pads_with_zeros() {
        let v = vec![1.0f32, 2.0, 3.0];
        let mut out = [9.0f32; 4];
        v.fill(1, &mut out);
        assert_eq!(out, [2.0, 3.0, 0.0, 0.0]);
        v.fill(7, &mut out);
        assert_eq!(out, [0.0; 4]);
    }

    #[test]
    fn mixes_channels_to_their_mean() {
        let mut bytes = Vec::new();
        for (l, r) in [(16384i16, 0i16), (-32768, 32767)] {
            bytes.extend_from_slice(&l.to_le_bytes());
            bytes.extend_from_slice(&r.to_le_bytes());
        }
        let f = Frames {
            bytes: &bytes,
            kind: SampleKind::I16,
            channels: 2,
        };
        let mut out = [0f32; 3];
        f.fill(0, &mut out);
        assert_eq!(out[0], 0.25);
        assert!((out[1] - (-0.5 / 32768.0)).abs() < 1e-9);
        assert_eq!(out[2], 0.0);
    }
}
