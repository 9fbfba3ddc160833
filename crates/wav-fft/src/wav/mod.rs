//! Reading WAV files: one chunk walker for every read path, then the data
//! chunk memory-mapped (or read) and mixed to mono `f32`.
//!
//! Read: `RIFF`, `RIFX` (big-endian) and `RF64`/`BW64` (sizes in a `ds64`
//! chunk) containers; format tags PCM, IEEE float and EXTENSIBLE (its
//! sub-format); integer PCM of 1–64 valid bits in 1–8-byte containers
//! (unsigned in 1 byte, signed otherwise), float of 32 and 64 bits; any
//! number of channels; unknown chunks (`LIST`, `fact`, `bext`, `JUNK`, …)
//! skipped, with their pad byte. Refused with a one-line error naming the
//! tag: µ-law, A-law, ADPCM, MP3 and other compressed formats.
//!
//! Every error names the file ([`Error`]). Nothing is allocated from a size
//! the header announces before that size has been checked against the
//! file's real length, so no input can make this module allocate more than
//! the file holds; the walker's position only grows, so no input hangs it.
//!
//! Samples are scaled by the full scale of their container (an integer in a
//! `b`-byte container is divided by 2^(8b−1); low bits below the valid ones
//! are zero), so the same sound gives the same value at every depth. The
//! mono signal is the mean of all channels — the book's `sum(axis=1) / 2`
//! for stereo, generalised to any channel count.
//!
//! # Examples
//!
//! A file whose data chunk is cut short is refused unless asked for:
//!
//! ```
//! use wav_fft::wav::{self, ReadOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("tones.wav");
//! wav_fft::book::generate::write_test_wav(&path, 0.1, 8_000, &mut |_, _| {}).unwrap();
//! let full = std::fs::read(&path).unwrap();
//! std::fs::write(&path, &full[..full.len() - 10]).unwrap();
//! assert!(wav::load_mono(&path).is_err());
//! let opts = ReadOptions::default().allow_truncated(true);
//! let x = wav::load_mono_with(&path, &opts).unwrap();
//! assert!(x.info.is_truncated());
//! assert_eq!(x.samples.len(), 800 - 3); // the whole frames present
//! ```

mod decode;
mod header;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::Error;
use crate::error::FormatProblem;
use decode::Frames;
use header::FileAt;

/// How one sample is stored in the data chunk (in the file's byte order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SampleKind {
    /// Unsigned integer in 1 byte (offset 128).
    U8,
    /// Signed integer in 2 bytes.
    I16,
    /// Signed integer in 3 bytes.
    I24,
    /// Signed integer in 4 bytes (also 24 valid bits left-justified in 4 bytes).
    I32,
    /// Signed integer in 5 bytes.
    I40,
    /// Signed integer in 6 bytes.
    I48,
    /// Signed integer in 7 bytes.
    I56,
    /// Signed integer in 8 bytes.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
}

impl SampleKind {
    /// Bytes one sample occupies (its container).
    pub fn bytes(self) -> usize {
        match self {
            SampleKind::U8 => 1,
            SampleKind::I16 => 2,
            SampleKind::I24 => 3,
            SampleKind::I32 | SampleKind::F32 => 4,
            SampleKind::I40 => 5,
            SampleKind::I48 => 6,
            SampleKind::I56 => 7,
            SampleKind::I64 | SampleKind::F64 => 8,
        }
    }

    /// True for IEEE float samples.
    pub fn is_float(self) -> bool {
        matches!(self, SampleKind::F32 | SampleKind::F64)
    }
}

/// The byte order of the numbers in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// `RIFF`, `RF64`, `BW64`.
    Little,
    /// `RIFX`.
    Big,
}

impl Endian {
    fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
}

/// The container a WAV file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Container {
    /// Little-endian RIFF, sizes up to 4 GiB.
    Riff,
    /// Big-endian RIFF.
    Rifx,
    /// EBU RF64: 64-bit sizes in a `ds64` chunk.
    Rf64,
    /// ITU BW64: the same layout as RF64.
    Bw64,
}

impl Container {
    /// The four letters the file starts with.
    pub fn name(self) -> &'static str {
        match self {
            Container::Riff => "RIFF",
            Container::Rifx => "RIFX",
            Container::Rf64 => "RF64",
            Container::Bw64 => "BW64",
        }
    }

    fn is_64(self) -> bool {
        matches!(self, Container::Rf64 | Container::Bw64)
    }
}

/// How to read: what to accept beyond a well-formed file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Read the whole frames present when the data chunk announces more
    /// bytes than the file holds (the default refuses such a file with
    /// [`Error::Truncated`]). [`WavInfo::is_truncated`] then says so.
    pub allow_truncated: bool,
}

impl ReadOptions {
    /// Sets [`ReadOptions::allow_truncated`].
    pub fn allow_truncated(mut self, yes: bool) -> Self {
        self.allow_truncated = yes;
        self
    }
}

/// What the header of a WAV file says, checked against the file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WavInfo {
    /// The file.
    pub path: PathBuf,
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels per frame.
    pub channels: u16,
    /// Valid bits per sample (EXTENSIBLE's `wValidBitsPerSample`, else
    /// `wBitsPerSample`).
    pub bits: u16,
    /// How samples are stored.
    pub kind: SampleKind,
    /// Frames read: the whole frames of the data chunk (of the part present,
    /// for a truncated file read with [`ReadOptions::allow_truncated`]).
    pub frames: u64,
    /// Where the data chunk's samples start in the file.
    pub data_offset: u64,
    /// Bytes of samples read (frames × channels × bytes per sample).
    pub data_len: u64,
    /// RIFF, RIFX, RF64 or BW64.
    pub container: Container,
    /// The byte order of the samples.
    pub endian: Endian,
    /// Bytes of audio the data chunk announces (more than `data_len` when the
    /// file is truncated).
    pub announced_len: u64,
    /// True when the data chunk announces more bytes than the file holds
    /// (only possible with [`ReadOptions::allow_truncated`]).
    pub truncated: bool,
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

    /// True when the data chunk announces more bytes than the file holds
    /// (only possible with [`ReadOptions::allow_truncated`]).
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

/// A mono signal and where it came from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MonoSignal {
    /// The header it was read from.
    pub info: WavInfo,
    /// Frames per second.
    pub sample_rate: u32,
    /// One `f32` per frame: the mean of the channels, in [-1, 1].
    pub samples: Vec<f32>,
}

/// Reads and checks the header of `path`: format, channels, rate, where the
/// samples are and how many there are (default [`ReadOptions`]).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] when it is
/// not a WAV file or its header is malformed; [`Error::FormatTag`] for
/// compressed formats (µ-law, A-law, ADPCM, MP3, …); [`Error::Unsupported`]
/// for impossible sample sizes; [`Error::Truncated`] when the data chunk
/// claims more bytes than the file has; [`Error::Empty`] with no frames.
pub fn probe(path: impl AsRef<Path>) -> Result<WavInfo, Error> {
    probe_with(path, &ReadOptions::default())
}

/// [`probe`] with options.
///
/// # Errors
/// As [`probe`].
pub fn probe_with(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<WavInfo, Error> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    header::parse(&mut FileAt { file, len }, path, opts)
}

/// The book's first stage: reads the data chunk into memory as it is stored
/// (interleaved channels), without converting it.
///
/// # Errors
/// As [`probe`], plus read errors.
pub fn read_data(path: impl AsRef<Path>) -> Result<(WavInfo, Vec<u8>), Error> {
    read_data_with(path, &ReadOptions::default())
}

/// [`read_data`] with options.
///
/// # Errors
/// As [`probe`], plus read errors.
pub fn read_data_with(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(WavInfo, Vec<u8>), Error> {
    let path = path.as_ref();
    let info = probe_with(path, opts)?;
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(info.data_offset))
        .map_err(|e| Error::io(path, e))?;
    // Safe to allocate: the walker checked data_len against the file's length.
    let len =
        usize::try_from(info.data_len).map_err(|_| Error::format(path, FormatProblem::TooLarge))?;
    let mut bytes = vec![0u8; len];
    file.read_exact(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok((info, bytes))
}

/// The book's second stage: mixes interleaved frames (as read by
/// [`read_data`]) to one mono `f32` per frame, in parallel. A partial frame
/// at the end of `bytes` is ignored.
pub fn mix_to_mono(info: &WavInfo, bytes: &[u8]) -> Vec<f32> {
    let frames = Frames::new(bytes, info);
    let mut out = vec![0f32; frames.frames()];
    frames.fill(0, &mut out);
    out
}

/// Reads a WAV file as a mono signal: reads the data chunk in blocks of
/// whole frames and mixes each block while converting, in parallel — one
/// pass over the file, with `read(2)` rather than a memory map, so that
/// another process writing or truncating the file meanwhile can only give an
/// error or odd samples, never undefined behaviour (see [`MappedWav::open`]
/// for the mapped path and its contract).
///
/// # Errors
/// As [`probe`], plus read errors (a file that shrank while it was read
/// gives [`Error::Io`] naming it).
pub fn load_mono(path: impl AsRef<Path>) -> Result<MonoSignal, Error> {
    load_mono_with(path, &ReadOptions::default())
}

/// Bytes per read in [`load_mono`]: large enough that the parallel mix of a
/// block outweighs its scheduling, small enough to stay in the caches.
const READ_BLOCK: usize = 8 << 20;

/// [`load_mono`] with options.
///
/// # Errors
/// As [`load_mono`].
pub fn load_mono_with(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<MonoSignal, Error> {
    load_with(path.as_ref(), opts, None)
}

/// Reads channel `channel` (0-based: 0 is the left of a stereo file) of a
/// WAV file alone, as [`load_mono`] reads the mix: `samples` holds that
/// channel's samples, nothing mixed.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("t.wav");
/// wav_fft::book::generate::write_test_wav(&path, 0.01, 8_000, &mut |_, _| {}).unwrap();
/// let mono = wav_fft::wav::load_mono(&path).unwrap();
/// let l = wav_fft::wav::load_channel(&path, 0).unwrap();
/// let r = wav_fft::wav::load_channel(&path, 1).unwrap();
/// for i in 0..80 {
///     assert!((mono.samples[i] - (l.samples[i] + r.samples[i]) / 2.0).abs() < 1e-6);
/// }
/// let e = wav_fft::wav::load_channel(&path, 2).unwrap_err();
/// assert!(e.to_string().ends_with("no channel 2: the file has 2 (0 to 1)"), "{e}");
/// ```
///
/// # Errors
/// As [`load_mono`]; [`Error::Channel`] when the file has no such channel.
pub fn load_channel(path: impl AsRef<Path>, channel: usize) -> Result<MonoSignal, Error> {
    load_channel_with(path, channel, &ReadOptions::default())
}

/// [`load_channel`] with options.
///
/// # Errors
/// As [`load_channel`].
pub fn load_channel_with(
    path: impl AsRef<Path>,
    channel: usize,
    opts: &ReadOptions,
) -> Result<MonoSignal, Error> {
    load_with(path.as_ref(), opts, Some(channel))
}

fn check_channel(info: &WavInfo, channel: usize) -> Result<(), Error> {
    if channel >= usize::from(info.channels) {
        return Err(Error::Channel {
            path: info.path.clone(),
            channel,
            channels: info.channels,
        });
    }
    Ok(())
}

fn frames_of<'a>(bytes: &'a [u8], info: &WavInfo, pick: Option<usize>) -> Frames<'a> {
    let f = Frames::new(bytes, info);
    match pick {
        Some(k) => f.channel(k),
        None => f,
    }
}

fn load_with(path: &Path, opts: &ReadOptions, pick: Option<usize>) -> Result<MonoSignal, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut at = FileAt { file, len };
    let info = header::parse(&mut at, path, opts)?;
    if let Some(k) = pick {
        check_channel(&info, k)?;
    }
    let frames =
        usize::try_from(info.frames).map_err(|_| Error::format(path, FormatProblem::TooLarge))?;
    let block = info.block_align().max(1);
    let mut file = at.file;
    file.seek(SeekFrom::Start(info.data_offset))
        .map_err(|e| Error::io(path, e))?;
    // Safe to allocate: the walker checked the frames against the file's length.
    let mut samples = vec![0f32; frames];
    let per_read = (READ_BLOCK / block).max(1);
    let mut buf = vec![0u8; per_read * block];
    for out in samples.chunks_mut(per_read) {
        let bytes = &mut buf[..out.len() * block];
        file.read_exact(bytes).map_err(|e| Error::io(path, e))?;
        frames_of(bytes, &info, pick).fill(0, out);
    }
    Ok(MonoSignal {
        sample_rate: info.sample_rate,
        info,
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
    /// end are zero (zero padding), whatever `start` and `out.len()` are.
    /// Large requests are split over threads.
    fn fill(&self, start: usize, out: &mut [f32]);

    /// Hints that samples `start..start + len` will be [`fill`]ed soon, so
    /// their memory can be on its way to the cache meanwhile (a software
    /// prefetch: the exact FFT reads short runs far apart). A hint only;
    /// the default does nothing, and any range is allowed.
    ///
    /// [`fill`]: MonoSource::fill
    fn prefetch(&self, start: usize, len: usize) {
        let _ = (start, len);
    }

    /// Whether [`fill`] is a plain copy of f32 samples already in memory
    /// (no decoding, no file pages to map in). A hint only, `false` by
    /// default: Bluestein's first pass in the exact FFT then reads
    /// narrower blocks of columns, which keep its working set in cache,
    /// where a decoded file is read best in wide ones (fewer visits per
    /// page).
    ///
    /// [`fill`]: MonoSource::fill
    fn in_memory(&self) -> bool {
        false
    }

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

    fn prefetch(&self, start: usize, len: usize) {
        let n = self.as_slice().len();
        let (a, b) = (start.min(n), start.saturating_add(len).min(n));
        prefetch_bytes(bytemuck::cast_slice(&self[a..b]));
    }

    fn in_memory(&self) -> bool {
        true
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
    /// Mapping is what lets [`parallel::exact`](crate::parallel::exact) read
    /// a recording larger than memory straight from the page cache; for a
    /// signal in memory, the safe [`load_mono`] reads the file instead.
    ///
    /// # Safety
    /// Like every file map ([`memmap2::Mmap::map`]), the returned value
    /// borrows the file's bytes from the kernel, not from Rust: for as long as
    /// it (or anything filled from it) is being read, **no one may write to,
    /// truncate or replace-in-place the file** — not this process, not
    /// another. A write while mapped is a data race (undefined behaviour in
    /// Rust's memory model); a truncation makes reads past the new end raise
    /// `SIGBUS`, which ends the process. Renaming or deleting the file is
    /// fine (the map keeps the old inode). The caller guarantees this, for
    /// example because the file is its own temporary file, or a recording it
    /// documents as read-only while the program runs.
    ///
    /// Calling it is therefore an `unsafe` act the caller signs; this does
    /// **not** compile:
    ///
    /// ```compile_fail,E0133
    /// let m = wav_fft::wav::MappedWav::open("recording.wav");
    /// ```
    ///
    /// # Errors
    /// As [`probe`], or when the file cannot be mapped.
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<MappedWav, Error> {
        // SAFETY: the caller upholds the same contract (see above).
        unsafe { MappedWav::open_with(path, &ReadOptions::default()) }
    }

    /// [`MappedWav::open`] with options.
    ///
    /// # Safety
    /// As [`MappedWav::open`]: nobody writes to or truncates the file while
    /// the map is alive.
    ///
    /// # Errors
    /// As [`probe`], or when the file cannot be mapped.
    pub unsafe fn open_with(
        path: impl AsRef<Path>,
        opts: &ReadOptions,
    ) -> Result<MappedWav, Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut at = FileAt { file, len };
        let info = header::parse(&mut at, path, opts)?;
        let map_len = usize::try_from(info.data_len)
            .map_err(|_| Error::format(path, FormatProblem::TooLarge))?;
        // SAFETY: the map is read-only and private; the range was checked
        // against the file's length by the walker; and the caller of this
        // `unsafe fn` guarantees nobody writes to or truncates the file while
        // it is mapped (the contract above), so the bytes behave as an
        // immutable `&[u8]` for the map's lifetime.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(info.data_offset)
                .len(map_len)
                .map(&at.file)
        }
        .map_err(|e| Error::io(path, e))?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(MappedWav { info, map })
    }
}

impl MappedWav {
    /// Channel `channel` (0-based) of the mapped file alone, as a
    /// [`MonoSource`] (decoded on the fly like the mix).
    ///
    /// # Errors
    /// [`Error::Channel`] when the file has no such channel.
    pub fn channel(&self, channel: usize) -> Result<ChannelSource<'_>, Error> {
        check_channel(&self.info, channel)?;
        Ok(ChannelSource {
            info: &self.info,
            data: &self.map,
            channel,
        })
    }
}

/// One channel of a mapped or in-memory WAV file ([`MappedWav::channel`],
/// [`WavSlice::channel`]): its samples alone, not mixed.
#[derive(Debug, Clone, Copy)]
pub struct ChannelSource<'a> {
    info: &'a WavInfo,
    data: &'a [u8],
    channel: usize,
}

impl ChannelSource<'_> {
    /// The channel (0-based).
    pub fn channel(&self) -> usize {
        self.channel
    }
}

impl MonoSource for ChannelSource<'_> {
    fn len(&self) -> usize {
        self.info.frames as usize
    }

    fn fill(&self, start: usize, out: &mut [f32]) {
        Frames::new(self.data, self.info)
            .channel(self.channel)
            .fill(start, out);
    }
}

impl MonoSource for MappedWav {
    fn len(&self) -> usize {
        self.info.frames as usize
    }

    fn fill(&self, start: usize, out: &mut [f32]) {
        Frames::new(&self.map, &self.info).fill(start, out);
    }

    fn prefetch(&self, start: usize, len: usize) {
        Frames::new(&self.map, &self.info).prefetch(start, len);
    }
}

/// A WAV file already in memory (a byte slice): the same walker and decoder
/// as for files, without a file. Used to test and fuzz the reader.
///
/// # Examples
///
/// ```
/// use wav_fft::wav::{MonoSource, ReadOptions, WavSlice};
/// let e = WavSlice::parse(b"RIFF\0\0\0\0WAVE", "mem.wav", &ReadOptions::default());
/// assert_eq!(e.unwrap_err().to_string(), "mem.wav: not a readable WAV file: no fmt chunk");
/// ```
#[derive(Debug, Clone)]
pub struct WavSlice<'a> {
    /// The header.
    pub info: WavInfo,
    data: &'a [u8],
}

impl<'a> WavSlice<'a> {
    /// Parses the header of `bytes`; `name` is the name errors give it.
    ///
    /// # Errors
    /// As [`probe`], without [`Error::Io`].
    pub fn parse(
        bytes: &'a [u8],
        name: impl AsRef<Path>,
        opts: &ReadOptions,
    ) -> Result<WavSlice<'a>, Error> {
        let info = header::parse(&mut &bytes[..], name.as_ref(), opts)?;
        // The walker checked both against bytes.len().
        let start = info.data_offset as usize;
        let data = &bytes[start..start + info.data_len as usize];
        Ok(WavSlice { info, data })
    }
}

impl WavSlice<'_> {
    /// Channel `channel` (0-based) alone, as a [`MonoSource`].
    ///
    /// # Errors
    /// [`Error::Channel`] when there is no such channel.
    pub fn channel(&self, channel: usize) -> Result<ChannelSource<'_>, Error> {
        check_channel(&self.info, channel)?;
        Ok(ChannelSource {
            info: &self.info,
            data: self.data,
            channel,
        })
    }
}

impl MonoSource for WavSlice<'_> {
    fn len(&self) -> usize {
        self.info.frames as usize
    }

    fn fill(&self, start: usize, out: &mut [f32]) {
        Frames::new(self.data, &self.info).fill(start, out);
    }

    fn prefetch(&self, start: usize, len: usize) {
        Frames::new(self.data, &self.info).prefetch(start, len);
    }
}

/// Asks for the cache lines of `bytes` to be loaded (x86-64 `prefetcht0`;
/// nothing elsewhere). A prefetch never faults, whatever the memory.
pub(crate) fn prefetch_bytes(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(last) = bytes.len().checked_sub(1) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        for i in (0..last).step_by(64).chain([last]) {
            // SAFETY: SSE is part of the x86-64 baseline, and a prefetch
            // only hints (it reads nothing and never faults); the address
            // is inside `bytes` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(bytes[i..].as_ptr().cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// The name of a WAV format tag (`0x0007` is `"µ-law"`), when it is one
/// this crate knows.
pub fn format_tag_name(tag: u16) -> Option<&'static str> {
    header::tag_name(tag)
}
