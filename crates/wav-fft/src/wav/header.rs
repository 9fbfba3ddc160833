//! The one chunk walker: finds and checks `fmt ` and `data` in RIFF, RIFX, RF64 and BW64 files.
//!
//! It reads through [`ReadAt`], so the same code parses a file (a few small
//! reads) and a byte slice (for tests and fuzzing). It never allocates from
//! a size found in the file: the `fmt ` chunk is read into a fixed buffer and
//! every other chunk is skipped by position, which only grows, so the walk
//! ends for any input.

use std::io;
use std::path::Path;

use super::{Container, Endian, ReadOptions, SampleKind, WavInfo};
use crate::Error;
use crate::error::{FormatProblem, Unsupported};

/// Random-access reads from a file or a byte slice.
pub(crate) trait ReadAt {
    /// Total length in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from `offset`; returns how many bytes were there (fewer at the end).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

impl ReadAt for &[u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// A file and its length.
pub(crate) struct FileAt {
    pub(crate) file: std::fs::File,
    pub(crate) len: u64,
}

impl ReadAt for FileAt {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        use std::io::{Read, Seek, SeekFrom};
        self.file.seek(SeekFrom::Start(offset))?;
        let mut done = 0;
        while done < buf.len() {
            match self.file.read(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// Most chunks a header may have before its data (a real file has a handful;
/// the bound keeps a file made of millions of empty chunks from taking minutes).
const MAX_CHUNKS: usize = 10_000;

/// The `fmt ` chunk, as far as this reader needs it (40 bytes cover EXTENSIBLE).
struct Fmt {
    tag: u16,
    channels: u16,
    sample_rate: u32,
    block_align: u16,
    bits: u16,
    /// EXTENSIBLE only: valid bits and the sub-format's tag.
    ext: Option<(u16, u16)>,
}

/// The name of a format tag a reader may meet, for error messages.
pub(crate) fn tag_name(tag: u16) -> Option<&'static str> {
    Some(match tag {
        0x0001 => "PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x0161..=0x0163 => "Windows Media Audio",
        0xFFFE => "EXTENSIBLE",
        _ => return None,
    })
}

/// Walks the chunks of `src` and returns the checked header.
pub(crate) fn parse<R: ReadAt>(
    src: &mut R,
    path: &Path,
    opts: &ReadOptions,
) -> Result<WavInfo, Error> {
    let file_len = src.size();
    let format = |problem: FormatProblem| Error::format(path, problem);
    let read = |src: &mut R, at: u64, buf: &mut [u8], part: &'static str| -> Result<(), Error> {
        let n = src.read_at(at, buf).map_err(|e| Error::io(path, e))?;
        if n < buf.len() {
            return Err(Error::format(
                path,
                FormatProblem::EndsInside {
                    part,
                    at: at + n as u64,
                },
            ));
        }
        Ok(())
    };

    let mut head = [0u8; 12];
    let n = src.read_at(0, &mut head).map_err(|e| Error::io(path, e))?;
    if n < 12 {
        return Err(format(FormatProblem::TooShort { bytes: n }));
    }
    let container = match &head[..4] {
        b"RIFF" => Container::Riff,
        b"RIFX" => Container::Rifx,
        b"RF64" => Container::Rf64,
        b"BW64" => Container::Bw64,
        _ => {
            return Err(format(FormatProblem::NotRiff {
                magic: [head[0], head[1], head[2], head[3]],
            }));
        }
    };
    if &head[8..12] != b"WAVE" {
        return Err(format(FormatProblem::NotWave {
            container: container.name(),
            form: [head[8], head[9], head[10], head[11]],
        }));
    }
    let endian = if container == Container::Rifx {
        Endian::Big
    } else {
        Endian::Little
    };
    let u16_at = |b: &[u8], i: usize| endian.u16([b[i], b[i + 1]]);
    let u32_at = |b: &[u8], i: usize| endian.u32([b[i], b[i + 1], b[i + 2], b[i + 3]]);

    let mut pos = 12u64;
    let mut ds64_data: Option<u64> = None;
    let mut fmt: Option<Fmt> = None;
    let mut data: Option<(u64, u64)> = None;
    let mut chunks = 0usize;
    while fmt.is_none() || data.is_none() {
        chunks += 1;
        if chunks > MAX_CHUNKS {
            return Err(format(FormatProblem::TooManyChunks { max: MAX_CHUNKS }));
        }
        if pos.saturating_add(8) > file_len {
            return Err(format(match (&fmt, &data) {
                (None, _) => FormatProblem::NoFmt,
                (Some(_), None) => FormatProblem::NoData,
                _ => unreachable!("the loop ends when both are found"),
            }));
        }
        let mut ch = [0u8; 8];
        read(src, pos, &mut ch, "chunk header")?;
        let id = [ch[0], ch[1], ch[2], ch[3]];
        let size32 = u32_at(&ch, 4);
        let body = pos + 8;
        let mut size = u64::from(size32);
        match &id {
            b"ds64" if container.is_64() && chunks == 1 => {
                let mut b = [0u8; 16];
                read(src, body, &mut b, "ds64 chunk")?;
                // The RIFF size (bytes 0..8) is not needed; the data size is.
                ds64_data = Some(u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")));
            }
            b"fmt " if fmt.is_none() => {
                if size < 16 {
                    return Err(format(FormatProblem::FmtTooShort { size }));
                }
                let mut b = [0u8; 40];
                let want = if size >= 40 { 40 } else { 16 };
                read(src, body, &mut b[..want], "fmt chunk")?;
                let tag = u16_at(&b, 0);
                let ext = if tag == 0xFFFE {
                    if want < 40 || u16_at(&b, 16) < 22 {
                        return Err(format(FormatProblem::ExtensibleTooShort));
                    }
                    let data1 = u32_at(&b, 24);
                    // The GUID's first field is a 32-bit number; some big-endian
                    // writers (sox) store the tag as a 16-bit number instead.
                    let sub = u16::try_from(data1).unwrap_or_else(|_| u16_at(&b, 24));
                    Some((u16_at(&b, 18), sub))
                } else {
                    None
                };
                fmt = Some(Fmt {
                    tag,
                    channels: u16_at(&b, 2),
                    sample_rate: u32_at(&b, 4),
                    block_align: u16_at(&b, 12),
                    bits: u16_at(&b, 14),
                    ext,
                });
            }
            b"data" if data.is_none() => {
                if container.is_64() && size32 == u32::MAX {
                    size = ds64_data.ok_or_else(|| {
                        format(FormatProblem::NoDs64 {
                            container: container.name(),
                        })
                    })?;
                }
                data = Some((body, size));
            }
            _ => {}
        }
        // Chunks are padded to an even length; positions only grow.
        pos = body.saturating_add(size).saturating_add(size & 1);
    }
    let (fmt, (data_offset, announced)) = (fmt.expect("found"), data.expect("found"));
    let (kind, bits) = sample_kind(&fmt, path)?;
    if fmt.channels == 0 {
        return Err(format(FormatProblem::NoChannels));
    }
    if fmt.sample_rate == 0 {
        return Err(format(FormatProblem::ZeroSampleRate));
    }
    let block = kind.bytes() * usize::from(fmt.channels);
    if usize::from(fmt.block_align) != block {
        return Err(format(FormatProblem::BlockAlign {
            block_align: fmt.block_align,
            channels: fmt.channels,
            bytes: kind.bytes(),
        }));
    }
    let present = file_len.saturating_sub(data_offset);
    let data_len = if announced > present {
        if !opts.allow_truncated {
            return Err(Error::Truncated {
                path: path.into(),
                claimed: announced,
                present,
            });
        }
        present
    } else {
        announced
    };
    let block = block as u64;
    let frames = data_len / block;
    if frames == 0 {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(WavInfo {
        path: path.into(),
        sample_rate: fmt.sample_rate,
        channels: fmt.channels,
        bits,
        kind,
        frames,
        data_offset,
        data_len: frames * block,
        container,
        endian,
        announced_len: announced,
        truncated: announced > present,
    })
}

/// The sample kind and valid bits a `fmt ` chunk describes, or why it is refused.
fn sample_kind(fmt: &Fmt, path: &Path) -> Result<(SampleKind, u16), Error> {
    let (tag, valid) = match fmt.ext {
        Some((valid, sub)) => (sub, if valid == 0 { fmt.bits } else { valid }),
        None => (fmt.tag, fmt.bits),
    };
    let refuse = |what: Unsupported| Error::Unsupported {
        path: path.into(),
        what,
    };
    if tag != 1 && tag != 3 {
        return Err(Error::FormatTag {
            path: path.into(),
            tag,
            name: tag_name(tag),
        });
    }
    if fmt.channels == 0 {
        return Err(Error::format(path, FormatProblem::NoChannels));
    }
    // The container is what the block alignment gives each sample.
    let container = usize::from(fmt.block_align) / usize::from(fmt.channels);
    let bytes = usize::from(fmt.bits).div_ceil(8);
    if fmt.bits == 0 || container == 0 || container < bytes || container > 8 {
        return Err(refuse(Unsupported::SampleSize {
            bits: fmt.bits,
            block_align: fmt.block_align,
            channels: fmt.channels,
        }));
    }
    if valid == 0 || usize::from(valid) > 8 * container {
        return Err(refuse(Unsupported::ValidBits { valid, container }));
    }
    let kind = match (tag, container) {
        (1, 1) => SampleKind::U8,
        (1, 2) => SampleKind::I16,
        (1, 3) => SampleKind::I24,
        (1, 4) => SampleKind::I32,
        (1, 5) => SampleKind::I40,
        (1, 6) => SampleKind::I48,
        (1, 7) => SampleKind::I56,
        (1, 8) => SampleKind::I64,
        (3, 4) => SampleKind::F32,
        (3, 8) => SampleKind::F64,
        (_, c) => {
            return Err(refuse(Unsupported::FloatSize { bytes: c }));
        }
    };
    Ok((kind, valid))
}
